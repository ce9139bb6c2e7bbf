//! The revision map: revisions as a petgraph DAG (down_revision and depends_on
//! edges), heads, bases, branch labels, and Alembic's identifier resolution and
//! traversal rules. Pure: no I/O.
//!
//! Revisions are referred to by index into [`RevisionMap::revisions`]; `None`
//! stands for "base" (no revision) where Alembic uses `None`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use thiserror::Error;

use crate::script::Script;

/// Errors of the revision map, mirroring Alembic's exception classes so the
/// command layer can word them as Alembic does.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum RevisionError {
    /// `MultipleHeads`: a single head was asked for and there are several.
    #[error("Multiple heads are present for given argument '{argument}'; {}", heads.join(", "))]
    MultipleHeads {
        heads: Vec<String>,
        argument: String,
    },
    /// `ResolutionError`: an identifier did not resolve.
    #[error("{message}")]
    Resolution { message: String, argument: String },
    /// `RangeNotAncestorError`.
    #[error("Revision {} is not an ancestor of revision {}", lower.as_deref().unwrap_or("base"), upper.as_deref().unwrap_or("base"))]
    RangeNotAncestor {
        lower: Option<String>,
        upper: Option<String>,
    },
    /// `CycleDetected` and its kinds (`Cycle`, `Dependency cycle`, `Self-loop`, ...).
    #[error("{kind} is detected in revisions ({})", revisions.join(", "))]
    Cycle {
        kind: &'static str,
        revisions: Vec<String>,
    },
    /// Any other `RevisionError`, with Alembic's text.
    #[error("{0}")]
    Other(String),
    /// Where Alembic crashes with a traceback (a missing parent, a missing
    /// dependency). aurora says what is wrong instead.
    #[error("{0}")]
    Broken(String),
}

/// Kinds of edges in the graph: parent → child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// `down_revision`.
    Versioned,
    /// `depends_on`.
    Dependency,
}

/// One revision in the map, with its links resolved to indices.
#[derive(Debug, Clone)]
pub struct Revision {
    pub script: Script,
    /// `down_revision` parents (indices), in written order.
    pub down: Vec<usize>,
    /// `depends_on`, resolved to indices, in written order.
    pub resolved_dependencies: Vec<usize>,
    /// Dependencies that are not already dependencies of an ancestor.
    pub normalized_dependencies: Vec<usize>,
    /// Parents plus normalized dependencies, deduplicated (`_normalized_down_revisions`).
    pub normalized_down: Vec<usize>,
    /// Children through `down_revision` (Alembic's `nextrev`), sorted by id.
    pub nextrev: Vec<usize>,
    /// Children through `down_revision` or `depends_on` (`_all_nextrev`), sorted by id.
    pub all_nextrev: Vec<usize>,
    /// Branch labels, including the ones inherited from labelled ancestors.
    /// Shared strings: one label can reach thousands of revisions.
    pub branch_labels: BTreeSet<Arc<str>>,
}

impl Revision {
    pub fn id(&self) -> &str {
        &self.script.revision
    }
    pub fn is_head(&self) -> bool {
        self.nextrev.is_empty()
    }
    pub fn is_real_head(&self) -> bool {
        self.all_nextrev.is_empty()
    }
    pub fn is_base(&self) -> bool {
        self.script.down_revision.is_empty()
    }
    pub fn is_real_base(&self) -> bool {
        self.script.down_revision.is_empty() && self.script.dependencies.is_empty()
    }
    pub fn is_branch_point(&self) -> bool {
        self.nextrev.len() > 1
    }
    pub fn is_real_branch_point(&self) -> bool {
        self.all_nextrev.len() > 1
    }
    pub fn is_merge_point(&self) -> bool {
        self.script.down_revision.len() > 1
    }
    /// `_normalized_down_revisions`: parents plus normalized dependencies, deduplicated.
    pub fn normalized_down(&self) -> &[usize] {
        &self.normalized_down
    }

    fn compute_normalized_down(&mut self) {
        // `dedupe_tuple`: a parent listed twice (`down_revision = ('y', 'y')`)
        // counts once here, or the topological sort would keep two copies
        // of it as heads, each blocking the other, forever.
        let mut out: Vec<usize> = Vec::with_capacity(self.down.len());
        for &d in &self.down {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        for &d in &self.normalized_dependencies {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        self.normalized_down = out;
    }
}

/// A position while walking the graph (`_walk`): a revision, "nothing yet"
/// (Alembic's `None`, below the bases), or the explicit `"base"` marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkPosition {
    Revision(usize),
    Nothing,
    Base,
}

/// The revision map of a script directory.
#[derive(Debug, Clone)]
pub struct RevisionMap {
    pub revisions: Vec<Revision>,
    index: HashMap<String, usize>,
    /// Branch label → the revision that declares it.
    labels: HashMap<String, usize>,
    /// Label keys in insertion order (after the revision ids), for prefix search.
    label_order: Vec<String>,
    /// The DAG: one node per revision (node index = revision index).
    pub graph: DiGraph<usize, EdgeKind>,
    /// Heads through `down_revision` only, in load order.
    pub heads: Vec<usize>,
    /// Heads that nothing depends on either.
    pub real_heads: Vec<usize>,
    pub bases: Vec<usize>,
    pub real_bases: Vec<usize>,
    /// Levels for ancestor queries, computed on first use.
    levels: std::sync::OnceLock<Vec<u32>>,
}

impl RevisionMap {
    /// Builds the map from scripts in load order, with Alembic's checks.
    // Revision indices double as petgraph node indices, so index loops are the clear form here.
    #[allow(clippy::needless_range_loop)]
    pub fn build(scripts: Vec<Script>) -> Result<RevisionMap, RevisionError> {
        let mut index = HashMap::with_capacity(scripts.len());
        for script in &scripts {
            if script.down_revision.iter().any(|d| d == &script.revision) {
                return Err(RevisionError::Cycle {
                    kind: "Self-loop",
                    revisions: vec![script.revision.clone()],
                });
            }
            if script.dependencies.iter().any(|d| d == &script.revision) {
                return Err(RevisionError::Cycle {
                    kind: "Dependency self-loop",
                    revisions: vec![script.revision.clone()],
                });
            }
            verify_rev_id(&script.revision)?;
        }
        for (i, script) in scripts.iter().enumerate() {
            if let Some(&previous) = index.get(&script.revision) {
                let first: &Script = &scripts[previous];
                return Err(RevisionError::Broken(format!(
                    "Revision {} is present more than once: {} and {}; give one of them a new revision id",
                    script.revision,
                    first.path.display(),
                    script.path.display()
                )));
            }
            index.insert(script.revision.clone(), i);
        }
        let mut revisions: Vec<Revision> = scripts
            .into_iter()
            .map(|script| Revision {
                script,
                down: Vec::new(),
                resolved_dependencies: Vec::new(),
                normalized_dependencies: Vec::new(),
                normalized_down: Vec::new(),
                nextrev: Vec::new(),
                all_nextrev: Vec::new(),
                branch_labels: BTreeSet::new(),
            })
            .collect();

        // Branch labels share the key space of revision ids.
        let mut labels: HashMap<String, usize> = HashMap::new();
        let mut label_order = Vec::new();
        for (i, rev) in revisions.iter().enumerate() {
            for label in &rev.script.branch_labels {
                let existing = index.get(label).or_else(|| labels.get(label));
                if let Some(&other) = existing {
                    return Err(RevisionError::Other(format!(
                        "Branch name '{label}' in revision {} already used by revision {}",
                        rev.id(),
                        revisions[other].id()
                    )));
                }
                labels.insert(label.clone(), i);
                label_order.push(label.clone());
            }
        }
        let lookup = |key: &str| index.get(key).or_else(|| labels.get(key)).copied();

        // Resolve parents and dependencies.
        let mut graph = DiGraph::with_capacity(revisions.len(), revisions.len());
        for i in 0..revisions.len() {
            graph.add_node(i);
        }
        for i in 0..revisions.len() {
            let mut down = Vec::new();
            for parent in &revisions[i].script.down_revision {
                match lookup(parent) {
                    Some(p) => down.push(p),
                    None => {
                        return Err(RevisionError::Broken(format!(
                            "Revision {parent} referenced from {} is not present (down_revision in {}); \
                             fix the down_revision or restore the missing revision file",
                            revisions[i].id(),
                            revisions[i].script.path.display()
                        )))
                    }
                }
            }
            let mut deps = Vec::new();
            for dep in &revisions[i].script.dependencies {
                match lookup(dep) {
                    Some(d) => {
                        if !deps.contains(&d) {
                            deps.push(d)
                        }
                    }
                    None => {
                        return Err(RevisionError::Broken(format!(
                        "Dependency {dep} referenced from {} is not present (depends_on in {}); \
                             fix the depends_on entry or restore the missing revision file",
                        revisions[i].id(),
                        revisions[i].script.path.display()
                    )))
                    }
                }
            }
            for &p in &down {
                graph.add_edge(NodeIndex::new(p), NodeIndex::new(i), EdgeKind::Versioned);
            }
            for &d in &deps {
                graph.add_edge(NodeIndex::new(d), NodeIndex::new(i), EdgeKind::Dependency);
            }
            revisions[i].down = down;
            revisions[i].resolved_dependencies = deps;
        }
        let mut heads_set = vec![true; revisions.len()];
        let mut real_heads_set = vec![true; revisions.len()];
        for i in 0..revisions.len() {
            let down = revisions[i].down.clone();
            for &p in &down {
                revisions[p].nextrev.push(i);
                revisions[p].all_nextrev.push(i);
                heads_set[p] = false;
                real_heads_set[p] = false;
            }
            for d in revisions[i].resolved_dependencies.clone() {
                if !revisions[d].all_nextrev.contains(&i) {
                    revisions[d].all_nextrev.push(i);
                }
                real_heads_set[d] = false;
            }
        }
        for i in 0..revisions.len() {
            let mut next = std::mem::take(&mut revisions[i].nextrev);
            next.sort_by(|a, b| revisions[*a].id().cmp(revisions[*b].id()));
            next.dedup();
            revisions[i].nextrev = next;
            let mut all = std::mem::take(&mut revisions[i].all_nextrev);
            all.sort_by(|a, b| revisions[*a].id().cmp(revisions[*b].id()));
            all.dedup();
            revisions[i].all_nextrev = all;
        }
        let heads: Vec<usize> = (0..revisions.len()).filter(|&i| heads_set[i]).collect();
        let real_heads: Vec<usize> = (0..revisions.len())
            .filter(|&i| real_heads_set[i])
            .collect();
        let bases: Vec<usize> = (0..revisions.len())
            .filter(|&i| revisions[i].is_base())
            .collect();
        let real_bases: Vec<usize> = (0..revisions.len())
            .filter(|&i| revisions[i].is_real_base())
            .collect();

        let mut map = RevisionMap {
            revisions,
            index,
            labels,
            label_order,
            graph,
            heads,
            real_heads,
            bases,
            real_bases,
            levels: std::sync::OnceLock::new(),
        };
        map.normalize_dependencies();
        for rev in &mut map.revisions {
            rev.compute_normalized_down();
        }
        map.detect_cycles()?;
        map.add_branches();
        Ok(map)
    }

