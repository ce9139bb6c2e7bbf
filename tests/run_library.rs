//! The run as a library: `aurora::run` driven in-process, without the command
//! line, over the offline fixtures recorded from the reference Alembic
//! (`tests/fixtures/offline`, `scripts/record-offline-fixtures.py`). What the
//! run shows reaches the `Sink` it is given; a failure comes back as a typed
//! `aurora::Error` with Alembic's exit status.

mod offline_fixture_env;
use offline_fixture_env::{fixture_env_py, fixture_url, offline_fixtures};

use aurora::run::{Options, Project, Sink, SqlSink};

/// Collects what a run would print on standard output.
#[derive(Default)]
struct Collected {
    stdout: String,
}

impl Sink for Collected {
    fn print(&mut self, text: &str) {
        self.stdout.push_str(text);
        self.stdout.push('\n');
    }

    fn sql(&mut self, text: &str) {
        self.stdout.push_str(text);
    }

    fn python_print(&mut self, text: &str) {
        self.stdout.push_str(text);
    }

    fn redirect_sql(&mut self, _sink: Option<Box<SqlSink>>) {}

    fn log_at(&mut self, logger: &str, level: u32, message: &str) {
        let lines = aurora::logging::render(logger, level, message);
        for line in aurora::logging::write_unbuffered(&lines) {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
    }

    fn python_warning(&mut self, _category: &str, _message: &str) {}

    fn warn(&mut self, _message: &str) {}

    fn notice(&mut self, _line: &str) {}

    fn wants_progress(&self) -> bool {
        false
    }

    fn progress(&mut self, _done: usize, _total: usize) {}
}

#[test]
fn offline_runs_in_process_give_what_alembic_printed() {
    std::env::set_var("AURORA_NO_CACHE", "1");
    let mut failures = Vec::new();
    let mut compared = 0;
    for (file, name, runs) in offline_fixtures() {
        for run in &runs {
            let url = fixture_url(run);
            let project_dir = tempfile::tempdir().unwrap();
            let root = project_dir.path();
            std::fs::create_dir_all(root.join("alembic/versions")).unwrap();
            std::fs::write(root.join("alembic/env.py"), fixture_env_py(&file)).unwrap();
            std::fs::write(
                root.join("alembic.ini"),
                format!(
                    "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = {url}\n\n{}",
                    include_str!("fixtures/logging.ini")
                ),
            )
            .unwrap();
            std::fs::copy(&file, root.join("alembic/versions/a1_rev.py")).unwrap();
            let args: Vec<&str> = run["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let options = Options {
                config: vec![root.join("alembic.ini").to_string_lossy().into_owned()],
                name: "alembic".to_string(),
                x: Vec::new(),
                lock: Default::default(),
            };
            let mut project = Project::open(&options, root).unwrap();
            let mut sink = Collected::default();
            let result = match args.as_slice() {
                ["upgrade", revision, "--sql"] => {
                    aurora::run::upgrade(&mut project, &mut sink, revision, true, None)
                }
                ["downgrade", revision, "--sql"] => {
                    aurora::run::downgrade(&mut project, &mut sink, revision, true, None)
                }
                other => panic!("{name}: no library call for {other:?}"),
            };
            let want_exit = run["exit"].as_i64().unwrap();
            let want_stdout = run["stdout"].as_str().unwrap();
            let what = format!("{name} {} {}", run["dialect"], args.join(" "));
            compared += 1;
            match result {
                Ok(()) if want_exit == 0 && sink.stdout == want_stdout => {}
                Ok(()) => failures.push(format!(
                    "{what}: Alembic exited {want_exit}\n--- want\n{want_stdout}--- got\n{}",
                    sink.stdout
                )),
                Err(error) if want_exit == 0 => failures.push(format!(
                    "{what}: Alembic succeeded, the run failed: {error}"
                )),
                Err(error) => {
                    // A CommandError is Alembic's FAILED line (255), anything else a crash (1).
                    let status = i64::from(error.exit_status());
                    if status != want_exit {
                        failures.push(format!(
                            "{what}: Alembic exited {want_exit}, the run's error says {status}: {error}"
                        ));
                    }
                }
            }
        }
    }
    assert!(compared > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
