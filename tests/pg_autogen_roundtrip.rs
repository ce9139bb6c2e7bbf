//! Autogenerate on PostgreSQL against the reference Alembic: every public
//! `autogen__` case of `../shared/conformance/cases`, and each case of
//! `tests/fixtures/pg_autogen` (written for PostgreSQL: timezone-aware timestamps, enum
//! classes, `func.now()` defaults, column and table comments, `include_schemas=True` with
//! tables in several schemas), is replayed on the real
//! server, once with Alembic and once with aurora, each on a fresh database
//! of its own, and every step must give the same exit status, the same
//! stdout and the same generated files (`Create Date` aside).
//!
//! Needs `AURORA_TEST_POSTGRES_URL` (scripts/start-postgres.sh), the
//! reference Alembic (`AURORA_REFERENCE_ALEMBIC`, as `.ci/run` sets it, else
//! `alembic` on PATH) and `../shared`; without them it says it did not run,
//! and fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use aurora::db::{self, DatabaseUrl};

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn not_run(why: &str) {
    assert!(!ci(), "{why}");
    eprintln!("NOT RUN: {why}");
}

fn reference_alembic() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AURORA_REFERENCE_ALEMBIC") {
        return Some(PathBuf::from(path));
    }
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|dir| Path::new(dir).join("alembic"))
        .find(|p| p.is_file())
}

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

fn fresh_database(base: &str, name: &str) -> String {
    let mut admin = db::connect(&DatabaseUrl::parse(base).unwrap()).unwrap();
    admin
        .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin.execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (head, _) = base.split('?').next().unwrap().rsplit_once('/').unwrap();
    format!("{head}/{name}")
}

/// What one step did: exit status, stdout (project path as `{here}`), the
/// files the recording lists (with `Create Date` blanked).
type Outcome = (i32, String, Vec<(String, Option<String>)>);

fn replay(program: &Path, dir: &Path, steps: &[serde_json::Value]) -> Vec<Outcome> {
    let here = dir.to_str().unwrap();
    steps
        .iter()
        .map(|step| {
            let args: Vec<&str> = step["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let out = Command::new(program)
                .args(&args)
                .current_dir(dir)
                .output()
                .unwrap();
            let mut files = Vec::new();
            if let Some(map) = step.get("files").and_then(|f| f.as_object()) {
                for name in map.keys() {
                    let text = std::fs::read_to_string(dir.join(name)).ok().map(|t| {
                        t.lines()
                            .map(|l| {
                                if l.starts_with("Create Date: ") {
                                    "Create Date: -"
                                } else {
                                    l
                                }
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    });
                    files.push((name.clone(), text));
                }
            }
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).replace(here, "{here}"),
                files,
            )
        })
        .collect()
}

#[test]
fn public_autogen_cases_replayed_on_postgresql_match_alembic() {
    let Ok(base) = std::env::var("AURORA_TEST_POSTGRES_URL") else {
        return not_run("AURORA_TEST_POSTGRES_URL is not set");
    };
    let Some(alembic) = reference_alembic() else {
        return not_run("no reference alembic (set AURORA_REFERENCE_ALEMBIC)");
    };
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/cases");
    let Ok(entries) = std::fs::read_dir(&cases_dir) else {
        return not_run("../shared/conformance/cases is missing");
    };
    let mut cases: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("autogen__"))
        })
        .collect();
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pg_autogen");
    cases.extend(
        std::fs::read_dir(own)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("steps.json").is_file()),
    );
    cases.sort();
    assert!(!cases.is_empty());
    let aurora = PathBuf::from(env!("CARGO_BIN_EXE_aurora"));
    let tmp = tempfile::tempdir().unwrap();
    let mut differing = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_str().unwrap().to_string();
        let steps: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(case.join("steps.json")).unwrap())
                .unwrap();
        let mut outcomes = Vec::new();
        for (who, program) in [("alembic", &alembic), ("aurora", &aurora)] {
            let dir = tmp.path().join(format!("{name}_{who}"));
            copy_dir(&case.join("project"), &dir);
            let short = name.strip_prefix("autogen__").unwrap_or(&name);
            let db_name = format!("rt_{short}_{who}");
            let url = fresh_database(&base, &db_name).replacen(
                "postgresql://",
                "postgresql+psycopg2://",
                1,
            );
            let ini = std::fs::read_to_string(dir.join("alembic.ini")).unwrap();
            let ini: Vec<String> = ini
                .lines()
                .map(|l| {
                    if l.starts_with("sqlalchemy.url") {
                        format!("sqlalchemy.url = {url}")
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            std::fs::write(dir.join("alembic.ini"), ini.join("\n") + "\n").unwrap();
            outcomes.push(replay(program, &dir, &steps));
        }
        for (i, (a, b)) in outcomes[0].iter().zip(&outcomes[1]).enumerate() {
            if a != b {
                differing.push(format!(
                    "{name} step {}: alembic {a:?}\naurora {b:?}",
                    i + 1
                ));
                break;
            }
        }
    }
    eprintln!(
        "{} of {} autogen cases match Alembic on PostgreSQL",
        cases.len() - differing.len(),
        cases.len()
    );
    assert!(differing.is_empty(), "{}", differing.join("\n\n"));
}

/// A generated column whose nullability differs between the models and the database:
/// Alembic ignores the change or not depending on whether the model gave `nullable=`,
/// which aurora's models do not record, so aurora refuses (`FAILED:`, exit status 255)
/// before writing anything.
#[test]
fn generated_column_nullability_change_is_refused_before_anything_is_written() {
    let Ok(base) = std::env::var("AURORA_TEST_POSTGRES_URL") else {
        not_run("AURORA_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_database(&base, "aurora_computed_nullable");
    let mut conn = db::connect(&DatabaseUrl::parse(&url).unwrap()).unwrap();
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, \
         twice INTEGER GENERATED ALWAYS AS (qty * 2) STORED)",
    )
    .unwrap();
    drop(conn);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let init = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["init", "m"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(init.status.success());
    let ini = std::fs::read_to_string(root.join("alembic.ini")).unwrap();
    let ini: Vec<String> = ini
        .lines()
        .map(|l| {
            if l.starts_with("sqlalchemy.url") {
                format!("sqlalchemy.url = {}", url.replace('%', "%%"))
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(root.join("alembic.ini"), ini.join("\n") + "\n").unwrap();
    std::fs::write(
        root.join("models.py"),
        "import sqlalchemy as sa\nmetadata = sa.MetaData()\nsa.Table('t', metadata, sa.Column('id', sa.Integer, primary_key=True), \
         sa.Column('qty', sa.Integer, nullable=False), \
         sa.Column('twice', sa.Integer, sa.Computed('qty * 2'), nullable=False))\n",
    )
    .unwrap();
    let env = std::fs::read_to_string(root.join("m/env.py")).unwrap();
    let env = env
        .replace(
            "target_metadata = None",
            "import sys\nsys.path.insert(0, config.get_main_option('here') or '.')\nfrom models import metadata as target_metadata",
        )
        ;
    std::fs::write(root.join("m/env.py"), env).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["revision", "--autogenerate", "-m", "x"])
        .current_dir(root)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stderr = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains(
            "generated column 't.twice' is NOT NULL in the models and NULL in the database"
        ),
        "{stderr}"
    );
    let written = std::fs::read_dir(root.join("m/versions")).unwrap().count();
    assert_eq!(written, 0, "no revision file may be written");
}
