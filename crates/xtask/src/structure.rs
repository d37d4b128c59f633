//! Checks of the code's shape that the compiler does not make: no source file over
//! [`MAX_CODE_LINES`] lines outside its unit-test modules, and no import cycle in any
//! crate or binary (`admin → auth → checkout → admin` was one in the server;
//! `error → changes → snapshot → error` in the core). The graph is of files
//! ([`crate::modgraph`]); files of one folder may use each other, and any circle that
//! crosses a folder's boundary or joins top-level files is refused.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use crate::modgraph;

/// Most lines a source file may have before its `#[cfg(test)]` module.
pub const MAX_CODE_LINES: usize = 450;

/// Runs both checks over the workspace; the error lists every finding.
pub fn check(root: &Path) -> Result<String, String> {
    let mut findings = Vec::new();
    let mut files = Vec::new();
    for dir in ["crates", "fuzz/fuzz_targets"] {
        crate::source::rust_files(&root.join(dir), &mut files);
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
        let name = krate.file_name().unwrap_or_default().to_string_lossy();
        // The library, then each binary of `src/bin/<name>/` as a crate of its own.
        let mut roots = vec![(name.to_string(), src.clone(), "lib.rs")];
        if let Ok(bins) = fs::read_dir(src.join("bin")) {
            let mut bins: Vec<PathBuf> = bins
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            bins.sort();
            for bin in bins {
                let bin_name = bin
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                roots.push((format!("{name} (bin {bin_name})"), bin, "main.rs"));
            }
        }
        for (label, dir, root_file) in roots {
            let graph = modgraph::of(&dir, root_file);
            modules += graph.len();
            if let Some(cycle) = forbidden_cycle(&graph) {
                findings.push(format!("import cycle in {label}: {}", cycle.join(" → ")));
            }
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

/// Lines outside the file's `#[cfg(test)] mod … { … }` blocks.
fn code_lines(text: &str) -> usize {
    crate::source::without_test_modules(text).lines().count()
}

/// A cycle that crosses a folder's boundary, if there is one. Files of one folder (its
/// `mod.rs` and the files under it, or `x.rs` and `x/`) are one feature and may use each
/// other; any other circle of modules, whether between top-level files, between folders,
/// or out of a folder and back in through its `mod.rs`, is a cycle. Found as the
/// strongly connected components of the graph.
fn forbidden_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let unit = |node: &str| node.split("::").next().unwrap_or(node).to_owned();
    let is_folder = |u: &str| graph.keys().any(|n| n.starts_with(&format!("{u}::")));
    for component in components(graph) {
        if component.len() < 2 {
            continue;
        }
        let first = unit(component.iter().next()?);
        let one_folder = is_folder(&first) && component.iter().all(|n| unit(n) == first);
        if one_folder {
            continue;
        }
        // Shown as a circle through an edge that leaves a folder: the edge, then the
        // shortest way back inside the component.
        let (from, to) = component.iter().find_map(|n| {
            graph[n]
                .iter()
                .find(|t| component.contains(*t) && unit(t) != unit(n))
                .map(|t| (n.clone(), t.clone()))
        })?;
        let mut came_from: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([to.clone()]);
        while let Some(node) = queue.pop_front() {
            if node == from {
                break;
            }
            for next in graph[&node].iter().filter(|t| component.contains(*t)) {
                if *next != to && !came_from.contains_key(next) {
                    came_from.insert(next.clone(), node.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        let mut back = vec![from.clone()];
        while let Some(previous) = came_from.get(back.last()?) {
            back.push(previous.clone());
        }
        back.reverse();
        let mut cycle = vec![from];
        cycle.extend(back);
        return Some(cycle);
    }
    None
}

/// The strongly connected components (Kosaraju: finish order, then the reversed graph).
fn components(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    fn finish<'a>(
        node: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<&'a str>,
        order: &mut Vec<&'a str>,
    ) {
        if !seen.insert(node) {
            return;
        }
        for next in graph.get(node).into_iter().flatten() {
            finish(next, graph, seen, order);
        }
        order.push(node);
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for node in graph.keys() {
        finish(node, graph, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, targets) in graph {
        for to in targets {
            reversed.entry(to).or_default().push(from);
        }
    }
    let mut assigned = BTreeSet::new();
    let mut found = Vec::new();
    for start in order.into_iter().rev() {
        if assigned.contains(start) {
            continue;
        }
        let mut component = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            if !assigned.insert(node) {
                continue;
            }
            component.insert(node.to_owned());
            stack.extend(reversed.get(node).into_iter().flatten().copied());
        }
        found.push(component);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        modgraph::{self, module_name, named_paths, segments},
        source,
    };

    /// A crate written into a scratch folder, and its graph.
    fn graph_of(files: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let dir = std::env::temp_dir().join(format!(
            "structure-test-{}-{}",
            std::process::id(),
            files.len() * 7919 + files.iter().map(|f| f.1.len()).sum::<usize>()
        ));
        let _ = fs::remove_dir_all(&dir);
        for (path, text) in files {
            let file = dir.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, text).unwrap();
        }
        let graph = modgraph::of(&dir, "lib.rs");
        let _ = fs::remove_dir_all(&dir);
        graph
    }

    fn cycle_in(files: &[(&str, &str)]) -> Option<Vec<String>> {
        forbidden_cycle(&graph_of(files))
    }

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
    fn a_chain_passes_and_a_circle_of_top_level_files_does_not() {
        let chain = [
            ("lib.rs", "mod a; mod b; mod c;"),
            ("a.rs", "use crate::b::x;"),
            ("b.rs", "pub fn x() { crate::c::y() }"),
            ("c.rs", "pub fn y() {}"),
        ];
        assert_eq!(cycle_in(&chain), None);
        let circle = [
            ("lib.rs", "mod a; mod b; mod c;"),
            ("a.rs", "use crate::b::x;"),
            ("b.rs", "pub fn x() { crate::c::y() }"),
            ("c.rs", "pub fn y() { crate::a::z() }"),
        ];
        assert_eq!(cycle_in(&circle).unwrap(), ["a", "b", "c", "a"]);
    }

    #[test]
    fn a_name_is_traced_through_renames_globs_and_any_use() {
        for (front, user) in [
            ("pub use provider::Provider;", "crate::payments::Provider"),
            (
                "pub(crate) use provider::Provider;",
                "crate::payments::Provider",
            ),
            (
                "pub use self::provider::Inner as Provider;",
                "crate::payments::Provider",
            ),
            ("pub use self::provider::*;", "crate::payments::Provider"),
            ("use self::provider::Provider;", "super::Provider"),
        ] {
            let files = [
                ("lib.rs", "mod payments; mod state;"),
                (
                    "payments/mod.rs",
                    &format!("mod provider; mod routes;\n{front}")[..],
                ),
                (
                    "payments/provider.rs",
                    "pub trait Provider {} pub trait Inner {}\nfn f() { crate::state::g() }",
                ),
                ("payments/routes.rs", "fn r() {}"),
                (
                    "state.rs",
                    &format!("pub fn g() {{}}\nfn h() {{ let _: &dyn {user}; }}")[..],
                ),
            ];
            let graph = graph_of(&files);
            assert!(
                graph["state"].contains("payments::provider") || user.starts_with("super"),
                "{front}: {:?}",
                graph["state"]
            );
            if !user.starts_with("super") {
                assert!(cycle_in(&files).is_some(), "{front}");
            }
        }
    }

    #[test]
    fn a_module_named_through_its_local_name_counts() {
        let files = [
            ("lib.rs", "mod checkout; mod db;"),
            ("checkout/mod.rs", "pub mod body;"),
            (
                "checkout/body.rs",
                "pub fn helper() { crate::db::orders::x() }",
            ),
            ("db/mod.rs", "pub mod orders;"),
            (
                "db/orders.rs",
                "use crate::checkout as co;\npub fn x() {}\nfn f() { co::body::helper() }",
            ),
        ];
        assert!(cycle_in(&files).is_some());
    }

    #[test]
    fn a_folder_may_use_itself_but_no_circle_may_leave_it() {
        let inside = [
            ("lib.rs", "mod db; mod http;"),
            (
                "db/mod.rs",
                "mod sqlite; pub use sqlite::Conn; pub struct DbError;",
            ),
            (
                "db/sqlite.rs",
                "pub struct Conn; fn f(_: super::DbError) {}",
            ),
            ("http/mod.rs", "pub mod error;"),
            ("http/error.rs", "fn f(_: crate::db::DbError) {}"),
        ];
        assert_eq!(cycle_in(&inside), None);
        let mut out_and_back = inside;
        out_and_back[2] = (
            "db/sqlite.rs",
            "pub struct Conn; fn f(_: super::DbError) {}\nuse crate::http::error::ApiError;",
        );
        assert!(cycle_in(&out_and_back).is_some());
    }

    #[test]
    fn comments_strings_and_test_modules_are_not_code() {
        let files = [
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "pub fn x() { crate::b::y() }"),
            (
                "b.rs",
                "pub fn y() { let _ = \"crate::a::x\"; } // crate::a::x\n/* crate::a::x */\n\
                 const C: char = '\\''; const R: &str = r#\"crate::a::x\"#;\n\
                 #[cfg(test)]\nmod tests {\n    fn t() { crate::a::x() }\n}\n",
            ),
        ];
        assert_eq!(cycle_in(&files), None);
        let hidden_after_an_early_test_item = [
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "pub fn x() { crate::b::y() }"),
            (
                "b.rs",
                "#[cfg(test)]\nfn helper() {}\npub fn y() { crate::a::x() }\n",
            ),
        ];
        assert!(cycle_in(&hidden_after_an_early_test_item).is_some());
    }

    #[test]
    fn code_lines_leave_out_only_test_modules() {
        assert_eq!(code_lines("a\nb\n#[cfg(test)]\nmod tests {\n    x\n}\n"), 2);
        assert_eq!(code_lines("#[cfg(test)]\nfn f() {}\nb\n"), 3);
        assert_eq!(
            source::without_test_modules("a\n#[cfg(test)]\nmod t {\n}\nc"),
            "a\nc"
        );
    }
}
