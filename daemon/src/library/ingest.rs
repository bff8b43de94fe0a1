//! The one way listens enter the store.
//!
//! Whatever their origin (an RPC call, a scrobbler, a plugin's events, a
//! tracker's sweep, an adapter's history page, an export file), listens are
//! checked by [`Intake::admit`] (name lengths, time bounds, duration) and only
//! an [`Admitted`] listen can be committed, through [`Library::commit`].
//! Nothing else in the daemon calls the store's ingest (a tidy test checks it).

use std::collections::HashMap;
use std::sync::Arc;

use super::Library;
use super::source::SourceName;
use crate::clock::DAY_S;
use crate::error::{Error, InternalError, Result};
use crate::identity::{Name, credit_of_artists, split_credit};
use crate::store::records::{ImportRunRecord, ListenDetails, Provenance};
use crate::store::{IngestOutcome, ListenKey, PreparedListen, Put, TrackIdentity};

/// Longest artist, track or album name accepted, in bytes.
pub(crate) const MAX_NAME_BYTES: usize = 1024;
/// Most artists one credit lists separately.
pub(crate) const MAX_CREDITED: usize = 64;
/// Longest play accepted: 24 days, the longest ListenBrainz accepts, so that nothing a
/// scrobbler may send to ListenBrainz is refused here.
const MAX_DURATION_MS: u64 = 24 * 24 * 3600 * 1000;
/// How far ahead of now a listen may start (clocks differ; a day is generous).
const MAX_AHEAD_S: i64 = DAY_S;
/// Forget cached credits past this many, to bound memory on huge imports.
const MAX_CACHED_IDENTITIES: usize = 300_000;

/// Where listens come from. It names their source and, for imports, their run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `listens.add`, with the caller's source (`rpc` by default).
    Rpc(SourceName),
    /// A scrobbling client, named after its credential.
    Scrobbler(SourceName),
    /// Listens a plugin emitted.
    Plugin(SourceName),
    /// A tracker's sweep of an adapter's recent history.
    Tracker(SourceName),
    /// A page of an adapter's history import.
    AdapterImport { adapter: SourceName, run: u64 },
    /// A record of an export file.
    ExportFile { source: SourceName, run: u64 },
}

impl Origin {
    fn provenance(&self) -> Provenance {
        let (source, import_run) = match self {
            Origin::Rpc(source) | Origin::Scrobbler(source) | Origin::Plugin(source) | Origin::Tracker(source) => {
                (source, None)
            }
            Origin::AdapterImport { adapter: source, run } | Origin::ExportFile { source, run } => (source, Some(*run)),
        };
        Provenance { source: source.as_str().to_owned(), import_run }
    }
}

/// A listen as its origin gives it, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listen {
    /// The artist credit as displayed (`A feat. B`).
    pub(crate) artist: String,
    pub(crate) track: String,
    pub(crate) album: Option<String>,
    /// The credit as separate names (ListenBrainz `artist_names`), first primary;
    /// empty to split `artist` instead.
    pub(crate) artists: Vec<String>,
    /// When it started, unix milliseconds.
    pub(crate) started_ms: i64,
    pub(crate) duration_ms: Option<u64>,
    /// Whether the origin says the listener loves the track.
    pub(crate) loved: Option<bool>,
    /// What the report carries besides names and times (MBIDs, client, Spotify's play details).
    pub(crate) details: Option<Box<ListenDetails>>,
}

/// Why [`Intake::admit`] refused a listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("`artist` and `track` must not be empty")]
    EmptyName,
    #[error("names are limited to {MAX_NAME_BYTES} bytes")]
    NameTooLong,
    #[error("`artists` takes at most {MAX_CREDITED} names, each not empty and at most {MAX_NAME_BYTES} bytes")]
    BadCredit,
    #[error("`listened_at` {0} is before 1970 or more than a day in the future")]
    OutOfTime(i64),
    #[error("`duration_ms` is longer than 24 days")]
    TooLong,
}

