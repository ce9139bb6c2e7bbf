//! `aurora lint`: unsafe operations found in the typed operations of
//! revision files (not in SQL text), with the schema state the linted range
//! builds up: a table created by an earlier revision of the range, or earlier
//! in the same revision, is new, so nothing on it locks a big table.
//!
//! Operations carry no spans, so each is placed at the `.<method>(` call
//! of its kind in the file's `upgrade()` that matches it in order (the n-th
//! `add_column` operation at the n-th `.add_column(` call); an operation a
//! loop or helper produced more often than it is written is placed at the
//! last such call, or at `def upgrade` when there is none.

pub mod rules;

use crate::ops::{CallPlaces, Op};
use rules::{Scope, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// Which rules run and how serious each is (`[aurora.lint]`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Rules turned on (the `prefer-*` rules are off by default).
    pub enable: BTreeSet<String>,
    pub disable: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
}

impl Settings {
    /// From `key = value` pairs of `[aurora.lint]` / `[tool.aurora.lint]`:
    /// `enable = a, b`, `disable = c`, `<rule-id> = error|warning|info|off`.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Settings, String> {
        let mut settings = Settings::default();
        for (key, value) in pairs {
            let list = || {
                value
                    .split([',', '\n', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            match key.as_str() {
                "enable" | "disable" => {
                    for id in list() {
                        if rules::find(&id).is_none() {
                            return Err(format!("[aurora.lint] {key}: unknown rule '{id}'"));
                        }
                        if key == "enable" {
                            settings.enable.insert(id);
                        } else {
                            settings.disable.insert(id);
                        }
                    }
                }
                id => {
                    if rules::find(id).is_none() {
                        return Err(format!("[aurora.lint]: unknown rule or option '{id}' (options: enable, disable, <rule-id> = error|warning|info|off)"));
                    }
                    if value.trim() == "off" {
                        settings.disable.insert(id.to_string());
                    } else {
                        let severity = Severity::parse(value).ok_or_else(|| {
                            format!(
                                "[aurora.lint] {id} = {value}: write error, warning, info or off"
                            )
                        })?;
                        settings.severity.insert(id.to_string(), severity);
                        settings.enable.insert(id.to_string());
                    }
                }
            }
        }
        Ok(settings)
    }

    fn active(&self, rule: &rules::Rule) -> Option<Severity> {
        if self.disable.contains(rule.id) || !(rule.default_on || self.enable.contains(rule.id)) {
            return None;
        }
        Some(self.severity.get(rule.id).copied().unwrap_or(rule.severity))
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub path: String,
    pub revision: String,
    pub line: usize,
    pub col: usize,
    pub rule: &'static str,
    pub severity: Severity,
    pub reason: &'static str,
    pub fix: &'static str,
}

/// The state carried from one revision of the range to the next.
#[derive(Debug, Default)]
pub struct SchemaState {
    /// Tables the range has created so far (schema-less names).
    pub created: BTreeSet<String>,
}

/// Where the calls of `upgrade()` are ([`CallPlaces`]), and the
/// `# aurora: allow[...]` comments by line.
struct Calls {
    places: CallPlaces,
    allows: BTreeMap<usize, Vec<String>>,
}

impl Calls {
    fn scan(source: &str) -> Calls {
        let mut allows = BTreeMap::new();
        for (i, line) in source.lines().enumerate() {
            if let Some(pos) = line.find("# aurora: allow[") {
                let rest = &line[pos + "# aurora: allow[".len()..];
                if let Some(end) = rest.find(']') {
                    allows.insert(
                        i + 1,
                        rest[..end]
                            .split(',')
                            .map(|s| s.trim().to_string())
                            .collect(),
                    );
                }
            }
        }
        Calls {
            places: CallPlaces::scan(source, "upgrade"),
            allows,
        }
    }

    fn place(&mut self, methods: &[&str]) -> (usize, usize) {
        self.places.place(methods)
    }
}

/// Lints the `upgrade()` operations of one revision file.
pub fn lint_revision(
    path: &str,
    revision: &str,
    source: &str,
    ops: &[Op],
    postgresql: bool,
    settings: &Settings,
    state: &mut SchemaState,
) -> Vec<Finding> {
    let mut walker = Walker {
        path,
        revision,
        postgresql,
        settings,
        state,
        calls: Calls::scan(source),
        findings: Vec::new(),
        timeout_set: false,
        timeout_reported: false,
    };
    walker.walk(ops, false, false);
    walker.findings
}

struct Walker<'a> {
    path: &'a str,
    revision: &'a str,
    postgresql: bool,
    settings: &'a Settings,
    state: &'a mut SchemaState,
    calls: Calls,
    findings: Vec<Finding>,
    timeout_set: bool,
    timeout_reported: bool,
}

impl Walker<'_> {
    fn walk(&mut self, ops: &[Op], in_autocommit: bool, in_batch: bool) {
        for op in ops {
            let (line, col) = self.calls.place(op.method_names());
            let scope = Scope {
                postgresql: self.postgresql,
                created: &self.state.created,
                in_autocommit,
                in_batch,
            };
            let mut hits = rules::check(op, &scope);
            if let Op::Execute(
                crate::ops::Executable::Sql(sql) | crate::ops::Executable::Text { sql, .. },
            ) = op
            {
                if rules::sets_timeout(sql) {
                    self.timeout_set = true;
                }
            }
            if self.postgresql
                && !self.timeout_set
                && !self.timeout_reported
                && rules::locks_existing(op, &scope)
            {
                self.timeout_reported = true;
                hits.insert(0, "require-timeout-settings");
            }
            for id in hits {
                self.report(id, line, col);
            }
            match op {
                Op::CreateTable(table) => {
                    self.state.created.insert(table.name.clone());
                }
                Op::RenameTable { old, new, .. } if self.state.created.remove(old) => {
                    self.state.created.insert(new.clone());
                }
                Op::DropTable { name, .. } => {
                    self.state.created.remove(name);
                }
                Op::Batch(batch) => self.walk(&batch.ops, in_autocommit, true),
                Op::Autocommit(inner) => self.walk(inner, true, in_batch),
                _ => {}
            }
        }
    }

    fn report(&mut self, id: &'static str, line: usize, col: usize) {
        let Some(rule) = rules::find(id) else { return };
        let Some(severity) = self.settings.active(rule) else {
            return;
        };
        if self
            .calls
            .allows
            .get(&line)
            .is_some_and(|ids| ids.iter().any(|a| a == id || a == "all"))
        {
            return;
        }
        self.findings.push(Finding {
            path: self.path.to_string(),
            revision: self.revision.to_string(),
            line,
            col,
            rule: rule.id,
            severity,
            reason: rule.reason,
            fix: rule.fix,
        });
    }
}

/// `file:line:col: severity[rule-id] reason\n  fix: ...`
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}:{}:{}: {}[{}] {}\n  fix: {}\n",
            f.path,
            f.line,
            f.col,
            f.severity.as_str(),
            f.rule,
            f.reason,
            f.fix
        ));
    }
    out
}

