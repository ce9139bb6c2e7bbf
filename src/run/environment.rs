//! Runs the project's env.py for a command (as Alembic's `run_env` does)
//! and hands each `context.run_migrations()` to the command's work, with the
//! options env.py configured and its connection. The `[aurora]` ini section
//! (or `AURORA_URL`) replaces env.py with explicit settings.

use std::rc::Rc;

use super::{Project, Sink};
use crate::env::{self, Configured, RunRequest};
use crate::interp::{Args, Interp, Value};
use crate::plan::{Direction, Step};
use crate::sql::version::VersionTable;
use crate::sql::Dialect;
use crate::Error;

/// What the environment says about one run.
pub struct RunContext {
    pub dialect: Dialect,
    /// The database URL (for messages: `current --verbose`).
    pub url: Option<crate::db::DatabaseUrl>,
    pub version_table: VersionTable,
    pub transactional_ddl: bool,
    pub transaction_per_migration: bool,
    /// `run_migrations(engine_name=...)` (the multidb template).
    pub engine_name: Option<String>,
    /// What lowering a revision may consult (the project's modules, the ini).
    pub lower: crate::ops::LowerContext,
}

impl RunContext {
    fn from_configured(c: &Configured, engine_name: Option<String>) -> Result<RunContext, Error> {
        let url = match &c.connection {
            Some(conn) => Some(conn.engine.url.clone()),
            None => c.url.clone(),
        };
        let dialect = match (&url, c.dialect_name.as_deref()) {
            (Some(u), _) => u.dialect(),
            (None, Some("sqlite")) => Dialect::Sqlite,
            (None, Some("postgresql")) => Dialect::Postgresql,
            (None, Some(other)) => {
                return Err(Error::Failed(format!(
                    "Can't load plugin: sqlalchemy.dialects:{other}"
                )))
            }
            (None, None) => return Err(Error::Crash("env.py configured no database".into())),
        };
        Ok(RunContext {
            dialect,
            url,
            version_table: VersionTable {
                name: c
                    .version_table
                    .clone()
                    .unwrap_or_else(|| "alembic_version".to_string()),
                schema: c.version_table_schema.clone(),
            },
            transactional_ddl: c.transactional_ddl.unwrap_or(dialect.transactional_ddl()),
            transaction_per_migration: c.transaction_per_migration,
            engine_name,
            lower: crate::ops::LowerContext::default(),
        })
    }
}

/// Python callbacks env.py configured, callable while a run is under way.
pub struct Hooks<'a, 'h> {
    interp: Option<&'a mut Interp<'h>>,
    /// What env.py configured (none with explicit `[aurora]` settings).
    pub configured: Option<Configured>,
    on_version_apply: Option<Value>,
    connection: Option<Value>,
    state: Option<Rc<std::cell::RefCell<crate::env::alembic::ContextState>>>,
}

impl Hooks<'_, '_> {
    fn none() -> Hooks<'static, 'static> {
        Hooks {
            interp: None,
            configured: None,
            on_version_apply: None,
            connection: None,
            state: None,
        }
    }

    /// The migration context callbacks receive (`None` without a running env.py).
    pub fn migration_context(&self) -> Value {
        self.state
            .as_ref()
            .map_or(Value::None, crate::env::alembic::migration_context)
    }

    /// Calls a Python callable env.py gave; its exceptions are crashes.
    pub fn call(&mut self, f: &Value, args: Args) -> Result<Value, Error> {
        let Some(interp) = self.interp.as_deref_mut() else {
            return Err(Error::Crash(
                "no env.py is running to call back into".into(),
            ));
        };
        interp.call(f, args).map_err(|e| Error::Crash(e.describe()))
    }

