//! A persistent cache of what aurora derived from revision files (their
//! headers, their rendered offline SQL), keyed by each file's identity: size,
//! modification time in nanoseconds, inode and change time. Repeated commands
//! on a large history then stat the files instead of reading and parsing them,
//! much as Python keeps `__pycache__` and git keeps its index.
//!
//! Safety rules:
//! - an entry is used only when every part of the file's stamp matches;
//! - an entry is not stored for a file modified in the last two seconds
//!   (a later edit within the clock's granularity could keep the same stamp);
//! - the cache belongs to one build of aurora: a different executable (size
//!   and modification time) starts from an empty cache;
//! - any unreadable or malformed cache file is ignored and rewritten.
//!
//! The cache lives in `$AURORA_CACHE_DIR`, else `$XDG_CACHE_HOME/aurora`,
//! else `~/.cache/aurora`. `AURORA_NO_CACHE=1` turns it off.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"AURCACH1";

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub inode: u64,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            size: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
            inode: meta.ino(),
        }
    }

    /// Whether the file changed too recently to be trusted in a cache.
    fn is_racy(&self, now: SystemTime) -> bool {
        let now_ns = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos() as i128;
        // Writes move both times; the modification time alone decides, so a
        // file whose time was set back (archives, tests) is cacheable while its
        // change time still guards the identity.
        now_ns - self.mtime_ns < 2_000_000_000
    }
}

/// One cache file: entries keyed by a path plus a variant (e.g. `up`/`down`).
pub struct Cache {
    file: Option<PathBuf>,
    entries: HashMap<String, (FileStamp, Vec<u8>)>,
    dirty: bool,
    now: SystemTime,
}

impl Cache {
    /// Opens the cache of one kind (`headers`, `sql-sqlite`, ...) for the
    /// given scope (the version locations). A disabled or unreadable cache is empty.
    pub fn open(kind: &str, scope: &[PathBuf]) -> Cache {
        let file = cache_dir().map(|dir| {
            let mut hasher = Sha256::new();
            hasher.update(kind.as_bytes());
            for path in scope {
                hasher.update(path.to_string_lossy().as_bytes());
                hasher.update([0]);
            }
            let digest = hasher.finalize();
            let name: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
            dir.join(format!("{kind}-{name}.bin"))
        });
        let mut cache = Cache {
            file,
            entries: HashMap::new(),
            dirty: false,
            now: SystemTime::now(),
        };
        if let Some(path) = &cache.file {
            if let Ok(bytes) = std::fs::read(path) {
                if let Some(entries) = decode_file(&bytes) {
                    cache.entries = entries;
                }
            }
        }
        cache
    }

    /// A cache that stores nothing (for tests and `AURORA_NO_CACHE`).
    pub fn disabled() -> Cache {
        Cache {
            file: None,
            entries: HashMap::new(),
            dirty: false,
            now: SystemTime::now(),
        }
    }

    /// The payload stored for `key` if the file still has `stamp`.
    pub fn get(&self, key: &str, stamp: &FileStamp) -> Option<&[u8]> {
        self.file.as_ref()?;
        match self.entries.get(key) {
            Some((stored, payload)) if stored == stamp => Some(payload),
            _ => None,
        }
    }

    /// Stores a payload, unless the file is too fresh to be trusted.
    pub fn put(&mut self, key: String, stamp: FileStamp, payload: Vec<u8>) {
        if self.file.is_none() || stamp.is_racy(self.now) {
            return;
        }
        self.entries.insert(key, (stamp, payload));
        self.dirty = true;
    }

    /// Writes the cache back if it changed (atomically; failures are ignored:
    /// the cache is only an accelerator).
    pub fn save(&mut self) {
        let Some(path) = &self.file else {
            return;
        };
        if !self.dirty {
            return;
        }
        let Some(dir) = path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        // Forget files that are gone, so the cache does not grow forever.
        self.entries.retain(|key, _| {
            let path = key.rsplit_once('#').map_or(key.as_str(), |(path, _)| path);
            Path::new(path).exists()
        });
        let bytes = encode_file(&self.entries);
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&temp, bytes).is_ok() && std::fs::rename(&temp, path).is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        self.dirty = false;
    }
}

