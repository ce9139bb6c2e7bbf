//! Runs the recorded SQLite online cases (`ops_sqlite_online__*`,
//! `batch__*_sqlite_online`, `data__*_sqlite_online`) against an in-memory
//! database: each step's revisions are rendered with a rusqlite-backed
//! [`Reflector`] and executed, and `sqlite_master` is compared with the
//! recorded `db.schema`. This checks batch recreation from a reflected table.
//! Only linear histories and the step forms `upgrade|downgrade <rev|head|
//! base|+N|-N>` are driven; other cases are skipped.
//!
//! Steps listed in `tests/fixtures/sql/online-pass.txt` must keep passing;
//! `AURORA_WRITE_PASS=1` rewrites it.

use aurora::ops::parse_migration;
use aurora::sql::{render_ops, Dialect, Reflector, SqlError, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct Conn<'a>(&'a rusqlite::Connection);

impl Reflector for Conn<'_> {
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, String> {
        let mut stmt = self.0.prepare(sql).map_err(|e| e.to_string())?;
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |row| {
                (0..n)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(x) => Value::Integer(x),
                            rusqlite::types::ValueRef::Real(x) => Value::Real(x),
                            rusqlite::types::ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).to_string())
                            }
                            rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }
}

/// Pulls `key = 'value'` (or `= None`) out of a revision header.
fn header_value(src: &str, key: &str) -> Option<String> {
    for line in src.lines() {
        let Some(rest) = line.strip_prefix(key) else {
            continue;
        };
        let rest = rest.trim_start();
        if !(rest.starts_with(':') || rest.starts_with('=')) {
            continue;
        }
        let value = rest.split('=').nth(1)?.trim();
        if value.starts_with('(') || value.starts_with('[') {
            return Some("<many>".into());
        }
        return Some(value.trim_matches(['\'', '"']).to_string());
    }
    None
}

/// The revision chain from base to head, or `None` if it is not linear.
fn chain(project: &Path) -> Option<Vec<(String, PathBuf)>> {
    let dir = project.join("alembic/versions");
    let mut revs: Vec<(String, String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).ok()? {
        let p = e.ok()?.path();
        if p.extension().and_then(|x| x.to_str()) != Some("py") {
            continue;
        }
        let src = std::fs::read_to_string(&p).ok()?;
        let rev = header_value(&src, "revision")?;
        let down = header_value(&src, "down_revision").unwrap_or_else(|| "None".into());
        if down == "<many>" {
            return None;
        }
        revs.push((rev, down, p));
    }
    let mut out = Vec::new();
    let mut cur = "None".to_string();
    loop {
        let next: Vec<_> = revs.iter().filter(|(_, d, _)| *d == cur).collect();
        match next.as_slice() {
            [] => break,
            [one] => {
                out.push((one.0.clone(), one.2.clone()));
                cur = one.0.clone();
            }
            _ => return None,
        }
    }
    (out.len() == revs.len()).then_some(out)
}

fn normalize(sql: &str) -> String {
    let collapsed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
        .trim()
        .to_string()
}

fn schema(conn: &rusqlite::Connection) -> Vec<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master")
        .expect("prepare");
    let mut rows: Vec<Vec<String>> = stmt
        .query_map([], |r| {
            Ok(vec![
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            ])
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.retain(|r| {
        !r[1].starts_with("sqlite_") && r[1] != "alembic_version" && r[2] != "alembic_version"
    });
    for r in &mut rows {
        r[3] = normalize(&r[3]);
    }
    rows.sort();
    rows
}

/// Reads `"schema": [[...], ...]` of a step out of steps.json text.
/// A recorded step: its arguments, exit status and `db.schema` rows.
type RecordedStep = (Vec<String>, i64, Option<Vec<Vec<String>>>);

fn recorded_schemas(steps: &str) -> Vec<RecordedStep> {
    // steps.json is produced by Python's json module: decode it with a tiny
    // reader of strings, arrays and objects.
    let v = json::parse(steps);
    let json::J::Arr(steps) = v else {
        panic!("steps")
    };
    steps
        .into_iter()
        .map(|s| {
            let args = match s.get("args") {
                Some(json::J::Arr(a)) => a.iter().map(|x| x.s()).collect(),
                _ => Vec::new(),
            };
            let exit = match s.get("exit") {
                Some(json::J::Num(n)) => *n as i64,
                _ => 0,
            };
            let schema = s
                .get("db")
                .and_then(|d| d.get("schema"))
                .and_then(|sc| match sc {
                    json::J::Arr(rows) => Some(
                        rows.iter()
                            .map(|r| match r {
                                json::J::Arr(cells) => cells.iter().map(|c| c.s()).collect(),
                                _ => Vec::new(),
                            })
                            .collect(),
                    ),
                    _ => None,
                });
            (args, exit, schema)
        })
        .collect()
}

mod json {
    #[derive(Debug, Clone)]
    pub enum J {
        Null,
        Num(f64),
        Str(String),
        Arr(Vec<J>),
        Obj(Vec<(String, J)>),
    }
    impl J {
        pub fn get(&self, k: &str) -> Option<&J> {
            match self {
                J::Obj(kv) => kv.iter().find(|(a, _)| a == k).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn s(&self) -> String {
            match self {
                J::Str(s) => s.clone(),
                J::Null => String::new(),
                other => format!("{other:?}"),
            }
        }
    }
    pub fn parse(s: &str) -> J {
        let c: Vec<char> = s.chars().collect();
        let mut i = 0;
        val(&c, &mut i)
    }
    fn ws(c: &[char], i: &mut usize) {
        while *i < c.len() && c[*i].is_whitespace() {
            *i += 1;
        }
    }
    fn val(c: &[char], i: &mut usize) -> J {
        ws(c, i);
        match c[*i] {
            '{' | '[' => {
                let obj = c[*i] == '{';
                *i += 1;
                let mut kv = Vec::new();
                let mut xs = Vec::new();
                loop {
                    ws(c, i);
                    if c[*i] == '}' || c[*i] == ']' {
                        *i += 1;
                        break;
                    }
                    if obj {
                        let J::Str(k) = val(c, i) else { panic!("key") };
                        ws(c, i);
                        *i += 1;
                        kv.push((k, val(c, i)));
                    } else {
                        xs.push(val(c, i));
                    }
                    ws(c, i);
                    if c[*i] == ',' {
                        *i += 1;
                    }
                }
                if obj {
                    J::Obj(kv)
                } else {
                    J::Arr(xs)
                }
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
                            'u' => {
                                let hex: String = c[*i + 1..*i + 5].iter().collect();
                                *i += 4;
                                s.push(
                                    char::from_u32(u32::from_str_radix(&hex, 16).unwrap_or(63))
                                        .unwrap_or('?'),
                                );
                            }
                            o => s.push(o),
                        }
                    } else {
                        s.push(c[*i]);
                    }
                    *i += 1;
                }
                *i += 1;
                J::Str(s)
            }
            't' => {
                *i += 4;
                J::Num(1.0)
            }
            'f' => {
                *i += 5;
                J::Num(0.0)
            }
            'n' => {
                *i += 4;
                J::Null
            }
            _ => {
                let st = *i;
                while *i < c.len() && (c[*i].is_ascii_digit() || "+-.eE".contains(c[*i])) {
                    *i += 1;
                }
                J::Num(c[st..*i].iter().collect::<String>().parse().unwrap_or(0.0))
            }
        }
    }
}

