//! The script directory: finding revision files in the version locations and
//! reading each one's header into a [`Script`]. Never builds the graph.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::{Config, ConfigError};
use crate::syntax::header::parse_header_module;
use crate::syntax::{Expr, Header};

/// Errors while locating or reading revision files.
#[derive(Debug, Error)]
pub enum ScriptError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "Path doesn't exist: {0}.  Please use the 'init' command to create a new scripts folder."
    )]
    NoScriptDirectory(String),
    #[error("{0}")]
    Syntax(String),
    #[error("Could not determine revision id from filename {0}. Be sure the 'revision' variable is declared inside the script (please see 'Upgrading from Alembic 0.1 to 0.2' in the documentation).")]
    NoRevisionId(String),
    /// Alembic crashes with an AttributeError here; aurora says what is wrong.
    #[error("revision file {0} has no 'down_revision' variable; add `down_revision = None` for a base revision")]
    NoDownRevision(String),
    #[error(
        "{path}:{line}:{column}: '{name}' must be a string, a tuple or list of strings, or None"
    )]
    BadValue {
        path: String,
        line: usize,
        column: usize,
        name: String,
    },
    /// A header name that needs code aurora cannot evaluate.
    #[error("{0}")]
    Evaluation(String),
    #[error("sourceless revision files (.pyc without .py) are not supported: {0}")]
    Sourceless(String),
    #[error("could not read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl ScriptError {
    /// Whether Python Alembic reports this as a crash (traceback, exit 1)
    /// rather than a `FAILED:` line.
    pub fn is_crash_in_alembic(&self) -> bool {
        matches!(
            self,
            ScriptError::NoDownRevision(_)
                | ScriptError::BadValue { .. }
                | ScriptError::Syntax(_)
                | ScriptError::Evaluation(_)
        )
    }
}

/// One revision file, as far as its header tells.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub revision: String,
    /// `down_revision` as written: empty for a base.
    pub down_revision: Vec<String>,
    /// `depends_on` as written (ids, prefixes or branch labels).
    pub dependencies: Vec<String>,
    /// `branch_labels` as written on this revision.
    pub branch_labels: Vec<String>,
    /// `replaces`: the revisions an `aurora squash` revision stands for
    /// (empty for every other revision; Alembic never reads it).
    pub replaces: Vec<String>,
    /// The absolute, resolved path of the file.
    pub path: PathBuf,
    /// The docstring, stripped (Alembic's `longdoc`).
    pub longdoc: String,
    /// Its module-level `@compiles` functions for SQLAlchemy constructs,
    /// which importing the file installs for every revision.
    pub compile_hooks: Vec<crate::ops::ConstructHook>,
    /// The places (line, column) of its top-level statements that call
    /// through `op`, which run when Alembic imports the file inside the
    /// migration context (see [`crate::ops::import_ops`]).
    pub import_effects: Vec<(usize, usize)>,
}

