//! The fake Core's music: a small library (artists, albums, tracks), playlists
//! and live-radio stations, the browse tree over them, and the zones that play
//! them, with their JSON as a Roon Core sends it.

use serde_json::{Value, json};

/// A track of the library, or what a zone plays.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeTrack {
    /// The title (`line1`).
    pub title: String,
    /// The artist (`line2`).
    pub artist: String,
    /// The album (`line3`); for radio, the station (the assumed shape of a real Core).
    pub album: Option<String>,
    /// The length in seconds; `None` for live radio.
    pub length: Option<f64>,
    /// A live stream: no seek, next or previous.
    pub radio: bool,
}

impl FakeTrack {
    /// A track with a length.
    pub fn new(title: &str, artist: &str, album: &str, length: f64) -> FakeTrack {
        FakeTrack {
            title: title.to_owned(),
            artist: artist.to_owned(),
            album: Some(album.to_owned()),
            length: Some(length),
            radio: false,
        }
    }

    /// A song on a live-radio station: no length, the station in `line3`.
    pub fn radio(title: &str, artist: &str, station: &str) -> FakeTrack {
        FakeTrack {
            title: title.to_owned(),
            artist: artist.to_owned(),
            album: Some(station.to_owned()),
            length: None,
            radio: true,
        }
    }
}

/// An album.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeAlbum {
    /// Its title.
    pub title: String,
    /// Its tracks: title and length in seconds.
    pub tracks: Vec<(String, f64)>,
}

/// An artist.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeArtist {
    /// The name.
    pub name: String,
    /// The albums.
    pub albums: Vec<FakeAlbum>,
}

/// A track of the library: artist, album and track indexes.
pub type TrackIndex = (usize, usize, usize);

/// What the Core can browse.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    /// Artists, each with albums.
    pub artists: Vec<FakeArtist>,
    /// Playlists: a name and the tracks.
    pub playlists: Vec<(String, Vec<TrackIndex>)>,
    /// Stations of `My Live Radio`.
    pub stations: Vec<String>,
}

impl Default for Library {
    fn default() -> Library {
        let album = |title: &str, tracks: &[(&str, f64)]| FakeAlbum {
            title: title.to_owned(),
            tracks: tracks.iter().map(|(title, length)| ((*title).to_owned(), *length)).collect(),
        };
        Library {
            artists: vec![
                FakeArtist {
                    name: "Neil Young".to_owned(),
                    albums: vec![
                        album(
                            "Harvest",
                            &[("Out on the Weekend", 270.0), ("Harvest", 191.0), ("Heart of Gold", 187.0)],
                        ),
                        album("After the Gold Rush", &[("Tell Me Why", 175.0), ("Southern Man", 341.0)]),
                        album("Live Rust", &[("Sugar Mountain", 290.0), ("Cortez the Killer", 469.0)]),
                        album("Live at Massey Hall 1971", &[("On the Way Home", 206.0)]),
                    ],
                },
                FakeArtist {
                    name: "Stereolab".to_owned(),
                    albums: vec![album("Dots and Loops", &[("Brakhage", 354.0), ("Miss Modular", 271.0)])],
                },
                FakeArtist {
                    name: "Boards of Canada".to_owned(),
                    albums: vec![album(
                        "Music Has the Right to Children",
                        &[("Wildlife Analysis", 77.0), ("Roygbiv", 151.0)],
                    )],
                },
            ],
            playlists: vec![
                ("Morning Coffee".to_owned(), vec![(1, 0, 1), (2, 0, 1), (0, 0, 2)]),
                ("Road Trip".to_owned(), vec![(0, 1, 1), (0, 2, 1)]),
            ],
            stations: vec!["FIP".to_owned(), "BBC Radio 6 Music".to_owned(), "Radio Paradise".to_owned()],
        }
    }
}

/// What an action plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An artist.
    Artist(usize),
    /// An album of an artist.
    Album(usize, usize),
    /// A track of an album.
    Track(usize, usize, usize),
    /// A playlist.
    Playlist(usize),
}

/// A node of the browse tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// The top (`Explore`).
    Root,
    /// `Library`.
    Library,
    /// `Library/Artists`.
    Artists,
    /// An artist's page.
    Artist(usize),
    /// An album's page.
    Album(usize, usize),
    /// `Playlists`.
    Playlists,
    /// A playlist's page.
    Playlist(usize),
    /// `My Live Radio`.
    Stations,
    /// A station: an action item.
    Station(usize),
    /// The action list of a target.
    Actions(Target),
    /// One action of a target: `Play Now`, `Add Next`, `Queue` or `Start Radio`.
    Action(Target, &'static str),
}

