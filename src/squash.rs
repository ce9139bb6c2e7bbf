//! `aurora squash`: one revision standing for a linear run of old ones.
//!
//! A squash revision `S` is an ordinary revision file with one more module-level name,
//! `replaces = ('B', 'C', 'D')`: the ids of the range START..END (both inclusive, oldest
//! first) it stands for. Its `down_revision` is START's `down_revision`.
//!
//! aurora reads the folder in one of two views per squash (Django's rule for `replaces`):
//!
//! - the **squash view** (the default, and what graph commands show): the replaced revisions
//!   are left out and every reference to a replaced id in another revision's `down_revision`
//!   or `depends_on` reads as `S`, so END's children follow `S`;
//! - the **replaced view**, used for a run whose database is stamped at a replaced revision
//!   (or whose target names one): `S` is left out and the old files are the chain, so the
//!   database goes on through the rest of the old range and never runs `S`.
//!
//! This module is pure: choosing the view, checking a range, placing the data statements of
//! the range and writing `replaces` into a rendered file. `cli/squash.rs` replays, compares,
//! writes and removes files.

use std::collections::BTreeSet;
use std::path::PathBuf;

use thiserror::Error;

use crate::graph::RevisionMap;

use crate::ops::{Executable, Op};
use crate::script::Script;

/// What can go wrong with squash revisions and ranges.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SquashError {
    #[error("{0}")]
    Range(String),
    #[error(
        "the database is at the squash revision {squash}, which stands for {replaced}; it cannot \
         be taken to the replaced revision {target} in one run; the schema of {squash} is the \
         schema of {end}, so record that first with `aurora stamp --purge {end}`, then run the \
         command again"
    )]
    Mixed {
        squash: String,
        replaced: String,
        target: String,
        end: String,
    },
    #[error(
        "the database is at revision {id}, which the squash revision {squash} ({path}) replaced, \
         and the file of {id} is gone (removed by `aurora squash --finalize`?); restore the \
         replaced files from version control, upgrade the database with them, then finalize again"
    )]
    ReplacedFileGone {
        id: String,
        squash: String,
        path: String,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Data {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{0}")]
    Render(String),
}

/// The squash revisions among `scripts`: (its id, what it replaces).
pub fn squashes(scripts: &[Script]) -> Vec<(&Script, &[String])> {
    scripts
        .iter()
        .filter(|s| !s.replaces.is_empty())
        .map(|s| (s, s.replaces.as_slice()))
        .collect()
}

/// Which squash revisions a run must read in the replaced view: those where one of `ids`
/// (the database's version rows and the run's target revisions, as written) names a replaced
/// revision whose file is present. Fails for a database at a replaced id whose file is gone,
/// and for a run that would cross between the two views.
pub fn replaced_views(scripts: &[Script], ids: &[String]) -> Result<BTreeSet<String>, SquashError> {
    let present: BTreeSet<&str> = scripts.iter().map(|s| s.revision.as_str()).collect();
    let mut out = BTreeSet::new();
    for (squash, replaces) in squashes(scripts) {
        let hit = ids.iter().find_map(|id| {
            replaces
                .iter()
                .find(|r| names(id, r))
                .map(|r| (id.clone(), r.clone()))
        });
        let Some((_, replaced)) = hit else { continue };
        if !present.contains(replaced.as_str()) {
            return Err(SquashError::ReplacedFileGone {
                id: replaced,
                squash: squash.revision.clone(),
                path: squash.path.display().to_string(),
            });
        }
        if ids.iter().any(|id| id == &squash.revision) {
            return Err(SquashError::Mixed {
                squash: squash.revision.clone(),
                replaced: replaces.join(", "),
                target: replaced,
                end: replaces.last().cloned().unwrap_or_default(),
            });
        }
        out.insert(squash.revision.clone());
    }
    Ok(out)
}

/// Whether a revision argument (`c1f2`, `c1f2ab+1`, `branch@c1f2`, a full id) names `id`:
/// the identifier part equals it or is a prefix of it of at least four characters.
fn names(arg: &str, id: &str) -> bool {
    let arg = arg.rsplit('@').next().unwrap_or(arg);
    let token: String = arg
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if matches!(token.as_str(), "head" | "heads" | "base") {
        return token == id;
    }
    token == id || (token.len() >= 4 && id.starts_with(&token))
}

/// The scripts as aurora's revision map reads them: every squash revision in the squash view
/// except those in `replaced`, which are left out so their old files form the chain.
pub fn view(scripts: Vec<Script>, replaced: &BTreeSet<String>) -> Vec<Script> {
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    let mut alias: Vec<(String, String)> = Vec::new();
    for (squash, replaces) in squashes(&scripts) {
        if replaced.contains(&squash.revision) {
            dropped.insert(squash.revision.clone());
        } else {
            for r in replaces {
                dropped.insert(r.clone());
                alias.push((r.clone(), squash.revision.clone()));
            }
        }
    }
    if dropped.is_empty() {
        return scripts;
    }
    let rename = |ids: &[String], own: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in ids {
            let id = alias
                .iter()
                .find(|(r, _)| r == id)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| id.clone());
            if id != own && !out.contains(&id) {
                out.push(id);
            }
        }
        out
    };
    scripts
        .into_iter()
        .filter(|s| !dropped.contains(&s.revision))
        .map(|mut s| {
            s.down_revision = rename(&s.down_revision, &s.revision);
            s.dependencies = rename(&s.dependencies, &s.revision);
            s
        })
        .collect()
}

