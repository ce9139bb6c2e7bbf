//! The part of SQLAlchemy env.py code uses, as native modules: engines made
//! by `engine_from_config`/`create_engine` (and their async forms), pools,
//! `event.listen`/`listens_for` on `connect`, `text()`, `make_url`, and
//! connections that execute on the real database connection aurora runs the
//! migrations on.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use crate::db::DatabaseUrl;
use crate::interp::{Args, Dict, Interp, Native, PyError, PyResult, Value};

/// The database connection shared by env.py code and aurora's runner.
pub struct SharedState {
    pub conn: Box<dyn crate::db::Connection>,
    /// A transaction is open (begun by env.py, autobegun, or by the runner).
    pub in_transaction: bool,
    /// The transaction was begun by env.py (`connection.begin()`), so the
    /// runner's own begin/commit are part of it (Alembic's external transaction).
    pub external: bool,
}

pub type Shared = Rc<RefCell<SharedState>>;

fn db_error(url: &DatabaseUrl, e: crate::db::DbError) -> PyError {
    PyError::new("sqlalchemy.exc.OperationalError", url.scrub(&e.to_string()))
}

/// `sqlalchemy.engine.URL`.
pub struct Url(pub DatabaseUrl);

impl Url {
    pub fn parse(text: &str) -> PyResult<Url> {
        DatabaseUrl::parse(text).map(Url).map_err(|e| {
            const PREFIX: &str = "Could not parse SQLAlchemy URL from given URL string";
            let reason = e.to_string();
            let message = if reason.starts_with(PREFIX) {
                reason
            } else {
                format!("{PREFIX}: {reason}")
            };
            PyError::new("sqlalchemy.exc.ArgumentError", message)
        })
    }

