//! The performance budget of DESIGN.md, measured on a real musiqued.
//!
//! `cargo run --release -p musique-tests --bin bench -- --listens 1000000`
//!
//! Generates a synthetic Spotify extended-history export, starts musiqued on
//! a temporary directory, imports through the socket, measures every row of
//! the budget and prints a table with the target beside each figure.
//!
//! Idle memory is measured twice on the restarted daemon: right after the
//! start, and after a load run (8 clients of the stress tests' mixed load,
//! `--load-calls` calls each) once the daemon has settled (everything indexed,
//! no import running, and its `memory` component has looked since).

#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use musique_api::{EntityKind, ImportKind, ImportState, Measure, MusiqueApiClient, Period, Step, TimeArg};
use musique_tests::discogs::{FakeDiscogs, TOKEN, USER};
use musique_tests::generate::{self, HISTORY_SPAN, HISTORY_START, Rng};
use musique_tests::load::{self, MixedLoad};
use musique_tests::{Daemon, wait_import, wait_indexed, wait_settled};

struct Options {
    listens: u64,
    /// Only write the export into this folder and exit (for profiling by hand).
    generate_only: Option<std::path::PathBuf>,
    samples: usize,
    keep_binary: bool,
    /// Only the scrobbling-endpoint rows.
    scrobbling_only: bool,
    /// Calls per client of the load run before the second idle-memory row.
    load_calls: usize,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        listens: 1_000_000,
        generate_only: None,
        samples: 300,
        keep_binary: false,
        scrobbling_only: false,
        load_calls: 2000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listens" => options.listens = args.next().context("--listens needs a number")?.parse()?,
            "--samples" => options.samples = args.next().context("--samples needs a number")?.parse()?,
            "--load-calls" => options.load_calls = args.next().context("--load-calls needs a number")?.parse()?,
            "--no-build" => options.keep_binary = true,
            "--scrobbling-only" => options.scrobbling_only = true,
            "--generate-only" => {
                options.generate_only = Some(args.next().context("--generate-only needs a folder")?.into())
            }
            "--help" | "-h" => {
                println!(
                    "bench [--listens N] [--samples N] [--load-calls N] [--no-build] [--generate-only DIR] [--scrobbling-only]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; try --help"),
        }
    }
    Ok(options)
}

/// Makes sure target/release/musiqued and musiquectl are current (cargo does nothing when they are).
fn build_daemon() -> anyhow::Result<()> {
    let Some(cargo) = std::env::var_os("CARGO") else { return Ok(()) };
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "musique-daemon",
            "-p",
            "musique-ctl",
            "--bin",
            "musiqued",
            "--bin",
            "musiquectl",
        ])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building musiqued and musiquectl failed");
    }
    Ok(())
}

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1_000_000.0)
}

struct Row {
    work: String,
    measured: String,
    target: &'static str,
    met: bool,
}

fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    if let Some(dir) = &options.generate_only {
        let export = generate::spotify_extended(dir, options.listens, 42)?;
        println!(
            "wrote {} records ({} listens) in {} files to {}",
            export.records,
            export.listens,
            export.files,
            dir.display()
        );
        return Ok(());
    }
    if !options.keep_binary {
        build_daemon()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(bench(options))
}

