//! Concurrency, signals and crashes, against the real binary on SQLite and
//! on the PostgreSQL server of `scripts/start-postgres.sh`
//! (`AURORA_TEST_POSTGRES_URL`; required when `CI=true`).
//!
//! Each test prints what it counted (`N/M runners exited 0`, ...) and
//! asserts on behaviour: exit statuses, how often each body ran, the
//! version rows, whether a lock is free. Nothing is timed except the
//! bounds the behaviour promises (a waiter's `--lock-timeout 5` after a
//! holder is killed, a lock free within 1 s of an interrupted run).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aurora::db::{self, Connection, DatabaseUrl, Value};

mod cli_support;
use cli_support::pg_base;

const AURORA: &str = env!("CARGO_BIN_EXE_aurora");

/// One database to run against: its name, URL, and how to reset it.
struct Backend {
    name: &'static str,
    url: String,
    /// The SQLite file (`None` for PostgreSQL).
    file: Option<PathBuf>,
}

/// SQLite in `dir`, and PostgreSQL in a database of the test's own.
fn backends(dir: &Path, test: &str) -> Vec<Backend> {
    let file = dir.join("test.db");
    let mut out = vec![Backend {
        name: "sqlite",
        url: format!("sqlite:///{}", file.display()),
        file: Some(file),
    }];
    if let Some(base) = pg_base() {
        let url = cli_support::fresh_pg_database(&base, &format!("safety_{test}"));
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

    /// An empty database again.
    fn reset(&self) {
        match &self.file {
            Some(file) => {
                for suffix in ["", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
            None => {
                self.connect()
                    .execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
                    .unwrap();
            }
        }
    }

    fn rows(&self, sql: &str) -> Vec<String> {
        let mut conn = self.connect();
        conn.query(sql)
            .unwrap()
            .into_iter()
            .map(|row| match &row[0] {
                Value::Text(t) => t.clone(),
                Value::Integer(n) => n.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn versions(&self) -> Vec<String> {
        let mut conn = self.connect();
        if !conn.table_exists(None, "alembic_version").unwrap() {
            return Vec::new();
        }
        let mut rows = self.rows("SELECT version_num FROM alembic_version");
        rows.sort();
        rows
    }

    fn has_table(&self, name: &str) -> bool {
        self.connect().table_exists(None, name).unwrap()
    }

    /// How many times each revision's body wrote its row to `log`.
    fn log_counts(&self) -> Vec<(String, usize)> {
        if !self.has_table("log") {
            return Vec::new();
        }
        let mut revs = self.rows("SELECT rev FROM log");
        revs.sort();
        let mut counts: Vec<(String, usize)> = Vec::new();
        for rev in revs {
            match counts.last_mut() {
                Some((r, n)) if *r == rev => *n += 1,
                _ => counts.push((rev, 1)),
            }
        }
        counts
    }

    /// Whether the migration lock is free: taken and given back at once.
    fn lock_is_free(&self) -> bool {
        match &self.file {
            Some(file) => {
                let f = std::fs::File::open(file).unwrap();
                let free = f.try_lock().is_ok();
                let _ = f.unlock();
                free
            }
            None => {
                let key = db::advisory_key("public", "alembic_version");
                let got = self.rows(&format!("SELECT pg_try_advisory_lock({key})::int"));
                got == ["1"]
            }
        }
    }

    /// Server processes connected to this database other than ours.
    fn other_backends(&self) -> usize {
        self.rows(
            "SELECT count(*)::int FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )[0]
        .parse()
        .unwrap()
    }
}

/// A project in a temporary folder with revisions `r1..rN`.
struct Project {
    dir: tempfile::TempDir,
}

/// The generic env.py (logging set up from the ini, which the tests read the
/// `Running upgrade` lines of) with the original guide's `DATABASE_URL` line.
const ENV_PY: &str = r#"import os
from logging.config import fileConfig
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
config.set_main_option(
    "sqlalchemy.url", os.getenv("DATABASE_URL", config.get_main_option("sqlalchemy.url"))
)
if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
"#;

impl Project {
    fn new(bodies: &[&str]) -> Project {
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
        std::fs::write(
            dir.path().join("alembic.ini"),
            format!(
                "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./unused.db\n\n{}",
                include_str!("fixtures/logging.ini")
            ),
        )
        .unwrap();
        for (i, body) in bodies.iter().enumerate() {
            let n = i + 1;
            let down = if n == 1 {
                "None".to_string()
            } else {
                format!("'r{}'", n - 1)
            };
            std::fs::write(
                versions.join(format!("r{n}_rev.py")),
                format!(
                    "\"\"\"rev {n}\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
                     revision = 'r{n}'\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n\
                     def upgrade():\n{body}\n\n\ndef downgrade():\n    pass\n"
                ),
            )
            .unwrap();
        }
        Project { dir }
    }

    fn command(&self, backend: &Backend, args: &[&str]) -> Command {
        let mut command = Command::new(AURORA);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", &backend.url)
            .env("AURORA_CACHE_DIR", self.dir.path().join("cache"))
            .stdin(Stdio::null());
        command
    }

    /// Starts a run with stderr going to `name`.log in the project.
    fn spawn(&self, backend: &Backend, args: &[&str], name: &str) -> Child {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        self.command(backend, args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Waits until `name`.log contains `text` (the run reached a point).
    fn wait_for(&self, name: &str, text: &str) {
        let started = Instant::now();
        while !self.log(name).contains(text) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{name} never logged {text:?}: {}",
                self.log(name)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A body that creates `log` (first revision), then a table of its own, then
/// writes its row to `log` inside an autocommit block.
fn logged_body(n: usize) -> String {
    let create_log = if n == 1 {
        "    op.create_table('log', sa.Column('rev', sa.String(10)))\n"
    } else {
        ""
    };
    format!(
        "{create_log}    op.create_table('t{n}', sa.Column('id', sa.Integer, primary_key=True))\n\
         \x20   with op.get_context().autocommit_block():\n\
         \x20       op.execute(\"INSERT INTO log (rev) VALUES ('r{n}')\")"
    )
}

#[test]
fn concurrent_runners_apply_every_body_exactly_once() {
    const RUNNERS: usize = 4;
    const ROUNDS: usize = 20;
    let bodies: Vec<String> = (1..=4).map(logged_body).collect();
    let project = Project::new(&bodies.iter().map(String::as_str).collect::<Vec<_>>());
    let expected: Vec<(String, usize)> = (1..=4).map(|n| (format!("r{n}"), 1)).collect();
    for backend in backends(project.dir.path(), "concurrent") {
        let (mut exited_zero, mut once, mut at_head, mut waited) = (0, 0, 0, 0);
        let mut problems = Vec::new();
        for round in 0..ROUNDS {
            backend.reset();
            let children: Vec<Child> = (0..RUNNERS)
                .map(|k| project.spawn(&backend, &["upgrade", "head"], &format!("runner{k}")))
                .collect();
            for (k, mut child) in children.into_iter().enumerate() {
                let status = child.wait().unwrap();
                let log = project.log(&format!("runner{k}"));
                if status.success() {
                    exited_zero += 1;
                } else {
                    problems.push(format!("round {round} runner {k}: {status}\n{log}"));
                }
                if log.contains("waiting for the migration lock held by pid") {
                    waited += 1;
                }
            }
            if backend.log_counts() == expected {
                once += 1;
            } else {
                problems.push(format!(
                    "round {round}: bodies ran {:?}",
                    backend.log_counts()
                ));
            }
            if backend.versions() == ["r4"] {
                at_head += 1;
            }
        }
        println!(
            "{}: {exited_zero}/{} runners exited 0; every body once in {once}/{ROUNDS} rounds; \
             version table at head in {at_head}/{ROUNDS}; {waited} runners waited for the lock",
            backend.name,
            RUNNERS * ROUNDS
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert_eq!(exited_zero, RUNNERS * ROUNDS);
        assert_eq!(at_head, ROUNDS);
        assert!(waited > 0, "no runner ever waited: the test did not race");
    }
}

/// Revisions whose second one runs for a long time while the table `slow` has a row.
fn slow_project() -> Project {
    let slow = "    op.create_table('t2', sa.Column('id', sa.Integer, primary_key=True))\n\
        \x20   if op.get_context().dialect.name == 'postgresql':\n\
        \x20       op.execute(\"DO $$ BEGIN IF EXISTS (SELECT 1 FROM slow) THEN PERFORM pg_sleep(120); END IF; END $$\")\n\
        \x20   else:\n\
        \x20       op.execute(\"WITH RECURSIVE c(x) AS (SELECT 1 WHERE EXISTS (SELECT 1 FROM slow) UNION ALL SELECT x + 1 FROM c WHERE x < 4000000000) SELECT count(*) FROM c\")\n\
        \x20   op.execute(\"INSERT INTO log (rev) VALUES ('r2')\")";
    Project::new(&[
        "    op.create_table('log', sa.Column('rev', sa.String(10)))\n    op.create_table('t1', sa.Column('id', sa.Integer, primary_key=True))\n    op.execute(\"INSERT INTO log (rev) VALUES ('r1')\")",
        slow,
        "    op.create_table('t3', sa.Column('id', sa.Integer, primary_key=True))\n    op.execute(\"INSERT INTO log (rev) VALUES ('r3')\")",
    ])
}

fn arm_slow(backend: &Backend, on: bool) {
    let mut conn = backend.connect();
    conn.execute("CREATE TABLE IF NOT EXISTS slow (x INTEGER)")
        .unwrap();
    conn.execute("DELETE FROM slow").unwrap();
    if on {
        conn.execute("INSERT INTO slow (x) VALUES (1)").unwrap();
    }
}

/// The schema matches the version rows: `tN` exists exactly for the applied revisions.
fn consistent(backend: &Backend) -> bool {
    let versions = backend.versions();
    let applied = match versions.as_slice() {
        [] => 0,
        [one] => one[1..].parse::<usize>().unwrap(),
        _ => return false,
    };
    (1..=3).all(|n| backend.has_table(&format!("t{n}")) == (n <= applied))
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if f() {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn killed_lock_holder_lets_a_waiter_take_over() {
    let project = slow_project();
    for backend in backends(project.dir.path(), "killed") {
        backend.reset();
        arm_slow(&backend, true);
        let mut holder = project.spawn(&backend, &["upgrade", "head"], "holder");
        project.wait_for("holder", "Running upgrade r1 -> r2");
        let mut waiter = project.spawn(&backend, &["upgrade", "head"], "waiter");
        project.wait_for("waiter", "waiting for the migration lock held by pid");
        holder.kill().unwrap(); // SIGKILL: no chance to release anything
        holder.wait().unwrap();
        let killed = Instant::now();
        // The waiter takes the lock (an orphaned PostgreSQL backend must
        // notice its client is gone and free it) and runs what is left.
        let took_over = wait_until(Duration::from_secs(5), || {
            project.log("waiter").contains("Running upgrade")
        });
        let after = killed.elapsed();
        println!(
            "{}: waiter took over after the holder's kill -9: {took_over} ({} ms)",
            backend.name,
            after.as_millis()
        );
        assert!(took_over, "{}", project.log("waiter"));
        // The waiter is now in the slow revision itself: stop it, disarm, finish.
        Command::new("kill")
            .args(["-TERM".to_string(), waiter.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(waiter.wait().unwrap().code(), Some(143));
        arm_slow(&backend, false);
        let last = project
            .command(&backend, &["upgrade", "head"])
            .output()
            .unwrap();
        assert!(
            last.status.success(),
            "{}",
            String::from_utf8_lossy(&last.stderr)
        );
        assert_eq!(backend.versions(), ["r3"]);
        let expected: Vec<(String, usize)> = (1..=3).map(|n| (format!("r{n}"), 1)).collect();
        assert_eq!(backend.log_counts(), expected);
    }
}

#[test]
fn sigterm_and_sigint_roll_back_the_running_revision() {
    let project = slow_project();
    for backend in backends(project.dir.path(), "signals") {
        for (signal, status) in [("TERM", 143), ("INT", 130)] {
            backend.reset();
            arm_slow(&backend, true);
            let mut run = project.spawn(&backend, &["upgrade", "head"], "run");
            project.wait_for("run", "Running upgrade r1 -> r2");
            std::thread::sleep(Duration::from_millis(300));
            let killed = Command::new("kill")
                .args([format!("-{signal}"), run.id().to_string()])
                .status()
                .unwrap();
            assert!(killed.success());
            let code = run.wait().unwrap().code();
            let stderr = project.log("run");
            let last = stderr.lines().last().unwrap_or_default().to_string();
            let lock_free = wait_until(Duration::from_secs(1), || backend.lock_is_free());
            let no_backend = backend.file.is_some()
                || wait_until(Duration::from_secs(1), || backend.other_backends() == 0);
            println!(
                "{} SIG{signal}: exit {code:?}, consistent: {}, versions {:?}, lock free within 1 s: {lock_free}, \
                 no backend left: {no_backend}; said: {last}",
                backend.name,
                consistent(&backend),
                backend.versions()
            );
            assert_eq!(code, Some(status), "{stderr}");
            assert!(
                last.contains(&format!("interrupted by SIG{signal}")),
                "{stderr}"
            );
            assert!(consistent(&backend), "{:?}", backend.versions());
            assert!(lock_free);
            assert!(no_backend);
            // r2 never ran to its end.
            assert!(!backend.log_counts().iter().any(|(r, _)| r == "r2"));
        }
        // The run finishes once the slow statement is fast.
        arm_slow(&backend, false);
        let rerun = project
            .command(&backend, &["upgrade", "head"])
            .output()
            .unwrap();
        assert!(rerun.status.success());
        assert_eq!(backend.versions(), ["r3"]);
    }
}

#[test]
fn a_bad_body_in_a_later_revision_means_nothing_is_applied() {
    let project = Project::new(&[
        "    op.create_table('t1', sa.Column('id', sa.Integer, primary_key=True))",
        "    op.create_table('t2', sa.Column('id', sa.Integer, primary_key=True))\n    op.frobnicate('t2')",
    ]);
    for backend in backends(project.dir.path(), "validate") {
        backend.reset();
        let run = project
            .command(&backend, &["upgrade", "head"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        let stdout = String::from_utf8_lossy(&run.stdout);
        println!(
            "{}: exit {:?}, versions {:?}, t1 exists: {}",
            backend.name,
            run.status.code(),
            backend.versions(),
            backend.has_table("t1")
        );
        assert!(!run.status.success());
        assert!(
            format!("{stdout}{stderr}").contains("r2_rev.py"),
            "{stdout}{stderr}"
        );
        assert!(!stderr.contains("Running upgrade"), "{stderr}");
        assert!(!backend.has_table("t1"));
        assert!(backend.versions().is_empty());
    }
}

/// A revision file that is not valid Python, or a body aurora cannot lower,
/// stops `upgrade`, `downgrade` and `stamp` before anything is written: no
/// `alembic_version` table, and for a syntax error not even the SQLite file
/// (the scripts are parsed before connecting). Alembic exits 1 too, but
/// only after connecting and creating `alembic_version` (SQLite keeps it).
#[test]
fn an_unparsable_or_unlowerable_file_leaves_the_database_untouched() {
    let syntax = Project::new(&[
        "    op.create_table('t1', sa.Column('id', sa.Integer, primary_key=True))",
        "    op.create_table('t2',",
    ]);
    let unlowerable = Project::new(&[
        "    op.create_table('t1', sa.Column('id', sa.Integer, primary_key=True))",
        "    op.frobnicate('t2')",
    ]);
    for backend in backends(syntax.dir.path(), "untouched") {
        let cases: [(&Project, &str, &[&str]); 5] = [
            (&syntax, "r2_rev.py:12:", &["upgrade", "head"]),
            (&syntax, "r2_rev.py:12:", &["downgrade", "base"]),
            (&syntax, "r2_rev.py:12:", &["stamp", "head"]),
            (&syntax, "r2_rev.py:12:", &["stamp", "--purge", "r1"]),
            (&unlowerable, "r2_rev.py", &["upgrade", "head"]),
        ];
        for (project, place, args) in cases {
            backend.reset();
            let run = project.command(&backend, args).output().unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            println!(
                "{} {args:?}: exit {:?}, file exists {:?}",
                backend.name,
                run.status.code(),
                backend.file.as_ref().map(|f| f.exists())
            );
            assert!(!run.status.success(), "{args:?}: {stderr}");
            assert!(stderr.contains(place), "{args:?}: {stderr}");
            let parse_error = std::ptr::eq(project, &syntax);
            if parse_error {
                // Alembic's exit status for the SyntaxError.
                assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
                assert!(stderr.contains("SyntaxError"), "{stderr}");
            }
            match &backend.file {
                Some(file) if parse_error => assert!(!file.exists(), "{args:?}"),
                _ => assert!(!backend.has_table("alembic_version"), "{args:?}"),
            }
        }
    }
}

/// Every 4-character window of `secret` that appears in `text`.
fn leaks(secret: &str, text: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(4)
        .map(|w| w.iter().collect::<String>())
        .filter(|w| text.contains(w.as_str()))
        .collect()
}

#[test]
fn no_piece_of_a_password_appears_in_any_output() {
    let project = Project::new(&["    pass"]);
    let port = pg_base()
        .and_then(|u| {
            let url = DatabaseUrl::parse(&u).ok()?;
            url.port
        })
        .unwrap_or(1);
    let canaries = [
        "tig@er-S3cret-42",
        "pw:%S3cret-42",
        "S3cret-42xyz",
        "qu'ote\"S3cr",
    ];
    let mut outputs = 0;
    let mut found = Vec::new();
    for canary in canaries {
        let encoded_at = canary.replace('%', "%25");
        let urls = [
            format!("postgresql://scott:{canary}@127.0.0.1:{port}/db"),
            format!("postgresql://scott:{encoded_at}@127.0.0.1:{port}/db"),
            format!("postgresql://postgres:{canary}@127.0.0.1:{port}/aurora_test?sslmode=disable"),
            format!("postgresql://scott:{canary}@127.0.0.1:notaport/db"),
        ];
        for url in &urls {
            let backend = Backend {
                name: "canary",
                url: url.clone(),
                file: None,
            };
            for args in [
                &["upgrade", "head"][..],
                &["current", "--verbose"],
                &["downgrade", "base"],
                &["stamp", "head"],
                &["upgrade", "head", "--sql"],
                &["ensure_version"],
            ] {
                let run = project.command(&backend, args).output().unwrap();
                outputs += 1;
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&run.stdout),
                    String::from_utf8_lossy(&run.stderr)
                );
                for leak in leaks(canary, &text) {
                    found.push(format!("{args:?} with {url}: {leak:?} in\n{text}"));
                }
            }
        }
        // The password in alembic.ini, where a lone `%` is an interpolation error.
        std::fs::write(
            project.dir.path().join("alembic.ini"),
            format!(
                "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = postgresql://scott:{canary}@127.0.0.1:{port}/db\n"
            ),
        )
        .unwrap();
        for args in [&["upgrade", "head"][..], &["current", "--verbose"]] {
            let run = Command::new(AURORA)
                .args(args)
                .current_dir(project.dir.path())
                .env_remove("DATABASE_URL")
                .output()
                .unwrap();
            outputs += 1;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
            for leak in leaks(canary, &text) {
                found.push(format!("{args:?} from alembic.ini: {leak:?} in\n{text}"));
            }
        }
    }
    println!(
        "{outputs} failing or offline commands checked, {} with a piece of the password",
        found.len()
    );
    assert!(found.is_empty(), "{}", found.join("\n\n"));
}

#[test]
fn revision_ids_are_quoted_and_checked() {
    let project = Project::new(&[]);
    let backend = &backends(project.dir.path(), "revids")[0];
    backend.reset();
    for bad in ["", "a\tb", "line\nbreak"] {
        let run = project
            .command(backend, &["revision", "-m", "x", "--rev-id", bad])
            .output()
            .unwrap();
        assert!(!run.status.success(), "--rev-id {bad:?} was accepted");
    }
    let run = project
        .command(backend, &["revision", "-m", "quote", "--rev-id", "it's x"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let offline = project
        .command(backend, &["upgrade", "head", "--sql"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&offline.stdout)
        .contains("INSERT INTO alembic_version (version_num) VALUES ('it''s x')"));
    let online = project
        .command(backend, &["upgrade", "head"])
        .output()
        .unwrap();
    assert!(
        online.status.success(),
        "{}",
        String::from_utf8_lossy(&online.stderr)
    );
    assert_eq!(backend.versions(), ["it's x"]);
}

#[test]
fn sqlite_uri_parameters_are_honoured() {
    let project =
        Project::new(&["    op.create_table('t1', sa.Column('id', sa.Integer, primary_key=True))"]);
    let file = project.dir.path().join("ro.db");
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch("CREATE TABLE keep (x INTEGER)")
        .unwrap();
    let before = std::fs::read(&file).unwrap();
    let backend = Backend {
        name: "sqlite-ro",
        url: format!("sqlite:///file:{}?mode=ro&uri=true", file.display()),
        file: None,
    };
    let run = project
        .command(&backend, &["upgrade", "head"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("readonly"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "a mode=ro database was written to"
    );
}

#[test]
fn a_changed_file_under_aurora_sum_is_refused() {
    let project = Project::new(&[
        "    op.create_table('t1', sa.Column('id', sa.Integer, primary_key=True))",
        "    op.create_table('t2', sa.Column('id', sa.Integer, primary_key=True))",
    ]);
    let backend = &backends(project.dir.path(), "checksums")[0];
    backend.reset();
    let run = |args: &[&str]| project.command(backend, args).output().unwrap();
    let written = run(&["hash"]);
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let sum = project.dir.path().join("alembic/versions/aurora.sum");
    assert_eq!(
        std::fs::read_to_string(&sum)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count(),
        2
    );
    assert!(run(&["hash", "--check"]).status.success());
    let r2 = project.dir.path().join("alembic/versions/r2_rev.py");
    let original = std::fs::read_to_string(&r2).unwrap();
    // Reformatted as black would: double quotes, wrapped call, trailing comma, a comment.
    let reformatted = original.replace(
        "    op.create_table('t2', sa.Column('id', sa.Integer, primary_key=True))",
        "    # the second table\n    op.create_table(\n        \"t2\",\n        sa.Column(\"id\", sa.Integer, primary_key=True),\n    )",
    );
    assert_ne!(reformatted, original);
    std::fs::write(&r2, &reformatted).unwrap();
    assert!(run(&["hash", "--check"]).status.success());
    // A change in meaning.
    std::fs::write(&r2, original.replace("'t2'", "'t2_renamed'")).unwrap();
    let mut refused = 0;
    for args in [
        &["upgrade", "head"][..],
        &["upgrade", "head", "--sql"],
        &["downgrade", "base"],
        &["stamp", "head"],
        &["hash", "--check"],
    ] {
        let out = run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.code() == Some(255)
            && stdout.contains("FAILED:")
            && stdout.contains("r2_rev.py changed since aurora.sum was written")
        {
            refused += 1;
        } else {
            println!("{args:?} not refused: {:?}\n{stdout}", out.status.code());
        }
    }
    println!("changed file under aurora.sum: {refused}/5 commands refused");
    assert_eq!(refused, 5);
    // Refused before connecting: the database was never created.
    assert!(!backend.file.as_ref().unwrap().exists());
}

/// Version rows that overlap (`r1` and its descendant `r3` both in
/// `alembic_version`): `stamp r2` fails as Alembic's `_stamp_revs` does,
/// with its AssertionError and exit 1 after the context lines, and nothing
/// written; `upgrade head` fails with Alembic's overlap message, exit 255,
/// logged on stderr too; `stamp r3` (already a row) changes nothing.
#[test]
fn stamp_over_overlapping_version_rows_fails_as_alembic_does() {
    let project = Project::new(&["    pass", "    pass", "    pass"]);
    for backend in backends(project.dir.path(), "overlap") {
        backend.reset();
        let setup = project
            .command(&backend, &["stamp", "r1"])
            .output()
            .unwrap();
        assert!(setup.status.success(), "{setup:?}");
        backend
            .connect()
            .execute("INSERT INTO alembic_version (version_num) VALUES ('r3')")
            .unwrap();
        let impl_name = match backend.name {
            "sqlite" => "Context impl SQLiteImpl.\nINFO  [alembic.runtime.migration] Will assume non-transactional DDL.",
            _ => "Context impl PostgresqlImpl.\nINFO  [alembic.runtime.migration] Will assume transactional DDL.",
        };
        let context = format!("INFO  [alembic.runtime.migration] {impl_name}\n");

        let stamp = project
            .command(&backend, &["stamp", "r2"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&stamp.stderr);
        println!(
            "{}: stamp r2 exit {:?}: {stderr}",
            backend.name,
            stamp.status.code()
        );
        assert_eq!(stamp.status.code(), Some(1), "{stderr}");
        assert_eq!(String::from_utf8_lossy(&stamp.stdout), "");
        assert!(stderr.starts_with(&context), "{stderr}");
        let last = stderr.lines().last().unwrap();
        assert!(
            last.starts_with("aurora: error: AssertionError: cannot stamp r2"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 3, "{stderr}");
        assert_eq!(backend.versions(), ["r1", "r3"]);

        let upgrade = project
            .command(&backend, &["upgrade", "head"])
            .output()
            .unwrap();
        let message = "Requested revision r3 overlaps with other requested revisions r1";
        assert_eq!(upgrade.status.code(), Some(255));
        assert_eq!(
            String::from_utf8_lossy(&upgrade.stdout),
            format!("FAILED: {message}\n")
        );
        assert_eq!(
            String::from_utf8_lossy(&upgrade.stderr),
            format!("{context}ERROR [alembic.util.messaging] {message}\n")
        );
        assert_eq!(backend.versions(), ["r1", "r3"]);

        let same = project
            .command(&backend, &["stamp", "r3"])
            .output()
            .unwrap();
        assert_eq!(same.status.code(), Some(0), "{same:?}");
        assert_eq!(String::from_utf8_lossy(&same.stderr), context);
        assert_eq!(backend.versions(), ["r1", "r3"]);
    }
}

/// Revision ids go to the database as bound parameters online. On
/// PostgreSQL with `standard_conforming_strings = off`, a backslash inside a
/// string literal is an escape, so an id like `it's\x\` spliced into SQL text
/// would be stored changed or break the statement; bound, it is stored,
/// matched and deleted exactly. SQLite: the same ids, and `%`.
#[test]
fn revision_ids_reach_the_database_as_bound_parameters() {
    let project = Project::new(&[]);
    let versions = project.dir.path().join("alembic/versions");
    let ids = ["it's 5%", "back\\slash", "it's\\x\\"];
    for (n, id) in ids.iter().enumerate() {
        let down = match n {
            0 => "None".to_string(),
            _ => format!("{:?}", ids[n - 1]),
        };
        std::fs::write(
            versions.join(format!("q{n}.py")),
            format!(
                "\"\"\"q{n}\"\"\"\nrevision = {id:?}\ndown_revision = {down}\n\
                 branch_labels = None\ndepends_on = None\n\n\
                 def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
            ),
        )
        .unwrap();
    }
    for backend in backends(project.dir.path(), "bound") {
        backend.reset();
        if backend.file.is_none() {
            let mut conn = backend.connect();
            conn.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$")
                .unwrap();
        }
        let run = |args: &[&str]| {
            let out = project.command(&backend, args).output().unwrap();
            assert!(
                out.status.success(),
                "{}: {args:?}: {}",
                backend.name,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&["upgrade", ids[0]]);
        assert_eq!(backend.versions(), [ids[0]]);
        run(&["upgrade", "head"]);
        assert_eq!(backend.versions(), [ids[2]]);
        run(&["downgrade", ids[1]]);
        assert_eq!(backend.versions(), [ids[1]]);
        run(&["stamp", ids[2]]);
        assert_eq!(backend.versions(), [ids[2]]);
        run(&["downgrade", "base"]);
        assert!(backend.versions().is_empty());
        println!(
            "{}: {} ids stored, moved and deleted exactly",
            backend.name,
            ids.len()
        );
    }
}

/// `--no-lock` on SQLite keeps Alembic's transaction handling: what ran
/// before and inside an `autocommit_block()` stays committed when a later
/// statement of the same revision fails, the rest of that revision is
/// rolled back, and the version row stays at the last whole revision (the
/// state Alembic 1.20.1 leaves: tables log, t1, t2, t3; log rows r1, r2;
/// version r1). The same with the lock.
#[test]
fn no_lock_on_sqlite_keeps_autocommit_blocks_committed_and_the_rest_atomic() {
    let project = Project::new(&[
        "    op.create_table('log', sa.Column('rev', sa.String(10)))\n\
         \x20   op.create_table('t1', sa.Column('id', sa.Integer, primary_key=True))\n\
         \x20   with op.get_context().autocommit_block():\n\
         \x20       op.execute(\"INSERT INTO log (rev) VALUES ('r1')\")\n\
         \x20   op.create_table('t2', sa.Column('id', sa.Integer, primary_key=True))",
        "    op.create_table('t3', sa.Column('id', sa.Integer, primary_key=True))\n\
         \x20   with op.get_context().autocommit_block():\n\
         \x20       op.execute(\"INSERT INTO log (rev) VALUES ('r2')\")\n\
         \x20   op.execute(\"INSERT INTO log (rev) VALUES ('r2b')\")\n\
         \x20   op.execute(\"INSERT INTO nonexistent VALUES (1)\")",
    ]);
    let backend = &backends(project.dir.path(), "nolock")[0];
    for args in [&["--no-lock", "upgrade", "head"][..], &["upgrade", "head"]] {
        backend.reset();
        let run = project.command(backend, args).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("no such table: nonexistent"), "{stderr}");
        assert!(
            stderr.contains("what its autocommit_block() committed stays"),
            "{stderr}"
        );
        let mut tables = backend.rows("SELECT name FROM sqlite_master WHERE type = 'table'");
        tables.sort();
        assert_eq!(
            tables,
            ["alembic_version", "log", "t1", "t2", "t3"],
            "{args:?}"
        );
        let mut log = backend.rows("SELECT rev FROM log");
        log.sort();
        assert_eq!(log, ["r1", "r2"], "{args:?}");
        assert_eq!(backend.versions(), ["r1"], "{args:?}");
    }
}
