//! Offline runs (`--sql`): the SQL of the planned steps as Alembic writes it,
//! bodies rendered on a few threads and kept in the cache by file identity.

use super::environment::{self, CommandLine, RunContext};
use super::{function_ops, render_failure, step_ops, PlanSteps, Project, Sink, MIGRATION_LOGGER};
use crate::error::Catch;
use crate::plan::{self, Step};
use crate::sql::{Dialect, Statement};
use crate::Error;

/// Offline output: the run's SQL as Alembic writes it with `--sql`.
pub struct OfflineWriter<'a> {
    out: &'a mut dyn Sink,
    context: &'a RunContext,
    /// The named types the run's tables created so far: revisions render
    /// apart (and from the cache), but Alembic's DDL runner and its memo
    /// last the whole run (see [`Statement::NamedType`]).
    created_types: crate::sql::TypeMemo,
}

impl<'a> OfflineWriter<'a> {
    pub fn new(out: &'a mut dyn Sink, context: &'a RunContext) -> Self {
        OfflineWriter {
            out,
            context,
            created_types: crate::sql::TypeMemo::new(),
        }
    }

    pub fn statement(&mut self, sql: &str) {
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
    ) -> Result<(), Error> {
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
pub type RenderedBody = Result<Vec<Statement>, (Vec<Statement>, Error)>;

/// A step's rendered body and whether it may be cached by the file's identity.
pub type RenderedFile = (RenderedBody, bool);

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
    ops: Result<(Vec<crate::ops::Op>, bool), Error>,
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

/// Writes the SQL of the revision files' top-level statements that call
/// through `op`: Alembic imports every file of the script directory (in
/// load order) when the run first needs the revision map, inside the
/// migration context, so that SQL comes before the first step's.
fn write_import_effects(
    project: &mut Project,
    writer: &mut OfflineWriter<'_>,
    context: &RunContext,
) -> Result<(), Error> {
    for (_, ops, _) in super::import_effect_ops(project, &context.lower)? {
        match crate::sql::render_ops(&ops, context.dialect, None).map_err(render_failure) {
            Ok(statements) => writer.statements(&statements),
            Err((emitted, error)) => {
                writer.statements(&emitted);
                return Err(error);
            }
        }
    }
    Ok(())
}

/// Runs `f` in offline mode: the context log lines, `BEGIN;` when the
/// dialect has transactional DDL, the steps, `COMMIT;`.
pub fn offline_run(
    project: &mut Project,
    out: &mut dyn Sink,
    command: CommandLine,
    starting_rev: Option<&[String]>,
    direction: Option<plan::Direction>,
    plan_steps: &PlanSteps<'_>,
) -> Result<(), Error> {
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
    out: &mut dyn Sink,
    context: &RunContext,
    starting_rev: Option<&[String]>,
    direction: Option<plan::Direction>,
    plan_steps: &PlanSteps<'_>,
) -> Result<(), Error> {
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
                        return Err(Error::Crash(format!(
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
    write_import_effects(project, &mut writer, context)?;
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
