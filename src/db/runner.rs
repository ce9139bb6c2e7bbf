//! Online runs: planned steps applied to a live database, each with its
//! version-table changes, inside transactions.
//!
//! # Transactions
//!
//! SQLite and PostgreSQL both run DDL inside transactions, so aurora gives
//! every step (one revision's `upgrade()`/`downgrade()`, or one stamp) its own
//! transaction: `BEGIN`, the step's statements, its version-table changes,
//! `COMMIT`. A step that fails half-way is rolled back whole, leaving the
//! schema and `alembic_version` as they were before it. On SQLite this is
//! stricter than Alembic (whose driver commits each DDL statement on its
//! own), and needs fewer disk flushes: one commit per revision instead of one
//! per statement.
//!
//! Measured with `strace -f -c -e trace=fsync,fdatasync` on the legacy
//! fixture's three-revision history (test `runs_on_a_file_database_persist`
//! against `alembic upgrade heads`): Python Alembic 28 `fdatasync`, aurora 16
//! `fsync` — four per commit in SQLite's default rollback-journal mode, one
//! commit for the version table and one per revision, where Alembic commits
//! each DDL statement and then the version row. The pragmas stay at SQLite's
//! defaults (`journal_mode=delete`, `synchronous=full`).
//!
//! On PostgreSQL without `transaction_per_migration`, Alembic's default there,
//! the whole run is one transaction, as in Alembic's generated `env.py`.
//! With it, the version table is created in the first step's transaction, and
//! a run with no step leaves no version table behind, as in Alembic.
//!
//! # Autocommit blocks
//!
//! `op.get_context().autocommit_block()` is rendered as
//! [`RunStatement::AutocommitBegin`] ... [`RunStatement::AutocommitEnd`]
//! around the statements inside it. As in Alembic, `AutocommitBegin` commits
//! the transaction open so far (the step's earlier statements become
//! permanent), the statements inside run each on its own, and
//! `AutocommitEnd` opens a new transaction for the rest of the step.

use std::fmt;

use super::{
    apply_version_change, current_heads, ensure_version_table, interrupt, purge_version_table,
    Connection, DbError,
};
use crate::plan::{Direction, Step};
use crate::sql::version::VersionTable;
use crate::sql::Dialect;

/// One item of a step's rendered SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatement {
    /// A statement to execute.
    Sql(String),
    /// Entering `autocommit_block()`: commit, then run what follows outside
    /// any transaction.
    AutocommitBegin,
    /// Leaving `autocommit_block()`: open a transaction again.
    AutocommitEnd,
    /// Text the revision's body printed (`print()`), written when the run
    /// reaches it: after the statements before it ran, and not at all when
    /// one of those failed, as the Python body would have.
    Print(String),
    /// A record one of the revision's own loggers emitted, at the same point.
    Log {
        logger: String,
        level: u32,
        message: String,
    },
}

/// What a run hands its caller to write (the runner itself never prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutput<'a> {
    /// A line of Alembic's `alembic.runtime.migration` logger
    /// (`Running upgrade a -> b, doc`, the context lines).
    Migration(&'a str),
    /// Text a revision printed.
    Print(&'a str),
    /// A record a revision's logger emitted.
    Log {
        logger: &'a str,
        level: u32,
        message: &'a str,
    },
}

/// The callback that renders one step's statements. It is handed the
/// connection, inside the step's transaction, for reflection.
pub type RenderStep<'a, E> =
    dyn FnMut(&Step, &mut dyn Connection) -> Result<Vec<RunStatement>, E> + 'a;

/// How a run behaves, from `env.py`'s `context.configure(...)` and the command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// `transaction_per_migration=True`. Only changes PostgreSQL runs (one
    /// transaction per step instead of one for the run); SQLite runs always
    /// use one per step.
    pub transaction_per_migration: bool,
    /// `stamp --purge`: empty the version table before the first step.
    pub purge: bool,
    /// The version rows the plan was made from. When set, every step reads
    /// the rows again inside its transaction (SQLite: `BEGIN IMMEDIATE`, so
    /// they cannot change under it) and stops with
    /// [`RunError::VersionsMoved`] when they are not what the plan expects.
    pub recheck_heads: Option<Vec<String>>,
    /// The caller logged [`context_log_lines`] already (before planning, as
    /// Alembic logs them when `context.configure()` runs, so a planning
    /// error follows them): the run does not log them again.
    pub context_logged: bool,
}

