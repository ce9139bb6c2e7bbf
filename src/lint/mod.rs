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

use crate::ops::Op;
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

/// Where the calls of `upgrade()` are: for each method name, the
/// (line, col) of each `.<name>(`, in order.
struct Calls {
    by_method: BTreeMap<String, Vec<(usize, usize)>>,
    used: BTreeMap<String, usize>,
    def_line: (usize, usize),
    /// `# aurora: allow[...]` comments by line.
    allows: BTreeMap<usize, Vec<String>>,
}

impl Calls {
    fn scan(source: &str) -> Calls {
        let mut calls = Calls {
            by_method: BTreeMap::new(),
            used: BTreeMap::new(),
            def_line: (1, 1),
            allows: BTreeMap::new(),
        };
        let mut inside = false;
        for (i, line) in source.lines().enumerate() {
            let number = i + 1;
            if let Some(pos) = line.find("# aurora: allow[") {
                let rest = &line[pos + "# aurora: allow[".len()..];
                if let Some(end) = rest.find(']') {
                    calls.allows.insert(
                        number,
                        rest[..end]
                            .split(',')
                            .map(|s| s.trim().to_string())
                            .collect(),
                    );
                }
            }
            let starts_at_col0 = !line.starts_with([' ', '\t']) && !line.trim().is_empty();
            if starts_at_col0 {
                let trimmed = line.trim_start();
                if trimmed.starts_with("def upgrade(") {
                    inside = true;
                    calls.def_line = (number, 1);
                    continue;
                } else if !trimmed.starts_with('#') && !trimmed.starts_with(')') {
                    inside = false;
                }
            }
            if !inside {
                continue;
            }
            let code = line.split('#').next().unwrap_or("");
            let bytes = code.as_bytes();
            let mut at = 0;
            while let Some(dot) = code[at..].find('.') {
                let start = at + dot + 1;
                let end = start
                    + code[start..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(code.len() - start);
                if end > start && bytes.get(end) == Some(&b'(') {
                    let name = &code[start..end];
                    let receiver = code[..at + dot]
                        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(0, |p| p + 1);
                    let col = code[..receiver].chars().count() + 1;
                    calls
                        .by_method
                        .entry(name.to_string())
                        .or_default()
                        .push((number, col));
                }
                at = start;
            }
        }
        calls
    }

    fn place(&mut self, methods: &[&str]) -> (usize, usize) {
        let mut all: Vec<(usize, usize)> = methods
            .iter()
            .flat_map(|m| self.by_method.get(*m).cloned().unwrap_or_default())
            .collect();
        all.sort();
        let key = methods.join("|");
        let n = self.used.entry(key).or_insert(0);
        let place = all.get(*n).or(all.last()).copied().unwrap_or(self.def_line);
        *n += 1;
        place
    }
}

fn methods(op: &Op) -> &'static [&'static str] {
    match op {
        Op::CreateTable(_) => &["create_table"],
        Op::DropTable { .. } => &["drop_table"],
        Op::AddColumn { .. } => &["add_column"],
        Op::DropColumn { .. } => &["drop_column"],
        Op::AlterColumn(_) => &["alter_column"],
        Op::CreateIndex(_) => &["create_index"],
        Op::DropIndex { .. } => &["drop_index"],
        Op::AddConstraint { .. } => &[
            "create_foreign_key",
            "create_check_constraint",
            "create_unique_constraint",
            "create_primary_key",
        ],
        Op::DropConstraint { .. } => &["drop_constraint"],
        Op::RenameTable { .. } => &["rename_table"],
        Op::Execute(_) => &["execute"],
        Op::BulkInsert { .. } => &["bulk_insert"],
        Op::Batch(_) => &["batch_alter_table"],
        Op::Autocommit(_) => &["autocommit_block"],
        Op::CreateTableComment { .. } => &["create_table_comment"],
        Op::DropTableComment { .. } => &["drop_table_comment"],
        Op::CreateEnum { .. } => &["create"],
        Op::DropEnum { .. } => &["drop"],
        Op::Print(_) => &["print"],
        Op::Log { .. } => &[
            "debug", "info", "warning", "warn", "error", "critical", "fatal",
        ],
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
            let (line, col) = self.calls.place(methods(op));
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
        assert_eq!(calls.def_line, (5, 1));
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
