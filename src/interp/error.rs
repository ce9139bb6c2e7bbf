//! Errors of the interpreter: Python exceptions (with where they were raised
//! and the calls they passed through), constructs aurora cannot evaluate, and
//! failures of the host (a database error inside a native call).

use std::any::Any;
use std::rc::Rc;

use super::value::Value;

pub type PyResult<T> = Result<T, PyError>;

#[derive(Clone)]
pub enum ErrorKind {
    /// A Python exception: its class name, message and, once raised or
    /// caught in Python code, the exception object.
    Exception {
        type_name: String,
        message: String,
        value: Option<Value>,
    },
    /// Code aurora cannot evaluate; never guessed around.
    Unsupported { construct: String },
    /// A failure of a host callback, carried through unchanged.
    Host {
        message: String,
        payload: Rc<dyn Any>,
    },
}

#[derive(Clone)]
pub struct PyError {
    pub kind: ErrorKind,
    /// `file:line:col` of each frame the error passed through, innermost first.
    pub trace: Vec<String>,
    /// Set once the current frame has recorded its location.
    pub located: bool,
}

impl PyError {
    pub fn new(type_name: &str, message: impl Into<String>) -> PyError {
        PyError {
            kind: ErrorKind::Exception {
                type_name: type_name.to_string(),
                message: message.into(),
                value: None,
            },
            trace: Vec::new(),
            located: false,
        }
    }

    pub fn unsupported(construct: impl Into<String>) -> PyError {
        PyError {
            kind: ErrorKind::Unsupported {
                construct: construct.into(),
            },
            trace: Vec::new(),
            located: false,
        }
    }

    pub fn host(message: impl Into<String>, payload: Rc<dyn Any>) -> PyError {
        PyError {
            kind: ErrorKind::Host {
                message: message.into(),
                payload,
            },
            trace: Vec::new(),
            located: false,
        }
    }

    /// Records a location if the current frame has not yet.
    pub fn at(mut self, location: String) -> PyError {
        if !self.located {
            self.trace.push(location);
            self.located = true;
        }
        self
    }

    /// The exception's class name (`KeyError`), if it is one.
    pub fn exception_type(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Exception { type_name, .. } => Some(type_name),
            _ => None,
        }
    }

    /// The innermost location, if any.
    pub fn location(&self) -> Option<&str> {
        self.trace.first().map(String::as_str)
    }

    /// One line: `file:line:col: KeyError: 'X'` (with the outermost call
    /// site when it differs), or the unsupported construct and how to
    /// proceed.
    pub fn describe(&self) -> String {
        let place = match (self.trace.first(), self.trace.last()) {
            (Some(inner), Some(outer)) if inner != outer => {
                format!("{inner}: (called from {outer}) ")
            }
            (Some(inner), _) => format!("{inner}: "),
            _ => String::new(),
        };
        match &self.kind {
            ErrorKind::Exception {
                type_name, message, ..
            } => {
                if message.is_empty() {
                    format!("{place}{type_name}")
                } else {
                    format!("{place}{type_name}: {message}")
                }
            }
            ErrorKind::Unsupported { construct } => format!(
                "{place}aurora cannot evaluate {construct}; set the database URL and options \
                 explicitly in an [aurora] section of the ini file or with AURORA_* environment \
                 variables (see docs/env-py.md)"
            ),
            ErrorKind::Host { message, .. } => format!("{place}{message}"),
        }
    }
}

impl std::fmt::Debug for PyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::fmt::Display for PyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}
