//! A small evaluator for the Python subset of revision bodies.
//!
//! It runs module-level imports and assignments, then `upgrade()` and
//! `downgrade()` statement by statement in an environment of local names,
//! module constants and helper functions. Calls into `op`, `sa` and the
//! PostgreSQL dialect build typed values; `op.*` calls append [`Op`]s. A
//! construct outside the language is a problem with its span; evaluation
//! moves on to the next statement so every problem is reported.

use super::*;
use crate::syntax::body::{
    Arg, BinOp, Expr, ExprKind, FunctionDef, Module, Stmt, StmtKind, UnaryOp,
};
use std::collections::HashMap;
use std::rc::Rc;

mod builtins;
mod compiles;
mod dml;
mod lists;
mod plugins;
mod project;
mod textwrap;
mod typedecorator;
use project::ModuleData;

pub(crate) fn construct_hooks(source: &str, body: &[Stmt]) -> Vec<crate::ops::ConstructHook> {
    compiles::construct_hooks(source, body)
}

pub(crate) struct Lowered {
    pub upgrade: Vec<Op>,
    pub downgrade: Vec<Op>,
    pub problems: Vec<RawProblem>,
    /// Whether a project module or the configuration was read.
    pub outside_inputs: bool,
    /// What the module's own top-level statements did through `op` when
    /// Alembic imported the file (see [`import_effect_places`]), and the
    /// problems of those statements.
    pub import_ops: Vec<Op>,
    /// Where the first top-level statement that produced operations starts.
    pub import_ops_start: Option<usize>,
    pub import_problems: Vec<RawProblem>,
}

/// Whether the source of a statement calls through Alembic's `op` proxy
/// (`op.` after something that is not part of a name).
fn mentions_op(source: &str, span: Span) -> bool {
    let Some(text) = source.get(span.start..span.end.min(source.len())) else {
        return false;
    };
    text.match_indices("op.").any(|(i, _)| {
        !text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
    })
}

/// The places (line, column) of a module's top-level statements (outside
/// functions and classes) that call through `op`: Alembic imports every
/// revision file while it loads the revision map inside the migration
/// context, so what they do lands in every run's SQL.
pub(crate) fn import_effect_places(source: &str, body: &[Stmt]) -> Vec<(usize, usize)> {
    body.iter()
        .filter(|stmt| {
            !matches!(
                stmt.kind,
                StmtKind::FunctionDef(_)
                    | StmtKind::ClassDef(_)
                    | StmtKind::Import(_)
                    | StmtKind::FromImport { .. }
            ) && mentions_op(source, stmt.span)
        })
        .map(|stmt| crate::syntax::body::line_col(source, stmt.span.start))
        .collect()
}

/// Lowers `upgrade()` and `downgrade()` of a parsed revision file.
pub(crate) fn lower_module(
    module: &Module,
    ctx: &LowerContext,
    skipped: &[&str],
    source: &str,
) -> Lowered {
    let mut ev = Evaluator::new(ctx);
    let mut import_ops = Vec::new();
    let mut import_ops_start = None;
    let mut import_problems = Vec::new();
    ev.compile_hooks = compiles::scan(&module.body, &ctx.dialect);
    // Module level: bind what can be bound; a name whose statement fails is
    // bound to that failure, reported where the name is used.
    for stmt in &module.body {
        match &stmt.kind {
            // A decorator replaces the function with what it returns (a wrapper
            // that may skip the body, or run it differently, and whose
            // `__name__` Alembic prints): refused where it is, never ignored.
            StmtKind::FunctionDef(def) if !def.decorators.is_empty() => {
                ev.globals.insert(
                    def.name.clone(),
                    Value::Failed(Box::new(problem(
                        def.decorators[0].span,
                        "unsupported construct 'decorator'",
                    ))),
                );
            }
            StmtKind::FunctionDef(def) => {
                ev.globals
                    .insert(def.name.clone(), Value::Function(Rc::new(def.clone())));
            }
            StmtKind::ClassDef(def) if ev.type_subclass(def).is_some() => {
                let class = ev.type_subclass(def).expect("checked");
                ev.globals
                    .insert(def.name.clone(), Value::TypeSubclass(Rc::new(class)));
            }
            StmtKind::ClassDef(def) => {
                let v = match ev.enum_class(def, stmt.span) {
                    Ok(v) => v,
                    Err(p) => Value::Failed(Box::new(p)),
                };
                ev.globals.insert(def.name.clone(), v);
            }
            StmtKind::Import(_)
            | StmtKind::FromImport { .. }
            | StmtKind::Assign { .. }
            | StmtKind::AugAssign { .. } => {
                let mut frame = Frame::default();
                let mut sink = Vec::new();
                match ev.exec(stmt, &mut frame, &mut sink) {
                    Ok(_) => {
                        for (k, v) in frame.locals {
                            ev.globals.insert(k, v);
                        }
                        if !sink.is_empty() {
                            import_ops_start.get_or_insert(stmt.span.start);
                        }
                        import_ops.append(&mut sink);
                    }
                    Err(p) => {
                        if mentions_op(source, stmt.span) {
                            import_problems.push(p.clone());
                        }
                        if let StmtKind::Assign { targets, .. } = &stmt.kind {
                            for t in targets {
                                if let ExprKind::Name(n) = &t.kind {
                                    ev.globals
                                        .insert(n.clone(), Value::Failed(Box::new(p.clone())));
                                }
                            }
                        }
                    }
                }
            }
            // Any other top-level statement that calls through `op`
            // (`try: my_enum.create(op.get_bind()) except NameError: pass`)
            // runs when Alembic imports the file inside the migration
            // context; what it does is the file's import-time SQL.
            _ if mentions_op(source, stmt.span) => {
                let mut frame = Frame::default();
                let mut sink = Vec::new();
                match ev.exec(stmt, &mut frame, &mut sink) {
                    Ok(_) => {
                        for (k, v) in frame.locals {
                            ev.globals.insert(k, v);
                        }
                        if !sink.is_empty() {
                            import_ops_start.get_or_insert(stmt.span.start);
                        }
                        import_ops.append(&mut sink);
                    }
                    Err(p) => import_problems.push(p),
                }
            }
            _ => {}
        }
    }
    let mut problems = Vec::new();
    let default_convention = naming::Convention::sqlalchemy_default();
    // SQLAlchemy's dialects: PostgreSQL's NAMEDATALEN - 1; the default 9999.
    let max_identifier_length = if ctx.dialect == "postgresql" {
        63
    } else {
        9999
    };
    let mut run = |name: &str, ev: &mut Evaluator| -> Vec<Op> {
        let def = match ev.globals.get(name).cloned() {
            Some(Value::Function(def)) => def,
            // A decorated upgrade()/downgrade(): see the module-level loop.
            Some(Value::Failed(p)) => {
                let mut p = *p;
                p.message.push_str(&format!(" on {name}()"));
                problems.push(p);
                return Vec::new();
            }
            // The function the run needs is not defined: Python's
            // `module.downgrade()` raises. (A function left out on purpose
            // by `parse_migration_function` is never looked up.)
            None if !skipped.contains(&name) => {
                problems.push(problem(
                    Span::default(),
                    format!(
                        "AttributeError: module '{}' has no attribute '{name}'",
                        project::revision_module_name(&ev.ctx.path)
                    ),
                ));
                return Vec::new();
            }
            // Left out on purpose: the run needs only the other function.
            None => return Vec::new(),
            // `upgrade = something` that is not a function: calling it raises.
            Some(other) => {
                problems.push(problem(
                    Span::default(),
                    format!(
                        "TypeError: '{name}' of module '{}' is {}, not a function",
                        project::revision_module_name(&ev.ctx.path),
                        describe(&other)
                    ),
                ));
                return Vec::new();
            }
        };
        let mut frame = Frame {
            function: name.to_string(),
            ..Frame::default()
        };
        let mut sink = Vec::new();
        for stmt in &def.body {
            let before = sink.len();
            let flow = ev.exec(stmt, &mut frame, &mut sink);
            // A @compiles function of another revision file (Alembic imported
            // it with the revision map) for a construct this statement compiles.
            for (file, hook) in ev.ctx.compile_hooks.get().into_iter().flatten() {
                if *file != ev.ctx.path
                    && hook.applies_to(&ev.ctx.dialect)
                    && compiles::ops_compile(&sink[before..], &hook.target)
                {
                    problems.push(problem(
                        stmt.span,
                        format!(
                            "this compiles '{}', for which {}:{}:{} defines a @compiles \
                             function: Alembic imports every revision file, so it changes \
                             the SQL of every revision; aurora cannot apply it (remove the \
                             hook or run these revisions with Alembic)",
                            hook.target,
                            file.display(),
                            hook.line,
                            hook.col
                        ),
                    ));
                }
            }
            let namer = naming::Namer {
                convention: ev
                    .ctx
                    .naming_convention
                    .as_ref()
                    .unwrap_or(&default_convention),
                conv_names: &ev.conv_names,
                max_identifier_length,
                postgresql: ev.ctx.dialect == "postgresql",
            };
            if let Err(e) = namer.apply(&mut sink, before) {
                problems.push(problem(
                    stmt.span,
                    format!(
                        "{} cannot be applied here: {e}",
                        if ev.ctx.naming_convention.is_some() {
                            "the naming convention of env.py's target_metadata"
                        } else {
                            "SQLAlchemy's default naming convention"
                        }
                    ),
                ));
            }
            match flow {
                Ok(Flow::Return(_)) => break,
                Ok(_) => {}
                Err(mut p) => {
                    let suffix = format!(" in {name}()");
                    if !p.message.ends_with(&suffix) {
                        p.message.push_str(&suffix);
                    }
                    problems.push(p)
                }
            }
        }
        // A @compiles function of this module for a SQLAlchemy construct
        // that these operations compile: their SQL is not what aurora renders.
        for (target, p) in &ev.compile_hooks.unsupported {
            if compiles::ops_compile(&sink, target) {
                let mut p = p.clone();
                p.message.push_str(&format!(" (running {name}())"));
                problems.push(p);
            }
        }
        sink
    };
    let upgrade = run("upgrade", &mut ev);
    let downgrade = run("downgrade", &mut ev);
    Lowered {
        upgrade,
        downgrade,
        problems,
        outside_inputs: ev.outside_inputs,
        import_ops,
        import_ops_start,
        import_problems,
    }
}

type EResult<T> = Result<T, RawProblem>;

/// How an unsupported statement is named in a problem.
fn statement_name(kind: &StmtKind) -> &'static str {
    match kind {
        StmtKind::ClassDef(_) => "class definition",
        StmtKind::While { .. } => "while loop",
        StmtKind::Try(_) => "try statement",
        StmtKind::Raise { .. } => "raise statement",
        StmtKind::Break | StmtKind::Continue => "break/continue",
        StmtKind::Global(_) => "global statement",
        StmtKind::Nonlocal(_) => "nonlocal statement",
        StmtKind::Del(_) => "del statement",
        StmtKind::Assert { .. } => "assert statement",
        StmtKind::With { is_async: true, .. } => "async with",
        StmtKind::For { is_async: true, .. } => "async for",
        _ => "statement",
    }
}

