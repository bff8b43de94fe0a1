//! Player adapters (Roon today): their status and zones as last reported, and
//! the one policy that turns playback reports into listens, the same for every
//! player.
//!
//! A player adapter reports each zone's state, track and position
//! ([`musique_sdk::player::Playback`]) whenever they change. Per zone, a
//! [`Session`] follows one play of one track: it adds up the time actually
//! played (position advances while playing, never more than the wall clock
//! allows, so a seek forward adds nothing and a pause adds nothing), and once
//! that reaches the threshold ([`Policy::threshold_ms`]: half the track or four
//! minutes, at least 30 s) the play is recorded at once, through the one ingest,
//! with the zone as its device. A track that changes before that (a skip) is no
//! listen; the same track again from its start after it counted (a repeat) is a
//! new play. The session is stored whenever it starts, counts, or moves on by
//! [`SAVE_EVERY_MS`], so after a restart a play in progress goes on where it was
//! and is never counted twice.

use std::collections::HashMap;
use std::sync::Mutex;

use musique_sdk::player::{PlayState, Playback, PlayingTrack, Zone};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::library::{Listen, Origin, SourceName};
use crate::store::records::ListenDetails;
use crate::store::{Put, Store};
use crate::store::{StateKey, StateScope};

/// How much played time may go unsaved (lost at a crash, at most).
const SAVE_EVERY_MS: u64 = 15_000;
/// Slack allowed between position updates beyond the wall clock (reports are late or early).
const CLOCK_SLACK_MS: u64 = 2_000;
/// A position this close to the start means "from the start".
const START_MS: u64 = 10_000;

/// What to do with radio (streams without a length, live stations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RadioPolicy {
    /// Recorded as a listen flagged radio, with its station, left out of charts.
    Flag,
    /// Recorded as an ordinary listen.
    Record,
    /// Not recorded.
    Ignore,
}

/// The tracking keys of a player adapter's `[adapters.<name>]` table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Policy {
    /// Played time a listen needs whatever the track's length.
    pub(crate) min_play_ms: u64,
    /// The share of the track's length that makes a listen.
    pub(crate) play_fraction: f64,
    /// Played time that makes a listen of a long track.
    pub(crate) play_time_ms: u64,
    /// Played time that makes a listen of something without a length (radio).
    pub(crate) unknown_length_ms: u64,
    /// Zones tracked (names or ids, case-insensitive); empty: every zone.
    pub(crate) zones: Vec<String>,
    /// Zones never tracked.
    pub(crate) exclude_zones: Vec<String>,
    /// Local hours in which plays are recorded: `[start, end)`, wrapping midnight when start > end.
    pub(crate) hours: Option<(u8, u8)>,
    /// Radio.
    pub(crate) radio: RadioPolicy,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            min_play_ms: 30_000,
            play_fraction: 0.5,
            play_time_ms: 240_000,
            unknown_length_ms: 60_000,
            zones: Vec::new(),
            exclude_zones: Vec::new(),
            hours: None,
            radio: RadioPolicy::Flag,
        }
    }
}

/// The keys as written in the table (other keys are the adapter's own).
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPolicy {
    min_play: Option<Value>,
    play_fraction: Option<f64>,
    play_time: Option<Value>,
    unknown_length_play: Option<Value>,
    zones: Vec<String>,
    exclude_zones: Vec<String>,
    listen_start_hour: Option<u8>,
    listen_end_hour: Option<u8>,
    radio: Option<RadioPolicy>,
}

