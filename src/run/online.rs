//! Online runs: env.py's connection, the migration lock, every body lowered
//! before the first statement, each revision and its version change in one
//! transaction (`crate::db::run_online_with_hook`), the backup and the
//! journal around it; and the version table reads of `current`-like commands.

use super::environment::{self, CommandLine, Hooks, RunContext};
use super::offline::OfflineWriter;
use super::{render_failure, step_ops, PlanSteps, Project, Sink, MIGRATION_LOGGER};
use crate::error::Catch;
use crate::plan::{self, Step};
use crate::sql::{Dialect, Statement};
use crate::Error;

/// `alembic ensure_version`.
pub fn ensure_version(project: &mut Project, out: &mut dyn Sink, sql: bool) -> Result<(), Error> {
    let command = environment::command_line("ensure_version", sql, None, None);
    environment::with_environment(
        project,
        out,
        sql,
        command,
        &mut |_, out, context, conn, _| {
            if sql {
                let create = context.version_table.create_sql();
                let mut writer = OfflineWriter::new(out, context);
                writer.statement(&create);
                return Ok(());
            }
            let conn = online_connection(conn)?;
            log_context(out, context);
            crate::db::ensure_version_table(conn, &context.version_table).map_err(db_failure)?;
            Ok(())
        },
    )
}

/// The revisions recorded in the database's version table (never creates it).
/// Like Alembic's environment for `show current` and `history -i`, a missing
/// table is created (only `current` leaves the database untouched).
pub fn database_heads(project: &mut Project, out: &mut dyn Sink) -> Result<Vec<String>, Error> {
    database_heads_and_configuration(project, out).map(|(heads, _)| heads)
}

/// [`database_heads`], with what env.py passed to `context.configure()` (the last call).
pub fn database_heads_and_configuration(
    project: &mut Project,
    out: &mut dyn Sink,
) -> Result<(Vec<String>, Option<crate::env::Configured>), Error> {
    let mut found = Vec::new();
    let mut configured = None;
    let command = environment::command_line("heads", false, None, None);
    environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |project, out, context, conn, hooks| {
            configured = hooks.configured.clone();
            let conn = online_connection(conn)?;
            log_context(out, context);
            let heads =
                crate::db::current_heads(conn, &context.version_table).map_err(db_failure)?;
            project.choose_squash_views(&heads)?;
            if heads.is_empty() {
                crate::db::ensure_version_table(conn, &context.version_table)
                    .map_err(db_failure)?;
            }
            found = heads;
            Ok(())
        },
    )?;
    Ok((found, configured))
}

/// The connection of an online run.
pub fn online_connection(
    conn: Option<&mut dyn crate::db::Connection>,
) -> Result<&mut dyn crate::db::Connection, Error> {
    conn.ok_or_else(|| Error::Crash("an online command ran without a database connection".into()))
}

/// Logs Alembic's context lines.
pub fn log_context(out: &mut dyn Sink, context: &RunContext) {
    for line in crate::db::context_log_lines(context.dialect) {
        out.log(MIGRATION_LOGGER, &line);
    }
}

/// Database errors under Alembic's rules (see [`Error::Database`]).
fn db_failure(error: crate::db::DbError) -> Error {
    Error::from(error)
}

/// Lets the SQL renderer read the live schema through a connection (SQLite batch mode).
pub struct ConnectionReflector<'a>(pub &'a mut dyn crate::db::Connection);

impl crate::sql::Reflector for ConnectionReflector<'_> {
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<crate::sql::Value>>, String> {
        self.0.query(sql).map_err(|e| e.to_string())
    }

    fn reflect_table(
        &mut self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<crate::ops::Table, String> {
        crate::db::reflect::reflect_table(&mut *self.0, schema, table)
            .map(|r| r.table)
            .map_err(|e| e.to_string())
    }
}

/// Reads and parses every revision file before an online run connects: a
/// file that is not valid Python stops the run before the database is
/// opened (Alembic connects, creates `alembic_version`, and only then loads
/// the scripts). Errors of the map itself (a missing down revision, a cycle)
/// are still raised where Alembic raises them, after connecting.
fn parse_scripts_before_connecting(project: &mut Project) -> Result<(), Error> {
    project.try_map()?.map(|_| ()).or(Ok(()))
}

/// Runs planned steps against the database: each revision's body and its
/// version-table change in one transaction, under the migration lock
/// (`crate::db::acquire_lock`), with SIGINT/SIGTERM cancelling the running
/// statement and rolling back the open revision.
pub fn online_run(
    project: &mut Project,
    out: &mut dyn Sink,
    command: CommandLine,
    plan_steps: &PlanSteps<'_>,
    purge: bool,
    replannable: bool,
) -> Result<(), Error> {
    parse_scripts_before_connecting(project)?;
    environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |project, out, context, conn, hooks| {
            online_body(
                project,
                out,
                context,
                online_connection(conn)?,
                hooks,
                plan_steps,
                purge,
                replannable,
            )
        },
    )
}

