//! `--format json`: the read-only commands as one JSON document on stdout,
//! for scripts and CI. The schemas are documented in docs/json-output.md and
//! stay stable; text output is untouched (byte-identical to Alembic's).

use serde_json::{json, Value};

use super::{Catch, CliError, Output, Project};
use crate::graph::{IterateOptions, RevisionMap};

/// The schema version every document carries as `"aurora_json"`.
pub const SCHEMA_VERSION: u32 = 1;

/// One revision: what its header says and where it sits in the graph.
pub fn revision(map: &RevisionMap, i: usize) -> Value {
    let rev = map.get(i);
    let script = &rev.script;
    let mut labels: Vec<&str> = rev.branch_labels.iter().map(|l| l.as_ref()).collect();
    labels.sort_unstable();
    json!({
        "revision": rev.id(),
        "down_revisions": script.down_revision,
        "dependencies": script.dependencies,
        "branch_labels": labels,
        "message": script.doc(),
        "path": script.path.to_string_lossy(),
        "is_head": rev.is_head(),
        "is_base": rev.is_base(),
        "is_branch_point": rev.is_branch_point(),
        "is_merge_point": rev.is_merge_point(),
    })
}

fn document(command: &str, mut body: serde_json::Map<String, Value>) -> String {
    let mut doc = serde_json::Map::new();
    doc.insert("aurora_json".into(), json!(SCHEMA_VERSION));
    doc.insert("command".into(), json!(command));
    doc.append(&mut body);
    serde_json::to_string_pretty(&Value::Object(doc)).expect("JSON of plain values")
}

fn print(out: &mut Output, command: &str, body: Value) {
    let Value::Object(body) = body else {
        unreachable!("bodies are objects")
    };
    out.print(&document(command, body));
}

/// `heads --format json`.
pub fn heads(out: &mut Output, map: &RevisionMap, heads: &[usize]) {
    let heads: Vec<Value> = heads.iter().map(|&h| revision(map, h)).collect();
    print(out, "heads", json!({ "heads": heads }));
}

/// `branches --format json`: each branch point with the ids of its children.
pub fn branches(out: &mut Output, map: &RevisionMap, points: &[usize]) {
    let points: Vec<Value> = points
        .iter()
        .map(|&i| {
            let mut value = revision(map, i);
            let children: Vec<&str> = map.get(i).nextrev.iter().map(|&c| map.id(c)).collect();
            value["children"] = json!(children);
            value
        })
        .collect();
    print(out, "branches", json!({ "branch_points": points }));
}

/// `history --format json`, newest first as the text prints it; with `-i`
/// each revision says whether the database is at it.
pub fn history(
    out: &mut Output,
    map: &RevisionMap,
    revisions: &[usize],
    currents: Option<&[String]>,
) {
    let revisions: Vec<Value> = revisions
        .iter()
        .map(|&i| {
            let mut value = revision(map, i);
            if let Some(currents) = currents {
                value["is_current"] = json!(currents.iter().any(|c| c == map.id(i)));
            }
            value
        })
        .collect();
    print(out, "history", json!({ "revisions": revisions }));
}

/// `show REV --format json`.
pub fn show(out: &mut Output, map: &RevisionMap, revisions: &[usize]) {
    let revisions: Vec<Value> = revisions.iter().map(|&i| revision(map, i)).collect();
    print(out, "show", json!({ "revisions": revisions }));
}

/// `current --format json`: the database's `alembic_version` rows, each with
/// its revision when the scripts know it, and whether all heads are applied.
pub fn current(out: &mut Output, map: &RevisionMap, rows: &[String]) {
    let mut sorted = rows.to_vec();
    sorted.sort();
    let revisions: Vec<Value> = sorted
        .iter()
        .map(|row| match map.index_of(row) {
            Some(i) => revision(map, i),
            None => json!({ "revision": row, "unknown": true }),
        })
        .collect();
    let mut script_heads: Vec<&str> = map.heads.iter().map(|&h| map.id(h)).collect();
    script_heads.sort_unstable();
    let at_heads = sorted
        .iter()
        .map(String::as_str)
        .eq(script_heads.iter().copied());
    print(
        out,
        "current",
        json!({
            "rows": sorted,
            "revisions": revisions,
            "heads": script_heads,
            "at_heads": at_heads,
        }),
    );
}

/// `status --format json`: the rows, the heads, and the revisions an
/// `upgrade heads` would apply, in the order it would apply them.
pub fn status(out: &mut Output, project: &mut Project, rows: &[String]) -> Result<(), CliError> {
    let catch = Catch::default();
    let map = project.map(&catch)?;
    // Everything an `upgrade heads` reaches, in its order (bases first),
    // less what the rows already stand for (a row and all its ancestors).
    let options = IterateOptions {
        inclusive: true,
        implicit_base: true,
        assert_relative_length: false,
        ..Default::default()
    };
    let mut pending = map
        .iterate_revisions(&["heads".to_string()], &["base".to_string()], options)
        .map_err(|e| catch.word(e))?;
    let applied_rows = map.get_revisions_many(rows).map_err(|e| catch.word(e))?;
    let applied_rows: Vec<usize> = applied_rows.into_iter().flatten().collect();
    let applied = map.ancestor_set(&applied_rows, true);
    pending.retain(|&i| !applied[i]);
    pending.reverse();
    let mut sorted = rows.to_vec();
    sorted.sort();
    let mut script_heads: Vec<&str> = map.heads.iter().map(|&h| map.id(h)).collect();
    script_heads.sort_unstable();
    let pending: Vec<Value> = pending.iter().map(|&i| revision(map, i)).collect();
    print(
        out,
        "status",
        json!({
            "rows": sorted,
            "heads": script_heads,
            "pending": pending,
        }),
    );
    Ok(())
}

/// `check --format json`: whether the models match the database, and each
/// difference `alembic check` would list. The exit status stays `check`'s:
/// 0 when up to date, 255 (with the FAILED line on stderr) when not.
pub fn check(out: &mut Output, diffs: &[crate::autogen::diff::DiffItem]) {
    let diffs: Vec<Value> = diffs
        .iter()
        .map(|d| json!({ "kind": d.kind, "table": d.table, "repr": d.repr }))
        .collect();
    print(
        out,
        "check",
        json!({ "up_to_date": diffs.is_empty(), "diffs": diffs }),
    );
}

/// `drift --format json`.
pub fn drift(
    out: &mut Output,
    heads: &[String],
    diffs: &[crate::autogen::diff::DiffItem],
    operations: &[String],
) {
    let diffs: Vec<Value> = diffs
        .iter()
        .map(|d| json!({ "kind": d.kind, "table": d.table, "repr": d.repr }))
        .collect();
    print(
        out,
        "drift",
        json!({
            "in_sync": diffs.is_empty(),
            "heads": heads,
            "diffs": diffs,
            "operations": operations,
        }),
    );
}
