//! Syntax: pest grammars turning revision files into ASTs with spans.

pub mod body;
