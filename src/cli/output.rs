//! Every byte aurora prints goes through here: stdout (buffered, silenced by
//! `-q` for Alembic's `print_stdout` messages) and the log lines on stderr.

use std::io::Write;

/// Where command output goes.
pub struct Output {
    stdout: std::io::BufWriter<std::io::Stdout>,
    quiet: bool,
}

impl Output {
    pub fn new(quiet: bool) -> Output {
        Output {
            stdout: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
            quiet,
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
        let _ = self.stdout.write_all(text.as_bytes());
    }

    /// A log line on stderr, as Alembic's logging configuration prints it.
    pub fn log(&mut self, logger: &str, message: &str) {
        if self.quiet {
            return;
        }
        self.flush();
        eprintln!("INFO  [{logger}] {message}");
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
        self.flush();
    }
}
