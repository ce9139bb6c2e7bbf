//! The database layer on a real PostgreSQL server, started by
//! `scripts/start-postgres.sh`, which exports `AURORA_TEST_POSTGRES_URL`.
//! Without that variable these tests fail when `CI=true` and otherwise say
//! that they did not run.
//!
//! Each test works in a schema of its own, put first on the search path
//! through the URL's `options=-csearch_path=...`, so tests run in parallel.

mod db_support;

use aurora::db::{
    self, Connection, DatabaseUrl, DbError, RunError, RunOptions, RunStatement, Value,
};
use aurora::sql::version::VersionTable;
use db_support::*;

/// The server's URL, or `None` (after saying so) when tests should skip.
fn server_url() -> Option<String> {
    match std::env::var("AURORA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("AURORA_TEST_POSTGRES_URL is not set in CI: start the server with scripts/start-postgres.sh");
            }
            eprintln!(
                "NOT RUN: PostgreSQL test skipped, AURORA_TEST_POSTGRES_URL is not set \
                 (run scripts/start-postgres.sh and source its env file)"
            );
            None
        }
    }
}

/// The URL with `extra` appended to its query.
fn with_query(url: &str, extra: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{extra}")
}

/// A connection whose search path starts with a fresh schema named after the test.
fn fresh(test: &str) -> Option<Box<dyn Connection>> {
    let base = server_url()?;
    let schema = format!("t_{test}");
    let mut admin =
        db::connect(&DatabaseUrl::parse(&base).unwrap()).expect("connect to the test server");
    admin
        .execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
    let url = with_query(&base, &format!("options=-csearch_path%3D{schema}"));
    Some(db::connect(&DatabaseUrl::parse(&url).unwrap()).expect("connect with a search path"))
}

macro_rules! on_server {
    ($($name:ident),* $(,)?) => {
        $(#[test]
        fn $name() {
            let Some(mut conn) = fresh(stringify!($name)) else { return };
            db_support::$name(&mut *conn);
        })*
    };
}

on_server!(
    current_never_creates_the_table,
    version_table_lifecycle,
    row_count_errors_report_the_count,
    run_applies_steps_and_logs,
    run_without_steps_creates_the_version_table,
    version_mismatch_rolls_back_the_step,
    render_error_is_reported,
    render_sees_earlier_steps,
    purge_option_empties_the_table,
    revision_output_follows_its_statements,
);

#[test]
fn failing_step_is_rolled_back_whole() {
    let Some(mut conn) = fresh("failing_step_is_rolled_back_whole") else {
        return;
    };
    db_support::failing_step_is_rolled_back_whole(
        &mut *conn,
        RunOptions {
            transaction_per_migration: true,
            purge: false,
            ..Default::default()
        },
    );
}

/// Without `transaction_per_migration`, Alembic runs the whole PostgreSQL
/// migration in one transaction: a failure undoes every step, and even the
/// version table made for it.
#[test]
fn without_transaction_per_migration_the_run_is_one_transaction() {
    let Some(mut conn) = fresh("one_transaction") else {
        return;
    };
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one"), upgrade("r2", Some("r1"), "two")];
    let bodies = [
        vec![sql("CREATE TABLE one (id INTEGER)")],
        vec![sql("CREATE TABLE two (id INTEGER)"), sql("SELECT 1/0")],
    ];
    let (_, result) = run(&mut *conn, &table, &steps, &bodies, RunOptions::default());
    match result {
        Err(RunError::Statement { step, error, .. }) => {
            assert_eq!(step, "upgrade r1 -> r2");
            assert_eq!(error.to_string(), "division by zero\n[SQL: SELECT 1/0]");
        }
        other => panic!("expected a statement error, got {other:?}"),
    }
    assert!(!has_table(&mut *conn, "one") && !has_table(&mut *conn, "two"));
    assert!(!has_table(&mut *conn, "alembic_version"));
}

