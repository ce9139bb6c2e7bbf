//! Every byte aurora prints goes through here: stdout (buffered, silenced by
//! `-q` for Alembic's `print_stdout` messages) and the log lines on stderr.

use std::io::Write;

/// A receiver of offline SQL text.
pub type SqlSink = dyn FnMut(&str);

/// Where command output goes.
pub struct Output {
    stdout: std::io::BufWriter<std::io::Stdout>,
    quiet: bool,
    /// Whether a progress bar is drawn on the last line of stderr.
    bar_visible: bool,
    /// Where offline SQL goes instead of stdout (env.py's `output_buffer`).
    sql_sink: Option<Box<SqlSink>>,
    /// Whether a log line was printed: env.py's logging is set up, so
    /// Alembic's `util.err` logs its message too.
    logged: bool,
}

impl Output {
    pub fn new(quiet: bool) -> Output {
        Output {
            stdout: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
            quiet,
            bar_visible: false,
            sql_sink: None,
            logged: false,
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

    /// SQL written in offline mode (`--sql`): never silenced.
    pub fn sql(&mut self, text: &str) {
        match &mut self.sql_sink {
            Some(sink) => sink(text),
            None => {
                let _ = self.stdout.write_all(text.as_bytes());
            }
        }
    }

    /// Sends offline SQL to `sink` (or back to stdout with `None`).
    pub fn redirect_sql(&mut self, sink: Option<Box<SqlSink>>) {
        self.sql_sink = sink;
    }

    /// A log line on stderr, as Alembic's logging configuration prints it.
    pub fn log(&mut self, logger: &str, message: &str) {
        if self.quiet {
            return;
        }
        self.flush();
        self.clear_bar();
        eprintln!("INFO  [{logger}] {message}");
        self.logged = true;
    }

    /// A `FAILED:` message: on stdout, and, once env.py's logging is set up
    /// (a log line was printed), also logged on stderr as `util.err` does
    /// (`ERROR [alembic.util.messaging] ...`).
    pub fn failed(&mut self, message: &str) {
        if self.logged {
            self.flush();
            self.clear_bar();
            eprintln!("ERROR [alembic.util.messaging] {message}");
        }
        self.print(&format!("FAILED: {message}"));
    }

    /// Whether a progress bar makes sense: stderr is a terminal.
    pub fn wants_progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && std::io::stderr().is_terminal()
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

    /// A warning on stderr.
    pub fn warn(&mut self, message: &str) {
        self.flush();
        eprintln!("  WARNING: {message}");
    }

    pub fn flush(&mut self) {
        let _ = self.stdout.flush();
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.clear_bar();
        self.flush();
    }
}
