//! `collection.*`: the record collection's DTOs.

use std::collections::HashMap;

use musique_api::{
    CollectionPage, CollectionSort, CollectionStats, ExportFormat, ExportedFile, MissingAlbum, NameCount, OwnedItem,
    OwnedNote, OwnedRecordDetails, ReleaseCredit, ReleaseDetails, ReleaseTrack,
};
use musique_sdk::collection::{Format, Label, Track, TrackKind};

use crate::error::{Error, Result};
use crate::library::Library;
use crate::library::collection::{Filter, Pick, Played, Sort, artist_line, format_kind, without_suffix};
use crate::store::records::ReleaseRecord;

/// Most records on one page.
pub(super) const MAX_LIMIT: u32 = 500;

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
    let sort = match sort {
        // Best match first with a query, by artist without.
        None => Sort::Relevance,
        Some(CollectionSort::Artist) => Sort::Artist,
        Some(CollectionSort::Title) => Sort::Title,
        Some(CollectionSort::Year) => Sort::Year,
        Some(CollectionSort::Added) => Sort::Added,
    };
    let (items, total) = library.collection_list(&filter, sort, offset, limit)?;
    let end = offset + items.len();
    Ok(CollectionPage {
        items: library.plays_of(&items, None)?.iter().map(|played| item_dto(played, false)).collect(),
        total,
        next_cursor: ((end as u64) < total).then(|| end.to_string()),
    })
}

/// `collection.get`.
pub(super) fn get(library: &Library, id: u64) -> Result<OwnedRecordDetails> {
    let (item, release) =
        library.collection_get(id)?.ok_or_else(|| Error::not_found(format!("no owned record has id {id}")))?;
    let played = library.plays_of(&[item], None)?;
    Ok(OwnedRecordDetails { item: item_dto(&played[0], false), release: release.map(release_dto) })
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
    let releases = played
        .iter()
        .map(|played| played.item.owned.record.item.release_id)
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;
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
    let mut forgotten: Vec<&Played> = played
        .iter()
        .filter(|played| played.plays > 0 && played.last_played.is_some_and(|last| last < cutoff))
        .collect();
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
        most_played: most.into_iter().take(limit).map(|played| item_dto(played, with_period)).collect(),
        forgotten: forgotten.into_iter().take(limit).map(|played| item_dto(played, false)).collect(),
    };
    Ok((stats, played_count == 0))
}

/// `collection.unplayed`: never played, or not for `months`.
pub(super) fn unplayed(
    library: &Library,
    months: Option<u32>,
    range: Option<(i64, i64)>,
    limit: usize,
) -> Result<Vec<OwnedItem>> {
    let now = library.clock().now_s();
    let mut rows: Vec<Played> = library
        .collection_plays(range)?
        .into_iter()
        .filter(|played| match (months, range) {
            (Some(months), _) => played.last_played.is_none_or(|last| last < now - i64::from(months) * 30 * 86_400),
            (None, Some(_)) => played.period_plays == 0,
            (None, None) => played.plays == 0,
        })
        .collect();
    // Never played first (by when they were added), then the longest unplayed.
    rows.sort_by_key(|played| {
        (played.last_played.unwrap_or(i64::MIN), played.item.owned.record.item.added_at, played.item.owned.id)
    });
    Ok(rows.iter().take(limit).map(|played| item_dto(played, false)).collect())
}

/// `collection.missing`.
pub(super) fn missing(
    library: &Library,
    range: Option<(i64, i64)>,
    min_plays: u64,
    limit: usize,
) -> Result<Vec<MissingAlbum>> {
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
    Ok(library.collection_random(&pick, session)?.map(|played| item_dto(&played, false)))
}

