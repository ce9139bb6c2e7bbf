//! String formatting: `%` (printf style), `str.format` and format specs.

use super::error::{PyError, PyResult};
use super::value::{float_repr, Value};
use super::Interp;

/// `text % args`.
pub fn percent_format(interp: &mut Interp<'_>, text: &str, args: &Value) -> PyResult<String> {
    let positional: Vec<Value> = match args {
        Value::Tuple(t) => t.as_ref().clone(),
        other => vec![other.clone()],
    };
    let mut next = 0;
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&c) = chars.get(i) else {
            return Err(PyError::new("ValueError", "incomplete format"));
        };
        if c == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        let mut key = None;
        if c == '(' {
            let end = chars[i..].iter().position(|&c| c == ')').map(|p| p + i);
            let Some(end) = end else {
                return Err(PyError::new("ValueError", "incomplete format key"));
            };
            key = Some(chars[i + 1..end].iter().collect::<String>());
            i = end + 1;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.get(i) {
            if "-+ #0123456789.".contains(d) {
                spec.push(d);
                i += 1;
            } else {
                break;
            }
        }
        let Some(&conv) = chars.get(i) else {
            return Err(PyError::new("ValueError", "incomplete format"));
        };
        i += 1;
        let value = match &key {
            Some(k) => match args {
                Value::Dict(d) => d
                    .borrow()
                    .get_str(k)
                    .ok_or_else(|| PyError::new("KeyError", format!("'{k}'")))?,
                _ => return Err(PyError::new("TypeError", "format requires a mapping")),
            },
            None => {
                let v = positional.get(next).cloned().ok_or_else(|| {
                    PyError::new("TypeError", "not enough arguments for format string")
                })?;
                next += 1;
                v
            }
        };
        let body = match conv {
            's' => interp.to_str(&value)?,
            'r' => interp.repr(&value)?,
            'd' | 'i' => match &value {
                Value::Float(f) if f.is_finite() => (f.trunc() as i64).to_string(),
                Value::Float(f) => {
                    return Err(PyError::new(
                        if f.is_nan() {
                            "ValueError"
                        } else {
                            "OverflowError"
                        },
                        format!("cannot convert float {} to integer", float_repr(*f)),
                    ))
                }
                v => v
                    .as_int()
                    .ok_or_else(|| {
                        PyError::new(
                            "TypeError",
                            format!(
                                "%{conv} format: a real number is required, not {}",
                                v.type_name()
                            ),
                        )
                    })?
                    .to_string(),
            },
            'x' | 'X' | 'o' if value.as_int().is_none() => {
                return Err(PyError::new(
                    "TypeError",
                    format!(
                        "%{conv} format: an integer is required, not {}",
                        value.type_name()
                    ),
                ))
            }
            'f' | 'e' | 'g' | 'x' | 'X' | 'o' => {
                out.push_str(&format_spec(&value, &format!("{spec}{conv}"))?);
                continue;
            }
            other => {
                return Err(PyError::new(
                    "ValueError",
                    format!("unsupported format character '{other}'"),
                ))
            }
        };
        let flags: String = spec
            .chars()
            .take_while(|c| matches!(c, '-' | '+' | ' ' | '#' | '0'))
            .collect();
        if matches!(conv, 'd' | 'i') && flags.contains('0') && !flags.contains('-') {
            // `%08d`: zeros between the sign and the digits.
            let width: usize = spec[flags.len()..].parse().unwrap_or(0);
            let (sign, digits) = match body.strip_prefix('-') {
                Some(d) => ("-", d.to_string()),
                None => ("", body.clone()),
            };
            let zeros = width.saturating_sub(sign.len() + digits.chars().count());
            out.push_str(&format!("{sign}{}{digits}", "0".repeat(zeros)));
            continue;
        }
        out.push_str(&pad(&body, &spec));
    }
    if next < positional.len() && !matches!(args, Value::Dict(_)) {
        return Err(PyError::new(
            "TypeError",
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

fn pad(body: &str, spec: &str) -> String {
    let left = spec.contains('-');
    let width: usize = spec
        .trim_start_matches(['-', '+', ' ', '#', '0'])
        .split('.')
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0);
    let len = body.chars().count();
    if len >= width {
        return body.to_string();
    }
    let fill = " ".repeat(width - len);
    if left {
        format!("{body}{fill}")
    } else {
        format!("{fill}{body}")
    }
}

/// A format spec (`[[fill]align][sign][0][width][,][.precision][type]`).
pub fn format_spec(value: &Value, spec: &str) -> PyResult<String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut fill = ' ';
    let mut align = None;
    if chars.len() >= 2 && "<>^=".contains(chars[1]) {
        fill = chars[0];
        align = Some(chars[1]);
        i = 2;
    } else if !chars.is_empty() && "<>^=".contains(chars[0]) {
        align = Some(chars[0]);
        i = 1;
    }
    let mut sign = None;
    if i < chars.len() && "+- ".contains(chars[i]) {
        sign = Some(chars[i]);
        i += 1;
    }
    if i < chars.len() && chars[i] == '0' {
        fill = '0';
        align = align.or(Some('='));
        i += 1;
    }
    let mut width = String::new();
    while i < chars.len() && chars[i].is_ascii_digit() {
        width.push(chars[i]);
        i += 1;
    }
    let mut grouping = false;
    if i < chars.len() && (chars[i] == ',' || chars[i] == '_') {
        grouping = true;
        i += 1;
    }
    let mut precision = None;
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        let mut p = String::new();
        while i < chars.len() && chars[i].is_ascii_digit() {
            p.push(chars[i]);
            i += 1;
        }
        precision = p.parse::<usize>().ok();
    }
    let kind = chars.get(i).copied();
    let mut body = match kind {
        Some('d') => value
            .as_int()
            .ok_or_else(|| unknown_code('d', value))?
            .to_string(),
        Some('f') | Some('F') | Some('%') => {
            let f = value
                .as_float()
                .ok_or_else(|| unknown_code(kind.unwrap_or('f'), value))?;
            let f = if kind == Some('%') { f * 100.0 } else { f };
            let s = format!("{:.*}", precision.unwrap_or(6), f);
            if kind == Some('%') {
                format!("{s}%")
            } else {
                s
            }
        }
        Some(code @ ('e' | 'E' | 'g' | 'G')) => {
            let f = value.as_float().ok_or_else(|| unknown_code(code, value))?;
            let text = if code.eq_ignore_ascii_case(&'e') {
                exponent_format(f, precision.unwrap_or(6))
            } else {
                general_format(f, precision.unwrap_or(6))
            };
            if code.is_ascii_uppercase() {
                text.to_uppercase()
            } else {
                text
            }
        }
        Some(code @ ('x' | 'X' | 'o' | 'b')) => {
            let i = value.as_int().ok_or_else(|| unknown_code(code, value))?;
            let (neg, n) = (i < 0, i.unsigned_abs());
            let digits = match code {
                'x' => format!("{n:x}"),
                'X' => format!("{n:X}"),
                'o' => format!("{n:o}"),
                _ => format!("{n:b}"),
            };
            format!("{}{digits}", if neg { "-" } else { "" })
        }
        Some('s') | None => {
            let s = value.to_str();
            match (precision, value) {
                (Some(p), Value::Str(_)) => s.chars().take(p).collect(),
                (Some(p), Value::Float(f)) => format!("{:.*}", p, f),
                _ => s,
            }
        }
        Some(other) => {
            return Err(PyError::new(
                "ValueError",
                format!("Unknown format code '{other}'"),
            ))
        }
    };
    if grouping {
        let (int_part, rest) = match body.find('.') {
            Some(p) => (body[..p].to_string(), body[p..].to_string()),
            None => (body.clone(), String::new()),
        };
        let (neg, digits) = match int_part.strip_prefix('-') {
            Some(d) => (true, d.to_string()),
            None => (false, int_part),
        };
        let mut grouped = String::new();
        for (n, c) in digits.chars().enumerate() {
            if n > 0 && (digits.len() - n) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        body = format!("{}{grouped}{rest}", if neg { "-" } else { "" });
    }
    if sign == Some('+') && !body.starts_with('-') && value.as_float().is_some() {
        body = format!("+{body}");
    }
    let width: usize = width.parse().unwrap_or(0);
    let len = body.chars().count();
    if len >= width {
        return Ok(body);
    }
    let missing = width - len;
    let numeric = !matches!(value, Value::Str(_));
    let align = align.unwrap_or(if numeric { '>' } else { '<' });
    let fills = |n: usize| fill.to_string().repeat(n);
    Ok(match align {
        '<' => format!("{body}{}", fills(missing)),
        '^' => format!(
            "{}{body}{}",
            fills(missing / 2),
            fills(missing - missing / 2)
        ),
        '=' => match body.strip_prefix('-') {
            Some(rest) => format!("-{}{rest}", fills(missing)),
            None => format!("{}{body}", fills(missing)),
        },
        _ => format!("{}{body}", fills(missing)),
    })
}

/// `template.format(*args, **kwargs)`.
pub fn str_format(
    interp: &mut Interp<'_>,
    template: &str,
    args: &[Value],
    kwargs: &[(String, Value)],
) -> PyResult<String> {
    let mut out = String::new();
    let chars: Vec<char> = template.chars().collect();
    let mut auto = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' && chars.get(i + 1) == Some(&'{') {
            out.push('{');
            i += 2;
            continue;
        }
        if c == '}' && chars.get(i + 1) == Some(&'}') {
            out.push('}');
            i += 2;
            continue;
        }
        if c != '{' {
            out.push(c);
            i += 1;
            continue;
        }
        let end = chars[i..]
            .iter()
            .position(|&c| c == '}')
            .map(|p| p + i)
            .ok_or_else(|| PyError::new("ValueError", "Single '{' encountered in format string"))?;
        let field: String = chars[i + 1..end].iter().collect();
        i = end + 1;
        let (field, spec) = match field.split_once(':') {
            Some((f, s)) => (f.to_string(), s.to_string()),
            None => (field, String::new()),
        };
        let (field, conversion) = match field.split_once('!') {
            Some((f, c)) => (f.to_string(), c.chars().next()),
            None => (field, None),
        };
        let mut path = field.split('.');
        let head = path.next().unwrap_or("");
        let mut value = if head.is_empty() {
            let v = args
                .get(auto)
                .cloned()
                .ok_or_else(|| PyError::new("IndexError", "Replacement index out of range"))?;
            auto += 1;
            v
        } else if let Ok(n) = head.parse::<usize>() {
            args.get(n)
                .cloned()
                .ok_or_else(|| PyError::new("IndexError", "Replacement index out of range"))?
        } else {
            kwargs
                .iter()
                .find(|(k, _)| k == head)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| PyError::new("KeyError", format!("'{head}'")))?
        };
        for attr in path {
            value = interp.get_attr(&value, attr)?;
        }
        let value = match conversion {
            Some('r') => Value::str(interp.repr(&value)?),
            Some('s') => Value::str(interp.to_str(&value)?),
            _ => value,
        };
        out.push_str(&interp.format_value(&value, &spec)?);
    }
    Ok(out)
}

