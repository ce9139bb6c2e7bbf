//! Runs a project's env.py as Alembic does: with the `alembic.context` and
//! `alembic.config` objects, SQLAlchemy engines and connections, `dotenv`
//! and `asyncio`, all as native modules of [`crate::interp`]. Each
//! `context.run_migrations()` call hands the options env.py configured (and
//! its connection) to a [`Driver`], which runs the command's work.
//!
//! The escape hatch for env.py code aurora cannot run: an `[aurora]` section
//! in the ini file or `AURORA_URL` (see [`Explicit`]).

pub mod alembic;
pub mod schema;
pub mod sqlalchemy;

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::config::Config;
use crate::interp::{Args, ErrorKind, Host, Interp, PyError, PyResult, Value};

/// What env.py's `context.configure(...)` said.
#[derive(Clone, Default)]
pub struct Configured {
    pub url: Option<crate::db::DatabaseUrl>,
    /// The connection passed as `connection=`.
    pub connection: Option<Rc<sqlalchemy::Connection>>,
    /// The Python value of `connection=` (handed back to hooks).
    pub connection_value: Option<Value>,
    pub dialect_name: Option<String>,
    pub version_table: Option<String>,
    pub version_table_schema: Option<String>,
    pub transaction_per_migration: bool,
    pub transactional_ddl: Option<bool>,
    pub target_metadata: Value,
    pub include_object: Option<Value>,
    pub include_name: Option<Value>,
    /// `render_item=`: Alembic calls it only while rendering autogenerate output.
    pub render_item: Option<Value>,
    pub include_schemas: bool,
    pub process_revision_directives: Option<Value>,
    pub on_version_apply: Option<Value>,
    pub render_as_batch: bool,
    pub compare_type: Option<Value>,
    pub compare_server_default: Option<Value>,
    pub user_module_prefix: Option<String>,
    /// `alembic_module_prefix=` / `sqlalchemy_module_prefix=`: what autogenerate writes
    /// before `create_table(...)` and `Column(...)` (`op.` and `sa.` by default).
    pub alembic_module_prefix: Option<String>,
    /// `template_args=`: extra variables of `script.py.mako` when env.py runs for
    /// `revision` (autogenerate or `revision_environment`).
    pub template_args: Option<Value>,
    pub sqlalchemy_module_prefix: Option<String>,
    pub output_buffer: Option<Value>,
    pub upgrade_token: Option<String>,
    pub downgrade_token: Option<String>,
    pub literal_binds: bool,
}

impl Configured {
    /// The dialect of the run, from the connection or the URL.
    pub fn dialect(&self) -> Option<crate::sql::Dialect> {
        if let Some(c) = &self.connection {
            return Some(c.engine.url.dialect());
        }
        self.url.as_ref().map(|u| u.dialect())
    }
}

/// One `context.run_migrations(**kw)` call.
pub struct RunRequest {
    pub options: Configured,
    /// `engine_name=` and the other keywords passed to the revision functions.
    pub engine_name: Option<String>,
}

/// Runs the command's work when env.py calls `run_migrations`.
pub trait Driver {
    fn run_migrations(
        &mut self,
        interp: &mut Interp<'_>,
        request: &RunRequest,
        connection: Option<&mut dyn crate::db::Connection>,
    ) -> Result<(), crate::Error>;

    /// Shows what env.py printed.
    fn print(&mut self, text: &str);

    /// Receives the `alembic.context` state of the env.py run, before env.py runs (callbacks
    /// get their migration context from it).
    fn set_state(&mut self, _state: Rc<std::cell::RefCell<alembic::ContextState>>) {}
}

/// The command-line facts env.py can see.
pub struct Inputs {
    pub config: Config,
    pub offline: bool,
    pub x_arguments: Vec<String>,
    /// `config.cmd_opts` attributes (`autogenerate`, `sql`, `message`...).
    pub cmd_opts: Vec<(String, Value)>,
    pub script_dir: PathBuf,
    /// The script directory's heads, when the command loaded its revision map before env.py
    /// runs (`revision`): what `ScriptDirectory.get_heads()` answers in env.py.
    pub heads: Option<Vec<String>>,
    /// The command's revision arguments (`get_revision_argument()` etc.).
    pub revision_argument: Option<String>,
    pub starting_revision: Option<String>,
    pub tag: Option<String>,
}

/// Why env.py did not finish.
pub enum EnvError {
    /// Python raised or hit code aurora cannot evaluate: the one-line
    /// description, and the module name of a `ModuleNotFoundError`.
    Python {
        description: String,
        missing_module: Option<String>,
    },
    /// The driver failed; passed on unchanged.
    Command(crate::Error),
}

