//! Copies of a database taken before something risky: SQLite through the
//! online backup API (`sqlite3_backup_*`, a consistent copy while other
//! connections may be reading or writing), for `upgrade --rehearse` (which
//! runs against the copy) and for `--backup`.

use std::path::Path;

/// Copies the SQLite database at `source` into `dest` (created or
/// overwritten) with the online backup API. `source` is opened read-only, so
/// the original file is never written.
pub fn sqlite_copy(source: &Path, dest: &Path) -> Result<(), String> {
    let from = rusqlite::Connection::open_with_flags(
        source,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("could not open {} to copy it: {e}", source.display()))?;
    let mut to = rusqlite::Connection::open(dest)
        .map_err(|e| format!("could not create {}: {e}", dest.display()))?;
    let backup = rusqlite::backup::Backup::new(&from, &mut to)
        .map_err(|e| format!("could not start the backup of {}: {e}", source.display()))?;
    backup
        .run_to_completion(256, std::time::Duration::from_millis(5), None)
        .map_err(|e| {
            format!(
                "the backup of {} into {} failed: {e}",
                source.display(),
                dest.display()
            )
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn copies_every_row_and_leaves_the_source_alone() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.db");
        let conn = rusqlite::Connection::open(&src).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        drop(conn);
        let before = std::fs::read(&src).unwrap();
        let dest = dir.path().join("b.db");
        super::sqlite_copy(&src, &dest).unwrap();
        assert_eq!(std::fs::read(&src).unwrap(), before);
        let copy = rusqlite::Connection::open(&dest).unwrap();
        let n: i64 = copy
            .query_row("SELECT sum(x) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
    }
}
