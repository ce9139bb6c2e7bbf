//! The backup an online run takes before its first statement (`--backup`,
//! `[aurora] backup = auto`; `cli/backup.rs` reads the options and lists
//! backups): the SQLite online backup API, or `pg_dump` of the tables the
//! run drops or alters.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Sink;
use crate::db::{Connection, SqliteTarget};
use crate::ops::Op;
use crate::plan::{Direction, Step};
use crate::sql::Dialect;
use crate::Error;

/// Whether a run takes a backup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Backup {
    /// No backup.
    #[default]
    Off,
    /// `[aurora] backup = auto`: before a run with a destructive revision.
    Auto(PathBuf),
    /// `--backup[=DIR]`, or a helper verb that resets: before every run that runs a revision.
    Always(PathBuf),
}

/// The tables an operation drops or rewrites; `Some(vec![])` for a destructive operation on no
/// named table (`DROP TYPE`), `None` for one that only adds.
fn destroys(op: &Op) -> Option<Vec<(Option<String>, String)>> {
    let t = |schema: &Option<String>, table: &str| Some(vec![(schema.clone(), table.to_string())]);
    match op {
        Op::DropTable { name, schema, .. } => t(schema, name),
        Op::DropColumn { table, schema, .. } => t(schema, table),
        Op::AlterColumn(a) => t(&a.schema, &a.table),
        Op::DropConstraint { table, schema, .. } => t(schema, table),
        Op::RenameTable { old, schema, .. } => t(schema, old),
        Op::DropIndex { table, schema, .. } => match table {
            Some(table) => t(schema, table),
            None => Some(Vec::new()),
        },
        Op::Batch(b) => t(&b.schema, &b.table),
        Op::DropEnum { .. } => Some(Vec::new()),
        _ => None,
    }
}

/// Takes the run's backup if it needs one, before its first statement, and prints its path.
pub fn before_run(
    backup: &Backup,
    out: &mut dyn Sink,
    conn: &mut dyn Connection,
    url: &crate::db::DatabaseUrl,
    steps: &[Step],
    lowered: &HashMap<(PathBuf, bool), Vec<Op>>,
) -> Result<(), Error> {
    let (dir, always) = match backup {
        Backup::Off => return Ok(()),
        Backup::Auto(dir) => (dir, false),
        Backup::Always(dir) => (dir, true),
    };
    let mut first: Option<String> = None;
    let mut tables: Vec<(Option<String>, String)> = Vec::new();
    for step in steps {
        let Some(path) = &step.path else { continue };
        if step.direction == Direction::Stamp {
            continue;
        }
        let key = (path.clone(), step.direction == Direction::Upgrade);
        let ops = lowered.get(&key).map(Vec::as_slice).unwrap_or_default();
        let mut destructive = false;
        for op in ops {
            if let Some(found) = destroys(op) {
                destructive = true;
                for t in found {
                    if !tables.contains(&t) {
                        tables.push(t);
                    }
                }
            }
        }
        if destructive || always {
            first.get_or_insert_with(|| step.revision.clone().unwrap_or_default());
        }
    }
    let Some(revision) = first else {
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::failed(format!(
            "could not create the backup directory {}: {e}",
            dir.display()
        ))
    })?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let path = match conn.dialect() {
        Dialect::Sqlite => {
            let Some(SqliteTarget::File(file)) = url.sqlite_target() else {
                return Err(Error::failed(
                    "--backup on SQLite copies the database file; an in-memory database has none",
                ));
            };
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "db".into());
            let dest = dir.join(format!("{stem}-{revision}-{stamp}.sqlite"));
            crate::db::backup::sqlite_copy(&file, &dest).map_err(Error::failed)?;
            dest
        }
        Dialect::Postgresql => {
            let name = url.database.clone().unwrap_or_else(|| "postgres".into());
            let dest = dir.join(format!("{name}-{revision}-{stamp}.dump"));
            pg_dump(url, &tables, &dest)?;
            dest
        }
    };
    out.print(&format!("Backup before {revision}: {}", path.display()));
    Ok(())
}

/// `pg_dump --format=custom [-t table ...] -f DEST`, the password through `PGPASSWORD`.
fn pg_dump(
    url: &crate::db::DatabaseUrl,
    tables: &[(Option<String>, String)],
    dest: &Path,
) -> Result<(), Error> {
    let mut command = std::process::Command::new("pg_dump");
    command.arg("--format=custom").arg("--file").arg(dest);
    if let Some(host) = &url.host {
        command.arg("--host").arg(host);
    }
    if let Some(port) = url.port {
        command.arg("--port").arg(port.to_string());
    }
    if let Some(user) = &url.username {
        command.arg("--username").arg(user);
    }
    if let Some(password) = url.password() {
        command.env("PGPASSWORD", password);
    }
    command.arg("--no-password");
    for (schema, table) in tables {
        let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let name = match schema {
            Some(s) => format!("{}.{}", quoted(s), quoted(table)),
            None => quoted(table),
        };
        command.arg("--table").arg(name);
    }
    command.arg(url.database.as_deref().unwrap_or("postgres"));
    let output = command.output().map_err(|e| {
        Error::failed(format!(
            "--backup on PostgreSQL runs pg_dump, which could not be started ({e}); put \
             pg_dump on PATH (e.g. /usr/lib/postgresql/15/bin) or run without --backup"
        ))
    })?;
    if !output.status.success() {
        return Err(Error::failed(format!(
            "pg_dump failed, so nothing was migrated: {}",
            url.scrub(String::from_utf8_lossy(&output.stderr).trim())
        )));
    }
    Ok(())
}
