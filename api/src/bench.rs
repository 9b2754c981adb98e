//! `fieldvisit bench`: the benchmarks the sync issue names, each one command
//! (`.ci/bench push|pull|geofence`). Each creates a fresh database on the
//! server of `DATABASE_URL`, loads the demo township, serves the real router
//! on a free port in this process and drives it over HTTP, then prints its
//! figures. Nothing here is a test: it measures and reports.
//!
//! `--smoke` runs any of them at tiny sizes for a few seconds, so that
//! `.ci/test` runs every benchmark once and none can break unnoticed; its
//! figures mean nothing.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{FixedOffset, Utc};
use clap::Parser;
use fieldvisit_sync::bench as rig_data;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use uuid::Uuid;

use crate::app::app;
use crate::config::Config;

mod export;
mod import;
mod stats;
mod tiles;

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Check-ins applied per second by concurrent devices pushing batches, with
    /// push latency, against the same rows written by plain `COPY`.
    Push(PushArgs),
    /// Empty incremental pulls per second, and the bootstrap of one
    /// representative with 200 rows.
    Pull(PullArgs),
    /// The check-in judgement with many grid cells and points loaded.
    Geofence(GeofenceArgs),
    /// Photo uploads through the local store by concurrent devices, against
    /// plain file writes of the same bytes; the server's memory; thumbnail delay.
    Photos(PhotosArgs),
    /// Places imported per second from a CSV and a zipped shapefile of
    /// 100,000 rows, and a re-import, against plain `COPY` of the same rows.
    Import(import::ImportArgs),
    /// The ledger of 10,000 issues exported as XLSX over HTTP: time and the
    /// server's peak memory, against the CSV export of the same rows.
    Export(export::ExportArgs),
    /// `GET /v1/issues/stats` for a year over 100,000 issues and 1,000,000 check-ins.
    Stats(stats::StatsArgs),
    /// The coverage map's vector tiles over 100,000 places: latency at zooms
    /// 10 to 16, tiles per second through HTTP against the bare SQL function
    /// (pgbench) and Martin; the coverage GeoJSON of 10,000 places.
    Tiles(tiles::TilesArgs),
}

#[derive(Debug, clap::Args)]
pub struct PhotosArgs {
    #[arg(long, default_value_t = 200)]
    pub photos: usize,
    /// Size of each photo in MB.
    #[arg(long, default_value_t = 5)]
    pub mb: usize,
    #[arg(long, default_value_t = 20)]
    pub devices: usize,
    /// Tiny sizes, a few seconds: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
}

impl PhotosArgs {
    fn sized(self) -> Self {
        if self.smoke { Self { photos: 4, mb: 1, devices: 2, ..self } } else { self }
    }

    /// Width and height of the picture inside each photo: a 12-megapixel
    /// camera's, or a small one when smoke-testing a debug build.
    fn picture(&self) -> (u32, u32) {
        if self.smoke { (640, 480) } else { (4000, 3000) }
    }
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    #[arg(long, default_value_t = 50)]
    pub devices: usize,
    #[arg(long, default_value_t = 50)]
    pub batch: usize,
    /// Batches each device pushes.
    #[arg(long, default_value_t = 20)]
    pub batches: usize,
    /// Offered load in check-ins per second over all devices; 0 (the default)
    /// pushes as fast as the server answers (closed loop), which measures
    /// the most it takes; a rate measures latency at that load.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Tiny sizes, a few seconds: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
    /// The wire as before compression and metrics: no `Accept-Encoding`, no
    /// metrics recorder. Without it the server compresses its answers and
    /// records its metrics, as in production; run both to compare.
    #[arg(long)]
    pub plain: bool,
}

impl PushArgs {
    fn sized(self) -> Self {
        if self.smoke { Self { devices: 4, batch: 10, batches: 3, ..self } } else { self }
    }
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Devices pulling at once.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// How long the empty-pull phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Tiny sizes, a few seconds: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
    /// The wire as before compression and metrics: no `Accept-Encoding`, no
    /// metrics recorder. Without it the server compresses its answers and
    /// records its metrics, as in production; run both to compare.
    #[arg(long)]
    pub plain: bool,
}