impl Script {
    /// The cache form of what the header said (the path is the cache key).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = crate::cache::Writer::default();
        w.str(&self.revision);
        w.strs(&self.down_revision);
        w.strs(&self.dependencies);
        w.strs(&self.branch_labels);
        w.strs(&self.replaces);
        w.str(&self.longdoc);
        w.strs(&[self.compile_hooks.len().to_string()]);
        for h in &self.compile_hooks {
            w.str(&h.target);
            match &h.dialects {
                Some(d) => {
                    w.str("literal");
                    w.strs(d);
                }
                None => {
                    w.str("computed");
                    w.strs(&[]);
                }
            }
            w.strs(&[h.line.to_string(), h.col.to_string()]);
        }
        w.strs(
            &self
                .import_effects
                .iter()
                .map(|(l, c)| format!("{l}:{c}"))
                .collect::<Vec<_>>(),
        );
        w.0
    }

    /// Reads [`Script::encode`]'s form back.
    pub fn decode(path: &Path, payload: &[u8]) -> Option<Script> {
        let mut r = crate::cache::Reader::new(payload);
        let script = Script {
            revision: r.str()?,
            down_revision: r.strs()?,
            dependencies: r.strs()?,
            branch_labels: r.strs()?,
            replaces: r.strs()?,
            longdoc: r.str()?,
            path: path.to_path_buf(),
            compile_hooks: Vec::new(),
            import_effects: Vec::new(),
        };
        let mut script = script;
        let count: usize = r.strs()?.first()?.parse().ok()?;
        for _ in 0..count {
            let target = r.str()?;
            let literal = r.str()? == "literal";
            let dialects = r.strs()?;
            let place = r.strs()?;
            script.compile_hooks.push(crate::ops::ConstructHook {
                target,
                dialects: literal.then_some(dialects),
                line: place.first()?.parse().ok()?,
                col: place.get(1)?.parse().ok()?,
            });
        }
        for place in r.strs()? {
            let (l, c) = place.split_once(':')?;
            script
                .import_effects
                .push((l.parse().ok()?, c.parse().ok()?));
        }
        r.is_done().then_some(script)
    }

    /// The first paragraph of the docstring (Alembic's `doc`).
    pub fn doc(&self) -> &str {
        match self.longdoc.find("\n\n") {
            Some(at) => &self.longdoc[..at],
            None => &self.longdoc,
        }
    }

    /// Reads a script from its header. Returns `Ok(None)` for files Alembic
    /// skips. `display_name` is the file name used in Alembic's messages.
    pub fn from_header(path: &Path, header: &Header) -> Result<Script, ScriptError> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path_text = path.to_string_lossy().into_owned();
        let lookup = |name: &str| -> Result<Option<Vec<String>>, ScriptError> {
            let Some(assignment) = header.get(name) else {
                return Ok(None);
            };
            let value = assignment
                .value
                .as_ref()
                .expect("get() returns assigned values");
            string_list(value, header)
                .map(Some)
                .ok_or_else(|| ScriptError::BadValue {
                    path: path_text.clone(),
                    line: assignment.span.line,
                    column: assignment.span.column,
                    name: name.to_string(),
                })
        };
        let revision = match lookup("revision")? {
            Some(ids) if ids.len() == 1 => ids.into_iter().next().expect("one id"),
            Some(_) => {
                let assignment = header.get("revision").expect("present");
                return Err(ScriptError::BadValue {
                    path: path_text,
                    line: assignment.span.line,
                    column: assignment.span.column,
                    name: "revision".to_string(),
                });
            }
            None => legacy_revision_from_filename(&file_name)
                .ok_or_else(|| ScriptError::NoRevisionId(file_name.clone()))?,
        };
        let down_revision = lookup("down_revision")?
            .ok_or_else(|| ScriptError::NoDownRevision(path_text.clone()))?;
        let dependencies = lookup("depends_on")?.unwrap_or_default();
        let branch_labels = lookup("branch_labels")?.unwrap_or_default();
        // Alembic never reads `replaces`: a value that is not a list of ids is some other
        // module-level name of the project's, not a squash revision's.
        let replaces = lookup("replaces").ok().flatten().unwrap_or_default();
        let longdoc = header
            .docstring
            .as_deref()
            .map(python_strip)
            .unwrap_or_default()
            .to_string();
        Ok(Script {
            compile_hooks: Vec::new(),
            import_effects: Vec::new(),
            revision,
            down_revision,
            dependencies,
            branch_labels,
            replaces,
            path: path.to_path_buf(),
            longdoc,
        })
    }
}

/// Python's `str.strip()` with no arguments.
fn python_strip(text: &str) -> &str {
    text.trim_matches(|c: char| {
        c.is_whitespace() || c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f'
    })
}

/// Alembic 0.1 files carry no `revision` variable: the id is the file name
/// when it is all lowercase hex digits (`re.match(r"([a-f0-9]+)\.py$")`).
fn legacy_revision_from_filename(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".py")?;
    (!stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| stem.to_string())
}

