//! The builtin functions, exception classes and the methods of the builtin
//! types (`str`, `list`, `dict`, `set`, `tuple`).

use std::cell::RefCell;
use std::rc::Rc;

use super::error::{PyError, PyResult};
use super::value::{Args, Class, Descriptor, Dict, Value};
use super::{compare, format, Interp};

const EXCEPTIONS: &[(&str, &str)] = &[
    ("BaseException", "object"),
    ("Exception", "BaseException"),
    ("SystemExit", "BaseException"),
    ("KeyboardInterrupt", "BaseException"),
    ("ArithmeticError", "Exception"),
    ("ZeroDivisionError", "ArithmeticError"),
    ("OverflowError", "ArithmeticError"),
    ("LookupError", "Exception"),
    ("KeyError", "LookupError"),
    ("IndexError", "LookupError"),
    ("ValueError", "Exception"),
    ("TypeError", "Exception"),
    ("AttributeError", "Exception"),
    ("NameError", "Exception"),
    ("ImportError", "Exception"),
    ("ModuleNotFoundError", "ImportError"),
    ("RuntimeError", "Exception"),
    ("NotImplementedError", "RuntimeError"),
    ("RecursionError", "RuntimeError"),
    ("OSError", "Exception"),
    ("FileNotFoundError", "OSError"),
    ("StopIteration", "Exception"),
    ("AssertionError", "Exception"),
    ("UnicodeDecodeError", "ValueError"),
    ("Warning", "Exception"),
    ("UserWarning", "Warning"),
    ("DeprecationWarning", "Warning"),
];

fn type_error(message: impl Into<String>) -> PyError {
    PyError::new("TypeError", message)
}