    /// `_normalize_depends_on`: drop dependencies that an ancestor already declares.
    fn normalize_dependencies(&mut self) {
        for i in 0..self.revisions.len() {
            if self.revisions[i].resolved_dependencies.is_empty() {
                continue;
            }
            let mut keep = self.revisions[i].resolved_dependencies.clone();
            for ancestor in self.ancestors(&[i], false) {
                if ancestor == i {
                    continue;
                }
                let theirs = &self.revisions[ancestor].resolved_dependencies;
                keep.retain(|d| !theirs.contains(d));
            }
            self.revisions[i].normalized_dependencies = keep;
        }
    }

    /// `_detect_cycles`: every revision must lie between a head and a base.
    fn detect_cycles(&self) -> Result<(), RevisionError> {
        if self.revisions.is_empty() {
            return Ok(());
        }
        let all_ids = || {
            self.revisions
                .iter()
                .map(|r| r.id().to_string())
                .collect::<Vec<_>>()
        };
        if self.heads.is_empty() || self.bases.is_empty() {
            return Err(RevisionError::Cycle {
                kind: "Cycle",
                revisions: all_ids(),
            });
        }
        let check = |kind: &'static str,
                     down: &dyn Fn(usize) -> Vec<usize>,
                     up: &dyn Fn(usize) -> Vec<usize>,
                     heads: &[usize],
                     bases: &[usize]| {
            let from_heads = self.walk_related(heads, down);
            let from_bases = self.walk_related(bases, up);
            let mut deleted: Vec<String> = (0..self.revisions.len())
                .filter(|&i| !(from_heads[i] && from_bases[i]))
                .map(|i| self.revisions[i].id().to_string())
                .collect();
            if deleted.is_empty() {
                Ok(())
            } else {
                deleted.sort();
                Err(RevisionError::Cycle {
                    kind,
                    revisions: deleted,
                })
            }
        };
        check(
            "Cycle",
            &|i| self.revisions[i].down.clone(),
            &|i| self.revisions[i].nextrev.clone(),
            &self.heads,
            &self.bases,
        )?;
        if self.real_heads.is_empty() || self.real_bases.is_empty() {
            return Err(RevisionError::Cycle {
                kind: "Dependency cycle",
                revisions: all_ids(),
            });
        }
        check(
            "Dependency cycle",
            &|i| {
                let mut v = self.revisions[i].down.clone();
                v.extend(self.revisions[i].resolved_dependencies.iter().copied());
                v
            },
            &|i| self.revisions[i].all_nextrev.clone(),
            &self.real_heads,
            &self.real_bases,
        )?;
        self.detect_reachable_cycles()
    }

    /// Alembic's check above only finds a cycle that cuts revisions off from
    /// every head or every base. A cycle that a head reaches from above and a
    /// base from below (`a` down `e`, `e` down `c d`, `c` down `b`, `b` down
    /// `a`, with `z` down `a`) passes it, and Alembic then loops forever in
    /// `history`, `upgrade`, `branches` ... aurora refuses such a graph for
    /// every command with the same error: `Cycle is detected in revisions
    /// (a, b, c, e)`, naming the revisions on a cycle, or `Dependency cycle`
    /// when only `depends_on` closes it.
    fn detect_reachable_cycles(&self) -> Result<(), RevisionError> {
        use petgraph::visit::EdgeFiltered;
        let on_cycles = |sccs: Vec<Vec<NodeIndex>>| {
            let mut ids: Vec<String> = sccs
                .into_iter()
                .filter(|scc| scc.len() > 1)
                .flatten()
                .map(|n| self.revisions[n.index()].id().to_string())
                .collect();
            ids.sort();
            ids
        };
        let versioned = EdgeFiltered::from_fn(&self.graph, |e| *e.weight() == EdgeKind::Versioned);
        let cycle = on_cycles(petgraph::algo::tarjan_scc(&versioned));
        if !cycle.is_empty() {
            return Err(RevisionError::Cycle {
                kind: "Cycle",
                revisions: cycle,
            });
        }
        let cycle = on_cycles(petgraph::algo::tarjan_scc(&self.graph));
        if !cycle.is_empty() {
            return Err(RevisionError::Cycle {
                kind: "Dependency cycle",
                revisions: cycle,
            });
        }
        Ok(())
    }