/// A failed run. Every step before the failing one is committed (unless the
/// run was a single transaction); the failing one is rolled back.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E: fmt::Display + fmt::Debug> {
    /// The render callback failed for a step.
    #[error("{error}")]
    Render {
        /// The step, as `upgrade a -> b`.
        step: String,
        error: E,
    },
    /// A statement of a step failed.
    #[error("{step} failed: {error}")]
    Statement {
        /// The step, as `upgrade a -> b`.
        step: String,
        /// The revision whose body ran, if any.
        revision: Option<String>,
        error: Box<DbError>,
        /// An `autocommit_block()` of the step had committed part of it
        /// before the failure (only the rest was rolled back).
        partly_committed: bool,
    },
    /// SIGINT or SIGTERM: the open transaction was rolled back.
    #[error("interrupted by {}", interrupt::signal_name(*signal))]
    Interrupted {
        signal: i32,
        /// The step that was running, as `upgrade a -> b`.
        step: Option<String>,
        /// Whether the whole run was one transaction (so nothing stays applied).
        single_transaction: bool,
    },
    /// Another writer changed the version rows between planning and a step;
    /// the step was not run. `completed` steps were applied before.
    #[error("the version table changed while the run went on: it holds {found:?}, the plan expected {expected:?}")]
    VersionsMoved {
        completed: usize,
        found: Vec<String>,
        expected: Vec<String>,
    },
    /// The version table or a transaction command failed; for a row-count
    /// mismatch this is Alembic's own message.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The lines Alembic logs when it sets up a migration context, before any
/// command that touches the database (`current` included):
/// `Context impl SQLiteImpl.` and `Will assume non-transactional DDL.`
pub fn context_log_lines(dialect: Dialect) -> [String; 2] {
    let ddl = if dialect.transactional_ddl() {
        "transactional"
    } else {
        "non-transactional"
    };
    [
        format!("Context impl {}.", dialect.impl_name()),
        format!("Will assume {ddl} DDL."),
    ]
}

/// Whether a transaction is open, so that a failure knows to roll back.
struct TxState {
    open: bool,
}

impl TxState {
    fn begin(&mut self, conn: &mut dyn Connection) -> Result<(), DbError> {
        if !self.open {
            conn.begin()?;
            self.open = true;
        }
        Ok(())
    }

    fn commit(&mut self, conn: &mut dyn Connection) -> Result<(), DbError> {
        if self.open {
            // A failed COMMIT leaves an SQLite transaction open; `abort`
            // then rolls it back (PostgreSQL has ended it already, and
            // only warns about the extra ROLLBACK).
            conn.commit()?;
            self.open = false;
        }
        Ok(())
    }

    /// Rolls back after a failure; the failure is what gets reported, so an
    /// error from the rollback itself is dropped.
    fn abort(&mut self, conn: &mut dyn Connection) {
        if self.open {
            self.open = false;
            let _ = conn.rollback();
        }
    }
}

