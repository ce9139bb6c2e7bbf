//! The commands that write files: `revision`, `merge`, `edit` and `init`.
//!
//! `generate_revision` follows Alembic's `ScriptDirectory.generate_revision` step by step, so
//! that errors come out in the same order and with the same words: the identifier, the
//! `--head` revisions, the create date, the version location, the directories, the "not a head"
//! check, `--depends-on`, then the file itself. aurora adds a few checks of its own on the new
//! identifier (a path separator, more than 32 characters, an identifier already in use), and
//! makes them before anything is written.

use std::path::{Component, Path, PathBuf};

use super::{Catch, Cli, CliError, Output, Project};
use crate::authoring::{self, AuthoringError, CreateDate, NamingOptions, RevisionSpec};
use crate::graph::RevisionMap;
use crate::script::ScriptDirectory;
use crate::template::repr_str;

/// Alembic's message when `--head` names several heads (or `head` is ambiguous).
const MULTIPLE_HEADS: &str = "Multiple heads are present; please specify the head revision on \
     which the new revision should be based, or perform a merge.";

/// The files of Alembic's `generic` template, in the order Alembic's `init` writes them.
const GENERIC_TEMPLATE: &[(&str, &str)] = &[
    (
        "script.py.mako",
        include_str!("../../assets/init/generic/script.py.mako"),
    ),
    ("README", include_str!("../../assets/init/generic/README")),
    ("env.py", include_str!("../../assets/init/generic/env.py")),
    (
        "alembic.ini.mako",
        include_str!("../../assets/init/generic/alembic.ini.mako"),
    ),
];

/// The files of Alembic's `async` template, in the order Alembic's `init` writes them.
const ASYNC_TEMPLATE: &[(&str, &str)] = &[
    (
        "script.py.mako",
        include_str!("../../assets/init/async/script.py.mako"),
    ),
    ("README", include_str!("../../assets/init/async/README")),
    ("env.py", include_str!("../../assets/init/async/env.py")),
    (
        "alembic.ini.mako",
        include_str!("../../assets/init/async/alembic.ini.mako"),
    ),
];

/// The files of Alembic's `multidb` template, in the order Alembic's `init` writes them.
const MULTIDB_TEMPLATE: &[(&str, &str)] = &[
    (
        "script.py.mako",
        include_str!("../../assets/init/multidb/script.py.mako"),
    ),
    ("README", include_str!("../../assets/init/multidb/README")),
    ("env.py", include_str!("../../assets/init/multidb/env.py")),
    (
        "alembic.ini.mako",
        include_str!("../../assets/init/multidb/alembic.ini.mako"),
    ),
];

/// The files of Alembic's `pyproject` template, in the order Alembic's `init` writes them.
const PYPROJECT_TEMPLATE: &[(&str, &str)] = &[
    (
        "script.py.mako",
        include_str!("../../assets/init/pyproject/script.py.mako"),
    ),
    ("README", include_str!("../../assets/init/pyproject/README")),
    ("env.py", include_str!("../../assets/init/pyproject/env.py")),
    (
        "pyproject.toml.mako",
        include_str!("../../assets/init/pyproject/pyproject.toml.mako"),
    ),
    (
        "alembic.ini.mako",
        include_str!("../../assets/init/pyproject/alembic.ini.mako"),
    ),
];

/// The files of Alembic's `pyproject_async` template, in the order Alembic's `init` writes them.
const PYPROJECT_ASYNC_TEMPLATE: &[(&str, &str)] = &[
    (
        "script.py.mako",
        include_str!("../../assets/init/pyproject_async/script.py.mako"),
    ),
    (
        "README",
        include_str!("../../assets/init/pyproject_async/README"),
    ),
    (
        "env.py",
        include_str!("../../assets/init/pyproject_async/env.py"),
    ),
    (
        "pyproject.toml.mako",
        include_str!("../../assets/init/pyproject_async/pyproject.toml.mako"),
    ),
    (
        "alembic.ini.mako",
        include_str!("../../assets/init/pyproject_async/alembic.ini.mako"),
    ),
];

/// What a new revision file should be, as the `revision` and `merge` commands ask for it.
#[derive(Debug, Clone, Default)]
pub struct NewRevision {
    /// `--rev-id`; a fresh random identifier when `None`.
    pub rev_id: Option<String>,
    /// `-m`.
    pub message: Option<String>,
    /// The revisions to build on: `--head` for `revision`, the merged revisions for `merge`.
    pub heads: Vec<String>,
    /// `--splice`: allow a head that is not a head revision.
    pub splice: bool,
    /// `--branch-label`.
    pub branch_label: Option<String>,
    /// `--version-path`.
    pub version_path: Option<String>,
    /// `--depends-on`, each as given.
    pub depends_on: Vec<String>,
    /// Rendered autogenerate output: the upgrade body, the downgrade body, extra imports.
    pub upgrades: Option<String>,
    pub downgrades: Option<String>,
    pub imports: Option<String>,
    /// `context.configure(template_args=...)`: extra variables of the template.
    pub template_args: Vec<(String, crate::template::Value)>,
    /// Rendered bodies under other tokens (`upgrade_token=`/`downgrade_token=` of env.py,
    /// as the multidb template sets them), in the order env.py configured them.
    pub token_bodies: Vec<(String, String)>,
    /// `aurora squash`: the module-level `replaces` tuple written after `down_revision`.
    pub replaces: Vec<String>,
    /// `aurora squash`: the directory the file goes to instead of a version location.
    pub directory: Option<PathBuf>,
}

