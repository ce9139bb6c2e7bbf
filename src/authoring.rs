//! New revision files: identifiers, slugs, file names, create dates and rendered content.
//!
//! This module owns what Alembic's `ScriptDirectory.generate_revision` decides about a new
//! revision file once the revision graph has been consulted: the caller (the `cli`) resolves
//! `--head`, `--depends-on` and the version location, then hands this module plain values and
//! gets back a path and the file's text, byte for byte what Alembic would write. The only I/O
//! here is at the edges and says so in its name: [`new_rev_id`] reads randomness,
//! [`CreateDate::now`] reads the clock, and [`write_new_file`] writes one file atomically.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, Offset, TimeZone, Timelike, Utc};

use crate::template::{self, Context, TemplateError, Value};

/// The characters Alembic refuses in a revision identifier.
pub const ILLEGAL_REV_ID_CHARS: [char; 4] = ['@', '-', '+', ':'];

/// The width of the `version_num` column of `alembic_version`.
pub const MAX_REV_ID_LEN: usize = 32;

/// Alembic's default `file_template`.
pub const DEFAULT_FILE_TEMPLATE: &str = "%(rev)s_%(slug)s";

/// Alembic's default `truncate_slug_length`.
pub const DEFAULT_TRUNCATE_SLUG_LENGTH: usize = 40;

/// The message Alembic writes when none is given.
pub const DEFAULT_MESSAGE: &str = "empty message";

/// The `script.py.mako` of Alembic's `generic` template, used when a project has none.
pub const DEFAULT_SCRIPT_TEMPLATE: &str = r#""""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
"#;

/// Everything that can go wrong while preparing or writing a revision file.
#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    /// Alembic's own message for `@`, `-`, `+` or `:` in an identifier.
    #[error("Character(s) '{chars}' not allowed in revision identifier '{rev_id}'")]
    IllegalChars {
        /// The offending characters, sorted and joined with `, `.
        chars: String,
        /// The identifier as given.
        rev_id: String,
    },
    /// An identifier that would put the file in another directory.
    #[error("the revision identifier is empty; give --rev-id a value or leave it out for a generated one")]
    EmptyRevId,
    #[error("revision identifier {0:?} contains a control character (tab, newline, ...); use letters, digits and _")]
    ControlChar(String),
    #[error("revision identifier '{0}' must not contain a path separator")]
    PathSeparator(String),
    /// An identifier that does not fit the version table.
    #[error(
        "revision identifier '{rev_id}' is {len} characters long; \
         the alembic_version table holds at most {MAX_REV_ID_LEN}"
    )]
    TooLong {
        /// The identifier as given.
        rev_id: String,
        /// Its length in characters.
        len: usize,
    },
    /// An identifier that some revision already has.
    #[error("revision '{0}' already exists; choose another --rev-id")]
    Exists(String),
    /// A target file that is already there; revision files are never overwritten.
    #[error("file {0} already exists; not overwriting it")]
    FileExists(PathBuf),
    /// Alembic's message for a `timezone` it cannot find.
    #[error("Can't locate timezone: {0}")]
    UnknownTimezone(String),
    /// A `file_template` that Python's `%` formatting would reject.
    #[error("file_template '{template}': {message}")]
    FileTemplate {
        /// The template as configured.
        template: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `script.py.mako` that cannot be rendered.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A file system error while writing the revision file.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A fresh revision identifier, as Alembic's `uuid4().hex[-12:]`: the last twelve hex digits of
/// a version-4 UUID are 48 random bits.
pub fn new_rev_id() -> String {
    let mut bytes = [0u8; 6];
    if getrandom::fill(&mut bytes).is_err() {
        // No system randomness: fall back to the clock, which is unique enough for a name.
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        bytes.copy_from_slice(&nanos.to_be_bytes()[2..]);
    }
    let mut id = String::with_capacity(12);
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    id
}

/// Alembic's `Script.verify_rev_id`: rejects `@`, `-`, `+` and `:`.
pub fn verify_rev_id(rev_id: &str) -> Result<(), AuthoringError> {
    let mut found: Vec<char> = ILLEGAL_REV_ID_CHARS
        .iter()
        .copied()
        .filter(|c| rev_id.contains(*c))
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    found.sort_unstable();
    let chars: Vec<String> = found.iter().map(char::to_string).collect();
    Err(AuthoringError::IllegalChars {
        chars: chars.join(", "),
        rev_id: rev_id.to_string(),
    })
}

/// Every check aurora makes on a new identifier before anything is written: Alembic's illegal
/// characters first (same message), then path separators, the version column's width, and an
/// identifier that one of `existing` already has.
pub fn check_new_rev_id<'a>(
    rev_id: &str,
    existing: impl IntoIterator<Item = &'a str>,
) -> Result<(), AuthoringError> {
    verify_rev_id(rev_id)?;
    if rev_id.is_empty() {
        return Err(AuthoringError::EmptyRevId);
    }
    if rev_id.chars().any(char::is_control) {
        return Err(AuthoringError::ControlChar(rev_id.to_string()));
    }
    if rev_id.contains('/') || rev_id.contains('\\') || rev_id == "." || rev_id == ".." {
        return Err(AuthoringError::PathSeparator(rev_id.to_string()));
    }
    let len = rev_id.chars().count();
    if len > MAX_REV_ID_LEN {
        return Err(AuthoringError::TooLong {
            rev_id: rev_id.to_string(),
            len,
        });
    }
    if existing.into_iter().any(|e| e == rev_id) {
        return Err(AuthoringError::Exists(rev_id.to_string()));
    }
    Ok(())
}

