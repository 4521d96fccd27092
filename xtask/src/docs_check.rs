//! `cargo xtask ci`'s documentation checks: every `protocol.md` a doc names is the repository's own
//! `docs/protocol.md` (never a file outside the repository), every `§N` it cites is a section of that file, and
//! every test `docs/protocol.md` or `docs/security.md` names as pinning a rule exists.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Result;

/// The repository's public URL prefix for files on the main branch (Cargo.toml's `repository` + `/blob/main/`).
const REPO_BLOB: &str = "https://github.com/copilot-rs/copilot-rs/blob/main/";
/// The protocol document, relative to the repository root.
const PROTOCOL: &str = "docs/protocol.md";
/// The security model: every guarantee names the tests that pin it, checked like the protocol's.
const SECURITY: &str = "docs/security.md";
/// Where docs that may cite the protocol live.
const SCANNED: &[&str] = &[
    "crates",
    "xtask",
    "bench",
    "fuzz",
    "docs",
    "README.md",
    "CONTRIBUTING.md",
];

/// Runs every check; the error lists every problem found, one a line.
pub fn check(root: &Path) -> Result {
    let protocol = fs::read_to_string(root.join(PROTOCOL))
        .map_err(|e| format!("{PROTOCOL} is missing or unreadable: {e}"))?;
    let sections = section_numbers(&protocol);
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for entry in SCANNED {
        collect_files(&root.join(entry), &mut files);
    }
    for file in &files {
        // The checker's own source and tests name bad citations on purpose.
        if file.ends_with("xtask/src/docs_check.rs") {
            continue;
        }
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (line_no, line) in text.lines().enumerate() {
            for cite in citations(line) {
                if let Err(why) = check_citation(root, file, &cite, &sections) {
                    problems.push(format!("{shown}:{}: {why}", line_no + 1));
                }
            }
        }
    }
    let security = fs::read_to_string(root.join(SECURITY))
        .map_err(|e| format!("{SECURITY} is missing or unreadable: {e}"))?;
    let mut references = 0;
    for (doc, text) in [(PROTOCOL, &protocol), (SECURITY, &security)] {
        for (line_no, reference) in test_references(text) {
            references += 1;
            if let Err(why) = check_test_reference(root, &reference) {
                problems.push(format!("{doc}:{line_no}: {why}"));
            }
        }
    }
    if problems.is_empty() {
        eprintln!(
            "xtask: docs check: {} files cite {PROTOCOL} correctly; the {references} test references of \
             {PROTOCOL} and {SECURITY} exist",
            files.len()
        );
        Ok(())
    } else {
        Err(format!("docs check failed:\n  {}", problems.join("\n  ")))
    }
}

/// A mention of some `protocol.md` in a line: the path as written and the sections cited right after it.
#[derive(Debug, PartialEq, Eq)]
struct Citation {
    path: String,
    sections: Vec<u32>,
}

/// Every `…protocol.md` in `line`, with the path characters before it and the `§N` right after it.
fn citations(line: &str) -> Vec<Citation> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_./:-~#".contains(c);
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = line[from..].find("protocol.md") {
        let end = from + at + "protocol.md".len();
        let start = line[..from + at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_path_char(c))
            .last()
            .map_or(from + at, |(i, _)| i);
        // Skip what separates the path from its section numbers (a closing backtick or bracket, a link).
        let mut rest = &line[end..];
        if let Some(anchor) = rest.strip_prefix('#') {
            rest = anchor.trim_start_matches(|c: char| is_path_char(c));
        }
        rest = rest.trim_start_matches('`');
        if let Some(link) = rest.strip_prefix(']') {
            // `[text](target)` or `[text][label]`: the sections follow the link.
            rest = match link.chars().next() {
                Some('(') => link.split_once(')').map_or("", |(_, r)| r),
                Some('[') => link.split_once(']').map_or("", |(_, r)| r),
                _ => link,
            };
        }
        found.push(Citation {
            path: line[start..end].to_owned(),
            sections: section_refs(rest),
        });
        from = end;
    }
    found
}