impl PullArgs {
    fn sized(self) -> Self {
        if self.smoke { Self { clients: 2, seconds: 1, ..self } } else { self }
    }

    /// How many times the 200-row bootstrap is timed.
    fn bootstraps(&self) -> usize {
        if self.smoke { 2 } else { 20 }
    }
}

#[derive(Debug, clap::Args)]
pub struct GeofenceArgs {
    #[arg(long, default_value_t = 100_000)]
    pub cells: i64,
    #[arg(long, default_value_t = 100_000)]
    pub points: i64,
    /// Check-ins judged (one per push, one after the other).
    #[arg(long, default_value_t = 2000)]
    pub checkins: usize,
    /// Tiny sizes, a few seconds: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
}

impl GeofenceArgs {
    fn sized(self) -> Self {
        if self.smoke { Self { cells: 500, points: 500, checkins: 20, ..self } } else { self }
    }
}

/// Server settings for the benchmark: the defaults, as `serve` would use them.
#[derive(Debug, Parser)]
struct Defaults {
    #[command(flatten)]
    config: Config,
}

/// A served benchmark database.
struct Rig {
    pool: PgPool,
    base: String,
    http: reqwest::Client,
}

/// How a rig's server and client talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// The client takes compressed answers; no metrics are recorded (the
    /// geofence and photo benchmarks, as they always ran).
    Default,
    /// As production with `--metrics-listen`: compressed answers, metrics recorded.
    Production,
    /// `--plain`: neither, to measure what the two cost.
    Plain,
}

impl Wire {
    fn of(plain: bool) -> Self {
        if plain { Self::Plain } else { Self::Production }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Plain => "plain (no compression, no metrics)",
            Self::Production => "compressed answers, metrics recorded",
            Self::Default => "compressed answers",
        }
    }
}

async fn rig(name: &str) -> anyhow::Result<Rig> {
    rig_with(name, Wire::Default).await
}

async fn rig_with(name: &str, wire: Wire) -> anyhow::Result<Rig> {
    if wire == Wire::Production {
        crate::metrics::install()?;
    }
    let admin_url = std::env::var("DATABASE_URL").context("set DATABASE_URL (.ci/bench does)")?;
    let admin: PgConnectOptions = admin_url.parse()?;
    let mut conn = admin.connect().await?;
    let db = format!("fieldvisit_bench_{name}");
    rig_data::recreate_database(&mut conn, &db).await?;
    let pool = PgPoolOptions::new().max_connections(64).connect_with(admin.database(&db)).await?;
    crate::MIGRATOR.run(&pool).await?;
    crate::demo::load(&pool, true).await?;
    rig_data::analyze(&pool).await?;
    let config = Defaults::parse_from(["bench"]).config;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    // No thumbnail worker here: the photo benchmark runs its server as a
    // separate process with its own, and two workers on two folders would
    // fight over the same photos.
    let state = crate::server::app_state(&config, &pool, &base).await?;
    tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let mut http = reqwest::Client::builder().pool_max_idle_per_host(256);
    if wire == Wire::Plain {
        http = http.no_gzip().no_zstd();
    }
    Ok(Rig { pool, base, http: http.build()? })
}

