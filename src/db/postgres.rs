//! PostgreSQL through the `postgres` crate, connected as psycopg2 (libpq)
//! would connect for the same URL: the same defaults from `PG*` environment
//! variables, query parameters taken as libpq connection options, and
//! `sslmode` with libpq's meaning (`prefer` by default).
//!
//! Statements go through the simple-query protocol, as psycopg2 sends a
//! statement without parameters: several `;`-separated statements may run in
//! one `execute`, and DDL needs no preparation.

use std::path::Path;
use std::time::Duration;

use postgres::types::Type;
use postgres::{Client, Config, NoTls, SimpleQueryMessage};

use super::{literal, Connection, DatabaseUrl, DbError, Value};
use crate::sql::Dialect;

pub(super) struct PgConnection {
    client: Client,
    /// The TLS connector, for cancel requests (`None`: plain connection).
    tls: Option<super::tls::TlsConnector>,
}

/// libpq's `sslmode`, reduced to what the connector needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    /// `allow` and `prefer`: TLS when the server offers it, unverified.
    Prefer,
    /// TLS or nothing, certificate not verified.
    Require,
    /// TLS, certificate chain verified, host name not.
    VerifyCa,
    /// TLS, certificate chain and host name verified.
    VerifyFull,
}

/// The query parameters understood as libpq connection options.
const KNOWN_OPTIONS: &[&str] = &[
    "host",
    "port",
    "options",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "connect_timeout",
    "client_encoding",
];

/// libpq options aurora cannot honour; refused rather than ignored, since
/// ignoring them would change what the connection does (client
/// certificates, Kerberos, ...).
const UNSUPPORTED_OPTIONS: &[&str] = &[
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "krbsrvname",
    "gsslib",
    "gssencmode",
    "service",
    "passfile",
    "hostaddr",
    "target_session_attrs",
    "load_balance_hosts",
    "channel_binding",
    "replication",
];