/// The slug of a message, as Alembic's `_rev_path`: the `\w+` words joined with `_` and
/// lowercased; when longer than `truncate` characters, cut to `truncate` characters, then back
/// to the last `_`, keeping that `_`.
pub fn slugify(message: Option<&str>, truncate: usize) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in message.unwrap_or("").chars() {
        if is_word_char(c) {
            current.push(c);
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let slug = words.join("_").to_lowercase();
    if slug.chars().count() <= truncate {
        return slug;
    }
    let cut: String = slug.chars().take(truncate).collect();
    let kept = match cut.rfind('_') {
        Some(i) => &cut[..i],
        None => cut.as_str(),
    };
    format!("{kept}_")
}

/// Python's `\w` for `str` patterns: letters, digits and the underscore, in any script.
fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The moment a revision is created, as Alembic's `_generate_create_date` sees it: local time
/// without a zone, or the time in the configured `timezone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateDate {
    /// The wall-clock date and time.
    pub local: NaiveDateTime,
    /// The UTC offset when a `timezone` is configured; `None` for a naive local time.
    pub offset: Option<FixedOffset>,
    /// Seconds since the Unix epoch, for `%(epoch)s`.
    pub epoch: i64,
}

impl CreateDate {
    /// Reads the clock. `timezone` is the `timezone` option of the config, if any; like Alembic,
    /// a name that is not found is tried again in upper case.
    pub fn now(timezone: Option<&str>) -> Result<CreateDate, AuthoringError> {
        CreateDate::at(Utc::now(), timezone)
    }

    /// The create date for the instant `now`.
    pub fn at(now: DateTime<Utc>, timezone: Option<&str>) -> Result<CreateDate, AuthoringError> {
        let epoch = now.timestamp();
        match timezone {
            None => Ok(CreateDate {
                local: now.with_timezone(&chrono::Local).naive_local(),
                offset: None,
                epoch,
            }),
            Some(name) => {
                let tz: chrono_tz::Tz = name
                    .parse()
                    .or_else(|_| name.to_uppercase().parse())
                    .map_err(|_| AuthoringError::UnknownTimezone(name.to_string()))?;
                let zoned = tz.from_utc_datetime(&now.naive_utc());
                Ok(CreateDate {
                    local: zoned.naive_local(),
                    offset: Some(zoned.offset().fix()),
                    epoch,
                })
            }
        }
    }

