//! Reading Rust source for the structure check: the files of a folder, the text without
//! its unit-test modules, and the code without comments and literals.

use std::{
    fs,
    path::{Path, PathBuf},
};

/// Every `.rs` file under `dir` (build output left out).
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without its `#[cfg(test)] mod name { … }` blocks (to the `}` at the line's
/// start); other `#[cfg(test)]` items stay.
pub fn without_test_modules(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let opens_test_module = lines[at].starts_with("#[cfg(test)]")
            && lines.get(at + 1).is_some_and(|next| {
                (next.starts_with("mod ") || next.starts_with("pub mod "))
                    && next.trim_end().ends_with('{')
            });
        if opens_test_module {
            at += 2;
            while at < lines.len() && lines[at] != "}" {
                at += 1;
            }
        } else {
            kept.push(lines[at]);
        }
        at += 1;
    }
    kept.join("\n")
}

/// The code without comments and without the contents of string and character literals
/// (newlines kept), so that only code is read for paths.
pub fn scrub(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        if c == '/' && next == Some('/') {
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
        } else if c == '/' && next == Some('*') {
            at += 2;
            while at < chars.len() && !(chars[at] == '*' && chars.get(at + 1) == Some(&'/')) {
                if chars[at] == '\n' {
                    out.push('\n');
                }
                at += 1;
            }
            at += 2;
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !word_before(&chars, at) {
            // A raw string: r"…", r#"…"#, …
            let hashes = chars[at + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(at + 1 + hashes) != Some(&'"') {
                out.push(c);
                at += 1;
                continue;
            }
            at += 2 + hashes;
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while at < chars.len() && chars[at..].iter().take(close.len()).ne(close.iter()) {
                at += 1;
            }
            at += close.len();
            out.push_str("\"\"");
        } else if c == '"' {
            at += 1;
            while at < chars.len() && chars[at] != '"' {
                at += if chars[at] == '\\' { 2 } else { 1 };
            }
            at += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (next == Some('\\') || chars.get(at + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\''), not a lifetime.
            at += if next == Some('\\') { 2 } else { 1 };
            while at < chars.len() && chars[at] != '\'' {
                at += 1;
            }
            at += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            at += 1;
        }
    }
    out
}

fn word_before(chars: &[char], at: usize) -> bool {
    at > 0 && (chars[at - 1].is_alphanumeric() || chars[at - 1] == '_')
}