/// Converts a header value to Alembic's `util.to_tuple` form: `None` and empty
/// tuples are empty, a string is one item, tuples and lists are their items.
/// Names bound to strings earlier in the module are followed.
fn string_list(value: &Expr, header: &Header) -> Option<Vec<String>> {
    match value {
        Expr::None => Some(Vec::new()),
        Expr::Str(s) => Some(vec![s.clone()]),
        Expr::Tuple(items) | Expr::List(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Expr::Str(s) => out.push(s.clone()),
                    Expr::Name(name) => out.extend(resolve_name(name, header)?),
                    _ => return None,
                }
            }
            Some(out)
        }
        Expr::Name(name) => resolve_name(name, header),
        _ => None,
    }
}

fn resolve_name(name: &str, header: &Header) -> Option<Vec<String>> {
    let value = header.get(name)?.value.as_ref()?;
    match value {
        Expr::Name(_) => None,
        other => string_list(other, header),
    }
}

/// The directories a revision's `import` searches, in order: the
/// `prepend_sys_path` entries (relative ones against the working directory,
/// as Python resolves them), the ini file's directory, and the directory
/// holding the script directory's top package (where an installed project
/// package would be found).
pub fn module_search_path(
    config: &Config,
    cwd: &Path,
    script_dir: &Path,
) -> Result<crate::modules::SearchPath, ScriptError> {
    let mut path = crate::modules::SearchPath::default();
    for entry in config.prepend_sys_path()? {
        path.push(crate::config::absolute(cwd, Path::new(&entry)));
    }
    path.push(config.here());
    let mut top = script_dir.to_path_buf();
    while top.join("__init__.py").is_file() {
        match top.parent() {
            Some(parent) => top = parent.to_path_buf(),
            None => break,
        }
    }
    path.push(top);
    path.push(script_dir.to_path_buf());
    Ok(path)
}

/// The revision files of a project, in Alembic's load order.
#[derive(Debug, Clone)]
pub struct ScriptDirectory {
    /// `script_location` as configured.
    pub dir: PathBuf,
    /// The version locations, absolute.
    pub version_locations: Vec<PathBuf>,
    pub recursive: bool,
    pub sourceless: bool,
    /// Where the project's own modules are found, as Alembic's Python
    /// would find them (see [`module_search_path`]).
    pub module_path: crate::modules::SearchPath,
}

impl ScriptDirectory {
    /// Reads the script directory settings from the configuration.
    pub fn from_config(config: &Config, cwd: &Path) -> Result<ScriptDirectory, ScriptError> {
        let location = config.script_location()?;
        let dir = crate::config::absolute(cwd, Path::new(&location));
        if !dir.exists() {
            return Err(ScriptError::NoScriptDirectory(location));
        }
        let version_locations = match config.version_locations()? {
            Some(list) => list
                .iter()
                .map(|l| crate::config::absolute(cwd, Path::new(l)))
                .collect(),
            None => vec![dir.join("versions")],
        };
        let module_path = module_search_path(config, cwd, &dir)?;
        Ok(ScriptDirectory {
            dir,
            version_locations,
            recursive: config.alembic_bool("recursive_version_locations")?,
            sourceless: config.alembic_bool("sourceless")?,
            module_path,
        })
    }

