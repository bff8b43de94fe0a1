//! Browse-to-play: finds what to play by walking the titles of Roon's browse
//! hierarchy (`Library` → `Artists` → artist → album, `Playlists` → name,
//! `My Live Radio` → station) and runs an action of the item found
//! (`Play Now`, `Queue`, `Start Radio`). Item keys are only valid on the
//! connection that produced them, so every walk starts again from the top.
//!
//! Titles match case-insensitively: exact matches first, then titles that
//! contain what was asked. Several matches and no `choice` give the choices
//! back instead of playing; `choice` picks at the first ambiguous step.

use musique_sdk::player::{PlayOutcome, PlayRequest, PlayWhat, TrackRef};
use musique_sdk::{Error, ErrorKind};
use serde_json::{Value, json};

use crate::client::Connection;

const BROWSE: &str = "com.roonlabs.browse:1/browse";
const LOAD: &str = "com.roonlabs.browse:1/load";
/// Items asked for per `load`.
const PAGE: u64 = 100;
/// The most items read from one list; a library's artist list is the longest.
const MAX_ITEMS: usize = 20_000;

/// An item of a browse list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its title.
    pub title: String,
    /// Its key, valid on this connection only.
    pub item_key: Option<String>,
    /// `action`, `action_list`, `list`, `header` or none.
    pub hint: Option<String>,
}

/// Where a walk ended.
enum Step {
    /// At the level of `item`, whose list is `items`.
    Found { item: Item, items: Vec<Item> },
    /// Several items matched the title at `depth`.
    Choices(Vec<String>),
    /// Nothing matched the title at `depth`.
    Missing { depth: usize },
}

/// The result of looking for one title in a list.
enum Pick {
    One(Item),
    Many(Vec<String>),
    None,
}

/// Plays what `request` asks on the zone `zone_id`; `radio` is told the station when a station starts.
pub fn play(
    connection: &Connection,
    zone_id: &str,
    request: &PlayRequest,
    radio: &mut dyn FnMut(&str),
) -> Result<PlayOutcome, Error> {
    let mut walker = Walker { connection, zone_id, choice: request.choice };
    match &request.what {
        PlayWhat::Album { artist, title } => {
            let path = ["Library", "Artists", artist.as_str(), title.as_str()];
            let missing = |depth: usize| match depth {
                0..=1 => format!("Roon's browse has no `{}`", path[depth]),
                2 => format!("no artist `{artist}` in Roon's library"),
                _ => format!("no album `{title}` by {artist} in Roon's library"),
            };
            walker.play_path(&path, "Play Now", missing)
        }
        PlayWhat::Artist { name } => {
            let path = ["Library", "Artists", name.as_str()];
            let missing = |depth: usize| match depth {
                0..=1 => format!("Roon's browse has no `{}`", path[depth]),
                _ => format!("no artist `{name}` in Roon's library"),
            };
            walker.play_path(&path, "Start Radio", missing)
        }
        PlayWhat::Playlist { name } => {
            let path = ["Playlists", name.as_str()];
            let missing = |depth: usize| match depth {
                0 => "Roon's browse has no `Playlists`".to_owned(),
                _ => format!("no playlist `{name}` in Roon's library"),
            };
            walker.play_path(&path, "Play Now", missing)
        }
        PlayWhat::Radio { station } => {
            let items = match walker.enter(&["My Live Radio"])? {
                Step::Found { items, .. } => items,
                Step::Choices(choices) => return Ok(PlayOutcome { choices, ..PlayOutcome::default() }),
                Step::Missing { .. } => return Err(invalid("Roon's browse has no `My Live Radio`")),
            };
            let item = match walker.pick(&items, station) {
                Pick::One(item) => item,
                Pick::Many(choices) => return Ok(PlayOutcome { choices, ..PlayOutcome::default() }),
                Pick::None => return Err(invalid(&format!("no station `{station}` in Roon's My Live Radio"))),
            };
            walker.browse_item(&item)?;
            radio(&item.title);
            Ok(PlayOutcome { played: true, title: Some(item.title), ..PlayOutcome::default() })
        }
        PlayWhat::Tracks { tracks } => walker.play_tracks(tracks),
    }
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::InvalidInput, message.to_owned())
}

