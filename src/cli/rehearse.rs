//! `aurora upgrade REV --rehearse`: the real migration against the real database, then
//! discarded.
//!
//! - PostgreSQL: one transaction on the live connection, opened with
//!   `SET LOCAL lock_timeout` (`--rehearse-lock-timeout`, else `[aurora] rehearse_lock_timeout`, else
//!   `5s`). Every revision's statements and version change run in it; after each revision the
//!   locks its backend holds (`pg_locks` of `pg_backend_pid()`, relation and mode) are read.
//!   Then `ROLLBACK`.
//! - SQLite: the same against a copy made with the online backup API
//!   ([`crate::db::backup::sqlite_copy`]) in a temporary directory, removed afterwards; the
//!   original file is only read.
//!
//! For each revision the report gives the time taken, the locks (PostgreSQL), and the rows each
//! data statement (`INSERT`, `UPDATE`, `DELETE`) touched. A revision with an
//! `autocommit_block()` cannot run inside one transaction: it is named, and the rehearsal stops
//! before it, since every later revision may depend on what it does (the report lists those
//! revisions as not rehearsed).

use std::time::Instant;

use super::{CliError, Output, Project};
use crate::db::{Connection, DatabaseUrl, RunStatement, SqliteTarget};
use crate::plan::{self, Step};
use crate::sql::Dialect;

/// What one rehearsed revision did.
struct Rehearsed {
    step: String,
    millis: f64,
    locks: Vec<(String, String)>,
    rows: Vec<(String, u64)>,
}

/// `upgrade REV --rehearse [--rehearse-lock-timeout T]`.
pub fn rehearse(
    project: &mut Project,
    out: &mut Output,
    revision: &str,
    lock_timeout: Option<&str>,
) -> Result<(), CliError> {
    let timeout = match lock_timeout {
        Some(t) => t.to_string(),
        None => project
            .config
            .section_option("aurora", "rehearse_lock_timeout")?
            .unwrap_or_else(|| "5s".to_string()),
    };
    if !timeout
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '.')
    {
        return Err(CliError::failed(format!(
            "--rehearse-lock-timeout {timeout:?} is not a PostgreSQL duration (write e.g. 5s, 500ms or 2min)"
        )));
    }
    let command = super::environment::command_line("upgrade", false, Some(revision), None);
    let mut report = None;
    let mut sqlite = false;
    super::environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |project, _out, context, conn, _hooks| {
            let live = conn
                .ok_or_else(|| CliError::Crash("--rehearse needs a database connection".into()))?;
            let heads = crate::db::current_heads(live, &context.version_table)
                .map_err(|e| CliError::Crash(e.to_string()))?;
            let catch = super::Catch {
                ancestor: Some(
                    "Destination %(end)s is not a valid upgrade target from current head(s)",
                ),
                end: Some(revision),
                ..Default::default()
            };
            project.squash_targets = vec![revision.to_string()];
            project.choose_squash_views(&heads)?;
            let planned = {
                let map = project.map(&catch)?;
                plan::upgrade(map, revision, &heads).map_err(|e| catch.word(e))?
            };
            if let Some(failure) = planned.failure {
                return Err(catch.word(failure));
            }
            report = Some(match live.dialect() {
                Dialect::Postgresql => {
                    live.execute("BEGIN")
                        .map_err(|e| CliError::Crash(e.to_string()))?;
                    let result = live
                        .execute(&format!("SET LOCAL lock_timeout = '{timeout}'"))
                        .map_err(|e| CliError::failed(e.to_string()))
                        .and_then(|_| run(live, context, &planned.steps, heads.is_empty()));
                    live.execute("ROLLBACK").map_err(|e| {
                        CliError::Crash(format!("the rehearsal could not roll back: {e}"))
                    })?;
                    result?
                }
                Dialect::Sqlite => {
                    sqlite = true;
                    let url = context.url.as_ref().ok_or_else(|| {
                        CliError::Crash("--rehearse ran without a database URL".into())
                    })?;
                    let Some(SqliteTarget::File(file)) = url.sqlite_target() else {
                        return Err(CliError::failed(
                            "--rehearse on SQLite copies the database file; an in-memory database has none",
                        ));
                    };
                    let copy = std::env::temp_dir()
                        .join(format!("aurora-rehearsal-{}.sqlite", std::process::id()));
                    let _ = std::fs::remove_file(&copy);
                    crate::db::backup::sqlite_copy(&file, &copy).map_err(CliError::Crash)?;
                    let copy_url = DatabaseUrl::parse(&format!("sqlite:///{}", copy.display()))
                        .map_err(|e| CliError::Crash(e.to_string()))?;
                    let mut scratch = crate::db::connect(&copy_url)
                        .map_err(|e| CliError::Crash(e.to_string()))?;
                    scratch
                        .execute("BEGIN")
                        .map_err(|e| CliError::Crash(e.to_string()))?;
                    let result = run(&mut *scratch, context, &planned.steps, heads.is_empty());
                    let _ = scratch.execute("ROLLBACK");
                    drop(scratch);
                    let _ = std::fs::remove_file(&copy);
                    result?
                }
            });
            Ok(())
        },
    )?;
    let (done, stopped) = report.ok_or_else(|| {
        CliError::Crash("env.py did not call context.run_migrations(), so nothing ran".into())
    })?;
    let how = if sqlite {
        "on a copy of the database made with SQLite's backup API".to_string()
    } else {
        format!("in one transaction with lock_timeout {timeout}")
    };
    print_report(out, &done, &stopped, &how);
    Ok(())
}

