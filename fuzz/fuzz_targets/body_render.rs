//! Fuzzes the body grammar and the lowering of `op.*` calls: any input is
//! parsed as a revision file; when it lowers, rendering the same operations
//! twice must give the same SQL (or the same error) for both dialects, and
//! nothing may panic.

#![no_main]

use aurora::sql::{render_ops, Dialect};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // A bound on pest's rule calls keeps pathological nesting from turning
    // into a timeout instead of a parse error.
    pest::set_call_limit(std::num::NonZeroUsize::new(200_000));
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(migration) = aurora::ops::parse_migration(Path::new("fuzz.py"), source) else {
        return;
    };
    for dialect in [Dialect::Sqlite, Dialect::Postgresql] {
        for ops in [&migration.upgrade, &migration.downgrade] {
            let first = render_ops(ops, dialect, None);
            let second = render_ops(ops, dialect, None);
            assert_eq!(
                first, second,
                "rendering is not deterministic for {dialect:?}"
            );
        }
    }
});
