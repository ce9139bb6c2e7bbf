//! Python's `logging`, as far as an Alembic run uses it: the configuration
//! `env.py` installs with `logging.config.fileConfig(config.config_file_name)`
//! (or `logging.basicConfig`), and the records Alembic and `env.py` log.
//!
//! Alembic prints its `INFO  [alembic.runtime.migration] ...` lines through
//! that configuration, so they follow it: no `fileConfig` call means no
//! lines (Python's last-resort handler shows only warnings), a logger level of
//! `WARN` in `[logger_alembic]` silences them, and the formatter's `format`
//! and `datefmt` shape them. `-q` does not touch them, as in Alembic.
//!
//! The configuration is process-wide, as Python's is: `env.py` sets it once
//! per run and every part of aurora logs through [`emit`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use crate::config::IniFile;

pub const NOTSET: u32 = 0;
pub const DEBUG: u32 = 10;
pub const INFO: u32 = 20;
pub const WARNING: u32 = 30;
pub const ERROR: u32 = 40;
pub const CRITICAL: u32 = 50;

/// Where a handler writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// A `FileHandler`: appended to the file.
    File(String),
    /// A `NullHandler`.
    Null,
}

/// One formatted log line and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub stream: Stream,
    pub text: String,
}

#[derive(Debug, Clone)]
struct Formatter {
    format: Vec<Piece>,
    datefmt: Option<String>,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    /// `%(field)<spec>`: the field and the conversion (`-5.5s`, `d`, ...).
    Field {
        field: Field,
        left: bool,
        width: Option<usize>,
        precision: Option<usize>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    LevelName,
    LevelNo,
    Message,
    AscTime,
    Msecs,
    Process,
}

#[derive(Debug, Clone)]
struct Handler {
    level: u32,
    formatter: Formatter,
    stream: Stream,
}

#[derive(Debug, Clone, Default)]
struct LoggerConf {
    level: u32,
    handlers: Vec<usize>,
    propagate: bool,
    disabled: bool,
}

#[derive(Debug)]
struct Setup {
    root: LoggerConf,
    loggers: HashMap<String, LoggerConf>,
    handlers: Vec<Handler>,
    /// Loggers that exist before `env.py` configures logging: Alembic's and
    /// SQLAlchemy's modules create theirs at import, `env.py` may create more.
    existing: HashSet<String>,
}

impl Default for Setup {
    /// A fresh process: Alembic's package gives its `alembic` logger a
    /// `NullHandler` at import, so its records are never shown by Python's
    /// last-resort handler; everything else is at the root's WARNING.
    fn default() -> Setup {
        let mut loggers = HashMap::new();
        loggers.insert(
            "alembic".to_string(),
            LoggerConf {
                level: NOTSET,
                handlers: vec![0],
                propagate: true,
                disabled: false,
            },
        );
        Setup {
            root: LoggerConf {
                level: WARNING,
                handlers: Vec::new(),
                propagate: true,
                disabled: false,
            },
            loggers,
            handlers: vec![Handler {
                level: NOTSET,
                formatter: default_formatter(),
                stream: Stream::Null,
            }],
            existing: HashSet::new(),
        }
    }
}

static SETUP: Mutex<Option<Setup>> = Mutex::new(None);

fn setup() -> MutexGuard<'static, Option<Setup>> {
    SETUP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Forgets any configuration: the state of a fresh Python process.
pub fn reset() {
    *setup() = None;
}

/// Records that `env.py` created the logger `name` (`logging.getLogger`).
pub fn note_logger(name: &str) {
    let mut guard = setup();
    let setup = guard.get_or_insert_with(Setup::default);
    setup.existing.insert(name.to_string());
}

/// Python's level names, as `logging._checkLevel` accepts them.
pub fn level_from_name(name: &str) -> Option<u32> {
    Some(match name {
        "CRITICAL" | "FATAL" => CRITICAL,
        "ERROR" => ERROR,
        "WARNING" | "WARN" => WARNING,
        "INFO" => INFO,
        "DEBUG" => DEBUG,
        "NOTSET" => NOTSET,
        _ => return None,
    })
}

pub fn level_name(level: u32) -> String {
    match level {
        CRITICAL => "CRITICAL".into(),
        ERROR => "ERROR".into(),
        WARNING => "WARNING".into(),
        INFO => "INFO".into(),
        DEBUG => "DEBUG".into(),
        NOTSET => "NOTSET".into(),
        other => format!("Level {other}"),
    }
}

/// `logging.config.fileConfig(path, disable_existing_loggers=...)`.
///
/// Supports what `alembic init` writes and its common variations: formatters
/// with `format`/`datefmt`, `StreamHandler` on `sys.stderr`/`sys.stdout`,
/// `FileHandler`, `NullHandler`, loggers with `level`, `handlers`,
/// `qualname` and `propagate`. Anything else is an error naming it, never a
/// silent difference in what is printed.
pub fn file_config(path: &str, disable_existing: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("logging.config.fileConfig: cannot read {path}: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let ini = IniFile::parse(text, path).map_err(|e| e.to_string())?;
    let no_vars = BTreeMap::new();
    let get = |section: &str, key: &str| -> Result<Option<String>, String> {
        ini.get(section, key, &no_vars)
    };
    let raw = |section: &str, key: &str| -> Option<String> { ini.raw_value(section, key) };
    let keys = |section: &str, key: &str| -> Result<Vec<String>, String> {
        Ok(get(section, key)?
            .unwrap_or_default()
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect())
    };
    let in_file = |what: String| format!("{path}: {what}");

    if !ini.has_section("formatters") {
        // Python's fileConfig fails the same way, in configparser.
        return Err("KeyError: 'formatters'".into());
    }
    let mut formatters: HashMap<String, Formatter> = HashMap::new();
    for name in keys("formatters", "keys")? {
        let section = format!("formatter_{name}");
        if let Some(class) = get(&section, "class")? {
            if class != "logging.Formatter" {
                return Err(in_file(format!(
                    "[{section}] class = {class}: aurora formats log lines only with logging.Formatter; \
                     remove the class to use the standard formatter"
                )));
            }
        }
        if let Some(style) = get(&section, "style")? {
            if style != "%" {
                return Err(in_file(format!(
                    "[{section}] style = {style}: aurora supports only the '%' format style"
                )));
            }
        }
        let format = raw(&section, "format").unwrap_or_else(|| "%(message)s".to_string());
        let format =
            parse_format(&format).map_err(|e| in_file(format!("[{section}] format: {e}")))?;
        let datefmt = raw(&section, "datefmt");
        formatters.insert(name, Formatter { format, datefmt });
    }

    // Index 0 stays the `NullHandler` of Alembic's own logger (see
    // `Setup::default`), which fileConfig does not detach.
    let mut handlers: Vec<Handler> = Setup::default().handlers;
    let mut handler_index: HashMap<String, usize> = HashMap::new();
    for name in keys("handlers", "keys")? {
        let section = format!("handler_{name}");
        let class =
            get(&section, "class")?.ok_or_else(|| in_file(format!("[{section}] has no class")))?;
        let args = get(&section, "args")?.unwrap_or_else(|| "()".to_string());
        let stream =
            handler_stream(&class, &args).map_err(|e| in_file(format!("[{section}] {e}")))?;
        let level = match get(&section, "level")? {
            Some(level) => level_from_name(level.trim())
                .ok_or_else(|| in_file(format!("[{section}] unknown level: {level}")))?,
            None => NOTSET,
        };
        let formatter = match get(&section, "formatter")? {
            Some(f) if !f.trim().is_empty() => {
                formatters.get(f.trim()).cloned().ok_or_else(|| {
                    in_file(format!(
                        "[{section}] formatter {f} is not listed in [formatters]"
                    ))
                })?
            }
            _ => default_formatter(),
        };
        handler_index.insert(name, handlers.len());
        handlers.push(Handler {
            level,
            formatter,
            stream,
        });
    }

    let logger_handlers = |section: &str| -> Result<Vec<usize>, String> {
        keys(section, "handlers")?
            .into_iter()
            .map(|h| {
                handler_index.get(&h).copied().ok_or_else(|| {
                    in_file(format!(
                        "[{section}] handler {h} is not listed in [handlers]"
                    ))
                })
            })
            .collect()
    };
    let level_of = |section: &str| -> Result<Option<u32>, String> {
        match get(section, "level")? {
            Some(level) => level_from_name(level.trim())
                .map(Some)
                .ok_or_else(|| in_file(format!("[{section}] unknown level: {level}"))),
            None => Ok(None),
        }
    };

    let logger_keys = keys("loggers", "keys")?;
    if !logger_keys.iter().any(|k| k == "root") {
        return Err("KeyError: 'root'".into());
    }
    let mut guard = setup();
    let previous = guard.take().unwrap_or_default();
    let mut next = Setup {
        existing: previous.existing,
        ..Setup::default()
    };
    next.root.level = level_of("logger_root")?.unwrap_or(WARNING);
    next.root.handlers = logger_handlers("logger_root")?;
    let mut from_file: Vec<String> = Vec::new();
    for key in logger_keys.iter().filter(|k| *k != "root") {
        let section = format!("logger_{key}");
        let qualname = get(&section, "qualname")?
            .ok_or_else(|| in_file(format!("[{section}] has no qualname")))?;
        let propagate = match get(&section, "propagate")? {
            Some(p) => p.trim() != "0",
            None => true,
        };
        let conf = LoggerConf {
            level: level_of(&section)?.unwrap_or(NOTSET),
            handlers: logger_handlers(&section)?,
            propagate,
            disabled: false,
        };
        from_file.push(qualname.clone());
        next.loggers.insert(qualname, conf);
    }
    next.handlers = handlers;
    // `_handle_existing_loggers`: an existing logger that is neither
    // configured nor below a configured one is disabled.
    let configured = from_file;
    let mut existing: Vec<String> = next.existing.iter().cloned().collect();
    existing.push("alembic".to_string());
    existing.extend(LIBRARY_LOGGERS.iter().map(|s| s.to_string()));
    for name in existing {
        if configured.contains(&name) {
            continue;
        }
        let below_configured = configured
            .iter()
            .any(|c| name.starts_with(&format!("{c}.")));
        if !below_configured {
            next.loggers
                .entry(name)
                .or_insert_with(|| LoggerConf {
                    level: NOTSET,
                    handlers: Vec::new(),
                    propagate: true,
                    disabled: false,
                })
                .disabled = disable_existing;
        }
    }
    *guard = Some(next);
    Ok(())
}

/// The loggers aurora writes to that Alembic's modules create at import.
const LIBRARY_LOGGERS: &[&str] = &[
    "alembic.runtime.migration",
    "alembic.autogenerate.compare",
    "alembic.autogenerate.compare.tables",
    "alembic.autogenerate.compare.types",
    "alembic.autogenerate.compare.constraints",
    "alembic.runtime.plugins",
    "alembic.env",
];

/// `logging.basicConfig(level=..., format=..., datefmt=..., stream=...)`:
/// does nothing when the root logger has handlers already (unless `force`).
pub fn basic_config(
    level: Option<u32>,
    format: Option<&str>,
    datefmt: Option<&str>,
    stream: Stream,
    force: bool,
) -> Result<(), String> {
    let format = parse_format(format.unwrap_or("%(levelname)s:%(name)s:%(message)s"))?;
    let mut guard = setup();
    let setup = guard.get_or_insert_with(Setup::default);
    if !setup.root.handlers.is_empty() && !force {
        return Ok(());
    }
    setup.handlers.push(Handler {
        level: NOTSET,
        formatter: Formatter {
            format,
            datefmt: datefmt.map(str::to_string),
        },
        stream,
    });
    setup.root.handlers = vec![setup.handlers.len() - 1];
    if let Some(level) = level {
        setup.root.level = level;
    }
    Ok(())
}

/// `logger.setLevel(level)`.
pub fn set_level(name: &str, level: u32) {
    let mut guard = setup();
    let setup = guard.get_or_insert_with(Setup::default);
    if name == "root" || name.is_empty() {
        setup.root.level = level;
        return;
    }
    setup
        .loggers
        .entry(name.to_string())
        .or_insert_with(|| LoggerConf {
            propagate: true,
            ..LoggerConf::default()
        })
        .level = level;
}

/// `logger.getEffectiveLevel()`.
pub fn effective_level(name: &str) -> u32 {
    let guard = setup();
    match guard.as_ref() {
        Some(setup) => setup.effective_level(name),
        None => WARNING,
    }
}

impl Setup {
    /// The logger and its ancestors, nearest first; the root last.
    fn chain<'a>(&'a self, name: &str) -> Vec<&'a LoggerConf> {
        let mut chain = Vec::new();
        let mut current = name;
        if !(current.is_empty() || current == "root") {
            loop {
                if let Some(conf) = self.loggers.get(current) {
                    chain.push(conf);
                }
                match current.rfind('.') {
                    Some(dot) => current = &current[..dot],
                    None => break,
                }
            }
        }
        chain.push(&self.root);
        chain
    }

