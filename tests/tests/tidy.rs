//! Checks on the repository itself: docs in step with the API, module docs, no skipped tests.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// FNV-1a, 64 bits: a stable fingerprint of a file's text.
fn fnv1a(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target")
                && !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.'))
            {
                rust_files(&path, files);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn rpc_docs_cover_every_method_and_match_the_api() {
    let api = read("daemon/api/src/lib.rs");
    let docs = read("docs/rpc.md");
    let names: Vec<&str> = api
        .lines()
        .filter(|line| line.trim_start().starts_with("#[method(") || line.trim_start().starts_with("#[subscription("))
        .filter_map(|line| line.split("name = \"").nth(1)?.split('"').next())
        .collect();
    assert!(names.len() >= 11, "found only {names:?}");
    for name in &names {
        assert!(docs.contains(&format!("### {name}\n")), "docs/rpc.md has no section for `{name}`");
    }
    let expected = format!("<!-- api-hash: {} -->", fnv1a(&api));
    assert!(
        docs.contains(&expected),
        "daemon/api/src/lib.rs changed: check docs/rpc.md against it, then set its last line to\n{expected}"
    );
}

#[test]
fn every_module_says_what_it_is_for() {
    let mut files = Vec::new();
    let dirs =
        ["config/src", "daemon/src", "daemon/api/src", "ctl/src", "sdk/src", "adapters", "tests/src", "tests/tests"];
    for dir in dirs {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 20);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} does not start with a `//!` module doc", file.display());
        let marker = concat!("#[", "ignore");
        assert!(!text.contains(marker), "{} skips a test: assert the current behaviour instead", file.display());
        for (number, line) in text.lines().enumerate() {
            assert!(line.trim_end() == line, "{}:{} has trailing white space", file.display(), number + 1);
        }
    }
}