fn online_body(
    project: &mut Project,
    out: &mut dyn Sink,
    context: &RunContext,
    conn: &mut dyn crate::db::Connection,
    hooks: &mut Hooks<'_, '_>,
    plan_steps: &PlanSteps<'_>,
    purge: bool,
    replannable: bool,
) -> Result<(), Error> {
    // Alembic logs these when env.py configures the context, before it
    // reads the version rows and plans: a planning error comes after them.
    log_context(out, context);
    if crate::db::interrupt::install() {
        crate::db::interrupt::set_canceller(conn.canceller());
    }
    let url = context
        .url
        .as_ref()
        .ok_or_else(|| Error::Crash("an online command ran without a database URL".into()))?;
    let lock = crate::db::acquire_lock(
        &mut *conn,
        url,
        &context.version_table,
        &project.lock,
        &mut |line| out.notice(line),
    )
    .map_err(db_failure)?;
    // SQLite re-reads the version rows in each step's `BEGIN IMMEDIATE` with or
    // without the lock: a runner started beside another under `--no-lock`
    // replans instead of running a step the other one applied.
    let recheck = context.dialect == Dialect::Sqlite;
    let mut result = Err(Error::Crash(String::new()));
    // A plan made from rows another writer moved before its first step is
    // made again from the new rows (a relative target is not: it would
    // mean something else now).
    for _attempt in 0..100 {
        let mut moved = false;
        result = online_run_locked(
            project, out, context, &mut *conn, hooks, plan_steps, purge, recheck, &mut moved,
        );
        if !(moved && replannable) {
            break;
        }
    }
    lock.release(&mut *conn);
    result
}

