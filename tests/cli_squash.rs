//! `aurora squash` (issue 14, part 1) against the real binary, on SQLite and on the PostgreSQL
//! server of `scripts/start-postgres.sh` (`AURORA_TEST_POSTGRES_URL`; required when `CI=true`).
//!
//! The promise is proved on the catalogs, read here independently of aurora's reflection:
//! `upgrade head` through the squash revision gives the same columns, indexes, constraints
//! and data as `upgrade head` through the original files, from base and from every revision
//! a database can be stamped at, and the replaced revisions are never followed by the squash
//! (nor the squash by them).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use aurora::db::{self, Connection, DatabaseUrl, Value};

mod cli_support;
use cli_support::pg_base;

const AURORA: &str = env!("CARGO_BIN_EXE_aurora");

/// a1 creates `account`; b2..d4 are the range (a table with a foreign key and an index, a
/// column and a table with a unique constraint and a server default, a column then data);
/// e5 adds a column after it.
const REVISIONS: [(&str, &str, &str); 5] = [
    (
        "a1",
        "    op.create_table('account', sa.Column('id', sa.Integer(), primary_key=True), \
         sa.Column('name', sa.String(40), nullable=False))\n    \
         op.create_index('ix_account_name', 'account', ['name'])",
        "    op.drop_index('ix_account_name', table_name='account')\n    op.drop_table('account')",
    ),
    (
        "b2",
        "    op.create_table('item', sa.Column('id', sa.Integer(), primary_key=True), \
         sa.Column('account_id', sa.Integer(), sa.ForeignKey('account.id', ondelete='CASCADE'), \
         nullable=False), sa.Column('price', sa.Numeric(10, 2)))\n    \
         op.create_index('ix_item_account', 'item', ['account_id'])",
        "    op.drop_index('ix_item_account', table_name='item')\n    op.drop_table('item')",
    ),
    (
        "c3",
        "    op.add_column('account', sa.Column('email', sa.String(100), nullable=True))\n    \
         op.create_table('tag', sa.Column('id', sa.Integer(), primary_key=True), \
         sa.Column('label', sa.String(30), nullable=False), \
         sa.Column('active', sa.Boolean(), nullable=True), \
         sa.Column('rank', sa.Integer(), server_default=sa.text('0'), nullable=False), \
         sa.UniqueConstraint('label', name='uq_tag_label'))",
        "    op.drop_table('tag')\n    with op.batch_alter_table('account') as b:\n        \
         b.drop_column('email')",
    ),
    (
        "d4",
        "    op.add_column('item', sa.Column('qty', sa.Integer(), nullable=True))\n    \
         op.execute(\"INSERT INTO tag (id, label) VALUES (1, 'new'), (2, 'sale')\")\n    \
         tag = sa.table('tag', sa.column('id', sa.Integer()), sa.column('label', sa.String()), \
         sa.column('active', sa.Boolean()))\n    \
         op.bulk_insert(tag, [{'id': 3, 'label': \"it's\", 'active': True}, \
         {'id': 4, 'label': 'off', 'active': None}])",
        "    op.execute('DELETE FROM tag')\n    with op.batch_alter_table('item') as b:\n        \
         b.drop_column('qty')",
    ),
    (
        "e5",
        "    op.add_column('item', sa.Column('note', sa.Text(), nullable=True))",
        "    with op.batch_alter_table('item') as b:\n        b.drop_column('note')",
    ),
];

struct Project {
    dir: tempfile::TempDir,
    backend: &'static str,
    /// The PostgreSQL databases made for the scenarios, dropped with the project.
    pg_databases: std::cell::RefCell<Vec<String>>,
}

