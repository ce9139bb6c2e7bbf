//! One command across many databases (`aurora fleet FILE COMMAND...`).
//!
//! Each target runs in a child `aurora` process (the same binary, the
//! same `-c`/`-n` options, in the same directory) with the target given
//! through the escape hatch's environment: `AURORA_URL`, and
//! `AURORA_VERSION_TABLE_SCHEMA` for `schema=NAME` targets. A child
//! process per target keeps the targets isolated (each has its own
//! connection, its own migration lock, its own interpreter state and its own
//! signal handling, and a crash in one is that target's failure) at the cost
//! of one process start per target; env.py is not run for a target (the
//! escape hatch replaces it). Before and after the command the version rows
//! are read in-process to report `from` and `to`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::db::{DatabaseUrl, DbError};
use crate::sql::version::VersionTable;

/// One database (or one schema of one) to run the command on.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub url: DatabaseUrl,
    /// `schema=NAME`: the version table's schema.
    pub schema: Option<String>,
}

impl Target {
    /// How the target is shown: the masked URL, and `schema=NAME`.
    pub fn label(&self) -> String {
        match &self.schema {
            Some(s) => format!("{} schema={s}", self.url.masked()),
            None => self.url.masked(),
        }
    }
}

/// A line of a targets file that is not a target.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct TargetError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Reads targets, one a line: a database URL, or `schema=NAME` against
/// `base` (`--url`). Blank lines and `#` comments are skipped.
pub fn parse_targets(
    file: &str,
    text: &str,
    base: Option<&DatabaseUrl>,
) -> Result<Vec<Target>, TargetError> {
    let mut targets = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        let column = raw.len() - raw.trim_start().len() + 1;
        let err = |message: String| TargetError {
            file: file.to_string(),
            line: i + 1,
            column,
            message,
        };
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix("schema=") {
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(err(format!(
                    "schema={name}: a schema name is letters, digits and _"
                )));
            }
            let Some(base) = base else {
                return Err(err(format!(
                    "schema={name} needs the database URL: pass --url URL"
                )));
            };
            if base.query_value("options").is_some() {
                return Err(err(format!(
                    "schema={name}: --url has options=...; aurora sets options=-csearch_path={name} \
                     for a schema target, so drop options from --url"
                )));
            }
            targets.push(Target {
                url: base.clone(),
                schema: Some(name.to_string()),
            });
            continue;
        }
        let url = DatabaseUrl::parse(trimmed)
            .map_err(|e| err(format!("not a database URL or schema=NAME line: {e}")))?;
        targets.push(Target { url, schema: None });
    }
    Ok(targets)
}

/// Targets from a catalog query: each row's first column is a targets-file line.
pub fn targets_from_sql(
    catalog: &DatabaseUrl,
    sql: &str,
    base: Option<&DatabaseUrl>,
) -> Result<Vec<Target>, String> {
    let mut conn = crate::db::connect(catalog).map_err(|e| e.to_string())?;
    let rows = conn.query(sql).map_err(|e| e.to_string())?;
    let lines: Vec<String> = rows
        .into_iter()
        .map(|r| match r.into_iter().next() {
            Some(crate::db::Value::Text(t)) => Ok(t),
            other => Err(format!(
                "--targets-from-sql: each row's first column must be text, got {other:?}"
            )),
        })
        .collect::<Result<_, _>>()?;
    parse_targets("--targets-from-sql", &lines.join("\n"), base).map_err(|e| e.to_string())
}

/// What the fleet runs and how.
#[derive(Debug, Clone)]
pub struct Plan {
    pub binary: PathBuf,
    /// Options before the command (`-c`, `-n`, `-x`, `--no-lock`, ...).
    pub global_args: Vec<String>,
    pub command: Vec<String>,
    pub jobs: usize,
    pub fail_fast: bool,
    /// Skip targets whose version rows already equal this set.
    pub resume_goal: Option<Vec<String>>,
}

/// One target's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub target: String,
    pub from: Result<Vec<String>, String>,
    pub to: Result<Vec<String>, String>,
    /// `ok`, `failed`, `skipped` (already at the goal) or `not run` (--fail-fast).
    pub outcome: &'static str,
    pub exit_code: Option<i32>,
    /// The child's stderr (its last lines tell why it failed), passwords masked.
    pub stderr: String,
    pub stdout: String,
    pub elapsed: Duration,
}

