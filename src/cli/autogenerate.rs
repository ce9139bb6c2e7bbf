//! Autogenerate for `revision --autogenerate`, `check` and `create`: the models read from the
//! module `env.py` imports `target_metadata` from, the live schema read from the database, and
//! the comparison of the two with [`crate::autogen`].
//!
//! The live schema is read by the `db` layer's inspectors (`db::reflect::schema`: one per
//! backend); `autogen` itself never touches a database.

use std::path::Path;

use super::{Catch, CliError, Output, Project};
use crate::autogen::indexes::IndexRule;
use crate::autogen::{self, models, Op, Schema};
use crate::db::Connection;
use crate::sql::Dialect;

/// What the comparison found, with the two schemas it compared.
pub struct Comparison {
    /// The operations of the upgrade, in Alembic's order.
    pub ops: Vec<Op>,
    /// The target schema, from the models.
    pub metadata: Schema,
    /// The live schema.
    pub database: Schema,
    /// What env.py's `process_revision_directives` decided.
    pub directives: Directives,
    /// `render_as_batch=True`: operations render inside `batch_alter_table`.
    pub render_as_batch: bool,
    /// The template variables the rendered upgrade and downgrade go into
    /// (`upgrade_token`/`downgrade_token`; `upgrades`/`downgrades` by default).
    pub upgrade_token: String,
    pub downgrade_token: String,
    /// `configure(template_args=...)` of this run.
    pub template_args: Option<crate::interp::Value>,
    /// Import lines env.py's `render_item` added to `autogen_context.imports`.
    pub imports: Vec<String>,
}

/// Runs the comparison as Alembic's `RevisionContext.run_autogenerate` does: the database must
/// be at the heads of the script directory, then the models are compared with it. One
/// comparison per `context.run_migrations()` env.py makes: the multidb template runs one per
/// database, each with its own connection, `target_metadata` and tokens.
pub fn compare(
    project: &mut Project,
    out: &mut Output,
    for_revision: bool,
) -> Result<Vec<Comparison>, CliError> {
    // `config.cmd_opts` of `revision --autogenerate`; `check` has no autogenerate option
    // (env.py's recipes read it with getattr(..., False)).
    let mut command = super::environment::command_line(
        if for_revision { "revision" } else { "check" },
        false,
        None,
        None,
    );
    command.cmd_opts.retain(|(k, _)| k != "autogenerate");
    command.cmd_opts.push((
        "autogenerate".into(),
        crate::interp::Value::Bool(for_revision),
    ));
    let mut found: Vec<Comparison> = Vec::new();
    // The one MigrationScript directive of the command: each run_migrations() adds its
    // UpgradeOps to it before the hook runs, as Alembic's RevisionContext does.
    let mut directive: Option<std::rc::Rc<ScriptDirective>> = None;
    super::environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |project, out, context, conn, hooks| {
            let conn = conn.ok_or_else(|| {
                CliError::Crash("autogenerate needs a database connection".into())
            })?;
            for line in crate::db::context_log_lines(context.dialect) {
                out.log("alembic.runtime.migration", &line);
            }
            let heads = crate::db::current_heads(conn, &context.version_table)
                .map_err(|e| CliError::Crash(e.to_string()))?;
            if heads.is_empty() {
                crate::db::ensure_version_table(conn, &context.version_table)
                    .map_err(|e| CliError::Crash(e.to_string()))?;
            }
            if found.last().is_some_and(|c: &Comparison| c.directives.skip) {
                // Alembic's next run_migrations() reads generated_revisions[-1] of the list
                // the hook emptied.
                return Err(CliError::Crash(
                    "IndexError: list index out of range (process_revision_directives emptied \
                     the directives before the last context.run_migrations())"
                        .into(),
                ));
            }
            found.push(compare_in_env(
                project,
                out,
                &heads,
                conn,
                &context.version_table,
                hooks,
                for_revision,
                &mut directive,
            )?);
            Ok(())
        },
    )?;
    if found.is_empty() {
        return Err(CliError::Crash(
            "env.py did not call context.run_migrations(), so nothing was compared".into(),
        ));
    }
    Ok(found)
}

