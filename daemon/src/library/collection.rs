//! The records someone owns, as collection syncs stored them: listed with
//! filters and sorts, and one by one with its release's details.

use std::collections::HashMap;
use std::sync::Arc;

use musique_sdk::collection::Folder;

use super::Library;
use crate::error::Result;
use crate::store::StateKey;
use crate::store::records::{OwnedRecord, ReleaseRecord};

/// An owned record with its folder's name.
#[derive(Debug, Clone)]
pub(crate) struct Owned {
    pub(crate) id: u64,
    pub(crate) record: OwnedRecord,
    pub(crate) folder: Option<String>,
}

/// What `collection_list` keeps.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) folder: Option<u64>,
    /// Words that must all match (as the search index matches: any case and
    /// accents, a typo, the last one as a prefix) the title, artists, labels,
    /// catalogue numbers, genres, styles or year.
    pub(crate) query: Option<String>,
}

/// How `collection_list` sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    /// Best match of the query first (by artist without one).
    Relevance,
    Artist,
    Title,
    Year,
    Added,
}

pub(crate) use crate::identity::{artist_line, without_suffix};

impl Library {
    /// The owned records that pass `filter`, sorted, from `offset`, at most
    /// `limit`; and how many pass in all.
    pub(crate) fn collection_list(
        &self,
        filter: &Filter,
        sort: Sort,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Arc<LinkedItem>>, u64)> {
        let linked = self.linked()?;
        let query = filter.query.as_deref().map(str::trim).filter(|query| !query.is_empty());
        // With a query: the records the index finds, best first.
        let found: Option<HashMap<u64, usize>> = match query {
            Some(query) => {
                if query.len() > super::MAX_QUERY_BYTES {
                    return Err(crate::error::Error::invalid(format!(
                        "`query` is limited to {} bytes",
                        super::MAX_QUERY_BYTES
                    )));
                }
                let ids = self.state.index.search_records(query, linked.len().max(1))?;
                Some(ids.into_iter().enumerate().map(|(rank, id)| (id, rank)).collect())
            }
            None => None,
        };
        let mut kept: Vec<&Arc<LinkedItem>> = linked
            .iter()
            .filter(|linked| filter.folder.is_none_or(|folder| folder == linked.owned.record.item.folder_id))
            .filter(|linked| found.as_ref().is_none_or(|found| found.contains_key(&linked.owned.id)))
            .collect();
        match sort {
            Sort::Relevance if found.is_some() => kept.sort_by_key(|item| {
                found.as_ref().and_then(|found| found.get(&item.owned.id)).copied().unwrap_or(usize::MAX)
            }),
            Sort::Artist | Sort::Relevance => kept.sort_by(|a, b| {
                let key =
                    |item: &LinkedItem| (item.artist_fold.clone(), item.owned.record.item.year.unwrap_or(i32::MAX));
                key(a).cmp(&key(b)).then_with(|| a.title_fold.cmp(&b.title_fold)).then(a.owned.id.cmp(&b.owned.id))
            }),
            Sort::Title => kept.sort_by(|a, b| a.title_fold.cmp(&b.title_fold).then(a.owned.id.cmp(&b.owned.id))),
            Sort::Year => kept.sort_by(|a, b| {
                let year = |item: &LinkedItem| item.owned.record.item.year.unwrap_or(i32::MAX);
                year(a).cmp(&year(b)).then_with(|| a.artist_fold.cmp(&b.artist_fold)).then(a.owned.id.cmp(&b.owned.id))
            }),
            Sort::Added => kept.sort_by_key(|item| (std::cmp::Reverse(item.owned.record.item.added_at), item.owned.id)),
        }
        let total = kept.len() as u64;
        Ok((kept.into_iter().skip(offset).take(limit).cloned().collect(), total))
    }

    /// The release details of these records (when synced), in their order, from one snapshot.
    pub(crate) fn releases_of(&self, items: &[Arc<LinkedItem>]) -> Result<Vec<Option<ReleaseRecord>>> {
        let reader = self.state.store.read()?;
        items.iter().map(|item| reader.release(item.owned.record.item.release_id)).collect()
    }

