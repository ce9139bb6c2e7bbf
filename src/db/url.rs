//! Database URLs as SQLAlchemy reads them (`sqlite:///app.db`,
//! `postgresql+psycopg2://scott:tiger@localhost/test?sslmode=require`), and
//! the masked form SQLAlchemy prints (`postgresql://scott:***@localhost/test`).
//!
//! Parsing follows SQLAlchemy's `make_url`: the same split into driver name,
//! user, password, host, port, database and query, the same percent-decoding
//! of user, password and database, and the same leniency (text after the
//! parts SQLAlchemy's pattern recognises is ignored, as SQLAlchemy ignores it).

use std::fmt;
use std::path::PathBuf;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::DbError;
use crate::sql::Dialect;

/// A parsed SQLAlchemy database URL.
///
/// `Debug` and `Display` both show the masked form, so a password cannot leak
/// through a log line or an error that formats the URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// The name before `://` as written: `sqlite`, `postgresql+psycopg2`, ...
    pub drivername: String,
    pub username: Option<String>,
    password: Option<String>,
    /// The host; for an IPv6 address, without its brackets.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The database (for SQLite: the file path, `:memory:`, or nothing).
    pub database: Option<String>,
    /// The query parameters, sorted by key, a key repeated once per value.
    pub query: Vec<(String, String)>,
    dialect: Dialect,
}

/// Where an SQLite URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    /// `sqlite://`, `sqlite:///` or `sqlite:///:memory:`: a private in-memory database.
    Memory,
    /// A file, relative to the process's current directory when it is relative.
    File(PathBuf),
}

/// Characters Python's `urllib.parse.quote` never escapes (letters, digits, `_.-~`).
const PY_ALWAYS_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');
/// `quote(s, safe=" +")`, as SQLAlchemy renders user and password.
const USER_SAFE: &AsciiSet = &PY_ALWAYS_SAFE.remove(b' ').remove(b'+');
/// `quote(s, safe=" +/")`, as SQLAlchemy renders the database.
const DATABASE_SAFE: &AsciiSet = &USER_SAFE.remove(b'/');

impl DatabaseUrl {
    /// Parses a URL the way SQLAlchemy's `make_url` does.
    ///
    /// Errors never contain the URL itself, so a password in it cannot leak.
    pub fn parse(text: &str) -> Result<DatabaseUrl, DbError> {
        let parts = split(text).ok_or_else(|| DbError::InvalidUrl {
            reason: "Could not parse SQLAlchemy URL from given URL string".to_string(),
        })?;
        let backend = parts.name.split('+').next().unwrap_or_default();
        let dialect = match backend {
            "sqlite" => Dialect::Sqlite,
            "postgresql" | "postgres" => Dialect::Postgresql,
            _ => {
                return Err(DbError::InvalidUrl {
                    reason: format!(
                        "Can't load plugin: sqlalchemy.dialects:{}",
                        parts.name.replace('+', ".")
                    ),
                })
            }
        };
        let port = match parts.port {
            None | Some("") => None,
            // The text is not quoted: in a URL whose password holds a `:`
            // or `@`, it is a piece of the password.
            Some(port) => Some(port.parse::<u16>().map_err(|_| {
                DbError::InvalidUrl {
                    reason: "invalid port number in database URL: the text after the host's ':' \
                         is not a number from 0 to 65535 (percent-encode ':', '@' and '/' in \
                         a password: %3A, %40, %2F)"
                        .to_string(),
                }
            })?),
        };
        let mut query = Vec::new();
        if let Some(q) = parts.query {
            for pair in q.split('&') {
                // Python's `parse_qsl` drops pairs without `=` and pairs with
                // an empty value (SQLAlchemy does not keep blank values).
                let Some((key, value)) = pair.split_once('=') else {
                    continue;
                };
                if value.is_empty() {
                    continue;
                }
                query.push((unquote_plus(key), unquote_plus(value)));
            }
        }
        // SQLAlchemy keeps the query as a dict and renders it sorted by key;
        // a stable sort keeps repeated keys in the order they were written.
        query.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(DatabaseUrl {
            drivername: parts.name.to_string(),
            username: parts.username.map(unquote),
            password: parts.password.map(unquote),
            host: parts.host.map(str::to_string),
            port,
            database: parts.database.map(unquote),
            query,
            dialect,
        })
    }