pub fn install(interp: &mut Interp<'_>) {
    let object = Rc::new(Class::new("object", "builtins", Vec::new()));
    interp
        .builtins
        .borrow_mut()
        .insert("object".into(), Value::Class(object.clone()));
    for (name, base) in EXCEPTIONS {
        let base = if *base == "object" {
            object.clone()
        } else {
            interp.exceptions[*base].clone()
        };
        let class = Rc::new(Class::new(name, "builtins", vec![base]));
        interp.exceptions.insert(name.to_string(), class.clone());
        interp
            .builtins
            .borrow_mut()
            .insert(name.to_string(), Value::Class(class));
    }
    let add = |name: &str, f: fn(&mut Interp<'_>, Args) -> PyResult<Value>| {
        interp
            .builtins
            .borrow_mut()
            .insert(name.to_string(), Value::builtin(name, f));
    };
    add("print", |interp, args| {
        let mut parts = Vec::new();
        for v in &args.positional {
            parts.push(interp.to_str(v)?);
        }
        let sep = args
            .keyword("sep")
            .map(|v| v.to_str())
            .unwrap_or(" ".into());
        let end = args
            .keyword("end")
            .map(|v| v.to_str())
            .unwrap_or("\n".into());
        interp.stdout.push_str(&parts.join(&sep));
        interp.stdout.push_str(&end);
        Ok(Value::None)
    });
    add("len", |interp, args| {
        let v = args.require(0, "obj", "len")?;
        Ok(Value::Int(match &v {
            Value::Str(s) => s.chars().count() as i64,
            Value::Dict(d) => d.borrow().items.len() as i64,
            Value::None
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Function(_)
            | Value::Builtin(_)
            | Value::Method(_)
            | Value::Module(_) => {
                return Err(PyError::new(
                    "TypeError",
                    format!("object of type '{}' has no len()", v.type_name()),
                ))
            }
            _ => interp.iterate(&v)?.len() as i64,
        }))
    });
    add("str", |interp, args| match args.positional.first() {
        None => Ok(Value::str("")),
        Some(Value::Bytes(b)) if args.positional.len() > 1 => {
            Ok(Value::str(String::from_utf8_lossy(b)))
        }
        Some(v) => Ok(Value::str(interp.to_str(v)?)),
    });
    add("repr", |interp, args| {
        let v = args.require(0, "obj", "repr")?;
        Ok(Value::str(interp.repr(&v)?))
    });
    add("int", |_, args| match args.positional.first() {
        None => Ok(Value::Int(0)),
        Some(Value::Str(s)) => {
            let base = args.get(1, "base").and_then(|b| b.as_int()).unwrap_or(10);
            i64::from_str_radix(s.trim().replace('_', "").as_str(), base as u32)
                .map(Value::Int)
                .map_err(|_| {
                    PyError::new(
                        "ValueError",
                        format!(
                            "invalid literal for int() with base {base}: {}",
                            Value::str(s.as_ref()).repr()
                        ),
                    )
                })
        }
        Some(Value::Float(f)) => Ok(Value::Int(f.trunc() as i64)),
        Some(v) => v.as_int().map(Value::Int).ok_or_else(|| {
            type_error(format!(
                "int() argument must be a string or a number, not '{}'",
                v.type_name()
            ))
        }),
    });
    add("float", |_, args| match args.positional.first() {
        None => Ok(Value::Float(0.0)),
        Some(Value::Str(s)) => s.trim().parse::<f64>().map(Value::Float).map_err(|_| {
            PyError::new(
                "ValueError",
                format!(
                    "could not convert string to float: {}",
                    Value::str(s.as_ref()).repr()
                ),
            )
        }),
        Some(v) => v
            .as_float()
            .map(Value::Float)
            .ok_or_else(|| type_error("float() argument must be a string or a number")),
    });
    add("bool", |interp, args| match args.positional.first() {
        None => Ok(Value::Bool(false)),
        Some(v) => Ok(Value::Bool(interp.truthy(v)?)),
    });
    add("list", |interp, args| match args.positional.first() {
        None => Ok(Value::list(Vec::new())),
        Some(v) => Ok(Value::list(interp.iterate(v)?)),
    });
    add("tuple", |interp, args| match args.positional.first() {
        None => Ok(Value::tuple(Vec::new())),
        Some(v) => Ok(Value::tuple(interp.iterate(v)?)),
    });
    add("set", |interp, args| {
        let items = match args.positional.first() {
            None => Vec::new(),
            Some(v) => interp.iterate(v)?,
        };
        Ok(make_set(items))
    });
    add("frozenset", |interp, args| {
        let items = match args.positional.first() {
            None => Vec::new(),
            Some(v) => interp.iterate(v)?,
        };
        Ok(make_set(items))
    });
    add("dict", |interp, args| {
        let mut d = Dict::default();
        if let Some(v) = args.positional.first() {
            match v {
                Value::Dict(_) | Value::Native(_) => {
                    for (k, v) in interp.mapping_items(v)? {
                        d.insert(k, v);
                    }
                }
                _ => {
                    for pair in interp.iterate(v)? {
                        let kv = interp.iterate(&pair)?;
                        if kv.len() != 2 {
                            return Err(PyError::new(
                                "ValueError",
                                "dictionary update sequence element has the wrong length",
                            ));
                        }
                        d.insert(kv[0].clone(), kv[1].clone());
                    }
                }
            }
        }
        for (k, v) in args.keywords {
            d.insert(Value::str(k), v);
        }
        Ok(Value::dict(d))
    });
    add("isinstance", |_, args| {
        let v = args.require(0, "obj", "isinstance")?;
        let t = args.require(1, "class_or_tuple", "isinstance")?;
        Ok(Value::Bool(isinstance(&v, &t)))
    });
    add("issubclass", |_, args| {
        let (Some(Value::Class(a)), Some(b)) = (args.positional.first(), args.positional.get(1))
        else {
            return Err(type_error("issubclass() arg 1 must be a class"));
        };
        let classes = match b {
            Value::Tuple(t) => t.as_ref().clone(),
            other => vec![other.clone()],
        };
        Ok(Value::Bool(classes.iter().any(
            |c| matches!(c, Value::Class(c) if a.is_subclass_of(c)),
        )))
    });
    add("getattr", |interp, args| {
        let obj = args.require(0, "object", "getattr")?;
        let name = args.require(1, "name", "getattr")?;
        let name = name
            .as_str()
            .ok_or_else(|| type_error("attribute name must be string"))?
            .to_string();
        match args.positional.get(2) {
            Some(default) => match interp.get_attr(&obj, &name) {
                Ok(v) => Ok(v),
                Err(e) if e.exception_type() == Some("AttributeError") => Ok(default.clone()),
                Err(e) => Err(e),
            },
            None => interp.get_attr(&obj, &name),
        }
    });
    add("hasattr", |interp, args| {
        let obj = args.require(0, "object", "hasattr")?;
        let name = args.require(1, "name", "hasattr")?.to_str();
        match interp.get_attr(&obj, &name) {
            Ok(_) => Ok(Value::Bool(true)),
            Err(e) if e.exception_type() == Some("AttributeError") => Ok(Value::Bool(false)),
            Err(e) => Err(e),
        }
    });
    add("setattr", |interp, args| {
        let obj = args.require(0, "object", "setattr")?;
        let name = args.require(1, "name", "setattr")?.to_str();
        let value = args.require(2, "value", "setattr")?;
        interp.set_attr(&obj, &name, value)?;
        Ok(Value::None)
    });
    add("callable", |_, args| {
        Ok(Value::Bool(matches!(
            args.positional.first(),
            Some(
                Value::Function(_)
                    | Value::Builtin(_)
                    | Value::Class(_)
                    | Value::Method(_)
                    | Value::Native(_)
            )
        )))
    });
    add("range", |_, args| {
        let ints: Vec<i64> = args.positional.iter().filter_map(|v| v.as_int()).collect();
        let (start, stop, step) = match ints.as_slice() {
            [stop] => (0, *stop, 1),
            [start, stop] => (*start, *stop, 1),
            [start, stop, step] if *step != 0 => (*start, *stop, *step),
            _ => return Err(type_error("range() arguments must be integers")),
        };
        let mut out = Vec::new();
        let mut i = start;
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            out.push(Value::Int(i));
            i += step;
            if out.len() > 10_000_000 {
                return Err(PyError::new("MemoryError", "range too large"));
            }
        }
        Ok(Value::list(out))
    });
    add("enumerate", |interp, args| {
        let items = interp.iterate(&args.require(0, "iterable", "enumerate")?)?;
        let start = args.get(1, "start").and_then(|s| s.as_int()).unwrap_or(0);
        Ok(Value::list(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| Value::tuple(vec![Value::Int(start + i as i64), v]))
                .collect(),
        ))
    });
    add("zip", |interp, args| {
        let mut lists = Vec::new();
        for a in &args.positional {
            lists.push(interp.iterate(a)?);
        }
        let n = lists.iter().map(Vec::len).min().unwrap_or(0);
        Ok(Value::list(
            (0..n)
                .map(|i| Value::tuple(lists.iter().map(|l| l[i].clone()).collect()))
                .collect(),
        ))
    });
    add("sorted", |interp, args| {
        let mut items = interp.iterate(&args.require(0, "iterable", "sorted")?)?;
        sort_values(
            interp,
            &mut items,
            args.keyword("key"),
            args.keyword("reverse").is_some_and(|r| r.truthy()),
        )?;
        Ok(Value::list(items))
    });
    add("reversed", |interp, args| {
        let mut items = interp.iterate(&args.require(0, "sequence", "reversed")?)?;
        items.reverse();
        Ok(Value::list(items))
    });
    add("any", |interp, args| {
        for v in interp.iterate(&args.require(0, "iterable", "any")?)? {
            if interp.truthy(&v)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    });
    add("all", |interp, args| {
        for v in interp.iterate(&args.require(0, "iterable", "all")?)? {
            if !interp.truthy(&v)? {
                return Ok(Value::Bool(false));
            }
        }
        Ok(Value::Bool(true))
    });
    add("min", |interp, args| extreme(interp, args, true));
    add("max", |interp, args| extreme(interp, args, false));
    add("sum", |interp, args| {
        let mut total = args.get(1, "start").unwrap_or(Value::Int(0));
        for v in interp.iterate(&args.require(0, "iterable", "sum")?)? {
            total = interp.binary(crate::syntax::body::BinOp::Add, total, v)?;
        }
        Ok(total)
    });
    add("abs", |_, args| match args.positional.first() {
        Some(Value::Int(i)) => Ok(Value::Int(i.abs())),
        Some(Value::Float(f)) => Ok(Value::Float(f.abs())),
        _ => Err(type_error("bad operand type for abs()")),
    });
    add("round", |_, args| {
        let v = args.require(0, "number", "round")?;
        let digits = args.get(1, "ndigits").and_then(|d| d.as_int());
        let f = v
            .as_float()
            .ok_or_else(|| type_error("round() needs a number"))?;
        Ok(match digits {
            None => Value::Int(round_half_even(f) as i64),
            Some(d) => {
                let m = 10f64.powi(d as i32);
                Value::Float(round_half_even(f * m) / m)
            }
        })
    });
    add("iter", |interp, args| {
        Ok(Value::list(
            interp.iterate(&args.require(0, "object", "iter")?)?,
        ))
    });
    add("next", |_, args| match args.positional.first() {
        Some(Value::List(l)) if !l.borrow().is_empty() => Ok(l.borrow_mut().remove(0)),
        _ => match args.positional.get(1) {
            Some(d) => Ok(d.clone()),
            None => Err(PyError::new("StopIteration", "")),
        },
    });
    add("id", |_, args| {
        let v = args.require(0, "obj", "id")?;
        Ok(Value::Int(match &v {
            Value::List(l) => Rc::as_ptr(l) as usize as i64,
            Value::Dict(d) => Rc::as_ptr(d) as usize as i64,
            _ => 0,
        }))
    });
    add("type", |interp, args| {
        let v = args.require(0, "object", "type")?;
        Ok(match &v {
            Value::Instance(i) => Value::Class(i.class.clone()),
            other => interp
                .builtins
                .borrow()
                .get(other.type_name().as_str())
                .cloned()
                .unwrap_or(Value::str(other.type_name())),
        })
    });
    add("open", |_, args| {
        let path = args.require(0, "file", "open")?.to_str();
        let mode = args
            .get(1, "mode")
            .map(|m| m.to_str())
            .unwrap_or("r".into());
        Ok(Value::native(super::stdlib::File::open(&path, &mode)?))
    });
    add("property", |_, args| {
        Ok(Value::Descriptor(Rc::new((
            Descriptor::Property,
            args.require(0, "fget", "property")?,
        ))))
    });
    add("staticmethod", |_, args| {
        Ok(Value::Descriptor(Rc::new((
            Descriptor::StaticMethod,
            args.require(0, "f", "staticmethod")?,
        ))))
    });
    add("classmethod", |_, args| {
        Ok(Value::Descriptor(Rc::new((
            Descriptor::ClassMethod,
            args.require(0, "f", "classmethod")?,
        ))))
    });
    add("super", |_, _| Err(PyError::unsupported("super()")));
    add("hash", |_, args| {
        let v = args.require(0, "obj", "hash")?;
        Ok(Value::Int(v.repr().bytes().fold(0i64, |h, b| {
            h.wrapping_mul(31).wrapping_add(b as i64)
        })))
    });
    add("chr", |_, args| {
        let i = args.require(0, "i", "chr")?.as_int().unwrap_or(0);
        Ok(Value::str(
            char::from_u32(i as u32)
                .map(String::from)
                .unwrap_or_default(),
        ))
    });
    add("ord", |_, args| {
        let s = args.require(0, "c", "ord")?.to_str();
        Ok(Value::Int(s.chars().next().map(|c| c as i64).unwrap_or(0)))
    });
    add("vars", |interp, args| {
        let v = args.require(0, "object", "vars")?;
        interp.get_attr(&v, "__dict__")
    });
    add("__import__", |interp, args| {
        let name = args.require(0, "name", "__import__")?.to_str();
        interp.import(&name, "", false)
    });
    let builtins = interp.builtins.clone();
    let mut b = builtins.borrow_mut();
    b.insert("True".into(), Value::Bool(true));
    b.insert("False".into(), Value::Bool(false));
    b.insert("None".into(), Value::None);
    b.insert("NotImplemented".into(), Value::None);
    b.insert("__name__".into(), Value::str("builtins"));
}