    fn effective_level(&self, name: &str) -> u32 {
        self.chain(name)
            .into_iter()
            .map(|c| c.level)
            .find(|&l| l != NOTSET)
            .unwrap_or(NOTSET)
    }
}

/// The lines one record gives: `logger.log(level, message)`.
pub fn render(logger: &str, level: u32, message: &str) -> Vec<Line> {
    let guard = setup();
    let default = Setup::default();
    let setup = guard.as_ref().unwrap_or(&default);
    let own = if logger.is_empty() || logger == "root" {
        Some(&setup.root)
    } else {
        setup.loggers.get(logger)
    };
    if own.is_some_and(|c| c.disabled) || level < setup.effective_level(logger) {
        return Vec::new();
    }
    let display_name = if logger.is_empty() { "root" } else { logger };
    let mut lines = Vec::new();
    let mut found = false;
    for conf in setup.chain(logger) {
        for &h in &conf.handlers {
            found = true;
            let handler = &setup.handlers[h];
            if level >= handler.level {
                lines.push(Line {
                    stream: handler.stream.clone(),
                    text: handler.formatter.format(display_name, level, message),
                });
            }
        }
        if !conf.propagate {
            break;
        }
    }
    if !found && level >= WARNING {
        // Python's `logging.lastResort`: the bare message on stderr.
        lines.push(Line {
            stream: Stream::Stderr,
            text: message.to_string(),
        });
    }
    lines
}

