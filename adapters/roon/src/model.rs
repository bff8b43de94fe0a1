//! The Core's JSON, read leniently: every field but the zone's id is
//! optional, missing or `null` lines read as empty, and numbers may be
//! fractional. Also the conversion to the SDK's `player` types and the radio
//! heuristics.

use musique_sdk::player::{Allowed, Output, PlayState, Playback, PlayingTrack, Volume, Zone, ZoneSettings};
use serde::{Deserialize, Deserializer};

/// A zone as the Core sends it in `zones_added`, `zones_changed` and `Subscribed`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RoonZone {
    /// The zone's id.
    pub zone_id: String,
    /// Its name.
    #[serde(deserialize_with = "lenient_string")]
    pub display_name: String,
    /// Its outputs.
    #[serde(deserialize_with = "lenient_vec")]
    pub outputs: Vec<RoonOutput>,
    /// `playing`, `paused`, `loading` or `stopped`.
    #[serde(deserialize_with = "lenient_string")]
    pub state: String,
    /// Whether `next` is allowed now.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_next_allowed: bool,
    /// Whether `previous` is allowed now.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_previous_allowed: bool,
    /// Whether `pause` is allowed now.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_pause_allowed: bool,
    /// Whether `play` is allowed now.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_play_allowed: bool,
    /// Whether `seek` is allowed now.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_seek_allowed: bool,
    /// Tracks left in the queue.
    pub queue_items_remaining: Option<f64>,
    /// Seconds left in the queue.
    pub queue_time_remaining: Option<f64>,
    /// Shuffle, loop, auto radio.
    pub settings: Option<RoonSettings>,
    /// The position, seconds (the top-level copy, which `zones_seek_changed` updates too).
    pub seek_position: Option<f64>,
    /// What is loaded.
    pub now_playing: Option<RoonNowPlaying>,
}

/// An output of a zone.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RoonOutput {
    /// The output's id.
    #[serde(deserialize_with = "lenient_string")]
    pub output_id: String,
    /// Its name.
    #[serde(deserialize_with = "lenient_string")]
    pub display_name: String,
    /// Its volume control; absent for fixed volume.
    pub volume: Option<RoonVolume>,
}

/// A volume control.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RoonVolume {
    /// `number`, `db` or `incremental`.
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub kind: String,
    /// The lowest value.
    pub min: Option<f64>,
    /// The highest value.
    pub max: Option<f64>,
    /// The value now.
    pub value: Option<f64>,
    /// The step.
    pub step: Option<f64>,
    /// Muted.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_muted: bool,
}

/// A zone's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RoonSettings {
    /// `disabled`, `loop` or `loop_one`.
    #[serde(rename = "loop", deserialize_with = "lenient_string")]
    pub repeat: String,
    /// Shuffle.
    #[serde(deserialize_with = "lenient_bool")]
    pub shuffle: bool,
    /// Roon Radio after the queue.
    #[serde(deserialize_with = "lenient_bool")]
    pub auto_radio: bool,
}

/// What a zone has loaded.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RoonNowPlaying {
    /// The position, seconds.
    pub seek_position: Option<f64>,
    /// The length, seconds; absent for live radio.
    pub length: Option<f64>,
    /// The cover's image key.
    pub image_key: Option<String>,
    /// Title, artist, album.
    pub three_line: Option<Lines>,
}

/// The lines of a `three_line` block; missing or `null` lines are empty.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Lines {
    /// The title.
    #[serde(deserialize_with = "lenient_string")]
    pub line1: String,
    /// The artist (or artists).
    #[serde(deserialize_with = "lenient_string")]
    pub line2: String,
    /// The album (for live radio, the station, as assumed until a capture from a real Core says otherwise).
    #[serde(deserialize_with = "lenient_string")]
    pub line3: String,
}

/// An entry of `zones_seek_changed`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SeekChange {
    /// The zone.
    pub zone_id: String,
    /// The position, seconds.
    pub seek_position: Option<f64>,
    /// Seconds left in the queue.
    pub queue_time_remaining: Option<f64>,
}

