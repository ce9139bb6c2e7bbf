//! Fuzzes the Python front end for its time bound: parsing any input must
//! take time linear in its length. The property asserted is a bound per
//! input byte (plus a fixed allowance for process noise), so a grammar rule
//! that re-parses nested expressions (exponential in the nesting depth)
//! fails here long before it reaches a user. The parse must also never
//! panic, and an error must point inside the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

/// Generous against scheduling noise on a loaded machine: a healthy parse
/// takes well under a microsecond per byte; exponential backtracking takes
/// seconds at a few dozen bytes.
const PER_BYTE: Duration = Duration::from_micros(20);
const ALLOWANCE: Duration = Duration::from_millis(20);

fn timed(source: &str) -> Duration {
    let start = Instant::now();
    let result = aurora::syntax::body::parse_module(source);
    let elapsed = start.elapsed();
    if let Err(e) = result {
        assert!(e.offset <= source.len(), "error offset past the end: {e:?}");
        assert!(e.line >= 1 && e.column >= 1, "{e:?}");
    }
    elapsed
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let bound = ALLOWANCE + PER_BYTE * source.len() as u32;
    // The best of up to three runs, so that one preemption is not a failure.
    let mut best = timed(source);
    for _ in 0..2 {
        if best <= bound {
            break;
        }
        best = best.min(timed(source));
    }
    assert!(
        best <= bound,
        "parsing {} bytes took {best:?}, over the linear bound {bound:?}",
        source.len()
    );
});
