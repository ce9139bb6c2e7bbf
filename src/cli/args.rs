//! The command line, shaped like Alembic's argparse interface.

use clap::{Parser, Subcommand};
use clap_complete::Shell;

/// aurora: Alembic's command line, without Python.
#[derive(Debug, Parser)]
#[command(
    name = "aurora",
    disable_version_flag = true,
    about = "A drop-in replacement for the alembic command line"
)]
pub struct Cli {
    /// Show program's version number and exit.
    #[arg(long)]
    pub version: bool,
    /// Alternate config file; defaults to value of ALEMBIC_CONFIG environment variable, or
    /// "alembic.ini". May also refer to pyproject.toml file. May be specified twice to reference
    /// both files separately.
    #[arg(short = 'c', long = "config")]
    pub config: Vec<String>,
    /// Name of section in .ini file to use for Alembic config (only applies to configparser
    /// config, not toml).
    #[arg(short = 'n', long = "name", default_value = "alembic")]
    pub name: String,
    /// Additional arguments consumed by custom env.py scripts, e.g. -x setting1=somesetting -x
    /// setting2=somesetting.
    #[arg(short = 'x')]
    pub x: Vec<String>,
    /// Raise a full stack trace on error (aurora: report errors with exit status 1).
    #[arg(long)]
    pub raiseerr: bool,
    /// Do not log to std output.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Run without the migration lock (aurora).
    #[arg(long = "no-lock", global = true)]
    pub no_lock: bool,
    /// Seconds to wait for the migration lock held by another run (aurora).
    #[arg(
        long = "lock-timeout",
        global = true,
        default_value_t = 300,
        value_name = "SECONDS"
    )]
    pub lock_timeout: u64,
    /// Output format of current, heads, branches, history, show, status, check and lint (aurora): text as
    /// Alembic prints it, or one JSON document (docs/json-output.md).
    #[arg(long = "format", global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    /// GitHub workflow annotations (`lint` only).
    Github,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show current branch points.
    Branches {
        /// Use more verbose output.
        #[arg(short = 'v', long)]
        verbose: bool,
    },
    /// Check if revision command with autogenerate has pending upgrade ops.
    Check,
    /// Display the current revision for a database.
    Current {
        /// Use more verbose output.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Check if all head revisions are applied to the database. Exit with an error code if this
        /// is not the case.
        #[arg(short = 'c', long = "check-heads")]
        check_heads: bool,
    },
    /// Revert to a previous version.
    #[command(allow_negative_numbers = true)]
    Downgrade {
        /// Don't emit SQL to database - dump to standard output/file instead. See docs on offline mode.
        #[arg(long)]
        sql: bool,
        /// Arbitrary 'tag' name - can be used by custom env.py scripts.
        #[arg(long)]
        tag: Option<String>,
        /// Skip the confirmation prompt (aurora).
        #[arg(long, short = 'y')]
        yes: bool,
        /// aurora: back the database up first (SQLite: a copy; PostgreSQL: pg_dump of the tables
        /// the revisions drop or alter) into DIR (default: [aurora] backup_dir, else ./backups).
        #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "DIR", require_equals = true, conflicts_with = "sql")]
        backup: Option<String>,
        /// Revision identifier.
        revision: String,
    },
    /// Edit revision script(s) using $EDITOR.
    Edit {
        /// Revision identifier.
        rev: String,
    },
    /// Create the alembic version table if it doesn't exist already.
    #[command(name = "ensure_version")]
    EnsureVersion {
        /// Don't emit SQL to database - dump to standard output/file instead. See docs on offline mode.
        #[arg(long)]
        sql: bool,
    },
    /// Show current available heads in the script directory.
    Heads {
        /// Use more verbose output.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Treat dependency versions as down revisions.
        #[arg(long = "resolve-dependencies")]
        resolve_dependencies: bool,
    },
    /// List changeset scripts in chronological order.
    History {
        /// Specify a revision range; format is [start]:[end].
        #[arg(short = 'r', long = "rev-range")]
        rev_range: Option<String>,
        /// Use more verbose output.
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Indicate the current revision.
        #[arg(short = 'i', long = "indicate-current")]
        indicate_current: bool,
    },
    /// Initialize a new scripts directory.
    Init {
        /// Setup template for use with 'init'.
        #[arg(short = 't', long, default_value = "generic")]
        template: String,
        /// Write empty __init__.py files to the environment and version locations.
        #[arg(long)]
        package: bool,
        /// Location of scripts directory.
        directory: String,
    },
    /// List available templates.
    #[command(name = "list_templates")]
    ListTemplates,
    /// Merge two revisions together. Creates a new migration file.
    Merge {
        /// Message string to use with 'revision'.
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// Specify a branch label to apply to the new revision.
        #[arg(long = "branch-label")]
        branch_label: Option<String>,
        /// Specify a hardcoded revision id instead of generating one.
        #[arg(long = "rev-id")]
        rev_id: Option<String>,
        /// Allow a non-head revision as the 'head' to splice onto.
        #[arg(long)]
        splice: bool,
        /// One or more revisions, or 'heads' for all heads.
        #[arg(required = true)]
        revisions: Vec<String>,
    },
    /// Create a new revision file.
    Revision {
        /// Message string to use with 'revision'.
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// Populate revision script with candidate migration operations, based on comparison of
        /// database to model.
        #[arg(long)]
        autogenerate: bool,
        /// Don't emit SQL to database - dump to standard output/file instead. See docs on offline mode.
        #[arg(long)]
        sql: bool,
        /// Specify head revision or <branchname>@head to base new revision on.
        #[arg(long, default_value = "head")]
        head: String,
        /// Allow a non-head revision as the 'head' to splice onto.
        #[arg(long)]
        splice: bool,
        /// Specify a branch label to apply to the new revision.
        #[arg(long = "branch-label")]
        branch_label: Option<String>,
        /// Specify specific path from config for version file.
        #[arg(long = "version-path")]
        version_path: Option<String>,
        /// Specify a hardcoded revision id instead of generating one.
        #[arg(long = "rev-id")]
        rev_id: Option<String>,
        /// Specify one or more revision identifiers which this revision should depend on.
        #[arg(long = "depends-on")]
        depends_on: Vec<String>,
    },
    /// Show the revision(s) denoted by the given symbol.
    #[command(allow_negative_numbers = true)]
    Show {
        /// Revision identifier.
        rev: String,
    },
    /// 'stamp' the revision table with the given revision; don't run any migrations.
    #[command(allow_negative_numbers = true)]
    Stamp {
        /// Don't emit SQL to database - dump to standard output/file instead. See docs on offline mode.
        #[arg(long)]
        sql: bool,
        /// Arbitrary 'tag' name - can be used by custom env.py scripts.
        #[arg(long)]
        tag: Option<String>,
        /// Unconditionally erase the version table before stamping.
        #[arg(long)]
        purge: bool,
        /// One or more revisions, or 'heads' for all heads.
        #[arg(required = true)]
        revisions: Vec<String>,
    },
    /// Upgrade to a later version.
    #[command(allow_negative_numbers = true)]
    Upgrade {
        /// Don't emit SQL to database - dump to standard output/file instead. See docs on offline mode.
        #[arg(long)]
        sql: bool,
        /// Arbitrary 'tag' name - can be used by custom env.py scripts.
        #[arg(long)]
        tag: Option<String>,
        /// aurora: run the upgrade in one transaction (SQLite: on a copy), report time, locks and
        /// rows per revision, then roll back.
        #[arg(long, conflicts_with_all = ["sql", "backup"])]
        rehearse: bool,
        /// aurora: `SET LOCAL lock_timeout` of a rehearsal on PostgreSQL (default: `[aurora]
        /// rehearse_lock_timeout`, else 5s).
        #[arg(long, requires = "rehearse", value_name = "DURATION")]
        rehearse_lock_timeout: Option<String>,
        /// aurora: back the database up first (SQLite: a copy; PostgreSQL: pg_dump of the tables
        /// the revisions drop or alter) into DIR (default: [aurora] backup_dir, else ./backups).
        #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "DIR", require_equals = true, conflicts_with = "sql")]
        backup: Option<String>,
        /// Lint the revisions to be applied first and refuse, touching nothing, on an
        /// error-severity finding (aurora).
        #[arg(long)]
        lint: bool,
        /// Revision identifier.
        revision: String,
    },
    /// Aurora-X: current revision and history.
    Status,
    /// aurora: unsafe operations in the revisions of RANGE ([start]:[end]; default all),
    /// from their typed operations. Exit status 255 when an error-severity rule fires.
    Lint {
        /// The revisions to lint, as in `history -r`.
        range: Option<String>,
        /// The dialect the rules assume (default: that of sqlalchemy.url, else postgresql).
        #[arg(long, value_parser = ["postgresql", "sqlite"])]
        dialect: Option<String>,
    },
    /// Aurora-X: a new revision from the models (`revision --autogenerate -m MESSAGE`).
    Create {
        /// The new revision's message.
        message: String,
    },
    /// Aurora-X: upgrade to a given revision.
    #[command(allow_negative_numbers = true)]
    UpgradeTo {
        /// Revision identifier.
        revision: String,
    },
    /// Aurora-X: downgrade to a given revision, after confirmation.
    #[command(allow_negative_numbers = true)]
    DowngradeTo {
        /// Skip the confirmation prompt.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Revision identifier.
        revision: String,
    },
    /// Run one command on every target of a fleet (aurora): FILE lists database URLs, or
    /// schema=NAME lines against --url, one a line.
    Fleet {
        /// The targets file; with --targets-from-sql, the catalog database's URL.
        file: String,
        /// A query, run on the catalog database FILE names, whose rows' first column are
        /// target lines.
        #[arg(long = "targets-from-sql")]
        targets_from_sql: Option<String>,
        /// The database URL of schema=NAME targets.
        #[arg(long)]
        url: Option<String>,
        /// How many targets run at once.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Stop starting targets after the first failure.
        #[arg(long = "fail-fast")]
        fail_fast: bool,
        /// Skip targets already at the script's heads.
        #[arg(long)]
        resume: bool,
        /// The command to run on each target, e.g. upgrade head.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    /// Show the audit journal, the aurora_journal table (aurora; `[aurora] journal = true`).
    Journal,
    /// aurora: write `aurora.sum` (checksums of the revision files) in each version location,
    /// or with `--check` compare the files with it.
    Hash {
        /// Compare the revision files with `aurora.sum` instead of writing it.
        #[arg(long)]
        check: bool,
    },
    /// Aurora-X: the SQL an upgrade would run (`upgrade REVISION --sql`, head by default).
    #[command(allow_negative_numbers = true)]
    ShowSql {
        /// Revision identifier (head by default).
        revision: Option<String>,
    },
    /// aurora: compare the database with what its migrations say it should be (replayed into a
    /// scratch database); exit status 1 on drift.
    Drift,
    /// aurora: write one revision that takes the schema from START to END (RANGE is START:END,
    /// both replaced), recording `replaces`; or remove the replaced files with --finalize.
    Squash {
        /// START:END, both inclusive, a linear chain.
        #[arg(required_unless_present = "finalize", conflicts_with = "finalize")]
        range: Option<String>,
        /// The new revision's message.
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// The new revision's id (default: a fresh random one).
        #[arg(long = "rev-id")]
        rev_id: Option<String>,
        /// Remove the replaced files of every squash once the database does not need them.
        #[arg(long)]
        finalize: bool,
    },
    /// Aurora-X: downgrade to base, then upgrade to head, after confirmation.
    Reset {
        /// Skip the confirmation prompt.
        #[arg(long, short = 'y')]
        yes: bool,
        /// aurora: back the database up first (SQLite: a copy; PostgreSQL: pg_dump of the tables
        /// the revisions drop or alter) into DIR (default: [aurora] backup_dir, else ./backups).
        #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "DIR", require_equals = true)]
        backup: Option<String>,
    },
    /// aurora: list the backups `--backup` took, oldest first.
    Backups {
        /// The backup directory (default: [aurora] backup_dir, else ./backups).
        dir: Option<String>,
    },
    /// aurora: print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions {
        /// The shell to write the script for.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// aurora: print the manual page (roff, for `man -l -`) on stdout.
    Man,
}