    /// Python's `str(datetime)`: `YYYY-MM-DD HH:MM:SS`, then `.ffffff` unless the microseconds
    /// are zero, then `+HH:MM` (with `:SS` when needed) for a zoned time.
    pub fn to_python_str(&self) -> String {
        let d = &self.local;
        let mut s = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        );
        let micros = d.nanosecond() / 1000 % 1_000_000;
        if micros != 0 {
            let _ = write!(s, ".{micros:06}");
        }
        if let Some(offset) = self.offset {
            let total = offset.local_minus_utc();
            let sign = if total < 0 { '-' } else { '+' };
            let abs = total.unsigned_abs();
            let _ = write!(s, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60);
            if abs % 60 != 0 {
                let _ = write!(s, ":{:02}", abs % 60);
            }
        }
        s
    }
}

/// One value for a `file_template` token.
enum Token<'a> {
    Str(&'a str),
    Int(i64),
}

/// Applies Python's `%` formatting with a mapping to `file_template`, with the tokens Alembic
/// offers: `rev`, `slug`, `epoch`, `year`, `month`, `day`, `hour`, `minute`, `second`.
pub fn format_file_template(
    file_template: &str,
    rev_id: &str,
    slug: &str,
    date: &CreateDate,
) -> Result<String, AuthoringError> {
    let fail = |message: String| AuthoringError::FileTemplate {
        template: file_template.to_string(),
        message,
    };
    let lookup = |key: &str| -> Option<Token<'_>> {
        let d = &date.local;
        Some(match key {
            "rev" => Token::Str(rev_id),
            "slug" => Token::Str(slug),
            "epoch" => Token::Int(date.epoch),
            "year" => Token::Int(d.year().into()),
            "month" => Token::Int(d.month().into()),
            "day" => Token::Int(d.day().into()),
            "hour" => Token::Int(d.hour().into()),
            "minute" => Token::Int(d.minute().into()),
            "second" => Token::Int(d.second().into()),
            _ => return None,
        })
    };
    let chars: Vec<char> = file_template.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push('%');
            i += 1;
            continue;
        }
        if chars.get(i) != Some(&'(') {
            return Err(fail(
                "every '%' must be followed by a '(name)' token or another '%'".to_string(),
            ));
        }
        let close = chars[i..]
            .iter()
            .position(|c| *c == ')')
            .ok_or_else(|| fail("incomplete format key".to_string()))?;
        let key: String = chars[i + 1..i + close].iter().collect();
        i += close + 1;
        let mut flags = String::new();
        while let Some(c @ ('-' | '+' | ' ' | '#' | '0')) = chars.get(i) {
            flags.push(*c);
            i += 1;
        }
        let width = read_number(&chars, &mut i);
        let precision = if chars.get(i) == Some(&'.') {
            i += 1;
            Some(read_number(&chars, &mut i).unwrap_or(0))
        } else {
            None
        };
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conv) = chars.get(i) else {
            return Err(fail("incomplete format".to_string()));
        };
        i += 1;
        let value = lookup(&key).ok_or_else(|| {
            fail(format!(
                "unknown token '{key}' (known: rev, slug, epoch, year, month, day, hour, \
                 minute, second)"
            ))
        })?;
        let body = match (conv, &value) {
            ('s' | 'r' | 'a', Token::Str(s)) => {
                let s = if conv == 's' {
                    s.to_string()
                } else {
                    template::repr_str(s)
                };
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            ('s' | 'r' | 'a', Token::Int(n)) => {
                let s = n.to_string();
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                }
            }
            ('d' | 'i' | 'u', Token::Int(n)) => {
                let digits = n.unsigned_abs().to_string();
                let digits = match precision {
                    Some(p) if digits.len() < p => format!("{digits:0>p$}"),
                    _ => digits,
                };
                let sign = if *n < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else if flags.contains(' ') {
                    " "
                } else {
                    ""
                };
                let w = width.unwrap_or(0);
                let len = sign.len() + digits.len();
                if flags.contains('0') && !flags.contains('-') && precision.is_none() && len < w {
                    format!("{sign}{}{digits}", "0".repeat(w - len))
                } else {
                    format!("{sign}{digits}")
                }
            }
            ('d' | 'i' | 'u', Token::Str(_)) => {
                return Err(fail(format!(
                    "%{conv} format: a real number is required, not str (token '{key}')"
                )))
            }
            (other, _) => {
                return Err(fail(format!(
                    "unsupported format character '{other}' for token '{key}'"
                )))
            }
        };
        let w = width.unwrap_or(0);
        let n = body.chars().count();
        if n < w {
            let pad = " ".repeat(w - n);
            if flags.contains('-') {
                out.push_str(&body);
                out.push_str(&pad);
            } else {
                out.push_str(&pad);
                out.push_str(&body);
            }
        } else {
            out.push_str(&body);
        }
    }
    Ok(out)
}

