//! `upgrade`, `downgrade`, `stamp`, `current`, `ensure_version`: planning
//! with [`crate::plan`], then writing SQL (offline, `--sql`) or running it.

use super::environment::{self, CommandLine, Hooks, RunContext};
use super::{Catch, CliError, Output, Project};
use crate::plan::{self, Step};
use crate::sql::{Dialect, Statement};

const MIGRATION_LOGGER: &str = "alembic.runtime.migration";

/// What lowering a revision may consult besides its file: the project's
/// module search path, the ini's main section, the configured dialect.
pub(super) fn lower_context(
    project: &mut Project,
    dialect: Dialect,
) -> Result<crate::ops::LowerContext, CliError> {
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

/// Offline output: the run's SQL as Alembic writes it with `--sql`.
struct OfflineWriter<'a> {
    out: &'a mut Output,
    context: &'a RunContext,
    /// The named types the run's tables created so far: revisions render
    /// apart (and from the cache), but Alembic's DDL runner and its memo
    /// last the whole run (see [`Statement::NamedType`]).
    created_types: crate::sql::TypeMemo,
}

impl<'a> OfflineWriter<'a> {
    fn new(out: &'a mut Output, context: &'a RunContext) -> Self {
        OfflineWriter {
            out,
            context,
            created_types: crate::sql::TypeMemo::new(),
        }
    }

    fn statement(&mut self, sql: &str) {
        self.out
            .sql(&format!("{};\n\n", crate::sql::offline_text(sql).trim()));
    }

    /// Writes rendered statements; an autocommit block on a transactional
    /// dialect closes and reopens the surrounding transaction.
    fn statements(&mut self, statements: &[Statement]) {
        for statement in statements {
            match statement {
                Statement::Sql(sql) => self.statement(sql),
                // A repeat of a type an earlier revision created is dropped.
                Statement::NamedType { key, sql } if self.created_types.insert(key.clone()) => {
                    self.statement(sql)
                }
                Statement::AutocommitBegin if self.context.transactional_ddl => {
                    self.statement("COMMIT")
                }
                Statement::AutocommitEnd if self.context.transactional_ddl => {
                    self.statement("BEGIN")
                }
                Statement::Print(text) => self.out.sql(text),
                Statement::Log {
                    logger,
                    level,
                    message,
                } => self.out.log_at(logger, *level, message),
                _ => {}
            }
        }
    }

    fn comment(&mut self, text: &str) {
        self.out.sql(&format!("{text}\n\n"));
    }

    /// Runs the planned steps: BEGIN/COMMIT framing, the version table DDL
    /// whenever the table has no rows yet, each step's body and version changes.
    ///
    /// `read` holds the bodies rendered while the revision map was loaded
    /// (see [`read_bodies_while_loading`]), for steps of its direction.
    fn write_steps(
        &mut self,
        starting_heads: &[String],
        steps: &[Step],
        read: ReadBodies,
    ) -> Result<(), CliError> {
        let per_migration =
            self.context.transactional_ddl && self.context.transaction_per_migration;
        let mut head_count = starting_heads.len() as i64;
        let rendered = render_offline(
            steps,
            self.context.dialect,
            self.context.engine_name.as_deref(),
            &self.context.lower,
            read,
        );
        for (step, bodies) in steps.iter().zip(rendered) {
            if per_migration {
                self.statement("BEGIN");
            }
            if head_count <= 0 {
                let create = self.context.version_table.create_sql();
                self.statement(&create);
            }
            self.out.log(MIGRATION_LOGGER, &step.log_line());
            self.comment(&step.sql_comment());
            match bodies {
                Ok(statements) => self.statements(&statements),
                Err((emitted, error)) => {
                    self.statements(&emitted);
                    return Err(error);
                }
            }
            for change in &step.version_changes {
                let sql = self
                    .context
                    .version_table
                    .change_sql(change, self.context.dialect);
                self.statement(&sql);
                match change {
                    plan::VersionChange::Insert(_) => head_count += 1,
                    plan::VersionChange::Delete(_) => head_count -= 1,
                    plan::VersionChange::Update { .. } => {}
                }
            }
            if per_migration {
                self.statement("COMMIT");
            }
        }
        Ok(())
    }
}

/// A step's rendered body, or the statements emitted before its failure and the failure.
type RenderedBody = Result<Vec<Statement>, (Vec<Statement>, CliError)>;