    /// Reads the URL the way Alembic's generated `env.py` files are usually
    /// edited to: `DATABASE_URL` from the environment when it is set and not
    /// empty, else `sqlalchemy.url` from the configuration.
    pub fn from_config(sqlalchemy_url: Option<&str>) -> Result<DatabaseUrl, DbError> {
        let from_env = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty());
        match from_env.as_deref().or(sqlalchemy_url) {
            Some(text) => DatabaseUrl::parse(text),
            None => Err(DbError::NoUrl),
        }
    }

    /// The dialect this URL selects (the part of the driver name before `+`).
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The decoded password, for the driver only: never print it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Where an SQLite URL points (`None` for other dialects).
    pub fn sqlite_target(&self) -> Option<SqliteTarget> {
        if self.dialect != Dialect::Sqlite {
            return None;
        }
        // pysqlite's rule: an empty or missing database, or `:memory:`, is memory.
        match self.database.as_deref() {
            None | Some("") | Some(":memory:") => Some(SqliteTarget::Memory),
            Some(path) => Some(SqliteTarget::File(PathBuf::from(path))),
        }
    }

    /// The URL as SQLAlchemy's `URL.render_as_string(hide_password=True)`
    /// prints it: the password, when there is one, is `***`.
    pub fn masked(&self) -> String {
        self.render(true)
    }

    /// The URL with the password in clear, percent-encoded as SQLAlchemy
    /// renders it with `hide_password=False`. For handing to another program only.
    pub fn unmasked(&self) -> String {
        self.render(false)
    }

    /// Replaces every occurrence of the password (decoded or as written in
    /// the URL) in a driver's message with `***`. Passwords shorter than four
    /// characters are left alone: replacing them would garble the message
    /// without hiding anything worth hiding.
    pub fn scrub(&self, message: &str) -> String {
        // A password with an unencoded `@` ends, for SQLAlchemy's pattern,
        // at its first `@`; the rest of it lands in the host.
        let message = match self.host_password_tail() {
            Some(tail) if !tail.is_empty() => message.replace(tail, "***"),
            _ => message.to_string(),
        };
        let Some(password) = self.password.as_deref() else {
            return message;
        };
        if password.chars().count() < 4 {
            return message;
        }
        let encoded = utf8_percent_encode(password, USER_SAFE).to_string();
        message.replace(password, "***").replace(&encoded, "***")
    }

    /// The part of the host before its last `@`: what SQLAlchemy's pattern
    /// leaves there of a password written with an unencoded `@`
    /// (`scott:tig@er@host` has the password `tig` and the host `er@host`).
    fn host_password_tail(&self) -> Option<&str> {
        let host = self.host.as_deref()?;
        host.rfind('@').map(|at| &host[..at])
    }

    pub fn render(&self, hide_password: bool) -> String {
        let mut s = format!("{}://", self.drivername);
        if let Some(user) = &self.username {
            s.push_str(&utf8_percent_encode(user, USER_SAFE).to_string());
            if let Some(password) = &self.password {
                s.push(':');
                if hide_password {
                    s.push_str("***");
                } else {
                    s.push_str(&utf8_percent_encode(password, USER_SAFE).to_string());
                }
            }
            s.push('@');
        }
        if let Some(host) = &self.host {
            // Masked, a host holding the tail of a password loses it.
            let host = match (hide_password, self.host_password_tail()) {
                (true, Some(tail)) => &host[tail.len() + 1..],
                _ => host.as_str(),
            };
            if host.contains(':') {
                s.push_str(&format!("[{host}]"));
            } else {
                s.push_str(host);
            }
        }
        if let Some(port) = self.port {
            s.push_str(&format!(":{port}"));
        }
        if let Some(database) = &self.database {
            s.push('/');
            s.push_str(&utf8_percent_encode(database, DATABASE_SAFE).to_string());
        }
        if !self.query.is_empty() {
            let rendered: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
                .collect();
            s.push('?');
            s.push_str(&rendered.join("&"));
        }
        s
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.masked())
    }
}

