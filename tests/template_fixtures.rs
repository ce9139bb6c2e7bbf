//! Data-driven tests of the `script.py.mako` renderer: every case under
//! `tests/fixtures/template/ok/` must render to its `expected` text, and every
//! case under `err/` must fail as its `expected` says. The snapshots were
//! made by Mako itself, rendering each template as Alembic does
//! (`scripts/record-template-fixtures.py`): Mako's own message for a compile
//! error, `line N: Type: message` for an error while rendering.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aurora::template::{self, ConfigView, Context, DateTimeView, Value};

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/template")
        .join(kind);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no fixtures in {}", dir.display());
    cases
}

fn value(key: &str, json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::String(s) => Value::str(s),
        // Alembic passes tuples, except for a list of dependencies.
        serde_json::Value::Array(items) => {
            let items = items.iter().map(|v| value(key, v)).collect();
            if key == "depends_on" {
                Value::List(items)
            } else {
                Value::Tuple(items)
            }
        }
        other => panic!("unsupported context value {other} for {key}"),
    }
}

/// The values the recorder passes: Alembic's defaults for a first revision,
/// overridden by the case's `context.json`.
fn context(case: &Path) -> Context {
    let mut ctx = Context::new();
    ctx.insert("up_revision".into(), Value::str("ae1027a6acf"));
    for key in ["down_revision", "branch_labels", "depends_on"] {
        ctx.insert(key.into(), Value::None);
    }
    ctx.insert("message".into(), Value::str("empty message"));
    let local = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
        .unwrap()
        .and_hms_micro_opt(3, 4, 5, 678901)
        .unwrap();
    ctx.insert(
        "create_date".into(),
        Value::DateTime(DateTimeView {
            local,
            text: "2026-01-02 03:04:05.678901".into(),
            aware: false,
        }),
    );
    let Ok(text) = std::fs::read_to_string(case.join("context.json")) else {
        return ctx;
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (key, v) in json.as_object().unwrap() {
        if key == "config" {
            let main: BTreeMap<String, Result<String, String>> = v
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), Ok(v.as_str().unwrap().to_string())))
                .collect();
            ctx.insert(
                key.clone(),
                Value::Config(ConfigView {
                    ini_section: "alembic".into(),
                    file_name: None,
                    main,
                }),
            );
        } else {
            ctx.insert(key.clone(), value(key, v));
        }
    }
    ctx
}

fn read(case: &Path, file: &str) -> String {
    std::fs::read_to_string(case.join(file)).unwrap()
}

#[test]
fn ok_cases_render_as_mako_does() {
    let mut failures = Vec::new();
    for case in cases("ok") {
        let source = read(&case, "script.py.mako");
        let expected = read(&case, "expected");
        match template::render("script.py.mako", &source, &context(&case)) {
            Ok(out) if out == expected => {}
            Ok(out) => failures.push(format!(
                "{}: rendered\n{out}\n--- expected\n{expected}",
                case.display()
            )),
            Err(e) => failures.push(format!("{}: {e}", case.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn err_cases_fail_as_mako_does() {
    let mut failures = Vec::new();
    for case in cases("err") {
        let source = read(&case, "script.py.mako");
        let expected = read(&case, "expected");
        match template::render("script.py.mako", &source, &context(&case)) {
            Ok(out) => failures.push(format!("{}: rendered {out:?}", case.display())),
            Err(e) => {
                let got = if e.mako.is_some() {
                    e.to_string()
                } else {
                    format!("line {}: {}", e.line, e.message)
                };
                if got != expected {
                    failures.push(format!(
                        "{}: got\n{got}\nexpected\n{expected}",
                        case.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