/// A listen that passed [`Intake::admit`]; only the intake makes one.
#[derive(Debug, Clone)]
pub(crate) struct Admitted(PreparedListen);

impl Admitted {
    /// Marks a report whose end is known to the minute only (Spotify's account data):
    /// the store matches it with the same source's report of the play to the second.
    pub(crate) fn ending_to_the_minute(mut self) -> Admitted {
        self.0.minute_end = true;
        self
    }

    /// Marks a report whose start is known to the minute only (lastfm-to-csv's dates):
    /// the store matches it with the same source's report of the play to the second.
    pub(crate) fn starting_to_the_minute(mut self) -> Admitted {
        self.0.minute_start = true;
        self
    }
}

/// Checks and prepares the listens of one origin, sharing identical credits and
/// albums between them (an import's thousands of plays of one track share one key).
pub(crate) struct Intake {
    separators: Arc<Vec<String>>,
    clock: crate::clock::Clock,
    source: Arc<Provenance>,
    identities: HashMap<(String, String), Arc<TrackIdentity>>,
    albums: HashMap<String, Arc<Name>>,
}

/// What is committed together, in one durable transaction.
#[derive(Default)]
pub(crate) struct Commit {
    pub(crate) listens: Vec<Admitted>,
    /// The import run as it stands after these listens.
    pub(crate) run: Option<ImportRunRecord>,
    /// Small values that must be durable with the listens (cursors, watermarks).
    pub(crate) puts: Vec<Put>,
}

/// A commit on its way: wait for it from a thread or from async code.
pub(crate) struct Pending(tokio::sync::oneshot::Receiver<Result<IngestOutcome>>);

impl Pending {
    /// Blocks until the commit is durable (or failed).
    pub(crate) fn wait_blocking(self) -> Result<IngestOutcome> {
        self.0.blocking_recv().map_err(|_| Error::Internal(InternalError::WorkerGone("store writer")))?
    }

    /// Waits until the commit is durable (or failed).
    pub(crate) async fn wait(self) -> Result<IngestOutcome> {
        self.0.await.map_err(|_| Error::Internal(InternalError::WorkerGone("store writer")))?
    }
}

impl Intake {
    pub(super) fn new(library: &Library, origin: &Origin) -> Intake {
        Intake {
            separators: library.state.separators.clone(),
            clock: library.state.clock.clone(),
            source: Arc::new(origin.provenance()),
            identities: HashMap::new(),
            albums: HashMap::new(),
        }
    }

    /// Checks a listen; the refusal says what is wrong with it.
    pub(crate) fn admit(&mut self, listen: Listen) -> std::result::Result<Admitted, Refusal> {
        let artist = listen.artist.trim();
        let track = listen.track.trim();
        if artist.is_empty() || track.is_empty() {
            return Err(Refusal::EmptyName);
        }
        if listen.artists.len() > MAX_CREDITED
            || listen.artists.iter().any(|name| name.trim().is_empty() || name.len() > MAX_NAME_BYTES)
        {
            return Err(Refusal::BadCredit);
        }
        let album = listen.album.as_deref().map(str::trim).filter(|album| !album.is_empty());
        if artist.len() > MAX_NAME_BYTES || track.len() > MAX_NAME_BYTES || album.map_or(0, str::len) > MAX_NAME_BYTES {
            return Err(Refusal::NameTooLong);
        }
        let latest_ms = (self.clock.now_s() + MAX_AHEAD_S).saturating_mul(1000);
        if listen.started_ms < 0 || listen.started_ms > latest_ms {
            return Err(Refusal::OutOfTime(listen.started_ms.div_euclid(1000)));
        }
        if listen.duration_ms.is_some_and(|duration| duration > MAX_DURATION_MS) {
            return Err(Refusal::TooLong);
        }
        if self.identities.len() > MAX_CACHED_IDENTITIES {
            self.identities.clear();
            self.albums.clear();
        }
        let identity = if listen.artists.is_empty() {
            let key = (artist.to_owned(), track.to_owned());
            match self.identities.get(&key) {
                Some(identity) => identity.clone(),
                None => {
                    let identity = Arc::new(TrackIdentity {
                        credit: split_credit(artist, track, &self.separators),
                        raw_artist: artist.to_owned(),
                        raw_title: track.to_owned(),
                    });
                    self.identities.insert(key, identity.clone());
                    identity
                }
            }
        } else {
            Arc::new(TrackIdentity {
                credit: credit_of_artists(&listen.artists, track, &self.separators),
                raw_artist: artist.to_owned(),
                raw_title: track.to_owned(),
            })
        };
        let album = album.map(|album| match self.albums.get(album) {
            Some(name) => name.clone(),
            None => {
                let name = Arc::new(Name::new(album));
                self.albums.insert(album.to_owned(), name.clone());
                name
            }
        });
        Ok(Admitted(PreparedListen {
            start_ms: listen.started_ms,
            duration_ms: listen.duration_ms,
            identity,
            album,
            source: self.source.clone(),
            loved: listen.loved,
            minute_end: false,
            minute_start: false,
            details: listen.details.and_then(tidy_details),
        }))
    }
}

