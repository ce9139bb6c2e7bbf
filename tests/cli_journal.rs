//! The audit journal (`[aurora] journal = true`, `aurora journal`) against
//! the real binary on SQLite and on the PostgreSQL server of
//! `scripts/start-postgres.sh` (`AURORA_TEST_POSTGRES_URL`; required when
//! `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aurora::db::{self, Connection, DatabaseUrl, Value};

mod cli_support;
use cli_support::pg_base;

const AURORA: &str = env!("CARGO_BIN_EXE_aurora");

/// SQLite in `dir`, and PostgreSQL in a fresh database of the test's own.
fn backends(dir: &Path, test: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![(
        "sqlite",
        format!("sqlite:///{}", dir.join("test.db").display()),
    )];
    if let Some(base) = pg_base() {
        let url = cli_support::fresh_pg_database(&base, &format!("journal_{test}"));
        out.push(("postgresql", url));
    }
    out
}

/// env.py with `-x schema=NAME` (version_table_schema) and `-x tpm=1`
/// (transaction_per_migration).
const ENV_PY: &str = r#"import os
from logging.config import fileConfig
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])
x = context.get_x_argument(as_dictionary=True)
schema = x.get("schema")
tpm = x.get("tpm") == "1"
if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      version_table_schema=schema)
    with context.begin_transaction():
        context.run_migrations()
else:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, version_table_schema=schema,
                          transaction_per_migration=tpm)
        with context.begin_transaction():
            context.run_migrations()
"#;

struct Project {
    dir: tempfile::TempDir,
    url: String,
}

/// r1 and r2 create tables; r3 drops a table that does not exist.
const BODIES: [(&str, &str); 3] = [
    (
        "    op.create_table('a', sa.Column('id', sa.Integer))",
        "    op.drop_table('a')",
    ),
    (
        "    op.create_table('b', sa.Column('id', sa.Integer))",
        "    op.drop_table('b')",
    ),
    ("    op.drop_table('no_such_table')", "    pass"),
];

impl Project {
    fn new(url: &str, journal: Option<&str>, revisions: usize) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let versions = dir.path().join("alembic/versions");
        std::fs::create_dir_all(&versions).unwrap();
        std::fs::write(dir.path().join("alembic/env.py"), ENV_PY).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/recorded/_template/script.py.mako"),
            dir.path().join("alembic/script.py.mako"),
        )
        .unwrap();
        let aurora = journal
            .map(|v| format!("[aurora]\njournal = {v}\n\n"))
            .unwrap_or_default();
        std::fs::write(
            dir.path().join("alembic.ini"),
            format!(
                "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./unused.db\n\n{aurora}{}",
                include_str!("fixtures/logging.ini")
            ),
        )
        .unwrap();
        for (i, (up, down)) in BODIES.iter().take(revisions).enumerate() {
            let n = i + 1;
            let down_rev = if n == 1 {
                "None".to_string()
            } else {
                format!("'r{}'", n - 1)
            };
            std::fs::write(
                versions.join(format!("r{n}_rev.py")),
                format!(
                    "\"\"\"rev {n}\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
                     revision = 'r{n}'\ndown_revision = {down_rev}\nbranch_labels = None\ndepends_on = None\n\n\n\
                     def upgrade():\n{up}\n\n\ndef downgrade():\n{down}\n"
                ),
            )
            .unwrap();
        }
        Project {
            dir,
            url: url.to_string(),
        }
    }

    fn file(&self, n: usize) -> PathBuf {
        self.dir
            .path()
            .join(format!("alembic/versions/r{n}_rev.py"))
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(AURORA)
            .args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &self.url)
            .env("AURORA_CACHE_DIR", self.dir.path().join("cache"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn connect(&self) -> Box<dyn Connection> {
        db::connect(&DatabaseUrl::parse(&self.url).unwrap()).unwrap()
    }

    fn strings(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.connect()
            .query(sql)
            .unwrap()
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| match v {
                        Value::Null => None,
                        Value::Text(t) => Some(t),
                        Value::Integer(n) => Some(n.to_string()),
                        other => Some(format!("{other:?}")),
                    })
                    .collect()
            })
            .collect()
    }

    fn versions(&self, schema: Option<&str>) -> Vec<String> {
        let table = match schema {
            Some(s) => format!("{s}.alembic_version"),
            None => "alembic_version".into(),
        };
        if !self
            .connect()
            .table_exists(schema, "alembic_version")
            .unwrap()
        {
            return Vec::new();
        }
        let mut v: Vec<String> = self
            .strings(&format!("SELECT version_num FROM {table}"))
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        v.sort();
        v
    }

    /// (direction, revision, outcome, error) per journal row, in order.
    fn journal(&self, schema: Option<&str>) -> Vec<(String, String, String, Option<String>)> {
        let table = match schema {
            Some(s) => format!("{s}.aurora_journal"),
            None => "aurora_journal".into(),
        };
        self.strings(&format!(
            "SELECT direction, revision, outcome, error FROM {table} ORDER BY id"
        ))
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap(),
                r[1].clone().unwrap_or_default(),
                r[2].clone().unwrap(),
                r[3].clone(),
            )
        })
        .collect()
    }

    fn has_journal(&self, schema: Option<&str>) -> bool {
        self.connect()
            .table_exists(schema, "aurora_journal")
            .unwrap()
    }
}