/// The id a new revision's file names for the parent `id`: a squash revision still in
/// `squash_dir` (Alembic does not see it) is named by the last revision it replaces, which
/// aurora's squash view reads as the squash revision; any other id is itself.
pub fn file_parent(scripts: &[Script], squash_dir: &std::path::Path, id: &str) -> String {
    let squash_dir = squash_dir
        .canonicalize()
        .unwrap_or_else(|_| squash_dir.to_path_buf());
    scripts
        .iter()
        .find(|s| s.revision == id && !s.replaces.is_empty() && s.path.starts_with(&squash_dir))
        .and_then(|s| s.replaces.last())
        .filter(|end| scripts.iter().any(|s| &s.revision == *end))
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

/// A range to squash, checked against the revision map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// START..END inclusive, oldest first.
    pub replaced: Vec<String>,
    /// Their files, in the same order.
    pub paths: Vec<PathBuf>,
    /// START's `down_revision` (the new revision's `down_revision`).
    pub parents: Vec<String>,
    /// END's children.
    pub end_children: Vec<String>,
}

impl Range {
    /// `START:END`: both resolved as Alembic resolves a revision argument; END must descend
    /// from START through `down_revision` alone, and every revision from START to END must have
    /// one parent in the range (START may be a merge or a base), one child in the range (END
    /// may branch), no `depends_on` either way, no branch labels, and must not be a squash
    /// revision or replaced by one.
    pub fn resolve(
        map: &RevisionMap,
        scripts: &[Script],
        text: &str,
    ) -> Result<Range, SquashError> {
        let err = |m: String| SquashError::Range(m);
        let (start, end) = text.split_once(':').ok_or_else(|| {
            err(format!(
                "squash needs a range START:END (both inclusive), not '{text}'"
            ))
        })?;
        let one = |arg: &str| -> Result<usize, SquashError> {
            match map.get_revision(Some(arg)) {
                Ok(Some(i)) => Ok(i),
                Ok(None) => Err(err(format!(
                    "'{arg}' is base, not a revision; START and END are revisions and are both \
                     replaced (START:END is inclusive)"
                ))),
                Err(e) => Err(err(format!("{arg}: {e}"))),
            }
        };
        let (start, end) = (one(start)?, one(end)?);
        let mut chain = vec![end];
        let mut at = end;
        while at != start {
            let rev = map.get(at);
            match rev.down.as_slice() {
                [one] => {
                    at = *one;
                    chain.push(at);
                }
                [] => {
                    return Err(err(format!(
                        "{} is not an ancestor of {} through down_revision; START must come \
                         before END on one chain",
                        map.id(start),
                        map.id(end)
                    )))
                }
                _ => {
                    return Err(err(format!(
                        "{} is a merge point inside the range; squash ranges are linear chains \
                         (squash the revisions after it, or end the range before it)",
                        rev.id()
                    )))
                }
            }
        }
        chain.reverse();
        let squashed: BTreeSet<&str> = scripts
            .iter()
            .flat_map(|s| s.replaces.iter().map(String::as_str))
            .collect();
        for (n, &i) in chain.iter().enumerate() {
            let rev = map.get(i);
            let id = rev.id();
            if !rev.script.replaces.is_empty() || squashed.contains(id) {
                return Err(err(format!(
                    "{id} is a squash revision or replaced by one; finalize that squash before \
                     squashing over it"
                )));
            }
            if !rev.script.dependencies.is_empty() || rev.all_nextrev.len() != rev.nextrev.len() {
                return Err(err(format!(
                    "{id} takes part in depends_on; aurora squash only replaces revisions linked \
                     by down_revision alone"
                )));
            }
            if !rev.script.branch_labels.is_empty() {
                return Err(err(format!(
                    "{id} carries branch labels {:?}; a squash would lose them (end the range \
                     before it or start after it)",
                    rev.script.branch_labels
                )));
            }
            if n + 1 < chain.len() && rev.nextrev.len() > 1 {
                return Err(err(format!(
                    "{id} is a branch point inside the range; squash ranges are linear chains \
                     (end the range at {id})"
                )));
            }
        }
        let start_rev = map.get(start);
        let end_rev = map.get(end);
        Ok(Range {
            replaced: chain.iter().map(|&i| map.id(i).to_string()).collect(),
            paths: chain
                .iter()
                .map(|&i| map.get(i).script.path.clone())
                .collect(),
            parents: start_rev.script.down_revision.clone(),
            end_children: end_rev
                .nextrev
                .iter()
                .map(|&i| map.id(i).to_string())
                .collect(),
        })
    }
}

