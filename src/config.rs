//! Configuration: `alembic.ini` read with Python `configparser` semantics and
//! `pyproject.toml`'s `[tool.alembic]`, combined with Alembic's precedence rules
//! (the ini main section wins, then toml).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors raised while reading configuration. Messages follow Alembic's where it has one.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("No 'script_location' key found in configuration.")]
    NoScriptLocation,
    #[error("No config file '{file}' found, or file has no '[{section}]' section")]
    MissingSection { file: String, section: String },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Interpolation { path: String, message: String },
    #[error("could not read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Toml(String),
    #[error(
        "'{value}' is not a valid value for {name}; expected 'space', 'newline', 'os', ':', ';'"
    )]
    BadSeparator { value: String, name: String },
    #[error("boolean value expected for TOML parameter '{0}'")]
    TomlBoolean(String),
    #[error("pyproject.toml indicated more than once")]
    TomlTwice,
    #[error("only one ini file may be indicated")]
    IniTwice,
}

/// One parsed ini file: sections of raw (uninterpolated) values, keys lowercased.
#[derive(Debug, Default, Clone)]
pub struct IniFile {
    defaults: BTreeMap<String, String>,
    sections: Vec<(String, BTreeMap<String, String>)>,
}

impl IniFile {
    /// Parses ini text the way Python's `ConfigParser` does with its default
    /// options: `=` or `:` delimiters, full-line `#`/`;` comments, indented
    /// continuation lines, empty lines inside values, lowercased keys.
    pub fn parse(text: &str, path: &str) -> Result<IniFile, ConfigError> {
        let mut ini = IniFile::default();
        // Where the current key's value goes: (section index or None for DEFAULT, key).
        let mut current_section: Option<Option<usize>> = None;
        let mut current_key: Option<String> = None;
        let mut key_indent = 0usize;
        let mut pending_blank = 0usize;

        for (number, raw_line) in text.lines().enumerate() {
            let line_no = number + 1;
            let line = raw_line.trim_end_matches('\r');
            let stripped = line.trim();
            let indent = line.len() - line.trim_start().len();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                if current_key.is_some() {
                    pending_blank += 1;
                }
                continue;
            }
            if let (Some(key), Some(section)) = (&current_key, current_section) {
                if indent > key_indent {
                    let map = ini.section_map_mut(section);
                    let value = map.get_mut(key).expect("current key is present");
                    for _ in 0..pending_blank {
                        value.push('\n');
                    }
                    pending_blank = 0;
                    value.push('\n');
                    value.push_str(stripped);
                    continue;
                }
            }
            pending_blank = 0;
            current_key = None;
            if stripped.starts_with('[') && stripped.ends_with(']') {
                let name = &stripped[1..stripped.len() - 1];
                if name == "DEFAULT" {
                    current_section = Some(None);
                } else if let Some(index) = ini.sections.iter().position(|(n, _)| n == name) {
                    current_section = Some(Some(index));
                } else {
                    ini.sections.push((name.to_string(), BTreeMap::new()));
                    current_section = Some(Some(ini.sections.len() - 1));
                }
                continue;
            }
            let Some(section) = current_section else {
                return Err(ConfigError::Syntax {
                    path: path.to_string(),
                    line: line_no,
                    message: format!("file contains no section headers: {stripped:?}"),
                });
            };
            let delimiter = stripped.find(['=', ':']);
            let (key, value) = match delimiter {
                Some(at) => (stripped[..at].trim(), stripped[at + 1..].trim()),
                None => {
                    return Err(ConfigError::Syntax {
                        path: path.to_string(),
                        line: line_no,
                        message: format!("line is not 'key = value': {stripped:?}"),
                    })
                }
            };
            let key = key.to_lowercase();
            ini.section_map_mut(section)
                .insert(key.clone(), value.to_string());
            current_key = Some(key);
            key_indent = indent;
        }
        Ok(ini)
    }

    fn section_map_mut(&mut self, section: Option<usize>) -> &mut BTreeMap<String, String> {
        match section {
            None => &mut self.defaults,
            Some(index) => &mut self.sections[index].1,
        }
    }

    /// Whether a (non-DEFAULT) section exists.
    pub fn has_section(&self, section: &str) -> bool {
        self.sections.iter().any(|(name, _)| name == section)
    }

    /// Sets a raw value (`ConfigParser.set`): interpolated when read; the
    /// section must exist, as in Python.
    pub fn set(&mut self, section: &str, key: &str, value: &str) -> Result<(), String> {
        let key = key.to_lowercase();
        if section == "DEFAULT" {
            self.defaults.insert(key, value.to_string());
            return Ok(());
        }
        match self.sections.iter_mut().find(|(name, _)| name == section) {
            Some((_, map)) => {
                map.insert(key, value.to_string());
                Ok(())
            }
            None => Err(format!("No section: '{section}'")),
        }
    }

    fn add_section(&mut self, section: &str) {
        if !self.has_section(section) {
            self.sections.push((section.to_string(), BTreeMap::new()));
        }
    }

    fn section(&self, section: &str) -> Option<&BTreeMap<String, String>> {
        self.sections
            .iter()
            .find(|(name, _)| name == section)
            .map(|(_, map)| map)
    }

    /// The raw value of `key` in `section`, falling back to `[DEFAULT]` and
    /// then to `vars` (Alembic's `config_args`, e.g. `here`).
    fn raw(&self, section: &str, key: &str, vars: &BTreeMap<String, String>) -> Option<String> {
        let map = self.section(section)?;
        map.get(key)
            .or_else(|| self.defaults.get(key))
            .or_else(|| vars.get(key))
            .cloned()
    }

    /// The value of `key` in `section` (or DEFAULT) as written, without
    /// interpolation: `ConfigParser.get(..., raw=True)`.
    pub fn raw_value(&self, section: &str, key: &str) -> Option<String> {
        self.raw(section, &key.to_lowercase(), &BTreeMap::new())
    }

    /// The names of the keys in a section (including inherited defaults).
    pub fn keys(&self, section: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .section(section)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for key in self.defaults.keys() {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        keys
    }

    /// The value of `key` in `section` with `BasicInterpolation` applied:
    /// `%(name)s` is replaced by another key of the section (or of DEFAULT, or
    /// of `vars`), `%%` by `%`.
    pub fn get(
        &self,
        section: &str,
        key: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<Option<String>, String> {
        let key = key.to_lowercase();
        match self.raw(section, &key, vars) {
            None => Ok(None),
            Some(raw) => self.interpolate(section, &key, &raw, vars, 1).map(Some),
        }
    }

    fn interpolate(
        &self,
        section: &str,
        key: &str,
        raw: &str,
        vars: &BTreeMap<String, String>,
        depth: usize,
    ) -> Result<String, String> {
        if depth > 10 {
            return Err(format!(
                "interpolation of option '{key}' in section '[{section}]' is too deeply recursive"
            ));
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('(') {
                let Some(close) = tail.find(")s") else {
                    return Err(format!(
                        "bad interpolation syntax in option '{key}': '%(' without a closing ')s'"
                    ));
                };
                let name = tail[..close].to_lowercase();
                let Some(value) = self.raw(section, &name, vars) else {
                    return Err(format!(
                        "bad interpolation in option '{key}' of section '[{section}]': no option '{name}' to substitute"
                    ));
                };
                out.push_str(&self.interpolate(section, &name, &value, vars, depth + 1)?);
                rest = &tail[close + 2..];
            } else {
                // Only the character after the `%` is quoted: the rest of
                // the value may be a password (`sqlalchemy.url`).
                let next: String = after.chars().take(1).collect();
                return Err(format!(
                    "'%' must be followed by '%' or '(' in option '{key}', found: '%{next}' at character {}; write a literal '%' as '%%'",
                    raw.len() - rest.len() + at + 1
                ));
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A value of `[tool.alembic]` in pyproject.toml, after `%(here)s` substitution.
#[derive(Debug, Clone)]
enum TomlValue {
    Text(String),
    List(Vec<String>),
    Bool(bool),
    Other,
}

/// Where the command line (and the environment) says configuration lives.
#[derive(Debug, Clone, Default)]
pub struct ConfigSources {
    /// The `-c/--config` values, in order.
    pub config_args: Vec<String>,
    /// `-n/--name`: the main ini section (default `alembic`).
    pub section: Option<String>,
    /// `$ALEMBIC_CONFIG`.
    pub alembic_config_env: Option<String>,
}

/// The effective configuration of one invocation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The ini file name as given (for messages), e.g. `alembic.ini`.
    pub config_file_name: String,
    /// The ini path, absolute.
    pub ini_path: PathBuf,
    /// The main section (`-n`), default `alembic`.
    pub section: String,
    ini: IniFile,
    ini_vars: BTreeMap<String, String>,
    toml: BTreeMap<String, TomlValue>,
}

impl Config {
    /// Locates and reads the ini and toml files with Alembic's rules for
    /// `-c` (given at most twice), `$ALEMBIC_CONFIG` and the defaults.
    pub fn load(sources: &ConfigSources, cwd: &Path) -> Result<Config, ConfigError> {
        let (default_toml, default_ini) = match &sources.alembic_config_env {
            Some(env) if basename(env) == "pyproject.toml" => {
                (env.clone(), "alembic.ini".to_string())
            }
            Some(env) => ("pyproject.toml".to_string(), env.clone()),
            None => ("pyproject.toml".to_string(), "alembic.ini".to_string()),
        };
        let (toml_name, ini_name) = if sources.config_args.is_empty() {
            (default_toml, default_ini)
        } else {
            let mut toml = None;
            let mut ini = None;
            for name in &sources.config_args {
                if basename(name) == "pyproject.toml" {
                    if toml.is_some() {
                        return Err(ConfigError::TomlTwice);
                    }
                    toml = Some(name.clone());
                } else {
                    if ini.is_some() {
                        return Err(ConfigError::IniTwice);
                    }
                    ini = Some(name.clone());
                }
            }
            (toml.unwrap_or(default_toml), ini.unwrap_or(default_ini))
        };
        let section = sources
            .section
            .clone()
            .unwrap_or_else(|| "alembic".to_string());
        let ini_path = absolute(cwd, Path::new(&ini_name));
        let here = ini_path
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut ini_vars = BTreeMap::new();
        ini_vars.insert("here".to_string(), here);
        ini_vars.insert(
            "__file__".to_string(),
            ini_path.to_string_lossy().into_owned(),
        );
        let ini = match std::fs::read_to_string(&ini_path) {
            Ok(text) => IniFile::parse(&text, &ini_name)?,
            Err(_) => IniFile::default(),
        };
        let toml_path = absolute(cwd, Path::new(&toml_name));
        let toml = read_toml_section(&toml_path)?;
        Ok(Config {
            config_file_name: ini_name,
            ini_path,
            section,
            ini,
            ini_vars,
            toml,
        })
    }

    /// Builds a configuration from ini text directly (used by tests).
    pub fn from_ini_text(text: &str, ini_path: &Path) -> Result<Config, ConfigError> {
        let ini = IniFile::parse(text, &ini_path.to_string_lossy())?;
        let mut ini_vars = BTreeMap::new();
        let here = ini_path
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        ini_vars.insert("here".to_string(), here);
        Ok(Config {
            config_file_name: ini_path.to_string_lossy().into_owned(),
            ini_path: ini_path.to_path_buf(),
            section: "alembic".to_string(),
            ini,
            ini_vars,
            toml: BTreeMap::new(),
        })
    }

    /// The directory holding the ini file (`%(here)s`).
    pub fn here(&self) -> PathBuf {
        self.ini_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    fn interpolation_error(&self, message: String) -> ConfigError {
        ConfigError::Interpolation {
            path: self.config_file_name.clone(),
            message,
        }
    }

    /// A key of the ini main section only (Alembic's `get_main_option`).
    pub fn main_option(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.section_option(&self.section.clone(), key)
    }

    /// A key of any ini section.
    pub fn section_option(&self, section: &str, key: &str) -> Result<Option<String>, ConfigError> {
        self.ini
            .get(section, key, &self.ini_vars)
            .map_err(|m| self.interpolation_error(m))
    }

    /// `Config.set_section_option` / `set_main_option` (env.py): a `%`
    /// that is not `%%` or `%(name)s` fails as in ConfigParser.
    pub fn set_section_option(
        &mut self,
        section: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        let stripped = value.replace("%%", "");
        let mut rest = stripped.as_str();
        while let Some(at) = rest.find('%') {
            let after = &rest[at + 1..];
            match after.strip_prefix('(').and_then(|a| a.find(")s")) {
                Some(end) => rest = &after[end + 3..],
                None => {
                    return Err(self.interpolation_error(format!(
                        // The value is not quoted: it is often a URL with a password.
                        "invalid interpolation syntax in the value of {key:?} at position {} \
                         (write a literal % as %%)",
                        value.len() - rest.len() + at
                    )));
                }
            }
        }
        if !self.ini.has_section(section) && section != "DEFAULT" {
            // ConfigParser.set on a missing section: Alembic adds it first.
            self.ini.add_section(section);
        }
        self.ini
            .set(section, key, value)
            .map_err(|m| self.interpolation_error(m))
    }

    /// Whether the ini file has the given section.
    pub fn has_section(&self, section: &str) -> bool {
        self.ini.has_section(section)
    }

    /// The names of the keys in an ini section.
    pub fn section_keys(&self, section: &str) -> Vec<String> {
        self.ini.keys(section)
    }

    /// A key of the ini main section, else of `[tool.alembic]` (Alembic's
    /// `get_alembic_option`). Toml lists are joined with newlines.
    pub fn alembic_option(&self, key: &str) -> Result<Option<String>, ConfigError> {
        if let Some(value) = self.main_option(key)? {
            return Ok(Some(value));
        }
        Ok(match self.toml.get(key) {
            Some(TomlValue::Text(text)) => Some(text.clone()),
            Some(TomlValue::List(items)) => Some(items.join("\n")),
            Some(TomlValue::Bool(b)) => Some(b.to_string()),
            _ => None,
        })
    }

    /// A boolean option: true only when the ini value is exactly `true`, or the
    /// toml value is the boolean `true`.
    pub fn alembic_bool(&self, key: &str) -> Result<bool, ConfigError> {
        if let Some(value) = self.main_option(key)? {
            return Ok(value == "true");
        }
        match self.toml.get(key) {
            None => Ok(false),
            Some(TomlValue::Bool(b)) => Ok(*b),
            Some(_) => Err(ConfigError::TomlBoolean(key.to_string())),
        }
    }

    /// `script_location`, the only required key.
    pub fn script_location(&self) -> Result<String, ConfigError> {
        self.alembic_option("script_location")?
            .ok_or(ConfigError::NoScriptLocation)
    }

    fn separator(&self, names: &[&str]) -> Result<Option<String>, ConfigError> {
        for name in names {
            if let Some(value) = self.main_option(name)? {
                let sep = match value.as_str() {
                    "space" => " ",
                    "newline" => "\n",
                    "os" | ":" => ":",
                    ";" => ";",
                    _ => {
                        return Err(ConfigError::BadSeparator {
                            value,
                            name: name.to_string(),
                        })
                    }
                };
                return Ok(Some(sep.to_string()));
            }
        }
        Ok(None)
    }

    /// `version_locations` split by `path_separator` (or the legacy
    /// `version_path_separator`, or the legacy space/comma split), else the
    /// toml list. `None` when not configured.
    pub fn version_locations(&self) -> Result<Option<Vec<String>>, ConfigError> {
        if let Some(text) = self.main_option("version_locations")? {
            if !text.is_empty() {
                return Ok(Some(
                    match self.separator(&["path_separator", "version_path_separator"])? {
                        Some(sep) => text
                            .split(sep.as_str())
                            .filter(|x| !x.is_empty())
                            .map(|x| x.trim().to_string())
                            .collect(),
                        None => split_space_comma(&text),
                    },
                ));
            }
        }
        Ok(match self.toml.get("version_locations") {
            Some(TomlValue::List(items)) => Some(items.clone()),
            Some(TomlValue::Text(text)) => Some(vec![text.clone()]),
            _ => None,
        })
    }

    /// `prepend_sys_path` split as Alembic's `get_prepend_sys_paths_list`
    /// does: by `path_separator`, else the legacy split on spaces, commas and
    /// colons, else the toml list. Empty when not configured.
    pub fn prepend_sys_path(&self) -> Result<Vec<String>, ConfigError> {
        if let Some(text) = self.main_option("prepend_sys_path")? {
            if !text.is_empty() {
                return Ok(match self.separator(&["path_separator"])? {
                    Some(sep) => text
                        .split(sep.as_str())
                        .filter(|x| !x.is_empty())
                        .map(|x| x.trim().to_string())
                        .collect(),
                    None => text.split(':').flat_map(split_space_comma).collect(),
                });
            }
        }
        Ok(match self.toml.get("prepend_sys_path") {
            Some(TomlValue::List(items)) => items.clone(),
            Some(TomlValue::Text(text)) => vec![text.clone()],
            _ => Vec::new(),
        })
    }

    /// `sqlalchemy.url` from the main section.
    pub fn sqlalchemy_url(&self) -> Result<Option<String>, ConfigError> {
        self.main_option("sqlalchemy.url")
    }
}

/// Alembic's legacy split of `version_locations`: on `, *` or runs of spaces.
fn split_space_comma(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' || c == ' ' {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out
}

fn read_toml_section(path: &Path) -> Result<BTreeMap<String, TomlValue>, ConfigError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(BTreeMap::new());
    };
    let here = path
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError::Toml(format!("{}: {}", path.display(), e.message()))
    })?;
    let Some(alembic) = doc.get("tool").and_then(|t| t.get("alembic")) else {
        return Ok(BTreeMap::new());
    };
    let Some(table) = alembic.as_table() else {
        return Err(ConfigError::Toml("Incorrect TOML format".to_string()));
    };
    let subst = |s: &str| s.replace("%(here)s", &here).replace("%%", "%");
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let converted = match value {
            toml::Value::String(s) => TomlValue::Text(subst(s)),
            toml::Value::Boolean(b) => TomlValue::Bool(*b),
            toml::Value::Array(items) => {
                TomlValue::List(items.iter().filter_map(|v| v.as_str()).map(subst).collect())
            }
            toml::Value::Integer(i) => TomlValue::Text(i.to_string()),
            _ => TomlValue::Other,
        };
        out.insert(key.clone(), converted);
    }
    Ok(out)
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Joins a relative path onto `cwd`, without resolving symlinks.
pub fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        let mut out = cwd.to_path_buf();
        for part in path.components() {
            match part {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other.as_os_str()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        vars.insert("here".to_string(), "/proj".to_string());
        vars
    }

    #[test]
    fn interpolates_here_and_other_keys() {
        let ini = IniFile::parse(
            "[alembic]\nscript_location = %(here)s/alembic\nname = x\nother = %(name)s-%%\n",
            "a.ini",
        )
        .unwrap();
        assert_eq!(
            ini.get("alembic", "script_location", &vars())
                .unwrap()
                .unwrap(),
            "/proj/alembic"
        );
        assert_eq!(
            ini.get("alembic", "other", &vars()).unwrap().unwrap(),
            "x-%"
        );
    }

    #[test]
    fn continuation_lines_and_comments() {
        let text = "# top\n[alembic]\n; c\nversion_locations = a\n    b\n\n    c\nnext: 1\n";
        let ini = IniFile::parse(text, "a.ini").unwrap();
        assert_eq!(
            ini.get("alembic", "version_locations", &vars())
                .unwrap()
                .unwrap(),
            "a\nb\n\nc"
        );
        assert_eq!(ini.get("alembic", "next", &vars()).unwrap().unwrap(), "1");
    }

    #[test]
    fn keys_are_case_insensitive_and_defaults_inherit() {
        let ini = IniFile::parse("[DEFAULT]\nshared = s\n[alembic]\nKey = v\n", "a.ini").unwrap();
        assert_eq!(ini.get("alembic", "key", &vars()).unwrap().unwrap(), "v");
        assert_eq!(ini.get("alembic", "shared", &vars()).unwrap().unwrap(), "s");
        assert!(ini.get("missing", "key", &vars()).unwrap().is_none());
    }

    #[test]
    fn bad_interpolation_is_an_error() {
        let ini = IniFile::parse("[alembic]\na = %(nope)s\n", "a.ini").unwrap();
        assert!(ini.get("alembic", "a", &vars()).is_err());
    }

    #[test]
    fn legacy_split_on_spaces_and_commas() {
        assert_eq!(split_space_comma("a, b  c,d"), vec!["a", "b", "c", "d"]);
    }
}
