//! `aurora squash START:END -m MSG` and `aurora squash --finalize`.
//!
//! Squash replays the migrations into scratch databases of the configured dialect (as `drift`
//! does), reflects the schema at START's parent(s) and at END, renders the difference as
//! autogenerate would (downgrade: the reverse), appends the range's data statements
//! ([`crate::squash::data_statements`] decides which can be carried), and writes the revision
//! through `script.py.mako` with `replaces = (...)`. It then proves the file: a fresh scratch
//! database upgraded through the new revision must reflect to the same schema, the same
//! objects (views, triggers, sequences, types, index definitions) and the same row counts as
//! one upgraded through the old files; otherwise the file is removed and the command fails.

use std::collections::BTreeSet;

use super::drift::{replay, Scratch};
use super::{CliError, Output, Project};
use crate::autogen::{self, Schema};
use crate::db::Connection;
use crate::plan::{Direction, Step};
use crate::sql::{Dialect, Value};
use crate::squash::{Lowered, Range};

/// `aurora squash RANGE -m MSG [--rev-id ID]`.
pub fn squash(
    project: &mut Project,
    out: &mut Output,
    range: &str,
    message: Option<&str>,
    rev_id: Option<&str>,
) -> Result<(), CliError> {
    crate::run::guard(project)?;
    project.script_directory()?;
    let scripts = project.scripts()?.to_vec();
    let range = {
        let catch = super::Catch::default();
        let map = project.map(&catch)?;
        Range::resolve(map, &scripts, range).map_err(|e| CliError::failed(e.to_string()))?
    };
    let script_directory = project.script_directory()?.clone();
    let squash_dir = script_directory.squash_dir();
    if script_directory
        .version_locations
        .iter()
        .any(|l| *l == squash_dir || (script_directory.recursive && squash_dir.starts_with(l)))
    {
        return Err(CliError::failed(format!(
            "{} is a version location Alembic reads (version_locations / \
             recursive_version_locations), but aurora squash keeps squash revisions there so \
             that Alembic does not see them before `aurora squash --finalize`; move the version \
             locations elsewhere",
            squash_dir.display()
        )));
    }
    let command = super::environment::command_line("squash", false, None, None);
    let mut written = None;
    super::environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |project, out, context, conn, hooks| {
            if written.is_some() || context.engine_name.is_some() {
                return Err(CliError::Crash(format!(
                    "env.py migrates several databases (multidb: upgrade_<engine>() functions); \
                     aurora squash writes one revision for one database{}",
                    if written.is_some() {
                        ", and wrote the first already: remove it"
                    } else {
                        ""
                    }
                )));
            }
            let conn =
                conn.ok_or_else(|| CliError::Crash("squash needs a database connection".into()))?;
            let url = context
                .url
                .clone()
                .ok_or_else(|| CliError::Crash("squash ran without a database URL".into()))?;
            let render_as_batch = hooks.configured.as_ref().is_some_and(|c| c.render_as_batch);
            // The data statements first: a refusal needs no database.
            let (up_data, down_data) = data_statements(context, &range)?;
            let version_table = context.version_table.name.clone();
            let end = range.replaced.last().cloned().unwrap_or_default();
            let mut scratch = Scratch::create(conn, &url)?;
            let found = (|| {
                replay(
                    project,
                    context,
                    scratch.conn(),
                    &range.parents,
                    &mut |_| {},
                )?;
                let before = reflect(scratch.conn(), &version_table)?;
                replay(
                    project,
                    context,
                    scratch.conn(),
                    std::slice::from_ref(&end),
                    &mut |_| {},
                )?;
                let after = reflect(scratch.conn(), &version_table)?;
                let objects = inventory(scratch.conn())?;
                Ok::<_, CliError>((before, after, objects))
            })();
            scratch.drop_it(conn)?;
            let (before, after, objects) = found?;
            let ops = autogen::compare(&after, &before, &version_table);
            let down_ops = autogen::reverse_ops(&ops);
            let render = |ops: &[autogen::Op]| -> Result<String, CliError> {
                if render_as_batch {
                    autogen::render::render_body_batch(ops)
                        .map_err(|e| CliError::Crash(format!("env.py: {e}")))
                } else {
                    Ok(autogen::render::render_body(ops))
                }
            };
            let upgrades = crate::squash::body_with_data(render(&ops)?, &up_data);
            let downgrades = render_downgrade(render(&down_ops)?, &down_data);
            let mut request = super::authoring::NewRevision {
                rev_id: rev_id.map(str::to_string),
                message: message.map(str::to_string),
                heads: if range.parents.is_empty() {
                    vec!["base".to_string()]
                } else {
                    range.parents.clone()
                },
                splice: true,
                replaces: range.replaced.clone(),
                directory: Some(squash_dir.clone()),
                ..Default::default()
            };
            if [&upgrades, &downgrades]
                .iter()
                .any(|b| b.contains("postgresql."))
            {
                request.imports = Some("from sqlalchemy.dialects import postgresql".to_string());
            }
            request.upgrades = Some(upgrades);
            request.downgrades = Some(downgrades);
            let path = super::authoring::generate_revision(project, out, &request)?;
            project.reload_map();
            let proved = prove(
                project,
                context,
                conn,
                &url,
                &path,
                (&after, &objects),
                (&before, &range.parents),
            );
            if let Err(e) = proved {
                let _ = std::fs::remove_file(&path);
                // Only when empty: squashed/ may hold other squash revisions.
                let _ = std::fs::remove_dir(&squash_dir);
                project.reload_map();
                return Err(e);
            }
            written = Some(path);
            Ok(())
        },
    )?;
    let path = written.ok_or_else(|| {
        CliError::Crash(
            "env.py did not call context.run_migrations(), so nothing was squashed".into(),
        )
    })?;
    out.print(&format!(
        "Squashed {} revision(s) {}..{} into {}; upgrading through it gives the same schema. \
         The replaced files stay until `aurora squash --finalize`.",
        range.replaced.len(),
        range.replaced.first().map(String::as_str).unwrap_or(""),
        range.replaced.last().map(String::as_str).unwrap_or(""),
        path.display()
    ));
    Ok(())
}

