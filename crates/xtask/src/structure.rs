//! Checks of the code's shape that the compiler does not make: no source file over
//! [`MAX_CODE_LINES`] lines before its unit tests, and no import cycle between the
//! modules (files) of any crate (`admin → auth → checkout → admin` was one in the
//! server; `error → changes → snapshot → error` in the core). A name re-exported by the
//! crate root or a folder's `mod.rs` (`crate::ErrorCode`, `crate::payments::Provider`)
//! counts as a use of the module that defines it.

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

/// Each module of a crate (`src/a.rs` or `src/a/mod.rs` is `a`, `src/a/b.rs` is
/// `a::b`) and the modules its code names. A folder's front door (`a`) may use its own
/// children (it declares and assembles them), so those edges are left out; every other
/// use counts, including a child's use of its parent through `super::`.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut code_of: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let Some(name) = file.strip_prefix(src).ok().and_then(module_name) else {
            continue;
        };
        let text = fs::read_to_string(&file).unwrap_or_default();
        code_of.insert(name, code_before_tests(&text));
    }
    let root = Reexports::of(
        &code_before_tests(&fs::read_to_string(src.join("lib.rs")).unwrap_or_default()),
        &[],
    );
    let reexports: BTreeMap<&str, Reexports> = code_of
        .iter()
        .map(|(name, code)| (name.as_str(), Reexports::of(code, &segments(name))))
        .collect();
    let modules = Modules {
        code_of: &code_of,
        root,
        reexports,
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in &code_of {
        let used = graph.entry(name.clone()).or_default();
        for path in named_paths(code, &segments(name)) {
            let Some(target) = modules.resolve(&path, 0) else {
                continue;
            };
            if target != *name && !target.starts_with(&format!("{name}::")) {
                used.insert(target);
            }
        }
    }
    graph
}

/// The module a source file (relative to `src/`) holds; `None` for the crate roots and
/// binaries.
fn module_name(relative: &Path) -> Option<String> {
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if stem != "mod" {
        parts.push(stem.to_owned());
    }
    match parts.first().map(String::as_str) {
        None | Some("lib" | "main" | "bin") => None,
        Some(_) => Some(parts.join("::")),
    }
}

fn segments(name: &str) -> Vec<String> {
    name.split("::").map(str::to_owned).collect()
}

/// The code of a file before its unit tests, without line comments.
fn code_before_tests(text: &str) -> String {
    text.lines()
        .take_while(|line| !line.starts_with("#[cfg(test)]"))
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names a module re-exports with `pub use`, each with the full path it comes from.
#[derive(Default)]
struct Reexports(BTreeMap<String, Vec<String>>);

impl Reexports {
    fn of(code: &str, module: &[String]) -> Self {
        let mut found = BTreeMap::new();
        for statement in code.split(';') {
            let Some(at) = statement.find("pub use ") else {
                continue;
            };
            let chars: Vec<char> = statement[at + "pub use ".len()..].chars().collect();
            let (base, start) = anchor(&chars, 0, module).unwrap_or_else(|| {
                // `pub use child::X`: a path relative to this module when `child` is one
                // of its modules, otherwise another crate's (left out).
                (module.to_vec(), 0)
            });
            let mut paths = Vec::new();
            let mut at = start;
            parse_tree(&chars, &mut at, base, &mut paths);
            for path in paths {
                if let Some(name) = path.last() {
                    found.insert(name.clone(), path.clone());
                }
            }
        }
        Reexports(found)
    }
}

struct Modules<'a> {
    code_of: &'a BTreeMap<String, String>,
    root: Reexports,
    reexports: BTreeMap<&'a str, Reexports>,
}

impl Modules<'_> {
    /// The module that defines what `path` names: its longest prefix that is a module,
    /// followed through that module's re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        if depth > 8 || path.is_empty() {
            return None;
        }
        let found = (1..=path.len())
            .rev()
            .find(|&k| self.code_of.contains_key(&path[..k].join("::")));
        let Some(k) = found else {
            let source = self.root.0.get(&path[0])?;
            return (source.as_slice() != path)
                .then(|| self.resolve(source, depth + 1))
                .flatten();
        };
        let module = path[..k].join("::");
        if let Some(next) = path.get(k) {
            if let Some(source) = self
                .reexports
                .get(module.as_str())
                .and_then(|r| r.0.get(next))
            {
                if source.as_slice() != &path[..=k] {
                    if let Some(defined) = self.resolve(source, depth + 1) {
                        return Some(defined);
                    }
                }
            }
        }
        Some(module)
    }
}

/// Where a path starting at `at` is anchored: `crate::` (the root), `self::` (this
/// module) or `super::` (its parent, as often as written), and where its rest starts.
fn anchor(chars: &[char], at: usize, module: &[String]) -> Option<(Vec<String>, usize)> {
    let rest: String = chars[at..].iter().take(7).collect();
    if rest.starts_with("crate::") {
        return Some((Vec::new(), at + 7));
    }
    if rest.starts_with("self::") {
        return Some((module.to_vec(), at + 6));
    }
    let mut base = module.to_vec();
    let mut at = at;
    let mut anchored = false;
    while chars[at..].iter().take(7).collect::<String>() == "super::" {
        base.pop();
        at += 7;
        anchored = true;
    }
    anchored.then_some((base, at))
}