fn compare_in_env(
    project: &mut Project,
    out: &mut Output,
    heads: &[String],
    conn: &mut dyn Connection,
    version: &crate::sql::version::VersionTable,
    hooks: &mut super::environment::Hooks<'_, '_>,
    for_revision: bool,
    directive: &mut Option<std::rc::Rc<ScriptDirective>>,
) -> Result<Comparison, CliError> {
    let catch = Catch::default();
    project.choose_squash_views(heads)?;
    let map = project.map(&catch)?;
    let mut at = map.get_revisions_many(heads).map_err(|e| catch.word(e))?;
    let mut all = map.get_revisions("heads").map_err(|e| catch.word(e))?;
    at.sort_unstable();
    at.dedup();
    all.sort_unstable();
    all.dedup();
    if at != all {
        return Err(CliError::failed("Target database is not up to date."));
    }

    // Alembic's AutogenContext sets up the comparator plugins before it looks at
    // target_metadata.
    for plugin in AUTOGENERATE_PLUGINS {
        out.log(
            "alembic.runtime.plugins",
            &format!("setting up autogenerate plugin {plugin}"),
        );
    }
    let configured = hooks.configured.clone().unwrap_or_default();
    let metadata = env_models(project, hooks, conn.dialect())?;
    // The schemas compared (Alembic's `_produce_net_changes`): the default one (`None`),
    // and with include_schemas=True every other but the system ones; include_name sees
    // each and may leave it out.
    let mut schemas = if configured.include_schemas {
        crate::db::reflect::schema_names(conn).map_err(|e| CliError::failed(e.to_string()))?
    } else {
        vec![None]
    };
    if let Some(include) = &configured.include_name {
        let mut kept = Vec::new();
        for s in schemas {
            if include_name(hooks, include, s.as_deref(), "schema", None, None)? {
                kept.push(s);
            }
        }
        schemas = kept;
    }
    let database = live_schemas(conn, out, &schemas)?;
    for (option, value, default) in [
        (
            "alembic_module_prefix",
            &configured.alembic_module_prefix,
            "op.",
        ),
        (
            "sqlalchemy_module_prefix",
            &configured.sqlalchemy_module_prefix,
            "sa.",
        ),
    ] {
        if let Some(value) = value.as_deref().filter(|v| *v != default) {
            return Err(CliError::Crash(format!(
                "env.py: configure({option}={value:?}) is not supported for autogenerate; aurora \
                 renders with Alembic's default {default:?} (remove the option for this run)"
            )));
        }
    }
    // The reflected objects include_name keeps are compared; the reflected
    // tables stay whole for the reprs `check` prints, as Alembic's do.
    let mut compared = database.clone();
    if let Some(include) = &configured.include_name {
        filter_names(&mut compared, &metadata, version, include, hooks)?;
    }
    let mut options = autogen::CompareOptions {
        comments: conn.dialect() == Dialect::Postgresql,
        default_schema: current_schema(conn)?,
        version_table_schema: version.schema.clone(),
        index_rule: match conn.dialect() {
            Dialect::Postgresql => IndexRule::Postgresql,
            Dialect::Sqlite => IndexRule::Generic,
        },
        ..Default::default()
    };
    match &configured.compare_server_default {
        None | Some(crate::interp::Value::None) | Some(crate::interp::Value::Bool(false)) => {}
        Some(crate::interp::Value::Bool(true)) if conn.dialect() == Dialect::Sqlite => {
            options.server_default = true;
        }
        Some(other) => {
            return Err(CliError::Crash(format!(
                "env.py: configure(compare_server_default={}) is not supported for autogenerate                  {}; aurora compares server defaults with SQLite's rule only (remove the option                  for this run)",
                match other {
                    crate::interp::Value::Bool(true) => "True".to_string(),
                    v => format!("<{}>", v.type_name()),
                },
                if conn.dialect() == Dialect::Postgresql {
                    "on PostgreSQL"
                } else {
                    "as a function"
                }
            )))
        }
    }
    refuse_computed_nullable_changes(&metadata, &compared)?;
    let metadata = match conn.dialect() {
        Dialect::Sqlite => skip_expression_indexes(metadata, &compared, out),
        Dialect::Postgresql => metadata,
    };
    let mut ops = autogen::compare_with_options(&metadata, &compared, &version.name, &options);
    if let Some(compare_type) = &configured.compare_type {
        match compare_type {
            crate::interp::Value::Bool(true) => {}
            crate::interp::Value::Bool(false) => ops = without_type_changes(ops),
            other => {
                return Err(CliError::Crash(format!(
                    "env.py: configure(compare_type=<{}>): aurora compares types itself; only True or False",
                    other.type_name()
                )))
            }
        }
    }
    if let Some(include) = &configured.include_object {
        ops = filter_included(ops, include, hooks)?;
    }
    for op in &ops {
        log_op(out, op, None, options.index_rule);
    }
    let directives = match &configured.process_revision_directives {
        Some(f) => run_revision_directives(f, &ops, hooks, directive)?,
        None => Directives::default(),
    };
    // Alembic calls render_item while it renders the revision (never for `check`).
    let imports = match &configured.render_item {
        Some(f) if for_revision && !directives.skip => {
            apply_render_item(&mut ops, &metadata, f, hooks)?
        }
        _ => Vec::new(),
    };
    Ok(Comparison {
        ops,
        metadata,
        database,
        directives,
        render_as_batch: configured.render_as_batch,
        upgrade_token: configured
            .upgrade_token
            .clone()
            .unwrap_or_else(|| "upgrades".into()),
        downgrade_token: configured
            .downgrade_token
            .clone()
            .unwrap_or_else(|| "downgrades".into()),
        template_args: configured.template_args.clone(),
        imports,
    })
}

/// A generated (`Computed`) column whose nullability differs between the models and the
/// database: Alembic ignores the change when the model column's nullability was not given
/// explicitly (`_nullability_might_be_unset`), which aurora's models do not record.
/// Alembic's SQLite `_skip_functional_indexes`: SQLAlchemy cannot reflect an index on an
/// expression from SQLite, so a model index with an expression element is left out of
/// the comparison, with Alembic's warning, unless the database has an index of its name.
fn skip_expression_indexes(mut metadata: Schema, database: &Schema, out: &mut Output) -> Schema {
    for table in &mut metadata.tables {
        let reflected = database.table_in(table.schema.as_deref(), &table.name);
        let mut skipped: Vec<String> = Vec::new();
        table.indexes.retain(|ix| {
            let in_database =
                reflected.is_some_and(|t| t.indexes.iter().any(|r| r.name == ix.name));
            let skip = ix.has_expressions() && !in_database;
            if skip {
                skipped.push(ix.name.clone());
            }
            !skip
        });
        skipped.sort();
        for name in skipped {
            out.python_warning(
                "UserWarning",
                &format!(
                    "autogenerate skipping metadata-specified expression-based index {}; \
                     dialect 'sqlite' under SQLAlchemy {SQLALCHEMY_VERSION} can't reflect these \
                     indexes so they can't be compared",
                    crate::template::repr_str(&name)
                ),
            );
        }
    }
    metadata
}

/// The SQLAlchemy release whose behaviour aurora reproduces, as its warnings name it.
const SQLALCHEMY_VERSION: &str = "2.1.9";

