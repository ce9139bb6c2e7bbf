//! The Aurora-X helper verbs and `scripts/db-migrate.sh`, run for real in temporary projects.

use std::path::{Path, PathBuf};
use std::process::Command;

const AURORA: &str = env!("CARGO_BIN_EXE_aurora");
const SCRIPT_TEMPLATE: &str = include_str!("../assets/init/generic/script.py.mako");
const WRAPPER: &str = include_str!("../scripts/db-migrate.sh");

/// The generic template's `env.py`, with `target_metadata` from the models.
fn env_py() -> String {
    include_str!("../assets/init/generic/env.py").replacen(
        "target_metadata = None",
        "from models import Base\ntarget_metadata = Base.metadata",
        1,
    )
}

/// The original guide's example model.
const MODELS_PY: &str = r#"from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class UserPreference(Base):
    """User preferences."""

    __tablename__ = "user_preferences"

    id = Column(Integer, primary_key=True, index=True)
    user_id = Column(Integer, index=True)
    preference_key = Column(String(100))
    preference_value = Column(String(255))
    created_at = Column(DateTime, default=datetime.utcnow)
"#;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A repository-shaped temp dir: `alembic.ini` at the root with the scripts beside it, as in
/// the bundled Aurora-X project, and `scripts/db-migrate.sh`.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("alembic.ini"),
        format!(
            "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = sqlite:///./aurora.db\n\n{}",
            include_str!("fixtures/logging.ini")
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("versions")).unwrap();
    std::fs::write(root.join("script.py.mako"), SCRIPT_TEMPLATE).unwrap();
    std::fs::write(root.join("env.py"), env_py()).unwrap();
    std::fs::write(root.join("models.py"), MODELS_PY).unwrap();
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    let wrapper = root.join("scripts/db-migrate.sh");
    std::fs::write(&wrapper, WRAPPER).unwrap();
    make_executable(&wrapper);
    (dir, root)
}

fn make_executable(path: &Path) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

fn aurora(root: &Path, args: &[&str]) -> Run {
    run_in(root, Path::new(AURORA), args, &[])
}

#[test]
fn show_sql_is_the_offline_upgrade() {
    let (_dir, root) = project();
    for (msg, id) in [("one", "aaa1"), ("two", "bbb2")] {
        assert_eq!(
            aurora(&root, &["revision", "-m", msg, "--rev-id", id]).code,
            0
        );
    }
    let shown = aurora(&root, &["show-sql"]);
    assert_eq!(shown.code, 0, "{}{}", shown.stdout, shown.stderr);
    assert!(shown.stdout.contains("-- Running upgrade aaa1 -> bbb2"));
    assert_eq!(
        shown.stdout,
        aurora(&root, &["upgrade", "head", "--sql"]).stdout
    );

    let shown = aurora(&root, &["show-sql", "aaa1"]);
    assert!(shown.stdout.contains("-- Running upgrade  -> aaa1"));
    assert!(!shown.stdout.contains("bbb2"));
    assert_eq!(
        shown.stdout,
        aurora(&root, &["upgrade", "aaa1", "--sql"]).stdout
    );
}