    /// One owned record, with its release's details when they were synced.
    pub(crate) fn collection_get(&self, id: u64) -> Result<Option<(Arc<LinkedItem>, Option<ReleaseRecord>)>> {
        let linked = self.linked()?;
        let Ok(index) = linked.binary_search_by_key(&id, |item| item.owned.id) else { return Ok(None) };
        let item = linked[index].clone();
        let release = self.state.store.read()?.release(item.owned.record.item.release_id)?;
        Ok(Some((item, release)))
    }
}

/// An adapter's folders by id, as its last sync saw them.
fn folder_names(reader: &crate::store::Reader, adapter: &str) -> Result<Vec<(u64, String)>> {
    let text: Option<String> = reader.state(&StateKey::CollectionFolders(adapter.to_owned()))?;
    let folders: Vec<Folder> = text.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
    Ok(folders.into_iter().map(|folder| (folder.id, folder.name)).collect())
}

/// Words of edition notes at the end of a title's canonical key: `(Remastered 2009)`,
/// `[Deluxe Edition]`, ` - 2011 Remaster` all end in them.
const EDITION_WORDS: [&str; 17] = [
    "remaster",
    "remastered",
    "deluxe",
    "edition",
    "expanded",
    "anniversary",
    "bonus",
    "reissue",
    "version",
    "mono",
    "stereo",
    "special",
    "collector",
    "collectors",
    "legacy",
    "super",
    "tracks",
];

fn is_edition_word(word: &str) -> bool {
    EDITION_WORDS.contains(&word)
        || (word.len() == 4 && word.chars().all(|c| c.is_ascii_digit()))
        || (word.len() > 2 && word.ends_with("th") && word[..word.len() - 2].chars().all(|c| c.is_ascii_digit()))
}

/// A canonical key's words without `and` (so `&` and `and` meet) and without a leading `the`.
fn loose_words(key: &str) -> String {
    let words: Vec<&str> = key.split(' ').filter(|word| *word != "and" && !word.is_empty()).collect();
    let words = if words.len() > 1 && words[0] == "the" { &words[1..] } else { &words[..] };
    words.join(" ")
}

/// An artist's name as linking compares it: canonical, without Discogs' ` (2)`.
pub(crate) fn loose_artist(name: &str) -> String {
    loose_words(&crate::identity::canonical_key(without_suffix(name)))
}

/// An album title's canonical key as linking compares it: without the edition
/// notes it ends with (`abbey road remastered 2009` is `abbey road`).
fn loose_title_key(key: &str) -> String {
    let words: Vec<&str> = key.split(' ').collect();
    let mut end = words.len();
    while end > 1 && is_edition_word(words[end - 1]) {
        end -= 1;
    }
    loose_words(&words[..end].join(" "))
}

/// An album title as linking compares it (see [`loose_title_key`]).
pub(crate) fn loose_title(title: &str) -> String {
    loose_title_key(&crate::identity::canonical_key(title))
}

/// An owned record as linked to the history.
#[derive(Debug, Clone)]
pub(crate) struct LinkedItem {
    pub(crate) owned: Owned,
    /// The album of the history it is, when one is.
    pub(crate) album: Option<u64>,
    /// Its artist in the history: the album's, else one of its credits by name.
    pub(crate) artist: Option<u64>,
    /// The user set the link (or said there is none).
    pub(crate) by_user: bool,
    /// The artist line and title in lower case, for sorting.
    artist_fold: String,
    title_fold: String,
}

/// The collection linked to the history, by instance id.
pub(crate) type Linked = Arc<Vec<Arc<LinkedItem>>>;

/// What a [`Linked`] was built from: the collection's version, the albums and the artists.
type LinkedFrom = (u64, u64, u64);

/// The last [`Linked`] built, with what it was built from.
#[derive(Default)]
pub(crate) struct LinkedCache(std::sync::Mutex<Option<(LinkedFrom, Linked)>>);

