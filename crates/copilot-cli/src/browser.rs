//! Opening a URL in the user's browser (`$BROWSER`, else the platform's opener). Only ever called after the
//! user asked for it on a terminal.

use std::io;
use std::process::{Command, Stdio};

/// Starts the browser on `url` without waiting for it.
pub fn open(url: &str) -> io::Result<()> {
    let mut command = match std::env::var("BROWSER") {
        Ok(browser) if !browser.trim().is_empty() => Command::new(browser.trim()),
        _ => platform_opener(),
    };
    let mut child = command
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reap the opener when it exits so it does not linger as a zombie.
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[cfg(target_os = "macos")]
fn platform_opener() -> Command {
    Command::new("open")
}

#[cfg(windows)]
fn platform_opener() -> Command {
    let mut command = Command::new("cmd");
    command.args(["/C", "start", ""]);
    command
}

#[cfg(not(any(target_os = "macos", windows)))]
fn platform_opener() -> Command {
    Command::new("xdg-open")
}
