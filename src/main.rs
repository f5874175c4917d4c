//! The `thingwatch` binary: a thin shell that wires the library crates together.
fn main() {}
