//! Checks rendered SQL against the recorded conformance cases without the
//! CLI: for every `--sql` step of the `ops_*_offline`, `batch__` and `data__`
//! cases, each `-- Running ...` segment of the recorded stdout is compared
//! with what aurora renders for that revision (framing and `alembic_version`
//! lines left out).
//!
//! Segments listed in `tests/fixtures/sql/conformance-pass.txt` must keep
//! passing; set `AURORA_WRITE_PASS=1` to rewrite that list, and
//! `AURORA_SHOW=substr` to print the differences of matching segments.

use aurora::ops::parse_migration;
use aurora::sql::{render_ops, Dialect, SqlError, Statement};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/cases")
}

/// A minimal JSON reader for steps.json: only what the harness needs.
#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool,
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, k: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(kk, _)| kk == k).map(|(_, v)| v),
            _ => None,
        }
    }
    fn as_str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => "",
        }
    }
}

fn parse_json(s: &str) -> Json {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    value(&chars, &mut i)
}

fn ws(c: &[char], i: &mut usize) {
    while *i < c.len() && c[*i].is_whitespace() {
        *i += 1;
    }
}

fn value(c: &[char], i: &mut usize) -> Json {
    ws(c, i);
    match c[*i] {
        '{' => {
            *i += 1;
            let mut kv = Vec::new();
            loop {
                ws(c, i);
                if c[*i] == '}' {
                    *i += 1;
                    break;
                }
                let Json::Str(k) = value(c, i) else {
                    panic!("key")
                };
                ws(c, i);
                *i += 1; // ':'
                let v = value(c, i);
                kv.push((k, v));
                ws(c, i);
                if c[*i] == ',' {
                    *i += 1;
                }
            }
            Json::Obj(kv)
        }
        '[' => {
            *i += 1;
            let mut xs = Vec::new();
            loop {
                ws(c, i);
                if c[*i] == ']' {
                    *i += 1;
                    break;
                }
                xs.push(value(c, i));
                ws(c, i);
                if c[*i] == ',' {
                    *i += 1;
                }
            }
            Json::Arr(xs)
        }
        '"' => {
            *i += 1;
            let mut s = String::new();
            while c[*i] != '"' {
                if c[*i] == '\\' {
                    *i += 1;
                    match c[*i] {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'b' => s.push('\x08'),
                        'f' => s.push('\x0c'),
                        'u' => {
                            let hex: String = c[*i + 1..*i + 5].iter().collect();
                            *i += 4;
                            let mut code = u32::from_str_radix(&hex, 16).expect("hex");
                            if (0xD800..0xDC00).contains(&code) {
                                let lo: String = c[*i + 3..*i + 7].iter().collect();
                                let lo = u32::from_str_radix(&lo, 16).expect("hex");
                                code = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00);
                                *i += 6;
                            }
                            s.push(char::from_u32(code).unwrap_or('?'));
                        }
                        other => s.push(other),
                    }
                } else {
                    s.push(c[*i]);
                }
                *i += 1;
            }
            *i += 1;
            Json::Str(s)
        }
        't' => {
            *i += 4;
            Json::Bool
        }
        'f' => {
            *i += 5;
            Json::Bool
        }
        'n' => {
            *i += 4;
            Json::Null
        }
        _ => {
            let start = *i;
            while *i < c.len() && (c[*i].is_ascii_digit() || "+-.eE".contains(c[*i])) {
                *i += 1;
            }
            Json::Num(
                c[start..*i]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0.0),
            )
        }
    }
}

/// The revision id → file map of a case's project.
fn revision_files(project: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![project.join("alembic/versions")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|x| x.to_str()) == Some("py") {
                let src = std::fs::read_to_string(&p).expect("read");
                for line in src.lines() {
                    if let Some(rest) = line.strip_prefix("revision") {
                        if let Some(q) = rest.find(['\'', '"']) {
                            let id: String = rest[q + 1..]
                                .chars()
                                .take_while(|c| *c != '\'' && *c != '"')
                                .collect();
                            out.insert(id, p.clone());
                            break;
                        }
                    }
                }
            }
        }
    }
    out
}

struct Segment {
    direction: String,
    from: String,
    to: String,
    statements: Vec<String>,
    failed: Option<String>,
}

/// Cuts a recorded `--sql` stdout into its `-- Running` segments.
fn segments(stdout: &str) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut rest = stdout;
    let mut in_segment = false;
    let mut closed = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("-- Running ") {
            let end = r.find('\n').unwrap_or(r.len());
            let line = &r[..end];
            let (direction, arrow) = line.split_once(' ').unwrap_or((line, ""));
            let (from, to) = arrow.split_once("->").unwrap_or((arrow, ""));
            out.push(Segment {
                direction: direction.to_string(),
                from: from.trim().to_string(),
                to: to.trim().to_string(),
                statements: Vec::new(),
                failed: None,
            });
            in_segment = true;
            closed = false;
            rest = r[end..].trim_start_matches('\n');
            continue;
        }
        if let Some(r) = rest.strip_prefix("FAILED: ") {
            let end = r.find('\n').unwrap_or(r.len());
            if let Some(seg) = out.last_mut() {
                seg.failed = Some(r[..end].to_string());
            }
            rest = r[end..].trim_start_matches('\n');
            continue;
        }
        let end = rest.find(";\n\n").map(|i| i + 3).unwrap_or(rest.len());
        let stmt = rest[..end]
            .trim_end_matches('\n')
            .trim_end_matches(';')
            .to_string();
        rest = &rest[end..];
        if !in_segment || closed {
            continue;
        }
        if stmt.contains("alembic_version") {
            closed = true;
            continue;
        }
        if let Some(seg) = out.last_mut() {
            seg.statements.push(stmt);
        }
    }
    out
}