/// Runs one revision's upgrade or downgrade; returns false when it failed.
fn run(conn: &rusqlite::Connection, path: &Path, upgrade: bool) -> bool {
    let src = std::fs::read_to_string(path).expect("read");
    let Ok(m) = parse_migration(path, &src) else {
        return false;
    };
    let ops = if upgrade { &m.upgrade } else { &m.downgrade };
    let mut reflector = Conn(conn);
    let (stmts, ok) = match render_ops(ops, Dialect::Sqlite, Some(&mut reflector)) {
        Ok(s) => (s, true),
        Err(SqlError::Failed { emitted, .. }) | Err(SqlError::Exception { emitted, .. }) => {
            (emitted, false)
        }
    };
    for s in stmts {
        if let Some(sql) = s.sql() {
            if conn.execute_batch(sql).is_err() {
                return false;
            }
        }
    }
    ok
}

#[test]
fn recorded_sqlite_online_schemas_match() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/cases");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&cases)
        .expect("cases")
        .map(|e| e.expect("e").path())
        .collect();
    names.sort();
    let mut results: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    for case in names {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let wanted = name.starts_with("ops_sqlite_online__")
            || (name.starts_with("batch__") && name.contains("sqlite_online"))
            || (name.starts_with("data__") && name.contains("sqlite_online"));
        if !wanted {
            continue;
        }
        let Some(chain) = chain(&case.join("project")) else {
            continue;
        };
        let steps =
            recorded_schemas(&std::fs::read_to_string(case.join("steps.json")).expect("steps"));
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        let mut at: usize = 0; // number of applied revisions
        let mut broken = false;
        for (si, (args, _exit, want)) in steps.into_iter().enumerate() {
            let key = format!("{name}#{si}");
            if broken || args.len() != 2 || !(args[0] == "upgrade" || args[0] == "downgrade") {
                broken = true;
                continue;
            }
            let target: Option<usize> = match args[1].as_str() {
                "head" => Some(chain.len()),
                "base" => Some(0),
                t if t.starts_with('+') => t[1..].parse::<usize>().ok().map(|n| at + n),
                t if t.starts_with('-') => {
                    t[1..].parse::<usize>().ok().map(|n| at.saturating_sub(n))
                }
                t => chain
                    .iter()
                    .position(|(r, _)| r.starts_with(t))
                    .map(|i| i + 1),
            };
            let Some(target) = target else {
                broken = true;
                continue;
            };
            if args[0] == "upgrade" {
                while at < target {
                    if !run(&conn, &chain[at].1, true) {
                        break;
                    }
                    at += 1;
                }
            } else {
                while at > target {
                    if !run(&conn, &chain[at - 1].1, false) {
                        break;
                    }
                    at -= 1;
                }
            }
            let Some(want) = want else { continue };
            let got = schema(&conn);
            let result = if got == want {
                Ok(())
            } else {
                Err(format!("want {want:?}\ngot  {got:?}"))
            };
            results.insert(key, result);
        }
    }
    let pass_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sql/online-pass.txt");
    let passing: Vec<&String> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(k, _)| k)
        .collect();
    if let Ok(s) = std::env::var("AURORA_SHOW") {
        for (k, r) in &results {
            if let Err(e) = r {
                if k.contains(&s) {
                    println!("FAIL {k}: {e}");
                }
            }
        }
    }
    println!("{} of {} online steps match", passing.len(), results.len());
    if std::env::var("AURORA_WRITE_PASS").is_ok() {
        let text: String = passing.iter().map(|k| format!("{k}\n")).collect();
        std::fs::write(&pass_file, text).expect("write");
        return;
    }
    let baseline = std::fs::read_to_string(&pass_file).unwrap_or_default();
    let regressions: Vec<&str> = baseline
        .lines()
        .filter(|l| !l.is_empty() && !matches!(results.get(*l), Some(Ok(()))))
        .collect();
    assert!(
        regressions.is_empty(),
        "online steps that used to pass: {regressions:?}"
    );
    assert!(!passing.is_empty(), "no online step passes");
}
