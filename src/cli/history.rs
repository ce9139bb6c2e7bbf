//! The commands that only read the scripts: `heads`, `branches`, `history`,
//! `show`, `list_templates`.

use super::format::{cmd_format, log_entry, LineOptions};
use super::{Catch, CliError, Output, Project};
use crate::graph::IterateOptions;

/// `alembic heads`.
pub fn heads(
    project: &mut Project,
    out: &mut Output,
    verbose: bool,
    resolve_dependencies: bool,
) -> Result<(), CliError> {
    let catch = Catch::default();
    // Without --resolve-dependencies Alembic reads `get_heads()` outside its
    // error handling, so a broken map is a crash there.
    let map = if resolve_dependencies {
        project.map(&catch)?
    } else {
        project.map_uncaught()?
    };
    let heads: Vec<usize> = if resolve_dependencies {
        map.get_revisions("heads")
            .map_err(|e| catch.word(e))?
            .into_iter()
            .flatten()
            .collect()
    } else {
        map.heads.clone()
    };
    if out.json {
        super::json::heads(out, map, &heads);
        return Ok(());
    }
    let options = LineOptions {
        include_branches: true,
        tree_indicators: false,
        ..Default::default()
    };
    for head in heads {
        out.print(&cmd_format(map, head, verbose, options));
    }
    Ok(())
}

/// The revisions `walk_revisions(base, head)` yields, heads first.
fn walk_revisions(
    project: &mut Project,
    base: &[String],
    head: &[String],
) -> Result<Vec<usize>, CliError> {
    let (start, end) = (python_repr_list(base), python_repr_list(head));
    let catch = Catch {
        start: Some(&start),
        end: Some(&end),
        ..Default::default()
    };
    let map = project.map(&catch)?;
    let options = IterateOptions {
        inclusive: true,
        assert_relative_length: false,
        ..Default::default()
    };
    map.iterate_revisions(head, base, options)
        .map_err(|e| catch.word(e))
}

/// How Python formats a revision argument with `%s`: a plain string, or a tuple.
fn python_repr_list(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| format!("'{s}'")).collect();
            if quoted.len() == 1 {
                format!("({},)", quoted[0])
            } else {
                format!("({})", quoted.join(", "))
            }
        }
    }
}

/// `alembic branches`.
pub fn branches(project: &mut Project, out: &mut Output, verbose: bool) -> Result<(), CliError> {
    let revisions = walk_revisions(project, &["base".to_string()], &["heads".to_string()])?;
    let map = project.map(&Catch::default())?;
    if out.json {
        let points: Vec<usize> = revisions
            .into_iter()
            .filter(|&i| map.get(i).is_branch_point())
            .collect();
        super::json::branches(out, map, &points);
        return Ok(());
    }
    for i in revisions {
        let rev = map.get(i);
        if !rev.is_branch_point() {
            continue;
        }
        let header = cmd_format(
            map,
            i,
            verbose,
            LineOptions {
                include_branches: true,
                tree_indicators: true,
                ..Default::default()
            },
        );
        let indent = " ".repeat(rev.id().chars().count());
        let children: Vec<String> = rev
            .nextrev
            .iter()
            .map(|&child| {
                let line = cmd_format(
                    map,
                    child,
                    false,
                    LineOptions {
                        include_branches: true,
                        include_doc: verbose,
                        tree_indicators: true,
                        ..Default::default()
                    },
                );
                format!("{indent} -> {line}")
            })
            .collect();
        out.print(&format!("{header}\n{}\n", children.join("\n")));
    }
    Ok(())
}

