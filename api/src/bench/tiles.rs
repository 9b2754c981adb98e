//! `fieldvisit bench tiles` (`.ci/bench tiles`): the coverage map's vector
//! tiles and its GeoJSON, over 100,000 synthetic places clustered around
//! 邵原镇 (points and small grid cells, assigned and visited so that the
//! statuses vary; [`fieldvisit_sync::bench::tiles`]), as the presidium (every
//! station) for the month before this one:
//!
//! 1. tile latency p50/p95 at zooms 10 to 16, one request after the other,
//!    through the real server over HTTP and, for reference, straight from
//!    `coverage_tile` on a pooled connection; the tiles are the ones holding
//!    randomly drawn places, so dense zooms count as often as users see them;
//! 2. tiles per second by concurrent clients over the same tile list:
//!    through HTTP, against the bare SQL function driven by `pgbench` (a
//!    script drawing a tile from `bench_tiles` and selecting `coverage_tile`
//!    for it with the presidium's `query_params`, prepared statements, as
//!    many connections as clients), and against Martin serving the same
//!    function with its cache off; the phases alternate for a few rounds so
//!    that each sees the same state of the machine;
//! 3. the coverage GeoJSON of one station's 10,000 places: p50 and bytes,
//!    uncompressed and compressed.
//!
//! The ratios to the SQL rate are the figures: they change less with the
//! machine than tiles per second do.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use fieldvisit_sync::bench::tiles as data;
use fieldvisit_sync::month::Month;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{Rig, Wire, cpu_seconds, per_second, percentiles, rig_with};

/// The zooms sampled: the township fills a few tiles at 10 and one street at 16.
const ZOOMS: std::ops::RangeInclusive<i32> = 10..=16;

#[derive(Debug, clap::Args)]
pub struct TilesArgs {
    /// Places loaded (besides the demo's).
    #[arg(long, default_value_t = 100_000)]
    pub places: i32,
    /// Places drawn at each zoom: the distinct tiles holding them are timed
    /// (at zoom 10 the township fills only a few tiles).
    #[arg(long, default_value_t = 50)]
    pub per_zoom: usize,
    /// The rate phases draw from the sampled tiles of this zoom and above: a
    /// field map is read at street zooms, and one 3 MB tile of zoom 10
    /// (seconds of work) would make a phase of a few seconds a lottery.
    #[arg(long, default_value_t = 13)]
    pub rate_min_zoom: i32,
    /// Concurrent clients in the rate phases (HTTP, pgbench and Martin alike).
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Length of each rate phase.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
    /// Rounds of the rate phases (SQL, HTTP, Martin, in turn).
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// GeoJSON requests timed per encoding.
    #[arg(long, default_value_t = 20)]
    pub geojson_requests: usize,
    /// The Martin binary to run side by side (`.ci/bench` installs Martin 1.14.0 and sets it).
    #[arg(long, env = "FIELDVISIT_MARTIN")]
    pub martin: Option<PathBuf>,
    /// pgbench (default: on PATH, else the newest under /usr/lib/postgresql).
    #[arg(long, env = "FIELDVISIT_PGBENCH")]
    pub pgbench: Option<PathBuf>,
    /// Clients that do not accept compressed answers; by default they do, as a browser does.
    #[arg(long)]
    pub plain: bool,
    /// Tiny sizes, a few seconds, no Martin: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
}

impl TilesArgs {
    pub fn sized(self) -> Self {
        if self.smoke {
            Self {
                places: 600,
                per_zoom: 3,
                clients: 2,
                seconds: 1,
                rounds: 1,
                geojson_requests: 2,
                martin: None,
                ..self
            }
        } else {
            self
        }
    }
}

type Tile = (i32, i32, i32);

/// The tile holding (lon, lat) at zoom `z` (Web Mercator, the XYZ scheme).
fn tile_of(lon: f64, lat: f64, z: i32) -> Tile {
    let n = f64::from(1u32 << z);
    let lat = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - lat.tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    #[expect(clippy::cast_possible_truncation, reason = "tile numbers below 2^z, z ≤ 16")]
    (z, x.floor() as i32, y.floor() as i32)
}