/// A step's rendered body and whether it may be cached by the file's identity.
pub(super) type RenderedFile = (RenderedBody, bool);

/// Bodies rendered while the revision map was loaded: the direction they
/// were rendered for and the rendered file by path.
type ReadBodies = (
    Option<plan::Direction>,
    std::collections::HashMap<std::path::PathBuf, RenderedFile>,
);

/// A step's rendered body and whether it may be cached by the file's identity.
fn render_step_offline(
    step: &Step,
    dialect: Dialect,
    engine: Option<&str>,
    lower: &crate::ops::LowerContext,
) -> RenderedFile {
    render_ops_offline(step_ops(step, engine, lower), dialect)
}

fn render_ops_offline(
    ops: Result<(Vec<crate::ops::Op>, bool), CliError>,
    dialect: Dialect,
) -> RenderedFile {
    let (ops, cacheable) = match ops {
        Ok(x) => x,
        Err(e) => return (Err((Vec::new(), e)), false),
    };
    (
        crate::sql::render_ops(&ops, dialect, None).map_err(render_failure),
        cacheable,
    )
}

/// Asks the revision map's loading, if it comes after this, to lower and
/// render each file's function for `direction` from the module it parses
/// for the header (one parse per file), as [`render_step_offline`] would.
/// Not when an engine is named: its functions are renamed in the source
/// before they are parsed.
fn read_bodies_while_loading(
    project: &mut Project,
    direction: plan::Direction,
    context: &RunContext,
) {
    let function = match direction {
        plan::Direction::Upgrade => crate::ops::Function::Upgrade,
        plan::Direction::Downgrade => crate::ops::Function::Downgrade,
        plan::Direction::Stamp => return,
    };
    if context.engine_name.is_some() {
        return;
    }
    let lower = context.lower.clone();
    let dialect = context.dialect;
    project.read_bodies_when_loading(Box::new(move |path, source, module| {
        let lower = crate::ops::LowerContext {
            path: path.to_path_buf(),
            ..lower.clone()
        };
        let migration = crate::ops::lower_migration_function(&lower, source, module, function);
        render_ops_offline(function_ops(migration, direction), dialect)
    }));
}

/// Parses and renders every step's body, on a few threads when there are
/// many: offline rendering needs no database, so steps are independent.
/// Bodies rendered before are taken from the cache when their file is unchanged.
fn render_offline(
    steps: &[Step],
    dialect: Dialect,
    engine: Option<&str>,
    lower: &crate::ops::LowerContext,
    (read_direction, mut read): ReadBodies,
) -> Vec<RenderedBody> {
    let kind = match dialect {
        Dialect::Sqlite => "sql-sqlite",
        Dialect::Postgresql => "sql-postgresql",
    };
    // One cache per set of version folders, like the header cache.
    let mut scope: Vec<std::path::PathBuf> = steps
        .iter()
        .filter_map(|s| s.path.as_ref()?.parent().map(std::path::Path::to_path_buf))
        .collect();
    scope.sort();
    scope.dedup();
    let mut cache = crate::cache::Cache::open(kind, &scope);
    // @compiles functions of the script directory for SQLAlchemy constructs
    // (on this dialect): bodies lowered while the map loaded did not see
    // them, and the SQL cached for a file depends on them too.
    let hooks: Vec<String> = lower
        .compile_hooks
        .get()
        .into_iter()
        .flatten()
        .filter(|(_, h)| h.applies_to(&lower.dialect))
        .map(|(f, h)| format!("{}:{}:{}:{}", f.display(), h.line, h.col, h.target))
        .collect();
    if !hooks.is_empty() {
        read.clear();
    }
    let hooks_key = if hooks.is_empty() {
        String::new()
    } else {
        format!("#ch{}", hooks.join("|"))
    };
    let keys: Vec<Option<(String, crate::cache::FileStamp)>> = steps
        .iter()
        .map(|step| {
            let path = step.path.as_ref()?;
            let stamp = crate::cache::FileStamp::of(&std::fs::metadata(path).ok()?);
            let direction = if step.direction == plan::Direction::Upgrade {
                "up"
            } else {
                "down"
            };
            let engine = engine.map(|e| format!("#{e}")).unwrap_or_default();
            // The SQL depends on env.py's naming convention too.
            let naming = lower
                .naming_convention
                .as_ref()
                .map(|c| format!("#nc{}", c.fingerprint()))
                .unwrap_or_default();
            Some((
                format!("{}#{direction}{engine}{naming}{hooks_key}", path.display()),
                stamp,
            ))
        })
        .collect();
    let mut results: Vec<Option<RenderedBody>> = keys
        .iter()
        .map(|key| {
            let (key, stamp) = key.as_ref()?;
            decode_statements(cache.get(key, stamp)?).map(Ok)
        })
        .collect();
    let mut misses: Vec<usize> = (0..steps.len()).filter(|&i| results[i].is_none()).collect();
    // Bodies rendered while the map was loaded.
    let mut done = Vec::new();
    misses.retain(|&i| {
        let step = &steps[i];
        let body = match &step.path {
            Some(path) if read_direction == Some(step.direction) => read.remove(path),
            _ => None,
        };
        match body {
            Some(body) => {
                done.push((i, body));
                false
            }
            None => true,
        }
    });
    drop(read);
    let rendered = render_in_parallel(
        &misses.iter().map(|&i| &steps[i]).collect::<Vec<_>>(),
        dialect,
        engine,
        lower,
    );
    for (i, (body, cacheable)) in done.into_iter().chain(misses.into_iter().zip(rendered)) {
        if let (Ok(statements), Some((key, stamp)), true) = (&body, &keys[i], cacheable) {
            cache.put(key.clone(), *stamp, encode_statements(statements));
        }
        results[i] = Some(body);
    }
    cache.save();
    results
        .into_iter()
        .map(|r| r.expect("every step rendered"))
        .collect()
}