/// Writes `lines` to stderr or a log file; stdout lines are the caller's.
pub fn write_unbuffered(lines: &[Line]) -> Vec<String> {
    use std::io::Write;
    let mut stdout = Vec::new();
    for line in lines {
        match &line.stream {
            Stream::Stderr => eprintln!("{}", line.text),
            Stream::Stdout => stdout.push(line.text.clone()),
            Stream::File(path) => {
                if let Ok(mut file) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    let _ = writeln!(file, "{}", line.text);
                }
            }
            Stream::Null => {}
        }
    }
    stdout
}

fn default_formatter() -> Formatter {
    Formatter {
        format: vec![Piece::Field {
            field: Field::Message,
            left: false,
            width: None,
            precision: None,
        }],
        datefmt: None,
    }
}

/// The stream of a handler from its `class` and `args` (Python expressions
/// that fileConfig evaluates in the `logging` namespace).
fn handler_stream(class: &str, args: &str) -> Result<Stream, String> {
    let class = class.trim();
    let class = class.strip_prefix("logging.").unwrap_or(class);
    let inner = args.trim();
    let inner = inner
        .strip_prefix('(')
        .and_then(|a| a.strip_suffix(')'))
        .ok_or_else(|| format!("args = {args}: aurora reads only a tuple of literals here"))?;
    let items: Vec<&str> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    match class {
        "StreamHandler" => match items.first().copied() {
            None | Some("sys.stderr") => Ok(Stream::Stderr),
            Some("sys.stdout") => Ok(Stream::Stdout),
            Some(other) => Err(format!("StreamHandler on {other}: aurora writes only to sys.stderr or sys.stdout")),
        },
        "FileHandler" => {
            let name = items
                .first()
                .and_then(|s| unquote(s))
                .ok_or_else(|| format!("FileHandler args = {args}: expected a file name string"))?;
            Ok(Stream::File(name))
        }
        "NullHandler" => Ok(Stream::Null),
        other => Err(format!(
            "handler class {other} is not supported by aurora (StreamHandler, FileHandler and NullHandler are)"
        )),
    }
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return Some(inner.to_string());
        }
    }
    None
}