fn dialect_of(project: &Path) -> Dialect {
    let ini = std::fs::read_to_string(project.join("alembic.ini")).unwrap_or_default();
    if ini.contains("postgresql://") {
        Dialect::Postgresql
    } else {
        Dialect::Sqlite
    }
}

fn render_text(stmts: &[Statement]) -> Vec<String> {
    stmts
        .iter()
        .filter_map(|s| match s {
            Statement::Sql(x) | Statement::NamedType { sql: x, .. } => {
                Some(aurora::sql::offline_text(x))
            }
            Statement::AutocommitBegin => Some("COMMIT".to_string()),
            Statement::AutocommitEnd => Some("BEGIN".to_string()),
            Statement::Print(text) => Some(text.clone()),
            Statement::Log { .. } => None,
        })
        .collect()
}

#[test]
fn recorded_offline_segments_render_identically() {
    let mut results: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("cases")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    for case in names {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let wanted = (name.starts_with("ops_") && name.contains("offline"))
            || name.starts_with("batch__")
            || name.starts_with("data__");
        if !wanted {
            continue;
        }
        let project = case.join("project");
        let dialect = dialect_of(&project);
        let files = revision_files(&project);
        let steps = parse_json(&std::fs::read_to_string(case.join("steps.json")).expect("steps"));
        let Json::Arr(steps) = steps else {
            panic!("steps")
        };
        for (si, step) in steps.iter().enumerate() {
            let Some(Json::Arr(args)) = step.get("args") else {
                continue;
            };
            if !args.iter().any(|a| a.as_str() == "--sql") {
                continue;
            }
            let exit = match step.get("exit") {
                Some(Json::Num(n)) => *n as i64,
                _ => 0,
            };
            let stdout = step.get("stdout").map(|s| s.as_str()).unwrap_or_default();
            let segs = segments(stdout);
            let nsegs = segs.len();
            for (gi, seg) in segs.into_iter().enumerate() {
                let key = format!("{name}#{si}#{gi}");
                let rev = if seg.direction == "upgrade" {
                    &seg.to
                } else {
                    &seg.from
                };
                // Merge points name several revisions; the file is the single one.
                let rev = rev.split(", ").next().unwrap_or_default().to_string();
                let result = (|| -> Result<(), String> {
                    let path = files
                        .get(&rev)
                        .ok_or_else(|| format!("no file for revision {rev}"))?;
                    let src = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
                    let m = parse_migration(path, &src).map_err(|e| format!("parse error: {e}"))?;
                    let ops = if seg.direction == "upgrade" {
                        &m.upgrade
                    } else {
                        &m.downgrade
                    };
                    let last = gi + 1 == nsegs;
                    let (got, err) = match render_ops(ops, dialect, None) {
                        Ok(s) => (render_text(&s), None),
                        Err(SqlError::Failed { message, emitted }) => {
                            (render_text(&emitted), Some(format!("FAILED: {message}")))
                        }
                        Err(SqlError::Exception {
                            exception,
                            message,
                            emitted,
                        }) => (
                            render_text(&emitted),
                            Some(format!("EXC {exception}: {message}")),
                        ),
                    };
                    let want_err = if let Some(f) = &seg.failed {
                        Some(format!("FAILED: {f}"))
                    } else if last
                        && exit == 1
                        && !stdout.ends_with("version_num;\n\n")
                        && !stdout.contains(&format!("version_num='{}'", seg.to))
                    {
                        Some("EXC".to_string())
                    } else {
                        None
                    };
                    if got != seg.statements {
                        let mut msg = String::from("statements differ\n");
                        let n = got.len().max(seg.statements.len());
                        for i in 0..n {
                            let w = seg
                                .statements
                                .get(i)
                                .map(|s| s.as_str())
                                .unwrap_or("<none>");
                            let g = got.get(i).map(|s| s.as_str()).unwrap_or("<none>");
                            if w != g {
                                msg.push_str(&format!("  want: {w}\n  got:  {g}\n"));
                            }
                        }
                        return Err(msg);
                    }
                    match (&want_err, &err) {
                        (None, None) => Ok(()),
                        (Some(w), Some(g)) if w == "EXC" && g.starts_with("EXC") => Ok(()),
                        (Some(w), Some(g)) if w == g => Ok(()),
                        _ => Err(format!("error differs: want {want_err:?}, got {err:?}")),
                    }
                })();
                results.insert(key, result);
            }
        }
    }
    let pass_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sql/conformance-pass.txt");
    let passing: Vec<&String> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(k, _)| k)
        .collect();
    let show = std::env::var("AURORA_SHOW").ok();
    for (k, r) in &results {
        if let (Err(e), Some(s)) = (r, &show) {
            if k.contains(s.as_str()) {
                println!("FAIL {k}: {e}");
            }
        }
    }
    println!("{} of {} segments pass", passing.len(), results.len());
    if std::env::var("AURORA_WRITE_PASS").is_ok() {
        let text: String = passing.iter().map(|k| format!("{k}\n")).collect();
        std::fs::create_dir_all(pass_file.parent().expect("dir")).expect("mkdir");
        std::fs::write(&pass_file, text).expect("write");
        return;
    }
    let baseline = std::fs::read_to_string(&pass_file).unwrap_or_default();
    let regressions: Vec<String> = baseline
        .lines()
        .filter(|l| !l.is_empty())
        .filter(|l| !matches!(results.get(*l), Some(Ok(()))))
        .map(|l| format!("{l}: {:?}", results.get(l)))
        .collect();
    assert!(
        regressions.is_empty(),
        "segments that used to pass:\n{}",
        regressions.join("\n")
    );
    assert!(
        passing.len() * 10 >= results.len() * 5,
        "fewer than half of the segments pass"
    );
}
