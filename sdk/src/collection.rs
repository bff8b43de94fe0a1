//! The `collection` capability: an adapter that reads the records someone
//! owns (Discogs today). Since protocol 1.3.
//!
//! The host drives a sync and owns its durability: it walks the collection
//! page by page with [`method::PAGE`], keeping the cursor with each stored
//! page, then asks [`method::RELEASE`] for the details of each release it
//! does not have yet. Times are unix seconds; texts are as the service gives
//! them (the host normalises names and formats).

use serde::{Deserialize, Serialize};

/// Method names of the `collection` capability.
pub mod method {
    /// One page of the collection: [`super::PageRequest`] in, [`super::Page`] out.
    pub const PAGE: &str = "collection.page";
    /// One release's details: [`super::ReleaseRequest`] in, [`super::Release`] out.
    pub const RELEASE: &str = "collection.release";
}

/// Which page to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Where the walk stands; `null` to begin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<serde_json::Value>,
}

/// One page of the collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The folders, on the walk's first page (empty on the others).
    #[serde(default)]
    pub folders: Vec<Folder>,
    /// The items of this page.
    pub items: Vec<Item>,
    /// The cursor of the next page; `null` when the walk is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<serde_json::Value>,
    /// Pages done so far, this one included.
    pub pages_done: u64,
    /// Pages in the whole walk, as far as the service knows now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages_total: Option<u64>,
    /// Items in the whole collection, as far as the service knows now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_total: Option<u64>,
}

/// A folder of the collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    /// Its id on the service.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Items in it.
    pub count: u64,
}

/// One copy of a release in the collection (the same release may be owned twice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// This copy's id.
    pub instance_id: u64,
    /// The release's id on the service.
    pub release_id: u64,
    /// The release's master (its versions' group), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_id: Option<u64>,
    /// The folder it is in.
    pub folder_id: u64,
    /// When it was added (unix seconds).
    pub added_at: i64,
    /// 0 (none) to 5.
    pub rating: u8,
    /// The owner's notes and custom fields, by field id.
    #[serde(default)]
    pub notes: Vec<Note>,
    /// The title.
    pub title: String,
    /// The main artists, in order.
    pub artists: Vec<Credit>,
    /// The release year, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// Its formats.
    pub formats: Vec<Format>,
    /// Its labels and catalogue numbers.
    pub labels: Vec<Label>,
    /// Genres.
    #[serde(default)]
    pub genres: Vec<String>,
    /// Styles (finer than genres).
    #[serde(default)]
    pub styles: Vec<String>,
    /// Small and large cover images, when the service gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
    /// A large cover image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
}

/// A note or custom field of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The field's id (see the service's fields).
    pub field_id: u64,
    /// What the owner wrote.
    pub value: String,
}

/// An artist credit, as the service writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// The artist's name on the service (Discogs adds ` (2)` to tell namesakes apart).
    pub name: String,
    /// The name as credited on this release, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited_as: Option<String>,
    /// What joins it to the next credit (`,`, `&`, `Featuring`), when anything does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<String>,
    /// Its role (`Bass`, `Producer`), for credits beyond the main artists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The tracks it is credited on (`A1 to A3`), when not all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracks: Option<String>,
    /// The artist's id on the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

/// A format: `Vinyl` ×2 with `LP`, `Album`; the service's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// Its name.
    pub name: String,
    /// How many (discs, cassettes, files).
    pub quantity: u32,
    /// `LP`, `Album`, `Reissue`: the service's words.
    #[serde(default)]
    pub descriptions: Vec<String>,
    /// Free text (`180 g`, `Gatefold`), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A label and the release's catalogue number on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Its name.
    pub name: String,
    /// The catalogue number, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue_number: Option<String>,
}

/// Which release to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    /// The release's id on the service.
    pub release_id: u64,
}

/// A release's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The release's id on the service.
    pub release_id: u64,
    /// The title.
    pub title: String,
    /// The main artists, in order.
    pub artists: Vec<Credit>,
    /// The release year, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// Where it was released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// As the service writes it: `1980-07-25`, `1980-00-00` or `1980`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
    /// Its labels and catalogue numbers.
    pub labels: Vec<Label>,
    /// Its formats.
    pub formats: Vec<Format>,
    /// Genres.
    #[serde(default)]
    pub genres: Vec<String>,
    /// Styles (finer than genres).
    #[serde(default)]
    pub styles: Vec<String>,
    /// The tracklist, in order.
    pub tracklist: Vec<Track>,
    /// Everyone else credited (players, producers, engineers).
    #[serde(default)]
    pub credits: Vec<Credit>,
    /// Its images, the cover first when it has one.
    #[serde(default)]
    pub images: Vec<Image>,
}

/// An entry of a tracklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// `A1`, `1`, `CD2-3`; empty for headings.
    pub position: String,
    /// A track, a heading or an index.
    pub kind: TrackKind,
    /// The title.
    pub title: String,
    /// In seconds, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    /// Artists of this track, when they differ from the release's.
    #[serde(default)]
    pub artists: Vec<Credit>,
    /// The parts of an index track.
    #[serde(default)]
    pub sub_tracks: Vec<Track>,
}

/// What a tracklist entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    /// A track.
    Track,
    /// A heading between tracks (`Side A`, a disc's title).
    Heading,
    /// A track made of sub-tracks.
    Index,
    /// A kind this side does not know.
    #[serde(other)]
    Unknown,
}

/// An image of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The cover (`true`) or another image.
    pub primary: bool,
    /// The full-size image.
    pub uri: String,
    /// A small cover image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
    /// In pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// In pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// A name without the ` (2)` a service adds to tell namesakes apart:
/// `Rick Astley (2)` is `Rick Astley`; `Chic (Band)` stays as it is.
pub fn without_suffix(name: &str) -> &str {
    let trimmed = name.trim_end();
    match trimmed.rfind(" (") {
        Some(open)
            if trimmed.ends_with(')')
                && trimmed.len() > open + 3
                && trimmed[open + 2..trimmed.len() - 1].chars().all(|c| c.is_ascii_digit()) =>
        {
            &trimmed[..open]
        }
        _ => trimmed,
    }
}
