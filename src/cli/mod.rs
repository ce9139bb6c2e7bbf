//! The command line: argument parsing, the commands, and every byte printed.
//! Errors become Alembic's `FAILED: ...` line (exit 255), or, where Python
//! Alembic would crash with a traceback, a clear message on stderr (exit 1).

mod args;
mod aurora_x;
mod authoring;
mod autogenerate;
mod backup;
mod checksum;
mod drift;
mod environment;
mod fleet;
mod format;
mod history;
mod journal;
mod json;
mod lint;
mod migrate;
mod output;
mod project;
mod rehearse;
mod squash;

use clap::Parser;

pub use args::{Cli, Command, OutputFormat};
pub use output::Output;
pub use project::Project;

use crate::graph::RevisionError;
use crate::script::ScriptError;

/// The version aurora reports, with the Alembic release whose behaviour it follows.
pub const VERSION_LINE: &str = concat!(
    "aurora ",
    env!("CARGO_PKG_VERSION"),
    " (alembic 1.20.1 compatible)"
);

/// How a command failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CliError {
    /// Alembic's `CommandError`: `FAILED: <message>` on stdout, exit 255.
    Failed(String),
    /// Where Python Alembic dies with a traceback: a message on stderr, exit 1.
    Crash(String),
    /// SIGINT or SIGTERM ended an online run: one line on stderr, exit 130 or 143.
    Interrupted { signal: i32, message: String },
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Failed(message)
            | CliError::Crash(message)
            | CliError::Interrupted { message, .. } => f.write_str(message),
        }
    }
}

impl CliError {
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError::Failed(message.into())
    }
}

impl From<ScriptError> for CliError {
    fn from(error: ScriptError) -> CliError {
        if let ScriptError::Config(config) = error {
            return CliError::from(config);
        }
        if error.is_crash_in_alembic() {
            CliError::Crash(error.to_string())
        } else {
            CliError::Failed(error.to_string())
        }
    }
}

impl From<crate::config::ConfigError> for CliError {
    /// Alembic's own checks are `CommandError`s; a malformed file or option
    /// value is a Python exception there (exit status 1).
    fn from(error: crate::config::ConfigError) -> CliError {
        use crate::config::ConfigError as E;
        match error {
            E::NoScriptLocation | E::MissingSection { .. } | E::TomlBoolean(_) => {
                CliError::Failed(error.to_string())
            }
            _ => CliError::Crash(error.to_string()),
        }
    }
}

/// The wording rules of Alembic's `ScriptDirectory._catch_revision_errors`.
#[derive(Debug, Default, Clone)]
pub struct Catch<'a> {
    /// Message for `RangeNotAncestorError`, with `%(start)s` / `%(end)s`.
    pub ancestor: Option<&'a str>,
    /// Message for `MultipleHeads`, with `%(head_arg)s`.
    pub multiple_heads: Option<&'a str>,
    pub start: Option<&'a str>,
    pub end: Option<&'a str>,
    pub resolution: Option<&'a str>,
}

impl Catch<'_> {
    /// Words a revision error as Alembic's command layer does.
    pub fn word(&self, error: RevisionError) -> CliError {
        match error {
            RevisionError::RangeNotAncestor { lower, upper } => {
                let start = self
                    .start
                    .map(str::to_string)
                    .or(lower)
                    .unwrap_or_else(|| "None".to_string());
                let end = self
                    .end
                    .map(str::to_string)
                    .or(upper)
                    .unwrap_or_else(|| "None".to_string());
                let template = self.ancestor.unwrap_or(
                    "Requested range %(start)s:%(end)s does not refer to ancestor/descendant revisions along the same branch",
                );
                CliError::Failed(
                    template
                        .replace("%(start)s", &start)
                        .replace("%(end)s", &end),
                )
            }
            RevisionError::MultipleHeads { heads, argument } => {
                let template = self.multiple_heads.unwrap_or(
                    "Multiple head revisions are present for given argument '%(head_arg)s'; please specify a specific target revision, '<branchname>@%(head_arg)s' to narrow to a specific head, or 'heads' for all heads",
                );
                let head_arg = self.end.map(str::to_string).unwrap_or(argument);
                CliError::Failed(
                    template
                        .replace("%(head_arg)s", &head_arg)
                        .replace("%(heads)s", &heads.join(", ")),
                )
            }
            RevisionError::Resolution { argument, .. } => match self.resolution {
                Some(message) => CliError::Failed(message.to_string()),
                None => {
                    CliError::Failed(format!("Can't locate revision identified by '{argument}'"))
                }
            },
            RevisionError::Broken(message) => CliError::Crash(message),
            other => CliError::Failed(other.to_string()),
        }
    }
}

/// Runs the command line and returns the process exit status.
pub fn run() -> i32 {
    let argv: Vec<String> = std::env::args().collect();
    run_with(&argv)
}