#[test]
fn create_writes_a_revision_on_the_head() {
    let (_dir, root) = project();
    assert_eq!(
        aurora(
            &root,
            &["revision", "-m", "initial", "--rev-id", "164468809966"]
        )
        .code,
        0
    );
    assert_eq!(aurora(&root, &["upgrade", "head"]).code, 0);
    let run = aurora(&root, &["create", "Add user preferences table"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let created: Vec<String> = std::fs::read_dir(root.join("versions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("_add_user_preferences_table.py"))
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        run.stdout,
        format!(
            "Generating {}/versions/{} ...  done\n",
            root.display(),
            created[0]
        )
    );
    let text = std::fs::read_to_string(root.join("versions").join(&created[0])).unwrap();
    assert!(text.contains("\ndown_revision: Union[str, Sequence[str], None] = '164468809966'\n"));
    assert!(text.starts_with("\"\"\"Add user preferences table\n"));
    // The guide's example: the new model becomes a create_table, undone by a drop_table.
    assert!(
        text.contains(
            "    op.create_table('user_preferences',\n    sa.Column('id', sa.Integer(), nullable=False),\n    \
             sa.Column('user_id', sa.Integer(), nullable=True),\n"
        ),
        "{text}"
    );
    assert!(text.contains(
        "    op.create_index(op.f('ix_user_preferences_id'), 'user_preferences', ['id'], unique=False)\n"
    ));
    assert!(text.contains("    op.drop_table('user_preferences')\n"));

    // Once applied, the models and the database agree.
    assert_eq!(aurora(&root, &["upgrade", "head"]).code, 0);
    let check = aurora(&root, &["check"]);
    assert_eq!(check.stdout, "No new upgrade operations detected.\n");
    assert_eq!(check.code, 0);
}

/// The wrapper turns the original guide's commands into aurora command lines. A stand-in for
/// aurora records the arguments it receives.
#[test]
fn wrapper_maps_the_original_commands() {
    let (_dir, root) = project();
    let fake = root.join("fake-aurora");
    let log = root.join("args.log");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" >> {log}\necho >> {log}\n",
            log = log.display()
        ),
    )
    .unwrap();
    make_executable(&fake);
    let wrapper = root.join("scripts/db-migrate.sh");
    let cases: [(&[&str], &str); 12] = [
        (&["status"], "status|"),
        (
            &["create", "Add user preferences table"],
            "create|Add user preferences table|",
        ),
        (&["upgrade"], "upgrade|head|"),
        (&["upgrade", "+1"], "upgrade|+1|"),
        (&["downgrade"], "downgrade|-1|"),
        (&["downgrade", "3"], "downgrade|3|"),
        (&["downgrade", "all"], "downgrade|all|"),
        (&["upgrade-to", "abc123"], "upgrade-to|abc123|"),
        (&["downgrade-to", "abc123"], "downgrade-to|abc123|"),
        (&["show-sql"], "show-sql|"),
        (&["stamp", "head"], "stamp|head|"),
        (&["reset"], "reset|"),
    ];
    // Run from elsewhere: the wrapper goes to the repository root itself.
    let elsewhere = tempfile::tempdir().unwrap();
    for (args, expected) in cases {
        std::fs::write(&log, "").unwrap();
        let run = run_in(
            elsewhere.path(),
            &wrapper,
            args,
            &[("AURORA", fake.to_str().unwrap())],
        );
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            format!("{expected}\n"),
            "{args:?}"
        );
    }
    let run = run_in(&root, &wrapper, &[], &[("AURORA", fake.to_str().unwrap())]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("show-sql [revision]"));
    let run = run_in(
        &root,
        &wrapper,
        &["create"],
        &[("AURORA", fake.to_str().unwrap())],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("create needs a message"));
}

#[test]
fn wrapper_runs_aurora_in_the_repository() {
    let (_dir, root) = project();
    let wrapper = root.join("scripts/db-migrate.sh");
    let env = [("AURORA", AURORA)];
    let elsewhere = tempfile::tempdir().unwrap();
    let run = run_in(elsewhere.path(), &wrapper, &["create", "first one"], &env);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run
        .stdout
        .starts_with(&format!("Generating {}/versions/", root.display())));
    let run = run_in(elsewhere.path(), &wrapper, &["history"], &env);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("<base> -> "), "{}", run.stdout);
    assert!(
        run.stdout.ends_with(" (head), first one\n"),
        "{}",
        run.stdout
    );
}

