//! `alembic.context` and the `Config` object env.py reads (`context.config`),
//! plus `dotenv`.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use super::sqlalchemy::{self, url_of};
use super::{Configured, Inputs};
use crate::config::Config;
use crate::interp::{Args, Dict, Interp, Native, PyError, PyResult, Value};

/// What `alembic.context` holds while env.py runs.
pub struct ContextState {
    pub config: Rc<ConfigObject>,
    pub offline: bool,
    pub x_arguments: Vec<String>,
    pub configured: Option<Configured>,
    pub script_dir: std::path::PathBuf,
    pub heads: Option<Vec<String>>,
    pub revision_argument: Option<String>,
    pub starting_revision: Option<String>,
    pub tag: Option<String>,
}

impl ContextState {
    pub fn new(inputs: &Inputs) -> ContextState {
        let mut opts = Dict::default();
        for (k, v) in &inputs.cmd_opts {
            opts.insert(Value::str(k), v.clone());
        }
        opts.insert(
            Value::str("x"),
            Value::list(inputs.x_arguments.iter().map(Value::str).collect()),
        );
        ContextState {
            config: Rc::new(ConfigObject {
                config: RefCell::new(inputs.config.clone()),
                cmd_opts: Value::native(Namespace(opts)),
                attributes: Value::dict(Dict::default()),
            }),
            offline: inputs.offline,
            x_arguments: inputs.x_arguments.clone(),
            configured: None,
            script_dir: inputs.script_dir.clone(),
            heads: inputs.heads.clone(),
            revision_argument: inputs.revision_argument.clone(),
            starting_revision: inputs.starting_revision.clone(),
            tag: inputs.tag.clone(),
        }
    }
}

/// `argparse.Namespace`: the command line as `config.cmd_opts`.
pub struct Namespace(pub Dict);

