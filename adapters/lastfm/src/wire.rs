//! Reading Last.fm's JSON, which is a mechanical translation of XML: numbers
//! come as strings, a repeated element with one occurrence may be an object
//! instead of an array, text sits under `#text`, and attributes under `@attr`.
//! Every reader here accepts all of those forms.

use musique_sdk::protocol::{Enrichment, Image, Listen, NowPlaying};
use musique_sdk::{Error, ErrorKind};
use serde_json::Value;

/// The text of a field: a string, a number, or an object's `#text` (or `name`).
pub fn text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Object(object) => return object.get("#text").or_else(|| object.get("name")).and_then(text),
        _ => return None,
    };
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A number written as a number or a string.
pub fn number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// The items of a repeated element: an array, one object, or nothing.
pub fn items(value: Option<&Value>) -> &[Value] {
    match value {
        Some(Value::Array(items)) => items,
        Some(value @ Value::Object(_)) => std::slice::from_ref(value),
        _ => &[],
    }
}

fn malformed(what: &str) -> Error {
    Error::new(ErrorKind::Unavailable, format!("Last.fm sent a malformed answer: {what}"))
}

/// One page of `user.getRecentTracks` (or `user.getLovedTracks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentPage {
    /// Whose tracks these are, as Last.fm says.
    pub user: String,
    /// The page number.
    pub page: u64,
    /// Pages in all for this query.
    pub total_pages: u64,
    /// Scrobbles in all for this query.
    pub total: u64,
    /// The scrobbles, newest first, without the now-playing entry.
    pub scrobbles: Vec<Listen>,
    /// Entries that could not be read (no artist, title or date).
    pub unreadable: u64,
    /// The now-playing entry, when there is one.
    pub now_playing: Option<NowPlaying>,
}

/// Reads a `recenttracks` (or `lovedtracks`) answer.
pub fn recent_page(body: &Value, root: &str) -> Result<RecentPage, Error> {
    let tracks = body.get(root).ok_or_else(|| malformed(&format!("no `{root}` object")))?;
    let attr = tracks.get("@attr").ok_or_else(|| malformed(&format!("no `{root}.@attr` paging")))?;
    let field = |name: &str| attr.get(name).and_then(number).map(|n| n.max(0) as u64);
    let (Some(page), Some(total_pages), Some(total)) = (field("page"), field("totalPages"), field("total")) else {
        return Err(malformed("paging numbers missing or not numbers"));
    };
    let mut result = RecentPage {
        user: attr.get("user").and_then(text).unwrap_or_default(),
        page,
        total_pages,
        total,
        scrobbles: Vec::new(),
        unreadable: 0,
        now_playing: None,
    };
    for track in items(tracks.get("track")) {
        let artist = track.get("artist").and_then(text);
        let title = track.get("name").and_then(text);
        let album = track.get("album").and_then(text);
        let now = track.get("@attr").and_then(|attr| attr.get("nowplaying")).and_then(text).as_deref() == Some("true");
        let (Some(artist), Some(title)) = (artist, title) else {
            result.unreadable += 1;
            continue;
        };
        if now {
            result.now_playing = Some(NowPlaying { artist, track: title, album });
            continue;
        }
        // Loved tracks carry their date too; a scrobble without one cannot be placed in time.
        let Some(listened_at) = track.get("date").and_then(|date| date.get("uts")).and_then(number) else {
            result.unreadable += 1;
            continue;
        };
        let loved = match track.get("loved").and_then(text).as_deref() {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        };
        result.scrobbles.push(Listen { artist, track: title, album, listened_at, duration_ms: None, loved });
    }
    Ok(result)
}

/// Reads an `artist.getInfo` or `album.getInfo` answer (`root` is `artist` or `album`).
pub fn enrichment(body: &Value, root: &str) -> Result<Enrichment, Error> {
    let entity = body.get(root).ok_or_else(|| malformed(&format!("no `{root}` object")))?;
    let name = entity.get("name").and_then(text).ok_or_else(|| malformed(&format!("no `{root}.name`")))?;
    let images = items(entity.get("image"))
        .iter()
        .filter_map(|image| {
            let url = image.get("#text").and_then(text)?;
            let size = image.get("size").and_then(Value::as_str).unwrap_or_default();
            Some(Image { size: if size.is_empty() { "original".to_owned() } else { size.to_owned() }, url })
        })
        .collect();
    let summary = entity
        .get("bio")
        .or_else(|| entity.get("wiki"))
        .and_then(|wiki| wiki.get("summary"))
        .and_then(Value::as_str)
        .map(plain_text)
        .filter(|summary| !summary.is_empty());
    Ok(Enrichment { name, url: entity.get("url").and_then(text), images, summary })
}

