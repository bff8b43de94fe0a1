//! Credentials for the scrobbling endpoints: ListenBrainz tokens, Last.fm-style
//! API key + shared secret pairs, and the Last.fm sessions signed in with them.
//!
//! Nothing secret is stored. A ListenBrainz token is kept as its SHA-256. A
//! Last.fm shared secret must be known to check `api_sig` (an MD5 over the
//! parameters and the secret), so it is never stored either: it is derived as
//! HMAC-SHA256(server key, api key), where the server key is 32 random bytes in
//! `<data dir>/scrobble.key` (owner-only), outside the store. A copy of the store
//! alone therefore holds no usable credential. Session keys are kept as SHA-256.
//!
//! Everything is cached in memory, so checking a request costs a hash and a map
//! lookup; every change is written through the store first. Audioscrobbler 1.2
//! submission sessions live in memory only: such clients hand-shake again when
//! told their session is unknown.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::RwLock;
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result, io_err};
use crate::library::SourceName;
use crate::store::{Put, StateKey, StateScope, Store};
/// Longest a token from `auth.getToken` waits for `auth.getSession`.
const WEB_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// Most outstanding `auth.getToken` tokens; the oldest go first.
const MAX_WEB_TOKENS: usize = 1024;
/// Most Audioscrobbler 1.2 sessions kept; the oldest go first (their clients hand-shake again).
const MAX_SUBMISSION_SESSIONS: usize = 1024;

/// Which API a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Api {
    Listenbrainz,
    Lastfm,
}

/// A stored credential: names and hashes only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CredentialRecord {
    pub(crate) id: u64,
    /// Also the source of the listens it submits.
    pub(crate) name: String,
    pub(crate) api: Api,
    pub(crate) created_ms: i64,
    /// ListenBrainz: SHA-256 of the token.
    pub(crate) token_hash: Option<[u8; 32]>,
    /// Last.fm: the API key (an identifier; the secret is derived from it).
    pub(crate) api_key: Option<String>,
}

/// A Last.fm session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    credential: u64,
    created_ms: i64,
}

/// What a web token from `auth.getToken` turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WebToken {
    /// Issued to this credential and fresh: it is used up now.
    Taken,
    /// Issued, but too long ago.
    Expired,
    /// Never issued (or to another credential, or already used).
    Unknown,
}

/// A credential just issued, with its secret (shown once).
pub(crate) struct Issued {
    pub(crate) record: CredentialRecord,
    /// The ListenBrainz token, or the Last.fm shared secret.
    pub(crate) secret: String,
}

/// The credentials, cached; see the module docs.
pub(crate) struct Credentials {
    store: Store,
    /// Dates credentials and sessions, and expires web tokens.
    clock: Clock,
    /// Derives Last.fm shared secrets.
    key: ring::hmac::Key,
    cache: RwLock<Cache>,
    /// Held while a credential is issued, so ids and names stay unique.
    issuing: tokio::sync::Mutex<()>,
    /// `auth.getToken` tokens → (credential, issued at in unix milliseconds).
    web_tokens: std::sync::Mutex<HashMap<String, (u64, i64)>>,
    /// Audioscrobbler 1.2 session ids → (credential, started at in unix milliseconds).
    submission_sessions: std::sync::Mutex<HashMap<String, (u64, i64)>>,
}

#[derive(Default)]
struct Cache {
    by_id: BTreeMap<u64, CredentialRecord>,
    tokens: HashMap<[u8; 32], u64>,
    api_keys: HashMap<String, u64>,
    sessions: HashMap<[u8; 32], u64>,
}

impl Cache {
    fn insert(&mut self, record: CredentialRecord) {
        if let Some(hash) = record.token_hash {
            self.tokens.insert(hash, record.id);
        }
        if let Some(api_key) = &record.api_key {
            self.api_keys.insert(api_key.clone(), record.id);
        }
        self.by_id.insert(record.id, record);
    }
}

