//! Finding a project's own Python modules the way Python's import system
//! would: a search path (like `sys.path`) and a dotted name give a source
//! file, a package's `__init__.py` or a plain module `name.py`.
//!
//! This module only finds files; it never reads or evaluates them. The
//! revision evaluator (`ops`) and `env.py` handling both use it.

use std::path::{Path, PathBuf};

/// Where a dotted module name was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    /// The dotted name, e.g. `neutron.db.migration.cli`.
    pub name: String,
    /// The source file: `.../cli.py` or `.../package/__init__.py`.
    pub path: PathBuf,
    /// Whether this is a package (its file is an `__init__.py`).
    pub is_package: bool,
}

impl ModuleFile {
    /// The package relative imports in this module start from (`__package__`).
    pub fn package(&self) -> String {
        if self.is_package {
            self.name.clone()
        } else {
            match self.name.rsplit_once('.') {
                Some((parent, _)) => parent.to_string(),
                None => String::new(),
            }
        }
    }
}

/// An ordered list of directories searched for modules, like `sys.path`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPath {
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// A search path from directories in priority order; duplicates are dropped.
    pub fn new(dirs: impl IntoIterator<Item = PathBuf>) -> SearchPath {
        let mut out = SearchPath::default();
        for dir in dirs {
            out.push(dir);
        }
        out
    }

    /// Appends a directory unless it is already on the path.
    pub fn push(&mut self, dir: PathBuf) {
        if !self.dirs.contains(&dir) {
            self.dirs.push(dir);
        }
    }

    /// Finds `dotted` as Python would: the first directory holding the top
    /// package (or module) wins, and the rest of the name is looked up inside
    /// that package only. Namespace packages (folders without
    /// `__init__.py`) are accepted for intermediate names, as in Python 3.
    pub fn find(&self, dotted: &str) -> Option<ModuleFile> {
        let parts: Vec<&str> = dotted.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        for dir in &self.dirs {
            if let Some(found) = find_in(dir, &parts) {
                return Some(ModuleFile {
                    name: dotted.to_string(),
                    path: found.0,
                    is_package: found.1,
                });
            }
            // A regular module or package in an earlier directory shadows
            // later ones; a namespace folder does not.
            let top = dir.join(parts[0]);
            if top.join("__init__.py").is_file() || dir.join(format!("{}.py", parts[0])).is_file() {
                return None;
            }
        }
        None
    }
}

/// Resolves a relative import (`from ..x import y` inside `package`) to an
/// absolute dotted name. `level` is the number of leading dots.
pub fn resolve_relative(package: &str, level: usize, name: &str) -> Option<String> {
    if level == 0 {
        return Some(name.to_string());
    }
    let mut parts: Vec<&str> = if package.is_empty() {
        return None;
    } else {
        package.split('.').collect()
    };
    for _ in 1..level {
        parts.pop()?;
    }
    let base = parts.join(".");
    Some(match (base.is_empty(), name.is_empty()) {
        (true, _) => return None,
        (false, true) => base,
        (false, false) => format!("{base}.{name}"),
    })
}

fn find_in(dir: &Path, parts: &[&str]) -> Option<(PathBuf, bool)> {
    let mut here = dir.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let package = here.join(part);
        let init = package.join("__init__.py");
        if init.is_file() {
            if last {
                return Some((init, true));
            }
            here = package;
            continue;
        }
        let module = here.join(format!("{part}.py"));
        if module.is_file() {
            return last.then_some((module, false));
        }
        if package.is_dir() && !last {
            here = package;
            continue;
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        dir
    }

    #[test]
    fn finds_packages_and_modules() {
        let d = tree(&["app/__init__.py", "app/db/__init__.py", "app/db/cli.py"]);
        let sp = SearchPath::new([d.path().to_path_buf()]);
        let m = sp.find("app.db.cli").unwrap();
        assert!(m.path.ends_with("app/db/cli.py"));
        assert!(!m.is_package);
        assert_eq!(m.package(), "app.db");
        let p = sp.find("app.db").unwrap();
        assert!(p.is_package);
        assert_eq!(p.package(), "app.db");
        assert!(sp.find("app.missing").is_none());
        assert!(sp.find("other").is_none());
    }

    #[test]
    fn first_directory_with_the_top_package_wins() {
        let a = tree(&["app/__init__.py"]);
        let b = tree(&["app/__init__.py", "app/x.py"]);
        let sp = SearchPath::new([a.path().to_path_buf(), b.path().to_path_buf()]);
        assert!(sp.find("app.x").is_none());
        let sp = SearchPath::new([b.path().to_path_buf(), a.path().to_path_buf()]);
        assert!(sp.find("app.x").is_some());
    }

    #[test]
    fn relative_names() {
        assert_eq!(resolve_relative("a.b", 1, "c").as_deref(), Some("a.b.c"));
        assert_eq!(resolve_relative("a.b", 2, "c").as_deref(), Some("a.c"));
        assert_eq!(resolve_relative("a.b", 1, "").as_deref(), Some("a.b"));
        assert_eq!(resolve_relative("", 1, "c"), None);
        assert_eq!(resolve_relative("a", 2, "c"), None);
    }
}
