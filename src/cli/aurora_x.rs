//! The helper verbs of Aurora-X's original `db-migrate.sh`: `status`, `create`, `upgrade-to`,
//! `downgrade-to`, `show-sql`, `reset`, and `downgrade N` / `downgrade all` as step counts.
//!
//! Each verb is a thin layer over the Alembic commands: the online work is done by
//! `migrate::upgrade`, `migrate::downgrade` and `migrate::current`, and files by
//! `authoring::revision`. What this module adds is the reading of a step count, and the
//! confirmation that destructive verbs ask for when a person is at the terminal.

use std::io::{BufRead, IsTerminal, Write};

use super::authoring::{self, RevisionArgs};
use super::{history, migrate, CliError, Output, Project};
use crate::graph::{RevisionError, RevisionMap};

/// `status`: the current revision, then the verbose history, as the original script printed.
///
/// The emoji of the original script are printed only when standard output is a terminal
/// that allows decorations (not `TERM=dumb`, no `NO_COLOR`); piped output has plain headings.
pub fn status(project: &mut Project, out: &mut Output) -> Result<(), CliError> {
    if out.json {
        let rows = migrate::database_heads(project, out)?;
        return super::json::status(out, project, &rows);
    }
    let decorated = std::io::stdout().is_terminal() && super::output::decorations_allowed();
    let heading = |emoji: &str, text: &str| {
        if decorated {
            format!("{emoji} {text}")
        } else {
            text.to_string()
        }
    };
    out.print(&heading("📊", "Current Migration Status:"));
    migrate::current(project, out, false, false)?;
    out.print("");
    out.print(&heading("📋", "Migration History:"));
    history::history(project, out, None, true, false)
}

/// `create MESSAGE`: `revision --autogenerate -m MESSAGE`. Whatever keeps autogenerate from
/// running (no `target_metadata`, a database behind its migrations) fails the command as it
/// fails `revision --autogenerate`; no empty revision is written in its place.
pub fn create(project: &mut Project, out: &mut Output, message: &str) -> Result<(), CliError> {
    let args = RevisionArgs {
        message: Some(message.to_string()),
        autogenerate: true,
        head: "head".to_string(),
        ..Default::default()
    };
    authoring::revision(project, out, &args).map(|_| ())
}

/// `upgrade-to REVISION`: `upgrade REVISION`.
pub fn upgrade_to(project: &mut Project, out: &mut Output, revision: &str) -> Result<(), CliError> {
    migrate::upgrade(project, out, revision, false, None)
}

/// `show-sql [REVISION]`: `upgrade REVISION --sql`, `head` by default.
pub fn show_sql(
    project: &mut Project,
    out: &mut Output,
    revision: Option<&str>,
) -> Result<(), CliError> {
    migrate::upgrade(project, out, revision.unwrap_or("head"), true, None)
}

/// `downgrade REVISION` (and `downgrade-to REVISION`, `helper`), with `N` and `all` read as
/// step counts when Alembic cannot read them as a revision. The helper forms (`downgrade-to`,
/// a step count, `all`) ask for confirmation; Alembic's own `downgrade REVISION` never does.
pub fn downgrade(
    project: &mut Project,
    out: &mut Output,
    revision: &str,
    sql: bool,
    tag: Option<&str>,
    yes: bool,
    helper: bool,
) -> Result<(), CliError> {
    let target = downgrade_target(project, revision)?;
    let helper_form = helper || target != revision;
    if !sql && helper_form {
        let what = if target == "base" {
            "to base: every migration will be undone and its data may be lost".to_string()
        } else if let Some(steps) = target.strip_prefix('-') {
            let plural = if steps == "1" { "" } else { "s" };
            format!("by {steps} revision{plural}")
        } else {
            format!("to {target}")
        };
        confirm(out, &format!("Downgrade the database {what}."), yes)?;
    }
    migrate::downgrade(project, out, &target, sql, tag)
}

