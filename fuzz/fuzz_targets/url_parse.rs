//! Fuzzes the SQLAlchemy URL parser and its masking: any text either parses
//! or is refused without quoting it; a parsed URL's masked form never holds
//! its password.

#![no_main]

use aurora::db::DatabaseUrl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let url = match DatabaseUrl::parse(text) {
        Ok(url) => url,
        Err(error) => {
            // Errors never quote a URL with credentials (the '@' ends the
            // user info a password sits in). Text without one can be a
            // piece of the error's own wording, which the fuzzer finds.
            if text.len() >= 12 && text.contains('@') {
                assert!(!error.to_string().contains(text));
            }
            return;
        }
    };
    let masked = url.masked();
    let _ = url.unmasked();
    let _ = url.sqlite_target();
    // An alphanumeric password of eight or more characters that no other
    // part of the URL contains never shows in the masked form (every run of
    // letters and digits there comes from one part other than the password).
    if let Some(password) = url.password() {
        let plain = password.chars().count() >= 8 && password.chars().all(|c| c.is_ascii_alphanumeric());
        let port = url.port.map(|p| p.to_string());
        let elsewhere = [
            url.username.as_deref(),
            url.host.as_deref(),
            url.database.as_deref(),
            port.as_deref(),
            Some(url.drivername.as_str()),
        ]
        .iter()
        .flatten()
        .any(|part| part.contains(password))
            || url
                .query
                .iter()
                .any(|(k, v)| k.contains(password) || v.contains(password));
        if plain && !elsewhere {
            assert!(!masked.contains(password), "{masked}");
        }
        let _ = url.scrub(&format!("error near {password}"));
    }
});