    /// Every candidate revision file path, in Alembic's order: each version
    /// location in turn, files sorted by name, subdirectories (when recursive)
    /// visited in sorted order after the files of their parent.
    pub fn revision_paths(&self) -> Result<Vec<PathBuf>, ScriptError> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for location in &self.version_locations {
            let Ok(real) = location.canonicalize() else {
                continue;
            };
            let mut paths = Vec::new();
            self.list_dir(&real, &mut paths)?;
            for path in paths {
                if seen.insert(path.clone()) {
                    out.push(path);
                }
            }
        }
        // aurora's own location for squash revisions before `aurora squash --finalize`: not a
        // version location, so Alembic never imports them (see `crate::squash`).
        if let Ok(real) = self.squash_dir().canonicalize() {
            let flat = ScriptDirectory {
                recursive: false,
                ..self.clone()
            };
            let mut paths = Vec::new();
            flat.list_dir(&real, &mut paths)?;
            for path in paths {
                if seen.insert(path.clone()) {
                    out.push(path);
                }
            }
        }
        Ok(out)
    }

    /// Where `aurora squash` writes a squash revision until it is finalized:
    /// `<script_location>/squashed`.
    pub fn squash_dir(&self) -> PathBuf {
        self.dir.join("squashed")
    }

    fn list_dir(&self, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ScriptError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ScriptError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false)
                || (entry.file_type().map(|t| t.is_symlink()).unwrap_or(false)
                    && entry.path().is_dir());
            if is_dir {
                dirs.push(name);
            } else {
                files.push(name);
            }
        }
        files.sort();
        for name in files {
            if is_revision_file_name(&name) {
                out.push(dir.join(&name));
            } else if self.sourceless && name.ends_with(".pyc") {
                return Err(ScriptError::Sourceless(
                    dir.join(&name).display().to_string(),
                ));
            }
        }
        if self.recursive {
            dirs.sort();
            for name in dirs {
                if name.ends_with("__pycache__") {
                    continue;
                }
                self.list_dir(&dir.join(name), out)?;
            }
        }
        Ok(())
    }

    /// Reads every revision file's header, in load order.
    pub fn load_scripts(&self) -> Result<Vec<Script>, ScriptError> {
        Ok(self.load_scripts_reading_bodies::<()>(None)?.0)
    }

    /// [`Self::load_scripts`], also handing every file that was read and
    /// parsed (not taken from the cache) to `bodies`, when given, with its
    /// path, text and parsed module: a run that reads those bodies next then
    /// parses each file once. Files that are not valid UTF-8 (which the body
    /// reader refuses) or whose header fails are not handed over. `bodies`
    /// runs on the loader threads.
    pub fn load_scripts_reading_bodies<T: Send>(
        &self,
        bodies: Option<&BodyReader<T>>,
    ) -> Result<(Vec<Script>, HashMap<PathBuf, T>), ScriptError> {
        let paths = self.revision_paths()?;
        let mut cache = crate::cache::Cache::open("headers", &self.version_locations);
        let stamps: Vec<Option<crate::cache::FileStamp>> = paths
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .ok()
                    .map(|m| crate::cache::FileStamp::of(&m))
            })
            .collect();
        let mut scripts: Vec<Option<Script>> = paths
            .iter()
            .zip(&stamps)
            .map(|(path, stamp)| {
                let payload = cache.get(&path.to_string_lossy(), stamp.as_ref()?)?;
                Script::decode(path, payload)
            })
            .collect();
        let misses: Vec<PathBuf> = paths
            .iter()
            .zip(&scripts)
            .filter(|(_, s)| s.is_none())
            .map(|(p, _)| p.clone())
            .collect();
        let mut read = HashMap::new();
        let mut loaded = load_scripts_parallel(&misses, &self.module_path, bodies)?.into_iter();
        for (i, slot) in scripts.iter_mut().enumerate() {
            if slot.is_none() {
                let (script, body) = loaded.next().expect("one loaded script per miss");
                if let Some(body) = body {
                    read.insert(paths[i].clone(), body);
                }
                if let Some(stamp) = stamps[i] {
                    cache.put(
                        paths[i].to_string_lossy().into_owned(),
                        stamp,
                        script.encode(),
                    );
                }
                *slot = Some(script);
            }
        }
        cache.save();
        Ok((
            scripts
                .into_iter()
                .map(|s| s.expect("every slot filled"))
                .collect(),
            read,
        ))
    }
}

/// What a run does with a revision file's parsed module while the map is
/// loaded (see [`ScriptDirectory::load_scripts_reading_bodies`]).
pub type BodyReader<T> = dyn Fn(&Path, &str, crate::syntax::ast::Module) -> T + Sync;