/// With `transaction_per_migration`, Alembic creates the version table in
/// the connection's implicit transaction, which the first step joins: a run
/// with nothing to do leaves no table (the connection closes without a
/// commit), and a failing first step takes the new table with it.
#[test]
fn per_migration_version_table_joins_the_first_step() {
    let Some(mut conn) = fresh("tpm_version_table") else {
        return;
    };
    let table = VersionTable::default();
    let tpm = RunOptions {
        transaction_per_migration: true,
        purge: false,
        recheck_heads: None,
        context_logged: false,
    };
    let (log, result) = run(&mut *conn, &table, &[], &[], tpm.clone());
    result.unwrap();
    assert_eq!(log.len(), 2);
    assert!(!has_table(&mut *conn, "alembic_version"));

    let steps = [upgrade("r1", None, "one")];
    let bodies = [vec![
        sql("CREATE TABLE one (id INTEGER)"),
        sql("SELECT 1/0"),
    ]];
    let (_, result) = run(&mut *conn, &table, &steps, &bodies, tpm.clone());
    assert!(
        matches!(result, Err(RunError::Statement { .. })),
        "{result:?}"
    );
    assert!(!has_table(&mut *conn, "alembic_version"));
    assert!(!has_table(&mut *conn, "one"));

    let bodies = [vec![sql("CREATE TABLE one (id INTEGER)")]];
    let (_, result) = run(&mut *conn, &table, &steps, &bodies, tpm);
    result.unwrap();
    assert_eq!(heads(&mut *conn, &table), ["r1"]);
}

/// `CREATE INDEX CONCURRENTLY` cannot run inside a transaction block: in
/// an autocommit block it runs.
#[test]
fn autocommit_block_runs_outside_the_transaction() {
    let Some(mut conn) = fresh("autocommit_block") else {
        return;
    };
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one")];
    let concurrently = "CREATE INDEX CONCURRENTLY ix_t_id ON t (id)";
    let in_block = [vec![
        sql("CREATE TABLE t (id INTEGER)"),
        RunStatement::AutocommitBegin,
        sql(concurrently),
        RunStatement::AutocommitEnd,
        sql("INSERT INTO t VALUES (1)"),
    ]];
    let (_, result) = run(&mut *conn, &table, &steps, &in_block, RunOptions::default());
    result.unwrap();
    assert_eq!(
        texts(
            &mut *conn,
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 't'"
        ),
        ["ix_t_id"]
    );
    assert_eq!(heads(&mut *conn, &table), ["r1"]);

    // The same statement without the block fails, as in Alembic.
    let steps = [upgrade("r2", Some("r1"), "two")];
    let bare = [vec![sql("CREATE INDEX CONCURRENTLY ix_t_id2 ON t (id)")]];
    let (_, result) = run(&mut *conn, &table, &steps, &bare, RunOptions::default());
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("cannot run inside a transaction block"),
        "{err}"
    );
    assert_eq!(heads(&mut *conn, &table), ["r1"]);
}

#[test]
fn autocommit_block_commits_what_came_before() {
    let Some(mut conn) = fresh("autocommit_before") else {
        return;
    };
    db_support::autocommit_block_commits_what_came_before(
        &mut *conn,
        "CREATE TABLE in_block (id INTEGER)",
    );
}

#[test]
fn version_table_in_a_schema() {
    let Some(mut conn) = fresh("schema_main") else {
        return;
    };
    conn.execute("DROP SCHEMA IF EXISTS t_schema_other CASCADE; CREATE SCHEMA t_schema_other")
        .unwrap();
    db_support::version_table_in_a_schema(&mut *conn, "t_schema_other");
    assert!(
        !has_table(&mut *conn, "my_versions"),
        "not on the search path"
    );
}

#[test]
fn values_come_back_typed() {
    let Some(mut conn) = fresh("values") else {
        return;
    };
    let rows = conn
        .query("SELECT NULL::int, 42::bigint, 7::smallint, 1.5::float8, 'text'::varchar, '\\x00ff'::bytea, true, 12.50::numeric")
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![
            Value::Null,
            Value::Integer(42),
            Value::Integer(7),
            Value::Real(1.5),
            Value::Text("text".to_string()),
            Value::Blob(vec![0, 255]),
            Value::Integer(1),
            Value::Text("12.50".to_string()),
        ]]
    );
}

#[test]
fn query_reads_settings_and_catalogue_types() {
    let Some(mut conn) = fresh("settings") else {
        return;
    };
    // The search path set through the URL's `options`.
    assert_eq!(texts(&mut *conn, "SHOW search_path"), ["t_settings"]);
    conn.execute("CREATE TABLE t (id INTEGER)").unwrap();
    let rows = conn
        .query("SELECT relname, relnatts, relhasindex FROM pg_class WHERE relname = 't' AND relnamespace = 't_settings'::regnamespace")
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![
            Value::Text("t".to_string()),
            Value::Integer(1),
            Value::Integer(0)
        ]]
    );
}