impl EnvError {
    fn python(error: &PyError) -> EnvError {
        let missing_module = match &error.kind {
            ErrorKind::Exception {
                type_name, message, ..
            } if type_name == "ModuleNotFoundError" => message
                .strip_prefix("No module named '")
                .and_then(|m| m.strip_suffix('\''))
                .map(str::to_string),
            _ => None,
        };
        EnvError::Python {
            description: error.describe(),
            missing_module,
        }
    }
}

impl From<EnvError> for crate::Error {
    fn from(error: EnvError) -> crate::Error {
        match error {
            EnvError::Command(e) => e,
            EnvError::Python {
                description,
                missing_module,
            } => crate::Error::Python {
                description,
                missing_module,
            },
        }
    }
}

struct DriverHost<'d> {
    driver: &'d mut dyn Driver,
    state: Rc<std::cell::RefCell<alembic::ContextState>>,
}

impl Host for DriverHost<'_> {
    fn call_host(&mut self, interp: &mut Interp<'_>, request: &str, args: Args) -> PyResult<Value> {
        debug_assert_eq!(request, "run_migrations");
        let options = self.state.borrow().configured.clone().ok_or_else(|| {
            PyError::new(
                "AssertionError",
                "context.run_migrations() called before context.configure()",
            )
        })?;
        let mut engine_name = None;
        for (k, v) in &args.keywords {
            if k == "engine_name" {
                engine_name = Some(v.to_str());
            } else {
                return Err(PyError::unsupported(format!(
                    "run_migrations({k}=...) (only engine_name= is passed to revisions)"
                )));
            }
        }
        let request = RunRequest {
            options,
            engine_name,
        };
        if !interp.stdout.is_empty() {
            let text = std::mem::take(&mut interp.stdout);
            self.driver.print(&text);
        }
        let result = match &request.options.connection {
            Some(conn) => {
                let mut shared = SharedConnection(conn.shared.clone());
                self.driver
                    .run_migrations(interp, &request, Some(&mut shared))
            }
            None => self.driver.run_migrations(interp, &request, None),
        };
        result.map(|_| Value::None).map_err(|e| {
            let message = e.to_string();
            PyError::host(message, Rc::new(e))
        })
    }
}

/// The env.py connection as the runner's [`crate::db::Connection`]: every
/// call borrows the shared state briefly, so Python hooks can use the same
/// connection in between. Inside a transaction env.py began itself, the
/// runner's begin/commit/rollback are part of it.
pub struct SharedConnection(pub sqlalchemy::Shared);

impl crate::db::Connection for SharedConnection {
    fn dialect(&self) -> crate::sql::Dialect {
        self.0.borrow().conn.dialect()
    }
    fn execute(&mut self, sql: &str) -> Result<u64, crate::db::DbError> {
        self.0.borrow_mut().conn.execute(sql)
    }
    fn execute_bound(&mut self, sql: &str, params: &[&str]) -> Result<u64, crate::db::DbError> {
        self.0.borrow_mut().conn.execute_bound(sql, params)
    }
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<crate::sql::Value>>, crate::db::DbError> {
        self.0.borrow_mut().conn.query(sql)
    }
    fn begin(&mut self) -> Result<(), crate::db::DbError> {
        let mut state = self.0.borrow_mut();
        if state.external {
            return Ok(());
        }
        if state.in_transaction {
            // An autobegun transaction of env.py code (SQLAlchemy 2.0
            // autobegin) is committed first, as Alembic's begin would.
            state.conn.commit()?;
        }
        state.conn.begin()?;
        state.in_transaction = true;
        Ok(())
    }
    fn commit(&mut self) -> Result<(), crate::db::DbError> {
        let mut state = self.0.borrow_mut();
        if state.external {
            return Ok(());
        }
        state.conn.commit()?;
        state.in_transaction = false;
        Ok(())
    }
    fn rollback(&mut self) -> Result<(), crate::db::DbError> {
        let mut state = self.0.borrow_mut();
        if state.external {
            return Ok(());
        }
        state.conn.rollback()?;
        state.in_transaction = false;
        Ok(())
    }
    fn table_exists(
        &mut self,
        schema: Option<&str>,
        name: &str,
    ) -> Result<bool, crate::db::DbError> {
        self.0.borrow_mut().conn.table_exists(schema, name)
    }
}

