//! Where a function's operations were written: for each method name, the
//! `(line, col)` of every `.<name>(` call in one top-level function of a
//! revision file, in order. `aurora lint` and `aurora squash` place each
//! lowered [`Op`] at the call that made it with [`CallPlaces::place`].

use super::Op;
use std::collections::BTreeMap;

/// The `.<method>(` calls of one top-level function, by method name.
#[derive(Debug, Default)]
pub struct CallPlaces {
    by_method: BTreeMap<String, Vec<(usize, usize)>>,
    used: BTreeMap<String, usize>,
    /// Where `def <function>(` is: the place of an operation no call shows.
    pub def_line: (usize, usize),
}

impl CallPlaces {
    /// Scans the body of `def <function>(` at the top level of `source`.
    pub fn scan(source: &str, function: &str) -> CallPlaces {
        let mut calls = CallPlaces {
            def_line: (1, 1),
            ..CallPlaces::default()
        };
        let def = format!("def {function}(");
        let mut inside = false;
        for (i, line) in source.lines().enumerate() {
            let number = i + 1;
            if !line.starts_with([' ', '\t']) && !line.trim().is_empty() {
                let trimmed = line.trim_start();
                if trimmed.starts_with(&def) {
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
            let mut at = 0;
            while let Some(dot) = code[at..].find('.') {
                let start = at + dot + 1;
                let end = start
                    + code[start..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(code.len() - start);
                if end > start && code.as_bytes().get(end) == Some(&b'(') {
                    let receiver = code[..at + dot]
                        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(0, |p| p + 1);
                    calls
                        .by_method
                        .entry(code[start..end].to_string())
                        .or_default()
                        .push((number, code[..receiver].chars().count() + 1));
                }
                at = start;
            }
        }
        calls
    }

    /// The place of the next operation written with one of `methods`: the
    /// calls in order; past the last one (a loop lowering more operations
    /// than calls), the last call; with no such call, the `def` line.
    pub fn place(&mut self, methods: &[&str]) -> (usize, usize) {
        let mut all: Vec<(usize, usize)> = methods
            .iter()
            .flat_map(|m| self.by_method.get(*m).cloned().unwrap_or_default())
            .collect();
        all.sort();
        let n = self.used.entry(methods.join("|")).or_insert(0);
        let place = all.get(*n).or(all.last()).copied().unwrap_or(self.def_line);
        *n += 1;
        place
    }
}

impl Op {
    /// The method names an operation can be written with.
    pub fn method_names(&self) -> &'static [&'static str] {
        match self {
            Op::Execute(_) => &["execute"],
            Op::BulkInsert { .. } => &["bulk_insert"],
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
            Op::CreateTableComment { .. } => &["create_table_comment"],
            Op::DropTableComment { .. } => &["drop_table_comment"],
            Op::CreateEnum { .. } => &["create"],
            Op::DropEnum { .. } => &["drop"],
            Op::Batch(_) => &["batch_alter_table"],
            Op::Autocommit(_) => &["autocommit_block"],
            Op::Print(_) => &["print"],
            Op::Log { .. } => &[
                "debug",
                "info",
                "warning",
                "warn",
                "error",
                "critical",
                "fatal",
                "exception",
                "log",
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CallPlaces;

    #[test]
    fn calls_are_placed_in_their_function_in_order() {
        let source = "def downgrade():\n    op.add_column('x')\n\n\ndef upgrade():\n    op.add_column('a')\n    with op.batch_alter_table('t') as batch_op:\n        batch_op.add_column('b')\n";
        let mut calls = CallPlaces::scan(source, "upgrade");
        assert_eq!(calls.def_line, (5, 1));
        assert_eq!(calls.place(&["add_column"]), (6, 5));
        assert_eq!(calls.place(&["add_column"]), (8, 9));
        // A loop lowering more operations than calls: the last call.
        assert_eq!(calls.place(&["add_column"]), (8, 9));
        assert_eq!(calls.place(&["batch_alter_table"]), (7, 10));
        // No call of the kind written: at `def upgrade`.
        assert_eq!(calls.place(&["drop_table"]), (5, 1));
        let mut down = CallPlaces::scan(source, "downgrade");
        assert_eq!(down.place(&["add_column"]), (2, 5));
    }
}