fn refuse_computed_nullable_changes(metadata: &Schema, database: &Schema) -> Result<(), CliError> {
    let computed = |c: &autogen::Column| {
        c.generated
            .as_deref()
            .is_some_and(|g| g.starts_with("sa.Computed("))
    };
    for table in &metadata.tables {
        let Some(db) = database.table_in(table.schema.as_deref(), &table.name) else {
            continue;
        };
        for column in &table.columns {
            let Some(existing) = db.columns.iter().find(|c| c.name == column.name) else {
                continue;
            };
            if (computed(column) || computed(existing))
                && column.nullable != existing.nullable
                && !column.primary_key
            {
                return Err(CliError::failed(format!(
                    "generated column '{}.{}' is {} in the models and {} in the database; \
                     aurora cannot tell whether Alembic would ignore this nullability change \
                     (it does when the model leaves nullable= unset); give the model column \
                     the database's nullability, or alter it by hand",
                    table.key(),
                    column.name,
                    if column.nullable { "NULL" } else { "NOT NULL" },
                    if existing.nullable {
                        "NULL"
                    } else {
                        "NOT NULL"
                    }
                )));
            }
        }
    }
    Ok(())
}

/// `autogen_context` as render_item receives it: `imports` is the set of import lines the
/// revision file gets.
struct AutogenContext {
    imports: crate::interp::Value,
    migration_context: crate::interp::Value,
}