/// The arguments of `alembic revision`.
#[derive(Debug, Clone, Default)]
pub struct RevisionArgs {
    pub message: Option<String>,
    pub autogenerate: bool,
    pub sql: bool,
    pub head: String,
    pub splice: bool,
    pub branch_label: Option<String>,
    pub version_path: Option<String>,
    pub rev_id: Option<String>,
    pub depends_on: Vec<String>,
}

/// `alembic revision`. Returns the path of the new file.
pub fn revision(
    project: &mut Project,
    out: &mut Output,
    args: &RevisionArgs,
) -> Result<Option<PathBuf>, CliError> {
    project.script_directory()?;
    let environment = project.config.alembic_bool("revision_environment")?;
    if args.autogenerate && args.sql {
        return Err(CliError::failed(
            "Using --sql with --autogenerate does not make any sense",
        ));
    }
    if args.sql && !environment {
        return Err(CliError::failed(
            "Using --sql with the revision command when revision_environment is not configured \
             does not make any sense",
        ));
    }
    let mut request = NewRevision {
        rev_id: args.rev_id.clone(),
        message: args.message.clone(),
        heads: vec![args.head.clone()],
        splice: args.splice,
        branch_label: args.branch_label.clone(),
        version_path: args.version_path.clone(),
        depends_on: args.depends_on.clone(),
        ..Default::default()
    };
    if environment && !args.autogenerate && !args.sql {
        // `revision_environment` runs env.py online, whose migration context creates a
        // missing version table; autogenerate does the same in its comparison.
        let (_, configured) = super::migrate::database_heads_and_configuration(project, out)?;
        add_template_args(&mut request, configured.and_then(|c| c.template_args))?;
    }
    if args.autogenerate {
        let comparisons = super::autogenerate::compare(project, out, true)?;
        let directives = &comparisons
            .last()
            .expect("compare returns at least one comparison")
            .directives;
        if directives.skip {
            // process_revision_directives emptied the list: no file.
            return Ok(None);
        }
        if let Some(rev_id) = &directives.rev_id {
            request.rev_id = Some(rev_id.clone());
        }
        if let Some(message) = &directives.message {
            request.message = Some(message.clone());
        }
        let mut warned = std::collections::HashSet::new();
        for comparison in &comparisons {
            add_template_args(&mut request, comparison.template_args.clone())?;
            let downgrade_ops = crate::autogen::reverse_ops(&comparison.ops);
            let (upgrades, downgrades) = if comparison.render_as_batch {
                let render = |ops: &[crate::autogen::Op]| {
                    crate::autogen::render::render_body_batch(ops)
                        .map_err(|e| CliError::Crash(format!("env.py: {e}")))
                };
                (render(&comparison.ops)?, render(&downgrade_ops)?)
            } else {
                (
                    crate::autogen::render::render_body(&comparison.ops),
                    crate::autogen::render::render_body(&downgrade_ops),
                )
            };
            // Python shows one warning message once.
            for table in crate::autogen::render::unnamed_constraint_drops(&comparison.ops)
                .into_iter()
                .chain(crate::autogen::render::unnamed_constraint_drops(
                    &downgrade_ops,
                ))
            {
                let message = format!(
                    "Autogenerate rendered a drop_constraint() directive for an unnamed constraint on table {}; the migration will fail unless a constraint name is added to the directive.  Consider using a naming convention so that constraint names are known ahead of time.",
                    crate::template::repr_str(&table)
                );
                if warned.insert(message.clone()) {
                    out.python_warning("UserWarning", &message);
                }
            }
            for (token, body) in [
                (&comparison.upgrade_token, upgrades),
                (&comparison.downgrade_token, downgrades),
            ] {
                match token.as_str() {
                    "upgrades" => request.upgrades = Some(body),
                    "downgrades" => request.downgrades = Some(body),
                    _ => {
                        request.token_bodies.retain(|(t, _)| t != token);
                        request.token_bodies.push((token.clone(), body));
                    }
                }
            }
        }
        // Alembic imports the module of PostgreSQL's own reflected types it renders.
        let uses_pg = [&request.upgrades, &request.downgrades]
            .into_iter()
            .flatten()
            .chain(request.token_bodies.iter().map(|(_, b)| b))
            .any(|b| b.contains("postgresql."));
        // Alembic's `${imports}`: the sorted set of import lines render_item and the
        // renderer added.
        let mut imports: Vec<String> = comparisons
            .iter()
            .flat_map(|c| c.imports.iter().cloned())
            .collect();
        if uses_pg {
            imports.push("from sqlalchemy.dialects import postgresql".to_string());
        }
        imports.sort();
        imports.dedup();
        if !imports.is_empty() {
            request.imports = Some(imports.join("\n"));
        }
    }
    generate_revision(project, out, &request).map(Some)
}