/// Runs `env.py` of the script directory with `driver` answering its
/// `run_migrations` calls.
pub fn run(inputs: Inputs, driver: &mut dyn Driver) -> Result<(), EnvError> {
    let env_path = inputs.script_dir.join("env.py");
    if !env_path.is_file() {
        return Err(EnvError::Python {
            description: format!("ImportError: Can't find Python file {}", env_path.display()),
            missing_module: None,
        });
    }
    let state = Rc::new(std::cell::RefCell::new(alembic::ContextState::new(&inputs)));
    driver.set_state(state.clone());
    let mut host = DriverHost {
        driver,
        state: state.clone(),
    };
    let mut interp = Interp::new(Some(&mut host));
    install(&mut interp, state.clone());
    let script_dir = inputs.script_dir.clone();
    setup_sys_path(&mut interp, &inputs.config, &script_dir);
    let result = interp.run_file(&env_path, "env_py", Vec::new());
    let printed = std::mem::take(&mut interp.stdout);
    drop(interp);
    if !printed.is_empty() {
        host.driver.print(&printed);
    }
    match result {
        Ok(_) => Ok(()),
        Err(error) => Err(match &error.kind {
            ErrorKind::Host { payload, .. } => match payload.downcast_ref::<crate::Error>() {
                Some(e) => EnvError::Command(e.clone()),
                None => EnvError::python(&error),
            },
            _ => EnvError::python(&error),
        }),
    }
}

/// Registers the native modules env.py imports.
pub fn install(interp: &mut Interp<'_>, state: Rc<std::cell::RefCell<alembic::ContextState>>) {
    sqlalchemy::install(interp);
    schema::install(interp);
    alembic::install(interp, state);
}

/// `sys.path` as Alembic's command line has it when env.py runs: the
/// script directory (env.py's own), `prepend_sys_path` entries and the
/// current directory.
fn setup_sys_path(interp: &mut Interp<'_>, config: &Config, script_dir: &Path) {
    let mut path = Vec::new();
    path.push(Value::str(script_dir.to_string_lossy()));
    if let Ok(Some(prepend)) = config.alembic_option("prepend_sys_path") {
        let separator = config.main_option("path_separator").ok().flatten();
        let parts: Vec<String> = match separator.as_deref() {
            Some("space") => prepend.split(' ').map(str::to_string).collect(),
            Some("newline") => prepend.lines().map(str::to_string).collect(),
            Some(";") => prepend.split(';').map(str::to_string).collect(),
            Some(":") | Some("os") => prepend.split(':').map(str::to_string).collect(),
            _ => prepend.split([' ', ',']).map(str::to_string).collect(),
        };
        for part in parts.iter().rev() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let absolute = crate::config::absolute(
                &std::env::current_dir().unwrap_or_default(),
                Path::new(part),
            );
            path.insert(0, Value::str(absolute.to_string_lossy()));
        }
    }
    path.push(Value::str(
        std::env::current_dir()
            .unwrap_or_default()
            .to_string_lossy(),
    ));
    *interp.sys_path.borrow_mut() = path;
}

/// The escape hatch: the URL and options set explicitly, without running env.py.
#[derive(Debug, Clone, Default)]
pub struct Explicit {
    pub url: String,
    pub version_table: Option<String>,
    pub version_table_schema: Option<String>,
    pub transaction_per_migration: bool,
    pub transactional_ddl: Option<bool>,
}

impl Explicit {
    /// `[aurora] url = ...` (and `version_table`, `version_table_schema`,
    /// `transaction_per_migration`, `transactional_ddl`), each overridden by
    /// `AURORA_URL`, `AURORA_VERSION_TABLE`, ... Present only when a URL is set.
    pub fn from_config(config: &Config) -> Result<Option<Explicit>, String> {
        let get = |key: &str| -> Option<String> {
            std::env::var(format!("AURORA_{}", key.to_uppercase()))
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| config.section_option("aurora", key).ok().flatten())
        };
        let Some(url) = get("url") else {
            let needs_url = [
                "version_table",
                "version_table_schema",
                "transaction_per_migration",
                "transactional_ddl",
            ]
            .iter()
            .find(|k| get(k).is_some());
            if let Some(key) = needs_url {
                return Err(format!(
                    "{}: [aurora] {key} is set but no url: add `url = ...` to the [aurora] section \
                     (or set AURORA_URL)",
                    config.config_file_name
                ));
            }
            return Ok(None);
        };
        let boolean = |key: &str| -> Result<Option<bool>, String> {
            match get(key).as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => Ok(None),
                Some("true" | "1" | "yes" | "on") => Ok(Some(true)),
                Some("false" | "0" | "no" | "off") => Ok(Some(false)),
                Some(other) => Err(format!("[aurora] {key} = {other}: expected true or false")),
            }
        };
        Ok(Some(Explicit {
            url,
            version_table: get("version_table"),
            version_table_schema: get("version_table_schema"),
            transaction_per_migration: boolean("transaction_per_migration")?.unwrap_or(false),
            transactional_ddl: boolean("transactional_ddl")?,
        }))
    }
}
