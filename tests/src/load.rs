//! Load for the stress tests and the benchmark: how many cases to run, their
//! seed, and the mixed load of several clients whose exact effect on the
//! store is known.
//!
//! Case counts are multiplied by `MUSIQUE_STRESS` ([`factor`]; 1 when unset),
//! so CI runs a bounded number and a longer run is opt-in. Inputs come from a
//! seeded [`Rng`]: `MUSIQUE_STRESS_SEED` chooses the seed ([`seed`]), and a
//! [`SeedGuard`] prints it when a test fails, so the failing inputs can be
//! generated again.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use musique_api::{Counts, EntityKind, MusiqueApiClient, NewListen, Period, TimeArg, TokenApi};
use serde_json::json;

use crate::generate::Rng;

/// The environment variable multiplying the case counts of the stress tests.
pub const STRESS_VAR: &str = "MUSIQUE_STRESS";
/// The environment variable choosing the seed of the stress tests.
pub const SEED_VAR: &str = "MUSIQUE_STRESS_SEED";

/// How much the case counts are multiplied by: `MUSIQUE_STRESS`, or 1.
pub fn factor() -> u64 {
    match std::env::var(STRESS_VAR) {
        Err(_) => 1,
        Ok(value) => match value.trim().parse::<u64>() {
            Ok(factor) if factor >= 1 => factor,
            _ => panic!("{STRESS_VAR}={value:?}: give a whole number of at least 1 (it multiplies the case counts)"),
        },
    }
}

/// The seed of a stress test: `MUSIQUE_STRESS_SEED`, else `default` in a CI run
/// (the same inputs every time) and a fresh one in a longer run (new inputs each time).
pub fn seed(default: u64) -> u64 {
    if let Ok(value) = std::env::var(SEED_VAR) {
        return value.trim().parse().unwrap_or_else(|_| panic!("{SEED_VAR}={value:?} is not a whole number"));
    }
    if factor() == 1 {
        return default;
    }
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos() as u64);
    nanos ^ std::process::id() as u64
}

/// Prints a test's seed if the test fails while the guard lives.
#[derive(Debug)]
pub struct SeedGuard {
    test: &'static str,
    seed: u64,
}

impl SeedGuard {
    /// The seed of `test` (see [`seed`]), kept to be printed on failure.
    pub fn new(test: &'static str, default: u64) -> SeedGuard {
        SeedGuard { test, seed: seed(default) }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A generator for one stream of inputs (a client, a worker) of this test.
    pub fn rng(&self, stream: u64) -> Rng {
        Rng::new(self.seed ^ stream.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{} failed with seed {seed}: {SEED_VAR}={seed} {STRESS_VAR}={} generates the same inputs",
                self.test,
                factor(),
                seed = self.seed
            );
        }
    }
}

/// A mixed load: `clients` clients at once, each with its own socket connection
/// and ListenBrainz token, making `calls` calls each.
#[derive(Debug, Clone)]
pub struct MixedLoad {
    /// Concurrent clients.
    pub clients: usize,
    /// Calls per client.
    pub calls: usize,
    /// Seed of the calls.
    pub seed: u64,
    /// Earliest start time of the listens it adds, unix seconds.
    pub from: i64,
    /// Latest start time of the listens it adds (exclusive), unix seconds.
    pub to: i64,
}

/// What a mixed load did, and by how much the store's counts must have grown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Calls made, of every kind.
    pub calls: u64,
    /// Listens added through `listens.add`.
    pub added: u64,
    /// Listens sent again through `listens.add` (each a duplicate).
    pub resent: u64,
    /// Listens scrobbled through the ListenBrainz endpoint.
    pub scrobbled: u64,
    /// How much the counts must have grown.
    pub grown: Counts,
}

/// Artists of the mixed load's listens.
const LOAD_ARTISTS: u64 = 40;
/// Albums per artist.
const LOAD_ALBUMS: u64 = 6;

/// One client's share of a load: the listens it stored and the entities they name.
#[derive(Default)]
struct Share {
    calls: u64,
    added: u64,
    resent: u64,
    scrobbled: u64,
    artists: BTreeSet<u64>,
    albums: BTreeSet<(u64, u64)>,
}

/// Runs a mixed load against the daemon at `socket` (scrobbling at `http_url`):
/// `listens.add` batches and resends, ListenBrainz `single` and `import`
/// documents, listen pages, searches, charts and status, in a seeded order.
/// Every call must succeed, each add and resend must be reported as expected,
/// and the report says how much the counts must have grown (each listen names a
/// track of its own; artists and albums come from small pools).
pub async fn mixed_load(socket: &Path, http_url: &str, load: &MixedLoad) -> LoadReport {
    let mut tasks = Vec::new();
    for client in 0..load.clients {
        let (socket, url, load) = (socket.to_owned(), http_url.to_owned(), load.clone());
        tasks.push(tokio::spawn(async move { client_load(&socket, &url, &load, client).await }));
    }
    let mut report = LoadReport::default();
    let (mut artists, mut albums) = (HashSet::new(), HashSet::new());
    for task in tasks {
        let share = task.await.expect("a load client panicked");
        report.calls += share.calls;
        report.added += share.added;
        report.resent += share.resent;
        report.scrobbled += share.scrobbled;
        artists.extend(share.artists);
        albums.extend(share.albums);
    }
    let listens = report.added + report.scrobbled;
    report.grown = Counts { artists: artists.len() as u64, albums: albums.len() as u64, tracks: listens, listens };
    report
}