async fn bench(options: Options) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    if options.scrobbling_only {
        rows.extend(scrobbling().await?);
        print_table(&rows);
        return Ok(());
    }
    let export_dir = tempfile::Builder::new().prefix("musique-bench-export").tempdir()?;
    let generating = Instant::now();
    let export = generate::spotify_extended(&export_dir.path().join("export"), options.listens, 42)?;
    let size: u64 =
        std::fs::read_dir(&export.dir)?.filter_map(|entry| entry.ok()?.metadata().ok()).map(|meta| meta.len()).sum();
    println!(
        "generated {} records ({} listens) in {} files, {} MB, in {:.1} s",
        export.records,
        export.listens,
        export.files,
        size / 1_000_000,
        generating.elapsed().as_secs_f64()
    );

    // A 5,000-record collection on the fake Discogs, synced after the import.
    let discogs = FakeDiscogs::start();
    discogs.add_items(5000);
    let mut daemon = Daemon::start_with_config(&discogs.config_paged(USER, TOKEN, 100, ""));
    let client = daemon.client().await;

    // Import: from the call until every listen is stored and searchable.
    let importing = Instant::now();
    let run = client.imports_start(ImportKind::Spotify, export.dir.display().to_string(), None).await?;
    let run = wait_import(&client, run.id).await;
    wait_indexed(&client).await;
    let import_time = importing.elapsed();
    if run.state != ImportState::Completed || run.imported != export.listens {
        bail!("import ended {:?} with {} of {} listens: {:?}", run.state, run.imported, export.listens, run);
    }
    let (_, peak) = daemon.rss();
    let rate = export.listens as f64 / import_time.as_secs_f64();
    rows.push(Row {
        work: format!("import {} listens (Spotify extended), stored + searchable", export.listens),
        measured: format!("{:.2} s ({:.0} listens/s)", import_time.as_secs_f64(), rate),
        target: "< 15 s",
        met: import_time < Duration::from_secs(15),
    });
    rows.push(Row { work: "import peak RSS".into(), measured: mib(peak), target: "< 500 MB", met: peak < 500_000_000 });

    let mut rng = Rng::new(7);
    let samples = options.samples;

    // Top 50 artists over mixed periods.
    let mut top = Vec::with_capacity(samples);
    let periods = [Period::All, Period::Year, Period::Month, Period::Week];
    for sample in 0..samples {
        let started = Instant::now();
        if sample % 2 == 0 {
            client
                .stats_top(
                    EntityKind::Artist,
                    Some(periods[sample / 2 % periods.len()]),
                    None,
                    None,
                    Some(50),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
                .await?;
        } else {
            let from = HISTORY_START + rng.below(HISTORY_SPAN as u64 / 2) as i64;
            let to = from + rng.below(HISTORY_SPAN as u64 / 2) as i64 + 86_400;
            client
                .stats_top(
                    EntityKind::Artist,
                    None,
                    Some(TimeArg::Unix(from)),
                    Some(TimeArg::Unix(to)),
                    Some(50),
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
                .await?;
        }
        top.push(started.elapsed());
    }
    let (p50, p99) = (percentile(&mut top, 0.5), percentile(&mut top, 0.99));
    rows.push(Row {
        work: "top 50 artists, mixed periods (all, year, month, week, random ranges)".into(),
        measured: format!("p50 {} / p99 {}", ms(p50), ms(p99)),
        target: "p99 < 10 ms",
        met: p99 < Duration::from_millis(10),
    });

    // One-day ranges.
    let mut days = Vec::with_capacity(samples);
    let mut day_listens = 0;
    for _ in 0..samples {
        let day = (HISTORY_START + rng.below(HISTORY_SPAN as u64) as i64) / 86_400 * 86_400;
        let started = Instant::now();
        let page =
            client.listens_list(Some(TimeArg::Unix(day)), Some(TimeArg::Unix(day + 86_400)), Some(1000), None).await?;
        days.push(started.elapsed());
        day_listens += page.listens.len();
    }
    let p99 = percentile(&mut days, 0.99);
    rows.push(Row {
        work: format!("listens in a one-day range (avg {} listens)", day_listens / samples.max(1)),
        measured: format!("p50 {} / p99 {}", ms(percentile(&mut days, 0.5)), ms(p99)),
        target: "p99 < 2 ms",
        met: p99 < Duration::from_millis(2),
    });

    // Fuzzy search: track titles with one typo.
    let mut searches = Vec::with_capacity(samples);
    let mut found = 0;
    for _ in 0..samples {
        let track = rng.below(generate::TRACKS as u64) as usize;
        let title = generate::track_title(track);
        let word = title.split_whitespace().next().unwrap_or("x");
        let mut typo: Vec<char> = word.chars().collect();
        if typo.len() > 3 {
            typo.swap(1, 2);
        }
        let query = format!("{} {}", typo.into_iter().collect::<String>(), track);
        let started = Instant::now();
        let hits = client.search(query, None, Some(10)).await?;
        searches.push(started.elapsed());
        found += usize::from(hits.hits.iter().any(|hit| hit.name == title || title.starts_with(&hit.name)));
    }
    let p99 = percentile(&mut searches, 0.99);
    rows.push(Row {
        work: format!("fuzzy search over {} tracks (one typo; {found}/{samples} found)", generate::TRACKS),
        measured: format!("p50 {} / p99 {}", ms(percentile(&mut searches, 0.5)), ms(p99)),
        target: "p99 < 10 ms",
        met: p99 < Duration::from_millis(10),
    });

    // Analytics in the listener's zone, from the quarter-hour counters.
    analytics_rows(&client, samples.min(100), &mut rows).await?;
    collection_rows(&client, &mut rows).await?;

    // Status round trips, then throughput with 8 clients.
    let mut statuses = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let started = Instant::now();
        client.status().await?;
        statuses.push(started.elapsed());
    }
    let p99 = percentile(&mut statuses, 0.99);
    let window = Duration::from_secs(3);
    let mut workers = Vec::new();
    for _ in 0..8 {
        let client = daemon.client().await;
        workers.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut calls = 0u64;
            while started.elapsed() < window {
                client.status().await.expect("status");
                calls += 1;
            }
            calls
        }));
    }
    let mut calls = 0;
    for worker in workers {
        calls += worker.await?;
    }
    let per_second = calls as f64 / window.as_secs_f64();
    rows.push(Row {
        work: "daemon.status round trip over the socket".into(),
        measured: format!("p50 {} / p99 {}", ms(percentile(&mut statuses, 0.5)), ms(p99)),
        target: "p99 < 1 ms",
        met: p99 < Duration::from_millis(1),
    });
    rows.push(Row {
        work: "daemon.status calls/s, 8 concurrent clients".into(),
        measured: format!("{per_second:.0} calls/s"),
        target: "> 10k calls/s",
        met: per_second > 10_000.0,
    });
    drop(client);

    // Restart: cold start to socket ready, then idle memory.
    daemon.stop();
    let starting = Instant::now();
    let mut command = daemon.command();
    let child = command.stdout(std::process::Stdio::null()).spawn()?;
    let ready = loop {
        if std::os::unix::net::UnixStream::connect(daemon.socket()).is_ok() {
            break starting.elapsed();
        }
        if starting.elapsed() > Duration::from_secs(60) {
            bail!("musiqued did not come back within 60 s");
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    let pid = child.id();
    let restarted = musique_api::client::connect(&daemon.socket()).await?;
    let counts = restarted.status().await?.counts;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (idle, _) = musique_tests::process_rss(pid);
    rows.push(Row {
        work: format!("cold start to socket ready ({} listens stored)", counts.listens),
        measured: ms(ready),
        target: "< 500 ms",
        met: ready < Duration::from_millis(500),
    });
    rows.push(Row {
        work: format!("daemon idle RSS with {} listens", counts.listens),
        measured: mib(idle),
        target: "< 100 MB",
        met: idle < 100_000_000,
    });

    // A load run on the same daemon, then idle memory again once it has settled.
    let http_url = restarted.status().await?.http.context("the scrobbling endpoints do not listen")?;
    let load = MixedLoad {
        clients: 8,
        calls: options.load_calls,
        seed: 21,
        from: HISTORY_START,
        to: HISTORY_START + HISTORY_SPAN,
    };
    let loading = Instant::now();
    let report = load::mixed_load(&daemon.socket(), &http_url, &load).await;
    let load_time = loading.elapsed();
    let (_, load_peak) = musique_tests::process_rss(pid);
    let after = wait_settled(&restarted).await.counts;
    let expected = musique_api::Counts {
        artists: counts.artists + report.grown.artists,
        albums: counts.albums + report.grown.albums,
        tracks: counts.tracks + report.grown.tracks,
        listens: counts.listens + report.grown.listens,
    };
    if after != expected {
        bail!("after the load run the counts are {after:?}, expected {expected:?}");
    }
    let grown = report.grown.listens;
    let (settled, _) = musique_tests::process_rss(pid);
    rows.push(Row {
        work: format!(
            "load run: 8 clients × {} mixed calls ({} listens added, peak RSS {})",
            options.load_calls,
            grown,
            mib(load_peak)
        ),
        measured: format!(
            "{:.1} s ({:.0} calls/s)",
            load_time.as_secs_f64(),
            report.calls as f64 / load_time.as_secs_f64()
        ),
        target: "0 errors, exact counts",
        met: true,
    });
    rows.push(Row {
        work: format!("daemon idle RSS after a load run with {} listens", after.listens),
        measured: mib(settled),
        target: "< 100 MB",
        met: settled < 100_000_000,
    });
    drop(restarted);
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let mut child = child;
    child.wait()?;

    rows.push(lastfm_import().await?);
    rows.extend(scrobbling().await?);

    print_table(&rows);
    Ok(())
}

/// A Last.fm history import against the fake Last.fm, at the default request budget (5 requests/s):
/// the rate is set by the budget, so the row checks the daemon keeps up with it.
async fn lastfm_import() -> anyhow::Result<Row> {
    const SCROBBLES: usize = 10_000;
    let fake = musique_tests::lastfm::FakeLastfm::start();
    fake.add_history("rj", SCROBBLES, 1_709_251_200);
    let daemon = Daemon::start_with_config(&fake.config("requests_per_second = 5\n"));
    let client = daemon.client().await;
    let importing = Instant::now();
    let run = client.imports_fetch("lastfm".into(), musique_api::FetchMode::Full, None, None).await?;
    let run = wait_import(&client, run.id).await;
    let elapsed = importing.elapsed();
    if run.state != ImportState::Completed || run.imported != SCROBBLES as u64 {
        bail!("Last.fm import ended {:?} with {} of {SCROBBLES} listens", run.state, run.imported);
    }
    let rate = SCROBBLES as f64 / elapsed.as_secs_f64();
    Ok(Row {
        work: format!("Last.fm import, {SCROBBLES} scrobbles from the fake at 5 requests/s ({} pages)", run.files_done),
        measured: format!("{:.1} s ({rate:.0} listens/s)", elapsed.as_secs_f64()),
        target: "> 800/s (budget: 1000/s)",
        met: rate > 800.0,
    })
}

/// Listens through the ListenBrainz endpoint: single submissions from 8 concurrent clients
/// (each answered only once durable), and 1000-listen import batches.
async fn scrobbling() -> anyhow::Result<Vec<Row>> {
    const CLIENTS: i64 = 8;
    const SINGLES: i64 = 1000;
    const BATCHES: i64 = 50;
    let daemon = Daemon::start_with_config("[http]\nlisten = \"127.0.0.1:0\"\nrate_limit = 1000000\n");
    let url = daemon.http_url().await;
    let token = musique_tests::scrobble::create_token(&daemon, "bench", "listenbrainz").secret;
    let start = 1_700_000_000_i64;
    // A library of 20,000 tracks on 2,000 albums by 500 artists, played in a scattered order.
    let listen = |at: i64, index: i64| {
        let track = index * 7919 % 20_000;
        let album = track / 10;
        serde_json::json!({"listened_at": at, "track_metadata": {
            "artist_name": format!("Artist {}", album % 500), "track_name": format!("Track {track}"),
            "release_name": format!("Album {album}")}})
    };
    let submitting = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (url, token) = (url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for index in 0..SINGLES {
                let n = client * SINGLES + index;
                let body = serde_json::json!({"listen_type": "single", "payload": [listen(start + n * 200, n)]});
                let response = http
                    .post(format!("{url}/1/submit-listens"))
                    .header("Authorization", format!("Token {token}"))
                    .body(body.to_string())
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("single submission answered {}", response.status());
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let singles_rate = (CLIENTS * SINGLES) as f64 / submitting.elapsed().as_secs_f64();
    // The indexer catches up on the singles' new tracks before the next row is timed.
    wait_indexed(&daemon.client().await).await;

    let http = reqwest::Client::new();
    let bodies: Vec<String> = (0..BATCHES)
        .map(|batch| {
            let payload: Vec<serde_json::Value> = (0..1000)
                .map(|index| listen(start - 10 - (batch * 1000 + index) * 200, batch * 1000 + index + 1_000_000))
                .collect();
            serde_json::json!({"listen_type": "import", "payload": payload}).to_string()
        })
        .collect();
    let importing = Instant::now();
    for body in bodies {
        let response = http
            .post(format!("{url}/1/submit-listens"))
            .header("Authorization", format!("Token {token}"))
            .body(body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("import batch answered {}", response.status());
        }
    }
    let import_rate = (BATCHES * 1000) as f64 / importing.elapsed().as_secs_f64();
    let stored = daemon.client().await.status().await?.counts.listens;
    if stored != (CLIENTS * SINGLES + BATCHES * 1000) as u64 {
        bail!("{stored} listens stored after the scrobbling rows");
    }
    Ok(vec![
        Row {
            work: format!(
                "ListenBrainz single submissions, {CLIENTS} concurrent clients ({} listens)",
                CLIENTS * SINGLES
            ),
            measured: format!("{singles_rate:.0} listens/s"),
            target: "> 2000/s",
            met: singles_rate > 2000.0,
        },
        Row {
            work: format!("ListenBrainz import batches of 1000 listens ({BATCHES} batches, one client)"),
            measured: format!("{import_rate:.0} listens/s"),
            target: "> 50000/s",
            met: import_rate > 50_000.0,
        },
    ])
}

fn print_table(rows: &[Row]) {
    let width = |get: &dyn Fn(&Row) -> usize, header: &str| rows.iter().map(get).max().unwrap_or(0).max(header.len());
    let work_width = width(&|row| row.work.chars().count(), "work");
    let measured_width = width(&|row| row.measured.chars().count(), "measured");
    let target_width = width(&|row| row.target.chars().count(), "target");
    println!();
    println!("| {:work_width$} | {:measured_width$} | {:target_width$} | met |", "work", "measured", "target");
    println!(
        "|{}|{}|{}|-----|",
        "-".repeat(work_width + 2),
        "-".repeat(measured_width + 2),
        "-".repeat(target_width + 2)
    );
    for row in rows {
        println!(
            "| {:work_width$} | {:measured_width$} | {:target_width$} | {} |",
            row.work,
            row.measured,
            row.target,
            if row.met { "yes" } else { "NO " }
        );
    }
}

/// Times `samples` calls of `call` (given the sample's number): (p50, p99).
async fn timed<F, Fut, T>(samples: usize, mut call: F) -> anyhow::Result<(Duration, Duration)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, jsonrpsee::core::ClientError>>,
{
    let mut times = Vec::with_capacity(samples);
    for sample in 0..samples {
        let started = Instant::now();
        call(sample).await?;
        times.push(started.elapsed());
    }
    Ok((percentile(&mut times, 0.5), percentile(&mut times, 0.99)))
}

/// The rows of the collection against the history (issue 14): a 5,000-record
/// collection synced from the fake Discogs, over the whole history.
async fn collection_rows(client: &jsonrpsee::async_client::Client, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let syncing = Instant::now();
    let run = wait_import(client, client.collection_sync(None, None).await?.id).await;
    if run.state != ImportState::Completed || run.records != 5000 {
        bail!("the collection sync ended {:?} with {} records", run.state, run.records);
    }
    rows.push(Row {
        work: format!("sync 5000 records and {} releases from the fake Discogs, no rate limit", run.file_records_done),
        measured: format!("{:.1} s", syncing.elapsed().as_secs_f64()),
        target: "(Discogs: 60/min)",
        met: true,
    });
    let mut push = |work: &str, (p50, p99): (Duration, Duration)| {
        rows.push(Row {
            work: work.to_owned(),
            measured: format!("p50 {} / p99 {}", ms(p50), ms(p99)),
            target: "p99 < 50 ms",
            met: p99 < Duration::from_millis(50),
        });
    };
    let year = |sample: usize| Some((2015 + sample % 10).to_string());
    let samples = 30;
    let times =
        timed(samples, |_| client.collection_stats(None, None, None, None, None, None, None, None, None)).await?;
    push("collection stats, all time (coverage, most played, forgotten)", times);
    let times =
        timed(samples, |sample| client.collection_stats(None, None, year(sample), None, None, None, None, None, None))
            .await?;
    push("collection stats of a year", times);
    let times =
        timed(samples, |_| client.collection_unplayed(Some(12), None, None, None, None, None, None, None, Some(50)))
            .await?;
    push("collection: not played for 12 months", times);
    let times =
        timed(samples, |_| client.collection_missing(None, None, None, None, None, None, None, None, Some(20))).await?;
    push("collection: played most, not owned, all time", times);
    let times =
        timed(samples, |_| client.collection_random(None, None, None, None, None, Some(6), Some("bench".into())))
            .await?;
    push("collection: a random pick, unplayed for 6 months", times);
    let times = timed(samples, |_| client.collection_list(None, None, None, Some(50), None)).await?;
    push("collection: first page of the list, by artist", times);
    Ok(())
}

/// The rows of the analytics (issue 15): years of the generated history (2015–2024) in a
/// zone with summer time, all time, and months in a zone half an hour off UTC.
async fn analytics_rows(
    client: &jsonrpsee::async_client::Client,
    samples: usize,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let year = |sample: usize| Some((2015 + sample % 10).to_string());
    let paris = || Some("Europe/Paris".to_owned());
    let mut push = |work: &str, (p50, p99): (Duration, Duration), target: &'static str, limit_ms: u64| {
        rows.push(Row {
            work: work.to_owned(),
            measured: format!("p50 {} / p99 {}", ms(p50), ms(p99)),
            target,
            met: p99 < Duration::from_millis(limit_ms),
        });
    };
    let times = timed(samples, |sample| {
        client.stats_timeline(None, None, year(sample), None, None, None, Some(Step::Day), None, paris())
    })
    .await?;
    push("timeline by day over a year (Europe/Paris)", times, "p99 < 50 ms", 50);
    let times = timed(samples, |_| client.stats_heatmap(None, None, None, None, None, None, None, paris())).await?;
    push("heatmap weekday x hour, all time (Europe/Paris)", times, "p99 < 200 ms", 200);
    let times = timed(samples, |sample| client.stats_calendar(year(sample), None, paris())).await?;
    push("calendar of a year (Europe/Paris)", times, "p99 < 50 ms", 50);
    let times = timed(samples, |_| client.stats_clock(None, None, None, None, None, None, None, paris())).await?;
    push("listening clock, all time (Europe/Paris)", times, "p99 < 200 ms", 200);
    let times = timed(samples, |sample| {
        let month = Some(format!("{}-{:02}", 2015 + sample % 10, 1 + sample % 12));
        let zone = Some("Asia/Kolkata".to_owned());
        client.stats_top(EntityKind::Artist, None, None, None, Some(50), None, month, None, None, None, zone)
    })
    .await?;
    push("top 50 artists of a calendar month (Asia/Kolkata)", times, "p99 < 50 ms", 50);
    let times = timed(samples.min(30), |sample| {
        let by = Some(Measure::Time);
        client.stats_top(EntityKind::Artist, None, None, None, Some(50), year(sample), None, None, None, by, paris())
    })
    .await?;
    push("top 50 artists by time listened, a year (reads the listens)", times, "p99 < 50 ms", 50);
    let times = timed(samples.min(10), |_| {
        let by = Some(Measure::Time);
        client.stats_top(EntityKind::Artist, None, None, None, Some(50), None, None, None, None, by, paris())
    })
    .await?;
    push("top 50 artists by time listened, all time (reads the listens)", times, "p99 < 200 ms", 200);
    insight_rows(client, samples, &mut push).await
}

/// The rows of sessions, streaks, discoveries, climbers, on this day, entity pages and
/// wrapped (issue 15): each reads the listens of its period.
async fn insight_rows(
    client: &jsonrpsee::async_client::Client,
    samples: usize,
    push: &mut impl FnMut(&str, (Duration, Duration), &'static str, u64),
) -> anyhow::Result<()> {
    let year = |sample: usize| Some((2015 + sample % 10).to_string());
    let paris = || Some("Europe/Paris".to_owned());
    let few = samples.min(30);
    let times =
        timed(few, |sample| client.stats_sessions(None, None, year(sample), None, None, None, paris(), None, None))
            .await?;
    push("sessions of a year (Europe/Paris)", times, "p99 < 50 ms", 50);
    let times =
        timed(few.min(10), |_| client.stats_sessions(None, None, None, None, None, None, paris(), None, None)).await?;
    push("sessions, all time", times, "p99 < 200 ms", 200);
    let times = timed(few.min(10), |_| client.stats_streaks(None, None, None, None, None, None, paris(), None)).await?;
    push("streaks overall, per artist and album, all time", times, "p99 < 200 ms", 200);
    let times =
        timed(few, |sample| client.stats_discoveries(None, None, year(sample), None, None, None, paris(), None))
            .await?;
    push("discoveries of a year", times, "p99 < 50 ms", 50);
    let times = timed(few, |sample| {
        let month = Some(format!("{}-{:02}", 2015 + sample % 10, 1 + sample % 12));
        client.stats_climbers(EntityKind::Artist, None, None, None, month, None, None, None, paris(), None)
    })
    .await?;
    push("climbers of a month against the one before", times, "p99 < 50 ms", 50);
    let times = timed(few, |sample| {
        let date = Some(format!("2024-{:02}-{:02}", 1 + sample % 12, 1 + sample % 28));
        client.stats_on_this_day(date, None, paris(), None)
    })
    .await?;
    push("on this day, 1, 2, 5 and 10 years back", times, "p99 < 50 ms", 50);
    let top =
        client.stats_top(EntityKind::Artist, None, None, None, Some(10), None, None, None, None, None, paris()).await?;
    let ids: Vec<u64> = top.entries.iter().map(|entry| entry.id).collect();
    let times = timed(few.min(10), |sample| {
        let id = ids.get(sample % ids.len().max(1)).copied();
        client.stats_entity(EntityKind::Artist, id, None, None, None, None, None, None, None, None, paris(), None, None)
    })
    .await?;
    push("artist page (all time: years, sessions, co-listening)", times, "p99 < 200 ms", 200);
    let times =
        timed(few, |sample| client.stats_wrapped(None, None, year(sample), None, None, None, paris(), Some(true)))
            .await?;
    push("wrapped of a year, with its Markdown", times, "p99 < 50 ms", 50);
    let times = timed(few.min(10), |_| {
        client.stats_wrapped(Some(TimeArg::Unix(0)), None, None, None, None, None, paris(), None)
    })
    .await?;
    push("wrapped of all time", times, "p99 < 200 ms", 200);
    Ok(())
}
