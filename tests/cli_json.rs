//! `--format json` for current, heads, branches, history, show, status and check:
//! one JSON document per command, with the schema docs/json-output.md gives.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn revision_file(id: &str, down: &str, message: &str) -> String {
    format!(
        "\"\"\"{message}\n\nlonger text\n\"\"\"\nrevision = '{id}'\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    )
}

/// aaa <- bbb, aaa <- ccc: a branch point at aaa, two heads.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("m/versions")).unwrap();
    std::fs::write(
        root.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/m\nsqlalchemy.url = sqlite:///./t.db\n",
    )
    .unwrap();
    std::fs::write(
        root.join("m/env.py"),
        "from alembic import context\nfrom sqlalchemy import engine_from_config, pool\n\nconfig = context.config\nconnectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix='sqlalchemy.', poolclass=pool.NullPool)\nwith connectable.connect() as connection:\n    context.configure(connection=connection)\n    with context.begin_transaction():\n        context.run_migrations()\n",
    )
    .unwrap();
    for (id, down, message) in [
        ("aaa", "None", "one"),
        ("bbb", "'aaa'", "two"),
        ("ccc", "'aaa'", "three"),
    ] {
        std::fs::write(
            root.join(format!("m/versions/{id}_x.py")),
            revision_file(id, down, message),
        )
        .unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(args)
        .current_dir(dir)
        .env_remove("ALEMBIC_CONFIG")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(dir, &all);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    let doc: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"));
    assert_eq!(doc["aurora_json"], 1);
    assert_eq!(doc["command"], args[0]);
    doc
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn graph_commands() {
    let p = project();
    let heads = json(p.path(), &["heads"]);
    let mut head_ids = ids(&heads["heads"]);
    head_ids.sort();
    assert_eq!(head_ids, ["bbb", "ccc"]);
    let bbb = heads["heads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["revision"] == "bbb")
        .unwrap();
    assert_eq!(bbb["down_revisions"], serde_json::json!(["aaa"]));
    assert_eq!(bbb["message"], "two");
    assert_eq!(bbb["is_head"], true);
    assert_eq!(bbb["is_base"], false);
    assert!(bbb["path"].as_str().unwrap().ends_with("bbb_x.py"));

    let branches = json(p.path(), &["branches"]);
    assert_eq!(ids(&branches["branch_points"]), ["aaa"]);
    let mut children: Vec<&str> = branches["branch_points"][0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    children.sort();
    assert_eq!(children, ["bbb", "ccc"]);
    assert_eq!(branches["branch_points"][0]["is_branch_point"], true);

    // history: the same revisions, in the same order as the text.
    let history = json(p.path(), &["history"]);
    let (_, text, _) = run(p.path(), &["history"]);
    let text_ids: Vec<String> = text
        .lines()
        .map(|l| {
            l.split(" -> ")
                .nth(1)
                .unwrap()
                .split([' ', ','])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids(&history["revisions"]), text_ids);
    assert!(history["revisions"][0].get("is_current").is_none());

    let show = json(p.path(), &["show", "aaa"]);
    assert_eq!(ids(&show["revisions"]), ["aaa"]);
    assert_eq!(show["revisions"][0]["is_base"], true);
    assert_eq!(
        show["revisions"][0]["down_revisions"],
        serde_json::json!([])
    );
}

#[test]
fn database_commands() {
    let p = project();
    // An empty database: nothing applied, everything pending (bases first).
    let status = json(p.path(), &["status"]);
    assert_eq!(status["rows"], serde_json::json!([]));
    let pending = ids(&status["pending"]);
    assert_eq!(pending[0], "aaa");
    assert_eq!(pending.len(), 3);

    assert_eq!(run(p.path(), &["upgrade", "bbb"]).0, 0);
    let current = json(p.path(), &["current"]);
    assert_eq!(current["rows"], serde_json::json!(["bbb"]));
    assert_eq!(ids(&current["revisions"]), ["bbb"]);
    assert_eq!(current["heads"], serde_json::json!(["bbb", "ccc"]));
    assert_eq!(current["at_heads"], false);

    let status = json(p.path(), &["status"]);
    assert_eq!(ids(&status["pending"]), ["ccc"]);

    let history = json(p.path(), &["history", "-i"]);
    for rev in history["revisions"].as_array().unwrap() {
        assert_eq!(rev["is_current"], rev["revision"] == "bbb", "{rev}");
    }

    assert_eq!(run(p.path(), &["upgrade", "heads"]).0, 0);
    let current = json(p.path(), &["current"]);
    assert_eq!(current["at_heads"], true);
    assert_eq!(
        json(p.path(), &["status"])["pending"],
        serde_json::json!([])
    );
}

#[test]
fn text_output_is_unchanged_and_other_commands_refuse_json() {
    let p = project();
    assert_eq!(
        run(p.path(), &["heads"]),
        run(p.path(), &["--format", "text", "heads"])
    );
    let (code, stdout, stderr) = run(p.path(), &["--format", "json", "upgrade", "head"]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("--format json is available for"),
        "{stderr}"
    );
    assert!(!p.path().join("t.db").exists(), "nothing may run");
}

/// `check --format json`: the differences as a list, with `check`'s exit status kept (255
/// and the FAILED line on stderr when the models are ahead of the database).
#[test]
fn check_lists_the_differences_and_keeps_the_exit_status() {
    let p = project();
    let root = p.path();
    std::fs::write(
        root.join("models.py"),
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n\
         class Note(Base):\n    __tablename__ = 'note'\n    id = sa.Column(sa.Integer, primary_key=True)\n    \
         body = sa.Column(sa.String(50), nullable=False)\n",
    )
    .unwrap();
    let env = std::fs::read_to_string(root.join("m/env.py")).unwrap();
    std::fs::write(
        root.join("m/env.py"),
        env.replace(
            "context.configure(connection=connection)",
            "context.configure(connection=connection, target_metadata=Base.metadata)",
        )
        .replace(
            "config = context.config\n",
            "config = context.config\nfrom models import Base\n",
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/m\nprepend_sys_path = .\nsqlalchemy.url = sqlite:///./t.db\n",
    )
    .unwrap();
    assert_eq!(run(root, &["upgrade", "heads"]).0, 0);

    let (code, stdout, stderr) = run(root, &["--format", "json", "check"]);
    assert_eq!(code, 255, "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    assert_eq!(doc["command"], "check");
    assert_eq!(doc["up_to_date"], false);
    let diffs = doc["diffs"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0]["kind"], "add_table");
    assert_eq!(diffs[0]["table"], "note");
    // The same entry the text form lists.
    let (text_code, text_out, _) = run(root, &["check"]);
    assert_eq!(text_code, 255);
    let repr = diffs[0]["repr"].as_str().unwrap();
    assert!(
        repr.starts_with("('add_table', Table('note', MetaData(), "),
        "{repr}"
    );
    assert_eq!(
        text_out,
        format!("FAILED: New upgrade operations detected: [{repr}]\n")
    );
    assert_eq!(
        stderr,
        format!("FAILED: New upgrade operations detected: [{repr}]\n")
    );

    // Once the table exists the document says so, with exit 0.
    std::fs::write(
        root.join("m/versions/ddd_note.py"),
        "revision = 'ddd'\ndown_revision = ('bbb', 'ccc')\n\nfrom alembic import op\nimport sqlalchemy as sa\n\n\n\
         def upgrade():\n    op.create_table('note', sa.Column('id', sa.Integer(), nullable=False), \
         sa.Column('body', sa.String(length=50), nullable=False), sa.PrimaryKeyConstraint('id'))\n\n\n\
         def downgrade():\n    op.drop_table('note')\n",
    )
    .unwrap();
    assert_eq!(run(root, &["upgrade", "head"]).0, 0);
    let doc = json(root, &["check"]);
    assert_eq!(doc["up_to_date"], true);
    assert_eq!(doc["diffs"], serde_json::json!([]));
}
