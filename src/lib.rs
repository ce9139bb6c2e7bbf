//! aurora: a drop-in replacement for Python's Alembic migration tool.
//!
//! Data flows one way through these modules; a stage never calls a later one:
//!
//! | module    | owns                                                         | must never            |
//! |-----------|--------------------------------------------------------------|-----------------------|
//! | `config`  | alembic.ini / pyproject.toml, Alembic's option rules          | read revision files   |
//! | `syntax`  | pest grammars: revision headers and bodies → AST with spans   | know what `op.*` means|
//! | `script`  | the script directory: finding revision files, their headers   | build the graph       |
//! | `graph`   | the revision map on petgraph, identifier resolution           | do I/O                |
//! | `plan`    | upgrade/downgrade/stamp steps and `alembic_version` changes   | do I/O                |
//! | `ops`     | the typed operation model lowered from a body AST             | render SQL            |
//! | `sql`     | dialect renderers: operations → SQL text                      | touch a database      |
//! | `db`      | database connections, the version table, online runs          | print                 |
//! | `run`     | the run: plan → render offline or execute online, env.py      | print (a `Sink` does) |
//! | `error`   | the typed error carried to `main`: kind, exit status, source  |                       |
//! | `logging` | Python logging as env.py configures it (fileConfig)         | read revision files   |
//! | `cli`     | argument parsing, commands, every byte printed                 |                       |
//! | `template`| `script.py.mako`: Mako's lexer, Python by `syntax` + `interp`  | read files            |
//! | `authoring`| new revision files: ids, slugs, file names, rendered content  | resolve revisions     |
//! | `autogen` | models → schema, schema comparison, op text as Alembic renders | touch a database      |
//! | `squash`  | squash revisions: the two views of `replaces`, range checks   | touch files or a database |

pub mod authoring;
pub mod autogen;
pub mod cache;
pub mod checksum;
pub mod cli;
pub mod config;
pub mod db;
pub mod diagnostics;
pub mod env;
pub mod error;
pub mod fleet;
pub mod graph;
pub mod interp;
pub mod journal;
pub mod lint;
pub mod logging;
pub mod modules;
pub mod ops;
pub mod plan;
pub mod run;
pub mod script;
pub mod sql;
pub mod squash;
pub mod syntax;
pub mod template;

pub use error::Error;
