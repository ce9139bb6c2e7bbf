//! One invocation's view of the project: its configuration, its script
//! directory and, loaded on first use, the revision map.

use std::path::{Path, PathBuf};

use super::offline::RenderedFile;
use crate::config::{Config, ConfigSources};
use crate::error::Catch;
use crate::graph::{RevisionError, RevisionMap};
use crate::script::{BodyReader, ScriptDirectory};
use std::collections::HashMap;

use crate::Error;

/// What the command line says about the project: `-c`, `-n`, `-x`, `--no-lock`,
/// `--lock-timeout`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `-c` arguments, in order.
    pub config: Vec<String>,
    /// `-n`: the ini section.
    pub name: String,
    /// The `-x` arguments.
    pub x: Vec<String>,
    pub lock: crate::db::LockSettings,
}

/// The configuration and revisions of the project a command runs on.
pub struct Project {
    pub config: Config,
    pub cwd: PathBuf,
    pub x_arguments: Vec<String>,
    /// `--no-lock` and `--lock-timeout`, for online runs.
    pub lock: crate::db::LockSettings,
    /// `--backup` / `[aurora] backup`, for online runs.
    pub backup: super::backup::Backup,
    script_directory: Option<ScriptDirectory>,
    map: Option<Result<RevisionMap, RevisionError>>,
    /// The scripts as their files say, before [`crate::squash::view`].
    scripts: Vec<crate::script::Script>,
    /// The squash revisions read in the replaced view (see `crate::squash`).
    replaced_views: std::collections::BTreeSet<String>,
    /// Revision arguments of this command (targets, starting revisions): one naming a
    /// revision a squash replaced puts that squash in the replaced view.
    pub squash_targets: Vec<String>,
    /// Set by a run that renders bodies next: what loading the map does with
    /// each module it parses (one parse per file).
    body_reader: Option<Box<BodyReader<RenderedFile>>>,
    /// What `body_reader` made of each file, by path.
    bodies: HashMap<PathBuf, RenderedFile>,
    /// The `@compiles` functions for SQLAlchemy constructs of every revision
    /// file, set when the map loads; shared with the run's lowering context.
    pub compile_hooks: crate::ops::CompileHooks,
}

impl Project {
    /// Reads the configuration and checks the script location, as
    /// `ScriptDirectory.from_config` does at the start of every command.
    pub fn open(options: &Options, cwd: &Path) -> Result<Project, Error> {
        let sources = ConfigSources {
            config_args: options.config.clone(),
            section: Some(options.name.clone()),
            alembic_config_env: std::env::var("ALEMBIC_CONFIG")
                .ok()
                .filter(|v| !v.is_empty()),
        };
        // Alembic checks the -c arguments before its error handling starts,
        // so `IniTwice` and `TomlTwice` are crashes (exit status 1) there, not
        // FAILED lines: `Error::Config` says so.
        let config = Config::load(&sources, cwd)?;
        Ok(Project {
            config,
            cwd: cwd.to_path_buf(),
            x_arguments: options.x.clone(),
            lock: options.lock,
            backup: super::backup::Backup::Off,
            script_directory: None,
            map: None,
            scripts: Vec::new(),
            replaced_views: Default::default(),
            squash_targets: Vec::new(),
            body_reader: None,
            bodies: HashMap::new(),
            compile_hooks: Default::default(),
        })
    }

    /// The script directory (fails when `script_location` is missing or absent on disk).
    pub fn script_directory(&mut self) -> Result<&ScriptDirectory, Error> {
        if self.script_directory.is_none() {
            self.script_directory = Some(ScriptDirectory::from_config(&self.config, &self.cwd)?);
        }
        Ok(self.script_directory.as_ref().expect("just set"))
    }

    /// The revision map, or the error building it raised, as Alembic's lazy
    /// `_revision_map` does: the caller decides how the error is worded.
    pub fn try_map(&mut self) -> Result<Result<&RevisionMap, RevisionError>, Error> {
        if self.map.is_none() {
            let reader = self.body_reader.take();
            let (scripts, bodies) = self
                .script_directory()?
                .load_scripts_reading_bodies(reader.as_deref())?;
            self.bodies = bodies;
            let hooks: Vec<_> = scripts
                .iter()
                .flat_map(|s| s.compile_hooks.iter().map(|h| (s.path.clone(), h.clone())))
                .collect();
            // Set once: a second map load reads the same files.
            let _ = self.compile_hooks.set(hooks);
            self.scripts = scripts.clone();
            self.map = Some(RevisionMap::build(crate::squash::view(
                scripts,
                &self.replaced_views,
            )));
        }
        Ok(self
            .map
            .as_ref()
            .expect("just set")
            .as_ref()
            .map_err(Clone::clone))
    }

    /// The scripts as their files say (squash revisions and the revisions they replace both
    /// present), once the map is loaded.
    pub fn scripts(&mut self) -> Result<&[crate::script::Script], Error> {
        let _ = self.try_map()?;
        Ok(&self.scripts)
    }

    /// Reads each squash revision in the view a run with these version rows (and this
    /// command's [`Self::squash_targets`]) needs: the replaced view when one of them names a
    /// revision the squash replaced, the squash view otherwise. Rebuilds the map on a change.
    pub fn choose_squash_views(&mut self, heads: &[String]) -> Result<(), Error> {
        let _ = self.try_map()?;
        if crate::squash::squashes(&self.scripts).is_empty() {
            return Ok(());
        }
        let mut ids: Vec<String> = heads.to_vec();
        ids.extend(self.squash_targets.iter().cloned());
        let views = crate::squash::replaced_views(&self.scripts, &ids)
            .map_err(|e| Error::failed(e.to_string()))?;
        if views != self.replaced_views {
            self.replaced_views = views;
            self.map = Some(RevisionMap::build(crate::squash::view(
                self.scripts.clone(),
                &self.replaced_views,
            )));
        }
        Ok(())
    }

    /// Forgets the loaded map (after a command wrote or removed revision files).
    pub fn reload_map(&mut self) {
        self.map = None;
        self.scripts.clear();
    }

    /// Asks the map, if it is loaded after this, to hand each file it parses
    /// to `reader`, for [`Self::take_bodies`].
    pub fn read_bodies_when_loading(&mut self, reader: Box<BodyReader<RenderedFile>>) {
        if self.map.is_none() {
            self.body_reader = Some(reader);
        }
    }

    /// What the reader given to [`Self::read_bodies_when_loading`] made of
    /// the files read for the map (handed out once).
    pub fn take_bodies(&mut self) -> HashMap<PathBuf, RenderedFile> {
        self.body_reader = None;
        std::mem::take(&mut self.bodies)
    }

    /// The revision map, with build errors worded by `catch`.
    pub fn map(&mut self, catch: &Catch<'_>) -> Result<&RevisionMap, Error> {
        match self.try_map()? {
            Ok(map) => Ok(map),
            Err(error) => Err(catch.word(error)),
        }
    }

    /// The revision map where Alembic builds it outside any error handling:
    /// build errors are crashes (exit 1).
    pub fn map_uncaught(&mut self) -> Result<&RevisionMap, Error> {
        match self.try_map()? {
            Ok(map) => Ok(map),
            Err(error) => Err(Error::Crash(error.to_string())),
        }
    }
}
