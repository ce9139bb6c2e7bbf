fn main() {
    std::process::exit(aurora::cli::run());
}