/// Python's ValueError for a format code the value's type does not take.
fn unknown_code(code: char, v: &Value) -> PyError {
    PyError::new(
        "ValueError",
        format!(
            "Unknown format code '{code}' for object of type '{}'",
            v.type_name()
        ),
    )
}

/// Python's `'e'` presentation: `1.500000e+00` (the exponent signed, at
/// least two digits).
fn exponent_format(f: f64, precision: usize) -> String {
    if !f.is_finite() {
        return float_repr(f);
    }
    let text = format!("{f:.precision$e}");
    let (mantissa, exp) = text.split_once('e').expect("Rust's {:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Python's `'g'` presentation: `precision` significant digits (0 counts as
/// 1), fixed-point when the exponent is in [-4, precision), trailing zeros
/// and a trailing point removed.
fn general_format(f: f64, precision: usize) -> String {
    if !f.is_finite() {
        return float_repr(f);
    }
    let p = precision.max(1);
    let sci = format!("{f:.prec$e}", prec = p - 1);
    let (_, exp) = sci.split_once('e').expect("Rust's {:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp >= -4 && exp < p as i32 {
        strip(format!("{f:.prec$}", prec = (p as i32 - 1 - exp) as usize))
    } else {
        let (mantissa, _) = sci.split_once('e').expect("checked");
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(mantissa.to_string()), exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected texts are CPython 3.11's.
    #[test]
    fn numeric_format_specs_follow_python() {
        let f = |v: Value, spec: &str| format_spec(&v, spec).map_err(|e| e.to_string());
        assert_eq!(f(Value::Float(1.5), "e").unwrap(), "1.500000e+00");
        assert_eq!(f(Value::Int(3), "e").unwrap(), "3.000000e+00");
        assert_eq!(f(Value::Float(0.000123), ".2e").unwrap(), "1.23e-04");
        assert_eq!(f(Value::Int(3), "g").unwrap(), "3");
        assert_eq!(f(Value::Float(1.5), "g").unwrap(), "1.5");
        assert_eq!(f(Value::Float(1234567.0), "g").unwrap(), "1.23457e+06");
        assert_eq!(f(Value::Float(0.0001), "g").unwrap(), "0.0001");
        assert_eq!(f(Value::Float(0.00001), "g").unwrap(), "1e-05");
        assert_eq!(f(Value::Float(100.0), ".2g").unwrap(), "1e+02");
        assert_eq!(f(Value::Int(255), "x").unwrap(), "ff");
        assert_eq!(f(Value::Int(-255), "X").unwrap(), "-FF");
        assert_eq!(f(Value::Int(8), "o").unwrap(), "10");
        assert_eq!(f(Value::Bool(true), "d").unwrap(), "1");
        for code in ["d", "x", "o"] {
            let err = f(Value::Float(1.5), code).unwrap_err();
            assert!(
                err.contains(&format!(
                    "Unknown format code '{code}' for object of type 'float'"
                )),
                "{err}"
            );
        }
        assert!(f(Value::Str("a".into()), "e").is_err());
    }
}
