//! `aurora lint [RANGE]`: parses the arguments' range, lowers each revision's
//! `upgrade()` and prints what [`crate::lint`] found.

use super::{Catch, CliError, Output, Project};
use crate::graph::IterateOptions;
use crate::lint::{rules::Severity, Finding, SchemaState, Settings};
use crate::sql::Dialect;

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintFormat {
    Text,
    Json,
    Github,
}

/// `[aurora.lint]` of the ini file, then `[tool.aurora.lint]` of the
/// pyproject.toml beside it (the latter wins key by key).
fn settings(project: &Project) -> Result<Settings, CliError> {
    let config = &project.config;
    let mut pairs = Vec::new();
    for key in config.section_keys("aurora.lint") {
        if let Some(value) = config
            .section_option("aurora.lint", &key)
            .map_err(|e| CliError::Crash(e.to_string()))?
        {
            pairs.push((key, value));
        }
    }
    let toml_path = config.here().join("pyproject.toml");
    if let Ok(text) = std::fs::read_to_string(&toml_path) {
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            CliError::Crash(format!("{}: {}", toml_path.display(), e.message()))
        })?;
        let table = doc
            .get("tool")
            .and_then(|t| t.get("aurora"))
            .and_then(|t| t.get("lint"))
            .and_then(|t| t.as_table());
        for (key, value) in table.into_iter().flatten() {
            let value = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            pairs.push((key.clone(), value));
        }
    }
    Settings::from_pairs(&pairs)
        .map_err(|e| CliError::Crash(format!("{}: {e}", config.config_file_name)))
}

/// Which revisions to lint and whether tables created by one count as new in
/// the later ones (they do when the database is known not to have them).
struct Selection {
    order: Vec<usize>,
    carry: bool,
}

/// The version table's heads when `sqlalchemy.url` names a database that can
/// be read without creating anything (an SQLite file that exists, or a
/// PostgreSQL server that answers); `None` otherwise.
fn database_heads(project: &Project) -> Option<Vec<String>> {
    let url = project.config.sqlalchemy_url().ok().flatten();
    let url = crate::db::DatabaseUrl::from_config(url.as_deref()).ok()?;
    if url.dialect() == Dialect::Sqlite {
        let file = url.database.clone()?;
        if file.is_empty() || file == ":memory:" || !project.cwd.join(&file).exists() {
            return None;
        }
    }
    let mut conn = crate::db::connect(&url).ok()?;
    crate::db::current_heads(conn.as_mut(), &crate::sql::version::VersionTable::default()).ok()
}

/// The revisions of `range` (`base:head`, `abc:`, `:head`), base first. With
/// no range: the revisions the database has not applied, else all of them.
fn revisions(
    project: &mut Project,
    range: Option<&str>,
    target: Option<&str>,
) -> Result<Selection, CliError> {
    let mut inclusive = true;
    let mut carry = false;
    let (base, head) = match range {
        Some(range) => match range.split_once(':') {
            Some((b, h)) if !h.contains(':') => (vec![b.trim().to_string()], h.trim().to_string()),
            _ => {
                return Err(CliError::failed(
                    "lint range requires [start]:[end], [start]:, or :[end]",
                ))
            }
        },
        None => match database_heads(project) {
            Some(heads) if !heads.is_empty() => {
                inclusive = false;
                carry = true;
                (heads, String::new())
            }
            Some(_) => {
                carry = true;
                (vec![String::new()], String::new())
            }
            None => (vec![String::new()], String::new()),
        },
    };
    let base: Vec<String> = if base.iter().all(|b| b.is_empty()) {
        vec!["base".to_string()]
    } else {
        base
    };
    let head = match (head.is_empty(), target) {
        (false, _) => head,
        (true, Some(target)) => target.to_string(),
        (true, None) => "heads".to_string(),
    };
    let catch = Catch::default();
    let map = project.map(&catch)?;
    let options = IterateOptions {
        inclusive,
        assert_relative_length: false,
        ..Default::default()
    };
    let mut order = map
        .iterate_revisions(&[head], &base, options)
        .map_err(|e| catch.word(e))?;
    order.reverse();
    Ok(Selection { order, carry })
}