fn read_number(chars: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    while chars.get(*i).is_some_and(char::is_ascii_digit) {
        *i += 1;
    }
    if *i == start {
        return None;
    }
    chars[start..*i].iter().collect::<String>().parse().ok()
}

/// The settings of the script directory that shape a new file's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingOptions {
    /// `file_template`, after the config's own `%%` interpolation (so `%(rev)s_%(slug)s`).
    pub file_template: String,
    /// `truncate_slug_length`.
    pub truncate_slug_length: usize,
}

impl Default for NamingOptions {
    fn default() -> Self {
        NamingOptions {
            file_template: DEFAULT_FILE_TEMPLATE.to_string(),
            truncate_slug_length: DEFAULT_TRUNCATE_SLUG_LENGTH,
        }
    }
}

/// The file name of a new revision (with `.py`), as Alembic's `_rev_path`.
pub fn revision_file_name(
    options: &NamingOptions,
    rev_id: &str,
    message: Option<&str>,
    date: &CreateDate,
) -> Result<String, AuthoringError> {
    let slug = slugify(message, options.truncate_slug_length);
    let stem = format_file_template(&options.file_template, rev_id, &slug, date)?;
    Ok(format!("{stem}.py"))
}

/// What a new revision file says about itself, with every reference already resolved by the
/// caller against the revision map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSpec {
    /// The new revision's identifier.
    pub rev_id: String,
    /// `-m`; `None` writes Alembic's `empty message` and an empty slug.
    pub message: Option<String>,
    /// The parents: the resolved `--head` revisions, or the merged revisions; empty for a new
    /// base.
    pub down_revisions: Vec<String>,
    /// `--branch-label`, if any.
    pub branch_labels: Vec<String>,
    /// `--depends-on`, each a full revision id or a branch label as Alembic keeps it.
    pub depends_on: Vec<String>,
    /// When the revision is created.
    pub create_date: CreateDate,
    /// The rendered upgrade body (autogenerate), or `None` to leave it undefined.
    pub upgrades: Option<String>,
    /// The rendered downgrade body (autogenerate), or `None` to leave it undefined.
    pub downgrades: Option<String>,
    /// The extra import lines (autogenerate), or `None` to leave them undefined.
    pub imports: Option<String>,
    /// Rendered bodies under env.py's own `upgrade_token`/`downgrade_token` names.
    pub token_bodies: Vec<(String, String)>,
    /// env.py's `configure(template_args=...)`, passed to the template as they are.
    pub template_args: Vec<(String, Value)>,
    /// Alembic's `config`, as the template sees it (`None`: undefined).
    pub config: Option<crate::template::ConfigView>,
}

impl RevisionSpec {
    /// A spec with no parents, labels or dependencies and no autogenerate output.
    pub fn new(rev_id: impl Into<String>, message: Option<&str>, create_date: CreateDate) -> Self {
        RevisionSpec {
            rev_id: rev_id.into(),
            message: message.map(str::to_string),
            down_revisions: Vec::new(),
            branch_labels: Vec::new(),
            depends_on: Vec::new(),
            create_date,
            upgrades: None,
            downgrades: None,
            imports: None,
            token_bodies: Vec::new(),
            template_args: Vec::new(),
            config: None,
        }
    }