/// Every path the code names from `crate::`, `self::` or `super::`, made absolute, with
/// `use` groups expanded: `crate::{a::{b, c}, d}` gives `a::b`, `a::c` and `d`.
fn named_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut paths = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let word_start =
            at == 0 || !(chars[at - 1].is_alphanumeric() || matches!(chars[at - 1], '_' | ':'));
        if word_start {
            if let Some((base, start)) = anchor(&chars, at, module) {
                let mut next = start;
                parse_tree(&chars, &mut next, base, &mut paths);
                at = next.max(at + 1);
                continue;
            }
        }
        at += 1;
    }
    paths
}

/// Reads one use tree (`a::b`, `a::{b, c::d}`, `a::*`, `a::{self, b}`) from `at`, adding
/// each full path, prefixed with `prefix`, to `out`.
fn parse_tree(chars: &[char], at: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
        match chars.get(*at) {
            Some('{') => {
                *at += 1;
                loop {
                    while chars
                        .get(*at)
                        .is_some_and(|c| c.is_whitespace() || *c == ',')
                    {
                        *at += 1;
                    }
                    match chars.get(*at) {
                        None => return,
                        Some('}') => {
                            *at += 1;
                            return;
                        }
                        Some(_) => {
                            let before = *at;
                            parse_tree(chars, at, prefix.clone(), out);
                            if *at == before {
                                *at += 1;
                            }
                        }
                    }
                }
            }
            Some('*') => {
                *at += 1;
                out.push(prefix);
                return;
            }
            _ => {}
        }
        let ident: String = chars[(*at).min(chars.len())..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect();
        if ident.is_empty() || ident == "self" {
            *at += ident.len();
            if !prefix.is_empty() {
                out.push(prefix);
            }
            return;
        }
        *at += ident.len();
        prefix.push(ident);
        if chars.get(*at) == Some(&':') && chars.get(*at + 1) == Some(&':') {
            *at += 2;
            continue;
        }
        // `as alias` and whatever follows an expression path end the tree here.
        out.push(prefix);
        return;
    }
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
    fn paths_are_read_from_every_anchor_and_group() {
        let code = "use crate::{\n    admin::load, auth::{a, b},\n    db::{self, x::Y},\n};\n\
                    use super::{*, sibling::Z};\nfn f() { crate::metrics::order(); self::g(); }";
        let found: Vec<String> = named_paths(code, &segments("orders::pay"))
            .into_iter()
            .map(|p| p.join("::"))
            .collect();
        assert_eq!(
            found,
            [
                "admin::load",
                "auth::a",
                "auth::b",
                "db",
                "db::x::Y",
                "orders",
                "orders::sibling::Z",
                "metrics::order",
                "orders::pay::g"
            ]
        );
    }

    #[test]
    fn a_name_is_traced_to_the_module_that_defines_it() {
        let code_of: BTreeMap<String, String> = [
            (
                "payments",
                "mod provider;\npub use provider::{Provider, Status};\n",
            ),
            ("payments::provider", "pub trait Provider {}\n"),
            (
                "payments::routes",
                "use super::Provider;\nuse crate::state::AppState;\n",
            ),
            ("state", "use crate::payments::Provider;\n"),
            ("error", ""),
        ]
        .into_iter()
        .map(|(n, c)| (n.to_owned(), c.to_owned()))
        .collect();
        let modules = Modules {
            code_of: &code_of,
            root: Reexports::of("pub use error::ApiError;", &[]),
            reexports: code_of
                .iter()
                .map(|(n, c)| (n.as_str(), Reexports::of(c, &segments(n))))
                .collect(),
        };
        let resolve = |p: &str| modules.resolve(&segments(p), 0);
        assert_eq!(
            resolve("payments::Provider").as_deref(),
            Some("payments::provider")
        );
        assert_eq!(
            resolve("payments::routes::f").as_deref(),
            Some("payments::routes")
        );
        assert_eq!(resolve("ApiError").as_deref(), Some("error"));
        assert_eq!(resolve("payments::Other").as_deref(), Some("payments"));
        assert_eq!(resolve("nothing::here"), None);
    }

    #[test]
    fn module_names_follow_the_files() {
        let name = |p: &str| module_name(Path::new(p));
        assert_eq!(name("payments/mod.rs").as_deref(), Some("payments"));
        assert_eq!(
            name("payments/provider.rs").as_deref(),
            Some("payments::provider")
        );
        assert_eq!(name("state.rs").as_deref(), Some("state"));
        assert_eq!(name("lib.rs"), None);
        assert_eq!(name("bin/sim/main.rs"), None);
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
    fn code_lines_stop_at_the_tests() {
        assert_eq!(code_lines("a\nb\n#[cfg(test)]\nmod tests {}\n"), 2);
        assert_eq!(code_lines("a\n    #[cfg(test)]\nb\n"), 3);
    }
}
