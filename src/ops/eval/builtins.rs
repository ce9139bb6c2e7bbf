//! Python builtins and methods of plain values (str, list, dict, dates,
//! Alembic's `Config`) that migrations use.

use super::*;

/// Builtin function names aurora implements.
pub(super) const BUILTINS: &[&str] = &[
    "len",
    "str",
    "int",
    "bool",
    "float",
    "reversed",
    "sorted",
    "list",
    "tuple",
    "range",
    "enumerate",
    "zip",
    "min",
    "max",
    "isinstance",
    "dict",
    "set",
    "abs",
    "repr",
    "print",
];

fn items_of(v: &Value, span: Span, func: &str) -> EResult<Vec<Value>> {
    match v {
        Value::List(xs) | Value::Tuple(xs) => Ok(xs.clone()),
        Value::Dict(kv) => Ok(kv.iter().map(|(k, _)| k.clone()).collect()),
        Value::Str(s) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
        other => Err(problem(
            span,
            format!("{func}() of {} is not supported", describe(other)),
        )),
    }
}

fn sort_key(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Tuple(x), Value::Tuple(y)) | (Value::List(x), Value::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = sort_key(p, q);
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => std::cmp::Ordering::Equal,
    }
}

fn comparable(xs: &[Value]) -> bool {
    let all = |f: fn(&Value) -> bool| xs.iter().all(f);
    all(|v| matches!(v, Value::Int(_)))
        || all(|v| matches!(v, Value::Float(_)))
        || all(|v| matches!(v, Value::Str(_)))
        || all(|v| matches!(v, Value::Tuple(_) | Value::List(_)))
}

/// `int()` of a value, as Python converts it.
fn to_int(v: &Value, span: Span) -> EResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        Value::Float(f) => Ok(f.trunc() as i64),
        Value::Str(s) => s.trim().replace('_', "").parse().map_err(|_| {
            problem(
                span,
                format!("ValueError: invalid literal for int() with base 10: '{s}'"),
            )
        }),
        other => Err(problem(span, format!("int() of {}", describe(other)))),
    }
}

/// Calls builtin `name`; `None` when it is not a builtin aurora knows.
pub(super) fn call_builtin(name: &str, args: &Args) -> Option<EResult<Value>> {
    if !BUILTINS.contains(&name) || name == "len" || name == "str" || name == "print" {
        return None;
    }
    Some(builtin_call(name, args))
}

