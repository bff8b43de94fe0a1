//! The scrobbling endpoints through a real musiqued over HTTP: every
//! ListenBrainz validation rule and error body, the Last.fm 2.0 methods with
//! their signatures, error and ignored codes, credentials and revocation,
//! rate limits, transport limits, durability of acknowledged listens and many
//! concurrent submitters.

use std::collections::BTreeMap;
use std::time::Duration;

use md5::{Digest, Md5};
use musique_api::{Event, MusiqueApiClient};
use musique_tests::Daemon;
use musique_tests::all_listens;
use musique_tests::scrobble::{Issued, create_token};
use serde_json::{Value, json};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn listen_count(daemon: &Daemon) -> u64 {
    daemon.client().await.status().await.expect("status").counts.listens
}

/// An answer: status, headers and body as JSON (or `Value::String` when not JSON).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, headers, body }
}

async fn submit(http: &reqwest::Client, url: &str, token: Option<&str>, body: impl Into<reqwest::Body>) -> Answer {
    let mut request = http.post(format!("{url}/1/submit-listens")).body(body);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Token {token}"));
    }
    answer(request.send().await.expect("POST submit-listens")).await
}

async fn get(http: &reqwest::Client, url: &str) -> Answer {
    answer(http.get(url).send().await.expect("GET")).await
}

/// GETs with a ListenBrainz token, as reading the history needs.
async fn read(http: &reqwest::Client, token: Option<&str>, url: &str) -> Answer {
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Token {token}"));
    }
    answer(request.send().await.expect("GET")).await
}

fn listen(at: i64, artist: &str, track: &str) -> Value {
    json!({"listened_at": at, "track_metadata": {"artist_name": artist, "track_name": track}})
}

