//! The command line: argument parsing, the commands, and every byte printed.
//! A command's [`crate::Error`] comes back to `main` as a [`Report`], which
//! prints it as Alembic's `FAILED: ...` line (exit 255) or, where Python
//! Alembic would crash with a traceback, a clear message on stderr (exit 1).

mod args;
mod aurora_x;
mod authoring;
mod autogenerate;
mod backup;
mod checksum;
mod drift;
mod fleet;
mod format;
mod history;
mod journal;
mod json;
mod lint;
mod migrate;
mod output;
mod rehearse;
mod squash;

use clap::Parser;

pub use crate::error::Catch;
pub use crate::run::Project;
/// The commands' error: the crate's typed [`crate::Error`], under the name the
/// commands have always used.
pub use crate::Error as CliError;
pub use args::{Cli, Command, OutputFormat};
pub use output::Output;

use crate::run::{environment, project};

/// The version aurora reports, with the Alembic release whose behaviour it follows.
pub const VERSION_LINE: &str = concat!(
    "aurora ",
    env!("CARGO_PKG_VERSION"),
    " (alembic 1.20.1 compatible)"
);

/// A failed command line, on its way to `main`: the typed error, and what
/// printing it needs (the command's output, `--raiseerr`, the `AURORA_LOG=debug`
/// report that follows it).
pub struct Report(Box<Failure>);

struct Failure {
    error: CliError,
    out: Option<Output>,
    raiseerr: bool,
    trailer: Vec<String>,
}

impl Report {
    fn new(error: CliError) -> Report {
        Report::with_output(error, None, false)
    }

    fn with_output(error: CliError, out: Option<Output>, raiseerr: bool) -> Report {
        Report(Box::new(Failure {
            error,
            out,
            raiseerr,
            trailer: Vec::new(),
        }))
    }

    /// The error the command ended with.
    pub fn error(&self) -> &CliError {
        &self.0.error
    }

    /// The exit status: the error's, except that `--raiseerr` makes a
    /// `CommandError` a raised exception (exit 1).
    pub fn exit_status(&self) -> u8 {
        if self.0.raiseerr && self.0.error.is_command_error() {
            1
        } else {
            self.0.error.exit_status()
        }
    }

    /// Prints the error as Alembic does (a `FAILED:` line through the
    /// command's output and logging, or one line on stderr) and gives the
    /// exit status.
    pub fn exit(self) -> std::process::ExitCode {
        let status = self.exit_status();
        let Failure {
            error,
            out,
            raiseerr,
            trailer,
        } = *self.0;
        let mut out = out.unwrap_or_else(|| Output::new(false));
        if error.is_command_error() && !raiseerr {
            out.failed(&error.to_string());
            out.flush();
        } else {
            out.flush();
            if error.is_command_error() {
                eprintln!("aurora: error: {error}");
            } else if let Some(line) = error.printed() {
                eprintln!("{line}");
            }
        }
        drop(out);
        for line in &trailer {
            eprintln!("{line}");
        }
        std::process::ExitCode::from(status)
    }
}

/// Runs the command line; a failure comes back as a [`Report`] for `main`
/// to print.
pub fn run() -> Result<(), Report> {
    let argv: Vec<String> = std::env::args().collect();
    run_with(&argv)
}

/// Runs the command line with explicit arguments (`argv[0]` is the program name).
/// With `AURORA_LOG=debug`, the time spent in each phase follows on stderr.
pub fn run_with(argv: &[String]) -> Result<(), Report> {
    if let Err(e) = crate::diagnostics::init_from_env() {
        return Err(Report::new(CliError::Usage(Some(e.to_string()))));
    }
    let start = std::time::Instant::now();
    let result = run_command_line(argv);
    let trailer = if crate::diagnostics::enabled() {
        crate::diagnostics::report(start.elapsed())
    } else {
        Vec::new()
    };
    match result {
        Ok(()) => {
            for line in trailer {
                eprintln!("{line}");
            }
            Ok(())
        }
        Err(mut report) => {
            report.0.trailer = trailer;
            Err(report)
        }
    }
}

fn run_command_line(argv: &[String]) -> Result<(), Report> {
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Err(Report::new(CliError::Usage(None)))
            } else {
                Ok(())
            };
        }
    };
    if cli.version {
        println!("{VERSION_LINE}");
        return Ok(());
    }
    let Some(command) = cli.command.as_ref() else {
        eprintln!("usage: aurora [-h] [--version] [-c CONFIG] [-n NAME] [-x X] [--raiseerr] [-q] <command> ...");
        return Err(Report::new(CliError::Usage(Some(
            "too few arguments".to_string(),
        ))));
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
        return Err(Report::new(CliError::Usage(Some(format!(
            "--format json is available for current, heads, branches, history, show, status, check, drift, lint, journal and fleet, not for {}",
            command_name(command)
        )))));
    }
    if cli.format == OutputFormat::Github && !matches!(command, Command::Lint { .. }) {
        return Err(Report::new(CliError::Usage(Some(format!(
            "--format github is available for lint, not for {}",
            command_name(command)
        )))));
    }
    dispatch(&cli, command, &mut out)
        .map_err(|error| Report::with_output(error, Some(out), cli.raiseerr))
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
    let options = project::Options {
        config: cli.config.clone(),
        name: cli.name.clone(),
        x: cli.x.clone(),
        lock: crate::db::LockSettings {
            enabled: !cli.no_lock,
            timeout: std::time::Duration::from_secs(cli.lock_timeout),
        },
    };
    let mut project = Project::open(&options, &cwd)?;
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