/// `alembic merge`. Returns the path of the new file.
pub fn merge(
    project: &mut Project,
    out: &mut Output,
    revisions: &[String],
    message: Option<&str>,
    branch_label: Option<&str>,
    rev_id: Option<&str>,
    splice: bool,
) -> Result<PathBuf, CliError> {
    project.script_directory()?;
    let mut template_args = None;
    if project.config.alembic_bool("revision_environment")? {
        let (_, configured) = super::migrate::database_heads_and_configuration(project, out)?;
        template_args = configured.and_then(|c| c.template_args);
    }
    let mut request = NewRevision {
        rev_id: rev_id.map(str::to_string),
        message: message.map(str::to_string),
        heads: revisions.to_vec(),
        splice,
        branch_label: branch_label.map(str::to_string),
        ..Default::default()
    };
    add_template_args(&mut request, template_args)?;
    generate_revision(project, out, &request)
}

/// The settings of the `[alembic]` section that shape a new file.
struct AuthoringOptions {
    naming: NamingOptions,
    timezone: Option<String>,
    /// Whether `version_locations` is configured at all.
    has_version_locations: bool,
}

fn authoring_options(project: &Project) -> Result<AuthoringOptions, CliError> {
    let config = &project.config;
    let mut naming = NamingOptions::default();
    if let Some(template) = config.alembic_option("file_template")? {
        naming.file_template = template;
    }
    if let Some(text) = config.alembic_option("truncate_slug_length")? {
        let length: i64 = text.trim().parse().map_err(|_| {
            CliError::Crash(format!(
                "truncate_slug_length must be an integer, not '{text}'"
            ))
        })?;
        // Alembic's `truncate_slug_length or 40`: zero means the default.
        if length != 0 {
            naming.truncate_slug_length = usize::try_from(length).map_err(|_| {
                CliError::Crash(format!(
                    "truncate_slug_length must not be negative, not {length}"
                ))
            })?;
        }
    }
    Ok(AuthoringOptions {
        naming,
        timezone: config.alembic_option("timezone")?,
        has_version_locations: config.version_locations()?.is_some(),
    })
}

fn authoring_error(error: AuthoringError) -> CliError {
    match error {
        AuthoringError::FileTemplate { .. } | AuthoringError::Io { .. } => {
            CliError::Crash(error.to_string())
        }
        other => CliError::Failed(other.to_string()),
    }
}

/// `ScriptDirectory.generate_revision`: checks the request against the revision map, writes
/// the new file, prints `Generating ... done`, and checks that the map still loads with it.
pub fn generate_revision(
    project: &mut Project,
    out: &mut Output,
    request: &NewRevision,
) -> Result<PathBuf, CliError> {
    let script_directory = project.script_directory()?.clone();
    let options = authoring_options(project)?;
    let hooks = post_write_hooks(project)?;
    let cwd = project.cwd.clone();
    let rev_id = request.rev_id.clone().unwrap_or_else(authoring::new_rev_id);
    authoring::verify_rev_id(&rev_id).map_err(authoring_error)?;
    // aurora's own checks that need no revision map come before anything else can fail.
    authoring::check_new_rev_id(&rev_id, []).map_err(authoring_error)?;

    let catch = Catch {
        multiple_heads: Some(MULTIPLE_HEADS),
        ..Default::default()
    };
    let map = project.map(&catch)?;
    let mut heads: Vec<Option<usize>> = Vec::new();
    for head in &request.heads {
        heads.extend(map.get_revisions(head).map_err(|e| catch.word(e))?);
    }
    let mut unique = heads.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != heads.len() {
        return Err(CliError::failed("Duplicate head revisions specified"));
    }
    let existing = map.revisions.iter().map(|r| r.id());
    authoring::check_new_rev_id(&rev_id, existing).map_err(authoring_error)?;

    let create_date = CreateDate::now(options.timezone.as_deref()).map_err(authoring_error)?;

    let version_dir = match &request.directory {
        Some(dir) => dir.clone(),
        None => choose_version_location(&cwd, map, &script_directory, &heads, request)?,
    };
    if options.has_version_locations || request.directory.is_some() {
        ensure_directory(out, &version_dir)?;
    }
    let file_name = authoring::revision_file_name(
        &options.naming,
        &rev_id,
        request.message.as_deref(),
        &create_date,
    )
    .map_err(authoring_error)?;
    let path = version_dir.join(file_name);
    if let Some(parent) = path.parent() {
        ensure_directory(out, parent)?;
    }

    if !request.splice {
        if let Some(&not_head) = heads.iter().flatten().find(|&&h| !map.get(h).is_head()) {
            return Err(CliError::failed(format!(
                "Revision {} is not a head revision; please specify --splice to create a new \
                 branch from this revision",
                map.id(not_head)
            )));
        }
    }

    let depends_on = resolve_depends_on(map, &request.depends_on)?;

    let mut spec = RevisionSpec::new(rev_id.clone(), request.message.as_deref(), create_date);
    spec.down_revisions = heads
        .iter()
        .flatten()
        .map(|&h| map.id(h).to_string())
        .collect();
    // A squash revision Alembic cannot see yet is written as the END it replaces (aurora reads
    // END as the squash revision), so Alembic's chain stays whole.
    let scripts = project.scripts()?;
    let squash_dir = script_directory.squash_dir();
    spec.down_revisions = spec
        .down_revisions
        .iter()
        .map(|id| crate::squash::file_parent(scripts, &squash_dir, id))
        .collect();
    spec.branch_labels = request.branch_label.iter().cloned().collect();
    spec.depends_on = depends_on;
    spec.upgrades = request.upgrades.clone();
    spec.downgrades = request.downgrades.clone();
    spec.imports = request.imports.clone();
    spec.token_bodies = request.token_bodies.clone();
    spec.template_args = request.template_args.clone();
    spec.config = Some(template_config(&project.config));

    let template_path = script_directory.dir.join("script.py.mako");
    let status = format!("Generating {}", path.display());
    let written = write_revision(&template_path, &path, &spec, &request.replaces);
    match written {
        Ok(()) => out.print(&format!("{status} ...  done")),
        Err(error) => {
            out.print(&format!("{status} ...  FAILED"));
            return Err(error);
        }
    }

    for hook in &hooks {
        run_post_write_hook(out, hook, &path)?;
    }
    check_written_revision(&script_directory, &path, request.branch_label.as_deref())?;
    Ok(path)
}

