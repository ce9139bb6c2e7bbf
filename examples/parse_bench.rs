//! Benchmark of the Python front end (not a test): parse time per file over
//! a folder of revision files, and the time for deeply nested brackets.
//!
//!     cargo run --release --example parse_bench -- DIR [ROUNDS]
//!     cargo run --release --example parse_bench -- --check FILE...
//!
//! `--check` parses each file once and prints the syntax errors found.
//!
//! Files are read into memory first, so only parsing is timed (one thread).

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    if std::env::args().nth(1).as_deref() == Some("--check") {
        let mut failed = 0;
        let files: Vec<String> = args.skip(1).collect();
        for file in &files {
            let source = std::fs::read_to_string(file).expect("read");
            if let Err(e) = aurora::syntax::body::parse_module(&source) {
                failed += 1;
                println!("{file}:{}:{}: {}: {}", e.line, e.column, e.kind, e.message);
            }
        }
        println!("{failed} of {} files failed", files.len());
        return;
    }
    let dir = args.next().expect("usage: parse_bench DIR [ROUNDS]");
    let rounds: usize = args.next().map_or(3, |r| r.parse().expect("rounds"));
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "py") {
            sources.push(std::fs::read_to_string(&path).expect("read"));
        }
    }
    assert!(!sources.is_empty(), "no .py files in {dir}");
    let bytes: usize = sources.iter().map(String::len).sum();
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for s in &sources {
            aurora::syntax::body::parse_module(s).expect("valid Python");
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "parse_module: {} files, {:.0} bytes/file: {:.1} µs/file ({:.0} ns/byte), best of {rounds}",
        sources.len(),
        bytes as f64 / sources.len() as f64,
        best * 1e6 / sources.len() as f64,
        best * 1e9 / bytes as f64
    );
    for depth in [20, 50, 100, 190] {
        let src = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        let start = Instant::now();
        aurora::syntax::body::parse_module(&src).expect("nested");
        println!(
            "{depth} nested parentheses: {:.3} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
