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

use std::path::PathBuf;

use super::{CliError, Output, Project};

pub use crate::run::backup::Backup;

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
