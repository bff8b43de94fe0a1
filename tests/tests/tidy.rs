//! Checks on the repository itself: docs in step with the API (and the examples
//! of `docs/rpc.md` with what a real daemon answers), module docs, no skipped tests.

use std::path::{Path, PathBuf};

use jsonrpsee::core::client::{ReceivedMessage, TransportReceiverT, TransportSenderT};
use musique_api::MusiqueApiClient;
use musique_tests::{Daemon, http_post, wait_import, wait_indexed};
use serde_json::{Value, json};

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

/// The files `docs/rpc.md` describes: the API crate's methods and types, and the daemon's
/// RPC edge (what it answers, how it converts, which errors it maps).
fn rpc_sources() -> Vec<PathBuf> {
    let mut files = vec![root().join("daemon/api/src/lib.rs")];
    let mut edge = Vec::new();
    rust_files(&root().join("daemon/src/rpc"), &mut edge);
    edge.sort();
    files.extend(edge);
    files
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
    let mut sources = String::new();
    for file in rpc_sources() {
        let relative = file.strip_prefix(root()).expect("in the workspace").display().to_string();
        sources.push_str(&format!("{relative}\n{}\n", std::fs::read_to_string(&file).unwrap()));
    }
    let expected = format!("<!-- api-hash: {} -->", fnv1a(&sources));
    assert!(
        docs.contains(&expected),
        "daemon/api/src/lib.rs or daemon/src/rpc/ changed: check docs/rpc.md against them \
         (`rpc_doc_examples_match_the_daemon` checks the examples), then set its last line to\n{expected}"
    );
}

// ---- docs/rpc.md's examples against a real daemon --------------------------------------------------

/// A request of `docs/rpc.md` and the answer shown after it, with the heading they are under.
#[derive(Debug)]
struct Example {
    section: String,
    request: Value,
    answer: Value,
    /// A notification shown after the answer (`events.subscribe`).
    notification: Option<Value>,
}

/// Every request/answer pair of the doc; every JSON block must parse.
fn examples(docs: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut section = String::new();
    let mut request: Option<Value> = None;
    let mut lines = docs.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("## ") || line.starts_with("### ") {
            section = line.trim_start_matches('#').trim().to_owned();
            request = None;
            continue;
        }
        if line != "```json" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
        let value: Value = serde_json::from_str(&block.join("\n"))
            .unwrap_or_else(|err| panic!("docs/rpc.md, {section}: a JSON block does not parse: {err}"));
        match (value.get("method").is_some(), value.get("id").is_some()) {
            (true, true) => request = Some(value),
            (false, true) if request.is_some() => {
                let request = request.take().expect("checked");
                examples.push(Example { section: section.clone(), request, answer: value, notification: None });
            }
            (true, false) => {
                let last = examples.last_mut().filter(|example| example.section == section);
                last.expect("a notification follows an answer").notification = Some(value);
            }
            _ => {}
        }
    }
    examples
}

/// Whether a JSON pointer matches a pattern where `*` stands for any one segment.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len() && pattern.iter().zip(&path).all(|(want, got)| *want == "*" || want == got)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares a doc example with a live answer: the same keys everywhere, the same array
/// lengths, the same values, except at `volatile` paths (which depend on the machine or the
/// moment), where only the JSON type must agree.
fn compare(doc: &Value, live: &Value, path: &str, volatile: &[&str], differences: &mut Vec<String>) {
    if volatile.iter().any(|pattern| matches(pattern, path)) {
        if kind(doc) != kind(live) {
            differences.push(format!("{path}: the doc shows a {}, the daemon answers {live}", kind(doc)));
        }
        return;
    }
    match (doc, live) {
        (Value::Object(doc), Value::Object(live)) => {
            for key in doc.keys().filter(|key| !live.contains_key(*key)) {
                differences.push(format!("{path}/{key}: in the doc, not in the answer"));
            }
            for (key, value) in live.iter().filter(|(key, _)| !doc.contains_key(*key)) {
                differences.push(format!("{path}/{key}: answered ({value}), not in the doc"));
            }
            for (key, value) in doc {
                if let Some(answered) = live.get(key) {
                    compare(value, answered, &format!("{path}/{key}"), volatile, differences);
                }
            }
        }
        (Value::Array(doc_items), Value::Array(live_items)) => {
            if doc_items.len() != live_items.len() {
                differences.push(format!("{path}: the doc shows {doc}, the daemon answers {live}"));
                return;
            }
            for (index, (doc, live)) in doc_items.iter().zip(live_items).enumerate() {
                compare(doc, live, &format!("{path}/{index}"), volatile, differences);
            }
        }
        _ if doc != live => differences.push(format!("{path}: the doc shows {doc}, the daemon answers {live}")),
        _ => {}
    }
}