/// Sends raw bytes and reads the answer until its `Content-Length` is in, the server
/// closes, or 20 s pass (a server reading the rest of a refused body closes later).
fn raw_request(url: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(request.as_bytes()).expect("send");
    let mut reply = Vec::new();
    let mut buffer = vec![0; 64 * 1024];
    while !whole_answer(&reply) {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => reply.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// Whether a raw answer holds its head and the whole body its `Content-Length` announces.
fn whole_answer(reply: &[u8]) -> bool {
    let Some(end) = reply.windows(4).position(|window| window == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&reply[..end]).to_ascii_lowercase();
    let length = head.lines().find_map(|line| line.strip_prefix("content-length:")?.trim().parse::<usize>().ok());
    length.is_some_and(|length| reply.len() >= end + 4 + length)
}

fn lb_error(code: u16, message: &str) -> Value {
    json!({"code": code, "error": message})
}

#[tokio::test]
async fn listenbrainz_endpoint_rules_errors_and_reads() {
    let daemon = Daemon::start();
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let token = create_token(&daemon, "navidrome", "listenbrainz");
    let secret = Some(token.secret.as_str());
    let start = now() - 10_000;

    // validate-token: valid, invalid (still 200), missing (400), and the legacy query form.
    let valid = answer(
        http.get(format!("{url}/1/validate-token"))
            .header("Authorization", format!("Token {}", token.secret))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(valid.status, 200);
    assert_eq!(valid.body, json!({"code": 200, "message": "Token valid.", "valid": true, "user_name": token.user}));
    for header in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset-in", "x-ratelimit-reset"] {
        assert!(valid.headers.contains_key(header), "{header} is sent");
    }
    let invalid =
        answer(http.get(format!("{url}/1/validate-token")).header("Authorization", "Token nope").send().await.unwrap())
            .await;
    assert_eq!(
        (invalid.status, invalid.body),
        (200, json!({"code": 200, "message": "Token invalid.", "valid": false}))
    );
    let missing = get(&http, &format!("{url}/1/validate-token")).await;
    assert_eq!((missing.status, missing.body), (400, lb_error(400, "You need to provide an Authorization token.")));
    let legacy = get(&http, &format!("{url}/1/validate-token?token={}", token.secret)).await;
    assert_eq!(legacy.body["valid"], true);

    // Refusals change nothing.
    let one = json!({"listen_type": "single", "payload": [listen(start, "Rick Astley", "Never Gonna Give You Up")]});
    let refused = submit(&http, &url, None, one.to_string()).await;
    assert_eq!((refused.status, refused.body), (401, lb_error(401, "You need to provide an Authorization header.")));
    let refused = submit(&http, &url, Some("not-a-token"), one.to_string()).await;
    assert_eq!((refused.status, refused.body), (401, lb_error(401, "Invalid authorization token.")));
    let refused = submit(&http, &url, secret, "{\"listen_type\": \"single\", \"payload\": [").await;
    assert_eq!(refused.status, 400);
    assert!(refused.body["error"].as_str().unwrap().starts_with("Cannot parse JSON document"), "{}", refused.body);
    let refused = submit(&http, &url, secret, json!({"listen_type": "scrobble", "payload": []}).to_string()).await;
    assert_eq!(refused.body, lb_error(400, "JSON document requires a valid listen_type key."));
    let two = json!({"listen_type": "single", "payload": [listen(start, "A", "T"), listen(start + 1, "A", "T")]});
    let refused = submit(&http, &url, secret, two.to_string()).await;
    assert_eq!(
        refused.body,
        lb_error(400, "JSON document contains more than listen for a single/playing_now. It should contain only one.")
    );
    let mut batch: Vec<Value> =
        (0..10).map(|index| listen(start + index * 60, "Batch", &format!("Song {index}"))).collect();
    batch[7] = json!({"listened_at": start, "track_metadata": {"artist_name": "Batch"}});
    let refused = submit(&http, &url, secret, json!({"listen_type": "import", "payload": batch}).to_string()).await;
    assert_eq!(refused.status, 400);
    let message = refused.body["error"].as_str().unwrap();
    assert!(message.contains("track_name") && message.contains("listen 7"), "{message}");
    // An oversized body is refused on its declared length, before it is sent.
    let head = raw_request(
        &url,
        &format!(
            "POST /1/submit-listens HTTP/1.1\r\nHost: localhost\r\nAuthorization: Token {}\r\nContent-Length: {}\r\n\r\n",
            token.secret,
            11 * 1024 * 1024
        ),
    );
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("\"code\":413"), "{head}");
    assert_eq!(listen_count(&daemon).await, 0, "nothing refused was stored");

    // A single listen, sent twice (a client retry), is stored once.
    let ok = submit(&http, &url, secret, one.to_string()).await;
    assert_eq!((ok.status, &ok.body), (200, &json!({"status": "ok"})));
    assert_eq!(submit(&http, &url, secret, one.to_string()).await.status, 200);
    assert_eq!(listen_count(&daemon).await, 1);

    // An import of the maximum size; one more is refused.
    let thousand: Vec<Value> =
        (0..1000).map(|index| listen(start - 1 - index * 30, "Importer", &format!("Track {index}"))).collect();
    let ok = submit(&http, &url, secret, json!({"listen_type": "import", "payload": thousand}).to_string()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(listen_count(&daemon).await, 1001);
    let too_many: Vec<Value> = (0..1001).map(|index| listen(start - index, "X", "Y")).collect();
    let refused = submit(&http, &url, secret, json!({"listen_type": "import", "payload": too_many}).to_string()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(listen_count(&daemon).await, 1001);

    // playing_now: an event, the playing-now endpoint, and an msid when asked.
    let subscriber = daemon.client().await;
    let mut events = subscriber.events_subscribe().await.expect("subscribe");
    let user = &token.user;
    let nothing = read(&http, secret, &format!("{url}/1/user/{user}/playing-now")).await;
    assert_eq!(nothing.body["payload"]["count"], 0);
    let playing = json!({"listen_type": "playing_now", "payload": [{"track_metadata": {"artist_name": "Aphex Twin", "track_name": "Xtal", "additional_info": {"duration_ms": 291000}}}]});
    let ok = answer(
        http.post(format!("{url}/1/submit-listens?return_msid=true"))
            .header("Authorization", format!("Token {}", token.secret))
            .body(playing.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ok.body["status"], "ok");
    assert_eq!(ok.body["recording_msid"].as_str().map(str::len), Some(36));
    let event = tokio::time::timeout(Duration::from_secs(30), events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(
        event,
        Event::NowPlaying {
            source: "navidrome".into(),
            artist: "Aphex Twin".into(),
            track: "Xtal".into(),
            album: None
        }
    );
    let now_playing = read(&http, secret, &format!("{url}/1/user/{user}/playing-now")).await;
    assert_eq!(now_playing.body["payload"]["count"], 1);
    assert_eq!(now_playing.body["payload"]["playing_now"], true);
    assert_eq!(now_playing.body["payload"]["listens"][0]["track_metadata"]["track_name"], "Xtal");
    assert_eq!(listen_count(&daemon).await, 1001, "now playing is not a listen");

    // Reading back: newest first, default count, clamping, paging and errors.
    let page = read(&http, secret, &format!("{url}/1/user/{user}/listens")).await;
    let listens = page.body["payload"]["listens"].as_array().unwrap();
    assert_eq!(listens.len(), 25);
    assert_eq!(listens[0]["listened_at"], start);
    assert_eq!(listens[0]["track_metadata"]["artist_name"], "Rick Astley");
    assert_eq!(listens[0]["user_name"], user.as_str());
    assert_eq!(page.body["payload"]["latest_listen_ts"], start);
    assert_eq!(page.body["payload"]["oldest_listen_ts"], start - 1 - 999 * 30);
    let clamped = read(&http, secret, &format!("{url}/1/user/{user}/listens?count=5000")).await;
    assert_eq!(clamped.body["payload"]["count"], 1000);
    let before = read(&http, secret, &format!("{url}/1/user/{user}/listens?max_ts={start}&count=2")).await;
    let times: Vec<i64> = before.body["payload"]["listens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["listened_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times, [start - 1, start - 31], "max_ts is exclusive");
    let after =
        read(&http, secret, &format!("{url}/1/user/{user}/listens?min_ts={}&count=2", start - 1 - 999 * 30)).await;
    let times: Vec<i64> = after.body["payload"]["listens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["listened_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times, [start - 1 - 997 * 30, start - 1 - 998 * 30], "the listens just after min_ts, newest first");
    let bad = read(&http, secret, &format!("{url}/1/user/{user}/listens?min_ts=10&max_ts=10")).await;
    assert_eq!((bad.status, bad.body), (400, lb_error(400, "max_ts should be greater than min_ts")));
    let bad = read(&http, secret, &format!("{url}/1/user/{user}/listens?count=many")).await;
    assert_eq!(bad.status, 400);
    let unknown = read(&http, secret, &format!("{url}/1/user/nosuchuser/listens")).await;
    assert_eq!((unknown.status, unknown.body), (404, lb_error(404, "Cannot find user: nosuchuser")));
    let count = read(&http, secret, &format!("{url}/1/user/{user}/listen-count")).await;
    assert_eq!(count.body, json!({"payload": {"count": 1001}}));

    // Other paths and methods, and health.
    assert_eq!(get(&http, &format!("{url}/1/no-such-thing")).await.status, 404);
    assert_eq!(get(&http, &format!("{url}/1/submit-listens")).await.status, 405);
    let health = read(&http, secret, &format!("{url}/health")).await;
    assert_eq!((health.status, &health.body["status"], &health.body["listens"]), (200, &json!("ok"), &json!(1001)));

    // A revoked token is refused at once.
    let (code, _, stderr) = daemon.ctl(&["tokens", "revoke", "navidrome"]);
    assert_eq!(code, 0, "{stderr}");
    let refused = submit(&http, &url, secret, one.to_string()).await;
    assert_eq!((refused.status, refused.body), (401, lb_error(401, "Invalid authorization token.")));
}

#[tokio::test]
async fn rate_limits_are_per_token() {
    let daemon = Daemon::start_with_config("[http]\nlisten = \"127.0.0.1:0\"\nrate_limit = 3\nrate_window_s = 3600\n");
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let (first, second) =
        (create_token(&daemon, "first", "listenbrainz"), create_token(&daemon, "second", "listenbrainz"));
    let body = |at: i64| json!({"listen_type": "single", "payload": [listen(at, "A", &format!("T{at}"))]}).to_string();
    let base = now() - 1000;
    for at in 0..3 {
        let ok = submit(&http, &url, Some(&first.secret), body(base + at)).await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.headers["x-ratelimit-remaining"], (2 - at).to_string().as_str());
    }
    let limited = submit(&http, &url, Some(&first.secret), body(base + 3)).await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.body,
        lb_error(
            429,
            "You have exceeded your rate limit. See the X-RateLimit-* response headers for more information on your current rate limit."
        )
    );
    assert_eq!(limited.headers["x-ratelimit-limit"], "3");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    let reset_in: u64 = limited.headers["x-ratelimit-reset-in"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&reset_in), "{reset_in}");
    assert_eq!(
        submit(&http, &url, Some(&second.secret), body(base + 4)).await.status,
        200,
        "another token has its own budget"
    );
    assert_eq!(listen_count(&daemon).await, 4, "the limited request stored nothing");
}

/// A signed Last.fm 2.0 request.
struct Lastfm {
    http: reqwest::Client,
    url: String,
    api_key: String,
    secret: String,
}

impl Lastfm {
    fn new(url: &str, issued: &Issued) -> Lastfm {
        Lastfm {
            http: reqwest::Client::new(),
            url: format!("{url}/2.0/"),
            api_key: issued.info.api_key.clone().expect("api key"),
            secret: issued.secret.clone(),
        }
    }

    /// POSTs `method` with `pairs`, the API key, and a signature made with `secret` (none when `None`).
    async fn call_with(&self, method: &str, pairs: &[(&str, &str)], secret: Option<&str>) -> Answer {
        let mut params: BTreeMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        params.insert("method".into(), method.into());
        params.entry("api_key".into()).or_insert_with(|| self.api_key.clone());
        if let Some(secret) = secret {
            let sig = musique_tests::lastfm::api_sig(&params, secret);
            params.insert("api_sig".into(), sig);
        }
        answer(self.http.post(&self.url).form(&params).send().await.expect("POST /2.0/")).await
    }

    async fn call(&self, method: &str, pairs: &[(&str, &str)]) -> Answer {
        self.call_with(method, pairs, Some(&self.secret.clone())).await
    }
}

fn code_of(answer: &Answer) -> Option<i64> {
    answer.body["error"].as_i64()
}

#[tokio::test]
async fn lastfm_sessions_scrobbles_and_error_codes() {
    let mut daemon = Daemon::start();
    // Everything logged, so the end can check no secret was.
    daemon.stop();
    daemon.set_log_level("debug");
    daemon.restart();
    let url = daemon.http_url().await;
    let issued = create_token(&daemon, "scrobbler", "lastfm");
    let api = Lastfm::new(&url, &issued);
    let user = issued.user.clone();
    let json_format = ("format", "json");

    // Keys, signatures and passwords.
    let unknown = api.call_with("auth.getMobileSession", &[("api_key", "0123"), json_format], Some("x")).await;
    assert_eq!((unknown.status, code_of(&unknown)), (403, Some(10)));
    let xml = api.call_with("auth.getMobileSession", &[("api_key", "0123")], Some("x")).await;
    let text = xml.body.as_str().expect("XML by default");
    assert!(text.contains("<lfm status=\"failed\"><error code=\"10\">"), "{text}");
    let creds = [("username", user.as_str()), ("password", issued.secret.as_str()), json_format];
    let bad_sig = api.call_with("auth.getMobileSession", &creds, Some("wrong secret")).await;
    assert_eq!(code_of(&bad_sig), Some(13));
    assert_eq!(code_of(&api.call_with("auth.getMobileSession", &creds, None).await), Some(13), "unsigned");
    let wrong =
        api.call("auth.getMobileSession", &[("username", user.as_str()), ("password", "guess"), json_format]).await;
    assert_eq!((wrong.status, code_of(&wrong)), (403, Some(4)));
    let stranger =
        api.call("auth.getMobileSession", &[("username", "stranger"), ("password", &issued.secret), json_format]).await;
    assert_eq!(code_of(&stranger), Some(4));
    let session = api.call("auth.getMobileSession", &creds).await;
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.body["session"]["name"], user.as_str());
    assert_eq!(session.body["session"]["subscriber"], 0, "a number, as Last.fm sends it");
    let sk = session.body["session"]["key"].as_str().unwrap().to_owned();
    let auth_token = {
        let inner = format!("{:x}", Md5::digest(issued.secret.as_bytes()));
        format!("{:x}", Md5::digest(format!("{user}{inner}").as_bytes()))
    };
    let older = api.call("auth.getMobileSession", &[("username", &user), ("authToken", &auth_token)]).await;
    let text = older.body.as_str().expect("XML");
    assert!(text.starts_with("<?xml") && text.contains("<lfm status=\"ok\"><session><name>"), "{text}");

    // Now playing: needs a session.
    let no_session =
        api.call("track.updateNowPlaying", &[("artist", "Aphex Twin"), ("track", "Xtal"), json_format]).await;
    assert_eq!(code_of(&no_session), Some(9));
    let bad_session =
        api.call("track.updateNowPlaying", &[("artist", "A"), ("track", "T"), ("sk", "nope"), json_format]).await;
    assert_eq!(code_of(&bad_session), Some(9));
    let playing = api.call("track.updateNowPlaying", &[("artist", "Aphex Twin"), ("track", "Xtal"), ("sk", &sk)]).await;
    let text = playing.body.as_str().unwrap();
    assert!(
        text.contains("<nowplaying><track corrected=\"0\">Xtal</track><artist corrected=\"0\">Aphex Twin</artist>"),
        "{text}"
    );
    assert!(text.contains("<ignoredMessage code=\"0\"></ignoredMessage>"), "{text}");
    let missing = api.call("track.updateNowPlaying", &[("artist", "Aphex Twin"), ("sk", &sk), json_format]).await;
    assert_eq!((missing.status, code_of(&missing)), (400, Some(6)));

    // A batch with ignored items; JSON with @attr.
    let base = now() - 5000;
    let (ok0, ok2) = (base.to_string(), (base + 300).to_string());
    let batch = api
        .call(
            "track.scrobble",
            &[
                ("artist[0]", "BANKS"),
                ("track[0]", "Love Is Unkind"),
                ("timestamp[0]", &ok0),
                ("album[0]", "Off With Her Head"),
                ("artist[1]", "Old"),
                ("track[1]", "Song"),
                ("timestamp[1]", "1000000000"),
                ("artist[2]", "Mk.gee"),
                ("track[2]", "You"),
                ("timestamp[2]", &ok2),
                ("artist[3]", "Future"),
                ("track[3]", "Song"),
                ("timestamp[3]", &(now() + 7200).to_string()),
                ("artist[4]", " "),
                ("track[4]", "Nobody"),
                ("timestamp[4]", &ok0),
                ("sk", &sk),
                json_format,
            ],
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    let scrobbles = &batch.body["scrobbles"];
    assert_eq!(scrobbles["@attr"], json!({"accepted": 2, "ignored": 3}));
    let codes: Vec<&str> = scrobbles["scrobble"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ignoredMessage"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["0", "3", "0", "4", "1"]);
    assert_eq!(scrobbles["scrobble"][0]["album"], json!({"corrected": "0", "#text": "Off With Her Head"}));
    assert_eq!(listen_count(&daemon).await, 2);
    let single = api
        .call(
            "track.scrobble",
            &[
                ("artist", "Björk"),
                ("track", "Wanderlust"),
                ("timestamp", &(base + 600).to_string()),
                ("sk", &sk),
                json_format,
            ],
        )
        .await;
    assert_eq!(single.body["scrobbles"]["@attr"]["accepted"], 1);
    assert!(single.body["scrobbles"]["scrobble"].is_object(), "one scrobble is an object");
    assert_eq!(listen_count(&daemon).await, 3);

    // Malformed batches are refused whole.
    let mut fifty_one: Vec<(String, String)> = Vec::new();
    for index in 0..51 {
        fifty_one.push((format!("artist[{index}]"), "A".into()));
        fifty_one.push((format!("track[{index}]"), format!("T{index}")));
        fifty_one.push((format!("timestamp[{index}]"), (base + index).to_string()));
    }
    let mut pairs: Vec<(&str, &str)> = fifty_one.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.extend([("sk", sk.as_str()), json_format]);
    assert_eq!(code_of(&api.call("track.scrobble", &pairs).await), Some(6));
    let no_track =
        api.call("track.scrobble", &[("artist[0]", "A"), ("timestamp[0]", &ok0), ("sk", &sk), json_format]).await;
    assert_eq!(code_of(&no_track), Some(6));
    let bad_time = api
        .call(
            "track.scrobble",
            &[("artist[0]", "A"), ("track[0]", "T"), ("timestamp[0]", "yesterday"), ("sk", &sk), json_format],
        )
        .await;
    assert_eq!(code_of(&bad_time), Some(6));
    assert_eq!(listen_count(&daemon).await, 3, "refused batches store nothing");

    // Methods and users.
    assert_eq!(code_of(&api.call("artist.getInfo", &[("artist", "A"), ("sk", &sk), json_format]).await), Some(3));
    assert_eq!(code_of(&api.call("", &[json_format]).await), Some(3));
    let info = api.call_with("user.getInfo", &[("user", &user), json_format], None).await;
    assert_eq!(info.body["user"]["playcount"], "3");
    assert_eq!(info.body["user"]["name"], user.as_str());
    let nobody = api.call_with("user.getInfo", &[("user", "nobody"), json_format], None).await;
    assert_eq!(code_of(&nobody), Some(6));

    // The desktop flow: getToken, then getSession once.
    let token = api.call("auth.getToken", &[json_format]).await;
    let token = token.body["token"].as_str().unwrap().to_owned();
    let page = get(&api.http, &format!("{url}/api/auth/?api_key={}&token={token}", api.api_key)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.as_str().unwrap().contains("scrobbler"));
    let web = api.call("auth.getSession", &[("token", &token), json_format]).await;
    assert!(web.body["session"]["key"].is_string(), "{}", web.body);
    assert_eq!(web.body["session"]["subscriber"], 0);
    assert_eq!(
        code_of(&api.call("auth.getSession", &[("token", &token), json_format]).await),
        Some(4),
        "a token is used once"
    );

    // Sessions survive a restart; revoking the credential ends them.
    daemon.stop();
    daemon.restart();
    let url = daemon.http_url().await;
    let api = Lastfm { url: format!("{url}/2.0/"), ..api };
    let after = api
        .call(
            "track.scrobble",
            &[
                ("artist", "Stereolab"),
                ("track", "French Disko"),
                ("timestamp", &(base + 900).to_string()),
                ("sk", &sk),
                json_format,
            ],
        )
        .await;
    assert_eq!(after.body["scrobbles"]["@attr"]["accepted"], 1, "{}", after.body);
    let (code, _, stderr) = daemon.ctl(&["tokens", "revoke", &issued.info.id.to_string()]);
    assert_eq!(code, 0, "{stderr}");
    let revoked = api
        .call("track.scrobble", &[("artist", "A"), ("track", "T"), ("timestamp", &ok0), ("sk", &sk), json_format])
        .await;
    assert_eq!(code_of(&revoked), Some(10));
    assert_eq!(listen_count(&daemon).await, 4);
    let (_, listed, _) = daemon.ctl(&["tokens", "list"]);
    assert!(listed.contains("no credentials"), "{listed}");

    let log = daemon.log();
    assert!(log.contains("DEBUG"), "the log was at debug level");
    for secret in [issued.secret.as_str(), sk.as_str(), token.as_str(), auth_token.as_str()] {
        assert!(!log.contains(secret), "a secret is in the daemon log");
    }
}

#[tokio::test]
async fn concurrent_submitters_are_stored_exactly_once_and_survive_a_crash() {
    let mut daemon = Daemon::start();
    let url = daemon.http_url().await;
    let tokens: Vec<Issued> =
        (0..8).map(|index| create_token(&daemon, &format!("client-{index}"), "listenbrainz")).collect();
    let base = now() - 100_000;
    let mut tasks = Vec::new();
    for (client, token) in tokens.iter().enumerate() {
        let (url, token) = (url.clone(), token.secret.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            // Each client sends 60 singles: 40 of its own, 20 shared with every other client.
            for index in 0..60_i64 {
                let (at, track) = if index < 40 {
                    (base + client as i64 * 1000 + index * 10, format!("Own {client}-{index}"))
                } else {
                    (base + 50_000 + index * 10, format!("Shared {index}"))
                };
                let body = json!({"listen_type": "single", "payload": [listen(at, "Concurrent", &track)]}).to_string();
                let ok = submit(&http, &url, Some(&token), body).await;
                assert_eq!(ok.status, 200, "{}", ok.body);
            }
            // And one import batch.
            let batch: Vec<Value> = (0..100_i64)
                .map(|index| {
                    listen(base + 60_000 + client as i64 * 2000 + index * 10, "Batch", &format!("B{client}-{index}"))
                })
                .collect();
            let ok =
                submit(&http, &url, Some(&token), json!({"listen_type": "import", "payload": batch}).to_string()).await;
            assert_eq!(ok.status, 200);
        }));
    }
    for task in tasks {
        task.await.expect("submitter");
    }
    let expected = 8 * 40 + 20 + 8 * 100;
    assert_eq!(listen_count(&daemon).await, expected);
    // Every 200 meant durable: a crash right now loses nothing.
    daemon.kill9();
    daemon.restart();
    assert_eq!(listen_count(&daemon).await, expected);
    let client = daemon.client().await;
    let page = client
        .listens_list(
            Some(musique_api::TimeArg::Unix(base + 50_000)),
            Some(musique_api::TimeArg::Unix(base + 60_000)),
            Some(1000),
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.listens.len(), 20);
    assert!(page.listens.iter().all(|listen| listen.sources.len() == 8), "a play sent by 8 clients has 8 sources");
}

#[tokio::test]
async fn transport_limits_tls_and_switches() {
    use std::io::{Read, Write};
    let daemon = Daemon::start_with_config("[http]\nlisten = \"127.0.0.1:0\"\nheader_timeout_ms = 300\n");
    let url = daemon.http_url().await;
    let address = url.trim_start_matches("http://").to_owned();

    // A client that never finishes its headers is cut off.
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    slow.write_all(b"POST /1/submit-listens HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut buffer = Vec::new();
    let read = slow.read_to_end(&mut buffer);
    assert!(read.is_ok(), "the server closed the connection: {read:?}");
    // Garbage instead of HTTP gets a 400, not a crash.
    let mut garbage = std::net::TcpStream::connect(&address).unwrap();
    garbage.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    garbage.write_all(b"\x16\x03\x01 definitely not http\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = garbage.read_to_string(&mut reply);
    assert!(reply.is_empty() || reply.starts_with("HTTP/1.1 400"), "{reply:?}");
    // An oversized Last.fm body.
    let http = reqwest::Client::new();
    let big =
        answer(http.post(format!("{url}/2.0/?format=json")).body(vec![b'a'; 2 * 1024 * 1024]).send().await.unwrap())
            .await;
    assert_eq!((big.status, code_of(&big)), (413, Some(6)));
    let health = get(&http, &format!("{url}/health")).await;
    assert_eq!(health.status, 200, "still serving");

    // Turned off: no listener, and the status says so.
    let off = Daemon::start_with_config("[http]\nenabled = false\n");
    let status = off.client().await.status().await.unwrap();
    assert_eq!(status.http, None);
    let component = status.components.iter().find(|component| component.name == "http").unwrap();
    assert_eq!(component.state, "off");

    // A port in use: the daemon runs, the status tells why there are no endpoints.
    let taken = Daemon::start_with_config(&format!("[http]\nlisten = \"{address}\"\n"));
    let status = taken.client().await.status().await.unwrap();
    let component = status.components.iter().find(|component| component.name == "http").unwrap();
    assert_eq!(component.state, "failed");
    assert!(component.detail.as_deref().unwrap().contains(&address), "{component:?}");
}

fn md5_hex(text: &str) -> String {
    format!("{:x}", Md5::digest(text.as_bytes()))
}

/// Whether `listens.list` says the (first) listen of this track is loved.
async fn loved(daemon: &Daemon, track: &str) -> bool {
    let listens = all_listens(daemon).await;
    listens.iter().find(|listen| listen.track == track).unwrap_or_else(|| panic!("no listen of {track}")).loved
}

/// A Last.fm session key for a credential, through `auth.getMobileSession`.
async fn session_key(api: &Lastfm, user: &str) -> String {
    let session =
        api.call("auth.getMobileSession", &[("username", user), ("password", &api.secret), ("format", "json")]).await;
    session.body["session"]["key"].as_str().unwrap_or_else(|| panic!("no session: {}", session.body)).to_owned()
}

// See: issue 11, item 8 (Last.fm clients).
#[tokio::test]
async fn r11_lastfm_reads_loves_and_sign_in_as_clients_send_them() {
    let daemon = Daemon::start();
    let url = daemon.http_url().await;
    let issued = create_token(&daemon, "phone", "lastfm");
    let api = Lastfm::new(&url, &issued);
    let user = issued.user.clone();
    let json_format = ("format", "json");

    // pyscrobbler hashes the user name lower-cased, whatever was typed.
    let typed = user.to_uppercase();
    let lowered = md5_hex(&format!("{}{}", user.to_lowercase(), md5_hex(&issued.secret)));
    let session =
        api.call("auth.getMobileSession", &[("username", &typed), ("authToken", &lowered), json_format]).await;
    assert_eq!(session.status, 200, "{}", session.body);
    assert_eq!(session.body["session"]["subscriber"], 0);
    let sk = session.body["session"]["key"].as_str().unwrap().to_owned();
    let wrong = md5_hex(&format!("{}{}", user.to_lowercase(), md5_hex("guess")));
    let refused = api.call("auth.getMobileSession", &[("username", &typed), ("authToken", &wrong), json_format]).await;
    assert_eq!((refused.status, code_of(&refused)), (403, Some(4)));

    // Methods musique does not serve are error 3, signed or not; never a signature error.
    for secret in [None, Some(issued.secret.as_str())] {
        let unserved = api.call_with("track.getInfo", &[("artist", "A"), ("track", "T"), json_format], secret).await;
        assert_eq!((unserved.status, code_of(&unserved)), (400, Some(3)), "{}", unserved.body);
    }
    let xml = api.call_with("user.getTopArtists", &[("user", &user)], None).await;
    assert!(xml.body.as_str().unwrap().contains("<error code=\"3\">"), "{}", xml.body);
    let no_key = get(&api.http, &format!("{url}/2.0/?method=user.getRecentTracks&user={user}&format=json")).await;
    assert_eq!(code_of(&no_key), Some(10), "reads still name an API key");

    // Five scrobbles and something playing now.
    let base = now() - 10_000;
    let plays = [
        ("Stereolab", "French Disko", "Transient Random-Noise Bursts"),
        ("Portishead", "Roads", "Dummy"),
        ("Daft Punk feat. Pharrell Williams", "Get Lucky", "Random Access Memories"),
        ("Stereolab", "Cybele's Reverie", "Emperor Tomato Ketchup"),
        ("Björk", "Jóga", "Homogenic"),
    ];
    let mut batch: Vec<(String, String)> = vec![("sk".into(), sk.clone())];
    for (index, (artist, track, album)) in plays.iter().enumerate() {
        batch.push((format!("artist[{index}]"), (*artist).into()));
        batch.push((format!("track[{index}]"), (*track).into()));
        batch.push((format!("album[{index}]"), (*album).into()));
        batch.push((format!("timestamp[{index}]"), (base + index as i64 * 300).to_string()));
    }
    let pairs: Vec<(&str, &str)> = batch.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    assert_eq!(api.call("track.scrobble", &pairs).await.status, 200);
    let now_playing = [("artist", "Aphex Twin"), ("track", "Xtal"), ("duration", "291"), ("sk", sk.as_str())];
    assert_eq!(api.call("track.updateNowPlaying", &now_playing).await.status, 200);

    // Love and unlove set the loved flag.
    let love =
        api.call("track.love", &[("artist", "Stereolab"), ("track", "French Disko"), ("sk", &sk), json_format]).await;
    assert_eq!((love.status, &love.body), (200, &json!({})));
    assert!(loved(&daemon, "French Disko").await);
    let no_session = api.call("track.love", &[("artist", "A"), ("track", "T"), json_format]).await;
    assert_eq!(code_of(&no_session), Some(9));
    let unsigned =
        api.call_with("track.love", &[("artist", "A"), ("track", "T"), ("sk", &sk), json_format], None).await;
    assert_eq!(code_of(&unsigned), Some(13), "writes are signed");
    let love = api.call("track.love", &[("artist", "Portishead"), ("track", "Roads"), ("sk", &sk)]).await;
    assert!(love.body.as_str().unwrap().contains("<lfm status=\"ok\"></lfm>"), "{}", love.body);
    let unlove = api.call("track.unlove", &[("artist", "Portishead"), ("track", "Roads"), ("sk", &sk)]).await;
    assert_eq!(unlove.status, 200, "{}", unlove.body);
    assert!(!loved(&daemon, "Roads").await);
    assert!(loved(&daemon, "French Disko").await);

    // user.getRecentTracks without a signature, in JSON: paging, now playing on page 1.
    let recent = |pairs: &[(&str, &str)]| {
        let mut pairs = pairs.to_vec();
        pairs.push(("user", &user));
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let api = &api;
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            api.call_with("user.getRecentTracks", &pairs, None).await
        }
    };
    let page = recent(&[("limit", "2"), json_format]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let tracks = &page.body["recenttracks"];
    assert_eq!(
        tracks["@attr"],
        json!({"user": user, "page": "1", "perPage": "2", "totalPages": "3", "total": "5"}),
        "Last.fm's paging, as strings"
    );
    let list = tracks["track"].as_array().expect("an array");
    assert_eq!(list.len(), 3, "what plays now, then a page");
    assert_eq!(list[0]["@attr"], json!({"nowplaying": "true"}));
    assert_eq!((&list[0]["name"], &list[0]["artist"]), (&json!("Xtal"), &json!({"mbid": "", "#text": "Aphex Twin"})));
    assert!(list[0].get("date").is_none(), "playing now has no date");
    assert_eq!(list[1]["name"], "Jóga");
    assert_eq!(list[1]["album"], json!({"mbid": "", "#text": "Homogenic"}));
    assert_eq!(list[1]["date"]["uts"], (base + 1200).to_string());
    let shown = list[1]["date"]["#text"].as_str().unwrap();
    assert!(shown.len() == 18 && &shown[2..3] == " " && &shown[11..13] == ", ", "like `20 Oct 2020, 10:03`: {shown}");
    assert_eq!(list[1]["image"].as_array().map(Vec::len), Some(4));
    assert_eq!(list[2]["artist"]["#text"], "Stereolab");
    assert!(list[1].get("loved").is_none(), "loved only when extended");
    let last = recent(&[("limit", "2"), ("page", "3"), json_format]).await;
    let list = last.body["recenttracks"]["track"].as_array().expect("an array, even of one");
    assert_eq!(list.len(), 1);
    assert_eq!((&list[0]["name"], &list[0]["date"]["uts"]), (&json!("French Disko"), &json!(base.to_string())));
    let beyond = recent(&[("limit", "2"), ("page", "4"), json_format]).await;
    assert_eq!(beyond.body["recenttracks"]["track"], json!([]));

    // extended=1: the artist as an object, and the loved flag.
    let extended = recent(&[("limit", "10"), ("extended", "1"), json_format]).await;
    let list = extended.body["recenttracks"]["track"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    assert_eq!(list[0]["artist"]["name"], "Aphex Twin");
    assert_eq!(list[3]["artist"]["name"], "Daft Punk feat. Pharrell Williams", "the credit as scrobbled");
    let loved_flags: Vec<&str> = list[1..].iter().map(|track| track["loved"].as_str().unwrap()).collect();
    assert_eq!(loved_flags, ["0", "0", "0", "0", "1"]);

    // from (inclusive) and to (exclusive); no now-playing entry with a `to`.
    let (from, to) = ((base + 300).to_string(), (base + 1200).to_string());
    let range = recent(&[("from", &from), ("to", &to), json_format]).await;
    let list = range.body["recenttracks"]["track"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|track| track["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Cybele's Reverie", "Get Lucky", "Roads"]);
    assert_eq!(range.body["recenttracks"]["@attr"]["total"], "3");

    // XML, as pylast reads it; a GET with the query string works too.
    let xml = recent(&[("limit", "1")]).await;
    let text = xml.body.as_str().unwrap();
    assert!(
        text.contains(&format!(
            "<recenttracks user=\"{user}\" page=\"1\" perPage=\"1\" totalPages=\"5\" total=\"5\"><track nowplaying=\"true\"><artist mbid=\"\">Aphex Twin</artist><name>Xtal</name>"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("<date uts=\"{}\">", base + 1200)), "{text}");
    let query = get(
        &api.http,
        &format!(
            "{url}/2.0/?method=user.getrecenttracks&user={user}&api_key={}&format=json&limit=1&page=2",
            api.api_key
        ),
    )
    .await;
    assert_eq!(query.body["recenttracks"]["track"][0]["name"], "Cybele's Reverie");

    // Refusals.
    assert_eq!(
        code_of(&api.call_with("user.getRecentTracks", &[("user", "nobody"), json_format], None).await),
        Some(6)
    );
    assert_eq!(code_of(&recent(&[("page", "first"), json_format]).await), Some(6));
    let bad_sig = api.call_with("user.getRecentTracks", &[("user", &user), json_format], Some("not the secret")).await;
    assert_eq!(code_of(&bad_sig), Some(13), "a signature that is given is checked");
    let info = api.call_with("user.getInfo", &[("user", &user), json_format], None).await;
    assert_eq!(info.body["user"]["playcount"], "5");
}

/// What a delete must leave exactly as it was: counts, and charts over all time and over ranges
/// that cut months (counted from listens) and hold whole months (counted from counters).
async fn counts_and_charts(daemon: &Daemon, url: &str, user: &str, token: &str, now: i64) -> Vec<String> {
    use musique_api::{EntityKind, Period, TimeArg};
    let client = daemon.client().await;
    // Artists, albums and tracks stay known when their last listen goes (with no plays).
    let listens = client.status().await.expect("status").counts.listens;
    let mut lines = vec![format!("{listens} listens")];
    let count = read(&reqwest::Client::new(), Some(token), &format!("{url}/1/user/{user}/listen-count")).await;
    lines.push(count.body.to_string());
    let ranges = [None, Some((now - 86_400 * 200, now + 3600)), Some((now - 86_400 * 45, now - 86_400 * 3))];
    for kind in [EntityKind::Artist, EntityKind::Album, EntityKind::Track] {
        for range in ranges {
            let (period, from, to) = match range {
                None => (Some(Period::All), None, None),
                Some((from, to)) => (None, Some(TimeArg::Unix(from)), Some(TimeArg::Unix(to))),
            };
            let top = client
                .stats_top(kind, period, from, to, Some(100), None, None, None, None, None, None)
                .await
                .expect("stats.top");
            assert!(!top.entries.is_empty(), "{kind:?} {range:?}");
            let rows: Vec<String> =
                top.entries.iter().map(|entry| format!("{} {:?} {}", entry.name, entry.artist, entry.plays)).collect();
            lines.push(format!("{kind:?} {range:?}: {rows:?}"));
        }
    }
    lines
}

fn listen_on(at: i64, artist: &str, track: &str, album: &str) -> Value {
    json!({"listened_at": at, "track_metadata": {"artist_name": artist, "track_name": track, "release_name": album}})
}

// See: issue 11, item 8 (ListenBrainz delete-listen).
#[tokio::test]
async fn r11_listenbrainz_delete_listen_leaves_counts_and_charts_exact_across_a_crash() {
    let mut daemon = Daemon::start();
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let token = create_token(&daemon, "navidrome", "listenbrainz");
    let phone = create_token(&daemon, "phone", "listenbrainz");
    let user = token.user.clone();
    let now = now();
    let artists = [("Stereolab", "Dots and Loops"), ("Portishead", "Dummy"), ("Björk", "Post")];
    // Twelve plays nine days apart: over three months or more.
    let kept: Vec<Value> = (0..12)
        .map(|index| {
            let (artist, album) = artists[index as usize % 3];
            listen_on(now - 3600 - index * 86_400 * 9, artist, &format!("Song {}", index % 4), album)
        })
        .collect();
    let ok =
        submit(&http, &url, Some(&token.secret), json!({"listen_type": "import", "payload": kept}).to_string()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let before = counts_and_charts(&daemon, &url, &user, &token.secret, now).await;

    // Three plays to delete: another play of a kept track, a new artist's, and one that a
    // second client reported too, 20 s later (merged into one listen with two sources).
    let doomed = [
        listen_on(now - 86_400 * 20 - 7, "Stereolab", "Song 0", "Dots and Loops"),
        listen_on(now - 86_400 * 50, "Aphex Twin", "Xtal", "Selected Ambient Works 85-92"),
        listen_on(now - 5000, "Portishead", "Song 1", "Dummy"),
    ];
    let ok =
        submit(&http, &url, Some(&token.secret), json!({"listen_type": "import", "payload": doomed}).to_string()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let echo = json!({"listen_type": "single", "payload": [listen_on(now - 4980, "Portishead", "Song 1", "Dummy")]});
    assert_eq!(submit(&http, &url, Some(&phone.secret), echo.to_string()).await.status, 200);
    assert_ne!(counts_and_charts(&daemon, &url, &user, &token.secret, now).await, before);

    // The listens as a client reads them back: listened_at and recording_msid.
    let page = read(&http, Some(&token.secret), &format!("{url}/1/user/{user}/listens?count=100")).await;
    let listens = page.body["payload"]["listens"].as_array().unwrap().clone();
    assert_eq!(listens.len(), 15);
    let msid_at = |at: i64| -> String {
        let listen =
            listens.iter().find(|listen| listen["listened_at"] == at).unwrap_or_else(|| panic!("no listen at {at}"));
        listen["recording_msid"].as_str().unwrap().to_owned()
    };
    let delete = |token: Option<&str>, body: Value| {
        let mut request = http.post(format!("{url}/1/delete-listen")).body(body.to_string());
        if let Some(token) = token {
            request = request.header("Authorization", format!("Token {token}"));
        }
        async move { answer(request.send().await.expect("POST delete-listen")).await }
    };
    let secret = Some(token.secret.as_str());

    // Refusals delete nothing.
    let first = json!({"listened_at": now - 86_400 * 20 - 7, "recording_msid": msid_at(now - 86_400 * 20 - 7)});
    let refused = delete(None, first.clone()).await;
    assert_eq!((refused.status, refused.body), (401, lb_error(401, "You need to provide an Authorization header.")));
    let refused = delete(Some("nope"), first.clone()).await;
    assert_eq!(refused.status, 401);
    let refused = delete(secret, json!({"recording_msid": msid_at(now - 5000)})).await;
    assert_eq!((refused.status, refused.body), (400, lb_error(400, "Listen timestamp missing.")));
    let refused = delete(secret, json!({"listened_at": now - 5000})).await;
    assert_eq!(refused.body, lb_error(400, "Recording MSID missing."));
    let refused = delete(secret, json!({"listened_at": now - 5000, "recording_msid": "not-a-uuid"})).await;
    assert_eq!(refused.status, 400);
    let other_track = json!({"listened_at": now - 5000, "recording_msid": msid_at(now - 3600)});
    assert_eq!(delete(secret, other_track).await.status, 404, "the msid must be the listen's");
    assert_eq!(get(&http, &format!("{url}/1/delete-listen")).await.status, 405);
    assert_eq!(listen_count(&daemon).await, 15);

    // Deleted: by the time read back, and the merged play by the second client's own time.
    let ok = delete(secret, first.clone()).await;
    assert_eq!((ok.status, &ok.body), (200, &json!({"status": "ok"})));
    let ok =
        delete(secret, json!({"listened_at": now - 86_400 * 50, "recording_msid": msid_at(now - 86_400 * 50)})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let merged = json!({"listened_at": now - 4980, "recording_msid": msid_at(now - 5000)});
    let ok = delete(Some(&phone.secret), merged.clone()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let again = delete(secret, first).await;
    assert_eq!(again.status, 404, "already deleted: {}", again.body);
    assert_eq!(delete(secret, merged).await.status, 404);
    assert_eq!(counts_and_charts(&daemon, &url, &user, &token.secret, now).await, before, "as if never stored");
    let sources: Vec<Vec<String>> = all_listens(&daemon).await.into_iter().map(|listen| listen.sources).collect();
    assert!(sources.iter().all(|sources| sources == &["navidrome".to_owned()]), "{sources:?}");

    // Durable: a crash right after changes nothing, and nothing comes back.
    daemon.kill9();
    daemon.restart();
    let url = daemon.http_url().await;
    assert_eq!(counts_and_charts(&daemon, &url, &user, &token.secret, now).await, before);
    // The second client's report is new again once its listen is gone: it is stored anew.
    let echo = json!({"listen_type": "single", "payload": [listen_on(now - 4980, "Portishead", "Song 1", "Dummy")]});
    assert_eq!(submit(&http, &url, Some(&phone.secret), echo.to_string()).await.status, 200);
    assert_eq!(listen_count(&daemon).await, 13);
}

// See: issue 11, item 8 (ListenBrainz love/hate feedback).
#[tokio::test]
async fn r11_listenbrainz_feedback_loves_hates_and_takes_back() {
    let mut daemon = Daemon::start();
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let token = create_token(&daemon, "pano", "listenbrainz");
    let user = token.user.clone();
    let now = now();
    let one = json!({"listen_type": "single", "payload": [listen_on(now - 1000, "Portishead", "Roads", "Dummy")]});
    assert_eq!(submit(&http, &url, Some(&token.secret), one.to_string()).await.status, 200);
    let page = read(&http, Some(&token.secret), &format!("{url}/1/user/{user}/listens")).await;
    let roads = page.body["payload"]["listens"][0]["recording_msid"].as_str().unwrap().to_owned();
    let feedback = |token: Option<&str>, body: Value| {
        let mut request = http.post(format!("{url}/1/feedback/recording-feedback")).body(body.to_string());
        if let Some(token) = token {
            request = request.header("Authorization", format!("Token {token}"));
        }
        async move { answer(request.send().await.expect("POST recording-feedback")).await }
    };
    let listed = |query: &str| {
        let target = format!("{url}/1/feedback/user/{user}/get-feedback{query}");
        let (http, reader) = (&http, token.secret.clone());
        async move { read(http, Some(&reader), &target).await }
    };
    let secret = Some(token.secret.as_str());

    // Love, by msid: the loved flag.
    let ok = feedback(secret, json!({"recording_msid": roads, "score": 1})).await;
    assert_eq!((ok.status, &ok.body), (200, &json!({"status": "ok"})));
    assert!(loved(&daemon, "Roads").await);
    let all = listed("").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!((&all.body["count"], &all.body["total_count"], &all.body["offset"]), (&json!(1), &json!(1), &json!(0)));
    let entry = &all.body["feedback"][0];
    assert_eq!(
        (&entry["recording_msid"], &entry["recording_mbid"], &entry["score"], &entry["user_id"]),
        (&json!(roads), &Value::Null, &json!(1), &json!(user))
    );
    assert!((now - 5..=now + 60).contains(&entry["created"].as_i64().unwrap()), "{entry}");
    assert_eq!(entry["track_metadata"], Value::Null);
    let named = listed("?metadata=true").await;
    assert_eq!(named.body["feedback"][0]["track_metadata"]["artist_name"], "Portishead");
    assert_eq!(named.body["feedback"][0]["track_metadata"]["track_name"], "Roads");

    // Hate takes the love back; score filters.
    assert_eq!(feedback(secret, json!({"recording_msid": roads, "score": -1})).await.status, 200);
    assert!(!loved(&daemon, "Roads").await);
    assert_eq!(listed("?score=1").await.body["count"], 0);
    let hated = listed("?score=-1").await;
    assert_eq!((&hated.body["count"], &hated.body["feedback"][0]["score"]), (&json!(1), &json!(-1)));

    // A recording known only by MBID is kept as such.
    let mbid = "5d7d3d2e-8e6f-4c4e-9b1b-3b0a2f8c2e11";
    assert_eq!(feedback(secret, json!({"recording_mbid": mbid, "score": 1})).await.status, 200);
    let all = listed("?count=1").await;
    assert_eq!((&all.body["count"], &all.body["total_count"]), (&json!(1), &json!(2)), "{}", all.body);
    let second = listed("?count=1&offset=1").await;
    let recordings: Vec<&Value> = [&all.body["feedback"][0], &second.body["feedback"][0]]
        .into_iter()
        .filter(|entry| entry["recording_mbid"] == mbid)
        .collect();
    assert_eq!(recordings.len(), 1, "{} {}", all.body, second.body);

    // Score 0 takes back.
    assert_eq!(feedback(secret, json!({"recording_msid": roads, "score": 0})).await.status, 200);
    assert_eq!(feedback(secret, json!({"recording_mbid": mbid, "score": 0})).await.status, 200);
    assert_eq!(listed("").await.body["total_count"], 0);

    // What plays now can be loved before its first listen is stored.
    let playing = json!({"listen_type": "playing_now", "payload": [{"track_metadata": {"artist_name": "Massive Attack", "track_name": "Teardrop"}}]});
    let answer_now = answer(
        http.post(format!("{url}/1/submit-listens?return_msid=true"))
            .header("Authorization", format!("Token {}", token.secret))
            .body(playing.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let teardrop = answer_now.body["recording_msid"].as_str().unwrap().to_owned();
    assert_eq!(feedback(secret, json!({"recording_msid": teardrop, "score": 1})).await.status, 200);
    let later =
        json!({"listen_type": "single", "payload": [listen_on(now - 10, "Massive Attack", "Teardrop", "Mezzanine")]});
    assert_eq!(submit(&http, &url, Some(&token.secret), later.to_string()).await.status, 200);
    assert!(loved(&daemon, "Teardrop").await);
    let page = read(&http, Some(&token.secret), &format!("{url}/1/user/{user}/listens?count=1")).await;
    assert_eq!(page.body["payload"]["listens"][0]["recording_msid"], teardrop, "one msid per track");

    // A Last.fm client's love is the same flag.
    let lastfm = create_token(&daemon, "phone", "lastfm");
    let api = Lastfm::new(&url, &lastfm);
    let sk = session_key(&api, &user).await;
    assert_eq!(api.call("track.love", &[("artist", "Portishead"), ("track", "Roads"), ("sk", &sk)]).await.status, 200);
    let loves: Vec<Value> = listed("?score=1").await.body["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["recording_msid"].clone())
        .collect();
    assert_eq!(loves, [json!(roads), json!(teardrop)], "newest first");

    // Refusals.
    let refused = feedback(None, json!({"recording_msid": roads, "score": 1})).await;
    assert_eq!(refused.status, 401);
    let refused = feedback(secret, json!({"recording_msid": roads})).await;
    assert_eq!(
        refused.body,
        lb_error(400, "JSON document must contain either recording_msid or recording_mbid, and score top level keys")
    );
    let refused = feedback(secret, json!({"recording_msid": roads, "score": 1, "extra": 1})).await;
    assert_eq!(refused.status, 400);
    assert_eq!(feedback(secret, json!({"recording_msid": roads, "score": 2})).await.status, 400);
    assert_eq!(feedback(secret, json!({"recording_msid": "nope", "score": 1})).await.status, 400);
    let unknown = feedback(secret, json!({"recording_msid": "00000000-0000-4000-8000-000000000000", "score": 1})).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(listed("?score=2").await.status, 400);
    let nobody = read(&http, Some(&token.secret), &format!("{url}/1/feedback/user/nobody/get-feedback")).await;
    assert_eq!(nobody.status, 404);

    // Kept across a restart.
    daemon.stop();
    daemon.restart();
    let url = daemon.http_url().await;
    let after = read(&http, Some(&token.secret), &format!("{url}/1/feedback/user/{user}/get-feedback")).await;
    assert_eq!(after.body["total_count"], 2);
    assert!(loved(&daemon, "Roads").await && loved(&daemon, "Teardrop").await);
}

/// An Audioscrobbler 1.2 answer: its lines.
async fn lines(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.expect("body").lines().map(str::to_owned).collect()
}

// See: issue 11, item 8 (the Audioscrobbler 1.2 protocol of mpdscribble and older players).
#[tokio::test]
async fn r11_audioscrobbler_handshake_now_playing_and_submissions() {
    let mut daemon = Daemon::start();
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let _other = create_token(&daemon, "other", "lastfm");
    let issued = create_token(&daemon, "mpd", "lastfm");
    let user = issued.user.clone();
    let secret = issued.secret.clone();
    let handshake = |query: String| {
        let request = http.get(format!("{url}/?hs=true&{query}"));
        async move { lines(request.send().await.expect("handshake")).await }
    };
    let t = now();

    // The password is the credential's shared secret: md5(md5(secret) + t), or md5(secret + t)
    // from clients that take a 32-digit password for a hash already (mpdscribble).
    let token = md5_hex(&format!("{}{t}", md5_hex(&secret)));
    let session = handshake(format!("p=1.2&c=tst&v=1.0&u={user}&t={t}&a={token}")).await;
    assert_eq!(session.len(), 4, "{session:?}");
    assert_eq!(session[0], "OK");
    assert_eq!(session[1].len(), 32);
    assert_eq!(session[2], format!("{url}/audioscrobbler/nowplaying"));
    assert_eq!(session[3], format!("{url}/audioscrobbler/submissions"));
    let plain = md5_hex(&format!("{secret}{t}"));
    let mpd = handshake(format!("p=1.2&c=mdc&v=0.25&u={user}&t={t}&a={plain}")).await;
    assert_eq!(mpd[0], "OK");
    let via_path = lines(
        http.get(format!("{url}/audioscrobbler/?hs=true&p=1.2.1&u={user}&t={t}&a={token}")).send().await.unwrap(),
    )
    .await;
    assert_eq!(via_path[0], "OK");
    // 1.2.1: an API key, a session of it, and md5(secret + t).
    let api = Lastfm::new(&url, &issued);
    let sk = session_key(&api, &user).await;
    let web = handshake(format!("p=1.2.1&u={user}&t={t}&a={plain}&api_key={}&sk={sk}", api.api_key)).await;
    assert_eq!(web[0], "OK");
    let (id, now_playing_url, submissions_url) = (session[1].clone(), session[2].clone(), session[3].clone());

    // Refusals.
    let wrong = md5_hex(&format!("{}{t}", md5_hex("guess")));
    assert_eq!(handshake(format!("p=1.2&u={user}&t={t}&a={wrong}")).await, ["BADAUTH"]);
    assert_eq!(handshake(format!("p=1.2&u=stranger&t={t}&a={token}")).await, ["BADAUTH"]);
    let late = t - 7200;
    let late_token = md5_hex(&format!("{}{late}", md5_hex(&secret)));
    assert_eq!(handshake(format!("p=1.2&u={user}&t={late}&a={late_token}")).await, ["BADTIME"]);
    assert!(handshake(format!("p=1.1&u={user}&t={t}&a={token}")).await[0].starts_with("FAILED "));
    assert!(handshake(format!("p=1.2&u={user}&t={t}")).await[0].starts_with("FAILED "));

    // Now playing.
    let post = |target: &str, form: Vec<(String, String)>| {
        let request = http.post(target).form(&form);
        async move { lines(request.send().await.expect("POST")).await }
    };
    let form =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>();
    let playing = form(&[
        ("s", &id),
        ("a", "Aphex Twin"),
        ("t", "Xtal"),
        ("b", "Selected Ambient Works"),
        ("l", "291"),
        ("n", "1"),
        ("m", ""),
    ]);
    assert_eq!(post(&now_playing_url, playing).await, ["OK"]);
    let reader = create_token(&daemon, "reader", "listenbrainz");
    let shown = read(&http, Some(&reader.secret), &format!("{url}/1/user/{user}/playing-now")).await;
    let metadata = &shown.body["payload"]["listens"][0]["track_metadata"];
    assert_eq!(
        (&metadata["track_name"], &metadata["additional_info"]["musique_sources"]),
        (&json!("Xtal"), &json!(["mpd"]))
    );
    assert_eq!(post(&now_playing_url, form(&[("s", "nope"), ("a", "A"), ("t", "T")])).await, ["BADSESSION"]);
    assert!(post(&now_playing_url, form(&[("s", &id), ("a", "A")])).await[0].starts_with("FAILED "));

    // Submissions: stored plays, a loved one (mpdscribble sends r[i] twice), and ones left out:
    // a skip, one dated before 2002-10-01, one without a track.
    let (first, second) = ((t - 900).to_string(), (t - 600).to_string());
    let plays = form(&[
        ("s", &id),
        ("a[0]", "Stereolab"),
        ("t[0]", "French Disko"),
        ("i[0]", &first),
        ("o[0]", "P"),
        ("r[0]", ""),
        ("l[0]", "200"),
        ("b[0]", "Transient Random-Noise Bursts"),
        ("n[0]", "3"),
        ("m[0]", ""),
        ("a[1]", "Portishead"),
        ("t[1]", "Roads"),
        ("i[1]", &second),
        ("o[1]", "P"),
        ("r[1]", ""),
        ("r[1]", "L"),
        ("l[1]", "305"),
        ("b[1]", "Dummy"),
        ("a[2]", "Skipped"),
        ("t[2]", "Song"),
        ("i[2]", &second),
        ("o[2]", "L"),
        ("r[2]", "S"),
        ("a[3]", "Old"),
        ("t[3]", "Song"),
        ("i[3]", "1000000000"),
        ("o[3]", "P"),
        ("a[4]", "Nameless"),
        ("t[4]", ""),
        ("i[4]", &second),
        ("o[4]", "P"),
    ]);
    assert_eq!(post(&submissions_url, plays.clone()).await, ["OK"]);
    assert_eq!(post(&submissions_url, plays).await, ["OK"], "a retry");
    let listens = all_listens(&daemon).await;
    let stored: Vec<String> = listens
        .iter()
        .map(|listen| {
            let album = listen.album.as_deref().unwrap_or("-");
            let duration = listen.duration_ms.unwrap_or(0);
            format!(
                "{} {} / {} / {album} {duration} ms loved {}",
                listen.listened_at, listen.artist, listen.track, listen.loved
            )
        })
        .collect();
    assert_eq!(
        stored,
        [
            format!("{} Portishead / Roads / Dummy 305000 ms loved true", t - 600),
            format!("{} Stereolab / French Disko / Transient Random-Noise Bursts 200000 ms loved false", t - 900),
        ]
    );
    assert!(listens.iter().all(|listen| listen.sources == ["mpd"]));
    assert_eq!(
        post(&submissions_url, form(&[("s", "nope"), ("a[0]", "A"), ("t[0]", "T"), ("i[0]", &first)])).await,
        ["BADSESSION"]
    );
    let bad_time =
        post(&submissions_url, form(&[("s", &id), ("a[0]", "A"), ("t[0]", "T"), ("i[0]", "yesterday")])).await;
    assert!(bad_time[0].starts_with("FAILED "), "{bad_time:?}");
    let too_many = post(&submissions_url, form(&[("s", &id), ("a[50]", "A"), ("t[50]", "T"), ("i[50]", &first)])).await;
    assert!(too_many[0].starts_with("FAILED "), "{too_many:?}");
    assert!(lines(http.get(&submissions_url).send().await.unwrap()).await[0].starts_with("FAILED "));
    assert_eq!(listen_count(&daemon).await, 2, "refused submissions store nothing");

    // Sessions end with the daemon: BADSESSION, and a new handshake.
    daemon.stop();
    daemon.restart();
    let url = daemon.http_url().await;
    let port = |target: &str| target.replacen(&target[..target.find("/audioscrobbler").unwrap()], &url, 1);
    let (now_playing_url, submissions_url) = (port(&now_playing_url), port(&submissions_url));
    let third = (t - 300).to_string();
    let play = |id: &str| form(&[("s", id), ("a[0]", "Björk"), ("t[0]", "Jóga"), ("i[0]", &third), ("o[0]", "P")]);
    assert_eq!(post(&submissions_url, play(&id)).await, ["BADSESSION"]);
    let t = now();
    let token = md5_hex(&format!("{}{t}", md5_hex(&secret)));
    let again = lines(http.get(format!("{url}/?hs=true&p=1.2&u={user}&t={t}&a={token}")).send().await.unwrap()).await;
    assert_eq!(again[0], "OK");
    assert_eq!(post(&submissions_url, play(&again[1])).await, ["OK"]);
    assert_eq!(listen_count(&daemon).await, 3);
    // Revoking the credential ends its sessions.
    let (code, _, stderr) = daemon.ctl(&["tokens", "revoke", "mpd"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(post(&now_playing_url, form(&[("s", &again[1]), ("a", "A"), ("t", "T")])).await, ["BADSESSION"]);
}

/// The text of an XML answer, which must be well-formed.
fn well_formed(answer: &Answer) -> &str {
    let text = answer.body.as_str().unwrap_or_else(|| panic!("an XML answer, got {}", answer.body));
    if let Err(err) = roxmltree::Document::parse(text) {
        panic!("not well-formed XML ({err}): {text:?}");
    }
    text
}

// See: issue 21, item 5.
#[tokio::test]
async fn r21_lastfm_xml_answers_parse_whatever_the_names_hold() {
    let daemon = Daemon::start();
    let url = daemon.http_url().await;
    let issued = create_token(&daemon, "xml", "lastfm");
    let api = Lastfm::new(&url, &issued);
    let credentials = [("username", issued.user.as_str()), ("password", issued.secret.as_str()), ("format", "json")];
    let session = api.call("auth.getMobileSession", &credentials).await;
    let sk = session.body["session"]["key"].as_str().expect("a session").to_owned();
    // Characters XML 1.0 cannot carry at all, beside markup and characters it can.
    let hostile = "A\u{1}\u{b}\u{1f}\u{fffe}\u{ffff} & <b>\"'\u{7f}\u{e9}\u{10ffff}";
    let carried = "A\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd} & <b>\"'\u{7f}\u{e9}\u{10ffff}";
    let at = (now() - 600).to_string();
    let playing = api
        .call(
            "track.updateNowPlaying",
            &[("artist", hostile), ("track", hostile), ("album", hostile), ("albumArtist", hostile), ("sk", &sk)],
        )
        .await;
    let scrobbled = api
        .call(
            "track.scrobble",
            &[
                ("artist[0]", hostile),
                ("track[0]", hostile),
                ("album[0]", hostile),
                ("albumArtist[0]", hostile),
                ("timestamp[0]", &at),
                ("artist[1]", hostile),
                ("track[1]", "Too old"),
                ("timestamp[1]", "1000000000"),
                ("sk", &sk),
            ],
        )
        .await;
    let unknown_method = api.call(&format!("track.{hostile}"), &[]).await;
    let missing_track = api.call("track.scrobble", &[("artist[0]", hostile), ("timestamp[0]", &at), ("sk", &sk)]).await;
    for answer in [&playing, &scrobbled, &unknown_method, &missing_track] {
        well_formed(answer);
    }
    assert_eq!((playing.status, scrobbled.status, unknown_method.status, missing_track.status), (200, 200, 400, 400));
    let text = well_formed(&scrobbled);
    let document = roxmltree::Document::parse(text).unwrap();
    let names: Vec<&str> =
        document.descendants().filter(|node| node.has_tag_name("artist")).filter_map(|node| node.text()).collect();
    assert_eq!(names, [carried, carried], "markup round-trips, impossible characters become U+FFFD");
    assert_eq!(document.root_element().attribute("status"), Some("ok"));
    let method = roxmltree::Document::parse(well_formed(&unknown_method)).unwrap();
    let error = method.descendants().find(|node| node.has_tag_name("error")).expect("an error element");
    assert_eq!(error.attribute("code"), Some("3"));
    assert!(error.text().unwrap_or_default().contains(&format!("track.{carried}")), "{error:?}");
    assert_eq!(listen_count(&daemon).await, 1, "the listen itself is stored as sent");
}

// See: issue 21, item 5.
#[tokio::test]
async fn r21_listenbrainz_durations_are_accepted_up_to_24_days() {
    let daemon = Daemon::start();
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let token = create_token(&daemon, "long-plays", "listenbrainz");
    let start = now() - 100_000;
    let with_info = |at: i64, info: Value| {
        json!({"listen_type": "single", "payload": [{"listened_at": at, "track_metadata":
            {"artist_name": "Longplayer", "track_name": format!("Part {at}"), "additional_info": info}}]})
        .to_string()
    };
    for (at, info) in [
        (start, json!({"duration_ms": 2_073_600_000u64})),
        (start + 1, json!({"duration": 2_073_600})),
        (start + 2, json!({"duration": 2 * 86_400})),
    ] {
        let accepted = submit(&http, &url, Some(&token.secret), with_info(at, info.clone())).await;
        assert_eq!((accepted.status, &accepted.body), (200, &json!({"status": "ok"})), "{info}");
    }
    for (info, message) in [
        (
            json!({"duration_ms": 2_073_600_001u64}),
            "Value for duration_ms is too large, max permitted value is 2073600000",
        ),
        (json!({"duration": 2_073_601}), "Value for duration is too large, max permitted value is 2073600"),
        (json!({"duration_ms": 0}), "Value for duration_ms is invalid, should be a positive integer."),
        (json!({"duration": -1}), "Value for duration is invalid, should be a positive integer."),
    ] {
        let refused = submit(&http, &url, Some(&token.secret), with_info(start + 3, info.clone())).await;
        assert_eq!((refused.status, refused.body), (400, lb_error(400, message)), "{info}");
    }
    let page = daemon.client().await.listens_list(None, None, Some(10), None).await.expect("listens.list");
    let durations: Vec<Option<u64>> = page.listens.iter().map(|listen| listen.duration_ms).collect();
    assert_eq!(durations, [Some(2 * 86_400_000), Some(2_073_600_000), Some(2_073_600_000)], "stored as sent");
}

/// The status code of a raw HTTP answer.
fn status_of(reply: &str) -> u16 {
    reply.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

// See: issue 21, item 6.
#[tokio::test]
async fn r21_no_web_page_can_read_the_history() {
    let daemon = Daemon::start();
    let url = daemon.http_url().await;
    let port = url.rsplit(':').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let token = create_token(&daemon, "reader", "listenbrainz");
    let secret = Some(token.secret.as_str());
    let user = token.user.clone();
    let one = json!({"listen_type": "single", "payload": [listen(now() - 600, "Broadcast", "Echo's Answer")]});
    assert_eq!(submit(&http, &url, secret, one.to_string()).await.status, 200);

    // Reading the history needs a token, like submitting.
    for what in ["listens", "listen-count", "playing-now"] {
        let anonymous = get(&http, &format!("{url}/1/user/{user}/{what}")).await;
        assert_eq!(anonymous.status, 401, "{what}: {}", anonymous.body);
        assert!(anonymous.body["error"].as_str().unwrap().contains("reading listens needs a token"), "{what}");
        let wrong = read(&http, Some("not-a-token"), &format!("{url}/1/user/{user}/{what}")).await;
        assert_eq!((wrong.status, wrong.body), (401, lb_error(401, "Invalid authorization token.")), "{what}");
        assert_eq!(read(&http, secret, &format!("{url}/1/user/{user}/{what}")).await.status, 200, "{what}");
    }
    let unknown = get(&http, &format!("{url}/1/user/nosuchuser/listens")).await;
    assert_eq!(unknown.status, 401, "who the user is stays private too");
    // /health: the status for anyone, the numbers for token holders.
    let health = get(&http, &format!("{url}/health")).await;
    assert_eq!((health.status, health.body), (200, json!({"status": "ok"})));
    let health = read(&http, secret, &format!("{url}/health")).await;
    assert_eq!((health.body["status"].as_str(), health.body["listens"].as_u64()), (Some("ok"), Some(1)));

    // CORS is off: no answer lets a page read it, and preflights are refused.
    let evil = "https://evil.example";
    for path in ["/health", "/1/validate-token", &format!("/1/user/{user}/listens")] {
        let response = http
            .get(format!("{url}{path}"))
            .header("Origin", evil)
            .header("Authorization", format!("Token {}", token.secret))
            .send()
            .await
            .unwrap();
        assert!(!response.headers().contains_key("access-control-allow-origin"), "{path}: {:?}", response.headers());
    }
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{url}/1/user/{user}/listens"))
        .header("Origin", evil)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 403);
    assert!(!preflight.headers().contains_key("access-control-allow-origin"));
    assert!(!preflight.headers().contains_key("access-control-allow-headers"));

    // DNS rebinding: a request naming another host is refused, token or not, read or write.
    let wrong_host = raw_request(
        &url,
        &format!(
            "GET /1/user/{user}/listens HTTP/1.1\r\nHost: rebind.evil.example:{port}\r\nAuthorization: Token {}\r\nConnection: close\r\n\r\n",
            token.secret
        ),
    );
    assert_eq!(status_of(&wrong_host), 403, "{wrong_host}");
    assert!(wrong_host.contains("rebind.evil.example") && !wrong_host.contains("Broadcast"), "{wrong_host}");
    let body = json!({"listen_type": "single", "payload": [listen(now() - 300, "Rebound", "Write")]}).to_string();
    let wrong_host_write = raw_request(
        &url,
        &format!(
            "POST /1/submit-listens HTTP/1.1\r\nHost: rebind.evil.example\r\nAuthorization: Token {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            token.secret,
            body.len()
        ),
    );
    assert_eq!(status_of(&wrong_host_write), 403, "{wrong_host_write}");
    assert_eq!(listen_count(&daemon).await, 1, "nothing stored through another host");
    let no_host = raw_request(&url, "GET /health HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&no_host), 403, "{no_host}");
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}"), "localhost".into()]
    {
        let reply = raw_request(&url, &format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));
        assert_eq!(status_of(&reply), 200, "{host}: {reply}");
    }

    // Oversized bodies get a 413 at once here too: a length of 2^32 or more, or a chunked body over the cap.
    let auth = format!("Authorization: Token {}\r\n", token.secret);
    let huge = raw_request(
        &url,
        &format!("POST /1/submit-listens HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Length: 4294967297\r\n\r\n"),
    );
    assert_eq!(status_of(&huge), 413, "{huge}");
    let mut chunked =
        format!("POST /1/submit-listens HTTP/1.1\r\nHost: localhost\r\n{auth}Transfer-Encoding: chunked\r\n\r\n");
    for _ in 0..11 {
        chunked.push_str(&format!("100000\r\n{}\r\n", " ".repeat(0x100000)));
    }
    chunked.push_str("0\r\n\r\n");
    let over = raw_request(&url, &chunked);
    assert_eq!(status_of(&over), 413, "{}", &over[..over.len().min(300)]);
    // A client that sends its whole oversized body before reading still gets the 413, not a reset.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let size = 11 * 1024 * 1024;
    let head = format!("POST /1/submit-listens HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Length: {size}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let sent = stream.write_all(&vec![b' '; size]);
    assert!(sent.is_ok(), "the refused body is read, not reset: {sent:?}");
    let mut reply = String::new();
    let read = stream.read_to_string(&mut reply);
    assert!(read.is_ok(), "{read:?}");
    assert_eq!(status_of(&reply), 413, "{reply}");
    assert!(reply.to_ascii_lowercase().contains("connection: close"), "{reply}");
}

// See: issue 21, item 6.
#[tokio::test]
async fn r21_public_reads_cors_origins_and_host_names_are_opt_in() {
    let daemon = Daemon::start_with_config(
        "[http]\nlisten = \"127.0.0.1:0\"\npublic_reads = true\ncors_origins = [\"https://app.example\"]\nhostnames = [\"music.example.net\"]\n",
    );
    let url = daemon.http_url().await;
    let port = url.rsplit(':').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let token = create_token(&daemon, "writer", "listenbrainz");
    let one = json!({"listen_type": "single", "payload": [listen(now() - 600, "Stereolab", "Metronomic Underground")]});
    assert_eq!(submit(&http, &url, Some(&token.secret), one.to_string()).await.status, 200);
    let user = token.user.clone();

    // Public reads: no token needed, a wrong one is still refused.
    let page = get(&http, &format!("{url}/1/user/{user}/listens")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["payload"]["listens"][0]["track_metadata"]["artist_name"], "Stereolab");
    assert_eq!(get(&http, &format!("{url}/1/user/{user}/listen-count")).await.body["payload"]["count"], 1);
    assert_eq!(read(&http, Some("wrong"), &format!("{url}/1/user/{user}/listens")).await.status, 401);
    assert_eq!(get(&http, &format!("{url}/health")).await.body["listens"], 1);

    // A listed origin may read answers and gets preflights; others may not.
    let from = |origin: &'static str| http.get(format!("{url}/1/user/{user}/listens")).header("Origin", origin);
    let listed = from("https://app.example").send().await.unwrap();
    assert_eq!(listed.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(listed.headers()["vary"], "Origin");
    let exposed = listed.headers()["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("X-RateLimit-Remaining"), "{exposed}");
    let other = from("https://evil.example").send().await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    assert_eq!(other.headers()["vary"], "Origin");
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, format!("{url}/1/submit-listens"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example");
    assert!(allowed.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(allowed.headers()["access-control-allow-headers"].to_str().unwrap().contains("Authorization"));
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(!refused.headers().contains_key("access-control-allow-origin"));

    // A configured name is served; others still are not.
    let named = raw_request(
        &url,
        &format!("GET /health HTTP/1.1\r\nHost: music.example.net:{port}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status_of(&named), 200, "{named}");
    let other =
        raw_request(&url, &format!("GET /health HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n"));
    assert_eq!(status_of(&other), 403, "{other}");
}

#[tokio::test]
async fn listenbrainz_mbids_and_client_are_kept_and_read_back() {
    const RECORDING: &str = "7cc64b4e-8ebc-4b57-bbee-e2d5c2d4b39e";
    const ARTIST: &str = "a74b1b7f-71a5-4011-9441-d0b5e4122711";
    let daemon = Daemon::start();
    let url = daemon.http_url().await;
    let http = reqwest::Client::new();
    let token = create_token(&daemon, "navidrome", "listenbrainz");
    let secret = Some(token.secret.as_str());
    let at = now() - 3_600;
    let mut played = listen(at, "Radiohead", "Creep");
    played["track_metadata"]["additional_info"] = json!({
        "recording_mbid": RECORDING,
        "artist_mbids": [ARTIST],
        "submission_client": "Navidrome",
        "submission_client_version": "0.53.3",
        "media_player": "Navidrome",
        "music_service": "navidrome.org",
        "origin_url": "https://music.example/song/1",
        "duration_ms": 238_000,
    });
    let body = json!({"listen_type": "single", "payload": [played]}).to_string();
    assert_eq!(submit(&http, &url, secret, body).await.status, 200);
    let body = json!({"listen_type": "single", "payload": [listen(at - 600, "Radiohead", "Airbag")]}).to_string();
    assert_eq!(submit(&http, &url, secret, body).await.status, 200);

    let client = daemon.client().await;
    let listens = client.listens_list(None, None, None, None).await.unwrap().listens;
    let reported = listens[0].reported.as_ref().expect("what the report carried");
    assert_eq!(reported.recording_mbid.as_deref(), Some(RECORDING));
    assert_eq!(reported.artist_mbids, vec![ARTIST.to_owned()]);
    assert_eq!(
        (reported.submission_client.as_deref(), reported.submission_client_version.as_deref()),
        (Some("Navidrome"), Some("0.53.3"))
    );
    assert_eq!(
        (reported.media_player.as_deref(), reported.music_service.as_deref()),
        (Some("Navidrome"), Some("navidrome.org"))
    );
    assert_eq!(reported.origin_url.as_deref(), Some("https://music.example/song/1"));
    assert_eq!(listens[1].reported, None, "a report with nothing more has nothing more");

    let page = read(&http, secret, &format!("{url}/1/user/{}/listens", token.user)).await;
    let metadata = &page.body["payload"]["listens"][0]["track_metadata"];
    let info = &metadata["additional_info"];
    assert_eq!(info["recording_mbid"], RECORDING);
    assert_eq!(info["artist_mbids"], json!([ARTIST]));
    assert_eq!(
        (&info["submission_client"], &info["origin_url"]),
        (&json!("Navidrome"), &json!("https://music.example/song/1"))
    );
    assert_eq!(info["duration_ms"], 238_000);
    assert_eq!(metadata["mbid_mapping"]["recording_mbid"], RECORDING);
    assert_eq!(metadata["mbid_mapping"]["artist_mbids"], json!([ARTIST]));
    let plain = &page.body["payload"]["listens"][1]["track_metadata"];
    assert!(plain.get("mbid_mapping").is_none() && plain["additional_info"].get("recording_mbid").is_none(), "{plain}");
}