#[test]
fn execute_counts_changed_rows() {
    let Some(mut conn) = fresh("counts") else {
        return;
    };
    assert_eq!(conn.execute("CREATE TABLE t (id INTEGER)").unwrap(), 0);
    assert_eq!(
        conn.execute("INSERT INTO t VALUES (1), (2), (3)").unwrap(),
        3
    );
    assert_eq!(
        conn.execute("UPDATE t SET id = id + 10 WHERE id > 1")
            .unwrap(),
        2
    );
    assert_eq!(
        conn.execute("INSERT INTO t VALUES (5) RETURNING id")
            .unwrap(),
        1
    );
    assert_eq!(conn.execute("DELETE FROM t").unwrap(), 4);
}

#[test]
fn a_wrong_password_fails_without_showing_it() {
    let Some(base) = server_url() else { return };
    let url = DatabaseUrl::parse(&base).unwrap();
    let wrong = base.replacen(
        &format!(":{}@", url.password().unwrap()),
        ":Wr0ngPassw0rd@",
        1,
    );
    let err = db::connect(&DatabaseUrl::parse(&wrong).unwrap())
        .err()
        .expect("the wrong password must fail");
    let message = err.to_string();
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    assert!(message.contains(":***@"), "{message}");
    assert!(!message.contains("Wr0ngPassw0rd"), "{message}");
    assert!(!format!("{err:?}").contains("Wr0ngPassw0rd"));
}

/// Whether the session runs over TLS, as the server sees it.
fn uses_tls(url: &str) -> Result<bool, DbError> {
    let mut conn = db::connect(&DatabaseUrl::parse(url).unwrap())?;
    let rows = conn.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")?;
    Ok(rows == vec![vec![Value::Integer(1)]])
}

/// The test server has TLS with a self-signed certificate issued to
/// `localhost` only; each `sslmode` keeps libpq's promise.
#[test]
fn sslmodes_on_a_server_with_tls() {
    let Some(base) = server_url() else { return };
    let Ok(root) = std::env::var("AURORA_TEST_POSTGRES_ROOT_CERT") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("AURORA_TEST_POSTGRES_ROOT_CERT is not set in CI");
        }
        eprintln!("NOT RUN: AURORA_TEST_POSTGRES_ROOT_CERT is not set");
        return;
    };
    let mode = |url: &str, query: &str| uses_tls(&with_query(url, query));
    // `prefer` (libpq's default, also with no sslmode) and `require` take
    // TLS without checking the certificate; `disable` stays in the clear.
    assert!(uses_tls(&base).unwrap(), "no sslmode means prefer");
    assert!(mode(&base, "sslmode=prefer").unwrap());
    assert!(mode(&base, "sslmode=require").unwrap());
    assert!(!mode(&base, "sslmode=disable").unwrap());
    // verify-ca checks the chain only: the address is not the certificate's name.
    assert!(mode(&base, &format!("sslmode=verify-ca&sslrootcert={root}")).unwrap());
    // verify-full checks the name as well: `localhost` yes, `127.0.0.1` no.
    let by_name = base.replace("@127.0.0.1:", "@localhost:");
    assert!(mode(&by_name, &format!("sslmode=verify-full&sslrootcert={root}")).unwrap());
    let err = mode(&base, &format!("sslmode=verify-full&sslrootcert={root}")).unwrap_err();
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    assert!(!err.to_string().contains("aurora-test-pw"), "{err}");
    // Without the root certificate, a self-signed one is not trusted.
    assert!(mode(&by_name, "sslmode=verify-full").is_err());
    assert!(mode(
        &by_name,
        "sslmode=verify-full&sslrootcert=/nonexistent/root.crt"
    )
    .is_err());

    let bad = DatabaseUrl::parse(&with_query(&base, "sslmode=sometimes")).unwrap();
    assert_eq!(
        db::connect(&bad).err().unwrap().to_string(),
        "invalid sslmode value: \"sometimes\""
    );
}

/// The server's URL for another role (the start script's TLS roles share the password).
fn as_role(base: &str, role: &str) -> String {
    base.replacen("://postgres:", &format!("://{role}:"), 1)
}

fn tls_test_file(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(path) => Some(path),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{name} is not set in CI")
        }
        Err(_) => {
            eprintln!("NOT RUN: {name} is not set");
            None
        }
    }
}

