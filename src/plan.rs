//! Migration planning: which revisions an `upgrade`, `downgrade` or `stamp`
//! visits, in Alembic's order, and how each step changes `alembic_version`.
//! Pure: takes the revision map and the current heads, returns steps.

use std::path::PathBuf;

/// One change to the rows of the version table, as Alembic's `HeadMaintainer` makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    /// `INSERT INTO alembic_version (version_num) VALUES ('rev')`
    Insert(String),
    /// `UPDATE alembic_version SET version_num='to' WHERE alembic_version.version_num = 'from'`
    Update { from: String, to: String },
    /// `DELETE FROM alembic_version WHERE alembic_version.version_num = 'rev'`
    Delete(String),
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upgrade,
    Downgrade,
    Stamp,
}

/// One step of a run: one revision applied (or unapplied, or stamped).
#[derive(Debug, Clone)]
pub struct Step {
    pub direction: Direction,
    /// The revision whose `upgrade()` or `downgrade()` runs; `None` for some stamps.
    pub revision: Option<String>,
    /// The revisions on the "from" side of the log line (`Running upgrade FROM -> TO`).
    pub from: Vec<String>,
    /// The revisions on the "to" side of the log line.
    pub to: Vec<String>,
    /// The revision file to load the body from (`None` for stamps).
    pub path: Option<PathBuf>,
    /// The revision's one-line doc, for the `Running upgrade X -> Y, doc` log line.
    pub doc: String,
    /// The version-table changes this step makes, in order.
    pub version_changes: Vec<VersionChange>,
}

impl Step {
    /// The log line Alembic writes for this step: `Running upgrade a -> b, doc`.
    pub fn log_line(&self) -> String {
        let verb = match self.direction {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
            Direction::Stamp => "stamp_revision",
        };
        let head = format!(
            "Running {verb} {} -> {}",
            self.from.join(", "),
            self.to.join(", ")
        );
        match self.direction {
            Direction::Stamp => head,
            _ => format!("{head}, {}", self.doc),
        }
    }

    /// The comment line of offline output: `-- Running upgrade a -> b` (no doc).
    pub fn sql_comment(&self) -> String {
        let verb = match self.direction {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
            Direction::Stamp => "stamp_revision",
        };
        format!(
            "-- Running {verb} {} -> {}",
            self.from.join(", "),
            self.to.join(", ")
        )
    }
}
