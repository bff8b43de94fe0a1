//! Discogs' JSON as it comes, read leniently (absent fields take their
//! defaults, numbers may come as text), and turned into the SDK's collection
//! types: blank image URLs and zero years become absent, `anv` becomes the
//! credited name, durations (`5:10`) become seconds.

use musique_sdk::collection::{Credit, Folder, Format, Image, Item, Label, Note, Release, Track, TrackKind};
use serde::{Deserialize, Deserializer};

/// `/users/{user}/collection/folders`.
#[derive(Debug, Deserialize)]
pub struct Folders {
    #[serde(default)]
    pub folders: Vec<FolderWire>,
}

#[derive(Debug, Deserialize)]
pub struct FolderWire {
    #[serde(deserialize_with = "number")]
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "number")]
    pub count: u64,
}

/// `/users/{user}/collection/folders/0/releases`.
#[derive(Debug, Deserialize)]
pub struct CollectionPage {
    pub pagination: Pagination,
    #[serde(default)]
    pub releases: Vec<CollectionRelease>,
}

#[derive(Debug, Deserialize)]
pub struct Pagination {
    #[serde(deserialize_with = "number")]
    pub page: u64,
    #[serde(deserialize_with = "number")]
    pub pages: u64,
    #[serde(default, deserialize_with = "number")]
    pub items: u64,
}

#[derive(Debug, Deserialize)]
pub struct CollectionRelease {
    #[serde(deserialize_with = "number")]
    pub id: u64,
    #[serde(deserialize_with = "number")]
    pub instance_id: u64,
    #[serde(default)]
    pub date_added: String,
    #[serde(default, deserialize_with = "number")]
    pub rating: u64,
    #[serde(default, deserialize_with = "number")]
    pub folder_id: u64,
    #[serde(default)]
    pub notes: Vec<NoteWire>,
    pub basic_information: Basic,
}

#[derive(Debug, Deserialize)]
pub struct NoteWire {
    #[serde(deserialize_with = "number")]
    pub field_id: u64,
    #[serde(default, deserialize_with = "text")]
    pub value: String,
}

#[derive(Debug, Deserialize)]
pub struct Basic {
    #[serde(default, deserialize_with = "number")]
    pub master_id: u64,
    #[serde(default, deserialize_with = "text")]
    pub thumb: String,
    #[serde(default, deserialize_with = "text")]
    pub cover_image: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, deserialize_with = "number")]
    pub year: u64,
    #[serde(default)]
    pub formats: Vec<FormatWire>,
    #[serde(default)]
    pub labels: Vec<LabelWire>,
    #[serde(default)]
    pub artists: Vec<ArtistWire>,
    #[serde(default)]
    pub genres: Vec<String>,
    #[serde(default)]
    pub styles: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct FormatWire {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "number")]
    pub qty: u64,
    #[serde(default)]
    pub descriptions: Vec<String>,
    #[serde(default, deserialize_with = "text")]
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct LabelWire {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "text")]
    pub catno: String,
}

#[derive(Debug, Deserialize)]
pub struct ArtistWire {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "text")]
    pub anv: String,
    #[serde(default, deserialize_with = "text")]
    pub join: String,
    #[serde(default, deserialize_with = "text")]
    pub role: String,
    #[serde(default, deserialize_with = "text")]
    pub tracks: String,
    #[serde(default, deserialize_with = "number")]
    pub id: u64,
}

/// `/releases/{id}`.
#[derive(Debug, Deserialize)]
pub struct ReleaseWire {
    #[serde(deserialize_with = "number")]
    pub id: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub artists: Vec<ArtistWire>,
    #[serde(default, deserialize_with = "number")]
    pub year: u64,
    #[serde(default, deserialize_with = "text")]
    pub country: String,
    #[serde(default, deserialize_with = "text")]
    pub released: String,
    #[serde(default)]
    pub labels: Vec<LabelWire>,
    #[serde(default)]
    pub formats: Vec<FormatWire>,
    #[serde(default)]
    pub genres: Vec<String>,
    #[serde(default)]
    pub styles: Vec<String>,
    #[serde(default)]
    pub tracklist: Vec<TrackWire>,
    #[serde(default)]
    pub extraartists: Vec<ArtistWire>,
    #[serde(default)]
    pub images: Vec<ImageWire>,
}