fn builtin_call(name: &str, args: &Args) -> EResult<Value> {
    let span = args.span;
    if !args.keywords.is_empty() && !matches!(name, "sorted" | "min" | "max" | "dict") {
        return Err(problem(
            span,
            format!("{name}() with keyword arguments is not supported"),
        ));
    }
    let pos: Vec<&Value> = args.positional.iter().map(|(v, _)| v).collect();
    let one = |what: &str| -> EResult<&Value> {
        match pos.as_slice() {
            [v] => Ok(*v),
            _ => Err(problem(span, format!("{name}() takes exactly one {what}"))),
        }
    };
    match name {
        "int" => match pos.as_slice() {
            [] => Ok(Value::Int(0)),
            [v] => Ok(Value::Int(to_int(v, span)?)),
            _ => Err(problem(span, "int() with a base is not supported")),
        },
        "float" => match one("argument")? {
            Value::Int(i) => Ok(Value::Float(*i as f64)),
            Value::Float(f) => Ok(Value::Float(*f)),
            Value::Str(s) => s.trim().parse().map(Value::Float).map_err(|_| {
                problem(
                    span,
                    format!("ValueError: could not convert string to float: '{s}'"),
                )
            }),
            other => Err(problem(span, format!("float() of {}", describe(other)))),
        },
        "bool" => Ok(Value::Bool(match pos.first() {
            Some(v) => truthy(v, span)?,
            None => false,
        })),
        "abs" => match one("argument")? {
            Value::Int(i) => Ok(Value::Int(i.abs())),
            Value::Float(f) => Ok(Value::Float(f.abs())),
            other => Err(problem(span, format!("abs() of {}", describe(other)))),
        },
        "repr" => Ok(Value::Str(py_repr(one("argument")?))),
        "reversed" => {
            let mut xs = items_of(one("sequence")?, span, name)?;
            xs.reverse();
            Ok(Value::List(xs))
        }
        "list" | "tuple" | "set" => {
            let xs = match pos.as_slice() {
                [] => Vec::new(),
                [v] => items_of(v, span, name)?,
                _ => {
                    return Err(problem(
                        span,
                        format!("{name}() takes at most one argument"),
                    ))
                }
            };
            let xs = if name == "set" {
                let mut out: Vec<Value> = Vec::new();
                for x in xs {
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
                out
            } else {
                xs
            };
            Ok(if name == "tuple" {
                Value::Tuple(xs)
            } else {
                Value::List(xs)
            })
        }
        // `dict(mapping_or_pairs, **kwargs)`: the positional argument's
        // items first, then the keywords, a later key replacing an earlier
        // one's value in place (Python's insertion order).
        "dict" => {
            let mut out: Vec<(Value, Value)> = Vec::new();
            let mut put = |k: Value, v: Value| match out.iter_mut().find(|(kk, _)| *kk == k) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            };
            match pos.as_slice() {
                [] => {}
                [Value::Dict(kv)] => kv.iter().for_each(|(k, v)| put(k.clone(), v.clone())),
                [v] => {
                    for item in items_of(v, span, name)? {
                        match item {
                            Value::Tuple(p) | Value::List(p) if p.len() == 2 => {
                                put(p[0].clone(), p[1].clone())
                            }
                            other => {
                                return Err(problem(
                                    span,
                                    format!(
                                        "dict() takes pairs, got {} in its iterable",
                                        describe(&other)
                                    ),
                                ))
                            }
                        }
                    }
                }
                _ => {
                    return Err(problem(
                        span,
                        "dict() takes at most one positional argument",
                    ))
                }
            }
            for (k, v, _) in &args.keywords {
                put(Value::Str(k.clone()), v.clone());
            }
            Ok(Value::Dict(out))
        }
        "sorted" | "min" | "max" => {
            let mut reverse = false;
            for (k, v, s) in &args.keywords {
                match (k.as_str(), name) {
                    ("reverse", "sorted") => reverse = truthy(v, *s)?,
                    _ => {
                        return Err(problem(
                            *s,
                            format!("{name}() with '{k}=' is not supported"),
                        ))
                    }
                }
            }
            let mut xs = if name != "sorted" && pos.len() > 1 {
                pos.iter().map(|v| (*v).clone()).collect()
            } else {
                items_of(one("iterable")?, span, name)?
            };
            if !comparable(&xs) {
                return Err(problem(
                    span,
                    format!("{name}() of values of mixed or unsupported types"),
                ));
            }
            xs.sort_by(sort_key);
            match name {
                "sorted" => {
                    if reverse {
                        xs.reverse();
                    }
                    Ok(Value::List(xs))
                }
                "min" => xs
                    .into_iter()
                    .next()
                    .ok_or_else(|| problem(span, "ValueError: min() arg is an empty sequence")),
                _ => xs
                    .pop()
                    .ok_or_else(|| problem(span, "ValueError: max() arg is an empty sequence")),
            }
        }
        "range" => {
            let ints = pos
                .iter()
                .map(|v| to_int(v, span))
                .collect::<EResult<Vec<i64>>>()?;
            let (start, stop, step) = match ints.as_slice() {
                [stop] => (0, *stop, 1),
                [start, stop] => (*start, *stop, 1),
                [start, stop, step] if *step != 0 => (*start, *stop, *step),
                _ => return Err(problem(span, "range() arguments are not supported")),
            };
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i < stop) || (step < 0 && i > stop) {
                out.push(Value::Int(i));
                i += step;
                if out.len() > 1_000_000 {
                    return Err(problem(span, "range() too long"));
                }
            }
            Ok(Value::List(out))
        }
        "enumerate" => {
            let xs = items_of(one("iterable")?, span, name)?;
            Ok(Value::List(
                xs.into_iter()
                    .enumerate()
                    .map(|(i, x)| Value::Tuple(vec![Value::Int(i as i64), x]))
                    .collect(),
            ))
        }
        "zip" => {
            let lists = pos
                .iter()
                .map(|v| items_of(v, span, name))
                .collect::<EResult<Vec<_>>>()?;
            let n = lists.iter().map(Vec::len).min().unwrap_or(0);
            Ok(Value::List(
                (0..n)
                    .map(|i| Value::Tuple(lists.iter().map(|l| l[i].clone()).collect()))
                    .collect(),
            ))
        }
        "isinstance" => {
            let [v, Value::Path(t)] = pos.as_slice() else {
                return Err(problem(
                    span,
                    "isinstance() of these arguments is not supported",
                ));
            };
            let yes = match t.as_str() {
                "str" => matches!(v, Value::Str(_)),
                "int" => matches!(v, Value::Int(_) | Value::Bool(_)),
                "bool" => matches!(v, Value::Bool(_)),
                "float" => matches!(v, Value::Float(_)),
                "list" => matches!(v, Value::List(_)),
                "tuple" => matches!(v, Value::Tuple(_)),
                "dict" => matches!(v, Value::Dict(_)),
                other => {
                    return Err(problem(
                        span,
                        format!("isinstance() against '{other}' is not supported"),
                    ))
                }
            };
            Ok(Value::Bool(yes))
        }
        _ => Err(problem(span, format!("unsupported call '{name}'"))),
    }
}