/// The actions of every action list.
pub const ACTIONS: [&str; 4] = ["Play Now", "Add Next", "Queue", "Start Radio"];

impl Library {
    /// A node's title and hint.
    pub fn title(&self, node: Node) -> (String, Option<&'static str>) {
        match node {
            Node::Root => ("Explore".to_owned(), None),
            Node::Library => ("Library".to_owned(), Some("list")),
            Node::Artists => ("Artists".to_owned(), Some("list")),
            Node::Artist(artist) => (self.artists[artist].name.clone(), Some("list")),
            Node::Album(artist, album) => (self.artists[artist].albums[album].title.clone(), Some("list")),
            Node::Playlists => ("Playlists".to_owned(), Some("list")),
            Node::Playlist(playlist) => (self.playlists[playlist].0.clone(), Some("list")),
            Node::Stations => ("My Live Radio".to_owned(), Some("list")),
            Node::Station(station) => (self.stations[station].clone(), Some("action")),
            Node::Actions(Target::Track(artist, album, track)) => {
                (self.artists[artist].albums[album].tracks[track].0.clone(), Some("action_list"))
            }
            Node::Actions(Target::Artist(_)) => ("Play Artist".to_owned(), Some("action_list")),
            Node::Actions(Target::Album(..)) => ("Play Album".to_owned(), Some("action_list")),
            Node::Actions(Target::Playlist(_)) => ("Play Playlist".to_owned(), Some("action_list")),
            Node::Action(_, action) => (action.to_owned(), Some("action")),
        }
    }

    /// The children of a node.
    pub fn children(&self, node: Node) -> Vec<Node> {
        match node {
            Node::Root => vec![Node::Library, Node::Playlists, Node::Stations],
            Node::Library => vec![Node::Artists],
            Node::Artists => (0..self.artists.len()).map(Node::Artist).collect(),
            Node::Artist(artist) => std::iter::once(Node::Actions(Target::Artist(artist)))
                .chain((0..self.artists[artist].albums.len()).map(|album| Node::Album(artist, album)))
                .collect(),
            Node::Album(artist, album) => std::iter::once(Node::Actions(Target::Album(artist, album)))
                .chain(
                    (0..self.artists[artist].albums[album].tracks.len())
                        .map(|track| Node::Actions(Target::Track(artist, album, track))),
                )
                .collect(),
            Node::Playlists => (0..self.playlists.len()).map(Node::Playlist).collect(),
            Node::Playlist(playlist) => vec![Node::Actions(Target::Playlist(playlist))],
            Node::Stations => (0..self.stations.len()).map(Node::Station).collect(),
            Node::Actions(target) => ACTIONS.iter().map(|action| Node::Action(target, action)).collect(),
            Node::Station(_) | Node::Action(..) => Vec::new(),
        }
    }

    /// The tracks a target plays, in order.
    pub fn tracks(&self, target: Target) -> Vec<FakeTrack> {
        let track = |artist: usize, album: usize, track: usize| {
            let artist_entry = &self.artists[artist];
            let album_entry = &artist_entry.albums[album];
            let (title, length) = &album_entry.tracks[track];
            FakeTrack::new(title, &artist_entry.name, &album_entry.title, *length)
        };
        match target {
            Target::Track(artist, album, index) => vec![track(artist, album, index)],
            Target::Album(artist, album) => {
                (0..self.artists[artist].albums[album].tracks.len()).map(|index| track(artist, album, index)).collect()
            }
            Target::Artist(artist) => (0..self.artists[artist].albums.len())
                .flat_map(|album| (0..self.artists[artist].albums[album].tracks.len()).map(move |index| (album, index)))
                .map(|(album, index)| track(artist, album, index))
                .collect(),
            Target::Playlist(playlist) => {
                self.playlists[playlist].1.iter().map(|(artist, album, index)| track(*artist, *album, *index)).collect()
            }
        }
    }

    /// A target's title, for the records.
    pub fn target_title(&self, target: Target) -> String {
        match target {
            Target::Artist(artist) => self.artists[artist].name.clone(),
            Target::Album(artist, album) => self.artists[artist].albums[album].title.clone(),
            Target::Track(artist, album, track) => self.artists[artist].albums[album].tracks[track].0.clone(),
            Target::Playlist(playlist) => self.playlists[playlist].0.clone(),
        }
    }
}