/// Parses a `%`-style format string (`%(levelname)-5.5s [%(name)s] %(message)s`).
fn parse_format(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(after) = after.strip_prefix('%') {
            literal.push('%');
            rest = after;
            continue;
        }
        let Some(after) = after.strip_prefix('(') else {
            return Err(format!(
                "'{text}': a '%' must be followed by '(name)' or '%'"
            ));
        };
        let close = after
            .find(')')
            .ok_or_else(|| format!("'{text}': unclosed '%('"))?;
        let key = &after[..close];
        let mut spec = &after[close + 1..];
        let mut left = false;
        while let Some(c) = spec.chars().next().filter(|c| "-#0 +".contains(*c)) {
            if c == '-' {
                left = true;
            }
            spec = &spec[1..];
        }
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let n = digits(spec);
        let width = spec[..n].parse().ok();
        spec = &spec[n..];
        let mut precision = None;
        if let Some(after_dot) = spec.strip_prefix('.') {
            let n = digits(after_dot);
            precision = Some(after_dot[..n].parse().unwrap_or(0));
            spec = &after_dot[n..];
        }
        let conversion = spec
            .chars()
            .next()
            .ok_or_else(|| format!("'{text}': incomplete format after %({key})"))?;
        if !"sdrif".contains(conversion) {
            return Err(format!(
                "'{text}': unsupported conversion '%({key}){conversion}'"
            ));
        }
        spec = &spec[conversion.len_utf8()..];
        let field = match key {
            "name" => Field::Name,
            "levelname" => Field::LevelName,
            "levelno" => Field::LevelNo,
            "message" => Field::Message,
            "asctime" => Field::AscTime,
            "msecs" => Field::Msecs,
            "process" => Field::Process,
            other => {
                return Err(format!(
                    "%({other}) names the Python source of the log call, which aurora cannot give as Alembic would; \
                     use name, levelname, levelno, message, asctime, msecs or process"
                ))
            }
        };
        if !literal.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut literal)));
        }
        pieces.push(Piece::Field {
            field,
            left,
            width,
            precision,
        });
        rest = spec;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