fn problem(span: Span, message: impl Into<String>) -> RawProblem {
    RawProblem {
        span,
        message: message.into(),
        located_in: None,
    }
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `op.f(name)`: a name SQLAlchemy's naming convention treats as
    /// final (`conv`), truncated rather than refused when too long.
    Conv(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A module, class or function of a library, by dotted path.
    Path(String),
    /// A method bound to its receiver.
    Method(Box<Value>, String),
    Function(Rc<FunctionDef>),
    /// A `lambda`: a value that SQLAlchemy keeps for later (a Column's
    /// Python-side `default=`/`onupdate=`, which no DDL shows). Calling one is
    /// refused: its body would need the enclosing scope as Python's closures see it.
    Lambda(Rc<crate::syntax::ast::Lambda>),
    /// `sa.MetaData(schema=..., naming_convention=...)`: the default schema of
    /// its tables, and whether a naming convention was given.
    MetaData {
        schema: Option<String>,
        convention: bool,
    },
    /// A revision's own subclass of a SQLAlchemy type (see `compiles`).
    TypeSubclass(Rc<compiles::TypeSubclass>),
    /// `logging.getLogger(name)`: a logger, by name.
    Logger(String),
    /// A project module (`import app.helpers`).
    Module(Rc<ModuleData>),
    /// A function defined in a project module.
    ModuleFunction(Rc<ModuleData>, Rc<FunctionDef>),
    /// A module-level name whose statement could not be evaluated.
    Failed(Box<RawProblem>),
    /// alembic-postgresql-enum's `TableReference(...)`.
    TableReference(Box<plugins::TableReference>),
    /// `context.config` (the Alembic `Config`).
    Config,
    /// `bind.dialect` / `bind.engine` / `context.dialect`: what has a `.name`.
    Dialect,
    /// A project `TypeDecorator` class whose `load_dialect_impl()` gives
    /// this type for the configured dialect (see `typedecorator`).
    DialectImplClass(Box<SqlType>),
    /// `context.get_impl()` (the migration context's `DefaultImpl`): what
    /// has a `.bind` and a `.dialect`.
    Impl,
    Type(SqlType),
    Column(Box<Column>),
    ForeignKey(ForeignKey),
    Constraint(Box<Constraint>),
    /// `sa.Index(name, *columns)`, its table not known yet.
    Index(Box<Index>),
    Table(Box<Table>),
    TableClause(TableClause),
    /// `table.c`.
    /// `table.c` (and whether the table is a `sa.Table`, whose columns are
    /// `Column` objects: see `ColumnClass`).
    ColumnCollection(TableClause, bool),
    Expr(SqlExpr),
    Text(String, Vec<(String, Literal)>),
    Exec(Box<Executable>),
    /// `sa.select(...)`, not yet made a subquery.
    Select(Box<Select>),
    /// `sa.exists()` / `select(...).exists()`, still taking `where()`.
    Exists(Box<Select>),
    /// What `op.get_bind().execute(...)` returns online (a `CursorResult`
    /// in Alembic): aurora runs the statement with the revision's others and
    /// gives the revision no rows, so any use of it is refused.
    ExecResult,
    /// `sa.Sequence(...)`.
    Sequence(Box<Sequence>),
    /// `sa.Identity(...)`.
    Identity(Box<Identity>),
    /// `sa.Computed(...)`.
    Computed(Box<Computed>),
    /// A Python `Enum` class defined in the revision file.
    EnumClass(Rc<EnumClass>),
    /// One member of it (the index of its canonical member).
    EnumMember(Rc<EnumClass>, usize),
    Literal(Literal),
    /// `datetime.timezone(offset)` / `datetime.timezone.utc`: its UTC
    /// offset in seconds.
    TimeZone(i32),
    Bind,
    Context,
    AutocommitBlock,
    BatchContext(Box<Batch>),
    BatchOp,
}

/// `class Name(int, Enum): a = 1 ...`: members in definition order; an
/// alias (a repeated value) names the first member with that value.
#[derive(Debug, PartialEq)]
struct EnumClass {
    name: String,
    /// (name, value, index of the canonical member).
    members: Vec<(String, Value, usize)>,
}

enum Flow {
    Next,
    Return(Value),
}

#[derive(Default)]
struct Frame {
    function: String,
    locals: HashMap<String, Value>,
    /// The batch block being collected, innermost last.
    batches: Vec<Batch>,
    /// The project module whose globals this frame sees (`None`: the
    /// revision file's own).
    module: Option<Rc<ModuleData>>,
    /// For module-level code: the index of the statement running, so that
    /// module names are the ones bound before it. `0` means "after all".
    position: usize,
    /// Locals that alone refer to their list (see `lists`).
    owned_lists: std::collections::HashSet<String>,
}

struct Evaluator {
    globals: HashMap<String, Value>,
    depth: usize,
    ctx: LowerContext,
    /// Project modules by dotted name (`None`: not a project module).
    modules: HashMap<String, Option<Rc<ModuleData>>>,
    outside_inputs: bool,
    /// Names given as `op.f(...)`: final under a naming convention.
    conv_names: std::collections::HashSet<String>,
    /// The module's `@compiles` functions.
    compile_hooks: compiles::CompileHooks,
}

impl Evaluator {
    /// The dialect the revision is lowered for.
    fn sql_dialect(&self) -> crate::sql::Dialect {
        if self.ctx.dialect == "postgresql" {
            crate::sql::Dialect::Postgresql
        } else {
            crate::sql::Dialect::Sqlite
        }
    }

    fn new(ctx: &LowerContext) -> Evaluator {
        let mut globals = HashMap::new();
        globals.insert(
            "__name__".to_string(),
            Value::Str(project::revision_module_name(&ctx.path)),
        );
        globals.insert(
            "__file__".to_string(),
            Value::Str(ctx.path.display().to_string()),
        );
        globals.insert("__doc__".to_string(), Value::None);
        Evaluator {
            globals,
            depth: 0,
            ctx: ctx.clone(),
            modules: HashMap::new(),
            outside_inputs: false,
            conv_names: std::collections::HashSet::new(),
            compile_hooks: compiles::CompileHooks::default(),
        }
    }

    /// A global name as seen from `frame`: the revision's own globals, or
    /// the frame's project module's.
    fn global(&mut self, name: &str, frame: &Frame, span: Span) -> EResult<Value> {
        if let Some(m) = frame.module.clone() {
            let before = if frame.position == 0 {
                usize::MAX
            } else {
                frame.position
            };
            return self.module_global(&m, name, before, span);
        }
        match self.globals.get(name) {
            Some(Value::Failed(p)) => Err(problem(
                span,
                format!(
                    "'{name}' is not available: its module-level statement failed: {}",
                    p.message
                ),
            )),
            Some(v) => Ok(v.clone()),
            None => {
                builtin(name).ok_or_else(|| problem(span, format!("name '{name}' is not defined")))
            }
        }
    }
}

/// Call arguments after evaluation.
struct Args {
    positional: Vec<(Value, Span)>,
    keywords: Vec<(String, Value, Span)>,
    span: Span,
}

/// Fails on keyword parameters that aurora accepts in a signature but does
/// not yet carry out (`insert_before=` placement, `if_not_exists=` on
/// `add_column`): a clear error where ignoring them would give other SQL.
fn refuse_unsupported(b: &Bound, names: &[&str], func: &str, unsupported: &[&str]) -> EResult<()> {
    for name in unsupported {
        let Some(i) = names.iter().position(|n| n == name) else {
            continue;
        };
        if let Some(v) = b.get(i) {
            let empty = match v {
                Value::None | Value::Bool(false) => true,
                Value::List(xs) | Value::Tuple(xs) => xs.is_empty(),
                Value::Dict(kv) => kv.is_empty(),
                _ => false,
            };
            if !empty {
                return Err(problem(
                    b.span_of(i),
                    format!(
                        "{func}({name}=...) is not supported by aurora yet; remove it, or run this revision with Alembic"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Arguments bound to a signature.
struct Bound {
    values: Vec<Option<(Value, Span)>>,
    rest: Vec<(Value, Span)>,
    extra: Vec<(String, Value, Span)>,
    span: Span,
}

impl Bound {
    fn get(&self, i: usize) -> Option<&Value> {
        self.values[i].as_ref().map(|(v, _)| v)
    }
    fn span_of(&self, i: usize) -> Span {
        self.values[i]
            .as_ref()
            .map(|(_, s)| *s)
            .unwrap_or(self.span)
    }
    fn str(&self, i: usize, what: &str) -> EResult<Option<String>> {
        match self.get(i) {
            None | Some(Value::None) => Ok(None),
            Some(Value::Str(s)) | Some(Value::Conv(s)) => Ok(Some(s.clone())),
            Some(other) => Err(problem(
                self.span_of(i),
                format!("expected a string for '{what}', got {}", describe(other)),
            )),
        }
    }
    fn req_str(&self, i: usize, what: &str, func: &str) -> EResult<String> {
        self.str(i, what)?.ok_or_else(|| {
            problem(
                self.span,
                format!("{func}() missing required argument '{what}'"),
            )
        })
    }
    fn bool(&self, i: usize, what: &str) -> EResult<Option<bool>> {
        match self.get(i) {
            None | Some(Value::None) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Int(n)) => Ok(Some(*n != 0)),
            Some(other) => Err(problem(
                self.span_of(i),
                format!(
                    "expected True or False for '{what}', got {}",
                    describe(other)
                ),
            )),
        }
    }
    fn int(&self, i: usize, what: &str) -> EResult<Option<u32>> {
        match self.get(i) {
            None | Some(Value::None) => Ok(None),
            Some(Value::Int(n)) if *n >= 0 => Ok(Some(*n as u32)),
            Some(other) => Err(problem(
                self.span_of(i),
                format!("expected a number for '{what}', got {}", describe(other)),
            )),
        }
    }
    /// An integer of any sign, for `func`'s parameter `what` (sequence and
    /// identity options).
    fn signed_int(&self, i: usize, func: &str, what: &str) -> EResult<Option<i64>> {
        match self.get(i) {
            None | Some(Value::None) => Ok(None),
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(other) => Err(problem(
                self.span_of(i),
                format!(
                    "{func}() '{what}' must be an integer, got {}",
                    describe(other)
                ),
            )),
        }
    }
    /// Whether the argument was given as something other than `None`.
    fn given(&self, i: usize) -> bool {
        !matches!(self.get(i), None | Some(Value::None))
    }
    fn str_list(&self, i: usize, what: &str) -> EResult<Vec<String>> {
        match self.get(i) {
            None | Some(Value::None) => Ok(Vec::new()),
            Some(Value::Str(s)) => Ok(vec![s.clone()]),
            Some(Value::List(xs)) | Some(Value::Tuple(xs)) => xs
                .iter()
                .map(|x| match x {
                    Value::Str(s) => Ok(s.clone()),
                    Value::Expr(SqlExpr::Column { name, .. }) => Ok(name.clone()),
                    Value::Column(c) => Ok(c.name.clone()),
                    other => Err(problem(
                        self.span_of(i),
                        format!(
                            "expected column names for '{what}', got {}",
                            describe(other)
                        ),
                    )),
                })
                .collect(),
            Some(other) => Err(problem(
                self.span_of(i),
                format!(
                    "expected a list of names for '{what}', got {}",
                    describe(other)
                ),
            )),
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Int(_) => "an integer".into(),
        Value::Float(_) => "a float".into(),
        Value::Str(_) => "a string".into(),
        Value::Bytes(_) => "bytes".into(),
        Value::List(_) => "a list".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::Dict(_) => "a dict".into(),
        Value::Path(p) => format!("'{p}'"),
        Value::Method(_, m) => format!("method '{m}'"),
        Value::Function(f) => format!("function '{}'", f.name),
        Value::Lambda(_) => "a lambda".into(),
        Value::TypeSubclass(c) => format!("type class '{}'", c.name),
        Value::Logger(n) => format!("logger '{n}'"),
        Value::Type(_) => "a type".into(),
        Value::Column(_) => "a Column".into(),
        Value::EnumClass(c) => format!("Enum class '{}'", c.name),
        Value::EnumMember(c, i) => format!("member '{}.{}'", c.name, c.members[*i].0),
        Value::Table(t) => format!("Table '{}'", t.name),
        Value::TableClause(t) => format!("table '{}'", t.name),
        Value::ColumnCollection(t, _) => format!("the columns of table '{}'", t.name),
        Value::Expr(_) | Value::Literal(_) => "a SQL expression".into(),
        Value::Text(..) => "a text() clause".into(),
        Value::Select(_) => "a select()".into(),
        Value::Exists(_) => "an exists()".into(),
        Value::Exec(_) => "a statement".into(),
        Value::ExecResult => "the result of op.get_bind().execute()".into(),
        Value::Constraint(_) => "a constraint".into(),
        Value::Index(_) => "an Index".into(),
        Value::ForeignKey(_) => "a ForeignKey".into(),
        Value::Sequence(_) => "a Sequence".into(),
        Value::MetaData { .. } => "a MetaData".into(),
        Value::Module(_) => "a project module".into(),
        Value::Context => "the migration context".into(),
        Value::Bind => "the connection (op.get_bind())".into(),
        Value::Dialect => "the dialect".into(),
        Value::Impl => "the migration context's impl".into(),
        Value::Config => "the Alembic Config".into(),
        _ => "an object".into(),
    }
}

/// Maps a dotted library path to the name aurora dispatches on:
/// `sa.X`, `postgresql.X`, `op.X`, `datetime.X`, `decimal.X`.
fn canonical(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("sqlalchemy.dialects.postgresql.") {
        return format!("postgresql.{}", rest.rsplit('.').next().unwrap_or(rest));
    }
    if let Some(rest) = path.strip_prefix("sqlalchemy.dialects.sqlite.") {
        return format!("sqlite.{}", rest.rsplit('.').next().unwrap_or(rest));
    }
    if let Some(rest) = path.strip_prefix("sqlalchemy.") {
        if let Some(f) = rest.strip_prefix("func.") {
            return format!("sa.func.{f}");
        }
        if let Some(i) = rest.find(".func.") {
            return format!("sa.func.{}", &rest[i + 6..]);
        }
        return format!("sa.{}", rest.rsplit('.').next().unwrap_or(rest));
    }
    if let Some(rest) = path.strip_prefix("alembic.op.") {
        return format!("op.{rest}");
    }
    path.to_string()
}

const CREATE_TABLE_PREFIXES: &[&str] = &[
    "postgresql_",
    "sqlite_",
    "mysql_",
    "mssql_",
    "oracle_",
    "info",
];

impl Evaluator {
    fn exec(&mut self, stmt: &Stmt, frame: &mut Frame, sink: &mut Vec<Op>) -> EResult<Flow> {
        let in_fn = || {
            if frame.function.is_empty() {
                String::new()
            } else {
                format!(" in {}()", frame.function)
            }
        };
        match &stmt.kind {
            StmtKind::Pass => Ok(Flow::Next),
            StmtKind::Expr(e) => {
                // A bare string is a docstring.
                if !matches!(e.kind, ExprKind::Str(_)) {
                    self.eval(e, frame, sink)?;
                }
                Ok(Flow::Next)
            }
            StmtKind::Assign { targets, value, .. } => {
                let Some(value) = value else {
                    return Ok(Flow::Next);
                };
                let v = self.eval(value, frame, sink)?;
                for t in targets {
                    self.assign(t, v.clone(), frame)?;
                }
                if let [Expr {
                    kind: ExprKind::Name(n),
                    ..
                }] = targets.as_slice()
                {
                    if lists::is_fresh_list(value) {
                        frame.owned_lists.insert(n.clone());
                    }
                }
                Ok(Flow::Next)
            }
            StmtKind::AugAssign { target, op, value } => {
                let current = self.eval(target, frame, sink)?;
                let rhs = self.eval(value, frame, sink)?;
                let v = binary(*op, current, rhs, stmt.span)?;
                self.assign(target, v, frame)?;
                Ok(Flow::Next)
            }
            StmtKind::Return(e) => {
                let v = match e {
                    Some(e) => self.eval(e, frame, sink)?,
                    None => Value::None,
                };
                Ok(Flow::Return(v))
            }
            StmtKind::Import(names) => {
                self.exec_import(names, frame);
                Ok(Flow::Next)
            }
            StmtKind::FromImport { module, names } => {
                for n in names {
                    if n.name == "*" {
                        return Err(problem(
                            stmt.span,
                            format!("unsupported construct 'from {module} import *'"),
                        ));
                    }
                    let bound = n.alias.clone().unwrap_or_else(|| n.name.clone());
                    let v = self.imported_name(module, &n.name, frame, stmt.span)?;
                    frame.locals.insert(bound, v);
                }
                Ok(Flow::Next)
            }
            StmtKind::FunctionDef(def) if !def.decorators.is_empty() => Err(problem(
                def.decorators[0].span,
                format!("unsupported construct 'decorator'{}", in_fn()),
            )),
            StmtKind::FunctionDef(def) => {
                frame
                    .locals
                    .insert(def.name.clone(), Value::Function(Rc::new(def.clone())));
                Ok(Flow::Next)
            }
            StmtKind::If { test, body, orelse } => {
                let t = self.eval(test, frame, sink)?;
                let branch = if truthy(&t, test.span)? { body } else { orelse };
                self.exec_block(branch, frame, sink)
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                is_async: false,
            } => {
                let it = self.eval(iter, frame, sink)?;
                let items = iteration_items(it, iter.span)?;
                for item in items {
                    self.assign(target, item, frame)?;
                    if let Flow::Return(v) = self.exec_block(body, frame, sink)? {
                        return Ok(Flow::Return(v));
                    }
                }
                // The `else` of a loop (which has no `break` in this
                // language) always runs.
                self.exec_block(orelse, frame, sink)
            }
            StmtKind::With {
                is_async: false,
                items,
                body,
            } => self.exec_with(stmt, items, body, frame, sink),
            // Offline, nothing a migration's `try` body does raises a Python
            // exception (anything aurora cannot model is an error of its own,
            // never caught): the body runs, then `else` and `finally`; an
            // `except` clause never runs.
            StmtKind::Try(t) => {
                if let Flow::Return(v) = self.exec_block(&t.body, frame, sink)? {
                    return Ok(Flow::Return(v));
                }
                if let Flow::Return(v) = self.exec_block(&t.orelse, frame, sink)? {
                    return Ok(Flow::Return(v));
                }
                self.exec_block(&t.finalbody, frame, sink)
            }
            other => Err(problem(
                stmt.span,
                format!(
                    "unsupported construct '{}'{}",
                    statement_name(other),
                    in_fn()
                ),
            )),
        }
    }

    fn exec_block(
        &mut self,
        body: &[Stmt],
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Flow> {
        for s in body {
            if let Flow::Return(v) = self.exec(s, frame, sink)? {
                return Ok(Flow::Return(v));
            }
        }
        Ok(Flow::Next)
    }

    fn exec_with(
        &mut self,
        stmt: &Stmt,
        items: &[crate::syntax::body::WithItem],
        body: &[Stmt],
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Flow> {
        if items.len() != 1 {
            return Err(problem(
                stmt.span,
                "unsupported construct 'with' of several items",
            ));
        }
        let ctx = self.eval(&items[0].context, frame, sink)?;
        match ctx {
            Value::BatchContext(batch) => {
                if let Some(t) = &items[0].target {
                    self.assign(t, Value::BatchOp, frame)?;
                }
                // Alembic defers the batch's own operations (`batch_op.*`)
                // to the end of the block; everything else the block does
                // (`op.*`, `batch_op.execute()`, which goes to the migration
                // context's impl) runs where it is, so before them.
                frame.batches.push(*batch);
                let flow = self.exec_block(body, frame, sink);
                let batch = frame.batches.pop().expect("batch");
                let flow = flow?;
                sink.push(Op::Batch(batch));
                Ok(flow)
            }
            Value::AutocommitBlock => {
                let mut inner = Vec::new();
                let flow = self.exec_block(body, frame, &mut inner)?;
                sink.push(Op::Autocommit(inner));
                Ok(flow)
            }
            other => Err(problem(
                items[0].context.span,
                format!("unsupported construct 'with' over {}", describe(&other)),
            )),
        }
    }

    /// A module-level class: only an `Enum` (bases `Enum`, `IntEnum`,
    /// `StrEnum`, with `int`/`str` mixins) whose body assigns plain values.
    fn enum_class(&mut self, def: &crate::syntax::ast::ClassDef, span: Span) -> EResult<Value> {
        let refuse = |why: &str| {
            problem(
                span,
                format!(
                    "class '{}' {why}; aurora evaluates only Enum classes with plain member values",
                    def.name
                ),
            )
        };
        if !def.decorators.is_empty() || !def.keywords.is_empty() {
            return Err(refuse("has decorators or class keywords"));
        }
        let mut frame = Frame::default();
        let mut sink = Vec::new();
        let mut is_enum = false;
        let mut mixin = None;
        for base in &def.bases {
            match self.eval(base, &mut frame, &mut sink)? {
                Value::Path(p)
                    if matches!(p.as_str(), "enum.Enum" | "enum.IntEnum" | "enum.StrEnum") =>
                {
                    is_enum = true;
                    if p != "enum.Enum" {
                        mixin = Some(if p == "enum.IntEnum" { "int" } else { "str" });
                    }
                }
                Value::Path(p) if p == "int" || p == "str" => {
                    mixin = Some(if p == "int" { "int" } else { "str" })
                }
                _ => return Err(refuse("has a base aurora does not know")),
            }
        }
        if !is_enum {
            return Err(refuse("is not an Enum"));
        }
        let mut members: Vec<(String, Value, usize)> = Vec::new();
        for stmt in &def.body {
            match &stmt.kind {
                StmtKind::Pass => {}
                StmtKind::Expr(e) if matches!(e.kind, ExprKind::Str(_)) => {}
                StmtKind::Assign {
                    targets,
                    value: Some(value),
                    ..
                } if targets.len() == 1 => {
                    let ExprKind::Name(n) = &targets[0].kind else {
                        return Err(refuse("assigns something other than a name"));
                    };
                    if n.starts_with('_') {
                        return Err(refuse("defines a private or special name"));
                    }
                    let v = self.eval(value, &mut frame, &mut sink)?;
                    let v = match (mixin, v) {
                        (Some("int"), Value::Int(i)) => Value::Int(i),
                        (Some("int"), Value::Bool(b)) => Value::Int(b as i64),
                        (Some("str"), Value::Str(x)) => Value::Str(x),
                        (
                            None,
                            v @ (Value::Int(_)
                            | Value::Str(_)
                            | Value::Float(_)
                            | Value::Bool(_)
                            | Value::None),
                        ) => v,
                        _ => return Err(refuse("has a member value aurora does not support")),
                    };
                    let canonical = members
                        .iter()
                        .find(|(_, x, _)| *x == v)
                        .map_or(members.len(), |m| m.2);
                    members.push((n.clone(), v, canonical));
                }
                _ => return Err(refuse("has a statement other than member assignments")),
            }
        }
        Ok(Value::EnumClass(Rc::new(EnumClass {
            name: def.name.clone(),
            members,
        })))
    }

    /// The local scopes a comprehension's element is evaluated in: one per
    /// item that passes every `if`, nested generators innermost last, in
    /// Python's order. The caller restores the frame's locals afterwards
    /// (comprehension variables do not leak, as in Python 3).
    fn comprehension_scopes(
        &mut self,
        generators: &[crate::syntax::ast::Comprehension],
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Vec<HashMap<String, Value>>> {
        let Some((g, rest)) = generators.split_first() else {
            return Ok(vec![frame.locals.clone()]);
        };
        if g.is_async {
            return Err(problem(
                g.iter.span,
                "unsupported construct 'async comprehension'",
            ));
        }
        let it = self.eval(&g.iter, frame, sink)?;
        let mut scopes = Vec::new();
        for item in iteration_items(it, g.iter.span)? {
            self.assign(&g.target, item, frame)?;
            let mut keep = true;
            for cond in &g.ifs {
                if !truthy(&self.eval(cond, frame, sink)?, cond.span)? {
                    keep = false;
                    break;
                }
            }
            if keep {
                let inner = frame.locals.clone();
                scopes.extend(self.comprehension_scopes(rest, frame, sink)?);
                frame.locals = inner;
            }
        }
        Ok(scopes)
    }

    fn assign(&mut self, target: &Expr, v: Value, frame: &mut Frame) -> EResult<()> {
        match &target.kind {
            ExprKind::Name(n) => {
                frame.owned_lists.remove(n);
                frame.locals.insert(n.clone(), v);
                Ok(())
            }
            ExprKind::Tuple(ts) | ExprKind::List(ts) => {
                let items = match v {
                    Value::List(xs) | Value::Tuple(xs) if xs.len() == ts.len() => xs,
                    _ => return Err(problem(target.span, "cannot unpack this value")),
                };
                for (t, x) in ts.iter().zip(items) {
                    self.assign(t, x, frame)?;
                }
                Ok(())
            }
            // `metadata.bind = conn`: SQLAlchemy 2's MetaData has no bind; the
            // assignment sets a plain Python attribute nothing reads.
            ExprKind::Attribute(obj, attr)
                if attr == "bind"
                    && matches!(
                        &obj.kind,
                        ExprKind::Name(n)
                            if matches!(frame.locals.get(n), Some(Value::MetaData { .. }))
                    ) =>
            {
                Ok(())
            }
            _ => Err(problem(
                target.span,
                "unsupported construct 'assignment to an attribute or item'",
            )),
        }
    }

    fn eval(&mut self, e: &Expr, frame: &mut Frame, sink: &mut Vec<Op>) -> EResult<Value> {
        match &e.kind {
            ExprKind::Name(n) => match frame.locals.get(n) {
                Some(v) => {
                    frame.owned_lists.remove(n);
                    Ok(v.clone())
                }
                None => self.global(n, frame, e.span),
            },
            ExprKind::Str(s) => Ok(Value::Str(s.clone())),
            ExprKind::Bytes(b) => Ok(Value::Bytes(b.clone())),
            ExprKind::FString(parts) => self.fstring(parts, frame, sink).map(Value::Str),
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::None => Ok(Value::None),
            ExprKind::List(xs) => Ok(Value::List(self.eval_all(xs, frame, sink)?)),
            ExprKind::Tuple(xs) => Ok(Value::Tuple(self.eval_all(xs, frame, sink)?)),
            ExprKind::Set(xs) => Ok(Value::List(self.eval_all(xs, frame, sink)?)),
            ExprKind::Dict(items) => {
                let mut out: Vec<(Value, Value)> = Vec::new();
                for (k, v) in items {
                    let val = self.eval(v, frame, sink)?;
                    match k {
                        Some(k) => {
                            let key = self.eval(k, frame, sink)?;
                            dict_set(&mut out, key, val);
                        }
                        None => match val {
                            Value::Dict(kv) => {
                                for (k2, v2) in kv {
                                    dict_set(&mut out, k2, v2);
                                }
                            }
                            other => {
                                return Err(problem(
                                    v.span,
                                    format!("cannot unpack {}", describe(&other)),
                                ))
                            }
                        },
                    }
                }
                Ok(Value::Dict(out))
            }
            ExprKind::Attribute(base, name) => {
                let b = self.eval(base, frame, sink)?;
                match b {
                    Value::Module(m) => self.module_global(&m, name, usize::MAX, e.span),
                    // `MigrationContext.as_sql`: true exactly when the run
                    // renders SQL (`--sql`), as `context.is_offline_mode()`.
                    Value::Context if name == "as_sql" => Ok(Value::Bool(self.ctx.offline)),
                    // Alembic's private `op._proxy` is the Operations object;
                    // its `migration_context` is `op.get_context()`.
                    Value::Path(p) if p == "alembic.op._proxy" && name == "migration_context" => {
                        Ok(Value::Context)
                    }
                    Value::Config | Value::Context => {
                        self.outside_inputs = true;
                        attribute(b, name, e.span)
                    }
                    Value::Dialect if name == "name" => Ok(Value::Str(self.ctx.dialect.clone())),
                    // SQLAlchemy's `Dialect.supports_sequences`: PostgreSQL
                    // has sequences, SQLite has none.
                    Value::Dialect if name == "supports_sequences" => {
                        match self.ctx.dialect.as_str() {
                            "postgresql" => Ok(Value::Bool(true)),
                            "sqlite" => Ok(Value::Bool(false)),
                            other => Err(problem(
                                e.span,
                                format!("aurora does not know whether dialect '{other}' supports sequences"),
                            )),
                        }
                    }
                    Value::Path(p) if !project::is_known_library(&p) => {
                        let dotted = format!("{p}.{name}");
                        match self.project_module(&dotted) {
                            Some(m) => Ok(Value::Module(m)),
                            None => Ok(Value::Path(dotted)),
                        }
                    }
                    b => attribute(b, name, e.span),
                }
            }
            ExprKind::Call { func, args } => {
                if let ExprKind::Attribute(recv, m) = &func.kind {
                    if let ExprKind::Name(n) = &recv.kind {
                        if lists::is_mutation(m) && frame.owned_lists.contains(n) {
                            return self.mutate_local_list(n, m, args, e.span, frame, sink);
                        }
                    }
                }
                let f = self.eval(func, frame, sink)?;
                let mut positional = Vec::new();
                let mut keywords = Vec::new();
                for a in args {
                    match a {
                        Arg::Positional(x) => positional.push((self.eval(x, frame, sink)?, x.span)),
                        Arg::Keyword { name, value, span } => {
                            keywords.push((name.clone(), self.eval(value, frame, sink)?, *span))
                        }
                        Arg::Star(x) => match self.eval(x, frame, sink)? {
                            Value::List(xs) | Value::Tuple(xs) => {
                                positional.extend(xs.into_iter().map(|v| (v, x.span)))
                            }
                            other => {
                                return Err(problem(
                                    x.span,
                                    format!("cannot unpack {}", describe(&other)),
                                ))
                            }
                        },
                        Arg::DoubleStar(x) => match self.eval(x, frame, sink)? {
                            Value::Dict(kv) => {
                                for (k, v) in kv {
                                    let Value::Str(k) = k else {
                                        return Err(problem(x.span, "keywords must be strings"));
                                    };
                                    keywords.push((k, v, x.span));
                                }
                            }
                            other => {
                                return Err(problem(
                                    x.span,
                                    format!("cannot unpack {}", describe(&other)),
                                ))
                            }
                        },
                    }
                }
                let args = Args {
                    positional,
                    keywords,
                    span: e.span,
                };
                self.call(f, args, frame, sink)
            }
            ExprKind::Subscript(base, idx) => {
                let b = self.eval(base, frame, sink)?;
                if idx.len() != 1 {
                    return Err(problem(e.span, "unsupported construct 'slice'"));
                }
                let i = self.eval(&idx[0], frame, sink)?;
                subscript(b, i, e.span)
            }
            ExprKind::Unary(op, x) => {
                let v = self.eval(x, frame, sink)?;
                match (op, v) {
                    (UnaryOp::Not, v) => Ok(Value::Bool(!truthy(&v, x.span)?)),
                    (UnaryOp::Neg, Value::Int(i)) => Ok(Value::Int(-i)),
                    (UnaryOp::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
                    (UnaryOp::Pos, v @ (Value::Int(_) | Value::Float(_))) => Ok(v),
                    (UnaryOp::Invert, Value::Int(i)) => Ok(Value::Int(!i)),
                    (UnaryOp::Invert, Value::Expr(x)) => Ok(Value::Expr(negate(x))),
                    (UnaryOp::Invert, Value::Exists(x)) => {
                        Ok(Value::Expr(negate(SqlExpr::Exists(x))))
                    }
                    (UnaryOp::Neg, Value::Expr(x)) => Ok(Value::Expr(SqlExpr::Unary {
                        op: "-",
                        operand: Box::new(x),
                    })),
                    _ => Err(problem(e.span, "unsupported operand for unary operator")),
                }
            }
            ExprKind::Binary(op, l, r) => match op {
                BinOp::And => {
                    let lv = self.eval(l, frame, sink)?;
                    if !truthy(&lv, l.span)? {
                        Ok(lv)
                    } else {
                        self.eval(r, frame, sink)
                    }
                }
                BinOp::Or => {
                    let lv = self.eval(l, frame, sink)?;
                    if truthy(&lv, l.span)? {
                        Ok(lv)
                    } else {
                        self.eval(r, frame, sink)
                    }
                }
                _ => {
                    let lv = self.eval(l, frame, sink)?;
                    let rv = self.eval(r, frame, sink)?;
                    binary(*op, lv, rv, e.span)
                }
            },
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } => {
                let mut current = self.eval(left, frame, sink)?;
                let mut result = Value::Bool(true);
                for (op, right) in ops.iter().zip(comparators) {
                    let r = self.eval(right, frame, sink)?;
                    result = binary(*op, current, r.clone(), e.span)?;
                    if !truthy(&result, e.span)? {
                        break;
                    }
                    current = r;
                }
                Ok(result)
            }
            ExprKind::IfElse { test, body, orelse } => {
                let t = self.eval(test, frame, sink)?;
                if truthy(&t, test.span)? {
                    self.eval(body, frame, sink)
                } else {
                    self.eval(orelse, frame, sink)
                }
            }
            ExprKind::Slice { .. } => Err(problem(e.span, "unsupported construct 'slice'")),
            ExprKind::Ellipsis => Err(problem(e.span, "unsupported construct 'ellipsis'")),
            ExprKind::Lambda(l) => Ok(Value::Lambda(Rc::new((**l).clone()))),
            ExprKind::ListComp { elt, generators } | ExprKind::GeneratorExp { elt, generators } => {
                let saved = frame.locals.clone();
                let result = (|| {
                    let mut out = Vec::new();
                    for env in self.comprehension_scopes(generators, frame, sink)? {
                        frame.locals = env;
                        out.push(self.eval(elt, frame, sink)?);
                    }
                    Ok(out)
                })();
                frame.locals = saved;
                Ok(Value::List(result?))
            }
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => {
                let saved = frame.locals.clone();
                let result = (|| {
                    let mut out = Vec::new();
                    for env in self.comprehension_scopes(generators, frame, sink)? {
                        frame.locals = env;
                        let k = self.eval(key, frame, sink)?;
                        let v = self.eval(value, frame, sink)?;
                        dict_set(&mut out, k, v);
                    }
                    Ok(out)
                })();
                frame.locals = saved;
                Ok(Value::Dict(result?))
            }
            ExprKind::SetComp { .. } => {
                Err(problem(e.span, "unsupported construct 'set comprehension'"))
            }
            ExprKind::Await(_) => Err(problem(e.span, "unsupported construct 'await'")),
            ExprKind::BigInt(digits) => Err(problem(
                e.span,
                format!("unsupported construct 'integer beyond 64 bits' ({digits})"),
            )),
            ExprKind::Imaginary(_) => {
                Err(problem(e.span, "unsupported construct 'complex number'"))
            }
            ExprKind::Starred(_) => Err(problem(
                e.span,
                "unsupported construct 'starred expression'",
            )),
            ExprKind::NamedExpr { .. } => Err(problem(
                e.span,
                "unsupported construct 'assignment expression'",
            )),
            ExprKind::Yield(_) | ExprKind::YieldFrom(_) => {
                Err(problem(e.span, "unsupported construct 'yield'"))
            }
        }
    }

    /// An f-string: literal text and `{expression[!r|!s]}` fields.
    fn fstring(
        &mut self,
        parts: &[crate::syntax::ast::FStringPart],
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<String> {
        use crate::syntax::ast::FStringPart;
        let mut out = String::new();
        for part in parts {
            let field = match part {
                FStringPart::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                FStringPart::Field(field) => field,
            };
            if field.spec.is_some() {
                return Err(problem(
                    field.span,
                    "unsupported construct 'f-string format spec'",
                ));
            }
            let v = self
                .eval(&field.expr, frame, sink)
                .map_err(|p| problem(p.span, format!("{} (in an f-string field)", p.message)))?;
            if let Some(text) = &field.debug_text {
                out.push_str(text);
            }
            out.push_str(&match field.conversion {
                Some('r') => builtins::py_repr(&v),
                Some('s') | None => py_text(&v, field.span)?,
                Some(c) => {
                    return Err(problem(
                        field.span,
                        format!("unsupported construct 'f-string conversion !{c}'"),
                    ))
                }
            });
        }
        Ok(out)
    }

    fn eval_all(
        &mut self,
        xs: &[Expr],
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Vec<Value>> {
        xs.iter().map(|x| self.eval(x, frame, sink)).collect()
    }

    fn call(
        &mut self,
        f: Value,
        args: Args,
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        match f {
            Value::Path(p) => {
                let name = canonical(&p);
                self.call_path(&name, args, frame, sink)
            }
            Value::Method(recv, m) => self.call_method(*recv, &m, args, frame, sink),
            Value::Function(def) => self.call_function(&def, args, sink),
            Value::ModuleFunction(m, def) => self.call_module_function(&m, &def, args, sink),
            Value::BatchOp => Err(problem(args.span, "batch_op is not callable")),
            Value::Lambda(_) => Err(problem(args.span, "unsupported call of a lambda")),
            Value::TypeSubclass(c) => self.instantiate_type_subclass(&c, args, sink),
            Value::DialectImplClass(t) => typedecorator::instantiate(*t, &args),
            other => Err(problem(
                args.span,
                format!("{} is not callable", describe(&other)),
            )),
        }
    }

    fn call_function(
        &mut self,
        def: &FunctionDef,
        args: Args,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        self.call_function_in(def, args, None, sink)
    }

    fn call_function_in(
        &mut self,
        def: &FunctionDef,
        args: Args,
        module: Option<Rc<ModuleData>>,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        if self.depth > 50 {
            return Err(problem(args.span, "helper functions nest too deeply"));
        }
        let mut frame = Frame {
            function: def.name.clone(),
            module,
            ..Frame::default()
        };
        let named: Vec<&str> = def
            .params
            .iter()
            .filter(|p| p.stars == 0)
            .map(|p| p.name.as_str())
            .collect();
        let mut pos = args.positional.into_iter();
        for p in &def.params {
            // `*args` takes the positional arguments left, `**kwargs` the
            // keywords no named parameter takes.
            if p.stars == 1 {
                let rest: Vec<Value> = pos.by_ref().map(|(v, _)| v).collect();
                frame.locals.insert(p.name.clone(), Value::Tuple(rest));
                continue;
            }
            if p.stars == 2 {
                let extra = args
                    .keywords
                    .iter()
                    .filter(|(k, _, _)| !named.contains(&k.as_str()))
                    .map(|(k, v, _)| (Value::Str(k.clone()), v.clone()))
                    .collect();
                frame.locals.insert(p.name.clone(), Value::Dict(extra));
                continue;
            }
            let v = if let Some((v, _)) = pos.next() {
                v
            } else if let Some((_, v, _)) = args.keywords.iter().find(|(k, _, _)| *k == p.name) {
                v.clone()
            } else if let Some(d) = &p.default {
                let mut scratch = Frame {
                    module: frame.module.clone(),
                    ..Frame::default()
                };
                self.eval(d, &mut scratch, sink)?
            } else {
                return Err(problem(
                    args.span,
                    format!("{}() missing required argument '{}'", def.name, p.name),
                ));
            };
            frame.locals.insert(p.name.clone(), v);
        }
        // Python's TypeErrors for arguments no parameter takes.
        if pos.next().is_some() {
            return Err(problem(
                args.span,
                format!(
                    "TypeError: {}() got too many positional arguments",
                    def.name
                ),
            ));
        }
        if !def.params.iter().any(|p| p.stars == 2) {
            if let Some((k, _, s)) = args
                .keywords
                .iter()
                .find(|(k, _, _)| !named.contains(&k.as_str()))
            {
                return Err(problem(
                    *s,
                    format!(
                        "TypeError: {}() got an unexpected keyword argument '{k}'",
                        def.name
                    ),
                ));
            }
        }
        self.depth += 1;
        let mut result = Ok(Value::None);
        for stmt in &def.body {
            match self.exec(stmt, &mut frame, sink) {
                Ok(Flow::Return(v)) => {
                    result = Ok(v);
                    break;
                }
                Ok(Flow::Next) => {}
                Err(p) => {
                    result = Err(p);
                    break;
                }
            }
        }
        self.depth -= 1;
        result
    }

    fn batch_target(&self, frame: &Frame, span: Span) -> EResult<(String, Option<String>)> {
        frame
            .batches
            .last()
            .map(|b| (b.table.clone(), b.schema.clone()))
            .ok_or_else(|| problem(span, "batch_op used outside its 'with' block"))
    }

    fn call_method(
        &mut self,
        recv: Value,
        m: &str,
        args: Args,
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        let span = args.span;
        if let Some(result) = builtins::plain_method(&recv, m, &args, &self.ctx) {
            return result;
        }
        // A `sa.Table(...)` is a table clause for the DML methods, as in SQLAlchemy
        // (`Table` subclasses `TableClause`): `person.update().where(...)`.
        let recv = match recv {
            Value::Table(t) if matches!(m, "insert" | "update" | "delete" | "select") => {
                Value::TableClause(table_clause(&t))
            }
            other => other,
        };
        if dml::handles(&recv, m, &args) {
            return dml::method(recv, m, args);
        }
        match (recv, m) {
            (Value::Logger(logger), m)
                if matches!(
                    m,
                    "debug" | "info" | "warning" | "warn" | "error" | "critical" | "fatal"
                ) =>
            {
                if let Some((k, _, s)) = args.keywords.first() {
                    return Err(problem(
                        *s,
                        format!("{m}() got an unsupported keyword argument '{k}'"),
                    ));
                }
                let mut pos = args.positional.into_iter();
                let Some((msg, msg_span)) = pos.next() else {
                    return Err(problem(
                        span,
                        format!("{m}() missing required argument 'msg'"),
                    ));
                };
                let rest: Vec<Value> = pos.map(|(v, _)| v).collect();
                // `LogRecord.getMessage()`: str(msg), then `% args` when any.
                let text = py_text(&msg, msg_span)?;
                let message = if rest.is_empty() {
                    text
                } else {
                    percent_format(&text, Value::Tuple(rest), span)?
                };
                let level = match m {
                    "debug" => crate::logging::DEBUG,
                    "info" => crate::logging::INFO,
                    "warning" | "warn" => crate::logging::WARNING,
                    "error" => crate::logging::ERROR,
                    _ => crate::logging::CRITICAL,
                };
                sink.push(Op::Log {
                    logger,
                    level,
                    message,
                });
                Ok(Value::None)
            }
            // `batch_op.execute()` is Operations.execute: it runs at once;
            // every other batch operation waits for the end of the block.
            (Value::BatchOp, "execute") => {
                let (table, schema) = self.batch_target(frame, span)?;
                self.batch_op(m, table, schema, args, sink)
            }
            (Value::BatchOp, _) => {
                let (table, schema) = self.batch_target(frame, span)?;
                let mut deferred = Vec::new();
                let result = self.batch_op(m, table, schema, args, &mut deferred);
                frame
                    .batches
                    .last_mut()
                    .expect("a batch_op value lives inside its batch block")
                    .ops
                    .extend(deferred);
                result
            }
            (Value::Context, "autocommit_block") => {
                bind_to(
                    &args,
                    "autocommit_block",
                    signature("MigrationContext.autocommit_block"),
                )?;
                Ok(Value::AutocommitBlock)
            }
            (Value::Bind, "execute") => {
                let b = bind_to(&args, "execute", signature("Connection.execute"))?;
                let exe = executable(b.get(0), b.span_of(0))?;
                sink.push(Op::Execute(exe));
                // Offline Alembic's mock connection returns None; online a
                // result aurora cannot give (see `Value::ExecResult`).
                Ok(if self.ctx.offline {
                    Value::None
                } else {
                    Value::ExecResult
                })
            }
            (
                Value::Type(SqlType::Enum {
                    values,
                    name,
                    schema,
                    ..
                }),
                "create" | "drop",
            ) => {
                bind_to(&args, m, signature(&format!("sa.Enum.{m}")))?;
                let name = name.ok_or_else(|| {
                    problem(span, "an ENUM needs a name to be created or dropped")
                })?;
                sink.push(if m == "create" {
                    Op::CreateEnum {
                        name,
                        schema,
                        values,
                    }
                } else {
                    Op::DropEnum { name, schema }
                });
                Ok(Value::None)
            }
            // The variant mapping is resolved here for the configured
            // dialect: DDL compiles `type.dialect_impl(dialect)`.
            (Value::Type(t), "with_variant") => {
                if let Some((k, _, s)) = args.keywords.first() {
                    return Err(problem(
                        *s,
                        format!("with_variant() got an unexpected keyword argument '{k}'"),
                    ));
                }
                let Some(((v, vs), names)) = args.positional.split_first() else {
                    return Err(problem(span, "with_variant() needs a type"));
                };
                // SQLAlchemy's `to_instance`: a callable (a class, or a
                // project function returning a type) is called.
                let variant = match v {
                    Value::Function(_) | Value::ModuleFunction(..) => {
                        let no_args = Args {
                            positional: Vec::new(),
                            keywords: Vec::new(),
                            span: *vs,
                        };
                        let made = self.call(v.clone(), no_args, frame, sink)?;
                        Ok(as_type(&made, *vs)?)
                    }
                    // A type whose text aurora cannot know for this dialect
                    // matters only when its variant applies.
                    Value::Failed(p) => Err(*p.clone()),
                    v => Ok(as_type(v, *vs)?),
                };
                if names.is_empty() {
                    return Err(problem(
                        span,
                        "sqlalchemy.exc.ArgumentError: At least one dialect name is required",
                    ));
                }
                let mut applies = false;
                for (name, s) in names {
                    match name {
                        Value::Str(n) => applies |= *n == self.ctx.dialect,
                        other => {
                            return Err(problem(
                                *s,
                                format!(
                                    "with_variant() takes dialect names, got {}",
                                    describe(other)
                                ),
                            ))
                        }
                    }
                }
                Ok(Value::Type(if applies { variant? } else { t }))
            }
            (Value::Dialect, "type_descriptor") => {
                let b = bind(&args, "type_descriptor", &["typeobj"], false, false)?;
                match b.get(0) {
                    Some(t @ Value::Type(_)) => Ok(t.clone()),
                    _ => Err(problem(span, "type_descriptor() takes a type instance")),
                }
            }
            (Value::Text(sql, mut binds), "bindparams") => {
                let b = bind_to(&args, "bindparams", signature("TextClause.bindparams"))?;
                for (k, v, s) in b.extra {
                    binds.push((k, literal(&v, s)?));
                }
                Ok(Value::Text(sql, binds))
            }
            // `Table.create(bind)`: SQLAlchemy's SchemaGenerator emits what
            // op.create_table does for the same table (types, CREATE TABLE,
            // indexes, comments).
            (Value::Table(t), "create") => {
                let b = bind_to(&args, "create", signature("Table.create"))?;
                if !matches!(b.get(0), Some(Value::Bind)) {
                    return Err(problem(
                        b.span_of(0),
                        "Table.create() takes the migration's connection (op.get_bind())",
                    ));
                }
                // Offline, Alembic's mock connection runs the DDL visitor with
                // checkfirst=False whatever was asked; online it would ask the
                // database.
                if b.bool(1, "checkfirst")?.unwrap_or(false) && !self.ctx.offline {
                    return Err(problem(
                        b.span_of(1),
                        "Table.create(checkfirst=True) asks the database whether the table \
                         exists; aurora cannot (use op.create_table, or checkfirst=False)",
                    ));
                }
                if t.own_naming_convention || self.ctx.naming_convention.is_some() {
                    return Err(problem(
                        span,
                        "Table.create() under a naming convention: SQLAlchemy names its \
                         constraints by the table's own MetaData, which aurora does not \
                         apply; use op.create_table",
                    ));
                }
                let mut t = *t;
                t.own_ddl_memo = true;
                sink.push(Op::CreateTable(t));
                Ok(Value::None)
            }
            (Value::Expr(e), "desc" | "asc") => {
                bind_to(&args, m, signature("ColumnElement.desc"))?;
                Ok(Value::Expr(SqlExpr::Ordered {
                    expr: Box::new(e),
                    modifier: if m == "desc" { "DESC" } else { "ASC" },
                }))
            }
            (Value::Expr(e), "in_" | "not_in" | "notin_") => {
                let b = bind_to(&args, m, signature("ColumnOperators.in_"))?;
                let (list, ls) = match b.get(0) {
                    Some(v) => (v.clone(), b.span_of(0)),
                    None => {
                        return Err(problem(
                            span,
                            format!("{m}() missing 1 required positional argument: 'other'"),
                        ))
                    }
                };
                let items = match list {
                    Value::List(xs) | Value::Tuple(xs) => xs,
                    other => {
                        return Err(problem(
                            ls,
                            format!(
                                "{m}() takes a list of literal values here, got {}",
                                describe(&other)
                            ),
                        ))
                    }
                };
                // SQLAlchemy binds the whole list with the type of its first
                // value (or the column's); aurora renders each value by its
                // own Python type, which is the same only when they agree.
                let mut values = Vec::new();
                for item in &items {
                    let plain = matches!(
                        item,
                        Value::Int(_) | Value::Str(_) | Value::Float(_) | Value::Bool(_)
                    );
                    if !plain {
                        return Err(problem(
                            ls,
                            format!(
                                "{m}() of {}: aurora renders only lists of ints, floats, \
                                 strings or booleans here; write the condition with sa.text()",
                                describe(item)
                            ),
                        ));
                    }
                    if std::mem::discriminant(item) != std::mem::discriminant(&items[0]) {
                        return Err(problem(
                            ls,
                            format!(
                                "{m}() of values of different Python types: SQLAlchemy renders \
                                 them all as the first one's type; use values of one type"
                            ),
                        ));
                    }
                    values.push(SqlExpr::Literal(literal(item, ls)?));
                }
                Ok(Value::Expr(SqlExpr::In {
                    expr: Box::new(e),
                    negate: m != "in_",
                    values,
                }))
            }
            (Value::Expr(e), "nulls_first" | "nullsfirst" | "nulls_last" | "nullslast") => {
                bind_to(&args, m, signature("ColumnElement.desc"))?;
                nulls_order(m, e, span)
            }
            (Value::Column(c), "copy" | "_copy") => {
                bind_to(&args, m, signature("Column.copy"))?;
                Ok(Value::Column(c))
            }
            (recv, m) => Err(problem(
                span,
                format!("unsupported call of '{m}' on {}", describe(&recv)),
            )),
        }
    }

    fn call_path(
        &mut self,
        name: &str,
        args: Args,
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        if let Some(op) = name.strip_prefix("op.") {
            return self.call_op(op, args, frame, sink);
        }
        if let Some(t) = type_call(name, &args)? {
            return Ok(Value::Type(t));
        }
        if let Some(result) = dml::call(name, &args) {
            return result;
        }
        if let Some(f) = name.strip_prefix("sa.func.") {
            let b = bind_to(&args, f, signature("sa.func"))?;
            let fargs = b
                .rest
                .into_iter()
                .map(|(v, s)| sql_expr(v, s))
                .collect::<EResult<Vec<_>>>()?;
            return Ok(Value::Expr(SqlExpr::Func {
                name: f.to_string(),
                args: fargs,
            }));
        }
        if let Some(result) = builtins::call_builtin(name, &args) {
            return result;
        }
        let span = args.span;
        match name {
            "alembic_postgresql_enum.TableReference"
            | "alembic_postgresql_enum.get_enum_data.TableReference"
            | "alembic_postgresql_enum.get_enum_data.types.TableReference" => {
                plugins::table_reference(&args)
            }
            "logging.getLogger" => {
                let name = match args.positional.first() {
                    None | Some((Value::None, _)) => "root".to_string(),
                    Some((Value::Str(n), _)) if n.is_empty() => "root".to_string(),
                    Some((Value::Str(n), _)) => n.clone(),
                    Some((other, s)) => {
                        return Err(problem(
                            *s,
                            format!("getLogger() takes a name, got {}", describe(other)),
                        ))
                    }
                };
                if args.positional.len() > 1 || !args.keywords.is_empty() {
                    return Err(problem(span, "getLogger() takes one argument, the name"));
                }
                Ok(Value::Logger(name))
            }
            "alembic.context.is_offline_mode" => {
                bind_to(&args, name, signature("alembic.context.is_offline_mode"))?;
                Ok(Value::Bool(self.ctx.offline))
            }
            "textwrap.dedent" => textwrap::call_dedent(&args),
            "alembic.context.get_impl" => {
                bind(&args, name, &[], false, false)?;
                Ok(Value::Impl)
            }
            // `context.get_context()` in a revision: the MigrationContext
            // the run configured, as `op.get_context()` gives it.
            "alembic.context.get_context" => {
                bind(&args, name, &[], false, false)?;
                Ok(Value::Context)
            }
            "datetime.datetime.utcfromtimestamp" | "datetime.datetime.fromtimestamp" => {
                let b = bind_to(&args, name, signature("datetime.datetime.utcfromtimestamp"))?;
                let seconds = match b.get(0) {
                    Some(Value::Int(i)) => *i as f64,
                    Some(Value::Float(f)) => *f,
                    _ => return Err(problem(span, format!("{name}() takes a number"))),
                };
                from_timestamp(seconds, name.ends_with(".utcfromtimestamp"), span)
            }
            "sa.Column" => Ok(Value::Column(Box::new(column(&args)?))),
            "sa.Sequence" => Ok(Value::Sequence(Box::new(sequence(&args)?))),
            "sa.Identity" => Ok(Value::Identity(Box::new(identity(&args)?))),
            "sa.Computed" => Ok(Value::Computed(Box::new(computed(&args)?))),
            "sa.CreateSchema" => {
                let b = bind_to(&args, "CreateSchema", signature("sa.CreateSchema"))?;
                Ok(Value::Exec(Box::new(Executable::CreateSchema {
                    name: b.req_str(0, "name", "CreateSchema")?,
                    if_not_exists: b.bool(1, "if_not_exists")?.unwrap_or(false),
                })))
            }
            "sa.DropSchema" => {
                let b = bind_to(&args, "DropSchema", signature("sa.DropSchema"))?;
                Ok(Value::Exec(Box::new(Executable::DropSchema {
                    name: b.req_str(0, "name", "DropSchema")?,
                    cascade: b.bool(1, "cascade")?.unwrap_or(false),
                    if_exists: b.bool(2, "if_exists")?.unwrap_or(false),
                })))
            }
            "json.dumps" => {
                // Only Python's defaults (separators ', ' and ': ', ASCII
                // escapes, keys in insertion order); any option is refused.
                let b = bind_to(&args, "dumps", signature("json.dumps"))?;
                let v = b.get(0).cloned().unwrap_or(Value::None);
                match py_json(&v) {
                    Some(text) => Ok(Value::Str(text)),
                    None => Err(problem(
                        b.span_of(0),
                        format!(
                            "TypeError: Object of type {} is not JSON serializable",
                            describe(&v)
                        ),
                    )),
                }
            }
            "sa.CreateSequence" | "sa.DropSequence" => {
                let create = name == "sa.CreateSequence";
                let flag = if create { "if_not_exists" } else { "if_exists" };
                let b = bind_to(&args, name, signature(name))?;
                let sequence = match b.get(0) {
                    Some(Value::Sequence(seq)) => (**seq).clone(),
                    other => {
                        return Err(problem(
                            b.span_of(0),
                            format!(
                                "{}() takes a Sequence, got {}",
                                &name[3..],
                                other.map_or("nothing".to_string(), describe)
                            ),
                        ))
                    }
                };
                let flag = b.bool(1, flag)?.unwrap_or(false);
                Ok(Value::Exec(Box::new(if create {
                    Executable::CreateSequence {
                        sequence,
                        if_not_exists: flag,
                    }
                } else {
                    Executable::DropSequence {
                        sequence,
                        if_exists: flag,
                    }
                })))
            }
            "sa.ForeignKey" => {
                let b = bind_to(&args, "ForeignKey", signature("sa.ForeignKey"))?;
                Ok(Value::ForeignKey(ForeignKey {
                    target: b.req_str(0, "column", "ForeignKey")?,
                    name: b.str(3, "name")?,
                    onupdate: b.str(4, "onupdate")?,
                    ondelete: b.str(5, "ondelete")?,
                }))
            }
            "sa.PrimaryKeyConstraint" | "sa.UniqueConstraint" => {
                let b = bind_to(&args, name, signature("sa.PrimaryKeyConstraint"))?;
                let columns = names_of(&b.rest)?;
                let cname = b.str(0, "name")?;
                let kind = if name == "sa.PrimaryKeyConstraint" {
                    ConstraintKind::PrimaryKey { columns }
                } else {
                    ConstraintKind::Unique {
                        columns,
                        nulls_not_distinct: nulls_not_distinct(&b.extra)?,
                    }
                };
                let mut options = constraint_options(&b.extra, name)?;
                options.deferrable = b.bool(1, "deferrable")?;
                options.initially = b.str(2, "initially")?;
                Ok(Value::Constraint(Box::new(Constraint {
                    name: cname,
                    kind,
                    options: Box::new(options),
                })))
            }
            "sa.ForeignKeyConstraint" => {
                let b = bind_to(
                    &args,
                    "ForeignKeyConstraint",
                    signature("sa.ForeignKeyConstraint"),
                )?;
                let columns = b.str_list(0, "columns")?;
                let refs = b.str_list(1, "refcolumns")?;
                let (ref_schema, ref_table, ref_columns) = split_refs(&refs, b.span_of(1))?;
                let mut options = constraint_options(&b.extra, "ForeignKeyConstraint")?;
                options.match_ = b.str(9, "match")?;
                Ok(Value::Constraint(Box::new(Constraint {
                    name: b.str(2, "name")?,
                    options: Box::new(options),
                    kind: ConstraintKind::ForeignKey {
                        columns,
                        ref_table,
                        ref_schema,
                        ref_columns,
                        onupdate: b.str(3, "onupdate")?,
                        ondelete: b.str(4, "ondelete")?,
                        deferrable: b.bool(5, "deferrable")?,
                        initially: b.str(6, "initially")?,
                    },
                })))
            }
            "sa.CheckConstraint" => {
                let b = bind_to(&args, "CheckConstraint", signature("sa.CheckConstraint"))?;
                let mut options = constraint_options(&b.extra, "CheckConstraint")?;
                options.deferrable = b.bool(2, "deferrable")?;
                options.initially = b.str(3, "initially")?;
                Ok(Value::Constraint(Box::new(Constraint {
                    name: b.str(1, "name")?,
                    options: Box::new(options),
                    kind: ConstraintKind::Check {
                        sqltext: text_of(b.get(0), b.span_of(0))?,
                    },
                })))
            }
            "sa.Index" => {
                let b = bind_to(&args, "Index", signature("sa.Index"))?;
                let mut index = Index {
                    name: b.str(0, "name")?,
                    conv_name: matches!(b.get(0), Some(Value::Conv(_))),
                    table: String::new(),
                    schema: None,
                    expressions: index_exprs(&b.rest)?,
                    unique: b.bool(1, "unique")?.unwrap_or(false),
                    if_not_exists: false,
                    postgresql_where: None,
                    postgresql_using: None,
                    postgresql_concurrently: false,
                    sqlite_where: None,
                    ..Index::default()
                };
                index_dialect_kwargs(&mut index, &b.extra, "sa.Index")?;
                Ok(Value::Index(Box::new(index)))
            }
            "sa.Table" => {
                let b = bind_to(&args, "Table", signature("sa.Table"))?;
                let name = b.req_str(0, "name", "Table")?;
                let mut table = build_table(name, &b.rest, &b.extra, "Table")?;
                if let Some(Value::MetaData { schema, convention }) = b.get(1) {
                    // SQLAlchemy's Table: no schema (or schema=None) takes the MetaData's.
                    if table.schema.is_none() {
                        table.schema = schema.clone();
                    }
                    table.own_naming_convention = *convention;
                }
                Ok(Value::Table(Box::new(table)))
            }
            "sa.MetaData" => {
                let b = bind_to(&args, "MetaData", signature("sa.MetaData"))?;
                Ok(Value::MetaData {
                    schema: b.str(0, "schema")?,
                    convention: !matches!(b.get(1), None | Some(Value::None)),
                })
            }
            "sa.table" => {
                let b = bind_to(&args, "table", signature("sa.table"))?;
                let name = b.req_str(0, "name", "table")?;
                let mut columns = Vec::new();
                for (v, s) in &b.rest {
                    match v {
                        Value::Expr(SqlExpr::Column { name, type_, .. }) => {
                            columns.push((name.clone(), type_.clone()))
                        }
                        other => {
                            return Err(problem(
                                *s,
                                format!("table() takes column() objects, got {}", describe(other)),
                            ))
                        }
                    }
                }
                let mut schema = None;
                for (k, v, s) in &b.extra {
                    match (k.as_str(), v) {
                        ("schema", Value::Str(x)) => schema = Some(x.clone()),
                        ("schema", Value::None) => {}
                        _ => {
                            return Err(problem(
                                *s,
                                format!("table() got an unexpected keyword argument '{k}'"),
                            ))
                        }
                    }
                }
                Ok(Value::TableClause(TableClause {
                    name,
                    schema,
                    columns,
                }))
            }
            "sa.column" => {
                let b = bind_to(&args, "column", signature("sa.column"))?;
                let name = b.req_str(0, "text", "column")?;
                let type_ = match b.get(1) {
                    None | Some(Value::None) => SqlType::Null,
                    Some(v) => as_type(v, b.span_of(1))?,
                };
                Ok(Value::Expr(SqlExpr::Column {
                    table: None,
                    schema: None,
                    name,
                    type_,
                    class: ColumnClass::default(),
                }))
            }
            "sa.text" => {
                let b = bind_to(&args, "text", signature("sa.text"))?;
                Ok(Value::Text(b.req_str(0, "text", "text")?, Vec::new()))
            }
            "sa.literal_column" => {
                let b = bind_to(&args, "literal_column", signature("sa.literal_column"))?;
                Ok(Value::Expr(SqlExpr::Text(b.req_str(
                    0,
                    "text",
                    "literal_column",
                )?)))
            }
            // `and_(a, b, ...)` / `or_(...)`: the clauses joined by the
            // operator (SQLAlchemy's BooleanClauseList, grouped as an
            // AND/OR chain is); without clauses SQLAlchemy deprecates it and
            // renders nothing, which aurora refuses.
            "sa.and_" | "sa.or_" => {
                let b = bind_to(&args, name, signature("sa.and_"))?;
                let op = if name == "sa.and_" { "AND" } else { "OR" };
                let mut clauses = b.rest.into_iter();
                let Some((first, fs)) = clauses.next() else {
                    return Err(problem(
                        span,
                        format!(
                            "{}() without clauses is not supported by aurora",
                            &name[3..]
                        ),
                    ));
                };
                let mut out = as_condition(dml::column_expr(first, fs, &name[3..])?);
                for (v, s) in clauses {
                    out = SqlExpr::Binary {
                        op,
                        left: Box::new(out),
                        right: Box::new(as_condition(dml::column_expr(v, s, &name[3..])?)),
                    };
                }
                Ok(Value::Expr(out))
            }
            "sa.true" | "sa.false" => {
                bind_to(&args, name, signature("sa.true"))?;
                Ok(Value::Expr(SqlExpr::Bool(name == "sa.true")))
            }
            "sa.nulls_first" | "sa.nullsfirst" | "sa.nulls_last" | "sa.nullslast" => {
                let b = bind_to(&args, name, signature("sa.nulls_first"))?;
                let e = match b.get(0) {
                    Some(v @ (Value::Expr(_) | Value::Column(_))) => sql_expr(v.clone(), span)?,
                    Some(other) => {
                        return Err(problem(
                            b.span_of(0),
                            format!(
                                "{name}() takes a column expression here, got {}",
                                describe(other)
                            ),
                        ))
                    }
                    None => {
                        return Err(problem(
                            span,
                            format!("{name}() missing 1 required positional argument: 'column'"),
                        ))
                    }
                };
                nulls_order(name, e, span)
            }
            "sa.null" => {
                bind_to(&args, name, signature("sa.null"))?;
                Ok(Value::Expr(SqlExpr::Null))
            }
            "datetime.date" => {
                let b = bind_to(&args, "date", signature("datetime.date"))?;
                Ok(Value::Literal(Literal::Date(
                    b.int(0, "year")?.unwrap_or(1) as i64,
                    b.int(1, "month")?.unwrap_or(1),
                    b.int(2, "day")?.unwrap_or(1),
                )))
            }
            "datetime.datetime" => {
                let b = bind_to(&args, "datetime", signature("datetime.datetime"))?;
                let fields = (
                    b.int(0, "year")?.unwrap_or(1) as i64,
                    b.int(1, "month")?.unwrap_or(1),
                    b.int(2, "day")?.unwrap_or(1),
                    b.int(3, "hour")?.unwrap_or(0),
                    b.int(4, "minute")?.unwrap_or(0),
                    b.int(5, "second")?.unwrap_or(0),
                    b.int(6, "microsecond")?.unwrap_or(0),
                );
                let (y, mo, d, h, mi, s, us) = fields;
                Ok(Value::Literal(match tz_offset(b.get(7), b.span_of(7))? {
                    None => Literal::DateTime(y, mo, d, h, mi, s, us),
                    Some(offset) => Literal::DateTimeTz(y as i32, mo, d, h, mi, s, us, offset),
                }))
            }
            "datetime.timedelta" => {
                let b = bind_to(&args, "timedelta", signature("datetime.timedelta"))?;
                timedelta(&b, &self.ctx.dialect, args.span)
            }
            "datetime.timezone" => {
                let b = bind_to(&args, "timezone", signature("datetime.timezone"))?;
                match b.get(0) {
                    Some(Value::Literal(Literal::Interval {
                        days,
                        seconds,
                        micros: 0,
                        ..
                    })) if (*days == 0 || *days == -1) => {
                        Ok(Value::TimeZone(days * 86_400 + seconds))
                    }
                    Some(Value::Literal(Literal::Interval { .. })) => Err(problem(
                        b.span_of(0),
                        "ValueError: offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), in whole seconds",
                    )),
                    _ => Err(problem(
                        b.span_of(0),
                        "TypeError: timezone() argument 1 must be datetime.timedelta",
                    )),
                }
            }
            "datetime.time" => {
                let b = bind_to(&args, "time", signature("datetime.time"))?;
                Ok(Value::Literal(Literal::Time(
                    b.int(0, "hour")?.unwrap_or(0),
                    b.int(1, "minute")?.unwrap_or(0),
                    b.int(2, "second")?.unwrap_or(0),
                    b.int(3, "microsecond")?.unwrap_or(0),
                )))
            }
            "uuid.UUID" => {
                let b = bind_to(&args, "UUID", signature("uuid.UUID"))?;
                match b.get(0).and_then(|v| match v {
                    Value::Str(s) => uuid_text(s),
                    _ => None,
                }) {
                    Some(u) => Ok(Value::Literal(Literal::Uuid(u))),
                    None => Err(problem(
                        b.span_of(0),
                        "ValueError: badly formed hexadecimal UUID string",
                    )),
                }
            }
            "decimal.Decimal" => {
                let b = bind_to(&args, "Decimal", signature("decimal.Decimal"))?;
                let text = match b.get(0) {
                    Some(Value::Str(s)) => s.trim().to_string(),
                    Some(Value::Int(i)) => i.to_string(),
                    None => "0".to_string(),
                    Some(other) => {
                        return Err(problem(
                            b.span_of(0),
                            format!("Decimal() of {}", describe(other)),
                        ))
                    }
                };
                Ok(Value::Literal(Literal::Decimal(text)))
            }
            "len" => {
                let b = bind_to(&args, "len", signature("builtins.len"))?;
                match b.get(0) {
                    Some(Value::Str(s)) => Ok(Value::Int(s.chars().count() as i64)),
                    Some(Value::List(x)) | Some(Value::Tuple(x)) => Ok(Value::Int(x.len() as i64)),
                    _ => Err(problem(span, "len() of an unsupported value")),
                }
            }
            "print" => {
                let mut sep = " ".to_string();
                let mut end = "\n".to_string();
                for (k, v, s) in &args.keywords {
                    let slot = match k.as_str() {
                        "sep" => &mut sep,
                        "end" => &mut end,
                        "flush" => continue,
                        _ => {
                            return Err(problem(
                                *s,
                                format!("print() got an unsupported keyword argument '{k}'"),
                            ))
                        }
                    };
                    match v {
                        Value::Str(x) => *slot = x.clone(),
                        Value::None => {}
                        other => {
                            return Err(problem(
                                *s,
                                format!(
                                    "TypeError: {k} must be None or a string, not {}",
                                    describe(other)
                                ),
                            ))
                        }
                    }
                }
                let mut words = Vec::new();
                for (v, s) in &args.positional {
                    words.push(py_text(v, *s)?);
                }
                sink.push(Op::Print(words.join(&sep) + &end));
                Ok(Value::None)
            }
            "str" => {
                let b = bind_to(&args, "str", signature("builtins.str"))?;
                match b.get(0) {
                    Some(v) => Ok(Value::Str(py_text(v, b.span_of(0))?)),
                    None => Ok(Value::Str(String::new())),
                }
            }
            _ => Err(problem(span, format!("unsupported call '{name}'"))),
        }
    }

    fn call_op(
        &mut self,
        op: &str,
        args: Args,
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        let _ = frame;
        let span = args.span;
        let f = format!("op.{op}");
        let f = f.as_str();
        match op {
            "sync_enum_values" => self.sync_enum_values(&args, sink),
            "f" => {
                let b = bind_to(&args, f, signature("op.f"))?;
                let name = b.req_str(0, "name", f)?;
                self.conv_names.insert(name.clone());
                Ok(Value::Conv(name))
            }
            "inline_literal" => {
                let b = bind_to(&args, f, signature("op.inline_literal"))?;
                let v = b.get(0).cloned().unwrap_or(Value::None);
                Ok(Value::Expr(SqlExpr::InlineLiteral(literal(
                    &v,
                    b.span_of(0),
                )?)))
            }
            "get_bind" => {
                bind_to(&args, f, signature("op.get_bind"))?;
                Ok(Value::Bind)
            }
            "get_context" => {
                bind_to(&args, f, signature("op.get_context"))?;
                Ok(Value::Context)
            }
            "batch_alter_table" => {
                let sig = signature("op.batch_alter_table");
                let b = bind_to(&args, f, sig)?;
                let recreate = b.str(2, "recreate")?.unwrap_or_else(|| "auto".into());
                if !matches!(recreate.as_str(), "auto" | "always" | "never") {
                    return Err(problem(
                        b.span_of(2),
                        "recreate must be 'auto', 'always' or 'never'",
                    ));
                }
                // The options that shape only the recreated ("move and copy")
                // table. On PostgreSQL a batch recreates only with
                // `recreate='always'`, so without it they change nothing. The
                // reflection options (`naming_convention`, `reflect_args`,
                // `reflect_kwargs`) matter only when the table is reflected,
                // which a `--sql` run never does (Alembic then needs
                // `copy_from=` and ignores them, or stops). Anywhere else
                // they are refused rather than ignored.
                let never_recreates = self.ctx.dialect == "postgresql" && recreate != "always";
                let mut refused: Vec<&str> = Vec::new();
                if !never_recreates {
                    refused.extend(["partial_reordering", "table_args", "table_kwargs"]);
                    if !self.ctx.offline {
                        refused.extend(["naming_convention", "reflect_args", "reflect_kwargs"]);
                    }
                }
                refuse_unsupported(&b, sig.params, f, &refused)?;
                let copy_from = match b.get(4) {
                    None | Some(Value::None) => None,
                    Some(Value::Table(t)) => Some((**t).clone()),
                    Some(other) => {
                        return Err(problem(
                            b.span_of(4),
                            format!("copy_from takes a Table, got {}", describe(other)),
                        ))
                    }
                };
                Ok(Value::BatchContext(Box::new(Batch {
                    table: b.req_str(0, "table_name", f)?,
                    schema: b.str(1, "schema")?,
                    recreate,
                    copy_from,
                    ops: Vec::new(),
                })))
            }
            "execute" => {
                let b = bind_to(&args, f, signature("op.execute"))?;
                sink.push(Op::Execute(executable(b.get(0), b.span_of(0))?));
                Ok(Value::None)
            }
            "bulk_insert" => {
                let b = bind_to(&args, f, signature("op.bulk_insert"))?;
                let table = match b.get(0) {
                    Some(Value::TableClause(t)) => t.clone(),
                    Some(Value::Table(t)) => table_clause(t),
                    _ => return Err(problem(b.span_of(0), "bulk_insert() takes a table")),
                };
                let mut rows = Vec::new();
                match b.get(1) {
                    Some(Value::List(xs)) | Some(Value::Tuple(xs)) => {
                        for x in xs {
                            let Value::Dict(kv) = x else {
                                return Err(problem(
                                    b.span_of(1),
                                    "bulk_insert() rows must be dicts",
                                ));
                            };
                            let mut row = Vec::new();
                            for (k, v) in kv {
                                let Value::Str(k) = k else {
                                    return Err(problem(
                                        b.span_of(1),
                                        "row keys must be column names",
                                    ));
                                };
                                let ty = table.columns.iter().find(|(c, _)| c == k).map(|c| &c.1);
                                row.push((k.clone(), bound_literal(v, ty, b.span_of(1))?));
                            }
                            rows.push(row);
                        }
                    }
                    _ => return Err(problem(b.span_of(1), "bulk_insert() takes a list of rows")),
                }
                sink.push(Op::BulkInsert {
                    table,
                    rows,
                    multiinsert: b.bool(2, "multiinsert")?.unwrap_or(true),
                });
                Ok(Value::None)
            }
            _ => {
                // Table-bound operations share their shapes with batch_op.
                let o = table_op(op, None, None, &args, f, self.sql_dialect())?;
                match o {
                    // `op.create_table` returns the Table it made (for
                    // `op.bulk_insert`); the other operations return None.
                    Some(Op::CreateTable(t)) => {
                        sink.push(Op::CreateTable(t.clone()));
                        Ok(Value::Table(Box::new(t)))
                    }
                    Some(o) => {
                        sink.push(o);
                        Ok(Value::None)
                    }
                    None => Err(problem(span, format!("unsupported operation '{f}'"))),
                }
            }
        }
    }

    fn batch_op(
        &mut self,
        m: &str,
        table: String,
        schema: Option<String>,
        args: Args,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        let f = format!("batch_op.{m}");
        match m {
            "f" => {
                let b = bind_to(&args, &f, signature("op.f"))?;
                let name = b.req_str(0, "name", &f)?;
                // Final under a naming convention, as `op.f` is.
                self.conv_names.insert(name.clone());
                Ok(Value::Str(name))
            }
            "execute" => {
                let b = bind_to(&args, &f, signature("op.execute"))?;
                sink.push(Op::Execute(executable(b.get(0), b.span_of(0))?));
                Ok(Value::None)
            }
            _ => match table_op(m, Some(table), schema, &args, &f, self.sql_dialect())? {
                Some(o) => {
                    sink.push(o);
                    Ok(Value::None)
                }
                None => Err(problem(args.span, format!("unsupported operation '{f}'"))),
            },
        }
    }
}

/// One function of the library layer, as the evaluator binds its arguments.
struct Signature {
    /// The canonical call path (`op.add_column`; `batch_op.*` share `op.*`;
    /// type classes are `type.<class name>`, whichever module they come from).
    path: &'static str,
    /// Parameters in order, positional or keyword (in batch mode the table
    /// name and schema are left out: they come from the block).
    params: &'static [&'static str],
    /// Accepts `*args`: positional arguments beyond `params`.
    rest: bool,
    /// Accepts `**kwargs`: keywords not in `params` (dialect options).
    extra: bool,
    /// Parameters Alembic has that aurora refuses when given.
    unsupported: &'static [&'static str],
}

/// The operations' signatures: a new operation is one row here plus its
/// lowering (in [`table_op`] for the operations on a table).
static SIGNATURES: &[Signature] = &[
    Signature {
        path: "op.f",
        params: &["name"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.inline_literal",
        params: &["value", "type_"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.get_bind",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.get_context",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.batch_alter_table",
        params: &[
            "table_name",
            "schema",
            "recreate",
            "partial_reordering",
            "copy_from",
            "table_args",
            "table_kwargs",
            "reflect_args",
            "reflect_kwargs",
            "naming_convention",
        ],
        rest: false,
        extra: false,
        // Each of the other options changes the recreated table (its extra
        // columns and constraints, its dialect options, the reflected
        // columns, the names of its unnamed constraints): the
        // `batch_alter_table` arm refuses them where a batch may recreate.
        unsupported: &[],
    },
    Signature {
        path: "op.execute",
        params: &["sqltext", "execution_options"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.bulk_insert",
        params: &["table", "rows", "multiinsert"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.add_column",
        params: &[
            "table_name",
            "column",
            "schema",
            "insert_before",
            "insert_after",
            "if_not_exists",
        ],
        rest: false,
        extra: false,
        unsupported: &["insert_before", "insert_after"],
    },
    Signature {
        path: "op.drop_column",
        params: &["table_name", "column_name", "schema", "if_exists"],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.alter_column",
        params: &[
            "table_name",
            "column_name",
            "nullable",
            "comment",
            "server_default",
            "new_column_name",
            "type_",
            "existing_type",
            "existing_server_default",
            "existing_nullable",
            "existing_comment",
            "schema",
            "autoincrement",
            "postgresql_using",
            "insert_before",
            "insert_after",
        ],
        rest: false,
        extra: true,
        unsupported: &["insert_before", "insert_after"],
    },
    Signature {
        path: "op.create_index",
        params: &[
            "index_name",
            "table_name",
            "columns",
            "schema",
            "unique",
            "if_not_exists",
        ],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.drop_index",
        params: &["index_name", "table_name", "schema", "if_exists"],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.create_primary_key",
        params: &[
            "constraint_name",
            "table_name",
            "columns",
            "schema",
            "deferrable",
            "initially",
        ],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.create_unique_constraint",
        params: &[
            "constraint_name",
            "table_name",
            "columns",
            "schema",
            "deferrable",
            "initially",
        ],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.create_check_constraint",
        params: &["constraint_name", "table_name", "condition", "schema"],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.create_foreign_key",
        params: &[
            "constraint_name",
            "source_table",
            "referent_table",
            "local_cols",
            "remote_cols",
            "onupdate",
            "ondelete",
            "deferrable",
            "initially",
            "match",
            "source_schema",
            "referent_schema",
        ],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.drop_constraint",
        params: &[
            "constraint_name",
            "table_name",
            "type_",
            "schema",
            "if_exists",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.create_table_comment",
        params: &["table_name", "comment", "existing_comment", "schema"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.drop_table_comment",
        params: &["table_name", "existing_comment", "schema"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "op.create_table",
        params: &["table_name"],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.drop_table",
        params: &["table_name", "schema", "if_exists"],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "op.rename_table",
        params: &["old_table_name", "new_table_name", "schema"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    // Type classes (`sa.`, `postgresql.` or `sqlite.` module), by class name.
    Signature {
        path: "type.Integer",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INTEGER",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INT",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.BigInteger",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.BIGINT",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.SmallInteger",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.SMALLINT",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.CLOB",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DECIMAL",
        params: &["precision", "scale", "decimal_return_scale", "asdecimal"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.PickleType",
        params: &["protocol", "pickler", "comparator"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.String",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Unicode",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.VARCHAR",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.CHAR",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Text",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.UnicodeText",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TEXT",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Boolean",
        params: &["create_constraint", "name"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.BOOLEAN",
        params: &["create_constraint", "name"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DateTime",
        params: &["timezone"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DATETIME",
        params: &["timezone"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TIMESTAMP",
        params: &["timezone", "precision"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Date",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DATE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Time",
        params: &["timezone", "precision"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TIME",
        params: &["timezone", "precision"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Float",
        params: &["precision", "asdecimal", "decimal_return_scale"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.FLOAT",
        params: &["precision", "asdecimal", "decimal_return_scale"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Double",
        params: &["precision", "asdecimal", "decimal_return_scale"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.REAL",
        params: &["precision", "asdecimal", "decimal_return_scale"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DOUBLE",
        params: &["precision", "asdecimal", "decimal_return_scale"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DOUBLE_PRECISION",
        params: &["precision", "asdecimal", "decimal_return_scale"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Numeric",
        params: &["precision", "scale", "decimal_return_scale", "asdecimal"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.NUMERIC",
        params: &["precision", "scale", "decimal_return_scale", "asdecimal"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.JSON",
        params: &["none_as_null", "astext_type"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.JSONB",
        params: &["none_as_null", "astext_type"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.LargeBinary",
        params: &["length"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.BLOB",
        params: &["length"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Uuid",
        params: &["as_uuid", "native_uuid"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.UUID",
        params: &["as_uuid"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Interval",
        params: &["native", "second_precision", "day_precision"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INTERVAL",
        params: &["precision", "fields"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.ARRAY",
        params: &["item_type", "as_tuple", "dimensions", "zero_indexes"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.Enum",
        params: &[
            "name",
            "schema",
            "native_enum",
            "create_type",
            "length",
            "create_constraint",
            "metadata",
            "inherit_schema",
            "validate_strings",
            "values_callable",
            "quote",
            "_create_events",
        ],
        rest: true,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.ENUM",
        params: &[
            "name",
            "schema",
            "native_enum",
            "create_type",
            "length",
            "create_constraint",
            "metadata",
            "inherit_schema",
            "validate_strings",
            "values_callable",
            "quote",
            "_create_events",
        ],
        rest: true,
        extra: false,
        unsupported: &[],
    },
    // Library constructors and functions, by canonical path (an alias,
    // such as `sa.false`, shares the row of the path it is written beside).
    Signature {
        path: "alembic.context.is_offline_mode",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "datetime.datetime.utcfromtimestamp",
        params: &["timestamp"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.CreateSchema",
        params: &["name", "if_not_exists"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.DropSchema",
        params: &["name", "cascade", "if_exists"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.ForeignKey",
        params: &[
            "column",
            "_constraint",
            "use_alter",
            "name",
            "onupdate",
            "ondelete",
            "deferrable",
            "initially",
            "link_to_name",
            "match",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.PrimaryKeyConstraint",
        params: &["name", "deferrable", "initially"],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "sa.ForeignKeyConstraint",
        params: &[
            "columns",
            "refcolumns",
            "name",
            "onupdate",
            "ondelete",
            "deferrable",
            "initially",
            "use_alter",
            "link_to_name",
            "match",
        ],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "sa.CheckConstraint",
        params: &["sqltext", "name", "deferrable", "initially"],
        rest: false,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "sa.Index",
        params: &["name", "unique", "quote", "info", "_table", "_column_flag"],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "sa.Table",
        params: &["name", "metadata"],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "sa.MetaData",
        params: &["schema", "naming_convention"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.table",
        params: &["name"],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "sa.column",
        params: &["text", "type_", "is_literal"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.text",
        params: &["text"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.literal_column",
        params: &["text", "type_"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.true",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.and_",
        params: &[],
        rest: true,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.nulls_first",
        params: &["column"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.null",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "datetime.date",
        params: &["year", "month", "day"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "datetime.datetime",
        params: &[
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
            "microsecond",
            "tzinfo",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "datetime.timedelta",
        params: &[
            "days",
            "seconds",
            "microseconds",
            "milliseconds",
            "minutes",
            "hours",
            "weeks",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "datetime.timezone",
        params: &["offset"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "datetime.time",
        params: &["hour", "minute", "second", "microsecond"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "uuid.UUID",
        params: &["hex"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "decimal.Decimal",
        params: &["value"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    // Methods (by receiver class), builtins and the PostgreSQL-only types.
    Signature {
        path: "MigrationContext.autocommit_block",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "Connection.execute",
        params: &["statement", "parameters"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.Enum.create",
        params: &["bind", "checkfirst"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.Enum.drop",
        params: &["bind", "checkfirst"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "TextClause.bindparams",
        params: &[],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "Table.create",
        params: &["bind", "checkfirst"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnElement.desc",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnOperators.is_",
        params: &["other"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnOperators.like",
        params: &["other", "escape"],
        rest: false,
        extra: false,
        unsupported: &["escape"],
    },
    Signature {
        path: "ColumnOperators.in_",
        params: &["other"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "Column.copy",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.func",
        params: &[],
        rest: true,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "json.dumps",
        params: &["obj"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.CreateSequence",
        params: &["element", "if_not_exists"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.DropSequence",
        params: &["element", "if_exists"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "builtins.len",
        params: &["obj"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "builtins.str",
        params: &["object"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.Column",
        params: &[],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "sa.Computed",
        params: &["sqltext", "persisted"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.Identity",
        params: &[
            "always",
            "on_null",
            "start",
            "increment",
            "minvalue",
            "maxvalue",
            "nominvalue",
            "nomaxvalue",
            "cycle",
            "cache",
            "order",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.Sequence",
        params: &[
            "name",
            "start",
            "increment",
            "minvalue",
            "maxvalue",
            "nominvalue",
            "nomaxvalue",
            "cycle",
            "schema",
            "cache",
            "order",
            "data_type",
            "optional",
            "quote",
            "metadata",
            "quote_schema",
            "for_update",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.MACADDR",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.MACADDR8",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INET",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.CIDR",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.CITEXT",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.MONEY",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.OID",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.REGCLASS",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.REGCONFIG",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TSQUERY",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TSVECTOR",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.HSTORE",
        params: &["text_type"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.JSONPATH",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INT4RANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INT8RANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.NUMRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DATERANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TSRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TSTZRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INT4MULTIRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.INT8MULTIRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.NUMMULTIRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DATEMULTIRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TSMULTIRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.TSTZMULTIRANGE",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.BYTEA",
        params: &["length"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.BIT",
        params: &["length", "varying"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.NVARCHAR",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.NCHAR",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.BINARY",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.VARBINARY",
        params: &["length", "collation"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "type.DOMAIN",
        params: &[
            "name",
            "data_type",
            "collation",
            "default",
            "constraint_name",
            "not_null",
            "check",
            "create_type",
            "schema",
            "metadata",
            "inherit_schema",
            "quote",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    // The alembic-postgresql-enum plugin (`eval/plugins.rs`).
    Signature {
        path: "op.sync_enum_values",
        params: &[
            "enum_schema",
            "enum_name",
            "new_values",
            "affected_columns",
            "enum_values_to_rename",
            "indexes_to_recreate",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "alembic_postgresql_enum.TableReference",
        params: &[
            "table_name",
            "column_name",
            "table_schema",
            "column_type",
            "existing_server_default",
        ],
        rest: false,
        extra: false,
        unsupported: &[],
    },
];

/// Binds `args` to `signature` (`func` names the call in messages) and
/// refuses its unsupported keywords.
/// A string type's `collation=` (its second parameter): SQLAlchemy renders
/// `COLLATE "name"` after the type, which aurora's types do not carry, so it
/// stops rather than drop the collation.
fn refuse_collation(b: &Bound, type_name: &str) -> EResult<()> {
    match b.get(1) {
        None | Some(Value::None) => Ok(()),
        Some(_) => Err(problem(
            b.span_of(1),
            format!(
                "{type_name}(collation=...): aurora does not render a column collation; \
                 drop collation= and set it with op.execute(\"ALTER TABLE ... ALTER COLUMN ... \
                 TYPE ... COLLATE ...\")"
            ),
        )),
    }
}

fn bind_to(args: &Args, func: &str, signature: &Signature) -> EResult<Bound> {
    let b = bind(
        args,
        func,
        signature.params,
        signature.rest,
        signature.extra,
    )?;
    refuse_unsupported(&b, signature.params, func, signature.unsupported)?;
    Ok(b)
}

/// The row of [`SIGNATURES`] for `path`.
fn signature(path: &str) -> &'static Signature {
    SIGNATURES
        .iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("no signature for {path}"))
}

/// Operations that act on a table: with `batch` set, the table name and
/// schema come from the batch block and are not arguments.
fn table_op(
    op: &str,
    batch: Option<String>,
    batch_schema: Option<String>,
    args: &Args,
    f: &str,
    dialect: crate::sql::Dialect,
) -> EResult<Option<Op>> {
    let in_batch = batch.is_some();
    // The signature, with `table_name` left out in batch mode.
    let sig = |names: &[&'static str]| -> Vec<&'static str> {
        names
            .iter()
            .copied()
            .filter(|n| {
                !(in_batch
                    && (*n == "table_name"
                        || *n == "schema"
                        || *n == "source"
                        || *n == "source_table"))
            })
            .collect()
    };
    let table_of = |b: &Bound, idx: Option<usize>| -> EResult<String> {
        match (&batch, idx) {
            (Some(t), _) => Ok(t.clone()),
            (None, Some(i)) => b.req_str(i, "table_name", f),
            (None, None) => Err(problem(b.span, "no table")),
        }
    };
    let pos = |names: &[&str], n: &str| names.iter().position(|x| *x == n);
    let schema_of = |b: &Bound, names: &[&str]| -> EResult<Option<String>> {
        if in_batch {
            Ok(batch_schema.clone())
        } else {
            pos(names, "schema")
                .map(|i| b.str(i, "schema"))
                .unwrap_or(Ok(None))
        }
    };
    let o = match op {
        "create_table" if !in_batch => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let name = b.req_str(0, "table_name", f)?;
            Op::CreateTable(build_table(name, &b.rest, &b.extra, f)?)
        }
        "drop_table" if !in_batch => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            Op::DropTable {
                name: b.req_str(0, "table_name", f)?,
                schema: b.str(1, "schema")?,
                if_exists: b.bool(2, "if_exists")?.unwrap_or(false),
            }
        }
        "add_column" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let ci = pos(&names, "column").expect("column");
            let table = table_of(&b, pos(&names, "table_name"))?;
            let column = match b.get(ci) {
                Some(Value::Column(c)) => (**c).clone(),
                _ => return Err(problem(b.span_of(ci), format!("{f}() takes a Column"))),
            };
            Op::AddColumn {
                table,
                schema: schema_of(&b, &names)?,
                column,
                if_not_exists: b
                    .bool(pos(&names, "if_not_exists").expect("i"), "if_not_exists")?
                    .unwrap_or(false),
            }
        }
        "drop_column" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            Op::DropColumn {
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
                column: b.req_str(pos(&names, "column_name").expect("c"), "column_name", f)?,
                if_exists: b
                    .bool(pos(&names, "if_exists").expect("i"), "if_exists")?
                    .unwrap_or(false),
            }
        }
        "alter_column" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let i = |n: &str| pos(&names, n).expect("param");
            let type_at = |n: &str| -> EResult<Option<SqlType>> {
                match b.get(i(n)) {
                    None | Some(Value::None) => Ok(None),
                    Some(v) => {
                        let t = as_type(v, b.span_of(i(n)))?;
                        Ok(Some(t))
                    }
                }
            };
            let server_default = match b.get(i("server_default")) {
                None | Some(Value::Bool(false)) => None,
                Some(Value::None) => Some(None),
                Some(v) => Some(Some(default_value(v, b.span_of(i("server_default")))?)),
            };
            let existing_server_default = match b.get(i("existing_server_default")) {
                None | Some(Value::Bool(false)) | Some(Value::None) => None,
                Some(v) => Some(default_value(v, b.span_of(i("existing_server_default")))?),
            };
            let comment = match b.get(i("comment")) {
                None | Some(Value::Bool(false)) => None,
                Some(Value::None) => Some(None),
                Some(Value::Str(s)) => Some(Some(s.clone())),
                Some(_) => {
                    return Err(problem(b.span_of(i("comment")), "comment must be a string"))
                }
            };
            Op::AlterColumn(AlterColumn {
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
                column: b.req_str(i("column_name"), "column_name", f)?,
                nullable: b.bool(i("nullable"), "nullable")?,
                server_default,
                new_column_name: b.str(i("new_column_name"), "new_column_name")?,
                type_: type_at("type_")?,
                comment,
                autoincrement: b.bool(i("autoincrement"), "autoincrement")?,
                existing_type: type_at("existing_type")?,
                existing_server_default,
                existing_nullable: b.bool(i("existing_nullable"), "existing_nullable")?,
                existing_comment: b.str(i("existing_comment"), "existing_comment")?,
                postgresql_using: b.str(i("postgresql_using"), "postgresql_using")?,
            })
        }
        "create_index" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let ci = pos(&names, "columns").expect("columns");
            let cols = match b.get(ci) {
                Some(Value::List(xs)) | Some(Value::Tuple(xs)) => {
                    xs.iter().map(|x| (x.clone(), b.span_of(ci))).collect()
                }
                Some(v) => vec![(v.clone(), b.span_of(ci))],
                None => {
                    return Err(problem(
                        b.span,
                        format!("{f}() missing required argument 'columns'"),
                    ))
                }
            };
            let mut index = Index {
                name: b.str(0, "index_name")?,
                conv_name: matches!(b.get(0), Some(Value::Conv(_))),
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
                expressions: index_exprs(&cols)?,
                unique: b
                    .bool(pos(&names, "unique").expect("u"), "unique")?
                    .unwrap_or(false),
                if_not_exists: b
                    .bool(pos(&names, "if_not_exists").expect("i"), "if_not_exists")?
                    .unwrap_or(false),
                postgresql_where: None,
                postgresql_using: None,
                postgresql_concurrently: false,
                sqlite_where: None,
                ..Index::default()
            };
            index_dialect_kwargs(&mut index, &b.extra, f)?;
            default_index_name(&mut index, b.span)?;
            Op::CreateIndex(index)
        }
        "drop_index" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let mut concurrently = false;
            for (k, v, s) in &b.extra {
                match k.as_str() {
                    "postgresql_concurrently" => concurrently = truthy(v, *s)?,
                    k if k.starts_with("postgresql_") || k.starts_with("sqlite_") => {}
                    _ => {
                        return Err(problem(
                            *s,
                            format!("{f}() got an unexpected keyword argument '{k}'"),
                        ))
                    }
                }
            }
            let table = match &batch {
                Some(t) => Some(t.clone()),
                None => b.str(1, "table_name")?,
            };
            Op::DropIndex {
                name: b.req_str(0, "index_name", f)?,
                conv_name: matches!(b.get(0), Some(Value::Conv(_))),
                table,
                schema: schema_of(&b, &names)?,
                if_exists: b
                    .bool(pos(&names, "if_exists").expect("i"), "if_exists")?
                    .unwrap_or(false),
                concurrently,
            }
        }
        "create_primary_key" | "create_unique_constraint" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let columns = b.str_list(pos(&names, "columns").expect("c"), "columns")?;
            let kind = if op == "create_primary_key" {
                ConstraintKind::PrimaryKey { columns }
            } else {
                ConstraintKind::Unique {
                    columns,
                    nulls_not_distinct: nulls_not_distinct(&b.extra)?,
                }
            };
            let mut options = constraint_options(&b.extra, f)?;
            options.deferrable = b.bool(pos(&names, "deferrable").expect("d"), "deferrable")?;
            options.initially = b.str(pos(&names, "initially").expect("i"), "initially")?;
            Op::AddConstraint {
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
                constraint: Constraint {
                    name: b.str(0, "constraint_name")?,
                    options: Box::new(options),
                    kind,
                },
            }
        }
        "create_check_constraint" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let ci = pos(&names, "condition").expect("c");
            let options = constraint_options(&b.extra, f)?;
            Op::AddConstraint {
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
                constraint: Constraint {
                    name: b.str(0, "constraint_name")?,
                    options: Box::new(options),
                    kind: ConstraintKind::Check {
                        // An expression compiles as SQLAlchemy's DDL
                        // compiler does: literal binds, no table names.
                        sqltext: match b.get(ci) {
                            Some(Value::Expr(e)) => crate::sql::check_expression(e, dialect),
                            v => text_of(v, b.span_of(ci))?,
                        },
                    },
                },
            }
        }
        "create_foreign_key" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            let i = |n: &str| pos(&names, n).expect("param");
            let table = match &batch {
                Some(t) => t.clone(),
                None => b.req_str(1, "source_table", f)?,
            };
            let mut options = constraint_options(&b.extra, f)?;
            options.match_ = b.str(i("match"), "match")?;
            Op::AddConstraint {
                table,
                schema: if in_batch {
                    batch_schema.clone()
                } else {
                    b.str(i("source_schema"), "source_schema")?
                },
                constraint: Constraint {
                    name: b.str(0, "constraint_name")?,
                    options: Box::new(options),
                    kind: ConstraintKind::ForeignKey {
                        columns: b.str_list(i("local_cols"), "local_cols")?,
                        ref_table: b.req_str(i("referent_table"), "referent_table", f)?,
                        ref_schema: b.str(i("referent_schema"), "referent_schema")?,
                        ref_columns: b.str_list(i("remote_cols"), "remote_cols")?,
                        onupdate: b.str(i("onupdate"), "onupdate")?,
                        ondelete: b.str(i("ondelete"), "ondelete")?,
                        deferrable: b.bool(i("deferrable"), "deferrable")?,
                        initially: b.str(i("initially"), "initially")?,
                    },
                },
            }
        }
        "drop_constraint" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            if b.get(0).is_none() {
                return Err(problem(
                    b.span,
                    format!("{f}() missing required argument 'constraint_name'"),
                ));
            }
            Op::DropConstraint {
                name: b.str(0, "constraint_name")?,
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
                type_: b.str(pos(&names, "type_").expect("t"), "type_")?,
                if_exists: b
                    .bool(pos(&names, "if_exists").expect("if_exists"), "if_exists")?
                    .unwrap_or(false),
            }
        }
        "rename_table" if !in_batch => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            Op::RenameTable {
                old: b.req_str(0, "old_table_name", f)?,
                new: b.req_str(1, "new_table_name", f)?,
                schema: b.str(2, "schema")?,
            }
        }
        "create_table_comment" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            Op::CreateTableComment {
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
                comment: b.req_str(pos(&names, "comment").expect("c"), "comment", f)?,
            }
        }
        "drop_table_comment" => {
            let s = signature(&format!("op.{op}"));
            let names = sig(s.params);
            let b = bind(args, f, &names, s.rest, s.extra)?;
            refuse_unsupported(&b, &names, f, s.unsupported)?;
            Op::DropTableComment {
                table: table_of(&b, pos(&names, "table_name"))?,
                schema: schema_of(&b, &names)?,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(o))
}

/// Binds call arguments to parameter names. `rest` collects surplus
/// positionals; `extra` accepts unknown keywords (dialect options and the
/// like) instead of reporting them.
fn bind(args: &Args, func: &str, params: &[&str], rest: bool, extra: bool) -> EResult<Bound> {
    let mut values: Vec<Option<(Value, Span)>> = vec![None; params.len()];
    let mut surplus = Vec::new();
    for (i, (v, s)) in args.positional.iter().enumerate() {
        if i < params.len() && !rest {
            values[i] = Some((v.clone(), *s));
        } else if rest {
            surplus.push((v.clone(), *s));
        } else {
            return Err(problem(
                *s,
                format!(
                    "{func}() takes at most {} positional arguments",
                    params.len()
                ),
            ));
        }
    }
    // With `rest`, the leading positionals still fill the first parameters
    // that the caller is known to pass positionally (a name).
    if rest && !params.is_empty() && !surplus.is_empty() {
        let first_is_named = args.keywords.iter().any(|(k, _, _)| k == params[0]);
        if !first_is_named
            && matches!(params[0], "name" | "table_name" | "text")
            && !matches!(func, "sa.PrimaryKeyConstraint" | "sa.UniqueConstraint")
        {
            values[0] = Some(surplus.remove(0));
        }
        if params.len() > 1 && params[1] == "metadata" && !surplus.is_empty() {
            values[1] = Some(surplus.remove(0));
        }
    }
    let mut extras = Vec::new();
    for (k, v, s) in &args.keywords {
        match params.iter().position(|p| p == k) {
            Some(i) => {
                if values[i].is_some() {
                    return Err(problem(
                        *s,
                        format!("{func}() got multiple values for argument '{k}'"),
                    ));
                }
                values[i] = Some((v.clone(), *s));
            }
            None if extra => extras.push((k.clone(), v.clone(), *s)),
            None => {
                return Err(problem(
                    *s,
                    format!("{func}() got an unexpected keyword argument '{k}'"),
                ))
            }
        }
    }
    Ok(Bound {
        values,
        rest: surplus,
        extra: extras,
        span: args.span,
    })
}

fn column(args: &Args) -> EResult<Column> {
    let b = bind_to(args, "sa.Column", signature("sa.Column"))?;
    let mut it = b.rest.into_iter().peekable();
    let mut name = None;
    if let Some((Value::Str(_), _)) = it.peek() {
        if let Some((Value::Str(s), _)) = it.next() {
            name = Some(s);
        }
    }
    let mut type_ = None;
    let mut foreign_keys = Vec::new();
    let mut checks = Vec::new();
    let mut default = None;
    let mut identity = None;
    for (v, s) in it {
        match v {
            Value::ForeignKey(fk) => foreign_keys.push(fk),
            Value::Sequence(seq) => default = Some(PythonDefault::Sequence(seq)),
            Value::Identity(i) => identity = Some(Box::new(Generated::Identity(*i))),
            Value::Computed(c) => identity = Some(Box::new(Generated::Computed(*c))),
            Value::Constraint(c) if matches!(c.kind, ConstraintKind::Check { .. }) => {
                checks.push(*c)
            }
            Value::Type(_) | Value::Path(_) | Value::DialectImplClass(_) if type_.is_none() => {
                type_ = Some(as_type(&v, s)?)
            }
            other => {
                return Err(problem(
                    s,
                    format!("Column() does not take {}", describe(&other)),
                ))
            }
        }
    }
    let mut c = Column {
        name: String::new(),
        type_: type_.unwrap_or(SqlType::Null),
        nullable: None,
        primary_key: false,
        server_default: None,
        autoincrement: None,
        autoincrement_ignore_fk: false,
        comment: None,
        unique: false,
        index: false,
        foreign_keys,
        checks,
        default,
        identity,
    };
    for (k, v, s) in b.extra {
        let as_bool = |v: &Value| -> EResult<bool> {
            match v {
                Value::Bool(x) => Ok(*x),
                Value::None => Ok(false),
                _ => Err(problem(s, format!("'{k}' must be True or False"))),
            }
        };
        match k.as_str() {
            "name" => match v {
                Value::Str(x) => name = Some(x),
                _ => return Err(problem(s, "'name' must be a string")),
            },
            "type_" => c.type_ = as_type(&v, s)?,
            "nullable" => {
                c.nullable = if v == Value::None {
                    None
                } else {
                    Some(as_bool(&v)?)
                }
            }
            "primary_key" => c.primary_key = as_bool(&v)?,
            "unique" => c.unique = as_bool(&v)?,
            "index" => c.index = as_bool(&v)?,
            "server_default" => {
                c.server_default = match v {
                    Value::None => None,
                    v => Some(default_value(&v, s)?),
                }
            }
            "autoincrement" => {
                c.autoincrement = match v {
                    Value::Bool(x) => Some(x),
                    Value::Str(a) if a == "auto" => None,
                    Value::Str(a) if a == "ignore_fk" => {
                        c.autoincrement_ignore_fk = true;
                        None
                    }
                    _ => {
                        return Err(problem(
                            s,
                            "autoincrement must be True, False, 'auto' or 'ignore_fk'",
                        ))
                    }
                }
            }
            "comment" => {
                c.comment = match v {
                    Value::Str(x) => Some(x),
                    Value::None => None,
                    _ => return Err(problem(s, "comment must be a string")),
                }
            }
            "default" => {
                c.default = match v {
                    Value::None => None,
                    Value::Sequence(seq) => Some(PythonDefault::Sequence(seq)),
                    _ => Some(PythonDefault::Other),
                }
            }
            "onupdate" | "doc" | "key" | "info" | "quote" | "system" | "server_onupdate" => {}
            k if k.starts_with("sqlite_") || k.starts_with("postgresql_") => {}
            _ => {
                return Err(problem(
                    s,
                    format!("Column() got an unexpected keyword argument '{k}'"),
                ))
            }
        }
    }
    c.name = name.ok_or_else(|| problem(b.span, "Column() needs a name"))?;
    Ok(c)
}

/// `sa.Sequence(name, start=..., ...)`.
/// `sa.Identity(always, on_null, start, increment, minvalue, maxvalue,
/// nominvalue, nomaxvalue, cycle, cache, order)`; `on_null` and `order`
/// render only on Oracle and are refused rather than dropped.
fn identity(args: &Args) -> EResult<Identity> {
    let signature = signature("sa.Identity");
    let b = bind_to(args, "Identity", signature)?;
    let int = |i: usize| b.signed_int(i, "Identity", signature.params[i]);
    for i in [1, 10] {
        if !matches!(b.get(i), None | Some(Value::None)) {
            return Err(problem(
                b.span_of(i),
                format!(
                    "Identity({}=...) renders only on Oracle; aurora does not support it",
                    signature.params[i]
                ),
            ));
        }
    }
    let given = |i: usize| b.given(i);
    Ok(Identity {
        always: b.bool(0, "always")?.unwrap_or(false),
        options: Sequence {
            start: int(2)?,
            increment: int(3)?,
            minvalue: int(4)?,
            maxvalue: int(5)?,
            nominvalue: given(6),
            nomaxvalue: given(7),
            cycle: b.bool(8, "cycle")?,
            cache: int(9)?,
            ..Sequence::default()
        },
    })
}

/// `sa.Computed(sqltext, persisted=None)`: the SQL text as a string or
/// `sa.text(...)`.
fn computed(args: &Args) -> EResult<Computed> {
    let b = bind_to(args, "Computed", signature("sa.Computed"))?;
    let sqltext = match b.get(0) {
        Some(Value::Str(s)) => s.clone(),
        Some(Value::Text(s, binds)) if binds.is_empty() => s.clone(),
        Some(_) => {
            return Err(problem(
                b.span_of(0),
                "Computed() takes its SQL as a string or sa.text(...) here; write the \
                 expression as SQL text",
            ))
        }
        None => {
            return Err(problem(
                b.span,
                "Computed() missing 1 required positional argument: 'sqltext'",
            ))
        }
    };
    let persisted = match b.get(1) {
        None | Some(Value::None) => None,
        Some(Value::Bool(x)) => Some(*x),
        Some(_) => {
            return Err(problem(
                b.span_of(1),
                "persisted must be True, False or None",
            ))
        }
    };
    Ok(Computed { sqltext, persisted })
}

fn sequence(args: &Args) -> EResult<Sequence> {
    let signature = signature("sa.Sequence");
    let b = bind_to(args, "Sequence", signature)?;
    let int = |i: usize| b.signed_int(i, "Sequence", signature.params[i]);
    // `order` only renders on Oracle; refused rather than dropped.
    if !matches!(b.get(10), None | Some(Value::None)) {
        return Err(problem(
            b.span_of(10),
            "Sequence(order=...) renders only on Oracle; aurora does not support it",
        ));
    }
    let given = |i: usize| b.given(i);
    Ok(Sequence {
        name: b.req_str(0, "name", "Sequence")?,
        schema: b.str(8, "schema")?,
        start: int(1)?,
        increment: int(2)?,
        minvalue: int(3)?,
        maxvalue: int(4)?,
        nominvalue: given(5),
        nomaxvalue: given(6),
        cycle: b.bool(7, "cycle")?,
        cache: int(9)?,
        data_type: match b.get(11) {
            None | Some(Value::None) => None,
            Some(v) => Some(as_type(v, b.span_of(11))?),
        },
        optional: b.bool(12, "optional")?.unwrap_or(false),
    })
}

/// Builds a table from `create_table`/`Table` arguments.
fn build_table(
    name: String,
    items: &[(Value, Span)],
    kwargs: &[(String, Value, Span)],
    f: &str,
) -> EResult<Table> {
    let mut table = Table {
        name,
        ..Table::default()
    };
    for (v, s) in items {
        match v {
            Value::Column(c) => table.columns.push((**c).clone()),
            Value::Constraint(c) => table.constraints.push((**c).clone()),
            Value::Index(i) => table.indexes.push((**i).clone()),
            Value::MetaData { .. } => {}
            other => {
                return Err(problem(
                    *s,
                    format!("{f}() does not take {}", describe(other)),
                ))
            }
        }
    }
    for (k, v, s) in kwargs {
        match (k.as_str(), v) {
            ("schema", Value::Str(x)) => table.schema = Some(x.clone()),
            ("schema", Value::None) => {}
            ("comment", Value::Str(x)) => table.comment = Some(x.clone()),
            ("comment", Value::None) => {}
            ("sqlite_autoincrement", v) => table.sqlite_autoincrement = truthy(v, *s)?,
            (k, v) if k.starts_with("postgresql_") || k.starts_with("sqlite_") => {
                table_dialect_option(&mut table.options, k, v, *s)?
            }
            (k, _)
                if CREATE_TABLE_PREFIXES.iter().any(|p| k.starts_with(p))
                    || k == "extend_existing"
                    || k == "keep_existing" => {}
            _ => {
                return Err(problem(
                    *s,
                    format!("{f}() got an unexpected keyword argument '{k}'"),
                ))
            }
        }
    }
    let tname = table.name.clone();
    let tschema = table.schema.clone();
    for i in &mut table.indexes {
        i.table = tname.clone();
        i.schema = tschema.clone();
        default_index_name(i, kwargs.first().map_or(Span::default(), |k| k.2))?;
    }
    Ok(table)
}

/// One `postgresql_*`/`sqlite_*` keyword of a table (SQLAlchemy's
/// `construct_arguments` for `Table` of each dialect); an unknown one is
/// SQLAlchemy's ArgumentError.
fn table_dialect_option(o: &mut TableOptions, key: &str, v: &Value, span: Span) -> EResult<()> {
    let text = |what: &str| b_str(v, what, span);
    match key {
        "postgresql_ignore_search_path" => {}
        "postgresql_inherits" => {
            o.postgresql_inherits = match v {
                Value::None => Vec::new(),
                Value::List(xs) | Value::Tuple(xs) => xs
                    .iter()
                    .map(|x| Ok(b_str(x, key, span)?.unwrap_or_default()))
                    .collect::<EResult<_>>()?,
                other => vec![b_str(other, key, span)?.unwrap_or_default()],
            }
        }
        "postgresql_partition_by" => o.postgresql_partition_by = text(key)?,
        "postgresql_using" => o.postgresql_using = text(key)?,
        "postgresql_on_commit" => o.postgresql_on_commit = text(key)?,
        "postgresql_tablespace" => o.postgresql_tablespace = text(key)?,
        "postgresql_with_oids" => {
            o.postgresql_with_oids = match v {
                Value::None => None,
                Value::Bool(b) => Some(*b),
                other => {
                    return Err(problem(
                        span,
                        format!(
                            "postgresql_with_oids takes True, False or None, got {}",
                            describe(other)
                        ),
                    ))
                }
            }
        }
        "postgresql_with" => {
            o.postgresql_with = match v {
                Value::None => None,
                Value::Dict(kv) => Some(
                    kv.iter()
                        .map(|(k, v)| {
                            let Value::Str(k) = k else {
                                return Err(problem(span, "postgresql_with keys must be strings"));
                            };
                            Ok(match v {
                                Value::None => k.clone(),
                                Value::Bool(b) => format!("{k} = {b}"),
                                Value::Int(i) => format!("{k} = {i}"),
                                Value::Str(x) => format!("{k} = {x}"),
                                other => {
                                    return Err(problem(
                                        span,
                                        format!("postgresql_with value of {}", describe(other)),
                                    ))
                                }
                            })
                        })
                        .collect::<EResult<_>>()?,
                ),
                _ => return Err(problem(span, "postgresql_with must be a dict")),
            }
        }
        "sqlite_with_rowid" => o.sqlite_without_rowid = !truthy(v, span)?,
        "sqlite_strict" => o.sqlite_strict = truthy(v, span)?,
        _ => {
            let dialect = if key.starts_with("sqlite_") {
                "sqlite"
            } else {
                "postgresql"
            };
            return Err(problem(
                span,
                format!(
                    "ArgumentError: Argument '{key}' is not accepted by dialect '{dialect}' on behalf of <class 'sqlalchemy.sql.schema.Table'>"
                ),
            ));
        }
    }
    Ok(())
}

fn names_of(items: &[(Value, Span)]) -> EResult<Vec<String>> {
    items
        .iter()
        .map(|(v, s)| match v {
            Value::Str(x) => Ok(x.clone()),
            Value::Column(c) => Ok(c.name.clone()),
            Value::Expr(SqlExpr::Column { name, .. }) => Ok(name.clone()),
            other => Err(problem(
                *s,
                format!("expected a column name, got {}", describe(other)),
            )),
        })
        .collect()
}

fn index_exprs(items: &[(Value, Span)]) -> EResult<Vec<IndexExpr>> {
    items
        .iter()
        .map(|(v, s)| match v {
            Value::Str(x) => Ok(IndexExpr::Column(x.clone())),
            Value::Column(c) => Ok(IndexExpr::Column(c.name.clone())),
            Value::Expr(SqlExpr::Column { name, .. }) => Ok(IndexExpr::Column(name.clone())),
            Value::Text(t, _) => Ok(IndexExpr::Text(t.clone())),
            Value::Expr(e) => Ok(IndexExpr::Expr(e.clone())),
            other => Err(problem(
                *s,
                format!("expected a column name, got {}", describe(other)),
            )),
        })
        .collect()
}

fn index_dialect_kwargs(
    index: &mut Index,
    extra: &[(String, Value, Span)],
    f: &str,
) -> EResult<()> {
    for (k, v, s) in extra {
        match k.as_str() {
            "postgresql_where" => index.postgresql_where = Some(text_of(Some(v), *s)?),
            "postgresql_using" => index.postgresql_using = Some(text_of(Some(v), *s)?),
            "postgresql_concurrently" => index.postgresql_concurrently = truthy(v, *s)?,
            "sqlite_where" => index.sqlite_where = Some(text_of(Some(v), *s)?),
            "postgresql_ops" => {
                index.postgresql_ops = match v {
                    Value::Dict(kv) => kv
                        .iter()
                        .map(|(k, v)| match (k, v) {
                            (Value::Str(k), Value::Str(v)) => Ok((k.clone(), v.clone())),
                            _ => Err(problem(
                                *s,
                                "postgresql_ops maps column names to operator classes (strings)",
                            )),
                        })
                        .collect::<EResult<_>>()?,
                    Value::None => Vec::new(),
                    _ => return Err(problem(*s, "postgresql_ops must be a dict")),
                }
            }
            "postgresql_include" => {
                index.postgresql_include = match v {
                    Value::None => Vec::new(),
                    Value::List(xs) | Value::Tuple(xs) => {
                        names_of(&xs.iter().map(|x| (x.clone(), *s)).collect::<Vec<_>>())?
                    }
                    _ => {
                        return Err(problem(
                            *s,
                            "postgresql_include must be a list of column names",
                        ))
                    }
                }
            }
            "postgresql_with" => {
                index.postgresql_with = match v {
                    Value::None => Vec::new(),
                    Value::Dict(kv) => kv
                        .iter()
                        .map(|(k, v)| {
                            let Value::Str(k) = k else {
                                return Err(problem(*s, "postgresql_with keys must be strings"));
                            };
                            let text = match v {
                                Value::None => String::new(),
                                Value::Bool(b) => b.to_string(),
                                Value::Int(n) => n.to_string(),
                                Value::Float(f) => py_float_repr(*f),
                                Value::Str(x) => x.clone(),
                                other => {
                                    return Err(problem(
                                        *s,
                                        format!("postgresql_with value of {}", describe(other)),
                                    ))
                                }
                            };
                            Ok((k.clone(), text))
                        })
                        .collect::<EResult<_>>()?,
                    _ => return Err(problem(*s, "postgresql_with must be a dict")),
                }
            }
            "postgresql_tablespace" => index.postgresql_tablespace = b_str(v, k, *s)?,
            "postgresql_nulls_not_distinct" => {
                index.postgresql_nulls_not_distinct = match v {
                    Value::None => None,
                    Value::Bool(b) => Some(*b),
                    _ => {
                        return Err(problem(
                            *s,
                            "postgresql_nulls_not_distinct must be True or False",
                        ))
                    }
                }
            }
            // SQLAlchemy refuses a keyword its dialect does not define.
            k if k.starts_with("postgresql_") || k.starts_with("sqlite_") => {
                let dialect = k.split('_').next().unwrap_or_default();
                return Err(problem(
                    *s,
                    format!(
                        "TypeError: Argument '{k}' is not accepted by dialect '{dialect}' on behalf of Index"
                    ),
                ));
            }
            // Other dialects' options render nothing on PostgreSQL or SQLite.
            k if k.starts_with("mysql_")
                || k.starts_with("mssql_")
                || k.starts_with("oracle_")
                || k.starts_with("mariadb_") => {}
            _ => {
                return Err(problem(
                    *s,
                    format!("{f}() got an unexpected keyword argument '{k}'"),
                ))
            }
        }
    }
    Ok(())
}

/// Splits `['schema.table.col', ...]` into the referenced schema, table and
/// columns.
/// A string option, or `None`.
fn b_str(v: &Value, what: &str, span: Span) -> EResult<Option<String>> {
    match v {
        Value::None => Ok(None),
        Value::Str(x) | Value::Conv(x) => Ok(Some(x.clone())),
        other => Err(problem(
            span,
            format!("expected a string for '{what}', got {}", describe(other)),
        )),
    }
}

/// An unnamed index gets the name of SQLAlchemy's default naming convention,
/// `ix_%(column_0_label)s`: `ix_<schema>_<table>_<column>` (the label of
/// the first column; a `text()` element is a column named by its text).
fn default_index_name(index: &mut Index, span: Span) -> EResult<()> {
    if index.name.is_some() {
        return Ok(());
    }
    let column = match index.expressions.first() {
        Some(IndexExpr::Column(c)) | Some(IndexExpr::Text(c)) => c.clone(),
        // SQLAlchemy's convention finds no column to label: Alembic stops
        // with an AssertionError.
        _ => {
            return Err(problem(
                span,
                "AssertionError: an unnamed index on an expression has no column for the \
                 naming convention 'ix_%(column_0_label)s'; give the index a name",
            ))
        }
    };
    let label = match &index.schema {
        Some(s) => format!("{s}_{}_{column}", index.table),
        None => format!("{}_{column}", index.table),
    };
    index.name = Some(format!("ix_{label}"));
    index.conv_name = true;
    Ok(())
}

fn split_refs(refs: &[String], span: Span) -> EResult<(Option<String>, String, Vec<String>)> {
    let mut table = None;
    let mut schema = None;
    let mut cols = Vec::new();
    for r in refs {
        let parts: Vec<&str> = r.split('.').collect();
        match parts.as_slice() {
            [t, c] => {
                table = Some(t.to_string());
                cols.push(c.to_string());
            }
            [sch, t, c] => {
                schema = Some(sch.to_string());
                table = Some(t.to_string());
                cols.push(c.to_string());
            }
            _ => {
                return Err(problem(
                    span,
                    format!("a foreign key reference needs 'table.column', got '{r}'"),
                ))
            }
        }
    }
    Ok((
        schema,
        table.ok_or_else(|| problem(span, "a foreign key needs referenced columns"))?,
        cols,
    ))
}

fn text_of(v: Option<&Value>, span: Span) -> EResult<String> {
    match v {
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(Value::Text(s, _)) => Ok(s.clone()),
        Some(other) => Err(problem(
            span,
            format!("expected SQL text, got {}", describe(other)),
        )),
        None => Err(problem(span, "missing SQL text")),
    }
}

fn default_value(v: &Value, span: Span) -> EResult<DefaultValue> {
    match v {
        Value::Str(s) => Ok(DefaultValue::Str(s.clone())),
        Value::Text(s, _) => Ok(DefaultValue::Text(s.clone())),
        Value::Expr(e) => Ok(DefaultValue::Expr(e.clone())),
        other => Err(problem(
            span,
            format!(
                "server_default takes a string or sa.text(), got {}",
                describe(other)
            ),
        )),
    }
}

fn executable(v: Option<&Value>, span: Span) -> EResult<Executable> {
    match v {
        Some(Value::Str(s)) => Ok(Executable::Sql(s.clone())),
        Some(Value::Text(s, binds)) => Ok(Executable::Text {
            sql: s.clone(),
            binds: binds.clone(),
        }),
        Some(Value::Exec(e)) => {
            dml::check_complete(e, span)?;
            Ok((**e).clone())
        }
        Some(Value::Select(_)) => Err(problem(
            span,
            "execute() of a select(): aurora runs no queries whose rows the revision reads \
             (a data migration that loops over fetched rows needs Alembic); write the change \
             as one statement (update().values(...select().scalar_subquery()), \
             insert().from_select(...)) or with sa.text()",
        )),
        Some(other) => Err(problem(
            span,
            format!("execute() takes SQL, got {}", describe(other)),
        )),
        None => Err(problem(
            span,
            "execute() missing required argument 'sqltext'",
        )),
    }
}

fn literal(v: &Value, span: Span) -> EResult<Literal> {
    Ok(match v {
        Value::None => Literal::Null,
        Value::Bool(b) => Literal::Bool(*b),
        Value::Int(i) => Literal::Int(*i),
        Value::Float(f) => Literal::Float(py_float_repr(*f)),
        Value::Str(s) => Literal::Str(s.clone()),
        Value::Bytes(b) => Literal::Bytes(b.clone()),
        Value::Literal(l) => l.clone(),
        Value::Expr(SqlExpr::InlineLiteral(l)) => l.clone(),
        other => {
            return Err(problem(
                span,
                format!("cannot use {} as a value", describe(other)),
            ))
        }
    })
}

/// A `bulk_insert` value as its column's type binds it: JSON columns take
/// the `json.dumps` text of any value (`None` included, as JSON `null`),
/// `ARRAY` columns take lists.
fn bound_literal(v: &Value, ty: Option<&SqlType>, span: Span) -> EResult<Literal> {
    match (ty, v) {
        (_, Value::Expr(SqlExpr::Null)) => Ok(Literal::Null),
        (Some(SqlType::Json | SqlType::Jsonb), v) => {
            py_json(v).map(Literal::Json).ok_or_else(|| {
                problem(
                    span,
                    format!("TypeError: {} is not JSON serializable", describe(v)),
                )
            })
        }
        // `Boolean`'s processors accept what is equal to None, True or
        // False (so 0, 1, 1.0) and render it as a boolean.
        (Some(SqlType::Boolean { .. }), Value::Int(i @ (0 | 1))) => Ok(Literal::Bool(*i == 1)),
        (Some(SqlType::Boolean { .. }), Value::Float(f)) if *f == 0.0 || *f == 1.0 => {
            Ok(Literal::Bool(*f == 1.0))
        }
        (Some(SqlType::Boolean { .. }), v @ (Value::Int(_) | Value::Float(_))) => Err(problem(
            span,
            format!(
                "ValueError: Value {} is not None, True, or False",
                builtins::py_repr(v)
            ),
        )),
        (Some(SqlType::Boolean { .. }), v @ (Value::Str(_) | Value::Bytes(_))) => Err(problem(
            span,
            format!("TypeError: Not a boolean value: {}", builtins::py_repr(v)),
        )),
        // `Uuid(as_uuid=False)`'s processors take a string and drop its
        // hyphens (native or not); a UUID object has no `replace`.
        (Some(SqlType::Uuid { as_uuid: false, .. }), Value::Str(u)) => {
            Ok(Literal::Str(u.replace('-', "")))
        }
        (Some(SqlType::Uuid { as_uuid: false, .. }), Value::Literal(Literal::Uuid(_))) => {
            Err(problem(
                span,
                "AttributeError: 'UUID' object has no attribute 'replace'",
            ))
        }
        (Some(SqlType::Array(item)), Value::List(xs) | Value::Tuple(xs)) => Ok(Literal::Array(
            xs.iter()
                .map(|x| bound_literal(x, Some(item), span))
                .collect::<EResult<_>>()?,
        )),
        (_, v) => literal(v, span),
    }
}

/// Python's `json.dumps(v)` with its defaults (`", "` and `": "`
/// separators, `ensure_ascii`); `None` when the value is not serializable.
fn py_json(v: &Value) -> Option<String> {
    Some(match v {
        Value::None => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "NaN".into(),
        Value::Float(f) if f.is_infinite() => {
            if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()
        }
        Value::Float(f) => py_float_repr(*f),
        Value::Str(s) => json_string(s),
        Value::List(xs) | Value::Tuple(xs) => {
            let items: Option<Vec<String>> = xs.iter().map(py_json).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Dict(kv) => {
            let mut items = Vec::new();
            for (k, v) in kv {
                let key = match k {
                    Value::Str(s) => s.clone(),
                    Value::None => "null".into(),
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => py_float_repr(*f),
                    _ => return None,
                };
                items.push(format!("{}: {}", json_string(&key), py_json(v)?));
            }
            format!("{{{}}}", items.join(", "))
        }
        _ => return None,
    })
}

/// A JSON string as Python's `json.dumps` writes it (non-ASCII as `\uXXXX`).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `uuid.UUID(hex)`'s parsing: braces, `urn:uuid:` and hyphens dropped,
/// then 32 hex digits; the canonical hyphenated lower-case form.
fn uuid_text(s: &str) -> Option<String> {
    let hex: String = s
        .trim_start_matches("urn:")
        .trim_start_matches("uuid:")
        .trim_matches(|c| c == '{' || c == '}')
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_lowercase();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn sql_expr(v: Value, span: Span) -> EResult<SqlExpr> {
    match v {
        Value::Expr(e) => Ok(e),
        // A `Column` of no table renders as its name.
        Value::Column(c) => Ok(SqlExpr::Column {
            table: None,
            schema: None,
            name: c.name,
            type_: c.type_,
            class: ColumnClass { table_column: true },
        }),
        Value::Text(t, _) => Ok(SqlExpr::Text(t)),
        other => Ok(SqlExpr::Literal(literal(&other, span)?)),
    }
}

/// Turns a type class (`sa.Integer`) or instance (`sa.Integer()`) into a type.
fn as_type(v: &Value, span: Span) -> EResult<SqlType> {
    match v {
        Value::Type(t) => Ok(t.clone()),
        Value::Failed(p) => Err((**p).clone()),
        Value::DialectImplClass(t) => Ok((**t).clone()),
        Value::Path(p) => {
            let name = canonical(p);
            let args = Args {
                positional: Vec::new(),
                keywords: Vec::new(),
                span,
            };
            type_call(&name, &args)?.ok_or_else(|| problem(span, format!("'{name}' is not a type")))
        }
        other => Err(problem(
            span,
            format!("expected a type, got {}", describe(other)),
        )),
    }
}

/// Builds a type from a call to a type class; `None` if `name` is no type.
fn type_call(name: &str, args: &Args) -> EResult<Option<SqlType>> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let pg = name.starts_with("postgresql.");
    if !(name.starts_with("sa.") || pg || name.starts_with("sqlite.")) {
        return Ok(None);
    }
    let t = match short {
        "Integer" | "INTEGER" | "INT" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Integer
        }
        "BigInteger" | "BIGINT" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::BigInteger
        }
        "SmallInteger" | "SMALLINT" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::SmallInteger
        }
        "NVARCHAR" | "NCHAR" | "BINARY" | "VARBINARY" if !pg => {
            // Rendered under their own names, by every dialect.
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Named(match b.int(0, "length")? {
                Some(n) => format!("{short}({n})"),
                None => short.to_string(),
            })
        }
        "CLOB" if !pg => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Named("CLOB".into())
        }
        "DECIMAL" if !pg => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Named(match (b.int(0, "precision")?, b.int(1, "scale")?) {
                (Some(p), Some(s)) => format!("DECIMAL({p}, {s})"),
                (Some(p), None) => format!("DECIMAL({p})"),
                _ => "DECIMAL".into(),
            })
        }
        "PickleType" if !pg => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::LargeBinary
        }
        "String" | "Unicode" | "VARCHAR" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            refuse_collation(&b, short)?;
            SqlType::String(b.int(0, "length")?)
        }
        "CHAR" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            refuse_collation(&b, short)?;
            SqlType::Char(b.int(0, "length")?)
        }
        "Text" | "UnicodeText" | "TEXT" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            refuse_collation(&b, short)?;
            SqlType::Text
        }
        "Boolean" | "BOOLEAN" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Boolean {
                create_constraint: b.bool(0, "create_constraint")?.unwrap_or(false),
                name: b.str(1, "name")?,
            }
        }
        "DateTime" | "DATETIME" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::DateTime {
                timezone: b.bool(0, "timezone")?.unwrap_or(false),
            }
        }
        "TIMESTAMP" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Timestamp {
                timezone: b.bool(0, "timezone")?.unwrap_or(false),
                precision: b.int(1, "precision")?,
            }
        }
        "Date" | "DATE" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Date
        }
        "Time" | "TIME" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Time {
                timezone: b.bool(0, "timezone")?.unwrap_or(false),
                precision: b.int(1, "precision")?,
            }
        }
        "Float" | "FLOAT" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Float {
                precision: b.int(0, "precision")?,
            }
        }
        "Double" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Double
        }
        "REAL" | "DOUBLE" | "DOUBLE_PRECISION" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Named(match short {
                "REAL" => "REAL".into(),
                "DOUBLE_PRECISION" => "DOUBLE PRECISION".into(),
                _ => "DOUBLE".into(),
            })
        }
        "Numeric" | "NUMERIC" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Numeric {
                precision: b.int(0, "precision")?,
                scale: b.int(1, "scale")?,
            }
        }
        "JSON" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Json
        }
        "JSONB" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Jsonb
        }
        "LargeBinary" | "BLOB" => {
            bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::LargeBinary
        }
        "Uuid" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Uuid {
                native: b.bool(1, "native_uuid")?.unwrap_or(true),
                class_uuid: false,
                as_uuid: b.bool(0, "as_uuid")?.unwrap_or(true),
            }
        }
        "UUID" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Uuid {
                native: true,
                class_uuid: true,
                as_uuid: b.bool(0, "as_uuid")?.unwrap_or(true),
            }
        }
        "Interval" if !pg => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Interval {
                native: b.bool(0, "native")?.unwrap_or(true),
                precision: b.int(1, "second_precision")?,
                fields: None,
                postgresql: false,
            }
        }
        "INTERVAL" if pg => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            SqlType::Interval {
                native: true,
                precision: b.int(0, "precision")?,
                fields: b.str(1, "fields")?,
                postgresql: true,
            }
        }
        "ARRAY" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            let item = match b.get(0) {
                Some(v) => as_type(v, b.span_of(0))?,
                None => return Err(problem(b.span, "ARRAY() needs an item type")),
            };
            // SQLAlchemy renders one `[]` per dimension.
            let dimensions = b.int(2, "dimensions")?.unwrap_or(1).max(1);
            let mut t = item;
            for _ in 0..dimensions {
                t = SqlType::Array(Box::new(t));
            }
            t
        }
        "Enum" | "ENUM" => {
            let b = bind_to(args, short, signature(&format!("type.{short}")))?;
            // Positional arguments are the values; `name` is keyword-only.
            let mut values = Vec::new();
            let mut rest = b.rest.clone();
            if let Some((v, _)) = b.values[0].clone() {
                if args.positional.iter().any(|(p, _)| *p == v)
                    && !args.keywords.iter().any(|(k, _, _)| k == "name")
                {
                    rest.insert(0, (v, b.span_of(0)));
                }
            }
            let mut class_name = None;
            for (v, s) in rest {
                match v {
                    Value::Str(x) => values.push(x),
                    // `sa.Enum(PyEnum)`: the members' names, the type named
                    // after the class in lower case.
                    Value::EnumClass(c) if values.is_empty() && class_name.is_none() => {
                        if args.keywords.iter().any(|(k, _, _)| k == "values_callable") {
                            return Err(problem(s, "Enum(values_callable=...) is not supported"));
                        }
                        values.extend(
                            (0..c.members.len())
                                .filter(|i| c.members[*i].2 == *i)
                                .map(|i| c.members[i].0.clone()),
                        );
                        class_name = Some(c.name.to_lowercase());
                    }
                    other => {
                        return Err(problem(
                            s,
                            format!("Enum() values must be strings, got {}", describe(&other)),
                        ))
                    }
                }
            }
            let name_kw = args
                .keywords
                .iter()
                .find(|(k, _, _)| k == "name")
                .map(|(_, v, _)| v.clone());
            SqlType::Enum {
                values,
                name: match name_kw {
                    Some(Value::Str(s)) => Some(s),
                    _ => class_name,
                },
                schema: b.str(1, "schema")?,
                native: b.bool(2, "native_enum")?.unwrap_or(true),
                create_type: b.bool(3, "create_type")?.unwrap_or(true),
                length: b.int(4, "length")?,
                create_constraint: b.bool(5, "create_constraint")?.unwrap_or(false),
            }
        }
        "DOMAIN" if pg => domain_type(args)?,
        _ if pg => match pg_only_type(short, args)? {
            Some(t) => t,
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(t))
}

/// The types of SQLAlchemy's PostgreSQL dialect that no other dialect
/// compiles, with the text PostgreSQL's type compiler gives them.
fn pg_only_type(class: &str, args: &Args) -> EResult<Option<SqlType>> {
    let sql = match class {
        "MACADDR" | "MACADDR8" | "INET" | "CIDR" | "CITEXT" | "MONEY" | "OID" | "REGCLASS"
        | "REGCONFIG" | "TSQUERY" | "TSVECTOR" | "HSTORE" | "JSONPATH" | "INT4RANGE"
        | "INT8RANGE" | "NUMRANGE" | "DATERANGE" | "TSRANGE" | "TSTZRANGE" | "INT4MULTIRANGE"
        | "INT8MULTIRANGE" | "NUMMULTIRANGE" | "DATEMULTIRANGE" | "TSMULTIRANGE"
        | "TSTZMULTIRANGE" => {
            bind_to(args, class, signature(&format!("type.{class}")))?;
            class.to_string()
        }
        "BYTEA" => {
            bind_to(args, class, signature("type.BYTEA"))?;
            class.to_string()
        }
        "BIT" => {
            let b = bind_to(args, class, signature("type.BIT"))?;
            let varying = b.bool(1, "varying")?.unwrap_or(false);
            // BIT without a length is BIT(1); BIT VARYING has no default length.
            let length = b.int(0, "length")?.or((!varying).then_some(1));
            let base = if varying { "BIT VARYING" } else { "BIT" };
            match length {
                Some(n) => format!("{base}({n})"),
                None => base.to_string(),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(SqlType::PgOnly {
        class: class.to_string(),
        sql,
    }))
}

/// `postgresql.DOMAIN(name, data_type, *, collation, default,
/// constraint_name, not_null, check, create_type, schema, ...)`.
fn domain_type(args: &Args) -> EResult<SqlType> {
    let b = bind_to(args, "DOMAIN", signature("type.DOMAIN"))?;
    let name = b.req_str(0, "name", "DOMAIN")?;
    let data_type = match b.get(1) {
        Some(v) => as_type(v, b.span_of(1))?,
        None => {
            return Err(problem(
                b.span,
                "DOMAIN() missing required argument 'data_type'",
            ))
        }
    };
    let default = match b.get(3) {
        None | Some(Value::None) => None,
        Some(v) => Some(default_value(v, b.span_of(3))?),
    };
    let check = match b.get(6) {
        None | Some(Value::None) => None,
        Some(v) => Some(text_of(Some(v), b.span_of(6))?),
    };
    Ok(SqlType::Domain(Box::new(Domain {
        name,
        schema: b.str(8, "schema")?,
        data_type,
        collation: b.str(2, "collation")?,
        default,
        constraint_name: b.str(4, "constraint_name")?,
        not_null: b.bool(5, "not_null")?.unwrap_or(false),
        check,
        create_type: b.bool(7, "create_type")?.unwrap_or(true),
    })))
}

fn builtin(name: &str) -> Option<Value> {
    builtins::BUILTINS
        .contains(&name)
        .then(|| Value::Path(name.to_string()))
}

/// The table clause of a `sa.Table(...)`: its name, schema and columns, which is all
/// that `.c`, `insert()`, `update()`, `delete()` and `bulk_insert` use of it.
fn table_clause(t: &Table) -> TableClause {
    TableClause {
        name: t.name.clone(),
        schema: t.schema.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.type_.clone()))
            .collect(),
    }
}

fn attribute(b: Value, name: &str, span: Span) -> EResult<Value> {
    match b {
        Value::ExecResult => Err(dml::result_used(span, &format!(".{name}"))),
        Value::EnumClass(c) => match c.members.iter().find(|m| m.0 == name) {
            Some(m) => {
                let i = m.2;
                Ok(Value::EnumMember(c, i))
            }
            None => Err(problem(
                span,
                format!(
                    "AttributeError: type object '{}' has no attribute '{name}'",
                    c.name
                ),
            )),
        },
        Value::EnumMember(c, i) => match name {
            "name" => Ok(Value::Str(c.members[i].0.clone())),
            "value" => Ok(c.members[i].1.clone()),
            _ => Err(problem(
                span,
                format!(
                    "unsupported attribute '{name}' of a member of Enum '{}'",
                    c.name
                ),
            )),
        },
        Value::Path(p) => Ok(Value::Path(format!("{p}.{name}"))),
        Value::TableClause(t) if name == "c" => Ok(Value::ColumnCollection(t, false)),
        Value::Table(t) if matches!(name, "c" | "columns") => {
            Ok(Value::ColumnCollection(table_clause(&t), true))
        }
        Value::ColumnCollection(t, table_column) => match t.columns.iter().find(|(n, _)| n == name)
        {
            Some((n, ty)) => Ok(Value::Expr(SqlExpr::Column {
                table: Some(t.name.clone()),
                schema: t.schema.clone(),
                name: n.clone(),
                type_: ty.clone(),
                class: ColumnClass { table_column },
            })),
            None => Err(problem(
                span,
                format!("table '{}' has no column '{name}'", t.name),
            )),
        },
        Value::Logger(n) if name == "name" => Ok(Value::Str(n)),
        Value::Context if name == "config" => Ok(Value::Config),
        // `MigrationContext.bind` / `.connection`: what `op.get_bind()` gives
        // (offline, Alembic's mock connection of the configured dialect).
        Value::Context if matches!(name, "bind" | "connection") => Ok(Value::Bind),
        Value::Context | Value::Bind | Value::Dialect if matches!(name, "dialect" | "engine") => {
            Ok(Value::Dialect)
        }
        Value::Impl if name == "dialect" => Ok(Value::Dialect),
        Value::Dialect if name == "type_descriptor" => {
            Ok(Value::Method(Box::new(b), name.to_string()))
        }
        Value::Impl if name == "bind" => Ok(Value::Bind),
        Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Dict(_) | Value::Config => {
            Ok(Value::Method(Box::new(b), name.to_string()))
        }
        Value::Int(_) | Value::Dialect | Value::Impl => Err(problem(
            span,
            format!("unsupported attribute '{name}' of {}", describe(&b)),
        )),
        other => Ok(Value::Method(Box::new(other), name.to_string())),
    }
}

fn subscript(b: Value, i: Value, span: Span) -> EResult<Value> {
    match (b, i) {
        (Value::List(xs) | Value::Tuple(xs), Value::Int(n)) => {
            let idx = if n < 0 { xs.len() as i64 + n } else { n };
            xs.get(idx as usize)
                .cloned()
                .ok_or_else(|| problem(span, "index out of range"))
        }
        (Value::Dict(kv), k) => kv
            .into_iter()
            .find(|(kk, _)| *kk == k)
            .map(|(_, v)| v)
            .ok_or_else(|| problem(span, "key not found")),
        (Value::ColumnCollection(t, table_column), Value::Str(n)) => {
            attribute(Value::ColumnCollection(t, table_column), &n, span)
        }
        // `Union[str, None]` and other annotations evaluate to nothing useful.
        (Value::Path(p), _) => Ok(Value::Path(p)),
        _ => Err(problem(span, "unsupported construct 'subscript'")),
    }
}

fn dict_set(out: &mut Vec<(Value, Value)>, k: Value, v: Value) {
    if let Some(slot) = out.iter_mut().find(|(kk, _)| *kk == k) {
        slot.1 = v;
    } else {
        out.push((k, v));
    }
}

/// Python's `bool(v)` where aurora knows it. A value aurora does not model
/// (an attribute it does not know, a library name, a SQL clause whose
/// `__bool__` raises) is refused rather than taken as true.
fn truthy(v: &Value, span: Span) -> EResult<bool> {
    Ok(match v {
        Value::None => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) | Value::Conv(s) => !s.is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::List(x) | Value::Tuple(x) => !x.is_empty(),
        Value::Dict(x) => !x.is_empty(),
        Value::ColumnCollection(t, _) => !t.columns.is_empty(),
        // typing.TYPE_CHECKING is False when the code runs.
        Value::Path(p) if p == "TYPE_CHECKING" || p.ends_with(".TYPE_CHECKING") => false,
        // Objects without __bool__/__len__: always true.
        Value::Function(_)
        | Value::Lambda(_)
        | Value::Module(_)
        | Value::ModuleFunction(..)
        | Value::EnumClass(_)
        | Value::TypeSubclass(_)
        | Value::DialectImplClass(_)
        | Value::Type(_)
        | Value::ForeignKey(_)
        | Value::Index(_)
        | Value::MetaData { .. }
        | Value::Logger(_)
        | Value::Config
        | Value::Dialect
        | Value::Impl
        | Value::Bind
        | Value::Context => true,
        Value::ExecResult => return Err(dml::result_used(span, "testing the truth value")),
        Value::Method(recv, name) => {
            return Err(problem(
                span,
                format!(
                    "unsupported attribute '{name}' of {} (its truth value is tested here): \
                     aurora does not know its value; compute the condition another way",
                    describe(recv)
                ),
            ))
        }
        Value::Table(_)
        | Value::TableClause(_)
        | Value::Column(_)
        | Value::Expr(_)
        | Value::Text(..)
        | Value::Literal(_) => {
            return Err(problem(
                span,
                format!(
                    "TypeError: Boolean value of this clause is not defined ({} as a condition)",
                    describe(v)
                ),
            ))
        }
        other => {
            return Err(problem(
                span,
                format!(
                    "aurora does not know the truth value of {} (tested here)",
                    describe(other)
                ),
            ))
        }
    })
}

/// What `for x in v` visits.
fn iteration_items(v: Value, span: Span) -> EResult<Vec<Value>> {
    match v {
        Value::ExecResult => Err(dml::result_used(span, "looping over the rows")),
        Value::List(xs) | Value::Tuple(xs) => Ok(xs),
        Value::Dict(kv) => Ok(kv.into_iter().map(|(k, _)| k).collect()),
        Value::Str(s) => Ok(s.chars().map(|c| Value::Str(c.to_string())).collect()),
        // An Enum class yields its members, aliases left out.
        Value::EnumClass(c) => Ok((0..c.members.len())
            .filter(|i| c.members[*i].2 == *i)
            .map(|i| Value::EnumMember(c.clone(), i))
            .collect()),
        other => Err(problem(
            span,
            format!("cannot loop over {}", describe(&other)),
        )),
    }
}

/// `str(v)` where aurora knows Python's text for it; anything else (a
/// SQLAlchemy object, a module) is refused rather than described.
fn py_text(v: &Value, span: Span) -> EResult<String> {
    fn known(v: &Value) -> bool {
        match v {
            Value::Str(_)
            | Value::Conv(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Bool(_)
            | Value::None => true,
            Value::List(xs) | Value::Tuple(xs) => xs.iter().all(known),
            Value::Dict(kv) => kv.iter().all(|(k, v)| known(k) && known(v)),
            _ => false,
        }
    }
    if !known(v) {
        return Err(problem(
            span,
            format!(
                "aurora cannot give the text of {} (str() of it)",
                describe(v)
            ),
        ));
    }
    Ok(match v {
        Value::List(_) | Value::Tuple(_) | Value::Dict(_) => builtins::py_repr(v),
        Value::Conv(s) => s.clone(),
        v => py_str(v),
    })
}

fn py_str(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => py_float_repr(*f),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::None => "None".into(),
        other => describe(other),
    }
}

/// Whether `left + right` is SQLAlchemy's `concat_op`: the left operand's
/// type decides (a String-affine column), or, for an untyped column
/// (NullType), the right operand's. Operands whose type aurora does not
/// know there are refused rather than guessed.
fn concatenates(left: &SqlExpr, right: &SqlExpr) -> bool {
    // SQLAlchemy's `_adapt_expression`: a string type's `+` is `||`; a
    // left side of unknown type (`NullType`) takes the right side's rule.
    fn stringy(t: &SqlType) -> bool {
        matches!(
            t,
            SqlType::String(_) | SqlType::Char(_) | SqlType::Text | SqlType::Enum { .. }
        )
    }
    match type_of(left) {
        SqlType::Null => stringy(&type_of(right)),
        t => stringy(&t),
    }
}

/// `NULLS FIRST` / `NULLS LAST` after `e` (`how` names the method or
/// function). SQLAlchemy brackets an operator expression under it
/// (`(a + 1) NULLS LAST`), which aurora does not write: refused.
fn nulls_order(how: &str, e: SqlExpr, span: Span) -> EResult<Value> {
    if matches!(e, SqlExpr::Binary { .. } | SqlExpr::In { .. }) {
        return Err(problem(
            span,
            format!(
                "{how}() of an operator expression: SQLAlchemy brackets it, which aurora \
                 does not render yet; use sa.text() for this index element"
            ),
        ));
    }
    Ok(Value::Expr(SqlExpr::Ordered {
        expr: Box::new(e),
        modifier: if how.contains("first") {
            "NULLS FIRST"
        } else {
            "NULLS LAST"
        },
    }))
}

fn sql_compare(op: BinOp, l: SqlExpr, r: Value, span: Span) -> EResult<Value> {
    let right = dml::column_expr(r, span, "an operator")?;
    // `&` / `|` take conditions (a Boolean column becomes `x = 1` without
    // a native boolean).
    let (l, right) = if matches!(op, BinOp::BitAnd | BinOp::BitOr) {
        (as_condition(l), as_condition(right))
    } else {
        (l, right)
    };
    let (sym, right) = match (op, &right) {
        (BinOp::Eq, SqlExpr::Literal(Literal::Null)) => ("IS", SqlExpr::Null),
        (BinOp::Ne, SqlExpr::Literal(Literal::Null)) => ("IS NOT", SqlExpr::Null),
        (BinOp::Eq, SqlExpr::Null) => ("IS", SqlExpr::Null),
        (BinOp::Ne, SqlExpr::Null) => ("IS NOT", SqlExpr::Null),
        (BinOp::Eq, _) => ("=", right),
        (BinOp::Ne, _) => ("!=", right),
        (BinOp::Lt, _) => ("<", right),
        (BinOp::Le, _) => ("<=", right),
        (BinOp::Gt, _) => (">", right),
        (BinOp::Ge, _) => (">=", right),
        // `+` on strings is SQLAlchemy's concatenation.
        (BinOp::Add, _) if concatenates(&l, &right) => ("||", right),
        (BinOp::Add, _) => ("+", right),
        (BinOp::Sub, _) => ("-", right),
        (BinOp::Mul, _) => ("*", right),
        (BinOp::Div, _) => ("/", right),
        (BinOp::FloorDiv, _) => ("//", right),
        (BinOp::Mod, _) => ("%", right),
        (BinOp::BitAnd, _) => ("AND", right),
        (BinOp::BitOr, _) => ("OR", right),
        _ => return Err(problem(span, "unsupported operator in a SQL expression")),
    };
    Ok(Value::Expr(SqlExpr::Binary {
        op: sym,
        left: Box::new(l),
        right: Box::new(right),
    }))
}

fn binary(op: BinOp, l: Value, r: Value, span: Span) -> EResult<Value> {
    use Value::*;
    let l = match l {
        Exists(s) => Expr(SqlExpr::Exists(s)),
        // A bare `sa.Column` is a column expression too.
        Column(c) => Expr(sql_expr(Column(c), span)?),
        other => other,
    };
    // Python tries the right operand's reflected comparison first when its
    // class subclasses the left one's (a `Table` column against a `table()`
    // column), and always when the left operand is a plain value
    // (`5 == t.c.x`): the column ends up on the left, the operator mirrored.
    let mirrored = match op {
        BinOp::Eq => Some(BinOp::Eq),
        BinOp::Ne => Some(BinOp::Ne),
        BinOp::Lt => Some(BinOp::Gt),
        BinOp::Le => Some(BinOp::Ge),
        BinOp::Gt => Some(BinOp::Lt),
        BinOp::Ge => Some(BinOp::Le),
        _ => Option::None,
    };
    let right_is_table_column = match &r {
        Expr(SqlExpr::Column { class, .. }) => class.table_column,
        Column(_) => true,
        _ => false,
    };
    if let (Some(m), Expr(_) | Column(_)) = (mirrored, &r) {
        let swap = match &l {
            Expr(SqlExpr::Column { class, .. }) => !class.table_column && right_is_table_column,
            Int(_) | Float(_) | Str(_) | Bool(_) | None | Literal(_) => true,
            _ => false,
        };
        if swap {
            let re = sql_expr(r, span)?;
            return sql_compare(m, re, l, span);
        }
    }
    if let Expr(e) = l {
        return sql_compare(op, e, r, span);
    }
    // `1 + t.c.x`, `'a' + t.c.name`: SQLAlchemy's reflected operators keep
    // the Python value on the left.
    if let (Expr(_), BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod) = (&r, op) {
        if matches!(l, Int(_) | Float(_) | Str(_) | Literal(_)) {
            let left = SqlExpr::Literal(literal(&l, span)?);
            return sql_compare(op, left, r, span);
        }
    }
    Ok(match (op, l, r) {
        (BinOp::Add, Int(a), Int(b)) => Int(a + b),
        (BinOp::Sub, Int(a), Int(b)) => Int(a - b),
        (BinOp::Mul, Int(a), Int(b)) => Int(a * b),
        (BinOp::Add, Float(a), Float(b)) => Float(a + b),
        (BinOp::Add, Str(a), Str(b)) => Str(a + &b),
        (BinOp::Add, List(a), List(b)) => List(a.into_iter().chain(b).collect()),
        (BinOp::Add, Tuple(a), Tuple(b)) => Tuple(a.into_iter().chain(b).collect()),
        (BinOp::Mod, Str(fmt), args) => Str(percent_format(&fmt, args, span)?),
        // An attribute aurora does not know (kept as an uncalled method) is
        // never equal to anything by accident: `context.bind.dialect.name ==
        // 'postgresql'` must take Alembic's branch or stop.
        (
            BinOp::Eq | BinOp::Ne | BinOp::Is | BinOp::IsNot | BinOp::In | BinOp::NotIn,
            Method(recv, name),
            _,
        )
        | (
            BinOp::Eq | BinOp::Ne | BinOp::Is | BinOp::IsNot | BinOp::In | BinOp::NotIn,
            _,
            Method(recv, name),
        ) => {
            return Err(problem(
                span,
                format!(
                    "unsupported attribute '{name}' of {} (compared here)",
                    describe(&recv)
                ),
            ))
        }
        // A library name (`sa.__version__`, `util.sqla_2`) aurora knows only by
        // its dotted path: its value is unknown, so is any comparison with it.
        (
            BinOp::Eq | BinOp::Ne | BinOp::Is | BinOp::IsNot | BinOp::In | BinOp::NotIn,
            Path(p),
            _,
        )
        | (
            BinOp::Eq | BinOp::Ne | BinOp::Is | BinOp::IsNot | BinOp::In | BinOp::NotIn,
            _,
            Path(p),
        ) => {
            return Err(problem(
                span,
                format!(
                    "aurora does not know the value of '{p}' (compared here); \
                     compute the condition another way"
                ),
            ))
        }
        (BinOp::Eq, a, b) => Bool(a == b),
        (BinOp::Ne, a, b) => Bool(a != b),
        (BinOp::Is, a, b) => Bool(a == b),
        (BinOp::IsNot, a, b) => Bool(a != b),
        (BinOp::Lt, Int(a), Int(b)) => Bool(a < b),
        (BinOp::Gt, Int(a), Int(b)) => Bool(a > b),
        (BinOp::Le, Int(a), Int(b)) => Bool(a <= b),
        (BinOp::Ge, Int(a), Int(b)) => Bool(a >= b),
        // Strings compare by code point, as Rust's `str` ordering does.
        (BinOp::Lt, Str(a), Str(b)) => Bool(a < b),
        (BinOp::Gt, Str(a), Str(b)) => Bool(a > b),
        (BinOp::Le, Str(a), Str(b)) => Bool(a <= b),
        (BinOp::Ge, Str(a), Str(b)) => Bool(a >= b),
        (BinOp::In, a, Dict(kv)) => Bool(kv.iter().any(|(k, _)| *k == a)),
        (BinOp::NotIn, a, Dict(kv)) => Bool(!kv.iter().any(|(k, _)| *k == a)),
        (BinOp::NotIn, Str(a), Str(b)) => Bool(!b.contains(&a)),
        (BinOp::In, a, List(xs) | Tuple(xs)) => Bool(xs.contains(&a)),
        (BinOp::NotIn, a, List(xs) | Tuple(xs)) => Bool(!xs.contains(&a)),
        (BinOp::In, Str(a), Str(b)) => Bool(b.contains(&a)),
        _ => return Err(problem(span, "unsupported operation on these values")),
    })
}

/// Python's `fmt % args` for `%s`, `%r`, `%d`/`%i` and `%%`, each with an
/// optional mapping key (`%(name)s` takes its value from a dict argument) and
/// flags, width and precision (`%-10s`, `%05d`, `%.3s`); other conversions
/// (`%f`, `%x`, ...) are refused.
fn percent_format(fmt: &str, args: Value, span: Span) -> EResult<String> {
    let mapping = match &args {
        Value::Dict(kv) => Some(kv.clone()),
        _ => None,
    };
    let items = match args {
        Value::Tuple(xs) => xs,
        other => vec![other],
    };
    let mut it = items.into_iter();
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push('%');
            i += 1;
            continue;
        }
        let mut key = None;
        if chars.get(i) == Some(&'(') {
            let Some(end) = chars[i..].iter().position(|&c| c == ')').map(|p| p + i) else {
                return Err(problem(span, "ValueError: incomplete format key"));
            };
            key = Some(chars[i + 1..end].iter().collect::<String>());
            i = end + 1;
        }
        let mut flags = String::new();
        while let Some(&c @ ('-' | '+' | ' ' | '#' | '0')) = chars.get(i) {
            flags.push(c);
            i += 1;
        }
        let mut width = String::new();
        while let Some(&c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            width.push(c);
            i += 1;
        }
        let mut precision = None;
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut p = String::new();
            while let Some(&c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
                p.push(c);
                i += 1;
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let Some(&conv) = chars.get(i) else {
            return Err(problem(span, "ValueError: incomplete format"));
        };
        i += 1;
        if !matches!(conv, 's' | 'r' | 'd' | 'i') || flags.contains(['+', ' ', '#']) {
            return Err(problem(
                span,
                format!(
                    "unsupported format '%{flags}{width}{}{conv}' in '%' formatting",
                    precision.map(|p| format!(".{p}")).unwrap_or_default()
                ),
            ));
        }
        let v = match &key {
            Some(k) => {
                let Some(kv) = &mapping else {
                    return Err(problem(span, "TypeError: format requires a mapping"));
                };
                kv.iter()
                    .find(|(kk, _)| *kk == Value::Str(k.clone()))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| problem(span, format!("KeyError: '{k}'")))?
            }
            None => it.next().ok_or_else(|| {
                problem(span, "TypeError: not enough arguments for format string")
            })?,
        };
        let mut body = match conv {
            's' => py_text(&v, span)?,
            'r' => match v {
                Value::Str(s) => builtins::py_repr(&Value::Str(s)),
                v => py_text(&v, span)?,
            },
            // Python's int() of the number: `'%d' % 1.5 == '1'`.
            _ => {
                let n = match v {
                    Value::Int(i) => i,
                    Value::Bool(b) => b as i64,
                    Value::Float(f) if f.is_finite() => f.trunc() as i64,
                    other => {
                        return Err(problem(
                            span,
                            format!(
                                "TypeError: %{conv} format: a real number is required, not {}",
                                describe(&other)
                            ),
                        ))
                    }
                };
                n.to_string()
            }
        };
        if let (Some(p), 's' | 'r') = (precision, conv) {
            body = body.chars().take(p).collect();
        }
        let width: usize = width.parse().unwrap_or(0);
        let len = body.chars().count();
        if len < width {
            let fill = width - len;
            if flags.contains('-') {
                body.push_str(&" ".repeat(fill));
            } else if flags.contains('0') && matches!(conv, 'd' | 'i') {
                // `%05d`: zeros between the sign and the digits.
                body = match body.strip_prefix('-') {
                    Some(d) => format!("-{}{d}", "0".repeat(fill)),
                    None => format!("{}{body}", "0".repeat(fill)),
                };
            } else {
                body = format!("{}{body}", " ".repeat(fill));
            }
        }
        out.push_str(&body);
    }
    if mapping.is_none() && it.next().is_some() {
        return Err(problem(
            span,
            "TypeError: not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

/// Python's `repr()` of a float.
pub(crate) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("int");
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// The UTC offset of a `tzinfo=` argument: `None` for a naive datetime.
fn tz_offset(v: Option<&Value>, span: Span) -> EResult<Option<i32>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::TimeZone(s)) => Ok(Some(*s)),
        Some(Value::Path(p)) if p == "datetime.timezone.utc" => Ok(Some(0)),
        Some(other) => Err(problem(
            span,
            format!(
                "unsupported tzinfo {}: use datetime.timezone.utc or datetime.timezone(timedelta(...))",
                describe(other)
            ),
        )),
    }
}

/// `datetime.timedelta(days, seconds, microseconds, milliseconds, minutes,
/// hours, weeks)` with whole-number arguments, normalised as Python does.
/// Only PostgreSQL has an interval literal aurora renders as SQLAlchemy does
/// (`make_interval(secs=>...)` offline, psycopg2's `'... days ... seconds'::interval`
/// online); elsewhere SQLAlchemy stores `Interval` as a datetime, which aurora
/// refuses rather than guesses.
fn timedelta(b: &Bound, dialect: &str, span: Span) -> EResult<Value> {
    const FACTORS: [i128; 7] = [
        86_400_000_000,
        1_000_000,
        1,
        1_000,
        60_000_000,
        3_600_000_000,
        604_800_000_000,
    ];
    let mut total: i128 = 0;
    for (i, factor) in FACTORS.iter().enumerate() {
        match b.get(i) {
            None => {}
            Some(Value::Int(n)) => total += *n as i128 * factor,
            Some(Value::Bool(x)) => total += *x as i128 * factor,
            Some(other) => {
                return Err(problem(
                    b.span_of(i),
                    format!(
                        "unsupported timedelta argument {}: aurora takes whole numbers here",
                        describe(other)
                    ),
                ))
            }
        }
    }
    if dialect != "postgresql" {
        return Err(problem(
            span,
            format!("datetime.timedelta values are supported on PostgreSQL only; on {dialect} SQLAlchemy stores an Interval as a datetime since the epoch: write that datetime instead"),
        ));
    }
    let days = total.div_euclid(86_400_000_000);
    let rest = total.rem_euclid(86_400_000_000);
    if days.abs() > 999_999_999 {
        return Err(problem(
            span,
            "OverflowError: days must be in -999999999..999999999",
        ));
    }
    Ok(Value::Literal(Literal::Interval {
        days: days as i32,
        seconds: (rest / 1_000_000) as i32,
        micros: (rest % 1_000_000) as i32,
    }))
}

/// `datetime.datetime.utcfromtimestamp(seconds)` / `fromtimestamp(seconds)`
/// (the local time zone, as Python's `time.localtime`).
fn from_timestamp(seconds: f64, utc: bool, span: Span) -> EResult<Value> {
    use chrono::{Datelike, TimeZone, Timelike};
    let whole = seconds.floor() as i64;
    let micros = ((seconds - seconds.floor()) * 1e6).round() as u32;
    let naive = if utc {
        chrono::DateTime::from_timestamp(whole, 0).map(|d| d.naive_utc())
    } else {
        chrono::Local
            .timestamp_opt(whole, 0)
            .single()
            .map(|d| d.naive_local())
    }
    .ok_or_else(|| problem(span, "OverflowError: timestamp out of range"))?;
    Ok(Value::Literal(Literal::DateTime(
        naive.year() as i64,
        naive.month(),
        naive.day(),
        naive.hour(),
        naive.minute(),
        naive.second(),
        micros,
    )))
}

/// The module docstring (`__doc__`): the first statement when it is a string.
pub(crate) fn module_docstring(source: &str) -> Option<String> {
    let module = crate::syntax::body::parse_module(source).ok()?;
    match module.body.first().map(|s| &s.kind) {
        Some(StmtKind::Expr(Expr {
            kind: ExprKind::Str(s),
            ..
        })) => Some(s.clone()),
        _ => None,
    }
}

/// Evaluates module-level `names` of a revision file the way Python's
/// import of it would, each only as far as it needs (see `project`).
pub(crate) fn module_names(
    source: &str,
    ctx: &LowerContext,
    names: &[&str],
) -> Result<Vec<HeaderName>, String> {
    let mut ev = Evaluator::new(ctx);
    let module = project::revision_module(source, ctx).map_err(|e| {
        let (line, col) = crate::syntax::body::line_col(source, e.offset);
        format!(
            "{}:{line}:{col}: {}: {}",
            ctx.path.display(),
            e.kind,
            e.message
        )
    })?;
    names
        .iter()
        .map(|name| {
            if !project::has_binding(&module, name) {
                return Ok(HeaderName::Unbound);
            }
            let value = ev
                .module_global(&module, name, usize::MAX, Span::default())
                .map_err(|p| p.message)?;
            Ok(match value {
                Value::None => HeaderName::Strings(Vec::new()),
                Value::Str(s) => HeaderName::Strings(vec![s]),
                Value::Tuple(xs) | Value::List(xs)
                    if xs.iter().all(|x| matches!(x, Value::Str(_))) =>
                {
                    HeaderName::Strings(xs.into_iter().map(|x| py_str(&x)).collect())
                }
                other => HeaderName::NotStrings(describe(&other)),
            })
        })
        .collect()
}

/// What a constraint's keywords add after its body: `deferrable`/`initially`
/// when they come as keywords (`op.create_check_constraint(..., **kw)`; the
/// callers read them where they are parameters), `match`, and PostgreSQL's
/// `postgresql_not_valid` and `postgresql_include`. Another `postgresql_*`
/// keyword (but `postgresql_nulls_not_distinct`, read into the unique kind)
/// is refused: dropping it would change the constraint silently.
fn constraint_options(extra: &[(String, Value, Span)], func: &str) -> EResult<ConstraintOptions> {
    let mut options = ConstraintOptions::default();
    for (k, v, span) in extra {
        match k.as_str() {
            "deferrable" => {
                options.deferrable = match v {
                    Value::None => None,
                    v => Some(truthy(v, *span)?),
                }
            }
            "initially" | "match" => {
                let text = match v {
                    Value::None => None,
                    Value::Str(s) => Some(s.clone()),
                    other => {
                        return Err(problem(
                            *span,
                            format!("{func}(): {k} must be a string, got {}", describe(other)),
                        ))
                    }
                };
                if k == "initially" {
                    options.initially = text;
                } else {
                    options.match_ = text;
                }
            }
            "postgresql_not_valid" => options.not_valid = truthy(v, *span)?,
            "postgresql_include" => {
                options.include = match v {
                    Value::None => Vec::new(),
                    Value::List(xs) | Value::Tuple(xs) => xs
                        .iter()
                        .map(|x| match x {
                            Value::Str(s) => Ok(s.clone()),
                            other => Err(problem(
                                *span,
                                format!(
                                    "{func}(): postgresql_include takes column names, got {}",
                                    describe(other)
                                ),
                            )),
                        })
                        .collect::<EResult<_>>()?,
                    Value::Str(s) => vec![s.clone()],
                    other => {
                        return Err(problem(
                            *span,
                            format!(
                                "{func}(): postgresql_include takes a list of column names, got {}",
                                describe(other)
                            ),
                        ))
                    }
                }
            }
            "postgresql_nulls_not_distinct" => {}
            k if k.starts_with("postgresql_") => {
                return Err(problem(
                    *span,
                    format!("{func}(): the keyword {k} is not supported by aurora; remove it, or run this revision with Alembic"),
                ))
            }
            _ => {}
        }
    }
    Ok(options)
}

/// `postgresql_nulls_not_distinct=` of a unique constraint.
fn nulls_not_distinct(extra: &[(String, Value, Span)]) -> EResult<Option<bool>> {
    match extra
        .iter()
        .find(|(k, _, _)| k == "postgresql_nulls_not_distinct")
    {
        None | Some((_, Value::None, _)) => Ok(None),
        Some((_, Value::Bool(b), _)) => Ok(Some(*b)),
        Some((_, other, s)) => Err(problem(
            *s,
            format!(
                "postgresql_nulls_not_distinct must be True or False, got {}",
                describe(other)
            ),
        )),
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;

    /// Every row is found by its path, once, and refuses only parameters it has.
    #[test]
    fn signature_rows_are_unique_and_consistent() {
        for (i, s) in SIGNATURES.iter().enumerate() {
            assert!(
                SIGNATURES[..i].iter().all(|o| o.path != s.path),
                "{} twice",
                s.path
            );
            assert!(std::ptr::eq(signature(s.path), s));
            for u in s.unsupported {
                assert!(s.params.contains(u), "{}: {u} is not a parameter", s.path);
            }
        }
    }

    /// Every literal `signature("...")` in the evaluator names a row (a
    /// missing one would panic at run time).
    #[test]
    fn every_signature_looked_up_by_name_has_a_row() {
        let mut found = 0;
        for source in [include_str!("eval.rs"), include_str!("eval/plugins.rs")] {
            for piece in source.split("signature(\"").skip(1) {
                let path = &piece[..piece.find('"').expect("closing quote")];
                let is_path = path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
                if !is_path || !path.contains('.') || path.starts_with('.') {
                    continue;
                }
                assert!(
                    SIGNATURES.iter().any(|s| s.path == path),
                    "no row for {path}"
                );
                found += 1;
            }
        }
        assert!(found > 40, "{found}");
    }

    /// A keyword the table marks unsupported is refused with its call's name.
    #[test]
    fn unsupported_keywords_are_refused() {
        let args = Args {
            positional: Vec::new(),
            keywords: vec![(
                "insert_before".to_string(),
                Value::Str("x".into()),
                Span::default(),
            )],
            span: Span::default(),
        };
        let err = bind_to(&args, "op.add_column", signature("op.add_column"))
            .err()
            .expect("refused");
        assert!(err
            .message
            .starts_with("op.add_column(insert_before=...) is not supported"));
    }
}
