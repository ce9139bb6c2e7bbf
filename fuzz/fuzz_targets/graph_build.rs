//! Fuzzes the revision graph builder and walker: revision files made from
//! the input (each line `id parents... [: dependencies...]`) either build a
//! map or are refused with Alembic's error, never a panic; a map that builds
//! answers heads, bases, history and upgrade/downgrade plans.

#![no_main]

use std::path::Path;

use aurora::graph::{IterateOptions, RevisionMap};
use aurora::script::Script;
use aurora::syntax::parse_header;
use libfuzzer_sys::fuzz_target;

fn list(items: &[&str]) -> String {
    match items {
        [] => "None".to_string(),
        [one] => format!("'{one}'"),
        many => format!(
            "({})",
            many.iter()
                .map(|i| format!("'{i}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut scripts = Vec::new();
    for (n, line) in text.lines().take(64).enumerate() {
        let (main, deps) = line.split_once(':').unwrap_or((line, ""));
        let words: Vec<&str> = main
            .split_whitespace()
            .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@'))
            .collect();
        let Some((id, parents)) = words.split_first() else {
            continue;
        };
        let deps: Vec<&str> = deps
            .split_whitespace()
            .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        let label = if n % 5 == 0 { format!("'b{n}'") } else { "None".to_string() };
        let source = format!(
            "\"\"\"rev\"\"\"\nrevision = '{id}'\ndown_revision = {}\nbranch_labels = {label}\ndepends_on = {}\n",
            list(parents),
            list(&deps)
        );
        let path = format!("/fuzz/versions/r{n}.py");
        let Ok(header) = parse_header(&path, &source) else {
            continue;
        };
        if let Ok(script) = Script::from_header(Path::new(&path), &header) {
            scripts.push(script);
        }
    }
    let Ok(map) = RevisionMap::build(scripts) else {
        return;
    };
    let everything = IterateOptions {
        inclusive: true,
        assert_relative_length: false,
        ..Default::default()
    };
    let _ = map.iterate_revisions(&["heads".to_string()], &["base".to_string()], everything);
    for target in ["heads", "head", "-1", "+1", "base"] {
        let _ = aurora::plan::upgrade(&map, target, &[]);
        let _ = map.get_revisions(target);
    }
    let heads: Vec<String> = map.heads.iter().map(|&h| map.id(h).to_string()).collect();
    let _ = aurora::plan::downgrade(&map, "base", &heads);
    let _ = aurora::plan::downgrade(&map, "-1", &heads);
    let _ = map.all_current(&heads);
});