/// `reset`: after confirmation, `downgrade base`, then `upgrade head`.
pub fn reset(project: &mut Project, out: &mut Output, yes: bool) -> Result<(), CliError> {
    confirm(
        out,
        "Reset the database: downgrade to base (deleting all data), then upgrade to head.",
        yes,
    )?;
    migrate::downgrade(project, out, "base", false, None)?;
    // The backup (taken before the downgrade) holds everything; the empty database the
    // upgrade starts from needs none.
    project.backup = super::backup::Backup::Off;
    migrate::upgrade(project, out, "head", false, None)
}

/// What `downgrade ARG` means. Alembic's reading comes first; only an argument that Alembic
/// cannot resolve, and that is a positive whole number or `all`, is read as a step count:
/// `N` becomes `-N` and `all` becomes `base`.
pub fn downgrade_target(project: &mut Project, revision: &str) -> Result<String, CliError> {
    let is_count = !revision.is_empty() && revision.chars().all(|c| c.is_ascii_digit());
    if !(is_count || revision == "all") {
        return Ok(revision.to_string());
    }
    match project.try_map()? {
        Ok(map) => Ok(step_count_target(map, revision).unwrap_or_else(|| revision.to_string())),
        // A broken map: let the downgrade command report it in Alembic's words.
        Err(_) => Ok(revision.to_string()),
    }
}

/// The downgrade target a step count stands for, or `None` when `revision` is no step count
/// or Alembic can resolve it.
pub fn step_count_target(map: &RevisionMap, revision: &str) -> Option<String> {
    let is_count = !revision.is_empty() && revision.chars().all(|c| c.is_ascii_digit());
    if !(is_count || revision == "all") {
        return None;
    }
    match map.get_revisions(revision) {
        Err(RevisionError::Resolution { .. }) => {}
        _ => return None,
    }
    if revision == "all" {
        return Some("base".to_string());
    }
    let steps = revision.trim_start_matches('0');
    if steps.is_empty() {
        // `downgrade 0` is no step count; Alembic's error says what is wrong with it.
        return None;
    }
    Some(format!("-{steps}"))
}

/// Asks on the terminal before a destructive step; `--yes` goes ahead without asking. Without
/// a terminal on stdin (scripts, CI, `</dev/null`) there is no one to ask, so it refuses.
fn confirm(out: &mut Output, what: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Crash(format!(
            "{what} Refused: standard input is not a terminal, so no one can confirm; \
             pass --yes to go ahead. The database was not changed."
        )));
    }
    out.flush();
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "⚠️  {what}\nContinue? [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(CliError::failed("cancelled; the database was not changed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Script;

    fn map(revisions: &[(&str, Option<&str>, Option<&str>)]) -> RevisionMap {
        let scripts = revisions
            .iter()
            .map(|(id, down, label)| Script {
                revision: id.to_string(),
                down_revision: down.iter().map(|d| d.to_string()).collect(),
                dependencies: Vec::new(),
                branch_labels: label.iter().map(|l| l.to_string()).collect(),
                replaces: Vec::new(),
                path: format!("/p/{id}.py").into(),
                longdoc: String::new(),
                compile_hooks: Vec::new(),
                import_effects: Vec::new(),
            })
            .collect();
        RevisionMap::build(scripts).unwrap()
    }

    #[test]
    fn step_counts_only_where_alembic_sees_no_revision() {
        let m = map(&[("aaaa01", None, None), ("bbbb02", Some("aaaa01"), None)]);
        assert_eq!(step_count_target(&m, "3").as_deref(), Some("-3"));
        assert_eq!(step_count_target(&m, "01").as_deref(), Some("-1"));
        assert_eq!(step_count_target(&m, "all").as_deref(), Some("base"));
        // Alembic's own meanings are kept.
        for arg in ["-1", "base", "aaaa01", "aaaa", "0", "heads", "bbbb02@-1"] {
            assert_eq!(step_count_target(&m, arg), None, "{arg}");
        }

        // A digit that prefixes a revision id, and a branch called `all`, are revisions.
        let m = map(&[
            ("3abc11", None, Some("all")),
            ("4def22", Some("3abc11"), None),
        ]);
        assert_eq!(step_count_target(&m, "3"), None);
        assert_eq!(step_count_target(&m, "all"), None);
        assert_eq!(step_count_target(&m, "5").as_deref(), Some("-5"));
    }
}