/// Where the rehearsal stopped: the revision with an `autocommit_block()` and those after it.
type Stopped = Option<(String, Vec<String>)>;

fn run(
    conn: &mut dyn Connection,
    context: &super::environment::RunContext,
    steps: &[Step],
    create_version_table: bool,
) -> Result<(Vec<Rehearsed>, Stopped), CliError> {
    let db = |e: crate::db::DbError| CliError::Crash(e.to_string());
    if create_version_table {
        crate::db::ensure_version_table(conn, &context.version_table).map_err(db)?;
    }
    let lower = crate::ops::LowerContext {
        offline: false,
        ..context.lower.clone()
    };
    let dialect = conn.dialect();
    let mut done = Vec::new();
    let mut seen_locks: Vec<(String, String)> = Vec::new();
    let mut type_memo = crate::sql::TypeMemo::new();
    for (i, step) in steps.iter().enumerate() {
        let started = Instant::now();
        let ops = if step.direction == plan::Direction::Stamp {
            Vec::new()
        } else {
            super::migrate::step_ops(step, context.engine_name.as_deref(), &lower)?.0
        };
        let statements = {
            let mut reflector = super::migrate::ConnectionReflector(&mut *conn);
            crate::sql::render_ops_with_memo(&ops, dialect, Some(&mut reflector), &mut type_memo)
                .map_err(|e| CliError::Failed(e.to_string()))?
        };
        let statements: Vec<RunStatement> = statements
            .into_iter()
            .map(super::drift::run_statement)
            .collect();
        let name = step.log_line().trim_start_matches("Running ").to_string();
        if statements
            .iter()
            .any(|s| matches!(s, RunStatement::AutocommitBegin))
        {
            let rest = steps[i + 1..]
                .iter()
                .map(|s| s.log_line().trim_start_matches("Running ").to_string())
                .collect();
            return Ok((done, Some((name, rest))));
        }
        let mut rows = Vec::new();
        for statement in &statements {
            if let RunStatement::Sql(sql) = statement {
                let n = conn.execute(sql).map_err(|e| {
                    CliError::Crash(format!(
                        "{name} failed in the rehearsal (rolled back):\n{e}"
                    ))
                })?;
                if is_data_statement(sql) {
                    rows.push((sql.clone(), n));
                }
            }
        }
        for change in &step.version_changes {
            crate::db::apply_version_change(conn, &context.version_table, change).map_err(db)?;
        }
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let locks = if dialect == Dialect::Postgresql {
            let held = current_locks(conn)?;
            let new: Vec<_> = held
                .iter()
                .filter(|l| !seen_locks.contains(l))
                .cloned()
                .collect();
            seen_locks = held;
            new
        } else {
            Vec::new()
        };
        done.push(Rehearsed {
            step: name,
            millis,
            locks,
            rows,
        });
    }
    Ok((done, None))
}

/// `INSERT`, `UPDATE`, `DELETE` (and `WITH ...` / `MERGE`): statements whose row count means
/// rows touched.
fn is_data_statement(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "WITH"
    )
}

/// The relation locks this backend holds, outside the system catalogs, sorted.
fn current_locks(conn: &mut dyn Connection) -> Result<Vec<(String, String)>, CliError> {
    let rows = conn
        .query(
            "SELECT n.nspname || '.' || c.relname, l.mode FROM pg_catalog.pg_locks l \
             JOIN pg_catalog.pg_class c ON c.oid = l.relation \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2",
        )
        .map_err(|e| CliError::Crash(e.to_string()))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let t = |v: &crate::db::Value| v.as_text().unwrap_or_default().to_string();
            (t(&r[0]), t(&r[1]))
        })
        .collect())
}

fn print_report(out: &mut Output, done: &[Rehearsed], stopped: &Stopped, how: &str) {
    out.print(&format!(
        "Rehearsal {how}; everything below was rolled back:"
    ));
    if done.is_empty() && stopped.is_none() {
        out.print("  nothing to upgrade");
    }
    for r in done {
        out.print(&format!("  {}  {:.1} ms", r.step, r.millis));
        for (relation, mode) in &r.locks {
            out.print(&format!("    lock {mode} on {relation}"));
        }
        for (sql, n) in &r.rows {
            let first = sql.lines().next().unwrap_or_default();
            out.print(&format!("    {n} row(s): {first}"));
        }
    }
    if let Some((step, rest)) = stopped {
        out.print(&format!(
            "  {step}: NOT REHEARSED: it has an autocommit_block(), which commits and cannot be \
             rolled back; the rehearsal stops here"
        ));
        for later in rest {
            out.print(&format!("  {later}: not rehearsed (comes after it)"));
        }
    }
}
