//! Fuzzes the `alembic.ini` reader (Python `configparser` semantics): any
//! text either parses or is refused with an error, never a panic; text that
//! parses parses the same way twice.

#![no_main]

use aurora::config::IniFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = IniFile::parse(text, "fuzz.ini");
    let second = IniFile::parse(text, "fuzz.ini");
    assert_eq!(first.is_ok(), second.is_ok());
});
