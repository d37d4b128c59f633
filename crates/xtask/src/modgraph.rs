//! The module graph of one crate (or one binary under `src/bin/<name>/`): each file is a
//! module (`src/a.rs` or `src/a/mod.rs` is `a`, `src/a/b.rs` is `a::b`), and an edge goes
//! to every module whose item its code names, read after comments, string literals and
//! `#[cfg(test)] mod … { … }` blocks are taken out. A path is followed from `crate::`,
//! `self::`, `super::`, a module brought in by `use` (also under another name), and a
//! name a module imports or re-exports (`use`, `pub use`, `pub(crate) use`, renamed or by
//! glob) to the file that defines it.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use crate::source;

/// The graph: module → the modules it uses.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The graph of the crate rooted at `root_file` in `dir` (`lib.rs` in `src/`, or
/// `main.rs` in a binary's folder). `src/bin/` is left to the binaries' own graphs.
pub fn of(dir: &Path, root_file: &str) -> Graph {
    let mut files = Vec::new();
    crate::source::rust_files(dir, &mut files);
    let mut code_of: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let Some(name) = file.strip_prefix(dir).ok().and_then(module_name) else {
            continue;
        };
        let text = fs::read_to_string(&file).unwrap_or_default();
        code_of.insert(name, source::scrub(&source::without_test_modules(&text)));
    }
    let root_code = source::scrub(&source::without_test_modules(
        &fs::read_to_string(dir.join(root_file)).unwrap_or_default(),
    ));
    let imports: BTreeMap<String, Vec<UsePath>> = code_of
        .iter()
        .map(|(name, code)| (name.clone(), uses(code, &segments(name))))
        .collect();
    let modules = Modules {
        code_of: &code_of,
        root: uses(&root_code, &[]),
        imports: &imports,
    };
    let mut graph = Graph::new();
    for (name, code) in &code_of {
        let module = segments(name);
        let mut paths = named_paths(code, &module);
        // Modules brought in by `use` and named through their local name.
        for import in &imports[name] {
            let Some(local) = import.local_name() else {
                continue;
            };
            if modules.resolve(&import.path, 0).as_deref() == Some(&import.path.join("::")) {
                paths.extend(paths_after(code, local, &import.path));
            }
        }
        paths.extend(imports[name].iter().map(|i| i.path.clone()));
        let used = graph.entry(name.clone()).or_default();
        for path in paths {
            if let Some(target) = modules.resolve(&path, 0) {
                if target != *name {
                    used.insert(target);
                }
            }
        }
    }
    graph
}

/// The module a source file (relative to its crate's folder) holds; `None` for the crate
/// roots and `src/bin/`.
pub fn module_name(relative: &Path) -> Option<String> {
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

pub fn segments(name: &str) -> Vec<String> {
    name.split("::").map(str::to_owned).collect()
}

/// One path a `use` statement brings in: its absolute path (relative ones under the
/// module, as a child module's would be), the name it takes if renamed, or a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsePath {
    pub path: Vec<String>,
    pub alias: Option<String>,
    pub glob: bool,
}

impl UsePath {
    /// The name it is known by in the module (none for a glob or `_`).
    pub fn local_name(&self) -> Option<&str> {
        if self.glob {
            return None;
        }
        self.alias
            .as_deref()
            .or(self.path.last().map(String::as_str))
            .filter(|n| *n != "_")
    }
}

/// Every path of the module's `use` statements (any visibility).
pub fn uses(code: &str, module: &[String]) -> Vec<UsePath> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = find_word(&chars, at, "use") {
        let mut rest = start + 3;
        if !chars.get(rest).is_some_and(|c| c.is_whitespace()) {
            at = rest;
            continue;
        }
        while chars.get(rest).is_some_and(|c| c.is_whitespace()) {
            rest += 1;
        }
        let (base, from) = anchor(&chars, rest, module).unwrap_or((module.to_vec(), rest));
        let mut next = from;
        parse_tree(&chars, &mut next, base, &mut found);
        at = next.max(start + 3);
    }
    found
}

/// Where `word` next stands alone (not inside another name or path) from `at`.
fn find_word(chars: &[char], mut at: usize, word: &str) -> Option<usize> {
    let word: Vec<char> = word.chars().collect();
    while at + word.len() <= chars.len() {
        if chars[at..at + word.len()] == word[..]
            && !(at > 0 && (chars[at - 1].is_alphanumeric() || matches!(chars[at - 1], '_' | ':')))
            && !chars
                .get(at + word.len())
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// The paths written as `local::…` in the code, under the module `module` that `local`
/// stands for.
fn paths_after(code: &str, local: &str, module: &[String]) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = find_word(&chars, at, local) {
        let mut next = start + local.chars().count();
        if chars.get(next) == Some(&':') && chars.get(next + 1) == Some(&':') {
            next += 2;
            let mut paths = Vec::new();
            parse_tree(&chars, &mut next, module.to_vec(), &mut paths);
            found.extend(paths.into_iter().map(|p| p.path));
        }
        at = next.max(start + 1);
    }
    found
}

/// Resolution of paths to the modules that define what they name.
pub struct Modules<'a> {
    pub code_of: &'a BTreeMap<String, String>,
    pub root: Vec<UsePath>,
    pub imports: &'a BTreeMap<String, Vec<UsePath>>,
}

