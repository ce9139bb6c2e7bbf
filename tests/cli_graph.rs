//! CLI tests for the commands that read the revision graph: the real binary,
//! run in a temporary project written by a small builder.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary Alembic project.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("alembic/versions")).unwrap();
        std::fs::write(
            dir.path().join("alembic.ini"),
            format!(
                "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./test.db\n\n{}",
                include_str!("fixtures/logging.ini")
            ),
        )
        .unwrap();
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a revision file in the style of Alembic's current template.
    fn revision(&self, id: &str, down: &[&str], message: &str) -> &Project {
        self.revision_with(id, down, message, "None", "None")
    }

    fn revision_with(
        &self,
        id: &str,
        down: &[&str],
        message: &str,
        labels: &str,
        depends: &str,
    ) -> &Project {
        let down_value = match down {
            [] => "None".to_string(),
            [one] => format!("'{one}'"),
            many => format!(
                "({})",
                many.iter()
                    .map(|d| format!("'{d}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let text = format!(
            "\"\"\"{message}\n\nRevision ID: {id}\nRevises: {}\nCreate Date: 2024-01-01 00:00:00.000000\n\n\"\"\"\n\
             from typing import Sequence, Union\n\nfrom alembic import op\nimport sqlalchemy as sa\n\n\n\
             # revision identifiers, used by Alembic.\nrevision: str = '{id}'\n\
             down_revision: Union[str, Sequence[str], None] = {down_value}\n\
             branch_labels: Union[str, Sequence[str], None] = {labels}\n\
             depends_on: Union[str, Sequence[str], None] = {depends}\n\n\n\
             def upgrade() -> None:\n    \"\"\"Upgrade schema.\"\"\"\n    pass\n\n\n\
             def downgrade() -> None:\n    \"\"\"Downgrade schema.\"\"\"\n    pass\n",
            down.join(", ")
        );
        std::fs::write(
            self.path().join(format!("alembic/versions/{id}_rev.py")),
            text,
        )
        .unwrap();
        self
    }

    fn write(&self, relative: &str, text: &str) -> &Project {
        std::fs::write(self.path().join(relative), text).unwrap();
        self
    }

    fn run(&self, args: &[&str]) -> Outcome {
        let output = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("ALEMBIC_CONFIG")
            .output()
            .expect("run aurora");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn versions(&self) -> PathBuf {
        self.path().join("alembic/versions")
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// a → b → (c, d); d labelled `feature`.
fn branchy() -> Project {
    let p = Project::new();
    p.revision("aaaa1111", &[], "create accounts")
        .revision("bbbb2222", &["aaaa1111"], "add email")
        .revision("cccc3333", &["bbbb2222"], "trunk work")
        .revision_with(
            "dddd4444",
            &["bbbb2222"],
            "feature work",
            "('feature',)",
            "None",
        );
    p
}

#[test]
fn heads_lists_every_head_in_file_order() {
    let out = branchy().run(&["heads"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "cccc3333 (head)\ndddd4444 (feature) (head)\n");
}

#[test]
fn history_walks_from_the_heads_down() {
    let out = branchy().run(&["history"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "bbbb2222 -> cccc3333 (head), trunk work\n\
         bbbb2222 -> dddd4444 (feature) (head), feature work\n\
         aaaa1111 -> bbbb2222 (branchpoint), add email\n\
         <base> -> aaaa1111, create accounts\n"
    );
}

#[test]
fn branches_shows_the_branch_point_and_its_children() {
    let out = branchy().run(&["branches"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "bbbb2222 (branchpoint)\n         -> cccc3333 (head)\n         -> dddd4444 (feature) (head)\n\n");
}

#[test]
fn show_prints_the_log_entry_with_the_absolute_path() {
    let p = branchy();
    let out = p.run(&["show", "dddd"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = p.versions().canonicalize().unwrap().join("dddd4444_rev.py");
    assert!(
        out.stdout
            .starts_with("Rev: dddd4444 (head)\nParent: bbbb2222\nBranch names: feature\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("Path: {}\n", path.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("    Create Date: 2024-01-01 00:00:00.000000\n\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn head_with_several_heads_is_alembics_failure() {
    let out = branchy().run(&["show", "head"]);
    assert_eq!(out.code, 255);
    assert_eq!(
        out.stdout,
        "FAILED: Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads\n"
    );
}

#[test]
fn branch_label_head_and_relative_identifiers() {
    let p = branchy();
    assert!(p
        .run(&["show", "feature@head"])
        .stdout
        .starts_with("Rev: dddd4444"));
    // `show` does not take relative identifiers: Alembic looks the text up as an id.
    let out = p.run(&["show", "cccc3333-1"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            255,
            "FAILED: Can't locate revision identified by 'cccc3333-1'\n"
        )
    );
    let out = p.run(&["history", "-r", "aaaa1111:cccc3333"]);
    assert_eq!(out.stdout, "bbbb2222 -> cccc3333 (head), trunk work\naaaa1111 -> bbbb2222 (branchpoint), add email\n<base> -> aaaa1111, create accounts\n");
}

#[test]
fn ambiguous_and_short_prefixes_are_not_located() {
    let p = Project::new();
    p.revision("abcd1111", &[], "one")
        .revision("abcd2222", &["abcd1111"], "two");
    let out = p.run(&["show", "abcd"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (255, "FAILED: Can't locate revision identified by 'abcd'\n")
    );
    let out = p.run(&["show", "abcd2"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("Rev: abcd2222 (head)"));
}

#[test]
fn missing_parent_is_a_clear_error_not_a_traceback() {
    let p = Project::new();
    p.revision("aaaa1111", &["zzzz9999"], "orphan");
    let out = p.run(&["history"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains("Revision zzzz9999 referenced from aaaa1111 is not present"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_cycle_is_reported_with_its_revisions() {
    let p = Project::new();
    p.revision("aaaa1111", &[], "base")
        .revision("bbbb2222", &["cccc3333"], "b")
        .revision("cccc3333", &["bbbb2222"], "c");
    let out = p.run(&["history"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            255,
            "FAILED: Cycle is detected in revisions (bbbb2222, cccc3333)\n"
        )
    );
}

/// A cycle that a head reaches from above and a base from below passes
/// Alembic's own check (Alembic then loops forever in `history`, `upgrade`,
/// `branches`); aurora refuses it for every command, with Alembic's error as
/// each command reports it: a traceback's exit 1 for `heads`, `FAILED` and
/// 255 where Alembic's commands catch the error.
#[test]
fn a_cycle_reached_from_every_head_and_base_is_refused_by_every_command() {
    let p = Project::new();
    p.revision("ya", &[], "ya")
        .revision("b", &["a"], "b")
        .revision("c", &["b"], "c")
        .revision("d", &[], "d")
        .revision("e", &["c", "d"], "e")
        .revision("x", &[], "x")
        .revision_with("y", &["x"], "y", "None", "'b'")
        .revision("z", &["y", "a"], "z")
        .revision("a", &["e"], "a")
        .write(
            "alembic/env.py",
            include_str!("../assets/init/generic/env.py"),
        );
    let message = "Cycle is detected in revisions (a, b, c, e)";
    let out = p.run(&["heads"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(message), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    for args in [
        &["history"][..],
        &["branches"],
        &["show", "z"],
        &["current"],
        &["upgrade", "heads"],
        &["upgrade", "heads", "--sql"],
        &["downgrade", "base"],
        &["stamp", "heads"],
    ] {
        let out = p.run(args);
        assert_eq!(out.code, 255, "{args:?}: {}", out.stderr);
        assert!(
            out.stdout.contains(&format!("FAILED: {message}\n"))
                || out.stderr.contains(&format!("FAILED: {message}\n")),
            "{args:?}: {}{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn duplicate_revision_ids_are_rejected_with_both_files() {
    let p = Project::new();
    p.revision("aaaa1111", &[], "one");
    std::fs::copy(
        p.versions().join("aaaa1111_rev.py"),
        p.versions().join("aaaa1111_copy.py"),
    )
    .unwrap();
    let out = p.run(&["heads", "--resolve-dependencies"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("Revision aaaa1111 is present more than once"),
        "{}",
        out.stderr
    );
}

#[test]
fn header_syntax_errors_name_file_line_and_column() {
    let p = Project::new();
    p.write(
        "alembic/versions/broken.py",
        "revision = 'aaaa1111'\ndown_revision = ('x'\n",
    );
    let out = p.run(&["heads"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("broken.py:2:17: SyntaxError: '(' was never closed"),
        "{}",
        out.stderr
    );
}

#[test]
fn depends_on_makes_an_effective_head() {
    let p = Project::new();
    p.revision("aaaa1111", &[], "a")
        .revision("bbbb2222", &[], "b")
        .revision_with("cccc3333", &["aaaa1111"], "c", "None", "'bbbb2222'");
    let out = p.run(&["heads"]);
    assert_eq!(out.stdout, "bbbb2222 (effective head)\ncccc3333 (head)\n");
    let out = p.run(&["heads", "--resolve-dependencies"]);
    assert_eq!(out.stdout, "cccc3333 (head)\n");
}

#[test]
fn quiet_silences_output_but_keeps_the_exit_status() {
    let out = branchy().run(&["-q", "show", "nope"]);
    assert_eq!((out.code, out.stdout.as_str()), (255, ""));
}

#[test]
fn missing_script_location_uses_alembics_message() {
    let p = Project::new();
    p.write("alembic.ini", "[alembic]\nsqlalchemy.url = sqlite://\n");
    let out = p.run(&["heads"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            255,
            "FAILED: No 'script_location' key found in configuration.\n"
        )
    );
}

#[test]
fn history_range_needs_a_colon() {
    let out = branchy().run(&["history", "-r", "aaaa1111"]);
    assert_eq!(
        out.stdout,
        "FAILED: History range requires [start]:[end], [start]:, or :[end]\n"
    );
}
