//! The parts of the standard library env.py code uses: `os`, `os.path`,
//! `sys`, `pathlib`, `logging` (whose output is aurora's own, so loggers
//! here write nothing), `typing`, `__future__`, `re` (a small regex engine),
//! `json`, `warnings`, and file objects for `open()`.

use std::any::Any;
use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::error::{PyError, PyResult};
use super::value::{Args, Dict, Native, Value};
use super::Interp;

pub fn install(interp: &mut Interp<'_>) {
    interp.register_module("os", |interp| {
        let path = interp.load_native("os.path")?;
        Ok(Interp::make_module(
            "os",
            vec![
                ("environ", Value::native(Environ)),
                ("path", path),
                ("sep", Value::str("/")),
                ("pathsep", Value::str(":")),
                ("linesep", Value::str("\n")),
                ("name", Value::str("posix")),
                ("curdir", Value::str(".")),
                (
                    "getenv",
                    Value::builtin("getenv", |_, args| {
                        let key = args.require(0, "key", "getenv")?.to_str();
                        Ok(match std::env::var(&key) {
                            Ok(v) => Value::str(v),
                            Err(_) => args.get(1, "default").unwrap_or(Value::None),
                        })
                    }),
                ),
                (
                    "getcwd",
                    Value::builtin("getcwd", |_, _| Ok(Value::str(cwd().to_string_lossy()))),
                ),
                (
                    "listdir",
                    Value::builtin("listdir", |_, args| {
                        let dir = args
                            .get(0, "path")
                            .map(|p| p.to_str())
                            .unwrap_or(".".into());
                        let mut names: Vec<String> = std::fs::read_dir(&dir)
                            .map_err(|e| PyError::new("FileNotFoundError", format!("{dir}: {e}")))?
                            .flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect();
                        names.sort();
                        Ok(Value::list(names.into_iter().map(Value::str).collect()))
                    }),
                ),
            ],
        ))
    });
    interp.register_module("os.path", |_| {
        let f = |name: &'static str, op: fn(&str) -> Value| {
            (
                name,
                Value::builtin(name, move |_, args| {
                    Ok(op(&fspath(&args.require(0, "path", name)?)?))
                }),
            )
        };
        Ok(Interp::make_module(
            "os.path",
            vec![
                f("dirname", |p| {
                    Value::str(match p.rfind('/') {
                        Some(0) => "/",
                        Some(i) => &p[..i],
                        None => "",
                    })
                }),
                f("basename", |p| {
                    Value::str(p.rsplit('/').next().unwrap_or(p))
                }),
                f("abspath", |p| {
                    Value::str(normalize(&cwd().join(p)).to_string_lossy())
                }),
                f("realpath", |p| {
                    let abs = cwd().join(p);
                    Value::str(
                        abs.canonicalize()
                            .unwrap_or_else(|_| normalize(&abs))
                            .to_string_lossy(),
                    )
                }),
                f("normpath", |p| {
                    Value::str(normalize(Path::new(p)).to_string_lossy())
                }),
                f("exists", |p| Value::Bool(Path::new(p).exists())),
                f("isfile", |p| Value::Bool(Path::new(p).is_file())),
                f("isdir", |p| Value::Bool(Path::new(p).is_dir())),
                f("isabs", |p| Value::Bool(p.starts_with('/'))),
                f("expanduser", |p| {
                    Value::str(match (p.strip_prefix('~'), std::env::var("HOME")) {
                        (Some(rest), Ok(home)) => format!("{home}{rest}"),
                        _ => p.to_string(),
                    })
                }),
                f("splitext", |p| {
                    let name_start = p.rfind('/').map(|i| i + 1).unwrap_or(0);
                    match p[name_start..].rfind('.') {
                        Some(i) if i > 0 => Value::tuple(vec![
                            Value::str(&p[..name_start + i]),
                            Value::str(&p[name_start + i..]),
                        ]),
                        _ => Value::tuple(vec![Value::str(p), Value::str("")]),
                    }
                }),
                f("split", |p| match p.rfind('/') {
                    Some(i) => Value::tuple(vec![
                        Value::str(if i == 0 { "/" } else { &p[..i] }),
                        Value::str(&p[i + 1..]),
                    ]),
                    None => Value::tuple(vec![Value::str(""), Value::str(p)]),
                }),
                (
                    "join",
                    Value::builtin("join", |_, args| {
                        let mut out = String::new();
                        for part in &args.positional {
                            let part = fspath(part)?;
                            if part.starts_with('/') || out.is_empty() {
                                out = part;
                            } else if out.ends_with('/') {
                                out.push_str(&part);
                            } else {
                                out.push('/');
                                out.push_str(&part);
                            }
                        }
                        Ok(Value::str(out))
                    }),
                ),
                ("sep", Value::str("/")),
            ],
        ))
    });
    let sys_path = interp.sys_path.clone();
    interp.register_module("sys", move |interp| {
        let modules = Value::dict(Dict::default());
        let _ = interp;
        Ok(Interp::make_module(
            "sys",
            vec![
                ("path", Value::List(sys_path.clone())),
                ("argv", Value::list(vec![Value::str("alembic")])),
                ("modules", modules),
                ("platform", Value::str(std::env::consts::OS)),
                (
                    "version_info",
                    Value::tuple(vec![Value::Int(3), Value::Int(12), Value::Int(0)]),
                ),
                ("stdout", Value::native(Stream { is_stderr: false })),
                ("stderr", Value::native(Stream { is_stderr: true })),
                (
                    "exit",
                    Value::builtin("exit", |_, args| {
                        let code = args
                            .positional
                            .first()
                            .map(|c| c.to_str())
                            .unwrap_or_default();
                        Err(PyError::new("SystemExit", code))
                    }),
                ),
            ],
        ))
    });
    interp.register_module("pathlib", |_| {
        Ok(Interp::make_module(
            "pathlib",
            vec![
                ("Path", Value::builtin("Path", path_new)),
                ("PurePath", Value::builtin("PurePath", path_new)),
                ("PosixPath", Value::builtin("PosixPath", path_new)),
            ],
        ))
    });
    interp.register_module("logging", |interp| {
        let config = interp.load_native("logging.config")?;
        let mut attrs = vec![
            ("config", config),
            (
                "getLogger",
                Value::builtin("getLogger", |_, args| {
                    let name = match args.get(0, "name") {
                        None | Some(Value::None) => "root".to_string(),
                        Some(v) => v.to_str(),
                    };
                    crate::logging::note_logger(&name);
                    Ok(Value::native(Logger { name }))
                }),
            ),
            ("basicConfig", Value::builtin("basicConfig", basic_config)),
            ("disable", noop("disable")),
            ("captureWarnings", noop("captureWarnings")),
        ];
        for (name, level) in [
            ("CRITICAL", 50),
            ("ERROR", 40),
            ("WARNING", 30),
            ("WARN", 30),
            ("INFO", 20),
            ("DEBUG", 10),
            ("NOTSET", 0),
        ] {
            attrs.push((name, Value::Int(level)));
        }
        for (name, level) in [
            ("debug", crate::logging::DEBUG),
            ("info", crate::logging::INFO),
            ("warning", crate::logging::WARNING),
            ("warn", crate::logging::WARNING),
            ("error", crate::logging::ERROR),
            ("critical", crate::logging::CRITICAL),
            ("exception", crate::logging::ERROR),
        ] {
            // The module-level functions log on the root logger, after
            // `basicConfig()` when the root has no handler.
            attrs.push((
                name,
                Value::builtin(name, move |interp, args| {
                    let _ = crate::logging::basic_config(
                        None,
                        None,
                        None,
                        crate::logging::Stream::Stderr,
                        false,
                    );
                    log_record(interp, "root", level, &args, 0)
                }),
            ));
        }
        Ok(Interp::make_module("logging", attrs))
    });
    interp.register_module("logging.config", |_| {
        Ok(Interp::make_module(
            "logging.config",
            vec![
                ("fileConfig", Value::builtin("fileConfig", file_config)),
                ("dictConfig", noop("dictConfig")),
            ],
        ))
    });
    interp.register_module("warnings", |_| {
        Ok(Interp::make_module(
            "warnings",
            vec![
                ("filterwarnings", noop("filterwarnings")),
                ("simplefilter", noop("simplefilter")),
                ("warn", noop("warn")),
            ],
        ))
    });
    interp.register_module("__future__", |_| {
        Ok(Interp::make_module(
            "__future__",
            vec![("annotations", Value::None)],
        ))
    });
    interp.register_module("typing", |_| {
        let names = [
            "Any",
            "Optional",
            "Union",
            "List",
            "Dict",
            "Tuple",
            "Set",
            "Iterable",
            "Iterator",
            "Sequence",
            "Mapping",
            "Callable",
            "Type",
            "TypeVar",
            "Literal",
            "cast",
            "overload",
            "Final",
            "ClassVar",
            "Generator",
            "MutableMapping",
            "NamedTuple",
        ];
        let mut attrs: Vec<(&str, Value)> = names
            .iter()
            .map(|n| (*n, Value::native(Annotation)))
            .collect();
        attrs.push(("TYPE_CHECKING", Value::Bool(false)));
        Ok(Interp::make_module("typing", attrs))
    });
    interp.register_module("re", |_| {
        Ok(Interp::make_module(
            "re",
            vec![
                ("split", Value::builtin("split", re_split)),
                ("sub", Value::builtin("sub", re_sub)),
                ("match", Value::builtin("match", |_, a| re_find(a, true))),
                ("fullmatch", Value::builtin("fullmatch", |_, a| re_full(a))),
                ("search", Value::builtin("search", |_, a| re_find(a, false))),
                ("escape", Value::builtin("escape", re_escape)),
                ("I", Value::Int(2)),
                ("IGNORECASE", Value::Int(2)),
            ],
        ))
    });
    interp.register_module("json", |_| {
        Ok(Interp::make_module(
            "json",
            vec![(
                "dumps",
                Value::builtin("dumps", |_, a| {
                    Ok(Value::str(json_dumps(&a.require(0, "obj", "dumps")?)))
                }),
            )],
        ))
    });
}