impl Modules<'_> {
    /// The module that defines what `path` names: its longest prefix that is a module,
    /// followed through that module's imports, renames and globs.
    pub fn resolve(&self, path: &[String], depth: usize) -> Option<String> {
        if depth > 8 || path.is_empty() {
            return None;
        }
        let found = (1..=path.len())
            .rev()
            .find(|&k| self.code_of.contains_key(&path[..k].join("::")));
        let (module, rest, imports) = match found {
            Some(k) => {
                let module = path[..k].join("::");
                let imports = self.imports.get(&module).map(Vec::as_slice).unwrap_or(&[]);
                (Some(module), &path[k..], imports)
            }
            None => (None, path, self.root.as_slice()),
        };
        if let Some(name) = rest.first() {
            let named = imports
                .iter()
                .filter(|i| i.local_name() == Some(name.as_str()));
            for import in named {
                let mut source = import.path.clone();
                source.extend(rest[1..].iter().cloned());
                if source != path {
                    if let Some(defined) = self.resolve(&source, depth + 1) {
                        return Some(defined);
                    }
                }
            }
            let defined_here = module
                .as_ref()
                .and_then(|m| self.code_of.get(m))
                .is_some_and(|code| defines(code, name));
            for import in imports.iter().filter(|i| i.glob && !defined_here) {
                let mut source = import.path.clone();
                source.extend(rest.iter().cloned());
                if let Some(defined) = self.resolve(&source, depth + 1) {
                    if Some(&defined) != module.as_ref() {
                        return Some(defined);
                    }
                }
            }
        }
        module
    }
}

/// Whether the code declares an item called `name` (so a glob import does not).
fn defines(code: &str, name: &str) -> bool {
    let chars: Vec<char> = code.chars().collect();
    let mut at = 0;
    while let Some(found) = find_word(&chars, at, name) {
        let before: String = chars[found.saturating_sub(24)..found].iter().collect();
        let keyword = before
            .trim_end()
            .rsplit(|c: char| !c.is_alphanumeric() && c != '_' && c != '!')
            .next()
            .unwrap_or("");
        if matches!(
            keyword,
            "fn" | "struct"
                | "enum"
                | "trait"
                | "type"
                | "const"
                | "static"
                | "mod"
                | "union"
                | "macro_rules!"
        ) {
            return true;
        }
        at = found + 1;
    }
    false
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
pub fn named_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut paths = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let word_start = at == 0
            || !(chars[at - 1].is_alphanumeric() || matches!(chars[at - 1], '_' | ':' | '$'));
        if word_start {
            if let Some((base, start)) = anchor(&chars, at, module) {
                let mut next = start;
                let mut found = Vec::new();
                parse_tree(&chars, &mut next, base, &mut found);
                paths.extend(found.into_iter().map(|p| p.path));
                at = next.max(at + 1);
                continue;
            }
        }
        at += 1;
    }
    paths
}

/// Reads one use tree (`a::b`, `a::b as c`, `a::{b, c::d}`, `a::*`, `a::{self, b}`) from
/// `at`, adding each full path, prefixed with `prefix`, to `out`.
pub fn parse_tree(chars: &[char], at: &mut usize, mut prefix: Vec<String>, out: &mut Vec<UsePath>) {
    let skip_space = |at: &mut usize| {
        while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
    };
    let ident_at = |at: usize| -> String {
        chars[at.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect()
    };
    loop {
        skip_space(at);
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
                out.push(UsePath {
                    path: prefix,
                    alias: None,
                    glob: true,
                });
                return;
            }
            _ => {}
        }
        let ident = ident_at(*at);
        *at += ident.chars().count();
        let ends_here = ident.is_empty() || ident == "self";
        if !ends_here {
            prefix.push(ident);
            if chars.get(*at) == Some(&':') && chars.get(*at + 1) == Some(&':') {
                *at += 2;
                continue;
            }
        }
        // The path ends: `a::b`, `a::b as c`, or `self` in a group (`a::{self}` is `a`).
        if !prefix.is_empty() {
            let alias = rename(chars, at, &ident_at);
            out.push(UsePath {
                path: prefix,
                alias,
                glob: false,
            });
        }
        return;
    }
}

/// ` as name` after a path, if there (consumed).
fn rename(chars: &[char], at: &mut usize, ident_at: &dyn Fn(usize) -> String) -> Option<String> {
    let mut look = *at;
    while chars.get(look).is_some_and(|c| c.is_whitespace()) {
        look += 1;
    }
    if ident_at(look) != "as" {
        return None;
    }
    look += 2;
    while chars.get(look).is_some_and(|c| c.is_whitespace()) {
        look += 1;
    }
    let alias = ident_at(look);
    if alias.is_empty() {
        return None;
    }
    *at = look + alias.chars().count();
    Some(alias)
}
