//! The server's modules import one way (ARCHITECTURE.md, "Layers"): no two
//! files import each other, directly or through a loop. Read from the source,
//! as rust-analyzer's tidy tests do, so a new circle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src/` (`a::b`) with the source of its file, tests cut off.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{stem}::"), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = match stem.as_str() {
                    "mod" => prefix.trim_end_matches("::").to_owned(),
                    _ => format!("{prefix}{stem}"),
                };
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                // Doc comments name other modules without importing them.
                let code: String = code
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.insert(name, code);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut out,
    );
    out
}

/// The modules `code` (of module `me`) imports: `crate::a::b` paths, the
/// names inside `use crate::{...}`, and `super::x`.
fn imports(me: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut longest = |path: &str| {
        let parts: Vec<&str> = path.split("::").collect();
        for k in (1..=parts.len()).rev() {
            let candidate = parts[..k].join("::");
            if known.contains(&candidate) && candidate != me {
                found.insert(candidate);
                return;
            }
        }
    };
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(0)];
            for item in group.split(',') {
                longest(item.trim());
            }
        } else {
            longest(&rest[..rest.find(|c| !ident(c)).unwrap_or(rest.len())]);
        }
    }
    let parent = me.rsplit_once("::").map(|(p, _)| p).unwrap_or("");
    for (at, _) in code.match_indices("super::") {
        let rest = &code[at + "super::".len()..];
        let name = &rest[..rest.find(|c| !ident(c)).unwrap_or(rest.len())];
        if !parent.is_empty() {
            longest(&format!("{parent}::{name}"));
        }
    }
    found
}

#[test]
fn no_server_module_imports_itself_through_a_loop() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    assert!(known.contains("sequencer") && known.contains("handlers::stream"));
    let graph: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(m, code)| (m.as_str(), imports(m, code, &known)))
        .collect();
    for start in graph.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack: Vec<(String, Vec<String>)> =
            vec![(start.to_string(), vec![start.to_string()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(at.as_str()).into_iter().flatten() {
                if next == start {
                    panic!("import circle: {} -> {start}", path.join(" -> "));
                }
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
}

#[test]
fn the_circle_finder_sees_a_circle() {
    let known: BTreeSet<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
    assert!(imports("a", "use crate::b::Thing;", &known).contains("b"));
    assert!(imports("a", "use crate::{b, c};", &known).contains("b"));
    assert!(imports("x::a", "use super::b;", &["x::b".to_owned()].into()).contains("x::b"));
}
