//! The audit journal of an online run (`[aurora] journal = true`; see
//! `crate::journal`): whether it is on, its recorder, the `failed` row.

use super::environment::RunContext;
use super::project::Project;
use super::Sink;
use crate::journal::{Journal, Recorder};
use crate::Error;

/// Whether `[aurora] journal` is on; an unreadable value is an error.
pub fn enabled(project: &Project) -> Result<bool, Error> {
    let value = project
        .config
        .section_option("aurora", "journal")
        .map_err(|e| Error::Failed(e.to_string()))?;
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) => match v.as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" | "" => Ok(false),
            _ => Err(Error::Failed(format!(
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
) -> Result<Option<Recorder>, Error> {
    if !enabled(project)? {
        return Ok(None);
    }
    let journal =
        Journal::for_this_process(context.version_table.schema.clone(), project.lock.enabled);
    journal
        .ensure(conn)
        .map_err(|e| Error::Crash(format!("creating the aurora_journal table failed: {e}")))?;
    Ok(Some(Recorder::new(journal)))
}

/// After a failed run: the `failed` row. A failure to write it is a warning
/// (the run's own error is the one reported).
pub fn record_failure<E: std::fmt::Display + std::fmt::Debug>(
    recorder: &Recorder,
    steps: &[crate::plan::Step],
    conn: &mut dyn crate::db::Connection,
    error: &crate::db::RunError<E>,
    out: &mut dyn Sink,
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
