//! The command line (in progress).
pub fn run() -> i32 {
    0
}