fn make_set(items: Vec<Value>) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        if !out.iter().any(|x| x.py_eq(&v)) {
            out.push(v);
        }
    }
    Value::Set(Rc::new(RefCell::new(out)))
}

fn round_half_even(f: f64) -> f64 {
    let r = f.round();
    if (f - f.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - f.signum()
    } else {
        r
    }
}

fn isinstance(v: &Value, t: &Value) -> bool {
    match t {
        Value::Tuple(items) => items.iter().any(|t| isinstance(v, t)),
        Value::Class(c) => match v {
            Value::Instance(i) => i.class.is_subclass_of(c),
            _ => c.name == v.type_name() || (c.name == "object"),
        },
        Value::Builtin(b) => {
            let name = v.type_name();
            b.name == name || (b.name == "int" && name == "bool")
        }
        Value::Native(n) => n.type_name() == v.type_name(),
        _ => false,
    }
}

fn extreme(interp: &mut Interp<'_>, args: Args, min: bool) -> PyResult<Value> {
    let items = if args.positional.len() == 1 {
        interp.iterate(&args.positional[0])?
    } else {
        args.positional.clone()
    };
    let key = args.keyword("key");
    let mut best: Option<(Value, Value)> = None;
    for item in items {
        let k = match &key {
            Some(f) => interp.call(f, Args::new(vec![item.clone()]))?,
            None => item.clone(),
        };
        let better = match &best {
            None => true,
            Some((bk, _)) => {
                let ord = compare(&k, bk).ok_or_else(|| type_error("values are not comparable"))?;
                if min {
                    ord.is_lt()
                } else {
                    ord.is_gt()
                }
            }
        };
        if better {
            best = Some((k, item));
        }
    }
    match best {
        Some((_, v)) => Ok(v),
        None => match args.keyword("default") {
            Some(d) => Ok(d),
            None => Err(PyError::new("ValueError", "arg is an empty sequence")),
        },
    }
}