impl PgConnection {
    pub(super) fn open(url: &DatabaseUrl) -> Result<PgConnection, DbError> {
        let connect_error = |message: String| DbError::Connect {
            url: url.masked(),
            message: url.scrub(&message),
        };
        let invalid = |reason: String| DbError::InvalidUrl { reason };

        if let Some((key, _)) = url
            .query
            .iter()
            .find(|(k, _)| !KNOWN_OPTIONS.contains(&k.as_str()))
        {
            if UNSUPPORTED_OPTIONS.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "connection option \"{key}\" is not supported by aurora"
                )));
            }
            return Err(invalid(format!("invalid connection option \"{key}\"")));
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());

        let mut config = Config::new();
        let user = url
            .username
            .clone()
            .or_else(|| env("PGUSER"))
            .or_else(super::os_user_name);
        match user {
            Some(user) => config.user(&user),
            None => {
                return Err(connect_error(
                    "no user name in the URL, PGUSER or the environment".to_string(),
                ))
            }
        };
        let explicit_password = url
            .password()
            .map(str::to_string)
            .or_else(|| env("PGPASSWORD"));
        let dbname = url
            .database
            .clone()
            .filter(|d| !d.is_empty())
            .or_else(|| env("PGDATABASE"));
        if let Some(db) = &dbname {
            config.dbname(db);
        }

        let host = url
            .query_value("host")
            .map(str::to_string)
            .or_else(|| url.host.clone())
            .or_else(|| env("PGHOST"));
        let host = host.unwrap_or_else(|| {
            // libpq as Debian builds it tries this socket directory first.
            if Path::new("/var/run/postgresql").is_dir() {
                "/var/run/postgresql".to_string()
            } else {
                "localhost".to_string()
            }
        });
        if host.starts_with('/') {
            config.host_path(&host);
        } else {
            config.host(&host);
        }
        let port = match url.port {
            Some(port) => port,
            None => match url
                .query_value("port")
                .map(str::to_string)
                .or_else(|| env("PGPORT"))
            {
                Some(p) => p
                    .parse()
                    .map_err(|_| invalid(format!("invalid port number: \"{p}\"")))?,
                None => 5432,
            },
        };
        config.port(port);
        // libpq: the password from the URL or PGPASSWORD, else from the
        // password file (PGPASSFILE, else ~/.pgpass). A socket directory
        // matches the host name `localhost` there.
        let password = explicit_password.or_else(|| {
            let file = env("PGPASSFILE").or_else(|| env("HOME").map(|h| format!("{h}/.pgpass")))?;
            let user = config.get_user().unwrap_or_default().to_string();
            let db = dbname.clone().unwrap_or_else(|| user.clone());
            let host_key = if host.starts_with('/') {
                "localhost"
            } else {
                host.as_str()
            };
            passfile_password(Path::new(&file), host_key, &port.to_string(), &db, &user)
        });
        if let Some(password) = password {
            config.password(password);
        }
        if let Some(options) = url.query_value("options") {
            config.options(options);
        }
        // `application_name` as given (or PGAPPNAME), else `aurora`, so the
        // server's pg_stat_activity tells who is connected.
        let app = url
            .query_value("application_name")
            .map(str::to_string)
            .or_else(|| env("PGAPPNAME"))
            .unwrap_or_else(|| "aurora".to_string());
        config.application_name(&app);
        // libpq waits forever by default; aurora gives up after
        // DEFAULT_CONNECT_TIMEOUT unless connect_timeout (or PGCONNECT_TIMEOUT)
        // says otherwise. As in libpq, 0 means no limit.
        let timeout = url
            .query_value("connect_timeout")
            .map(str::to_string)
            .or_else(|| env("PGCONNECT_TIMEOUT"));
        let secs: u64 = match timeout {
            Some(t) => t.trim().parse().map_err(|_| {
                invalid(format!(
                    "invalid integer value \"{t}\" for connection option \"connect_timeout\""
                ))
            })?,
            None => DEFAULT_CONNECT_TIMEOUT,
        };
        if secs > 0 {
            // libpq uses at least 2 seconds.
            config.connect_timeout(Duration::from_secs(secs.max(2)));
        }

        let sslmode = url
            .query_value("sslmode")
            .map(str::to_string)
            .or_else(|| env("PGSSLMODE"));
        let sslmode = match sslmode.as_deref().unwrap_or("prefer") {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(invalid(format!("invalid sslmode value: \"{other}\""))),
        };

        // libpq ignores sslmode for Unix-domain sockets: no TLS there (there
        // is no host name to verify, and the kernel protects the channel).
        let sslmode = if host.starts_with('/') {
            SslMode::Disable
        } else {
            sslmode
        };
        let mut cancel_tls = None;
        let client = if sslmode == SslMode::Disable {
            config.ssl_mode(postgres::config::SslMode::Disable);
            config.connect(NoTls)
        } else {
            let tls = tls_connector(sslmode, url.query_value("sslrootcert"), client_files(url))
                .map_err(connect_error)?;
            config.ssl_mode(match sslmode {
                SslMode::Prefer => postgres::config::SslMode::Prefer,
                _ => postgres::config::SslMode::Require,
            });
            cancel_tls = Some(tls.clone());
            config.connect(tls)
        };
        let client = client.map_err(|e| connect_error(error_text(&e)))?;
        Ok(PgConnection {
            client,
            tls: cancel_tls,
        })
    }

    fn statement_error(sql: &str, e: postgres::Error) -> DbError {
        DbError::Statement {
            sql: sql.to_string(),
            message: error_text(&e),
        }
    }
}

/// A TLS connector with libpq's verification rules for the mode.
fn tls_connector(
    mode: SslMode,
    rootcert: Option<&str>,
    client: super::tls::ClientFiles<'_>,
) -> Result<super::tls::TlsConnector, String> {
    use super::tls::Verify;
    let verify = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Verify::Nothing,
        SslMode::VerifyCa => Verify::Chain,
        SslMode::VerifyFull => Verify::Full,
    };
    super::tls::connector(verify, rootcert, client)
}

fn client_files(url: &super::url::DatabaseUrl) -> super::tls::ClientFiles<'_> {
    super::tls::ClientFiles {
        cert: url.query_value("sslcert"),
        key: url.query_value("sslkey"),
    }
}

/// The server's own message when there is one (as psycopg2 shows it),
/// else the client library's with its whole chain of causes
/// (`error connecting to server: Connection refused (os error 111)`).
fn error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = db.message().to_string();
            if let Some(detail) = db.detail() {
                text.push_str(&format!("\nDETAIL:  {detail}"));
            }
            text
        }
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                let part = c.to_string();
                if !text.contains(&part) {
                    text.push_str(&format!(": {part}"));
                }
                cause = c.source();
            }
            text
        }
    }
}