impl crate::interp::Native for AutogenContext {
    fn type_name(&self) -> String {
        "AutogenContext".into()
    }
    fn get_attr(
        self: std::rc::Rc<Self>,
        _: &mut crate::interp::Interp<'_>,
        name: &str,
    ) -> crate::interp::PyResult<Option<crate::interp::Value>> {
        Ok(match name {
            "imports" => Some(self.imports.clone()),
            "migration_context" => Some(self.migration_context.clone()),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Calls env.py's `render_item(type_, obj, autogen_context)` for the columns, server defaults
/// and types the revision renders, as Alembic's renderer does, and keeps each string it
/// returns as that item's text (`False` keeps Alembic's own rendering). Returns the import
/// lines it added to `autogen_context.imports`.
fn apply_render_item(
    ops: &mut [Op],
    metadata: &Schema,
    f: &crate::interp::Value,
    hooks: &mut super::environment::Hooks<'_, '_>,
) -> Result<Vec<String>, CliError> {
    use crate::interp::{Args, Value};
    let imports = Value::Set(std::rc::Rc::new(std::cell::RefCell::new(Vec::new())));
    let context = Value::native(AutogenContext {
        imports: imports.clone(),
        migration_context: hooks.migration_context(),
    });
    let mut render = |hooks: &mut super::environment::Hooks<'_, '_>,
                      kind: &str,
                      obj: Value|
     -> Result<Option<String>, CliError> {
        let result = hooks.call(f, Args::new(vec![Value::str(kind), obj, context.clone()]))?;
        Ok(match result {
            Value::Bool(false) => None,
            Value::Str(s) => Some(s.to_string()),
            other => Some(other.to_str()),
        })
    };
    // The Python object of a model column's type: its value, instantiated when a class.
    let type_object = |hooks: &mut super::environment::Hooks<'_, '_>,
                       column: &autogen::Column|
     -> Result<Value, CliError> {
        let given = column
            .model_id
            .and_then(models::model_column)
            .and_then(|m| m.ty);
        match given {
            Some(Value::Class(c)) => hooks.call(&Value::Class(c), Args::default()),
            Some(v) => Ok(v),
            None => Ok(reflected_type_object(&column.ty)),
        }
    };
    fn model_column(
        hooks: &mut super::environment::Hooks<'_, '_>,
        column: &mut autogen::Column,
        render: &mut RenderItem<'_>,
        type_object: &TypeObject<'_>,
    ) -> Result<(), CliError> {
        let declared = column.model_id.and_then(models::model_column);
        let column_value = declared.as_ref().map_or(Value::None, |m| m.column.clone());
        if let Some(text) = render(hooks, "column", column_value)? {
            column.rendered = Some(text);
            return Ok(());
        }
        if column.server_default.is_some() {
            let default = declared
                .as_ref()
                .and_then(|m| m.server_default.clone())
                .unwrap_or(Value::None);
            if let Some(text) = render(hooks, "server_default", default)? {
                column.server_default = Some(text);
            }
        }
        let obj = type_object(hooks, column)?;
        if let Some(text) = render(hooks, "type", obj)? {
            column.ty = autogen::ColumnType::Rendered {
                text,
                base: Box::new(column.ty.clone()),
            };
        }
        Ok(())
    }
    for op in ops.iter_mut() {
        let (schema, inner): (Option<String>, Vec<&mut Op>) = match op {
            Op::ModifyTable { ops, schema, .. } => (schema.clone(), ops.iter_mut().collect()),
            other => (None, vec![other]),
        };
        for op in inner {
            match op {
                Op::CreateTable(t) => {
                    for column in &mut t.columns {
                        model_column(hooks, column, &mut render, &type_object)?;
                    }
                }
                Op::AddColumn { column, .. } => {
                    model_column(hooks, column, &mut render, &type_object)?;
                }
                Op::AlterColumn(alter) => {
                    let obj = reflected_type_object(&alter.existing_type);
                    if let Some(text) = render(hooks, "type", obj)? {
                        alter.existing_type = autogen::ColumnType::Rendered {
                            text,
                            base: Box::new(alter.existing_type.clone()),
                        };
                    }
                    if let Some(ty) = alter.modify_type.clone() {
                        let declared = metadata
                            .table_in(schema.as_deref(), &alter.table)
                            .and_then(|t| t.columns.iter().find(|c| c.name == alter.column));
                        let obj = match declared {
                            Some(c) => type_object(hooks, c)?,
                            None => reflected_type_object(&ty),
                        };
                        if let Some(text) = render(hooks, "type", obj)? {
                            alter.modify_type = Some(autogen::ColumnType::Rendered {
                                text,
                                base: Box::new(ty),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let Value::Set(items) = imports else {
        unreachable!("made as a set")
    };
    let lines = items.borrow().iter().map(Value::to_str).collect();
    Ok(lines)
}

/// One `render_item(kind, obj, autogen_context)` call: the text it returned, if any.
type RenderItem<'f> = dyn FnMut(
        &mut super::environment::Hooks<'_, '_>,
        &str,
        crate::interp::Value,
    ) -> Result<Option<String>, CliError>
    + 'f;

/// The Python object of a model column's type.
type TypeObject<'f> = dyn Fn(
        &mut super::environment::Hooks<'_, '_>,
        &autogen::Column,
    ) -> Result<crate::interp::Value, CliError>
    + 'f;

/// A stand-in for a SQLAlchemy type object render_item receives (`isinstance` against the
/// project's own classes is false for it, as for SQLAlchemy's types).
fn reflected_type_object(ty: &autogen::ColumnType) -> crate::interp::Value {
    let text = autogen::diff::type_repr(ty);
    let name = text.split('(').next().unwrap_or(&text).to_string();
    crate::interp::Value::native(crate::env::schema::Construct {
        name,
        args: Some(crate::interp::Args::default()),
        at: None,
        receiver: None,
    })
}

/// What `process_revision_directives` left: whether a revision is still
/// written, and a rev id it set.
#[derive(Debug, Default, Clone)]
pub struct Directives {
    pub skip: bool,
    pub rev_id: Option<String>,
    pub message: Option<String>,
}

/// Calls `process_revision_directives(context, revision, directives)` with
/// one script directive; the recipes read `upgrade_ops.is_empty()`, set
/// `rev_id` or `message`, or empty the list.
fn run_revision_directives(
    f: &crate::interp::Value,
    ops: &[Op],
    hooks: &mut super::environment::Hooks<'_, '_>,
    directive: &mut Option<std::rc::Rc<ScriptDirective>>,
) -> Result<Directives, CliError> {
    use crate::interp::{Args, Dict, Value};
    let script = directive
        .get_or_insert_with(|| {
            std::rc::Rc::new(ScriptDirective {
                empties: std::cell::RefCell::new(Vec::new()),
                attrs: std::cell::RefCell::new(Dict::default()),
            })
        })
        .clone();
    script.empties.borrow_mut().push(ops.is_empty());
    let directives = Value::list(vec![Value::Native(script.clone())]);
    let revision = Value::tuple(vec![]);
    let context = hooks.migration_context();
    hooks.call(f, Args::new(vec![context, revision, directives.clone()]))?;
    let Value::List(items) = &directives else {
        unreachable!("a list")
    };
    let items = items.borrow();
    if items.is_empty() {
        return Ok(Directives {
            skip: true,
            ..Default::default()
        });
    }
    if items.len() > 1 || !items[0].is(&Value::Native(script.clone())) {
        return Err(CliError::Crash(
            "env.py: process_revision_directives replaced the script directive; aurora supports emptying the list and setting rev_id/message"
                .into(),
        ));
    }
    let attrs = script.attrs.borrow();
    Ok(Directives {
        skip: false,
        rev_id: attrs.get_str("rev_id").map(|v| v.to_str()),
        message: attrs.get_str("message").map(|v| v.to_str()),
    })
}

/// The `MigrationScript` directive handed to `process_revision_directives`.
struct ScriptDirective {
    /// Whether each `UpgradeOps` so far (one per `run_migrations()`) is empty.
    empties: std::cell::RefCell<Vec<bool>>,
    attrs: std::cell::RefCell<crate::interp::Dict>,
}

impl crate::interp::Native for ScriptDirective {
    fn type_name(&self) -> String {
        "MigrationScript".into()
    }
    fn get_attr(
        self: std::rc::Rc<Self>,
        _: &mut crate::interp::Interp<'_>,
        name: &str,
    ) -> crate::interp::PyResult<Option<crate::interp::Value>> {
        use crate::interp::Value;
        if let Some(v) = self.attrs.borrow().get_str(name) {
            return Ok(Some(v));
        }
        let empties = self.empties.borrow().clone();
        Ok(match name {
            "upgrade_ops" | "downgrade_ops" => match empties.as_slice() {
                [empty] => Some(Value::native(OpsDirective(*empty))),
                _ => {
                    let kind = if name == "upgrade_ops" {
                        "UpgradeOps"
                    } else {
                        "DowngradeOps"
                    };
                    return Err(crate::interp::PyError::new(
                        "ValueError",
                        format!(
                            "This MigrationScript instance has a multiple-entry list for \
                             {kind}; please use the {name}_list attribute."
                        ),
                    ));
                }
            },
            "upgrade_ops_list" | "downgrade_ops_list" => Some(Value::list(
                empties
                    .iter()
                    .map(|e| Value::native(OpsDirective(*e)))
                    .collect(),
            )),
            "rev_id" | "message" | "head" | "branch_label" | "version_path" | "depends_on" => {
                Some(Value::None)
            }
            _ => None,
        })
    }
    fn set_attr(
        &self,
        _: &mut crate::interp::Interp<'_>,
        name: &str,
        value: crate::interp::Value,
    ) -> crate::interp::PyResult<bool> {
        if name != "rev_id" && name != "message" {
            return Err(crate::interp::PyError::unsupported(format!(
                "setting MigrationScript.{name} in process_revision_directives"
            )));
        }
        self.attrs
            .borrow_mut()
            .insert(crate::interp::Value::str(name), value);
        Ok(true)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `upgrade_ops` / `downgrade_ops`: only `is_empty()` is offered.
struct OpsDirective(bool);

impl crate::interp::Native for OpsDirective {
    fn type_name(&self) -> String {
        "UpgradeOps".into()
    }
    fn get_attr(
        self: std::rc::Rc<Self>,
        _: &mut crate::interp::Interp<'_>,
        name: &str,
    ) -> crate::interp::PyResult<Option<crate::interp::Value>> {
        let empty = self.0;
        Ok(match name {
            "is_empty" => Some(crate::interp::Value::builtin("is_empty", move |_, _| {
                Ok(crate::interp::Value::Bool(empty))
            })),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The comparison without type changes (`compare_type=False`).
fn without_type_changes(ops: Vec<Op>) -> Vec<Op> {
    ops.into_iter()
        .filter_map(|op| match op {
            Op::AlterColumn(mut alter) => {
                alter.modify_type = None;
                alter
                    .modify_nullable
                    .is_some()
                    .then_some(Op::AlterColumn(alter))
            }
            Op::ModifyTable { table, schema, ops } => {
                let ops = without_type_changes(ops);
                (!ops.is_empty()).then_some(Op::ModifyTable { table, schema, ops })
            }
            other => Some(other),
        })
        .collect()
}

/// One `include_name(name, type_, parent_names)` call, with the parent names Alembic's
/// `AutogenContext.run_name_filters` gives: none for a schema; `schema_name` and
/// `schema_qualified_table_name` for a table; `table_name` too for what is in a table.
fn include_name(
    hooks: &mut super::environment::Hooks<'_, '_>,
    include: &crate::interp::Value,
    name: Option<&str>,
    kind: &str,
    schema: Option<&str>,
    table: Option<&str>,
) -> Result<bool, CliError> {
    use crate::interp::{Args, Dict, Value};
    let mut parents = Dict::default();
    if kind != "schema" {
        let table_name = if kind == "table" { name } else { table };
        if kind != "table" {
            parents.insert(
                Value::str("table_name"),
                Value::str(table.unwrap_or_default()),
            );
        }
        parents.insert(
            Value::str("schema_name"),
            Value::opt_str(schema.map(str::to_string)),
        );
        if let Some(t) = table_name.filter(|t| !t.is_empty()) {
            parents.insert(
                Value::str("schema_qualified_table_name"),
                Value::str(autogen::table_key(schema, t)),
            );
        }
    }
    let result = hooks.call(
        include,
        Args::new(vec![
            Value::opt_str(name.map(str::to_string)),
            Value::str(kind),
            Value::dict(parents),
        ]),
    )?;
    Ok(result.truthy())
}

/// Applies `include_name(name, type_, parent_names)` to the reflected side, as
/// Alembic's `AutogenContext.run_name_filters` does (the schemas were asked
/// before they were reflected): each table but the version table, then the
/// columns, unique constraints, indexes and foreign keys of the tables the
/// models also have (indexes and unique constraints of tables about to be
/// dropped too). A name it rejects is treated as absent from the database, so
/// a model object of that name is added again, as in Alembic.
fn filter_names(
    database: &mut Schema,
    metadata: &Schema,
    version: &crate::sql::version::VersionTable,
    include: &crate::interp::Value,
    hooks: &mut super::environment::Hooks<'_, '_>,
) -> Result<(), CliError> {
    let is_version = |t: &autogen::Table| t.schema == version.schema && t.name == version.name;
    let mut kept = Vec::new();
    for table in std::mem::take(&mut database.tables) {
        if is_version(&table)
            || include_name(
                hooks,
                include,
                Some(&table.name),
                "table",
                table.schema.as_deref(),
                None,
            )?
        {
            kept.push(table);
        }
    }
    for table in &mut kept {
        if is_version(table) {
            continue;
        }
        let name = table.name.clone();
        let schema = table.schema.clone();
        let schema = schema.as_deref();
        let ask = |hooks: &mut super::environment::Hooks<'_, '_>,
                   object: Option<&str>,
                   kind: &str|
         -> Result<bool, CliError> {
            include_name(hooks, include, object, kind, schema, Some(&name))
        };
        let in_models = metadata.table_in(schema, &name).is_some();
        if in_models {
            let mut columns = Vec::new();
            for c in std::mem::take(&mut table.columns) {
                if ask(hooks, Some(&c.name), "column")? {
                    columns.push(c);
                }
            }
            table.columns = columns;
        }
        let mut uniques = Vec::new();
        for u in std::mem::take(&mut table.uniques) {
            if ask(hooks, u.name.as_deref(), "unique_constraint")? {
                uniques.push(u);
            }
        }
        table.uniques = uniques;
        let mut indexes = Vec::new();
        for i in std::mem::take(&mut table.indexes) {
            if ask(hooks, Some(&i.name), "index")? {
                indexes.push(i);
            }
        }
        table.indexes = indexes;
        if in_models {
            let mut fks = Vec::new();
            for f in std::mem::take(&mut table.foreign_keys) {
                if ask(hooks, f.name.as_deref(), "foreign_key_constraint")? {
                    fks.push(f);
                }
            }
            table.foreign_keys = fks;
        }
    }
    database.tables = kept;
    Ok(())
}

/// Keeps the operations whose objects `include_object(object, name, type_,
/// reflected, compare_to)` accepts; a table it rejects takes its columns,
/// indexes and constraints with it.
fn filter_included(
    ops: Vec<Op>,
    include: &crate::interp::Value,
    hooks: &mut super::environment::Hooks<'_, '_>,
) -> Result<Vec<Op>, CliError> {
    filter_included_in(ops, None, include, hooks)
}

/// [`filter_included`] for the operations of a table in `schema` (a `ModifyTable`'s).
fn filter_included_in(
    ops: Vec<Op>,
    schema: Option<&str>,
    include: &crate::interp::Value,
    hooks: &mut super::environment::Hooks<'_, '_>,
) -> Result<Vec<Op>, CliError> {
    use crate::interp::{Args, Dict, Value};
    let mut verdicts: std::collections::HashMap<(String, String, bool), bool> = Default::default();
    let mut ask = |hooks: &mut super::environment::Hooks<'_, '_>,
                   name: &str,
                   kind: &str,
                   table: Option<&str>,
                   schema: Option<&str>,
                   reflected: bool|
     -> Result<bool, CliError> {
        let key = (
            format!("{}.{}.{name}", schema.unwrap_or(""), table.unwrap_or("")),
            kind.to_string(),
            reflected,
        );
        if let Some(v) = verdicts.get(&key) {
            return Ok(*v);
        }
        let mut attrs = Dict::default();
        attrs.insert(Value::str("name"), Value::str(name));
        if table.is_none() {
            attrs.insert(
                Value::str("schema"),
                Value::opt_str(schema.map(str::to_string)),
            );
        }
        if let Some(t) = table {
            let mut t_attrs = Dict::default();
            t_attrs.insert(Value::str("name"), Value::str(t));
            t_attrs.insert(
                Value::str("schema"),
                Value::opt_str(schema.map(str::to_string)),
            );
            attrs.insert(
                Value::str("table"),
                Value::native(crate::env::alembic::Namespace(t_attrs)),
            );
        }
        let object = Value::native(crate::env::alembic::Namespace(attrs));
        let result = hooks.call(
            include,
            Args::new(vec![
                object,
                Value::str(name),
                Value::str(kind),
                Value::Bool(reflected),
                Value::None,
            ]),
        )?;
        let keep = result.truthy();
        verdicts.insert(key, keep);
        Ok(keep)
    };
    let mut out = Vec::new();
    for op in ops {
        let op_schema: Option<String> = match &op {
            Op::CreateTable(t) | Op::DropTable(t) => t.schema.clone(),
            Op::ModifyTable { schema, .. } => schema.clone(),
            _ => schema.map(str::to_string),
        };
        let (table, object): (&str, Option<(&str, &'static str, bool)>) = match &op {
            Op::CreateTable(t) => (&t.name, None),
            Op::DropTable(t) => (&t.name, None),
            Op::AddColumn { table, column } => (table, Some((&column.name, "column", false))),
            Op::DropColumn { table, column } => (table, Some((&column.name, "column", true))),
            Op::AlterColumn(a) => (&a.table, Some((&a.column, "column", true))),
            Op::CreateIndex { table, index } => (table, Some((&index.name, "index", false))),
            Op::DropIndex { table, index } => (table, Some((&index.name, "index", true))),
            Op::AddUnique { table, unique } => (
                table,
                Some((
                    unique.name.as_deref().unwrap_or(""),
                    "unique_constraint",
                    false,
                )),
            ),
            Op::DropUnique { table, unique } => (
                table,
                Some((
                    unique.name.as_deref().unwrap_or(""),
                    "unique_constraint",
                    true,
                )),
            ),
            Op::AddForeignKey { table, foreign_key } => (
                table,
                Some((
                    foreign_key.name.as_deref().unwrap_or(""),
                    "foreign_key_constraint",
                    false,
                )),
            ),
            Op::DropForeignKey { table, foreign_key } => (
                table,
                Some((
                    foreign_key.name.as_deref().unwrap_or(""),
                    "foreign_key_constraint",
                    true,
                )),
            ),
            Op::ModifyTable { table, .. } | Op::TableComment { table, .. } => (table, None),
        };
        let table_reflected = matches!(op, Op::DropTable(_));
        let table = table.to_string();
        let object = object.map(|(n, k, r)| (n.to_string(), k, r));
        let op_schema = op_schema.as_deref();
        if !ask(hooks, &table, "table", None, op_schema, table_reflected)? {
            continue;
        }
        match op {
            Op::ModifyTable { table, schema, ops } => {
                let inner = filter_included_in(ops, schema.as_deref(), include, hooks)?;
                if !inner.is_empty() {
                    out.push(Op::ModifyTable {
                        table,
                        schema,
                        ops: inner,
                    });
                }
            }
            other => {
                if let Some((name, kind, reflected)) = object {
                    if !ask(hooks, &name, kind, Some(&table), op_schema, reflected)? {
                        continue;
                    }
                }
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// The models behind env.py's `target_metadata`: the `MetaData` values the
/// interpreter built while env.py imported the project's models, read into a
/// [`Schema`] by [`models::schema_from_metadata`]. `models = path` in
/// `[aurora]` overrides: that file runs as a module in env.py's interpreter
/// (or a fresh one when the `[aurora]` section replaces env.py) and the
/// `MetaData` its globals reach is read.
fn env_models(
    project: &mut Project,
    hooks: &mut super::environment::Hooks<'_, '_>,
    dialect: Dialect,
) -> Result<Schema, CliError> {
    use crate::interp::Value;
    let metadatas: Vec<Value> = match project.config.section_option("aurora", "models")? {
        Some(path) => {
            let path = crate::config::absolute(&project.config.here(), Path::new(&path));
            hooks.run_models_file(&path)?
        }
        None => {
            let target = hooks
                .configured
                .as_ref()
                .map(|c| c.target_metadata.clone())
                .unwrap_or_default();
            match &target {
                Value::None => {
                    let env_path = project.script_directory()?.dir.join("env.py");
                    return Err(CliError::failed(format!(
                        "Can't proceed with --autogenerate option; environment script {} does not provide \
                         a MetaData object or sequence of objects to the context.",
                        env_path.display()
                    )));
                }
                Value::List(l) => l.borrow().clone(),
                Value::Tuple(t) => t.as_ref().clone(),
                other => vec![other.clone()],
            }
        }
    };
    let prefix = hooks
        .configured
        .as_ref()
        .and_then(|c| c.user_module_prefix.clone());
    let mut schema =
        models::schema_from_metadata(&metadatas, prefix.as_deref(), dialect).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            CliError::failed(format!(
                "aurora cannot read these model constructs:\n{}",
                lines.join("\n")
            ))
        })?;
    let mut conventions = metadatas
        .iter()
        .map(super::environment::naming_convention)
        .collect::<Vec<_>>();
    conventions.dedup();
    match conventions.as_slice() {
        [] | [None] => {}
        [Some(convention)] => apply_naming_convention(&mut schema, convention)?,
        _ => {
            return Err(CliError::Crash(
                "env.py: target_metadata is several MetaData objects with different naming \
                 conventions; aurora applies one convention to all tables; give them the same \
                 naming_convention"
                    .into(),
            ))
        }
    }
    Ok(schema)
}

/// Names the models' constraints and indexes from env.py's naming convention as SQLAlchemy
/// does when they join their table (`sqlalchemy/sql/naming.py`), with the evaluation the
/// revision runner uses ([`crate::ops::Convention::name_for`]); a name it makes is a `conv`,
/// rendered as `op.f('...')`.
fn apply_naming_convention(
    schema: &mut Schema,
    convention: &crate::ops::Convention,
) -> Result<(), CliError> {
    use crate::ops::ConventionKind as Kind;
    let fail = |table: &str, what: &str, e: String| {
        CliError::Crash(format!(
            "env.py: the naming convention of target_metadata cannot name {what} of table '{table}': {e}"
        ))
    };
    for table in &mut schema.tables {
        let t = table.name.clone();
        let pk: Vec<String> = table
            .primary_key()
            .into_iter()
            .map(str::to_string)
            .collect();
        if !pk.is_empty() && table.primary_key_name.is_none() {
            table.primary_key_name = convention
                .name_for(Kind::Pk, None, &t, &pk, None)
                .map_err(|e| fail(&t, "the primary key", e))?;
        }
        for uq in &mut table.uniques {
            let what = format!("the unique constraint on ({})", uq.columns.join(", "));
            if let Some(name) = convention
                .name_for(Kind::Uq, uq.name.as_deref(), &t, &uq.columns, None)
                .map_err(|e| fail(&t, &what, e))?
            {
                uq.name = Some(name);
                uq.generated_name = true;
            }
        }
        for fk in &mut table.foreign_keys {
            let what = format!("the foreign key on ({})", fk.columns.join(", "));
            let referred = Some((fk.ref_table.as_str(), fk.ref_columns.as_slice()));
            if let Some(name) = convention
                .name_for(Kind::Fk, fk.name.as_deref(), &t, &fk.columns, referred)
                .map_err(|e| fail(&t, &what, e))?
            {
                fk.name = Some(name);
                fk.generated_name = true;
            }
        }
        for ck in &mut table.checks {
            let what = format!("the CHECK constraint {:?}", ck.sqltext);
            // A CHECK given as SQL text has no columns for SQLAlchemy.
            if let Some(name) = convention
                .name_for(Kind::Ck, ck.name.as_deref(), &t, &[], None)
                .map_err(|e| fail(&t, &what, e))?
            {
                ck.name = Some(name);
                ck.generated_name = true;
            }
        }
        for ix in &mut table.indexes {
            // `index=True` (generated_name) has no name of its own until the convention
            // gives it one; models name it with SQLAlchemy's default beforehand.
            let current = (!ix.generated_name).then(|| ix.name.clone());
            let what = format!("the index on ({})", ix.columns.join(", "));
            match convention
                .name_for(Kind::Ix, current.as_deref(), &t, &ix.columns, None)
                .map_err(|e| fail(&t, &what, e))?
            {
                Some(name) => {
                    ix.name = name;
                    ix.generated_name = true;
                }
                None if current.is_none() => {
                    return Err(fail(
                        &t,
                        &what,
                        "the convention has no \"ix\" key, so SQLAlchemy leaves this index=True index unnamed; add \"ix\" to the convention".into(),
                    ))
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// The `Detected ...` lines Alembic logs while comparing, each under the logger of the
/// comparator module that finds it (`alembic.autogenerate.compare.tables`, `.types`,
/// `.constraints`).
/// `schema` is that of the `ModifyTable` the operation is in: the added and removed tables,
/// columns and foreign keys name their table with it, the rest without.
fn log_op(out: &mut Output, op: &Op, schema: Option<&str>, index_rule: IndexRule) {
    use crate::template::repr_str;
    let qualified = |table: &str| autogen::table_key(schema, table);
    let (logger, line) = match op {
        Op::CreateTable(t) => (
            TABLES_LOGGER,
            format!("Detected added table {}", repr_str(&t.key())),
        ),
        Op::DropTable(t) => (
            TABLES_LOGGER,
            format!("Detected removed table {}", repr_str(&t.key())),
        ),
        Op::AddColumn { table, column } => (
            TABLES_LOGGER,
            format!(
                "Detected added column '{}.{}'",
                qualified(table),
                column.name
            ),
        ),
        Op::DropColumn { table, column } => (
            TABLES_LOGGER,
            format!(
                "Detected removed column '{}.{}'",
                qualified(table),
                column.name
            ),
        ),
        Op::CreateIndex { index, .. } => (
            CONSTRAINTS_LOGGER,
            format!(
                "Detected added index {} on '{}'",
                repr_str(&index.name),
                autogen::indexes::str_tuple_repr(&index.columns)
            ),
        ),
        Op::DropIndex { table, index } => (
            CONSTRAINTS_LOGGER,
            format!(
                "Detected removed index {} on {}",
                repr_str(&index.name),
                repr_str(table)
            ),
        ),
        Op::AlterColumn(alter) => {
            if let Some(ty) = &alter.modify_type {
                out.log(
                    TYPES_LOGGER,
                    &format!(
                        "Detected type change from {} to {} on '{}.{}'",
                        autogen::diff::type_repr(&alter.existing_type),
                        autogen::diff::type_repr(ty),
                        alter.table,
                        alter.column
                    ),
                );
            }
            if alter.modify_comment.is_some() {
                out.log(
                    "alembic.autogenerate.compare.comments",
                    &format!("Detected column comment '{}.{}'", alter.table, alter.column),
                );
            }
            if alter.modify_server_default.is_some() {
                // Alembic logs its SQLiteImpl object here; its address varies from run to run.
                out.log(
                    "alembic.autogenerate.compare.server_defaults",
                    &format!(
                        "Dialect impl <alembic.ddl.sqlite.SQLiteImpl object at 0x7f0000000000> \
                         detected server default on column '{}.{}'",
                        alter.table, alter.column
                    ),
                );
            }
            match alter.modify_nullable {
                Some(nullable) => (
                    CONSTRAINTS_LOGGER,
                    format!(
                        "Detected {} on column '{}.{}'",
                        if nullable { "NULL" } else { "NOT NULL" },
                        alter.table,
                        alter.column
                    ),
                ),
                None => return,
            }
        }
        Op::AddUnique { unique, .. } => (
            CONSTRAINTS_LOGGER,
            format!(
                "Detected added unique constraint {} on '{}'",
                unique.name.as_deref().map_or("None".to_string(), repr_str),
                autogen::indexes::str_tuple_repr(&unique.columns)
            ),
        ),
        Op::DropUnique { table, unique } => (
            CONSTRAINTS_LOGGER,
            format!(
                "Detected removed unique constraint {} on {}",
                unique.name.as_deref().map_or("None".to_string(), repr_str),
                repr_str(table)
            ),
        ),
        Op::AddForeignKey { table, foreign_key } => (
            CONSTRAINTS_LOGGER,
            format!(
                "Detected added foreign key ({})({}) on table {}",
                foreign_key.columns.join(", "),
                foreign_key.ref_columns.join(", "),
                qualified(table)
            ),
        ),
        Op::DropForeignKey { table, foreign_key } => (
            CONSTRAINTS_LOGGER,
            format!(
                "Detected removed foreign key ({})({}) on table {}",
                foreign_key.columns.join(", "),
                foreign_key.ref_columns.join(", "),
                qualified(table)
            ),
        ),
        Op::TableComment { .. } => return,
        Op::ModifyTable {
            table,
            schema: in_schema,
            ops,
        } => {
            let mut i = 0;
            while i < ops.len() {
                // An index whose columns or uniqueness changed is dropped and created again
                // under the same name; Alembic logs the pair as one change.
                if let (
                    Op::DropIndex { index: old, .. },
                    Some(Op::CreateIndex { index: new, .. }),
                ) = (&ops[i], ops.get(i + 1))
                {
                    if old.name == new.name {
                        let msg = autogen::indexes::index_changes(index_rule, table, old, new);
                        out.log(
                            CONSTRAINTS_LOGGER,
                            &format!(
                                "Detected changed index {} on {}: {}",
                                repr_str(&old.name),
                                repr_str(table),
                                msg.join(", ")
                            ),
                        );
                        i += 2;
                        continue;
                    }
                }
                log_op(out, &ops[i], in_schema.as_deref(), index_rule);
                i += 1;
            }
            return;
        }
    };
    out.log(logger, &line);
}

const TABLES_LOGGER: &str = "alembic.autogenerate.compare.tables";
const TYPES_LOGGER: &str = "alembic.autogenerate.compare.types";
const CONSTRAINTS_LOGGER: &str = "alembic.autogenerate.compare.constraints";

/// The comparator plugins Alembic 1.20 sets up for every autogenerate run
/// (`autogenerate_plugins` left at its default, `alembic.autogenerate.*`), in
/// registration order; each is logged as it is set up.
const AUTOGENERATE_PLUGINS: &[&str] = &[
    "alembic.autogenerate.schemas",
    "alembic.autogenerate.tables",
    "alembic.autogenerate.types",
    "alembic.autogenerate.constraints",
    "alembic.autogenerate.defaults",
    "alembic.autogenerate.comments",
];

/// `alembic check`.
pub fn check(project: &mut Project, out: &mut Output) -> Result<(), CliError> {
    project.script_directory()?;
    let comparisons = compare(project, out, false)?;
    if out.json {
        let items: Vec<_> = comparisons
            .iter()
            .flat_map(|c| autogen::diff::diff_items(&c.ops, &c.metadata, &c.database))
            .collect();
        super::json::check(out, &items);
    }
    if comparisons.iter().all(|c| c.ops.is_empty()) {
        if !out.json {
            out.print("No new upgrade operations detected.");
        }
        return Ok(());
    }
    // Alembic extends one list with every UpgradeOps' diffs and prints that list.
    let diffs: Vec<String> = comparisons
        .iter()
        .filter(|c| !c.ops.is_empty())
        .map(|c| autogen::diff::as_diffs(&c.ops, &c.metadata, &c.database))
        .collect();
    Err(CliError::failed(format!(
        "New upgrade operations detected: {}",
        join_diff_lists(&diffs)
    )))
}

/// Several printed Python lists (`[a, b]`, `[c]`) as the one list that extends them all.
fn join_diff_lists(lists: &[String]) -> String {
    if let [one] = lists {
        return one.clone();
    }
    let inner: Vec<&str> = lists
        .iter()
        .map(|l| {
            l.strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .unwrap_or(l)
        })
        .filter(|l| !l.is_empty())
        .collect();
    format!("[{}]", inner.join(", "))
}

/// The live schema through the `db` layer's inspectors ([`crate::db::reflect::schema`]), with
/// the lines Alembic logs while reflecting.
pub fn live_schema(conn: &mut dyn Connection, out: &mut Output) -> Result<Schema, CliError> {
    live_schemas(conn, out, &[None])
}

/// [`live_schema`] over several schemas (`None`: the default one).
fn live_schemas(
    conn: &mut dyn Connection,
    out: &mut Output,
    schemas: &[Option<String>],
) -> Result<Schema, CliError> {
    let (schema, log) =
        crate::db::reflect::schemas(conn, schemas).map_err(|e| CliError::failed(e.to_string()))?;
    for line in &log {
        out.log("alembic.ddl.postgresql", line);
    }
    Ok(schema)
}

/// The connection's default schema name (`dialect.default_schema_name`): PostgreSQL's
/// `current_schema()`; SQLite's is `main`, which no model table names.
fn current_schema(conn: &mut dyn Connection) -> Result<Option<String>, CliError> {
    if conn.dialect() != Dialect::Postgresql {
        return Ok(None);
    }
    let rows = conn
        .query("SELECT current_schema()")
        .map_err(|e| CliError::Crash(e.to_string()))?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_text().map(str::to_string)))
}