/// The filters of `collection_random`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pick {
    /// Words in a format's text (`vinyl`, `LP`, `cd`).
    pub(crate) format: Option<String>,
    pub(crate) genre: Option<String>,
    pub(crate) style: Option<String>,
    /// The first year of a decade (1970).
    pub(crate) decade: Option<i32>,
    pub(crate) folder: Option<u64>,
    /// Not played for this many days (never played included).
    pub(crate) unplayed_days: Option<i64>,
}

/// An owned record with its plays.
#[derive(Debug, Clone)]
pub(crate) struct Played {
    pub(crate) item: Arc<LinkedItem>,
    /// All time.
    pub(crate) plays: u64,
    /// In the period asked for (all time when none).
    pub(crate) period_plays: u64,
    pub(crate) last_played: Option<i64>,
}

/// An album of the history that is not owned.
#[derive(Debug, Clone)]
pub(crate) struct Missing {
    pub(crate) album: u64,
    pub(crate) artist: String,
    pub(crate) title: String,
    pub(crate) plays: u64,
    pub(crate) last_played: Option<i64>,
}

impl Library {
    /// The collection linked to the history: each record's album, from the
    /// user's link when there is one, else by loose identity (artist credit or
    /// credited name, and title without edition notes; the most played album
    /// when several match). Kept until the collection or the albums change.
    pub(crate) fn linked(&self) -> Result<Linked> {
        let reader = self.state.store.read()?;
        let (albums, artists) = reader.entity_counts()?;
        let key = (reader.collection_version()?, albums, artists);
        if let Some((built, linked)) = self.state.linked.0.lock().expect("linked lock").as_ref()
            && *built == key
        {
            return Ok(linked.clone());
        }
        let owned = reader.collection()?;
        let mut plays = crate::store::Tally::default();
        reader.add_all_time(crate::store::Kind::Album, &mut plays)?;
        // Loose album key → the most played album with it.
        let mut index: HashMap<String, u64> = HashMap::new();
        reader.for_each_album_key(|key, id| {
            let (artist, title) = key.split_once('\u{1f}').unwrap_or(("", key));
            let loose = format!("{}\u{1f}{}", loose_words(artist), loose_title_key(title));
            match index.get(&loose) {
                Some(&other) if plays.get(other) >= plays.get(id) => {}
                _ => {
                    index.insert(loose, id);
                }
            }
        })?;
        // Loose artist key → the most played artist with it.
        let mut artist_plays = crate::store::Tally::default();
        reader.add_all_time(crate::store::Kind::Artist, &mut artist_plays)?;
        let mut artists: HashMap<String, u64> = HashMap::new();
        reader.for_each_artist_key(|key, id| {
            let loose = loose_words(key);
            match artists.get(&loose) {
                Some(&other) if artist_plays.get(other) >= artist_plays.get(id) => {}
                _ => {
                    artists.insert(loose, id);
                }
            }
        })?;
        let user: HashMap<u64, Option<String>> =
            reader.collection_links()?.into_iter().map(|(release, link)| (release, link.album_key)).collect();
        let mut folders: HashMap<String, Vec<(u64, String)>> = HashMap::new();
        let mut linked = Vec::with_capacity(owned.len());
        for (id, record) in owned {
            let item = &record.item;
            let (album, by_user) = match user.get(&item.release_id) {
                Some(Some(album_key)) => (reader.entity_id(crate::store::Kind::Album, album_key)?, true),
                Some(None) => (None, true),
                None => {
                    let title = loose_title(&item.title);
                    let mut candidates = vec![loose_artist(&artist_line(&item.artists))];
                    for credit in &item.artists {
                        candidates.push(loose_artist(&credit.name));
                        if let Some(credited) = &credit.credited_as {
                            candidates.push(loose_artist(credited));
                        }
                    }
                    let found = candidates.iter().find_map(|artist| index.get(&format!("{artist}\u{1f}{title}")));
                    (found.copied(), false)
                }
            };
            let artist_id = match album {
                Some(album) => reader.album(album)?.map(|album| album.artist_id),
                None => {
                    let mut names = vec![loose_artist(&artist_line(&item.artists))];
                    for credit in &item.artists {
                        names.push(loose_artist(&credit.name));
                        names.extend(credit.credited_as.as_deref().map(loose_artist));
                    }
                    names.iter().find_map(|name| artists.get(name)).copied()
                }
            };
            if !folders.contains_key(&record.adapter) {
                folders.insert(record.adapter.clone(), folder_names(&reader, &record.adapter)?);
            }
            let folder = folders[&record.adapter]
                .iter()
                .find(|(folder, _)| *folder == item.folder_id)
                .map(|(_, name)| name.clone());
            let artist = artist_line(&item.artists);
            let (artist_fold, title_fold) = (artist.to_lowercase(), item.title.to_lowercase());
            linked.push(Arc::new(LinkedItem {
                owned: Owned { id, record, folder },
                album,
                artist: artist_id,
                by_user,
                artist_fold,
                title_fold,
            }));
        }
        let linked = Arc::new(linked);
        *self.state.linked.0.lock().expect("linked lock") = Some((key, linked.clone()));
        Ok(linked)
    }

