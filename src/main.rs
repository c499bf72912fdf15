//! The `cairn` binary: command-line entry point.
fn main() {
    println!("cairn");
}