fn row(direction: &str, rev: &str, outcome: &str) -> (String, String, String) {
    (direction.into(), rev.into(), outcome.into())
}

fn without_errors(
    rows: &[(String, String, String, Option<String>)],
) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(d, r, o, _)| (d.clone(), r.clone(), o.clone()))
        .collect()
}

#[test]
fn applied_reverted_and_failed_rows() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in backends(tmp.path(), "rows") {
        let p = Project::new(&url, Some("true"), 2);
        let out = p.run(&["upgrade", "head"]);
        assert!(out.status.success(), "{name}: {out:?}");
        let out = p.run(&["downgrade", "-1"]);
        assert!(out.status.success(), "{name}: {out:?}");
        let rows = p.journal(None);
        assert_eq!(
            without_errors(&rows),
            [
                row("upgrade", "r1", "applied"),
                row("upgrade", "r2", "applied"),
                row("downgrade", "r2", "reverted"),
            ],
            "{name}"
        );
        assert!(rows.iter().all(|r| r.3.is_none()), "{name}: {rows:?}");
        // The details of the first row: checksum of the file, version, who.
        let detail = p.strings(
            "SELECT checksum, aurora_version, lock_holder, os_user, host, from_revisions, \
             to_revisions, started_at, ended_at FROM aurora_journal ORDER BY id",
        );
        let expected = aurora::checksum::file_hash(&std::fs::read(p.file(1)).unwrap());
        assert_eq!(detail[0][0].as_deref(), Some(expected.as_str()), "{name}");
        assert_eq!(
            detail[0][1].as_deref(),
            Some(env!("CARGO_PKG_VERSION")),
            "{name}"
        );
        let holder = detail[0][2].clone().unwrap();
        assert!(holder.starts_with("pid "), "{name}: {holder}");
        assert!(!detail[0][3].clone().unwrap().is_empty(), "{name}");
        assert!(!detail[0][4].clone().unwrap().is_empty(), "{name}");
        assert_eq!(
            (detail[0][5].as_deref(), detail[0][6].as_deref()),
            (Some(""), Some("r1"))
        );
        assert_eq!(
            (detail[2][5].as_deref(), detail[2][6].as_deref()),
            (Some("r2"), Some("r1"))
        );
        assert!(detail[0][7] <= detail[0][8], "{name}: {:?}", detail[0]);
        // The two upgrades ran in one process, the downgrade in another.
        assert_eq!(detail[0][2], detail[1][2], "{name}");
        assert_ne!(detail[0][2], detail[2][2], "{name}");

        // `aurora journal`, as text and as JSON.
        let out = p.run(&["journal"]);
        assert!(out.status.success(), "{name}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.lines().count(), 3, "{name}: {text}");
        assert!(
            text.lines().nth(2).unwrap().contains("downgrade r2"),
            "{name}: {text}"
        );
        let out = p.run(&["--format", "json", "journal"]);
        assert!(out.status.success(), "{name}: {out:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let list = doc["journal"].as_array().unwrap();
        assert_eq!(list.len(), 3, "{name}");
        assert_eq!(list[0]["id"], 1, "{name}");
        assert_eq!(list[1]["revision"], "r2", "{name}");
        assert_eq!(list[2]["outcome"], "reverted", "{name}");
        assert_eq!(list[0]["checksum"], expected.as_str(), "{name}");
        assert!(list[0]["error"].is_null(), "{name}");
    }
}

/// A failing revision leaves a committed `failed` row with the error; the
/// revisions before it keep their rows only when they stay applied.
#[test]
fn failure_leaves_a_row_with_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in backends(tmp.path(), "failure") {
        // Per-revision transactions: r1 and r2 stay, r3 fails.
        let p = Project::new(&url, Some("true"), 3);
        let out = p.run(&["-x", "tpm=1", "upgrade", "head"]);
        assert!(!out.status.success(), "{name}: {out:?}");
        assert_eq!(p.versions(None), ["r2"], "{name}");
        let rows = p.journal(None);
        assert_eq!(
            without_errors(&rows),
            [
                row("upgrade", "r1", "applied"),
                row("upgrade", "r2", "applied"),
                row("upgrade", "r3", "failed"),
            ],
            "{name}"
        );
        let error = rows[2].3.clone().unwrap();
        assert!(
            error.contains("upgrade r2 -> r3") && error.contains("no_such_table"),
            "{name}: {error}"
        );
        // A second attempt adds a second failed row; nothing else moves.
        let out = p.run(&["-x", "tpm=1", "upgrade", "head"]);
        assert!(!out.status.success(), "{name}: {out:?}");
        let rows = p.journal(None);
        assert_eq!(rows.len(), 4, "{name}: {rows:?}");
        assert_eq!(rows[3].2, "failed", "{name}");
        let text = String::from_utf8(p.run(&["journal"]).stdout).unwrap();
        assert!(
            text.contains("error: upgrade r2 -> r3 failed"),
            "{name}: {text}"
        );
    }
}