/// Keeps what a report carries within bounds: a value longer than a name may be, or a
/// list longer than a credit may be, is dropped (it is extra data, not worth refusing
/// the listen for); `None` when nothing is left.
fn tidy_details(mut details: Box<ListenDetails>) -> Option<Box<ListenDetails>> {
    let texts = [
        &mut details.recording_mbid,
        &mut details.release_mbid,
        &mut details.release_group_mbid,
        &mut details.track_mbid,
        &mut details.submission_client,
        &mut details.submission_client_version,
        &mut details.media_player,
        &mut details.music_service,
        &mut details.origin_url,
        &mut details.spotify_track_uri,
        &mut details.reason_start,
        &mut details.reason_end,
        &mut details.platform,
    ];
    for text in texts {
        let trimmed = text.as_deref().map(str::trim).filter(|value| !value.is_empty() && value.len() <= MAX_NAME_BYTES);
        *text = trimmed.map(str::to_owned);
    }
    for list in [&mut details.artist_mbids, &mut details.work_mbids] {
        list.retain(|value| !value.trim().is_empty() && value.len() <= MAX_NAME_BYTES);
        if list.len() > MAX_CREDITED {
            list.clear();
        }
    }
    (!details.is_empty()).then_some(details)
}

impl Library {
    /// An intake for listens of this origin.
    pub(crate) fn intake(&self, origin: &Origin) -> Intake {
        Intake::new(self, origin)
    }

    /// Queues admitted listens (with a run and small values) for one durable commit.
    pub(crate) fn commit(&self, commit: Commit) -> Result<Pending> {
        let listens = commit.listens.into_iter().map(|Admitted(listen)| listen).collect();
        self.state.store.ingest(listens, commit.run, commit.puts).map(Pending)
    }

    /// Checks and stores listens from one origin, all or none; returns each one's key
    /// and whether it was new. New listens are announced as `listen_recorded` events
    /// unless `announce` is false (bulk submissions).
    pub(crate) async fn add(
        &self,
        origin: Origin,
        listens: Vec<Listen>,
        announce: bool,
    ) -> Result<Vec<(ListenKey, bool)>> {
        self.add_each(listens.into_iter().map(|listen| (origin.clone(), listen)).collect(), announce).await
    }