fn render_in_parallel(
    steps: &[&Step],
    dialect: Dialect,
    engine: Option<&str>,
    lower: &crate::ops::LowerContext,
) -> Vec<(RenderedBody, bool)> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if workers <= 1 || steps.len() < 32 {
        return steps
            .iter()
            .map(|s| render_step_offline(s, dialect, engine, lower))
            .collect();
    }
    let chunk = steps.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = steps
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| render_step_offline(s, dialect, engine, lower))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("render thread panicked"))
            .collect()
    })
}

fn encode_statements(statements: &[Statement]) -> Vec<u8> {
    let mut w = crate::cache::Writer::default();
    w.u64(statements.len() as u64);
    for statement in statements {
        match statement {
            Statement::Sql(sql) => {
                w.u64(0);
                w.str(sql);
            }
            Statement::AutocommitBegin => w.u64(1),
            Statement::AutocommitEnd => w.u64(2),
            Statement::NamedType {
                key: (domain, schema, name),
                sql,
            } => {
                w.u64(5);
                w.u64(u64::from(*domain));
                w.u64(u64::from(schema.is_some()));
                w.str(schema.as_deref().unwrap_or_default());
                w.str(name);
                w.str(sql);
            }
            Statement::Print(text) => {
                w.u64(3);
                w.str(text);
            }
            Statement::Log {
                logger,
                level,
                message,
            } => {
                w.u64(4);
                w.str(logger);
                w.u64(u64::from(*level));
                w.str(message);
            }
        }
    }
    w.0
}

fn decode_statements(payload: &[u8]) -> Option<Vec<Statement>> {
    let mut r = crate::cache::Reader::new(payload);
    let count = r.u64()?;
    let mut out = Vec::with_capacity(count.min(4096) as usize);
    for _ in 0..count {
        out.push(match r.u64()? {
            0 => Statement::Sql(r.str()?),
            1 => Statement::AutocommitBegin,
            2 => Statement::AutocommitEnd,
            3 => Statement::Print(r.str()?),
            4 => Statement::Log {
                logger: r.str()?,
                level: u32::try_from(r.u64()?).ok()?,
                message: r.str()?,
            },
            5 => {
                let domain = r.u64()? == 1;
                let has_schema = r.u64()? == 1;
                let schema = r.str()?;
                let name = r.str()?;
                Statement::NamedType {
                    key: (domain, has_schema.then_some(schema), name),
                    sql: r.str()?,
                }
            }
            _ => return None,
        });
    }
    r.is_done().then_some(out)
}