/// Wiki text as plain text: markup and the trailing "Read more on Last.fm" link removed.
pub fn plain_text(html: &str) -> String {
    let cut = html.find("<a href=\"https://www.last.fm").unwrap_or(html.len());
    let mut out = String::with_capacity(cut);
    let mut in_tag = false;
    for c in html[..cut].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">");
    out.replace("&amp;", "&").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(name: &str) -> Value {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn recent_tracks_of_the_sample() {
        let page = recent_page(&sample("recenttracks.json")["response"]["body"], "recenttracks").unwrap();
        assert_eq!((page.user.as_str(), page.page, page.total_pages, page.total), ("quiet_orchard", 1, 3071, 6142));
        assert_eq!(page.scrobbles.len(), 2, "the now-playing entry is not a scrobble");
        assert_eq!(
            page.now_playing,
            Some(NowPlaying {
                artist: "Marsh Lanterns".into(),
                track: "Weather Indoors".into(),
                album: Some("Rooms Without Clocks".into())
            })
        );
        let first = &page.scrobbles[0];
        assert_eq!(
            (first.artist.as_str(), first.track.as_str(), first.album.as_deref(), first.listened_at, first.loved),
            ("Marsh Lanterns", "Kettle on the Hob", Some("Rooms Without Clocks"), 1_611_223_344, None)
        );
    }

    #[test]
    fn extended_recent_tracks_carry_loved_and_artist_objects() {
        let body = sample("recenttracks-extended.json")["response"]["body"].clone();
        let page = recent_page(&body, "recenttracks").unwrap();
        assert_eq!(page.scrobbles.len(), 1);
        assert_eq!(page.scrobbles[0].artist, "Marsh Lanterns");
        assert_eq!(page.scrobbles[0].loved, Some(false));
        assert!(page.now_playing.is_some());
    }

    #[test]
    fn one_track_as_an_object_and_numbers_as_numbers() {
        let body = json!({"recenttracks": {
            "track": {"artist": {"#text": "Low"}, "name": "Words", "album": {"#text": ""}, "date": {"uts": 1_600_000_000}},
            "@attr": {"user": "u", "page": 1, "totalPages": "1", "total": 1}
        }});
        let page = recent_page(&body, "recenttracks").unwrap();
        assert_eq!(page.scrobbles.len(), 1);
        assert_eq!(page.scrobbles[0].album, None, "an empty album is no album");
        assert_eq!(page.scrobbles[0].listened_at, 1_600_000_000);
        let empty = json!({"recenttracks": {"track": [], "@attr": {"user": "u", "page": "1", "totalPages": "0", "total": "0"}}});
        assert_eq!(recent_page(&empty, "recenttracks").unwrap().scrobbles, vec![]);
    }

    #[test]
    fn unreadable_entries_are_counted_and_garbage_is_an_error() {
        let body = json!({"recenttracks": {
            "track": [{"artist": {"#text": "Low"}, "name": "Words"}, {"name": "No artist", "date": {"uts": "1"}}],
            "@attr": {"user": "u", "page": "1", "totalPages": "1", "total": "2"}
        }});
        assert_eq!(recent_page(&body, "recenttracks").unwrap().unreadable, 2);
        for garbage in
            [json!({}), json!({"recenttracks": {"track": []}}), json!({"recenttracks": {"@attr": {"page": "x"}}})]
        {
            let err = recent_page(&garbage, "recenttracks").unwrap_err();
            assert_eq!(err.kind, ErrorKind::Unavailable, "{garbage}");
        }
    }

    #[test]
    fn album_info_gives_every_image_and_a_plain_summary() {
        let info = enrichment(&sample("albuminfo.json")["response"]["body"], "album").unwrap();
        assert_eq!(info.name, "Northern Quiet");
        assert_eq!(info.images.len(), 6);
        assert_eq!(info.images[4].size, "mega");
        assert_eq!(info.images[5].size, "original");
        let summary = info.summary.unwrap();
        assert!(summary.starts_with("Northern Quiet ist das zweite Studioalbum"), "{summary}");
        assert!(summary.ends_with("hallenden Gitarren anhört."), "{summary}");
        assert!(!summary.contains("<a") && !summary.contains("Read more"), "{summary}");
    }
}