    /// Like [`Library::add`], each listen with its own origin (`listens.add` takes a source per listen).
    pub(crate) async fn add_each(
        &self,
        listens: Vec<(Origin, Listen)>,
        announce: bool,
    ) -> Result<Vec<(ListenKey, bool)>> {
        if listens.is_empty() {
            return Err(Error::invalid("give `listen` (one) or `listens` (a batch of at least one)"));
        }
        if listens.len() > super::MAX_ADD_BATCH {
            return Err(Error::invalid(format!(
                "at most {} listens per call, got {}",
                super::MAX_ADD_BATCH,
                listens.len()
            )));
        }
        let mut intakes: Vec<(Origin, Intake)> = Vec::new();
        let mut admitted = Vec::with_capacity(listens.len());
        for (position, (origin, listen)) in listens.into_iter().enumerate() {
            let intake = match intakes.iter().position(|(known, _)| *known == origin) {
                Some(index) => &mut intakes[index].1,
                None => {
                    let intake = self.intake(&origin);
                    intakes.push((origin, intake));
                    &mut intakes.last_mut().expect("just pushed").1
                }
            };
            let listen =
                intake.admit(listen).map_err(|reason| Error::invalid(format!("listen {position}: {reason}")))?;
            admitted.push(listen);
        }
        let outcome = self.commit(Commit { listens: admitted, ..Commit::default() })?.wait().await?;
        if announce {
            let added = outcome.added();
            if !added.is_empty() {
                let library = self.clone();
                tokio::task::spawn_blocking(move || library.announce(&added));
            }
        }
        Ok(outcome.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::Harness;

    fn listen(artist: &str, track: &str, at: &str) -> Listen {
        Listen {
            artist: artist.to_owned(),
            track: track.to_owned(),
            album: None,
            artists: Vec::new(),
            started_ms: crate::clock::parse_user_time_s(at).expect("a time") * 1000,
            duration_ms: None,
            loved: None,
            details: None,
        }
    }

    fn rpc(source: &str) -> Origin {
        Origin::Rpc(SourceName::parse(source).unwrap())
    }

    /// Commits listens of one origin and answers (key, new) per listen.
    fn store(harness: &Harness, origin: &Origin, listens: Vec<Listen>) -> Vec<(ListenKey, bool)> {
        let mut intake = harness.library.intake(origin);
        let listens = listens.into_iter().map(|listen| intake.admit(listen).unwrap()).collect();
        let commit = Commit { listens, ..Commit::default() };
        harness.library.commit(commit).unwrap().wait_blocking().unwrap().keys
    }

    #[test]
    fn one_validation_for_every_origin() {
        let harness = Harness::at("2024-06-01T12:00:00Z");
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        let cases: Vec<(&str, Listen, Option<&str>)> = vec![
            ("plain", listen("Air", "Alone in Kyoto", "2024-06-01T11:00:00Z"), None),
            ("blank artist", listen("  ", "Song", "2024-06-01T11:00:00Z"), Some("must not be empty")),
            ("long title", listen("Air", &long, "2024-06-01T11:00:00Z"), Some("limited to 1024 bytes")),
            (
                "long album",
                Listen { album: Some(long.clone()), ..listen("Air", "Song", "2024-06-01T11:00:00Z") },
                Some("limited to 1024 bytes"),
            ),
            ("before 1970", Listen { started_ms: -1000, ..listen("Air", "Song", "2024-06-01") }, Some("before 1970")),
            ("a day ahead is fine", listen("Air", "Song", "2024-06-02T11:59:00Z"), None),
            ("more than a day ahead", listen("Air", "Song", "2024-06-02T12:00:01Z"), Some("in the future")),
            ("ten years ahead", listen("Air", "Song", "2034-06-01"), Some("in the future")),
            (
                "a 24-day play is fine",
                Listen { duration_ms: Some(24 * 24 * 3600 * 1000), ..listen("Air", "Song", "2024-06-01") },
                None,
            ),
            (
                "a longer play",
                Listen { duration_ms: Some(24 * 24 * 3600 * 1000 + 1), ..listen("Air", "Song", "2024-06-01") },
                Some("longer than 24 days"),
            ),
            (
                "an empty credited name",
                Listen { artists: vec!["Air".into(), " ".into()], ..listen("Air", "Song", "2024-06-01") },
                Some("`artists` takes"),
            ),
        ];
        let origins = [
            rpc("rpc"),
            Origin::Scrobbler(SourceName::parse("navidrome").unwrap()),
            Origin::Plugin(SourceName::of_plugin("Echo")),
            Origin::Tracker(SourceName::parse("lastfm").unwrap()),
            Origin::AdapterImport { adapter: SourceName::parse("lastfm").unwrap(), run: 1 },
            Origin::ExportFile { source: SourceName::parse("spotify").unwrap(), run: 2 },
        ];
        for origin in &origins {
            let mut intake = harness.library.intake(origin);
            for (name, listen, expected) in &cases {
                let result = intake.admit(listen.clone()).map(|_| ());
                match expected {
                    None => assert!(result.is_ok(), "{origin:?} {name}: {result:?}"),
                    Some(reason) => {
                        let err = result.expect_err(name).to_string();
                        assert!(err.contains(reason), "{origin:?} {name}: {err}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_clock_moves_the_future_bound() {
        let harness = Harness::at("2024-06-01T12:00:00Z");
        let mut intake = harness.library.intake(&rpc("rpc"));
        let later = listen("Air", "Song", "2024-06-03T12:00:00Z");
        assert!(intake.admit(later.clone()).is_err());
        harness.clock.advance_ms(24 * 3600 * 1000);
        assert!(intake.admit(later).is_ok());
    }

    #[test]
    fn cross_source_window_boundaries() {
        // (offset of the second source's report in seconds, whether it is the same play)
        let cases = [(0, true), (59, true), (60, true), (61, false), (-60, true), (-61, false)];
        for (offset, same) in cases {
            let harness = Harness::at("2024-06-01T12:00:00Z");
            let first = store(&harness, &rpc("lastfm"), vec![listen("Air", "Talisman", "2024-06-01T10:00:00Z")]);
            let mut second = listen("Air", "Talisman", "2024-06-01T10:00:00Z");
            second.started_ms += offset * 1000;
            let keys = store(&harness, &rpc("spotify"), vec![second.clone()]);
            assert_eq!(keys[0].0 == first[0].0, same, "offset {offset}");
            assert_eq!(keys[0].1, !same, "offset {offset}: new listen");
            // Reported again by the same source: recognised, never a new listen.
            let again = store(&harness, &rpc("spotify"), vec![second]);
            assert_eq!(again[0], (keys[0].0, false), "offset {offset}: re-import");
            assert_eq!(harness.library.counts().unwrap().listens, if same { 1 } else { 2 });
        }
    }

    #[test]
    fn one_source_never_merges_two_plays() {
        let harness = Harness::at("2024-06-01T12:00:00Z");
        let keys = store(
            &harness,
            &rpc("lastfm"),
            vec![listen("Air", "Talisman", "2024-06-01T10:00:00Z"), listen("Air", "Talisman", "2024-06-01T10:00:30Z")],
        );
        assert!(keys.iter().all(|(_, new)| *new));
        assert_ne!(keys[0].0, keys[1].0);
    }

    #[test]
    fn provenance_names_the_origin_and_run() {
        let cases = [
            (rpc("rpc"), ("rpc", None)),
            (Origin::Plugin(SourceName::of_plugin("CSV Feed")), ("csv-feed", None)),
            (Origin::AdapterImport { adapter: SourceName::parse("lastfm").unwrap(), run: 4 }, ("lastfm", Some(4))),
            (Origin::ExportFile { source: SourceName::parse("spotify").unwrap(), run: 9 }, ("spotify", Some(9))),
        ];
        for (origin, (source, run)) in cases {
            let provenance = origin.provenance();
            assert_eq!((provenance.source.as_str(), provenance.import_run), (source, run), "{origin:?}");
        }
    }
}
