//! The JSON-RPC surface: calls over plain HTTP and over the WebSocket client,
//! bad requests, paging, charts and the event subscription.

use musique_api::{AddStatus, EntityKind, Event, MusiqueApiClient, NewListen, Period, TimeArg};
use musique_tests::{Daemon, http_post, wait_indexed};
use serde_json::{Value, json};

fn call(daemon: &Daemon, body: &str) -> (u16, Value) {
    let (status, body) = http_post(&daemon.socket(), body.as_bytes());
    let value = serde_json::from_str(&body).unwrap_or_else(|err| panic!("not JSON ({err}): {body:?}"));
    (status, value)
}

fn new_listen(artist: &str, track: &str, at: i64) -> NewListen {
    NewListen {
        artist: artist.into(),
        track: track.into(),
        album: None,
        listened_at: TimeArg::Unix(at),
        duration_ms: None,
        source: None,
    }
}

#[tokio::test]
async fn bad_requests_get_errors_and_the_daemon_keeps_serving() {
    let daemon = Daemon::start_with_config("[rpc]\nmax_request_bytes = 65536\n");
    let cases = [
        (r#"{"jsonrpc":"2.0","id":1,"method":"daemon.status""#, -32700),
        (r#"not json at all"#, -32700),
        (r#"{"jsonrpc":"2.0","id":1,"method":"no.such.method"}"#, -32601),
        (r#"{"jsonrpc":"2.0","id":1,"method":"listens.list","params":{"limit":"ten"}}"#, -32602),
        (r#"{"jsonrpc":"2.0","id":1,"method":"listens.list","params":{"limit":0}}"#, -32602),
        (r#"{"jsonrpc":"2.0","id":1,"method":"listens.list","params":{"from":"last tuesday"}}"#, -32602),
        (r#"{"jsonrpc":"2.0","id":1,"method":"listens.list","params":{"cursor":"abc"}}"#, -32602),
        (r#"{"jsonrpc":"2.0","id":1,"method":"stats.top","params":{"kind":"planets"}}"#, -32602),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"stats.top","params":{"kind":"artist","period":"week","from":1}}"#,
            -32602,
        ),
        (r#"{"jsonrpc":"2.0","id":1,"method":"listens.add","params":{}}"#, -32602),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"listens.add","params":{"listen":{"artist":"","track":"x","listened_at":1}}}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"listens.add","params":{"listen":{"artist":"a","track":"x","listened_at":99999999999}}}"#,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"listens.add","params":{"listen":{"artist":"a","track":"x","listened_at":1,"colour":"red"}}}"#,
            -32602,
        ),
        (r#"{"jsonrpc":"2.0","id":1,"method":"imports.start","params":{"kind":"itunes","path":"/x"}}"#, -32602),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"imports.start","params":{"kind":"spotify","path":"/does/not/exist"}}"#,
            -32602,
        ),
        (r#"{"jsonrpc":"2.0","id":1,"method":"imports.status","params":{"id":999}}"#, -32004),
    ];
    for (request, code) in cases {
        let (_, answer) = call(&daemon, request);
        assert_eq!(answer["error"]["code"], code, "{request} -> {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{answer}");
    }
    // Oversized: refused without reading it all.
    let huge =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"search","params":{{"query":"{}"}}}}"#, "x".repeat(200_000));
    let (status, body) = http_post(&daemon.socket(), huge.as_bytes());
    assert_eq!(status, 413, "{body}");
    // A batch of many listens within the size limit is fine; over it, refused and nothing stored.
    let (_, answer) = call(&daemon, r#"{"jsonrpc":"2.0","id":7,"method":"daemon.status"}"#);
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"]["counts"]["listens"], 0);
    assert_eq!(answer["result"]["api_version"], musique_api::CURRENT_API_VERSION);
}

#[tokio::test]
async fn listens_add_list_and_page() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let hello = client.hello().await.unwrap();
    assert_eq!(hello.api_version, musique_api::CURRENT_API_VERSION);
    assert!(hello.features.contains(&musique_api::Feature::Imports));

    let batch: Vec<NewListen> =
        (0..25).map(|n| new_listen("Boards of Canada", &format!("Track {n}"), 1_700_000_000 + n * 600)).collect();
    let report = client.listens_add(None, Some(batch.clone())).await.unwrap();
    assert_eq!((report.added, report.duplicates), (25, 0));
    // The same plays again, and one new: only the new one is added.
    let mut again = batch[..3].to_vec();
    again.push(new_listen("Boards of Canada", "Roygbiv", 1_700_100_000));
    let report = client.listens_add(None, Some(again)).await.unwrap();
    assert_eq!((report.added, report.duplicates), (1, 3));
    assert_eq!(report.results[0].status, AddStatus::Duplicate);
    assert_eq!(report.results[3].status, AddStatus::Added);
    // A different spelling of the same play is the same listen, with a second provenance.
    let mut respelled = new_listen("BOARDS OF CANADA", "track 0", 1_700_000_000);
    respelled.source = Some("lastfm".into());
    let report = client.listens_add(Some(respelled), None).await.unwrap();
    assert_eq!(report.duplicates, 1);

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = client.listens_list(None, None, Some(10), cursor).await.unwrap();
        seen.extend(page.listens);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 26);
    assert!(seen.windows(2).all(|pair| pair[0].listened_at >= pair[1].listened_at), "newest first");
    assert_eq!(seen.last().unwrap().sources, vec!["rpc".to_owned(), "lastfm".to_owned()]);

    // A time range is [from, to).
    let page = client
        .listens_list(
            Some(TimeArg::Unix(1_700_000_600)),
            Some(TimeArg::Text("2023-11-14T22:43:20Z".into())),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.listens.len(), 2, "{:?}", page.listens);
}

#[tokio::test]
async fn top_over_periods_and_ranges() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let mut listens = Vec::new();
    // Across month boundaries: 2024-01-31, 2024-02-01 .. 2024-03-15.
    for (at, artist) in [
        (1_706_700_000, "Air"),
        (1_706_745_600, "Air"),
        (1_706_832_000, "Björk"),
        (1_709_251_200, "Björk"),
        (1_710_460_800, "Björk"),
        (1_710_500_000, "Cocteau Twins"),
    ] {
        listens.push(new_listen(artist, &format!("Song at {at}"), at));
    }
    client.listens_add(None, Some(listens)).await.unwrap();

    let all =
        client.stats_top(EntityKind::Artist, None, None, None, None, None, None, None, None, None, None).await.unwrap();
    let names: Vec<(&str, u64)> = all.entries.iter().map(|entry| (entry.name.as_str(), entry.plays)).collect();
    assert_eq!(names, vec![("Björk", 3), ("Air", 2), ("Cocteau Twins", 1)]);

    // 2024-02-01 (inclusive) to 2024-03-15 (exclusive): whole February from counters, March from listens.
    let range = client
        .stats_top(
            EntityKind::Artist,
            None,
            Some(TimeArg::Text("2024-02-01".into())),
            Some(TimeArg::Text("2024-03-15".into())),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .unwrap();
    let names: Vec<(&str, u64)> = range.entries.iter().map(|entry| (entry.name.as_str(), entry.plays)).collect();
    assert_eq!(names, vec![("Björk", 2), ("Air", 1)]);
    // Mid-day bounds count the listens inside only.
    let tight = client
        .stats_top(
            EntityKind::Artist,
            None,
            Some(TimeArg::Unix(1_706_700_001)),
            Some(TimeArg::Unix(1_710_460_801)),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        .await
        .unwrap();
    let names: Vec<(&str, u64)> = tight.entries.iter().map(|entry| (entry.name.as_str(), entry.plays)).collect();
    assert_eq!(names, vec![("Björk", 3), ("Air", 1)]);

    // Which listens a named period holds depends on the clock: `library::charts` tests that with a set clock.
    // Over RPC, a period answers its bounds, whole UTC days ending tomorrow at midnight.
    let today = client
        .stats_top(EntityKind::Track, Some(Period::Day), None, None, None, None, None, None, None, None, None)
        .await
        .unwrap();
    let (from, to) = (today.from.unwrap(), today.to.unwrap());
    assert_eq!((to - from, from % 86_400), (86_400, 0), "{today:?}");
    let week = client
        .stats_top(EntityKind::Album, Some(Period::Week), None, None, None, None, None, None, None, None, None)
        .await
        .unwrap();
    assert!(week.entries.is_empty(), "no albums were given");
}

#[tokio::test]
async fn search_ranks_exact_artists_first_and_tolerates_typos() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let listens = vec![
        new_listen("Beyoncé", "Halo", 1_700_000_000),
        new_listen("The Radio Dept.", "Heaven's on Fire", 1_700_000_300),
        new_listen("Various", "Radiohead", 1_700_000_600),
        new_listen("Radiohead", "Creep", 1_700_000_900),
        new_listen("Sigur Rós", "Hoppípolla", 1_700_001_200),
    ];
    client.listens_add(None, Some(listens)).await.unwrap();
    wait_indexed(&client).await;
    let check = |query: &'static str, kinds: Option<Vec<EntityKind>>, first: &'static str| {
        let client = &client;
        async move {
            let hits = client.search(query.into(), kinds, Some(5)).await.unwrap().hits;
            assert_eq!(hits.first().map(|hit| hit.name.as_str()), Some(first), "{query}: {hits:?}");
        }
    };
    check("radiohead", None, "Radiohead").await;
    check("beyonce", None, "Beyoncé").await;
    check("BEYONCÉ", None, "Beyoncé").await;
    check("beyonse", None, "Beyoncé").await;
    check("beyo", None, "Beyoncé").await;
    check("hoppipola", None, "Hoppípolla").await;
    check("sigur", Some(vec![EntityKind::Track]), "Hoppípolla").await;
    check("radiohead creep", None, "Creep").await;
    let hits = client.search("radiohead".into(), None, Some(5)).await.unwrap().hits;
    assert_eq!(hits[0].kind, EntityKind::Artist, "the exact artist beats the track named like it: {hits:?}");
    assert!(client.search("   ".into(), None, None).await.unwrap().hits.is_empty());
}

#[tokio::test]
async fn events_stream_listens_and_import_progress() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let mut events = client.events_subscribe().await.unwrap();
    let other = daemon.client().await;
    other.listens_add(Some(new_listen("Stereolab", "French Disko", 1_700_000_000)), None).await.unwrap();
    let event =
        tokio::time::timeout(std::time::Duration::from_secs(10), events.next()).await.unwrap().unwrap().unwrap();
    match event {
        Event::ListenRecorded { listen } => {
            assert_eq!((listen.artist.as_str(), listen.track.as_str()), ("Stereolab", "French Disko"))
        }
        other => panic!("unexpected event {other:?}"),
    }

    let file = daemon.dir.path().join("Streaming_History_Audio_2020_0.json");
    musique_tests::write_json(
        &file,
        &json!([musique_tests::spotify_record(
            "2020-01-01T10:00:00Z",
            200_000,
            Some("Broadcast"),
            Some("Tears in the Typing Pool"),
            None
        )]),
    );
    let run = other.imports_start(musique_api::ImportKind::Spotify, file.display().to_string(), None).await.unwrap();
    let finished = loop {
        let event =
            tokio::time::timeout(std::time::Duration::from_secs(30), events.next()).await.unwrap().unwrap().unwrap();
        match event {
            Event::ImportProgress { run: progress } => assert_eq!(progress.id, run.id),
            Event::ImportFinished { run } => break run,
            _ => {}
        }
    };
    assert_eq!((finished.id, finished.imported), (run.id, 1));
}

// See: issue 11, item 3 — "Little Feat & Friends" charted as artist "Little", "No Small Feat (Live)"
// became track "No Small" with an artist "(Live)".
#[tokio::test]
async fn r11_band_names_with_feat_and_ft_stay_whole() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let listens = vec![
        new_listen("Little Feat & Friends", "Willin'", 1_700_000_000),
        new_listen("Little Feat", "No Small Feat (Live)", 1_700_000_300),
        new_listen("Jimmie Vaughan", "Welcome to Ft Worth", 1_700_000_600),
        new_listen("Calvin Harris feat. Rihanna", "This Is What You Came For", 1_700_000_900),
    ];
    client.listens_add(None, Some(listens)).await.unwrap();
    let artists =
        client.stats_top(EntityKind::Artist, None, None, None, None, None, None, None, None, None, None).await.unwrap();
    let mut names: Vec<&str> = artists.entries.iter().map(|entry| entry.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Calvin Harris", "Jimmie Vaughan", "Little Feat", "Little Feat & Friends"]);
    let tracks =
        client.stats_top(EntityKind::Track, None, None, None, None, None, None, None, None, None, None).await.unwrap();
    let mut titles: Vec<&str> = tracks.entries.iter().map(|entry| entry.name.as_str()).collect();
    titles.sort_unstable();
    assert_eq!(titles, ["No Small Feat (Live)", "This Is What You Came For", "Welcome to Ft Worth", "Willin'"]);
}

// See: issue 11, item 2 — Last.fm scrobbles without an album, then the same plays from Spotify with
// their album: the listens stayed album-less and album charts depended on import order.
#[tokio::test]
async fn r11_a_merged_play_gains_the_album_a_later_report_knows() {
    let daemon = Daemon::start();
    let client = daemon.client().await;
    let report = |source: &str, album: Option<&str>, duration_ms: Option<u64>, at: i64| NewListen {
        album: album.map(str::to_owned),
        duration_ms,
        source: Some(source.to_owned()),
        ..new_listen("Stereolab", "French Disko", at)
    };
    client.listens_add(Some(report("lastfm", None, None, 1_700_000_000)), None).await.unwrap();
    let added = client
        .listens_add(Some(report("spotify", Some("Jenny Ondioline"), Some(305_000), 1_700_000_020)), None)
        .await
        .unwrap();
    assert_eq!((added.added, added.duplicates), (0, 1), "the same play");
    // A third report with another album changes nothing: the first album known stays.
    client.listens_add(Some(report("rpc", Some("Refried Ectoplasm"), Some(1), 1_700_000_010)), None).await.unwrap();
    let page = client.listens_list(None, None, None, None).await.unwrap();
    assert_eq!(page.listens.len(), 1);
    let listen = &page.listens[0];
    assert_eq!((listen.album.as_deref(), listen.duration_ms), (Some("Jenny Ondioline"), Some(305_000)));
    let albums =
        client.stats_top(EntityKind::Album, None, None, None, None, None, None, None, None, None, None).await.unwrap();
    let rows: Vec<(&str, u64)> = albums.entries.iter().map(|entry| (entry.name.as_str(), entry.plays)).collect();
    assert_eq!(rows, [("Jenny Ondioline", 1)]);
    // Over a range, from the month counters and from the listens at the edges alike.
    for (from, to) in [("2023-11-01", "2023-12-01"), ("2023-11-14", "2023-11-15")] {
        let range = client
            .stats_top(
                EntityKind::Album,
                None,
                Some(TimeArg::Text(from.into())),
                Some(TimeArg::Text(to.into())),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            )
            .await
            .unwrap();
        let rows: Vec<(&str, u64)> = range.entries.iter().map(|entry| (entry.name.as_str(), entry.plays)).collect();
        assert_eq!(rows, [("Jenny Ondioline", 1)], "{from} .. {to}");
    }
}

/// Sends a raw HTTP request head and body over the socket, ignoring a refused write (the
/// server may answer and close first); returns (status code, body), status 0 when no
/// answer came within 20 s.
fn raw_socket_request(daemon: &Daemon, head: &str, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(daemon.socket()).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("timeout");
    stream.write_all(head.as_bytes()).expect("write head");
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
}

// See: issue 21, item 5.
#[tokio::test]
async fn r21_oversized_bodies_are_413_and_subscriptions_over_http_say_why() {
    let daemon = Daemon::start_with_config("[rpc]\nmax_request_bytes = 65536\n");
    // A declared length of 2^32 or more is refused at once, without waiting for the body.
    for length in [1u64 << 32, (1 << 32) + 1, 1 << 50] {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        );
        let (status, body) = raw_socket_request(&daemon, &head, b"");
        assert_eq!(status, 413, "Content-Length {length}: {body:?}");
        let answer: Value = serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body:?}"));
        assert_eq!(answer["error"]["code"], -32007, "{answer}");
    }
    // A chunked body is refused as soon as it passes the cap.
    let head =
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut chunked = Vec::new();
    let filler = format!("[{}", " ".repeat(16 * 1024 - 1));
    for _ in 0..8 {
        chunked.extend_from_slice(format!("{:x}\r\n{filler}\r\n", filler.len()).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw_socket_request(&daemon, head, &chunked);
    assert_eq!(status, 413, "{body:?}");
    assert!(body.contains("-32007"), "{body}");
    // Within the cap, a chunked call is answered.
    let hello = br#"{"jsonrpc":"2.0","id":3,"method":"daemon.hello"}"#;
    let small = [format!("{:x}\r\n", hello.len()).as_bytes(), hello, b"\r\n0\r\n\r\n"].concat();
    let (status, body) =
        raw_socket_request(&daemon, &head.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"), &small);
    assert_eq!(status, 200, "{body:?}");
    assert!(body.contains("\"api_version\""), "{body}");

    // Subscriptions need a WebSocket: plain HTTP says so, alone or in a batch.
    let (_, answer) = call(&daemon, r#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe"}"#);
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("events.subscribe needs a WebSocket"), "{message}");
    let (_, answer) = call(
        &daemon,
        r#"[{"jsonrpc":"2.0","id":1,"method":"events.subscribe"},{"jsonrpc":"2.0","id":2,"method":"daemon.hello"},
            {"jsonrpc":"2.0","id":3,"method":"events.unsubscribe","params":[1]}]"#,
    );
    let answers = answer.as_array().unwrap_or_else(|| panic!("a batch answer: {answer}"));
    let by_id = |id: i64| answers.iter().find(|answer| answer["id"] == id).unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(by_id(1)["error"]["code"], -32600);
    assert!(by_id(2)["result"]["api_version"].is_number(), "{answer}");
    assert!(by_id(3)["error"]["message"].as_str().unwrap().contains("events.unsubscribe needs a WebSocket"));
    // The WebSocket still subscribes.
    let client = daemon.client().await;
    assert!(client.events_subscribe().await.is_ok());
}

// ---- Idle and stuck clients: issue 21, item 3 --------------------------------------------------------

/// Reads until the daemon closes the connection; panics when it has not after 60 s.
fn read_until_closed(stream: &mut std::os::unix::net::UnixStream) -> Vec<u8> {
    use std::io::Read;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let mut bytes = Vec::new();
    match stream.read_to_end(&mut bytes) {
        Ok(_) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => bytes,
        Err(err) => panic!("the daemon did not close the connection: {err}"),
    }
}

// See: issue 21, item 3 ("260 idle connections held open made `daemon.status` fail").
#[tokio::test]
async fn r21_idle_connections_cannot_lock_out_status() {
    let daemon = Daemon::start_with_config("[rpc]\nmax_connections = 8\n");
    // More connections than the limit, that never say anything.
    let mut idle: Vec<_> =
        (0..12).map(|_| std::os::unix::net::UnixStream::connect(daemon.socket()).expect("connect")).collect();
    let client = daemon.client().await;
    assert_eq!(client.status().await.unwrap().counts.listens, 0);
    let (code, out, err) = daemon.ctl(&["status"]);
    assert_eq!(code, 0, "{out}{err}");
    // The oldest idle connections were closed to make room, and the log says so.
    assert!(read_until_closed(&mut idle[0]).is_empty());
    assert!(daemon.log().contains("rpc connection limit reached: closing the connection idle longest"));
    assert_eq!(client.status().await.unwrap().counts.listens, 0, "the first client kept its connection");
}

// See: issue 21, item 3 ("they stayed open for minutes").
#[tokio::test]
async fn r21_silent_and_kept_alive_connections_are_closed() {
    use std::io::Write;
    let daemon = Daemon::start_with_config("[rpc]\nheader_timeout_ms = 300\n");
    let mut silent = std::os::unix::net::UnixStream::connect(daemon.socket()).unwrap();
    assert!(read_until_closed(&mut silent).is_empty());
    // After one answer, a kept-alive connection that asks nothing more is closed too.
    let mut kept = std::os::unix::net::UnixStream::connect(daemon.socket()).unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"daemon.hello"}"#;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    kept.write_all(format!("{head}{body}").as_bytes()).unwrap();
    let answer = String::from_utf8(read_until_closed(&mut kept)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("api_version"), "{answer}");
}

/// Opens a WebSocket on the socket by hand and subscribes to events; the stream is then never read.
fn raw_subscriber(daemon: &Daemon) -> std::os::unix::net::UnixStream {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(daemon.socket()).unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 101"), "{line}");
    while line != "\r\n" {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }
    // One masked text frame, as clients must send.
    let payload = br#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe"}"#;
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(index, byte)| byte ^ mask[index % 4]));
    stream.write_all(&frame).unwrap();
    // The answer: a text frame with the subscription's id (after the daemon's first ping, which goes unanswered).
    loop {
        let mut head = [0u8; 2];
        std::io::Read::read_exact(&mut reader, &mut head).unwrap();
        let mut payload = vec![0u8; usize::from(head[1])];
        std::io::Read::read_exact(&mut reader, &mut payload).unwrap();
        if head[0] == 0x89 {
            continue;
        }
        let answer = String::from_utf8(payload).unwrap();
        assert!(head[0] == 0x81 && answer.contains(r#""result":"#), "{head:?} {answer}");
        return stream;
    }
}

/// Waits until the daemon has closed its side of `stream`, without reading what is pending; at most 60 s.
fn wait_closed_by_daemon(stream: &std::os::unix::net::UnixStream) {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd { fd: stream.as_raw_fd(), events: libc::POLLRDHUP, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut poll, 1, 60_000) };
    assert!(ready == 1 && poll.revents & (libc::POLLRDHUP | libc::POLLHUP) != 0, "the daemon kept the connection");
}

// See: issue 21, item 3 ("memory grew 17 → 58 MB with one such client").
#[tokio::test]
async fn r21_a_subscriber_that_never_reads_is_cut_off() {
    let daemon = Daemon::start_with_config("[rpc]\nidle_timeout_ms = 2000\nmessage_buffer = 8\n");
    let stuck = raw_subscriber(&daemon);
    let client = daemon.client().await;
    // Far more events than its buffer and the socket's hold.
    for batch in 0..2 {
        let listens = (0..5000)
            .map(|index| new_listen("Stereolab", &format!("Track {batch}-{index}"), 1_700_000_000 + index))
            .collect();
        client.listens_add(None, Some(listens)).await.unwrap();
    }
    // Cut off, whether still sending it events (its full buffer unread) or with nothing more to send
    // (nothing moving): the daemon closes the connection.
    wait_closed_by_daemon(&stuck);
    let (rss, _) = daemon.rss();
    assert!(rss < 400 << 20, "the daemon holds {} MB", rss >> 20);
    // Only that connection was closed.
    assert_eq!(client.status().await.unwrap().counts.listens, 10_000);
}