fn current_user(url: &str) -> Result<String, DbError> {
    let mut conn = db::connect(&DatabaseUrl::parse(url).unwrap())?;
    let rows = conn.query("SELECT current_user")?;
    match &rows[..] {
        [row] => match &row[..] {
            [Value::Text(user)] => Ok(user.clone()),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

/// `sslcert`/`sslkey`: the server lets `aurora_cert` in by its client certificate alone
/// (`hostssl ... cert`); without it, or with a key others can read, there is no connection.
#[test]
fn client_certificates_as_libpq_sends_them() {
    let Some(base) = server_url() else { return };
    let (Some(cert), Some(key)) = (
        tls_test_file("AURORA_TEST_POSTGRES_CLIENT_CERT"),
        tls_test_file("AURORA_TEST_POSTGRES_CLIENT_KEY"),
    ) else {
        return;
    };
    let role = as_role(&base, "aurora_cert");
    let with_cert = with_query(
        &role,
        &format!("sslmode=require&sslcert={cert}&sslkey={key}"),
    );
    assert_eq!(current_user(&with_cert).unwrap(), "aurora_cert");
    assert!(uses_tls(&with_cert).unwrap());

    // No certificate: the server refuses, in its own words.
    let err = current_user(&with_query(&role, "sslmode=require")).unwrap_err();
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");

    // A certificate named but missing is an error before connecting (libpq would
    // silently go without it).
    let err = current_user(&with_query(
        &role,
        "sslmode=require&sslcert=/nonexistent/client.crt",
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("certificate file \"/nonexistent/client.crt\" does not exist"),
        "{err}"
    );
    // A certificate without its key.
    let err = current_user(&with_query(
        &role,
        &format!("sslmode=require&sslcert={cert}&sslkey=/nonexistent/client.key"),
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("certificate present, but not private key file \"/nonexistent/client.key\""),
        "{err}"
    );
    // A key others may read is refused, as libpq refuses it.
    let dir = tempfile::tempdir().unwrap();
    let open_key = dir.path().join("client.key");
    std::fs::copy(&key, &open_key).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = current_user(&with_query(
        &role,
        &format!(
            "sslmode=require&sslcert={cert}&sslkey={}",
            open_key.display()
        ),
    ))
    .unwrap_err();
    assert!(
        err.to_string().contains("has group or world access"),
        "{err}"
    );
}

/// `sslmode=disable` against a server whose rule for the role is `hostssl` only: the server
/// rejects the clear-text connection; any mode that encrypts gets in.
#[test]
fn disable_fails_against_a_hostssl_only_rule() {
    let Some(base) = server_url() else { return };
    let role = as_role(&base, "aurora_sslonly");
    let err = current_user(&with_query(&role, "sslmode=disable")).unwrap_err();
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("pg_hba.conf rejects connection"),
        "{message}"
    );
    assert!(message.contains("no encryption"), "{message}");
    assert!(!message.contains("aurora-test-pw"), "{message}");
    assert_eq!(
        current_user(&with_query(&role, "sslmode=require")).unwrap(),
        "aurora_sslonly"
    );
    assert_eq!(
        current_user(&role).unwrap(),
        "aurora_sslonly",
        "prefer encrypts"
    );
}

#[test]
fn unknown_query_options_are_refused() {
    let Some(base) = server_url() else { return };
    let url = DatabaseUrl::parse(&with_query(&base, "frobnicate=1")).unwrap();
    assert_eq!(
        db::connect(&url).err().unwrap().to_string(),
        "invalid connection option \"frobnicate\""
    );
    let url = DatabaseUrl::parse(&with_query(&base, "sslpassword=secret")).unwrap();
    assert_eq!(
        db::connect(&url).err().unwrap().to_string(),
        "connection option \"sslpassword\" is not supported by aurora"
    );
}

#[test]
fn unix_socket_directory_in_the_query() {
    // The start script puts the server's socket in its own folder.
    let Some(base) = server_url() else { return };
    let Ok(dir) = std::env::var("AURORA_TEST_POSTGRES_DIR") else {
        eprintln!("NOT RUN: AURORA_TEST_POSTGRES_DIR is not set");
        return;
    };
    let url = DatabaseUrl::parse(&base).unwrap();
    let socket = format!(
        "postgresql://{}:{}@/{}?host={dir}&port={}",
        url.username.as_deref().unwrap(),
        url.password().unwrap(),
        url.database.as_deref().unwrap(),
        url.port.unwrap()
    );
    let mut conn =
        db::connect(&DatabaseUrl::parse(&socket).unwrap()).expect("connect through the socket");
    // Over a socket the server sees no client address.
    assert_eq!(
        conn.query("SELECT inet_client_addr() IS NULL").unwrap(),
        vec![vec![Value::Integer(1)]]
    );
}

/// The version table of `alembic_version` in `schema`, described from the catalogue.
fn describe_version_table(conn: &mut dyn Connection, schema: &str) -> Vec<String> {
    let columns = texts(
        conn,
        &format!(
            "SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text \
             FROM pg_attribute a WHERE a.attrelid = '{schema}.alembic_version'::regclass AND a.attnum > 0 \
             ORDER BY a.attnum"
        ),
    );
    let constraints = texts(
        conn,
        &format!(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = '{schema}.alembic_version'::regclass ORDER BY conname"
        ),
    );
    columns.into_iter().chain(constraints).collect()
}

#[test]
fn reads_and_writes_a_version_table_made_by_python_alembic() {
    let Some(base) = server_url() else { return };
    let schema = "t_python_legacy";
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/db/alembic_legacy_postgresql.sql"),
    )
    .unwrap();
    let mut admin = db::connect(&DatabaseUrl::parse(&base).unwrap()).unwrap();
    admin
        .execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .unwrap();
    admin.execute(&dump.replace("__SCHEMA__", schema)).unwrap();

    let url = with_query(&base, &format!("options=-csearch_path%3D{schema}"));
    let mut conn = db::connect(&DatabaseUrl::parse(&url).unwrap()).unwrap();
    let table = VersionTable::default();
    assert_eq!(heads(&mut *conn, &table), ["3c4d5e6f7081", "2b3c4d5e6f70"]);

    // Downgrade the audit branch with a one-step run, then check the rows.
    let mut step = upgrade("1a2b3c4d5e6f", Some("3c4d5e6f7081"), "audit branch");
    step.direction = aurora::plan::Direction::Downgrade;
    step.revision = Some("3c4d5e6f7081".to_string());
    step.version_changes = vec![aurora::plan::VersionChange::Delete(
        "3c4d5e6f7081".to_string(),
    )];
    let (log, result) = run(
        &mut *conn,
        &table,
        &[step],
        &[vec![sql("DROP TABLE audit_log")]],
        RunOptions::default(),
    );
    result.unwrap();
    assert_eq!(
        log[2],
        "Running downgrade 3c4d5e6f7081 -> 1a2b3c4d5e6f, audit branch"
    );
    assert_eq!(heads(&mut *conn, &table), ["2b3c4d5e6f70"]);
    assert!(!has_table(&mut *conn, "audit_log"));
}

#[test]
fn version_table_is_made_as_python_alembic_makes_it() {
    let Some(mut conn) = fresh("ours_vs_python") else {
        return;
    };
    let Some(base) = server_url() else { return };
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/db/alembic_legacy_postgresql.sql"),
    )
    .unwrap();
    let mut admin = db::connect(&DatabaseUrl::parse(&base).unwrap()).unwrap();
    admin
        .execute("DROP SCHEMA IF EXISTS t_python_made CASCADE")
        .unwrap();
    admin
        .execute(&dump.replace("__SCHEMA__", "t_python_made"))
        .unwrap();

    db::ensure_version_table(&mut *conn, &VersionTable::default()).unwrap();
    let theirs = describe_version_table(&mut *admin, "t_python_made");
    assert_eq!(
        theirs,
        [
            "version_num character varying(32) true",
            "alembic_version_pkc PRIMARY KEY (version_num)"
        ]
    );
    assert_eq!(
        describe_version_table(&mut *conn, "t_ours_vs_python"),
        theirs
    );
}

/// A deferred constraint fails at `COMMIT`: that is the step's failure too.
#[test]
fn a_failing_commit_names_the_step() {
    let Some(mut conn) = fresh("failing_commit") else {
        return;
    };
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one")];
    let bodies = [vec![
        sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)"),
        sql("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"),
        sql("INSERT INTO child VALUES (42)"),
    ]];
    let (_, result) = run(
        &mut *conn,
        &table,
        &steps,
        &bodies,
        RunOptions {
            transaction_per_migration: true,
            purge: false,
            ..Default::default()
        },
    );
    match result {
        Err(RunError::Statement { step, error, .. }) => {
            assert_eq!(step, "upgrade  -> r1");
            assert!(
                error
                    .to_string()
                    .contains("violates foreign key constraint"),
                "{error}"
            );
            assert!(error.to_string().ends_with("[SQL: COMMIT]"), "{error}");
        }
        other => panic!("expected the commit to fail, got {other:?}"),
    }
    assert!(!has_table(&mut *conn, "parent"));
    assert_eq!(heads(&mut *conn, &table), Vec::<String>::new());
}