/// One planning and run, under the lock. `moved` is set when another
/// writer changed the version rows before a step (nothing of that step ran).
fn online_run_locked(
    project: &mut Project,
    out: &mut dyn Sink,
    context: &RunContext,
    conn: &mut dyn crate::db::Connection,
    hooks: &mut Hooks<'_, '_>,
    plan_steps: &PlanSteps<'_>,
    purge: bool,
    recheck: bool,
    moved: &mut bool,
) -> Result<(), Error> {
    let catch = Catch::default();
    let heads = if purge {
        Vec::new()
    } else {
        crate::db::current_heads(&mut *conn, &context.version_table).map_err(db_failure)?
    };
    // Alembic creates a missing version table before planning; without
    // transactional DDL (SQLite) that creation is committed at once and
    // survives a planning error. Aurora creates it only once the plan is made
    // and every body it runs is lowered, so a revision file aurora cannot
    // run leaves the database untouched (the files were parsed before
    // connecting, see `parse_scripts_before_connecting`).
    let create_version_table = (heads.is_empty() || purge) && !context.transactional_ddl;
    let ensure_version_table = |conn: &mut dyn crate::db::Connection| {
        if create_version_table {
            crate::db::ensure_version_table(conn, &context.version_table).map_err(db_failure)?;
        }
        Ok::<(), Error>(())
    };
    let planned = project
        .choose_squash_views(&heads)
        .and_then(|()| project.map(&catch).and_then(|map| plan_steps(map, &heads)));
    let plan = match planned {
        Ok(plan) => plan,
        Err(error) => {
            ensure_version_table(&mut *conn)?;
            return Err(error);
        }
    };
    for warning in &plan.warnings {
        out.python_warning("UserWarning", warning);
    }
    // Top-level statements of a revision file that call through `op` run
    // when Alembic imports the file inside the migration context; online,
    // aurora does not run what they do: refused before anything is executed.
    let import_lower = crate::ops::LowerContext {
        offline: false,
        ..context.lower.clone()
    };
    if let Some((path, _, at)) = super::import_effect_ops(project, &import_lower)?
        .into_iter()
        .find(|(_, ops, _)| !ops.is_empty())
    {
        let (line, col) = at.unwrap_or((1, 1));
        return Err(Error::Failed(format!(
            "{}:{line}:{col}: a top-level statement of this revision file runs operations \
             when Alembic imports the file inside every migration run; aurora writes them \
             only with --sql (move it into upgrade(), or run this project online with Alembic)",
            path.display()
        )));
    }
    // A step whose version change cannot be made is not run at all: aurora
    // never leaves a revision's body applied without its version row.
    let runnable = if plan.failure.is_some() {
        plan.steps.len() - 1
    } else {
        plan.steps.len()
    };
    let steps = &plan.steps[..runnable];
    let lower = crate::ops::LowerContext {
        offline: false,
        ..context.lower.clone()
    };
    // Validate first: every body the run will execute is read and lowered
    // to operations before the first statement, so a bad file means
    // nothing is applied.
    let mut lowered: std::collections::HashMap<(std::path::PathBuf, bool), Vec<crate::ops::Op>> =
        std::collections::HashMap::new();
    for step in steps {
        if step.direction == plan::Direction::Stamp {
            continue;
        }
        if let Some(path) = &step.path {
            let key = (path.clone(), step.direction == plan::Direction::Upgrade);
            if let std::collections::hash_map::Entry::Vacant(slot) = lowered.entry(key) {
                slot.insert(step_ops(step, context.engine_name.as_deref(), &lower)?.0);
            }
        }
    }
    ensure_version_table(&mut *conn)?;
    if let Some(url) = &context.url {
        super::backup::before_run(&project.backup, out, &mut *conn, url, steps, &lowered)?;
    }
    let options = crate::db::RunOptions {
        transaction_per_migration: context.transaction_per_migration,
        purge,
        recheck_heads: recheck.then(|| heads.clone()),
        context_logged: true,
    };
    let dialect = context.dialect;
    // One memo of created named types for the run, as Alembic's impl is one
    // DDL runner for all its migrations.
    let mut type_memo = crate::sql::TypeMemo::new();
    let mut render = |step: &Step,
                      conn: &mut dyn crate::db::Connection|
     -> Result<Vec<crate::db::RunStatement>, Error> {
        let key = step
            .path
            .clone()
            .map(|p| (p, step.direction == plan::Direction::Upgrade));
        let ops = match key.and_then(|k| lowered.remove(&k)) {
            Some(ops) => ops,
            None => step_ops(step, context.engine_name.as_deref(), &lower)?.0,
        };
        let mut reflector = ConnectionReflector(conn);
        let statements =
            crate::sql::render_ops_with_memo(&ops, dialect, Some(&mut reflector), &mut type_memo)
                .map_err(|e| render_failure(e).1)?;
        Ok(statements.into_iter().map(run_statement).collect())
    };
    // A long run on a terminal also shows a progress bar under the log lines.
    let show_progress = out.wants_progress() && steps.len() >= 20;
    let total = steps.len();
    let mut done = 0usize;
    let journal = super::journal::recorder(project, context, conn)?;
    let mut log = |event: crate::db::RunOutput<'_>| {
        let line = match event {
            crate::db::RunOutput::Migration(line) => line,
            crate::db::RunOutput::Print(text) => return out.python_print(text),
            crate::db::RunOutput::Log {
                logger,
                level,
                message,
            } => return out.log_at(logger, level, message),
        };
        out.log(MIGRATION_LOGGER, line);
        if let (Some(j), true) = (&journal, line.starts_with("Running ")) {
            j.step_started();
        }
        if show_progress && line.starts_with("Running ") {
            out.progress(done, total);
            done += 1;
        }
    };
    let version_table = &context.version_table;
    let mut after_step = |step: &Step, conn: &mut dyn crate::db::Connection| {
        if let Some(j) = &journal {
            j.step_done(step, conn).map_err(db_failure)?;
        }
        hooks.version_applied(step, conn, version_table)
    };
    let result = crate::db::run_online_with_hook(
        &mut *conn,
        &context.version_table,
        steps,
        &options,
        &mut render,
        &mut log,
        &mut after_step,
    );
    if let (Some(j), Err(e)) = (&journal, &result) {
        super::journal::record_failure(j, steps, conn, e, out);
    }
    match result {
        Ok(()) => match plan.failure {
            Some(failure) => Err(catch.word(failure)),
            None => Ok(()),
        },
        Err(crate::db::RunError::Render { error, .. }) => Err(error),
        Err(crate::db::RunError::Statement {
            step,
            error,
            partly_committed,
            ..
        }) => Err(Error::Crash(if partly_committed {
            format!(
                "{step} failed; what its autocommit_block() committed stays, the rest of it was rolled back \
                 and the version table still shows the revision before it:\n{error}"
            )
        } else {
            format!(
                "{step} failed and was rolled back; the database is as it was before this revision:\n{error}"
            )
        })),
        Err(crate::db::RunError::Interrupted {
            signal,
            step,
            single_transaction,
        }) => {
            let name = crate::db::interrupt::signal_name(signal);
            let message = match (step, single_transaction) {
                (_, true) => format!(
                    "interrupted by {name}; the run was one transaction and was rolled back: \
                     the database is as it was before it"
                ),
                (Some(step), false) => format!(
                    "interrupted by {name} during {step}; that revision was rolled back, \
                     the revisions before it stay applied"
                ),
                (None, false) => format!(
                    "interrupted by {name} between revisions; the revisions applied so far stay applied"
                ),
            };
            Err(Error::Interrupted { signal, message })
        }
        Err(error @ crate::db::RunError::VersionsMoved { .. }) => {
            *moved = true;
            Err(Error::Failed(format!(
            "{error}; another migration run (or a tool that takes no lock) wrote it. Run the command again"
        )))
        }
        Err(crate::db::RunError::Db(error)) => Err(db_failure(error)),
    }
}

/// A rendered statement as the runner takes it.
pub fn run_statement(s: Statement) -> crate::db::RunStatement {
    use crate::db::RunStatement as Run;
    match s {
        Statement::Sql(sql) | Statement::NamedType { sql, .. } => Run::Sql(sql),
        Statement::AutocommitBegin => Run::AutocommitBegin,
        Statement::AutocommitEnd => Run::AutocommitEnd,
        Statement::Print(text) => Run::Print(text),
        Statement::Log {
            logger,
            level,
            message,
        } => Run::Log {
            logger,
            level,
            message,
        },
    }
}