/// The body of a zones `Changed` message: any of the keys, together.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ZonesChanged {
    /// New zones.
    #[serde(deserialize_with = "lenient_vec")]
    pub zones_added: Vec<RoonZone>,
    /// Zones that changed (full objects).
    #[serde(deserialize_with = "lenient_vec")]
    pub zones_changed: Vec<RoonZone>,
    /// Ids of zones that are gone.
    #[serde(deserialize_with = "lenient_vec")]
    pub zones_removed: Vec<String>,
    /// Position updates.
    #[serde(deserialize_with = "lenient_vec")]
    pub zones_seek_changed: Vec<SeekChange>,
    /// The zones of a `Subscribed` body.
    #[serde(deserialize_with = "lenient_vec")]
    pub zones: Vec<RoonZone>,
}

/// The station of a zone that plays live radio, by the heuristics of the
/// protocol notes, most reliable first: no (or a zero) length while playing;
/// seek, next and previous all refused with an empty queue; a station this
/// adapter started (`started`). The station is `line3` (an assumption about the
/// real Core), else the station this adapter started, else `line1`.
pub fn is_radio(zone: &RoonZone, started: Option<&str>) -> Option<String> {
    let now_playing = zone.now_playing.as_ref()?;
    let no_length = now_playing.length.is_none_or(|length| length <= 0.0);
    if !no_length {
        return None;
    }
    let playing = zone.state == "playing";
    let locked = !zone.is_seek_allowed && !zone.is_next_allowed && !zone.is_previous_allowed;
    let queue_empty = zone.queue_items_remaining.is_none_or(|items| items <= 0.0);
    if !(playing || (locked && queue_empty) || started.is_some()) {
        return None;
    }
    let lines = now_playing.three_line.clone().unwrap_or_default();
    let station = [lines.line3.as_str(), started.unwrap_or_default(), lines.line1.as_str()]
        .into_iter()
        .find(|candidate| !candidate.trim().is_empty())
        .unwrap_or("live radio");
    Some(station.to_owned())
}

impl RoonZone {
    /// The SDK's play state.
    pub fn play_state(&self) -> PlayState {
        match self.state.as_str() {
            "playing" => PlayState::Playing,
            "paused" => PlayState::Paused,
            "loading" => PlayState::Loading,
            "stopped" => PlayState::Stopped,
            _ => PlayState::Unknown,
        }
    }

    /// The position in milliseconds (the top-level copy first: it is the one seek updates reach).
    pub fn position_ms(&self) -> Option<u64> {
        let seconds = self.seek_position.or(self.now_playing.as_ref().and_then(|now| now.seek_position))?;
        Some(seconds_to_ms(seconds))
    }

    /// Applies a `zones_seek_changed` entry to both copies of the position.
    pub fn apply_seek(&mut self, seek: &SeekChange) {
        if let Some(position) = seek.seek_position {
            self.seek_position = Some(position);
            if let Some(now_playing) = self.now_playing.as_mut() {
                now_playing.seek_position = Some(position);
            }
        }
        if seek.queue_time_remaining.is_some() {
            self.queue_time_remaining = seek.queue_time_remaining;
        }
    }

    /// The loaded track, with the station when it is radio.
    pub fn track(&self, started_station: Option<&str>) -> Option<PlayingTrack> {
        let now_playing = self.now_playing.as_ref()?;
        let lines = now_playing.three_line.clone().unwrap_or_default();
        let radio = is_radio(self, started_station);
        let album = match (&radio, lines.line3.trim()) {
            (Some(_), _) | (None, "") => None,
            (None, album) => Some(album.to_owned()),
        };
        Some(PlayingTrack {
            artist: lines.line2,
            title: lines.line1,
            album,
            length_ms: now_playing.length.filter(|length| *length > 0.0).map(seconds_to_ms),
            image_key: now_playing.image_key.clone(),
            radio,
        })
    }