impl Credentials {
    /// Loads the credentials and sessions, and the server key (created on first use).
    pub(crate) fn open(store: Store, data_dir: &Path, clock: Clock) -> Result<Credentials> {
        let key = server_key(&data_dir.join("scrobble.key"))?;
        let mut cache = Cache::default();
        let reader = store.read()?;
        for (_, record) in reader.states::<CredentialRecord>(StateScope::Credential)? {
            cache.insert(record);
        }
        for (hash, session) in reader.states::<SessionRecord>(StateScope::LastfmSession)? {
            if let Some(hash) = unhex32(&hash) {
                cache.sessions.insert(hash, session.credential);
            }
        }
        drop(reader);
        Ok(Credentials {
            store,
            clock,
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            cache: RwLock::new(cache),
            issuing: tokio::sync::Mutex::new(()),
            web_tokens: std::sync::Mutex::new(HashMap::default()),
            submission_sessions: std::sync::Mutex::new(HashMap::default()),
        })
    }

    /// Issues a credential; its secret is in the answer only.
    pub(crate) async fn create(&self, name: &str, api: Api) -> Result<Issued> {
        if let Err(err) = SourceName::parse(name) {
            return Err(Error::invalid(format!("token name {err}")));
        }
        let _issuing = self.issuing.lock().await;
        let (record, secret) = {
            let cache = self.cache.read().expect("credentials lock");
            if cache.by_id.values().any(|record| record.name == name) {
                return Err(Error::invalid(format!(
                    "a credential named {name:?} exists; revoke it or pick another name"
                )));
            }
            let id = cache.by_id.keys().next_back().map_or(1, |last| last + 1);
            let created_ms = self.clock.now_ms();
            match api {
                Api::Listenbrainz => {
                    let token = uuid_v4();
                    let record = CredentialRecord {
                        id,
                        name: name.to_owned(),
                        api,
                        created_ms,
                        token_hash: Some(sha256(token.as_bytes())),
                        api_key: None,
                    };
                    (record, token)
                }
                Api::Lastfm => {
                    let api_key = hex(&random::<16>());
                    let secret = self.secret_of(&api_key);
                    let record = CredentialRecord {
                        id,
                        name: name.to_owned(),
                        api,
                        created_ms,
                        token_hash: None,
                        api_key: Some(api_key),
                    };
                    (record, secret)
                }
            }
        };
        self.store.put(vec![credential_put(&record, true)]).await?;
        self.cache.write().expect("credentials lock").insert(record.clone());
        Ok(Issued { record, secret })
    }

    /// Every credential, oldest first.
    pub(crate) fn list(&self) -> Vec<CredentialRecord> {
        self.cache.read().expect("credentials lock").by_id.values().cloned().collect()
    }

    /// Revokes a credential (by id or name) and its sessions.
    pub(crate) async fn revoke(&self, which: &str) -> Result<CredentialRecord> {
        let (record, sessions) = {
            let cache = self.cache.read().expect("credentials lock");
            let record = cache
                .by_id
                .values()
                .find(|record| record.name == which || which.parse::<u64>().is_ok_and(|id| id == record.id))
                .cloned()
                .ok_or_else(|| Error::not_found(format!("no credential {which:?}")))?;
            let sessions: Vec<[u8; 32]> =
                cache.sessions.iter().filter(|(_, id)| **id == record.id).map(|(hash, _)| *hash).collect();
            (record, sessions)
        };
        let mut puts = vec![credential_put(&record, false)];
        puts.extend(sessions.iter().map(|hash| Put::clear(StateKey::LastfmSession(hex(hash)))));
        self.store.put(puts).await?;
        let mut cache = self.cache.write().expect("credentials lock");
        cache.by_id.remove(&record.id);
        cache.tokens.retain(|_, id| *id != record.id);
        cache.api_keys.retain(|_, id| *id != record.id);
        cache.sessions.retain(|_, id| *id != record.id);
        drop(cache);
        self.web_tokens.lock().expect("web tokens lock").retain(|_, (id, _)| *id != record.id);
        self.submission_sessions.lock().expect("submission sessions lock").retain(|_, (id, _)| *id != record.id);
        Ok(record)
    }

    /// The credential a ListenBrainz token belongs to.
    pub(crate) fn by_token(&self, token: &str) -> Option<CredentialRecord> {
        let cache = self.cache.read().expect("credentials lock");
        let id = cache.tokens.get(&sha256(token.as_bytes()))?;
        cache.by_id.get(id).cloned()
    }

