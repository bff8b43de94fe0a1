//! `collection.*`: the record collection's DTOs.

use std::collections::HashMap;

use musique_api::{
    CollectionPage, CollectionSort, CollectionStats, MissingAlbum, NameCount, OwnedItem, OwnedNote,
    OwnedRecordDetails, ReleaseCredit, ReleaseDetails, ReleaseTrack,
};
use musique_sdk::collection::{Format, Label, Track, TrackKind};

use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::collection::{Filter, Owned, Pick, Played, Sort, artist_line, format_kind, without_suffix};
use crate::store::records::ReleaseRecord;

/// Most records on one page.
const MAX_LIMIT: u32 = 500;

/// `collection.list`.
pub(super) fn list(
    library: &Library,
    filter: Filter,
    sort: Option<CollectionSort>,
    limit: usize,
    cursor: Option<String>,
) -> Result<CollectionPage> {
    let offset = match cursor {
        Some(cursor) => cursor
            .parse::<usize>()
            .map_err(|_| Error::invalid(format!("`cursor` {cursor:?} is not one this method gave")))?,
        None => 0,
    };
    let sort = match sort.unwrap_or_default() {
        CollectionSort::Artist => Sort::Artist,
        CollectionSort::Title => Sort::Title,
        CollectionSort::Year => Sort::Year,
        CollectionSort::Added => Sort::Added,
    };
    let (items, total) = library.collection_list(&filter, sort, offset, limit)?;
    let end = offset + items.len();
    let played = played_by_id(library)?;
    Ok(CollectionPage {
        items: items.iter().map(|owned| item_dto(owned, played.get(&owned.id), false)).collect(),
        total,
        next_cursor: ((end as u64) < total).then(|| end.to_string()),
    })
}

pub(super) fn max_limit() -> u32 {
    MAX_LIMIT
}

/// `collection.get`.
pub(super) fn get(library: &Library, id: u64) -> Result<OwnedRecordDetails> {
    let (owned, release) =
        library.collection_get(id)?.ok_or_else(|| Error::not_found(format!("no owned record has id {id}")))?;
    let played = played_by_id(library)?;
    Ok(OwnedRecordDetails { item: item_dto(&owned, played.get(&id), false), release: release.map(release_dto) })
}

/// Every record's plays, by id.
fn played_by_id(library: &Library) -> Result<HashMap<u64, Played>> {
    Ok(library.collection_plays(None)?.into_iter().map(|played| (played.item.owned.id, played)).collect())
}

fn played_dto(played: &Played, period: bool) -> OwnedItem {
    item_dto(&played.item.owned, Some(played), period)
}

/// `collection.stats` over `range` (all time when `None`).
pub(super) fn stats(
    library: &Library,
    range: Option<(i64, i64)>,
    forgotten_months: u32,
    limit: usize,
) -> Result<(CollectionStats, bool)> {
    let played = library.collection_plays(range)?;
    let records = played.len() as u64;
    let releases = played.iter().map(|played| played.item.owned.record.item.release_id).collect::<std::collections::HashSet<_>>().len() as u64;
    let linked = played.iter().filter(|played| played.item.album.is_some()).count() as u64;
    let played_count = played.iter().filter(|played| played.period_plays > 0).count() as u64;
    let counts = |names: Vec<String>| {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for name in names {
            *counts.entry(name).or_insert(0) += 1;
        }
        let mut rows: Vec<NameCount> = counts.into_iter().map(|(name, count)| NameCount { name, count }).collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        rows
    };
    let formats = counts(played.iter().map(|played| format_kind(&played.item.owned.record.item.formats)).collect());
    let decades = counts(
        played
            .iter()
            .map(|played| match played.item.owned.record.item.year {
                Some(year) => format!("{}s", year / 10 * 10),
                None => "unknown".to_owned(),
            })
            .collect(),
    );
    let mut most: Vec<&Played> = played.iter().filter(|played| played.period_plays > 0).collect();
    most.sort_by(|a, b| b.period_plays.cmp(&a.period_plays).then(a.item.owned.id.cmp(&b.item.owned.id)));
    // Forgotten: most played all time among those not played since the cutoff.
    let cutoff = library.clock().now_s() - i64::from(forgotten_months) * 30 * 86_400;
    let mut forgotten: Vec<&Played> =
        played.iter().filter(|played| played.plays > 0 && played.last_played.is_some_and(|last| last < cutoff)).collect();
    forgotten.sort_by(|a, b| b.plays.cmp(&a.plays).then(a.item.owned.id.cmp(&b.item.owned.id)));
    let with_period = range.is_some();
    let stats = CollectionStats {
        span: Default::default(),
        records,
        releases,
        linked,
        played: played_count,
        coverage: if records == 0 { 0.0 } else { (played_count as f64 / records as f64 * 1000.0).round() / 1000.0 },
        formats,
        decades,
        most_played: most.into_iter().take(limit).map(|played| played_dto(played, with_period)).collect(),
        forgotten: forgotten.into_iter().take(limit).map(|played| played_dto(played, false)).collect(),
    };
    Ok((stats, played_count == 0))
}

