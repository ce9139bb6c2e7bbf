//! Helpers shared by the CLI tests that run the binary against SQLite and the test
//! PostgreSQL server.

use aurora::db::{self, DatabaseUrl};

/// The test server's superuser URL (`AURORA_TEST_POSTGRES_URL`). Without one the PostgreSQL
/// half of a test says it did not run; under `CI=true` that is a failure instead.
pub fn pg_base() -> Option<String> {
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

/// Drops and creates the database `name` on the server of `base`; returns its URL.
pub fn fresh_pg_database(base: &str, name: &str) -> String {
    let mut admin = db::connect(&DatabaseUrl::parse(base).unwrap()).unwrap();
    admin
        .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin.execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}