/// Runs the doc's examples on one daemon and collects where they differ.
struct Checker {
    daemon: Daemon,
    examples: Vec<Example>,
    differences: Vec<String>,
}

impl Checker {
    fn example(&self, section: &str) -> &Example {
        let found = self.examples.iter().find(|example| example.section == section);
        found.unwrap_or_else(|| panic!("docs/rpc.md has no request/answer example under `{section}`"))
    }

    /// Sends the doc's request over HTTP and compares the answer with the doc's.
    fn check(&mut self, section: &str, volatile: &[&str]) {
        let example = self.example(section);
        let (status, body) = http_post(&self.daemon.socket(), example.request.to_string().as_bytes());
        assert_eq!(status, 200, "{section}: {body}");
        let live: Value = serde_json::from_str(&body).unwrap_or_else(|err| panic!("{section}: {err}: {body}"));
        let mut differences = Vec::new();
        compare(&example.answer, &live, "", volatile, &mut differences);
        self.note(section, differences);
    }

    fn note(&mut self, section: &str, differences: Vec<String>) {
        self.differences.extend(differences.into_iter().map(|difference| format!("{section}: {difference}")));
    }
}

/// The answer and first notification of the doc's `events.subscribe`, over a WebSocket.
async fn subscribe(socket: &Path, request: &Value, trigger: impl FnOnce()) -> (Value, Value) {
    let stream = tokio::net::UnixStream::connect(socket).await.expect("connect");
    let url = jsonrpsee::client_transport::ws::Url::parse("ws://localhost/").unwrap();
    let (mut sender, mut receiver) = jsonrpsee::client_transport::ws::WsTransportClientBuilder::default()
        .build_with_stream(url, stream)
        .await
        .expect("websocket handshake");
    sender.send(request.to_string()).await.expect("send");
    let mut next = async || loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(30), receiver.receive())
            .await
            .expect("an answer within 30 s")
            .expect("receive");
        if let ReceivedMessage::Text(text) = message {
            return serde_json::from_str::<Value>(&text).expect("JSON");
        }
    };
    let answer = next().await;
    trigger();
    let notification = next().await;
    (answer, notification)
}

/// The Last.fm CSV behind the `imports.list` example: one play the `listens.add` example stored, two new.
const CSV: &str = "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid
1716446950,\"23 May 2024, 06:49\",Beyoncé,,Dangerously in Love,,Crazy in Love,
1716447500,\"23 May 2024, 06:58\",Stereolab,,Dots and Loops,,Brakhage,
1716447800,\"23 May 2024, 07:03\",Broadcast,,Haha Sound,,Pendulum,
";

