//! The error a command ends with, carried unflattened from where it arose to `main`.
//!
//! Every variant says what Alembic would have done with it: a `CommandError`
//! (`FAILED: <message>` on stdout, exit status 255), a crash where Python Alembic
//! dies with a traceback (a message on stderr, exit status 1), an interrupted
//! online run (exit status 128 + the signal), or a command line argparse refuses
//! (exit status 2). The typed variants keep their source error
//! ([`std::error::Error::source`]) and decide their kind from it, with the rules
//! the command layer used to apply when it turned them into text.

use std::fmt;
use std::sync::Arc;

use crate::config::ConfigError;
use crate::db::DbError;
use crate::graph::RevisionError;
use crate::ops::MigrationError;
use crate::script::ScriptError;
use crate::sql::SqlError;

/// How a command failed.
#[derive(Debug, Clone)]
pub enum Error {
    /// Alembic's `CommandError`, worded by aurora: `FAILED: <message>`, exit 255.
    Failed(String),
    /// Where Python Alembic dies with a traceback: a message on stderr, exit 1.
    Crash(String),
    /// SIGINT or SIGTERM ended an online run: one line on stderr, exit 130 or 143.
    Interrupted { signal: i32, message: String },
    /// Locating or reading revision files (or the configuration they need).
    Script(Arc<ScriptError>),
    /// Reading the configuration: Alembic's own checks are `CommandError`s; a
    /// malformed file or option value is a Python exception there.
    Config(Arc<ConfigError>),
    /// The database layer under Alembic's rules: its row-count checks of the
    /// version table are `CommandError`s, a signal before the run is an
    /// interruption, everything else is a driver exception (exit 1).
    Database(Arc<DbError>),
    /// A revision identifier or the revision map, worded as Alembic's
    /// `_catch_revision_errors` words it (`message`); a broken map is a crash.
    Revision {
        error: RevisionError,
        message: String,
    },
    /// Rendering operations to SQL: `SqlError::Failed` is a `CommandError`,
    /// `SqlError::Exception` a Python exception.
    Render(SqlError),
    /// A revision body aurora cannot lower (each problem at file:line:col).
    Lowering(MigrationError),
    /// env.py (or a module it imports) raised, or used code aurora cannot
    /// evaluate: the interpreter's description, and the module an import
    /// could not find (`ModuleNotFoundError`), for the hint.
    Python {
        description: String,
        missing_module: Option<String>,
    },
    /// argparse's refusal of the command line: `aurora: error: <message>` on
    /// stderr (nothing more when the parser printed its own message), exit 2.
    Usage(Option<String>),
}

/// What kind of failure an [`Error`] is, which decides how it is printed and
/// the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Alembic's `CommandError` (exit 255).
    Command,
    /// A crash in Alembic (exit 1).
    Crash,
    /// A signal (exit 128 + signal).
    Interrupted(i32),
    /// The command line (exit 2).
    Usage,
}

impl Error {
    pub fn failed(message: impl Into<String>) -> Error {
        Error::Failed(message.into())
    }