    /// Runs the models file `path` (the `[aurora] models = ...` override) as
    /// a module, in env.py's interpreter when env.py runs (its `sys.path`
    /// and imported modules), else in a fresh one with SQLAlchemy's names
    /// and the file's folder on `sys.path`; the `MetaData` values its
    /// globals reach.
    pub fn run_models_file(&mut self, path: &std::path::Path) -> Result<Vec<Value>, Error> {
        let mut fresh;
        let interp: &mut Interp<'_> = match self.interp.as_deref_mut() {
            Some(interp) => interp,
            None => {
                fresh = Interp::new(None);
                crate::env::sqlalchemy::install(&mut fresh);
                crate::env::schema::install(&mut fresh);
                if let Some(dir) = path.parent() {
                    fresh
                        .sys_path
                        .borrow_mut()
                        .push(Value::str(dir.to_string_lossy()));
                }
                &mut fresh
            }
        };
        let module = interp
            .run_file(path, "aurora_models", Vec::new())
            .map_err(|e| Error::Failed(format!("models = {}: {}", path.display(), e.describe())))?;
        let globals = module.globals.borrow();
        Ok(crate::autogen::models::module_metadata(globals.values()))
    }

    /// Calls `on_version_apply(ctx, step, heads, run_args)` after a step's
    /// version changes, inside its transaction.
    pub fn version_applied(
        &mut self,
        step: &Step,
        conn: &mut dyn crate::db::Connection,
        table: &VersionTable,
    ) -> Result<(), Error> {
        let (Some(interp), Some(hook)) = (self.interp.as_deref_mut(), &self.on_version_apply)
        else {
            return Ok(());
        };
        let heads =
            crate::db::current_heads(conn, table).map_err(|e| Error::Crash(e.to_string()))?;
        let (is_upgrade, is_stamp) = match step.direction {
            Direction::Upgrade => (true, false),
            Direction::Downgrade => (false, false),
            Direction::Stamp => (!step.to.is_empty(), true),
        };
        let (up, down) = if is_upgrade {
            (step.to.clone(), step.from.clone())
        } else {
            (step.from.clone(), step.to.clone())
        };
        let ids = |v: &[String]| Value::tuple(v.iter().map(Value::str).collect());
        let mut info = crate::interp::Dict::default();
        info.insert(Value::str("is_upgrade"), Value::Bool(is_upgrade));
        info.insert(Value::str("is_stamp"), Value::Bool(is_stamp));
        info.insert(Value::str("is_migration"), Value::Bool(!is_stamp));
        info.insert(Value::str("up_revision_ids"), ids(&up));
        info.insert(Value::str("down_revision_ids"), ids(&down));
        info.insert(
            Value::str("up_revision_id"),
            Value::opt_str((up.len() == 1).then(|| up[0].clone())),
        );
        info.insert(
            Value::str("source_revision_ids"),
            ids(if is_upgrade { &down } else { &up }),
        );
        info.insert(
            Value::str("destination_revision_ids"),
            ids(if is_upgrade { &up } else { &down }),
        );
        let mut ctx = crate::interp::Dict::default();
        ctx.insert(
            Value::str("connection"),
            self.connection.clone().unwrap_or(Value::None),
        );
        if let Some(state) = &self.state {
            ctx.insert(
                Value::str("config"),
                Value::Native(state.borrow().config.clone()),
            );
        }
        let args = Args::new(vec![
            Value::native(crate::env::alembic::Namespace(ctx)),
            Value::native(crate::env::alembic::Namespace(info)),
            Value::Set(Rc::new(std::cell::RefCell::new(
                heads.iter().map(Value::str).collect(),
            ))),
            Value::dict(crate::interp::Dict::default()),
        ]);
        interp
            .call(hook, args)
            .map(|_| ())
            .map_err(|e| Error::Crash(e.describe()))
    }
}

/// The command's work for one run: given the context, the connection
/// (online) and the hooks.
pub type Work<'w, O> = dyn FnMut(
        &mut Project,
        &mut O,
        &RunContext,
        Option<&mut dyn crate::db::Connection>,
        &mut Hooks<'_, '_>,
    ) -> Result<(), Error>
    + 'w;

struct CommandDriver<'a, 'w, O: Sink + ?Sized> {
    project: &'a mut Project,
    out: &'a mut O,
    offline: bool,
    work: &'a mut Work<'w, O>,
    state: Option<Rc<std::cell::RefCell<crate::env::alembic::ContextState>>>,
}