impl Drop for Project {
    fn drop(&mut self) {
        let names = self.pg_databases.take();
        if names.is_empty() {
            return;
        }
        if let Some(base) = pg_base() {
            let mut admin = db::connect(&DatabaseUrl::parse(&base).unwrap()).unwrap();
            for name in names {
                let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

fn revision(id: &str, down: Option<&str>, up: &str, down_body: &str) -> String {
    let down = down.map_or("None".to_string(), |d| format!("'{d}'"));
    format!(
        "\"\"\"{id}\n\nRevision ID: {id}\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
         revision = '{id}'\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n\
         def upgrade():\n{up}\n\n\ndef downgrade():\n{down_body}\n"
    )
}

impl Project {
    fn new(backend: &'static str, revisions: &[(&str, Option<&str>, &str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let init = Command::new(AURORA)
            .args(["init", "migrations"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(init.status.success(), "{init:?}");
        for (id, down, up, down_body) in revisions {
            std::fs::write(
                dir.path().join(format!("migrations/versions/{id}_.py")),
                revision(id, *down, up, down_body),
            )
            .unwrap();
        }
        Project {
            dir,
            backend,
            pg_databases: Default::default(),
        }
    }

    fn standard(backend: &'static str) -> Project {
        let revisions: Vec<(&str, Option<&str>, &str, &str)> = REVISIONS
            .iter()
            .enumerate()
            .map(|(i, (id, up, down))| (*id, (i > 0).then(|| REVISIONS[i - 1].0), *up, *down))
            .collect();
        Project::new(backend, &revisions)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A fresh, empty database for one scenario.
    fn database(&self, name: &str) -> String {
        match self.backend {
            "sqlite" => format!("sqlite:///{}", self.path(&format!("{name}.db")).display()),
            _ => {
                let base = pg_base().expect("postgresql backend without a server");
                let name = format!("squash_{name}");
                self.pg_databases.borrow_mut().push(name.clone());
                cli_support::fresh_pg_database(&base, &name)
            }
        }
    }

    fn run(&self, url: &str, args: &[&str]) -> Output {
        Command::new(AURORA)
            .args(args)
            .current_dir(self.dir.path())
            .env("AURORA_URL", url)
            .env("AURORA_CACHE_DIR", self.path("cache"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, url: &str, args: &[&str]) -> String {
        let out = self.run(url, args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "aurora {args:?} failed:\n{text}");
        text
    }

    fn failed(&self, url: &str, args: &[&str]) -> String {
        let out = self.run(url, args);
        assert!(!out.status.success(), "aurora {args:?} succeeded");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn squash_file(&self) -> PathBuf {
        let dir = self.path("migrations/squashed");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.pop().unwrap()
    }
}

fn rows(url: &str, sql: &str) -> Vec<String> {
    let mut conn = db::connect(&DatabaseUrl::parse(url).unwrap()).unwrap();
    query(&mut *conn, sql)
}

fn query(conn: &mut dyn Connection, sql: &str) -> Vec<String> {
    conn.query(sql)
        .unwrap()
        .into_iter()
        .map(|row| {
            row.iter()
                .map(|v| match v {
                    Value::Text(t) => t.clone(),
                    Value::Integer(n) => n.to_string(),
                    Value::Null => "NULL".to_string(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// Columns, indexes, constraints and data, read from the catalogs; the version row apart.
fn snapshot(url: &str) -> Vec<String> {
    let mut conn = db::connect(&DatabaseUrl::parse(url).unwrap()).unwrap();
    let mut out = Vec::new();
    match conn.dialect() {
        aurora::sql::Dialect::Sqlite => {
            let tables = query(
                &mut *conn,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name <> 'alembic_version' ORDER BY 1",
            );
            for t in tables {
                out.push(format!("table {t}"));
                for pragma in ["table_info", "foreign_key_list"] {
                    out.extend(
                        query(&mut *conn, &format!("PRAGMA {pragma}('{t}')"))
                            .into_iter()
                            .map(|r| format!("{t} {pragma} {r}")),
                    );
                }
                // Index names SQLite makes up for UNIQUE columns differ by construction order;
                // their columns and uniqueness do not.
                for index in query(
                    &mut *conn,
                    &format!(
                        "SELECT name, \"unique\", origin FROM pragma_index_list('{t}') ORDER BY 1"
                    ),
                ) {
                    let mut parts = index.split('|');
                    let name = parts.next().unwrap().to_string();
                    let rest: Vec<&str> = parts.collect();
                    let cols = query(
                        &mut *conn,
                        &format!("SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"),
                    )
                    .join(",");
                    let shown = if name.starts_with("sqlite_autoindex") {
                        "auto".to_string()
                    } else {
                        name
                    };
                    out.push(format!("{t} index {shown} {} ({cols})", rest.join("|")));
                }
            }
        }
        aurora::sql::Dialect::Postgresql => {
            out.extend(query(
                &mut *conn,
                "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, \
                 COALESCE(column_default, ''), COALESCE(character_maximum_length, 0), \
                 COALESCE(numeric_precision, 0), COALESCE(numeric_scale, 0) \
                 FROM information_schema.columns WHERE table_schema = 'public' \
                 AND table_name <> 'alembic_version' ORDER BY 1, 3",
            ));
            out.extend(query(
                &mut *conn,
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' \
                 AND tablename <> 'alembic_version' ORDER BY 1",
            ));
            out.extend(query(
                &mut *conn,
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) \
                 FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
                 AND conrelid::regclass::text <> 'alembic_version' ORDER BY 1, 2",
            ));
        }
    }
    out
}

fn data(url: &str) -> Vec<String> {
    rows(
        url,
        "SELECT id, label, CASE WHEN active IS NULL THEN 'null' WHEN active THEN 't' ELSE 'f' END \
         FROM tag ORDER BY id",
    )
}

fn version(url: &str) -> Vec<String> {
    rows(url, "SELECT version_num FROM alembic_version")
}

fn backends() -> Vec<&'static str> {
    let mut out = vec!["sqlite"];
    if pg_base().is_some() {
        out.push("postgresql");
    }
    out
}

fn upgrade_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once("Running upgrade ").map(|(_, r)| r.to_string()))
        .map(|r| r.split(',').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn squash_gives_the_same_schema_from_base_and_from_every_stamped_revision() {
    for backend in backends() {
        let project = Project::standard(backend);
        // The reference: the original files, before any squash.
        let reference_url = project.database("reference");
        project.ok(&reference_url, &["upgrade", "head"]);
        let reference = snapshot(&reference_url);
        let reference_data = data(&reference_url);
        assert_eq!(
            reference_data,
            ["1|new|null", "2|sale|null", "3|it's|t", "4|off|null"],
            "{backend}"
        );
        let at: Vec<(String, Vec<String>)> = ["a1", "b2", "c3", "d4"]
            .iter()
            .map(|rev| {
                let url = project.database(&format!("ref_{rev}"));
                project.ok(&url, &["upgrade", rev]);
                (rev.to_string(), snapshot(&url))
            })
            .collect();

        let work = project.database("work");
        let out = project.ok(
            &work,
            &["squash", "b2:d4", "-m", "squash b2 to d4", "--rev-id", "s9"],
        );
        assert!(out.contains("Squashed 3 revision(s) b2..d4 into"), "{out}");
        let file = project.squash_file();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("down_revision: Union[str, Sequence[str], None] = 'a1'\nreplaces: tuple[str, ...] = ('b2', 'c3', 'd4')\n"), "{text}");
        assert!(
            text.contains(
                "    op.execute(\"INSERT INTO tag (id, label) VALUES (1, 'new'), (2, 'sale')\")\n    \
                 op.bulk_insert(sa.table('tag', sa.column('id', sa.Integer()), \
                 sa.column('label', sa.String()), sa.column('active', sa.Boolean())), \
                 [{'id': 3, 'label': \"it's\", 'active': True}, \
                 {'id': 4, 'label': 'off', 'active': None}], multiinsert=True)\n"
            ),
            "{text}"
        );
        // The replaced files stay.
        for id in ["b2", "c3", "d4"] {
            assert!(project
                .path(&format!("migrations/versions/{id}_.py"))
                .exists());
        }
        // aurora's history is the squash view.
        let history = project.ok(&work, &["history"]);
        assert_eq!(
            history.lines().collect::<Vec<_>>(),
            [
                "s9 -> e5 (head), e5",
                "a1 -> s9, squash b2 to d4",
                "<base> -> a1, a1"
            ],
            "{backend}"
        );

        // From base: only the squash revision, and the same schema and data.
        let fresh = project.database("fresh");
        let log = project.ok(&fresh, &["upgrade", "head"]);
        assert_eq!(
            upgrade_lines(&log),
            [" -> a1", "a1 -> s9", "s9 -> e5"],
            "{backend}"
        );
        assert_eq!(snapshot(&fresh), reference, "{backend}: via the squash");
        assert_eq!(data(&fresh), reference_data, "{backend}");
        assert_eq!(version(&fresh), ["e5"]);

        // From every revision a database can be stamped at (made by the old files, as a
        // database older than the squash would be): the old files go on, never the squash.
        for (rev, schema_at) in &at {
            let url = project.database(&format!("at_{rev}"));
            let log = project.ok(&url, &["upgrade", rev]);
            assert!(!log.contains("s9"), "{backend} {rev}: {log}");
            assert_eq!(&snapshot(&url), schema_at, "{backend}: upgrade {rev}");
            let log = project.ok(&url, &["upgrade", "head"]);
            let ran = upgrade_lines(&log);
            if *rev == "a1" {
                assert_eq!(ran, ["a1 -> s9", "s9 -> e5"], "{backend}");
            } else {
                assert!(
                    ran.iter().all(|l| !l.contains("s9")),
                    "{backend} {rev}: {ran:?}"
                );
                assert_eq!(
                    ran.last().map(String::as_str),
                    Some("d4 -> e5"),
                    "{backend}"
                );
            }
            assert_eq!(snapshot(&url), reference, "{backend}: from {rev}");
            assert_eq!(data(&url), reference_data, "{backend}: from {rev}");
            assert_eq!(version(&url), ["e5"]);
        }

        // And back: a database made through the squash downgrades through it to base, and
        // one stamped inside the range downgrades through the old files.
        let log = project.ok(&fresh, &["downgrade", "a1"]);
        assert!(log.contains("Running downgrade s9 -> a1"), "{log}");
        assert_eq!(
            snapshot(&fresh),
            at[0].1,
            "{backend}: downgrade through the squash"
        );
        let url = project.database("down_c3");
        project.ok(&url, &["upgrade", "c3"]);
        let log = project.ok(&url, &["downgrade", "a1"]);
        assert!(
            log.contains("Running downgrade c3 -> b2") && !log.contains("s9"),
            "{log}"
        );

        // Offline, from a replaced revision: the old files.
        let sql = project.ok(&work, &["upgrade", "c3:head", "--sql"]);
        assert!(
            sql.contains("UPDATE alembic_version SET version_num='d4'"),
            "{sql}"
        );
        assert!(!sql.contains("s9"), "{sql}");
    }
}

#[test]
fn finalize_waits_for_the_database_then_leaves_an_ordinary_chain() {
    for backend in backends() {
        let project = Project::standard(backend);
        let work = project.database("fin_work");
        project.ok(&work, &["upgrade", "c3"]);
        project.ok(
            &work,
            &["squash", "b2:d4", "-m", "squash", "--rev-id", "s9"],
        );
        let squash = project.squash_file();
        // The configured database is stamped inside the range.
        let out = project.failed(&work, &["squash", "--finalize"]);
        assert!(
            out.contains("the database is stamped at c3, which the squash revision s9 replaces"),
            "{out}"
        );
        assert!(squash.exists() && project.path("migrations/versions/c3_.py").exists());
        project.ok(&work, &["upgrade", "head"]);
        let out = project.ok(&work, &["squash", "--finalize"]);
        assert!(out.contains("Removed"), "{out}");
        for id in ["b2", "c3", "d4"] {
            assert!(!project
                .path(&format!("migrations/versions/{id}_.py"))
                .exists());
        }
        let moved = project
            .path("migrations/versions")
            .join(squash.file_name().unwrap());
        assert!(moved.exists() && !squash.exists());
        let e5 = std::fs::read_to_string(project.path("migrations/versions/e5_.py")).unwrap();
        assert!(e5.contains("down_revision = 's9'"), "{e5}");
        // What Alembic now sees: a1 -> s9 -> e5, and aurora the same.
        let history = project.ok(&work, &["history"]);
        assert_eq!(
            history.lines().collect::<Vec<_>>(),
            [
                "s9 -> e5 (head), e5",
                "a1 -> s9, squash",
                "<base> -> a1, a1"
            ]
        );
        let fresh = project.database("fin_fresh");
        let log = project.ok(&fresh, &["upgrade", "head"]);
        assert_eq!(upgrade_lines(&log), [" -> a1", "a1 -> s9", "s9 -> e5"]);
        assert_eq!(snapshot(&fresh), snapshot(&work), "{backend}");
        let out = project.failed(&work, &["squash", "--finalize"]);
        assert!(out.contains("nothing to finalize"), "{out}");
    }
}

#[test]
fn ranges_that_are_not_linear_chains_are_refused() {
    let project = Project::new(
        "sqlite",
        &[
            (
                "a1",
                None,
                "    op.create_table('a', sa.Column('id', sa.Integer(), primary_key=True))",
                "    op.drop_table('a')",
            ),
            (
                "b2",
                Some("a1"),
                "    op.create_table('b', sa.Column('id', sa.Integer(), primary_key=True))",
                "    op.drop_table('b')",
            ),
            (
                "c3",
                Some("b2"),
                "    op.create_table('c', sa.Column('id', sa.Integer(), primary_key=True))",
                "    op.drop_table('c')",
            ),
            (
                "x3",
                Some("b2"),
                "    op.create_table('x', sa.Column('id', sa.Integer(), primary_key=True))",
                "    op.drop_table('x')",
            ),
        ],
    );
    let url = project.database("nonlinear");
    let out = project.failed(&url, &["squash", "a1:c3", "-m", "m"]);
    assert!(
        out.contains("b2 is a branch point inside the range; squash ranges are linear chains"),
        "{out}"
    );
    let out = project.failed(&url, &["squash", "c3:x3", "-m", "m"]);
    assert!(
        out.contains("c3 is not an ancestor of x3 through down_revision"),
        "{out}"
    );
    let out = project.failed(&url, &["squash", "b2", "-m", "m"]);
    assert!(
        out.contains("squash needs a range START:END (both inclusive)"),
        "{out}"
    );
    assert!(!project.path("migrations/squashed").exists());
    // A branch point at END is fine: both children follow the squash.
    project.ok(&url, &["squash", "a1:b2", "-m", "m", "--rev-id", "s1"]);
    let heads = project.ok(&url, &["heads"]);
    assert_eq!(
        heads.lines().collect::<Vec<_>>(),
        ["c3 (head)", "x3 (head)"]
    );
}

#[test]
fn a_data_statement_before_a_schema_change_is_refused_with_its_place() {
    let project = Project::new(
        "sqlite",
        &[
            (
                "a1",
                None,
                "    op.create_table('a', sa.Column('id', sa.Integer(), primary_key=True))",
                "    op.drop_table('a')",
            ),
            (
                "b2",
                Some("a1"),
                "    op.execute('INSERT INTO a (id) VALUES (1)')",
                "    op.execute('DELETE FROM a')",
            ),
            (
                "c3",
                Some("b2"),
                "    op.add_column('a', sa.Column('n', sa.Integer()))",
                "    op.drop_column('a', 'n')",
            ),
        ],
    );
    let url = project.database("data");
    let out = project.failed(&url, &["squash", "a1:c3", "-m", "m"]);
    let b2 = project.path("migrations/versions/b2_.py");
    let c3 = project.path("migrations/versions/c3_.py");
    let b2 = b2.canonicalize().unwrap_or(b2);
    let c3 = c3.canonicalize().unwrap_or(c3);
    assert!(
        out.contains(&format!(
            "{}:15:5: this data statement runs before a schema change at {}:15:5 (add_column() in upgrade())",
            b2.display(),
            c3.display()
        )),
        "{out}"
    );
    assert!(!project.path("migrations/squashed").exists());
    // Data after the last schema change of the range is carried over.
    project.ok(&url, &["squash", "a1:b2", "-m", "m"]);
}

#[test]
fn a_revision_on_a_squash_that_ends_at_head_names_end_so_alembic_sees_one_chain() {
    let project = Project::new(
        "sqlite",
        &[
            (
                "a1",
                None,
                "    op.create_table('a', sa.Column('id', sa.Integer(), primary_key=True))",
                "    op.drop_table('a')",
            ),
            (
                "b2",
                Some("a1"),
                "    op.create_table('b', sa.Column('id', sa.Integer(), primary_key=True))",
                "    op.drop_table('b')",
            ),
        ],
    );
    let url = project.database("at_head");
    project.ok(&url, &["squash", "a1:b2", "-m", "all", "--rev-id", "s1"]);
    let log = project.ok(&url, &["upgrade", "head"]);
    assert_eq!(upgrade_lines(&log), [" -> s1"]);
    project.ok(&url, &["revision", "-m", "next", "--rev-id", "n1"]);
    let next = std::fs::read_to_string(project.path("migrations/versions/n1_next.py")).unwrap();
    assert!(
        next.contains("down_revision: Union[str, Sequence[str], None] = 'b2'\n"),
        "{next}"
    );
    let history = project.ok(&url, &["history"]);
    assert_eq!(
        history.lines().collect::<Vec<_>>(),
        ["s1 -> n1 (head), next", "<base> -> s1, all"]
    );
    let log = project.ok(&url, &["upgrade", "head"]);
    assert_eq!(upgrade_lines(&log), ["s1 -> n1"]);
    project.ok(&url, &["squash", "--finalize"]);
    let next = std::fs::read_to_string(project.path("migrations/versions/n1_next.py")).unwrap();
    assert!(
        next.contains("down_revision: Union[str, Sequence[str], None] = 's1'\n"),
        "{next}"
    );
    assert_eq!(version(&url), ["n1"]);
}

#[test]
fn a_squash_that_would_not_give_the_same_schema_is_removed_and_refused() {
    // A server default added to an existing table: autogenerate does not compare defaults,
    // so the rendered squash would lose it; the proof on a fresh database catches it.
    let project = Project::new(
        "sqlite",
        &[
            ("a1", None, "    op.create_table('a', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('n', sa.Integer(), nullable=False))", "    op.drop_table('a')"),
            ("b2", Some("a1"), "    with op.batch_alter_table('a') as b:\n        b.alter_column('n', server_default='5')", "    with op.batch_alter_table('a') as b:\n        b.alter_column('n', server_default=None)"),
        ],
    );
    let url = project.database("proof");
    let out = project.failed(&url, &["squash", "b2:b2", "-m", "m"]);
    assert!(out.contains("upgrading through the squash revision does not give the schema the replaced revisions give"), "{out}");
    assert!(
        out.contains("table(s) a differ in what autogenerate does not compare"),
        "{out}"
    );
    assert!(!project.path("migrations/squashed").exists());
    let history = project.ok(&url, &["history"]);
    assert_eq!(
        history.lines().collect::<Vec<_>>(),
        ["a1 -> b2 (head), b2", "<base> -> a1, a1"]
    );
}

#[test]
fn postgresql_types_defaults_and_enums_survive_a_squash() {
    if pg_base().is_none() {
        return;
    }
    let project = Project::new(
        "postgresql",
        &[
            ("a1", None, "    op.create_table('a', sa.Column('id', sa.Integer(), primary_key=True))", "    op.drop_table('a')"),
            (
                "b2",
                Some("a1"),
                "    op.create_table('doc', sa.Column('id', sa.BigInteger(), primary_key=True), \
                 sa.Column('body', postgresql.JSONB(), nullable=True), \
                 sa.Column('created', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False), \
                 sa.Column('state', sa.Enum('new', 'done', name='doc_state'), nullable=False))",
                "    op.drop_table('doc')",
            ),
            (
                "c3",
                Some("b2"),
                "    op.create_index('ix_doc_created', 'doc', ['created'])\n    \
                 op.add_column('a', sa.Column('tags', postgresql.ARRAY(sa.Text()), nullable=True))",
                "    op.drop_column('a', 'tags')\n    op.drop_index('ix_doc_created', table_name='doc')",
            ),
        ],
    );
    for id in ["a1", "b2", "c3"] {
        let path = project.path(&format!("migrations/versions/{id}_.py"));
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "import sqlalchemy as sa\n",
            "import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n",
        );
        std::fs::write(&path, text).unwrap();
    }
    let reference = project.database("pg_reference");
    project.ok(&reference, &["upgrade", "head"]);
    let work = project.database("pg_work");
    project.ok(&work, &["squash", "b2:c3", "-m", "pg", "--rev-id", "s9"]);
    let text = std::fs::read_to_string(project.squash_file()).unwrap();
    assert!(
        text.contains("from sqlalchemy.dialects import postgresql\n"),
        "{text}"
    );
    assert!(
        text.contains("postgresql.ENUM('new', 'done', name='doc_state')"),
        "{text}"
    );
    let fresh = project.database("pg_fresh");
    let log = project.ok(&fresh, &["upgrade", "head"]);
    assert_eq!(upgrade_lines(&log), [" -> a1", "a1 -> s9"]);
    assert_eq!(snapshot(&fresh), snapshot(&reference));
    let types = "SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) \
                 FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1";
    assert_eq!(rows(&fresh, types), rows(&reference, types));
}