#[derive(Debug, Deserialize)]
pub struct TrackWire {
    #[serde(default, deserialize_with = "text")]
    pub position: String,
    #[serde(default, rename = "type_", deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "text")]
    pub title: String,
    #[serde(default, deserialize_with = "text")]
    pub duration: String,
    #[serde(default)]
    pub artists: Vec<ArtistWire>,
    #[serde(default)]
    pub sub_tracks: Vec<TrackWire>,
}

#[derive(Debug, Deserialize)]
pub struct ImageWire {
    #[serde(default, rename = "type", deserialize_with = "text")]
    pub kind: String,
    #[serde(default, deserialize_with = "text")]
    pub uri: String,
    #[serde(default, deserialize_with = "text")]
    pub uri150: String,
    #[serde(default, deserialize_with = "number")]
    pub width: u64,
    #[serde(default, deserialize_with = "number")]
    pub height: u64,
}

/// `/database/search`.
#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    pub results: Vec<SearchResult>,
}

#[derive(Debug, Deserialize)]
pub struct SearchResult {
    #[serde(default, deserialize_with = "text")]
    pub title: String,
    #[serde(default, deserialize_with = "text")]
    pub thumb: String,
    #[serde(default, deserialize_with = "text")]
    pub cover_image: String,
    #[serde(default, deserialize_with = "text")]
    pub uri: String,
}

/// A number written as a number or as text (`"qty": "2"`); null and blanks are 0.
fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Number(u64),
        Float(f64),
        Text(String),
        Null,
    }
    Ok(match Loose::deserialize(deserializer)? {
        Loose::Number(number) => number,
        Loose::Float(number) if number >= 0.0 => number as u64,
        Loose::Text(text) => text.trim().parse().unwrap_or(0),
        Loose::Float(_) | Loose::Null => 0,
    })
}

/// Text, with null as empty.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

fn present(text: String) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn year(year: u64) -> Option<i32> {
    i32::try_from(year).ok().filter(|year| *year > 0)
}

impl From<FolderWire> for Folder {
    fn from(wire: FolderWire) -> Folder {
        Folder { id: wire.id, name: wire.name, count: wire.count }
    }
}

impl From<FormatWire> for Format {
    fn from(wire: FormatWire) -> Format {
        Format {
            name: wire.name,
            quantity: u32::try_from(wire.qty).unwrap_or(u32::MAX).max(1),
            descriptions: wire.descriptions,
            text: present(wire.text),
        }
    }
}

impl From<LabelWire> for Label {
    fn from(wire: LabelWire) -> Label {
        Label { name: wire.name, catalogue_number: present(wire.catno).filter(|catno| catno != "none") }
    }
}

impl From<ArtistWire> for Credit {
    fn from(wire: ArtistWire) -> Credit {
        Credit {
            name: wire.name,
            credited_as: present(wire.anv),
            join: present(wire.join),
            role: present(wire.role),
            tracks: present(wire.tracks),
            id: (wire.id > 0).then_some(wire.id),
        }
    }
}

/// `5:10` or `1:02:03` in seconds.
fn duration_s(text: &str) -> Option<u32> {
    let mut seconds: u32 = 0;
    let mut parts = 0;
    for part in text.trim().split(':') {
        seconds = seconds.checked_mul(60)?.checked_add(part.trim().parse().ok()?)?;
        parts += 1;
    }
    (parts > 0 && seconds > 0).then_some(seconds)
}

impl From<TrackWire> for Track {
    fn from(wire: TrackWire) -> Track {
        Track {
            position: wire.position.trim().to_owned(),
            kind: match wire.kind.as_str() {
                "" | "track" => TrackKind::Track,
                "heading" => TrackKind::Heading,
                "index" => TrackKind::Index,
                _ => TrackKind::Unknown,
            },
            title: wire.title,
            duration_s: duration_s(&wire.duration),
            artists: wire.artists.into_iter().map(Credit::from).collect(),
            sub_tracks: wire.sub_tracks.into_iter().map(Track::from).collect(),
        }
    }
}