    fn backend(&self) -> String {
        self.0
            .drivername
            .split('+')
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

impl Native for Url {
    fn type_name(&self) -> String {
        "URL".into()
    }
    fn to_str(&self) -> Option<String> {
        Some(self.0.masked())
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let me = self.clone();
        Ok(Some(match name {
            "drivername" => Value::str(&self.0.drivername),
            "database" => Value::opt_str(self.0.database.clone()),
            "host" => Value::opt_str(self.0.host.clone()),
            "username" => Value::opt_str(self.0.username.clone()),
            "password" => Value::opt_str(self.0.password().map(str::to_string)),
            "port" => self
                .0
                .port
                .map(|p| Value::Int(p as i64))
                .unwrap_or(Value::None),
            "get_backend_name" => Value::builtin(name, move |_, _| Ok(Value::str(me.backend()))),
            "get_dialect" => return Ok(None),
            "render_as_string" => Value::builtin(name, move |_, args| {
                let hide = args
                    .get(0, "hide_password")
                    .map(|v| v.truthy())
                    .unwrap_or(true);
                Ok(Value::str(if hide {
                    me.0.masked()
                } else {
                    me.0.unmasked()
                }))
            }),
            _ => return Ok(None),
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The URL of a value given as a string or a URL object.
pub fn url_of(value: &Value) -> PyResult<DatabaseUrl> {
    if let Some(url) = value.downcast::<Url>() {
        return Ok(url.0.clone());
    }
    match value {
        Value::Str(s) => Ok(Url::parse(s)?.0),
        Value::None => Err(PyError::new(
            "sqlalchemy.exc.ArgumentError",
            "Expected string or URL object, got None",
        )),
        other => Err(PyError::new(
            "sqlalchemy.exc.ArgumentError",
            format!("Expected string or URL object, got {}", other.repr()),
        )),
    }
}

/// `sqlalchemy.text(...)`.
pub struct TextClause(pub String);

impl Native for TextClause {
    fn type_name(&self) -> String {
        "TextClause".into()
    }
    fn to_str(&self) -> Option<String> {
        Some(self.0.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An engine: a URL and the `connect` listeners registered on it.
pub struct Engine {
    pub url: DatabaseUrl,
    pub listeners: RefCell<Vec<Value>>,
    pub is_async: bool,
}

impl Engine {
    pub fn dialect_name(&self) -> &'static str {
        super::alembic::dialect_name(self.url.dialect())
    }

    fn connect(self: &Rc<Self>, interp: &mut Interp<'_>) -> PyResult<Value> {
        let conn = crate::db::connect(&self.url).map_err(|e| db_error(&self.url, e))?;
        let shared = Rc::new(RefCell::new(SharedState {
            conn,
            in_transaction: false,
            external: false,
        }));
        let listeners = self.listeners.borrow().clone();
        for listener in listeners {
            let dbapi = Value::native(DbapiConnection(shared.clone(), self.url.clone()));
            interp.call(
                &listener,
                Args::new(vec![dbapi, Value::native(ConnectionRecord)]),
            )?;
        }
        Ok(Value::native(Connection {
            shared,
            engine: self.clone(),
            closed: RefCell::new(false),
        }))
    }
}

impl Native for Engine {
    fn type_name(&self) -> String {
        if self.is_async {
            "AsyncEngine".into()
        } else {
            "Engine".into()
        }
    }
    fn to_str(&self) -> Option<String> {
        Some(format!("Engine({})", self.url.masked()))
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let me = self.clone();
        Ok(Some(match name {
            "connect" | "begin" => {
                let begin = name == "begin";
                Value::builtin(name, move |interp, _| {
                    let conn = me.connect(interp)?;
                    if begin {
                        if let Some(c) = conn.downcast::<Connection>() {
                            c.begin_external()?;
                        }
                    }
                    Ok(conn)
                })
            }
            "dispose" => Value::builtin(name, |_, _| Ok(Value::None)),
            "url" => Value::native(Url(self.url.clone())),
            "name" => Value::str(self.dialect_name()),
            "dialect" => Value::native(Dialect(self.dialect_name())),
            "sync_engine" => Value::Native(self),
            _ => return Ok(None),
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `engine.dialect` / `connection.dialect`.
pub struct Dialect(pub &'static str);

impl Native for Dialect {
    fn type_name(&self) -> String {
        "Dialect".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "name" => Some(Value::str(self.0)),
            "driver" => Some(Value::str(match self.0 {
                "sqlite" => "pysqlite",
                _ => "psycopg2",
            })),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The `connection_record` argument of a `connect` listener.
struct ConnectionRecord;

impl Native for ConnectionRecord {
    fn type_name(&self) -> String {
        "_ConnectionRecord".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "info" => Some(Value::dict(Dict::default())),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The DB-API connection a `connect` listener receives (and its cursor).
struct DbapiConnection(Shared, DatabaseUrl);

impl Native for DbapiConnection {
    fn type_name(&self) -> String {
        "Connection".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let me = self.clone();
        Ok(Some(match name {
            "cursor" => Value::builtin(name, move |_, _| {
                Ok(Value::native(DbapiConnection(me.0.clone(), me.1.clone())))
            }),
            "execute" => Value::builtin(name, move |_, args| {
                let sql = args.require(0, "sql", "execute")?.to_str();
                let params = args.get(1, "parameters");
                let sql = bind_parameters(&sql, params.as_ref(), me.0.borrow().conn.dialect())?;
                run_sql(&me.0, &me.1, &sql, false)?;
                Ok(Value::None)
            }),
            "close" | "commit" => Value::builtin(name, |_, _| Ok(Value::None)),
            "isolation_level" => Value::None,
            _ => return Ok(None),
        }))
    }
    fn set_attr(&self, _: &mut Interp<'_>, name: &str, _: Value) -> PyResult<bool> {
        Ok(name == "isolation_level")
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Runs one statement; rows for queries.
fn run_sql(
    shared: &Shared,
    url: &DatabaseUrl,
    sql: &str,
    autobegin: bool,
) -> PyResult<Option<Vec<Vec<Value>>>> {
    let mut state = shared.borrow_mut();
    if autobegin && !state.in_transaction {
        state.conn.begin().map_err(|e| db_error(url, e))?;
        state.in_transaction = true;
    }
    let head = sql.trim_start().to_ascii_uppercase();
    let is_query = ["SELECT", "PRAGMA", "WITH", "VALUES", "SHOW", "EXPLAIN"]
        .iter()
        .any(|k| head.starts_with(k))
        || head.contains(" RETURNING ");
    if is_query {
        let rows = state.conn.query(sql).map_err(|e| db_error(url, e))?;
        Ok(Some(
            rows.into_iter()
                .map(|row| row.into_iter().map(sql_value).collect())
                .collect(),
        ))
    } else {
        state.conn.execute(sql).map_err(|e| db_error(url, e))?;
        Ok(None)
    }
}

fn sql_value(v: crate::sql::Value) -> Value {
    match v {
        crate::sql::Value::Null => Value::None,
        crate::sql::Value::Integer(i) => Value::Int(i),
        crate::sql::Value::Real(f) => Value::Float(f),
        crate::sql::Value::Text(s) => Value::str(s),
        crate::sql::Value::Blob(b) => Value::Bytes(Rc::from(b.as_slice())),
    }
}

/// Replaces `:name` parameters (SQLAlchemy `text()`) or `?` (DB-API) by
/// SQL literals of the given values.
fn bind_parameters(
    sql: &str,
    params: Option<&Value>,
    dialect: crate::sql::Dialect,
) -> PyResult<String> {
    let Some(params) = params.filter(|p| !p.is_none()) else {
        return Ok(sql.to_string());
    };
    let literal = |v: &Value| -> PyResult<String> {
        Ok(match v {
            Value::None => "NULL".into(),
            Value::Bool(b) => dialect.sql().bool_literal(*b).to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => crate::interp::value::float_repr(*f),
            Value::Str(s) => format!("'{}'", s.replace('\'', "''")),
            other => {
                return Err(PyError::unsupported(format!(
                    "a {} bound as an SQL parameter",
                    other.type_name()
                )))
            }
        })
    };
    let positional: Vec<Value> = match params {
        Value::Tuple(t) => t.as_ref().clone(),
        Value::List(l) => l.borrow().clone(),
        _ => Vec::new(),
    };
    let mut out = String::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut quote: Option<char> = None;
    let mut next = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            out.push(c);
            i += 1;
            continue;
        }
        if c == ':'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphabetic() || *n == '_')
            && chars.get(i.wrapping_sub(1)) != Some(&':')
        {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            let Value::Dict(d) = params else {
                return Err(PyError::new(
                    "sqlalchemy.exc.ArgumentError",
                    "named parameters need a dict",
                ));
            };
            let value = d.borrow().get_str(&name).ok_or_else(|| {
                PyError::new(
                    "sqlalchemy.exc.StatementError",
                    format!("A value is required for bind parameter '{name}'"),
                )
            })?;
            out.push_str(&literal(&value)?);
            i = end;
            continue;
        }
        if c == '?' && !positional.is_empty() {
            let value = positional.get(next).cloned().ok_or_else(|| {
                PyError::new(
                    "sqlite3.ProgrammingError",
                    "Incorrect number of bindings supplied",
                )
            })?;
            next += 1;
            out.push_str(&literal(&value)?);
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

/// A `Connection` (also an `AsyncConnection`: `run_sync(fn)` calls fn with it).
pub struct Connection {
    pub shared: Shared,
    pub engine: Rc<Engine>,
    closed: RefCell<bool>,
}

impl Connection {
    fn begin_external(&self) -> PyResult<()> {
        let mut state = self.shared.borrow_mut();
        if state.in_transaction {
            return Err(PyError::new(
                "sqlalchemy.exc.InvalidRequestError",
                "a transaction is already begun on this connection",
            ));
        }
        state
            .conn
            .begin()
            .map_err(|e| db_error(&self.engine.url, e))?;
        state.in_transaction = true;
        state.external = true;
        Ok(())
    }

    pub fn commit(&self) -> PyResult<()> {
        let mut state = self.shared.borrow_mut();
        if state.in_transaction {
            state
                .conn
                .commit()
                .map_err(|e| db_error(&self.engine.url, e))?;
            state.in_transaction = false;
            state.external = false;
        }
        Ok(())
    }

    pub fn rollback(&self) -> PyResult<()> {
        let mut state = self.shared.borrow_mut();
        if state.in_transaction {
            let _ = state.conn.rollback();
            state.in_transaction = false;
            state.external = false;
        }
        Ok(())
    }

    fn close(&self) -> PyResult<()> {
        if !*self.closed.borrow() {
            // SQLAlchemy rolls back what was not committed.
            self.rollback()?;
            *self.closed.borrow_mut() = true;
        }
        Ok(())
    }

    pub fn dialect_name(&self) -> &'static str {
        self.engine.dialect_name()
    }
}

impl Native for Connection {
    fn type_name(&self) -> String {
        "Connection".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let me = self.clone();
        Ok(Some(match name {
            "execute" | "exec_driver_sql" => Value::builtin(name, move |_, args| {
                let statement = args.require(0, "statement", "execute")?;
                let sql = match statement.downcast::<TextClause>() {
                    Some(t) => t.0.clone(),
                    None => match &statement {
                        Value::Str(s) => s.to_string(),
                        other => {
                            return Err(PyError::unsupported(format!(
                                "executing a {} (only text() and plain SQL strings)",
                                other.type_name()
                            )))
                        }
                    },
                };
                let params = args.get(1, "parameters");
                let dialect = me.shared.borrow().conn.dialect();
                let sql = bind_parameters(&sql, params.as_ref(), dialect)?;
                let rows = run_sql(&me.shared, &me.engine.url, &sql, true)?;
                Ok(Value::native(ResultRows(rows.unwrap_or_default())))
            }),
            "commit" => Value::builtin(name, move |_, _| me.commit().map(|_| Value::None)),
            "rollback" => Value::builtin(name, move |_, _| me.rollback().map(|_| Value::None)),
            "close" => Value::builtin(name, move |_, _| me.close().map(|_| Value::None)),
            "begin" => Value::builtin(name, move |_, _| {
                me.begin_external()?;
                Ok(Value::native(Transaction(me.clone())))
            }),
            "in_transaction" => Value::builtin(name, move |_, _| {
                Ok(Value::Bool(me.shared.borrow().in_transaction))
            }),
            "run_sync" => Value::builtin(name, move |interp, args| {
                let f = args.require(0, "fn", "run_sync")?;
                let mut rest = args.clone();
                rest.positional[0] = Value::Native(me.clone());
                interp.call(&f, rest)
            }),
            "dialect" => Value::native(Dialect(self.dialect_name())),
            "engine" => Value::Native(self.engine.clone()),
            "info" => Value::dict(Dict::default()),
            _ => return Ok(None),
        }))
    }
    fn enter(self: Rc<Self>, _: &mut Interp<'_>) -> PyResult<Option<Value>> {
        Ok(Some(Value::Native(self)))
    }
    fn exit(self: Rc<Self>, _: &mut Interp<'_>, _: bool) -> PyResult<()> {
        self.close()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `connection.begin()`: committed (or rolled back on error) by `with`.
struct Transaction(Rc<Connection>);

impl Native for Transaction {
    fn type_name(&self) -> String {
        "RootTransaction".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let conn = self.0.clone();
        Ok(Some(match name {
            "commit" => Value::builtin(name, move |_, _| conn.commit().map(|_| Value::None)),
            "rollback" => Value::builtin(name, move |_, _| conn.rollback().map(|_| Value::None)),
            "prepare" => {
                return Err(PyError::unsupported(
                    "two-phase transactions (begin_twophase/prepare)",
                ))
            }
            "is_active" => Value::Bool(conn.shared.borrow().in_transaction),
            _ => return Ok(None),
        }))
    }
    fn enter(self: Rc<Self>, _: &mut Interp<'_>) -> PyResult<Option<Value>> {
        Ok(Some(Value::Native(self)))
    }
    fn exit(self: Rc<Self>, _: &mut Interp<'_>, failed: bool) -> PyResult<()> {
        if failed {
            self.0.rollback()
        } else {
            self.0.commit()
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The rows of `connection.execute(...)`.
struct ResultRows(Vec<Vec<Value>>);

impl Native for ResultRows {
    fn type_name(&self) -> String {
        "CursorResult".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let rows: Vec<Value> = self.0.iter().map(|r| Value::tuple(r.clone())).collect();
        Ok(Some(match name {
            "fetchall" | "all" => Value::builtin(name, move |_, _| Ok(Value::list(rows.clone()))),
            "fetchone" | "first" => Value::builtin(name, move |_, _| {
                Ok(rows.first().cloned().unwrap_or(Value::None))
            }),
            "scalar" => {
                let first = self
                    .0
                    .first()
                    .and_then(|r| r.first().cloned())
                    .unwrap_or(Value::None);
                Value::builtin(name, move |_, _| Ok(first.clone()))
            }
            "scalars" => {
                let column: Vec<Value> = self.0.iter().filter_map(|r| r.first().cloned()).collect();
                Value::builtin(name, move |_, _| Ok(Value::list(column.clone())))
            }
            "rowcount" => Value::Int(-1),
            "close" => Value::builtin(name, |_, _| Ok(Value::None)),
            _ => return Ok(None),
        }))
    }
    fn iterate(self: Rc<Self>, _: &mut Interp<'_>) -> PyResult<Option<Vec<Value>>> {
        Ok(Some(
            self.0.iter().map(|r| Value::tuple(r.clone())).collect(),
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A pool class (`pool.NullPool`, ...): aurora opens one connection per
/// command, so every pool behaves the same.
struct PoolClass(&'static str);

impl Native for PoolClass {
    fn type_name(&self) -> String {
        "type".into()
    }
    fn to_str(&self) -> Option<String> {
        Some(format!("<class 'sqlalchemy.pool.impl.{}'>", self.0))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Keywords of `create_engine` that change nothing for aurora's single
/// connection; anything else is refused rather than ignored.
const ENGINE_KEYWORDS: &[&str] = &[
    "poolclass",
    "echo",
    "echo_pool",
    "future",
    "pool_pre_ping",
    "pool_size",
    "max_overflow",
    "pool_recycle",
    "pool_timeout",
    "hide_parameters",
    "logging_name",
    "pool_logging_name",
    "connect_args",
    "isolation_level",
    "json_serializer",
    "json_deserializer",
];

fn make_engine(url: DatabaseUrl, keywords: &[(String, Value)], is_async: bool) -> PyResult<Value> {
    if is_async {
        let driver = url.drivername.split_once('+').map(|(_, d)| d).unwrap_or("");
        if !["aiosqlite", "asyncpg", "psycopg", "psycopg_async"].contains(&driver) {
            let loaded = match (url.dialect(), driver) {
                (_, d) if !d.is_empty() => d.to_string(),
                (crate::sql::Dialect::Sqlite, _) => "pysqlite".to_string(),
                _ => "psycopg2".to_string(),
            };
            return Err(PyError::new(
                "sqlalchemy.exc.InvalidRequestError",
                format!("The asyncio extension requires an async driver to be used. The loaded '{loaded}' is not async."),
            ));
        }
    }
    for (k, v) in keywords {
        if !ENGINE_KEYWORDS.contains(&k.as_str()) {
            return Err(PyError::unsupported(format!("create_engine({k}=...)")));
        }
        if k == "connect_args" && v.truthy() {
            return Err(PyError::unsupported("create_engine(connect_args=...)"));
        }
        if k == "isolation_level" && !v.is_none() {
            return Err(PyError::unsupported("create_engine(isolation_level=...)"));
        }
    }
    Ok(Value::native(Engine {
        url,
        listeners: RefCell::new(Vec::new()),
        is_async,
    }))
}

/// `engine_from_config(configuration, prefix="sqlalchemy.", **kwargs)`.
fn engine_from_config(interp: &mut Interp<'_>, args: Args, is_async: bool) -> PyResult<Value> {
    let configuration = args.require(0, "configuration", "engine_from_config")?;
    let prefix = args
        .get(1, "prefix")
        .map(|p| p.to_str())
        .unwrap_or_else(|| "sqlalchemy.".to_string());
    let items = interp.mapping_items(&configuration)?;
    let mut url = None;
    let mut keywords: Vec<(String, Value)> = Vec::new();
    for (k, v) in items {
        let key = k.to_str();
        let Some(option) = key.strip_prefix(prefix.as_str()) else {
            continue;
        };
        if option == "url" {
            url = Some(v);
        } else {
            keywords.push((option.to_string(), v));
        }
    }
    for (k, v) in &args.keywords {
        if k == "prefix" || k == "configuration" {
            continue;
        }
        if k == "url" {
            url = Some(v.clone());
        } else {
            keywords.push((k.clone(), v.clone()));
        }
    }
    let Some(url) = url else {
        return Err(PyError::new("KeyError", "'url'"));
    };
    make_engine(url_of(&url)?, &keywords, is_async)
}

fn listen(_: &mut Interp<'_>, target: &Value, event: &str, f: Value) -> PyResult<()> {
    let Some(engine) = target.downcast::<Engine>() else {
        return Err(PyError::unsupported(format!(
            "event listeners on a {} (only on an engine's \"connect\")",
            target.type_name()
        )));
    };
    if event != "connect" {
        return Err(PyError::unsupported(format!(
            "the \"{event}\" event (only \"connect\" listeners run)"
        )));
    }
    engine.listeners.borrow_mut().push(f);
    Ok(())
}

pub fn install(interp: &mut Interp<'_>) {
    interp.register_module("sqlalchemy", |interp| {
        let pool = interp.load_native("sqlalchemy.pool")?;
        let event = interp.load_native("sqlalchemy.event")?;
        let engine = interp.load_native("sqlalchemy.engine")?;
        let mut attrs = vec![
            ("pool", pool),
            ("event", event.clone()),
            ("engine", engine.clone()),
            (
                "engine_from_config",
                Value::builtin("engine_from_config", |i, a| engine_from_config(i, a, false)),
            ),
            ("create_engine", interp.get_attr(&engine, "create_engine")?),
            ("make_url", interp.get_attr(&engine, "make_url")?),
            (
                "text",
                Value::builtin("text", |_, a| {
                    Ok(Value::native(TextClause(
                        a.require(0, "text", "text")?.to_str(),
                    )))
                }),
            ),
        ];
        for sub in ["schema", "types", "orm", "sql", "dialects"] {
            let m = interp.load_native(&format!("sqlalchemy.{sub}"))?;
            attrs.push((sub, m));
        }
        let module = Interp::make_module("sqlalchemy", std::mem::take(&mut attrs));
        if let Value::Module(m) = &module {
            for (k, v) in super::schema::top_level(interp)? {
                m.globals.borrow_mut().entry(k).or_insert(v);
            }
        }
        Ok(module)
    });
    interp.register_module("sqlalchemy.pool", |_| {
        let names = [
            "NullPool",
            "StaticPool",
            "QueuePool",
            "SingletonThreadPool",
            "AsyncAdaptedQueuePool",
        ];
        Ok(Interp::make_module(
            "sqlalchemy.pool",
            names
                .iter()
                .map(|n| (*n, Value::native(PoolClass(n))))
                .collect(),
        ))
    });
    interp.register_module("sqlalchemy.event", |_| {
        Ok(Interp::make_module(
            "sqlalchemy.event",
            vec![
                (
                    "listen",
                    Value::builtin("listen", |interp, a| {
                        let target = a.require(0, "target", "listen")?;
                        let event = a.require(1, "identifier", "listen")?.to_str();
                        let f = a.require(2, "fn", "listen")?;
                        listen(interp, &target, &event, f)?;
                        Ok(Value::None)
                    }),
                ),
                (
                    "listens_for",
                    Value::builtin("listens_for", |_, a| {
                        let target = a.require(0, "target", "listens_for")?;
                        let event = a.require(1, "identifier", "listens_for")?.to_str();
                        Ok(Value::builtin("decorate", move |interp, d| {
                            let f = d.require(0, "fn", "listens_for")?;
                            listen(interp, &target, &event, f.clone())?;
                            Ok(f)
                        }))
                    }),
                ),
            ],
        ))
    });
    interp.register_module("sqlalchemy.engine", |_| {
        Ok(Interp::make_module(
            "sqlalchemy.engine",
            vec![
                (
                    "create_engine",
                    Value::builtin("create_engine", |_, a| {
                        let url = url_of(&a.require(0, "url", "create_engine")?)?;
                        make_engine(url, &a.keywords, false)
                    }),
                ),
                (
                    "make_url",
                    Value::builtin("make_url", |_, a| {
                        Ok(Value::native(Url(url_of(&a.require(
                            0,
                            "name_or_url",
                            "make_url",
                        )?)?)))
                    }),
                ),
                (
                    "engine_from_config",
                    Value::builtin("engine_from_config", |i, a| engine_from_config(i, a, false)),
                ),
                ("Connection", Value::None),
                ("Engine", Value::None),
            ],
        ))
    });
    interp.register_module("sqlalchemy.engine.url", |interp| {
        let engine = interp.load_native("sqlalchemy.engine")?;
        Ok(Interp::make_module(
            "sqlalchemy.engine.url",
            vec![("make_url", interp.get_attr(&engine, "make_url")?)],
        ))
    });
    interp.register_module("sqlalchemy.ext", |_| {
        Ok(Interp::make_module("sqlalchemy.ext", vec![]))
    });
    interp.register_module("sqlalchemy.ext.asyncio", |_| {
        Ok(Interp::make_module(
            "sqlalchemy.ext.asyncio",
            vec![
                (
                    "async_engine_from_config",
                    Value::builtin("async_engine_from_config", |i, a| {
                        engine_from_config(i, a, true)
                    }),
                ),
                (
                    "create_async_engine",
                    Value::builtin("create_async_engine", |_, a| {
                        let url = url_of(&a.require(0, "url", "create_async_engine")?)?;
                        make_engine(url, &a.keywords, true)
                    }),
                ),
                ("AsyncEngine", Value::None),
                ("AsyncConnection", Value::None),
            ],
        ))
    });
    interp.register_module("asyncio", |_| {
        Ok(Interp::make_module(
            "asyncio",
            vec![(
                "run",
                // Coroutines already ran when called: the result is here.
                Value::builtin("run", |_, a| {
                    Ok(a.positional.first().cloned().unwrap_or(Value::None))
                }),
            )],
        ))
    });
}
