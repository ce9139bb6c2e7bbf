//! The run: planning an `upgrade`, `downgrade` or `stamp` with [`crate::plan`],
//! then rendering its SQL offline (`--sql`, [`offline`]) or executing it
//! online ([`online`]), with env.py run for the command ([`environment`]) on
//! the command's [`Project`]. It prints nothing itself: what a run shows goes
//! to the [`Sink`] the command line passes in (`cli::Output`), and its
//! failures are [`crate::Error`]s.

pub mod backup;
pub mod environment;
pub mod journal;
pub mod offline;
pub mod online;
pub mod project;

pub use environment::{CommandLine, Hooks, RunContext};
pub use online::{database_heads, database_heads_and_configuration, ensure_version};
pub use project::{Options, Project};

use crate::error::Catch;
use crate::plan::{self, Step};
use crate::sql::{Dialect, Statement};
use crate::Error;

/// The logger of Alembic's migration context.
pub const MIGRATION_LOGGER: &str = "alembic.runtime.migration";

/// A receiver of offline SQL text (env.py's `output_buffer`).
pub type SqlSink = dyn FnMut(&str);

/// Where a run's output goes; the command line's `Output` owns every byte.
pub trait Sink {
    /// Alembic's `Config.print_stdout`: the text and a newline, unless `-q`.
    fn print(&mut self, text: &str);
    /// SQL written in offline mode (`--sql`): never silenced.
    fn sql(&mut self, text: &str);
    /// Text the project's Python printed (env.py, or a revision online).
    fn python_print(&mut self, text: &str);
    /// Sends offline SQL to `sink` (or back to stdout with `None`).
    fn redirect_sql(&mut self, sink: Option<Box<SqlSink>>);
    /// One record of `level` on `logger`, through the logging configuration.
    fn log_at(&mut self, logger: &str, level: u32, message: &str);
    /// An INFO record of `logger`.
    fn log(&mut self, logger: &str, message: &str) {
        self.log_at(logger, crate::logging::INFO, message)
    }
    /// A Python warning Alembic emits (`warnings.warn`).
    fn python_warning(&mut self, category: &str, message: &str);
    /// A warning of aurora's own.
    fn warn(&mut self, message: &str);
    /// A line of aurora's own about the run (waiting for the migration lock).
    fn notice(&mut self, line: &str);
    /// Whether a progress bar makes sense.
    fn wants_progress(&self) -> bool;
    /// Draws the progress of a long run.
    fn progress(&mut self, done: usize, total: usize);
}

/// What lowering a revision may consult besides its file: the project's
/// module search path, the ini's main section, the configured dialect.
pub fn lower_context(
    project: &mut Project,
    dialect: Dialect,
) -> Result<crate::ops::LowerContext, Error> {
    Ok(crate::ops::LowerContext {
        path: Default::default(),
        dialect: match dialect {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgresql => "postgresql",
        }
        .to_string(),
        search_path: project.script_directory()?.module_path.clone(),
        offline: true,
        main_options: project
            .config
            .section_keys(&project.config.section.clone())
            .into_iter()
            .filter_map(|k| Some((k.clone(), project.config.main_option(&k).ok()??)))
            .collect(),
        naming_convention: None,
        compile_hooks: project.compile_hooks.clone(),
    })
}

/// Loads one step's revision file and lowers its `upgrade()` or `downgrade()` body.
/// Also says whether the result depends on the file alone (cacheable).
pub fn step_ops(
    step: &Step,
    engine_name: Option<&str>,
    lower: &crate::ops::LowerContext,
) -> Result<(Vec<crate::ops::Op>, bool), Error> {
    let Some(path) = &step.path else {
        return Ok((Vec::new(), true));
    };
    let lower = crate::ops::LowerContext {
        path: path.clone(),
        ..lower.clone()
    };
    let source = std::fs::read_to_string(path)
        .map_err(|e| Error::Crash(format!("could not read {}: {e}", path.display())))?;
    let source = match engine_name {
        Some(name) => environment::engine_functions(path, &source, name, step.direction)?,
        None => source,
    };
    let function = if step.direction == plan::Direction::Upgrade {
        crate::ops::Function::Upgrade
    } else {
        crate::ops::Function::Downgrade
    };
    function_ops(
        crate::ops::parse_migration_function(&lower, &source, function),
        step.direction,
    )
}

