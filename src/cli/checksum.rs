//! `aurora hash` and the `aurora.sum` check of upgrade, downgrade and stamp
//! (see [`crate::checksum`]).

use std::path::PathBuf;

use super::{Catch, CliError, Output, Project};
use crate::checksum;

/// The revision files of the project, grouped by the version location that holds them.
fn files_by_location(project: &mut Project) -> Result<Vec<(PathBuf, Vec<PathBuf>)>, CliError> {
    let locations = project.script_directory()?.version_locations.clone();
    let catch = Catch::default();
    project.map(&catch)?;
    // Every file, squash revisions and the revisions they replace alike (the map leaves one
    // side out).
    let scripts = project.scripts()?;
    let mut groups: Vec<(PathBuf, Vec<PathBuf>)> =
        locations.into_iter().map(|l| (l, Vec::new())).collect();
    for script in scripts {
        let path = &script.path;
        // The deepest location holding the file (locations may nest).
        if let Some(group) = groups
            .iter_mut()
            .filter(|(l, _)| path.starts_with(l))
            .max_by_key(|(l, _)| l.components().count())
        {
            group.1.push(path.clone());
        }
    }
    Ok(groups)
}

/// `aurora hash [--check]`.
pub fn hash(project: &mut Project, out: &mut Output, check: bool) -> Result<(), CliError> {
    if check {
        let locations = project.script_directory()?.version_locations.clone();
        if !locations
            .iter()
            .any(|l| l.join(checksum::SUM_FILE).exists())
        {
            return Err(CliError::Failed(format!(
                "no {} in any version location; write one with `aurora hash`",
                checksum::SUM_FILE
            )));
        }
        let (problems, checked) = checksum::verify(&locations);
        if let Some(first) = problems.first() {
            for problem in &problems[1..] {
                out.warn(&problem.to_string());
            }
            return Err(CliError::Failed(first.to_string()));
        }
        out.print(&format!(
            "{checked} revision files match {}",
            checksum::SUM_FILE
        ));
        return Ok(());
    }
    for (location, files) in files_by_location(project)? {
        if files.is_empty() {
            continue;
        }
        let entries = checksum::entries(&location, &files)
            .map_err(|e| CliError::Crash(format!("could not read a revision file: {e}")))?;
        let written = checksum::write(&location, &entries)
            .map_err(|e| CliError::Crash(format!("could not write {}: {e}", checksum::SUM_FILE)))?;
        out.print(&format!(
            "Wrote {} ({} revision files)",
            written.display(),
            entries.len()
        ));
    }
    Ok(())
}