/// On PostgreSQL without transaction_per_migration the run is one
/// transaction: a failure takes the earlier revisions, and their rows, back.
#[test]
fn single_transaction_failure_keeps_only_the_failed_row() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in backends(tmp.path(), "single") {
        if name != "postgresql" {
            continue;
        }
        let p = Project::new(&url, Some("true"), 3);
        let out = p.run(&["upgrade", "head"]);
        assert!(!out.status.success(), "{name}: {out:?}");
        assert_eq!(p.versions(None), Vec::<String>::new(), "{name}");
        assert_eq!(
            without_errors(&p.journal(None)),
            [row("upgrade", "r3", "failed")],
            "{name}"
        );
    }
}

#[test]
fn journal_off_offline_and_bad_values() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in backends(tmp.path(), "off") {
        for setting in [None, Some("false")] {
            let p = Project::new(&url, setting, 1);
            let out = p.run(&["upgrade", "head"]);
            assert!(out.status.success(), "{name}: {out:?}");
            assert!(!p.has_journal(None), "{name} {setting:?}");
            let out = p.run(&["journal"]);
            assert!(out.status.success(), "{name}: {out:?}");
            assert!(out.stdout.is_empty(), "{name}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("no aurora_journal table"),
                "{name}: {out:?}"
            );
            p.run(&["downgrade", "base"]);
        }
        // Offline: the script has no journal statements and nothing is written.
        let p = Project::new(&url, Some("true"), 2);
        let out = p.run(&["upgrade", "head", "--sql"]);
        assert!(out.status.success(), "{name}: {out:?}");
        let sql = String::from_utf8(out.stdout).unwrap();
        assert!(sql.contains("CREATE TABLE a"), "{name}: {sql}");
        assert!(!sql.contains("aurora_journal"), "{name}: {sql}");
        assert!(!p.has_journal(None), "{name}");
        // An unreadable value stops the run before it touches the database.
        let p = Project::new(&url, Some("maybe"), 1);
        let out = p.run(&["upgrade", "head"]);
        assert!(!out.status.success(), "{name}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("[aurora] journal = maybe: expected true or false"),
            "{name}: {stderr}"
        );
        assert_eq!(p.versions(None), Vec::<String>::new(), "{name}");
        assert!(!p.has_journal(None), "{name}");
    }
}

/// With version_table_schema the journal sits beside the version table.
#[test]
fn postgres_journal_in_version_table_schema() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, url) in backends(tmp.path(), "schema") {
        if name != "postgresql" {
            continue;
        }
        let p = Project::new(&url, Some("true"), 2);
        p.connect().execute("CREATE SCHEMA tenant_a").unwrap();
        let out = p.run(&["-x", "schema=tenant_a", "upgrade", "head"]);
        assert!(out.status.success(), "{name}: {out:?}");
        assert_eq!(p.versions(Some("tenant_a")), ["r2"]);
        assert!(!p.has_journal(None));
        assert_eq!(
            without_errors(&p.journal(Some("tenant_a"))),
            [
                row("upgrade", "r1", "applied"),
                row("upgrade", "r2", "applied")
            ]
        );
        let out = p.run(&["-x", "schema=tenant_a", "--format", "json", "journal"]);
        assert!(out.status.success(), "{out:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["journal"].as_array().unwrap().len(), 2);
    }
}
