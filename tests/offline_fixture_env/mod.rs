//! The env.py a `tests/fixtures/offline` fixture runs under, shared by the
//! CLI replay (`cli_offline`) and the in-process one (`run_library`).

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