/// One entry of `[post_write_hooks]`: its name and its `name.key` options.
#[derive(Debug, Clone)]
struct PostWriteHook {
    name: String,
    options: std::collections::BTreeMap<String, String>,
}

/// The hooks named by `hooks` in the ini file's `[post_write_hooks]` section, in order.
fn post_write_hooks(project: &Project) -> Result<Vec<PostWriteHook>, CliError> {
    let config = &project.config;
    if !config.has_section("post_write_hooks") {
        return Ok(Vec::new());
    }
    let names = config
        .section_option("post_write_hooks", "hooks")?
        .unwrap_or_default();
    let keys = config.section_keys("post_write_hooks");
    let mut hooks = Vec::new();
    for name in names.split([',', ' ']).filter(|n| !n.is_empty()) {
        let prefix = format!("{name}.");
        let mut options = std::collections::BTreeMap::new();
        for key in keys.iter().filter(|k| k.starts_with(&prefix)) {
            if let Some(value) = config.section_option("post_write_hooks", key)? {
                options.insert(key[prefix.len()..].to_string(), value);
            }
        }
        hooks.push(PostWriteHook {
            name: name.to_string(),
            options,
        });
    }
    Ok(hooks)
}

/// Alembic's `_run_hooks` for one hook: `exec` runs `executable`, `console_scripts` runs the
/// `entrypoint` command found on PATH, `module` runs `python3 -m module`; `options` are split
/// like a shell would, with `REVISION_SCRIPT_FILENAME` standing for the new file.
fn run_post_write_hook(
    out: &mut Output,
    hook: &PostWriteHook,
    path: &Path,
) -> Result<(), CliError> {
    let name = &hook.name;
    let required = |key: &str| {
        hook.options.get(key).cloned().ok_or_else(|| {
            CliError::failed(format!(
                "Key {name}.{key} is required for post write hook {}",
                repr_str(name)
            ))
        })
    };
    let kind = hook.options.get("type").ok_or_else(|| {
        CliError::failed(format!(
            "Key '{name}.type' (or 'type' in toml) is required for post write hook {}",
            repr_str(name)
        ))
    })?;
    out.print(&format!("Running post write hook {} ...", repr_str(name)));
    out.flush();
    let mut command: Vec<String> = match kind.as_str() {
        "exec" => vec![required("executable")?],
        "console_scripts" => vec![required("entrypoint")?],
        "module" => vec!["python3".to_string(), "-m".to_string(), required("module")?],
        other => {
            out.print("  FAILED");
            return Err(CliError::failed(format!(
                "No formatter with name '{other}' registered"
            )));
        }
    };
    let mut options = hook.options.get("options").cloned().unwrap_or_default();
    if !options.contains("REVISION_SCRIPT_FILENAME") {
        options = format!("REVISION_SCRIPT_FILENAME {options}");
    }
    let file = path.display().to_string();
    command.extend(
        shell_split(&options)
            .into_iter()
            .map(|o| o.replace("REVISION_SCRIPT_FILENAME", &file)),
    );
    let mut process = std::process::Command::new(&command[0]);
    process.args(&command[1..]);
    if let Some(cwd) = hook.options.get("cwd") {
        process.current_dir(cwd);
    }
    match process.status() {
        Ok(_) => {
            out.print("  done");
            Ok(())
        }
        Err(e) => {
            out.print("  FAILED");
            Err(CliError::Crash(format!(
                "post write hook {}: cannot run {}: {e}",
                repr_str(name),
                command[0]
            )))
        }
    }
}