/// The raw (still percent-encoded) pieces of a URL.
struct Parts<'a> {
    name: &'a str,
    username: Option<&'a str>,
    password: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<&'a str>,
    database: Option<&'a str>,
    query: Option<&'a str>,
}

/// Splits a URL exactly as SQLAlchemy's `_parse_url` pattern does:
///
/// ```text
/// name://[user[:password]@][host|[ipv6]][:port][/database][?query]
/// ```
///
/// The user may not contain `:` or `/`, the password may not contain `@`;
/// the pattern backtracks, so `a@b@host` has the user `a@b`.
fn split(text: &str) -> Option<Parts<'_>> {
    let name_len = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '+'))
        .unwrap_or(text.len());
    if name_len == 0 || !text[name_len..].starts_with("://") {
        return None;
    }
    let name = &text[..name_len];
    let mut rest = &text[name_len + 3..];

    // The user: the longest run without `:` or `/`. Either a password and an
    // `@` follow it, or the user ends at the last `@` inside that run.
    let user_run = rest.find([':', '/']).unwrap_or(rest.len());
    let mut username = None;
    let mut password = None;
    if rest[user_run..].starts_with(':') {
        let after_colon = &rest[user_run + 1..];
        if let Some(at) = after_colon.find('@') {
            username = Some(&rest[..user_run]);
            password = Some(&after_colon[..at]);
            rest = &after_colon[at + 1..];
        }
    }
    if username.is_none() {
        if let Some(at) = rest[..user_run].rfind('@') {
            username = Some(&rest[..at]);
            rest = &rest[at + 1..];
        }
    }

    // The host: `[ipv6]` or a run without `/`, `:` or `?`; then an optional port.
    let mut host = None;
    if let Some(inner) = rest.strip_prefix('[') {
        let end = inner.find(['/', '?']).unwrap_or(inner.len());
        // The pattern needs `]` right after a non-empty run of non-`/?`
        // characters; backtracking lets that run stop at any `]` inside it.
        if let Some(close) = inner[..end].rfind(']').filter(|&i| i > 0) {
            host = Some(&inner[..close]);
            rest = &inner[close + 1..];
        }
    }
    if host.is_none() {
        let end = rest.find(['/', ':', '?']).unwrap_or(rest.len());
        if end > 0 {
            host = Some(&rest[..end]);
            rest = &rest[end..];
        }
    }
    let mut port = None;
    if let Some(after) = rest.strip_prefix(':') {
        let end = after.find(['/', '?']).unwrap_or(after.len());
        port = Some(&after[..end]);
        rest = &after[end..];
    }
    let mut database = None;
    if let Some(after) = rest.strip_prefix('/') {
        let end = after.find('?').unwrap_or(after.len());
        database = Some(&after[..end]);
        rest = &after[end..];
    }
    let query = rest.strip_prefix('?');
    Some(Parts {
        name,
        username,
        password,
        host,
        port,
        database,
        query,
    })
}

/// Python's `urllib.parse.unquote`: percent-decoding, invalid UTF-8 replaced.
fn unquote(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Python's `unquote_plus`: `+` is a space, then percent-decoding.
fn unquote_plus(s: &str) -> String {
    unquote(&s.replace('+', " "))
}

/// Python's `quote_plus(s)`: everything but letters, digits and `_.-~`
/// escaped, spaces as `+`.
fn quote_plus(s: &str) -> String {
    s.split(' ')
        .map(|piece| utf8_percent_encode(piece, PY_ALWAYS_SAFE).to_string())
        .collect::<Vec<_>>()
        .join("+")
}
