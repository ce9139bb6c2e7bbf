//! `[aurora] journal = true` for online runs, and `aurora journal`
//! (the rows of `aurora_journal`; see `crate::journal`).

use super::environment::{self, RunContext};
use super::output::Output;
use super::project::Project;
use super::CliError;
use crate::journal::{Journal, Recorder, COLUMNS, HOLDER_COLUMN};

/// Whether `[aurora] journal` is on; an unreadable value is an error.
pub fn enabled(project: &Project) -> Result<bool, CliError> {
    let value = project
        .config
        .section_option("aurora", "journal")
        .map_err(|e| CliError::Failed(e.to_string()))?;
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) => match v.as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" | "" => Ok(false),
            _ => Err(CliError::Failed(format!(
                "[aurora] journal = {v}: expected true or false"
            ))),
        },
    }
}

/// The recorder for an online run when the journal is on; creates the
/// table (committed on its own) before the run.
pub fn recorder(
    project: &Project,
    context: &RunContext,
    conn: &mut dyn crate::db::Connection,
) -> Result<Option<Recorder>, CliError> {
    if !enabled(project)? {
        return Ok(None);
    }
    let journal =
        Journal::for_this_process(context.version_table.schema.clone(), project.lock.enabled);
    journal
        .ensure(conn)
        .map_err(|e| CliError::Crash(format!("creating the aurora_journal table failed: {e}")))?;
    Ok(Some(Recorder::new(journal)))
}

/// After a failed run: the `failed` row. A failure to write it is a warning
/// (the run's own error is the one reported).
pub fn record_failure<E: std::fmt::Display + std::fmt::Debug>(
    recorder: &Recorder,
    steps: &[crate::plan::Step],
    conn: &mut dyn crate::db::Connection,
    error: &crate::db::RunError<E>,
    out: &mut Output,
) {
    use crate::db::RunError;
    let in_step = match error {
        RunError::VersionsMoved { .. } => return,
        RunError::Interrupted { step: None, .. } => return,
        RunError::Statement { .. } | RunError::Render { .. } => true,
        RunError::Interrupted { .. } | RunError::Db(_) => false,
    };
    if let Err(e) = recorder.run_failed(steps, conn, &error.to_string(), in_step) {
        out.warn(&format!(
            "could not write the failed row to aurora_journal: {e}"
        ));
    }
}

/// `aurora journal [--format json]`.
pub fn journal(project: &mut Project, out: &mut Output) -> Result<(), CliError> {
    let command = environment::command_line("journal", false, None, None);
    environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |_project, out, context, conn, _| {
            let conn = conn.ok_or_else(|| {
                CliError::Crash("journal ran without a database connection".into())
            })?;
            let rows = crate::journal::read(conn, context.version_table.schema.as_deref())
                .map_err(|e| CliError::Crash(e.to_string()))?;
            if rows.is_none() && !out.json {
                out.warn("no aurora_journal table here: the journal is off ([aurora] journal = true) or no run wrote to it yet");
            }
            let rows = rows.unwrap_or_default();
            if out.json {
                let names: Vec<&str> = COLUMNS.iter().copied().chain([HOLDER_COLUMN]).collect();
                let list: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let mut object = serde_json::Map::new();
                        for (name, value) in names.iter().zip(&r.values) {
                            let v = match (*name, value) {
                                (_, None) => serde_json::Value::Null,
                                ("id", Some(v)) => v
                                    .parse::<i64>()
                                    .map(serde_json::Value::from)
                                    .unwrap_or_else(|_| serde_json::Value::from(v.as_str())),
                                (_, Some(v)) => serde_json::Value::from(v.as_str()),
                            };
                            object.insert(name.to_string(), v);
                        }
                        serde_json::Value::Object(object)
                    })
                    .collect();
                let doc = serde_json::json!({ "journal": list });
                out.print(&serde_json::to_string_pretty(&doc).unwrap_or_default());
                return Ok(());
            }
            for r in &rows {
                let v = |i: usize| r.values.get(i).cloned().flatten().unwrap_or_default();
                let revision = r.values[2].clone().unwrap_or_else(|| "-".into());
                out.print(&format!(
                    "{:>4}  {}  {:<9} {:<14} {:<8}  {} -> {}  {}@{}  {}",
                    v(0),
                    v(5),
                    v(1),
                    revision,
                    v(7),
                    if v(3).is_empty() {
                        "<base>".into()
                    } else {
                        v(3)
                    },
                    if v(4).is_empty() {
                        "<base>".into()
                    } else {
                        v(4)
                    },
                    v(11),
                    v(12),
                    v(13),
                ));
                if let Some(error) = &r.values[8] {
                    for line in error.lines() {
                        out.print(&format!("      error: {line}"));
                    }
                }
            }
            Ok(())
        },
    )
}