/// Splits a command line as Python's `shlex.split` does in POSIX mode: whitespace separates
/// words, quotes group them, a backslash escapes the next character outside single quotes.
fn shell_split(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => word.push('\\'),
                        },
                        other => word.push(other),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    word.push(e);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// What `script.py.mako` sees of `config`: the main section's options.
fn template_config(config: &crate::config::Config) -> crate::template::ConfigView {
    let main = config
        .section_keys(&config.section)
        .into_iter()
        .map(|key| {
            let value = match config.main_option(&key) {
                Ok(v) => Ok(v.unwrap_or_default()),
                Err(e) => Err(e.to_string()),
            };
            (key, value)
        })
        .collect();
    crate::template::ConfigView {
        ini_section: config.section.clone(),
        file_name: Some(config.config_file_name.clone()),
        main,
    }
}

/// Renders `script.py.mako` and writes the file.
fn write_revision(
    template_path: &Path,
    path: &Path,
    spec: &RevisionSpec,
    replaces: &[String],
) -> Result<(), CliError> {
    let template = std::fs::read_to_string(template_path).map_err(|e| {
        CliError::Crash(format!(
            "cannot read the revision template {}: {e}",
            template_path.display()
        ))
    })?;
    let content =
        authoring::render_revision(&template_path.display().to_string(), Some(&template), spec)
            .map_err(|e| match e {
                // Alembic does not catch Mako's compile errors: a traceback
                // ending in Mako's message, exit status 1.
                authoring::AuthoringError::Template(t) if t.mako.is_some() => CliError::Crash(
                    format!("mako.exceptions.{}: {t}", t.mako.unwrap_or_default()),
                ),
                // The template's name is its path.
                e => CliError::failed(format!("Template rendering failed; {e}")),
            })?;
    let content = if replaces.is_empty() {
        content
    } else {
        crate::squash::with_replaces(&path.display().to_string(), &content, replaces)
            .map_err(|e| CliError::failed(e.to_string()))?
    };
    authoring::write_new_file(path, &content).map_err(authoring_error)
}

/// What Alembic does after writing: read the file back, check the branch label made it into
/// the file, and add the revision to the map (a clash there is a crash in Alembic).
fn check_written_revision(
    script_directory: &ScriptDirectory,
    path: &Path,
    branch_label: Option<&str>,
) -> Result<(), CliError> {
    let script = crate::script::load_script(path).map_err(|e| CliError::failed(e.to_string()))?;
    if let Some(label) = branch_label {
        if script.branch_labels.is_empty() {
            return Err(CliError::failed(format!(
                "Version {} specified branch_labels {label}, however the migration file {} does \
                 not have them; have you upgraded your script.py.mako to include the \
                 'branch_labels' section?",
                script.revision,
                path.display()
            )));
        }
    }
    let scripts = script_directory.load_scripts()?;
    match RevisionMap::build(scripts) {
        Ok(_) => Ok(()),
        Err(error) => Err(CliError::Crash(error.to_string())),
    }
}

/// Where the new file goes: `--version-path` (which must be a version location), else the
/// directory of the first head when there are several locations, else the only location.
fn choose_version_location(
    cwd: &Path,
    map: &RevisionMap,
    script_directory: &ScriptDirectory,
    heads: &[Option<usize>],
    request: &NewRevision,
) -> Result<PathBuf, CliError> {
    let locations = &script_directory.version_locations;
    let chosen = match &request.version_path {
        Some(given) => {
            let absolute = crate::config::absolute(cwd, Path::new(given));
            if !locations.contains(&absolute) {
                return Err(CliError::failed(format!(
                    "Path {} is not represented in current version locations",
                    pure_path_str(given)
                )));
            }
            absolute
        }
        None if locations.len() > 1 => {
            let first = heads.iter().flatten().next().ok_or_else(|| {
                CliError::failed(
                    "Multiple version locations present, please specify --version-path",
                )
            })?;
            let script_path = &map.get(*first).script.path;
            script_path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        }
        None => locations
            .first()
            .cloned()
            .ok_or_else(|| CliError::failed("No version locations configured"))?,
    };
    Ok(chosen)
}

/// `--depends-on`: each resolved to one revision; a branch label is kept as written, a
/// (partial) identifier becomes the full identifier.
fn resolve_depends_on(map: &RevisionMap, depends_on: &[String]) -> Result<Vec<String>, CliError> {
    let catch = Catch::default();
    let mut out = Vec::new();
    for dep in depends_on {
        let found = map
            .get_revision(Some(dep))
            .map_err(|e| catch.word(e))?
            .ok_or_else(|| {
                CliError::Crash(format!(
                    "--depends-on '{dep}' names no revision (it is base)"
                ))
            })?;
        let revision = map.get(found);
        if revision.branch_labels.contains(dep.as_str()) {
            out.push(dep.clone());
        } else {
            out.push(revision.id().to_string());
        }
    }
    Ok(out)
}

