//! One invocation's view of the project: its configuration, its script
//! directory and, loaded on first use, the revision map.

use std::path::{Path, PathBuf};

use super::{Catch, Cli, CliError};
use crate::config::{Config, ConfigError, ConfigSources};
use crate::graph::{RevisionError, RevisionMap};
use crate::script::ScriptDirectory;

/// The configuration and revisions of the project a command runs on.
pub struct Project {
    pub config: Config,
    pub cwd: PathBuf,
    pub x_arguments: Vec<String>,
    /// `--no-lock` and `--lock-timeout`, for online runs.
    pub lock: crate::db::LockSettings,
    script_directory: Option<ScriptDirectory>,
    map: Option<Result<RevisionMap, RevisionError>>,
}

impl Project {
    /// Reads the configuration and checks the script location, as
    /// `ScriptDirectory.from_config` does at the start of every command.
    pub fn open(cli: &Cli, cwd: &Path) -> Result<Project, CliError> {
        let sources = ConfigSources {
            config_args: cli.config.clone(),
            section: Some(cli.name.clone()),
            alembic_config_env: std::env::var("ALEMBIC_CONFIG")
                .ok()
                .filter(|v| !v.is_empty()),
        };
        // Alembic checks the -c arguments before its error handling starts,
        // so these two are crashes (exit status 1) there, not FAILED lines.
        let config = Config::load(&sources, cwd).map_err(|e| match e {
            ConfigError::IniTwice | ConfigError::TomlTwice => CliError::Crash(e.to_string()),
            other => CliError::from(other),
        })?;
        Ok(Project {
            config,
            cwd: cwd.to_path_buf(),
            x_arguments: cli.x.clone(),
            lock: crate::db::LockSettings {
                enabled: !cli.no_lock,
                timeout: std::time::Duration::from_secs(cli.lock_timeout),
            },
            script_directory: None,
            map: None,
        })
    }

    /// The script directory (fails when `script_location` is missing or absent on disk).
    pub fn script_directory(&mut self) -> Result<&ScriptDirectory, CliError> {
        if self.script_directory.is_none() {
            self.script_directory = Some(ScriptDirectory::from_config(&self.config, &self.cwd)?);
        }
        Ok(self.script_directory.as_ref().expect("just set"))
    }

    /// The revision map, or the error building it raised, as Alembic's lazy
    /// `_revision_map` does: the caller decides how the error is worded.
    pub fn try_map(&mut self) -> Result<Result<&RevisionMap, RevisionError>, CliError> {
        if self.map.is_none() {
            let scripts = self.script_directory()?.load_scripts()?;
            self.map = Some(RevisionMap::build(scripts));
        }
        Ok(self
            .map
            .as_ref()
            .expect("just set")
            .as_ref()
            .map_err(Clone::clone))
    }

    /// The revision map, with build errors worded by `catch`.
    pub fn map(&mut self, catch: &Catch<'_>) -> Result<&RevisionMap, CliError> {
        match self.try_map()? {
            Ok(map) => Ok(map),
            Err(error) => Err(catch.word(error)),
        }
    }

    /// The revision map where Alembic builds it outside any error handling:
    /// build errors are crashes (exit 1).
    pub fn map_uncaught(&mut self) -> Result<&RevisionMap, CliError> {
        match self.try_map()? {
            Ok(map) => Ok(map),
            Err(error) => Err(CliError::Crash(error.to_string())),
        }
    }
}