pub fn sort_values(
    interp: &mut Interp<'_>,
    items: &mut Vec<Value>,
    key: Option<Value>,
    reverse: bool,
) -> PyResult<()> {
    let mut keyed = Vec::new();
    for item in items.drain(..) {
        let k = match &key {
            Some(f) if !f.is_none() => interp.call(f, Args::new(vec![item.clone()]))?,
            _ => item.clone(),
        };
        keyed.push((k, item));
    }
    let mut failed = false;
    keyed.sort_by(|a, b| {
        compare(&a.0, &b.0).unwrap_or_else(|| {
            failed = true;
            std::cmp::Ordering::Equal
        })
    });
    if failed {
        return Err(type_error("'<' not supported between these values"));
    }
    if reverse {
        keyed.reverse();
    }
    items.extend(keyed.into_iter().map(|(_, v)| v));
    Ok(())
}

/// A method of a builtin value, bound to it.
pub fn method(_interp: &mut Interp<'_>, obj: &Value, name: &str) -> PyResult<Option<Value>> {
    let receiver = obj.clone();
    let bound = move |f: fn(&mut Interp<'_>, &Value, Args) -> PyResult<Value>| {
        let r = receiver.clone();
        Value::builtin(name, move |interp, args| f(interp, &r, args))
    };
    let f: fn(&mut Interp<'_>, &Value, Args) -> PyResult<Value> = match (obj, name) {
        (Value::Str(_), _) => match str_method(name) {
            Some(f) => f,
            None => return Ok(None),
        },
        (Value::List(_), _) => match list_method(name) {
            Some(f) => f,
            None => return Ok(None),
        },
        (Value::Dict(_), _) => match dict_method(name) {
            Some(f) => f,
            None => return Ok(None),
        },
        (Value::Set(_), "add") => |_, s, a| {
            let Value::Set(s) = s else { unreachable!() };
            let v = a.require(0, "elem", "add")?;
            if !s.borrow().iter().any(|x| x.py_eq(&v)) {
                s.borrow_mut().push(v);
            }
            Ok(Value::None)
        },
        (Value::Set(_) | Value::Tuple(_), "count") => |interp, s, a| {
            let v = a.require(0, "value", "count")?;
            Ok(Value::Int(
                interp.iterate(s)?.iter().filter(|x| x.py_eq(&v)).count() as i64,
            ))
        },
        (Value::Tuple(_), "index") => |interp, s, a| {
            let v = a.require(0, "value", "index")?;
            interp
                .iterate(s)?
                .iter()
                .position(|x| x.py_eq(&v))
                .map(|p| Value::Int(p as i64))
                .ok_or_else(|| PyError::new("ValueError", "tuple.index(x): x not in tuple"))
        },
        (Value::Bytes(_), "decode") => |_, b, _| {
            let Value::Bytes(b) = b else { unreachable!() };
            Ok(Value::str(String::from_utf8_lossy(b)))
        },
        (Value::Int(_), "bit_length") => |_, i, _| {
            Ok(Value::Int(
                64 - i.as_int().unwrap_or(0).leading_zeros() as i64,
            ))
        },
        _ => return Ok(None),
    };
    Ok(Some(bound(f)))
}