/// The operations of a lowered file's function for `direction`, and whether
/// they depend on the file alone (cacheable).
pub(crate) fn function_ops(
    migration: Result<crate::ops::Migration, crate::ops::MigrationError>,
    direction: plan::Direction,
) -> Result<(Vec<crate::ops::Op>, bool), Error> {
    let migration = migration.map_err(Error::Lowering)?;
    let cacheable = !migration.outside_inputs;
    Ok((
        if direction == plan::Direction::Upgrade {
            migration.upgrade
        } else {
            migration.downgrade
        },
        cacheable,
    ))
}

/// The operations of the revision files' top-level statements that call
/// through `op` (Alembic runs them when it imports the files inside the
/// migration context), per file in load order, with the line and column of
/// the first statement that made any; files without such statements are
/// not read.
pub(crate) type ImportEffects = Vec<(
    std::path::PathBuf,
    Vec<crate::ops::Op>,
    Option<(usize, usize)>,
)>;

pub(crate) fn import_effect_ops(
    project: &mut Project,
    lower: &crate::ops::LowerContext,
) -> Result<ImportEffects, Error> {
    let paths: Vec<std::path::PathBuf> = project
        .scripts()?
        .iter()
        .filter(|s| !s.import_effects.is_empty())
        .map(|s| s.path.clone())
        .collect();
    let mut out = Vec::new();
    for path in paths {
        let source = std::fs::read_to_string(&path)
            .map_err(|e| Error::Failed(format!("cannot read {}: {e}", path.display())))?;
        let lower = crate::ops::LowerContext {
            path: path.clone(),
            ..lower.clone()
        };
        let (ops, at) = crate::ops::import_ops(&lower, &source).map_err(Error::Lowering)?;
        out.push((path, ops, at));
    }
    Ok(out)
}

/// Splits a renderer failure into the statements emitted before it and the error.
pub(crate) fn render_failure(mut error: crate::sql::SqlError) -> (Vec<Statement>, Error) {
    let emitted = match &mut error {
        crate::sql::SqlError::Failed { emitted, .. }
        | crate::sql::SqlError::Exception { emitted, .. } => std::mem::take(emitted),
    };
    (emitted, Error::Render(error))
}

/// Plans a run's steps from the revision map and the starting heads.
pub type PlanSteps<'a> =
    dyn Fn(&crate::graph::RevisionMap, &[String]) -> Result<plan::Plan, Error> + 'a;

/// Refuses a run, before anything connects, when a file listed in an
/// `aurora.sum` is missing or changed in meaning.
pub fn guard(project: &mut Project) -> Result<(), Error> {
    let locations = project.script_directory()?.version_locations.clone();
    let (problems, _) = crate::checksum::verify(&locations);
    match problems.first() {
        Some(first) => Err(Error::Failed(first.to_string())),
        None => Ok(()),
    }
}

/// Splits `start:end` as Python's `str.split(":", 2)` followed by a two-way unpack.
fn split_range(revision: &str) -> Result<(String, String), Error> {
    let parts: Vec<&str> = revision.splitn(3, ':').collect();
    if parts.len() != 2 {
        return Err(Error::Crash(format!(
            "revision range '{revision}' has more than one ':'; write it as start:end"
        )));
    }
    Ok((parts[0].to_string(), parts[1].to_string()))
}

/// `alembic upgrade`.
pub fn upgrade(
    project: &mut Project,
    out: &mut dyn Sink,
    revision: &str,
    sql: bool,
    tag: Option<&str>,
) -> Result<(), Error> {
    run_revisions(project, out, revision, sql, tag, plan::Direction::Upgrade)
}

/// `alembic downgrade`.
pub fn downgrade(
    project: &mut Project,
    out: &mut dyn Sink,
    revision: &str,
    sql: bool,
    tag: Option<&str>,
) -> Result<(), Error> {
    run_revisions(project, out, revision, sql, tag, plan::Direction::Downgrade)
}