impl Policy {
    /// Reads the tracking keys of an adapter's table; a bad value is an error naming its key.
    pub(crate) fn from_table(table: &Value) -> Result<Policy> {
        let raw: RawPolicy =
            serde_json::from_value(table.clone()).map_err(|err| Error::invalid(format!("tracking settings: {err}")))?;
        let default = Policy::default();
        let duration = |value: Option<Value>, key: &str, default: u64| match value {
            None => Ok(default),
            Some(value) => duration_ms(&value).ok_or_else(|| {
                Error::invalid(format!("`{key}` must be seconds or a duration such as \"30s\" or \"4m\", not {value}"))
            }),
        };
        let play_fraction = raw.play_fraction.unwrap_or(default.play_fraction);
        if !(play_fraction > 0.0 && play_fraction <= 1.0) {
            return Err(Error::invalid("`play_fraction` must be above 0 and at most 1"));
        }
        let hours = match (raw.listen_start_hour, raw.listen_end_hour) {
            (None, None) => None,
            (start, end) => {
                let (start, end) = (start.unwrap_or(0), end.unwrap_or(24));
                if start > 23 || end > 24 || start == end {
                    return Err(Error::invalid(
                        "`listen_start_hour` (0 to 23) and `listen_end_hour` (1 to 24) must differ",
                    ));
                }
                Some((start, end))
            }
        };
        Ok(Policy {
            min_play_ms: duration(raw.min_play, "min_play", default.min_play_ms)?,
            play_fraction,
            play_time_ms: duration(raw.play_time, "play_time", default.play_time_ms)?,
            unknown_length_ms: duration(raw.unknown_length_play, "unknown_length_play", default.unknown_length_ms)?,
            zones: raw.zones,
            exclude_zones: raw.exclude_zones,
            hours,
            radio: raw.radio.unwrap_or(default.radio),
        })
    }

    /// Played time that makes a listen of `track`.
    pub(crate) fn threshold_ms(&self, track: &PlayingTrack) -> u64 {
        match track.length_ms.filter(|length| *length > 0) {
            Some(length) => ((length as f64 * self.play_fraction) as u64).min(self.play_time_ms).max(self.min_play_ms),
            None => self.unknown_length_ms.max(self.min_play_ms),
        }
    }

    /// Whether plays on this zone are tracked.
    fn tracks_zone(&self, zone_id: &str, zone: &str) -> bool {
        let named = |names: &[String]| {
            names.iter().any(|name| name.eq_ignore_ascii_case(zone) || name.eq_ignore_ascii_case(zone_id))
        };
        (self.zones.is_empty() || named(&self.zones)) && !named(&self.exclude_zones)
    }

    /// Whether a play starting at `start_ms` falls in the listening hours (local time).
    fn in_hours(&self, start_ms: i64) -> bool {
        self.in_hours_of(start_ms, jiff::tz::TimeZone::system())
    }

    /// Whether a play starting at `start_ms` falls in the listening hours, in `zone`.
    fn in_hours_of(&self, start_ms: i64, zone: jiff::tz::TimeZone) -> bool {
        let Some((start, end)) = self.hours else { return true };
        let Ok(at) = jiff::Timestamp::from_millisecond(start_ms) else { return true };
        let hour = at.to_zoned(zone).hour() as u8;
        if start < end { (start..end).contains(&hour) } else { hour >= start || hour < end }
    }
}

/// Milliseconds of a duration written as seconds (`30`, `0.5`) or with a unit (`"30s"`, `"4m"`, `"500ms"`).
fn duration_ms(value: &Value) -> Option<u64> {
    let seconds = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => {
            let text = text.trim();
            let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
            let (number, unit) = text.split_at(split);
            let number: f64 = number.parse().ok()?;
            number
                * match unit.trim() {
                    "" | "s" => 1.0,
                    "ms" => 0.001,
                    "m" | "min" => 60.0,
                    "h" => 3600.0,
                    _ => return None,
                }
        }
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then_some((seconds * 1000.0) as u64)
}

/// What identifies the track of a play: a change of any of these is another play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrackKey {
    pub(crate) artist: String,
    pub(crate) title: String,
    pub(crate) album: Option<String>,
    pub(crate) length_ms: Option<u64>,
    pub(crate) radio: Option<String>,
}

impl TrackKey {
    fn of(track: &PlayingTrack) -> TrackKey {
        TrackKey {
            artist: track.artist.clone(),
            title: track.title.clone(),
            album: track.album.clone(),
            length_ms: track.length_ms,
            radio: track.radio.clone(),
        }
    }
}

/// One play of one track on one zone (`StateKey::PlaySession`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Session {
    pub(crate) zone: String,
    pub(crate) track: TrackKey,
    /// When the play started (unix ms): first seen playing, minus its position then.
    pub(crate) started_ms: i64,
    /// Time actually played so far.
    pub(crate) played_ms: u64,
    /// Whether it has been recorded.
    pub(crate) counted: bool,
    /// The last report: its position, time and state.
    pub(crate) position_ms: Option<u64>,
    pub(crate) at_ms: i64,
    pub(crate) playing: bool,
    /// `played_ms` when last stored.
    pub(crate) saved_ms: u64,
}