type Method = fn(&mut Interp<'_>, &Value, Args) -> PyResult<Value>;

fn s(v: &Value) -> &str {
    v.as_str().expect("a str receiver")
}

fn str_arg(args: &Args, i: usize, name: &str, method: &str) -> PyResult<String> {
    match args.require(i, name, method)? {
        Value::Str(s) => Ok(s.to_string()),
        other => Err(type_error(format!(
            "must be str, not {}",
            other.type_name()
        ))),
    }
}

fn opt_chars(args: &Args) -> Option<Vec<char>> {
    args.positional
        .first()
        .and_then(|v| v.as_str())
        .map(|s| s.chars().collect())
}

fn str_method(name: &str) -> Option<Method> {
    Some(match name {
        "lower" => |_, v, _| Ok(Value::str(s(v).to_lowercase())),
        "upper" => |_, v, _| Ok(Value::str(s(v).to_uppercase())),
        "title" => |_, v, _| {
            let mut out = String::new();
            let mut prev_alpha = false;
            for c in s(v).chars() {
                out.extend(if prev_alpha {
                    c.to_lowercase().collect::<Vec<_>>()
                } else {
                    c.to_uppercase().collect()
                });
                prev_alpha = c.is_alphabetic();
            }
            Ok(Value::str(out))
        },
        "capitalize" => |_, v, _| {
            let mut c = s(v).chars();
            Ok(Value::str(match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            }))
        },
        "strip" => |_, v, a| {
            Ok(Value::str(match opt_chars(&a) {
                Some(cs) => s(v).trim_matches(|c| cs.contains(&c)).to_string(),
                None => s(v).trim().to_string(),
            }))
        },
        "lstrip" => |_, v, a| {
            Ok(Value::str(match opt_chars(&a) {
                Some(cs) => s(v).trim_start_matches(|c| cs.contains(&c)).to_string(),
                None => s(v).trim_start().to_string(),
            }))
        },
        "rstrip" => |_, v, a| {
            Ok(Value::str(match opt_chars(&a) {
                Some(cs) => s(v).trim_end_matches(|c| cs.contains(&c)).to_string(),
                None => s(v).trim_end().to_string(),
            }))
        },
        "split" => |_, v, a| {
            let max = a.get(1, "maxsplit").and_then(|m| m.as_int()).unwrap_or(-1);
            let sep = a.get(0, "sep").filter(|s| !s.is_none());
            let parts: Vec<Value> = match sep {
                Some(sep) => {
                    let sep = sep.to_str();
                    if sep.is_empty() {
                        return Err(PyError::new("ValueError", "empty separator"));
                    }
                    if max < 0 {
                        s(v).split(sep.as_str()).map(Value::str).collect()
                    } else {
                        s(v).splitn(max as usize + 1, sep.as_str())
                            .map(Value::str)
                            .collect()
                    }
                }
                None => {
                    let text = s(v).trim_start();
                    if max < 0 {
                        text.split_whitespace().map(Value::str).collect()
                    } else {
                        let mut out = Vec::new();
                        let mut rest = text;
                        while (out.len() as i64) < max && !rest.is_empty() {
                            match rest.find(char::is_whitespace) {
                                Some(p) => {
                                    out.push(Value::str(&rest[..p]));
                                    rest = rest[p..].trim_start();
                                }
                                None => {
                                    out.push(Value::str(rest));
                                    rest = "";
                                }
                            }
                        }
                        if !rest.is_empty() {
                            out.push(Value::str(rest.trim_end()));
                        }
                        out
                    }
                }
            };
            Ok(Value::list(parts))
        },
        "rsplit" => |_, v, a| {
            let sep = a.get(0, "sep").filter(|s| !s.is_none());
            let max = a.get(1, "maxsplit").and_then(|m| m.as_int()).unwrap_or(-1);
            let Some(sep) = sep else {
                return Ok(Value::list(
                    s(v).split_whitespace().map(Value::str).collect(),
                ));
            };
            let sep = sep.to_str();
            let mut parts: Vec<Value> = if max < 0 {
                s(v).rsplit(sep.as_str()).map(Value::str).collect()
            } else {
                s(v).rsplitn(max as usize + 1, sep.as_str())
                    .map(Value::str)
                    .collect()
            };
            parts.reverse();
            Ok(Value::list(parts))
        },
        "splitlines" => |_, v, _| Ok(Value::list(s(v).lines().map(Value::str).collect())),
        "partition" => |_, v, a| {
            let sep = str_arg(&a, 0, "sep", "partition")?;
            Ok(match s(v).split_once(sep.as_str()) {
                Some((l, r)) => Value::tuple(vec![Value::str(l), Value::str(&sep), Value::str(r)]),
                None => Value::tuple(vec![Value::str(s(v)), Value::str(""), Value::str("")]),
            })
        },
        "rpartition" => |_, v, a| {
            let sep = str_arg(&a, 0, "sep", "rpartition")?;
            Ok(match s(v).rsplit_once(sep.as_str()) {
                Some((l, r)) => Value::tuple(vec![Value::str(l), Value::str(&sep), Value::str(r)]),
                None => Value::tuple(vec![Value::str(""), Value::str(""), Value::str(s(v))]),
            })
        },
        "replace" => |_, v, a| {
            let old = str_arg(&a, 0, "old", "replace")?;
            let new = str_arg(&a, 1, "new", "replace")?;
            Ok(Value::str(
                match a.get(2, "count").and_then(|c| c.as_int()) {
                    Some(n) if n >= 0 => s(v).replacen(old.as_str(), &new, n as usize),
                    _ => s(v).replace(old.as_str(), &new),
                },
            ))
        },
        "startswith" => |interp, v, a| {
            let p = a.require(0, "prefix", "startswith")?;
            let options = match &p {
                Value::Tuple(_) => interp.iterate(&p)?,
                other => vec![other.clone()],
            };
            Ok(Value::Bool(
                options.iter().any(|o| s(v).starts_with(&o.to_str())),
            ))
        },
        "endswith" => |interp, v, a| {
            let p = a.require(0, "suffix", "endswith")?;
            let options = match &p {
                Value::Tuple(_) => interp.iterate(&p)?,
                other => vec![other.clone()],
            };
            Ok(Value::Bool(
                options.iter().any(|o| s(v).ends_with(&o.to_str())),
            ))
        },
        "removeprefix" => |_, v, a| {
            let p = str_arg(&a, 0, "prefix", "removeprefix")?;
            Ok(Value::str(s(v).strip_prefix(p.as_str()).unwrap_or(s(v))))
        },
        "removesuffix" => |_, v, a| {
            let p = str_arg(&a, 0, "suffix", "removesuffix")?;
            Ok(Value::str(s(v).strip_suffix(p.as_str()).unwrap_or(s(v))))
        },
        "join" => |interp, v, a| {
            let items = interp.iterate(&a.require(0, "iterable", "join")?)?;
            let mut parts = Vec::new();
            for item in items {
                match item {
                    Value::Str(x) => parts.push(x.to_string()),
                    other => {
                        return Err(type_error(format!(
                            "sequence item: expected str instance, {} found",
                            other.type_name()
                        )))
                    }
                }
            }
            Ok(Value::str(parts.join(s(v))))
        },
        "format" => |interp, v, a| {
            Ok(Value::str(format::str_format(
                interp,
                s(v),
                &a.positional,
                &a.keywords,
            )?))
        },
        "find" => |_, v, a| {
            let sub = str_arg(&a, 0, "sub", "find")?;
            Ok(Value::Int(
                s(v).find(sub.as_str())
                    .map(|b| s(v)[..b].chars().count() as i64)
                    .unwrap_or(-1),
            ))
        },
        "index" => |_, v, a| {
            let sub = str_arg(&a, 0, "sub", "index")?;
            s(v).find(sub.as_str())
                .map(|b| Value::Int(s(v)[..b].chars().count() as i64))
                .ok_or_else(|| PyError::new("ValueError", "substring not found"))
        },
        "count" => |_, v, a| {
            let sub = str_arg(&a, 0, "sub", "count")?;
            Ok(Value::Int(s(v).matches(sub.as_str()).count() as i64))
        },
        "isdigit" | "isnumeric" | "isdecimal" => |_, v, _| {
            Ok(Value::Bool(
                !s(v).is_empty() && s(v).chars().all(|c| c.is_ascii_digit()),
            ))
        },
        "isalpha" => |_, v, _| {
            Ok(Value::Bool(
                !s(v).is_empty() && s(v).chars().all(char::is_alphabetic),
            ))
        },
        "isalnum" => |_, v, _| {
            Ok(Value::Bool(
                !s(v).is_empty() && s(v).chars().all(char::is_alphanumeric),
            ))
        },
        "isidentifier" => |_, v, _| {
            Ok(Value::Bool(
                s(v).chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && s(v).chars().all(|c| c.is_alphanumeric() || c == '_'),
            ))
        },
        "isspace" => |_, v, _| {
            Ok(Value::Bool(
                !s(v).is_empty() && s(v).chars().all(char::is_whitespace),
            ))
        },
        "islower" => |_, v, _| {
            Ok(Value::Bool(
                s(v).chars().any(char::is_alphabetic) && s(v) == s(v).to_lowercase(),
            ))
        },
        "isupper" => |_, v, _| {
            Ok(Value::Bool(
                s(v).chars().any(char::is_alphabetic) && s(v) == s(v).to_uppercase(),
            ))
        },
        "encode" => |_, v, _| Ok(Value::Bytes(Rc::from(s(v).as_bytes()))),
        "zfill" => |_, v, a| {
            let w = a.require(0, "width", "zfill")?.as_int().unwrap_or(0) as usize;
            let n = s(v).chars().count();
            Ok(Value::str(if n >= w {
                s(v).to_string()
            } else {
                "0".repeat(w - n) + s(v)
            }))
        },
        "ljust" | "rjust" | "center" => return None,
        _ => return None,
    })
}

