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
        // Alembic's `if self.doc:`: a revision without a docstring logs no ", ".
        match self.direction {
            Direction::Stamp => head,
            _ if self.doc.is_empty() => head,
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

use crate::graph::{IterateOptions, RevisionError, RevisionMap};

/// The kind of a planned step, with what Alembic's `RevisionStep` /
/// `StampStep` need to decide the version-table change.
#[derive(Debug, Clone)]
enum StepKind {
    /// Applying (or unapplying) one revision script.
    Revision { index: usize, is_upgrade: bool },
    /// A stamp: moving version rows without running scripts.
    Stamp {
        from: Vec<String>,
        to: Vec<String>,
        is_upgrade: bool,
        branch_move: bool,
    },
}

/// The rows of `alembic_version` while a run proceeds (Alembic's `HeadMaintainer`).
#[derive(Debug, Clone, Default)]
pub struct HeadMaintainer {
    pub heads: Vec<String>,
}

impl HeadMaintainer {
    pub fn new(heads: &[String]) -> HeadMaintainer {
        let mut unique = Vec::new();
        for h in heads {
            if !unique.contains(h) {
                unique.push(h.clone());
            }
        }
        HeadMaintainer { heads: unique }
    }

    fn contains(&self, rev: &str) -> bool {
        self.heads.iter().any(|h| h == rev)
    }

    fn inconsistent(&self, what: String) -> RevisionError {
        let heads = if self.heads.is_empty() {
            "none".to_string()
        } else {
            self.heads.join(", ")
        };
        RevisionError::Broken(format!(
            "cannot {what}: the version table would not match the revision graph (current heads: {heads}); \
             check the down_revision and depends_on of the revisions involved"
        ))
    }

    fn insert(&mut self, rev: &str, out: &mut Vec<VersionChange>) -> Result<(), RevisionError> {
        if self.contains(rev) {
            return Err(self.inconsistent(format!("insert {rev}, which is already a head")));
        }
        self.heads.push(rev.to_string());
        out.push(VersionChange::Insert(rev.to_string()));
        Ok(())
    }

    fn delete(&mut self, rev: &str, out: &mut Vec<VersionChange>) -> Result<(), RevisionError> {
        if !self.contains(rev) {
            return Err(self.inconsistent(format!("delete {rev}, which is not a head")));
        }
        self.heads.retain(|h| h != rev);
        out.push(VersionChange::Delete(rev.to_string()));
        Ok(())
    }

    fn update(
        &mut self,
        from: &str,
        to: &str,
        out: &mut Vec<VersionChange>,
    ) -> Result<(), RevisionError> {
        if self.contains(to) || !self.contains(from) {
            return Err(self.inconsistent(format!("move {from} to {to}")));
        }
        self.heads.retain(|h| h != from);
        self.heads.push(to.to_string());
        out.push(VersionChange::Update {
            from: from.to_string(),
            to: to.to_string(),
        });
        Ok(())
    }

    /// `update_to_step`: the version-table changes for one step.
    fn update_to_step(
        &mut self,
        map: &RevisionMap,
        kind: &StepKind,
    ) -> Result<Vec<VersionChange>, RevisionError> {
        let mut out = Vec::new();
        match kind {
            StepKind::Revision { index, is_upgrade } => {
                let rev = map.get(*index);
                let id = rev.id().to_string();
                let downrevs: Vec<String> = rev
                    .normalized_down()
                    .iter()
                    .map(|&d| map.id(d).to_string())
                    .collect();
                let in_heads = |h: &HeadMaintainer, r: &String| h.contains(r);
                if !is_upgrade
                    && self.contains(&id)
                    && (downrevs.is_empty() || self.unmerge_to_revisions(map, *index)?.is_empty())
                {
                    // Delete branch.
                    self.delete(&id, &mut out)?;
                } else if *is_upgrade
                    && (downrevs.is_empty() || !downrevs.iter().any(|d| in_heads(self, d)))
                {
                    // Create branch.
                    self.insert(&id, &mut out)?;
                } else if *is_upgrade
                    && downrevs.len() > 1
                    && downrevs.iter().filter(|d| in_heads(self, d)).count() > 1
                {
                    // Merge branches.
                    let from_revisions = downrevs.clone();
                    let other_heads: Vec<String> = self
                        .heads
                        .iter()
                        .filter(|h| !from_revisions.contains(h))
                        .cloned()
                        .collect();
                    let from_revisions: Vec<String> = if other_heads.is_empty() {
                        from_revisions
                    } else {
                        let others: Vec<usize> = map
                            .get_revisions_many(&other_heads)?
                            .into_iter()
                            .flatten()
                            .collect();
                        from_revisions
                            .into_iter()
                            .filter(|f| {
                                !map.index_of(f)
                                    .is_some_and(|i| map.is_ancestor_of_any(i, &others))
                            })
                            .collect()
                    };
                    let (last, rest) = from_revisions.split_last().ok_or_else(|| {
                        RevisionError::Other("merge with no parents in the version table".into())
                    })?;
                    for del in rest {
                        self.delete(del, &mut out)?;
                    }
                    self.update(last, &id, &mut out)?;
                } else if !is_upgrade && self.contains(&id) && downrevs.len() > 1 {
                    // Unmerge branches.
                    let to_revisions = self.unmerge_to_revisions(map, *index)?;
                    let (last, rest) = to_revisions
                        .split_last()
                        .expect("non-empty: checked by delete-branch rule");
                    for ins in rest {
                        self.insert(ins, &mut out)?;
                    }
                    self.update(&id, last, &mut out)?;
                } else {
                    let down = if downrevs.len() == 1 {
                        downrevs[0].clone()
                    } else {
                        let present: Vec<&String> =
                            downrevs.iter().filter(|d| in_heads(self, d)).collect();
                        if present.len() != 1 {
                            return Err(RevisionError::Other(
                                "Can't do an UPDATE because downrevision is ambiguous".into(),
                            ));
                        }
                        present[0].clone()
                    };
                    if *is_upgrade {
                        self.update(&down, &id, &mut out)?;
                    } else {
                        self.update(&id, &down, &mut out)?;
                    }
                }
            }
            StepKind::Stamp {
                from,
                to,
                is_upgrade,
                branch_move,
            } => {
                let from_missing = from.iter().any(|f| !self.contains(f));
                let to_missing = to.iter().any(|t| !self.contains(t));
                if !is_upgrade && *branch_move {
                    self.delete(&from[0], &mut out)?;
                } else if *is_upgrade && (*branch_move || from_missing) && to_missing {
                    self.insert(&to[0], &mut out)?;
                } else if from.len() > 1 {
                    let (last, rest) = from.split_last().expect("len > 1");
                    for del in rest {
                        self.delete(del, &mut out)?;
                    }
                    self.update(last, &to[0], &mut out)?;
                } else if to.len() > 1 {
                    let (last, rest) = to.split_last().expect("len > 1");
                    for ins in rest {
                        self.insert(ins, &mut out)?;
                    }
                    self.update(&from[0], last, &mut out)?;
                } else {
                    self.update(&from[0], &to[0], &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// `_unmerge_to_revisions`: the parents that become heads again when a
    /// revision is unapplied.
    fn unmerge_to_revisions(
        &self,
        map: &RevisionMap,
        index: usize,
    ) -> Result<Vec<String>, RevisionError> {
        let rev = map.get(index);
        let to_revisions: Vec<String> = rev
            .normalized_down()
            .iter()
            .map(|&d| map.id(d).to_string())
            .collect();
        let other_heads: Vec<String> = self
            .heads
            .iter()
            .filter(|h| h.as_str() != rev.id())
            .cloned()
            .collect();
        let others: Vec<usize> = map
            .get_revisions_many(&other_heads)?
            .into_iter()
            .flatten()
            .collect();
        let downs: Vec<usize> = rev.normalized_down().to_vec();
        Ok(to_revisions
            .into_iter()
            .filter(|t| {
                let Some(i) = map.index_of(t) else {
                    return true;
                };
                let is_ancestor = if !other_heads.is_empty() {
                    map.is_ancestor_of_any(i, &others)
                } else {
                    let siblings: Vec<usize> = downs.iter().copied().filter(|&d| d != i).collect();
                    map.is_ancestor_of_any(i, &siblings)
                };
                !is_ancestor
            })
            .collect())
    }
}

/// One revision step; the second value is the version-table error Alembic
/// would hit after running this step's body, if any.
fn revision_step(
    map: &RevisionMap,
    index: usize,
    is_upgrade: bool,
    heads: &mut HeadMaintainer,
) -> Result<(Step, Option<RevisionError>), RevisionError> {
    let rev = map.get(index);
    let versioned_down: Vec<String> = rev.script.down_revision.clone();
    let (from, to) = if is_upgrade {
        (versioned_down, vec![rev.id().to_string()])
    } else {
        (vec![rev.id().to_string()], versioned_down)
    };
    let (version_changes, failure) =
        match heads.update_to_step(map, &StepKind::Revision { index, is_upgrade }) {
            Ok(changes) => (changes, None),
            Err(error) => (Vec::new(), Some(error)),
        };
    let step = Step {
        direction: if is_upgrade {
            Direction::Upgrade
        } else {
            Direction::Downgrade
        },
        revision: Some(rev.id().to_string()),
        from,
        to,
        path: Some(rev.script.path.clone()),
        doc: rev.script.doc().to_string(),
        version_changes,
    };
    Ok((step, failure))
}

/// The steps of a run. When `failure` is set, the last step is the one whose
/// version-table change Alembic cannot make: its body runs (offline: is
/// printed), then the run stops with that error.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub failure: Option<RevisionError>,
    /// The `UserWarning`s Alembic's planning emits (printed, the run goes on).
    pub warnings: Vec<String>,
}

impl Plan {
    fn build(
        map: &RevisionMap,
        revisions: Vec<usize>,
        is_upgrade: bool,
        current_heads: &[String],
    ) -> Result<Plan, RevisionError> {
        let mut heads = HeadMaintainer::new(current_heads);
        let mut steps = Vec::with_capacity(revisions.len());
        for r in revisions {
            let (step, failure) = revision_step(map, r, is_upgrade, &mut heads)?;
            steps.push(step);
            if failure.is_some() {
                return Ok(Plan {
                    steps,
                    failure,
                    warnings: Vec::new(),
                });
            }
        }
        Ok(Plan {
            steps,
            failure: None,
            warnings: Vec::new(),
        })
    }

    /// A plan that cannot fail part-way.
    pub fn complete(steps: Vec<Step>) -> Plan {
        Plan {
            steps,
            failure: None,
            warnings: Vec::new(),
        }
    }
}

/// The revisions `upgrade destination` applies from `current_heads`, in order
/// (Alembic's `_upgrade_revs`). Version changes start from `current_heads`.
pub fn upgrade(
    map: &RevisionMap,
    destination: &str,
    current_heads: &[String],
) -> Result<Plan, RevisionError> {
    let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Plan);
    let options = IterateOptions {
        implicit_base: true,
        assert_relative_length: true,
        ..Default::default()
    };
    let mut revisions =
        map.iterate_revisions(&[destination.to_string()], current_heads, options)?;
    revisions.reverse();
    Plan::build(map, revisions, true, current_heads)
}

/// The revisions `downgrade destination` unapplies, in order (`_downgrade_revs`).
pub fn downgrade(
    map: &RevisionMap,
    destination: &str,
    current_heads: &[String],
) -> Result<Plan, RevisionError> {
    let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Plan);
    let options = IterateOptions {
        select_for_downgrade: true,
        assert_relative_length: true,
        ..Default::default()
    };
    let revisions = map.iterate_revisions(current_heads, &[destination.to_string()], options)?;
    let mut plan = Plan::build(map, revisions, false, current_heads)?;
    // `_parse_downgrade_target`: a bare `-N` from several distinct heads takes the first.
    let bare_relative = crate::graph::match_relative(destination)
        .is_some_and(|m| m.relative < 0 && m.symbol.is_none() && m.branch.is_none());
    let mut distinct: Vec<&String> = current_heads.iter().collect();
    distinct.sort();
    distinct.dedup();
    if bare_relative && distinct.len() > 1 {
        plan.warnings.push(
            "downgrade -1 from multiple heads is ambiguous; this usage will be disallowed in a \
             future release."
                .to_string(),
        );
    }
    Ok(plan)
}

/// The stamp steps that move `current_heads` to `destinations` (`_stamp_revs`).
pub fn stamp(
    map: &RevisionMap,
    destinations: &[String],
    current_heads: &[String],
) -> Result<Vec<Step>, RevisionError> {
    let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Plan);
    let heads_revs: Vec<usize> = map
        .get_revisions_many(current_heads)?
        .into_iter()
        .flatten()
        .collect();
    let mut filtered_heads: Vec<usize> = Vec::new();
    for dest in destinations {
        if dest.is_empty() {
            continue;
        }
        for h in map.filter_for_lineage(&heads_revs, dest, true)? {
            if !filtered_heads.contains(&h) {
                filtered_heads.push(h);
            }
        }
    }
    let mut dests: Vec<Option<usize>> = map.get_revisions_many(destinations)?;
    if dests.is_empty() {
        dests.push(None);
    }
    let mut kinds = Vec::new();
    for dest in dests {
        let Some(dest) = dest else {
            for &h in &filtered_heads {
                kinds.push(StepKind::Stamp {
                    from: vec![map.id(h).to_string()],
                    to: vec![],
                    is_upgrade: false,
                    branch_move: true,
                });
            }
            continue;
        };
        if filtered_heads.contains(&dest) {
            continue;
        }
        let descendants = map.descendants(&[dest], true);
        let ancestors = map.ancestors(&[dest], true);
        let todo_heads: Vec<String> = filtered_heads
            .iter()
            .map(|&h| map.id(h).to_string())
            .collect();
        if descendants.iter().any(|d| filtered_heads.contains(d)) {
            // Alembic asserts that no version row lies below the destination
            // when one lies above it, and stops with a bare AssertionError
            // (exit 1) before writing anything.
            let below: Vec<&str> = filtered_heads
                .iter()
                .filter(|h| ancestors.contains(h))
                .map(|&h| map.id(h))
                .collect();
            if !below.is_empty() {
                let above: Vec<&str> = filtered_heads
                    .iter()
                    .filter(|h| descendants.contains(h))
                    .map(|&h| map.id(h))
                    .collect();
                return Err(RevisionError::Broken(format!(
                    "AssertionError: cannot stamp {}: the version table holds {} below it and {} above it, \
                     rows that overlap (one is an ancestor of another); Alembic fails here too. \
                     Nothing was written; stamp with --purge to replace every row",
                    map.id(dest),
                    below.join(", "),
                    above.join(", ")
                )));
            }
            kinds.push(StepKind::Stamp {
                from: todo_heads,
                to: vec![map.id(dest).to_string()],
                is_upgrade: false,
                branch_move: false,
            });
        } else if ancestors.iter().any(|a| filtered_heads.contains(a)) {
            kinds.push(StepKind::Stamp {
                from: todo_heads,
                to: vec![map.id(dest).to_string()],
                is_upgrade: true,
                branch_move: false,
            });
        } else {
            kinds.push(StepKind::Stamp {
                from: vec![],
                to: vec![map.id(dest).to_string()],
                is_upgrade: true,
                branch_move: true,
            });
        }
    }
    let mut heads = HeadMaintainer::new(current_heads);
    let mut steps = Vec::new();
    for kind in kinds {
        let version_changes = heads.update_to_step(map, &kind)?;
        let StepKind::Stamp { from, to, .. } = kind else {
            unreachable!()
        };
        steps.push(Step {
            direction: Direction::Stamp,
            revision: None,
            from,
            to,
            path: None,
            doc: String::new(),
            version_changes,
        });
    }
    Ok(steps)
}