/// What one report changes.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Step {
    /// A play that reached its threshold: record it.
    pub(crate) listen: Option<Session>,
    /// The session to store, or `Some(None)` to forget it.
    pub(crate) save: Option<Option<Session>>,
}

/// Applies one report to a zone's session (pure: the caller stores and records).
pub(crate) fn advance(policy: &Policy, session: &mut Option<Session>, report: &Playback) -> Step {
    let mut step = Step::default();
    let track = report.track.as_ref().filter(|track| {
        policy.tracks_zone(&report.zone_id, &report.zone)
            && !(track.radio.is_some() && policy.radio == RadioPolicy::Ignore)
    });
    let playing = report.state == PlayState::Playing;
    let Some(track) = track else {
        if session.take().is_some() {
            step.save = Some(None);
        }
        return step;
    };
    let key = TrackKey::of(track);
    let same = session.as_ref().is_some_and(|current| current.track == key);
    // The same track from its start again, after it counted: a repeat.
    let repeat = same
        && session.as_ref().is_some_and(|current| {
            current.counted
                && report.position_ms.is_some_and(|position| position < START_MS)
                && current.position_ms.is_some_and(|before| before >= START_MS.max(policy.min_play_ms))
        });
    if !same || repeat {
        if !playing {
            // Loaded but not playing: nothing to follow yet.
            if session.take().is_some() {
                step.save = Some(None);
            }
            return step;
        }
        let position = report.position_ms.unwrap_or(0);
        *session = Some(Session {
            zone: report.zone.clone(),
            track: key,
            started_ms: report.at_ms.saturating_sub(position as i64),
            played_ms: 0,
            counted: false,
            position_ms: report.position_ms,
            at_ms: report.at_ms,
            playing,
            saved_ms: 0,
        });
        step.save = Some(session.clone());
        return step;
    }
    let current = session.as_mut().expect("same track");
    if current.playing {
        let wall = u64::try_from(report.at_ms.saturating_sub(current.at_ms)).unwrap_or(0);
        let played = match (current.position_ms, report.position_ms) {
            (Some(before), Some(now)) => now.saturating_sub(before).min(wall + CLOCK_SLACK_MS),
            _ => wall,
        };
        current.played_ms += played;
    }
    current.position_ms = report.position_ms.or(current.position_ms);
    current.at_ms = report.at_ms;
    let state_changed = current.playing != playing;
    current.playing = playing;
    current.zone = report.zone.clone();
    if !current.counted && current.played_ms >= policy.threshold_ms(track) {
        current.counted = true;
        if policy.in_hours(current.started_ms) {
            step.listen = Some(current.clone());
        }
    }
    if step.listen.is_some() || state_changed || current.played_ms >= current.saved_ms + SAVE_EVERY_MS {
        current.saved_ms = current.played_ms;
        step.save = Some(Some(current.clone()));
    }
    step
}

/// The listen of a play that counted.
pub(crate) fn listen_of(policy: &Policy, adapter: &str, session: &Session) -> (Origin, Listen) {
    let radio = session.track.radio.clone().filter(|_| policy.radio == RadioPolicy::Flag);
    let details = ListenDetails {
        media_player: Some(player_name(adapter)),
        platform: Some(session.zone.clone()),
        radio,
        ..ListenDetails::default()
    };
    let listen = Listen {
        artist: session.track.artist.clone(),
        track: session.track.title.clone(),
        album: session.track.album.clone(),
        artists: Vec::new(),
        started_ms: session.started_ms,
        duration_ms: session.track.length_ms,
        loved: None,
        details: Some(Box::new(details)),
    };
    (Origin::Plugin(SourceName::of_plugin(adapter)), listen)
}