impl<O: Sink + ?Sized> env::Driver for CommandDriver<'_, '_, O> {
    fn run_migrations(
        &mut self,
        interp: &mut Interp<'_>,
        request: &RunRequest,
        connection: Option<&mut dyn crate::db::Connection>,
    ) -> Result<(), Error> {
        let mut context =
            RunContext::from_configured(&request.options, request.engine_name.clone())?;
        context.lower = super::lower_context(self.project, context.dialect)?;
        context.lower.naming_convention = naming_convention(&request.options.target_metadata);
        let buffer = match &request.options.output_buffer {
            None => None,
            Some(value) => match value.downcast_rc::<crate::interp::stdlib::File>() {
                Some(file) => Some(file),
                None => {
                    return Err(Error::Crash(format!(
                        "env.py: context.configure(output_buffer=<{}>): aurora writes SQL only to files opened with open()",
                        value.type_name()
                    )))
                }
            },
        };
        let connection = if self.offline {
            None
        } else {
            match connection {
                Some(c) => Some(c),
                None => {
                    return Err(Error::Crash(
                        "env.py ran an online migration without a connection: pass \
                         connection= to context.configure() (a url= alone is for --sql)"
                            .into(),
                    ))
                }
            }
        };
        let mut hooks = Hooks {
            interp: Some(interp),
            configured: Some(request.options.clone()),
            on_version_apply: request.options.on_version_apply.clone(),
            connection: request.options.connection_value.clone(),
            state: self.state.clone(),
        };
        if let Some(file) = buffer {
            self.out
                .redirect_sql(Some(Box::new(move |text: &str| file.write_text(text))));
        }
        let result = (self.work)(self.project, self.out, &context, connection, &mut hooks);
        self.out.redirect_sql(None);
        result
    }

    fn print(&mut self, text: &str) {
        self.out.python_print(text);
    }

    fn set_state(&mut self, state: Rc<std::cell::RefCell<crate::env::alembic::ContextState>>) {
        self.state = Some(state);
    }
}

/// The command line as `config.cmd_opts` shows it.
pub struct CommandLine {
    pub cmd_opts: Vec<(String, Value)>,
    pub revision_argument: Option<String>,
    pub starting_revision: Option<String>,
    pub tag: Option<String>,
}

/// Runs env.py (or the explicit `[aurora]` settings) with `work` doing the
/// command's part at each `run_migrations()`.
pub fn with_environment<O: Sink + ?Sized>(
    project: &mut Project,
    out: &mut O,
    offline: bool,
    command: CommandLine,
    work: &mut Work<'_, O>,
) -> Result<(), Error> {
    if let Some(explicit) = env::Explicit::from_config(&project.config).map_err(Error::Failed)? {
        return run_explicit(project, out, offline, &explicit, work);
    }
    let script_dir = project.script_directory()?.dir.clone();
    // `revision` has loaded its revision map before env.py runs, as Alembic's has: env.py's
    // `ScriptDirectory.get_current_head()` (the sequential rev id recipe) reads it.
    let heads = if command.cmd_opts.iter().any(|(k, _)| k == "autogenerate") {
        match project.try_map()? {
            Ok(map) => Some(map.heads.iter().map(|&h| map.id(h).to_string()).collect()),
            Err(_) => None,
        }
    } else {
        None
    };
    let inputs = env::Inputs {
        config: project.config.clone(),
        offline,
        x_arguments: project.x_arguments.clone(),
        cmd_opts: command.cmd_opts,
        script_dir,
        heads,
        revision_argument: command.revision_argument,
        starting_revision: command.starting_revision,
        tag: command.tag,
    };
    let mut driver = CommandDriver {
        project,
        out,
        offline,
        work,
        state: None,
    };
    env::run(inputs, &mut driver).map_err(Error::from)
}

