//! `aurora drift` and `aurora upgrade --rehearse` against the real binary, on
//! SQLite and on the PostgreSQL server of `scripts/start-postgres.sh`
//! (`AURORA_TEST_POSTGRES_URL`; required when `CI=true`).
//!
//! Rehearse's promise is proved, not assumed: on SQLite the database file's
//! bytes (SHA-256) are the same before and after; on PostgreSQL a snapshot of
//! the catalog (columns, indexes, constraints) and of the data (row counts,
//! version rows) is the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aurora::db::{self, Connection, DatabaseUrl, Value};
use sha2::{Digest, Sha256};

mod cli_support;
use cli_support::pg_base;

const AURORA: &str = env!("CARGO_BIN_EXE_aurora");

struct Backend {
    name: &'static str,
    url: String,
    file: Option<PathBuf>,
}

fn backends(dir: &Path, test: &str) -> Vec<Backend> {
    let file = dir.join("app.db");
    let mut out = vec![Backend {
        name: "sqlite",
        url: format!("sqlite:///{}", file.display()),
        file: Some(file),
    }];
    if let Some(base) = pg_base() {
        let url = cli_support::fresh_pg_database(&base, &format!("drift_{test}"));
        out.push(Backend {
            name: "postgresql",
            url,
            file: None,
        });
    }
    out
}

impl Backend {
    fn connect(&self) -> Box<dyn Connection> {
        db::connect(&DatabaseUrl::parse(&self.url).unwrap()).unwrap()
    }

