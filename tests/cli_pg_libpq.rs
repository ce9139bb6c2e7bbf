//! PostgreSQL as users connect to it, through the real binary and the real
//! server: libpq's conventions (`.pgpass` and `PGPASSFILE`, the `PG*`
//! variables under an empty URL, unix-socket hosts, `application_name`,
//! errors with their cause and no password) and the original guide's
//! workflow (`create` after a model change, `upgrade`, `downgrade`, `check`)
//! end to end, checked against the reference Alembic's `check`.
//!
//! Needs `AURORA_TEST_POSTGRES_URL` (scripts/start-postgres.sh); without it
//! the tests say they did not run, and fail under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use aurora::db::{self, DatabaseUrl, Value};

const AURORA: &str = env!("CARGO_BIN_EXE_aurora");

fn server_url() -> Option<String> {
    match std::env::var("AURORA_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "AURORA_TEST_POSTGRES_URL is not set in CI"
            );
            eprintln!("NOT RUN: AURORA_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// The parts of the test server's URL: user, password, host, port.
struct Server {
    user: String,
    password: String,
    host: String,
    port: String,
    base: String,
}

fn server() -> Option<Server> {
    let base = server_url()?;
    let rest = base.split_once("://").unwrap().1;
    let (auth, rest) = rest.split_once('@').unwrap();
    let (user, password) = auth.split_once(':').unwrap();
    let hostport = rest.split('/').next().unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    Some(Server {
        user: user.into(),
        password: password.into(),
        host: host.into(),
        port: port.into(),
        base,
    })
}

fn fresh_database(s: &Server, name: &str) {
    let mut admin = db::connect(&DatabaseUrl::parse(&s.base).unwrap()).unwrap();
    admin
        .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin.execute(&format!("CREATE DATABASE {name}")).unwrap();
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    // The tests decide every libpq variable themselves.
    for key in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGDATABASE",
        "PGPASSFILE",
        "PGSSLMODE",
        "PGAPPNAME",
        "DATABASE_URL",
    ] {
        command.env_remove(key);
    }
    command.env("HOME", dir);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A project made by `aurora init` whose `sqlalchemy.url` is `url`, with
/// one revision that records the connection's `application_name`.
fn project(url: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(run(&root, AURORA, &["init", "migrations"], &[]).code, 0);
    set_url(&root, url);
    std::fs::write(
        root.join("migrations/versions/a1_app.py"),
        "\"\"\"app\n\nRevision ID: a1\nRevises:\nCreate Date: 2024-01-01 00:00:00\n\n\"\"\"\n\
         from alembic import op\n\nrevision = 'a1'\ndown_revision = None\nbranch_labels = None\n\
         depends_on = None\n\n\ndef upgrade():\n    op.execute(\"CREATE TABLE app AS SELECT \
         current_setting('application_name') AS name\")\n\n\ndef downgrade():\n    \
         op.execute(\"DROP TABLE app\")\n",
    )
    .unwrap();
    (dir, root)
}

fn set_url(root: &Path, url: &str) {
    let ini = std::fs::read_to_string(root.join("alembic.ini")).unwrap();
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
    std::fs::write(root.join("alembic.ini"), ini.join("\n") + "\n").unwrap();
}

fn rows(s: &Server, db: &str, sql: &str) -> Vec<String> {
    let (head, _) = s.base.rsplit_once('/').unwrap();
    let mut conn = db::connect(&DatabaseUrl::parse(&format!("{head}/{db}")).unwrap()).unwrap();
    conn.query(sql)
        .unwrap()
        .into_iter()
        .map(|r| match &r[0] {
            Value::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn password_from_pgpass_and_pgpassfile() {
    let Some(s) = server() else { return };
    fresh_database(&s, "libpq_pass");
    let url = format!("postgresql://{}@{}:{}/libpq_pass", s.user, s.host, s.port);
    let (_dir, root) = project(&url);
    // No password anywhere: libpq's own wording.
    let r = run(&root, AURORA, &["current"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("password missing"), "{}", r.stderr);

    // ~/.pgpass (HOME is the project), mode 0600, with a wildcard database.
    let line = format!("{}:{}:*:{}:{}\n", s.host, s.port, s.user, s.password);
    let pgpass = root.join(".pgpass");
    std::fs::write(&pgpass, format!("# comment\nother:1:*:*:nope\n{line}")).unwrap();
    let mode = |p: &Path, m: u32| {
        let mut perms = std::fs::metadata(p).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, m);
        std::fs::set_permissions(p, perms).unwrap();
    };
    mode(&pgpass, 0o600);
    let r = run(&root, AURORA, &["upgrade", "head"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // application_name is aurora's unless the URL says otherwise.
    assert_eq!(rows(&s, "libpq_pass", "SELECT name FROM app"), ["aurora"]);

    // A file others can read is ignored, with libpq's warning.
    mode(&pgpass, 0o644);
    let r = run(&root, AURORA, &["current"], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("has group or world access"),
        "{}",
        r.stderr
    );

    // PGPASSFILE names another file.
    let other = root.join("elsewhere.pass");
    std::fs::write(&other, &line).unwrap();
    mode(&other, 0o600);
    let r = run(
        &root,
        AURORA,
        &["current"],
        &[("PGPASSFILE", other.to_str().unwrap())],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "a1 (head)\n");
}

#[test]
fn pg_variables_fill_an_empty_url_and_application_name_is_kept() {
    let Some(s) = server() else { return };
    fresh_database(&s, "libpq_env");
    let (_dir, root) = project("postgresql://?application_name=deploy");
    let env = [
        ("PGHOST", s.host.as_str()),
        ("PGPORT", s.port.as_str()),
        ("PGUSER", s.user.as_str()),
        ("PGPASSWORD", s.password.as_str()),
        ("PGDATABASE", "libpq_env"),
    ];
    let r = run(&root, AURORA, &["upgrade", "head"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(rows(&s, "libpq_env", "SELECT name FROM app"), ["deploy"]);
}

#[test]
fn unix_socket_host() {
    let Some(s) = server() else { return };
    let Ok(dir) = std::env::var("AURORA_TEST_POSTGRES_DIR") else {
        eprintln!("NOT RUN: AURORA_TEST_POSTGRES_DIR (the socket directory) is not set");
        return;
    };
    fresh_database(&s, "libpq_socket");
    let url = format!(
        "postgresql://{}@/libpq_socket?host={dir}&port={}",
        s.user, s.port
    );
    let (_dir, root) = project(&url);
    let r = run(&root, AURORA, &["upgrade", "head"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn connection_errors_keep_their_cause_without_the_password() {
    let Some(s) = server() else { return };
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://{}:Sekr3tPw@127.0.0.1:{port}/x", s.user);
    let (_dir, root) = project(&url);
    let r = run(&root, AURORA, &["current"], &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("Connection refused"), "{}", r.stderr);
    assert!(r.stderr.contains(":***@127.0.0.1"), "{}", r.stderr);
    assert!(!r.stderr.contains("Sekr3t"), "{}", r.stderr);
    set_url(&root, &format!("{url}?connect_timeout=soon"));
    let r = run(&root, AURORA, &["current"], &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("invalid integer value \"soon\" for connection option \"connect_timeout\""),
        "{}",
        r.stderr
    );
}

/// The original guide's example model, and the same model with a column added.
const MODELS: &str =
    "from datetime import datetime\n\nfrom sqlalchemy import Column, DateTime, Integer, String\n\
from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n\
class UserPreference(Base):\n    __tablename__ = \"user_preferences\"\n\n    \
id = Column(Integer, primary_key=True, index=True)\n    user_id = Column(Integer, index=True)\n    \
preference_key = Column(String(100))\n    preference_value = Column(String(255))\n    \
created_at = Column(DateTime, default=datetime.utcnow)\n";

#[test]
fn the_guides_workflow_on_postgresql() {
    let Some(s) = server() else { return };
    fresh_database(&s, "guide_flow");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(run(&root, AURORA, &["init", "migrations"], &[]).code, 0);
    let env_py = root.join("migrations/env.py");
    let text = std::fs::read_to_string(&env_py).unwrap().replacen(
        "target_metadata = None",
        "from models import Base\ntarget_metadata = Base.metadata",
        1,
    );
    std::fs::write(&env_py, text).unwrap();
    std::fs::write(root.join("models.py"), MODELS).unwrap();
    let (head, _) = s.base.rsplit_once('/').unwrap();
    let url = format!("{head}/guide_flow");
    set_url(&root, &url);
    let aurora = |args: &[&str]| run(&root, AURORA, args, &[]);
    let versions = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root.join("migrations/versions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".py"))
            .collect();
        v.sort();
        v
    };

    let r = aurora(&["create", "initial"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let first = versions();
    assert_eq!(first.len(), 1);
    let text = std::fs::read_to_string(root.join("migrations/versions").join(&first[0])).unwrap();
    assert!(
        text.contains("op.create_table('user_preferences',"),
        "{text}"
    );
    assert_eq!(aurora(&["upgrade", "head"]).code, 0);

    // A model change: a new column.
    std::fs::write(
        root.join("models.py"),
        format!("{MODELS}    theme = Column(String(20), nullable=True)\n"),
    )
    .unwrap();
    let r = aurora(&["check"]);
    assert_eq!(r.code, 255, "{}{}", r.stdout, r.stderr);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(said.contains("New upgrade operations detected"), "{said}");
    let r = aurora(&["create", "add theme"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let second: Vec<String> = versions()
        .into_iter()
        .filter(|v| !first.contains(v))
        .collect();
    let text = std::fs::read_to_string(root.join("migrations/versions").join(&second[0])).unwrap();
    assert!(
        text.contains(
            "    op.add_column('user_preferences', sa.Column('theme', sa.String(length=20), nullable=True))\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("    op.drop_column('user_preferences', 'theme')\n"),
        "{text}"
    );

    assert_eq!(aurora(&["upgrade", "head"]).code, 0);
    let columns = "SELECT column_name::text FROM information_schema.columns \
                   WHERE table_name = 'user_preferences' ORDER BY ordinal_position";
    assert!(rows(&s, "guide_flow", columns).contains(&"theme".to_string()));
    let r = aurora(&["check"]);
    assert_eq!(
        r.stdout, "No new upgrade operations detected.\n",
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 0);

    // The reference Alembic agrees that the database matches the models.
    if let Some(alembic) = std::env::var_os("AURORA_REFERENCE_ALEMBIC") {
        // Alembic reads sqlalchemy.url; point it at the same database.
        set_url(
            &root,
            &url.replacen("postgresql://", "postgresql+psycopg2://", 1),
        );
        let r = run(&root, alembic.to_str().unwrap(), &["check"], &[]);
        assert_eq!(
            r.stdout, "No new upgrade operations detected.\n",
            "{}",
            r.stderr
        );
    }

    assert_eq!(aurora(&["downgrade", "-1"]).code, 0);
    assert!(!rows(&s, "guide_flow", columns).contains(&"theme".to_string()));
    let r = aurora(&["check"]);
    assert_eq!(r.code, 255);
    let r = aurora(&["downgrade", "base"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        rows(
            &s,
            "guide_flow",
            "SELECT count(*)::text FROM information_schema.tables WHERE table_name = 'user_preferences'"
        ),
        ["0"]
    );
}