/// Python's `repr()` of plain values.
pub(super) fn py_repr(v: &Value) -> String {
    match v {
        Value::Str(s) => {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('\n', "\\n")
                .replace('\r', "\\r")
                .replace('\t', "\\t");
            if s.contains('\'') && !s.contains('"') {
                format!("\"{escaped}\"")
            } else {
                format!("'{}'", escaped.replace('\'', "\\'"))
            }
        }
        Value::Dict(kv) => format!(
            "{{{}}}",
            kv.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::List(xs) => format!(
            "[{}]",
            xs.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Tuple(xs) if xs.len() == 1 => format!("({},)", py_repr(&xs[0])),
        Value::Tuple(xs) => format!(
            "({})",
            xs.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        other => py_str(other),
    }
}

fn str_arg<'a>(args: &'a Args, i: usize, m: &str) -> EResult<Option<&'a str>> {
    match args.positional.get(i) {
        None | Some((Value::None, _)) => Ok(None),
        Some((Value::Str(s), _)) => Ok(Some(s)),
        Some((other, s)) => Err(problem(
            *s,
            format!("str.{m}() expects a string, got {}", describe(other)),
        )),
    }
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
fn split(s: &str, sep: Option<&str>, maxsplit: i64) -> Vec<Value> {
    let mut out = Vec::new();
    match sep {
        Some(sep) => {
            let mut rest = s;
            while maxsplit < 0 || (out.len() as i64) < maxsplit {
                match rest.find(sep) {
                    Some(i) => {
                        out.push(Value::Str(rest[..i].to_string()));
                        rest = &rest[i + sep.len()..];
                    }
                    None => break,
                }
            }
            out.push(Value::Str(rest.to_string()));
        }
        None => {
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if maxsplit >= 0 && out.len() as i64 >= maxsplit {
                    out.push(Value::Str(rest.trim_end().to_string()));
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(Value::Str(rest[..end].to_string()));
                rest = rest[end..].trim_start();
            }
        }
    }
    out
}

/// Methods of strings, lists, dicts, dates and Alembic's `Config`;
/// `None` when `recv` is none of these.
pub(super) fn plain_method(
    recv: &Value,
    m: &str,
    args: &Args,
    ctx: &LowerContext,
) -> Option<EResult<Value>> {
    let span = args.span;
    let no_keywords = |r: EResult<Value>| -> EResult<Value> {
        if let Some((k, _, s)) = args.keywords.first() {
            return Err(problem(
                *s,
                format!("{m}() got an unexpected keyword argument '{k}'"),
            ));
        }
        r
    };
    Some(match recv {
        Value::Str(s) => no_keywords(str_method(s, m, args)),
        Value::Dict(kv) => no_keywords(match m {
            "get" => {
                let key = args.positional.first().map(|(v, _)| v.clone());
                let default = args
                    .positional
                    .get(1)
                    .map(|(v, _)| v.clone())
                    .unwrap_or(Value::None);
                Ok(kv
                    .iter()
                    .find(|(k, _)| Some(k) == key.as_ref())
                    .map(|(_, v)| v.clone())
                    .unwrap_or(default))
            }
            "keys" => Ok(Value::List(kv.iter().map(|(k, _)| k.clone()).collect())),
            "values" => Ok(Value::List(kv.iter().map(|(_, v)| v.clone()).collect())),
            "items" => Ok(Value::List(
                kv.iter()
                    .map(|(k, v)| Value::Tuple(vec![k.clone(), v.clone()]))
                    .collect(),
            )),
            _ => return None,
        }),
        Value::List(xs) | Value::Tuple(xs) => no_keywords(match m {
            "index" => {
                let x = args.positional.first().map(|(v, _)| v.clone());
                xs.iter()
                    .position(|v| Some(v) == x.as_ref())
                    .map(|i| Value::Int(i as i64))
                    .ok_or_else(|| problem(span, "ValueError: value is not in list"))
            }
            "count" => {
                let x = args.positional.first().map(|(v, _)| v.clone());
                Ok(Value::Int(
                    xs.iter().filter(|v| Some(*v) == x.as_ref()).count() as i64,
                ))
            }
            _ => return None,
        }),
        Value::Literal(Literal::Date(y, mo, d))
        | Value::Literal(Literal::DateTime(y, mo, d, ..))
            if m == "toordinal" =>
        {
            no_keywords(
                chrono::NaiveDate::from_ymd_opt(*y as i32, *mo, *d)
                    .map(|date| {
                        use chrono::Datelike;
                        Value::Int(date.num_days_from_ce() as i64)
                    })
                    .ok_or_else(|| problem(span, "ValueError: invalid date")),
            )
        }
        Value::Config => match m {
            "get_main_option" | "get_section_option" | "get_alembic_option" => {
                let (key_at, section) = if m == "get_section_option" {
                    (1, str_arg(args, 0, m).ok().flatten())
                } else {
                    (0, None)
                };
                if section.is_some() {
                    return Some(Err(problem(
                        span,
                        "config.get_section_option() is not supported; use get_main_option()",
                    )));
                }
                let key = match str_arg(args, key_at, m) {
                    Ok(Some(k)) => k,
                    Ok(None) => return Some(Err(problem(span, format!("{m}() needs a name")))),
                    Err(e) => return Some(Err(e)),
                };
                let default = args
                    .positional
                    .get(key_at + 1)
                    .map(|(v, _)| v.clone())
                    .or_else(|| {
                        args.keywords
                            .iter()
                            .find(|(k, _, _)| k == "default")
                            .map(|(_, v, _)| v.clone())
                    })
                    .unwrap_or(Value::None);
                Ok(ctx
                    .main_options
                    .get(key)
                    .map(|v| Value::Str(v.clone()))
                    .unwrap_or(default))
            }
            _ => Err(problem(
                span,
                format!("config.{m}() is not supported in a revision"),
            )),
        },
        _ => return None,
    })
}

fn str_method(s: &str, m: &str, args: &Args) -> EResult<Value> {
    let span = args.span;
    let arg = |i: usize| str_arg(args, i, m);
    let text = |x: String| Ok(Value::Str(x));
    match m {
        "upper" => text(s.to_uppercase()),
        "lower" => text(s.to_lowercase()),
        "title" => text(
            s.split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(f) => {
                            f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase()
                        }
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "capitalize" => {
            let mut c = s.chars();
            text(match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            })
        }
        "strip" | "lstrip" | "rstrip" => {
            let chars: Option<Vec<char>> = arg(0)?.map(|c| c.chars().collect());
            let pred = |c: char| match &chars {
                Some(set) => set.contains(&c),
                None => c.is_whitespace(),
            };
            text(
                match m {
                    "strip" => s.trim_matches(pred),
                    "lstrip" => s.trim_start_matches(pred),
                    _ => s.trim_end_matches(pred),
                }
                .to_string(),
            )
        }
        "replace" => {
            let (Some(old), Some(new)) = (arg(0)?, arg(1)?) else {
                return Err(problem(span, "str.replace() takes two strings"));
            };
            match args.positional.get(2) {
                None => text(s.replace(old, new)),
                Some((Value::Int(n), _)) if *n < 0 => text(s.replace(old, new)),
                Some((Value::Int(n), _)) => text(s.replacen(old, new, *n as usize)),
                Some((_, sp)) => Err(problem(*sp, "str.replace() count must be an integer")),
            }
        }
        "split" | "rsplit" => {
            let maxsplit = match args.positional.get(1) {
                None => -1,
                Some((Value::Int(n), _)) => *n,
                Some((_, sp)) => return Err(problem(*sp, "maxsplit must be an integer")),
            };
            if m == "rsplit" && maxsplit >= 0 {
                return Err(problem(span, "str.rsplit() with maxsplit is not supported"));
            }
            if arg(0)? == Some("") {
                return Err(problem(span, "ValueError: empty separator"));
            }
            Ok(Value::List(split(s, arg(0)?, maxsplit)))
        }
        "startswith" | "endswith" => {
            let options: Vec<String> = match args.positional.first() {
                Some((Value::Str(p), _)) => vec![p.clone()],
                Some((Value::Tuple(xs), _)) => xs.iter().map(py_str).collect(),
                _ => return Err(problem(span, format!("str.{m}() takes a string"))),
            };
            Ok(Value::Bool(options.iter().any(|p| {
                if m == "startswith" {
                    s.starts_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            })))
        }
        "join" => {
            let items = match args.positional.first() {
                Some((v, sp)) => items_of(v, *sp, "join")?,
                None => return Err(problem(span, "str.join() takes one argument")),
            };
            let mut parts = Vec::new();
            for it in items {
                match it {
                    Value::Str(x) => parts.push(x),
                    other => {
                        return Err(problem(
                            span,
                            format!(
                                "TypeError: sequence item: expected str instance, {} found",
                                describe(&other)
                            ),
                        ))
                    }
                }
            }
            text(parts.join(s))
        }
        "format" => {
            if !args.keywords.is_empty() {
                return Err(problem(span, "str.format() with keywords is not supported"));
            }
            let values: Vec<Value> = args.positional.iter().map(|(v, _)| v.clone()).collect();
            format_positional(s, &values, span).map(Value::Str)
        }
        _ => Err(problem(span, format!("unsupported string method '{m}'"))),
    }
}

/// `"...{}...{0}...".format(*values)` for plain and numbered fields.
fn format_positional(fmt: &str, values: &[Value], span: Span) -> EResult<String> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    field.push(c);
                }
                let (name, conv) = match field.split_once('!') {
                    Some((n, c)) => (n.to_string(), Some(c.to_string())),
                    None => (field.clone(), None),
                };
                if name.contains(':') || name.contains('.') || name.contains('[') {
                    return Err(problem(
                        span,
                        format!("str.format() field '{{{field}}}' is not supported"),
                    ));
                }
                let index = if name.is_empty() {
                    next += 1;
                    next - 1
                } else {
                    name.parse::<usize>().map_err(|_| {
                        problem(
                            span,
                            format!("str.format() field '{{{field}}}' is not supported"),
                        )
                    })?
                };
                let v = values
                    .get(index)
                    .ok_or_else(|| problem(span, "IndexError: Replacement index out of range"))?;
                out.push_str(&match conv.as_deref() {
                    None | Some("s") => py_text(v, span)?,
                    Some("r") => py_repr(v),
                    Some(other) => {
                        return Err(problem(
                            span,
                            format!("conversion '!{other}' is not supported"),
                        ))
                    }
                });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}
