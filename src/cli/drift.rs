//! `aurora drift`: does the live database match what its migrations say it should be?
//!
//! The revisions the database records are replayed from base into a scratch database of the
//! same dialect (SQLite: an in-memory database; PostgreSQL: a database of its own on the same
//! server, created for the run and dropped afterwards), both are reflected with the `db` layer's
//! inspectors ([`crate::db::reflect::schema`]), and [`crate::autogen::compare`] gives the
//! operations that would bring the live database to the replayed one, printed in Alembic's
//! autogenerate rendering. `check` compares the models with the database instead.
//!
//! env.py runs as for any online command (its connection is the live one); its autogenerate
//! hooks (`include_object`, `include_name`, ...) are not consulted: drift compares everything
//! but the version table.

use super::{CliError, Output, Project};
use crate::autogen::{self, Op, Schema};
use crate::db::{Connection, DatabaseUrl};
use crate::plan::{self, Step};
pub use crate::run::online::run_statement;

use crate::sql::Dialect;

/// What a drift run found.
pub struct Drift {
    /// The revisions the live database records.
    pub heads: Vec<String>,
    /// The operations that would turn the live schema into the replayed one.
    pub ops: Vec<Op>,
    /// The replayed schema (what the migrations say).
    pub expected: Schema,
    /// The live schema.
    pub live: Schema,
}

/// `aurora drift [--format json]`: exit status 0 when the database matches its migrations.
pub fn drift(project: &mut Project, out: &mut Output) -> Result<(), CliError> {
    let found = compare(project, out)?;
    let rendered: Vec<String> = found
        .ops
        .iter()
        .flat_map(autogen::render::render_op)
        .collect();
    if out.json {
        let items = autogen::diff::diff_items(&found.ops, &found.expected, &found.live);
        super::json::drift(out, &found.heads, &items, &rendered);
    } else if found.ops.is_empty() {
        out.print(&format!(
            "No drift: the database matches its migrations at {}.",
            shown_heads(&found.heads)
        ));
    } else {
        out.print(&format!(
            "The database differs from its migrations at {}; these operations would reconcile it:",
            shown_heads(&found.heads)
        ));
        for line in &rendered {
            out.print(&format!("    {line}"));
        }
    }
    if rendered.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "Drift detected: {} operation(s) between the database and its migrations",
            rendered.len()
        )))
    }
}

fn shown_heads(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_string()
    } else {
        heads.join(", ")
    }
}

/// Runs env.py online, reads the live revisions and schema, replays the migrations into a
/// scratch database and compares.
pub fn compare(project: &mut Project, out: &mut Output) -> Result<Drift, CliError> {
    project.script_directory()?;
    let command = super::environment::command_line("drift", false, None, None);
    let mut found = None;
    super::environment::with_environment(
        project,
        out,
        false,
        command,
        &mut |project, out, context, conn, _hooks| {
            let conn =
                conn.ok_or_else(|| CliError::Crash("drift needs a database connection".into()))?;
            let heads = crate::db::current_heads(conn, &context.version_table)
                .map_err(|e| CliError::Crash(e.to_string()))?;
            let live = super::autogenerate::live_schema(conn, out)?;
            let url = context
                .url
                .as_ref()
                .ok_or_else(|| CliError::Crash("drift ran without a database URL".into()))?;
            project.choose_squash_views(&heads)?;
            let mut scratch = Scratch::create(conn, url)?;
            let replayed =
                replay(project, context, scratch.conn(), &heads, &mut |_| {}).and_then(|()| {
                    crate::db::reflect::schema(scratch.conn())
                        .map(|(schema, _log)| schema)
                        .map_err(|e| CliError::failed(e.to_string()))
                });
            scratch.drop_it(conn)?;
            let expected = replayed?;
            let ops = autogen::compare(&expected, &live, &context.version_table.name);
            found = Some(Drift {
                heads: heads.clone(),
                ops,
                expected,
                live,
            });
            Ok(())
        },
    )?;
    found.ok_or_else(|| {
        CliError::Crash(
            "env.py did not call context.run_migrations(), so nothing was compared".into(),
        )
    })
}

/// A scratch database of the live one's dialect.
pub struct Scratch {
    conn: Option<Box<dyn Connection>>,
    /// PostgreSQL: the database created for the run.
    database: Option<String>,
}

