//! Checks of the code's shape that the compiler does not make: no source file over
//! [`MAX_CODE_LINES`] lines before its unit tests, and no import cycle between the
//! top-level modules of any crate (`admin → auth → checkout → admin` was one in the
//! server; `error → changes → snapshot → error` in the core). A name the crate root
//! re-exports (`crate::ErrorCode`) counts as a use of the module it comes from.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// Most lines a source file may have before its `#[cfg(test)]` module.
pub const MAX_CODE_LINES: usize = 450;

/// Runs both checks over the workspace; the error lists every finding.
pub fn check(root: &Path) -> Result<String, String> {
    let mut findings = Vec::new();
    let mut files = Vec::new();
    for dir in ["crates", "fuzz/fuzz_targets"] {
        rust_files(&root.join(dir), &mut files);
    }
    // Test files (crates/*/tests) are tests: they are not held to the size.
    files.retain(|f| !f.components().any(|c| c.as_os_str() == "tests"));
    for file in &files {
        let text = fs::read_to_string(file).unwrap_or_default();
        let lines = code_lines(&text);
        if lines > MAX_CODE_LINES {
            let shown = file.strip_prefix(root).unwrap_or(file).display();
            findings.push(format!(
                "{shown}: {lines} lines of code (at most {MAX_CODE_LINES})"
            ));
        }
    }
    let mut modules = 0;
    let crates = fs::read_dir(root.join("crates")).map_err(|e| e.to_string())?;
    let mut crates: Vec<PathBuf> = crates.flatten().map(|e| e.path()).collect();
    crates.sort();
    for krate in crates {
        let src = krate.join("src");
        if !src.is_dir() {
            continue;
        }
        let graph = module_graph(&src);
        modules += graph.len();
        if let Some(cycle) = find_cycle(&graph) {
            let name = krate.file_name().unwrap_or_default().to_string_lossy();
            findings.push(format!("import cycle in {name}: {}", cycle.join(" → ")));
        }
    }
    if findings.is_empty() {
        Ok(format!(
            "{} source files within {MAX_CODE_LINES} lines; {modules} modules in the crates, \
             no import cycle in any crate",
            files.len()
        ))
    } else {
        Err(findings.join("\n"))
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
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

/// Lines before the first top-level `#[cfg(test)]`.
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .count()
}

/// Each top-level module of a crate (`src/x.rs` or `src/x/`) and the top-level modules
/// its code names through `crate::…`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let reexported = root_reexports(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Ok(relative) = file.strip_prefix(src) else {
            continue;
        };
        let first = relative
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .unwrap_or_default();
        if matches!(first.as_str(), "lib" | "main" | "bin") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap_or_default();
        let code: String = text
            .lines()
            .take_while(|line| !line.starts_with("#[cfg(test)]"))
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let used = graph.entry(first.clone()).or_default();
        for target in crate_references(&code) {
            let target = reexported.get(&target).cloned().unwrap_or(target);
            if target != first {
                used.insert(target);
            }
        }
    }
    graph
}

/// The names the crate root (`lib.rs`) re-exports with `pub use module::…`, and the
/// module each comes from.
fn root_reexports(src: &Path) -> BTreeMap<String, String> {
    reexports_of(&fs::read_to_string(src.join("lib.rs")).unwrap_or_default())
}

fn reexports_of(text: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut rest = text;
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let statement = &rest[..rest.find(';').unwrap_or(rest.len())];
        let Some((module, names)) = statement.split_once("::") else {
            continue;
        };
        for name in names
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|n| !n.is_empty())
        {
            found.insert(name.to_owned(), module.trim().to_owned());
        }
    }
    found
}

/// The top-level modules named after `crate::`, including every branch of a
/// `crate::{a::x, b, c::{…}}` group.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: identifiers at brace depth 0 of `group`,
            // each at the start of a branch.
            let mut depth = 0usize;
            let mut at_branch_start = true;
            let mut chars = group.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_branch_start = true,
                    c if depth == 0 && at_branch_start && (c.is_alphabetic() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        for _ in 1..name.chars().count() {
                            chars.next();
                        }
                        found.insert(name);
                        at_branch_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// A cycle of the graph, as the path of modules around it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_from_paths_and_groups() {
        let code = "use crate::{\n    admin::load, auth::{a, b},\n    db::{self, x::Y},\n};\n\
                    fn f() { crate::metrics::order(); }";
        let found: Vec<String> = crate_references(code).into_iter().collect();
        assert_eq!(found, ["admin", "auth", "db", "metrics"]);
    }

    #[test]
    fn a_cycle_is_found_and_a_chain_is_not() {
        let graph = |edges: &[(&str, &str)]| {
            let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (from, to) in edges {
                g.entry((*from).into()).or_default().insert((*to).into());
                g.entry((*to).into()).or_default();
            }
            g
        };
        let chain = graph(&[("admin", "auth"), ("auth", "checkout"), ("checkout", "db")]);
        assert_eq!(find_cycle(&chain), None);
        let cycle = graph(&[
            ("admin", "auth"),
            ("auth", "checkout"),
            ("checkout", "admin"),
        ]);
        assert_eq!(
            find_cycle(&cycle).unwrap(),
            ["admin", "auth", "checkout", "admin"]
        );
    }

    #[test]
    fn a_name_the_root_reexports_counts_as_its_module() {
        let lib =
            "pub mod error;\npub use error::{ErrorCode, Rejection};\npub use lifecycle::Event;\n";
        let found = reexports_of(lib);
        assert_eq!(found.get("ErrorCode").map(String::as_str), Some("error"));
        assert_eq!(found.get("Rejection").map(String::as_str), Some("error"));
        assert_eq!(found.get("Event").map(String::as_str), Some("lifecycle"));
        assert_eq!(found.get("error"), None);
    }

    #[test]
    fn code_lines_stop_at_the_tests() {
        assert_eq!(code_lines("a\nb\n#[cfg(test)]\nmod tests {}\n"), 2);
        assert_eq!(code_lines("a\n    #[cfg(test)]\nb\n"), 3);
    }
}
