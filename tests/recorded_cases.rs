//! Cases recorded from the reference Alembic by `scripts/record-cases.py`:
//! each folder of `tests/fixtures/recorded` holds a project, its steps
//! (`case.json`) and what Alembic did (`expected.json`: exit status,
//! standard output, `alembic_version` rows after the step). The same steps
//! are replayed here against the built binary, in a copy of the project.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn version_rows(db: &Path) -> Json {
    if !db.exists() {
        return Json::Null;
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let Ok(mut stmt) = conn.prepare("SELECT version_num FROM alembic_version") else {
        return Json::Null;
    };
    let mut rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    Json::Array(rows.into_iter().map(Json::String).collect())
}

/// Replays one case; returns the differences found (empty when it matches).
fn replay(case: &Path) -> (usize, Vec<String>) {
    let expected: Vec<Json> =
        serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).unwrap())
            .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    copy_dir(&case.join("project"), &project);
    let db = project.join("test.db");
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let mut failures = Vec::new();
    let mut commands = 0;
    for (i, step) in expected.iter().enumerate() {
        if let Some(sql) = step["sql"].as_str() {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.execute_batch(sql).unwrap();
            continue;
        }
        commands += 1;
        let args: Vec<String> = step["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let output = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(&args)
            .current_dir(&project)
            .env_remove("DATABASE_URL")
            .env("AURORA_CACHE_DIR", tmp.path().join("cache"))
            .output()
            .unwrap();
        let stdout =
            String::from_utf8_lossy(&output.stdout).replace(project.to_str().unwrap(), "{{here}}");
        let code = output.status.code().unwrap_or(-1);
        let mut problems = Vec::new();
        if Some(i64::from(code)) != step["exit"].as_i64() {
            problems.push(format!("exit {code}, Alembic {}", step["exit"]));
        }
        if stdout != step["stdout"].as_str().unwrap() {
            problems.push(format!(
                "stdout:\n{stdout}\nAlembic:\n{}",
                step["stdout"].as_str().unwrap()
            ));
        }
        let rows = version_rows(&db);
        if rows != step["versions"] {
            problems.push(format!("versions {rows}, Alembic {}", step["versions"]));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name} step {i} `{}`: {}\nstderr: {}",
                args.join(" "),
                problems.join("; "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    (commands, failures)
}

#[test]
fn recorded_cases_match_alembic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 2, "no recorded cases in {}", root.display());
    let mut total = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let (commands, problems) = replay(case);
        total += commands;
        failures.extend(problems);
    }
    println!(
        "{} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
