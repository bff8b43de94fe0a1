//! The records someone owns, as collection syncs stored them: listed with
//! filters and sorts, and one by one with its release's details.

use std::collections::HashMap;

use musique_sdk::collection::{Credit, Folder};

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
    /// Words that must all be in the title, artists, labels or catalogue numbers (any case).
    pub(crate) query: Option<String>,
}

/// How `collection_list` sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    Artist,
    Title,
    Year,
    Added,
}

/// The artists of a credit list as one name: Discogs' ` (2)` namesake suffixes
/// dropped, joined as credited (`A & B`, `A, B`, `A Featuring B`).
pub(crate) fn artist_line(credits: &[Credit]) -> String {
    let mut line = String::new();
    for (index, credit) in credits.iter().enumerate() {
        line.push_str(without_suffix(&credit.name));
        if index + 1 < credits.len() {
            match credit.join.as_deref().map(str::trim) {
                None | Some("") => line.push_str(", "),
                Some(",") => line.push_str(", "),
                Some(join) => {
                    line.push(' ');
                    line.push_str(join);
                    line.push(' ');
                }
            }
        }
    }
    line
}

/// `Rick Astley (2)` → `Rick Astley`.
pub(crate) fn without_suffix(name: &str) -> &str {
    let trimmed = name.trim_end();
    if let Some(open) = trimmed.rfind(" (")
        && trimmed.ends_with(')')
        && trimmed[open + 2..trimmed.len() - 1].chars().all(|c| c.is_ascii_digit())
        && trimmed.len() > open + 3
    {
        return &trimmed[..open];
    }
    trimmed
}

impl Library {
    /// The owned records that pass `filter`, sorted, from `offset`, at most
    /// `limit`; and how many pass in all.
    pub(crate) fn collection_list(
        &self,
        filter: &Filter,
        sort: Sort,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Owned>, u64)> {
        let reader = self.state.store.read()?;
        let mut folders: HashMap<(String, u64), String> = HashMap::new();
        let words: Vec<String> =
            filter.query.as_deref().unwrap_or("").split_whitespace().map(str::to_lowercase).collect();
        let mut kept: Vec<(u64, OwnedRecord, String)> = Vec::new();
        for (id, record) in reader.collection()? {
            if filter.folder.is_some_and(|folder| folder != record.item.folder_id) {
                continue;
            }
            let artist = artist_line(&record.item.artists);
            if !words.is_empty() {
                let mut text = format!("{} {}", record.item.title, artist).to_lowercase();
                for label in &record.item.labels {
                    text.push(' ');
                    text.push_str(&label.name.to_lowercase());
                    if let Some(catno) = &label.catalogue_number {
                        text.push(' ');
                        text.push_str(&catno.to_lowercase());
                    }
                }
                if !words.iter().all(|word| text.contains(word.as_str())) {
                    continue;
                }
            }
            kept.push((id, record, artist));
        }
        let fold = |text: &str| text.to_lowercase();
        match sort {
            Sort::Artist => kept.sort_by_cached_key(|(id, record, artist)| {
                (fold(artist), record.item.year.unwrap_or(i32::MAX), fold(&record.item.title), *id)
            }),
            Sort::Title => kept.sort_by_cached_key(|(id, record, _)| (fold(&record.item.title), *id)),
            Sort::Year => kept
                .sort_by_cached_key(|(id, record, artist)| (record.item.year.unwrap_or(i32::MAX), fold(artist), *id)),
            Sort::Added => kept.sort_by_key(|(id, record, _)| (std::cmp::Reverse(record.item.added_at), *id)),
        }
        let total = kept.len() as u64;
        let mut page = Vec::new();
        for (id, record, _) in kept.into_iter().skip(offset).take(limit) {
            let key = (record.adapter.clone(), record.item.folder_id);
            if !folders.contains_key(&key) {
                let names = folder_names(&reader, &record.adapter)?;
                for (folder, name) in names {
                    folders.insert((record.adapter.clone(), folder), name);
                }
            }
            let folder = folders.get(&key).cloned();
            page.push(Owned { id, record, folder });
        }
        Ok((page, total))
    }

    /// One owned record, with its release's details when they were synced.
    pub(crate) fn collection_get(&self, id: u64) -> Result<Option<(Owned, Option<ReleaseRecord>)>> {
        let reader = self.state.store.read()?;
        let Some(record) = reader.owned(id)? else { return Ok(None) };
        let release = reader.release(record.item.release_id)?;
        let folder = folder_names(&reader, &record.adapter)?
            .into_iter()
            .find(|(folder, _)| *folder == record.item.folder_id)
            .map(|(_, name)| name);
        Ok(Some((Owned { id, record, folder }, release)))
    }
}

/// An adapter's folders by id, as its last sync saw them.
fn folder_names(reader: &crate::store::Reader, adapter: &str) -> Result<Vec<(u64, String)>> {
    let text: Option<String> = reader.state(&StateKey::CollectionFolders(adapter.to_owned()))?;
    let folders: Vec<Folder> = text.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
    Ok(folders.into_iter().map(|folder| (folder.id, folder.name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(name: &str, join: &str) -> Credit {
        Credit {
            name: name.into(),
            join: Some(join.into()).filter(|join: &String| !join.is_empty()),
            ..Credit::default()
        }
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