/// One rate phase's figure.
#[derive(Default)]
struct Rate {
    tiles: usize,
    elapsed: Duration,
    /// CPU seconds of this process (server and load generator) and of the rest of the machine.
    cpu: (f64, f64),
}

impl Rate {
    fn add(&mut self, tiles: usize, elapsed: Duration, cpu: (f64, f64)) {
        self.tiles += tiles;
        self.elapsed += elapsed;
        self.cpu.0 += cpu.0;
        self.cpu.1 += cpu.1;
    }

    fn per_second(&self) -> f64 {
        if self.elapsed.is_zero() { 0.0 } else { per_second(self.tiles, self.elapsed) }
    }
}

pub async fn run(a: TilesArgs) -> anyhow::Result<()> {
    let wire = Wire::of(a.plain);
    let rig = rig_with("tiles", wire).await?;
    let month = Month::of(Utc::now()).previous();
    // What the server passes for the presidium (every station), and what
    // pgbench and Martin are given: the same work on each side.
    let params = json!({"stations": "all", "month": month.to_string()});

    let t = Instant::now();
    let station = data::load(&rig.pool, a.places, month.first_day()).await?;
    let statuses = data::statuses(&rig.pool, month.first_day()).await?;
    println!(
        "tiles: loaded {} places in {:.1} s (with VACUUM ANALYZE); month {month}: {}",
        a.places,
        t.elapsed().as_secs_f64(),
        statuses.iter().map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ")
    );
    println!("wire: {}", wire.describe());

    // The distinct tiles holding `per_zoom` random places at each zoom.
    let zooms: Vec<i32> = ZOOMS.collect();
    let points = data::sample_points(&rig.pool, i64::try_from(a.per_zoom * zooms.len())?).await?;
    let by_zoom: Vec<(i32, Vec<Tile>)> = zooms
        .iter()
        .zip(points.chunks(a.per_zoom.max(1)))
        .map(|(&z, chunk)| {
            let mut tiles: Vec<Tile> = chunk.iter().map(|&(lon, lat)| tile_of(lon, lat, z)).collect();
            tiles.sort_unstable();
            tiles.dedup();
            (z, tiles)
        })
        .collect();
    let list: Vec<Tile> =
        by_zoom.iter().filter(|(z, _)| *z >= a.rate_min_zoom).flat_map(|(_, t)| t.iter().copied()).collect();
    anyhow::ensure!(!list.is_empty(), "no tiles at zoom {} and above", a.rate_min_zoom);
    data::store_tile_list(&rig.pool, &list).await?;

    let token = rig.login("presidium").await?;
    let tile_url = |base: &str, (z, x, y): Tile| format!("{base}/v1/tiles/coverage/{z}/{x}/{y}.mvt?month={month}");

    // The route answers what the function makes for the presidium: the same
    // bytes, so both sides do the same work.
    for &tile in list.iter().step_by((list.len() / 5).max(1)) {
        let sql = data::tile(&rig.pool, tile, &params).await?;
        let http = get(&rig.http, &tile_url(&rig.base, tile), Some(&token)).await?;
        anyhow::ensure!(
            http == sql,
            "tile {tile:?}: the route answered {} bytes, the function {}",
            http.len(),
            sql.len()
        );
    }

    // Every pooled connection plans `coverage_tile`'s statements on its first
    // call (PL/pgSQL keeps plans per session): warm them with light tiles
    // first, or the first requests on each connection would be timed cold.
    let light = &by_zoom.last().context("no zooms")?.1;
    for &tile in light.iter().cycle().take(64) {
        get(&rig.http, &tile_url(&rig.base, tile), Some(&token)).await?;
        data::tile(&rig.pool, tile, &params).await?;
    }

    // 1. Latency, one request at a time; the function alone beside it.
    let mut latency_rows = Vec::new();
    for (z, tiles) in &by_zoom {
        println!("tiles: timing {} tiles of zoom {z}, one at a time", tiles.len());
        let mut http = Vec::with_capacity(tiles.len());
        let mut sql = Vec::with_capacity(tiles.len());
        let mut bytes = Vec::with_capacity(tiles.len());
        for &tile in tiles {
            let t = Instant::now();
            get(&rig.http, &tile_url(&rig.base, tile), Some(&token)).await?;
            http.push(t.elapsed());
            let t = Instant::now();
            bytes.push(data::tile(&rig.pool, tile, &params).await?.len());
            sql.push(t.elapsed());
        }
        bytes.sort_unstable();
        latency_rows.push((*z, tiles.len(), bytes[bytes.len() / 2], p50_p95(http), p50_p95(sql)));
    }

    // 2. Rates: pgbench, HTTP and Martin in turn, each round.
    let pgbench = a.pgbench.clone().map_or_else(find_pgbench, Ok)?;
    let db_url = bench_db_url()?;
    let martin = match &a.martin {
        Some(path) => Some(Martin::start(path, &db_url, a.clients).await?),
        None => None,
    };
    if let Some(m) = &martin {
        // Martin answers the same tile for the same params.
        let &tile = list.first().context("no tiles")?;
        let sql = data::tile(&rig.pool, tile, &params).await?;
        let served = get(&rig.http, &m.url(tile, month), None).await?;
        anyhow::ensure!(
            served == sql,
            "Martin answered {} bytes for {tile:?}, the function {}",
            served.len(),
            sql.len()
        );
    }
    let script = pgbench_script(&params, list.len())?;
    let (mut sql_rate, mut http_rate, mut martin_rate) = (Rate::default(), Rate::default(), Rate::default());
    for round in 1..=a.rounds {
        println!("tiles: rate round {round} of {} ({} clients, {} s per side)", a.rounds, a.clients, a.seconds);
        let cpu = cpu_seconds();
        let (tiles, elapsed) = run_pgbench(&pgbench, &db_url, &script, a.clients, a.seconds).await?;
        sql_rate.add(tiles, elapsed, cpu_since(cpu));

        let cpu = cpu_seconds();
        let urls: Vec<String> = list.iter().map(|&t| tile_url(&rig.base, t)).collect();
        let (tiles, elapsed) = drive(&rig.http, urls, Some(&token), a.clients, a.seconds).await?;
        http_rate.add(tiles, elapsed, cpu_since(cpu));

        if let Some(m) = &martin {
            let cpu = cpu_seconds();
            let urls: Vec<String> = list.iter().map(|&t| m.url(t, month)).collect();
            let (tiles, elapsed) = drive(&rig.http, urls, None, a.clients, a.seconds).await?;
            martin_rate.add(tiles, elapsed, cpu_since(cpu));
        }
    }
    drop(martin);

    // 3. The coverage GeoJSON of the station holding a tenth of the places.
    println!("tiles: the coverage GeoJSON of one station, {} requests per encoding", a.geojson_requests);
    let geojson = geojson(&rig, &token, month, station, a.geojson_requests).await?;

    // The results.
    let mut out = String::new();
    writeln!(out, "\ntiles: results ({} places; the presidium, every station; month {month})", a.places)?;
    writeln!(out, "  zoom | tiles |  bytes p50 |  HTTP p50 |  HTTP p95 |   SQL p50 |   SQL p95")?;
    for (z, n, bytes, (h50, h95), (s50, s95)) in &latency_rows {
        writeln!(
            out,
            "  {z:>4} | {n:>5} | {:>7.1} kB | {h50:>6.1} ms | {h95:>6.1} ms | {s50:>6.1} ms | {s95:>6.1} ms",
            kb(*bytes)
        )?;
    }
    let sql = sql_rate.per_second();
    let ratio = |r: f64| if sql > 0.0 { r / sql } else { f64::NAN };
    writeln!(
        out,
        "  tiles/s, {} clients, {} × {} s per side, over the {} tiles above of zoom {} and above:",
        a.clients,
        a.rounds,
        a.seconds,
        list.len(),
        a.rate_min_zoom
    )?;
    let rows: [(&str, &Rate); 3] = [
        ("SQL function (pgbench)", &sql_rate),
        ("fieldvisit over HTTP", &http_rate),
        ("Martin 1.14.0 (cache off)", &martin_rate),
    ];
    for (name, rate) in rows {
        if rate.tiles == 0 && name.starts_with("Martin") {
            writeln!(out, "  {name:<27} not run (no --martin / FIELDVISIT_MARTIN)")?;
            continue;
        }
        writeln!(
            out,
            "  {name:<27} {:>8.1} tiles/s  {:>5.2}× SQL   CPU s: this process (server, clients) {:.1}, the rest {:.1}",
            rate.per_second(),
            ratio(rate.per_second()),
            rate.cpu.0,
            rate.cpu.1
        )?;
    }
    writeln!(
        out,
        "  coverage GeoJSON of one station ({} features), {} requests each:",
        geojson.features, a.geojson_requests
    )?;
    for (encoding, answered, bytes, p50) in &geojson.rows {
        writeln!(out, "  Accept-Encoding {encoding:<8} → {answered:<8} {:>8.1} kB  p50 {p50:.1} ms", kb(*bytes))?;
    }
    print!("{out}");
    Ok(())
}