/// Alembic's `(?!\.\#|__init__)(.*\.py)$`: `.py` files except editor lock
/// files and `__init__`.
fn is_revision_file_name(name: &str) -> bool {
    name.ends_with(".py")
        && !name.starts_with(".#")
        && !name.starts_with("__init__")
        && !name.contains('\n')
}

/// Reads one revision file, finding the project's modules next to it.
pub fn load_script(path: &Path) -> Result<Script, ScriptError> {
    let mut search = crate::modules::SearchPath::default();
    if let Some(dir) = path.parent() {
        search.push(dir.to_path_buf());
    }
    load_script_with(path, &search)
}

/// Reads one revision file. The header grammar reads literal headers (the
/// fast path); a header it cannot read (a name from an import, a value
/// computed, an assignment after a `def`) is evaluated through the
/// interpreter like Python's import of the file, project modules found on
/// `module_path`.
pub fn load_script_with(
    path: &Path,
    module_path: &crate::modules::SearchPath,
) -> Result<Script, ScriptError> {
    load_script_reading_body::<()>(path, module_path, None).0
}

/// [`load_script_with`], also handing the parsed module to `bodies` when
/// the file is valid UTF-8 (the body reader's condition) and its header
/// reads.
fn load_script_reading_body<T>(
    path: &Path,
    module_path: &crate::modules::SearchPath,
    bodies: Option<&BodyReader<T>>,
) -> (Result<Script, ScriptError>, Option<T>) {
    let source = match std::fs::read(path) {
        Ok(source) => source,
        Err(source) => {
            let path = path.display().to_string();
            return (Err(ScriptError::Io { path, source }), None);
        }
    };
    let text = String::from_utf8_lossy(&source);
    let (header, module) = match parse_header_module(&path.display().to_string(), &text) {
        Ok(parsed) => parsed,
        // The header grammar reads a subset; Python's own grammar (the
        // body parser) decides whether the file is really wrong.
        Err(e) => {
            let script =
                evaluated_script(path, &text, None, module_path).map_err(|err| match err {
                    ScriptError::Evaluation(_) => ScriptError::Syntax(e.message),
                    other => other,
                });
            return (script, None);
        }
    };
    let hooks = crate::ops::construct_compile_hooks(&text, &module);
    let effects = crate::ops::import_effect_places(&text, &module);
    let script = script_of_header(path, &text, &header, module_path).map(|mut s| {
        s.compile_hooks = hooks;
        s.import_effects = effects;
        s
    });
    // The body reader reads the file as UTF-8 and fails otherwise: only a
    // file it would read the same is lowered here.
    let body = match (bodies, &text) {
        (Some(read), std::borrow::Cow::Borrowed(text)) if script.is_ok() => {
            Some(read(path, text, module))
        }
        _ => None,
    };
    (script, body)
}

/// The script a parsed header describes, through the interpreter when the
/// literal values do not say.
fn script_of_header(
    path: &Path,
    text: &str,
    header: &Header,
    module_path: &crate::modules::SearchPath,
) -> Result<Script, ScriptError> {
    let fast = Script::from_header(path, header);
    let needs_interpreter = match &fast {
        Ok(_) => false,
        Err(ScriptError::BadValue { .. }) => true,
        Err(ScriptError::NoRevisionId(_) | ScriptError::NoDownRevision(_)) => {
            header.body_offset < text.len()
        }
        Err(_) => false,
    };
    if !needs_interpreter {
        return fast;
    }
    evaluated_script(path, text, Some(header), module_path)
}