    /// Every owned record with its plays, all time and in `range`.
    pub(crate) fn collection_plays(&self, range: Option<(i64, i64)>) -> Result<Vec<Played>> {
        let linked = self.linked()?;
        self.plays_of(&linked, range)
    }

    /// These records with their plays, all time and in `range`.
    pub(crate) fn plays_of(&self, items: &[Arc<LinkedItem>], range: Option<(i64, i64)>) -> Result<Vec<Played>> {
        let reader = self.state.store.read()?;
        let all = self.tally(&reader, crate::store::Kind::Album, None)?;
        let period = match range {
            Some(range) => Some(self.tally(&reader, crate::store::Kind::Album, Some(range))?),
            None => None,
        };
        let mut played = Vec::with_capacity(items.len());
        for item in items {
            let (plays, period_plays, last_played) = match item.album {
                Some(album) => (
                    all.get(album),
                    period.as_ref().map_or(all.get(album), |period| period.get(album)),
                    reader.album_last(album)?,
                ),
                None => (0, 0, None),
            };
            played.push(Played { item: item.clone(), plays, period_plays, last_played });
        }
        Ok(played)
    }

    /// The albums played most in `range` (all time when none) that no owned record is, with at least `min_plays`.
    pub(crate) fn collection_missing(
        &self,
        range: Option<(i64, i64)>,
        min_plays: u64,
        limit: usize,
    ) -> Result<Vec<Missing>> {
        let linked = self.linked()?;
        let owned: std::collections::HashSet<u64> = linked.iter().filter_map(|item| item.album).collect();
        let reader = self.state.store.read()?;
        let tally = self.tally(&reader, crate::store::Kind::Album, range)?;
        let mut missing = Vec::new();
        for (album, plays) in tally.top(limit + owned.len()) {
            if plays < min_plays.max(1) || missing.len() == limit {
                break;
            }
            if !owned.contains(&album) {
                let Some(record) = reader.album(album)? else { continue };
                let artist = reader.artist(record.artist_id)?.map(|artist| artist.name).unwrap_or_default();
                let last_played = reader.album_last(album)?;
                missing.push(Missing { album, artist, title: record.title, plays, last_played });
            }
        }
        Ok(missing)
    }