impl Formatter {
    fn format(&self, name: &str, level: u32, message: &str) -> String {
        let now = chrono::Local::now();
        let mut out = String::new();
        for piece in &self.format {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field {
                    field,
                    left,
                    width,
                    precision,
                } => {
                    let mut value = match field {
                        Field::Name => name.to_string(),
                        Field::LevelName => level_name(level),
                        Field::LevelNo => level.to_string(),
                        Field::Message => message.to_string(),
                        Field::AscTime => match &self.datefmt {
                            Some(datefmt) => now.format(datefmt).to_string(),
                            None => format!(
                                "{},{:03}",
                                now.format("%Y-%m-%d %H:%M:%S"),
                                now.timestamp_subsec_millis()
                            ),
                        },
                        Field::Msecs => now.timestamp_subsec_millis().to_string(),
                        Field::Process => std::process::id().to_string(),
                    };
                    if let Some(p) = precision {
                        value = value.chars().take(*p).collect();
                    }
                    let len = value.chars().count();
                    if let Some(w) = width.filter(|w| *w > len) {
                        let pad = " ".repeat(w - len);
                        value = if *left { value + &pad } else { pad + &value };
                    }
                    out.push_str(&value);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alembic_generic_format_pads_and_truncates_the_level() {
        let f = Formatter {
            format: parse_format("%(levelname)-5.5s [%(name)s] %(message)s").unwrap(),
            datefmt: None,
        };
        assert_eq!(f.format("alembic.x", INFO, "m"), "INFO  [alembic.x] m");
        assert_eq!(f.format("alembic.x", WARNING, "m"), "WARNI [alembic.x] m");
        assert_eq!(f.format("a", CRITICAL, "m"), "CRITI [a] m");
    }

    #[test]
    fn unknown_record_fields_are_refused() {
        assert!(parse_format("%(lineno)d %(message)s").is_err());
        assert!(parse_format("%(message)s %").is_err());
        assert_eq!(parse_format("100%% %(message)s").unwrap().len(), 2);
    }

    #[test]
    fn handler_streams() {
        assert_eq!(
            handler_stream("StreamHandler", "(sys.stderr,)"),
            Ok(Stream::Stderr)
        );
        assert_eq!(
            handler_stream("logging.StreamHandler", "(sys.stdout,)"),
            Ok(Stream::Stdout)
        );
        assert_eq!(handler_stream("NullHandler", "()"), Ok(Stream::Null));
        assert_eq!(
            handler_stream("FileHandler", "('x.log', 'a')"),
            Ok(Stream::File("x.log".into()))
        );
        assert!(handler_stream("handlers.SysLogHandler", "()").is_err());
    }
}
