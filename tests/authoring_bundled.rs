//! Checks the example project bundled at the repository root: its initial revision is named
//! and laid out as Alembic writes it, and `aurora_x/models.py` declares what it creates.

use std::collections::BTreeMap;
use std::path::Path;

use aurora::authoring::{self, CreateDate, NamingOptions, RevisionSpec};
use chrono::NaiveDateTime;

const INITIAL_ID: &str = "164468809966";
const INITIAL_MESSAGE: &str =
    "Initial schema: users, tasks, conversations, metrics, alerts, audit logs";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn initial_file_name() -> String {
    let date = CreateDate {
        local: NaiveDateTime::default(),
        offset: None,
        epoch: 0,
    };
    authoring::revision_file_name(
        &NamingOptions::default(),
        INITIAL_ID,
        Some(INITIAL_MESSAGE),
        &date,
    )
    .unwrap()
}

/// The text between `marker` line and the next blank line, without the trailing newline.
fn body_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).unwrap() + marker.len();
    let rest = &text[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    rest[..end].trim_end_matches('\n').to_string()
}

#[test]
fn alembic_ini_points_at_the_root() {
    let ini = read("alembic.ini");
    let options: BTreeMap<&str, &str> = ini
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .collect();
    assert_eq!(options["script_location"], "%(here)s");
    assert_eq!(options["sqlalchemy.url"], "sqlite:///./aurora.db");
    assert!(root().join("env.py").is_file());
    assert!(read("env.py").contains("from aurora_x.models import Base\n"));
    assert_eq!(read("script.py.mako"), authoring::DEFAULT_SCRIPT_TEMPLATE);
}

#[test]
fn initial_revision_is_what_alembic_writes() {
    let name = initial_file_name();
    assert_eq!(name, "164468809966_initial_schema_users_tasks_.py");
    let text = read(&format!("versions/{name}"));
    let date_line = text
        .lines()
        .find_map(|l| l.strip_prefix("Create Date: "))
        .unwrap();
    let local = NaiveDateTime::parse_from_str(date_line, "%Y-%m-%d %H:%M:%S%.f").unwrap();
    let mut spec = RevisionSpec::new(
        INITIAL_ID,
        Some(INITIAL_MESSAGE),
        CreateDate {
            local,
            offset: None,
            epoch: 0,
        },
    );
    spec.upgrades = Some(body_after(&text, "    \"\"\"Upgrade schema.\"\"\"\n    "));
    spec.downgrades = Some(body_after(&text, "    \"\"\"Downgrade schema.\"\"\"\n    "));
    spec.imports = Some(String::new());
    let rendered =
        authoring::render_revision("script.py.mako", Some(&read("script.py.mako")), &spec).unwrap();
    assert_eq!(rendered, text);
    assert_eq!(text.matches("op.create_table(").count(), 6);
    assert_eq!(text.matches("op.create_index(").count(), 19);
    assert_eq!(text.matches("op.drop_index(").count(), 19);
    assert_eq!(text.matches("unique=True").count(), 2);
}

/// Table name → column names, in order, from the `op.create_table` calls of a revision.
fn revision_tables(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("op.create_table('") {
            let name = rest.split('\'').next().unwrap().to_string();
            tables.insert(name.clone(), Vec::new());
            current = Some(name);
        } else if let (Some(rest), Some(t)) = (line.strip_prefix("sa.Column('"), &current) {
            let col = rest.split('\'').next().unwrap().to_string();
            tables.get_mut(t).unwrap().push(col);
        } else if line == ")" {
            current = None;
        }
    }
    tables
}

/// Table name → column names, in order, from the declarative classes of `models.py`.
fn model_tables(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut tables = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("__tablename__ = \"") {
            let name = rest.trim_end_matches('"').to_string();
            tables.insert(name.clone(), Vec::new());
            current = Some(name);
        } else if let (Some((col, _)), Some(t)) = (line.split_once(" = Column("), &current) {
            tables.get_mut(t).unwrap().push(col.to_string());
        }
    }
    tables
}

#[test]
fn models_declare_the_initial_schema() {
    let revision = revision_tables(&read(&format!("versions/{}", initial_file_name())));
    let models = model_tables(&read("aurora_x/models.py"));
    assert_eq!(revision.len(), 6);
    assert_eq!(models, revision);
}