/// One revision's function in the range, lowered.
pub struct Lowered<'a> {
    pub path: &'a str,
    pub source: &'a str,
    /// `upgrade` or `downgrade`.
    pub function: &'a str,
    pub ops: &'a [Op],
}

/// The data statements of a direction, in the order they run, rendered as Python lines of
/// the new body (`op.execute(...)`).
///
/// The rule, so every statement sees the schema it saw before: the squash `upgrade()` runs
/// every schema change first (as autogenerate computes it from the two schemas), then the
/// data statements in their original order, which is sound only when no schema change runs
/// after a data statement (the statement saw END's schema); the squash `downgrade()` runs the
/// data statements first, then the schema changes, which is sound only when no schema change
/// runs before one (the statement saw END's schema). A statement breaking the rule is refused
/// with its place and the schema change's. `functions` is given in running order (upgrades
/// START..END, downgrades END..START) and `data_first` is true for downgrades. Only
/// `op.execute` of SQL text (a string or `sa.text()` without bound parameters) is carried
/// over, as the same call with the same text.
pub fn data_statements(
    functions: &[Lowered<'_>],
    data_first: bool,
) -> Result<Vec<String>, SquashError> {
    let mut schema_seen: Option<(String, usize, usize, &'static str, String)> = None;
    let mut carried: Vec<(String, String, usize, usize)> = Vec::new();
    for f in functions {
        let mut calls = crate::ops::CallPlaces::scan(f.source, f.function);
        let mut flat = Vec::new();
        flatten(f.ops, &mut flat);
        for op in flat {
            let place = calls.place(op.method_names());
            let text_call = match op {
                Op::Execute(Executable::Sql(sql)) => {
                    Some(format!("op.execute({})", crate::template::repr_str(sql)))
                }
                Op::Execute(Executable::Text { sql, binds }) if binds.is_empty() => Some(format!(
                    "op.execute(sa.text({}))",
                    crate::template::repr_str(sql)
                )),
                _ => None,
            };
            let text_call = match (text_call, op) {
                (
                    None,
                    Op::BulkInsert {
                        table,
                        rows,
                        multiinsert,
                    },
                ) => match render_bulk_insert(table, rows, *multiinsert) {
                    Ok(call) => Some(call),
                    Err(what) => {
                        return Err(SquashError::Data {
                            path: f.path.to_string(),
                            line: place.0,
                            col: place.1,
                            message: format!(
                                "bulk_insert() in {}(): {what}, which aurora squash does not \
                                 write back into a revision yet; end the squash range before \
                                 this revision, or start it after",
                                f.function
                            ),
                        });
                    }
                },
                (call, _) => call,
            };
            if let Some(call) = text_call {
                if let (true, Some((path, line, col, m, function))) = (data_first, &schema_seen) {
                    return Err(SquashError::Data {
                        path: f.path.to_string(),
                        line: place.0,
                        col: place.1,
                        message: format!(
                            "this data statement in {}() runs after a schema change at \
                             {path}:{line}:{col} ({m}() in {function}()); a squash downgrade \
                             runs the data statements first, so the statement would see another \
                             schema. End the squash range before the schema change's revision, \
                             or start it after the statement's",
                            f.function
                        ),
                    });
                }
                carried.push((call, f.path.to_string(), place.0, place.1));
                continue;
            }
            match op {
                Op::Print(_) | Op::Log { .. } => {
                    return Err(SquashError::Data {
                        path: f.path.to_string(),
                        line: place.0,
                        col: place.1,
                        message: format!(
                            "{} in {}() writes output while the revision runs; aurora squash \
                             does not carry output statements into the squash revision, so it \
                             would be lost. Remove it, or end the squash range before this \
                             revision",
                            if matches!(op, Op::Print(_)) {
                                "print()"
                            } else {
                                "a logging call"
                            },
                            f.function
                        ),
                    });
                }
                Op::Execute(_) | Op::BulkInsert { .. } => {
                    return Err(SquashError::Data {
                        path: f.path.to_string(),
                        line: place.0,
                        col: place.1,
                        message: format!(
                            "{}() in {}(): aurora squash carries over data statements written as \
                             op.execute() of SQL text (a string or sa.text() without bound \
                             parameters) or op.bulk_insert() only; rewrite it as such, or end \
                             the squash range before this revision",
                            op.method_names().first().copied().unwrap_or("execute"),
                            f.function
                        ),
                    });
                }
                _ => {
                    if schema_seen.is_none() {
                        schema_seen = Some((
                            f.path.to_string(),
                            place.0,
                            place.1,
                            op.method_names().first().copied().unwrap_or("?"),
                            f.function.to_string(),
                        ));
                    }
                    if data_first {
                        continue;
                    }
                    if let Some((_, path, line, col)) = carried.first() {
                        return Err(SquashError::Data {
                            path: path.clone(),
                            line: *line,
                            col: *col,
                            message: format!(
                                "this data statement runs before a schema change at {}:{}:{} \
                                 ({}() in {}()); a squash runs every schema change first, so \
                                 the statement would see another schema. End the squash range \
                                 before the statement's revision, or start it after the schema \
                                 change",
                                f.path,
                                place.0,
                                place.1,
                                op.method_names().first().copied().unwrap_or("?"),
                                f.function
                            ),
                        });
                    }
                }
            }
        }
    }
    Ok(carried.into_iter().map(|(call, ..)| call).collect())
}

/// `op.bulk_insert(sa.table(...), [...], multiinsert=...)` with the same table clause and
/// rows, for the column types and values that have one plain Python spelling; otherwise what
/// has none.
fn render_bulk_insert(
    table: &crate::ops::TableClause,
    rows: &[Vec<(String, crate::ops::Literal)>],
    multiinsert: bool,
) -> Result<String, String> {
    use crate::ops::{Literal, SqlType};
    use crate::template::repr_str;
    let opt = |name: &str, v: &Option<u32>| v.map(|n| format!("{name}={n}"));
    let mut columns = Vec::new();
    for (name, ty) in &table.columns {
        let ty = match ty {
            SqlType::Integer => "sa.Integer()".to_string(),
            SqlType::BigInteger => "sa.BigInteger()".to_string(),
            SqlType::SmallInteger => "sa.SmallInteger()".to_string(),
            SqlType::String(n) => format!("sa.String({})", opt("length", n).unwrap_or_default()),
            SqlType::Text => "sa.Text()".to_string(),
            SqlType::Boolean { .. } => "sa.Boolean()".to_string(),
            SqlType::Float { precision } => format!(
                "sa.Float({})",
                opt("precision", precision).unwrap_or_default()
            ),
            SqlType::Numeric { precision, scale } => format!(
                "sa.Numeric({})",
                [opt("precision", precision), opt("scale", scale)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => return Err(format!("column {name} has the type {other:?}")),
        };
        columns.push(format!("sa.column({}, {ty})", repr_str(name)));
    }
    let mut dicts = Vec::new();
    for row in rows {
        let mut items = Vec::new();
        for (key, value) in row {
            let value = match value {
                Literal::Null => "None".to_string(),
                Literal::Bool(b) => if *b { "True" } else { "False" }.to_string(),
                Literal::Int(n) => n.to_string(),
                Literal::Float(repr) => repr.clone(),
                Literal::Str(s) => repr_str(s),
                other => return Err(format!("the value of {key} is {other:?}")),
            };
            items.push(format!("{}: {value}", repr_str(key)));
        }
        dicts.push(format!("{{{}}}", items.join(", ")));
    }
    let schema = table
        .schema
        .as_ref()
        .map(|s| format!(", schema={}", repr_str(s)))
        .unwrap_or_default();
    let columns = if columns.is_empty() {
        String::new()
    } else {
        format!(", {}", columns.join(", "))
    };
    Ok(format!(
        "op.bulk_insert(sa.table({}{columns}{schema}), [{}], multiinsert={})",
        repr_str(&table.name),
        dicts.join(", "),
        if multiinsert { "True" } else { "False" }
    ))
}

fn flatten<'a>(ops: &'a [Op], out: &mut Vec<&'a Op>) {
    for op in ops {
        match op {
            Op::Batch(batch) => flatten(&batch.ops, out),
            Op::Autocommit(inner) => flatten(inner, out),
            other => out.push(other),
        }
    }
}

/// An autogenerate body with the carried data statements after Alembic's end marker.
pub fn body_with_data(body: String, data: &[String]) -> String {
    if data.is_empty() {
        return body;
    }
    let mut out = body;
    out.push_str("\n    # ### data statements carried over by aurora squash, in order ###");
    for line in data {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

/// Writes `replaces = (...)` on the line after the module-level `down_revision` assignment of
/// a rendered revision file.
pub fn with_replaces(path: &str, text: &str, replaces: &[String]) -> Result<String, SquashError> {
    let (header, _) = crate::syntax::header::parse_header_module(path, text).map_err(|e| {
        SquashError::Render(format!(
            "{}: the rendered revision is not valid Python; check script.py.mako",
            e.message
        ))
    })?;
    let assignment = header.get("down_revision").ok_or_else(|| {
        SquashError::Render(format!(
            "{path}: script.py.mako rendered no module-level down_revision; aurora squash \
             writes replaces after it"
        ))
    })?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // The assignment ends on the first line from its start where brackets balance.
    let mut depth: i64 = 0;
    let mut last = assignment.span.line - 1;
    for (i, line) in lines.iter().enumerate().skip(assignment.span.line - 1) {
        for c in line.chars() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
        }
        last = i;
        if depth <= 0 {
            break;
        }
    }
    let quoted: Vec<String> = replaces
        .iter()
        .map(|r| crate::template::repr_str(r))
        .collect();
    let tuple = if quoted.len() == 1 {
        format!("({},)", quoted[0])
    } else {
        format!("({})", quoted.join(", "))
    };
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        if i == last {
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("replaces: tuple[str, ...] = {tuple}\n"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(id: &str, down: &[&str], replaces: &[&str]) -> Script {
        Script {
            revision: id.into(),
            down_revision: down.iter().map(|s| s.to_string()).collect(),
            dependencies: vec![],
            branch_labels: vec![],
            replaces: replaces.iter().map(|s| s.to_string()).collect(),
            path: PathBuf::from(format!("/v/{id}.py")),
            longdoc: String::new(),
            compile_hooks: Vec::new(),
            import_effects: Vec::new(),
        }
    }

    fn folder() -> Vec<Script> {
        vec![
            script("a1", &[], &[]),
            script("b2", &["a1"], &[]),
            script("c3", &["b2"], &[]),
            script("d4", &["c3"], &[]),
            script("e5", &["d4"], &[]),
            script("s9", &["a1"], &["b2", "c3", "d4"]),
        ]
    }

    fn chain(scripts: &[Script]) -> Vec<(String, Vec<String>)> {
        scripts
            .iter()
            .map(|s| (s.revision.clone(), s.down_revision.clone()))
            .collect()
    }

    #[test]
    fn squash_view_follows_the_squash() {
        let v = view(folder(), &BTreeSet::new());
        assert_eq!(
            chain(&v),
            vec![
                ("a1".into(), vec![]),
                ("e5".into(), vec!["s9".to_string()]),
                ("s9".into(), vec!["a1".to_string()]),
            ]
        );
    }

    #[test]
    fn replaced_view_is_the_old_chain() {
        let which = replaced_views(&folder(), &["c3".into()]).unwrap();
        assert_eq!(which, BTreeSet::from(["s9".to_string()]));
        let v = view(folder(), &which);
        assert_eq!(v.len(), 5);
        assert!(v.iter().all(|s| s.revision != "s9"));
        assert!(replaced_views(&folder(), &["e5".into(), "a1".into()])
            .unwrap()
            .is_empty());
        // Relative and labelled forms name a replaced revision too; keywords do not.
        assert_eq!(replaced_views(&folder(), &["d4".into()]).unwrap().len(), 1);
        assert_eq!(
            replaced_views(&folder(), &["c3+1".into()]).unwrap().len(),
            1
        );
        assert_eq!(
            replaced_views(&folder(), &["x@b2".into()]).unwrap().len(),
            1
        );
        assert!(replaced_views(&folder(), &["head".into(), "-1".into()])
            .unwrap()
            .is_empty());
        assert!(matches!(
            replaced_views(&folder(), &["s9".into(), "c3".into()]),
            Err(SquashError::Mixed { .. })
        ));
        let finalized: Vec<Script> = folder()
            .into_iter()
            .filter(|s| !["b2", "c3", "d4"].contains(&s.revision.as_str()))
            .collect();
        assert!(matches!(
            replaced_views(&finalized, &["c3".into()]),
            Err(SquashError::ReplacedFileGone { .. })
        ));
    }

    #[test]
    fn replaces_goes_after_a_multiline_down_revision() {
        let text = "\"\"\"x\"\"\"\nrevision = 's9'\ndown_revision = (\n    'a1',\n)\nbranch_labels = None\n";
        let out = with_replaces("x.py", text, &["b2".into(), "c3".into()]).unwrap();
        assert_eq!(
            out,
            "\"\"\"x\"\"\"\nrevision = 's9'\ndown_revision = (\n    'a1',\n)\nreplaces: tuple[str, ...] = ('b2', 'c3')\nbranch_labels = None\n"
        );
    }

    #[test]
    fn data_after_schema_is_carried_and_before_is_refused() {
        use crate::ops::Table;
        let create = Op::CreateTable(Table {
            name: "t".into(),
            ..Default::default()
        });
        let insert = Op::Execute(Executable::Sql("INSERT INTO t VALUES (1)".into()));
        let src = "def upgrade():\n    op.create_table('t')\n    op.execute('INSERT INTO t VALUES (1)')\n";
        let ok = [Lowered {
            path: "b.py",
            source: src,
            function: "upgrade",
            ops: &[create.clone(), insert.clone()],
        }];
        assert_eq!(
            data_statements(&ok, false).unwrap(),
            vec!["op.execute('INSERT INTO t VALUES (1)')".to_string()]
        );
        let src2 = "def upgrade():\n    op.create_table('t2')\n";
        let bad = [
            ok[0].clone_ref(),
            Lowered {
                path: "c.py",
                source: src2,
                function: "upgrade",
                ops: std::slice::from_ref(&create),
            },
        ];
        let err = data_statements(&bad, false).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "b.py:3:5: this data statement runs before a schema change at c.py:2:5"
            ),
            "{err}"
        );
        // Downgrades: data first is fine, data after a schema change is not.
        let down = "def downgrade():\n    op.execute('DELETE FROM t')\n    op.drop_table('t')\n";
        let drop = Op::DropTable {
            name: "t".into(),
            schema: None,
            if_exists: false,
        };
        let delete = Op::Execute(Executable::Sql("DELETE FROM t".into()));
        let ops = [delete.clone(), drop.clone()];
        let first = [Lowered {
            path: "d.py",
            source: down,
            function: "downgrade",
            ops: &ops,
        }];
        assert_eq!(data_statements(&first, true).unwrap().len(), 1);
        let late = [drop];
        let late_src = "def downgrade():\n    op.drop_table('t')\n";
        let later = [
            Lowered {
                path: "e.py",
                source: late_src,
                function: "downgrade",
                ops: &late,
            },
            first[0].clone_ref(),
        ];
        let err = data_statements(&later, true).unwrap_err().to_string();
        assert!(
            err.starts_with("d.py:2:5: this data statement in downgrade() runs after a schema change at e.py:2:5"),
            "{err}"
        );
    }

    #[test]
    fn bulk_insert_is_written_back_or_refused_with_what_has_no_spelling() {
        use crate::ops::{Literal, SqlType, TableClause};
        let table = TableClause {
            name: "t".into(),
            schema: Some("s".into()),
            columns: vec![
                ("id".into(), SqlType::Integer),
                (
                    "p".into(),
                    SqlType::Numeric {
                        precision: Some(10),
                        scale: Some(2),
                    },
                ),
            ],
        };
        let rows = vec![vec![
            ("id".to_string(), Literal::Int(1)),
            ("p".to_string(), Literal::Float("1.5".into())),
        ]];
        assert_eq!(
            render_bulk_insert(&table, &rows, false).unwrap(),
            "op.bulk_insert(sa.table('t', sa.column('id', sa.Integer()), sa.column('p', \
             sa.Numeric(precision=10, scale=2)), schema='s'), [{'id': 1, 'p': 1.5}], \
             multiinsert=False)"
        );
        let dated = vec![vec![("id".to_string(), Literal::Date(2024, 1, 2))]];
        assert_eq!(
            render_bulk_insert(&table, &dated, true).unwrap_err(),
            "the value of id is Date(2024, 1, 2)"
        );
    }

    impl Lowered<'_> {
        fn clone_ref(&self) -> Lowered<'_> {
            Lowered {
                path: self.path,
                source: self.source,
                function: self.function,
                ops: self.ops,
            }
        }
    }
}
