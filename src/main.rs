fn main() -> std::process::ExitCode {
    match aurora::cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(report) => report.exit(),
    }
}