impl CollectionRelease {
    /// The SDK's item; `None` when its date is not a date.
    pub fn into_item(self) -> Result<Item, String> {
        let added_at = jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%:z", &self.date_added)
            .or_else(|_| self.date_added.parse::<jiff::Timestamp>())
            .map_err(|err| format!("instance {}: date_added {:?}: {err}", self.instance_id, self.date_added))?
            .as_second();
        let basic = self.basic_information;
        Ok(Item {
            instance_id: self.instance_id,
            release_id: self.id,
            master_id: (basic.master_id > 0).then_some(basic.master_id),
            folder_id: self.folder_id,
            added_at,
            rating: u8::try_from(self.rating.min(5)).unwrap_or(0),
            notes: self.notes.into_iter().map(|note| Note { field_id: note.field_id, value: note.value }).collect(),
            title: basic.title,
            artists: basic.artists.into_iter().map(Credit::from).collect(),
            year: year(basic.year),
            formats: basic.formats.into_iter().map(Format::from).collect(),
            labels: basic.labels.into_iter().map(Label::from).collect(),
            genres: basic.genres,
            styles: basic.styles,
            thumb: present(basic.thumb),
            cover: present(basic.cover_image),
        })
    }
}

impl From<ReleaseWire> for Release {
    fn from(wire: ReleaseWire) -> Release {
        let mut images: Vec<Image> = wire
            .images
            .into_iter()
            .filter_map(|image| {
                Some(Image {
                    primary: image.kind == "primary",
                    uri: present(image.uri)?,
                    thumb: present(image.uri150),
                    width: u32::try_from(image.width).ok().filter(|width| *width > 0),
                    height: u32::try_from(image.height).ok().filter(|height| *height > 0),
                })
            })
            .collect();
        images.sort_by_key(|image| !image.primary);
        Release {
            release_id: wire.id,
            title: wire.title,
            artists: wire.artists.into_iter().map(Credit::from).collect(),
            year: year(wire.year),
            country: present(wire.country),
            released: present(wire.released),
            labels: wire.labels.into_iter().map(Label::from).collect(),
            formats: wire.formats.into_iter().map(Format::from).collect(),
            genres: wire.genres,
            styles: wire.styles,
            tracklist: wire.tracklist.into_iter().map(Track::from).collect(),
            credits: wire.extraartists.into_iter().map(Credit::from).collect(),
            images,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_minutes_and_hours() {
        assert_eq!(duration_s("5:10"), Some(310));
        assert_eq!(duration_s("1:02:03"), Some(3723));
        assert_eq!(duration_s(""), None);
        assert_eq!(duration_s("?"), None);
    }

    #[test]
    fn an_item_reads_loosely() {
        let json = r#"{"id": 457553, "instance_id": 102, "date_added": "2009-08-20T00:00:00-07:00",
            "rating": 4, "folder_id": 1, "notes": [{"field_id": 1, "value": "Mint (M)"}],
            "basic_information": {"id": 457553, "master_id": 0, "master_url": null, "thumb": "", "cover_image": "",
              "title": "Surfer Rosa", "year": 0,
              "formats": [{"name": "Vinyl", "qty": "2", "descriptions": ["LP"], "text": "180 g"}],
              "labels": [{"name": "4AD", "catno": "CAD 803"}, {"name": "Not On Label", "catno": "none"}],
              "artists": [{"name": "Pixies (2)", "anv": "The Pixies", "join": "", "role": "", "tracks": "", "id": 1}],
              "genres": ["Rock"], "styles": ["Indie Rock"]}}"#;
        let item = serde_json::from_str::<CollectionRelease>(json).unwrap().into_item().unwrap();
        assert_eq!((item.instance_id, item.release_id, item.master_id, item.year), (102, 457553, None, None));
        assert_eq!(item.added_at, 1_250_751_600);
        assert_eq!((item.thumb, item.cover), (None, None));
        assert_eq!(item.formats[0].quantity, 2);
        assert_eq!(item.formats[0].text.as_deref(), Some("180 g"));
        assert_eq!(item.labels[1].catalogue_number, None);
        assert_eq!(item.artists[0].credited_as.as_deref(), Some("The Pixies"));
        assert_eq!(item.notes[0].value, "Mint (M)");
        assert_eq!(item.rating, 4);
    }
}