    /// The variables Alembic passes to `script.py.mako`, with the same Python types.
    pub fn template_context(&self) -> Context {
        let mut ctx = Context::new();
        // Alembic's own arguments are keyword arguments next to these.
        for (key, value) in &self.template_args {
            ctx.insert(key.clone(), value.clone());
        }
        ctx.insert("up_revision".into(), Value::str(&self.rev_id));
        ctx.insert(
            "down_revision".into(),
            Value::scalar_or_tuple(&self.down_revisions),
        );
        let labels = if self.branch_labels.is_empty() {
            Value::None
        } else {
            Value::str_tuple(&self.branch_labels)
        };
        ctx.insert("branch_labels".into(), labels);
        // Alembic resolves `depends_on` into a list, so several of them print as a list.
        let depends_on = match self.depends_on.as_slice() {
            [] => Value::None,
            [one] => Value::str(one),
            many => Value::List(many.iter().map(Value::str).collect()),
        };
        ctx.insert("depends_on".into(), depends_on);
        // A `datetime.datetime`, so `${create_date.year}` works as in Alembic.
        ctx.insert(
            "create_date".into(),
            Value::DateTime(template::DateTimeView {
                local: self.create_date.local,
                text: self.create_date.to_python_str(),
                aware: self.create_date.offset.is_some(),
            }),
        );
        ctx.insert(
            "message".into(),
            Value::str(self.message.as_deref().unwrap_or(DEFAULT_MESSAGE)),
        );
        if let Some(config) = &self.config {
            ctx.insert("config".into(), Value::Config(config.clone()));
        }
        for (key, value) in [
            ("upgrades", &self.upgrades),
            ("downgrades", &self.downgrades),
            ("imports", &self.imports),
        ] {
            if let Some(v) = value {
                ctx.insert(key.into(), Value::str(v));
            }
        }
        for (token, body) in &self.token_bodies {
            ctx.insert(token.clone(), Value::str(body));
        }
        ctx
    }
}

/// A revision file ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevisionFile {
    /// Where it goes: the version location joined with the file name.
    pub path: PathBuf,
    /// Its text.
    pub content: String,
}

/// Renders a revision file with the project's template (`None`: Alembic's generic one).
/// `template_name` names the template in error messages.
pub fn render_revision(
    template_name: &str,
    template_source: Option<&str>,
    spec: &RevisionSpec,
) -> Result<String, AuthoringError> {
    let source = template_source.unwrap_or(DEFAULT_SCRIPT_TEMPLATE);
    Ok(template::render(
        template_name,
        source,
        &spec.template_context(),
    )?)
}

/// The path and content of a new revision file in `version_dir`.
pub fn prepare_revision_file(
    version_dir: &Path,
    options: &NamingOptions,
    template_name: &str,
    template_source: Option<&str>,
    spec: &RevisionSpec,
) -> Result<NewRevisionFile, AuthoringError> {
    let name = revision_file_name(
        options,
        &spec.rev_id,
        spec.message.as_deref(),
        &spec.create_date,
    )?;
    let content = render_revision(template_name, template_source, spec)?;
    Ok(NewRevisionFile {
        path: version_dir.join(name),
        content,
    })
}

/// Writes `content` to `path` atomically: a temporary file in the same directory, flushed,
/// then linked into place. Fails without touching anything if `path` already exists.
pub fn write_new_file(path: &Path, content: &str) -> Result<(), AuthoringError> {
    let io = |source: std::io::Error| AuthoringError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        return Err(AuthoringError::FileExists(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", new_rev_id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        drop(f);
        // A hard link refuses to replace an existing file, unlike a rename; where links are
        // not supported, fall back to a rename after checking again.
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => std::fs::remove_file(&tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            Err(_) => {
                if path.exists() {
                    Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists))
                } else {
                    std::fs::rename(&tmp, path)
                }
            }
        }
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(AuthoringError::FileExists(path.to_path_buf()));
        }
        return Err(io(e));
    }
    Ok(())
}