    /// The zone as `player.zones` shows it.
    pub fn to_zone(&self, started_station: Option<&str>) -> Zone {
        let settings = self.settings.clone().unwrap_or_default();
        Zone {
            zone_id: self.zone_id.clone(),
            name: self.display_name.clone(),
            state: self.play_state(),
            outputs: self
                .outputs
                .iter()
                .map(|output| Output {
                    output_id: output.output_id.clone(),
                    name: output.display_name.clone(),
                    volume: output.volume.as_ref().map(|volume| Volume {
                        kind: if volume.kind.is_empty() { "number".to_owned() } else { volume.kind.clone() },
                        min: volume.min,
                        max: volume.max,
                        value: volume.value,
                        step: volume.step,
                        muted: volume.is_muted,
                    }),
                })
                .collect(),
            track: self.track(started_station),
            position_ms: self.position_ms(),
            allowed: Allowed {
                play: self.is_play_allowed,
                pause: self.is_pause_allowed,
                next: self.is_next_allowed,
                previous: self.is_previous_allowed,
                seek: self.is_seek_allowed,
            },
            settings: ZoneSettings {
                shuffle: settings.shuffle,
                repeat: if settings.repeat.is_empty() { "disabled".to_owned() } else { settings.repeat },
                auto_radio: settings.auto_radio,
            },
            queue_items_remaining: self.queue_items_remaining.map(|items| items.max(0.0) as u64),
            queue_ms_remaining: self.queue_time_remaining.map(seconds_to_ms),
        }
    }

    /// The zone's playback now, as the `Playback` event carries it.
    pub fn to_playback(&self, started_station: Option<&str>, at_ms: i64) -> Playback {
        Playback {
            zone_id: self.zone_id.clone(),
            zone: self.display_name.clone(),
            state: self.play_state(),
            track: self.track(started_station),
            position_ms: self.position_ms(),
            at_ms,
        }
    }
}

/// Seconds (possibly fractional, never negative) to milliseconds.
pub fn seconds_to_ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).round() as u64
}

fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(number) => number.to_string(),
        _ => String::new(),
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(serde_json::Value::deserialize(deserializer)?.as_bool().unwrap_or(false))
}

fn lenient_vec<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(deserializer: D) -> Result<Vec<T>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    let serde_json::Value::Array(items) = value else {
        return Ok(Vec::new());
    };
    Ok(items.into_iter().filter_map(|item| serde_json::from_value(item).ok()).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn zone(value: serde_json::Value) -> RoonZone {
        serde_json::from_value(value).expect("a zone parses")
    }

    #[test]
    fn lenient_parsing() {
        let parsed = zone(json!({
            "zone_id": "z1", "display_name": "Kitchen", "state": "playing", "outputs": null,
            "is_seek_allowed": null, "seek_position": 12.5,
            "now_playing": {"length": 300.5, "three_line": {"line1": "Song", "line2": null}}
        }));
        let track = parsed.track(None).unwrap();
        assert_eq!((track.title.as_str(), track.artist.as_str(), track.album), ("Song", "", None));
        assert_eq!(track.length_ms, Some(300_500));
        assert_eq!(parsed.position_ms(), Some(12_500));
        assert_eq!(parsed.to_zone(None).settings.repeat, "disabled");
    }

    #[test]
    fn radio_heuristics() {
        let base = json!({"zone_id": "z", "display_name": "Z", "state": "playing",
            "is_seek_allowed": true, "is_next_allowed": true, "is_previous_allowed": true, "queue_items_remaining": 3,
            "now_playing": {"length": 200, "three_line": {"line1": "Song", "line2": "Artist", "line3": "Album"}}});
        let check = |patch: serde_json::Value, started: Option<&str>, expect: Option<&str>| {
            let mut value = base.clone();
            merge(&mut value, patch);
            assert_eq!(is_radio(&zone(value.clone()), started).as_deref(), expect, "{value}");
        };
        check(json!({}), None, None);
        check(json!({}), Some("FIP"), None);
        check(json!({"now_playing": {"length": null}}), None, Some("Album"));
        check(json!({"now_playing": {"length": 0}}), None, Some("Album"));
        check(json!({"state": "paused", "now_playing": {"length": null}}), None, None);
        check(
            json!({"state": "paused", "is_seek_allowed": false, "is_next_allowed": false, "is_previous_allowed": false,
                "queue_items_remaining": 0, "now_playing": {"length": null}}),
            None,
            Some("Album"),
        );
        check(json!({"state": "paused", "now_playing": {"length": null}}), Some("FIP"), Some("Album"));
        check(json!({"now_playing": {"length": null, "three_line": {"line3": null}}}), Some("FIP"), Some("FIP"));
        check(json!({"now_playing": {"length": null, "three_line": {"line3": ""}}}), None, Some("Song"));
    }

    fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
        match (base, patch) {
            (serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
                for (key, value) in patch {
                    merge(base.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
            (base, patch) => *base = patch,
        }
    }
}
