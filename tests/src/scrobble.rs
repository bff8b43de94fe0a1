//! Support for the scrobbling-endpoint tests: credentials through musiquectl,
//! a self-signed certificate for HTTPS, and the virtualenv of real Python
//! clients (liblistenbrainz, pylast) from `tests/python`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::Daemon;

/// A credential as `musiquectl --json tokens create` prints it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Issued {
    /// The listed part.
    pub info: Info,
    /// The token, or the shared secret.
    pub secret: String,
    /// The user name clients give.
    pub user: String,
}

/// The listed part of a credential.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Info {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// For Last.fm credentials.
    pub api_key: Option<String>,
}

/// Issues a credential through musiquectl (`api`: `listenbrainz` or `lastfm`).
pub fn create_token(daemon: &Daemon, name: &str, api: &str) -> Issued {
    let (code, stdout, stderr) = daemon.ctl(&["--json", "tokens", "create", name, "--api", api]);
    assert_eq!(code, 0, "tokens create: {stderr}");
    serde_json::from_str(&stdout).expect("tokens create prints JSON")
}

/// A self-signed certificate for `127.0.0.1` and `localhost`, written to `dir`:
/// (certificate path, key path).
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("generate a certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");
    (cert, key)
}

/// The Python of the clients' virtualenv (`target/py-clients`), set up by
/// `tests/python/setup` when it is missing or its requirements changed.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let scripts = python_dir();
        let venv = crate::bin_dir().join("py-clients");
        let wanted = std::fs::read_to_string(scripts.join("requirements.txt")).expect("read requirements.txt");
        let installed = std::fs::read_to_string(venv.join("installed-requirements.txt")).unwrap_or_default();
        if installed != wanted {
            let status = Command::new(scripts.join("setup")).arg(&venv).status().expect("run tests/python/setup");
            assert!(
                status.success(),
                "tests/python/setup failed ({status}): the client tests need python3 with venv and PyPI access"
            );
        }
        venv.join("bin").join("python")
    })
}

/// `tests/python` in the workspace.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}
