//! `[aurora] journal = true` for online runs, and `aurora journal`
//! (the rows of `aurora_journal`; see `crate::journal`).

use super::environment;
use super::output::Output;
use super::project::Project;
use super::CliError;
use crate::journal::{COLUMNS, HOLDER_COLUMN};

/// `aurora journal [--format json]`.
pub fn journal(project: &mut Project, out: &mut Output) -> Result<(), CliError> {
    let command = environment::command_line("journal", false, None, None);
    environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |_project, out, context, conn, _| {
            let conn = conn.ok_or_else(|| {
                CliError::Crash("journal ran without a database connection".into())
            })?;
            let rows = crate::journal::read(conn, context.version_table.schema.as_deref())
                .map_err(|e| CliError::Crash(e.to_string()))?;
            if rows.is_none() && !out.json {
                out.warn("no aurora_journal table here: the journal is off ([aurora] journal = true) or no run wrote to it yet");
            }
            let rows = rows.unwrap_or_default();
            if out.json {
                let names: Vec<&str> = COLUMNS.iter().copied().chain([HOLDER_COLUMN]).collect();
                let list: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let mut object = serde_json::Map::new();
                        for (name, value) in names.iter().zip(&r.values) {
                            let v = match (*name, value) {
                                (_, None) => serde_json::Value::Null,
                                ("id", Some(v)) => v
                                    .parse::<i64>()
                                    .map(serde_json::Value::from)
                                    .unwrap_or_else(|_| serde_json::Value::from(v.as_str())),
                                (_, Some(v)) => serde_json::Value::from(v.as_str()),
                            };
                            object.insert(name.to_string(), v);
                        }
                        serde_json::Value::Object(object)
                    })
                    .collect();
                let doc = serde_json::json!({ "journal": list });
                out.print(&serde_json::to_string_pretty(&doc).unwrap_or_default());
                return Ok(());
            }
            for r in &rows {
                let v = |i: usize| r.values.get(i).cloned().flatten().unwrap_or_default();
                let revision = r.values[2].clone().unwrap_or_else(|| "-".into());
                out.print(&format!(
                    "{:>4}  {}  {:<9} {:<14} {:<8}  {} -> {}  {}@{}  {}",
                    v(0),
                    v(5),
                    v(1),
                    revision,
                    v(7),
                    if v(3).is_empty() {
                        "<base>".into()
                    } else {
                        v(3)
                    },
                    if v(4).is_empty() {
                        "<base>".into()
                    } else {
                        v(4)
                    },
                    v(11),
                    v(12),
                    v(13),
                ));
                if let Some(error) = &r.values[8] {
                    for line in error.lines() {
                        out.print(&format!("      error: {line}"));
                    }
                }
            }
            Ok(())
        },
    )
}
