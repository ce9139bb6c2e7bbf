//! The command line, shaped like Alembic's argparse interface.

use clap::{Parser, Subcommand};

/// aurora: Alembic's command line, without Python.
#[derive(Debug, Parser)]
#[command(
    name = "aurora",
    disable_version_flag = true,
    about = "A drop-in replacement for the alembic command line"
)]
pub struct Cli {
    /// Show the version and exit.
    #[arg(long)]
    pub version: bool,
    /// Alternate config file; may be given twice (an ini and a pyproject.toml).
    #[arg(short = 'c', long = "config")]
    pub config: Vec<String>,
    /// Name of section in .ini file to use for Alembic config.
    #[arg(short = 'n', long = "name", default_value = "alembic")]
    pub name: String,
    /// Additional arguments consumed by custom env.py scripts.
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
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show current branch points.
    Branches {
        #[arg(short = 'v', long)]
        verbose: bool,
    },
    /// Check if revision command with autogenerate has pending upgrade ops.
    Check,
    /// Display the current revision for a database.
    Current {
        #[arg(short = 'v', long)]
        verbose: bool,
        /// Check if all head revisions are applied to the database.
        #[arg(short = 'c', long = "check-heads")]
        check_heads: bool,
    },
    /// Revert to a previous version.
    #[command(allow_negative_numbers = true)]
    Downgrade {
        #[arg(long)]
        sql: bool,
        #[arg(long)]
        tag: Option<String>,
        /// Skip the confirmation prompt (aurora).
        #[arg(long, short = 'y')]
        yes: bool,
        revision: String,
    },
    /// Edit revision script(s) using $EDITOR.
    Edit { rev: String },
    /// Create the alembic version table if it doesn't exist already.
    #[command(name = "ensure_version")]
    EnsureVersion {
        #[arg(long)]
        sql: bool,
    },
    /// Show current available heads in the script directory.
    Heads {
        #[arg(short = 'v', long)]
        verbose: bool,
        #[arg(long = "resolve-dependencies")]
        resolve_dependencies: bool,
    },
    /// List changeset scripts in chronological order.
    History {
        #[arg(short = 'r', long = "rev-range")]
        rev_range: Option<String>,
        #[arg(short = 'v', long)]
        verbose: bool,
        #[arg(short = 'i', long = "indicate-current")]
        indicate_current: bool,
    },
    /// Initialize a new scripts directory.
    Init {
        #[arg(short = 't', long, default_value = "generic")]
        template: String,
        #[arg(long)]
        package: bool,
        directory: String,
    },
    /// List available templates.
    #[command(name = "list_templates")]
    ListTemplates,
    /// Merge two revisions together. Creates a new migration file.
    Merge {
        #[arg(short = 'm', long)]
        message: Option<String>,
        #[arg(long = "branch-label")]
        branch_label: Option<String>,
        #[arg(long = "rev-id")]
        rev_id: Option<String>,
        #[arg(long)]
        splice: bool,
        #[arg(required = true)]
        revisions: Vec<String>,
    },
    /// Create a new revision file.
    Revision {
        #[arg(short = 'm', long)]
        message: Option<String>,
        #[arg(long)]
        autogenerate: bool,
        #[arg(long)]
        sql: bool,
        #[arg(long, default_value = "head")]
        head: String,
        #[arg(long)]
        splice: bool,
        #[arg(long = "branch-label")]
        branch_label: Option<String>,
        #[arg(long = "version-path")]
        version_path: Option<String>,
        #[arg(long = "rev-id")]
        rev_id: Option<String>,
        #[arg(long = "depends-on")]
        depends_on: Vec<String>,
    },
    /// Show the revision(s) denoted by the given symbol.
    #[command(allow_negative_numbers = true)]
    Show { rev: String },
    /// 'stamp' the revision table with the given revision; don't run any migrations.
    #[command(allow_negative_numbers = true)]
    Stamp {
        #[arg(long)]
        sql: bool,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        purge: bool,
        #[arg(required = true)]
        revisions: Vec<String>,
    },
    /// Aurora-X: current revision and history.
    Status,
    /// Aurora-X: a new revision from the models (`revision --autogenerate -m MESSAGE`).
    Create { message: String },
    /// Aurora-X: upgrade to a given revision.
    #[command(allow_negative_numbers = true)]
    UpgradeTo { revision: String },
    /// Aurora-X: downgrade to a given revision, after confirmation.
    #[command(allow_negative_numbers = true)]
    DowngradeTo {
        /// Skip the confirmation prompt.
        #[arg(long, short = 'y')]
        yes: bool,
        revision: String,
    },
    /// aurora: write `aurora.sum` (checksums of the revision files) in each version location,
    /// or with `--check` compare the files with it.
    Hash {
        #[arg(long)]
        check: bool,
    },
    /// Aurora-X: the SQL an upgrade would run (`upgrade REVISION --sql`, head by default).
    #[command(allow_negative_numbers = true)]
    ShowSql { revision: Option<String> },
    /// Aurora-X: downgrade to base, then upgrade to head, after confirmation.
    Reset {
        /// Skip the confirmation prompt.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Upgrade to a later version.
    #[command(allow_negative_numbers = true)]
    Upgrade {
        #[arg(long)]
        sql: bool,
        #[arg(long)]
        tag: Option<String>,
        revision: String,
    },
}
