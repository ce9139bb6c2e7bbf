//! The authoring commands (`revision`, `merge`, `edit`, `init`) run as the real binary in a
//! temporary project: stdout, exit status, and the files written (or not written).

use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT_TEMPLATE: &str = include_str!("../assets/init/generic/script.py.mako");

/// A temporary Alembic project: `alembic.ini`, `alembic/script.py.mako`, `alembic/versions/`.
struct Project {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Project {
    fn new() -> Project {
        Project::with_ini_extra("")
    }

    fn with_ini_extra(extra: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let ini = format!(
            "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./test.db\n{extra}\n\n{}",
            include_str!("fixtures/logging.ini")
        );
        std::fs::write(dir.path().join("alembic.ini"), ini).unwrap();
        std::fs::create_dir_all(dir.path().join("alembic/versions")).unwrap();
        std::fs::write(dir.path().join("alembic/script.py.mako"), SCRIPT_TEMPLATE).unwrap();
        // revision_environment runs env.py, as Alembic does.
        std::fs::write(
            dir.path().join("alembic/env.py"),
            include_str!("../assets/init/generic/env.py"),
        )
        .unwrap();
        Project { dir }
    }

    fn root(&self) -> PathBuf {
        // The binary prints paths under its working directory as given; use the real path so
        // that expectations match on systems where the temp dir is a symlink.
        self.dir.path().canonicalize().unwrap()
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_aurora"));
        command.args(args).current_dir(self.root());
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

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    fn versions(&self) -> Vec<String> {
        list_dir(&self.root().join("alembic/versions"))
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn assigned(file: &str, name: &str) -> String {
    file.lines()
        .find(|l| l.starts_with(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in\n{file}"))
        .rsplit_once(" = ")
        .unwrap()
        .1
        .to_string()
}

#[test]
fn revision_writes_the_file_and_says_where() {
    let p = Project::new();
    let run = p.run(&["revision", "-m", "Add users!", "--rev-id", "aaa111"]);
    assert_ok(&run);
    let path = p.root().join("alembic/versions/aaa111_add_users.py");
    assert_eq!(
        run.stdout,
        format!("Generating {} ...  done\n", path.display())
    );
    let text = p.read("alembic/versions/aaa111_add_users.py");
    assert!(text.starts_with("\"\"\"Add users!\n\nRevision ID: aaa111\nRevises: \nCreate Date: "));
    assert_eq!(assigned(&text, "revision"), "'aaa111'");
    assert_eq!(assigned(&text, "down_revision"), "None");
    assert_eq!(assigned(&text, "branch_labels"), "None");

    // The next revision builds on the new head.
    let run = p.run(&["revision", "--rev-id", "bbb222"]);
    assert_ok(&run);
    let text = p.read("alembic/versions/bbb222_.py");
    assert!(text.starts_with("\"\"\"empty message\n"));
    assert_eq!(assigned(&text, "down_revision"), "'aaa111'");

    let heads = p.run(&["heads"]);
    assert_eq!(heads.stdout, "bbb222 (head)\n");
}

#[test]
fn rejected_rev_ids_write_nothing() {
    let p = Project::new();
    assert_ok(&p.run(&["revision", "-m", "one", "--rev-id", "abc123"]));
    let before = p.versions();
    let long = "a".repeat(33);
    let cases: [(&str, &str); 4] = [
        (
            "ab@cd",
            "FAILED: Character(s) '@' not allowed in revision identifier 'ab@cd'\n",
        ),
        (
            "sub/dir",
            "FAILED: revision identifier 'sub/dir' must not contain a path separator\n",
        ),
        (
            &long,
            "FAILED: revision identifier 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is 33 characters \
             long; the alembic_version table holds at most 32\n",
        ),
        (
            "abc123",
            "FAILED: revision 'abc123' already exists; choose another --rev-id\n",
        ),
    ];
    for (rev_id, expected) in cases {
        let run = p.run(&["revision", "-m", "two", "--rev-id", rev_id]);
        assert_eq!(run.code, 255, "{rev_id}: {}", run.stdout);
        assert_eq!(run.stdout, expected);
        assert_eq!(p.versions(), before, "{rev_id} wrote a file");
    }
    assert!(!p.root().join("alembic/versions/sub").exists());
}

#[test]
fn head_rules_follow_alembic() {
    let p = Project::new();
    assert_ok(&p.run(&["revision", "-m", "base", "--rev-id", "a1"]));
    assert_ok(&p.run(&["revision", "-m", "next", "--rev-id", "b2"]));

    let run = p.run(&["revision", "-m", "x", "--rev-id", "c3", "--head", "a1"]);
    assert_eq!(run.code, 255);
    assert_eq!(
        run.stdout,
        "FAILED: Revision a1 is not a head revision; please specify --splice to create a new \
         branch from this revision\n"
    );

    assert_ok(&p.run(&[
        "revision", "-m", "x", "--rev-id", "c3", "--head", "a1", "--splice",
    ]));
    let run = p.run(&["revision", "-m", "y", "--rev-id", "d4"]);
    assert_eq!(run.code, 255);
    assert_eq!(
        run.stdout,
        "FAILED: Multiple heads are present; please specify the head revision on which the new \
         revision should be based, or perform a merge.\n"
    );
    assert_eq!(p.versions().len(), 3);

    let run = p.run(&["merge", "heads", "-m", "join", "--rev-id", "e5"]);
    assert_ok(&run);
    let text = p.read("alembic/versions/e5_join.py");
    assert_eq!(assigned(&text, "down_revision"), "('b2', 'c3')");
    assert!(text.contains("Revises: b2, c3\n"));
    assert_eq!(p.run(&["heads"]).stdout, "e5 (head)\n");
}

#[test]
fn depends_on_resolves_partial_ids_and_keeps_labels() {
    let p = Project::new();
    assert_ok(&p.run(&["revision", "-m", "a", "--rev-id", "1234abcd"]));
    assert_ok(&p.run(&[
        "revision",
        "-m",
        "side",
        "--rev-id",
        "5678",
        "--head",
        "base",
        "--branch-label",
        "side",
    ]));
    assert_ok(&p.run(&[
        "revision",
        "-m",
        "dep",
        "--rev-id",
        "9999",
        "--head",
        "1234abcd",
        "--depends-on",
        "1234",
        "--depends-on",
        "side",
    ]));
    let text = p.read("alembic/versions/9999_dep.py");
    assert_eq!(assigned(&text, "depends_on"), "['1234abcd', 'side']");
    let labelled = p.read("alembic/versions/5678_side.py");
    assert_eq!(assigned(&labelled, "branch_labels"), "('side',)");

    let run = p.run(&[
        "revision",
        "--rev-id",
        "7777",
        "--head",
        "9999",
        "--depends-on",
        "nope",
    ]);
    assert_eq!(run.code, 255);
    assert_eq!(
        run.stdout,
        "FAILED: Can't locate revision identified by 'nope'\n"
    );
    assert!(!p.versions().iter().any(|f| f.starts_with("7777")));
}

#[test]
fn version_path_picks_among_locations() {
    let p = Project::with_ini_extra(
        "version_locations = %(here)s/alembic/versions %(here)s/plugins/versions",
    );
    let run = p.run(&["revision", "-m", "x", "--rev-id", "a1"]);
    assert_eq!(run.code, 255);
    assert_eq!(
        run.stdout,
        "FAILED: Multiple version locations present, please specify --version-path\n"
    );
    let run = p.run(&[
        "revision",
        "-m",
        "x",
        "--rev-id",
        "a1",
        "--version-path",
        "elsewhere",
    ]);
    assert_eq!(
        run.stdout,
        "FAILED: Path elsewhere is not represented in current version locations\n"
    );
    let run = p.run(&[
        "revision",
        "-m",
        "x",
        "--rev-id",
        "a1",
        "--version-path",
        "plugins/versions",
    ]);
    assert_ok(&run);
    let dir = p.root().join("plugins/versions");
    assert_eq!(
        run.stdout,
        format!(
            "Creating directory {} ...  done\nGenerating {}/a1_x.py ...  done\n",
            dir.display(),
            dir.display()
        )
    );
    // The next revision follows its head into the same location.
    assert_ok(&p.run(&["revision", "-m", "y", "--rev-id", "b2"]));
    assert_eq!(list_dir(&dir), ["a1_x.py", "b2_y.py"]);
}

#[test]
fn file_template_and_quiet() {
    let p =
        Project::with_ini_extra("file_template = %%(slug)s_%%(rev)s\ntruncate_slug_length = 10");
    let run = p.run(&[
        "-q",
        "revision",
        "-m",
        "a rather long message",
        "--rev-id",
        "f00",
    ]);
    assert_ok(&run);
    assert_eq!(run.stdout, "");
    assert_eq!(p.versions(), ["a_rather__f00.py"]);
}

#[test]
fn edit_runs_the_editor_on_the_revision_file() {
    let p = Project::new();
    assert_ok(&p.run(&["revision", "-m", "x", "--rev-id", "abcdef"]));
    let editor = p.root().join("editor.sh");
    let log = p.root().join("edited.txt");
    std::fs::write(
        &editor,
        format!("#!/bin/sh\necho \"$1\" >> {}\n", log.display()),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&editor).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&editor, perms).unwrap();

    let run = p.run_env(&["edit", "abc"], &[("EDITOR", editor.to_str().unwrap())]);
    assert_ok(&run);
    let file = p.root().join("alembic/versions/abcdef_x.py");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{}\n", file.display())
    );

    let run = p.run_env(&["edit", "nope"], &[("EDITOR", editor.to_str().unwrap())]);
    assert_eq!(run.code, 255);
    assert_eq!(
        run.stdout,
        "FAILED: Can't locate revision identified by 'nope'\n"
    );

    let run = p.run_env(
        &["edit", "abc"],
        &[("EDITOR", "no-such-editor"), ("PATH", "")],
    );
    assert_eq!(run.code, 255);
    assert_eq!(
        run.stdout,
        "FAILED: Error executing editor (No suitable editor found. Please set the \"EDITOR\" \
         or \"VISUAL\" environment variables)\n"
    );
}

#[test]
fn init_writes_the_generic_template() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(args)
            .current_dir(&root)
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let (code, stdout) = run(&["init", "--package", "migrations"]);
    assert_eq!(code, 0, "{stdout}");
    let r = root.display();
    assert_eq!(
        stdout,
        format!(
            "Creating directory {r}/migrations ...  done\n\
             Creating directory {r}/migrations/versions ...  done\n\
             Generating {r}/migrations/script.py.mako ...  done\n\
             Generating {r}/migrations/README ...  done\n\
             Generating {r}/migrations/env.py ...  done\n\
             Generating {r}/alembic.ini ...  done\n\
             Adding {r}/migrations/__init__.py ...  done\n\
             Adding {r}/migrations/versions/__init__.py ...  done\n\
             Please edit configuration/connection/logging settings in {r}/alembic.ini before \
             proceeding.\n"
        )
    );
    let ini = std::fs::read_to_string(root.join("alembic.ini")).unwrap();
    assert!(ini.contains("\nscript_location = %(here)s/migrations\n"));
    assert_eq!(
        std::fs::read_to_string(root.join("migrations/script.py.mako")).unwrap(),
        SCRIPT_TEMPLATE
    );
    assert_eq!(list_dir(&root.join("migrations/versions")), ["__init__.py"]);

    // The new project works: a first revision goes into migrations/versions.
    let (code, stdout) = run(&["revision", "-m", "first", "--rev-id", "0001"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(root.join("migrations/versions/0001_first.py").exists());

    let (code, stdout) = run(&["init", "migrations/"]);
    assert_eq!(code, 255);
    assert_eq!(
        stdout,
        "FAILED: Directory migrations already exists and is not empty\n"
    );

    // An existing alembic.ini is kept.
    let (code, stdout) = run(&["init", "other"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!("File {r}/alembic.ini already exists, skipping\n")));
    // `-q` silences everything but the copied files, as in Alembic.
    let (code, stdout) = run(&["-q", "init", "--package", "quiet"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!(
            "Generating {r}/quiet/script.py.mako ...  done\n\
             Generating {r}/quiet/README ...  done\n\
             Generating {r}/quiet/env.py ...  done\n"
        )
    );
    assert!(root.join("quiet/versions/__init__.py").exists());
    let (code, stdout) = run(&["init", "-t", "nope", "third"]);
    assert_eq!(code, 255);
    assert_eq!(stdout, "FAILED: No such template nope\n");
    assert!(!root.join("third").exists());
}

/// Alembic writes the file, then fails to add a revision whose branch label is taken; aurora
/// does the same (exit 1), as recorded in the conformance corpus.
#[test]
fn duplicate_branch_label_is_a_crash_after_writing() {
    let p = Project::new();
    assert_ok(&p.run(&[
        "revision",
        "-m",
        "x",
        "--rev-id",
        "a1",
        "--branch-label",
        "b1",
    ]));
    let run = p.run(&[
        "revision",
        "-m",
        "x",
        "--rev-id",
        "b2",
        "--branch-label",
        "b1",
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.ends_with("b2_x.py ...  done\n"));
    assert!(run.stderr.contains("b1"), "{}", run.stderr);
}

/// With `revision_environment = true` Alembic runs env.py online, which creates the version
/// table; `--sql` is then accepted too.
#[test]
fn revision_environment_touches_the_database() {
    let p = Project::with_ini_extra("revision_environment = true");
    assert!(!p.root().join("test.db").exists());
    assert_ok(&p.run(&["revision", "-m", "x", "--rev-id", "a1"]));
    assert!(p.root().join("test.db").exists());
    assert_eq!(p.run(&["current"]).stdout, "");
    assert_ok(&p.run(&["revision", "--sql", "-m", "y", "--rev-id", "b2"]));
    assert_ok(&p.run(&["merge", "heads", "--rev-id", "c3"]));
    assert_eq!(p.versions(), ["a1_x.py", "b2_y.py", "c3_.py"]);

    let plain = Project::new();
    let run = plain.run(&["revision", "--sql", "-m", "y"]);
    assert_eq!(
        run.stdout,
        "FAILED: Using --sql with the revision command when revision_environment is not \
         configured does not make any sense\n"
    );
    assert!(!plain.root().join("test.db").exists());
}

/// `[post_write_hooks]` of type `exec` run on the new file, with Alembic's status lines.
#[test]
fn post_write_hooks_run_on_the_new_file() {
    let p = Project::with_ini_extra(
        "\n[post_write_hooks]\nhooks = tagger\ntagger.type = exec\ntagger.executable = /bin/sh\n\
         tagger.options = -c \"echo '# hooked' >> $0\" REVISION_SCRIPT_FILENAME\n",
    );
    let run = p.run(&["revision", "-m", "x", "--rev-id", "a1"]);
    assert_ok(&run);
    let path = p.root().join("alembic/versions/a1_x.py");
    assert_eq!(
        run.stdout,
        format!(
            "Generating {} ...  done\nRunning post write hook 'tagger' ...\n  done\n",
            path.display()
        )
    );
    assert!(p
        .read("alembic/versions/a1_x.py")
        .ends_with("    pass\n# hooked\n"));

    let broken = Project::with_ini_extra("\n[post_write_hooks]\nhooks = nameless\n");
    let run = broken.run(&["revision", "-m", "x", "--rev-id", "a1"]);
    assert_eq!(run.code, 255);
    assert!(run.stdout.ends_with(
        "FAILED: Key 'nameless.type' (or 'type' in toml) is required for post write hook \
         'nameless'\n"
    ));
}

/// Alembic's generic env.py says `target_metadata = None`; autogenerate then refuses in
/// Alembic's words, after checking that the database is up to date.
#[test]
fn autogenerate_without_metadata_fails_like_alembic() {
    let p = Project::new();
    std::fs::write(
        p.root().join("alembic/env.py"),
        include_str!("../assets/init/generic/env.py"),
    )
    .unwrap();
    assert_ok(&p.run(&["revision", "-m", "x", "--rev-id", "a1"]));
    let run = p.run(&["check"]);
    assert_eq!(run.stdout, "FAILED: Target database is not up to date.\n");
    assert_ok(&p.run(&["upgrade", "head"]));
    let run = p.run(&["revision", "--autogenerate", "-m", "y"]);
    assert_eq!(run.code, 255);
    assert_eq!(
        run.stdout,
        format!(
            "FAILED: Can't proceed with --autogenerate option; environment script {}/alembic/env.py \
             does not provide a MetaData object or sequence of objects to the context.\n",
            p.root().display()
        )
    );
    assert_eq!(p.versions(), ["a1_x.py"]);
}

/// `init -t pyproject_async` next to a pyproject.toml without `[tool.alembic]`
/// appends to it; a second init skips it. Lines and files as Alembic 1.20.1
/// writes them (measured).
#[test]
fn init_pyproject_template_appends_to_the_toml() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(args)
            .current_dir(&root)
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let (code, stdout) = run(&["init", "-t", "pyproject_async", "mig"]);
    assert_eq!(code, 0, "{stdout}");
    let r = root.display();
    assert_eq!(
        stdout,
        format!(
            "Creating directory {r}/mig ...  done\n\
             Creating directory {r}/mig/versions ...  done\n\
             Generating {r}/mig/script.py.mako ...  done\n\
             Generating {r}/mig/README ...  done\n\
             Generating {r}/mig/env.py ...  done\n\
             Appending to existing {r}/pyproject.toml ...  done\n\
             Generating {r}/alembic.ini ...  done\n\
             Please edit configuration settings in {r}/pyproject.toml and \
             configuration/connection/logging settings in {r}/alembic.ini before proceeding.\n"
        )
    );
    let toml = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    assert!(
        toml.starts_with("[project]\nname = \"x\"\n\n\n[tool.alembic]\n"),
        "{toml}"
    );
    assert!(toml.contains("\nscript_location = \"%(here)s/mig\"\n"));
    assert!(std::fs::read_to_string(root.join("mig/env.py"))
        .unwrap()
        .contains("async_engine_from_config"));
    let (code, stdout) = run(&["init", "-t", "pyproject", "mig2"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains(&format!(
        "File {r}/pyproject.toml already exists and already has a [tool.alembic] section, skipping\n"
    )));
}

/// A Python syntax error in `script.py.mako` is Mako's compile error, which
/// Alembic does not catch (traceback, exit 1); an error while rendering is
/// Alembic's `Template rendering failed` (exit 255). Neither leaves a file.
#[test]
fn broken_templates_fail_as_alembic_does() {
    let project = Project::new();
    let template = project.root().join("alembic/script.py.mako");
    std::fs::write(&template, "a\nRevises: ${down_revision +}\n").unwrap();
    let run = project.run(&["revision", "-m", "x", "--rev-id", "aa1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // aurora's crash line ends with the last line of Alembic's traceback.
    let last = run.stderr.lines().last().unwrap_or_default().to_string();
    assert!(
        last.ends_with(&format!(
            ": mako.exceptions.SyntaxException: (SyntaxError) invalid syntax (<unknown>, line 1) \
             ('down_revision +') in file '{}' at line: 2 char: 10",
            template.display()
        )),
        "{last}"
    );
    std::fs::write(&template, "ok\n  ${nope}\n").unwrap();
    let run = project.run(&["revision", "-m", "x", "--rev-id", "aa1"]);
    assert_eq!(run.code, 255, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "FAILED: Template rendering failed; template {}, line 2, column 3: NameError: Undefined",
            template.display()
        )),
        "{}",
        run.stdout
    );
    assert!(project.versions().is_empty(), "{:?}", project.versions());
}
