//! `collection.*`: the record collection's DTOs.

use musique_api::{
    CollectionPage, CollectionSort, OwnedItem, OwnedNote, OwnedRecordDetails, ReleaseCredit, ReleaseDetails,
    ReleaseTrack,
};
use musique_sdk::collection::{Format, Label, Track, TrackKind};

use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::collection::{Filter, Owned, Sort, artist_line, without_suffix};
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
    Ok(CollectionPage {
        items: items.iter().map(item_dto).collect(),
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
    Ok(OwnedRecordDetails { item: item_dto(&owned), release: release.map(release_dto) })
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

fn item_dto(owned: &Owned) -> OwnedItem {
    let item = &owned.record.item;
    OwnedItem {
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