/// `downgrade N` and `downgrade all` are step counts only where Alembic sees no revision;
/// `reset` goes to base and back to head. Without a terminal on stdin the helper forms
/// (a step count, `all`, `downgrade-to`, `reset`) refuse unless `--yes` is given.
#[test]
fn step_counts_and_reset_run_online() {
    let (_dir, root) = project();
    for (msg, id) in [
        ("one", "1111"),
        ("two", "2222"),
        ("three", "3333"),
        ("four", "4444"),
    ] {
        assert_eq!(
            aurora(&root, &["revision", "-m", msg, "--rev-id", id]).code,
            0
        );
    }
    let current = |root: &Path| aurora(root, &["current"]).stdout;
    assert_eq!(aurora(&root, &["upgrade", "head"]).code, 0);
    assert_eq!(current(&root), "4444 (head)\n");

    for refused in [
        &["downgrade", "5"][..],
        &["downgrade", "all"],
        &["downgrade-to", "2222"],
        &["reset"],
    ] {
        let run = aurora(&root, refused);
        assert_eq!(run.code, 1, "{refused:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
        assert_eq!(current(&root), "4444 (head)\n");
    }
    let run = aurora(&root, &["downgrade", "2", "--yes"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(current(&root), "2222\n");

    // `3` is a revision prefix here (`3333`), so Alembic's meaning wins: an upgrade target is no
    // downgrade target, exactly as Alembic says.
    let run = aurora(&root, &["downgrade", "3"]);
    assert_eq!(run.code, 255);
    assert_eq!(current(&root), "2222\n");

    assert_eq!(aurora(&root, &["downgrade", "1", "--yes"]).code, 0);
    assert_eq!(current(&root), "1111\n");
    assert_eq!(aurora(&root, &["upgrade-to", "3333"]).code, 0);
    assert_eq!(current(&root), "3333\n");
    assert_eq!(aurora(&root, &["downgrade-to", "2222", "--yes"]).code, 0);
    assert_eq!(current(&root), "2222\n");
    assert_eq!(aurora(&root, &["downgrade", "all", "--yes"]).code, 0);
    assert_eq!(current(&root), "");

    let run = aurora(&root, &["reset", "--yes"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(current(&root), "4444 (head)\n");

    let status = aurora(&root, &["status"]);
    assert_eq!(status.code, 0);
    assert!(status.stdout.starts_with(
        "Current Migration Status:\n4444 (head)\n\nMigration History:\nRev: 4444 (head)\n"
    ));

    // On a terminal (a pseudo-terminal from script(1)) the original script's emoji appear,
    // unless TERM=dumb or NO_COLOR asks for plain output.
    let on_terminal = |env: &[(&str, &str)]| {
        let mut command = std::process::Command::new("script");
        command
            .args(["-qec", &format!("{AURORA} status"), "/dev/null"])
            .current_dir(&root)
            .env("TERM", "xterm")
            .env_remove("NO_COLOR");
        for (k, v) in env {
            command.env(k, v);
        }
        String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
    };
    let shown = on_terminal(&[]);
    assert!(shown.contains("📊 Current Migration Status:"), "{shown}");
    assert!(shown.contains("📋 Migration History:"), "{shown}");
    for env in [("TERM", "dumb"), ("NO_COLOR", "1")] {
        let shown = on_terminal(&[env]);
        assert!(shown.contains("Current Migration Status:"), "{shown}");
        assert!(!shown.contains('📊'), "{env:?}: {shown}");
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The original guide's workflow on the bundled Aurora-X project, through the wrapper:
/// upgrade, edit the models, create, review, upgrade, downgrade, status, show-sql, reset.
#[test]
fn original_guide_workflow_on_the_bundled_project() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for file in ["alembic.ini", "env.py", "script.py.mako"] {
        std::fs::copy(repo.join(file), root.join(file)).unwrap();
    }
    for folder in ["versions", "aurora_x", "scripts"] {
        copy_tree(&repo.join(folder), &root.join(folder));
    }
    let wrapper = root.join("scripts/db-migrate.sh");
    let env = [("AURORA", AURORA)];
    let step = |args: &[&str]| {
        let run = run_in(&root, &wrapper, args, &env);
        assert_eq!(run.code, 0, "{args:?}\n{}{}", run.stdout, run.stderr);
        run.stdout
    };

    step(&["upgrade"]);
    assert_eq!(step(&["current"]), "164468809966 (head)\n");
    assert_eq!(
        aurora(&root, &["check"]).stdout,
        "No new upgrade operations detected.\n"
    );

    let models = root.join("aurora_x/models.py");
    let mut source = std::fs::read_to_string(&models).unwrap();
    source.push_str(
        "\n\nclass UserPreference(Base):\n    \"\"\"User preferences.\"\"\"\n\n    \
         __tablename__ = \"user_preferences\"\n\n    \
         id = Column(Integer, primary_key=True, index=True)\n    \
         user_id = Column(Integer, index=True)\n    \
         preference_key = Column(String(100))\n    \
         preference_value = Column(String(255))\n    \
         created_at = Column(DateTime, default=datetime.utcnow)\n",
    );
    std::fs::write(&models, source).unwrap();
    let check = aurora(&root, &["check"]);
    assert_eq!(check.code, 255);
    assert!(check
        .stdout
        .starts_with("FAILED: New upgrade operations detected: [('add_table', Table('user_preferences', MetaData(), "));

    let created = step(&["create", "Add user preferences table"]);
    let path = created
        .strip_prefix("Generating ")
        .and_then(|s| s.strip_suffix(" ...  done\n"))
        .unwrap()
        .to_string();
    assert!(path.ends_with("_add_user_preferences_table.py"), "{path}");
    let revision = std::fs::read_to_string(&path).unwrap();
    assert!(revision.contains("    op.create_table('user_preferences',\n"));
    assert!(revision.contains("    op.drop_table('user_preferences')\n"));
    let new_id = revision
        .lines()
        .find_map(|l| l.strip_prefix("Revision ID: "))
        .unwrap()
        .to_string();

    step(&["upgrade"]);
    assert_eq!(step(&["current"]), format!("{new_id} (head)\n"));
    assert_eq!(
        aurora(&root, &["check"]).stdout,
        "No new upgrade operations detected.\n"
    );
    step(&["downgrade"]);
    assert_eq!(step(&["current"]), "164468809966\n");
    let status = step(&["status"]);
    assert!(status.starts_with("Current Migration Status:\n164468809966\n\nMigration History:\n"));
    assert!(status.contains(&format!("Rev: {new_id} (head)\n")));
    let sql = step(&["show-sql"]);
    assert!(sql.contains("CREATE TABLE user_preferences ("), "{sql}");
    step(&["reset", "--yes"]);
    assert_eq!(step(&["current"]), format!("{new_id} (head)\n"));
    step(&["downgrade", "all", "--yes"]);
    assert_eq!(step(&["current"]), "");
}
