//! `upgrade`, `downgrade`, `stamp`, `current`, `ensure_version` on the command
//! line: the run itself (planning, offline rendering, online execution) is
//! [`crate::run`]'s; this module hands it the arguments and `Output`, and
//! prints what `current` finds.

use super::environment::{self, RunContext};
use super::{Catch, CliError, Output, Project};
use crate::run;

pub use crate::run::online::ConnectionReflector;
pub use crate::run::{database_heads, database_heads_and_configuration, lower_context, step_ops};

/// `alembic upgrade`.
pub fn upgrade(
    project: &mut Project,
    out: &mut Output,
    revision: &str,
    sql: bool,
    tag: Option<&str>,
) -> Result<(), CliError> {
    run::upgrade(project, out, revision, sql, tag)
}

/// `alembic downgrade`.
pub fn downgrade(
    project: &mut Project,
    out: &mut Output,
    revision: &str,
    sql: bool,
    tag: Option<&str>,
) -> Result<(), CliError> {
    run::downgrade(project, out, revision, sql, tag)
}

/// `alembic stamp`.
pub fn stamp(
    project: &mut Project,
    out: &mut Output,
    revisions: &[String],
    sql: bool,
    tag: Option<&str>,
    purge: bool,
) -> Result<(), CliError> {
    run::stamp(project, out, revisions, sql, tag, purge)
}

/// `alembic ensure_version`.
pub fn ensure_version(project: &mut Project, out: &mut Output, sql: bool) -> Result<(), CliError> {
    run::ensure_version(project, out, sql)
}

/// `alembic current`.
pub fn current(
    project: &mut Project,
    out: &mut Output,
    verbose: bool,
    check_heads: bool,
) -> Result<(), CliError> {
    let command = environment::command_line("current", false, None, None);
    environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |project, out, context, conn, _| {
            let conn = run::online::online_connection(conn)?;
            run::online::log_context(out, context);
            current_body(project, out, context, conn, verbose, check_heads)
        },
    )
}

fn current_body(
    project: &mut Project,
    out: &mut Output,
    context: &RunContext,
    conn: &mut dyn crate::db::Connection,
    verbose: bool,
    check_heads: bool,
) -> Result<(), CliError> {
    let catch = Catch::default();
    let heads = crate::db::current_heads(conn, &context.version_table)?;
    if verbose && !out.json {
        out.print(&format!(
            "Current revision(s) for {}:",
            context.url.as_ref().map(|u| u.masked()).unwrap_or_default()
        ));
    }
    project.choose_squash_views(&heads)?;
    let map = project.map(&catch)?;
    if check_heads {
        let mut db_heads: Vec<&str> = heads.iter().map(String::as_str).collect();
        let mut script_heads: Vec<&str> = map.heads.iter().map(|&h| map.id(h)).collect();
        db_heads.sort();
        db_heads.dedup();
        script_heads.sort();
        script_heads.dedup();
        if db_heads != script_heads {
            return Err(CliError::failed("Database is not on all head revisions"));
        }
    }
    if out.json {
        super::json::current(out, map, &heads);
        return Ok(());
    }
    let currents = map.all_current(&heads).map_err(|e| catch.word(e))?;
    for rev in currents {
        out.print(&super::format::cmd_format(
            map,
            rev,
            verbose,
            super::format::LineOptions {
                tree_indicators: true,
                ..Default::default()
            },
        ));
    }
    Ok(())
}
