//! Project automation (filled in by the foundation issue).
fn main() {}