fn cache_dir() -> Option<PathBuf> {
    if std::env::var_os("AURORA_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    if let Some(dir) = std::env::var_os("AURORA_CACHE_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("aurora"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|home| Path::new(&home).join(".cache/aurora"))
}

/// Identifies this build of aurora: a rebuilt binary never reads an old cache.
fn build_identity() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
        let stamp = FileStamp::of(&meta);
        out.extend_from_slice(&stamp.size.to_le_bytes());
        out.extend_from_slice(&stamp.mtime_ns.to_le_bytes());
    }
    out
}

fn encode_file(entries: &HashMap<String, (FileStamp, Vec<u8>)>) -> Vec<u8> {
    let mut w = Writer::default();
    w.raw(MAGIC);
    w.bytes(&build_identity());
    w.u64(entries.len() as u64);
    let mut keys: Vec<&String> = entries.keys().collect();
    keys.sort();
    for key in keys {
        let (stamp, payload) = &entries[key];
        w.str(key);
        w.u64(stamp.size);
        w.raw(&stamp.mtime_ns.to_le_bytes());
        w.raw(&stamp.ctime_ns.to_le_bytes());
        w.u64(stamp.inode);
        w.bytes(payload);
    }
    w.0
}

fn decode_file(bytes: &[u8]) -> Option<HashMap<String, (FileStamp, Vec<u8>)>> {
    let mut r = Reader::new(bytes);
    if r.raw(MAGIC.len())? != MAGIC || r.bytes()? != build_identity().as_slice() {
        return None;
    }
    let count = r.u64()? as usize;
    let mut entries = HashMap::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let key = r.str()?;
        let size = r.u64()?;
        let mtime_ns = i128::from_le_bytes(r.raw(16)?.try_into().ok()?);
        let ctime_ns = i128::from_le_bytes(r.raw(16)?.try_into().ok()?);
        let inode = r.u64()?;
        let payload = r.bytes()?.to_vec();
        entries.insert(
            key,
            (
                FileStamp {
                    size,
                    mtime_ns,
                    ctime_ns,
                    inode,
                },
                payload,
            ),
        );
    }
    r.is_done().then_some(entries)
}

/// Appends length-prefixed values to a byte buffer.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    pub fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.u64(bytes.len() as u64);
        self.raw(bytes);
    }
    pub fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }
    pub fn strs(&mut self, items: &[String]) {
        self.u64(items.len() as u64);
        for item in items {
            self.str(item);
        }
    }
}

/// Reads what [`Writer`] wrote; every read returns `None` past the end.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }
    pub fn raw(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.raw(8)?.try_into().ok()?))
    }
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.raw(n)
    }
    pub fn str(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
    pub fn strs(&mut self) -> Option<Vec<String>> {
        let n = self.u64()? as usize;
        (0..n).map(|_| self.str()).collect()
    }
    pub fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(mtime_ns: i128) -> FileStamp {
        FileStamp {
            size: 10,
            mtime_ns,
            ctime_ns: mtime_ns,
            inode: 7,
        }
    }

    #[test]
    fn entries_round_trip_through_the_file_format() {
        let mut entries = HashMap::new();
        entries.insert("a.py".to_string(), (stamp(1), b"payload".to_vec()));
        entries.insert("b.py#up".to_string(), (stamp(2), Vec::new()));
        let decoded = decode_file(&encode_file(&entries)).unwrap();
        assert_eq!(decoded, entries);
    }

    #[test]
    fn truncated_or_foreign_files_are_ignored() {
        let mut entries = HashMap::new();
        entries.insert("a.py".to_string(), (stamp(1), b"payload".to_vec()));
        let bytes = encode_file(&entries);
        assert!(decode_file(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode_file(b"not a cache").is_none());
    }

    #[test]
    fn a_changed_stamp_misses_and_fresh_files_are_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache {
            file: Some(dir.path().join("c.bin")),
            entries: HashMap::new(),
            dirty: false,
            now: SystemTime::now(),
        };
        cache.put("old.py".into(), stamp(1_000_000_000), b"x".to_vec());
        assert_eq!(cache.get("old.py", &stamp(1_000_000_000)), Some(&b"x"[..]));
        assert_eq!(cache.get("old.py", &stamp(1_000_000_001)), None);
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        cache.put("fresh.py".into(), stamp(now_ns), b"y".to_vec());
        assert_eq!(cache.get("fresh.py", &stamp(now_ns)), None);
    }
}