/// Runs the command line with explicit arguments (`argv[0]` is the program name).
/// With `AURORA_LOG=debug`, the time spent in each phase follows on stderr.
pub fn run_with(argv: &[String]) -> i32 {
    if let Err(e) = crate::diagnostics::init_from_env() {
        eprintln!("aurora: error: {e}");
        return 2;
    }
    let start = std::time::Instant::now();
    let code = run_command_line(argv);
    if crate::diagnostics::enabled() {
        for line in crate::diagnostics::report(start.elapsed()) {
            eprintln!("{line}");
        }
    }
    code
}

fn run_command_line(argv: &[String]) -> i32 {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return code;
        }
    };
    if cli.version {
        println!("{VERSION_LINE}");
        return 0;
    }
    let Some(command) = cli.command.as_ref() else {
        eprintln!("usage: aurora [-h] [--version] [-c CONFIG] [-n NAME] [-x X] [--raiseerr] [-q] <command> ...");
        eprintln!("aurora: error: too few arguments");
        return 2;
    };
    let mut out = Output::new(cli.quiet);
    out.json = cli.format == OutputFormat::Json;
    if out.json
        && !matches!(
            command,
            Command::Current { .. }
                | Command::Heads { .. }
                | Command::Branches { .. }
                | Command::History { .. }
                | Command::Show { .. }
                | Command::Status
                | Command::Check
                | Command::Drift
                | Command::Lint { .. }
                | Command::Journal
                | Command::Fleet { .. }
        )
    {
        eprintln!(
            "aurora: error: --format json is available for current, heads, branches, history, show, status, check, drift, lint, journal and fleet, not for {}",
            command_name(command)
        );
        return 2;
    }
    if cli.format == OutputFormat::Github && !matches!(command, Command::Lint { .. }) {
        eprintln!(
            "aurora: error: --format github is available for lint, not for {}",
            command_name(command)
        );
        return 2;
    }
    let result = dispatch(&cli, command, &mut out);
    match result {
        Ok(()) => 0,
        Err(CliError::Failed(message)) => {
            if cli.raiseerr {
                out.flush();
                eprintln!("aurora: error: {message}");
                return 1;
            }
            out.failed(&message);
            out.flush();
            255
        }
        Err(CliError::Crash(message)) => {
            out.flush();
            eprintln!("aurora: error: {message}");
            1
        }
        Err(CliError::Interrupted { signal, message }) => {
            out.flush();
            eprintln!("aurora: {message}");
            crate::db::interrupt::exit_status(signal)
        }
    }
}

fn dispatch(cli: &Cli, command: &Command, out: &mut Output) -> Result<(), CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Crash(format!("cannot read the current directory: {e}")))?;
    if let Command::Fleet { .. } = command {
        return fleet::fleet(cli, command, out);
    }
    if let Command::ListTemplates = command {
        return history::list_templates(out);
    }
    if let Command::Completions { shell } = command {
        let mut script = Vec::new();
        clap_complete::generate(
            *shell,
            &mut <Cli as clap::CommandFactory>::command(),
            "aurora",
            &mut script,
        );
        out.print_raw(&String::from_utf8_lossy(&script));
        return Ok(());
    }
    if let Command::Man = command {
        let mut page = Vec::new();
        clap_mangen::Man::new(
            <Cli as clap::CommandFactory>::command().version(env!("CARGO_PKG_VERSION")),
        )
        .render(&mut page)
        .map_err(|e| CliError::Crash(format!("cannot render the manual page: {e}")))?;
        out.print_raw(&String::from_utf8_lossy(&page));
        return Ok(());
    }
    if let Command::Init {
        template,
        package,
        directory,
    } = command
    {
        return authoring::init(cli, &cwd, out, directory, template, *package);
    }
    let mut project = Project::open(cli, &cwd)?;
    let result = run_command(cli, command, out, &mut project);
    // The process ends right after: freeing a large revision map one node at
    // a time would only delay the exit.
    std::mem::forget(project);
    result
}