    /// The Last.fm credential of an API key, with its shared secret.
    pub(crate) fn by_api_key(&self, api_key: &str) -> Option<(CredentialRecord, String)> {
        let cache = self.cache.read().expect("credentials lock");
        let record = cache.by_id.get(cache.api_keys.get(api_key)?)?.clone();
        drop(cache);
        let secret = self.secret_of(api_key);
        Some((record, secret))
    }

    /// The credential a Last.fm session key was issued to.
    pub(crate) fn by_session(&self, session_key: &str) -> Option<CredentialRecord> {
        let cache = self.cache.read().expect("credentials lock");
        let id = cache.sessions.get(&sha256(session_key.as_bytes()))?;
        cache.by_id.get(id).cloned()
    }

    /// Starts a session for a credential; returns its key (stored hashed).
    pub(crate) async fn new_session(&self, credential: u64) -> Result<String> {
        let session_key = hex(&random::<16>());
        let hash = sha256(session_key.as_bytes());
        let record = SessionRecord { credential, created_ms: self.clock.now_ms() };
        let put = Put::state(StateKey::LastfmSession(hex(&hash)), &record);
        self.store.put(vec![put]).await?;
        let revoked = {
            let mut cache = self.cache.write().expect("credentials lock");
            let live = cache.by_id.contains_key(&credential);
            if live {
                cache.sessions.insert(hash, credential);
            }
            !live
        };
        if revoked {
            // Revoked while the session was being written: it must not work.
            let gone = Put::clear(StateKey::LastfmSession(hex(&hash)));
            self.store.put(vec![gone]).await?;
            return Err(Error::not_found("the credential was revoked"));
        }
        Ok(session_key)
    }

    /// A token for the `auth.getToken` → `auth.getSession` flow. Knowing the shared
    /// secret (the request is signed) is the authorisation, so it is ready at once.
    pub(crate) fn new_web_token(&self, credential: u64) -> String {
        let token = hex(&random::<16>());
        let now_ms = self.clock.now_ms();
        let mut tokens = self.web_tokens.lock().expect("web tokens lock");
        tokens.retain(|_, (_, issued_ms)| !expired(*issued_ms, now_ms));
        if tokens.len() >= MAX_WEB_TOKENS
            && let Some(oldest) = tokens.iter().min_by_key(|(_, (_, issued))| *issued).map(|(token, _)| token.clone())
        {
            tokens.remove(&oldest);
        }
        tokens.insert(token.clone(), (credential, now_ms));
        token
    }

    /// Takes a web token issued to `credential`.
    pub(crate) fn take_web_token(&self, token: &str, credential: u64) -> WebToken {
        let now_ms = self.clock.now_ms();
        let mut tokens = self.web_tokens.lock().expect("web tokens lock");
        match tokens.get(token) {
            Some((owner, _)) if *owner != credential => WebToken::Unknown,
            Some((_, issued_ms)) if expired(*issued_ms, now_ms) => {
                tokens.remove(token);
                WebToken::Expired
            }
            Some(_) => {
                tokens.remove(token);
                WebToken::Taken
            }
            None => WebToken::Unknown,
        }
    }

    /// Every Last.fm credential with its shared secret, oldest first: an
    /// Audioscrobbler 1.2 handshake names no key, only proof of one secret.
    pub(crate) fn lastfm_secrets(&self) -> Vec<(CredentialRecord, String)> {
        let records: Vec<CredentialRecord> = {
            let cache = self.cache.read().expect("credentials lock");
            cache.by_id.values().filter(|record| record.api == Api::Lastfm).cloned().collect()
        };
        records
            .into_iter()
            .filter_map(|record| {
                let secret = self.secret_of(record.api_key.as_deref()?);
                Some((record, secret))
            })
            .collect()
    }