/// Every example whose answer a fresh daemon gives the same way runs here, in an order
/// that builds the state the doc describes; the rest of each answer must match exactly.
#[tokio::test]
async fn rpc_doc_examples_match_the_daemon() {
    let docs = read("docs/rpc.md");
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let mut checker = Checker { daemon, examples: examples(&docs), differences: Vec::new() };

    checker.check("daemon.hello", &["/result/daemon_version"]);
    checker.check("listens.add", &[]);
    wait_indexed(&client).await;
    checker.check("listens.list", &[]);
    checker.check("search", &["/result/hits/*/score"]);
    checker.check("stats.top", &[]);
    checker.check("stats.timeline", &[]);
    checker.check("stats.clock", &[]);
    checker.check("stats.heatmap", &[]);
    checker.check("stats.sessions", &[]);
    checker.check("stats.streaks", &["/result/today"]);
    checker.check("stats.discoveries", &[]);
    checker.check("stats.climbers", &[]);
    checker.check("stats.on_this_day", &[]);
    checker.check("stats.entity", &[]);
    checker.check("stats.wrapped", &[]);
    checker.check("stats.report", &["/result/path"]);
    checker.check(
        "daemon.status",
        &[
            "/result/daemon_version",
            "/result/uptime_s",
            "/result/store_bytes",
            "/result/index_bytes",
            "/result/data_dir",
            "/result/http",
            "/result/components/*/detail",
        ],
    );
    checker.check("index.rebuild", &["/result/elapsed_ms"]);
    checker.check("Errors", &[]);

    // Imports: a Last.fm CSV of the temporary directory.
    let csv = checker.daemon.dir.path().join("recenttracks.csv");
    std::fs::write(&csv, CSV).unwrap();
    let started =
        client.imports_start(musique_api::ImportKind::LastfmCsv, csv.display().to_string(), None).await.unwrap();
    wait_import(&client, started.id).await;
    checker.check("imports.list", &["/result/*/path", "/result/*/started_at", "/result/*/finished_at"]);

    // Plugins: the echo example and a file that is not a library, beside the built-in Last.fm adapter.
    let plugins_dir = checker.daemon.data_dir().join("plugins");
    std::fs::create_dir_all(&plugins_dir).unwrap();
    let echo = format!("{}musique_echo_plugin{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    // Written elsewhere and renamed into place, so the directory watcher never reads half a file.
    std::fs::copy(musique_tests::bin_dir().join("deps").join(echo), plugins_dir.join(".libecho.partial")).unwrap();
    std::fs::rename(plugins_dir.join(".libecho.partial"), plugins_dir.join("libecho.so")).unwrap();
    std::fs::write(plugins_dir.join(".x.partial"), "not a library").unwrap();
    std::fs::rename(plugins_dir.join(".x.partial"), plugins_dir.join("x.so")).unwrap();
    // The built-in adapters' counts (Discogs and Last.fm) depend on background work (enrichment) done by then.
    let versions = ["/result/*/version", "/result/0/calls", "/result/0/errors", "/result/1/calls", "/result/1/errors"];
    checker.check("plugins.reload", &versions);
    checker.check("plugins.list", &versions);
    checker.check("plugins.disable", &versions);
    checker.check("plugins.enable", &versions);

    // Credentials: secrets, keys and times differ on every run.
    let token = ["/result/info/created_at", "/result/secret", "/result/user"];
    checker.check("tokens.create", &token);
    client.tokens_create("phone".into(), musique_api::TokenApi::Lastfm).await.unwrap();
    checker.check("tokens.list", &["/result/*/created_at", "/result/*/api_key"]);
    checker.check("tokens.revoke", &["/result/created_at"]);

    // Events, over a WebSocket: the subscription's answer, then the listen its `listens.add` records.
    let example = checker.example("events.subscribe");
    let (request, doc_answer) = (example.request.clone(), example.answer.clone());
    let doc_notification = example.notification.clone().expect("events.subscribe shows a notification");
    let socket = checker.daemon.socket();
    let add = json!({"jsonrpc": "2.0", "id": 2, "method": "listens.add", "params": {"listen": {
        "artist": "Stereolab", "track": "French Disko", "listened_at": 1_700_000_000}}});
    let (answer, notification) =
        subscribe(&socket, &request, || assert_eq!(http_post(&socket, add.to_string().as_bytes()).0, 200)).await;
    let mut differences = Vec::new();
    compare(&doc_answer, &answer, "", &["/result"], &mut differences);
    let volatile = ["/params/subscription", "/params/result/listen/id"];
    compare(&doc_notification, &notification, "", &volatile, &mut differences);
    checker.note("events.subscribe", differences);

    assert!(
        checker.differences.is_empty(),
        "docs/rpc.md shows what musiqued does not answer:\n{}",
        checker.differences.join("\n")
    );
}

/// The error codes in the table of `docs/rpc.md` are the codes the daemon answers.
#[test]
fn rpc_doc_error_codes_are_the_daemons() {
    let docs = read("docs/rpc.md");
    let table: Vec<i64> = docs
        .lines()
        .filter_map(|line| line.strip_prefix("| -"))
        .filter_map(|rest| rest.split(' ').next()?.parse::<i64>().ok())
        .map(|code| -code)
        .collect();
    let daemon = Daemon::start();
    let cases: [(&str, &[u8]); 5] = [
        ("not JSON", b"{\"jsonrpc\":"),
        ("not a request", br#"{"jsonrpc":"2.0","id":1,"params":[]}"#),
        ("no such method", br#"{"jsonrpc":"2.0","id":1,"method":"listens.frobnicate"}"#),
        ("invalid parameters", br#"{"jsonrpc":"2.0","id":1,"method":"listens.list","params":{"limit":0}}"#),
        ("not found", br#"{"jsonrpc":"2.0","id":1,"method":"plugins.disable","params":{"name":"nobody"}}"#),
    ];
    let mut answered: Vec<i64> = cases
        .iter()
        .map(|(what, request)| {
            let (_, body) = http_post(&daemon.socket(), request);
            let answer: Value = serde_json::from_str(&body).unwrap_or_else(|err| panic!("{what}: {err}: {body}"));
            answer["error"]["code"].as_i64().unwrap_or_else(|| panic!("{what}: no error code in {answer}"))
        })
        .collect();
    // "Unavailable" needs a remote service that is down, and internal errors cannot be caused from outside.
    answered.push(musique_api::error_code::UNAVAILABLE.into());
    answered.push(musique_api::error_code::INTERNAL.into());
    assert_eq!(table, answered, "the table of docs/rpc.md against the daemon's answers");
}

/// Every adapter crate (`adapters/<name>`) has its user page, `docs/<name>.md`.
#[test]
fn every_adapter_has_a_page() {
    let adapters = root().join("adapters");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&adapters).expect("adapters/") {
        let entry = entry.expect("an entry of adapters/");
        if entry.path().join("Cargo.toml").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    assert!(names.contains(&"lastfm".to_owned()), "{names:?}");
    for name in names {
        assert!(root().join("docs").join(format!("{name}.md")).is_file(), "adapters/{name} has no docs/{name}.md");
    }
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
