//! Opening a URL in the user's browser (`$BROWSER`, else the platform's opener). Only ever called after the
//! user asked for it on a terminal.
//!
//! The URL comes from a server (the device flow's `verification_uri`), so it is checked (https, or http to
//! loopback, no control characters) and handed to the opener as one argument, never through a shell: on
//! Windows `cmd /C start` would run whatever follows an `&` in the URL.

use std::io;
use std::process::{Command, Stdio};

/// Starts the browser on `url` without waiting for it.
pub fn open(url: &str) -> io::Result<()> {
    let mut command = command_for(url, std::env::var("BROWSER").ok().as_deref())?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reap the opener when it exits so it does not linger as a zombie.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// The command that opens `url`: `browser` (the `$BROWSER` value) if set, else the platform's opener; the
/// URL is its single argument. Refuses what copilot-http's link rule refuses
/// ([`check_openable_link`](copilot_http::safety::check_openable_link): anything but https, or loopback
/// http, without userinfo or control characters, at most 2048 bytes).
fn command_for(url: &str, browser: Option<&str>) -> io::Result<Command> {
    let parsed = copilot_http::safety::check_openable_link(url).map_err(|why| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not opening the link: {why}"),
        )
    })?;
    let mut command = match browser.map(str::trim) {
        Some(browser) if !browser.is_empty() => Command::new(browser),
        _ => platform_opener(),
    };
    command.arg(parsed.as_str());
    Ok(command)
}

#[cfg(target_os = "macos")]
fn platform_opener() -> Command {
    Command::new("open")
}

/// `rundll32 url.dll,FileProtocolHandler <url>` hands the URL to the default browser without a shell
/// parsing it (unlike `cmd /C start`).
#[cfg(windows)]
fn platform_opener() -> Command {
    let mut command = Command::new("rundll32");
    command.arg("url.dll,FileProtocolHandler");
    command
}

#[cfg(not(any(target_os = "macos", windows)))]
fn platform_opener() -> Command {
    Command::new("xdg-open")
}

/// `text` without control characters (escape sequences, bells, carriage returns), for printing what a
/// server sent on the user's terminal.
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_links_are_opened_and_never_through_a_shell() {
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://evil.example/device",
            "https://github.com/login/device\u{1b}]8;;x\u{7}",
            "https://github.com/\r\ncalc",
            "https://github.com@evil.example/login/device",
        ] {
            assert!(command_for(bad, None).is_err(), "{bad:?}");
        }
        let long = format!("https://github.com/login/device?{}", "a".repeat(3000));
        assert!(command_for(&long, None).is_err(), "a link over 2048 bytes");
        let url = "https://github.com/login/device?a=1&calc.exe";
        let command = command_for(url, None).unwrap();
        let program = command.get_program().to_string_lossy().into_owned();
        assert!(!program.eq_ignore_ascii_case("cmd"), "{program}");
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args.last().map(String::as_str), Some(url));
        assert!(command_for("http://127.0.0.1:8080/device", None).is_ok());
        let custom = command_for(url, Some(" firefox ")).unwrap();
        assert_eq!(custom.get_program(), "firefox");
    }

    #[test]
    fn printable_strips_control_characters() {
        assert_eq!(printable("WDJB\u{1b}[2J-MJHT\u{7}\r\n"), "WDJB[2J-MJHT");
    }
}