/// GitHub workflow annotations.
pub fn render_github(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        out.push_str(&format!(
            "::{level} file={},line={},col={},title={}::{} (fix: {})\n",
            f.path, f.line, f.col, f.rule, f.reason, f.fix
        ));
    }
    out
}

/// One JSON document: `{"findings": [...], "errors": n}`.
pub fn render_json(findings: &[Finding]) -> String {
    let items: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.path,
                "revision": f.revision,
                "line": f.line,
                "col": f.col,
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "reason": f.reason,
                "fix": f.fix,
            })
        })
        .collect();
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    serde_json::to_string_pretty(&serde_json::json!({"findings": items, "errors": errors}))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::Calls;

    #[test]
    fn calls_are_placed_in_upgrade_in_order() {
        let source = "def downgrade():\n    op.add_column('x')\n\n\ndef upgrade():\n    op.add_column('a')  # aurora: allow[ban-drop-column, renaming-table]\n    with op.batch_alter_table('t') as batch_op:\n        batch_op.add_column('b')\n";
        let mut calls = Calls::scan(source);
        assert_eq!(calls.places.def_line, (5, 1));
        assert_eq!(calls.place(&["add_column"]), (6, 5));
        assert_eq!(calls.place(&["add_column"]), (8, 9));
        // A loop lowering more operations than calls: the last call.
        assert_eq!(calls.place(&["add_column"]), (8, 9));
        assert_eq!(calls.place(&["batch_alter_table"]), (7, 10));
        // No call of the kind written: at `def upgrade`.
        assert_eq!(calls.place(&["drop_table"]), (5, 1));
        assert_eq!(
            calls.allows.get(&6).unwrap(),
            &vec!["ban-drop-column".to_string(), "renaming-table".to_string()]
        );
    }
}