fn run_command(
    _cli: &Cli,
    command: &Command,
    out: &mut Output,
    project: &mut Project,
) -> Result<(), CliError> {
    match command {
        Command::Heads {
            verbose,
            resolve_dependencies,
        } => history::heads(project, out, *verbose, *resolve_dependencies),
        Command::Branches { verbose } => history::branches(project, out, *verbose),
        Command::History {
            rev_range,
            verbose,
            indicate_current,
        } => history::history(
            project,
            out,
            rev_range.as_deref(),
            *verbose,
            *indicate_current,
        ),
        Command::Show { rev } => history::show(project, out, rev),
        Command::Upgrade {
            rehearse: true,
            rehearse_lock_timeout,
            revision,
            lint,
            ..
        } => {
            if *lint {
                lint::before_upgrade(project, out, revision)?;
            }
            rehearse::rehearse(project, out, revision, rehearse_lock_timeout.as_deref())
        }
        Command::Upgrade {
            sql,
            tag,
            revision,
            backup,
            lint,
            ..
        } => {
            if *lint {
                lint::before_upgrade(project, out, revision)?;
            }
            project.backup = backup::requested(project, backup.as_deref(), false)?;
            migrate::upgrade(project, out, revision, *sql, tag.as_deref())
        }
        Command::Downgrade {
            sql,
            tag,
            revision,
            yes,
            backup,
        } => {
            // The helper verb `downgrade all` (no revision or label of that name) empties the
            // database, so it backs up first, as `reset` does.
            let all = revision == "all"
                && !*sql
                && aurora_x::downgrade_target(project, revision)? == "base";
            project.backup = backup::requested(project, backup.as_deref(), all)?;
            aurora_x::downgrade(project, out, revision, *sql, tag.as_deref(), *yes, false)
        }
        Command::Stamp {
            sql,
            tag,
            purge,
            revisions,
        } => migrate::stamp(project, out, revisions, *sql, tag.as_deref(), *purge),
        Command::Current {
            verbose,
            check_heads,
        } => migrate::current(project, out, *verbose, *check_heads),
        Command::EnsureVersion { sql } => migrate::ensure_version(project, out, *sql),
        Command::Revision {
            message,
            autogenerate,
            sql,
            head,
            splice,
            branch_label,
            version_path,
            rev_id,
            depends_on,
        } => {
            let args = authoring::RevisionArgs {
                message: message.clone(),
                autogenerate: *autogenerate,
                sql: *sql,
                head: head.clone(),
                splice: *splice,
                branch_label: branch_label.clone(),
                version_path: version_path.clone(),
                rev_id: rev_id.clone(),
                depends_on: depends_on.clone(),
            };
            authoring::revision(project, out, &args).map(drop)
        }
        Command::Merge {
            message,
            branch_label,
            rev_id,
            splice,
            revisions,
        } => authoring::merge(
            project,
            out,
            revisions,
            message.as_deref(),
            branch_label.as_deref(),
            rev_id.as_deref(),
            *splice,
        )
        .map(drop),
        Command::Edit { rev } => authoring::edit(project, out, rev),
        Command::Check => autogenerate::check(project, out),
        Command::Drift => drift::drift(project, out),
        Command::Squash {
            range,
            message,
            rev_id,
            finalize,
        } => match range {
            Some(range) if !*finalize => {
                squash::squash(project, out, range, message.as_deref(), rev_id.as_deref())
            }
            _ => squash::finalize(project, out),
        },
        Command::Journal => journal::journal(project, out),
        Command::Fleet { .. } => fleet::fleet(_cli, command, out),
        Command::Status => aurora_x::status(project, out),
        Command::Lint { range, dialect } => lint::lint(
            project,
            out,
            range.as_deref(),
            dialect.as_deref().map(|d| {
                if d == "sqlite" {
                    crate::sql::Dialect::Sqlite
                } else {
                    crate::sql::Dialect::Postgresql
                }
            }),
            match _cli.format {
                OutputFormat::Text => lint::LintFormat::Text,
                OutputFormat::Json => lint::LintFormat::Json,
                OutputFormat::Github => lint::LintFormat::Github,
            },
        ),
        Command::Create { message } => aurora_x::create(project, out, message),
        Command::UpgradeTo { revision } => aurora_x::upgrade_to(project, out, revision),
        Command::DowngradeTo { yes, revision } => {
            let all = matches!(revision.as_str(), "base" | "all");
            project.backup = backup::requested(project, None, all)?;
            aurora_x::downgrade(project, out, revision, false, None, *yes, true)
        }
        Command::ShowSql { revision } => aurora_x::show_sql(project, out, revision.as_deref()),
        Command::Hash { check } => checksum::hash(project, out, *check),
        Command::Reset { yes, backup } => {
            project.backup = backup::requested(project, backup.as_deref(), true)?;
            aurora_x::reset(project, out, *yes)
        }
        Command::Backups { dir } => backup::list(project, out, dir.as_deref()),
        other => Err(CliError::failed(format!(
            "the '{}' command is not available in this build of aurora yet",
            command_name(other)
        ))),
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Branches { .. } => "branches",
        Command::Check => "check",
        Command::Drift => "drift",
        Command::Squash { .. } => "squash",
        Command::Journal => "journal",
        Command::Fleet { .. } => "fleet",
        Command::Current { .. } => "current",
        Command::Downgrade { .. } => "downgrade",
        Command::Edit { .. } => "edit",
        Command::EnsureVersion { .. } => "ensure_version",
        Command::Heads { .. } => "heads",
        Command::History { .. } => "history",
        Command::Init { .. } => "init",
        Command::ListTemplates => "list_templates",
        Command::Merge { .. } => "merge",
        Command::Revision { .. } => "revision",
        Command::Show { .. } => "show",
        Command::Stamp { .. } => "stamp",
        Command::Upgrade { .. } => "upgrade",
        Command::Status => "status",
        Command::Lint { .. } => "lint",
        Command::Create { .. } => "create",
        Command::UpgradeTo { .. } => "upgrade-to",
        Command::DowngradeTo { .. } => "downgrade-to",
        Command::ShowSql { .. } => "show-sql",
        Command::Hash { .. } => "hash",
        Command::Reset { .. } => "reset",
        Command::Backups { .. } => "backups",
        Command::Completions { .. } => "completions",
        Command::Man => "man",
    }
}