/// The version rows of a target (empty when there is no version table).
pub fn heads(target: &Target) -> Result<Vec<String>, DbError> {
    let mut conn = crate::db::connect(&target.url)?;
    let table = VersionTable {
        schema: target.schema.clone(),
        ..VersionTable::default()
    };
    if !conn.table_exists(table.schema.as_deref(), &table.name)? {
        return Ok(Vec::new());
    }
    let mut heads = crate::db::current_heads(&mut *conn, &table)?;
    heads.sort();
    Ok(heads)
}

/// Replaces every target's password in `text` by `***`.
fn mask(text: &str, target: &Target) -> String {
    let plain = target.url.render(false);
    text.replace(&plain, &target.url.masked())
}

/// The URL a target's run gets: a `schema=NAME` target on PostgreSQL also
/// sets `search_path` to its schema (libpq `options=-csearch_path=NAME`), so
/// the revisions' tables land in the tenant's schema beside its version table.
fn child_url(target: &Target) -> String {
    let plain = target.url.render(false);
    match (&target.schema, target.url.dialect()) {
        (Some(schema), crate::sql::Dialect::Postgresql) => {
            let sep = if plain.contains('?') { '&' } else { '?' };
            format!("{plain}{sep}options=-csearch_path%3D{schema}")
        }
        _ => plain,
    }
}

/// Runs one target.
pub fn run_one(plan: &Plan, target: &Target) -> Outcome {
    let started = Instant::now();
    let from = heads(target).map_err(|e| mask(&e.to_string(), target));
    if let (Some(goal), Ok(from)) = (&plan.resume_goal, &from) {
        if from == goal {
            return Outcome {
                target: target.label(),
                to: Ok(from.clone()),
                from: Ok(from.clone()),
                outcome: "skipped",
                exit_code: None,
                stderr: String::new(),
                stdout: String::new(),
                elapsed: started.elapsed(),
            };
        }
    }
    let mut command = Command::new(&plan.binary);
    command
        .args(&plan.global_args)
        .args(&plan.command)
        .env("AURORA_URL", child_url(target))
        .stdin(Stdio::null());
    match &target.schema {
        Some(s) => command.env("AURORA_VERSION_TABLE_SCHEMA", s),
        None => command.env_remove("AURORA_VERSION_TABLE_SCHEMA"),
    };
    let (exit_code, stdout, stderr) = match command.output() {
        Ok(o) => (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (
            None,
            String::new(),
            format!("cannot start {}: {e}", plan.binary.display()),
        ),
    };
    let to = heads(target).map_err(|e| mask(&e.to_string(), target));
    Outcome {
        target: target.label(),
        from,
        to,
        outcome: if exit_code == Some(0) { "ok" } else { "failed" },
        exit_code,
        stderr: mask(&stderr, target),
        stdout: mask(&stdout, target),
        elapsed: started.elapsed(),
    }
}

/// Runs every target, at most `plan.jobs` at a time, in targets order in
/// the result. `progress` is called after each target (done, total, outcome).
pub fn run(
    plan: &Plan,
    targets: &[Target],
    progress: &(dyn Fn(usize, usize, &Outcome) + Sync),
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; targets.len()]);
    std::thread::scope(|scope| {
        for _ in 0..plan.jobs.max(1).min(targets.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= targets.len() {
                    break;
                }
                let outcome = if stop.load(Ordering::SeqCst) {
                    Outcome {
                        target: targets[i].label(),
                        from: Err("not run".into()),
                        to: Err("not run".into()),
                        outcome: "not run",
                        exit_code: None,
                        stderr: String::new(),
                        stdout: String::new(),
                        elapsed: Duration::ZERO,
                    }
                } else {
                    run_one(plan, &targets[i])
                };
                if outcome.outcome == "failed" && plan.fail_fast {
                    stop.store(true, Ordering::SeqCst);
                }
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                progress(n, targets.len(), &outcome);
                results.lock().unwrap()[i] = Some(outcome);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|o| o.expect("every target ran"))
        .collect()
}