/// Applies `steps` to the database.
///
/// Logs Alembic's context lines (see [`context_log_lines`]), creates the
/// version table when it is missing (or purges it), then for each step logs
/// `Running upgrade a -> b, doc`, asks `render` for the step's statements,
/// executes them and applies the step's version changes. Stamp steps are not
/// rendered: they only change the version table. `render` is handed
/// the connection, inside the step's transaction, so it can reflect the live
/// schema (SQLite batch mode); a renderer that must see the effect of its own
/// earlier statements may execute those itself through it and return the rest.
pub fn run_online<E: fmt::Display + fmt::Debug>(
    conn: &mut dyn Connection,
    table: &VersionTable,
    steps: &[Step],
    options: &RunOptions,
    render: &mut RenderStep<'_, E>,
    log: &mut dyn FnMut(RunOutput<'_>),
) -> Result<(), RunError<E>> {
    run_online_with_hook(conn, table, steps, options, render, log, &mut |_, _| Ok(()))
}

/// Called after each step's version changes, inside its transaction
/// (Alembic's `on_version_apply`).
pub type AfterStep<'a, E> = dyn FnMut(&Step, &mut dyn Connection) -> Result<(), E> + 'a;

/// [`run_online`] with a callback after each step's version changes.
pub fn run_online_with_hook<E: fmt::Display + fmt::Debug>(
    conn: &mut dyn Connection,
    table: &VersionTable,
    steps: &[Step],
    options: &RunOptions,
    render: &mut RenderStep<'_, E>,
    log: &mut dyn FnMut(RunOutput<'_>),
    after_step: &mut AfterStep<'_, E>,
) -> Result<(), RunError<E>> {
    let dialect = conn.dialect();
    if !options.context_logged {
        for line in context_log_lines(dialect) {
            log(RunOutput::Migration(&line));
        }
    }
    let single_transaction = dialect.transactional_ddl() && !options.transaction_per_migration;
    let mut tx = TxState { open: false };
    let result = run_steps(
        conn,
        table,
        steps,
        options,
        render,
        log,
        after_step,
        single_transaction,
        &mut tx,
    );
    match result {
        Ok(()) => {
            tx.commit(conn)?;
            Ok(())
        }
        Err(e) => {
            tx.abort(conn);
            Err(e)
        }
    }
}

/// Whether the version-table setup shares the first step's transaction
/// (see [`run_steps`]).
fn dialect_joins_first_step(conn: &dyn Connection, single_transaction: bool) -> bool {
    !single_transaction && conn.dialect().transactional_ddl()
}

fn run_steps<E: fmt::Display + fmt::Debug>(
    conn: &mut dyn Connection,
    table: &VersionTable,
    steps: &[Step],
    options: &RunOptions,
    render: &mut RenderStep<'_, E>,
    log: &mut dyn FnMut(RunOutput<'_>),
    after_step: &mut AfterStep<'_, E>,
    single_transaction: bool,
    tx: &mut TxState,
) -> Result<(), RunError<E>> {
    tx.begin(conn)?;
    if options.purge {
        purge_version_table(conn, table)?;
    } else {
        ensure_version_table(conn, table)?;
    }
    // With transactional DDL and `transaction_per_migration`, Alembic creates
    // (or purges) the version table in the connection's implicit
    // transaction, which the first step's transaction then joins: a failing
    // first step takes the new table with it, and a run with no step at all
    // ends by closing the connection, which rolls the table back. SQLite
    // keeps it (its driver runs the DDL outside any transaction).
    let deferred = dialect_joins_first_step(conn, single_transaction);
    if !single_transaction && !deferred {
        tx.commit(conn)?;
    }
    if deferred && steps.is_empty() {
        tx.abort(conn);
        return Ok(());
    }

    let mut expected = options.recheck_heads.clone();
    for (completed, step) in steps.iter().enumerate() {
        let mut partly_committed = false;
        let name = step
            .sql_comment()
            .trim_start_matches("-- Running ")
            .to_string();
        let interrupted = |step: Option<&str>| {
            interrupt::received().map(|signal| RunError::Interrupted {
                signal,
                step: step.map(str::to_string),
                single_transaction,
            })
        };
        if let Some(e) = interrupted(None) {
            return Err(e);
        }
        tx.begin(conn)?;
        if let Some(expected) = &mut expected {
            let mut found = current_heads(conn, table)?;
            found.sort();
            expected.sort();
            if found != *expected {
                return Err(RunError::VersionsMoved {
                    completed,
                    found,
                    expected: expected.clone(),
                });
            }
            for change in &step.version_changes {
                match change {
                    crate::plan::VersionChange::Insert(rev) => expected.push(rev.clone()),
                    crate::plan::VersionChange::Delete(rev) => expected.retain(|h| h != rev),
                    crate::plan::VersionChange::Update { from, to } => {
                        expected.retain(|h| h != from);
                        expected.push(to.clone());
                    }
                }
            }
        }
        log(RunOutput::Migration(&step.log_line()));
        // A stamp runs no revision body: only its version changes.
        let statements = if step.direction == Direction::Stamp {
            Vec::new()
        } else {
            render(step, conn).map_err(|error| RunError::Render {
                step: name.clone(),
                error,
            })?
        };
        for statement in &statements {
            if let Some(e) = interrupted(Some(&name)) {
                return Err(e);
            }
            match statement {
                RunStatement::Sql(sql) => {
                    conn.execute(sql).map_err(|error| {
                        // A statement cancelled by a signal fails; the signal is the story.
                        interrupted(Some(&name)).unwrap_or_else(|| RunError::Statement {
                            step: name.clone(),
                            revision: step.revision.clone(),
                            error: Box::new(error),
                            partly_committed,
                        })
                    })?;
                }
                RunStatement::AutocommitBegin => {
                    tx.commit(conn)?;
                    partly_committed = true;
                }
                RunStatement::AutocommitEnd => tx.begin(conn)?,
                RunStatement::Print(text) => log(RunOutput::Print(text)),
                RunStatement::Log {
                    logger,
                    level,
                    message,
                } => log(RunOutput::Log {
                    logger,
                    level: *level,
                    message,
                }),
            }
        }
        // An autocommit block left open at the end of the body still gets
        // the version change in a transaction of its own.
        if let Some(e) = interrupted(Some(&name)) {
            return Err(e);
        }
        tx.begin(conn)?;
        for change in &step.version_changes {
            apply_version_change(conn, table, change)?;
        }
        after_step(step, conn).map_err(|error| RunError::Render {
            step: name.clone(),
            error,
        })?;
        if !single_transaction {
            // A commit can fail too (a deferred constraint); it is the step's failure.
            tx.commit(conn).map_err(|error| RunError::Statement {
                step: name.clone(),
                revision: step.revision.clone(),
                error: Box::new(error),
                partly_committed,
            })?;
        }
    }
    Ok(())
}
