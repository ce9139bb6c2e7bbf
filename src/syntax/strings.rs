//! Decoding Python string literals (prefixes, quotes and escapes) into their values.

/// Decodes the body of a string literal given its prefix (`r`, `b`, `u`, ...).
/// Raw strings keep backslashes; others interpret Python's escapes. An escape
/// Python rejects is kept as written (the parser reports those: see
/// [`decode_str`]).
pub fn decode(prefix: &str, body: &str) -> String {
    let raw = prefix.to_ascii_lowercase().contains('r');
    decode_str(body, raw).unwrap_or_else(|_| body.to_string())
}

/// An escape Python rejects: the byte offset in the body and the message.
pub type EscapeError = (usize, String);

/// Decodes a `str` literal body: `\n`, octal `\ooo`, `\xhh`, `\uXXXX`,
/// `\UXXXXXXXX`, `\N{NAME}`, line continuations; unknown escapes keep their
/// backslash, as in Python.
pub fn decode_str(body: &str, raw: bool) -> Result<String, EscapeError> {
    if raw || !body.contains('\\') {
        return Ok(body.to_string());
    }
    let mut out = String::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut run = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        out.push_str(&body[run..i]);
        let at = i;
        i += 1;
        let Some(&c) = bytes.get(i) else {
            out.push('\\');
            run = i;
            break;
        };
        i += 1;
        match c {
            b'\n' => {}
            b'\r' => {
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\\' => out.push('\\'),
            b'\'' => out.push('\''),
            b'"' => out.push('"'),
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => out.push('\r'),
            b'a' => out.push('\x07'),
            b'b' => out.push('\x08'),
            b'f' => out.push('\x0c'),
            b'v' => out.push('\x0b'),
            b'0'..=b'7' => {
                let (value, end) = octal(bytes, i - 1);
                i = end;
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            b'x' | b'u' | b'U' => {
                let width = match c {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = body
                    .get(i..i + width)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                let Some(hex) = hex else {
                    let name = match c {
                        b'x' => "truncated \\xXX escape",
                        b'u' => "truncated \\uXXXX escape",
                        _ => "truncated \\UXXXXXXXX escape",
                    };
                    return Err((at, unicode_error(at, body, name)));
                };
                let value = u32::from_str_radix(hex, 16).expect("hex digits");
                match char::from_u32(value) {
                    Some(ch) => out.push(ch),
                    None => return Err((at, unicode_error(at, body, "illegal Unicode character"))),
                }
                i += width;
            }
            b'N' => {
                let close = (bytes.get(i) == Some(&b'{'))
                    .then(|| body[i..].find('}').map(|k| i + k))
                    .flatten();
                let Some(close) = close else {
                    return Err((
                        at,
                        unicode_error(at, body, "malformed \\N character escape"),
                    ));
                };
                let name = &body[i + 1..close];
                // Unicode names are letters, digits, spaces and hyphens,
                // starting with a letter or digit; anything else is unknown
                // (and unicode_names2 panics on some such input: the fuzzer
                // found `\N{-LATIN6e}`).
                let plausible = name.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
                match plausible.then(|| unicode_names2::character(name)).flatten() {
                    Some(ch) => out.push(ch),
                    None => {
                        return Err((
                            at,
                            unicode_error(at, body, "unknown Unicode character name"),
                        ))
                    }
                }
                i = close + 1;
            }
            _ => {
                // Unknown escapes keep the backslash (Python warns).
                out.push('\\');
                i -= 1;
            }
        }
        run = i;
    }
    if run < bytes.len() {
        out.push_str(&body[run..]);
    }
    Ok(out)
}

fn unicode_error(at: usize, body: &str, what: &str) -> String {
    let len = body[at..]
        .chars()
        .take(2)
        .map(char::len_utf8)
        .sum::<usize>()
        .max(1);
    format!(
        "(unicode error) 'unicodeescape' codec can't decode bytes in position {}-{}: {what}",
        at,
        at + len - 1
    )
}

/// Up to three octal digits from `start`: the value and the offset after them.
fn octal(bytes: &[u8], start: usize) -> (u32, usize) {
    let mut value = 0u32;
    let mut i = start;
    while i < bytes.len() && i < start + 3 && (b'0'..=b'7').contains(&bytes[i]) {
        value = value * 8 + u32::from(bytes[i] - b'0');
        i += 1;
    }
    (value, i)
}

/// Decodes a `bytes` literal body: ASCII only, with the escapes of bytes
/// (`\xhh`, octal; `\u`, `\N` stay as written, as in Python).
pub fn decode_bytes(body: &str, raw: bool) -> Result<Vec<u8>, EscapeError> {
    if let Some(k) = body.bytes().position(|b| b >= 0x80) {
        return Err((
            k,
            "bytes can only contain ASCII literal characters".to_string(),
        ));
    }
    let bytes = body.as_bytes();
    if raw {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let at = i;
        i += 1;
        let Some(&e) = bytes.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\r' => {
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let (value, end) = octal(bytes, i - 1);
                i = end;
                out.push((value & 0xff) as u8);
            }
            b'x' => {
                let hex = body
                    .get(i..i + 2)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                let Some(hex) = hex else {
                    return Err((
                        at,
                        format!("(value error) invalid \\x escape at position {at}"),
                    ));
                };
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Converts digits in `radix` (2, 8, 10 or 16) to decimal digits, for
/// integers beyond `i64`.
pub fn radix_to_decimal(digits: &str, radix: u32) -> String {
    // Little-endian base-10^9 limbs.
    let mut limbs: Vec<u64> = vec![0];
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { continue };
        let mut carry = u64::from(d);
        for limb in limbs.iter_mut() {
            let v = *limb * u64::from(radix) + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    }
    let mut out = limbs.last().expect("one limb").to_string();
    for limb in limbs.iter().rev().skip(1) {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_raw_strings() {
        assert_eq!(decode("", r"a\nb\\c\'"), "a\nb\\c'");
        assert_eq!(decode("r", r"a\nb"), r"a\nb");
        assert_eq!(decode("", r"\x41\u00e9"), "Aé");
        assert_eq!(decode("", r"\d"), r"\d");
    }

    #[test]
    fn octal_names_and_wide_escapes() {
        assert_eq!(decode_str(r"\101\0\7z", false).unwrap(), "A\0\x07z");
        assert_eq!(decode_str(r"\N{BULLET} \U0001F600", false).unwrap(), "• 😀");
        assert_eq!(
            decode_str(r"\N{LATIN SMALL LETTER E WITH ACUTE}", false).unwrap(),
            "é"
        );
        assert!(decode_str(r"\N{NO SUCH NAME}", false).is_err());
        // Found by the header_roundtrip fuzz target: a malformed name is an
        // error, not a panic inside unicode_names2.
        assert!(decode_str(r"\N{-LATIN6e}", false).is_err());
        assert!(decode_str(r"\N{}", false).is_err());
        assert!(decode_str(r"\x4", false)
            .unwrap_err()
            .1
            .contains("truncated \\xXX"));
    }

    #[test]
    fn bytes_literals() {
        assert_eq!(
            decode_bytes(r"a\x00\101\n\u", false).unwrap(),
            b"a\x00A\n\\u"
        );
        assert!(decode_bytes("é", false).is_err());
        assert_eq!(decode_bytes(r"\x00", true).unwrap(), br"\x00");
    }

    #[test]
    fn big_integers() {
        assert_eq!(
            radix_to_decimal("ffffffffffffffffff", 16),
            "4722366482869645213695"
        );
        assert_eq!(
            radix_to_decimal("123456789012345678901234", 10),
            "123456789012345678901234"
        );
    }
}