/// `alembic history [-r RANGE] [-v] [-i]`.
pub fn history(
    project: &mut Project,
    out: &mut Output,
    rev_range: Option<&str>,
    verbose: bool,
    indicate_current: bool,
) -> Result<(), CliError> {
    let (base, head) = match rev_range {
        Some(range) => {
            if !range.contains(':') {
                return Err(CliError::failed(
                    "History range requires [start]:[end], [start]:, or :[end]",
                ));
            }
            let parts: Vec<&str> = range.trim().split(':').collect();
            if parts.len() != 2 {
                return Err(CliError::Crash(format!(
                    "history range '{range}' has more than one ':'; write it as [start]:[end]"
                )));
            }
            (parts[0].to_string(), parts[1].to_string())
        }
        None => (String::new(), String::new()),
    };
    let environment = project.config.alembic_bool("revision_environment")? || indicate_current;
    let mut currents: Vec<String> = Vec::new();
    let mut base_list = vec![base.clone()];
    let mut head_list = vec![head.clone()];
    if base == "current" || head == "current" || environment {
        currents = super::migrate::database_heads(project, out)?;
        if head == "current" {
            head_list = currents.clone();
        } else if base == "current" {
            base_list = currents.clone();
        }
    }
    if base_list.iter().all(|b| b.is_empty()) {
        base_list = vec!["base".to_string()];
    }
    if head_list.iter().all(|h| h.is_empty()) {
        head_list = vec!["heads".to_string()];
    }
    let revisions = walk_revisions(project, &base_list, &head_list)?;
    let map = project.map(&Catch::default())?;
    if out.json {
        super::json::history(
            out,
            map,
            &revisions,
            indicate_current.then_some(&currents[..]),
        );
        return Ok(());
    }
    for i in revisions {
        let current = indicate_current && currents.iter().any(|c| c == map.id(i));
        let options = LineOptions {
            include_branches: true,
            include_doc: true,
            include_parents: true,
            tree_indicators: true,
            current,
        };
        out.print(&cmd_format(map, i, verbose, options));
    }
    Ok(())
}

/// `alembic show REV`.
pub fn show(project: &mut Project, out: &mut Output, rev: &str) -> Result<(), CliError> {
    let catch = Catch::default();
    if rev == "current" {
        let currents = super::migrate::database_heads(project, out)?;
        let map = project.map(&catch)?;
        let revisions = map
            .get_revisions_many(&currents)
            .map_err(|e| catch.word(e))?;
        if out.json {
            let found: Vec<usize> = revisions.into_iter().flatten().collect();
            super::json::show(out, map, &found);
            return Ok(());
        }
        for r in revisions.into_iter().flatten() {
            out.print(&log_entry(map, r, false));
        }
        return Ok(());
    }
    let map = project.map(&catch)?;
    let revisions = map.get_revisions(rev).map_err(|e| catch.word(e))?;
    if out.json {
        let mut found = Vec::new();
        for r in revisions {
            found.push(r.ok_or_else(|| {
                CliError::Crash(format!("'{rev}' names no revision (it resolves to base)"))
            })?);
        }
        super::json::show(out, map, &found);
        return Ok(());
    }
    for r in revisions {
        match r {
            Some(r) => out.print(&log_entry(map, r, false)),
            None => {
                return Err(CliError::Crash(format!(
                    "'{rev}' names no revision (it resolves to base)"
                )))
            }
        }
    }
    Ok(())
}

/// The templates `init` knows, in the order Alembic lists them.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "pyproject_async",
        "pyproject configuration, with an async dbapi.",
    ),
    ("multidb", "Rudimentary multi-database configuration."),
    ("generic", "Generic single-database configuration."),
    (
        "pyproject",
        "pyproject configuration, based on the generic configuration.",
    ),
    (
        "async",
        "Generic single-database configuration with an async dbapi.",
    ),
];

/// `alembic list_templates`.
pub fn list_templates(out: &mut Output) -> Result<(), CliError> {
    out.print("Available templates:\n");
    for (name, description) in TEMPLATES {
        out.print(&format!("{name} - {description}"));
    }
    out.print("\nTemplates are used via the 'init' command, e.g.:");
    out.print("\n  alembic init --template generic ./scripts");
    Ok(())
}
