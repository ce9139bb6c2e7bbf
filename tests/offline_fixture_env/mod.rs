//! The recorded `tests/fixtures/offline` fixtures and the env.py each runs
//! under, shared by the CLI replay (`cli_offline`) and the in-process one
//! (`run_library`).

/// Each fixture's revision file, name and recorded runs (the `.json` beside
/// it), in name order.
pub fn offline_fixtures() -> Vec<(std::path::PathBuf, String, Vec<serde_json::Value>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/offline");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("py"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
        .into_iter()
        .map(|file| {
            let name = file.file_stem().unwrap().to_string_lossy().to_string();
            let recorded: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(file.with_extension("json")).unwrap(),
            )
            .unwrap();
            let runs = recorded.as_array().unwrap().clone();
            (file, name, runs)
        })
        .collect()
}

/// The URL a recorded run's dialect was recorded with.
pub fn fixture_url(run: &serde_json::Value) -> &'static str {
    match run["dialect"].as_str().unwrap() {
        "postgresql" => "postgresql://u:p@localhost/db",
        _ => "sqlite:///./test.db",
    }
}

/// The generic template's env.py; with a `<name>.metadata` file beside the
/// fixture, its `target_metadata` is that Python expression (a `MetaData`
/// with a naming convention), as `scripts/record-offline-fixtures.py` does.
pub fn fixture_env_py(fixture: &std::path::Path) -> String {
    let env_py = include_str!("../../assets/init/generic/env.py");
    match std::fs::read_to_string(fixture.with_extension("metadata")) {
        Ok(expr) => env_py.replacen(
            "target_metadata = None",
            &format!(
                "from sqlalchemy import MetaData\ntarget_metadata = {}",
                expr.trim()
            ),
            1,
        ),
        Err(_) => env_py.to_string(),
    }
}