/// `upgrade` and `downgrade`: a `start:end` range only with `--sql` (which a
/// downgrade requires), then the planned steps offline or online.
fn run_revisions(
    project: &mut Project,
    out: &mut dyn Sink,
    revision: &str,
    sql: bool,
    _tag: Option<&str>,
    direction: plan::Direction,
) -> Result<(), Error> {
    guard(project)?;
    let upgrading = direction == plan::Direction::Upgrade;
    let (starting, destination) = if revision.contains(':') {
        if !sql {
            return Err(Error::failed("Range revision not allowed"));
        }
        let (start, end) = split_range(revision)?;
        (Some(start), end)
    } else if sql && !upgrading {
        return Err(Error::failed(
            "downgrade with --sql requires <fromrev>:<torev>",
        ));
    } else {
        (None, revision.to_string())
    };
    let plan_steps = |map: &crate::graph::RevisionMap, heads: &[String]| {
        let ancestor = if upgrading {
            "Destination %(end)s is not a valid upgrade target from current head(s)"
        } else {
            "Destination %(end)s is not a valid downgrade target from current head(s)"
        };
        let catch = Catch {
            ancestor: Some(ancestor),
            end: Some(&destination),
            ..Default::default()
        };
        let planned = if upgrading {
            plan::upgrade(map, &destination, heads)
        } else {
            plan::downgrade(map, &destination, heads)
        };
        planned.map_err(|e| catch.word(e))
    };
    project.squash_targets = starting.iter().cloned().collect();
    project.squash_targets.push(destination.clone());
    let name = if upgrading { "upgrade" } else { "downgrade" };
    let mut command = environment::command_line(name, sql, Some(revision), _tag);
    command.starting_revision = starting.clone();
    if sql {
        let starting: Option<Vec<String>> = starting.map(|s| vec![s]);
        return offline::offline_run(
            project,
            out,
            command,
            starting.as_deref(),
            Some(direction),
            &plan_steps,
        );
    }
    let replannable = crate::graph::match_relative(&destination).is_none();
    online::online_run(project, out, command, &plan_steps, false, replannable)
}

/// `alembic stamp`.
pub fn stamp(
    project: &mut Project,
    out: &mut dyn Sink,
    revisions: &[String],
    sql: bool,
    _tag: Option<&str>,
    purge: bool,
) -> Result<(), Error> {
    guard(project)?;
    let mut destinations = Vec::new();
    let mut starting: Option<String> = None;
    if sql {
        for revision in revisions {
            let mut target = revision.clone();
            if revision.contains(':') {
                let (start, end) = split_range(revision)?;
                if starting.as_deref() != Some(start.as_str()) {
                    if starting.is_none() {
                        starting = Some(start);
                    } else {
                        return Err(Error::failed("Stamp operation with --sql only supports a single starting revision at a time"));
                    }
                }
                target = end;
            }
            destinations.push(target);
        }
    } else {
        destinations = revisions.to_vec();
    }
    project.squash_targets = starting.iter().cloned().collect();
    project.squash_targets.extend(destinations.iter().cloned());
    let plan_steps = |map: &crate::graph::RevisionMap, heads: &[String]| {
        let catch = Catch {
            multiple_heads: Some(
                "Multiple heads are present; please specify a single target revision",
            ),
            ..Default::default()
        };
        plan::stamp(map, &destinations, heads)
            .map(plan::Plan::complete)
            .map_err(|e| catch.word(e))
    };
    let command =
        environment::command_line("stamp", sql, revisions.first().map(String::as_str), _tag);
    if sql {
        if purge {
            return environment::with_environment(
                project,
                out,
                true,
                command,
                &mut |_, out, context, _, _| {
                    if context.transactional_ddl && !context.transaction_per_migration {
                        out.sql("BEGIN;\n\n");
                    }
                    Err(Error::failed("Can't use --purge with --sql mode"))
                },
            );
        }
        let starting: Option<Vec<String>> = starting.map(|s| vec![s]);
        return offline::offline_run(
            project,
            out,
            command,
            starting.as_deref(),
            None,
            &plan_steps,
        );
    }
    let replannable = destinations
        .iter()
        .all(|d| crate::graph::match_relative(d).is_none());
    online::online_run(project, out, command, &plan_steps, purge, replannable)
}