fn kb(bytes: usize) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "sizes of answers")]
    let kb = bytes as f64 / 1024.0;
    kb
}

/// p50 and p95 in milliseconds.
fn p50_p95(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short vector"
    )]
    let p95 = d.get(((d.len() as f64 - 1.0) * 0.95).round() as usize).map_or(0.0, |x| x.as_secs_f64() * 1000.0);
    (percentiles(d).0, p95)
}

fn cpu_since(before: (f64, f64)) -> (f64, f64) {
    let after = cpu_seconds();
    let own = after.0 - before.0;
    (own, (after.1 - before.1 - own).max(0.0))
}

/// The body of a GET that answers 200 or 204 (an empty tile), read to the end.
async fn get(http: &reqwest::Client, url: &str, token: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let mut req = http.get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await?.error_for_status().with_context(|| format!("GET {url}"))?;
    Ok(res.bytes().await?.to_vec())
}

/// `clients` tasks requesting tiles drawn at random from `urls` for
/// `seconds`: tiles answered and the time taken.
async fn drive(
    http: &reqwest::Client,
    urls: Vec<String>,
    token: Option<&str>,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<(usize, Duration)> {
    let urls = std::sync::Arc::new(urls);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, urls, token) = (http.clone(), urls.clone(), token.map(str::to_owned));
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let mut n = 0usize;
            while Instant::now() < deadline {
                let url = &urls[rng.gen_range(0..urls.len())];
                get(&http, url, token.as_deref()).await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok((total, start.elapsed()))
}

/// The benchmark database's URL, for pgbench and Martin.
fn bench_db_url() -> anyhow::Result<String> {
    let url = std::env::var("DATABASE_URL")?;
    let (head, _) = url.rsplit_once('/').context("DATABASE_URL ends with /dbname")?;
    Ok(format!("{head}/fieldvisit_bench_tiles"))
}

fn find_pgbench() -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("pgbench"))
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        return Ok(p);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("pgbench: not on PATH and no /usr/lib/postgresql (set FIELDVISIT_PGBENCH)")?
        .filter_map(|e| Some(e.ok()?.path().join("bin/pgbench")))
        .filter(|p| p.is_file())
        .collect();
    // Versions sort numerically by their length first ("9" before "15").
    found.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    found.pop().context("no pgbench under /usr/lib/postgresql (set FIELDVISIT_PGBENCH)")
}

