//! PostgreSQL online cases recorded from the reference Alembic by
//! `scripts/record-pg-online.py`: each folder of `tests/fixtures/pg_online`
//! holds a project, its `commands.txt` and `steps.json` (exit status,
//! standard output and the server's state after every step, in the
//! conformance corpus' format). They are replayed by the corpus checker
//! itself (`../shared/conformance/check`), which gives each case a fresh
//! database on the test server and reads its state with `psql`, so a case
//! here is judged exactly as a `pg_online__` case of the corpus is.
//!
//! Reads `AURORA_TEST_POSTGRES_URL` (see `scripts/start-postgres.sh`): without
//! it the test fails when `CI=true` and otherwise says NOT RUN.

use std::path::Path;
use std::process::Command;

#[test]
fn recorded_pg_online_cases_replay() {
    let url = match std::env::var("AURORA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("AURORA_TEST_POSTGRES_URL is not set in CI: start the server with scripts/start-postgres.sh");
            }
            eprintln!("NOT RUN on PostgreSQL: AURORA_TEST_POSTGRES_URL is not set");
            return;
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("../shared/conformance/check"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_aurora"))
        .arg("--cases")
        .arg(root.join("tests/fixtures/pg_online"))
        .args(["--jobs", "1", "--verbose"])
        .env("CONFORMANCE_PG_URL", &url)
        .output()
        .expect("python3 runs the conformance checker");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("SKIP"),
        "recorded PostgreSQL cases differ:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