impl Rig {
    async fn login(&self, username: &str) -> anyhow::Result<String> {
        let res: Value = self
            .http
            .post(format!("{}/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": "fieldvisit"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(res["access_token"].as_str().context("access token")?.to_owned())
    }

    async fn push(&self, token: &str, body: &Value) -> anyhow::Result<Value> {
        Ok(self
            .http
            .post(format!("{}/v1/sync/push", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn pull(&self, token: &str, client: Uuid, cursor: Option<&str>) -> anyhow::Result<Value> {
        let mut url = format!("{}/v1/sync/pull?client_id={client}&schema_version=1", self.base);
        if let Some(c) = cursor {
            url.push_str("&cursor=");
            url.push_str(c);
        }
        Ok(self.http.get(url).bearer_auth(token).send().await?.error_for_status()?.json().await?)
    }

    /// Points inside the places assigned to `username`.
    async fn assigned_points(&self, username: &str) -> anyhow::Result<Vec<(Uuid, f64, f64)>> {
        Ok(rig_data::assigned_points(&self.pool, username).await?)
    }
}

/// CPU seconds used so far by this process and by the whole machine, from
/// /proc, to tell the server's share from PostgreSQL's in a run.
fn cpu_seconds() -> (f64, f64) {
    let ticks = |fields: &[&str], from: usize, to: usize| -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "clock ticks of a run")]
        let t =
            fields.get(from..to).unwrap_or_default().iter().filter_map(|f| f.parse::<u64>().ok()).sum::<u64>() as f64;
        t / 100.0
    };
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at state.
    let after = own.rsplit_once(')').map_or("", |(_, r)| r);
    let own_fields: Vec<&str> = after.split_whitespace().collect();
    let machine = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let machine_fields: Vec<&str> = machine.lines().next().unwrap_or_default().split_whitespace().skip(1).collect();
    // utime and stime are fields 14 and 15 of /proc/self/stat (11 and 12 after the name);
    // busy time is user + nice + system + irq + softirq of /proc/stat.
    let busy = ticks(&machine_fields, 0, 3) + ticks(&machine_fields, 5, 7);
    (ticks(&own_fields, 11, 13), busy)
}

fn report_cpu(before: (f64, f64), elapsed: Duration) {
    let after = cpu_seconds();
    let own = after.0 - before.0;
    let all = after.1 - before.1;
    println!(
        "  CPU over {:.1} s of 2 cores: this process (server + load generator) {own:.1} s, the rest (PostgreSQL) {:.1} s",
        elapsed.as_secs_f64(),
        (all - own).max(0.0)
    );
}

fn checkin_args(place: Uuid, lon: f64, lat: f64, at: chrono::DateTime<Utc>) -> Value {
    let tz = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    json!({"id": Uuid::now_v7(), "place_id": place, "position": {"lon": lon, "lat": lat, "crs": "wgs84"},
        "accuracy_m": 10.0, "device_time": at.with_timezone(&tz).to_rfc3339(), "mock_location": false})
}

/// p50, p99 and max of a set of durations, in milliseconds.
fn percentiles(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort();
    let at = |q: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a short vector"
        )]
        let i = ((d.len() as f64 - 1.0) * q).round() as usize;
        d.get(i).map_or(0.0, |x| x.as_secs_f64() * 1000.0)
    };
    (at(0.50), at(0.99), at(1.0))
}

#[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
fn per_second(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

pub async fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Push(a) => push(a.sized()).await,
        Bench::Pull(a) => pull(a.sized()).await,
        Bench::Geofence(a) => geofence(a.sized()).await,
        Bench::Photos(a) => photos(a.sized()).await,
        Bench::Import(a) => import::run(a.sized()).await,
        Bench::Export(a) => export::run(a.sized()).await,
        Bench::Stats(a) => stats::run(a.sized()).await,
        Bench::Tiles(a) => tiles::run(a.sized()).await,
    }
}