/// The downgrade body: the carried downgrade data statements run first (at END's schema, as
/// they did), then the schema changes back to START's parent.
fn render_downgrade(body: String, data: &[String]) -> String {
    if data.is_empty() {
        return body;
    }
    let mut out = String::from("# ### data statements carried over by aurora squash, in order ###");
    for line in data {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out.push_str("\n    ");
    out.push_str(&body);
    out
}

/// The range's data statements: upgrades START..END, downgrades END..START.
fn data_statements(
    context: &super::environment::RunContext,
    range: &Range,
) -> Result<(Vec<String>, Vec<String>), CliError> {
    let lower = crate::ops::LowerContext {
        offline: false,
        ..context.lower.clone()
    };
    let mut result = Vec::new();
    for (direction, name) in [
        (Direction::Upgrade, "upgrade"),
        (Direction::Downgrade, "downgrade"),
    ] {
        let mut files = Vec::new();
        for (id, path) in range.replaced.iter().zip(&range.paths) {
            let step = Step {
                direction,
                revision: Some(id.clone()),
                from: Vec::new(),
                to: Vec::new(),
                path: Some(path.clone()),
                doc: String::new(),
                version_changes: Vec::new(),
            };
            let ops = super::migrate::step_ops(&step, context.engine_name.as_deref(), &lower)?.0;
            let source = std::fs::read_to_string(path)
                .map_err(|e| CliError::Crash(format!("could not read {}: {e}", path.display())))?;
            files.push((path.display().to_string(), source, ops));
        }
        if direction == Direction::Downgrade {
            files.reverse();
        }
        let lowered: Vec<Lowered<'_>> = files
            .iter()
            .map(|(path, source, ops)| Lowered {
                path,
                source,
                function: name,
                ops,
            })
            .collect();
        result.push(
            crate::squash::data_statements(&lowered, direction == Direction::Downgrade)
                .map_err(|e| CliError::failed(e.to_string()))?,
        );
    }
    let down = result.pop().unwrap_or_default();
    let up = result.pop().unwrap_or_default();
    Ok((up, down))
}

/// The reflected schema without the version table, tables by name.
fn reflect(conn: &mut dyn Connection, version_table: &str) -> Result<Schema, CliError> {
    let (mut schema, _log) =
        crate::db::reflect::schema(conn).map_err(|e| CliError::failed(e.to_string()))?;
    schema.tables.retain(|t| t.name != version_table);
    schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(schema)
}

/// What the schema model does not hold, listed from the catalogs: views, triggers, sequences,
/// enum types, every index's definition, and each table's row count.
fn inventory(conn: &mut dyn Connection) -> Result<Vec<String>, CliError> {
    let queries: &[&str] = match conn.dialect() {
        Dialect::Sqlite => &[
            "SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master \
             WHERE type IN ('index', 'view', 'trigger') AND name NOT LIKE 'sqlite_%' ORDER BY 1",
        ],
        Dialect::Postgresql => &[
            "SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() ORDER BY 1",
            "SELECT 'relation ' || c.relkind::text || ' ' || c.relname FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm', 'S') ORDER BY 1",
            "SELECT 'view ' || viewname || ' ' || definition FROM pg_views \
             WHERE schemaname = current_schema() ORDER BY 1",
            "SELECT 'trigger ' || t.tgname || ' ' || pg_get_triggerdef(t.oid) FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND NOT t.tgisinternal ORDER BY 1",
            "SELECT 'type ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) \
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
             JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname = current_schema() GROUP BY t.typname ORDER BY 1",
            "SELECT 'function ' || p.proname FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = current_schema() ORDER BY 1",
        ],
    };
    let mut out = Vec::new();
    for sql in queries {
        for row in conn
            .query(sql)
            .map_err(|e| CliError::Crash(format!("squash: reading the catalog: {e}")))?
        {
            out.extend(row.first().and_then(Value::as_text).map(str::to_string));
        }
    }
    let tables = match conn.dialect() {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
                            AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
        Dialect::Postgresql => {
            "SELECT tablename FROM pg_tables \
                                WHERE schemaname = current_schema() ORDER BY 1"
        }
    };
    let names: Vec<String> = conn
        .query(tables)
        .map_err(|e| CliError::Crash(format!("squash: reading the catalog: {e}")))?
        .into_iter()
        .filter_map(|r| r.first().and_then(Value::as_text).map(str::to_string))
        .collect();
    for name in names {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let rows = conn
            .query(&format!("SELECT COUNT(*) FROM {quoted}"))
            .map_err(|e| CliError::Crash(format!("squash: counting rows of {name}: {e}")))?;
        let count = match rows.first().and_then(|r| r.first()) {
            Some(Value::Integer(n)) => n.to_string(),
            Some(other) => format!("{other:?}"),
            None => "?".to_string(),
        };
        out.push(format!("rows {name} {count}"));
    }
    Ok(out)
}

/// Upgrades a fresh scratch database through the new revision and compares it with the old
/// chain's result.
fn prove(
    project: &mut Project,
    context: &super::environment::RunContext,
    conn: &mut dyn Connection,
    url: &crate::db::DatabaseUrl,
    path: &std::path::Path,
    (expected, expected_objects): (&Schema, &[String]),
    (before, parents): (&Schema, &[String]),
) -> Result<(), CliError> {
    let version_table = context.version_table.name.clone();
    let mut scratch = Scratch::create(conn, url)?;
    let mut ran = Vec::new();
    let found = (|| {
        // Only up to the new revision: it and what comes before it in the squash view.
        let new_id = crate::script::load_script(path)
            .map_err(|e| CliError::failed(e.to_string()))?
            .revision;
        replay(
            project,
            context,
            scratch.conn(),
            std::slice::from_ref(&new_id),
            &mut |line| ran.push(line.to_string()),
        )?;
        let got = reflect(scratch.conn(), &version_table)?;
        let objects = inventory(scratch.conn())?;
        // Then its downgrade, back to START's parent (one parent or base).
        let back = match parents {
            [] => Some(reflect_after_downgrade(
                project,
                context,
                scratch.conn(),
                "base",
            )?),
            [one] => Some(reflect_after_downgrade(
                project,
                context,
                scratch.conn(),
                one,
            )?),
            _ => None,
        };
        Ok::<_, CliError>((got, objects, back))
    })();
    scratch.drop_it(conn)?;
    let (got, objects, back) = found.map_err(|e| {
        CliError::failed(format!(
            "the squash revision {} does not run on a fresh database ({}); the file was \
             removed. The range holds something autogenerate cannot render: squash a shorter \
             range",
            path.display(),
            e
        ))
    })?;
    let mut problems = Vec::new();
    if &got != expected {
        let missing = autogen::compare(expected, &got, &version_table);
        let lines: Vec<String> = missing
            .iter()
            .flat_map(autogen::render::render_op)
            .collect();
        problems.push(if lines.is_empty() {
            let differing: Vec<&str> = expected
                .tables
                .iter()
                .filter(|t| got.table(&t.name) != Some(*t))
                .map(|t| t.name.as_str())
                .collect();
            format!(
                "table(s) {} differ in what autogenerate does not compare (server defaults, \
                 CHECK constraints, primary keys or table options)",
                differing.join(", ")
            )
        } else {
            format!("still needed: {}", lines.join("; "))
        });
    }
    if back.as_ref().is_some_and(|b| b != before) {
        let left = autogen::compare(before, back.as_ref().unwrap_or(before), &version_table);
        let lines: Vec<String> = left.iter().flat_map(autogen::render::render_op).collect();
        problems.push(format!(
            "its downgrade does not give back the schema before the range (still needed: {})",
            lines.join("; ")
        ));
    }
    let want: BTreeSet<&String> = expected_objects.iter().collect();
    let have: BTreeSet<&String> = objects.iter().collect();
    for o in want.difference(&have) {
        problems.push(format!("the old chain has {o}"));
    }
    for o in have.difference(&want) {
        problems.push(format!("the squash has {o}"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(CliError::failed(format!(
        "upgrading through the squash revision does not give the schema the replaced revisions \
         give, so {} was removed: {}. Squash a range without these changes, or write the \
         revision by hand",
        path.display(),
        problems.join("; ")
    )))
}

/// `aurora squash --finalize`: for every squash revision whose replaced files are still there,
/// once the configured database is not stamped at one of them, rewrites the children of END
/// to name the squash revision in `down_revision` (so Alembic sees `S` where END was) and
/// removes the replaced files. Every check comes before the first file is touched.
pub fn finalize(project: &mut Project, out: &mut Output) -> Result<(), CliError> {
    crate::run::guard(project)?;
    project.script_directory()?;
    let scripts = project.scripts()?.to_vec();
    let present: BTreeSet<&str> = scripts.iter().map(|s| s.revision.as_str()).collect();
    let squash_dir = project.script_directory()?.squash_dir();
    let squash_dir = squash_dir.canonicalize().unwrap_or(squash_dir);
    let pending: Vec<_> = crate::squash::squashes(&scripts)
        .into_iter()
        .filter(|(squash, replaces)| {
            replaces.iter().any(|r| present.contains(r.as_str()))
                || squash.path.starts_with(&squash_dir)
        })
        .collect();
    if pending.is_empty() {
        return Err(CliError::failed(
            "nothing to finalize: no squash revision has replaced files left",
        ));
    }
    let heads = super::migrate::database_heads(project, out)?;
    for (squash, replaces) in &pending {
        if let Some(h) = heads.iter().find(|h| replaces.contains(h)) {
            return Err(CliError::failed(format!(
                "the database is stamped at {h}, which the squash revision {} replaces; it still \
                 needs the replaced files. Run `aurora upgrade` on it (it goes on through the old \
                 files) before finalizing",
                squash.revision
            )));
        }
    }
    // Plan every edit first.
    let mut edits: Vec<(std::path::PathBuf, String)> = Vec::new();
    let mut removals: Vec<std::path::PathBuf> = Vec::new();
    let mut moves: Vec<(std::path::PathBuf, std::path::PathBuf)> = Vec::new();
    let first_location = project
        .script_directory()?
        .version_locations
        .first()
        .cloned()
        .ok_or_else(|| CliError::Crash("the project has no version location".into()))?;
    for (squash, replaces) in &pending {
        if squash.path.starts_with(&squash_dir) {
            // Into END's version location (the old chain's place), else the first one.
            let dir = replaces
                .last()
                .and_then(|end| scripts.iter().find(|s| &s.revision == end))
                .and_then(|s| s.path.parent().map(std::path::Path::to_path_buf))
                .unwrap_or_else(|| first_location.clone());
            let to = dir.join(squash.path.file_name().unwrap_or_default());
            if to.exists() {
                return Err(CliError::failed(format!(
                    "cannot move {} to {}: a file is there already",
                    squash.path.display(),
                    to.display()
                )));
            }
            moves.push((squash.path.clone(), to));
        }
        let replaced: BTreeSet<&str> = replaces.iter().map(String::as_str).collect();
        for script in &scripts {
            if replaced.contains(script.revision.as_str()) {
                removals.push(script.path.clone());
                continue;
            }
            if script.revision == squash.revision {
                continue;
            }
            let named: Vec<&String> = script
                .down_revision
                .iter()
                .chain(&script.dependencies)
                .filter(|d| replaced.contains(d.as_str()))
                .collect();
            if named.is_empty() {
                continue;
            }
            let text = std::fs::read_to_string(&script.path).map_err(|e| {
                CliError::Crash(format!("could not read {}: {e}", script.path.display()))
            })?;
            let mut new = text.clone();
            for id in named {
                new = rename_in_header(&script.path, &new, id, &squash.revision)?;
            }
            edits.push((script.path.clone(), new));
        }
    }
    for (path, text) in &edits {
        crate::authoring::replace_file(path, text).map_err(|e| CliError::Crash(e.to_string()))?;
        out.print(&format!(
            "Rewrote {}: its down_revision names the squash revision",
            path.display()
        ));
    }
    for path in &removals {
        std::fs::remove_file(path)
            .map_err(|e| CliError::Crash(format!("could not remove {}: {e}", path.display())))?;
        out.print(&format!("Removed {}", path.display()));
    }
    for (from, to) in &moves {
        std::fs::rename(from, to).map_err(|e| {
            CliError::Crash(format!(
                "could not move {} to {}: {e}",
                from.display(),
                to.display()
            ))
        })?;
        out.print(&format!("Moved {} to {}", from.display(), to.display()));
    }
    project.reload_map();
    // The files changed on purpose: an aurora.sum that listed them is written anew.
    let locations = project.script_directory()?.version_locations.clone();
    if locations
        .iter()
        .any(|l| l.join(crate::checksum::SUM_FILE).exists())
    {
        super::checksum::hash(project, out, false)?;
    }
    Ok(())
}

/// Replaces the quoted id `old` by `new` in the `down_revision` and `depends_on` assignments
/// of a revision file's header.
fn rename_in_header(
    path: &std::path::Path,
    text: &str,
    old: &str,
    new: &str,
) -> Result<String, CliError> {
    let (header, _) = crate::syntax::header::parse_header_module(&path.display().to_string(), text)
        .map_err(|e| CliError::failed(e.message))?;
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut changed = false;
    for name in ["down_revision", "depends_on"] {
        let Some(assignment) = header.get(name) else {
            continue;
        };
        let mut depth: i64 = 0;
        for line in lines.iter_mut().skip(assignment.span.line - 1) {
            for (q, to) in [
                (format!("'{old}'"), format!("'{new}'")),
                (format!("\"{old}\""), format!("\"{new}\"")),
            ] {
                if line.contains(&q) {
                    *line = line.replace(&q, &to);
                    changed = true;
                }
            }
            for c in line.chars() {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
            }
            if depth <= 0 {
                break;
            }
        }
    }
    if !changed {
        return Err(CliError::failed(format!(
            "{}: its down_revision names {old}, but not as a quoted string aurora can rewrite; \
             change it to '{new}' by hand, then finalize again",
            path.display()
        )));
    }
    Ok(lines.concat())
}

/// Downgrades the scratch database to `target` and reflects it.
fn reflect_after_downgrade(
    project: &mut Project,
    context: &super::environment::RunContext,
    conn: &mut dyn Connection,
    target: &str,
) -> Result<Schema, CliError> {
    let catch = super::Catch::default();
    let at = crate::db::current_heads(conn, &context.version_table)
        .map_err(|e| CliError::Crash(e.to_string()))?;
    let planned = {
        let map = project.map(&catch)?;
        crate::plan::downgrade(map, target, &at).map_err(|e| catch.word(e))?
    };
    if let Some(failure) = planned.failure {
        return Err(catch.word(failure));
    }
    super::drift::run_steps_on(conn, context, &planned.steps, &mut |_| {})?;
    reflect(conn, &context.version_table.name)
}
