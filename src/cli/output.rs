//! Every byte aurora prints goes through here: stdout (buffered, silenced by
//! `-q` for Alembic's `print_stdout` messages) and the log lines on stderr.

use std::io::Write;

pub use crate::run::SqlSink;

/// Where command output goes.
pub struct Output {
    stdout: std::io::BufWriter<std::io::Stdout>,
    quiet: bool,
    /// Whether a progress bar is drawn on the last line of stderr.
    bar_visible: bool,
    /// Where offline SQL goes instead of stdout (env.py's `output_buffer`).
    sql_sink: Option<Box<SqlSink>>,
    /// `--format json`: the read-only commands print one JSON document.
    pub json: bool,
}

impl Output {
    pub fn new(quiet: bool) -> Output {
        Output {
            stdout: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
            quiet,
            bar_visible: false,
            sql_sink: None,
            json: false,
        }
    }

    /// Alembic's `Config.print_stdout`: the text and a newline, unless `-q`.
    pub fn print(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        let _ = self.stdout.write_all(text.as_bytes());
        let _ = self.stdout.write_all(b"\n");
    }

    /// Text as it is, unless `-q` (a completion script).
    pub fn print_raw(&mut self, text: &str) {
        if !self.quiet {
            let _ = self.stdout.write_all(text.as_bytes());
        }
    }

    /// SQL written in offline mode (`--sql`): never silenced.
    pub fn sql(&mut self, text: &str) {
        match &mut self.sql_sink {
            Some(sink) => sink(text),
            None => {
                let _ = self.stdout.write_all(text.as_bytes());
            }
        }
    }

    /// Text the project's Python printed (env.py, or a revision online):
    /// stdout, as `print()` writes it, or `output_buffer` while env.py
    /// redirects it; under `--format json` stderr, so that stdout stays
    /// one JSON document.
    pub fn python_print(&mut self, text: &str) {
        if self.json && self.sql_sink.is_none() {
            self.flush();
            eprint!("{text}");
        } else {
            self.sql(text);
        }
    }

    /// Sends offline SQL to `sink` (or back to stdout with `None`).
    pub fn redirect_sql(&mut self, sink: Option<Box<SqlSink>>) {
        self.sql_sink = sink;
    }

    /// An INFO record of `logger`, printed as the logging configuration
    /// `env.py` installed says (`fileConfig`): nothing without one, as in
    /// Alembic. `-q` does not silence it (Alembic's `-q` is for stdout
    /// messages only).
    pub fn log(&mut self, logger: &str, message: &str) {
        self.log_at(logger, crate::logging::INFO, message)
    }

    /// One record of `level` on `logger`, through the logging configuration.
    pub fn log_at(&mut self, logger: &str, level: u32, message: &str) {
        let lines = crate::logging::render(logger, level, message);
        if lines.is_empty() {
            return;
        }
        self.flush();
        self.clear_bar();
        self.write_log_lines(&lines);
    }

    fn write_log_lines(&mut self, lines: &[crate::logging::Line]) {
        for text in crate::logging::write_unbuffered(lines) {
            let _ = self.stdout.write_all(text.as_bytes());
            let _ = self.stdout.write_all(b"\n");
        }
    }

    /// A `FAILED:` message, as Alembic's `util.err` gives it: logged as an
    /// ERROR of `alembic.util.messaging` (printed as env.py's logging
    /// configuration says; nothing before one, since Alembic's own logger
    /// has a `NullHandler`), then `FAILED: ...` on stdout; under
    /// `--format json` on stderr, so that stdout holds only the document.
    pub fn failed(&mut self, message: &str) {
        let lines =
            crate::logging::render("alembic.util.messaging", crate::logging::ERROR, message);
        if !lines.is_empty() {
            self.flush();
            self.clear_bar();
            self.write_log_lines(&lines);
        }
        if self.json {
            self.flush();
            eprintln!("FAILED: {message}");
        } else {
            self.print(&format!("FAILED: {message}"));
        }
    }

    /// Whether a progress bar makes sense: stderr is a terminal that can
    /// redraw a line (not `TERM=dumb`), and `NO_COLOR` is not set.
    pub fn wants_progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && std::io::stderr().is_terminal() && decorations_allowed()
    }

    /// Draws `[#####-----] done/total revisions` on the last line of stderr.
    pub fn progress(&mut self, done: usize, total: usize) {
        const WIDTH: usize = 30;
        let filled = (done * WIDTH)
            .checked_div(total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let bar: String = "#".repeat(filled) + &"-".repeat(WIDTH - filled);
        eprint!("\r\x1b[2K[{bar}] {done}/{total} revisions");
        self.bar_visible = true;
    }

    /// Removes the progress bar, if one is drawn.
    pub fn clear_bar(&mut self) {
        if self.bar_visible {
            eprint!("\r\x1b[2K");
            self.bar_visible = false;
        }
    }

    /// A Python warning Alembic emits (`warnings.warn`), on stderr as
    /// `UserWarning: message` (Python also names its own source line, which
    /// aurora has none of).
    pub fn python_warning(&mut self, category: &str, message: &str) {
        self.flush();
        self.clear_bar();
        eprintln!("{category}: {message}");
    }

    /// A warning on stderr.
    pub fn warn(&mut self, message: &str) {
        self.flush();
        eprintln!("  WARNING: {message}");
    }

    pub fn flush(&mut self) {
        let _ = self.stdout.flush();
    }
}

/// Whether terminal decorations (a redrawn progress bar, emoji) may be used:
/// not with `TERM=dumb`, not when `NO_COLOR` is set to anything non-empty.
pub fn decorations_allowed() -> bool {
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !dumb && !no_color
}

/// A run's output is the command's: the library's runs print through this.
impl crate::run::Sink for Output {
    fn print(&mut self, text: &str) {
        Output::print(self, text)
    }

    fn sql(&mut self, text: &str) {
        Output::sql(self, text)
    }

    fn python_print(&mut self, text: &str) {
        Output::python_print(self, text)
    }

    fn redirect_sql(&mut self, sink: Option<Box<SqlSink>>) {
        Output::redirect_sql(self, sink)
    }

    fn log_at(&mut self, logger: &str, level: u32, message: &str) {
        Output::log_at(self, logger, level, message)
    }

    fn python_warning(&mut self, category: &str, message: &str) {
        Output::python_warning(self, category, message)
    }

    fn warn(&mut self, message: &str) {
        Output::warn(self, message)
    }

    /// `aurora: <line>` on stderr, after what stdout holds so far.
    fn notice(&mut self, line: &str) {
        self.flush();
        eprintln!("aurora: {line}");
    }

    fn wants_progress(&self) -> bool {
        Output::wants_progress(self)
    }

    fn progress(&mut self, done: usize, total: usize) {
        Output::progress(self, done, total)
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.clear_bar();
        self.flush();
    }
}