/// Seconds to wait for a connection when the URL does not say.
const DEFAULT_CONNECT_TIMEOUT: u64 = 10;

/// The password for host, port, database and user from a libpq password
/// file (`hostname:port:database:username:password`, `*` matching
/// anything, `\` escaping `:` and `\`). As libpq, a file that others can
/// read or write is ignored (with a warning on stderr), and so is one that
/// cannot be read.
fn passfile_password(path: &Path, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(path).ok()?;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = passfile_fields(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

/// Splits a password-file line at unescaped `:`; the fifth field takes the
/// rest of the line.
fn passfile_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().unwrap().push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// Turns one value in PostgreSQL's text format into a [`Value`] by its type.
fn to_value(ty: &Type, text: Option<&str>) -> Value {
    let Some(text) = text else { return Value::Null };
    let parsed = match *ty {
        Type::BOOL => Some(Value::Integer(i64::from(text == "t"))),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => text.parse().ok().map(Value::Integer),
        Type::FLOAT4 | Type::FLOAT8 => text.parse().ok().map(Value::Real),
        Type::BYTEA => text
            .strip_prefix("\\x")
            .and_then(decode_hex)
            .map(Value::Blob),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::Text(text.to_string()))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Connection for PgConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgresql
    }

    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Execute);
        let messages = self
            .client
            .simple_query(sql)
            .map_err(|e| Self::statement_error(sql, e))?;
        // The count of the last statement, as a DB-API cursor's rowcount.
        let count = messages.iter().rev().find_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        });
        Ok(count.unwrap_or(0))
    }

    fn execute_bound(&mut self, sql: &str, params: &[&str]) -> Result<u64, DbError> {
        let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Execute);
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        self.client
            .execute(sql, &params)
            .map_err(|e| Self::statement_error(sql, e))
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Execute);
        // Preparing tells the column types; the simple query then returns the
        // values as text, which every type has.
        let prepared = self
            .client
            .prepare(sql)
            .map_err(|e| Self::statement_error(sql, e))?;
        let types: Vec<Type> = prepared
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let messages = self
            .client
            .simple_query(sql)
            .map_err(|e| Self::statement_error(sql, e))?;
        let mut rows = Vec::new();
        for message in messages {
            if let SimpleQueryMessage::Row(row) = message {
                rows.push(
                    types
                        .iter()
                        .enumerate()
                        .map(|(i, ty)| to_value(ty, row.get(i)))
                        .collect(),
                );
            }
        }
        Ok(rows)
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.client
            .batch_execute("BEGIN")
            .map_err(|e| Self::statement_error("BEGIN", e))
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.client
            .batch_execute("COMMIT")
            .map_err(|e| Self::statement_error("COMMIT", e))
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.client
            .batch_execute("ROLLBACK")
            .map_err(|e| Self::statement_error("ROLLBACK", e))
    }

    /// A cancel request, as psql sends on Ctrl-C: the server ends the
    /// running statement with "canceling statement due to user request".
    fn canceller(&self) -> Option<super::interrupt::Canceller> {
        let token = self.client.cancel_token();
        let tls = self.tls.clone();
        Some(Box::new(move || {
            let _ = match &tls {
                Some(tls) => token.cancel_query(tls.clone()),
                None => token.cancel_query(NoTls),
            };
        }))
    }

    fn table_exists(&mut self, schema: Option<&str>, name: &str) -> Result<bool, DbError> {
        // SQLAlchemy's `has_table`: a table, view, foreign or partitioned
        // table, in the schema or else visible on the search path.
        let place = match schema {
            Some(schema) => format!("n.nspname = {}", literal(schema)),
            None => {
                "pg_catalog.pg_table_is_visible(c.oid) AND n.nspname <> 'pg_catalog'".to_string()
            }
        };
        let sql = format!(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = {} AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {place}",
            literal(name)
        );
        Ok(!self.query(&sql)?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passfile_lines_split_with_escapes() {
        assert_eq!(
            passfile_fields(r"db\:host:5432:*:me:pa\:ss:word"),
            vec!["db:host", "5432", "*", "me", "pa:ss:word"]
        );
    }
}