    fn rows(&self, sql: &str) -> Vec<String> {
        self.connect()
            .query(sql)
            .unwrap()
            .into_iter()
            .map(|row| {
                row.iter()
                    .map(|v| match v {
                        Value::Text(t) => t.clone(),
                        Value::Integer(n) => n.to_string(),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    /// What must not change: SQLite, the file's hash; PostgreSQL, catalog and data.
    fn snapshot(&self) -> Vec<String> {
        match &self.file {
            Some(file) => vec![format!(
                "{:x}",
                Sha256::digest(std::fs::read(file).unwrap())
            )],
            None => {
                let mut out = self.rows(
                    "SELECT table_name, column_name, data_type, is_nullable \
                     FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
                );
                out.extend(self.rows(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
                ));
                out.extend(self.rows(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint \
                     WHERE connamespace = 'public'::regnamespace ORDER BY 1",
                ));
                out.extend(
                    self.rows("SELECT count(*), string_agg(name, ',' ORDER BY id) FROM account"),
                );
                out.extend(self.rows("SELECT version_num FROM alembic_version"));
                out
            }
        }
    }
}

fn revision(id: &str, down: Option<&str>, upgrade: &str) -> String {
    let down = match down {
        Some(d) => format!("'{d}'"),
        None => "None".to_string(),
    };
    format!(
        "\"\"\"{id}\n\nRevision ID: {id}\nRevises:\nCreate Date: 2026-01-01\n\n\"\"\"\n\
         from alembic import op\nimport sqlalchemy as sa\n\nrevision = '{id}'\n\
         down_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n\
         def upgrade():\n{upgrade}\n\n\ndef downgrade():\n    pass\n"
    )
}

/// A project (`aurora init`) with three revisions: a table, data and a column, and a
/// concurrent index in an `autocommit_block()`.
fn project(dir: &Path, url: &str) {
    let init = Command::new(AURORA)
        .args(["init", "migrations"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let ini = dir.join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("sqlalchemy.url") {
                format!("sqlalchemy.url = {url}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&ini, text).unwrap();
    let versions = dir.join("migrations/versions");
    std::fs::write(
        versions.join("a1_.py"),
        revision(
            "a1",
            None,
            "    op.create_table('account', sa.Column('id', sa.Integer(), primary_key=True), \
             sa.Column('name', sa.String(40), nullable=False))\n    \
             op.create_index('ix_account_name', 'account', ['name'])",
        ),
    )
    .unwrap();
    std::fs::write(
        versions.join("b2_.py"),
        revision(
            "b2",
            Some("a1"),
            "    op.execute(\"INSERT INTO account (name) VALUES ('a'), ('b'), ('c')\")\n    \
             op.add_column('account', sa.Column('email', sa.String(80)))\n    \
             op.execute(\"UPDATE account SET email = name WHERE name <> 'c'\")",
        ),
    )
    .unwrap();
    std::fs::write(
        versions.join("c3_.py"),
        revision(
            "c3",
            Some("b2"),
            "    with op.get_context().autocommit_block():\n        \
             op.create_index('ix_email', 'account', ['email'], postgresql_concurrently=True)",
        ),
    )
    .unwrap();
}

fn aurora(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(AURORA)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    eprintln!(
        "$ aurora {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn drift_is_clean_after_upgrade_and_names_what_changed_behind_its_back() {
    let tmp = tempfile::tempdir().unwrap();
    for backend in backends(tmp.path(), "drift") {
        let dir = tmp.path().join(backend.name);
        std::fs::create_dir_all(&dir).unwrap();
        project(&dir, &backend.url);
        assert!(aurora(&dir, &["upgrade", "b2"]).status.success());

        let clean = aurora(&dir, &["drift"]);
        assert_eq!(clean.status.code(), Some(0), "{}", backend.name);
        assert_eq!(
            stdout(&clean),
            "No drift: the database matches its migrations at b2.\n"
        );

        backend
            .connect()
            .execute("CREATE TABLE stray (x INTEGER)")
            .unwrap();
        backend
            .connect()
            .execute("DROP INDEX ix_account_name")
            .unwrap();
        let drifted = aurora(&dir, &["drift"]);
        assert_ne!(drifted.status.code(), Some(0), "{}", backend.name);
        let text = stdout(&drifted);
        assert!(
            text.starts_with("The database differs from its migrations at b2"),
            "{text}"
        );
        assert!(text.contains("    op.drop_table('stray')\n"), "{text}");
        assert!(
            text.contains(
                "    op.create_index(op.f('ix_account_name'), 'account', ['name'], unique=False)\n"
            ),
            "{text}"
        );

        let json = aurora(&dir, &["--format", "json", "drift"]);
        assert_ne!(json.status.code(), Some(0));
        let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(doc["command"], "drift");
        assert_eq!(doc["in_sync"], false);
        assert_eq!(doc["heads"], serde_json::json!(["b2"]));
        let kinds: Vec<&str> = doc["diffs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"remove_table") && kinds.contains(&"add_index"),
            "{kinds:?}"
        );
        if backend.file.is_none() {
            // The scratch databases are gone.
            assert!(backend
                .rows("SELECT datname FROM pg_database WHERE datname LIKE 'aurora_scratch%'")
                .is_empty());
        }
    }
}

#[test]
fn rehearse_reports_each_revision_and_leaves_the_database_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    for backend in backends(tmp.path(), "rehearse") {
        let dir = tmp.path().join(backend.name);
        std::fs::create_dir_all(&dir).unwrap();
        project(&dir, &backend.url);
        assert!(aurora(&dir, &["upgrade", "a1"]).status.success());
        let before = backend.snapshot();

        let run = aurora(&dir, &["upgrade", "head", "--rehearse"]);
        assert_eq!(run.status.code(), Some(0), "{}", backend.name);
        let text = stdout(&run);
        assert!(
            text.contains("everything below was rolled back:\n"),
            "{text}"
        );
        assert!(text.contains("  upgrade a1 -> b2, b2  "), "{text}");
        assert!(
            text.contains("    3 row(s): INSERT INTO account (name) VALUES ('a'), ('b'), ('c')\n"),
            "{text}"
        );
        assert!(
            text.contains("    2 row(s): UPDATE account SET email = name WHERE name <> 'c'\n"),
            "{text}"
        );
        assert!(
            text.contains("  upgrade b2 -> c3, c3: NOT REHEARSED: it has an autocommit_block()"),
            "{text}"
        );
        if backend.file.is_none() {
            assert!(
                text.contains("in one transaction with lock_timeout 5s"),
                "{text}"
            );
            assert!(
                text.contains("    lock AccessExclusiveLock on public.account\n"),
                "{text}"
            );
        }
        assert_eq!(
            backend.snapshot(),
            before,
            "{}: the rehearsal changed the database",
            backend.name
        );

        // The lock timeout is the one asked for, and a bad one is refused first.
        if backend.file.is_none() {
            let run = aurora(
                &dir,
                &[
                    "upgrade",
                    "head",
                    "--rehearse",
                    "--rehearse-lock-timeout",
                    "750ms",
                ],
            );
            assert!(stdout(&run).contains("lock_timeout 750ms"));
        }
        let bad = aurora(
            &dir,
            &[
                "upgrade",
                "head",
                "--rehearse",
                "--rehearse-lock-timeout",
                "1s'; DROP",
            ],
        );
        assert_ne!(bad.status.code(), Some(0));
        assert_eq!(backend.snapshot(), before, "{}", backend.name);

        // The real upgrade afterwards still does everything.
        assert!(aurora(&dir, &["upgrade", "b2"]).status.success());
        assert_ne!(backend.snapshot(), before);
    }
}

/// The path `Backup before REV: PATH` printed.
fn backup_path(out: &Output, revision: &str) -> PathBuf {
    let text = stdout(out);
    let prefix = format!("Backup before {revision}: ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no backup line in {text:?}"));
    PathBuf::from(&line[prefix.len()..])
}

#[test]
fn backup_before_a_destructive_revision_restores_the_data_it_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    for backend in backends(tmp.path(), "backup") {
        let dir = tmp.path().join(backend.name);
        std::fs::create_dir_all(&dir).unwrap();
        project(&dir, &backend.url);
        // c3 drops the column b2 filled.
        std::fs::write(
            dir.join("migrations/versions/c3_.py"),
            revision(
                "c3",
                Some("b2"),
                "    with op.batch_alter_table('account') as b:\n        b.drop_column('email')",
            ),
        )
        .unwrap();
        let mut ini = std::fs::read_to_string(dir.join("alembic.ini")).unwrap();
        ini.push_str("\n[aurora]\nbackup = auto\nbackup_dir = saved\n");
        std::fs::write(dir.join("alembic.ini"), ini).unwrap();

        // b2 only adds: no backup.
        let add = aurora(&dir, &["upgrade", "b2"]);
        assert!(add.status.success());
        assert!(!stdout(&add).contains("Backup before"), "{}", stdout(&add));
        let emails = "SELECT name || ':' || coalesce(email, '-') FROM account ORDER BY id";
        let before = backend.rows(emails);
        assert_eq!(before, ["a:a", "b:b", "c:-"]);

        if backend.file.is_none() {
            // Without pg_dump the run is refused before anything of it runs.
            let refused = Command::new(AURORA)
                .args(["upgrade", "head"])
                .current_dir(&dir)
                .env("PATH", "/nonexistent")
                .output()
                .unwrap();
            assert_ne!(refused.status.code(), Some(0));
            let err = String::from_utf8_lossy(&refused.stderr);
            assert!(
                err.contains("--backup on PostgreSQL runs pg_dump, which could not be started"),
                "{err}"
            );
            assert_eq!(
                backend.rows("SELECT version_num FROM alembic_version"),
                ["b2"]
            );
            assert_eq!(backend.rows(emails), before);
        }

        let drop = aurora(&dir, &["upgrade", "head"]);
        assert!(drop.status.success());
        let path = backup_path(&drop, "c3");
        assert!(path.starts_with(dir.join("saved")), "{path:?}");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match &backend.file {
            Some(_) => assert!(
                name.starts_with("app-c3-") && name.ends_with("Z.sqlite"),
                "{name}"
            ),
            None => assert!(
                name.starts_with("drift_backup-c3-") && name.ends_with("Z.dump"),
                "{name}"
            ),
        }
        let listed = aurora(&dir, &["backups"]);
        assert!(
            stdout(&listed).starts_with(&format!("{}  ", path.display())),
            "{}",
            stdout(&listed)
        );
        assert_eq!(stdout(&listed).lines().count(), 1);

        // Restore: the dropped column and its data come back.
        match &backend.file {
            Some(file) => {
                std::fs::copy(&path, file).unwrap();
            }
            None => {
                let restore = Command::new("pg_restore")
                    .args([
                        "--clean",
                        "--if-exists",
                        "--no-owner",
                        "--dbname",
                        &backend.url,
                    ])
                    .arg(&path)
                    .output()
                    .unwrap();
                assert!(restore.status.success(), "{restore:?}");
            }
        }
        assert_eq!(backend.rows(emails), before, "{}", backend.name);

        // The helper verb `downgrade all` backs up by default (into backup_dir), as `reset`
        // does, before its first step.
        let all = aurora(&dir, &["downgrade", "all", "--yes"]);
        assert!(
            all.status.success(),
            "{}: {}",
            backend.name,
            String::from_utf8_lossy(&all.stderr)
        );
        let line = stdout(&all)
            .lines()
            .find(|l| l.starts_with("Backup before "))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{}: no backup line in {:?}", backend.name, stdout(&all)));
        let saved = PathBuf::from(line.split_once(": ").unwrap().1);
        assert!(saved.starts_with(dir.join("saved")), "{saved:?}");
        assert!(saved.exists(), "{saved:?}");
        assert_eq!(
            backend
                .rows("SELECT count(*) FROM alembic_version")
                .concat(),
            "0"
        );

        // An explicit --backup=DIR backs up a run that only adds, too.
        let reset = aurora(&dir, &["downgrade", "base", "--backup=explicit"]);
        assert!(reset.status.success(), "{}", backend.name);
        let after = aurora(&dir, &["upgrade", "a1", "--backup=explicit"]);
        assert!(backup_path(&after, "a1").starts_with(dir.join("explicit")));
    }
}
