//! The PostgreSQL inspector: `pg_catalog` read as SQLAlchemy 2.1's
//! PostgreSQL dialect reads it (`get_columns`, `get_pk_constraint`,
//! `get_foreign_keys`, `get_unique_constraints`, `get_check_constraints`,
//! `get_indexes`, `get_table_comment`), plus Alembic's `column_reflect`
//! hook for `SERIAL` columns.

use super::{ReflectError, Reflected};
use crate::db::{literal, Connection, Value};
use crate::ops::{
    Column, Computed, Constraint, ConstraintKind, DefaultValue, Domain, Generated, Identity, Index,
    IndexExpr, Sequence, SqlType, Table,
};

/// Separates the items of a `string_agg` (a character no identifier holds).
const SEP: char = '\u{1}';

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Null => String::new(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn opt_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => Some(text(other)),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        Value::Text(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn flag(v: &Value) -> bool {
    match v {
        Value::Integer(i) => *i != 0,
        Value::Text(s) => s == "t" || s == "true",
        _ => false,
    }
}

fn items(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        other => text(other).split(SEP).map(str::to_string).collect(),
    }
}

/// Where an unqualified name is looked up: the schema given, or the search path.
fn place(schema: Option<&str>) -> String {
    match schema {
        Some(s) => format!("n.nspname = {}", literal(s)),
        None => "pg_catalog.pg_table_is_visible(c.oid) AND n.nspname <> 'pg_catalog'".to_string(),
    }
}

pub(super) fn table_names(
    conn: &mut dyn Connection,
    schema: Option<&str>,
) -> Result<Vec<String>, ReflectError> {
    let schema_sql = match schema {
        Some(s) => literal(s),
        None => "current_schema()".to_string(),
    };
    let rows = conn.query(&format!(
        "SELECT c.relname FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {schema_sql} AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    ))?;
    Ok(rows.iter().map(|r| text(&r[0])).collect())
}

pub(super) fn reflect_table(
    conn: &mut dyn Connection,
    schema: Option<&str>,
    name: &str,
) -> Result<Reflected, ReflectError> {
    reflect_table_as(conn, schema, name, None)
}

/// [`reflect_table`]; `generated` given (autogenerate), identity and generated
/// columns are also read into it as Alembic renders them (`sa.Identity(...)`,
/// `sa.Computed(...)`, by column name).
fn reflect_table_as(
    conn: &mut dyn Connection,
    schema: Option<&str>,
    name: &str,
    generated: Option<&mut Vec<(String, String)>>,
) -> Result<Reflected, ReflectError> {
    let found = conn.query(&format!(
        "SELECT c.oid, obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = {} AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {}",
        literal(name),
        place(schema)
    ))?;
    let Some(row) = found.first() else {
        let shown = match schema {
            Some(s) => format!("{s}.{name}"),
            None => name.to_string(),
        };
        return Err(ReflectError::NoSuchTable(shown));
    };
    let oid = int(&row[0]);
    let mut out = Reflected {
        table: Table {
            name: name.to_string(),
            schema: schema.map(str::to_string),
            comment: opt_text(&row[1]),
            ..Table::default()
        },
        log: Vec::new(),
    };
    columns(conn, oid, &mut out, generated)?;
    constraints(conn, oid, &mut out.table)?;
    indexes(conn, oid, &mut out.table)?;
    Ok(out)
}

fn columns(
    conn: &mut dyn Connection,
    oid: i64,
    out: &mut Reflected,
    mut generated: Option<&mut Vec<(String, String)>>,
) -> Result<(), ReflectError> {
    let rows = conn.query(&format!(
        "SELECT a.attname, a.atttypid, a.atttypmod, pg_catalog.pg_get_expr(d.adbin, d.adrelid), \
         a.attnotnull, pg_catalog.col_description(a.attrelid, a.attnum), a.attidentity::text, \
         a.attgenerated::text, a.attnum \
         FROM pg_catalog.pg_attribute a \
         LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = {oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    ))?;
    let table_name = out.table.name.clone();
    for row in rows {
        let name = text(&row[0]);
        let identity = text(&row[6]);
        let computed = text(&row[7]);
        let mut default = opt_text(&row[3]);
        let mut autoincrement = Some(false);
        // SQLAlchemy's `Inspector.get_columns`: an identity column's
        // `identity` (its sequence's options) and a generated column's
        // `computed` (`pg_get_expr` of its expression, which is not a server
        // default), which Alembic's batch mode copies onto the new table.
        let mut reflected_generated = None;
        if !identity.is_empty() {
            let found = reflect_identity(conn, oid, int(&row[8]), &identity)?;
            // The column is autoincrement.
            autoincrement = Some(true);
            if let Some(out) = generated.as_mut() {
                out.push((name.clone(), identity_repr(&found)));
            }
            reflected_generated = Some(Box::new(Generated::Identity(found)));
        } else if !computed.is_empty() {
            let Some(sqltext) = default.take() else {
                return Err(ReflectError::Unsupported(format!(
                    "generated column \"{table_name}.{name}\" has no expression"
                )));
            };
            let found = Computed {
                sqltext,
                persisted: Some(computed == "s"),
            };
            if let Some(out) = generated.as_mut() {
                out.push((
                    name.clone(),
                    format!(
                        "sa.Computed({}, persisted={})",
                        crate::template::repr_str(&found.sqltext),
                        if found.persisted == Some(true) {
                            "True"
                        } else {
                            "False"
                        }
                    ),
                ));
            }
            reflected_generated = Some(Box::new(Generated::Computed(found)));
        }
        let ty = sql_type(conn, int(&row[1]), int(&row[2]))?;
        if default.is_none() {
            // A domain's default stands for the column's (SQLAlchemy).
            if let SqlType::Domain(d) = &ty {
                if let Some(DefaultValue::Text(t)) = &d.default {
                    default = Some(t.clone());
                }
            }
        }
        if let Some(d) = &default {
            if let Some(seq) = serial_sequence(d) {
                if matches!(ty, SqlType::Integer | SqlType::BigInteger) {
                    // Alembic's PostgresqlImpl.autogen_column_reflect.
                    let owner = conn.query(&format!(
                        "SELECT c.relname, a.attname FROM pg_catalog.pg_class c \
                         JOIN pg_catalog.pg_depend d ON d.objid = c.oid \
                         AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass \
                         JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
                         JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
                         WHERE c.relkind = 'S' AND c.oid = CAST({} AS regclass)",
                        literal(&seq)
                    ))?;
                    if let Some(o) = owner.first() {
                        if text(&o[1]) == name {
                            out.log.push(format!(
                                "Detected sequence named '{}' as owned by integer column '{table_name}({name})', assuming SERIAL and omitting",
                                text(&o[0])
                            ));
                            default = None;
                            autoincrement = Some(true);
                        }
                    }
                }
            }
        }
        out.table.columns.push(Column {
            name,
            type_: ty,
            nullable: Some(!flag(&row[4])),
            primary_key: false,
            server_default: default.map(DefaultValue::Text),
            autoincrement,
            autoincrement_ignore_fk: false,
            comment: opt_text(&row[5]),
            unique: false,
            index: false,
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            default: None,
            identity: reflected_generated,
        });
    }
    Ok(())
}

/// An identity column's options as SQLAlchemy reflects them: every option
/// of the identity's sequence.
fn reflect_identity(
    conn: &mut dyn Connection,
    table: i64,
    attnum: i64,
    kind: &str,
) -> Result<Identity, ReflectError> {
    let rows = conn.query(&format!(
        "SELECT s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle, s.seqcache \
         FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid \
         WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass \
         AND d.refobjid = {table} AND d.refobjsubid = {attnum} AND d.deptype = 'i'"
    ))?;
    let Some(r) = rows.first() else {
        return Err(ReflectError::Unsupported(format!(
            "the sequence of identity column number {attnum} of table oid {table} was not found"
        )));
    };
    Ok(Identity {
        always: kind == "a",
        options: Sequence {
            start: Some(int(&r[0])),
            increment: Some(int(&r[1])),
            minvalue: Some(int(&r[2])),
            maxvalue: Some(int(&r[3])),
            cycle: Some(flag(&r[4])),
            cache: Some(int(&r[5])),
            ..Sequence::default()
        },
    })
}

/// A reflected identity's `sa.Identity(...)` as Alembic renders it, in
/// `Identity`'s order.
fn identity_repr(i: &Identity) -> String {
    let py_bool = |b: Option<bool>| if b == Some(true) { "True" } else { "False" };
    let num = |n: Option<i64>| n.unwrap_or_default();
    let o = &i.options;
    format!(
        "sa.Identity(always={}, start={}, increment={}, minvalue={}, maxvalue={}, cycle={}, cache={})",
        py_bool(Some(i.always)),
        num(o.start),
        num(o.increment),
        num(o.minvalue),
        num(o.maxvalue),
        py_bool(o.cycle),
        num(o.cache)
    )
}

/// `nextval('seq'::regclass)` → `seq`.
fn serial_sequence(default: &str) -> Option<String> {
    let rest = default.strip_prefix("nextval('")?;
    let end = rest.find("'::regclass)")?;
    (rest.len() == end + "'::regclass)".len()).then(|| rest[..end].to_string())
}

/// The type of a column from its type oid and modifier.
pub fn sql_type(conn: &mut dyn Connection, oid: i64, typmod: i64) -> Result<SqlType, ReflectError> {
    let rows = conn.query(&format!(
        "SELECT pg_catalog.format_type(t.oid, {typmod}), t.typtype::text, t.typname, n.nspname, \
         t.typelem, t.typcategory::text, t.typbasetype, t.typtypmod, t.typnotnull, t.typdefault, \
         pg_catalog.pg_type_is_visible(t.oid), t.typcollation <> 0 AND t.typcollation <> 100 \
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         WHERE t.oid = {oid}"
    ))?;
    let Some(row) = rows.first() else {
        return Err(ReflectError::Unsupported(format!(
            "type oid {oid} not found"
        )));
    };
    let formatted = text(&row[0]);
    let typtype = text(&row[1]);
    let typname = text(&row[2]);
    let nsp = text(&row[3]);
    let visible = flag(&row[10]);
    let schema = (!visible && nsp != "pg_catalog").then(|| nsp.clone());
    if text(&row[5]) == "A" && int(&row[4]) != 0 {
        let inner = sql_type(conn, int(&row[4]), typmod)?;
        return Ok(SqlType::Array(Box::new(inner)));
    }
    match typtype.as_str() {
        "e" => {
            let labels = conn.query(&format!(
                "SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = {oid} ORDER BY enumsortorder"
            ))?;
            Ok(SqlType::Enum {
                values: labels.iter().map(|r| text(&r[0])).collect(),
                name: Some(typname),
                schema,
                native: true,
                // SQLAlchemy's reflected ENUM creates its type with the
                // table, as Alembic's batch mode then tries to.
                create_type: true,
                length: None,
                create_constraint: false,
            })
        }
        "d" => {
            let base = sql_type(conn, int(&row[6]), int(&row[7]))?;
            let check = conn.query(&format!(
                "SELECT conname, pg_catalog.pg_get_constraintdef(oid, true) FROM pg_catalog.pg_constraint \
                 WHERE contypid = {oid} AND contype = 'c' ORDER BY conname"
            ))?;
            let (constraint_name, check) = match check.first() {
                Some(r) => (
                    Some(text(&r[0])),
                    check_body(&text(&r[1])).map(str::to_string),
                ),
                None => (None, None),
            };
            Ok(SqlType::Domain(Box::new(Domain {
                name: typname,
                schema,
                data_type: base,
                collation: None,
                default: opt_text(&row[9]).map(DefaultValue::Text),
                constraint_name,
                not_null: flag(&row[8]),
                check,
                create_type: false,
            })))
        }
        _ => Ok(builtin_type(&formatted)),
    }
}

/// `CHECK (qty > 0)` → `qty > 0`, as SQLAlchemy's regular expression takes it.
fn check_body(def: &str) -> Option<&str> {
    let rest = def.strip_prefix("CHECK")?.trim_start();
    let rest = rest.strip_suffix(" NOT VALID").unwrap_or(rest);
    rest.strip_prefix('(')?.strip_suffix(')')
}

/// A built-in type from `format_type`'s text.
pub fn builtin_type(formatted: &str) -> SqlType {
    let (base, args) = match formatted.find('(') {
        Some(i) => {
            let close = formatted[i..].find(')').map_or(formatted.len(), |c| i + c);
            let tail = formatted[close + 1..].trim();
            let base = if tail.is_empty() {
                formatted[..i].trim().to_string()
            } else {
                format!("{} {tail}", formatted[..i].trim())
            };
            (base, formatted[i + 1..close].to_string())
        }
        None => (formatted.to_string(), String::new()),
    };
    let nums: Vec<u32> = args
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let first = nums.first().copied();
    match base.as_str() {
        "integer" => SqlType::Integer,
        "bigint" => SqlType::BigInteger,
        "smallint" => SqlType::SmallInteger,
        "character varying" => SqlType::String(first),
        "character" | "bpchar" => SqlType::Char(first),
        "text" => SqlType::Text,
        "boolean" => SqlType::Boolean {
            create_constraint: false,
            name: None,
        },
        "timestamp without time zone" => SqlType::Timestamp {
            timezone: false,
            precision: first,
        },
        "timestamp with time zone" => SqlType::Timestamp {
            timezone: true,
            precision: first,
        },
        "time without time zone" => SqlType::Time {
            timezone: false,
            precision: first,
        },
        "time with time zone" => SqlType::Time {
            timezone: true,
            precision: first,
        },
        "date" => SqlType::Date,
        "numeric" => SqlType::Numeric {
            precision: first,
            scale: nums.get(1).copied(),
        },
        "double precision" => SqlType::Double,
        "real" => SqlType::Named("REAL".to_string()),
        "json" => SqlType::Json,
        "jsonb" => SqlType::Jsonb,
        "uuid" => SqlType::Uuid {
            native: true,
            class_uuid: true,
            // SQLAlchemy reflects UUID with as_uuid=True.
            as_uuid: true,
        },
        "bytea" => SqlType::LargeBinary,
        b if b.starts_with("interval") => {
            let fields = b
                .strip_prefix("interval")
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_uppercase);
            SqlType::Interval {
                native: true,
                precision: first,
                fields,
                postgresql: true,
            }
        }
        _ => SqlType::PgOnly {
            class: base.to_uppercase().replace(' ', "_"),
            sql: formatted.to_uppercase(),
        },
    }
}

fn constraints(conn: &mut dyn Connection, oid: i64, t: &mut Table) -> Result<(), ReflectError> {
    let rows = conn.query(&format!(
        "SELECT con.conname, con.contype::text, pg_catalog.pg_get_constraintdef(con.oid, true), \
         (SELECT string_agg(a.attname::text, chr(1) ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY k(n, i) \
          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n), \
         (SELECT string_agg(a.attname::text, chr(1) ORDER BY k.i) FROM unnest(con.confkey) WITH ORDINALITY k(n, i) \
          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n), \
         cr.relname, crn.nspname, pg_catalog.pg_table_is_visible(cr.oid), con.condeferrable, \
         con.condeferred, con.confdeltype::text, con.confupdtype::text, \
         (SELECT i.indnullsnotdistinct FROM pg_catalog.pg_index i WHERE i.indexrelid = con.conindid) \
         FROM pg_catalog.pg_constraint con \
         LEFT JOIN pg_catalog.pg_class cr ON cr.oid = con.confrelid \
         LEFT JOIN pg_catalog.pg_namespace crn ON crn.oid = cr.relnamespace \
         WHERE con.conrelid = {oid} ORDER BY con.conname"
    ))?;
    let mut pk = Vec::new();
    let mut fks = Vec::new();
    let mut uniques = Vec::new();
    let mut checks = Vec::new();
    for row in rows {
        let name = Some(text(&row[0]));
        let columns = items(&row[3]);
        match text(&row[1]).as_str() {
            "p" => pk.push(Constraint {
                options: Default::default(),
                name,
                kind: ConstraintKind::PrimaryKey { columns },
            }),
            "f" => {
                let rule = |v: &Value| match text(v).as_str() {
                    "c" => Some("CASCADE".to_string()),
                    "n" => Some("SET NULL".to_string()),
                    "d" => Some("SET DEFAULT".to_string()),
                    "r" => Some("RESTRICT".to_string()),
                    _ => None,
                };
                let def = text(&row[2]);
                if def.contains(" MATCH FULL") {
                    return Err(ReflectError::Unsupported(format!(
                        "foreign key \"{}\" of \"{}\" is MATCH FULL, which aurora cannot reflect yet",
                        text(&row[0]),
                        t.name
                    )));
                }
                fks.push(Constraint {
                    options: Default::default(),
                    name,
                    kind: ConstraintKind::ForeignKey {
                        columns,
                        ref_table: text(&row[5]),
                        ref_schema: (!flag(&row[7])).then(|| text(&row[6])),
                        ref_columns: items(&row[4]),
                        ondelete: rule(&row[10]),
                        onupdate: rule(&row[11]),
                        deferrable: flag(&row[8]).then_some(true),
                        initially: flag(&row[9]).then(|| "DEFERRED".to_string()),
                    },
                })
            }
            "u" => uniques.push(Constraint {
                options: Default::default(),
                name,
                kind: ConstraintKind::Unique {
                    columns,
                    nulls_not_distinct: flag(&row[12]).then_some(true),
                },
            }),
            "c" => {
                let def = text(&row[2]);
                let Some(body) = check_body(&def) else {
                    return Err(ReflectError::Unsupported(format!(
                        "check constraint \"{}\" of \"{}\": cannot read \"{def}\"",
                        text(&row[0]),
                        t.name
                    )));
                };
                checks.push(Constraint {
                    options: Default::default(),
                    name,
                    kind: ConstraintKind::Check {
                        sqltext: body.to_string(),
                    },
                })
            }
            "x" => {
                return Err(ReflectError::Unsupported(format!(
                    "exclusion constraint \"{}\" of \"{}\" cannot be reflected by aurora yet",
                    text(&row[0]),
                    t.name
                )))
            }
            // NOT NULL ("n", PostgreSQL 17+) and trigger constraints are no table constraints.
            _ => {}
        }
    }
    // SQLAlchemy's reflection order: primary key, foreign keys, unique
    // constraints, checks, each by name.
    t.constraints.extend(pk);
    t.constraints.extend(fks);
    t.constraints.extend(uniques);
    t.constraints.extend(checks);
    Ok(())
}

fn indexes(conn: &mut dyn Connection, oid: i64, t: &mut Table) -> Result<(), ReflectError> {
    let rows = conn.query(&format!(
        "SELECT ic.relname, i.indisunique, pg_catalog.pg_get_expr(i.indpred, i.indrelid), am.amname, \
         i.indnkeyatts, i.indnatts, \
         (SELECT string_agg(CASE WHEN i.indkey[k] = 0 \
            THEN 'E' || pg_catalog.pg_get_indexdef(i.indexrelid, k + 1, true) \
            ELSE 'C' || (SELECT a.attname FROM pg_catalog.pg_attribute a \
                         WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[k]) END, \
            chr(1) ORDER BY k) \
          FROM generate_series(0, i.indnatts - 1) k), \
         EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid \
                 AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')), \
         array_to_string(i.indoption, ' '), \
         EXISTS (SELECT 1 FROM unnest(i.indclass) k(c) JOIN pg_catalog.pg_opclass o ON o.oid = k.c \
                 WHERE NOT o.opcdefault), \
         ic.reloptions IS NOT NULL, NOT i.indisvalid, i.indnullsnotdistinct \
         FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_catalog.pg_am am ON am.oid = ic.relam \
         WHERE i.indrelid = {oid} AND NOT i.indisprimary ORDER BY ic.relname"
    ))?;
    for row in rows {
        if flag(&row[7]) {
            continue;
        }
        let name = text(&row[0]);
        for (refused, what) in [
            (
                9,
                "a column with an operator class other than its type's default (postgresql_ops)",
            ),
            (10, "storage parameters (postgresql_with)"),
            (
                11,
                "been left invalid (by a failed CREATE INDEX CONCURRENTLY)",
            ),
            (12, "NULLS NOT DISTINCT (postgresql_nulls_not_distinct)"),
        ] {
            if flag(&row[refused]) {
                return Err(ReflectError::Unsupported(format!(
                    "index \"{name}\" has {what}, which aurora cannot reflect yet"
                )));
            }
        }
        // The key columns, then the INCLUDE columns; each key column's sort flags
        // (`indoption`: 1 DESC, 2 NULLS FIRST) as SQLAlchemy's reflection applies them:
        // `desc()`, with `nulls_last()` when DESC keeps nulls last, `nulls_first()` on an
        // ascending column.
        let key_count = usize::try_from(int(&row[4])).unwrap_or_default();
        let options: Vec<i64> = text(&row[8])
            .split(' ')
            .filter(|o| !o.is_empty())
            .map(|o| o.parse().unwrap_or(0))
            .collect();
        let mut expressions = Vec::new();
        let mut include = Vec::new();
        for (k, e) in items(&row[6]).into_iter().enumerate() {
            let (kind, body) = e.split_at(1);
            if k >= key_count {
                if kind != "C" {
                    return Err(ReflectError::Unsupported(format!(
                        "index \"{name}\" includes the expression {body}, which aurora cannot reflect yet"
                    )));
                }
                include.push(body.to_string());
                continue;
            }
            let flags = options.get(k).copied().unwrap_or(0);
            let modifier = match (flags & 1 != 0, flags & 2 != 0) {
                (false, false) => None,
                (true, false) => Some("DESC NULLS LAST"),
                (true, true) => Some("DESC"),
                (false, true) => Some("NULLS FIRST"),
            };
            expressions.push(match (kind, modifier) {
                ("C", None) => IndexExpr::Column(body.to_string()),
                ("C", Some(modifier)) => IndexExpr::Expr(crate::ops::SqlExpr::Ordered {
                    expr: Box::new(crate::ops::SqlExpr::Column {
                        table: None,
                        schema: None,
                        name: body.to_string(),
                        type_: SqlType::Null,
                        class: Default::default(),
                    }),
                    modifier,
                }),
                (_, None) => IndexExpr::Text(body.to_string()),
                (_, Some(modifier)) => IndexExpr::Expr(crate::ops::SqlExpr::Ordered {
                    expr: Box::new(crate::ops::SqlExpr::Text(body.to_string())),
                    modifier,
                }),
            });
        }
        let using = text(&row[3]);
        t.indexes.push(Index {
            name: Some(name),
            table: t.name.clone(),
            schema: t.schema.clone(),
            expressions,
            unique: flag(&row[1]),
            if_not_exists: false,
            postgresql_where: opt_text(&row[2]),
            postgresql_using: (using != "btree").then_some(using),
            postgresql_concurrently: false,
            sqlite_where: None,
            postgresql_include: include,
            ..Index::default()
        });
    }
    Ok(())
}

// ----- the autogenerate view -------------------------------------------------------------

/// The schemas `include_schemas=True` makes Alembic compare, as its
/// `_produce_net_changes` gathers them: `Inspector.get_schema_names()` (every
/// schema but `pg_*`) without `information_schema` and without the default
/// schema, which stands as `None`, first, then the others by name.
pub(super) fn schema_names(conn: &mut dyn Connection) -> Result<Vec<Option<String>>, ReflectError> {
    let rows = conn.query(
        "SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname NOT LIKE 'pg~_%' ESCAPE '~' \
         AND n.nspname <> 'information_schema' AND n.nspname <> current_schema() ORDER BY n.nspname",
    )?;
    let mut names = vec![None];
    names.extend(rows.iter().map(|r| Some(text(&r[0]))));
    Ok(names)
}

/// Reads every table of `schemas` (`None`: the default schema) as Alembic's
/// autogenerate sees it ([`crate::autogen::Schema`]), adding Alembic's
/// `alembic.ddl.postgresql` lines to `log`. A foreign key names a table of
/// another schema by its key, `schema.table`, as SQLAlchemy reflects it
/// (`referred_schema` is set when the table is not on the search path).
pub(super) fn schema(
    conn: &mut dyn Connection,
    schemas: &[Option<String>],
    log: &mut Vec<String>,
) -> Result<crate::autogen::Schema, ReflectError> {
    use crate::autogen::{
        CheckConstraint, Column as AColumn, ForeignKey, Index as AIndex, IndexElement,
        IndexExpression, Schema, Table as ATable, UniqueConstraint,
    };
    let mut names = Vec::new();
    for s in schemas {
        for name in table_names(conn, s.as_deref())? {
            names.push((s.clone(), name));
        }
    }
    let mut schema = Schema::default();
    for (in_schema, name) in names {
        let mut generated = Vec::new();
        let reflected = reflect_table_as(conn, in_schema.as_deref(), &name, Some(&mut generated))?;
        log.extend(reflected.log);
        let t = reflected.table;
        let pk: Vec<String> = t
            .constraints
            .iter()
            .find_map(|c| match &c.kind {
                ConstraintKind::PrimaryKey { columns } => Some(columns.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let mut table = ATable {
            name: t.name.clone(),
            schema: t.schema.clone(),
            comment: t.comment.clone(),
            primary_key_name: t.constraints.iter().find_map(|c| match c.kind {
                ConstraintKind::PrimaryKey { .. } => c.name.clone(),
                _ => None,
            }),
            ..ATable::default()
        };
        for c in &t.columns {
            table.columns.push(AColumn {
                name: c.name.clone(),
                ty: crate::autogen::ColumnType::Reflected(pg_type_repr(&c.type_)),
                nullable: c.nullable.unwrap_or(true),
                primary_key: pk.contains(&c.name),
                server_default: match &c.server_default {
                    Some(crate::ops::DefaultValue::Text(d)) => {
                        Some(format!("sa.text({})", crate::template::repr_str(d)))
                    }
                    _ => None,
                },
                autoincrement: c.autoincrement,
                comment: c.comment.clone(),
                generated: generated
                    .iter()
                    .find(|(n, _)| *n == c.name)
                    .map(|(_, g)| g.clone()),
                python_default: None,
                model_id: None,
                rendered: None,
            });
        }
        for c in &t.constraints {
            match &c.kind {
                ConstraintKind::ForeignKey {
                    columns,
                    ref_table,
                    ref_schema,
                    ref_columns,
                    ondelete,
                    onupdate,
                    ..
                } => table.foreign_keys.push(ForeignKey {
                    name: c.name.clone(),
                    columns: columns.clone(),
                    ref_table: crate::autogen::table_key(ref_schema.as_deref(), ref_table),
                    written_table: None,
                    ref_columns: ref_columns.clone(),
                    ondelete: ondelete.clone(),
                    onupdate: onupdate.clone(),
                    generated_name: c.name.is_some(),
                }),
                ConstraintKind::Unique { columns, .. } => table.uniques.push(UniqueConstraint {
                    name: c.name.clone(),
                    columns: columns.clone(),
                    generated_name: c.name.is_some(),
                }),
                ConstraintKind::Check { sqltext } => table.checks.push(CheckConstraint {
                    name: c.name.clone(),
                    sqltext: sqltext.clone(),
                    generated_name: c.name.is_some(),
                }),
                ConstraintKind::PrimaryKey { .. } => {}
            }
        }
        for i in &t.indexes {
            let mut columns = Vec::new();
            let mut elements = Vec::new();
            for e in &i.expressions {
                match e {
                    IndexExpr::Column(c) => {
                        columns.push(c.clone());
                        elements.push(IndexElement::Column(c.clone()));
                    }
                    // Alembic's `_make_index` turns each expression into `text(...)`, which
                    // its `CreateIndexOp.to_index()` wraps in `_textual_index_element`.
                    IndexExpr::Text(x) => elements.push(IndexElement::Expression(IndexExpression {
                        sql: x.clone(),
                        grouped: x.clone(),
                        repr: "<alembic.util.sqla_compat._textual_index_element object at 0x7f0000000000>".into(),
                        sorted_column: false,
                    })),
                    // A column sorted DESC or NULLS FIRST/LAST: `desc(column)` and friends.
                    // A sorted column or expression: `desc(column)`, `desc(text(...))`, and
                    // friends.
                    IndexExpr::Expr(crate::ops::SqlExpr::Ordered { expr, modifier }) => {
                        let (inner, sorted_column) = match expr.as_ref() {
                            crate::ops::SqlExpr::Column { name, .. } => {
                                columns.push(name.clone());
                                (
                                    crate::sql::quote_identifier(
                                        name,
                                        crate::sql::Dialect::Postgresql,
                                    ),
                                    true,
                                )
                            }
                            crate::ops::SqlExpr::Text(text) => (text.clone(), false),
                            other => {
                                return Err(ReflectError::Unsupported(format!(
                                    "index \"{}\" of table \"{}\" sorts {other:?}, which aurora's autogenerate cannot compare",
                                    i.name.as_deref().unwrap_or_default(),
                                    t.name
                                )))
                            }
                        };
                        let sql = format!("{inner} {modifier}");
                        elements.push(IndexElement::Expression(IndexExpression {
                            grouped: sql.clone(),
                            sql,
                            repr: "<sqlalchemy.sql.elements.UnaryExpression object at 0x7f0000000000>".into(),
                            sorted_column,
                        }));
                    }
                    IndexExpr::Expr(_) => {
                        return Err(ReflectError::Unsupported(format!(
                            "index \"{}\" of table \"{}\" has an element aurora's autogenerate cannot compare",
                            i.name.as_deref().unwrap_or_default(),
                            t.name
                        )))
                    }
                }
            }
            // SQLAlchemy's reflected dialect options, in its order; Alembic renders them on
            // create_index/drop_index and does not compare them.
            let mut dialect_kwargs = Vec::new();
            if let Some(using) = &i.postgresql_using {
                dialect_kwargs.push(format!(
                    "postgresql_using={}",
                    crate::template::repr_str(using)
                ));
            }
            if let Some(predicate) = &i.postgresql_where {
                dialect_kwargs.push(format!(
                    "postgresql_where={}",
                    crate::template::repr_str(predicate)
                ));
            }
            if !i.postgresql_include.is_empty() {
                dialect_kwargs.push(format!(
                    "postgresql_include=[{}]",
                    i.postgresql_include
                        .iter()
                        .map(|c| crate::template::repr_str(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            table.indexes.push(AIndex {
                name: i.name.clone().unwrap_or_default(),
                columns,
                elements,
                unique: i.unique,
                generated_name: true,
                dialect_kwargs,
            });
        }
        schema.tables.push(table);
    }
    Ok(schema)
}

/// A reflected PostgreSQL type as Alembic renders it (`sa.VARCHAR(length=40)`,
/// `postgresql.TIMESTAMP(timezone=True)`, `postgresql.JSONB(astext_type=sa.Text())`).
fn pg_type_repr(t: &crate::ops::SqlType) -> String {
    use crate::ops::SqlType as T;
    let opt = |name: &str, v: Option<u32>| v.map(|v| format!("{name}={v}"));
    let args =
        |items: Vec<Option<String>>| items.into_iter().flatten().collect::<Vec<_>>().join(", ");
    match t {
        T::Integer => "sa.INTEGER()".into(),
        T::BigInteger => "sa.BIGINT()".into(),
        T::SmallInteger => "sa.SMALLINT()".into(),
        T::String(n) => format!("sa.VARCHAR({})", args(vec![opt("length", *n)])),
        T::Char(n) => format!("sa.CHAR({})", args(vec![opt("length", *n)])),
        T::Text => "sa.TEXT()".into(),
        T::Boolean { .. } => "sa.BOOLEAN()".into(),
        T::Timestamp {
            timezone,
            precision,
        }
        | T::Time {
            timezone,
            precision,
        } => {
            let class = if matches!(t, T::Timestamp { .. }) {
                "TIMESTAMP"
            } else {
                "TIME"
            };
            format!(
                "postgresql.{class}({})",
                args(vec![
                    timezone.then(|| "timezone=True".to_string()),
                    opt("precision", *precision)
                ])
            )
        }
        T::DateTime { timezone } => format!(
            "postgresql.TIMESTAMP({})",
            if *timezone { "timezone=True" } else { "" }
        ),
        T::Date => "sa.DATE()".into(),
        T::Numeric { precision, scale } => format!(
            "sa.NUMERIC({})",
            args(vec![opt("precision", *precision), opt("scale", *scale)])
        ),
        T::Double => "sa.DOUBLE_PRECISION(precision=53)".into(),
        T::Named(n) => format!("sa.{n}()"),
        T::Json => "postgresql.JSON(astext_type=sa.Text())".into(),
        T::Jsonb => "postgresql.JSONB(astext_type=sa.Text())".into(),
        T::Uuid { .. } => "sa.UUID()".into(),
        T::LargeBinary => "postgresql.BYTEA()".into(),
        T::Interval {
            precision, fields, ..
        } => format!(
            "postgresql.INTERVAL({})",
            args(vec![
                fields
                    .as_ref()
                    .map(|f| format!("fields={}", crate::template::repr_str(&f.to_lowercase()))),
                opt("precision", *precision)
            ])
        ),
        T::Array(inner) => format!("postgresql.ARRAY({})", pg_type_repr(inner)),
        T::Enum { values, name, .. } => {
            let mut items: Vec<String> = values
                .iter()
                .map(|v| crate::template::repr_str(v))
                .collect();
            if let Some(n) = name {
                items.push(format!("name={}", crate::template::repr_str(n)));
            }
            format!("postgresql.ENUM({})", items.join(", "))
        }
        T::Domain(d) => format!(
            "postgresql.DOMAIN(name={}, data_type={})",
            crate::template::repr_str(&d.name),
            pg_type_repr(&d.data_type)
        ),
        T::PgOnly { class, .. } => format!("postgresql.{class}()"),
        T::Float { precision } => format!("sa.FLOAT({})", args(vec![opt("precision", *precision)])),
        T::Null => "sa.NullType()".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_type_texts_map_to_types() {
        assert_eq!(
            builtin_type("character varying(40)"),
            SqlType::String(Some(40))
        );
        assert_eq!(
            builtin_type("numeric(10,2)"),
            SqlType::Numeric {
                precision: Some(10),
                scale: Some(2)
            }
        );
        assert_eq!(
            builtin_type("timestamp(3) with time zone"),
            SqlType::Timestamp {
                timezone: true,
                precision: Some(3)
            }
        );
        assert_eq!(builtin_type("double precision"), SqlType::Double);
        assert_eq!(
            builtin_type("macaddr"),
            SqlType::PgOnly {
                class: "MACADDR".into(),
                sql: "MACADDR".into()
            }
        );
    }

    #[test]
    fn serial_defaults_name_their_sequence() {
        assert_eq!(
            serial_sequence("nextval('tasks_id_seq'::regclass)").as_deref(),
            Some("tasks_id_seq")
        );
        assert_eq!(serial_sequence("nextval('s'::regclass) + 1"), None);
        assert_eq!(check_body("CHECK (qty > 0)"), Some("qty > 0"));
    }
}