/// The `§N` numbers at the start of `text` (`§6`, `§6–§13`, `§1 and §13`, `§5/§6`, `§2, §3`).
fn section_refs(text: &str) -> Vec<u32> {
    let mut numbers = Vec::new();
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix('§') {
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let Ok(number) = digits.parse() else { break };
        numbers.push(number);
        rest = &after[digits.len()..];
        let joined = ["–", "-", "/", ", ", " and ", ","]
            .iter()
            .find_map(|sep| rest.strip_prefix(sep));
        match joined {
            Some(next) if next.trim_start().starts_with('§') => rest = next.trim_start(),
            _ => break,
        }
    }
    numbers
}

/// The numbers of `## N. Title` headings.
fn section_numbers(protocol: &str) -> Vec<u32> {
    protocol
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .filter_map(|title| title.split_once('.'))
        .filter_map(|(number, _)| number.trim().parse().ok())
        .collect()
}

fn check_citation(
    root: &Path,
    file: &Path,
    cite: &Citation,
    sections: &[u32],
) -> std::result::Result<(), String> {
    let path = cite.path.as_str();
    if root.join(PROTOCOL) == file {
        return Ok(());
    }
    let target: PathBuf = if let Some(in_repo) = path.strip_prefix(REPO_BLOB) {
        root.join(in_repo)
    } else if path.contains("://") {
        return Err(format!(
            "`{path}` is outside the repository (cite {PROTOCOL} or {REPO_BLOB}{PROTOCOL})"
        ));
    } else if root.join(path).is_file() && path.contains('/') {
        root.join(path)
    } else {
        // A link relative to the citing file (`../../docs/protocol.md`).
        let relative = file.parent().unwrap_or(root).join(path);
        if path.contains('/') && relative.is_file() {
            relative
        } else {
            return Err(format!(
                "`{path}` is not a file in the repository (cite `{PROTOCOL}`)"
            ));
        }
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(&target, &root.join(PROTOCOL)) {
        return Err(format!("`{path}` is not {PROTOCOL}"));
    }
    for number in &cite.sections {
        if !sections.contains(number) {
            return Err(format!("{PROTOCOL} has no section §{number}"));
        }
    }
    Ok(())
}

/// Every `` `crates/…/x.rs::test_name` `` in the protocol document, with its line number.
fn test_references(protocol: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (line_no, line) in protocol.lines().enumerate() {
        for (i, part) in line.split('`').enumerate() {
            // Odd parts are inside backticks.
            if i % 2 == 1 && part.starts_with("crates/") && part.contains(".rs::") {
                found.push((line_no + 1, part.to_owned()));
            }
        }
    }
    found
}

fn check_test_reference(root: &Path, reference: &str) -> std::result::Result<(), String> {
    let (file, name) = reference
        .split_once("::")
        .ok_or_else(|| format!("`{reference}` is not `path::test_name`"))?;
    let text = fs::read_to_string(root.join(file))
        .map_err(|_| format!("`{reference}`: no file {file}"))?;
    if defines_test(&text, name) {
        Ok(())
    } else {
        Err(format!("`{reference}`: {file} has no test `{name}`"))
    }
}

/// Whether `source` has a `#[test]`/`#[tokio::test]`-style attribute followed by `fn name`.
/// Also a test made by a test-defining macro (`fault_test! { name(…) … }`): the first identifier in it.
fn defines_test(source: &str, name: &str) -> bool {
    let ident = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut after_test_attribute = false;
    let mut in_test_macro = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[") {
            after_test_attribute |= line.contains("test");
            continue;
        }
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        if let Some(invocation) = line.strip_suffix("! {")
            && invocation.ends_with("test")
            && invocation
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            in_test_macro = true;
            continue;
        }
        if in_test_macro && ident(line) == name && line[name.len()..].starts_with('(') {
            return true;
        }
        if after_test_attribute {
            let signature = line.trim_start_matches("pub ").trim_start_matches("async ");
            if let Some(rest) = signature.strip_prefix("fn ")
                && ident(rest) == name
            {
                return true;
            }
        }
        after_test_attribute = false;
        in_test_macro = false;
    }
    false
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "md" | "toml")
        ) {
            out.push(path.to_path_buf());
        }
        return;
    }
    let Ok(entries) = fs::read_dir(path) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "target" || name.starts_with('.') {
            continue;
        }
        collect_files(&entry, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_find_the_path_and_the_sections() {
        assert_eq!(
            citations("//! quirks of `docs/protocol.md` §6–§13, and protocol.md §1"),
            vec![
                Citation {
                    path: "docs/protocol.md".into(),
                    sections: vec![6, 13]
                },
                Citation {
                    path: "protocol.md".into(),
                    sections: vec![1]
                },
            ]
        );
        assert_eq!(
            citations("in [`docs/protocol.md`][protocol] §1 and §13."),
            vec![Citation {
                path: "docs/protocol.md".into(),
                sections: vec![1, 13]
            }]
        );
        assert_eq!(
            citations("see ../shared/protocol.md §5/§6"),
            vec![Citation {
                path: "../shared/protocol.md".into(),
                sections: vec![5, 6]
            }]
        );
    }

    #[test]
    fn only_the_repositorys_own_protocol_md_with_existing_sections_passes() {
        let root = std::env::temp_dir().join(format!("xtask-docs-check-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::create_dir_all(root.join("crates/a/src")).unwrap();
        fs::write(root.join(PROTOCOL), "# P\n\n## 1. Hosts\n\n## 2. Device\n").unwrap();
        let file = root.join("crates/a/src/lib.rs");
        let sections = section_numbers(&fs::read_to_string(root.join(PROTOCOL)).unwrap());
        assert_eq!(sections, vec![1, 2]);
        let verdict = |line: &str| -> Vec<bool> {
            citations(line)
                .iter()
                .map(|c| check_citation(&root, &file, c, &sections).is_ok())
                .collect()
        };
        assert_eq!(verdict("`docs/protocol.md` §2"), vec![true]);
        assert_eq!(
            verdict(&format!("[p]({REPO_BLOB}docs/protocol.md) §1")),
            vec![true]
        );
        assert_eq!(verdict("[p](../../../docs/protocol.md)"), vec![true]);
        assert_eq!(
            verdict("`docs/protocol.md` §3"),
            vec![false],
            "no section 3"
        );
        assert_eq!(verdict("protocol.md §1"), vec![false], "bare name");
        assert_eq!(verdict("`../shared/protocol.md` §1"), vec![false]);
        assert_eq!(verdict("/work/shared/protocol.md"), vec![false]);
        assert_eq!(verdict("https://example.com/protocol.md"), vec![false]);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn test_references_must_name_an_existing_test() {
        let source = "#[test]\nfn real_one() {}\n\n#[tokio::test(start_paused = true)]\nasync fn \
                      paused() {}\n\nfn helper() {}\n\nfault_test! {\n    /// Doc.\n    by_macro(Time::Instant)\n}\n";
        assert!(defines_test(source, "real_one"));
        assert!(defines_test(source, "paused"));
        assert!(defines_test(source, "by_macro"));
        assert!(!defines_test(source, "helper"));
        assert!(!defines_test(source, "missing"));
        let refs =
            test_references("- a rule. Pinned by `crates/x/tests/y.rs::a_test`, `not/a.rs`.\n");
        assert_eq!(refs, vec![(1, "crates/x/tests/y.rs::a_test".to_owned())]);
    }

    #[test]
    fn the_repository_passes() {
        check(&crate::root()).unwrap();
    }
}