    fn walk_related(&self, start: &[usize], next: &dyn Fn(usize) -> Vec<usize>) -> Vec<bool> {
        let mut seen = vec![false; self.revisions.len()];
        let mut todo: Vec<usize> = start.to_vec();
        while let Some(i) = todo.pop() {
            if seen[i] {
                continue;
            }
            seen[i] = true;
            todo.extend(next(i));
        }
        seen
    }

    /// `_add_branches`: labels flow to every descendant, and from the last
    /// descendant visited back down until a branch point or merge point.
    fn add_branches(&mut self) {
        for i in 0..self.revisions.len() {
            if self.revisions[i].script.branch_labels.is_empty() {
                continue;
            }
            let labels: Vec<Arc<str>> = self.revisions[i]
                .script
                .branch_labels
                .iter()
                .map(|l| Arc::from(l.as_str()))
                .collect();
            let order = self.dfs_order(&[i], |r| &r.nextrev);
            for &node in &order {
                self.revisions[node]
                    .branch_labels
                    .extend(labels.iter().cloned());
            }
            let mut parent = *order
                .last()
                .expect("the labelled revision itself is visited");
            loop {
                let rev = &self.revisions[parent];
                if rev.is_real_branch_point() || rev.is_merge_point() {
                    break;
                }
                self.revisions[parent]
                    .branch_labels
                    .extend(labels.iter().cloned());
                match self.revisions[parent].down.first() {
                    Some(&down) => parent = down,
                    None => break,
                }
            }
        }
    }

    /// Alembic's `_iterate_related_revisions` visiting order (a stack).
    fn dfs_order<'a>(
        &'a self,
        start: &[usize],
        next: impl Fn(&'a Revision) -> &'a [usize],
    ) -> Vec<usize> {
        let mut seen = vec![false; self.revisions.len()];
        let mut out = Vec::new();
        let mut todo = Vec::new();
        for &target in start {
            todo.push(target);
            while let Some(i) = todo.pop() {
                if seen[i] {
                    continue;
                }
                seen[i] = true;
                todo.extend_from_slice(next(&self.revisions[i]));
                out.push(i);
            }
        }
        out
    }