/// An output of a zone.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOutput {
    /// Its id.
    pub output_id: String,
    /// Its name.
    pub name: String,
    /// Its volume (0–100); `None` for fixed volume.
    pub volume: Option<f64>,
    /// Muted.
    pub muted: bool,
}

/// A zone of the fake Core.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeZone {
    /// Its id.
    pub zone_id: String,
    /// Its name.
    pub name: String,
    /// `playing`, `paused`, `loading` or `stopped`.
    pub state: String,
    /// Its outputs.
    pub outputs: Vec<FakeOutput>,
    /// What it plays.
    pub now_playing: Option<FakeTrack>,
    /// The position, seconds.
    pub seek: f64,
    /// What comes next.
    pub queue: Vec<FakeTrack>,
    /// Shuffle.
    pub shuffle: bool,
    /// `disabled`, `loop` or `loop_one`.
    pub repeat: String,
    /// Roon Radio after the queue.
    pub auto_radio: bool,
}

impl FakeZone {
    /// A stopped zone with one output named like the zone, its volume at 40.
    pub fn new(zone_id: &str, name: &str) -> FakeZone {
        FakeZone {
            zone_id: zone_id.to_owned(),
            name: name.to_owned(),
            state: "stopped".to_owned(),
            outputs: vec![FakeOutput {
                output_id: format!("{zone_id}-out"),
                name: name.to_owned(),
                volume: Some(40.0),
                muted: false,
            }],
            now_playing: None,
            seek: 0.0,
            queue: Vec::new(),
            shuffle: false,
            repeat: "disabled".to_owned(),
            auto_radio: true,
        }
    }

    /// Loads `track` and plays it from the start.
    pub fn play(&mut self, track: FakeTrack) {
        self.now_playing = Some(track);
        self.seek = 0.0;
        self.state = "playing".to_owned();
    }

    /// Whether a live stream plays.
    pub fn is_radio(&self) -> bool {
        self.now_playing.as_ref().is_some_and(|track| track.radio)
    }

    /// Moves to the next track of the queue, or stops at the end.
    pub fn next(&mut self) {
        if self.queue.is_empty() {
            self.state = "stopped".to_owned();
            self.seek = 0.0;
        } else {
            let track = self.queue.remove(0);
            self.play(track);
        }
    }

    /// The zone as a Core sends it.
    pub fn to_json(&self) -> Value {
        let loaded = self.now_playing.is_some();
        let radio = self.is_radio();
        let outputs: Vec<Value> = self
            .outputs
            .iter()
            .map(|output| {
                let mut value = json!({
                    "output_id": output.output_id,
                    "zone_id": self.zone_id,
                    "display_name": output.name,
                    "can_group_with_output_ids": [output.output_id],
                });
                if let Some(volume) = output.volume {
                    value["volume"] = json!({"type": "number", "min": 0, "max": 100, "value": volume, "step": 1,
                        "is_muted": output.muted, "hard_limit_min": 0, "hard_limit_max": 100, "soft_limit": 100});
                }
                value
            })
            .collect();
        let queue_time: f64 = self.queue.iter().filter_map(|track| track.length).sum();
        let mut zone = json!({
            "zone_id": self.zone_id,
            "display_name": self.name,
            "outputs": outputs,
            "state": self.state,
            "is_next_allowed": !radio && !self.queue.is_empty(),
            "is_previous_allowed": !radio && loaded,
            "is_pause_allowed": self.state == "playing",
            "is_play_allowed": self.state != "playing" && loaded,
            "is_seek_allowed": !radio && self.now_playing.as_ref().is_some_and(|track| track.length.is_some()),
            "queue_items_remaining": self.queue.len(),
            "queue_time_remaining": queue_time,
            "settings": {"loop": self.repeat, "shuffle": self.shuffle, "auto_radio": self.auto_radio},
        });
        if let Some(track) = &self.now_playing {
            zone["seek_position"] = json!(self.seek);
            let album = track.album.clone().unwrap_or_default();
            let mut now_playing = json!({
                "seek_position": self.seek,
                "image_key": format!("img-{}", track.title.len()),
                "one_line": {"line1": format!("{} - {}", track.title, track.artist)},
                "two_line": {"line1": track.title, "line2": track.artist},
                "three_line": {"line1": track.title, "line2": track.artist, "line3": album},
            });
            if let Some(length) = track.length {
                now_playing["length"] = json!(length);
            }
            zone["now_playing"] = now_playing;
        }
        zone
    }
}