fn noop(name: &str) -> Value {
    Value::builtin(name, |_, _| Ok(Value::None))
}

fn cwd() -> PathBuf {
    std::env::current_dir().unwrap_or_default()
}

/// `os.fspath`: a str or a Path.
pub fn fspath(v: &Value) -> PyResult<String> {
    match v {
        Value::Str(s) => Ok(s.to_string()),
        Value::Native(_) => match v.downcast::<PyPath>() {
            Some(p) => Ok(p.0.to_string_lossy().into_owned()),
            None => Err(PyError::new(
                "TypeError",
                format!("expected str or os.PathLike object, not {}", v.type_name()),
            )),
        },
        other => Err(PyError::new(
            "TypeError",
            format!(
                "expected str or os.PathLike object, not {}",
                other.type_name()
            ),
        )),
    }
}

/// Lexical normalisation (`os.path.normpath`).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

struct Environ;

impl Native for Environ {
    fn type_name(&self) -> String {
        "_Environ".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(Some(match name {
            "get" => Value::builtin("get", |_, args| {
                let key = args.require(0, "key", "get")?.to_str();
                Ok(match std::env::var(&key) {
                    Ok(v) => Value::str(v),
                    Err(_) => args.get(1, "default").unwrap_or(Value::None),
                })
            }),
            "setdefault" => Value::builtin("setdefault", |_, args| {
                let key = args.require(0, "key", "setdefault")?.to_str();
                match std::env::var(&key) {
                    Ok(v) => Ok(Value::str(v)),
                    Err(_) => {
                        let v = args.get(1, "default").unwrap_or(Value::None).to_str();
                        std::env::set_var(&key, &v);
                        Ok(Value::str(v))
                    }
                }
            }),
            "__setitem__" => Value::builtin("__setitem__", |_, args| {
                let key = args.require(0, "key", "__setitem__")?.to_str();
                let value = args.require(1, "value", "__setitem__")?;
                let Value::Str(v) = value else {
                    return Err(PyError::new(
                        "TypeError",
                        "str expected, not ".to_string() + &value.type_name(),
                    ));
                };
                std::env::set_var(key, v.as_ref());
                Ok(Value::None)
            }),
            "__contains__" => Value::builtin("__contains__", |_, args| {
                let key = args.require(0, "key", "__contains__")?.to_str();
                Ok(Value::Bool(std::env::var_os(key).is_some()))
            }),
            "items" => Value::builtin("items", |_, _| {
                Ok(Value::list(
                    std::env::vars()
                        .map(|(k, v)| Value::tuple(vec![Value::str(k), Value::str(v)]))
                        .collect(),
                ))
            }),
            "keys" => Value::builtin("keys", |_, _| {
                Ok(Value::list(
                    std::env::vars().map(|(k, _)| Value::str(k)).collect(),
                ))
            }),
            "pop" => Value::builtin("pop", |_, args| {
                let key = args.require(0, "key", "pop")?.to_str();
                match std::env::var(&key) {
                    Ok(v) => {
                        std::env::remove_var(&key);
                        Ok(Value::str(v))
                    }
                    Err(_) => args
                        .get(1, "default")
                        .ok_or_else(|| PyError::new("KeyError", Value::str(&key).repr())),
                }
            }),
            _ => return Ok(None),
        }))
    }
    fn get_item(self: Rc<Self>, _: &mut Interp<'_>, key: Value) -> PyResult<Option<Value>> {
        let name = key.to_str();
        match std::env::var(&name) {
            Ok(v) => Ok(Some(Value::str(v))),
            Err(_) => Err(PyError::new("KeyError", Value::str(&name).repr())),
        }
    }
    fn iterate(self: Rc<Self>, _: &mut Interp<'_>) -> PyResult<Option<Vec<Value>>> {
        Ok(Some(std::env::vars().map(|(k, _)| Value::str(k)).collect()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `logging.config.fileConfig(fname, defaults=None, disable_existing_loggers=True)`.
fn file_config(_: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    let fname = args.require(0, "fname", "fileConfig")?;
    let path = fspath(&fname)?;
    let disable = args
        .get(2, "disable_existing_loggers")
        .map(|v| v.truthy())
        .unwrap_or(true);
    crate::logging::file_config(&path, disable).map_err(|e| {
        match e.strip_prefix("KeyError: ") {
            Some(key) => PyError::new("KeyError", key.to_string()),
            None => PyError::new("ValueError", e),
        }
    })?;
    Ok(Value::None)
}

/// `logging.basicConfig(level=..., format=..., datefmt=..., stream=..., force=...)`.
fn basic_config(_: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    for (key, _) in &args.keywords {
        if !matches!(
            key.as_str(),
            "level" | "format" | "datefmt" | "stream" | "force" | "filename" | "filemode"
        ) {
            return Err(PyError::new(
                "ValueError",
                format!("logging.basicConfig({key}=...) is not supported by aurora"),
            ));
        }
    }
    let level = args.keyword("level").map(|v| level_value(&v)).transpose()?;
    let format = args.keyword("format").map(|v| v.to_str());
    let datefmt = args.keyword("datefmt").map(|v| v.to_str());
    let stream = match (args.keyword("filename"), args.keyword("stream")) {
        (Some(name), _) => crate::logging::Stream::File(fspath(&name)?),
        (None, Some(stream)) => stream_of(&stream)?,
        (None, None) => crate::logging::Stream::Stderr,
    };
    let force = args.keyword("force").is_some_and(|v| v.truthy());
    crate::logging::basic_config(level, format.as_deref(), datefmt.as_deref(), stream, force)
        .map_err(|e| PyError::new("ValueError", e))?;
    Ok(Value::None)
}

/// `sys.stdout` / `sys.stderr` as a handler's stream.
fn stream_of(value: &Value) -> PyResult<crate::logging::Stream> {
    if let Value::Native(object) = value {
        if let Some(stream) = object.as_any().downcast_ref::<Stream>() {
            return Ok(if stream.is_stderr {
                crate::logging::Stream::Stderr
            } else {
                crate::logging::Stream::Stdout
            });
        }
    }
    Err(PyError::new(
        "ValueError",
        format!(
            "aurora logs only to sys.stdout, sys.stderr or a file, not to {}",
            value.type_name()
        ),
    ))
}

/// A level given as a number or as a name (`"INFO"`).
fn level_value(value: &Value) -> PyResult<u32> {
    if let Some(n) = value.as_int() {
        return u32::try_from(n)
            .map_err(|_| PyError::new("ValueError", format!("Unknown level: {n}")));
    }
    if let Some(name) = value.as_str() {
        return crate::logging::level_from_name(name)
            .ok_or_else(|| PyError::new("ValueError", format!("Unknown level: '{name}'")));
    }
    Err(PyError::new(
        "TypeError",
        format!("Level not an integer or a valid string: {}", value.to_str()),
    ))
}

/// One record: `msg % args` (when there are args), printed as configured.
fn log_record(
    interp: &mut Interp<'_>,
    logger: &str,
    level: u32,
    args: &Args,
    first: usize,
) -> PyResult<Value> {
    if level < crate::logging::effective_level(logger) {
        return Ok(Value::None);
    }
    let Some(msg) = args.positional.get(first) else {
        return Err(PyError::new(
            "TypeError",
            "log() missing 1 required positional argument: 'msg'",
        ));
    };
    let rest: Vec<Value> = args.positional[first + 1..].to_vec();
    let message = if rest.is_empty() {
        msg.to_str()
    } else {
        let values = match rest.as_slice() {
            [single @ Value::Dict(_)] => single.clone(),
            _ => Value::tuple(rest),
        };
        super::format::percent_format(interp, &msg.to_str(), &values)?
    };
    let lines = crate::logging::render(logger, level, &message);
    for text in crate::logging::write_unbuffered(&lines) {
        interp.stdout.push_str(&text);
        interp.stdout.push('\n');
    }
    Ok(Value::None)
}

/// A logger (`logging.getLogger(name)`): records go through the
/// configuration `fileConfig`/`basicConfig` installed, as in Python.
struct Logger {
    name: String,
}

impl Native for Logger {
    fn type_name(&self) -> String {
        "Logger".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let level = match name {
            "debug" => Some(crate::logging::DEBUG),
            "info" => Some(crate::logging::INFO),
            "warning" | "warn" => Some(crate::logging::WARNING),
            "error" | "exception" => Some(crate::logging::ERROR),
            "critical" | "fatal" => Some(crate::logging::CRITICAL),
            _ => None,
        };
        if let Some(level) = level {
            let logger = self.name.clone();
            return Ok(Some(Value::builtin(name, move |interp, args| {
                log_record(interp, &logger, level, &args, 0)
            })));
        }
        let logger = self.name.clone();
        Ok(match name {
            "log" => Some(Value::builtin("log", move |interp, args| {
                let level = level_value(&args.require(0, "level", "log")?)?;
                log_record(interp, &logger, level, &args, 1)
            })),
            "setLevel" => Some(Value::builtin("setLevel", move |_, args| {
                let level = level_value(&args.require(0, "level", "setLevel")?)?;
                crate::logging::set_level(&logger, level);
                Ok(Value::None)
            })),
            "isEnabledFor" => Some(Value::builtin("isEnabledFor", move |_, args| {
                let level = level_value(&args.require(0, "level", "isEnabledFor")?)?;
                Ok(Value::Bool(level >= crate::logging::effective_level(&logger)))
            })),
            "getEffectiveLevel" => Some(Value::builtin("getEffectiveLevel", move |_, _| {
                Ok(Value::Int(i64::from(crate::logging::effective_level(&logger))))
            })),
            "name" => Some(Value::str(self.name.clone())),
            "level" => Some(Value::Int(i64::from(crate::logging::effective_level(
                &self.name,
            )))),
            "addHandler" | "removeHandler" => {
                return Err(PyError::new(
                    "NotImplementedError",
                    format!(
                        "Logger.{name}: aurora prints log records only through fileConfig or basicConfig; \
                         configure the handler in alembic.ini's [handlers] section"
                    ),
                ))
            }
            _ => None,
        })
    }
    fn set_attr(&self, _: &mut Interp<'_>, _: &str, _: Value) -> PyResult<bool> {
        Ok(true)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `sys.stdout` or `sys.stderr`: stdout text joins what `print` wrote,
/// stderr text goes straight to standard error.
struct Stream {
    is_stderr: bool,
}

impl Native for Stream {
    fn type_name(&self) -> String {
        "TextIOWrapper".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let is_stderr = self.is_stderr;
        Ok(match name {
            "write" => Some(Value::builtin("write", move |interp, args| {
                let text = args.require(0, "s", "write")?.to_str();
                if is_stderr {
                    eprint!("{text}");
                } else {
                    interp.stdout.push_str(&text);
                }
                Ok(Value::None)
            })),
            "flush" => Some(noop("flush")),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `typing` names: subscriptable and callable placeholders for annotations.
struct Annotation;

impl Native for Annotation {
    fn type_name(&self) -> String {
        "typing special form".into()
    }
    fn get_item(self: Rc<Self>, _: &mut Interp<'_>, _: Value) -> PyResult<Option<Value>> {
        Ok(Some(Value::Native(self)))
    }
    fn call(self: Rc<Self>, _: &mut Interp<'_>, args: Args) -> PyResult<Value> {
        // `cast(T, v)` returns v; `TypeVar("T")` a placeholder.
        Ok(args
            .positional
            .get(1)
            .cloned()
            .unwrap_or(Value::Native(self)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `pathlib.Path`.
pub struct PyPath(pub PathBuf);

type PathMethod = dyn Fn(&Path, &Args) -> PyResult<Value>;

fn path_new(_: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    let mut path = PathBuf::new();
    for part in &args.positional {
        path.push(fspath(part)?);
    }
    if args.positional.is_empty() {
        path.push(".");
    }
    Ok(Value::native(PyPath(path)))
}

fn path_value(p: PathBuf) -> Value {
    Value::native(PyPath(p))
}

impl Native for PyPath {
    fn type_name(&self) -> String {
        "PosixPath".into()
    }
    fn to_str(&self) -> Option<String> {
        Some(self.0.to_string_lossy().into_owned())
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let p = self.0.clone();
        let method = |f: Box<PathMethod>| {
            let p = p.clone();
            Some(Value::builtin(name, move |_, args| f(&p, &args)))
        };
        Ok(match name {
            "parent" => Some(path_value(
                p.parent().map(Path::to_path_buf).unwrap_or(p.clone()),
            )),
            "parents" => {
                let mut out = Vec::new();
                let mut cur = p.clone();
                while let Some(parent) = cur.parent() {
                    if parent.as_os_str().is_empty() {
                        break;
                    }
                    out.push(path_value(parent.to_path_buf()));
                    cur = parent.to_path_buf();
                }
                Some(Value::tuple(out))
            }
            "name" => Some(Value::str(
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )),
            "stem" => Some(Value::str(
                p.file_stem()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )),
            "suffix" => Some(Value::str(
                p.extension()
                    .map(|n| format!(".{}", n.to_string_lossy()))
                    .unwrap_or_default(),
            )),
            "parts" => Some(Value::tuple(
                p.components()
                    .map(|c| Value::str(c.as_os_str().to_string_lossy()))
                    .collect(),
            )),
            "resolve" | "absolute" => method(Box::new(|p, _| {
                let abs = cwd().join(p);
                Ok(path_value(
                    abs.canonicalize().unwrap_or_else(|_| normalize(&abs)),
                ))
            })),
            "exists" => method(Box::new(|p, _| Ok(Value::Bool(p.exists())))),
            "is_file" => method(Box::new(|p, _| Ok(Value::Bool(p.is_file())))),
            "is_dir" => method(Box::new(|p, _| Ok(Value::Bool(p.is_dir())))),
            "joinpath" => method(Box::new(|p, args| {
                let mut out = p.to_path_buf();
                for a in &args.positional {
                    out.push(fspath(a)?);
                }
                Ok(path_value(out))
            })),
            "read_text" => method(Box::new(|p, _| {
                std::fs::read_to_string(p)
                    .map(Value::str)
                    .map_err(|e| PyError::new("FileNotFoundError", format!("{}: {e}", p.display())))
            })),
            "with_suffix" => method(Box::new(|p, args| {
                let s = args.require(0, "suffix", "with_suffix")?.to_str();
                Ok(path_value(p.with_extension(s.trim_start_matches('.'))))
            })),
            "as_posix" | "__fspath__" => {
                method(Box::new(|p, _| Ok(Value::str(p.to_string_lossy()))))
            }
            "__truediv__" => method(Box::new(|p, args| {
                Ok(path_value(p.join(fspath(&args.require(0, "other", "/")?)?)))
            })),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A file opened with `open()`: reading returns the whole text; writing
/// collects text and writes the file when closed.
pub struct File {
    path: String,
    writing: bool,
    buffer: RefCell<String>,
    closed: RefCell<bool>,
}

impl File {
    pub fn open(path: &str, mode: &str) -> PyResult<File> {
        let writing = mode.contains('w') || mode.contains('a');
        let buffer = if writing {
            if mode.contains('a') {
                std::fs::read_to_string(path).unwrap_or_default()
            } else {
                String::new()
            }
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                PyError::new("FileNotFoundError", format!("[Errno 2] {e}: '{path}'"))
            })?
        };
        Ok(File {
            path: path.to_string(),
            writing,
            buffer: RefCell::new(buffer),
            closed: RefCell::new(false),
        })
    }

    /// Appends text (a host writes SQL output here).
    pub fn write_text(&self, text: &str) {
        self.buffer.borrow_mut().push_str(text);
    }

    fn close(&self) -> PyResult<()> {
        if self.writing && !*self.closed.borrow() {
            std::fs::write(&self.path, self.buffer.borrow().as_bytes())
                .map_err(|e| PyError::new("OSError", format!("{}: {e}", self.path)))?;
        }
        *self.closed.borrow_mut() = true;
        Ok(())
    }
}

impl Native for File {
    fn type_name(&self) -> String {
        "TextIOWrapper".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let me = self.clone();
        Ok(match name {
            "read" => Some(Value::builtin("read", move |_, _| {
                Ok(Value::str(me.buffer.borrow().as_str()))
            })),
            "write" => Some(Value::builtin("write", move |_, args| {
                let text = args.require(0, "s", "write")?.to_str();
                me.write_text(&text);
                Ok(Value::Int(text.chars().count() as i64))
            })),
            "close" => Some(Value::builtin("close", move |_, _| {
                me.close()?;
                Ok(Value::None)
            })),
            "flush" => Some(noop("flush")),
            "name" => Some(Value::str(&self.path)),
            _ => None,
        })
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

impl Drop for File {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

fn json_dumps(v: &Value) -> String {
    match v {
        Value::None => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::List(l) => format!(
            "[{}]",
            l.borrow()
                .iter()
                .map(json_dumps)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Tuple(t) => format!(
            "[{}]",
            t.iter().map(json_dumps).collect::<Vec<_>>().join(", ")
        ),
        Value::Dict(d) => format!(
            "{{{}}}",
            d.borrow()
                .items
                .iter()
                .map(|(k, v)| format!("{:?}: {}", k.to_str(), json_dumps(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.repr(),
    }
}

// ----- a small regex engine for `re` -----

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Group(Vec<Vec<Piece>>),
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: usize,
    max: usize,
}

fn parse_regex(pattern: &str) -> PyResult<Vec<Vec<Piece>>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    let alts = parse_alternatives(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(PyError::new("re.error", "unbalanced parenthesis"));
    }
    Ok(alts)
}

fn parse_alternatives(chars: &[char], pos: &mut usize) -> PyResult<Vec<Vec<Piece>>> {
    let mut alts = vec![Vec::new()];
    while *pos < chars.len() {
        let c = chars[*pos];
        let atom = match c {
            ')' => break,
            '|' => {
                *pos += 1;
                alts.push(Vec::new());
                continue;
            }
            '(' => {
                *pos += 1;
                if chars.get(*pos) == Some(&'?') && chars.get(*pos + 1) == Some(&':') {
                    *pos += 2;
                }
                let inner = parse_alternatives(chars, pos)?;
                if chars.get(*pos) != Some(&')') {
                    return Err(PyError::new(
                        "re.error",
                        "missing ), unterminated subpattern",
                    ));
                }
                *pos += 1;
                Atom::Group(inner)
            }
            '.' => {
                *pos += 1;
                Atom::Any
            }
            '^' => {
                *pos += 1;
                Atom::Start
            }
            '$' => {
                *pos += 1;
                Atom::End
            }
            '[' => {
                *pos += 1;
                let negated = chars.get(*pos) == Some(&'^');
                if negated {
                    *pos += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                while *pos < chars.len() && (chars[*pos] != ']' || first) {
                    first = false;
                    let mut c = chars[*pos];
                    *pos += 1;
                    if c == '\\' {
                        let e = chars.get(*pos).copied().unwrap_or('\\');
                        *pos += 1;
                        match class_escape(e) {
                            Some((r, false)) => {
                                ranges.extend(r);
                                continue;
                            }
                            _ => c = e,
                        }
                    }
                    if chars.get(*pos) == Some(&'-')
                        && chars.get(*pos + 1).is_some_and(|&n| n != ']')
                    {
                        let hi = chars[*pos + 1];
                        *pos += 2;
                        ranges.push((c, hi));
                    } else {
                        ranges.push((c, c));
                    }
                }
                *pos += 1;
                Atom::Class(ranges, negated)
            }
            '\\' => {
                *pos += 1;
                let e = chars.get(*pos).copied().unwrap_or('\\');
                *pos += 1;
                match class_escape(e) {
                    Some((ranges, negated)) => Atom::Class(ranges, negated),
                    None => Atom::Char(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    }),
                }
            }
            other => {
                *pos += 1;
                Atom::Char(other)
            }
        };
        let (min, max) = match chars.get(*pos) {
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('?') => (0, 1),
            Some('{') => {
                let end = chars[*pos..]
                    .iter()
                    .position(|&c| c == '}')
                    .map(|e| e + *pos);
                match end {
                    Some(end) => {
                        let body: String = chars[*pos + 1..end].iter().collect();
                        let (lo, hi) = match body.split_once(',') {
                            Some((lo, hi)) => (
                                lo.parse().unwrap_or(0),
                                if hi.is_empty() {
                                    usize::MAX
                                } else {
                                    hi.parse().unwrap_or(usize::MAX)
                                },
                            ),
                            None => {
                                let n = body.parse().unwrap_or(1);
                                (n, n)
                            }
                        };
                        *pos = end;
                        (lo, hi)
                    }
                    None => (1, 1),
                }
            }
            _ => (1, 1),
        };
        if (min, max) != (1, 1) {
            *pos += 1;
            if chars.get(*pos) == Some(&'?') {
                *pos += 1;
            }
        }
        alts.last_mut().expect("one").push(Piece { atom, min, max });
    }
    Ok(alts)
}

fn class_escape(e: char) -> Option<(Vec<(char, char)>, bool)> {
    let digits = vec![('0', '9')];
    let word = vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
    let space = vec![(' ', ' '), ('\t', '\r')];
    Some(match e {
        'd' => (digits, false),
        'D' => (digits, true),
        'w' => (word, false),
        'W' => (word, true),
        's' => (space, false),
        'S' => (space, true),
        _ => return None,
    })
}

fn atom_matches(atom: &Atom, c: char) -> bool {
    match atom {
        Atom::Char(x) => *x == c,
        Atom::Any => c != '\n',
        Atom::Class(ranges, negated) => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        _ => false,
    }
}

/// The end positions where `pieces` can match starting at `at`.
fn match_seq(pieces: &[Piece], text: &[char], at: usize, out: &mut Vec<usize>) {
    let Some((first, rest)) = pieces.split_first() else {
        out.push(at);
        return;
    };
    match &first.atom {
        Atom::Start => {
            if at == 0 {
                match_seq(rest, text, at, out);
            }
        }
        Atom::End => {
            if at == text.len() {
                match_seq(rest, text, at, out);
            }
        }
        Atom::Group(alts) => {
            // Greedy repetition of the group.
            let mut frontier = vec![at];
            let mut reached: Vec<Vec<usize>> = vec![frontier.clone()];
            for _ in 0..first.max.min(text.len() + 1) {
                let mut next = Vec::new();
                for &p in &frontier {
                    for alt in alts {
                        let mut ends = Vec::new();
                        match_seq(alt, text, p, &mut ends);
                        for e in ends {
                            if e != p && !next.contains(&e) {
                                next.push(e);
                            }
                        }
                    }
                }
                if next.is_empty() {
                    break;
                }
                reached.push(next.clone());
                frontier = next;
            }
            for (count, ends) in reached.iter().enumerate().rev() {
                if count >= first.min {
                    for &e in ends {
                        match_seq(rest, text, e, out);
                    }
                }
            }
        }
        atom => {
            let mut n = 0;
            while n < first.max && at + n < text.len() && atom_matches(atom, text[at + n]) {
                n += 1;
            }
            let mut count = n as isize;
            while count >= first.min as isize {
                match_seq(rest, text, at + count as usize, out);
                count -= 1;
            }
        }
    }
}

/// The longest-preferred (first found, greedy) match end at `at`.
fn match_at(regex: &[Vec<Piece>], text: &[char], at: usize) -> Option<usize> {
    for alt in regex {
        let mut ends = Vec::new();
        match_seq(alt, text, at, &mut ends);
        if let Some(&e) = ends.first() {
            return Some(e);
        }
    }
    None
}

fn re_args(args: &Args) -> PyResult<(Vec<Vec<Piece>>, Vec<char>)> {
    let pattern = args.require(0, "pattern", "re")?.to_str();
    let text = args.require(1, "string", "re")?.to_str();
    Ok((parse_regex(&pattern)?, text.chars().collect()))
}

fn re_split(_: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    let (regex, text) = re_args(&args)?;
    let mut parts = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at <= text.len() {
        match match_at(&regex, &text, at) {
            Some(end) if end > at => {
                parts.push(Value::str(text[start..at].iter().collect::<String>()));
                start = end;
                at = end;
            }
            _ => at += 1,
        }
    }
    parts.push(Value::str(
        text[start.min(text.len())..].iter().collect::<String>(),
    ));
    Ok(Value::list(parts))
}

/// `re.escape(pattern)`: a backslash before each character that is special in a pattern, as
/// Python 3.7+ escapes (letters, digits, `_` and non-ASCII stay as they are).
fn re_escape(_: &mut Interp, args: Args) -> PyResult<Value> {
    let pattern = match args.require(0, "pattern", "escape")? {
        Value::Str(s) => s,
        other => {
            return Err(PyError::new(
                "TypeError",
                format!(
                    "first argument must be string or compiled pattern, not {}",
                    other.type_name()
                ),
            ))
        }
    };
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::str(out))
}

fn re_sub(_: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    let pattern = args.require(0, "pattern", "sub")?.to_str();
    let replacement = args.require(1, "repl", "sub")?.to_str();
    let text: Vec<char> = args.require(2, "string", "sub")?.to_str().chars().collect();
    let regex = parse_regex(&pattern)?;
    let mut out = String::new();
    let mut at = 0;
    while at <= text.len() {
        match match_at(&regex, &text, at) {
            Some(end) if end > at => {
                out.push_str(&replacement);
                at = end;
            }
            _ => {
                if at < text.len() {
                    out.push(text[at]);
                }
                at += 1;
            }
        }
    }
    Ok(Value::str(out))
}

fn re_find(args: Args, anchored: bool) -> PyResult<Value> {
    let (regex, text) = re_args(&args)?;
    let starts: Vec<usize> = if anchored {
        vec![0]
    } else {
        (0..=text.len()).collect()
    };
    for s in starts {
        if let Some(end) = match_at(&regex, &text, s) {
            return Ok(Value::native(Match(text[s..end].iter().collect())));
        }
    }
    Ok(Value::None)
}

fn re_full(args: Args) -> PyResult<Value> {
    let (mut regex, text) = re_args(&args)?;
    for alt in &mut regex {
        alt.push(Piece {
            atom: Atom::End,
            min: 1,
            max: 1,
        });
    }
    Ok(match match_at(&regex, &text, 0) {
        Some(_) => Value::native(Match(text.iter().collect())),
        None => Value::None,
    })
}

struct Match(String);

impl Native for Match {
    fn type_name(&self) -> String {
        "re.Match".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        let text = self.0.clone();
        Ok(match name {
            "group" => Some(Value::builtin("group", move |_, _| Ok(Value::str(&text)))),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