/// Display name of the mixed load's artist `index`.
pub fn load_artist(index: u64) -> String {
    format!("Load Artist {index}")
}

async fn client_load(socket: &Path, url: &str, load: &MixedLoad, client: usize) -> Share {
    let rpc = musique_api::client::connect(socket).await.expect("connect to musiqued");
    let name = format!("load-{}-{client}", load.seed % 1_000_000);
    let token = rpc.tokens_create(name, TokenApi::Listenbrainz).await.expect("tokens.create").secret;
    let http = reqwest::Client::new();
    let mut rng = Rng::new(load.seed ^ (client as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut share = Share::default();
    let mut sent: Vec<NewListen> = Vec::new();
    let span = (load.to - load.from).max(1) as u64;
    let mut serial = 0u64;
    let mut new_listen = |rng: &mut Rng, share: &mut Share| {
        let artist = rng.below(LOAD_ARTISTS);
        let album = (rng.below(10) < 7).then(|| rng.below(LOAD_ALBUMS));
        share.artists.insert(artist);
        if let Some(album) = album {
            share.albums.insert((artist, album));
        }
        serial += 1;
        NewListen {
            artist: load_artist(artist),
            // A track of its own: no two listens of the load are one play.
            track: format!("Load Track {client} {serial}"),
            album: album.map(|album| format!("Load Album {artist} {album}")),
            listened_at: TimeArg::Unix(load.from + rng.below(span) as i64),
            duration_ms: (rng.below(2) == 0).then(|| 60_000 + rng.below(300_000)),
            source: None,
        }
    };
    for _ in 0..load.calls {
        share.calls += 1;
        match rng.below(100) {
            0..=24 => {
                let batch: Vec<NewListen> = (0..1 + rng.below(5)).map(|_| new_listen(&mut rng, &mut share)).collect();
                let count = batch.len() as u64;
                let report = if count == 1 {
                    rpc.listens_add(batch.first().cloned(), None).await
                } else {
                    rpc.listens_add(None, Some(batch.clone())).await
                }
                .expect("listens.add");
                assert_eq!((report.added, report.duplicates), (count, 0), "new listens are added");
                share.added += count;
                sent.extend(batch);
            }
            25..=29 if !sent.is_empty() => {
                let again = sent[rng.below(sent.len() as u64) as usize].clone();
                let report = rpc.listens_add(Some(again), None).await.expect("listens.add");
                assert_eq!((report.added, report.duplicates), (0, 1), "a listen sent again is a duplicate");
                share.resent += 1;
            }
            30..=49 => {
                let count = if rng.below(2) == 0 { 1 } else { 2 + rng.below(19) };
                let payload: Vec<serde_json::Value> = (0..count)
                    .map(|_| {
                        let listen = new_listen(&mut rng, &mut share);
                        let TimeArg::Unix(at) = listen.listened_at else { unreachable!("unix times") };
                        let mut metadata = json!({"artist_name": listen.artist, "track_name": listen.track});
                        if let Some(album) = listen.album {
                            metadata["release_name"] = json!(album);
                        }
                        json!({"listened_at": at, "track_metadata": metadata})
                    })
                    .collect();
                let kind = if count == 1 { "single" } else { "import" };
                let body = json!({"listen_type": kind, "payload": payload}).to_string();
                let response = http
                    .post(format!("{url}/1/submit-listens"))
                    .header("Authorization", format!("Token {token}"))
                    .body(body)
                    .send()
                    .await
                    .expect("POST /1/submit-listens");
                let status = response.status();
                assert_eq!(status, 200, "a scrobble is stored: {}", response.text().await.unwrap_or_default());
                share.scrobbled += count;
            }
            50..=61 => {
                let from = load.from + rng.below(span) as i64;
                let to = from + 1 + rng.below(span / 4 + 1) as i64;
                let limit = 1 + rng.below(100) as u32;
                let page = rpc
                    .listens_list(Some(TimeArg::Unix(from)), Some(TimeArg::Unix(to)), Some(limit), None)
                    .await
                    .expect("listens.list");
                assert!(page.listens.len() <= limit as usize);
            }
            62..=74 => {
                let query = match rng.below(3) {
                    0 => load_artist(rng.below(LOAD_ARTISTS)),
                    1 => format!("lod artst {}", rng.below(LOAD_ARTISTS)),
                    _ => format!("load track {client}"),
                };
                rpc.search(query, None, Some(1 + rng.below(50) as u32)).await.expect("search");
            }
            75..=86 => {
                let kinds = [EntityKind::Artist, EntityKind::Album, EntityKind::Track];
                let periods = [Period::Day, Period::Week, Period::Month, Period::Year, Period::All];
                let kind = kinds[rng.below(3) as usize];
                let limit = Some(1 + rng.below(100) as u32);
                if rng.below(2) == 0 {
                    let period = periods[rng.below(periods.len() as u64) as usize];
                    rpc.stats_top(kind, Some(period), None, None, limit, None, None, None, None, None, None)
                        .await
                        .expect("stats.top");
                } else {
                    let from = load.from + rng.below(span) as i64;
                    let to = TimeArg::Unix(from + 1 + rng.below(span) as i64);
                    rpc.stats_top(
                        kind,
                        None,
                        Some(TimeArg::Unix(from)),
                        Some(to),
                        limit,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                    )
                    .await
                    .expect("stats.top");
                }
            }
            _ => {
                rpc.status().await.expect("daemon.status");
            }
        }
    }
    share
}