/// `collection.unplayed`: never played, or not for `months`.
pub(super) fn unplayed(library: &Library, months: Option<u32>, limit: usize) -> Result<Vec<OwnedItem>> {
    let now = library.clock().now_s();
    let mut rows: Vec<Played> = library
        .collection_plays(None)?
        .into_iter()
        .filter(|played| match months {
            None => played.plays == 0,
            Some(months) => played.last_played.is_none_or(|last| last < now - i64::from(months) * 30 * 86_400),
        })
        .collect();
    // Never played first (by when they were added), then the longest unplayed.
    rows.sort_by_key(|played| (played.last_played.unwrap_or(i64::MIN), played.item.owned.record.item.added_at, played.item.owned.id));
    Ok(rows.iter().take(limit).map(|played| played_dto(played, false)).collect())
}

/// `collection.missing`.
pub(super) fn missing(library: &Library, range: Option<(i64, i64)>, min_plays: u64, limit: usize) -> Result<Vec<MissingAlbum>> {
    Ok(library
        .collection_missing(range, min_plays, limit)?
        .into_iter()
        .map(|missing| MissingAlbum {
            album_id: missing.album,
            artist: missing.artist,
            title: missing.title,
            plays: missing.plays,
            last_played: missing.last_played,
        })
        .collect())
}

/// `collection.random`.
pub(super) fn random(library: &Library, pick: Pick, session: &str) -> Result<Option<OwnedItem>> {
    Ok(library.collection_random(&pick, session)?.map(|played| played_dto(&played, false)))
}

/// `collection.link`: then the record as it is linked now.
pub(super) fn link(library: &Library, id: u64, link: Option<Option<(&str, &str)>>) -> Result<OwnedItem> {
    library.collection_link(id, link)?;
    let played = played_by_id(library)?;
    let played = played.get(&id).ok_or_else(|| Error::not_found(format!("no owned record has id {id}")))?;
    Ok(played_dto(played, false))
}

fn format_text(format: &Format) -> String {
    let mut text =
        if format.quantity > 1 { format!("{}×{}", format.quantity, format.name) } else { format.name.clone() };
    for part in format.descriptions.iter().chain(format.text.as_ref()) {
        text.push_str(", ");
        text.push_str(part);
    }
    text
}

fn label_text(label: &Label) -> String {
    let name = without_suffix(&label.name);
    match &label.catalogue_number {
        Some(catno) => format!("{name} {catno}"),
        None => name.to_owned(),
    }
}

fn item_dto(owned: &Owned, played: Option<&Played>, period: bool) -> OwnedItem {
    let item = &owned.record.item;
    OwnedItem {
        format: format_kind(&item.formats),
        album_id: played.and_then(|played| played.item.album),
        linked: played.and_then(|played| match (played.item.album, played.item.by_user) {
            (Some(_), false) => Some("auto".to_owned()),
            (Some(_), true) => Some("user".to_owned()),
            (None, true) => Some("none".to_owned()),
            (None, false) => None,
        }),
        plays: played.map_or(0, |played| played.plays),
        period_plays: played.filter(|_| period).map(|played| played.period_plays),
        last_played: played.and_then(|played| played.last_played),
        id: owned.id,
        release_id: item.release_id,
        adapter: owned.record.adapter.clone(),
        artist: artist_line(&item.artists),
        title: item.title.clone(),
        year: item.year,
        formats: item.formats.iter().map(format_text).collect(),
        labels: item.labels.iter().map(label_text).collect(),
        genres: item.genres.clone(),
        styles: item.styles.clone(),
        folder_id: item.folder_id,
        folder: owned.folder.clone(),
        added_at: item.added_at,
        rating: item.rating,
        notes: item
            .notes
            .iter()
            .filter(|note| !note.value.trim().is_empty())
            .map(|note| OwnedNote { field_id: note.field_id, value: note.value.clone() })
            .collect(),
        thumb: item.thumb.clone(),
        cover: item.cover.clone(),
    }
}

fn track_dto(track: &Track) -> ReleaseTrack {
    ReleaseTrack {
        position: track.position.clone(),
        kind: match track.kind {
            TrackKind::Heading => "heading",
            TrackKind::Index => "index",
            TrackKind::Track | TrackKind::Unknown => "track",
        }
        .to_owned(),
        title: track.title.clone(),
        duration_s: track.duration_s,
        sub_tracks: track.sub_tracks.iter().map(track_dto).collect(),
    }
}

fn release_dto(record: ReleaseRecord) -> ReleaseDetails {
    let release = record.release;
    ReleaseDetails {
        country: release.country,
        released: release.released,
        tracklist: release.tracklist.iter().map(track_dto).collect(),
        credits: release
            .credits
            .iter()
            .map(|credit| ReleaseCredit {
                name: without_suffix(&credit.name).to_owned(),
                role: credit.role.clone(),
                tracks: credit.tracks.clone(),
            })
            .collect(),
        images: release.images.into_iter().map(|image| image.uri).collect(),
    }
}
