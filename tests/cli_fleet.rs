//! `aurora fleet` against the real binary: SQLite databases, and schemas of
//! the PostgreSQL server of `scripts/start-postgres.sh`
//! (`AURORA_TEST_POSTGRES_URL`; required when `CI=true`).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use aurora::db::{self, DatabaseUrl, Value};

const AURORA: &str = env!("CARGO_BIN_EXE_aurora");

fn pg_base() -> Option<String> {
    match std::env::var("AURORA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("AURORA_TEST_POSTGRES_URL is not set in CI: start the server with scripts/start-postgres.sh");
            }
            eprintln!("NOT RUN on PostgreSQL: AURORA_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(AURORA)
        .args(args)
        .current_dir(dir)
        .env("AURORA_CACHE_DIR", dir.join("cache"))
        .env_remove("AURORA_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A project with revisions r1 (creates table a) and r2 (creates table b).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["init", "alembic"]).status.success());
    for (rev, table) in [("r1", "a"), ("r2", "b")] {
        assert!(run(dir.path(), &["revision", "-m", rev, "--rev-id", rev])
            .status
            .success());
        let file = dir.path().join(format!("alembic/versions/{rev}_{rev}.py"));
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.replacen(
            "    pass",
            &format!("    op.create_table('{table}', sa.Column('id', sa.Integer))"),
            1,
        );
        std::fs::write(&file, text).unwrap();
    }
    dir
}

fn versions(url: &str, schema: Option<&str>) -> Vec<String> {
    let mut conn = db::connect(&DatabaseUrl::parse(url).unwrap()).unwrap();
    if !conn.table_exists(schema, "alembic_version").unwrap() {
        return Vec::new();
    }
    let table = match schema {
        Some(s) => format!("{s}.alembic_version"),
        None => "alembic_version".into(),
    };
    conn.query(&format!("SELECT version_num FROM {table}"))
        .unwrap()
        .into_iter()
        .map(|r| match &r[0] {
            Value::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn sqlite_fleet_upgrade_failures_resume_and_fail_fast() {
    let p = project();
    let dir = p.path();
    let urls: Vec<String> = (1..=4)
        .map(|i| format!("sqlite:///{}", dir.join(format!("t{i}.db")).display()))
        .collect();
    let bad = "sqlite:////nonexistent-dir/x.db";
    std::fs::write(
        dir.join("targets.txt"),
        format!(
            "# tenants\n{}\n\n{bad}\n  {}\n",
            urls[..3].join("\n"),
            urls[3]
        ),
    )
    .unwrap();
    let out = run(
        dir,
        &["fleet", "targets.txt", "--jobs", "2", "upgrade", "head"],
    );
    assert!(!out.status.success(), "{out:?}");
    for url in &urls {
        assert_eq!(versions(url, None), ["r2"], "{url}");
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert_eq!(lines[7], "FAILED: 1 of 5 targets failed");
    assert!(lines[0].starts_with("target"), "{text}");
    assert!(lines[1].contains("t1.db") && lines[1].contains("<base>") && lines[1].contains(" r2 "));
    assert!(
        lines[4].contains("nonexistent-dir") && lines[4].contains("failed"),
        "{text}"
    );
    assert!(lines[6].starts_with("5 targets, 1 failed"), "{text}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("nonexistent-dir/x.db failed:"), "{stderr}");

    // --resume: the four at head are skipped, the bad one still fails.
    let out = run(
        dir,
        &[
            "--format",
            "json",
            "fleet",
            "targets.txt",
            "--resume",
            "upgrade",
            "head",
        ],
    );
    assert!(!out.status.success());
    let doc = json(&out);
    let outcomes: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["skipped", "skipped", "skipped", "failed", "skipped"]
    );
    assert_eq!(doc["failed"], 1);

    // A command that works everywhere exits 0; `current` prints each head.
    std::fs::write(dir.join("good.txt"), urls.join("\n")).unwrap();
    let out = run(dir, &["--format", "json", "fleet", "good.txt", "current"]);
    assert!(out.status.success(), "{out:?}");
    let doc = json(&out);
    for t in doc["targets"].as_array().unwrap() {
        assert_eq!(t["stdout"], "r2 (head)\n");
        assert_eq!(t["from"], serde_json::json!(["r2"]));
    }

    // --fail-fast at --jobs 1: the targets after the failure are not run.
    let fresh: Vec<String> = (5..=6)
        .map(|i| format!("sqlite:///{}", dir.join(format!("t{i}.db")).display()))
        .collect();
    std::fs::write(dir.join("ff.txt"), format!("{bad}\n{}", fresh.join("\n"))).unwrap();
    let out = run(
        dir,
        &[
            "--format",
            "json",
            "fleet",
            "ff.txt",
            "--fail-fast",
            "upgrade",
            "head",
        ],
    );
    assert!(!out.status.success());
    let doc = json(&out);
    let outcomes: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "not run", "not run"]);
    assert!(!dir.join("t5.db").exists());

    // A line that is neither a URL nor schema=NAME: its file:line:col, nothing run.
    std::fs::write(dir.join("bad.txt"), format!("{}\n   oops\n", fresh[0])).unwrap();
    let out = run(dir, &["fleet", "bad.txt", "upgrade", "head"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stdout).unwrap();
    assert!(
        stderr.contains("FAILED: bad.txt:2:4: not a database URL"),
        "{stderr}"
    );
    assert!(!dir.join("t5.db").exists());
    std::fs::write(dir.join("schema.txt"), "schema=t1\n").unwrap();
    let out = run(dir, &["fleet", "schema.txt", "current"]);
    let stderr = String::from_utf8(out.stdout).unwrap();
    assert!(
        stderr.contains("schema.txt:1:1: schema=t1 needs the database URL: pass --url URL"),
        "{stderr}"
    );
}

#[test]
fn postgres_schema_per_tenant_fleet_masks_passwords() {
    let Some(base) = pg_base() else { return };
    let p = project();
    let dir = p.path();
    let mut admin = db::connect(&DatabaseUrl::parse(&base).unwrap()).unwrap();
    admin
        .execute("DROP DATABASE IF EXISTS fleet_tenants WITH (FORCE)")
        .unwrap();
    admin.execute("CREATE DATABASE fleet_tenants").unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/fleet_tenants");
    let mut conn = db::connect(&DatabaseUrl::parse(&url).unwrap()).unwrap();
    for t in ["t1", "t2", "t3"] {
        conn.execute(&format!("CREATE SCHEMA {t}")).unwrap();
    }
    // The catalog lists the tenants.
    conn.execute("CREATE TABLE tenants (name TEXT)").unwrap();
    conn.execute("INSERT INTO tenants VALUES ('schema=t1'), ('schema=t2'), ('schema=t3')")
        .unwrap();
    let parsed = DatabaseUrl::parse(&url).unwrap();
    let password = parsed.password().unwrap_or_default().to_string();
    assert!(!password.is_empty(), "the test server has a password");

    let out = run(
        dir,
        &[
            "fleet",
            "--targets-from-sql",
            "SELECT name FROM tenants ORDER BY name",
            &url,
            "--url",
            &url,
            "--jobs",
            "3",
            "upgrade",
            "head",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    for t in ["t1", "t2", "t3"] {
        assert_eq!(versions(&url, Some(t)), ["r2"], "{t}");
    }
    assert!(versions(&url, None).is_empty());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("***@") && text.contains("schema=t2"),
        "{text}"
    );
    assert!(!text.contains(&password), "{text}");

    // A failing target (a schema that does not exist): masked everywhere.
    std::fs::write(dir.join("t.txt"), "schema=t1\nschema=missing\n").unwrap();
    let out = run(
        dir,
        &[
            "--format", "json", "fleet", "t.txt", "--url", &url, "--resume", "upgrade", "head",
        ],
    );
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(&password), "{all}");
    let doc = json(&out);
    assert_eq!(doc["targets"][0]["outcome"], "skipped");
    assert_eq!(doc["targets"][1]["outcome"], "failed");
}
