//! Log lines follow the logging configuration env.py installs, as in Alembic:
//! `fileConfig` with the ini's levels and formatter, nothing without it, and
//! `-q` leaves them alone. Each case states Alembic 1.20.1's standard error;
//! where the reference Alembic is installed (`AURORA_REFERENCE_ALEMBIC`, as
//! `.ci/run` sets it), the case is also run through it and must agree.

use std::path::Path;
use std::process::Command;

const REVISION: &str = "\"\"\"a\"\"\"\nrevision = 'aaaa1111'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n";

struct Case {
    name: &'static str,
    /// (old, new) replacements in alembic.ini.
    ini: &'static [(&'static str, &'static str)],
    /// (old, new) replacements in env.py.
    env: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    stderr: &'static str,
}

const MIGRATION_LINES: &str = "INFO  [alembic.runtime.migration] Context impl SQLiteImpl.\nINFO  [alembic.runtime.migration] Will assume non-transactional DDL.\nINFO  [alembic.runtime.migration] Running upgrade  -> aaaa1111, a\n";

const CASES: &[Case] = &[
    Case {
        name: "template defaults",
        ini: &[],
        env: &[],
        args: &["upgrade", "head"],
        stderr: MIGRATION_LINES,
    },
    Case {
        name: "-q keeps log lines",
        ini: &[],
        env: &[],
        args: &["-q", "upgrade", "head"],
        stderr: MIGRATION_LINES,
    },
    Case {
        name: "logger_alembic at WARN",
        ini: &[("[logger_alembic]\nlevel = INFO", "[logger_alembic]\nlevel = WARN")],
        env: &[],
        args: &["upgrade", "head"],
        stderr: "",
    },
    Case {
        name: "custom format",
        ini: &[(
            "format = %(levelname)-5.5s [%(name)s] %(message)s",
            "format = %(levelname)s:%(name)s:%(message)s",
        )],
        env: &[],
        args: &["upgrade", "head"],
        stderr: "INFO:alembic.runtime.migration:Context impl SQLiteImpl.\nINFO:alembic.runtime.migration:Will assume non-transactional DDL.\nINFO:alembic.runtime.migration:Running upgrade  -> aaaa1111, a\n",
    },
    Case {
        name: "no fileConfig in env.py",
        ini: &[],
        env: &[("    fileConfig(config.config_file_name)", "    pass")],
        args: &["upgrade", "head"],
        stderr: "",
    },
    Case {
        name: "env.py logs through its own logger",
        ini: &[],
        env: &[(
            "def run_migrations_online() -> None:",
            "logging.getLogger('alembic.env').info('url is %s', 'set')\nlogging.getLogger('alembic.env').debug('hidden')\n\n\ndef run_migrations_online() -> None:",
        ), ("from logging.config import fileConfig", "import logging\nfrom logging.config import fileConfig")],
        args: &["upgrade", "head"],
        stderr: "INFO  [alembic.env] url is set\nINFO  [alembic.runtime.migration] Context impl SQLiteImpl.\nINFO  [alembic.runtime.migration] Will assume non-transactional DDL.\nINFO  [alembic.runtime.migration] Running upgrade  -> aaaa1111, a\n",
    },
    Case {
        name: "root only configured: Alembic's loggers are disabled",
        ini: &[
            ("keys = root,sqlalchemy,alembic", "keys = root"),
            ("[logger_root]\nlevel = WARNING", "[logger_root]\nlevel = INFO"),
        ],
        env: &[],
        args: &["upgrade", "head"],
        stderr: "",
    },
    Case {
        name: "basicConfig instead of fileConfig",
        ini: &[],
        env: &[(
            "    fileConfig(config.config_file_name)",
            "    import logging\n    logging.basicConfig(level=logging.INFO)",
        )],
        args: &["upgrade", "head", "--sql"],
        stderr: "INFO:alembic.runtime.migration:Context impl SQLiteImpl.\nINFO:alembic.runtime.migration:Generating static SQL\nINFO:alembic.runtime.migration:Will assume non-transactional DDL.\nINFO:alembic.runtime.migration:Running upgrade  -> aaaa1111, a\n",
    },
];

/// An `init` project from `program`, with the case's edits and one revision.
fn project(program: &[String], case: &Case) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(&program[0])
        .args(&program[1..])
        .args(["init", "migrations"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "init failed: {status:?}");
    let ini_path = dir.path().join("alembic.ini");
    let mut ini = std::fs::read_to_string(&ini_path).unwrap();
    ini = ini.replace("driver://user:pass@localhost/dbname", "sqlite:///test.db");
    for (old, new) in case.ini {
        assert!(
            ini.contains(old),
            "{}: alembic.ini has no {old:?}",
            case.name
        );
        ini = ini.replace(old, new);
    }
    std::fs::write(&ini_path, ini).unwrap();
    let env_path = dir.path().join("migrations/env.py");
    let mut env = std::fs::read_to_string(&env_path).unwrap();
    for (old, new) in case.env {
        assert!(env.contains(old), "{}: env.py has no {old:?}", case.name);
        env = env.replacen(old, new, 1);
    }
    std::fs::write(&env_path, env).unwrap();
    std::fs::write(
        dir.path().join("migrations/versions/aaaa1111_a.py"),
        REVISION,
    )
    .unwrap();
    dir
}

fn stderr_of(program: &[String], dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(&program[0])
        .args(&program[1..])
        .args(args)
        .current_dir(dir)
        .env_remove("ALEMBIC_CONFIG")
        .env_remove("DATABASE_URL")
        .env_remove("AURORA_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn log_lines_follow_the_logging_configuration() {
    let aurora = vec![env!("CARGO_BIN_EXE_aurora").to_string()];
    let reference = std::env::var("AURORA_REFERENCE_ALEMBIC")
        .ok()
        .filter(|p| Path::new(p).exists())
        .map(|p| vec![p]);
    let mut failures = Vec::new();
    for case in CASES {
        let dir = project(&aurora, case);
        let (code, stdout, stderr) = stderr_of(&aurora, dir.path(), case.args);
        if code != 0 || stderr != case.stderr {
            failures.push(format!(
                "{}: exit {code}\n--- stderr\n{stderr}--- expected\n{}--- stdout\n{stdout}",
                case.name, case.stderr
            ));
        }
        if let Some(reference) = &reference {
            let dir = project(reference, case);
            let (code, _, alembic) = stderr_of(reference, dir.path(), case.args);
            if code != 0 || alembic != case.stderr {
                failures.push(format!(
                    "{}: the reference Alembic says (exit {code})\n{alembic}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn an_unsupported_handler_class_is_an_error_naming_its_section() {
    let aurora = vec![env!("CARGO_BIN_EXE_aurora").to_string()];
    let case = Case {
        name: "syslog handler",
        ini: &[("class = StreamHandler", "class = handlers.SysLogHandler")],
        env: &[],
        args: &["upgrade", "head"],
        stderr: "",
    };
    let dir = project(&aurora, &case);
    let (code, _, stderr) = stderr_of(&aurora, dir.path(), case.args);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("[handler_console]"), "{stderr}");
    assert!(stderr.contains("SysLogHandler"), "{stderr}");
    let db = dir.path().join("test.db");
    assert!(!db.exists(), "nothing may run after the error");
}