/// Replaces the content of an existing file atomically: a temporary file in the same
/// directory, flushed, then renamed over it.
pub fn replace_file(path: &Path, content: &str) -> Result<(), AuthoringError> {
    let io = |source: std::io::Error| AuthoringError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", new_rev_id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn date(micro: u32) -> CreateDate {
        CreateDate {
            local: NaiveDate::from_ymd_opt(2024, 3, 5)
                .unwrap()
                .and_hms_micro_opt(7, 8, 9, micro)
                .unwrap(),
            offset: None,
            epoch: 1_709_622_489,
        }
    }

    #[test]
    fn slugs_follow_alembic() {
        let long = "Add a column with a rather long message for the slug";
        assert_eq!(
            slugify(Some(long), 40),
            "add_a_column_with_a_rather_long_message_"
        );
        assert_eq!(slugify(Some("fix: index!"), 40), "fix_index");
        assert_eq!(slugify(None, 40), "");
        assert_eq!(slugify(Some("abcdefghij"), 4), "abcd_");
        assert_eq!(slugify(Some("Ünïcode wörds"), 40), "ünïcode_wörds");
        assert_eq!(
            slugify(
                Some("Initial schema: users, tasks, conversations, metrics, alerts, audit logs"),
                40
            ),
            "initial_schema_users_tasks_"
        );
    }

    #[test]
    fn rev_ids() {
        let id = new_rev_id();
        assert_eq!(id.len(), 12);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_uppercase()));
        assert_ne!(new_rev_id(), id);
        assert_eq!(
            verify_rev_id("ab-cd").unwrap_err().to_string(),
            "Character(s) '-' not allowed in revision identifier 'ab-cd'"
        );
        assert_eq!(
            verify_rev_id("a:b@c+d").unwrap_err().to_string(),
            "Character(s) '+, :, @' not allowed in revision identifier 'a:b@c+d'"
        );
        assert!(matches!(
            check_new_rev_id("a/b", []),
            Err(AuthoringError::PathSeparator(_))
        ));
        assert!(matches!(
            check_new_rev_id(&"a".repeat(33), []),
            Err(AuthoringError::TooLong { len: 33, .. })
        ));
        assert!(check_new_rev_id(&"a".repeat(32), []).is_ok());
        assert!(matches!(
            check_new_rev_id("abc", ["x", "abc"]),
            Err(AuthoringError::Exists(_))
        ));
    }

    #[test]
    fn dates_print_like_python() {
        assert_eq!(date(125_492).to_python_str(), "2024-03-05 07:08:09.125492");
        assert_eq!(date(0).to_python_str(), "2024-03-05 07:08:09");
        let now = Utc.with_ymd_and_hms(2024, 7, 1, 12, 0, 0).unwrap();
        let d = CreateDate::at(now, Some("Europe/Paris")).unwrap();
        assert_eq!(d.to_python_str(), "2024-07-01 14:00:00+02:00");
        let d = CreateDate::at(now, Some("utc")).unwrap();
        assert_eq!(d.to_python_str(), "2024-07-01 12:00:00+00:00");
        let d = CreateDate::at(now, Some("America/St_Johns")).unwrap();
        assert_eq!(d.to_python_str(), "2024-07-01 09:30:00-02:30");
        assert_eq!(
            CreateDate::at(now, Some("Mars/Olympus"))
                .unwrap_err()
                .to_string(),
            "Can't locate timezone: Mars/Olympus"
        );
    }

    #[test]
    fn file_templates_use_python_percent_format() {
        let d = date(0);
        let f = |t: &str| format_file_template(t, "abc", "my_slug", &d);
        assert_eq!(f("%(rev)s_%(slug)s").unwrap(), "abc_my_slug");
        assert_eq!(
            f("%(year)d_%(month).2d_%(day).2d_%(hour).2d%(minute).2d-%(rev)s").unwrap(),
            "2024_03_05_0708-abc"
        );
        assert_eq!(
            f("%(epoch)s_%(second)02d_100%%").unwrap(),
            "1709622489_09_100%"
        );
        assert_eq!(
            f("%(rev)5s|%(rev)-5s|%(slug).2s").unwrap(),
            "  abc|abc  |my"
        );
        assert!(f("%(nope)s").is_err());
        assert!(f("%(rev)d").is_err());
        assert!(f("50%").is_err());
    }

    #[test]
    fn write_new_file_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.py");
        write_new_file(&path, "one").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        assert!(matches!(
            write_new_file(&path, "two"),
            Err(AuthoringError::FileExists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }
}
