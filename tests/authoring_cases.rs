//! Renders every `revision` and `merge` step of the `revision__*` conformance cases with the
//! authoring functions and compares the file name and content with what Alembic wrote.
//!
//! The revision graph is not consulted here: the parents and `depends_on` of each new file are
//! read back from the recorded file, and everything else (id, message, branch label, naming
//! options, template, version location) comes from the step and the case's project.

use std::path::{Path, PathBuf};

use aurora::authoring::{self, CreateDate, NamingOptions, RevisionSpec};
use chrono::NaiveDate;
use serde_json::Value as Json;

fn cases_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("AURORA_CONFORMANCE_CASES") {
        return PathBuf::from(dir);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/cases");
    assert!(
        dir.is_dir(),
        "conformance cases not found at {} (set AURORA_CONFORMANCE_CASES)",
        dir.display()
    );
    dir
}

/// The few `[alembic]` options of a case's `alembic.ini` that shape file names, with the
/// config's `%%` interpolation applied.
fn naming_options(ini: &str) -> NamingOptions {
    let mut options = NamingOptions::default();
    let mut in_alembic = false;
    for line in ini.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_alembic = line == "[alembic]";
            continue;
        }
        if !in_alembic {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim().replace("%%", "%");
            match key.trim() {
                "file_template" => options.file_template = value,
                "truncate_slug_length" => options.truncate_slug_length = value.parse().unwrap(),
                _ => {}
            }
        }
    }
    options
}

/// The string literals of the Python assignment `name...= value` in `file`.
fn assigned_strings(file: &str, name: &str) -> Vec<String> {
    let line = file
        .lines()
        .find(|l| l.starts_with(&format!("{name}:")) || l.starts_with(&format!("{name} =")))
        .unwrap_or_else(|| panic!("no `{name}` assignment in\n{file}"));
    let value = line.rsplit_once(" = ").unwrap().1;
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('\'') {
        let after = &rest[start + 1..];
        let end = after.find('\'').unwrap();
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

fn option<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .map(|i| args[i + 1].as_str())
}

fn fixed_date() -> CreateDate {
    CreateDate {
        local: NaiveDate::from_ymd_opt(2025, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 60_708)
            .unwrap(),
        offset: None,
        epoch: 1_735_787_045,
    }
}

fn normalise_date(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("Create Date: ") {
                "Create Date: {{date}}".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

#[test]
fn revision_cases_render_byte_for_byte() {
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("revision__")
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no revision__ cases found");
    for case in &cases {
        let project = case.join("project");
        let ini = std::fs::read_to_string(project.join("alembic.ini")).unwrap();
        let options = naming_options(&ini);
        let template_path = project.join("alembic/script.py.mako");
        let template = std::fs::read_to_string(&template_path).unwrap();
        let steps: Json =
            serde_json::from_str(&std::fs::read_to_string(case.join("steps.json")).unwrap())
                .unwrap();
        for (n, step) in steps.as_array().unwrap().iter().enumerate() {
            let args: Vec<String> = step["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            if args[0] != "revision" && args[0] != "merge" {
                continue;
            }
            let Some(files) = step.get("files").and_then(Json::as_object) else {
                continue;
            };
            for (rel, expected) in files {
                let expected = expected.as_str().unwrap();
                let rev_id = option(&args, "--rev-id").unwrap();
                let mut spec = RevisionSpec::new(rev_id, option(&args, "-m"), fixed_date());
                spec.down_revisions = assigned_strings(expected, "down_revision");
                spec.depends_on = assigned_strings(expected, "depends_on");
                spec.branch_labels = option(&args, "--branch-label")
                    .map(|l| vec![l.to_string()])
                    .unwrap_or_default();
                let version_dir = Path::new(rel).parent().unwrap();
                let file = authoring::prepare_revision_file(
                    version_dir,
                    &options,
                    &template_path.display().to_string(),
                    Some(&template),
                    &spec,
                )
                .unwrap();
                // Alembic's generic template is the default, and every case uses it.
                let default = authoring::render_revision("default", None, &spec).unwrap();
                let label = format!("{} step {n} {:?}", case.display(), args);
                if file.path != Path::new(rel) {
                    failures.push(format!("{label}: path {:?} != {rel}", file.path));
                }
                let content = normalise_date(&file.content);
                if content != expected {
                    failures.push(format!(
                        "{label}: content differs\n--- expected\n{expected}\n--- actual\n{content}"
                    ));
                }
                if default != file.content {
                    failures.push(format!("{label}: default template renders differently"));
                }
                assert!(file
                    .content
                    .contains("Create Date: 2025-01-02 03:04:05.060708\n"));
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Every revision__ case writes at least one file; the corpus has a few dozen.
    assert!(checked >= 30, "only {checked} files checked");
}

#[test]
fn illegal_rev_ids_match_alembic_messages() {
    let mut checked = 0;
    for case in std::fs::read_dir(cases_dir()).unwrap() {
        let case = case.unwrap().path();
        let Ok(steps) = std::fs::read_to_string(case.join("steps.json")) else {
            continue;
        };
        let steps: Json = serde_json::from_str(&steps).unwrap();
        for step in steps.as_array().unwrap() {
            let failed = step.get("failed").and_then(Json::as_str).unwrap_or("");
            if !failed.starts_with("FAILED: Character(s) ") {
                continue;
            }
            let args: Vec<String> = step["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            let rev_id = option(&args, "--rev-id").unwrap();
            let message = authoring::check_new_rev_id(rev_id, [])
                .unwrap_err()
                .to_string();
            assert_eq!(format!("FAILED: {message}"), failed);
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} illegal-id steps found");
}