/// The findings of the revisions of `range` (base first), on `dialect`
/// (else the one of `sqlalchemy.url`, else PostgreSQL).
pub fn findings(
    project: &mut Project,
    range: Option<&str>,
    target: Option<&str>,
    dialect: Option<Dialect>,
) -> Result<Vec<Finding>, CliError> {
    let settings = settings(project)?;
    let dialect = match dialect {
        Some(d) => d,
        None => project
            .config
            .sqlalchemy_url()
            .ok()
            .flatten()
            .and_then(|u| crate::db::DatabaseUrl::from_config(Some(&u)).ok())
            .map_or(Dialect::Postgresql, |u| u.dialect()),
    };
    let Selection { order, carry } = revisions(project, range, target)?;
    let lower = super::migrate::lower_context(project, dialect)?;
    let cwd = project.cwd.clone();
    let map = project.map(&Catch::default())?;
    let mut state = SchemaState::default();
    let mut all = Vec::new();
    for i in order {
        if !carry {
            // Without a database that says otherwise, every revision runs
            // against a database that has all the revisions before it.
            state = SchemaState::default();
        }
        let script = &map.get(i).script;
        let path = script.path.clone();
        let source = std::fs::read_to_string(&path)
            .map_err(|e| CliError::Crash(format!("could not read {}: {e}", path.display())))?;
        let shown = path
            .strip_prefix(&cwd)
            .unwrap_or(&path)
            .display()
            .to_string();
        // The multidb template: `upgrade(engine_name)` dispatches to
        // `upgrade_<engine>()`; each engine's function is linted.
        let sources = if source.contains("% engine_name]()") {
            source
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("def upgrade_")?
                        .split_once('(')
                        .map(|(n, _)| n)
                })
                .map(|engine| {
                    super::environment::engine_functions(
                        &path,
                        &source,
                        engine,
                        crate::plan::Direction::Upgrade,
                    )
                })
                .collect::<Result<Vec<String>, CliError>>()?
        } else {
            vec![source]
        };
        for source in sources {
            let context = crate::ops::LowerContext {
                path: path.clone(),
                ..lower.clone()
            };
            let migration = crate::ops::parse_migration_function(
                &context,
                &source,
                crate::ops::Function::Upgrade,
            )
            .map_err(|e| CliError::Crash(e.to_string()))?;
            all.extend(crate::lint::lint_revision(
                &shown,
                &script.revision,
                &source,
                &migration.upgrade,
                dialect == Dialect::Postgresql,
                &settings,
                &mut state,
            ));
        }
    }
    Ok(all)
}

/// `aurora lint [RANGE]`.
pub fn lint(
    project: &mut Project,
    out: &mut Output,
    range: Option<&str>,
    dialect: Option<Dialect>,
    format: LintFormat,
) -> Result<(), CliError> {
    let found = findings(project, range, None, dialect)?;
    let text = match format {
        LintFormat::Text => crate::lint::render_text(&found),
        LintFormat::Json => crate::lint::render_json(&found) + "\n",
        LintFormat::Github => crate::lint::render_github(&found),
    };
    out.print_raw(&text);
    refuse_on_errors(&found)
}

/// An error-severity finding ends the command with status 255.
pub fn refuse_on_errors(found: &[Finding]) -> Result<(), CliError> {
    let errors = found
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors > 0 {
        return Err(CliError::failed(format!(
            "lint: {errors} error-severity finding(s); fix them or suppress with `# aurora: allow[rule-id]`"
        )));
    }
    Ok(())
}

/// `upgrade REV --lint`: the lint of the revisions the database has not
/// applied up to `REV` (all up to `REV` when the database cannot be read),
/// printed as text; an error-severity finding stops the upgrade before it
/// connects.
pub fn before_upgrade(
    project: &mut Project,
    out: &mut Output,
    target: &str,
) -> Result<(), CliError> {
    let found = findings(project, None, Some(target), None)?;
    out.print_raw(&crate::lint::render_text(&found));
    refuse_on_errors(&found)
}