    /// A record picked at random among those that pass `pick`, none picked
    /// before in `session` until all were; `None` when none passes.
    pub(crate) fn collection_random(&self, pick: &Pick, session: &str) -> Result<Option<Played>> {
        let now = self.clock().now_s();
        let words = |text: &Option<String>| text.as_deref().map(str::to_lowercase);
        let (format, genre, style) = (words(&pick.format), words(&pick.genre), words(&pick.style));
        let candidates: Vec<Played> = self
            .collection_plays(None)?
            .into_iter()
            .filter(|played| {
                let item = &played.item.owned.record.item;
                let text =
                    |values: &[String], wanted: &str| values.iter().any(|value| value.to_lowercase().contains(wanted));
                format.as_deref().is_none_or(|wanted| {
                    item.formats.iter().any(|format| {
                        format.name.to_lowercase().contains(wanted)
                            || text(&format.descriptions, wanted)
                            || format.text.as_deref().is_some_and(|text| text.to_lowercase().contains(wanted))
                    })
                }) && genre.as_deref().is_none_or(|wanted| text(&item.genres, wanted))
                    && style.as_deref().is_none_or(|wanted| text(&item.styles, wanted))
                    && pick.decade.is_none_or(|decade| item.year.is_some_and(|year| year / 10 * 10 == decade))
                    && pick.folder.is_none_or(|folder| item.folder_id == folder)
                    && pick
                        .unplayed_days
                        .is_none_or(|days| played.last_played.is_none_or(|last| last < now - days * 86_400))
            })
            .collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        let mut sessions = self.state.picked.lock().expect("picked lock");
        if sessions.len() > MAX_PICK_SESSIONS && !sessions.contains_key(session) {
            sessions.clear();
        }
        let seen = sessions.entry(session.to_owned()).or_default();
        let mut fresh: Vec<&Played> =
            candidates.iter().filter(|played| !seen.contains(&played.item.owned.id)).collect();
        if fresh.is_empty() {
            seen.clear();
            fresh = candidates.iter().collect();
        }
        let chosen = fresh[fastrand::usize(..fresh.len())].clone();
        seen.insert(chosen.item.owned.id);
        Ok(Some(chosen))
    }
}

