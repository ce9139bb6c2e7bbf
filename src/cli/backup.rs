//! Backups before destructive steps: `upgrade`, `downgrade` and `reset` take `--backup[=DIR]`,
//! and `[aurora] backup = auto` takes one before a run with a revision that drops or rewrites
//! something (`drop_table`, `drop_column`, `alter_column`, `drop_constraint`, `drop_index`,
//! a batch block, `rename_table`, `DROP TYPE`). `reset` and `downgrade-to base` take one by default.
//!
//! One backup is taken per run, before its first statement, named after the first revision that
//! makes it necessary (the state before that revision is the state before the run, since the
//! revisions before it only add):
//!
//! - SQLite: the online backup API into `DIR/<db>-<rev>-<UTC timestamp>.sqlite`;
//! - PostgreSQL: `pg_dump --format=custom` of the tables the run's revisions drop or alter (the
//!   whole database when `--backup` was asked for a run that alters none) into
//!   `DIR/<db>-<rev>-<UTC timestamp>.dump`; without `pg_dump` on PATH the run is refused.
//!
//! `DIR` defaults to `[aurora] backup_dir`, else `backups` beside the configuration file's
//! working directory. `aurora backups` lists what is there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{CliError, Output, Project};
use crate::db::{Connection, SqliteTarget};
use crate::ops::Op;
use crate::plan::{Direction, Step};
use crate::sql::Dialect;

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

/// The directory backups go to: `--backup=DIR`, `[aurora] backup_dir`, or `./backups`.
pub fn directory(project: &Project, given: Option<&str>) -> Result<PathBuf, CliError> {
    let dir = match given {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => match project.config.section_option("aurora", "backup_dir")? {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from("backups"),
        },
    };
    Ok(if dir.is_absolute() {
        dir
    } else {
        project.cwd.join(dir)
    })
}

/// The run's backup: `--backup[=DIR]` (`given`), a helper verb that resets (`by_default`), or
/// `[aurora] backup`.
pub fn requested(
    project: &Project,
    given: Option<&str>,
    by_default: bool,
) -> Result<Backup, CliError> {
    if given.is_some() || by_default {
        return Ok(Backup::Always(directory(project, given)?));
    }
    configured(project)
}

/// What `[aurora] backup` asks for when no `--backup` is given.
pub fn configured(project: &Project) -> Result<Backup, CliError> {
    match project
        .config
        .section_option("aurora", "backup")?
        .as_deref()
    {
        None | Some("off") | Some("") => Ok(Backup::Off),
        Some("auto") => Ok(Backup::Auto(directory(project, None)?)),
        Some(other) => Err(CliError::failed(format!(
            "[aurora] backup = {other}: write auto (a backup before revisions that drop or rewrite \
             something) or off"
        ))),
    }
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
    out: &mut Output,
    conn: &mut dyn Connection,
    url: &crate::db::DatabaseUrl,
    steps: &[Step],
    lowered: &HashMap<(PathBuf, bool), Vec<Op>>,
) -> Result<(), CliError> {
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
        CliError::failed(format!(
            "could not create the backup directory {}: {e}",
            dir.display()
        ))
    })?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let path = match conn.dialect() {
        Dialect::Sqlite => {
            let Some(SqliteTarget::File(file)) = url.sqlite_target() else {
                return Err(CliError::failed(
                    "--backup on SQLite copies the database file; an in-memory database has none",
                ));
            };
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "db".into());
            let dest = dir.join(format!("{stem}-{revision}-{stamp}.sqlite"));
            crate::db::backup::sqlite_copy(&file, &dest).map_err(CliError::failed)?;
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
) -> Result<(), CliError> {
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
        CliError::failed(format!(
            "--backup on PostgreSQL runs pg_dump, which could not be started ({e}); put \
             pg_dump on PATH (e.g. /usr/lib/postgresql/15/bin) or run without --backup"
        ))
    })?;
    if !output.status.success() {
        return Err(CliError::failed(format!(
            "pg_dump failed, so nothing was migrated: {}",
            url.scrub(String::from_utf8_lossy(&output.stderr).trim())
        )));
    }
    Ok(())
}

/// `aurora backups`: the backups in the backup directory, oldest first.
pub fn list(project: &mut Project, out: &mut Output, dir: Option<&str>) -> Result<(), CliError> {
    let dir = directory(project, dir)?;
    let mut found: Vec<(String, u64)> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.ends_with(".sqlite") || n.ends_with(".dump")
            })
            .map(|e| {
                (
                    e.path().display().to_string(),
                    e.metadata().map(|m| m.len()).unwrap_or(0),
                )
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(CliError::failed(format!(
                "could not read {}: {e}",
                dir.display()
            )))
        }
    };
    // The names end in their UTC timestamp; sort by it, then by name.
    found.sort_by(|a, b| {
        let stamp = |p: &str| p.rsplit('-').next().unwrap_or_default().to_string();
        stamp(&a.0).cmp(&stamp(&b.0)).then(a.0.cmp(&b.0))
    });
    if found.is_empty() {
        out.print(&format!("No backups in {}", dir.display()));
    }
    for (path, size) in found {
        out.print(&format!("{path}  {size} bytes"));
    }
    Ok(())
}