/// One walk's context.
struct Walker<'a> {
    connection: &'a Connection,
    zone_id: &'a str,
    /// The pick for the first ambiguous step, consumed there.
    choice: Option<u32>,
}

impl Walker<'_> {
    fn play_path(
        &mut self,
        path: &[&str],
        action: &str,
        missing: impl Fn(usize) -> String,
    ) -> Result<PlayOutcome, Error> {
        match self.enter(path)? {
            Step::Found { item, items } => {
                self.run_action(&items, action)?;
                Ok(PlayOutcome { played: true, title: Some(item.title), ..PlayOutcome::default() })
            }
            Step::Choices(choices) => Ok(PlayOutcome { choices, ..PlayOutcome::default() }),
            Step::Missing { depth } => Err(invalid(&missing(depth))),
        }
    }

    fn play_tracks(&mut self, tracks: &[TrackRef]) -> Result<PlayOutcome, Error> {
        let mut outcome = PlayOutcome::default();
        for track in tracks {
            let Some(item) = self.find_track(track)? else {
                outcome.missing.push(format!("{} — {}", track.artist, track.title));
                continue;
            };
            let action = if outcome.played { "Queue" } else { "Play Now" };
            let actions = self.browse_item(&item)?;
            let actions = match actions {
                Some(actions) => actions,
                None => return Err(Error::new(ErrorKind::Protocol, format!("roon: `{}` has no actions", item.title))),
            };
            self.run_action(&actions, action)?;
            if outcome.played {
                outcome.queued += 1;
            } else {
                outcome.played = true;
                outcome.title = Some(item.title.clone());
            }
        }
        if !outcome.played {
            return Err(invalid(&format!("none of the tracks is in Roon's library: {}", outcome.missing.join(", "))));
        }
        Ok(outcome)
    }

    /// The track's item, found in its album when given, else in each album of its artist.
    fn find_track(&mut self, track: &TrackRef) -> Result<Option<Item>, Error> {
        // Tracks never ask for a choice: the first good match plays.
        self.choice = None;
        if let Some(album) = &track.album
            && let Step::Found { items, .. } = self.enter(&["Library", "Artists", &track.artist, album])?
            && let Some(item) = first_match(&items, &track.title)
        {
            return Ok(Some(item));
        }
        let albums = match self.enter(&["Library", "Artists", &track.artist])? {
            Step::Found { items, .. } => items,
            Step::Choices(_) | Step::Missing { .. } => return Ok(None),
        };
        for album in albums.iter().filter(|item| !is_play_title(item)) {
            if let Step::Found { items, .. } = self.enter(&["Library", "Artists", &track.artist, &album.title])?
                && let Some(item) = first_match(&items, &track.title)
            {
                return Ok(Some(item));
            }
        }
        Ok(None)
    }

    /// Walks `path` from the top; the last title's item is entered.
    fn enter(&mut self, path: &[&str]) -> Result<Step, Error> {
        self.browse(json!({"pop_all": true}))?;
        let mut items = self.load_all()?;
        let mut entered = None;
        for (depth, title) in path.iter().enumerate() {
            let item = match self.pick(&items, title) {
                Pick::One(item) => item,
                Pick::Many(choices) => return Ok(Step::Choices(choices)),
                Pick::None => return Ok(Step::Missing { depth }),
            };
            items = self.browse_item(&item)?.unwrap_or_default();
            entered = Some(item);
        }
        let item = entered.unwrap_or(Item { title: String::new(), item_key: None, hint: None });
        Ok(Step::Found { item, items })
    }

    /// Runs the action titled `action`: an item of `items`, or of its action list.
    fn run_action(&mut self, items: &[Item], action: &str) -> Result<(), Error> {
        let is_action =
            |item: &&Item| item.hint.as_deref() == Some("action") && item.title.eq_ignore_ascii_case(action);
        if let Some(item) = items.iter().find(is_action) {
            self.browse_item(item)?;
            return Ok(());
        }
        let list = items.iter().find(|item| item.hint.as_deref() == Some("action_list"));
        let list =
            list.ok_or_else(|| Error::new(ErrorKind::Protocol, format!("roon: no actions here for `{action}`")))?;
        let actions = self.browse_item(list)?.unwrap_or_default();
        let item = actions
            .iter()
            .find(is_action)
            .ok_or_else(|| Error::new(ErrorKind::Protocol, format!("roon: no `{action}` action here")))?;
        self.browse_item(item)?;
        Ok(())
    }

    fn pick(&mut self, items: &[Item], wanted: &str) -> Pick {
        let wanted = wanted.trim().to_lowercase();
        let candidates: Vec<&Item> = items.iter().filter(|item| item.hint.as_deref() != Some("header")).collect();
        let exact: Vec<&Item> =
            candidates.iter().copied().filter(|item| item.title.trim().to_lowercase() == wanted).collect();
        let matches = if exact.is_empty() {
            candidates.iter().copied().filter(|item| item.title.to_lowercase().contains(&wanted)).collect()
        } else {
            exact
        };
        match matches.as_slice() {
            [] => Pick::None,
            [one] => Pick::One((*one).clone()),
            many => match self.choice.take() {
                Some(index) => match many.get(index as usize) {
                    Some(item) => Pick::One((*item).clone()),
                    None => Pick::None,
                },
                None => Pick::Many(many.iter().map(|item| item.title.clone()).collect()),
            },
        }
    }

    /// Browses into an item: the items of the list it opens, or `None` when it was an action.
    fn browse_item(&mut self, item: &Item) -> Result<Option<Vec<Item>>, Error> {
        let key = item
            .item_key
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::Protocol, format!("roon: `{}` has no item key", item.title)))?;
        let answer = self.browse(json!({"item_key": key}))?;
        if item.hint.as_deref() == Some("action") {
            return Ok(None);
        }
        match answer["action"].as_str() {
            Some("list") => Ok(Some(self.load_all()?)),
            Some("message") if answer["is_error"].as_bool() == Some(true) => Err(Error::new(
                ErrorKind::Protocol,
                format!("roon: {}", answer["message"].as_str().unwrap_or("browse failed")),
            )),
            _ => Ok(None),
        }
    }

    fn browse(&mut self, mut body: Value) -> Result<Value, Error> {
        body["hierarchy"] = json!("browse");
        body["zone_or_output_id"] = json!(self.zone_id);
        Ok(self.connection.call_ok(BROWSE, Some(body))?.unwrap_or_default())
    }

    fn load_all(&mut self) -> Result<Vec<Item>, Error> {
        let mut items = Vec::new();
        loop {
            let body = json!({"hierarchy": "browse", "offset": items.len(), "count": PAGE});
            let page = self.connection.call_ok(LOAD, Some(body))?.unwrap_or_default();
            let page_items = page["items"].as_array().cloned().unwrap_or_default();
            let count = page["list"]["count"].as_u64().unwrap_or(0) as usize;
            let empty = page_items.is_empty();
            items.extend(page_items.iter().map(|item| Item {
                title: item["title"].as_str().unwrap_or_default().to_owned(),
                item_key: item["item_key"].as_str().map(str::to_owned),
                hint: item["hint"].as_str().map(str::to_owned),
            }));
            if empty || items.len() >= count || items.len() >= MAX_ITEMS {
                return Ok(items);
            }
        }
    }
}

fn first_match(items: &[Item], title: &str) -> Option<Item> {
    let wanted = title.trim().to_lowercase();
    let items = || items.iter().filter(|item| !is_play_title(item));
    items()
        .find(|item| item.title.trim().to_lowercase() == wanted)
        .or_else(|| items().find(|item| item.title.to_lowercase().contains(&wanted)))
        .cloned()
}

/// The action list at the top of an artist's or an album's page ("Play Artist", "Play Album").
fn is_play_title(item: &Item) -> bool {
    item.hint.as_deref() == Some("action_list") && item.title.starts_with("Play ")
}
