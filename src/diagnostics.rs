//! aurora's own diagnostics, apart from Alembic's logging: with `AURORA_LOG=debug`, the time a
//! run spends in each phase of its flow (parse, evaluate, plan, render, execute), printed on
//! stderr when the command ends.
//!
//! The phases are measured where each step of the flow does its work (the parser, the body
//! evaluator, the planner, the SQL renderer, the database connection), so they do not overlap;
//! what a run spends elsewhere (reading files, running env.py itself, printing) is the rest of
//! the total. Work done on several threads at once is summed, as CPU time would be.
//!
//! Off (the default), a timer costs one relaxed atomic load.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A step of the flow whose time is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Python source to AST (revision files, env.py, modules).
    Parse,
    /// A revision's `upgrade()`/`downgrade()` body evaluated into operations.
    Evaluate,
    /// The revision graph walked into the steps of a run.
    Plan,
    /// Operations rendered into SQL.
    Render,
    /// Statements executed on the database.
    Execute,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Parse,
        Phase::Evaluate,
        Phase::Plan,
        Phase::Render,
        Phase::Execute,
    ];

    fn name(self) -> &'static str {
        match self {
            Phase::Parse => "parse",
            Phase::Evaluate => "evaluate",
            Phase::Plan => "plan",
            Phase::Render => "render",
            Phase::Execute => "execute",
        }
    }
}

/// Why `AURORA_LOG` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AURORA_LOG={0:?} is not a level aurora knows; use AURORA_LOG=debug for timings per phase, or leave it unset")]
pub struct UnknownLevel(pub String);

const UNSET: u8 = 0;
const OFF: u8 = 1;
const DEBUG: u8 = 2;

static LEVEL: AtomicU8 = AtomicU8::new(UNSET);
static TOTALS: Mutex<[(Duration, u64); 5]> = Mutex::new([(Duration::ZERO, 0); 5]);

/// Reads `AURORA_LOG` (`debug`, or unset/empty/`off` for nothing). Called once by the CLI
/// before a command runs; an unknown value is an error rather than silently nothing.
pub fn init_from_env() -> Result<(), UnknownLevel> {
    let value = std::env::var("AURORA_LOG").unwrap_or_default();
    let level = match value.trim().to_ascii_lowercase().as_str() {
        "" | "off" => OFF,
        "debug" => DEBUG,
        _ => return Err(UnknownLevel(value)),
    };
    LEVEL.store(level, Ordering::Relaxed);
    Ok(())
}

/// Whether timings are being collected.
pub fn enabled() -> bool {
    LEVEL.load(Ordering::Relaxed) == DEBUG
}

/// Measures `phase` from now until the guard is dropped.
#[must_use = "the phase is measured until the guard is dropped"]
pub fn timer(phase: Phase) -> Timer {
    Timer {
        running: enabled().then(|| (phase, Instant::now())),
    }
}

/// A running measurement; see [`timer`].
pub struct Timer {
    running: Option<(Phase, Instant)>,
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some((phase, start)) = self.running.take() {
            record(phase, start.elapsed());
        }
    }
}

fn record(phase: Phase, elapsed: Duration) {
    let index = Phase::ALL.iter().position(|&p| p == phase).unwrap_or(0);
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    totals[index].0 += elapsed;
    totals[index].1 += 1;
}

/// The report's lines, one per phase that ran and one for the whole command:
/// `aurora: debug: parse 12.345 ms (301 calls)`.
pub fn report(total: Duration) -> Vec<String> {
    let totals = *TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    format_report(&totals, total)
}

fn format_report(totals: &[(Duration, u64); 5], total: Duration) -> Vec<String> {
    let mut lines: Vec<String> = Phase::ALL
        .iter()
        .zip(totals.iter())
        .filter(|(_, (_, calls))| *calls > 0)
        .map(|(phase, (time, calls))| {
            format!(
                "aurora: debug: {:<8} {:>10.3} ms ({calls} {})",
                phase.name(),
                time.as_secs_f64() * 1000.0,
                if *calls == 1 { "call" } else { "calls" }
            )
        })
        .collect();
    lines.push(format!(
        "aurora: debug: {:<8} {:>10.3} ms",
        "total",
        total.as_secs_f64() * 1000.0
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_the_phases_that_ran_and_the_total() {
        let mut totals = [(Duration::ZERO, 0); 5];
        totals[2] = (Duration::from_micros(2500), 2);
        totals[4] = (Duration::from_micros(1000), 1);
        assert_eq!(
            format_report(&totals, Duration::from_millis(10)),
            [
                "aurora: debug: plan          2.500 ms (2 calls)",
                "aurora: debug: execute       1.000 ms (1 call)",
                "aurora: debug: total        10.000 ms",
            ]
        );
    }
}