/// The player's name as a listen's `media_player` shows it (`Roon` for `roon`).
fn player_name(adapter: &str) -> String {
    let mut chars = adapter.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The players' last reports and their zones' sessions.
#[derive(Default)]
pub(crate) struct Players {
    state: Mutex<PlayersState>,
}

#[derive(Default)]
struct PlayersState {
    /// Each adapter's zone playback as last reported, by zone id.
    playback: HashMap<String, HashMap<String, Playback>>,
    /// Sessions by (adapter, zone id); loaded from the store on first use.
    sessions: HashMap<(String, String), Session>,
    loaded: bool,
    /// Policies by adapter.
    policies: HashMap<String, Policy>,
    /// Adapters whose tracker was stopped: their plays are followed but not recorded.
    stopped: std::collections::HashSet<String>,
    /// Per adapter: what its tracker recorded.
    recorded: HashMap<String, Recorded>,
}

/// What a player adapter's tracker did since the daemon started.
#[derive(Debug, Clone, Default)]
struct Recorded {
    listens: u64,
    /// The last listen: artist, track, unix seconds.
    last: Option<(String, String, i64)>,
    reports: u64,
}

impl Players {
    /// Sets an adapter's policy from its `[adapters.<name>]` table (a bad one falls back to the
    /// defaults, with a warning).
    pub(crate) fn configure(&self, adapter: &str, table: &Value) {
        let policy = Policy::from_table(table).unwrap_or_else(|err| {
            tracing::warn!(adapter, error = %err, "tracking settings ignored; using the defaults");
            Policy::default()
        });
        self.state.lock().expect("players lock").policies.insert(adapter.to_owned(), policy);
    }

    /// Turns the recording of an adapter's plays on or off (its tracker).
    pub(crate) fn set_tracking(&self, adapter: &str, on: bool) {
        let mut state = self.state.lock().expect("players lock");
        if on {
            state.stopped.remove(adapter);
        } else {
            state.stopped.insert(adapter.to_owned());
        }
    }

    /// Whether an adapter's plays are recorded.
    pub(crate) fn tracking(&self, adapter: &str) -> bool {
        !self.state.lock().expect("players lock").stopped.contains(adapter)
    }

    /// Notes a listen the library stored for an adapter (`source` is its source name).
    pub(crate) fn recorded(&self, source: &str, artist: String, track: String, at_s: i64) {
        let mut state = self.state.lock().expect("players lock");
        let entry = state.recorded.entry(source.to_owned()).or_default();
        entry.listens += 1;
        entry.last = Some((artist, track, at_s));
    }

    /// An adapter's tracker as `trackers.status` shows it.
    pub(crate) fn tracker_status(&self, adapter: &str) -> crate::adapters::TrackerStatus {
        let state = self.state.lock().expect("players lock");
        let Recorded { listens, last, reports } = state.recorded.get(adapter).cloned().unwrap_or_default();
        let now_playing = state.playback.get(adapter).and_then(|zones| {
            let mut playing: Vec<&Playback> = zones.values().filter(|zone| zone.state == PlayState::Playing).collect();
            playing.sort_by(|a, b| a.zone.cmp(&b.zone));
            let track = playing.first()?.track.as_ref()?;
            Some(musique_sdk::protocol::NowPlaying {
                artist: track.artist.clone(),
                track: track.title.clone(),
                album: track.album.clone(),
            })
        });
        crate::adapters::TrackerStatus {
            adapter: adapter.to_owned(),
            running: !state.stopped.contains(adapter),
            last_track: last,
            now_playing,
            recorded: listens,
            polls: reports,
            ..Default::default()
        }
    }

    /// Applies a playback report: returns the listen to record, if the play just counted.
    /// Blocks (stores the session).
    pub(crate) fn report(&self, store: &Store, adapter: &str, report: Playback) -> Option<(Origin, Listen)> {
        let mut state = self.state.lock().expect("players lock");
        if !state.loaded {
            state.loaded = true;
            match store.read().and_then(|reader| reader.states::<Session>(StateScope::PlaySession)) {
                Ok(rows) => {
                    for (key, session) in rows {
                        if let Some((owner, zone)) = key.split_once('\u{1f}') {
                            state.sessions.insert((owner.to_owned(), zone.to_owned()), session);
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "stored plays in progress could not be read"),
            }
        }
        let policy = state.policies.get(adapter).cloned().unwrap_or_default();
        let key = (adapter.to_owned(), report.zone_id.clone());
        let mut session = state.sessions.remove(&key);
        let step = advance(&policy, &mut session, &report);
        if let Some(session) = session {
            state.sessions.insert(key.clone(), session);
        }
        state.playback.entry(adapter.to_owned()).or_default().insert(report.zone_id.clone(), report);
        state.recorded.entry(adapter.to_owned()).or_default().reports += 1;
        let tracking = !state.stopped.contains(adapter);
        drop(state);
        if let Some(save) = step.save {
            let state_key = StateKey::PlaySession(key.0.clone(), key.1.clone());
            let put = match save {
                Some(session) => Put::state(state_key, &session),
                None => Put::clear(state_key),
            };
            if let Err(err) = store.put_blocking(vec![put]) {
                tracing::warn!(adapter, error = %err, "a play in progress could not be saved");
            }
        }
        step.listen.filter(|_| tracking).map(|session| listen_of(&policy, adapter, &session))
    }

    /// The last report of every zone of an adapter.
    pub(crate) fn playback(&self, adapter: &str) -> Vec<Playback> {
        let state = self.state.lock().expect("players lock");
        let mut zones: Vec<Playback> =
            state.playback.get(adapter).map(|zones| zones.values().cloned().collect()).unwrap_or_default();
        zones.sort_by(|a, b| a.zone.cmp(&b.zone));
        zones
    }
}

/// Sorts zones by name, for answers.
pub(crate) fn sorted(mut zones: Vec<Zone>) -> Vec<Zone> {
    zones.sort_by_key(|zone| zone.name.to_lowercase());
    zones
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(title: &str, length_s: Option<u64>) -> PlayingTrack {
        PlayingTrack {
            artist: "Neil Young".into(),
            title: title.into(),
            album: Some("Harvest".into()),
            length_ms: length_s.map(|s| s * 1000),
            image_key: None,
            radio: None,
        }
    }

    fn report(state: PlayState, track: Option<PlayingTrack>, position_s: u64, at_s: i64) -> Playback {
        Playback {
            zone_id: "z1".into(),
            zone: "Living Room".into(),
            state,
            track,
            position_ms: Some(position_s * 1000),
            at_ms: 1_700_000_000_000 + at_s * 1000,
        }
    }

    /// Plays `title` from `from_s` to `to_s` (positions), one report a second; the listens it made.
    fn play(
        policy: &Policy,
        session: &mut Option<Session>,
        t: &PlayingTrack,
        from_s: u64,
        to_s: u64,
        clock: &mut i64,
    ) -> usize {
        let mut listens = 0;
        for position in from_s..=to_s {
            listens += usize::from(
                advance(policy, session, &report(PlayState::Playing, Some(t.clone()), position, *clock))
                    .listen
                    .is_some(),
            );
            *clock += 1;
        }
        listens
    }

    #[test]
    fn thresholds_are_half_or_four_minutes_and_at_least_the_minimum() {
        let policy = Policy::default();
        assert_eq!(policy.threshold_ms(&track("a", Some(200))), 100_000);
        assert_eq!(policy.threshold_ms(&track("a", Some(1200))), 240_000);
        assert_eq!(policy.threshold_ms(&track("a", Some(40))), 30_000);
        assert_eq!(policy.threshold_ms(&track("a", None)), 60_000);
    }

    #[test]
    fn a_skip_is_no_listen_and_a_full_play_is_one() {
        let policy = Policy::default();
        let (mut session, mut clock) = (None, 0);
        let a = track("Heart of Gold", Some(200));
        assert_eq!(play(&policy, &mut session, &a, 0, 20, &mut clock), 0);
        let b = track("Old Man", Some(200));
        assert_eq!(play(&policy, &mut session, &b, 0, 199, &mut clock), 1);
    }

    #[test]
    fn pauses_and_seeks_forward_add_nothing() {
        let policy = Policy::default();
        let (mut session, mut clock) = (None, 0);
        let a = track("Heart of Gold", Some(200));
        assert_eq!(play(&policy, &mut session, &a, 0, 50, &mut clock), 0);
        // Paused for ten minutes: the position stays.
        advance(&policy, &mut session, &report(PlayState::Paused, Some(a.clone()), 50, clock));
        clock += 600;
        advance(&policy, &mut session, &report(PlayState::Paused, Some(a.clone()), 50, clock));
        // Seek forward to 150 s, one second later.
        clock += 1;
        let step = advance(&policy, &mut session, &report(PlayState::Playing, Some(a.clone()), 150, clock));
        assert!(step.listen.is_none());
        let played = session.as_ref().unwrap().played_ms;
        assert!(played <= 52_000, "{played}");
        // 48 more seconds of real play are not enough; 50 reach 100 s.
        clock += 1;
        assert_eq!(play(&policy, &mut session, &a, 151, 198, &mut clock), 0);
        assert_eq!(play(&policy, &mut session, &a, 199, 200, &mut clock), 1);
    }

    #[test]
    fn a_repeat_is_two_listens() {
        let policy = Policy::default();
        let (mut session, mut clock) = (None, 0);
        let a = track("Heart of Gold", Some(100));
        assert_eq!(play(&policy, &mut session, &a, 0, 99, &mut clock), 1);
        assert_eq!(play(&policy, &mut session, &a, 0, 99, &mut clock), 1);
    }

    #[test]
    fn radio_follows_its_policy_and_songs_without_length() {
        let mut song = track("Song", None);
        song.radio = Some("Radio Paradise".into());
        song.album = None;
        for (radio, expected) in [(RadioPolicy::Flag, 1), (RadioPolicy::Record, 1), (RadioPolicy::Ignore, 0)] {
            let policy = Policy { radio, ..Policy::default() };
            let (mut session, mut clock) = (None, 0);
            assert_eq!(play(&policy, &mut session, &song, 0, 70, &mut clock), expected, "{radio:?}");
            if let Some(session) = &session {
                let (_, listen) = listen_of(&policy, "roon", session);
                let details = listen.details.unwrap();
                assert_eq!(details.radio.is_some(), radio == RadioPolicy::Flag);
                assert_eq!(details.platform.as_deref(), Some("Living Room"));
                assert_eq!(details.media_player.as_deref(), Some("Roon"));
            }
        }
    }

    #[test]
    fn listening_hours_are_local_and_may_wrap_midnight() {
        let night = Policy { hours: Some((22, 6)), ..Policy::default() };
        let day = Policy { hours: Some((7, 23)), ..Policy::default() };
        // 2024-05-23 03:30 UTC is 23:30 the day before in New York (UTC-4 in May).
        let at = 1_716_435_000_000;
        let utc = jiff::tz::TimeZone::UTC;
        let new_york = jiff::tz::TimeZone::fixed(jiff::tz::offset(-4));
        assert!(night.in_hours_of(at, utc.clone()));
        assert!(!day.in_hours_of(at, utc));
        assert!(night.in_hours_of(at, new_york.clone()));
        assert!(!day.in_hours_of(at, new_york.clone()));
        // 12:00 in New York.
        assert!(day.in_hours_of(at + 12 * 3_600_000 + 1_800_000, new_york.clone()));
        assert!(!night.in_hours_of(at + 12 * 3_600_000 + 1_800_000, new_york));
        assert!(Policy::default().in_hours(at));
    }

    #[test]
    fn zone_lists_and_settings_are_read() {
        let policy = Policy::from_table(&serde_json::json!({
            "min_play": "20s", "play_time": 120, "zones": ["kitchen"], "exclude_zones": ["Bedroom"],
            "listen_start_hour": 22, "listen_end_hour": 6, "radio": "ignore", "host": "10.0.0.2"
        }))
        .unwrap();
        assert_eq!((policy.min_play_ms, policy.play_time_ms), (20_000, 120_000));
        assert!(policy.tracks_zone("z", "Kitchen"));
        assert!(!policy.tracks_zone("z", "Living Room"));
        assert_eq!(policy.hours, Some((22, 6)));
        assert_eq!(policy.radio, RadioPolicy::Ignore);
        let err = Policy::from_table(&serde_json::json!({"min_play": "soon"})).unwrap_err().to_string();
        assert!(err.contains("min_play"), "{err}");
        let mut session = None;
        let step = advance(&policy, &mut session, &report(PlayState::Playing, Some(track("a", Some(100))), 0, 0));
        assert_eq!(step, Step::default());
    }
}
