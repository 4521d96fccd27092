//! The `copilot-rs` command-line tool. (Built by the CLI issue; until then it only says so.)

fn main() {
    eprintln!("copilot-rs: the command-line tool is not built yet (see the CLI issue)");
    std::process::exit(2);
}