impl Native for Namespace {
    fn type_name(&self) -> String {
        "Namespace".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(self.0.get_str(name))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Alembic's `Config`.
pub struct ConfigObject {
    pub config: RefCell<Config>,
    pub cmd_opts: Value,
    pub attributes: Value,
}

fn config_error(e: crate::config::ConfigError) -> PyError {
    PyError::new("configparser.InterpolationError", e.to_string())
}

impl ConfigObject {
    fn section_dict(&self, section: &str) -> PyResult<Option<Value>> {
        let config = self.config.borrow();
        if !config.has_section(section) {
            return Ok(None);
        }
        let mut d = Dict::default();
        for key in config.section_keys(section) {
            let value = config.section_option(section, &key).map_err(config_error)?;
            d.insert(Value::str(&key), Value::opt_str(value));
        }
        Ok(Some(Value::dict(d)))
    }
}

fn option_value(value: Value, method: &str) -> PyResult<String> {
    match value {
        Value::Str(s) => Ok(s.to_string()),
        _ => Err(PyError::new(
            "TypeError",
            format!("option values must be strings ({method})"),
        )),
    }
}

impl Native for ConfigObject {
    fn type_name(&self) -> String {
        "Config".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let me = self.clone();
        Ok(Some(match name {
            "get_main_option" => Value::builtin(name, move |_, a| {
                let key = a.require(0, "name", "get_main_option")?.to_str();
                let config = me.config.borrow();
                let section = config.section.clone();
                match config
                    .section_option(&section, &key)
                    .map_err(config_error)?
                {
                    Some(v) => Ok(Value::str(v)),
                    None => Ok(a.get(1, "default").unwrap_or(Value::None)),
                }
            }),
            "get_alembic_option" => Value::builtin(name, move |_, a| {
                let key = a.require(0, "name", "get_alembic_option")?.to_str();
                match me
                    .config
                    .borrow()
                    .alembic_option(&key)
                    .map_err(config_error)?
                {
                    Some(v) => Ok(Value::str(v)),
                    None => Ok(a.get(1, "default").unwrap_or(Value::None)),
                }
            }),
            "get_section_option" => Value::builtin(name, move |_, a| {
                let section = a.require(0, "section", "get_section_option")?.to_str();
                let key = a.require(1, "name", "get_section_option")?.to_str();
                let config = me.config.borrow();
                if !config.has_section(&section) {
                    return Err(PyError::new(
                        "configparser.NoSectionError",
                        format!("No section: {}", Value::str(&section).repr()),
                    ));
                }
                match config
                    .section_option(&section, &key)
                    .map_err(config_error)?
                {
                    Some(v) => Ok(Value::str(v)),
                    None => Ok(a.get(2, "default").unwrap_or(Value::None)),
                }
            }),
            "get_section" => Value::builtin(name, move |_, a| {
                let section = a.require(0, "name", "get_section")?.to_str();
                Ok(me
                    .section_dict(&section)?
                    .unwrap_or(a.get(1, "default").unwrap_or(Value::None)))
            }),
            "set_main_option" => Value::builtin(name, move |_, a| {
                let key = a.require(0, "name", "set_main_option")?.to_str();
                let value =
                    option_value(a.require(1, "value", "set_main_option")?, "set_main_option")?;
                let mut config = me.config.borrow_mut();
                let section = config.section.clone();
                config
                    .set_section_option(&section, &key, &value)
                    .map_err(config_error)?;
                Ok(Value::None)
            }),
            "set_section_option" => Value::builtin(name, move |_, a| {
                let section = a.require(0, "section", "set_section_option")?.to_str();
                let key = a.require(1, "name", "set_section_option")?.to_str();
                let value = option_value(
                    a.require(2, "value", "set_section_option")?,
                    "set_section_option",
                )?;
                me.config
                    .borrow_mut()
                    .set_section_option(&section, &key, &value)
                    .map_err(config_error)?;
                Ok(Value::None)
            }),
            "config_ini_section" => Value::str(&self.config.borrow().section),
            "config_file_name" => Value::str(&self.config.borrow().config_file_name),
            "cmd_opts" => self.cmd_opts.clone(),
            "attributes" => self.attributes.clone(),
            "print_stdout" => Value::builtin(name, |interp, a| {
                let text = a.require(0, "text", "print_stdout")?.to_str();
                let rest = a.positional[1..].to_vec();
                let line = if rest.is_empty() {
                    text
                } else {
                    crate::interp::format::percent_format(interp, &text, &Value::tuple(rest))?
                };
                interp.stdout.push_str(&line);
                interp.stdout.push('\n');
                Ok(Value::None)
            }),
            _ => return Ok(None),
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `context.begin_transaction()`: aurora's runner manages the transactions
/// (per migration or for the run, as configured), so this only marks the block.
struct BeginTransaction;

impl Native for BeginTransaction {
    fn type_name(&self) -> String {
        "_ProxyTransaction".into()
    }
    fn enter(self: Rc<Self>, _: &mut Interp<'_>) -> PyResult<Option<Value>> {
        Ok(Some(Value::None))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `context.get_context()`: the migration context.
struct MigrationContext(Rc<RefCell<ContextState>>);

/// The `MigrationContext` Alembic hands to callbacks (`process_revision_directives`).
pub fn migration_context(state: &Rc<RefCell<ContextState>>) -> Value {
    Value::native(MigrationContext(state.clone()))
}

impl Native for MigrationContext {
    fn type_name(&self) -> String {
        "MigrationContext".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let state = self.0.borrow();
        let Some(configured) = &state.configured else {
            return Err(PyError::new(
                "AssertionError",
                "context.configure() was not called",
            ));
        };
        Ok(match name {
            "connection" | "bind" => {
                Some(configured.connection_value.clone().unwrap_or(Value::None))
            }
            "dialect" => configured
                .dialect()
                .map(|d| Value::native(sqlalchemy::Dialect(dialect_name(d)))),
            "as_sql" => Some(Value::Bool(state.offline)),
            "config" => Some(Value::Native(state.config.clone())),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub fn dialect_name(d: crate::sql::Dialect) -> &'static str {
    d.sql().name()
}

/// `context.script` (and `ScriptDirectory.from_config(config)`): the script directory, with
/// its heads when the command loaded them.
struct ScriptDirectory(std::path::PathBuf, Option<Vec<String>>);

impl ScriptDirectory {
    fn heads(&self, method: &str) -> PyResult<Vec<String>> {
        self.1.clone().ok_or_else(|| {
            PyError::unsupported(format!(
                "ScriptDirectory.{method}() outside `revision` (aurora loads the revision map for env.py only there)"
            ))
        })
    }
}

impl Native for ScriptDirectory {
    fn type_name(&self) -> String {
        "ScriptDirectory".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "dir" => Some(Value::str(self.0.to_string_lossy())),
            "versions" => Some(Value::str(self.0.join("versions").to_string_lossy())),
            "get_current_head" => {
                let this = self.clone();
                Some(Value::builtin("get_current_head", move |_, _| {
                    let heads = this.heads("get_current_head")?;
                    match heads.as_slice() {
                        [] => Ok(Value::None),
                        [one] => Ok(Value::str(one)),
                        _ => Err(PyError::new(
                            "CommandError",
                            "The script directory has multiple heads (due to branching).Please use get_heads(), or merge the branches using alembic merge.",
                        )),
                    }
                }))
            }
            "get_heads" => {
                let this = self.clone();
                Some(Value::builtin("get_heads", move |_, _| {
                    let heads = this.heads("get_heads")?;
                    Ok(Value::list(heads.iter().map(Value::str).collect()))
                }))
            }
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Reads `context.configure(...)` keywords; a keyword aurora does not act on
/// is refused with its name unless it is at its default.
fn configure(state: &Rc<RefCell<ContextState>>, args: Args) -> PyResult<Value> {
    if !args.positional.is_empty() {
        return Err(PyError::new(
            "TypeError",
            "configure() takes keyword arguments only",
        ));
    }
    let mut c = Configured::default();
    for (key, value) in args.keywords {
        let text = |v: &Value| -> PyResult<Option<String>> {
            match v {
                Value::None => Ok(None),
                Value::Str(s) => Ok(Some(s.to_string())),
                other => Err(PyError::new(
                    "TypeError",
                    format!(
                        "configure({key}=...) expects a string, got {}",
                        other.type_name()
                    ),
                )),
            }
        };
        let callable = |v: &Value| (!v.is_none()).then(|| v.clone());
        match key.as_str() {
            "url" => {
                if !value.is_none() {
                    c.url = Some(url_of(&value)?);
                }
            }
            "connection" => {
                if !value.is_none() {
                    let conn = value.downcast_rc::<sqlalchemy::Connection>();
                    let Some(conn) = conn else {
                        return Err(PyError::unsupported(format!(
                            "configure(connection=<{}>) (only connections of engines made in env.py)",
                            value.type_name()
                        )));
                    };
                    c.connection = Some(conn);
                    c.connection_value = Some(value.clone());
                }
            }
            "dialect_name" => c.dialect_name = text(&value)?,
            "version_table" => c.version_table = text(&value)?,
            "version_table_schema" => c.version_table_schema = text(&value)?,
            "transaction_per_migration" => c.transaction_per_migration = value.truthy(),
            "transactional_ddl" => c.transactional_ddl = (!value.is_none()).then(|| value.truthy()),
            "target_metadata" => c.target_metadata = value,
            "include_object" => c.include_object = callable(&value),
            "include_name" => c.include_name = callable(&value),
            "render_item" => c.render_item = callable(&value),
            "include_schemas" => c.include_schemas = value.truthy(),
            "process_revision_directives" => c.process_revision_directives = callable(&value),
            "on_version_apply" => c.on_version_apply = callable(&value),
            "render_as_batch" => c.render_as_batch = value.truthy(),
            "compare_type" => c.compare_type = Some(value),
            "compare_server_default" => c.compare_server_default = Some(value),
            "user_module_prefix" => c.user_module_prefix = text(&value)?,
            "output_buffer" => c.output_buffer = callable(&value),
            "upgrade_token" => c.upgrade_token = text(&value)?,
            "downgrade_token" => c.downgrade_token = text(&value)?,
            "literal_binds" => c.literal_binds = value.truthy(),
            // Options that change nothing aurora does.
            "alembic_module_prefix" => c.alembic_module_prefix = text(&value)?,
            "sqlalchemy_module_prefix" => c.sqlalchemy_module_prefix = text(&value)?,
            "template_args" => {
                if !value.is_none() {
                    c.template_args = Some(value);
                }
            }
            "dialect_opts" | "tag" => {}
            "starting_rev" | "output_encoding" | "autogenerate_plugins" | "version_table_pk" => {
                if !(value.is_none() || key == "version_table_pk" && value.truthy()) {
                    return Err(PyError::unsupported(format!("configure({key}=...)")));
                }
            }
            other => {
                return Err(PyError::unsupported(format!(
                    "configure({other}=...), an option aurora does not know"
                )))
            }
        }
    }
    if c.url.is_none() && c.connection.is_none() && c.dialect_name.is_none() {
        return Err(PyError::new(
            "sqlalchemy.exc.ArgumentError",
            "context.configure() needs url=, connection= or dialect_name=",
        ));
    }
    state.borrow_mut().configured = Some(c);
    Ok(Value::None)
}

pub fn install(interp: &mut Interp<'_>, state: Rc<RefCell<ContextState>>) {
    let s = state.clone();
    interp.register_module("alembic.context", move |_| {
        let state = s.clone();
        let config = Value::Native(state.borrow().config.clone());
        let st = |f: fn(&Rc<RefCell<ContextState>>, Args) -> PyResult<Value>, name: &str| {
            let state = state.clone();
            Value::builtin(name, move |_, a| f(&state, a))
        };
        let script = Value::native(ScriptDirectory(
            state.borrow().script_dir.clone(),
            state.borrow().heads.clone(),
        ));
        let context_state = state.clone();
        Ok(Interp::make_module(
            "alembic.context",
            vec![
                ("config", config),
                ("script", script),
                ("configure", st(configure, "configure")),
                (
                    "is_offline_mode",
                    st(
                        |s, _| Ok(Value::Bool(s.borrow().offline)),
                        "is_offline_mode",
                    ),
                ),
                (
                    "get_x_argument",
                    st(
                        |s, a| {
                            let xs = s.borrow().x_arguments.clone();
                            if a.get(0, "as_dictionary").is_some_and(|v| v.truthy()) {
                                let mut d = Dict::default();
                                for x in xs {
                                    let (k, v) = x.split_once('=').unwrap_or((x.as_str(), ""));
                                    d.insert(Value::str(k), Value::str(v));
                                }
                                Ok(Value::dict(d))
                            } else {
                                Ok(Value::list(xs.iter().map(Value::str).collect()))
                            }
                        },
                        "get_x_argument",
                    ),
                ),
                (
                    "get_tag_argument",
                    st(
                        |s, _| Ok(Value::opt_str(s.borrow().tag.clone())),
                        "get_tag_argument",
                    ),
                ),
                (
                    "get_revision_argument",
                    st(
                        |s, _| Ok(Value::opt_str(s.borrow().revision_argument.clone())),
                        "get_revision_argument",
                    ),
                ),
                (
                    "get_starting_revision_argument",
                    st(
                        |s, _| Ok(Value::opt_str(s.borrow().starting_revision.clone())),
                        "get_starting_revision_argument",
                    ),
                ),
                (
                    "begin_transaction",
                    Value::builtin("begin_transaction", |_, _| {
                        Ok(Value::native(BeginTransaction))
                    }),
                ),
                (
                    "run_migrations",
                    Value::builtin("run_migrations", |interp, a| {
                        interp.call_host("run_migrations", a)
                    }),
                ),
                (
                    "get_context",
                    Value::builtin("get_context", move |_, _| {
                        Ok(Value::native(MigrationContext(context_state.clone())))
                    }),
                ),
                (
                    "get_bind",
                    st(
                        |s, _| {
                            Ok(s.borrow()
                                .configured
                                .as_ref()
                                .and_then(|c| c.connection_value.clone())
                                .unwrap_or(Value::None))
                        },
                        "get_bind",
                    ),
                ),
                (
                    "execute",
                    Value::builtin("execute", |_, _| {
                        Err(PyError::unsupported("context.execute() in env.py"))
                    }),
                ),
            ],
        ))
    });
    let s = state.clone();
    interp.register_module("alembic.script", move |_| {
        let state = s.clone();
        let script = Value::native(ScriptDirectory(
            state.borrow().script_dir.clone(),
            state.borrow().heads.clone(),
        ));
        let class = Rc::new(crate::interp::Class::new(
            "ScriptDirectory",
            "alembic.script",
            Vec::new(),
        ));
        class.set(
            "from_config",
            Value::builtin("from_config", move |_, _| Ok(script.clone())),
        );
        Ok(Interp::make_module(
            "alembic.script",
            vec![("ScriptDirectory", Value::Class(class))],
        ))
    });
    interp.register_module("alembic", |interp| {
        let context = interp.load_native("alembic.context")?;
        Ok(Interp::make_module("alembic", vec![("context", context)]))
    });
    interp.register_module("dotenv", |_| {
        Ok(Interp::make_module(
            "dotenv",
            vec![
                ("load_dotenv", Value::builtin("load_dotenv", load_dotenv)),
                (
                    "find_dotenv",
                    Value::builtin("find_dotenv", |_, _| {
                        Ok(Value::str(find_dotenv().unwrap_or_default()))
                    }),
                ),
            ],
        ))
    });
}

fn find_dotenv() -> Option<String> {
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let candidate = dir.join(".env");
        if candidate.is_file() {
            return Some(candidate.to_string_lossy().into_owned());
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// `dotenv.load_dotenv(path=None, override=False)`: `KEY=value` lines,
/// `export KEY=value`, quotes, `#` comments; existing variables win unless
/// `override=True`.
fn load_dotenv(_: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    let path = match args.get(0, "dotenv_path") {
        Some(p) if !p.is_none() => Some(crate::interp::stdlib::fspath(&p)?),
        _ => find_dotenv(),
    };
    let overwrite = args.keyword("override").is_some_and(|v| v.truthy());
    let Some(path) = path else {
        return Ok(Value::Bool(false));
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Value::Bool(false));
    };
    let mut any = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let mut value = value.trim().to_string();
        if let Some(q) = value.chars().next().filter(|c| *c == '"' || *c == '\'') {
            if let Some(end) = value[1..].find(q) {
                value = value[1..1 + end].to_string();
            }
        } else if let Some(hash) = value.find(" #") {
            value = value[..hash].trim_end().to_string();
        }
        if overwrite || std::env::var_os(key).is_none() {
            std::env::set_var(key, &value);
        }
        any = true;
    }
    Ok(Value::Bool(any))
}
