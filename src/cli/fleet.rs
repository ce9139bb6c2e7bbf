//! `aurora fleet FILE COMMAND...`: parses the fleet options, prints
//! progress and the summary (the work is `crate::fleet`).

use std::io::IsTerminal;

use super::args::{Cli, Command};
use super::output::Output;
use super::CliError;
use crate::db::DatabaseUrl;
use crate::fleet::{Outcome, Plan};

pub fn fleet(cli: &Cli, command: &Command, out: &mut Output) -> Result<(), CliError> {
    let Command::Fleet {
        file,
        targets_from_sql,
        url,
        jobs,
        fail_fast,
        resume,
        command,
    } = command
    else {
        return Err(CliError::Crash("fleet called for another command".into()));
    };
    let parse_url = |what: &str, u: &str| {
        DatabaseUrl::parse(u).map_err(|e| CliError::Failed(format!("{what}: {e}")))
    };
    let base = url.as_deref().map(|u| parse_url("--url", u)).transpose()?;
    let targets = match targets_from_sql {
        None => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::Failed(format!("cannot read {file}: {e}")))?;
            crate::fleet::parse_targets(file, &text, base.as_ref())
                .map_err(|e| CliError::Failed(e.to_string()))?
        }
        Some(sql) => {
            let catalog = parse_url("the catalog URL", file)?;
            crate::fleet::targets_from_sql(&catalog, sql, base.as_ref()).map_err(|e| {
                CliError::Failed(format!("--targets-from-sql on {}: {e}", catalog.masked()))
            })?
        }
    };
    if targets.is_empty() {
        return Err(CliError::Failed("the fleet has no targets".into()));
    }
    let binary = std::env::current_exe()
        .map_err(|e| CliError::Crash(format!("cannot find the aurora binary: {e}")))?;
    let mut global_args = Vec::new();
    for c in &cli.config {
        global_args.extend(["-c".to_string(), c.clone()]);
    }
    global_args.extend(["-n".to_string(), cli.name.clone()]);
    for x in &cli.x {
        global_args.extend(["-x".to_string(), x.clone()]);
    }
    if cli.quiet {
        global_args.push("-q".into());
    }
    if cli.no_lock {
        global_args.push("--no-lock".into());
    }
    global_args.extend(["--lock-timeout".to_string(), cli.lock_timeout.to_string()]);
    let resume_goal = if *resume {
        Some(script_heads(&binary, &global_args)?)
    } else {
        None
    };
    let plan = Plan {
        binary,
        global_args,
        command: command.clone(),
        jobs: *jobs,
        fail_fast: *fail_fast,
        resume_goal,
    };
    let tty = std::io::stderr().is_terminal();
    let progress = |done: usize, total: usize, o: &Outcome| {
        if tty {
            eprintln!("[{done}/{total}] {} {}", o.target, o.outcome);
        }
    };
    let started = std::time::Instant::now();
    let results = crate::fleet::run(&plan, &targets, &progress);
    let failed = results.iter().filter(|o| o.outcome == "failed").count();
    if out.json {
        let list: Vec<serde_json::Value> = results
            .iter()
            .map(|o| {
                let heads = |h: &Result<Vec<String>, String>| match h {
                    Ok(h) => serde_json::json!(h),
                    Err(e) => serde_json::json!({ "error": e }),
                };
                serde_json::json!({
                    "target": o.target,
                    "from": heads(&o.from),
                    "to": heads(&o.to),
                    "outcome": o.outcome,
                    "exit_code": o.exit_code,
                    "seconds": o.elapsed.as_secs_f64(),
                    "stdout": o.stdout,
                    "stderr": o.stderr,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "targets": list,
            "failed": failed,
            "seconds": started.elapsed().as_secs_f64(),
        });
        out.print(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        let show = |h: &Result<Vec<String>, String>| match h {
            Ok(h) if h.is_empty() => "<base>".to_string(),
            Ok(h) => h.join(","),
            Err(_) => "?".to_string(),
        };
        let width = results
            .iter()
            .map(|o| o.target.len())
            .max()
            .unwrap_or(6)
            .max(6);
        out.print(&format!(
            "{:<width$}  {:<14} {:<14} {:<8} {:>8}",
            "target", "from", "to", "outcome", "time"
        ));
        for o in &results {
            out.print(&format!(
                "{:<width$}  {:<14} {:<14} {:<8} {:>7.2}s",
                o.target,
                show(&o.from),
                show(&o.to),
                o.outcome,
                o.elapsed.as_secs_f64()
            ));
        }
        out.print(&format!(
            "{} targets, {failed} failed, {:.2}s",
            results.len(),
            started.elapsed().as_secs_f64()
        ));
        for o in results.iter().filter(|o| o.outcome == "failed") {
            out.flush();
            eprintln!("--- {} failed:", o.target);
            let lines: Vec<&str> = o.stderr.lines().collect();
            for line in &lines[lines.len().saturating_sub(5)..] {
                eprintln!("    {line}");
            }
        }
    }
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "{failed} of {} targets failed",
            results.len()
        )));
    }
    Ok(())
}

/// The script's heads, from `aurora heads` run once (for --resume).
fn script_heads(binary: &std::path::Path, global_args: &[String]) -> Result<Vec<String>, CliError> {
    let o = std::process::Command::new(binary)
        .args(global_args)
        .arg("heads")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| CliError::Crash(format!("cannot run aurora heads: {e}")))?;
    if !o.status.success() {
        return Err(CliError::Failed(format!(
            "--resume: aurora heads failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    let mut heads: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    heads.sort();
    Ok(heads)
}