/// pgbench's script, in a file of its own: one tile drawn from `bench_tiles`
/// and made by the function, in one statement.
fn pgbench_script(params: &Value, tiles: usize) -> anyhow::Result<TempFile> {
    let path = std::env::temp_dir().join(format!("fieldvisit-bench-tiles-{}.sql", uuid::Uuid::now_v7()));
    let params = params.to_string().replace('\'', "''");
    std::fs::write(
        &path,
        format!(
            "\\set i random(1, {tiles})\n\
             SELECT coverage_tile(t.z, t.x, t.y, '{params}'::json) FROM bench_tiles t WHERE t.i = :i;\n"
        ),
    )?;
    Ok(TempFile(path))
}

/// A file of the run's (pgbench's script, Martin's config), removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs pgbench for `seconds`: tiles made and the time taken (as pgbench reports them).
async fn run_pgbench(
    pgbench: &Path,
    db_url: &str,
    script: &TempFile,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<(usize, Duration)> {
    let out = tokio::process::Command::new(pgbench)
        .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &clients.min(2).to_string()])
        .args(["-T", &seconds.to_string(), "-f"])
        .arg(&script.0)
        .arg(db_url)
        .output()
        .await
        .with_context(|| format!("running {}", pgbench.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "pgbench failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    let field = |prefix: &str| {
        stdout.lines().find_map(|l| l.trim().strip_prefix(prefix)).and_then(|r| r.split_whitespace().next())
    };
    let tiles: usize = field("number of transactions actually processed:")
        .and_then(|v| v.split('/').next()?.parse().ok())
        .context("pgbench: transactions processed")?;
    let tps: f64 = field("tps =").and_then(|v| v.parse().ok()).context("pgbench: tps")?;
    #[expect(clippy::cast_precision_loss, reason = "counts of a run")]
    let elapsed = if tps > 0.0 { Duration::from_secs_f64(tiles as f64 / tps) } else { Duration::from_secs(seconds) };
    Ok((tiles, elapsed))
}

