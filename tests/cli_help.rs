//! The command line describes itself: every command and argument has help
//! text (Alembic's words where Alembic has them), the commands are listed in
//! Alembic's order before aurora's own verbs, and the completion scripts load.

use clap::CommandFactory;
use std::process::Command;

fn undescribed(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" {
            continue;
        }
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            missing.push(format!("{path} {id}"));
        }
    }
    for sub in command.get_subcommands() {
        let sub_path = format!("{path} {}", sub.get_name());
        if sub.get_about().is_none() && sub.get_long_about().is_none() {
            missing.push(sub_path.clone());
        }
        undescribed(sub, &sub_path, missing);
    }
}

#[test]
fn every_command_and_argument_is_described() {
    let mut missing = Vec::new();
    undescribed(&aurora::cli::Cli::command(), "aurora", &mut missing);
    assert!(missing.is_empty(), "without help text: {missing:?}");
}

#[test]
fn alembic_commands_come_first_in_alembic_order() {
    let names: Vec<String> = aurora::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let alembic = [
        "branches",
        "check",
        "current",
        "downgrade",
        "edit",
        "ensure_version",
        "heads",
        "history",
        "init",
        "list_templates",
        "merge",
        "revision",
        "show",
        "stamp",
        "upgrade",
    ];
    assert_eq!(&names[..alembic.len()], &alembic[..]);
}

#[test]
fn upgrade_help_describes_sql_and_tag_in_alembics_words() {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["upgrade", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("Don't emit SQL to database - dump to standard output/file instead"),
        "{help}"
    );
    assert!(
        help.contains("Arbitrary 'tag' name - can be used by custom env.py scripts"),
        "{help}"
    );
}

#[test]
fn the_bash_completion_script_loads_and_completes_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("aurora.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // Load the script, then ask its completion function what follows `aurora up`.
    let probe = format!(
        "set -e; source '{}'; COMP_WORDS=(aurora up); COMP_CWORD=1; COMP_LINE='aurora up'; COMP_POINT=9; \
         _aurora aurora up aurora; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let bash = Command::new("bash")
        .args(["--norc", "-c", &probe])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bash.stderr);
    assert!(bash.status.success(), "bash: {stderr}");
    assert!(stderr.is_empty(), "bash printed errors: {stderr}");
    let replies = String::from_utf8_lossy(&bash.stdout);
    assert!(replies.lines().any(|l| l == "upgrade"), "{replies}");
    assert!(replies.lines().any(|l| l == "upgrade-to"), "{replies}");
}

#[test]
fn completion_scripts_for_the_other_shells() {
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("upgrade"), "{shell}: {text}");
    }
}

/// `aurora man`: a roff page naming every command with its help line; where `man` is
/// installed it must also render the page without complaint.
#[test]
fn the_manual_page_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(&format!(
            ".TH aurora 1  \"aurora {}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{page}"
    );
    let command = aurora::cli::Cli::command();
    for sub in command.get_subcommands() {
        let name = sub.get_name().replace('-', "\\-");
        assert!(
            page.contains(&format!(".TP\naurora\\-{name}(1)\n")),
            "{name} missing from the page"
        );
    }
    if let Ok(mut man) = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write as _;
        man.stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let rendered = man.wait_with_output().unwrap();
        assert!(rendered.status.success());
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(text.contains("NAME"), "{text}");
        assert!(
            String::from_utf8_lossy(&rendered.stderr).is_empty(),
            "man: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
    }
}