/// A script whose header names come from the interpreter.
fn evaluated_script(
    path: &Path,
    text: &str,
    header: Option<&Header>,
    module_path: &crate::modules::SearchPath,
) -> Result<Script, ScriptError> {
    use crate::ops::HeaderName;
    let context = crate::ops::LowerContext {
        search_path: module_path.clone(),
        ..crate::ops::LowerContext::for_file(path)
    };
    let names = [
        "revision",
        "down_revision",
        "depends_on",
        "branch_labels",
        "replaces",
    ];
    let values = crate::ops::header_names(&context, text, &names).map_err(|message| {
        ScriptError::Evaluation(format!(
            "could not evaluate the header of revision file {}: {message}",
            path.display()
        ))
    })?;
    let path_text = path.display().to_string();
    let bad = |name: &str| {
        let (line, column) = header
            .and_then(|h| h.get(name))
            .map(|a| (a.span.line, a.span.column))
            .unwrap_or((1, 1));
        ScriptError::BadValue {
            path: path_text.clone(),
            line,
            column,
            name: name.to_string(),
        }
    };
    let mut lists = Vec::new();
    for (name, value) in names.iter().zip(values) {
        lists.push(match value {
            HeaderName::Unbound => None,
            HeaderName::Strings(items) => Some(items),
            // As in `from_header`: Alembic never reads `replaces`.
            HeaderName::NotStrings(_) if *name == "replaces" => None,
            HeaderName::NotStrings(_) => return Err(bad(name)),
        });
    }
    let mut lists = lists.into_iter();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let revision = match lists.next().flatten() {
        Some(ids) if ids.len() == 1 => ids.into_iter().next().expect("one id"),
        Some(_) => return Err(bad("revision")),
        None => legacy_revision_from_filename(&file_name)
            .ok_or_else(|| ScriptError::NoRevisionId(file_name.clone()))?,
    };
    let down_revision = lists
        .next()
        .flatten()
        .ok_or_else(|| ScriptError::NoDownRevision(path_text.clone()))?;
    let dependencies = lists.next().flatten().unwrap_or_default();
    let branch_labels = lists.next().flatten().unwrap_or_default();
    let replaces = lists.next().flatten().unwrap_or_default();
    Ok(Script {
        compile_hooks: Vec::new(),
        import_effects: Vec::new(),
        revision,
        down_revision,
        dependencies,
        branch_labels,
        replaces,
        path: path.to_path_buf(),
        longdoc: python_strip(
            &header
                .map(|h| h.docstring.clone())
                .unwrap_or_else(|| crate::ops::module_docstring(text))
                .unwrap_or_default(),
        )
        .to_string(),
    })
}

/// Reads many files on a few threads, keeping the input order.
fn load_scripts_parallel<T: Send>(
    paths: &[PathBuf],
    module_path: &crate::modules::SearchPath,
    bodies: Option<&BodyReader<T>>,
) -> Result<Vec<(Script, Option<T>)>, ScriptError> {
    let load = |p: &PathBuf| match load_script_reading_body(p, module_path, bodies) {
        (Ok(script), parsed) => Ok((script, parsed)),
        (Err(e), _) => Err(e),
    };
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    if workers <= 1 || paths.len() < 64 {
        return paths.iter().map(load).collect();
    }
    let chunk = paths.len().div_ceil(workers);
    let load = &load;
    let results: Vec<Result<Vec<_>, ScriptError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(load).collect::<Result<Vec<_>, _>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("loader thread panicked"))
            .collect()
    });
    let mut out = Vec::with_capacity(paths.len());
    for result in results {
        out.extend(result?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ids_come_from_hex_file_names() {
        assert_eq!(
            legacy_revision_from_filename("abc123.py").as_deref(),
            Some("abc123")
        );
        assert_eq!(legacy_revision_from_filename("abc_x.py"), None);
    }

    #[test]
    fn doc_is_first_paragraph() {
        let script = Script {
            revision: "a".into(),
            down_revision: vec![],
            dependencies: vec![],
            branch_labels: vec![],
            replaces: Vec::new(),
            path: PathBuf::new(),
            longdoc: "first\n\nRevision ID: a".into(),
            compile_hooks: Vec::new(),
            import_effects: Vec::new(),
        };
        assert_eq!(script.doc(), "first");
    }

    #[test]
    fn file_name_filter() {
        assert!(is_revision_file_name("a_b.py"));
        assert!(!is_revision_file_name("__init__.py"));
        assert!(!is_revision_file_name(".#a.py"));
        assert!(!is_revision_file_name("a.pyc"));
    }
}