    pub fn crash(message: impl Into<String>) -> Error {
        Error::Crash(message.into())
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> Kind {
        match self {
            Error::Failed(_) | Error::Lowering(_) => Kind::Command,
            Error::Crash(_) | Error::Python { .. } => Kind::Crash,
            Error::Interrupted { signal, .. } => Kind::Interrupted(*signal),
            Error::Usage(_) => Kind::Usage,
            Error::Script(error) => match &**error {
                ScriptError::Config(config) => config_kind(config),
                e if e.is_crash_in_alembic() => Kind::Crash,
                _ => Kind::Command,
            },
            Error::Config(error) => config_kind(error),
            Error::Database(error) => match &**error {
                DbError::UpdateRowCount { .. } | DbError::DeleteRowCount { .. } => Kind::Command,
                DbError::Interrupted { signal } => Kind::Interrupted(*signal),
                _ => Kind::Crash,
            },
            Error::Revision { error, .. } => match error {
                RevisionError::Broken(_) => Kind::Crash,
                _ => Kind::Command,
            },
            Error::Render(SqlError::Failed { .. }) => Kind::Command,
            Error::Render(SqlError::Exception { .. }) => Kind::Crash,
        }
    }

    /// Whether this is Alembic's `CommandError` (`FAILED: ...`).
    pub fn is_command_error(&self) -> bool {
        self.kind() == Kind::Command
    }

    /// The process exit status: 255 for a `CommandError`, 1 for a crash,
    /// 128 + the signal for an interruption, 2 for the command line.
    pub fn exit_status(&self) -> u8 {
        match self.kind() {
            Kind::Command => 255,
            Kind::Crash => 1,
            Kind::Interrupted(signal) => {
                u8::try_from(crate::db::interrupt::exit_status(signal)).unwrap_or(1)
            }
            Kind::Usage => 2,
        }
    }

    /// The line printed for this error: `FAILED: <message>` (stdout, or
    /// stderr under `--format json`), `aurora: error: <message>` for a crash
    /// or the command line, `aurora: <message>` for an interruption. `None`
    /// when argparse has printed its own message.
    pub fn printed(&self) -> Option<String> {
        Some(match self.kind() {
            Kind::Command => format!("FAILED: {self}"),
            Kind::Crash => format!("aurora: error: {self}"),
            Kind::Interrupted(_) => format!("aurora: {self}"),
            Kind::Usage => match self {
                Error::Usage(Some(message)) => format!("aurora: error: {message}"),
                _ => return None,
            },
        })
    }
}

fn config_kind(error: &ConfigError) -> Kind {
    match error {
        ConfigError::NoScriptLocation
        | ConfigError::MissingSection { .. }
        | ConfigError::TomlBoolean(_) => Kind::Command,
        _ => Kind::Crash,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Failed(message)
            | Error::Crash(message)
            | Error::Interrupted { message, .. }
            | Error::Revision { message, .. } => f.write_str(message),
            Error::Script(error) => write!(f, "{error}"),
            Error::Config(error) => write!(f, "{error}"),
            Error::Database(error) => match &**error {
                DbError::Interrupted { signal } => write!(
                    f,
                    "interrupted by {} before the run started; nothing was written",
                    crate::db::interrupt::signal_name(*signal)
                ),
                other => write!(f, "{other}"),
            },
            Error::Render(error) => write!(f, "{error}"),
            Error::Lowering(error) => write!(f, "{error}"),
            Error::Python {
                description,
                missing_module,
            } => match missing_module {
                None => f.write_str(description),
                // An import env.py makes that aurora's interpreter cannot satisfy (a package of
                // the application's runtime: Flask-Migrate's `current_app`, a settings library)
                // is a Python error here too, but Alembic in the project's virtualenv may well
                // have it: the message says how to run such a project anyway.
                Some(module) => write!(
                    f,
                    "{description}; aurora runs env.py with its own interpreter, which has no \
                     packages of your application{}: set the database URL and options explicitly \
                     in an [aurora] section of the ini file or with AURORA_* environment \
                     variables (see docs/env-py.md)",
                    if module.starts_with("flask") {
                        " (Flask-Migrate's env.py reads the URL and metadata from current_app)"
                    } else {
                        ""
                    }
                ),
            },
            Error::Usage(message) => f.write_str(message.as_deref().unwrap_or("")),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Script(error) => Some(&**error),
            Error::Config(error) => Some(&**error),
            Error::Database(error) => Some(&**error),
            Error::Revision { error, .. } => Some(error),
            Error::Render(error) => Some(error),
            Error::Lowering(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ScriptError> for Error {
    fn from(error: ScriptError) -> Error {
        match error {
            ScriptError::Config(config) => Error::from(config),
            other => Error::Script(Arc::new(other)),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Error {
        Error::Config(Arc::new(error))
    }
}

impl From<DbError> for Error {
    fn from(error: DbError) -> Error {
        Error::Database(Arc::new(error))
    }
}

impl From<MigrationError> for Error {
    fn from(error: MigrationError) -> Error {
        Error::Lowering(error)
    }
}

/// The wording rules of Alembic's `ScriptDirectory._catch_revision_errors`.
#[derive(Debug, Default, Clone)]
pub struct Catch<'a> {
    /// Message for `RangeNotAncestorError`, with `%(start)s` / `%(end)s`.
    pub ancestor: Option<&'a str>,
    /// Message for `MultipleHeads`, with `%(head_arg)s`.
    pub multiple_heads: Option<&'a str>,
    pub start: Option<&'a str>,
    pub end: Option<&'a str>,
    pub resolution: Option<&'a str>,
}

impl Catch<'_> {
    /// Words a revision error as Alembic's command layer does.
    pub fn word(&self, error: RevisionError) -> Error {
        let message = match &error {
            RevisionError::RangeNotAncestor { lower, upper } => {
                let start = self
                    .start
                    .map(str::to_string)
                    .or(lower.clone())
                    .unwrap_or_else(|| "None".to_string());
                let end = self
                    .end
                    .map(str::to_string)
                    .or(upper.clone())
                    .unwrap_or_else(|| "None".to_string());
                let template = self.ancestor.unwrap_or(
                    "Requested range %(start)s:%(end)s does not refer to ancestor/descendant revisions along the same branch",
                );
                template
                    .replace("%(start)s", &start)
                    .replace("%(end)s", &end)
            }
            RevisionError::MultipleHeads { heads, argument } => {
                let template = self.multiple_heads.unwrap_or(
                    "Multiple head revisions are present for given argument '%(head_arg)s'; please specify a specific target revision, '<branchname>@%(head_arg)s' to narrow to a specific head, or 'heads' for all heads",
                );
                let head_arg = self.end.unwrap_or(argument);
                template
                    .replace("%(head_arg)s", head_arg)
                    .replace("%(heads)s", &heads.join(", "))
            }
            RevisionError::Resolution { argument, .. } => match self.resolution {
                Some(message) => message.to_string(),
                None => format!("Can't locate revision identified by '{argument}'"),
            },
            RevisionError::Broken(message) => message.clone(),
            other => other.to_string(),
        };
        Error::Revision { error, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_exit_statuses_follow_alembic() {
        let failed = Error::failed("Range revision not allowed");
        assert_eq!(failed.exit_status(), 255);
        assert_eq!(
            failed.printed().as_deref(),
            Some("FAILED: Range revision not allowed")
        );
        assert_eq!(Error::crash("x").exit_status(), 1);
        let row_count = Error::from(DbError::DeleteRowCount {
            version: "a".into(),
            table: "alembic_version".into(),
            found: 0,
        });
        assert!(row_count.is_command_error());
        assert_eq!(Error::from(DbError::NoUrl).exit_status(), 1);
        let interrupted = Error::from(DbError::Interrupted { signal: 2 });
        assert_eq!(interrupted.exit_status(), 130);
        assert_eq!(
            interrupted.printed().as_deref(),
            Some("aurora: interrupted by SIGINT before the run started; nothing was written")
        );
        assert_eq!(
            Error::from(ConfigError::NoScriptLocation).exit_status(),
            255
        );
        assert_eq!(Error::from(ConfigError::IniTwice).exit_status(), 1);
        let script = Error::from(ScriptError::Config(ConfigError::NoScriptLocation));
        assert!(matches!(script, Error::Config(_)));
        assert_eq!(
            Error::from(ScriptError::Syntax("f:1:1".into())).exit_status(),
            1
        );
        assert_eq!(Error::Usage(None).printed(), None);
        assert_eq!(Error::Usage(None).exit_status(), 2);
    }

    #[test]
    fn typed_variants_keep_their_source() {
        use std::error::Error as _;
        let error = Catch::default().word(RevisionError::Broken("cycle".into()));
        assert_eq!(error.exit_status(), 1);
        assert_eq!(error.to_string(), "cycle");
        assert!(error
            .source()
            .and_then(|s| s.downcast_ref::<RevisionError>())
            .is_some());
        let db = Error::from(DbError::NoUrl);
        assert!(db
            .source()
            .and_then(|s| s.downcast_ref::<DbError>())
            .is_some());
    }

    #[test]
    fn missing_module_hint() {
        let error = Error::Python {
            description: "env.py:3:1: ModuleNotFoundError: No module named 'flask'".into(),
            missing_module: Some("flask".into()),
        };
        assert!(error.to_string().contains("from current_app)"));
        assert_eq!(error.exit_status(), 1);
    }
}