async fn push(a: PushArgs) -> anyhow::Result<()> {
    let rig = rig_with("push", Wire::of(a.plain)).await?;
    println!("wire: {}", Wire::of(a.plain).describe());
    // Only the benchmark's own check-ins: the demo's visit history goes, with
    // everything that refers to it (findings, photos), whatever refers to it next.
    rig_data::clear_check_ins(&rig.pool).await?;
    let mut devices = Vec::new();
    for i in 1..=a.devices {
        let username = format!("rep{:03}", (i - 1) % 87 + 1);
        devices.push((rig.login(&username).await?, rig.assigned_points(&username).await?));
    }
    let load =
        if a.rate > 0.0 { format!("offered {:.0} check-ins/s", a.rate) } else { "as fast as answered".to_owned() };
    println!("push: {} devices × {} batches × {} check-ins, {load}", a.devices, a.batches, a.batch);
    let cpu = cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    let rig = std::sync::Arc::new(rig);
    for (token, places) in devices {
        let rig = rig.clone();
        let (batches, size) = (a.batches, a.batch);
        // Each device sends a batch every `period`, starting at a random offset.
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let period = (a.rate > 0.0).then(|| Duration::from_secs_f64(size as f64 * a.devices as f64 / a.rate));
        tasks.push(tokio::spawn(async move {
            let mut ticker = period.map(|p| {
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + p.mul_f64(rand::random::<f64>()), p);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let client = Uuid::now_v7();
            let mut latencies = Vec::new();
            let mut next_id = 1i64;
            // Visits a minute apart over the last days: plausible speeds.
            let mut at = Utc::now() - chrono::Duration::minutes(i64::try_from(batches * size).unwrap_or(0) + 10);
            for _ in 0..batches {
                if let Some(t) = ticker.as_mut() {
                    t.tick().await;
                }
                let mut mutations = Vec::with_capacity(size);
                for k in 0..size {
                    let (place, lon, lat) = places[k % places.len()];
                    mutations.push(json!({"id": next_id, "name": "checkin.create.v1", "args": checkin_args(place, lon, lat, at)}));
                    next_id += 1;
                    at += chrono::Duration::minutes(1);
                }
                let body = json!({"client_id": client, "schema_version": 1, "client_time": Utc::now().to_rfc3339(), "mutations": mutations});
                let t = Instant::now();
                let res = rig.push(&token, &body).await?;
                latencies.push(t.elapsed());
                anyhow::ensure!(res["results"].as_array().is_some_and(|r| r.iter().all(|r| r["status"] == "applied")), "not all applied: {res}");
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    report_cpu(cpu, elapsed);
    let rows = rig_data::count_check_ins(&rig.pool).await?;
    let n = usize::try_from(rows)?;
    let push_rate = per_second(n, elapsed);
    let (p50, p99, max) = percentiles(latencies);
    println!("  applied {n} check-ins in {:.2} s: {push_rate:.0} check-ins/s", elapsed.as_secs_f64());
    println!("  push latency (batch of {}): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms", a.batch);

    // The same rows through plain COPY into a table with the same indexes
    // (no triggers, no foreign keys): the floor of what PostgreSQL can take.
    let (copied, copy_elapsed) = rig_data::copy_check_ins(&rig.pool).await?;
    let copy_rate = per_second(usize::try_from(copied)?, copy_elapsed);
    println!("  COPY of the same {copied} rows: {:.3} s, {copy_rate:.0} rows/s", copy_elapsed.as_secs_f64());
    println!("  push / COPY: {:.1}%", 100.0 * push_rate / copy_rate);
    Ok(())
}

async fn pull(a: PullArgs) -> anyhow::Result<()> {
    let rig = std::sync::Arc::new(rig_with("pull", Wire::of(a.plain)).await?);
    println!("wire: {}", Wire::of(a.plain).describe());
    // One representative with 200 rows across their buckets: top up their own
    // bucket with check-ins until the bootstrap holds 200 changes.
    let token = rig.login("rep001").await?;
    let first = pull_all(&rig, &token, Uuid::now_v7(), None).await?.0;
    let missing = 200usize.saturating_sub(first);
    let places = rig.assigned_points("rep001").await?;
    let mut at = Utc::now() - chrono::Duration::hours(i64::try_from(missing).unwrap_or(0) + 1);
    let mutations: Vec<Value> = (0..missing)
        .map(|i| {
            let (place, lon, lat) = places[i % places.len()];
            at += chrono::Duration::hours(1);
            json!({"id": i + 1, "name": "checkin.create.v1", "args": checkin_args(place, lon, lat, at)})
        })
        .collect();
    if !mutations.is_empty() {
        rig.push(&token, &json!({"client_id": Uuid::now_v7(), "schema_version": 1, "mutations": mutations})).await?;
    }
    let mut boots = Vec::new();
    let mut rows = 0;
    for _ in 0..a.bootstraps() {
        let t = Instant::now();
        rows = pull_all(&rig, &token, Uuid::now_v7(), None).await?.0;
        boots.push(t.elapsed());
    }
    let (p50, p99, _) = percentiles(boots);
    println!("pull: bootstrap of rep001 with {rows} rows: p50 {p50:.1} ms, worst of {} {p99:.1} ms", a.bootstraps());

    // Empty incremental pulls: every device is up to date and asks again.
    let mut tasks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    for i in 0..a.clients {
        let rig = rig.clone();
        let username = format!("rep{:03}", i % 87 + 1);
        tasks.push(tokio::spawn(async move {
            let token = rig.login(&username).await?;
            let client = Uuid::now_v7();
            let (_, cursor) = pull_all(&rig, &token, client, None).await?;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let page = rig.pull(&token, client, Some(&cursor)).await?;
                latencies.push(t.elapsed());
                anyhow::ensure!(
                    page["changes"].as_array().is_some_and(Vec::is_empty),
                    "an incremental pull was not empty"
                );
            }
            anyhow::Ok(latencies)
        }));
    }
    let start = Instant::now();
    let cpu = cpu_seconds();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    report_cpu(cpu, elapsed);
    let n = latencies.len();
    let (p50, p99, _) = percentiles(latencies);
    println!(
        "pull: {n} empty incremental pulls by {} devices in {:.1} s: {:.0} pulls/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        a.clients,
        elapsed.as_secs_f64(),
        per_second(n, elapsed)
    );
    Ok(())
}

/// Pulls a whole bootstrap; returns the number of changes and the last cursor.
async fn pull_all(rig: &Rig, token: &str, client: Uuid, mut cursor: Option<String>) -> anyhow::Result<(usize, String)> {
    let mut n = 0;
    loop {
        let page = rig.pull(token, client, cursor.as_deref()).await?;
        n += page["changes"].as_array().map_or(0, Vec::len);
        cursor = page["cursor"].as_str().map(str::to_owned);
        if page["has_more"] != true {
            return Ok((n, cursor.unwrap_or_default()));
        }
    }
}

async fn geofence(a: GeofenceArgs) -> anyhow::Result<()> {
    let rig = rig("geofence").await?;
    let station = rig_data::station_of(&rig.pool, "rep013").await?;
    let t = Instant::now();
    // A square grid of cells about 450 m across and scattered points, around
    // and beyond 邵原镇, all in rep013's station so they may check in anywhere.
    let loaded = rig_data::load_geofence(&rig.pool, station, a.cells, a.points).await?;
    println!("geofence: loaded {loaded} places in {:.1} s", t.elapsed().as_secs_f64());

    let targets = rig_data::geofence_targets(&rig.pool, i64::try_from(a.checkins)?).await?;
    let token = rig.login("rep013").await?;
    let client = Uuid::now_v7();
    let mut latencies = Vec::new();
    let mut verdicts = std::collections::BTreeMap::<String, usize>::new();
    // Half a day apart: far-apart random places stay at plausible speeds.
    let mut at = Utc::now() - chrono::Duration::hours(12 * i64::try_from(targets.len()).unwrap_or(0) + 12);
    for (i, (place, lon, lat)) in targets.iter().enumerate() {
        at += chrono::Duration::hours(12);
        let body = json!({"client_id": client, "schema_version": 1,
            "mutations": [{"id": i + 1, "name": "checkin.create.v1", "args": checkin_args(*place, *lon, *lat, at)}]});
        let t = Instant::now();
        let res = rig.push(&token, &body).await?;
        latencies.push(t.elapsed());
        let verdict = res["results"][0]["data"]["verdict"].as_str().unwrap_or("rejected").to_owned();
        *verdicts.entry(verdict).or_default() += 1;
    }
    let (p50, p99, max) = percentiles(latencies);
    println!("geofence: {} check-ins judged one per push (HTTP, auth, judgement, commit):", targets.len());
    println!("  p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; verdicts {verdicts:?}");

    // The judgement alone (place lookup, neighbour in time, geometry), in process.
    let rules = fieldvisit_geodata::geofence::GeofenceRules::default();
    let mut judge = Vec::new();
    for (place, lon, lat) in targets.iter().take(1000) {
        let wkb = rig_data::place_wkb(&rig.pool, *place).await?;
        let t = Instant::now();
        let geom = fieldvisit_geodata::wkb::from_wkb(&wkb)?;
        let ev = fieldvisit_geodata::geofence::Evidence {
            position: geo::Point::new(*lon, *lat),
            accuracy_m: 10.0,
            mock_location: false,
            device_ahead_s: 0.0,
            visited_at_s: 0.0,
            previous: None,
            received_after_s: 0.0,
            month_closed: false,
        };
        let j = fieldvisit_geodata::geofence::judge(&geom, fieldvisit_geodata::geofence::FenceKind::Cell, &ev, &rules);
        judge.push(t.elapsed());
        std::hint::black_box(j);
    }
    let (p50, p99, _) = percentiles(judge);
    println!("  the geometry judgement alone: p50 {:.1} µs, p99 {:.1} µs", p50 * 1000.0, p99 * 1000.0);
    Ok(())
}

/// Peak and current resident memory of a process, in kB, from /proc.
/// The process running `exe` among `root` and its descendants (`root` when
/// none is found).
/// The address a `fieldvisit serve` child prints once it listens.
async fn listening_on(child: &mut tokio::process::Child) -> anyhow::Result<String> {
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().context("stdout")?));
    loop {
        let line = lines.next_line().await?.context("the server exited")?;
        if let Some(url) = line.strip_prefix("fieldvisit listening on ") {
            return Ok(url.trim().to_owned());
        }
    }
}

fn server_pid(root: u32, exe: &std::path::Path) -> u32 {
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces: the fields after it start at the last ')'.
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let descends = |mut pid: u32| {
        while let Some(parent) = parent_of(pid) {
            if parent == root {
                return true;
            }
            if parent <= 1 {
                return false;
            }
            pid = parent;
        }
        false
    };
    let Ok(entries) = std::fs::read_dir("/proc") else { return root };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| descends(pid) && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe))
        .unwrap_or(root)
}

fn memory_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A photo of `mb` megabytes that every stage accepts: a real 12-megapixel
/// JPEG (what the thumbnailer decodes), padded after its end marker with
/// noise up to the size, as camera files carry trailing data.
fn big_photo(mb: usize, (width, height): (u32, u32), seed: u64) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut bytes = crate::photos::media::sample_image(crate::photos::media::PhotoType::Jpeg, width, height);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    while bytes.len() < mb * 1024 * 1024 {
        bytes.push(rng.r#gen());
    }
    bytes
}

async fn photos(a: PhotosArgs) -> anyhow::Result<()> {
    use sha2::Digest;
    let rig = rig("photos").await?;
    // The server under test runs as its own process, so its memory is its own.
    let dir = std::env::temp_dir().join(format!("fieldvisit-bench-photos-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let db_url = std::env::var("DATABASE_URL")?;
    let (head, _) = db_url.rsplit_once('/').context("DATABASE_URL ends with /dbname")?;
    // FIELDVISIT_BENCH_WRAP runs the server under a profiler, e.g. "heaptrack -o /tmp/ht".
    let wrap: Vec<String> =
        std::env::var("FIELDVISIT_BENCH_WRAP").unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    let exe = std::env::current_exe()?;
    let mut command = match wrap.split_first() {
        Some((program, args)) => {
            let mut c = tokio::process::Command::new(program);
            c.args(args).arg(&exe);
            c
        }
        None => tokio::process::Command::new(&exe),
    };
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", format!("{head}/fieldvisit_bench_photos"))
        .env("FIELDVISIT_PHOTO_DIR", &dir)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("server pid")?;
    let base = listening_on(&mut child).await?;
    let rig = std::sync::Arc::new(Rig { pool: rig.pool.clone(), base, http: rig.http.clone() });
    // Under a profiler the child is the profiler's launcher: measure and stop
    // the server itself.
    let pid = server_pid(pid, &exe);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, idle) = memory_kb(pid);
    println!("photos: {} photos of {} MB by {} devices through the local store", a.photos, a.mb, a.devices);

    let per_device = a.photos.div_ceil(a.devices);
    // First the devices sign in and declare their photos (a device does so
    // once, not per upload); then, with the high-water mark reset, the uploads.
    let mut tasks = Vec::new();
    for d in 0..a.devices {
        let rig = rig.clone();
        let mb = a.mb;
        let picture = a.picture();
        tasks.push(tokio::spawn(async move {
            let username = format!("rep{:03}", d % 87 + 1);
            let token = rig.login(&username).await?;
            let (place, lon, lat) = rig.assigned_points(&username).await?[0];
            let client = Uuid::now_v7();
            let check_in = Uuid::now_v7();
            let mut mutations = vec![json!({"id": 1, "name": "checkin.create.v1", "args": {"id": check_in, "place_id": place,
                "position": {"lon": lon, "lat": lat, "crs": "wgs84"}, "accuracy_m": 10.0, "device_time": Utc::now().to_rfc3339()}})];
            let mut photos = Vec::new();
            for k in 0..per_device {
                let bytes = big_photo(mb, picture, (d * 1000 + k) as u64);
                let id = Uuid::now_v7();
                mutations.push(json!({"id": k + 2, "name": "photo.declare.v1", "args": {"id": id,
                    "sha256": hex::encode(sha2::Sha256::digest(&bytes)), "size": bytes.len(), "mime": "image/jpeg",
                    "attached_to": {"check_in": check_in}}}));
                photos.push(id);
            }
            rig.push(&token, &json!({"client_id": client, "schema_version": 1, "mutations": mutations})).await?;
            anyhow::Ok((d, token, photos))
        }));
    }
    let mut devices = Vec::new();
    for t in tasks {
        devices.push(t.await??);
    }
    let (sign_in_peak, _) = memory_kb(pid);
    // Writing 5 to clear_refs resets VmHWM to the current RSS.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, before_uploads) = memory_kb(pid);

    let start = Instant::now();
    let mut tasks = Vec::new();
    for (d, token, photos) in devices {
        let rig = rig.clone();
        let mb = a.mb;
        let picture = a.picture();
        tasks.push(tokio::spawn(async move {
            let mut sent = 0usize;
            for (k, id) in photos.iter().enumerate() {
                // Made again rather than kept: the devices' memory is not what is measured.
                let bytes = big_photo(mb, picture, (d * 1000 + k) as u64);
                sent += bytes.len();
                let req: Value = rig
                    .http
                    .post(format!("{}/v1/photos/{id}/upload-url", rig.base))
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                let mut put = rig.http.put(req["url"].as_str().context("url")?);
                for (h, v) in req["headers"].as_object().context("headers")? {
                    if !h.eq_ignore_ascii_case("content-length") {
                        put = put.header(h, v.as_str().unwrap_or_default());
                    }
                }
                put.body(bytes).send().await?.error_for_status()?;
                rig.http
                    .post(format!("{}/v1/photos/{id}/complete", rig.base))
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?;
            }
            anyhow::Ok(sent)
        }));
    }
    let mut bytes = 0usize;
    for t in tasks {
        bytes += t.await??;
    }
    let upload = start.elapsed();
    let (peak, after_uploads) = memory_kb(pid);
    #[expect(clippy::cast_precision_loss, reason = "byte counts of a run")]
    let mb_total = bytes as f64 / 1_048_576.0;
    let upload_rate = mb_total / upload.as_secs_f64();
    println!("  uploaded and completed {mb_total:.0} MB in {:.2} s: {upload_rate:.1} MB/s", upload.as_secs_f64());

    // The same bytes written to the same disk with plain file writes (and an
    // fsync each, as the store does), by as many writers at once.
    let plain_dir = dir.join("plain");
    std::fs::create_dir_all(&plain_dir)?;
    let start = Instant::now();
    let mut writers = Vec::new();
    for d in 0..a.devices {
        let plain_dir = plain_dir.clone();
        let mb = a.mb;
        let picture = a.picture();
        writers.push(tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            for k in 0..per_device {
                let bytes = big_photo(mb, picture, (d * 1000 + k) as u64);
                let path = plain_dir.join(format!("{d}-{k}"));
                let mut f = std::fs::File::create(&path)?;
                std::io::Write::write_all(&mut f, &bytes)?;
                f.sync_all()?;
            }
            Ok(())
        }));
    }
    for w in writers {
        w.await??;
    }
    let plain = start.elapsed();
    let plain_rate = mb_total / plain.as_secs_f64();
    println!(
        "  plain file writes of the same bytes: {:.2} s, {plain_rate:.1} MB/s; upload / plain: {:.0}%",
        plain.as_secs_f64(),
        100.0 * upload_rate / plain_rate
    );
    let mb = |kb: u64| kb / 1024;
    println!(
        "  server memory: idle {} MB; {} devices signing in and declaring: peak {} MB above idle; \
         uploads: peak {} MB above idle ({} MB above the {} MB before them{}), {} MB right after",
        mb(idle),
        a.devices,
        mb(sign_in_peak.saturating_sub(idle)),
        mb(peak.saturating_sub(idle)),
        mb(peak.saturating_sub(before_uploads)),
        mb(before_uploads),
        if reset { "" } else { "; the high-water mark could not be reset, so this peak includes signing in" },
        mb(after_uploads)
    );

    // Thumbnails: from `complete` (uploaded_at) to ready (thumbnail_at), by the server's clock.
    let deadline = Instant::now() + Duration::from_mins(5);
    loop {
        let pending = fieldvisit_sync::photos::thumbnail_queue(&rig.pool).await?;
        if pending == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let delays = rig_data::thumbnail_delays(&rig.pool).await?;
    let (p50, p99, max) = percentiles(delays.iter().map(|s| Duration::from_secs_f64(s.max(0.0))).collect());
    println!(
        "  complete → thumbnail ready ({} photos): p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms",
        delays.len()
    );
    // SIGTERM, not SIGKILL: the server shuts down cleanly and a profiler
    // wrapped around it (FIELDVISIT_BENCH_WRAP) writes its report.
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    if tokio::time::timeout(Duration::from_mins(1), child.wait()).await.is_err() {
        child.kill().await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    /// A benchmark added here but not to the smoke runs of `.ci/test` could
    /// break unnoticed again (as `push` once did).
    #[test]
    fn ci_smoke_runs_every_benchmark() {
        let script = include_str!("../../.ci/test");
        let smoked: Vec<&str> = script
            .lines()
            .find_map(|l| l.trim().strip_prefix("for bench in "))
            .map(|l| l.trim_end_matches("; do").split_whitespace().collect())
            .unwrap_or_default();
        let command = <super::Bench as clap::Subcommand>::augment_subcommands(clap::Command::new("bench"));
        for benchmark in command.get_subcommands().map(clap::Command::get_name) {
            assert!(smoked.contains(&benchmark), "`.ci/test` does not smoke-run `{benchmark}` (it runs {smoked:?})");
        }
    }
}