impl Scratch {
    /// SQLite: an in-memory database. PostgreSQL: `CREATE DATABASE aurora_scratch_<pid>_<n>`
    /// through the live connection, then a connection to it with the live URL's credentials.
    pub fn create(live: &mut dyn Connection, url: &DatabaseUrl) -> Result<Scratch, CliError> {
        match live.dialect() {
            Dialect::Sqlite => {
                let memory =
                    DatabaseUrl::parse("sqlite://").map_err(|e| CliError::Crash(e.to_string()))?;
                let conn =
                    crate::db::connect(&memory).map_err(|e| CliError::Crash(e.to_string()))?;
                Ok(Scratch {
                    conn: Some(conn),
                    database: None,
                })
            }
            Dialect::Postgresql => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let name = format!("aurora_scratch_{}_{nanos}", std::process::id());
                live.execute(&format!("CREATE DATABASE {name}"))
                    .map_err(|e| {
                        CliError::failed(format!(
                        "drift replays the migrations into a scratch database on the same server \
                         and could not create one ({e}); grant the role CREATEDB \
                         (ALTER ROLE ... CREATEDB) or run drift as a role that has it"
                    ))
                    })?;
                let mut scratch_url = url.clone();
                scratch_url.database = Some(name.clone());
                match crate::db::connect(&scratch_url) {
                    Ok(conn) => Ok(Scratch {
                        conn: Some(conn),
                        database: Some(name),
                    }),
                    Err(e) => {
                        let _ = live.execute(&format!("DROP DATABASE IF EXISTS {name}"));
                        Err(CliError::Crash(format!(
                            "could not connect to the scratch database {name}: {e}"
                        )))
                    }
                }
            }
        }
    }

    /// The scratch database's connection.
    pub fn conn(&mut self) -> &mut dyn Connection {
        self.conn.as_deref_mut().expect("scratch connection open")
    }

    /// Closes the scratch connection and drops the PostgreSQL scratch database.
    pub fn drop_it(mut self, live: &mut dyn Connection) -> Result<(), CliError> {
        self.conn = None;
        if let Some(name) = self.database.take() {
            live.execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .map_err(|e| {
                    CliError::Crash(format!(
                        "could not drop the scratch database {name} (drop it by hand): {e}"
                    ))
                })?;
        }
        Ok(())
    }
}

/// Upgrades `conn` (an empty database) from base to `heads`, one head after the other, with
/// the same lowering and rendering an online `upgrade` uses; the `Running upgrade` lines go to
/// `log`.
pub fn replay(
    project: &mut Project,
    context: &super::environment::RunContext,
    conn: &mut dyn Connection,
    heads: &[String],
    log: &mut dyn FnMut(&str),
) -> Result<(), CliError> {
    let catch = super::Catch::default();
    for head in heads {
        let at = crate::db::current_heads(conn, &context.version_table)
            .map_err(|e| CliError::Crash(e.to_string()))?;
        let planned = {
            let map = project.map(&catch)?;
            plan::upgrade(map, head, &at).map_err(|e| catch.word(e))?
        };
        if let Some(failure) = planned.failure {
            return Err(catch.word(failure));
        }
        run_steps_on(conn, context, &planned.steps, log)?;
    }
    Ok(())
}

/// Runs planned steps on `conn` as an online run does (every body lowered first, then each
/// step's statements and version change), without the migration lock or env.py's hooks, and
/// without writing what the revisions print or log.
pub fn run_steps_on(
    conn: &mut dyn Connection,
    context: &super::environment::RunContext,
    steps: &[Step],
    log: &mut dyn FnMut(&str),
) -> Result<(), CliError> {
    let lower = crate::ops::LowerContext {
        offline: false,
        ..context.lower.clone()
    };
    let mut lowered = Vec::new();
    for step in steps {
        lowered.push(if step.direction == plan::Direction::Stamp {
            Vec::new()
        } else {
            super::migrate::step_ops(step, context.engine_name.as_deref(), &lower)?.0
        });
    }
    let dialect = conn.dialect();
    let mut index = 0usize;
    let mut type_memo = crate::sql::TypeMemo::new();
    let mut render = |_step: &Step,
                      conn: &mut dyn Connection|
     -> Result<Vec<crate::db::RunStatement>, CliError> {
        let ops = std::mem::take(&mut lowered[index]);
        index += 1;
        let mut reflector = super::migrate::ConnectionReflector(conn);
        let statements =
            crate::sql::render_ops_with_memo(&ops, dialect, Some(&mut reflector), &mut type_memo)
                .map_err(|e| CliError::Failed(e.to_string()))?;
        Ok(statements.into_iter().map(run_statement).collect())
    };
    let options = crate::db::RunOptions {
        transaction_per_migration: context.transaction_per_migration,
        context_logged: true,
        ..Default::default()
    };
    crate::db::run_online(
        conn,
        &context.version_table,
        steps,
        &options,
        &mut render,
        // A replay into a scratch database shows the `Running` lines only:
        // what the revisions print or log belongs to real runs.
        &mut |event| {
            if let crate::db::RunOutput::Migration(line) = event {
                log(line)
            }
        },
    )
    .map_err(|e| match e {
        crate::db::RunError::Render { error, .. } => error,
        other => CliError::Crash(other.to_string()),
    })
}