fn list_of(v: &Value) -> &Rc<RefCell<Vec<Value>>> {
    match v {
        Value::List(l) => l,
        _ => unreachable!("a list receiver"),
    }
}

fn list_method(name: &str) -> Option<Method> {
    Some(match name {
        "append" => |_, v, a| {
            list_of(v)
                .borrow_mut()
                .push(a.require(0, "object", "append")?);
            Ok(Value::None)
        },
        "extend" => |interp, v, a| {
            let items = interp.iterate(&a.require(0, "iterable", "extend")?)?;
            list_of(v).borrow_mut().extend(items);
            Ok(Value::None)
        },
        "insert" => |_, v, a| {
            let i = a.require(0, "index", "insert")?.as_int().unwrap_or(0);
            let item = a.require(1, "object", "insert")?;
            let mut l = list_of(v).borrow_mut();
            let len = l.len() as i64;
            let at = if i < 0 { (i + len).max(0) } else { i.min(len) };
            l.insert(at as usize, item);
            Ok(Value::None)
        },
        "pop" => |_, v, a| {
            let mut l = list_of(v).borrow_mut();
            let len = l.len() as i64;
            let i = a.get(0, "index").and_then(|i| i.as_int()).unwrap_or(-1);
            let at = if i < 0 { i + len } else { i };
            if at < 0 || at >= len {
                return Err(PyError::new("IndexError", "pop from empty list"));
            }
            Ok(l.remove(at as usize))
        },
        "remove" => |_, v, a| {
            let x = a.require(0, "value", "remove")?;
            let mut l = list_of(v).borrow_mut();
            let at = l
                .iter()
                .position(|y| y.py_eq(&x))
                .ok_or_else(|| PyError::new("ValueError", "list.remove(x): x not in list"))?;
            l.remove(at);
            Ok(Value::None)
        },
        "clear" => |_, v, _| {
            list_of(v).borrow_mut().clear();
            Ok(Value::None)
        },
        "copy" => |_, v, _| Ok(Value::list(list_of(v).borrow().clone())),
        "reverse" => |_, v, _| {
            list_of(v).borrow_mut().reverse();
            Ok(Value::None)
        },
        "index" => |_, v, a| {
            let x = a.require(0, "value", "index")?;
            list_of(v)
                .borrow()
                .iter()
                .position(|y| y.py_eq(&x))
                .map(|p| Value::Int(p as i64))
                .ok_or_else(|| PyError::new("ValueError", "x not in list"))
        },
        "count" => |_, v, a| {
            let x = a.require(0, "value", "count")?;
            Ok(Value::Int(
                list_of(v).borrow().iter().filter(|y| y.py_eq(&x)).count() as i64,
            ))
        },
        "sort" => |interp, v, a| {
            let mut items = list_of(v).borrow().clone();
            sort_values(
                interp,
                &mut items,
                a.keyword("key"),
                a.keyword("reverse").is_some_and(|r| r.truthy()),
            )?;
            *list_of(v).borrow_mut() = items;
            Ok(Value::None)
        },
        _ => return None,
    })
}