/// A record's formats in a small vocabulary: `LP`, `2×LP`, `12" single`, `EP`,
/// `CD`, `cassette`, `file`, `box set`, else the service's own name in lower case.
pub(crate) fn format_kind(formats: &[musique_sdk::collection::Format]) -> String {
    let mut kinds: Vec<String> = Vec::new();
    for format in formats {
        let name = format.name.to_lowercase();
        let has = |word: &str| format.descriptions.iter().any(|description| description.eq_ignore_ascii_case(word));
        let kind = match name.as_str() {
            "box set" | "all media" if has("box set") || name == "box set" => "box set".to_owned(),
            "vinyl" | "lathe cut" | "acetate" | "flexi-disc" | "shellac" => {
                let size = ["12\"", "10\"", "7\""].into_iter().find(|size| has(size));
                let what = if has("LP") {
                    "LP"
                } else if has("EP") {
                    "EP"
                } else if has("Single") || has("Maxi-Single") {
                    "single"
                } else {
                    "vinyl"
                };
                match (what, size) {
                    ("LP", _) | (_, None) => what.to_owned(),
                    (what, Some(size)) => format!("{size} {what}"),
                }
            }
            "cd" | "cdr" | "sacd" | "hybrid" => "CD".to_owned(),
            "cassette" => "cassette".to_owned(),
            "file" => "file".to_owned(),
            _ if has("box set") => "box set".to_owned(),
            _ => name,
        };
        let kind = if format.quantity > 1 && kind != "box set" { format!("{}×{kind}", format.quantity) } else { kind };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds.join(" + ")
}

impl Library {
    /// Links the release of owned record `id` to the album `artist` – `album` of
    /// the history, to none (`Some(None)`), or back to the automatic link (`None`).
    pub(crate) fn collection_link(&self, id: u64, link: Option<Option<(&str, &str)>>) -> Result<()> {
        let reader = self.state.store.read()?;
        let record =
            reader.owned(id)?.ok_or_else(|| crate::error::Error::not_found(format!("no owned record has id {id}")))?;
        let value = match link {
            None => None,
            Some(None) => {
                Some(crate::store::records::encode_json(&crate::store::records::LinkRecord { album_key: None }))
            }
            Some(Some((artist, album))) => {
                let key = self.album_key(artist, album);
                if reader.entity_id(crate::store::Kind::Album, &key)?.is_none() {
                    return Err(crate::error::Error::not_found(format!(
                        "no album {album:?} by {artist:?} in your listens"
                    )));
                }
                let record = crate::store::records::LinkRecord { album_key: Some(key) };
                Some(crate::store::records::encode_json(&record))
            }
        };
        drop(reader);
        let put = crate::store::Put::Link { release_id: record.item.release_id, value };
        self.state.store.put_blocking(vec![put])
    }
}

/// Random-pick sessions kept before they are forgotten all at once.
const MAX_PICK_SESSIONS: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(name: &str, join: &str) -> musique_sdk::collection::Credit {
        musique_sdk::collection::Credit {
            name: name.into(),
            join: Some(join.into()).filter(|join: &String| !join.is_empty()),
            ..musique_sdk::collection::Credit::default()
        }
    }

    #[test]
    fn titles_and_artists_meet_across_editions_and_spellings() {
        assert_eq!(loose_title("Abbey Road (Remastered 2009)"), "abbey road");
        assert_eq!(loose_title("Abbey Road - 2009 Remaster"), "abbey road");
        assert_eq!(loose_title("OK Computer (20th Anniversary Edition)"), "ok computer");
        assert_eq!(loose_title("1999"), "1999", "a title is never emptied");
        assert_eq!(loose_title("Rumours [Deluxe Edition] (2013)"), "rumours");
        assert_eq!(loose_title("(What's the Story) Morning Glory?"), "what s the story morning glory");
        assert_eq!(loose_title("Songs in A Minor (Live)"), "songs in a minor live", "not an edition note");
        assert_eq!(loose_title("Bridge Over Troubled Water"), loose_title("Bridge over Troubled Water"));
        assert_eq!(loose_artist("Simon & Garfunkel"), loose_artist("Simon and Garfunkel"));
        assert_eq!(loose_artist("The Beatles"), loose_artist("Beatles"));
        assert_eq!(loose_artist("Rick Astley (2)"), "rick astley");
        assert_eq!(loose_artist("Beyoncé"), loose_artist("BEYONCE"));
    }

    #[test]
    fn formats_fall_into_a_small_vocabulary() {
        let format = |name: &str, quantity: u32, descriptions: &[&str]| musique_sdk::collection::Format {
            name: name.into(),
            quantity,
            descriptions: descriptions.iter().map(|text| (*text).to_owned()).collect(),
            text: None,
        };
        assert_eq!(format_kind(&[format("Vinyl", 4, &["LP", "Album"])]), "4×LP");
        assert_eq!(format_kind(&[format("Vinyl", 1, &["12\"", "Single"])]), "12\" single");
        assert_eq!(format_kind(&[format("Vinyl", 1, &["7\"", "EP"])]), "7\" EP");
        assert_eq!(format_kind(&[format("CD", 2, &["Album"])]), "2×CD");
        assert_eq!(format_kind(&[format("Cassette", 1, &[])]), "cassette");
        assert_eq!(format_kind(&[format("File", 1, &["FLAC"])]), "file");
        assert_eq!(format_kind(&[format("Box Set", 1, &[]), format("CD", 5, &[])]), "box set + 5×CD");
        assert_eq!(format_kind(&[format("Vinyl", 1, &["LP"]), format("CD", 1, &[])]), "LP + CD");
    }

    #[test]
    fn artists_join_as_credited_without_namesake_suffixes() {
        assert_eq!(without_suffix("Rick Astley (2)"), "Rick Astley");
        assert_eq!(without_suffix("Chic (Band)"), "Chic (Band)");
        assert_eq!(without_suffix("()"), "()");
        assert_eq!(artist_line(&[credit("Kruder & Dorfmeister", "")]), "Kruder & Dorfmeister");
        assert_eq!(artist_line(&[credit("Mos Def", "&"), credit("Talib Kweli (2)", "")]), "Mos Def & Talib Kweli");
        assert_eq!(artist_line(&[credit("A", ","), credit("B", "Featuring"), credit("C", "")]), "A, B Featuring C");
    }
}