/// A Martin server on the benchmark database, serving `coverage_tile` as a
/// function source with its tile cache off; stopped when dropped.
struct Martin {
    base: String,
    _child: tokio::process::Child,
    _config: TempFile,
}

impl Martin {
    async fn start(binary: &Path, db_url: &str, clients: usize) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config =
            TempFile(std::env::temp_dir().join(format!("fieldvisit-bench-martin-{}.yaml", uuid::Uuid::now_v7())));
        // As many database connections as clients, as pgbench has.
        std::fs::write(
            &config.0,
            format!(
                "listen_addresses: '127.0.0.1:{port}'\n\
                 cache_size_mb: 0\n\
                 postgres:\n  \
                   connection_string: '{db_url}'\n  \
                   pool_size: {clients}\n  \
                   auto_publish: false\n  \
                   functions:\n    \
                     coverage:\n      \
                       schema: public\n      \
                       function: coverage_tile\n      \
                       minzoom: 0\n      \
                       maxzoom: 22\n"
            ),
        )?;
        let child = tokio::process::Command::new(binary)
            .arg("--config")
            .arg(&config.0)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "Martin did not answer on {base} within a minute");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Self { base, _child: child, _config: config })
    }

    /// Martin passes a request's query string to the function as `query_params`.
    fn url(&self, (z, x, y): Tile, month: Month) -> String {
        format!("{}/coverage/{z}/{x}/{y}?stations=all&month={month}", self.base)
    }
}

struct GeoJson {
    features: usize,
    /// Accept-Encoding asked, Content-Encoding answered, bytes on the wire, p50 ms.
    rows: Vec<(&'static str, String, usize, f64)>,
}

/// `GET /v1/coverage` for one station, uncompressed and compressed: the bytes
/// as they travel (the client decodes nothing) and the p50 of each.
async fn geojson(
    rig: &Rig,
    token: &str,
    month: Month,
    station: uuid::Uuid,
    requests: usize,
) -> anyhow::Result<GeoJson> {
    let raw = reqwest::Client::builder().no_gzip().no_zstd().build()?;
    let url = format!("{}/v1/coverage?month={month}&station_id={station}", rig.base);
    let mut rows = Vec::new();
    let mut features = 0;
    for encoding in ["identity", "gzip", "br", "zstd"] {
        let mut took = Vec::with_capacity(requests);
        let mut bytes = 0;
        let mut answered = String::new();
        // Two untimed first: the plan cache and the allocator warm up.
        for i in 0..requests + 2 {
            let t = Instant::now();
            let res = raw
                .get(&url)
                .bearer_auth(token)
                .header("accept-encoding", encoding)
                .send()
                .await?
                .error_for_status()?;
            answered =
                res.headers().get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("identity").to_owned();
            let body = res.bytes().await?;
            if i >= 2 {
                took.push(t.elapsed());
            }
            bytes = body.len();
            if encoding == "identity" && features == 0 {
                let doc: Value = serde_json::from_slice(&body)?;
                features = doc["features"].as_array().map_or(0, Vec::len);
            }
        }
        rows.push((encoding, answered, bytes, percentiles(took).0));
    }
    Ok(GeoJson { features, rows })
}