    /// The `check=True` of Alembic's `_iterate_related_revisions`: walks
    /// from each target in turn (one `seen` set shared by all walks) and
    /// fails when a walk reaches another of the targets: `Requested revision
    /// A overlaps with other requested revisions B`. A revision already seen
    /// by an earlier walk is reached but not walked through again, as there.
    fn check_overlaps<'a>(
        &'a self,
        targets: &[usize],
        next: impl Fn(&'a Revision) -> &'a [usize],
    ) -> Result<(), RevisionError> {
        let mut seen = vec![false; self.revisions.len()];
        let mut requested = vec![false; self.revisions.len()];
        for &t in targets {
            requested[t] = true;
        }
        let mut reported = vec![false; self.revisions.len()];
        let mut todo = Vec::new();
        for &target in targets {
            let mut overlaps: Vec<usize> = Vec::new();
            todo.push(target);
            while let Some(i) = todo.pop() {
                if requested[i] && i != target && !reported[i] {
                    reported[i] = true;
                    overlaps.push(i);
                }
                if seen[i] {
                    continue;
                }
                seen[i] = true;
                todo.extend_from_slice(next(&self.revisions[i]));
            }
            if !overlaps.is_empty() {
                let others: Vec<&str> = overlaps.iter().map(|&o| self.id(o)).collect();
                return Err(RevisionError::Other(format!(
                    "Requested revision {} overlaps with other requested revisions {}",
                    self.id(target),
                    others.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Marks the ancestors of `start` (itself included) in `seen`, following
    /// normalized down revisions, reusing the caller's buffers.
    fn mark_ancestors(&self, start: usize, seen: &mut [bool], stack: &mut Vec<usize>) {
        stack.clear();
        stack.push(start);
        while let Some(i) = stack.pop() {
            if seen[i] {
                continue;
            }
            seen[i] = true;
            for &down in &self.revisions[i].normalized_down {
                if !seen[down] {
                    stack.push(down);
                }
            }
        }
    }

    // ----- basic queries -------------------------------------------------

    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    pub fn get(&self, i: usize) -> &Revision {
        &self.revisions[i]
    }

    pub fn id(&self, i: usize) -> &str {
        self.revisions[i].id()
    }

    /// The index of an exact revision id (no prefixes, no labels).
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// An exact key of the map: a revision id or a branch label.
    fn exact(&self, key: &str) -> Option<usize> {
        self.index
            .get(key)
            .or_else(|| self.labels.get(key))
            .copied()
    }

    /// Ancestors of `targets` (the targets included), following
    /// `down_revision` and, with `include_dependencies`, normalized dependencies.
    pub fn ancestors(&self, targets: &[usize], include_dependencies: bool) -> Vec<usize> {
        if include_dependencies {
            self.dfs_order(targets, |r| &r.normalized_down)
        } else {
            self.dfs_order(targets, |r| &r.down)
        }
    }

    /// Descendants of `targets` (the targets included).
    pub fn descendants(&self, targets: &[usize], include_dependencies: bool) -> Vec<usize> {
        if include_dependencies {
            self.dfs_order(targets, |r| &r.all_nextrev)
        } else {
            self.dfs_order(targets, |r| &r.nextrev)
        }
    }

    pub fn ancestor_set(&self, targets: &[usize], include_dependencies: bool) -> Vec<bool> {
        let mut seen = vec![false; self.revisions.len()];
        if include_dependencies {
            let mut stack = Vec::new();
            for &t in targets {
                self.mark_ancestors(t, &mut seen, &mut stack);
            }
        } else {
            for i in self.ancestors(targets, false) {
                seen[i] = true;
            }
        }
        seen
    }

    // ----- identifier resolution ------------------------------------------

    /// `_resolve_revision_number`: splits `branch@id` and expands `heads`,
    /// `head` and `base` into ids.
    pub fn resolve_revision_number(
        &self,
        id: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), RevisionError> {
        let (branch, id) = match id {
            Some(text) if text.contains('@') => {
                let (b, rest) = text.split_once('@').expect("contains @");
                (Some(b.to_string()), Some(rest))
            }
            other => (None, other),
        };
        match id {
            Some("heads") => {
                if let Some(label) = &branch {
                    let heads = self.filter_for_lineage(&self.heads, label, false)?;
                    Ok((
                        heads.into_iter().map(|h| self.id(h).to_string()).collect(),
                        branch,
                    ))
                } else {
                    Ok((
                        self.real_heads
                            .iter()
                            .map(|&h| self.id(h).to_string())
                            .collect(),
                        branch,
                    ))
                }
            }
            Some("head") => {
                let head = self.current_head(branch.as_deref())?;
                Ok((
                    head.map(|h| vec![self.id(h).to_string()])
                        .unwrap_or_default(),
                    branch,
                ))
            }
            Some("base") | None => Ok((Vec::new(), branch)),
            Some(other) => Ok((vec![other.to_string()], branch)),
        }
    }

    /// `get_current_head`: the one head (of a branch), or `MultipleHeads`.
    pub fn current_head(&self, branch_label: Option<&str>) -> Result<Option<usize>, RevisionError> {
        let heads = match branch_label {
            Some(label) if !label.is_empty() => {
                self.filter_for_lineage(&self.heads, label, false)?
            }
            _ => self.heads.clone(),
        };
        if heads.len() > 1 {
            let argument = match branch_label {
                Some(label) if !label.is_empty() => format!("{label}@head"),
                _ => "head".to_string(),
            };
            return Err(RevisionError::MultipleHeads {
                heads: heads.iter().map(|&h| self.id(h).to_string()).collect(),
                argument,
            });
        }
        Ok(heads.first().copied())
    }

    /// `get_revisions`: every revision an identifier names (`None` = base).
    pub fn get_revisions(&self, id: &str) -> Result<Vec<Option<usize>>, RevisionError> {
        Ok(self
            .get_revision_positions(id)?
            .into_iter()
            .map(|p| match p {
                WalkPosition::Revision(r) => Some(r),
                _ => None,
            })
            .collect())
    }

    /// `get_revisions`, keeping apart "nothing" and the `"base"` marker a
    /// downward walk can end on.
    pub fn get_revision_positions(&self, id: &str) -> Result<Vec<WalkPosition>, RevisionError> {
        let (resolved, branch) = self.resolve_revision_number(Some(id))?;
        if resolved.len() == 1 {
            if let Some(n) = python_int(&resolved[0]) {
                if n < 0 {
                    let mut heads: Vec<usize> = self.real_heads.clone();
                    if let Some(label) = &branch {
                        heads.retain(|&h| self.revisions[h].branch_labels.contains(label.as_str()));
                    }
                    let mut out = Vec::new();
                    for head in heads {
                        out.push(self.walk(WalkPosition::Revision(head), n, None, true)?);
                    }
                    return Ok(out);
                }
            }
        }
        resolved
            .iter()
            .map(|r| Ok(self.position_of(self.revision_for_ident(Some(r), branch.as_deref())?)))
            .collect()
    }

    /// `get_revisions` over several identifiers.
    pub fn get_revisions_many(&self, ids: &[String]) -> Result<Vec<Option<usize>>, RevisionError> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.get_revisions(id)?);
        }
        Ok(out)
    }

    /// `get_revision`: exactly one revision (or base), else `MultipleHeads`.
    pub fn get_revision(&self, id: Option<&str>) -> Result<Option<usize>, RevisionError> {
        let (resolved, branch) = self.resolve_revision_number(id)?;
        if resolved.len() > 1 {
            return Err(RevisionError::MultipleHeads {
                heads: resolved,
                argument: id.unwrap_or("").to_string(),
            });
        }
        self.revision_for_ident(resolved.first().map(String::as_str), branch.as_deref())
    }

    fn resolve_branch(&self, label: &str) -> Result<Option<usize>, RevisionError> {
        if let Some(i) = self.exact(label) {
            return Ok(Some(i));
        }
        match self.revision_for_ident(Some(label), None) {
            Ok(found) => Ok(found),
            Err(RevisionError::Resolution { .. }) => Err(RevisionError::Resolution {
                message: format!("No such branch: '{label}'"),
                argument: label.to_string(),
            }),
            Err(other) => Err(other),
        }
    }

    /// `_revision_for_ident`: exact ids and labels, then unique prefixes of
    /// more than three characters, checked against `check_branch`.
    pub fn revision_for_ident(
        &self,
        id: Option<&str>,
        check_branch: Option<&str>,
    ) -> Result<Option<usize>, RevisionError> {
        let check_branch = check_branch.filter(|b| !b.is_empty());
        let branch_rev = match check_branch {
            Some(label) => self.resolve_branch(label)?,
            None => None,
        };
        let Some(id) = id.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let revision = match self.exact(id) {
            Some(i) => i,
            None => {
                let mut keys: Vec<(&str, usize)> = self
                    .revisions
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.id().len() > 3 && r.id().starts_with(id))
                    .map(|(i, r)| (r.id(), i))
                    .collect();
                for label in &self.label_order {
                    if label.len() > 3 && label.starts_with(id) {
                        keys.push((label.as_str(), self.labels[label]));
                    }
                }
                if let (Some(_), Some(label)) = (branch_rev, check_branch) {
                    let mut kept = Vec::new();
                    for (key, i) in keys {
                        if self.shares_lineage(i, &[label.to_string()], false)? {
                            kept.push((key, i));
                        }
                    }
                    keys = kept;
                }
                match keys.len() {
                    0 => {
                        let hint = if id.chars().count() < 4 {
                            "; please ensure at least four characters are present for partial revision identifier matches"
                        } else {
                            ""
                        };
                        return Err(RevisionError::Resolution {
                            message: format!("No such revision or branch '{id}'{hint}"),
                            argument: id.to_string(),
                        });
                    }
                    1 => keys[0].1,
                    _ => {
                        let names: Vec<String> =
                            keys.iter().take(3).map(|(k, _)| format!("'{k}'")).collect();
                        return Err(RevisionError::Resolution {
                            message: format!(
                                "Multiple revisions start with '{id}': {}...",
                                names.join(", ")
                            ),
                            argument: id.to_string(),
                        });
                    }
                }
            }
        };
        if let (Some(label), Some(branch_rev)) = (check_branch, branch_rev) {
            if !self.shares_lineage_with(revision, &[branch_rev], false) {
                return Err(RevisionError::Resolution {
                    message: format!(
                        "Revision {} is not a member of branch '{label}'",
                        self.id(revision)
                    ),
                    argument: id.to_string(),
                });
            }
        }
        Ok(Some(revision))
    }

    /// `filter_for_lineage`: the targets sharing lineage with `check_against`.
    pub fn filter_for_lineage(
        &self,
        targets: &[usize],
        check_against: &str,
        include_dependencies: bool,
    ) -> Result<Vec<usize>, RevisionError> {
        let (ids, branch) = self.resolve_revision_number(Some(check_against))?;
        let mut shares = Vec::new();
        if let Some(b) = branch {
            shares.push(b);
        }
        shares.extend(ids);
        let mut out = Vec::new();
        for &t in targets {
            if self.shares_lineage(t, &shares, include_dependencies)? {
                out.push(t);
            }
        }
        Ok(out)
    }

    fn shares_lineage(
        &self,
        target: usize,
        against: &[String],
        include_dependencies: bool,
    ) -> Result<bool, RevisionError> {
        if against.is_empty() {
            return Ok(true);
        }
        let mut resolved = Vec::new();
        for a in against {
            if let Some(i) = self.revision_for_ident(Some(a), None)? {
                resolved.push(i);
            }
        }
        Ok(self.shares_lineage_with(target, &resolved, include_dependencies))
    }

    fn shares_lineage_with(
        &self,
        target: usize,
        against: &[usize],
        include_dependencies: bool,
    ) -> bool {
        if against.is_empty() {
            return true;
        }
        let against: HashSet<usize> = against.iter().copied().collect();
        self.descendants(&[target], include_dependencies)
            .iter()
            .any(|i| against.contains(i))
            || self
                .ancestors(&[target], include_dependencies)
                .iter()
                .any(|i| against.contains(i))
    }

    /// `_walk`: `steps` up (positive) or down (negative) from `start`.
    pub fn walk(
        &self,
        start: WalkPosition,
        steps: i64,
        branch_label: Option<&str>,
        no_overwalk: bool,
    ) -> Result<WalkPosition, RevisionError> {
        let mut initial = start;
        for _ in 0..steps.unsigned_abs() {
            let children: Vec<WalkPosition> = if steps > 0 {
                let ids: Vec<usize> = match initial {
                    WalkPosition::Nothing => self.bases.clone(),
                    WalkPosition::Revision(r) => self.revisions[r].nextrev.clone(),
                    WalkPosition::Base => {
                        return Err(RevisionError::Other("cannot walk up from base".to_string()))
                    }
                };
                let ids = match branch_label {
                    Some(label) if !label.is_empty() => {
                        self.filter_for_lineage(&ids, label, false)?
                    }
                    _ => ids,
                };
                ids.into_iter().map(WalkPosition::Revision).collect()
            } else {
                match initial {
                    WalkPosition::Base => Vec::new(),
                    _ => {
                        let ids: Vec<usize> = match initial {
                            WalkPosition::Nothing => self.heads.clone(),
                            WalkPosition::Revision(r) => self.revisions[r].down.clone(),
                            WalkPosition::Base => unreachable!(),
                        };
                        if ids.is_empty() {
                            vec![WalkPosition::Base]
                        } else {
                            ids.into_iter().map(WalkPosition::Revision).collect()
                        }
                    }
                }
            };
            if children.is_empty() {
                return Ok(if no_overwalk {
                    WalkPosition::Nothing
                } else {
                    initial
                });
            }
            if children.len() > 1 {
                return Err(RevisionError::Other("Ambiguous walk".to_string()));
            }
            initial = children[0];
        }
        Ok(initial)
    }

    fn position_of(&self, rev: Option<usize>) -> WalkPosition {
        match rev {
            Some(r) => WalkPosition::Revision(r),
            None => WalkPosition::Nothing,
        }
    }

    /// `_parse_downgrade_target`: (branch label, target) where target `None` is base.
    fn parse_downgrade_target(
        &self,
        current: &[String],
        target: Option<&str>,
        assert_relative_length: bool,
    ) -> Result<(Option<String>, WalkPosition), RevisionError> {
        let Some(target) = target else {
            return Ok((None, WalkPosition::Nothing));
        };
        if let Some(m) = match_relative(target) {
            let rel = m.relative;
            if rel >= 0 {
                let Some(symbol) = m.symbol else {
                    return Err(RevisionError::Other(format!(
                        "Relative revision {} didn't produce {} migrations",
                        m.relative_text,
                        rel.abs()
                    )));
                };
                let start = self.position_of(self.get_revision(Some(&symbol))?);
                let rev = self.walk(start, rel, m.branch.as_deref(), assert_relative_length)?;
                if rev == WalkPosition::Nothing {
                    return Err(RevisionError::Other("Walked too far".to_string()));
                }
                return Ok((m.branch, rev));
            }
            let relative_revision = m.symbol.is_none();
            let mut branch = m.branch.clone();
            let symbol = if let Some(symbol) = m.symbol.clone() {
                symbol
            } else if let Some(label) = &branch {
                let mut current_idx = Vec::new();
                for c in current {
                    if let Some(i) = self.revision_for_ident(Some(c), None)? {
                        current_idx.push(i);
                    }
                }
                let mut symbols: Vec<String> = self
                    .filter_for_lineage(&current_idx, label, false)?
                    .into_iter()
                    .map(|i| self.id(i).to_string())
                    .collect();
                if symbols.is_empty() {
                    let all_current = self.all_current(current)?;
                    symbols = self
                        .filter_for_lineage(&all_current, label, false)?
                        .into_iter()
                        .map(|i| self.id(i).to_string())
                        .collect();
                }
                if symbols.len() != 1 {
                    return Err(RevisionError::Other(format!(
                        "Ambiguous downgrade target for branch '{label}'"
                    )));
                }
                symbols.remove(0)
            } else {
                if current.is_empty() {
                    return Err(RevisionError::Other(format!(
                        "Relative revision {} didn't produce {} migrations",
                        m.relative_text,
                        rel.abs()
                    )));
                }
                let first = current[0].clone();
                branch = Some(first.clone());
                first
            };
            let start = match &branch {
                None => self.get_revision(Some(&symbol))?,
                Some(label) => self.get_revision(Some(&format!("{label}@{symbol}")))?,
            };
            let rev = self.walk(self.position_of(start), rel, None, assert_relative_length)?;
            if rev == WalkPosition::Nothing {
                if relative_revision {
                    return Err(RevisionError::Other(format!(
                        "Relative revision {} didn't produce {} migrations",
                        m.relative_text,
                        rel.abs()
                    )));
                }
                return Err(RevisionError::Other("Walked too far".to_string()));
            }
            return Ok((branch, rev));
        }
        let (branch, symbol) = match target.rfind('@') {
            Some(at) => (
                Some(target[..at].to_string()).filter(|b| !b.is_empty()),
                &target[at + 1..],
            ),
            None => (None, target),
        };
        let rev = self.get_revision(Some(symbol))?;
        Ok((branch, self.position_of(rev)))
    }

    /// `_parse_upgrade_target`: the revisions an upgrade goes to.
    fn parse_upgrade_target(
        &self,
        current: &[String],
        target: Option<&str>,
        assert_relative_length: bool,
    ) -> Result<Vec<Option<usize>>, RevisionError> {
        let m = target.and_then(match_relative);
        let Some(m) = m else {
            return match target {
                Some(t) => self.get_revisions(t),
                None => Ok(Vec::new()),
            };
        };
        let rel = m.relative;
        if rel > 0 {
            if m.symbol.is_none() {
                let mut start_revs: Vec<WalkPosition> = if current.is_empty() {
                    vec![WalkPosition::Nothing]
                } else {
                    let mut v = Vec::new();
                    for c in current {
                        v.push(self.position_of(self.get_revision(Some(c))?));
                    }
                    v
                };
                if let Some(label) = &m.branch {
                    let current_revs: Vec<usize> = self
                        .get_revisions_many(current)?
                        .into_iter()
                        .flatten()
                        .collect();
                    let on_branch = self.filter_for_lineage(&current_revs, label, false)?;
                    start_revs = on_branch
                        .iter()
                        .map(|&i| WalkPosition::Revision(i))
                        .collect();
                    if start_revs.is_empty() {
                        let ancestors = self.ancestors(&current_revs, true);
                        let active = self.filter_for_lineage(&ancestors, label, false)?;
                        let downs: HashSet<usize> = active
                            .iter()
                            .flat_map(|&r| self.revisions[r].normalized_down().iter().copied())
                            .collect();
                        let mut tips: Vec<usize> = active
                            .iter()
                            .copied()
                            .filter(|r| !downs.contains(r))
                            .collect();
                        tips.sort();
                        tips.dedup();
                        start_revs = tips.into_iter().map(WalkPosition::Revision).collect();
                        if start_revs.is_empty() {
                            start_revs = vec![WalkPosition::Nothing];
                        }
                    }
                }
                if start_revs.len() > 1 {
                    return Err(RevisionError::Other(
                        "Ambiguous upgrade from multiple current revisions".to_string(),
                    ));
                }
                let rev = self.walk(
                    start_revs[0],
                    rel,
                    m.branch.as_deref(),
                    assert_relative_length,
                )?;
                return match rev {
                    WalkPosition::Nothing => Err(RevisionError::Other(format!(
                        "Relative revision {} didn't produce {} migrations",
                        m.relative_text,
                        rel.abs()
                    ))),
                    WalkPosition::Revision(r) => Ok(vec![Some(r)]),
                    WalkPosition::Base => Ok(vec![None]),
                };
            }
            let start = self.position_of(self.get_revision(m.symbol.as_deref())?);
            let rev = self.walk(start, rel, m.branch.as_deref(), assert_relative_length)?;
            return Ok(vec![match rev {
                WalkPosition::Revision(r) => Some(r),
                _ => None,
            }]);
        }
        let Some(symbol) = &m.symbol else {
            return Err(RevisionError::Other(format!(
                "Relative revision {} didn't produce {} migrations",
                rel,
                rel.abs()
            )));
        };
        let start = match &m.branch {
            None => self.get_revision(Some(symbol))?,
            Some(label) => self.get_revision(Some(&format!("{label}@{symbol}")))?,
        };
        let rev = self.walk(self.position_of(start), rel, None, assert_relative_length)?;
        Ok(vec![match rev {
            WalkPosition::Revision(r) => Some(r),
            _ => None,
        }])
    }

    /// `_collect_upgrade_revisions`: (revisions to apply, targets).
    fn collect_upgrade(
        &self,
        upper_list: &[String],
        lower_list: &[String],
        inclusive: bool,
        implicit_base: bool,
        assert_relative_length: bool,
    ) -> Result<(Vec<usize>, Vec<usize>), RevisionError> {
        let lower: Option<&str> = if lower_list.len() == 1 {
            Some(lower_list[0].as_str())
        } else {
            None
        };
        let upper: Option<&str> = if upper_list.len() == 1 {
            Some(upper_list[0].as_str())
        } else {
            None
        };
        let targets_opt = if upper_list.len() > 1 {
            self.get_revisions_many(upper_list)?
        } else {
            self.parse_upgrade_target(lower_list, upper, assert_relative_length)?
        };
        let mut targets: Vec<usize> = Vec::new();
        for t in targets_opt {
            match t {
                Some(i) => targets.push(i),
                None => {
                    return Err(RevisionError::Broken(
                        "the upgrade target walks past the end of the history".to_string(),
                    ))
                }
            }
        }
        if let Some(l) = lower {
            if let Some((branch, _)) = l.split_once('@') {
                let mut branch = branch.to_string();
                if let Some(branch_rev) = self.get_revision(Some(&branch))? {
                    if self.id(branch_rev) == branch {
                        if let Some(label) = self.revisions[branch_rev].branch_labels.iter().next()
                        {
                            branch = label.to_string();
                        }
                    }
                }
                targets.retain(|&t| self.revisions[t].branch_labels.contains(branch.as_str()));
            }
        }
        self.check_overlaps(&targets, |r| &r.normalized_down)?;
        let mut required = self.ancestor_set(&targets, true);
        for &t in &targets {
            required[t] = true;
        }
        let mut positions = Vec::new();
        for l in lower_list {
            positions.extend(self.get_revision_positions(l)?);
        }
        let walked_below_base = positions.contains(&WalkPosition::Base);
        let mut current_revisions: Vec<Option<usize>> = positions
            .into_iter()
            .map(|p| match p {
                WalkPosition::Revision(r) => Some(r),
                _ => None,
            })
            .collect();
        if implicit_base && walked_below_base {
            return Err(RevisionError::Broken(
                "a relative revision walked below the base revision".to_string(),
            ));
        }
        if !implicit_base
            && (walked_below_base || current_revisions.iter().flatten().any(|&r| !required[r]))
        {
            return Err(RevisionError::RangeNotAncestor {
                lower: (!lower_list.is_empty()).then(|| lower_list.join(", ")),
                upper: (!upper_list.is_empty()).then(|| upper_list.join(", ")),
            });
        }
        let mut lower_owned: Vec<String> = lower_list.to_vec();
        if current_revisions.first() == Some(&None) {
            let (_, rev) =
                self.parse_downgrade_target(upper_list, lower, assert_relative_length)?;
            match rev {
                WalkPosition::Base | WalkPosition::Nothing => {
                    current_revisions = Vec::new();
                    lower_owned = Vec::new();
                }
                WalkPosition::Revision(r) => {
                    current_revisions = vec![Some(r)];
                    lower_owned = vec![self.id(r).to_string()];
                }
            }
        }
        let current: Vec<usize> = current_revisions.iter().flatten().copied().collect();
        self.check_overlaps(&current, |r| &r.normalized_down)?;
        let current_set = self.ancestor_set(&current, true);
        let mut needs: Vec<bool> = (0..self.revisions.len())
            .map(|i| required[i] && !current_set[i])
            .collect();
        if inclusive {
            for r in self.get_revisions_many(&lower_owned)?.into_iter().flatten() {
                needs[r] = true;
            }
        }
        if !current.is_empty() && !implicit_base {
            self.check_overlaps(&current, |r| &r.nextrev)?;
            let desc = self.descendants(&current, false);
            let mut keep = vec![false; self.revisions.len()];
            for d in desc {
                keep[d] = true;
            }
            for i in 0..needs.len() {
                needs[i] = needs[i] && keep[i];
            }
        }
        Ok(((0..needs.len()).filter(|&i| needs[i]).collect(), targets))
    }

    /// `_collect_downgrade_revisions`: (revisions to unapply, current heads).
    fn collect_downgrade(
        &self,
        upper: &[String],
        lower: Option<&str>,
        inclusive: bool,
        implicit_base: bool,
        assert_relative_length: bool,
    ) -> Result<(Vec<usize>, Vec<usize>), RevisionError> {
        let (branch, target) = self.parse_downgrade_target(upper, lower, assert_relative_length)?;
        let target = match target {
            WalkPosition::Revision(r) => Some(r),
            _ => None,
        };
        let mut roots: Vec<usize> = match target {
            None => (0..self.revisions.len())
                .filter(|&i| self.revisions[i].is_base())
                .collect(),
            Some(t) if inclusive => vec![t],
            Some(t) => self.revisions[t].nextrev.clone(),
        };
        if let Some(label) = &branch {
            if roots.len() > 1 {
                let branch_rev = self.resolve_branch(label)?;
                let ancestors =
                    self.ancestor_set(&branch_rev.into_iter().collect::<Vec<_>>(), false);
                roots.retain(|&r| ancestors[r]);
                if roots.is_empty() {
                    return Err(RevisionError::Other(
                        "Not a valid downgrade target from current heads".to_string(),
                    ));
                }
            }
        }
        let heads: Vec<usize> = self
            .get_revisions_many(upper)?
            .into_iter()
            .flatten()
            .collect();
        let down_set = self.descendants(&roots, true);
        let active = self.ancestor_set(&heads, true);
        let mut selected = vec![false; self.revisions.len()];
        for d in down_set {
            if active[d] {
                selected[d] = true;
            }
        }
        if implicit_base {
            let root_ancestors = self.ancestor_set(&roots, true);
            for i in 0..selected.len() {
                if active[i] && !root_ancestors[i] {
                    selected[i] = true;
                }
            }
        }
        let revisions: Vec<usize> = (0..selected.len()).filter(|&i| selected[i]).collect();
        if let Some(t) = target {
            if revisions.is_empty() && !heads.contains(&t) {
                return Err(RevisionError::RangeNotAncestor {
                    lower: Some("Nothing to drop".to_string()),
                    upper: upper.first().cloned(),
                });
            }
        }
        Ok((revisions, heads))
    }

    /// `iterate_revisions`: the revisions between `upper` and `lower`, heads
    /// first, in Alembic's topological order.
    pub fn iterate_revisions(
        &self,
        upper: &[String],
        lower: &[String],
        options: IterateOptions,
    ) -> Result<Vec<usize>, RevisionError> {
        let (revisions, heads) = if options.select_for_downgrade {
            let lower = match lower.len() {
                0 => None,
                1 => Some(lower[0].as_str()),
                _ => {
                    return Err(RevisionError::Other(
                        "several downgrade targets".to_string(),
                    ))
                }
            };
            self.collect_downgrade(
                upper,
                lower,
                options.inclusive,
                options.implicit_base,
                options.assert_relative_length,
            )?
        } else {
            self.collect_upgrade(
                upper,
                lower,
                options.inclusive,
                options.implicit_base,
                options.assert_relative_length,
            )?
        };
        self.topological_sort(&revisions, &heads)
    }

    /// `_topological_sort`: emits revisions from the heads down, always
    /// finishing a head whose ancestors no other pending head needs first.
    ///
    /// Alembic keeps the full ancestor set of every pending head and
    /// recomputes it at each merge point (O(revisions × merges)). Each set
    /// here is the same set explored lazily ([`LazyAncestors`]): a query only
    /// explores ancestors above the queried revision's level, which stay
    /// close to the frontier, so the order is Alembic's at a fraction of the cost.
    pub fn topological_sort(
        &self,
        revisions: &[usize],
        heads: &[usize],
    ) -> Result<Vec<usize>, RevisionError> {
        let n = self.revisions.len();
        let mut todo = vec![false; n];
        let mut remaining = 0usize;
        for &r in revisions {
            if !todo[r] {
                todo[r] = true;
                remaining += 1;
            }
        }
        let levels = self.levels();
        let mut current_heads: Vec<usize> = heads.iter().copied().filter(|&h| todo[h]).collect();
        current_heads.sort();
        current_heads.dedup();
        let mut ancestors_by_idx: Vec<LazyAncestors> = current_heads
            .iter()
            .map(|&h| LazyAncestors::new(h, levels))
            .collect();
        let mut output = Vec::with_capacity(remaining);
        let mut candidate_idx = 0usize;
        while !current_heads.is_empty() {
            let candidate = current_heads[candidate_idx];
            let mut blocker = None;
            for (check_idx, ancestors) in ancestors_by_idx.iter_mut().enumerate() {
                if check_idx != candidate_idx && ancestors.contains(self, levels, candidate) {
                    blocker = Some(check_idx);
                    break;
                }
            }
            if let Some(other) = blocker {
                candidate_idx = other;
                continue;
            }
            if todo[candidate] {
                output.push(candidate);
                todo[candidate] = false;
            }
            let rev = &self.revisions[candidate];
            let heads_to_add: Vec<usize> = rev
                .normalized_down
                .iter()
                .copied()
                .filter(|&r| todo[r] && !current_heads.contains(&r))
                .collect();
            if heads_to_add.is_empty() {
                current_heads.remove(candidate_idx);
                ancestors_by_idx.remove(candidate_idx);
                candidate_idx = candidate_idx.saturating_sub(1);
            } else {
                // Alembic discards the candidate from the set on a plain step
                // and recomputes it otherwise; either way the set becomes the
                // ancestors of the new head, which is what a fresh lazy set is.
                current_heads[candidate_idx] = heads_to_add[0];
                ancestors_by_idx[candidate_idx] = LazyAncestors::new(heads_to_add[0], levels);
                if !(rev.normalized_dependencies.is_empty() && rev.down.len() == 1) {
                    for &h in &heads_to_add[1..] {
                        current_heads.push(h);
                        ancestors_by_idx.push(LazyAncestors::new(h, levels));
                    }
                }
            }
        }
        if output.len() != remaining {
            let mut left: Vec<&str> = (0..n).filter(|&i| todo[i]).map(|i| self.id(i)).collect();
            left.sort();
            return Err(RevisionError::Broken(format!(
                "revisions {} are not reachable from the requested heads; the range mixes dependency branches",
                left.join(", ")
            )));
        }
        Ok(output)
    }

    /// Each revision's level: 0 for a revision without normalized parents,
    /// else one more than its highest parent. Parents always sit lower.
    fn levels(&self) -> &[u32] {
        self.levels.get_or_init(|| self.compute_levels())
    }

    /// Whether `revision` is an ancestor of (or one of) `heads`, following
    /// normalized parents; explores only the levels above `revision`.
    pub fn is_ancestor_of_any(&self, revision: usize, heads: &[usize]) -> bool {
        let levels = self.levels();
        heads.iter().any(|&h| {
            h == revision || LazyAncestors::new(h, levels).contains(self, levels, revision)
        })
    }

    fn compute_levels(&self) -> Vec<u32> {
        let n = self.revisions.len();
        let mut level = vec![u32::MAX; n];
        let mut stack: Vec<(usize, bool)> = Vec::new();
        for start in 0..n {
            if level[start] != u32::MAX {
                continue;
            }
            stack.push((start, false));
            while let Some((i, parents_done)) = stack.pop() {
                if level[i] != u32::MAX {
                    continue;
                }
                // A revision that depends on its own branch label
                // (`depends_on = 'mylabel'`) lists itself: Alembic's walks
                // skip what they have seen, so that edge changes nothing.
                let parents = &self.revisions[i].normalized_down;
                if parents_done {
                    level[i] = parents
                        .iter()
                        .filter(|&&p| p != i)
                        .map(|&p| level[p] + 1)
                        .max()
                        .unwrap_or(0);
                } else {
                    stack.push((i, true));
                    for &p in parents {
                        if p != i && level[p] == u32::MAX {
                            stack.push((p, false));
                        }
                    }
                }
            }
        }
        level
    }

    /// `_get_all_current`: the branch heads among the given revisions and their ancestors.
    pub fn all_current(&self, ids: &[String]) -> Result<Vec<usize>, RevisionError> {
        let top: Vec<usize> = self
            .get_revisions_many(ids)?
            .into_iter()
            .flatten()
            .collect();
        let all = self.ancestors(&top, true);
        Ok(self.filter_into_branch_heads(&all))
    }

    /// `_filter_into_branch_heads`: drops every revision that has a descendant in the set.
    pub fn filter_into_branch_heads(&self, targets: &[usize]) -> Vec<usize> {
        let set: HashSet<usize> = targets.iter().copied().collect();
        let mut out: Vec<usize> = targets
            .iter()
            .copied()
            .filter(|&t| {
                !self
                    .descendants(&[t], false)
                    .iter()
                    .any(|&d| d != t && set.contains(&d))
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Direct children of a node in the petgraph DAG, by edge kind.
    pub fn children(&self, i: usize, kind: EdgeKind) -> Vec<usize> {
        self.graph
            .edges_directed(NodeIndex::new(i), Direction::Outgoing)
            .filter(|e| *e.weight() == kind)
            .map(|e| petgraph::visit::EdgeRef::target(&e).index())
            .collect()
    }
}

/// Options of [`RevisionMap::iterate_revisions`], as Alembic's keyword arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct IterateOptions {
    pub implicit_base: bool,
    pub inclusive: bool,
    pub assert_relative_length: bool,
    pub select_for_downgrade: bool,
}

/// `Revision.verify_rev_id`.
pub fn verify_rev_id(revision: &str) -> Result<(), RevisionError> {
    let mut illegal: Vec<char> = revision
        .chars()
        .filter(|c| ['@', '-', '+', ':'].contains(c))
        .collect();
    illegal.sort();
    illegal.dedup();
    if illegal.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = illegal.iter().map(|c| c.to_string()).collect();
    Err(RevisionError::Other(format!(
        "Character(s) '{}' not allowed in revision identifier '{revision}'",
        list.join(", ")
    )))
}

/// A match of Alembic's `(?:(.+?)@)?(\w+)?((?:\+|-)\d+)` at the start of a string.
#[derive(Debug, Clone, PartialEq)]
pub struct RelativeMatch {
    pub branch: Option<String>,
    pub symbol: Option<String>,
    pub relative: i64,
    pub relative_text: String,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn match_relative_tail(text: &str) -> Option<(Option<String>, i64, String)> {
    let symbol_end = text
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let symbol = &text[..symbol_end];
    let rest = &text[symbol_end..];
    let sign = rest.chars().next()?;
    if sign != '+' && sign != '-' {
        return None;
    }
    let digits: String = rest[1..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return None;
    }
    let relative_text = format!("{sign}{digits}");
    let value: i64 = digits.parse().ok()?;
    let relative = if sign == '-' { -value } else { value };
    Some((
        (!symbol.is_empty()).then(|| symbol.to_string()),
        relative,
        relative_text,
    ))
}

/// Matches a relative identifier (`+2`, `-1`, `head-1`, `label@+1`, `rev@head-2`).
pub fn match_relative(text: &str) -> Option<RelativeMatch> {
    for (at, c) in text.char_indices() {
        if c == '\n' {
            break;
        }
        if c == '@' && at > 0 {
            if let Some((symbol, relative, relative_text)) = match_relative_tail(&text[at + 1..]) {
                return Some(RelativeMatch {
                    branch: Some(text[..at].to_string()),
                    symbol,
                    relative,
                    relative_text,
                });
            }
        }
    }
    match_relative_tail(text).map(|(symbol, relative, relative_text)| RelativeMatch {
        branch: None,
        symbol,
        relative,
        relative_text,
    })
}

/// Python's `int(text)` for the strings revision identifiers can be.
fn python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
        || digits.starts_with('_')
        || digits.ends_with('_')
    {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// The ancestors of one head (the head included), discovered lazily: all
/// ancestors at or above the level of the last query are known.
struct LazyAncestors {
    reached: HashSet<usize>,
    /// Discovered but not yet expanded, highest level first.
    frontier: std::collections::BinaryHeap<(u32, usize)>,
}

impl LazyAncestors {
    fn new(head: usize, levels: &[u32]) -> LazyAncestors {
        let mut reached = HashSet::new();
        reached.insert(head);
        let mut frontier = std::collections::BinaryHeap::new();
        frontier.push((levels[head], head));
        LazyAncestors { reached, frontier }
    }

    /// Whether `revision` is an ancestor of the head. Every path from the
    /// head down to it runs through strictly higher levels, so expanding the
    /// nodes above its level is enough to find it.
    fn contains(&mut self, map: &RevisionMap, levels: &[u32], revision: usize) -> bool {
        let floor = levels[revision];
        while let Some(&(level, node)) = self.frontier.peek() {
            if level <= floor {
                break;
            }
            self.frontier.pop();
            for &parent in &map.revisions[node].normalized_down {
                if self.reached.insert(parent) {
                    self.frontier.push((levels[parent], parent));
                }
            }
        }
        self.reached.contains(&revision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn script(id: &str, down: &[&str]) -> Script {
        Script {
            revision: id.to_string(),
            down_revision: down.iter().map(|s| s.to_string()).collect(),
            dependencies: vec![],
            branch_labels: vec![],
            replaces: Vec::new(),
            path: PathBuf::from(format!("/v/{id}.py")),
            longdoc: format!("doc {id}"),
            compile_hooks: vec![],
            import_effects: vec![],
        }
    }

    fn ids(map: &RevisionMap, v: &[usize]) -> Vec<String> {
        v.iter().map(|&i| map.id(i).to_string()).collect()
    }

    #[test]
    fn heads_bases_and_merge() {
        let map = RevisionMap::build(vec![
            script("aaaa", &[]),
            script("bbbb", &["aaaa"]),
            script("cccc", &["aaaa"]),
            script("dddd", &["bbbb", "cccc"]),
        ])
        .unwrap();
        assert_eq!(ids(&map, &map.heads), vec!["dddd"]);
        assert_eq!(ids(&map, &map.bases), vec!["aaaa"]);
        assert!(map.get(0).is_branch_point());
        assert!(map.get(3).is_merge_point());
        let all = map
            .iterate_revisions(
                &["heads".into()],
                &["base".into()],
                IterateOptions {
                    inclusive: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(map.id(all[0]), "dddd");
        assert_eq!(map.id(all[3]), "aaaa");
    }

    #[test]
    fn missing_parent_is_a_clear_error() {
        let err = RevisionMap::build(vec![script("aaaa", &["zzzz"])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("Revision zzzz referenced from aaaa is not present"),
            "{err}"
        );
    }

    #[test]
    fn cycle_is_detected() {
        let err = RevisionMap::build(vec![
            script("aaaa", &[]),
            script("bbbb", &["cccc"]),
            script("cccc", &["bbbb"]),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cycle is detected in revisions (bbbb, cccc)"
        );
    }

    /// A cycle that every head and base reaches: Alembic's check passes it
    /// (and Alembic then loops forever), aurora refuses it.
    #[test]
    fn cycle_reached_from_heads_and_bases_is_detected() {
        let mut y = script("y", &["x"]);
        y.dependencies = vec!["b".into()];
        let err = RevisionMap::build(vec![
            script("ya", &[]),
            script("b", &["a"]),
            script("c", &["b"]),
            script("d", &[]),
            script("e", &["c", "d"]),
            script("x", &[]),
            y,
            script("z", &["y", "a"]),
            script("a", &["e"]),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cycle is detected in revisions (a, b, c, e)"
        );
    }

    #[test]
    fn dependency_cycle_reached_from_heads_and_bases_is_detected() {
        // b depends on c, c descends from b: only depends_on closes the loop.
        let mut b = script("b", &["a"]);
        b.dependencies = vec!["c".into()];
        let err = RevisionMap::build(vec![
            script("a", &[]),
            b,
            script("c", &["b"]),
            script("d", &["c"]),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Dependency cycle is detected in revisions (b, c)"
        );
    }

    /// `down_revision = ('y', 'y')`: Alembic walks it as one parent (the
    /// fuzzer found the hang this was).
    #[test]
    fn a_parent_listed_twice_is_walked_once() {
        let map = RevisionMap::build(vec![
            script("x", &[]),
            script("y", &["x"]),
            script("z", &["y", "y"]),
        ])
        .unwrap();
        let all = map
            .iterate_revisions(
                &["heads".into()],
                &["base".into()],
                IterateOptions {
                    inclusive: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&map, &all), ["z", "y", "x"]);
    }

    /// `depends_on` naming the revision's own branch label: Alembic keeps
    /// the self-dependency and walks past it (the fuzzer found aurora
    /// looping on it, allocating without bound).
    #[test]
    fn a_dependency_on_the_own_branch_label_is_walked_past() {
        let mut y = script("y", &["x"]);
        y.branch_labels = vec!["lbl".into()];
        y.dependencies = vec!["lbl".into()];
        let map = RevisionMap::build(vec![script("x", &[]), y, script("z", &["y"])]).unwrap();
        let all = map
            .iterate_revisions(
                &["heads".into()],
                &["base".into()],
                IterateOptions {
                    inclusive: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(ids(&map, &all), ["z", "y", "x"]);
    }

    #[test]
    fn prefixes_need_uniqueness() {
        let map = RevisionMap::build(vec![
            script("abcd1111", &[]),
            script("abcd2222", &["abcd1111"]),
        ])
        .unwrap();
        assert_eq!(map.get_revision(Some("abcd1")).unwrap(), Some(0));
        assert!(matches!(
            map.get_revision(Some("abcd")),
            Err(RevisionError::Resolution { .. })
        ));
    }

    #[test]
    fn relative_identifiers_match_alembics_regex() {
        let m = match_relative("feat@head-2").unwrap();
        assert_eq!(
            (m.branch.as_deref(), m.symbol.as_deref(), m.relative),
            (Some("feat"), Some("head"), -2)
        );
        let m = match_relative("+3").unwrap();
        assert_eq!((m.branch, m.symbol, m.relative), (None, None, 3));
        assert!(match_relative("abc").is_none());
    }

    #[test]
    fn walk_down_and_up() {
        let map = RevisionMap::build(vec![
            script("aaaa", &[]),
            script("bbbb", &["aaaa"]),
            script("cccc", &["bbbb"]),
        ])
        .unwrap();
        assert_eq!(
            map.walk(WalkPosition::Revision(2), -1, None, true).unwrap(),
            WalkPosition::Revision(1)
        );
        assert_eq!(
            map.walk(WalkPosition::Nothing, 2, None, true).unwrap(),
            WalkPosition::Revision(1)
        );
        assert_eq!(
            map.walk(WalkPosition::Revision(2), 1, None, true).unwrap(),
            WalkPosition::Nothing
        );
    }
}
