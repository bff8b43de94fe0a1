//! The daemon's layering, checked: which top-level module of `daemon/src` may
//! `use crate::` which (ARCHITECTURE.md draws the same picture), no cycles, and
//! only the library ingests listens into the store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module and the modules it may use. Lower layers first; a module may
/// use only modules listed before it. `harness` is test-only and may be used anywhere.
const ALLOWED: &[(&str, &[&str])] = &[
    ("clock", &[]),
    ("error", &[]),
    ("identity", &[]),
    ("components", &[]),
    ("memory", &["components"]),
    ("store", &["clock", "error", "identity"]),
    ("events", &["store"]),
    ("index", &["error", "identity", "store"]),
    ("plugins", &["clock", "error", "store"]),
    ("library", &["clock", "error", "events", "identity", "index", "store"]),
    ("imports", &["clock", "error", "events", "library", "store"]),
    ("scrobbling", &["clock", "error", "events", "library", "store"]),
    ("adapters", &["clock", "error", "events", "imports", "library", "plugins", "store"]),
    ("runtime", &["adapters", "components", "error", "library", "store"]),
    ("handles", &["adapters", "events", "imports", "library", "runtime", "scrobbling"]),
    ("watch", &["runtime"]),
    ("http", &["error", "handles", "identity", "library", "runtime", "scrobbling", "store"]),
    (
        "rpc",
        &[
            "adapters",
            "clock",
            "components",
            "error",
            "events",
            "handles",
            "imports",
            "library",
            "plugins",
            "runtime",
            "scrobbling",
            "store",
        ],
    ),
    (
        "daemon",
        &[
            "adapters",
            "clock",
            "components",
            "error",
            "events",
            "handles",
            "http",
            "imports",
            "index",
            "library",
            "memory",
            "plugins",
            "rpc",
            "runtime",
            "scrobbling",
            "store",
            "watch",
        ],
    ),
    ("cli", &["daemon", "memory", "watch"]),
    ("harness", &["clock", "events", "index", "library", "store"]),
];

fn daemon_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../daemon/src")
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for `lib.rs` and `main.rs`).
fn module_of(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(daemon_src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_str().unwrap().to_owned();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(stem) => Some(stem.to_owned()),
        None => Some(first),
    }
}

/// The `crate::x` modules a text names, with the line of each first mention.
fn crate_paths(text: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.entry(name).or_insert(number + 1);
            }
        }
        // `use crate::{a, b::c}` names several.
        if let Some(group) = line.split("crate::{").nth(1) {
            for part in group.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.entry(name).or_insert(number + 1);
                }
            }
        }
    }
    found
}

#[test]
fn daemon_modules_keep_their_layers() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        ALLOWED.iter().map(|(module, uses)| (*module, uses.iter().copied().collect())).collect();
    // The table is layered: every module uses only modules listed before it, so there is no cycle.
    let mut seen = BTreeSet::new();
    for (module, uses) in ALLOWED {
        for used in *uses {
            assert!(seen.contains(used), "{module} may use {used}, which is not below it in ALLOWED");
        }
        seen.insert(*module);
    }
    let mut files = Vec::new();
    rust_files(&daemon_src(), &mut files);
    let mut problems = Vec::new();
    for file in files {
        let Some(module) = module_of(&file) else { continue };
        let Some(may_use) = allowed.get(module.as_str()) else {
            problems.push(format!("{}: module `{module}` is not in ALLOWED", file.display()));
            continue;
        };
        for (used, line) in crate_paths(&std::fs::read_to_string(&file).unwrap()) {
            if used == module || used == "harness" || !allowed.contains_key(used.as_str()) {
                continue;
            }
            if !may_use.contains(used.as_str()) {
                problems.push(format!("{}:{line}: `{module}` uses `crate::{used}`", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "layering broken (see ARCHITECTURE.md):\n{}", problems.join("\n"));
}

#[test]
fn only_the_library_ingests() {
    let mut files = Vec::new();
    rust_files(&daemon_src(), &mut files);
    let ingest_module = daemon_src().join("library/ingest.rs");
    let mut callers = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.contains("store.ingest(") && file != ingest_module {
                callers.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
            }
        }
    }
    assert!(callers.is_empty(), "only library/ingest.rs may call the store's ingest:\n{}", callers.join("\n"));
    let store = std::fs::read_to_string(daemon_src().join("store/mod.rs")).unwrap();
    assert_eq!(store.matches("pub(crate) fn ingest").count(), 1, "the store has one ingest function");
    let ingest = std::fs::read_to_string(&ingest_module).unwrap();
    assert!(ingest.contains(".store.ingest("), "the library's commit is the store's one caller");
}