/// Loads one step's revision file and lowers its `upgrade()` or `downgrade()` body.
/// Also says whether the result depends on the file alone (cacheable).
pub(super) fn step_ops(
    step: &Step,
    engine_name: Option<&str>,
    lower: &crate::ops::LowerContext,
) -> Result<(Vec<crate::ops::Op>, bool), CliError> {
    let Some(path) = &step.path else {
        return Ok((Vec::new(), true));
    };
    let lower = crate::ops::LowerContext {
        path: path.clone(),
        ..lower.clone()
    };
    let source = std::fs::read_to_string(path)
        .map_err(|e| CliError::Crash(format!("could not read {}: {e}", path.display())))?;
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
fn function_ops(
    migration: Result<crate::ops::Migration, crate::ops::MigrationError>,
    direction: plan::Direction,
) -> Result<(Vec<crate::ops::Op>, bool), CliError> {
    let migration = migration.map_err(|e| CliError::Failed(e.to_string()))?;
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

/// Splits a renderer failure into the statements emitted before it and the error.
fn render_failure(error: crate::sql::SqlError) -> (Vec<Statement>, CliError) {
    match error {
        crate::sql::SqlError::Failed { message, emitted } => (emitted, CliError::Failed(message)),
        crate::sql::SqlError::Exception {
            exception,
            message,
            emitted,
        } => (emitted, CliError::Crash(format!("{exception}: {message}"))),
    }
}

/// Plans a run's steps from the revision map and the starting heads.
type PlanSteps<'a> =
    dyn Fn(&crate::graph::RevisionMap, &[String]) -> Result<plan::Plan, CliError> + 'a;

/// Runs `f` in offline mode: the context log lines, `BEGIN;` when the
/// dialect has transactional DDL, the steps, `COMMIT;`.
fn offline_run(
    project: &mut Project,
    out: &mut Output,
    command: CommandLine,
    starting_rev: Option<&[String]>,
    direction: Option<plan::Direction>,
    plan_steps: &PlanSteps<'_>,
) -> Result<(), CliError> {
    environment::with_environment(
        project,
        out,
        true,
        command,
        &mut |project, out, context, _, _| {
            offline_body(project, out, context, starting_rev, direction, plan_steps)
        },
    )
}

fn offline_body(
    project: &mut Project,
    out: &mut Output,
    context: &RunContext,
    starting_rev: Option<&[String]>,
    direction: Option<plan::Direction>,
    plan_steps: &PlanSteps<'_>,
) -> Result<(), CliError> {
    out.log(
        MIGRATION_LOGGER,
        &format!("Context impl {}.", context.dialect.impl_name()),
    );
    out.log(MIGRATION_LOGGER, "Generating static SQL");
    out.log(
        MIGRATION_LOGGER,
        if context.transactional_ddl {
            "Will assume transactional DDL."
        } else {
            "Will assume non-transactional DDL."
        },
    );
    let outer_transaction = context.transactional_ddl && !context.transaction_per_migration;
    // A run from base renders (nearly) every file read for the revision
    // map: render each from the module parsed for its header.
    let read_direction = match (direction, starting_rev) {
        (Some(direction), None) => {
            read_bodies_while_loading(project, direction, context);
            Some(direction)
        }
        _ => None,
    };
    let mut writer = OfflineWriter::new(out, context);
    if outer_transaction {
        writer.statement("BEGIN");
    }
    let catch = Catch::default();
    project.choose_squash_views(starting_rev.unwrap_or(&[]))?;
    let heads: Vec<String> = match starting_rev {
        None => Vec::new(),
        Some(revs) => {
            let map = project.map(&catch)?;
            let mut heads = Vec::new();
            for rev in revs {
                if rev == "base" {
                    continue;
                }
                match map.get_revision(Some(rev)).map_err(|e| catch.word(e))? {
                    Some(r) => heads.push(map.id(r).to_string()),
                    None => {
                        return Err(CliError::Crash(format!(
                            "starting revision '{rev}' resolves to no revision"
                        )))
                    }
                }
            }
            heads
        }
    };
    let plan = {
        let map = project.map(&catch)?;
        plan_steps(map, &heads)?
    };
    for warning in &plan.warnings {
        writer.out.python_warning("UserWarning", warning);
    }
    let read = (read_direction, project.take_bodies());
    writer.write_steps(&heads, &plan.steps, read)?;
    if let Some(failure) = plan.failure {
        return Err(catch.word(failure));
    }
    if outer_transaction {
        writer.statement("COMMIT");
    }
    Ok(())
}

/// Splits `start:end` as Python's `str.split(":", 2)` followed by a two-way unpack.
fn split_range(revision: &str) -> Result<(String, String), CliError> {
    let parts: Vec<&str> = revision.splitn(3, ':').collect();
    if parts.len() != 2 {
        return Err(CliError::Crash(format!(
            "revision range '{revision}' has more than one ':'; write it as start:end"
        )));
    }
    Ok((parts[0].to_string(), parts[1].to_string()))
}

/// `alembic upgrade`.
pub fn upgrade(
    project: &mut Project,
    out: &mut Output,
    revision: &str,
    sql: bool,
    tag: Option<&str>,
) -> Result<(), CliError> {
    run_revisions(project, out, revision, sql, tag, plan::Direction::Upgrade)
}

/// `alembic downgrade`.
pub fn downgrade(
    project: &mut Project,
    out: &mut Output,
    revision: &str,
    sql: bool,
    tag: Option<&str>,
) -> Result<(), CliError> {
    run_revisions(project, out, revision, sql, tag, plan::Direction::Downgrade)
}

/// `upgrade` and `downgrade`: a `start:end` range only with `--sql` (which a
/// downgrade requires), then the planned steps offline or online.
fn run_revisions(
    project: &mut Project,
    out: &mut Output,
    revision: &str,
    sql: bool,
    _tag: Option<&str>,
    direction: plan::Direction,
) -> Result<(), CliError> {
    super::checksum::guard(project)?;
    let upgrading = direction == plan::Direction::Upgrade;
    let (starting, destination) = if revision.contains(':') {
        if !sql {
            return Err(CliError::failed("Range revision not allowed"));
        }
        let (start, end) = split_range(revision)?;
        (Some(start), end)
    } else if sql && !upgrading {
        return Err(CliError::failed(
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
        return offline_run(
            project,
            out,
            command,
            starting.as_deref(),
            Some(direction),
            &plan_steps,
        );
    }
    let replannable = crate::graph::match_relative(&destination).is_none();
    online_run(project, out, command, &plan_steps, false, replannable)
}

/// `alembic stamp`.
pub fn stamp(
    project: &mut Project,
    out: &mut Output,
    revisions: &[String],
    sql: bool,
    _tag: Option<&str>,
    purge: bool,
) -> Result<(), CliError> {
    super::checksum::guard(project)?;
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
                        return Err(CliError::failed("Stamp operation with --sql only supports a single starting revision at a time"));
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
                    Err(CliError::failed("Can't use --purge with --sql mode"))
                },
            );
        }
        let starting: Option<Vec<String>> = starting.map(|s| vec![s]);
        return offline_run(
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
    online_run(project, out, command, &plan_steps, purge, replannable)
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
            let conn = online_connection(conn)?;
            log_context(out, context);
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
    let heads = crate::db::current_heads(conn, &context.version_table).map_err(db_failure)?;
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

/// `alembic ensure_version`.
pub fn ensure_version(project: &mut Project, out: &mut Output, sql: bool) -> Result<(), CliError> {
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
pub fn database_heads(project: &mut Project, out: &mut Output) -> Result<Vec<String>, CliError> {
    database_heads_and_configuration(project, out).map(|(heads, _)| heads)
}

/// [`database_heads`], with what env.py passed to `context.configure()` (the last call).
pub fn database_heads_and_configuration(
    project: &mut Project,
    out: &mut Output,
) -> Result<(Vec<String>, Option<crate::env::Configured>), CliError> {
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
fn online_connection(
    conn: Option<&mut dyn crate::db::Connection>,
) -> Result<&mut dyn crate::db::Connection, CliError> {
    conn.ok_or_else(|| {
        CliError::Crash("an online command ran without a database connection".into())
    })
}

/// Logs Alembic's context lines.
fn log_context(out: &mut Output, context: &RunContext) {
    for line in crate::db::context_log_lines(context.dialect) {
        out.log(MIGRATION_LOGGER, &line);
    }
}

/// Database errors: Alembic's own row-count checks are `FAILED:` lines;
/// everything else is a driver exception in Python (exit status 1).
fn db_failure(error: crate::db::DbError) -> CliError {
    match error {
        crate::db::DbError::UpdateRowCount { .. } | crate::db::DbError::DeleteRowCount { .. } => {
            CliError::Failed(error.to_string())
        }
        crate::db::DbError::Interrupted { signal } => CliError::Interrupted {
            signal,
            message: format!(
                "interrupted by {} before the run started; nothing was written",
                crate::db::interrupt::signal_name(signal)
            ),
        },
        other => CliError::Crash(other.to_string()),
    }
}

/// Lets the SQL renderer read the live schema through a connection (SQLite batch mode).
pub(super) struct ConnectionReflector<'a>(pub(super) &'a mut dyn crate::db::Connection);

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
fn parse_scripts_before_connecting(project: &mut Project) -> Result<(), CliError> {
    project.try_map()?.map(|_| ()).or(Ok(()))
}

/// Runs planned steps against the database: each revision's body and its
/// version-table change in one transaction, under the migration lock
/// (`crate::db::acquire_lock`), with SIGINT/SIGTERM cancelling the running
/// statement and rolling back the open revision.
fn online_run(
    project: &mut Project,
    out: &mut Output,
    command: CommandLine,
    plan_steps: &PlanSteps<'_>,
    purge: bool,
    replannable: bool,
) -> Result<(), CliError> {
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
    out: &mut Output,
    context: &RunContext,
    conn: &mut dyn crate::db::Connection,
    hooks: &mut Hooks<'_, '_>,
    plan_steps: &PlanSteps<'_>,
    purge: bool,
    replannable: bool,
) -> Result<(), CliError> {
    // Alembic logs these when env.py configures the context, before it
    // reads the version rows and plans: a planning error comes after them.
    log_context(out, context);
    if crate::db::interrupt::install() {
        crate::db::interrupt::set_canceller(conn.canceller());
    }
    let url = context
        .url
        .as_ref()
        .ok_or_else(|| CliError::Crash("an online command ran without a database URL".into()))?;
    let lock = crate::db::acquire_lock(
        &mut *conn,
        url,
        &context.version_table,
        &project.lock,
        &mut |line| {
            out.flush();
            eprintln!("aurora: {line}");
        },
    )
    .map_err(db_failure)?;
    // SQLite re-reads the version rows in each step's `BEGIN IMMEDIATE` with or
    // without the lock: a runner started beside another under `--no-lock`
    // replans instead of running a step the other one applied.
    let recheck = context.dialect == Dialect::Sqlite;
    let mut result = Err(CliError::Crash(String::new()));
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
    out: &mut Output,
    context: &RunContext,
    conn: &mut dyn crate::db::Connection,
    hooks: &mut Hooks<'_, '_>,
    plan_steps: &PlanSteps<'_>,
    purge: bool,
    recheck: bool,
    moved: &mut bool,
) -> Result<(), CliError> {
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
        Ok::<(), CliError>(())
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
     -> Result<Vec<crate::db::RunStatement>, CliError> {
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
        Ok(statements
            .into_iter()
            .map(super::drift::run_statement)
            .collect())
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
        }) => Err(CliError::Crash(if partly_committed {
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
            Err(CliError::Interrupted { signal, message })
        }
        Err(error @ crate::db::RunError::VersionsMoved { .. }) => {
            *moved = true;
            Err(CliError::Failed(format!(
            "{error}; another migration run (or a tool that takes no lock) wrote it. Run the command again"
        )))
        }
        Err(crate::db::RunError::Db(error)) => Err(db_failure(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_statements_decode_as_encoded() {
        let statements = vec![
            Statement::Sql("CREATE TABLE t (id INTEGER)".into()),
            Statement::NamedType {
                key: (false, Some("s".into()), "mood".into()),
                sql: "CREATE TYPE s.mood AS ENUM ('a')".into(),
            },
            Statement::NamedType {
                key: (true, None, "kind".into()),
                sql: "CREATE DOMAIN kind AS INTEGER ".into(),
            },
            Statement::AutocommitBegin,
            Statement::AutocommitEnd,
            Statement::Print("hello\n".into()),
            Statement::Log {
                logger: "alembic.x".into(),
                level: 20,
                message: "m".into(),
            },
        ];
        let decoded = decode_statements(&encode_statements(&statements));
        assert_eq!(decoded, Some(statements));
    }
}