    /// Starts an Audioscrobbler 1.2 submission session for a credential; returns its id.
    pub(crate) fn new_submission_session(&self, credential: u64) -> String {
        let session = hex(&random::<16>());
        let mut sessions = self.submission_sessions.lock().expect("submission sessions lock");
        if sessions.len() >= MAX_SUBMISSION_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, (_, started))| *started).map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(session.clone(), (credential, self.clock.now_ms()));
        session
    }

    /// The credential an Audioscrobbler 1.2 session was started with, while it lives.
    pub(crate) fn by_submission_session(&self, session: &str) -> Option<CredentialRecord> {
        let (credential, _) = *self.submission_sessions.lock().expect("submission sessions lock").get(session)?;
        self.cache.read().expect("credentials lock").by_id.get(&credential).cloned()
    }

    /// The shared secret of a Last.fm API key.
    fn secret_of(&self, api_key: &str) -> String {
        hex(&ring::hmac::sign(&self.key, api_key.as_bytes()).as_ref()[..16])
    }
}

fn credential_put(record: &CredentialRecord, live: bool) -> Put {
    let key = StateKey::Credential(record.id);
    if live { Put::state(key, record) } else { Put::clear(key) }
}

/// Whether a web token issued at `issued_ms` has expired at `now_ms`.
fn expired(issued_ms: i64, now_ms: i64) -> bool {
    now_ms.saturating_sub(issued_ms) >= WEB_TOKEN_LIFETIME.as_millis() as i64
}

/// Reads the server key, creating it (owner-only, written whole before it is used).
fn server_key(path: &Path) -> Result<[u8; 32]> {
    match std::fs::read(path) {
        Ok(bytes) => {
            return bytes.try_into().map_err(|_| {
                Error::invalid(format!(
                    "{} is damaged (not 32 bytes); remove it and issue new Last.fm credentials",
                    path.display()
                ))
            });
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_err("read", path)(err)),
    }
    let key = random::<32>();
    let partial = path.with_extension("key.partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(io_err("create", &partial))?;
    file.write_all(&key).and_then(|()| file.sync_all()).map_err(io_err("write", &partial))?;
    std::fs::rename(&partial, path).map_err(io_err("rename", path))?;
    Ok(key)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    SystemRandom::new().fill(&mut bytes).expect("the system's random source works");
    bytes
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().try_into().expect("SHA-256 is 32 bytes")
}

/// A random UUID v4, the shape of ListenBrainz tokens (some clients check it).
fn uuid_v4() -> String {
    let mut bytes = random::<16>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex(&bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut bytes = [0; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let token = uuid_v4();
        assert_eq!(token.len(), 36);
        assert_eq!(&token[14..15], "4");
        assert_ne!(uuid_v4(), token);
        let hash = sha256(b"abc");
        assert_eq!(hex(&hash), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(unhex32(&hex(&hash)), Some(hash));
        assert_eq!(unhex32("zz"), None);
        for name in ["navidrome", "web-scrobbler_2.0"] {
            assert!(SourceName::parse(name).is_ok(), "{name}");
        }
        for name in ["", "Navidrome", "a b"] {
            assert!(SourceName::parse(name).is_err(), "{name}");
        }
    }

    #[test]
    fn web_tokens_expire_after_an_hour_by_the_clock() {
        let harness = crate::harness::Harness::at("2024-06-01T12:00:00Z");
        let credentials = Credentials::open(harness.store.clone(), harness.dir(), harness.clock.clone()).unwrap();
        let minute = 60 * 1000;
        // (minutes waited, what the token is then)
        let cases = [(0, WebToken::Taken), (59, WebToken::Taken), (60, WebToken::Expired), (61, WebToken::Expired)];
        for (waited, expected) in cases {
            let token = credentials.new_web_token(1);
            assert_eq!(credentials.take_web_token(&token, 2), WebToken::Unknown, "another credential's");
            harness.clock.advance_ms(waited * minute);
            assert_eq!(credentials.take_web_token(&token, 1), expected, "after {waited} minutes");
            assert_eq!(credentials.take_web_token(&token, 1), WebToken::Unknown, "used or dropped");
        }
        assert_eq!(credentials.take_web_token("never-issued", 1), WebToken::Unknown);
    }

    #[test]
    fn server_key_is_kept_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scrobble.key");
        let key = server_key(&path).unwrap();
        assert_eq!(server_key(&path).unwrap(), key);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, b"short").unwrap();
        assert!(server_key(&path).unwrap_err().to_string().contains("damaged"));
    }
}
