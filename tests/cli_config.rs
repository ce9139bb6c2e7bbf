//! Configuration as the command line finds it: pyproject.toml, `-c` given
//! twice, `-n`, `ALEMBIC_CONFIG`, version locations and their separators.
//! Expected outputs were checked against Python Alembic 1.20.1.

use std::path::Path;
use std::process::Command;

const REVISION: &str = "\"\"\"add accounts\"\"\"\nrevision = 'aaaa1111'\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n";
const SECOND: &str = "\"\"\"second location\"\"\"\nrevision = 'bbbb2222'\ndown_revision = 'aaaa1111'\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mig/versions")).unwrap();
    std::fs::create_dir_all(dir.path().join("other/v2")).unwrap();
    std::fs::write(dir.path().join("mig/versions/aaaa1111_add.py"), REVISION).unwrap();
    std::fs::write(dir.path().join("other/v2/bbbb2222_second.py"), SECOND).unwrap();
    dir
}

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aurora"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("ALEMBIC_CONFIG")
        .env_remove("DATABASE_URL");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn pyproject_alone_configures_the_project() {
    let p = project();
    std::fs::write(
        p.path().join("pyproject.toml"),
        "[tool.alembic]\nscript_location = \"%(here)s/mig\"\nversion_locations = [\"%(here)s/mig/versions\", \"%(here)s/other/v2\"]\n",
    )
    .unwrap();
    assert_eq!(
        run(p.path(), &[], &["heads"]),
        (0, "bbbb2222 (head)\n".to_string())
    );
}

#[test]
fn the_ini_main_section_wins_over_pyproject() {
    let p = project();
    std::fs::write(
        p.path().join("pyproject.toml"),
        "[tool.alembic]\nscript_location = \"%(here)s/mig\"\n",
    )
    .unwrap();
    std::fs::write(
        p.path().join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/nowhere\n",
    )
    .unwrap();
    let (code, stdout) = run(p.path(), &[], &["heads"]);
    assert_eq!(code, 255);
    assert!(
        stdout.starts_with("FAILED: Path doesn't exist: "),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            "/nowhere.  Please use the 'init' command to create a new scripts folder.\n"
        ),
        "{stdout}"
    );
}

#[test]
fn name_selects_the_section_and_alembic_config_the_file() {
    let p = project();
    std::fs::write(
        p.path().join("alt.ini"),
        "[custom]\nscript_location = %(here)s/mig\n",
    )
    .unwrap();
    assert_eq!(
        run(p.path(), &[], &["-c", "alt.ini", "-n", "custom", "heads"]),
        (0, "aaaa1111 (head)\n".to_string())
    );
    assert_eq!(
        run(
            p.path(),
            &[("ALEMBIC_CONFIG", "alt.ini")],
            &["-n", "custom", "heads"]
        ),
        (0, "aaaa1111 (head)\n".to_string())
    );
    // A section that is not there: Alembic reports the missing key.
    assert_eq!(
        run(p.path(), &[], &["-c", "alt.ini", "heads"]),
        (
            255,
            "FAILED: No 'script_location' key found in configuration.\n".to_string()
        )
    );
}

#[test]
fn two_ini_files_are_refused_before_anything_runs() {
    let p = project();
    assert_eq!(
        run(p.path(), &[], &["-c", "a.ini", "-c", "b.ini", "heads"]).0,
        1
    );
}

#[test]
fn version_locations_split_on_the_path_separator() {
    let p = project();
    let ini = "[alembic]\nscript_location = %(here)s/mig\npath_separator = ;\nversion_locations = %(here)s/mig/versions;%(here)s/other/v2\n";
    std::fs::write(p.path().join("alembic.ini"), ini).unwrap();
    assert_eq!(
        run(p.path(), &[], &["history"]),
        (
            0,
            "aaaa1111 -> bbbb2222 (head), second location\n<base> -> aaaa1111, add accounts\n"
                .to_string()
        )
    );
    // Without path_separator, Alembic's legacy split on spaces and commas.
    let ini = "[alembic]\nscript_location = %(here)s/mig\nversion_locations = %(here)s/mig/versions, %(here)s/other/v2\n";
    std::fs::write(p.path().join("alembic.ini"), ini).unwrap();
    assert_eq!(
        run(p.path(), &[], &["heads"]),
        (0, "bbbb2222 (head)\n".to_string())
    );
    let ini = "[alembic]\nscript_location = %(here)s/mig\npath_separator = comma\nversion_locations = x\n";
    std::fs::write(p.path().join("alembic.ini"), ini).unwrap();
    // Alembic raises a ValueError here: a crash, not a FAILED line.
    assert_eq!(run(p.path(), &[], &["heads"]), (1, String::new()));
}

#[test]
fn recursive_version_locations_walk_sub_folders() {
    let p = project();
    std::fs::create_dir_all(p.path().join("mig/versions/2025")).unwrap();
    std::fs::rename(
        p.path().join("other/v2/bbbb2222_second.py"),
        p.path().join("mig/versions/2025/bbbb2222_second.py"),
    )
    .unwrap();
    std::fs::write(
        p.path().join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/mig\n",
    )
    .unwrap();
    assert_eq!(
        run(p.path(), &[], &["heads"]),
        (0, "aaaa1111 (head)\n".to_string())
    );
    std::fs::write(
        p.path().join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/mig\nrecursive_version_locations = true\n",
    )
    .unwrap();
    assert_eq!(
        run(p.path(), &[], &["heads"]),
        (0, "bbbb2222 (head)\n".to_string())
    );
}

/// Issue 15 item 3, checked against Python Alembic 1.20.1: a URL SQLAlchemy
/// cannot parse makes Alembic die with `sqlalchemy.exc.ArgumentError` (exit 1,
/// nothing on stdout), online and with `--sql`; aurora prints that one line.
#[test]
fn an_unparsable_url_is_an_argument_error_with_exit_1() {
    let p = project();
    std::fs::write(
        p.path().join("mig/env.py"),
        include_str!("fixtures/recorded/_template/env.py"),
    )
    .unwrap();
    std::fs::write(
        p.path().join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/mig\nsqlalchemy.url = notaurl\n",
    )
    .unwrap();
    for args in [&["upgrade", "head"][..], &["upgrade", "head", "--sql"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(args)
            .current_dir(p.path())
            .env_remove("ALEMBIC_CONFIG")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(
            stderr
                .matches("ArgumentError: Could not parse SQLAlchemy URL from given URL string")
                .count(),
            1,
            "{args:?}: {stderr}"
        );
        assert!(!p.path().join("notaurl").exists());
    }
}
