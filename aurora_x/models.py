"""SQLAlchemy models of the Aurora-X database.

The migrations under ``versions/`` build exactly these tables; after
``aurora upgrade head``, ``aurora check`` reports no pending operations.
Change a model here, then run ``./scripts/db-migrate.sh create "..."`` to
write the migration that brings the database along.
"""
from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    """An account that can sign in."""

    __tablename__ = "users"

    id = Column(Integer, primary_key=True, index=True)
    username = Column(String(50), unique=True, index=True, nullable=False)
    email = Column(String(255), unique=True, index=True, nullable=False)
    hashed_password = Column(String(255), nullable=False)
    full_name = Column(String(255))
    is_active = Column(Boolean, default=True)
    is_superuser = Column(Boolean, default=False)
    created_at = Column(DateTime, default=datetime.utcnow)
    updated_at = Column(DateTime, default=datetime.utcnow, onupdate=datetime.utcnow)


class SynthesisTask(Base):
    """A code synthesis request and what it produced."""

    __tablename__ = "synthesis_tasks"

    id = Column(Integer, primary_key=True, index=True)
    user_id = Column(Integer, index=True)
    prompt = Column(Text, nullable=False)
    framework = Column(String(50))
    status = Column(String(20), default="pending")
    result_data = Column(JSON)
    files_generated = Column(JSON)
    error_message = Column(Text)
    created_at = Column(DateTime, default=datetime.utcnow)
    completed_at = Column(DateTime)


class ConversationHistory(Base):
    """One message of a chat session."""

    __tablename__ = "conversation_history"

    id = Column(Integer, primary_key=True, index=True)
    user_id = Column(Integer, index=True)
    session_id = Column(String(100), index=True)
    role = Column(String(20))
    content = Column(Text)
    extra_data = Column(JSON)
    created_at = Column(DateTime, default=datetime.utcnow)


class SystemMetric(Base):
    """A monitoring sample kept for historical analysis."""

    __tablename__ = "system_metrics"

    id = Column(Integer, primary_key=True, index=True)
    metric_type = Column(String(50), index=True)
    component = Column(String(100))
    value = Column(Float)
    unit = Column(String(20))
    status = Column(String(20))
    extra_data = Column(JSON)
    created_at = Column(DateTime, default=datetime.utcnow, index=True)


class Alert(Base):
    """A system alert and whether it has been resolved."""

    __tablename__ = "alerts"

    id = Column(Integer, primary_key=True, index=True)
    severity = Column(String(20), index=True)
    component = Column(String(100), index=True)
    title = Column(String(255))
    message = Column(Text)
    value = Column(Float)
    threshold = Column(Float)
    is_resolved = Column(Boolean, default=False)
    resolved_at = Column(DateTime)
    created_at = Column(DateTime, default=datetime.utcnow, index=True)


class AuditLog(Base):
    """A security or activity event."""

    __tablename__ = "audit_logs"

    id = Column(Integer, primary_key=True, index=True)
    user_id = Column(Integer, index=True)
    action = Column(String(100), index=True)
    resource_type = Column(String(50))
    resource_id = Column(Integer)
    details = Column(JSON)
    ip_address = Column(String(45))
    user_agent = Column(String(255))
    status = Column(String(20))
    created_at = Column(DateTime, default=datetime.utcnow, index=True)