/// `collection.link`: then the record as it is linked now.
pub(super) fn link(library: &Library, id: u64, link: Option<Option<(&str, &str)>>) -> Result<OwnedItem> {
    library.collection_link(id, link)?;
    Ok(get(library, id)?.item)
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

fn item_dto(played: &Played, period: bool) -> OwnedItem {
    let owned = &played.item.owned;
    let item = &owned.record.item;
    OwnedItem {
        format: format_kind(&item.formats),
        album_id: played.item.album,
        artist_id: played.item.artist,
        linked: match (played.item.album, played.item.by_user) {
            (Some(_), false) => Some("auto".to_owned()),
            (Some(_), true) => Some("user".to_owned()),
            (None, true) => Some("none".to_owned()),
            (None, false) => None,
        },
        plays: played.plays,
        period_plays: period.then_some(played.period_plays),
        last_played: played.last_played,
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

/// `collection.export`: the whole collection as `format`, written to `path`.
pub(super) fn export(library: &Library, format: ExportFormat, path: &str) -> Result<ExportedFile> {
    let path = std::path::Path::new(path);
    if !path.is_absolute() {
        return Err(Error::invalid(format!("`path` {} must be absolute", path.display())));
    }
    match path.parent() {
        Some(parent) if parent.is_dir() => {}
        _ => return Err(Error::invalid(format!("the folder of {} does not exist", path.display()))),
    }
    if path.is_dir() {
        return Err(Error::invalid(format!("{} is a folder", path.display())));
    }
    let (owned, _) = library.collection_list(&Filter::default(), Sort::Artist, 0, usize::MAX)?;
    let releases = library.releases_of(&owned)?;
    let records: Vec<OwnedRecordDetails> = library
        .plays_of(&owned, None)?
        .iter()
        .zip(releases)
        .map(|(played, release)| OwnedRecordDetails {
            item: item_dto(played, false),
            release: release.map(release_dto),
        })
        .collect();
    let bytes = match format {
        ExportFormat::Json => {
            let mut bytes = serde_json::to_vec_pretty(&records).expect("records are JSON");
            bytes.push(b'\n');
            bytes
        }
        ExportFormat::Csv => csv_of(&records)?,
        ExportFormat::Markdown => markdown_of(&records).into_bytes(),
    };
    crate::library::write_private(path, &bytes, "write an export")?;
    Ok(ExportedFile { path: path.display().to_string(), records: records.len() as u64, bytes: bytes.len() as u64 })
}

fn csv_of(records: &[OwnedRecordDetails]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |err: csv::Error| Error::invalid(format!("cannot write the CSV: {err}"));
    writer
        .write_record([
            "id",
            "release_id",
            "artist",
            "title",
            "year",
            "format",
            "formats",
            "labels",
            "genres",
            "styles",
            "folder",
            "added",
            "rating",
            "plays",
            "last_played",
            "notes",
            "cover",
        ])
        .map_err(fail)?;
    let date = |seconds: i64| {
        jiff::Timestamp::from_second(seconds).map(|time| time.strftime("%Y-%m-%d").to_string()).unwrap_or_default()
    };
    for record in records {
        let item = &record.item;
        let notes: Vec<&str> = item.notes.iter().map(|note| note.value.as_str()).collect();
        writer
            .write_record([
                item.id.to_string(),
                item.release_id.to_string(),
                item.artist.clone(),
                item.title.clone(),
                item.year.map(|year| year.to_string()).unwrap_or_default(),
                item.format.clone(),
                item.formats.join("; "),
                item.labels.join("; "),
                item.genres.join("; "),
                item.styles.join("; "),
                item.folder.clone().unwrap_or_default(),
                date(item.added_at),
                item.rating.to_string(),
                item.plays.to_string(),
                item.last_played.map(date).unwrap_or_default(),
                notes.join("; "),
                item.cover.clone().unwrap_or_default(),
            ])
            .map_err(fail)?;
    }
    writer.into_inner().map_err(|err| Error::invalid(format!("cannot write the CSV: {err}")))
}

/// Markdown: a table of contents of the artists, then each artist's records by year.
fn markdown_of(records: &[OwnedRecordDetails]) -> String {
    use std::fmt::Write as _;
    let mut artists: Vec<(&str, Vec<&OwnedRecordDetails>)> = Vec::new();
    for record in records {
        match artists.last_mut() {
            Some((artist, list)) if artist.eq_ignore_ascii_case(&record.item.artist) => list.push(record),
            _ => artists.push((&record.item.artist, vec![record])),
        }
    }
    let anchor = |name: &str| {
        let mut anchor = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_alphanumeric() {
                anchor.push(c);
            } else if (c == ' ' || c == '-') && !anchor.ends_with('-') {
                anchor.push('-');
            }
        }
        anchor.trim_matches('-').to_owned()
    };
    let escape = |text: &str| text.replace('[', "\\[").replace(']', "\\]").replace('*', "\\*").replace('_', "\\_");
    let mut out = String::new();
    let _ = writeln!(out, "# Record collection\n\n{} records by {} artists.\n", records.len(), artists.len());
    let mut anchors: HashMap<String, u32> = HashMap::new();
    let mut named: Vec<(String, String)> = Vec::new();
    for (artist, _) in &artists {
        let base = anchor(artist);
        let seen = anchors.entry(base.clone()).or_insert(0);
        let unique = if *seen == 0 { base.clone() } else { format!("{base}-{seen}") };
        *seen += 1;
        let shown = if artist.is_empty() { "Unknown artist".to_owned() } else { escape(artist) };
        let _ = writeln!(out, "- [{shown}](#{unique})");
        named.push((shown, unique));
    }
    for ((_, list), (shown, unique)) in artists.iter().zip(&named) {
        let _ = writeln!(out, "\n<a id=\"{unique}\"></a>\n\n## {shown}\n");
        for record in list {
            let item = &record.item;
            let mut line = format!("- **{}**", escape(&item.title));
            if let Some(year) = item.year {
                let _ = write!(line, " ({year})");
            }
            let _ = write!(line, " — {}", item.format);
            if let Some(label) = item.labels.first() {
                let _ = write!(line, " — {}", escape(label));
            }
            if item.plays > 0 {
                let _ = write!(line, " — played {} times", item.plays);
            }
            let _ = writeln!(out, "{line}");
        }
    }
    out
}
