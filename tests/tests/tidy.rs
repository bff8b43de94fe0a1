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

/// Every path a tracked file names stays inside the repository, so a fresh clone with
/// nothing beside it builds and tests.
#[test]
fn no_file_names_a_path_outside_the_repository() {
    let root = root();
    let files = tracked_files(&root);
    assert!(files.iter().any(|file| file.ends_with("tidy.rs")), "the file list misses tests/tests/tidy.rs");
    let mut found = Vec::new();
    for file in files {
        let wanted =
            file.extension().is_some_and(|ext| ["rs", "toml", "md", "sh", "py"].iter().any(|want| ext == *want));
        let Ok(text) = std::fs::read_to_string(root.join(&file)) else { continue };
        if !wanted && !text.starts_with("#!") {
            continue;
        }
        let is_rust = file.extension().is_some_and(|ext| ext == "rs");
        let manifest_dir = manifest_dir(&root, &file);
        for (number, line) in text.lines().enumerate() {
            if let Some(why) = leaves_the_repository(&file, &manifest_dir, is_rust, line) {
                found.push(format!("{}:{}: {why}", file.display(), number + 1));
            }
        }
    }
    assert!(found.is_empty(), "paths outside the repository (write fixtures inside it):\n{}", found.join("\n"));
}

/// The check itself, on lines that name paths (built from pieces so this file passes it).
#[test]
fn paths_outside_the_repository_are_found() {
    let up = |count: usize| "../".repeat(count);
    let outside = [
        ("daemon/src/http/x.rs", "daemon", format!("include_str!(\"{}api.json\")", up(4))),
        ("adapters/lastfm/src/x.rs", "adapters/lastfm", format!("format!(\"{{}}/{}data/x.json\", dir)", up(3))),
        ("tests/tests/x.rs", "tests", format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{}x.json\")", up(2))),
        ("README.md", "", format!("see [the design]({}DESIGN.md)", up(1))),
        ("docs/a.md", "", format!("[spec]({}x/{}y.md)", up(1), up(2))),
        ("tests/tests/x.rs", "tests", concat!("\"fixtures/", "shared/", "reference/x.json\"").to_owned()),
        (".ci/run", "", concat!("cp /", "work/", "base-bin/musiqued .").to_owned()),
    ];
    for (file, manifest_dir, line) in &outside {
        let is_rust = file.ends_with(".rs");
        let found = leaves_the_repository(Path::new(file), Path::new(manifest_dir), is_rust, line);
        assert!(found.is_some(), "{file}: `{line}` should be found");
    }
    let inside = [
        ("sdk/src/lib.rs", "sdk", format!("#[doc = include_str!(\"{}docs/plugins.md\")]", up(2))),
        ("tests/tests/x.rs", "tests", format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{}adapters/x.json\")", up(1))),
        ("ARCHITECTURE.md", "", "see [the design](docs/design.md) and https://example.org/work/x".to_owned()),
        (".ci/run", "", "cd \"$(dirname \"$0\")/..\"".to_owned()),
        ("tests/src/lib.rs", "tests", "let state = State { user: 1, ..State::default() }; (198..=202)".to_owned()),
    ];
    for (file, manifest_dir, line) in &inside {
        let is_rust = file.ends_with(".rs");
        let found = leaves_the_repository(Path::new(file), Path::new(manifest_dir), is_rust, line);
        assert_eq!(found, None, "{file}: `{line}`");
    }
}

/// The files git tracks (relative to the root), or, outside a git checkout, every
/// file but those under `target/` and hidden directories other than `.ci/`.
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let output = std::process::Command::new("git").arg("-C").arg(root).args(["ls-files", "-z"]).output();
    if let Ok(output) = output
        && output.status.success()
    {
        return String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = dir.join(&name);
            if entry.file_type().unwrap().is_dir() {
                if name != "target" && (!name.starts_with('.') || name == ".ci") {
                    walk(root, &path, files);
                }
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files);
    files
}

/// The directory of the crate a file belongs to (relative to the root): where
/// `cargo test` runs it and where `CARGO_MANIFEST_DIR` points.
fn manifest_dir(root: &Path, file: &Path) -> PathBuf {
    let mut dir = file.parent().unwrap_or(Path::new("")).to_owned();
    while !root.join(&dir).join("Cargo.toml").exists() && dir.pop() {}
    dir
}

/// Why a line of `file` names a path outside the repository, if it does.
///
/// A relative path climbs from the file's directory, except in Rust outside
/// `include_str!`, `include_bytes!` and `#[path]`, where paths are read at run
/// time from the crate's directory (the working directory of its tests, and
/// `CARGO_MANIFEST_DIR`).
fn leaves_the_repository(file: &Path, manifest_dir: &Path, is_rust: bool, line: &str) -> Option<String> {
    let sibling = concat!("..", "/shared");
    let reference = concat!("shared", "/reference");
    let machine = concat!("/work", "/");
    for named in [sibling, reference] {
        if line.contains(named) {
            return Some(format!("names `{named}`, which lives beside the repository"));
        }
    }
    if let Some(at) = line.find(machine)
        && !line[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "._-".contains(c))
    {
        return Some(format!("names the absolute path `{machine}`"));
    }
    let at_compile_time = ["include_str!", "include_bytes!", "#[path"].iter().any(|macro_| line.contains(macro_));
    let base = if is_rust && !at_compile_time { manifest_dir } else { file.parent().unwrap_or(Path::new("")) };
    let base_depth = base.components().count();
    let separators = |c: char| c.is_whitespace() || "\"'`()[]<>,;=".contains(c);
    for token in line.split(separators) {
        if !token.contains("../") && !token.ends_with("/..") {
            continue;
        }
        // A leading `{}` stands for the crate's directory in `format!("{}/../x", ...)`.
        let path = if token.starts_with('{') { token.split_once('}').map_or(token, |(_, rest)| rest) } else { token };
        let mut depth = base_depth;
        for component in path.split('/') {
            match component {
                "" | "." => {}
                ".." if depth == 0 => {
                    return Some(format!("`{token}` climbs above the repository from `{}`", base.display()));
                }
                ".." => depth -= 1,
                _ => depth += 1,
            }
        }
    }
    None
}