/// Alembic's `_ensure_directory`: creates a missing directory and says so.
fn ensure_directory(out: &mut Output, path: &Path) -> Result<(), CliError> {
    if path.exists() {
        return Ok(());
    }
    let status = format!("Creating directory {}", path.display());
    match std::fs::create_dir_all(path) {
        Ok(()) => {
            out.print(&format!("{status} ...  done"));
            Ok(())
        }
        Err(e) => {
            out.print(&format!("{status} ...  FAILED"));
            Err(CliError::Crash(format!(
                "cannot create directory {}: {e}",
                path.display()
            )))
        }
    }
}

/// How Python's `pathlib` prints a path: `.` parts and repeated or trailing slashes dropped.
fn pure_path_str(path: &str) -> String {
    let p = Path::new(path);
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for component in p.components() {
        match component {
            Component::RootDir => absolute = true,
            Component::CurDir => {}
            Component::ParentDir => parts.push("..".to_string()),
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::Prefix(prefix) => {
                parts.push(prefix.as_os_str().to_string_lossy().into_owned())
            }
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// `Path.absolute()`: joined onto the working directory, `..` kept.
fn python_absolute(cwd: &Path, path: &str) -> PathBuf {
    let pure = pure_path_str(path);
    if pure.starts_with('/') {
        PathBuf::from(pure)
    } else if pure == "." {
        cwd.to_path_buf()
    } else {
        cwd.join(pure)
    }
}

// ----- edit ----------------------------------------------------------------------------------

/// `alembic edit REV`: opens each revision file `REV` names in the user's editor.
pub fn edit(project: &mut Project, out: &mut Output, rev: &str) -> Result<(), CliError> {
    project.script_directory()?;
    let catch = Catch::default();
    let paths: Vec<PathBuf> = if rev == "current" {
        let current = super::migrate::database_heads(project, out)?;
        if current.is_empty() {
            return Err(CliError::failed("No current revisions"));
        }
        let map = project.map(&catch)?;
        map.get_revisions_many(&current)
            .map_err(|e| catch.word(e))?
            .into_iter()
            .flatten()
            .map(|r| map.get(r).script.path.clone())
            .collect()
    } else {
        let map = project.map(&catch)?;
        let revisions = map.get_revisions(rev).map_err(|e| catch.word(e))?;
        if revisions.is_empty() {
            return Err(CliError::failed(format!(
                "No revision files indicated by symbol '{rev}'"
            )));
        }
        let mut paths = Vec::new();
        for r in revisions {
            let r = r.ok_or_else(|| {
                CliError::Crash(format!(
                    "'{rev}' names no revision file (it resolves to base)"
                ))
            })?;
            paths.push(map.get(r).script.path.clone());
        }
        paths
    };
    out.flush();
    for path in paths {
        open_in_editor(&path)
            .map_err(|message| CliError::failed(format!("Error executing editor ({message})")))?;
    }
    Ok(())
}

/// Alembic's `_find_editor`: `$EDITOR`, then `$VISUAL`, each either a path that exists or a
/// command looked up on `PATH` ahead of the usual editors.
fn find_editor() -> Result<PathBuf, String> {
    let mut candidates: Vec<String> = ["sensible-editor", "editor", "nano", "vim", "code"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (i, var) in ["EDITOR", "VISUAL"].iter().enumerate() {
        if let Some(choice) = std::env::var_os(var) {
            let choice = choice.to_string_lossy().into_owned();
            if Path::new(&choice).exists() {
                return Ok(PathBuf::from(choice));
            }
            if !choice.contains('/') {
                candidates.insert(i, choice);
            }
        }
    }
    let path_var = std::env::var("PATH").unwrap_or_default();
    for candidate in &candidates {
        for dir in path_var.split(':') {
            let path = Path::new(dir).join(candidate);
            if path.exists() {
                return Ok(path);
            }
        }
    }
    Err(
        "No suitable editor found. Please set the \"EDITOR\" or \"VISUAL\" environment \
         variables"
            .to_string(),
    )
}

fn open_in_editor(path: &Path) -> Result<(), String> {
    let editor = find_editor()?;
    let command = format!(
        "[{}, {}]",
        repr_str(&editor.to_string_lossy()),
        repr_str(&path.to_string_lossy())
    );
    let status = std::process::Command::new(&editor)
        .arg(path)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", editor.display()))?;
    if status.success() {
        return Ok(());
    }
    match status.code() {
        Some(code) => Err(format!(
            "Command '{command}' returned non-zero exit status {code}."
        )),
        None => Err(format!("Command '{command}' was killed by a signal.")),
    }
}

// ----- init ----------------------------------------------------------------------------------

/// `alembic init DIRECTORY [-t TEMPLATE] [--package]`. Runs without reading any configuration:
/// only the name of the ini file matters, which the new `alembic.ini` will be.
pub fn init(
    cli: &Cli,
    cwd: &Path,
    out: &mut Output,
    directory: &str,
    template: &str,
    package: bool,
) -> Result<(), CliError> {
    let ini_name = ini_file_name(cli)?;
    let directory_path = python_absolute(cwd, directory);
    if directory_path.is_dir()
        && std::fs::read_dir(&directory_path)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        return Err(CliError::failed(format!(
            "Directory {} already exists and is not empty",
            pure_path_str(directory)
        )));
    }
    let files = match template {
        "generic" => GENERIC_TEMPLATE,
        "async" => ASYNC_TEMPLATE,
        "multidb" => MULTIDB_TEMPLATE,
        "pyproject" => PYPROJECT_TEMPLATE,
        "pyproject_async" => PYPROJECT_ASYNC_TEMPLATE,
        other => return Err(CliError::failed(format!("No such template {other}"))),
    };
    let create = |out: &mut Output, path: &Path| -> Result<(), CliError> {
        let status = format!("Creating directory {}", path.display());
        match std::fs::create_dir_all(path) {
            Ok(()) => {
                out.print(&format!("{status} ...  done"));
                Ok(())
            }
            Err(e) => {
                out.print(&format!("{status} ...  FAILED"));
                Err(CliError::Crash(format!(
                    "cannot create {}: {e}",
                    path.display()
                )))
            }
        }
    };
    if !directory_path.exists() {
        create(out, &directory_path)?;
    }
    let versions = directory_path.join("versions");
    create(out, &versions)?;

    let config_file = python_absolute(cwd, &ini_name);
    let toml_path = python_absolute(cwd, &toml_file_name(cli));
    let script_location_for = |config_file: &Path| {
        if Path::new(directory).is_absolute() {
            pure_path_str(directory)
        } else {
            let base = config_file.parent().unwrap_or(cwd);
            let relative = relative_path(
                &crate::config::absolute(cwd, Path::new(directory)),
                &crate::config::absolute(cwd, base),
            );
            if relative.is_empty() {
                "%(here)s".to_string()
            } else {
                format!("%(here)s/{relative}")
            }
        }
    };
    let script_location = script_location_for(&config_file);
    let mut has_toml = false;

    for (name, content) in files {
        let (dest, text) = if *name == "alembic.ini.mako" {
            if config_file.exists() {
                out.print(&format!(
                    "File {} already exists, skipping",
                    config_file.display()
                ));
                continue;
            }
            (
                config_file.clone(),
                content.replace("${script_location}", &script_location),
            )
        } else if *name == "pyproject.toml.mako" {
            has_toml = true;
            let text = content.replace("${script_location}", &script_location_for(&toml_path));
            if toml_path.exists() {
                let existing = std::fs::read_to_string(&toml_path).map_err(|e| {
                    CliError::Crash(format!("cannot read {}: {e}", toml_path.display()))
                })?;
                let parsed: toml::Value = existing.parse().map_err(|e| {
                    CliError::Crash(format!(
                        "tomllib.TOMLDecodeError: {} ({e})",
                        toml_path.display()
                    ))
                })?;
                if parsed.get("tool").and_then(|t| t.get("alembic")).is_some() {
                    // util.msg without the command's messaging options: `-q` does not
                    // silence it.
                    out.sql(&format!(
                        "File {} already exists and already has a [tool.alembic] section, skipping\n",
                        toml_path.display()
                    ));
                    continue;
                }
                append_status(out, &toml_path, &text)?;
                continue;
            }
            (toml_path.clone(), text)
        } else {
            (directory_path.join(name), content.to_string())
        };
        // Alembic writes these through a script directory made without the command's
        // messaging options, so `-q` does not silence them.
        write_status(out, "Generating", &dest, &text, true)?;
    }
    if package {
        for path in [
            directory_path.join("__init__.py"),
            versions.join("__init__.py"),
        ] {
            write_status(out, "Adding", &path, "", false)?;
        }
    }
    if has_toml {
        out.print(&format!(
            "Please edit configuration settings in {} and configuration/connection/logging \
             settings in {} before proceeding.",
            toml_path.display(),
            config_file.display()
        ));
    } else {
        out.print(&format!(
            "Please edit configuration/connection/logging settings in {} before proceeding.",
            config_file.display()
        ));
    }
    Ok(())
}

/// `Appending to existing PATH ...  done`: two newlines and `text` added to the file.
fn append_status(out: &mut Output, path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let status = format!("Appending to existing {}", path.display());
    let result = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(format!("\n\n{text}").as_bytes()));
    // Written through the new script directory's messaging, as `Generating`.
    match result {
        Ok(()) => {
            out.sql(&format!("{status} ...  done\n"));
            Ok(())
        }
        Err(e) => {
            out.sql(&format!("{status} ...  FAILED\n"));
            Err(CliError::Crash(format!(
                "cannot write {}: {e}",
                path.display()
            )))
        }
    }
}

/// The pyproject.toml the command line names, as Alembic's `_inis_from_config` picks it.
fn toml_file_name(cli: &Cli) -> String {
    if let Some(name) = cli.config.iter().find(|n| basename(n) == "pyproject.toml") {
        return name.clone();
    }
    match std::env::var("ALEMBIC_CONFIG") {
        Ok(name) if !name.is_empty() && basename(&name) == "pyproject.toml" => name,
        _ => "pyproject.toml".to_string(),
    }
}

fn write_status(
    out: &mut Output,
    verb: &str,
    path: &Path,
    text: &str,
    loud: bool,
) -> Result<(), CliError> {
    let status = format!("{verb} {}", path.display());
    let mut say = |line: String| {
        if loud {
            out.sql(&format!("{line}\n"));
        } else {
            out.print(&line);
        }
    };
    match std::fs::write(path, text) {
        Ok(()) => {
            say(format!("{status} ...  done"));
            Ok(())
        }
        Err(e) => {
            say(format!("{status} ...  FAILED"));
            Err(CliError::Crash(format!(
                "cannot write {}: {e}",
                path.display()
            )))
        }
    }
}

/// The ini file the command line names, as Alembic's `_inis_from_config` picks it.
fn ini_file_name(cli: &Cli) -> Result<String, CliError> {
    let env = std::env::var("ALEMBIC_CONFIG")
        .ok()
        .filter(|v| !v.is_empty());
    let default_ini = match &env {
        Some(name) if basename(name) != "pyproject.toml" => name.clone(),
        _ => "alembic.ini".to_string(),
    };
    let mut ini: Option<&String> = None;
    let mut toml = false;
    for name in &cli.config {
        if basename(name) == "pyproject.toml" {
            if toml {
                return Err(CliError::failed("pyproject.toml indicated more than once"));
            }
            toml = true;
        } else {
            if ini.is_some() {
                return Err(CliError::failed("only one ini file may be indicated"));
            }
            ini = Some(name);
        }
    }
    Ok(ini.cloned().unwrap_or(default_ini))
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `path` relative to `base` (both absolute and normalized), walking up with `..`.
fn relative_path(path: &Path, base: &Path) -> String {
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path
        .iter()
        .zip(base.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..base.len() {
        parts.push("..".to_string());
    }
    for c in &path[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    parts.join("/")
}

/// Adds env.py's `configure(template_args={...})` to the request, as Alembic updates the
/// revision context's template arguments with it. Keys are strings; values are what a
/// template can print: str, bool, None, and lists or tuples of them.
fn add_template_args(
    request: &mut NewRevision,
    args: Option<crate::interp::Value>,
) -> Result<(), CliError> {
    use crate::interp::Value as Py;
    use crate::template::Value as T;
    let Some(args) = args else { return Ok(()) };
    let Py::Dict(dict) = &args else {
        return Err(CliError::Crash(format!(
            "env.py: configure(template_args=<{}>): a dict is expected",
            args.type_name()
        )));
    };
    fn convert(key: &str, v: &Py) -> Result<T, CliError> {
        Ok(match v {
            Py::None => T::None,
            Py::Bool(b) => T::Bool(*b),
            Py::Str(s) => T::str(s.as_ref()),
            Py::List(items) => T::List(
                items
                    .borrow()
                    .iter()
                    .map(|i| convert(key, i))
                    .collect::<Result<_, _>>()?,
            ),
            Py::Tuple(items) => T::Tuple(
                items
                    .iter()
                    .map(|i| convert(key, i))
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(CliError::Crash(format!(
                    "env.py: configure(template_args={{{key:?}: <{}>}}): aurora passes str, bool, \
                     None, list and tuple values to script.py.mako (convert it with str())",
                    other.type_name()
                )))
            }
        })
    }
    for (key, value) in dict.borrow().items.iter() {
        let Py::Str(key) = key else {
            return Err(CliError::Crash(format!(
                "env.py: configure(template_args=...): key <{}> is not a str",
                key.type_name()
            )));
        };
        let value = convert(key, value)?;
        request
            .template_args
            .retain(|(k, _)| k.as_str() != key.as_ref());
        request.template_args.push((key.to_string(), value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_paths_print_like_pathlib() {
        assert_eq!(pure_path_str("migrations/"), "migrations");
        assert_eq!(pure_path_str("./migrations"), "migrations");
        assert_eq!(pure_path_str("a//b/./c"), "a/b/c");
        assert_eq!(pure_path_str("../x"), "../x");
        assert_eq!(pure_path_str("/tmp/x/"), "/tmp/x");
        assert_eq!(pure_path_str("."), ".");
    }

    #[test]
    fn shell_words_split_like_shlex() {
        assert_eq!(
            shell_split(r#"format  REVISION_SCRIPT_FILENAME "a b" 'c d' e\ f"#),
            ["format", "REVISION_SCRIPT_FILENAME", "a b", "c d", "e f"]
        );
        assert_eq!(shell_split(""), Vec::<String>::new());
        assert_eq!(shell_split(r#"-l "x\"y" ''"#), ["-l", "x\"y", ""]);
    }

    #[test]
    fn relative_paths_walk_up() {
        assert_eq!(
            relative_path(Path::new("/a/b/c"), Path::new("/a")),
            "b/c".to_string()
        );
        assert_eq!(
            relative_path(Path::new("/a/x"), Path::new("/a/b")),
            "../x".to_string()
        );
        assert_eq!(relative_path(Path::new("/a"), Path::new("/a")), "");
    }
}