fn dict_of(v: &Value) -> &Rc<RefCell<Dict>> {
    match v {
        Value::Dict(d) => d,
        _ => unreachable!("a dict receiver"),
    }
}

fn dict_method(name: &str) -> Option<Method> {
    Some(match name {
        "get" => |_, v, a| {
            let k = a.require(0, "key", "get")?;
            Ok(dict_of(v)
                .borrow()
                .get(&k)
                .unwrap_or(a.positional.get(1).cloned().unwrap_or(Value::None)))
        },
        "items" => |_, v, _| {
            Ok(Value::list(
                dict_of(v)
                    .borrow()
                    .items
                    .iter()
                    .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                    .collect(),
            ))
        },
        "keys" => |_, v, _| {
            Ok(Value::list(
                dict_of(v)
                    .borrow()
                    .items
                    .iter()
                    .map(|(k, _)| k.clone())
                    .collect(),
            ))
        },
        "values" => |_, v, _| {
            Ok(Value::list(
                dict_of(v)
                    .borrow()
                    .items
                    .iter()
                    .map(|(_, v)| v.clone())
                    .collect(),
            ))
        },
        "update" => |interp, v, a| {
            if let Some(other) = a.positional.first() {
                let pairs = match other {
                    Value::Dict(_) | Value::Native(_) => interp.mapping_items(other)?,
                    _ => {
                        let mut out = Vec::new();
                        for pair in interp.iterate(other)? {
                            let kv = interp.iterate(&pair)?;
                            out.push((kv[0].clone(), kv[1].clone()));
                        }
                        out
                    }
                };
                for (k, x) in pairs {
                    dict_of(v).borrow_mut().insert(k, x);
                }
            }
            for (k, x) in a.keywords {
                dict_of(v).borrow_mut().insert(Value::str(k), x);
            }
            Ok(Value::None)
        },
        "setdefault" => |_, v, a| {
            let k = a.require(0, "key", "setdefault")?;
            let default = a.positional.get(1).cloned().unwrap_or(Value::None);
            let existing = dict_of(v).borrow().get(&k);
            Ok(match existing {
                Some(x) => x,
                None => {
                    dict_of(v).borrow_mut().insert(k, default.clone());
                    default
                }
            })
        },
        "pop" => |_, v, a| {
            let k = a.require(0, "key", "pop")?;
            let removed = dict_of(v).borrow_mut().remove(&k);
            match (removed, a.positional.get(1)) {
                (Some(x), _) => Ok(x),
                (None, Some(d)) => Ok(d.clone()),
                (None, None) => Err(PyError::new("KeyError", k.repr())),
            }
        },
        "copy" => |_, v, _| Ok(Value::dict(dict_of(v).borrow().clone())),
        "clear" => |_, v, _| {
            dict_of(v).borrow_mut().items.clear();
            Ok(Value::None)
        },
        _ => return None,
    })
}