fn run_explicit<O: Sink + ?Sized>(
    project: &mut Project,
    out: &mut O,
    offline: bool,
    explicit: &env::Explicit,
    work: &mut Work<'_, O>,
) -> Result<(), Error> {
    let url = crate::db::DatabaseUrl::parse(&explicit.url).map_err(|e| match e {
        crate::db::DbError::InvalidUrl { reason } => Error::Failed(reason),
        other => Error::Crash(other.to_string()),
    })?;
    // Without env.py, logging is set up as the templates' env.py does it:
    // `fileConfig(config.config_file_name)` when the ini configures loggers.
    if project.config.has_section("loggers") {
        let ini = project.config.ini_path.to_string_lossy().into_owned();
        crate::logging::file_config(&ini, true).map_err(Error::Crash)?;
    }
    let dialect = url.dialect();
    let context = RunContext {
        dialect,
        url: Some(url.clone()),
        version_table: VersionTable {
            name: explicit
                .version_table
                .clone()
                .unwrap_or_else(|| "alembic_version".to_string()),
            schema: explicit.version_table_schema.clone(),
        },
        transactional_ddl: explicit
            .transactional_ddl
            .unwrap_or(dialect.transactional_ddl()),
        transaction_per_migration: explicit.transaction_per_migration,
        engine_name: None,
        lower: super::lower_context(project, dialect)?,
    };
    let mut hooks = Hooks::none();
    if offline {
        return work(project, out, &context, None, &mut hooks);
    }
    let mut conn = crate::db::connect(&url).map_err(|e| Error::Crash(e.to_string()))?;
    work(project, out, &context, Some(conn.as_mut()), &mut hooks)
}

/// The default `cmd_opts` of a command that migrates.
pub fn command_line(
    name: &str,
    sql: bool,
    revision: Option<&str>,
    tag: Option<&str>,
) -> CommandLine {
    CommandLine {
        cmd_opts: vec![
            ("cmd".into(), Value::str(name)),
            ("sql".into(), Value::Bool(sql)),
            ("autogenerate".into(), Value::Bool(false)),
            ("tag".into(), Value::opt_str(tag.map(str::to_string))),
            (
                "revision".into(),
                Value::opt_str(revision.map(str::to_string)),
            ),
        ],
        revision_argument: revision.map(str::to_string),
        starting_revision: None,
        tag: tag.map(str::to_string),
    }
}

/// The multidb template's revisions: `upgrade(engine_name)` dispatches to
/// `upgrade_<engine_name>()` through `globals()`. Returns the source with
/// that engine's functions as `upgrade`/`downgrade`, after checking the
/// dispatch is the template's.
pub fn engine_functions(
    path: &std::path::Path,
    source: &str,
    engine: &str,
    direction: Direction,
) -> Result<String, Error> {
    let verb = if direction == Direction::Downgrade {
        "downgrade"
    } else {
        "upgrade"
    };
    let dispatch = format!("globals()[\"{verb}_%s\" % engine_name]()");
    let dispatch_single = format!("globals()['{verb}_%s' % engine_name]()");
    if !source.contains(&dispatch) && !source.contains(&dispatch_single) {
        return Err(Error::Crash(format!(
            "{}: env.py passes engine_name={engine:?} to {verb}(), but {verb}() is not the \
             multidb template's `{dispatch}` dispatch",
            path.display()
        )));
    }
    let target = format!("def {verb}_{engine}(");
    if !source.contains(&target) {
        return Err(Error::Crash(format!(
            "{}: KeyError: '{verb}_{engine}' (the revision has no {verb}_{engine}() function)",
            path.display()
        )));
    }
    Ok(source
        .replace(
            &format!("def {verb}("),
            &format!("def _aurora_dispatch_{verb}("),
        )
        .replace(&target, &format!("def {verb}(")))
}

/// `target_metadata.naming_convention` as lowering reads it: `None` when
/// env.py gives no `MetaData` or an empty convention (SQLAlchemy's default).
pub(crate) fn naming_convention(target: &Value) -> Option<crate::ops::Convention> {
    let metadata = target.downcast::<crate::env::schema::MetaData>()?;
    let Value::Dict(d) = metadata.naming_convention.as_ref()? else {
        return None;
    };
    let mut convention = crate::ops::Convention::default();
    for (k, v) in &d.borrow().items {
        match k.as_str() {
            Some(key) => convention.entries.push((
                key.to_string(),
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("a {}", v.type_name())),
            )),
            None => convention.other_keys.push(k.type_name()),
        }
    }
    if convention.entries.is_empty() && convention.other_keys.is_empty() {
        return None;
    }
    Some(convention)
}
