//! `fieldvisit simulate`: N demo representatives do a month of field work
//! against a running server through the reference device
//! (`fieldvisit_sync::client`), with the network misbehaving on purpose,
//! and then each device's copy is checked against the server's.
//!
//! Each device bootstraps, finds its assignments and places in what it
//! pulled, plans its month, and works in offline stretches: a few check-ins
//! queued, then a push. Some devices' clocks run hours ahead or days behind;
//! answers are dropped after the server committed (the device retries and
//! must get duplicates); acknowledgements are "forgotten" (the batch goes
//! again). At the end each device pulls, and a second install for the same
//! person bootstraps from scratch: the two copies must be equal.
//!
//! The server's clock is real, so visits planned after it are not sent (the
//! server would cap them at their arrival and judge them from the future).
//!
//! With `--photos`, some check-ins also take a photo: a real JPEG with EXIF
//! at the visit's position and time, declared through the outbox right
//! after its check-in and uploaded after the push that carried it. Uploads
//! are cut mid-body and `complete` answers lost at the drop rate; at the end
//! every photo declared must be on the server, uploaded, with the same
//! SHA-256.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};
use fieldvisit_sync::client::plan::{self, PlanPlace};
use fieldvisit_sync::client::{
    Connection, ConnectionStats, Device, DeviceSettings, DeviceStats, PhotoStats, RetryPolicy,
};
use fieldvisit_sync::protocol::{CheckInCreateV1, MutationStatus, PhotoTarget};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use uuid::Uuid;

/// The differences listed per device before "and N more".
const MAX_LISTED_DIFFERENCES: usize = 10;
/// How often the final comparison pulls again before it calls a
/// difference a divergence (200 ms apart: 10 s in all).
const CONVERGE_ATTEMPTS: usize = 50;

/// The simulated camera's picture size: a real JPEG decode for the server's
/// thumbnail worker, cheap enough to encode in a debug build.
const PHOTO_WIDTH: u32 = 1600;
const PHOTO_HEIGHT: u32 = 1200;
/// The bytes per photo, reached by padding (see [`pad_jpeg`]).
const PHOTO_BYTES: std::ops::Range<usize> = 300_000..800_000;
/// How long the final check waits for the server's thumbnails, so that the
/// records stop changing before the last pull and the fresh bootstrap.
const THUMBNAIL_WAIT: StdDuration = StdDuration::from_mins(2);

#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The server's root URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub server: String,
    /// Devices, one per representative: rep001 … repN.
    #[arg(long, default_value_t = 10)]
    pub devices: u32,
    /// The month to work through, YYYY-MM (Asia/Shanghai).
    #[arg(long)]
    pub month: String,
    /// Seeds the plans, clocks and faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Probability that a sync answer is lost after the server committed;
    /// also that a photo upload is cut mid-body.
    #[arg(long, default_value_t = 0.1)]
    pub drop_rate: f64,
    /// Fraction of check-ins that also take a photo, declared through sync
    /// and uploaded after the push.
    #[arg(long, default_value_t = 0.0)]
    pub photos: f64,
    /// The representatives' password (the demo's by default).
    #[arg(long, default_value = crate::demo::DEMO_PASSWORD)]
    pub password: String,
}

/// What one device did and found.
#[derive(Debug, Clone)]
pub struct DeviceReport {
    pub username: String,
    pub client_id: Uuid,
    pub clock_skew: Duration,
    pub places: usize,
    /// Check-ins planned for the month.
    pub planned: usize,
    /// The ids of the check-ins sent (planned, and before the server's clock).
    pub sent: Vec<Uuid>,
    pub stats: DeviceStats,
    pub connection: ConnectionStats,
    /// Verdicts of the sent check-ins, as the server holds them.
    pub verdicts: BTreeMap<String, usize>,
    /// Mutations whose final outcome (the first answer, or the `original`
    /// of a duplicate) was applied, and rejected.
    pub outcome_applied: usize,
    pub outcome_rejected: usize,
    /// Records in the device's store at the end.
    pub records: usize,
    /// Photos declared and accepted by the server.
    pub photos: Vec<DeclaredPhoto>,
    /// Photo declarations the server rejected (no upload follows).
    pub photos_rejected: usize,
    pub photo_stats: PhotoStats,
    /// Photos whose server record was read at the end: `uploaded`, with the
    /// declared SHA-256 and check-in.
    pub photos_verified: usize,
    /// Photos whose server record is not as declared at the end.
    pub photo_mismatches: usize,
    /// Photos the server flagged for their EXIF (far away, another time).
    pub photos_flagged: usize,
    /// How the device's copy differs from the server's; empty when converged.
    pub differences: Vec<String>,
    /// The device failed outright.
    pub error: Option<String>,
}

/// A photo a device declared, as it declared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredPhoto {
    pub id: Uuid,
    pub check_in: Uuid,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: usize,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub server: String,
    pub month: String,
    pub seed: u64,
    pub drop_rate: f64,
    pub photos: f64,
    pub devices: Vec<DeviceReport>,
}

impl Report {
    pub fn converged(&self) -> bool {
        self.devices.iter().all(|d| d.error.is_none() && d.differences.is_empty())
    }

    /// Sum of a count over the devices.
    pub fn total(&self, f: impl Fn(&DeviceReport) -> u64) -> u64 {
        self.devices.iter().map(f).sum()
    }

    pub fn sent_ids(&self) -> Vec<Uuid> {
        self.devices.iter().flat_map(|d| d.sent.iter().copied()).collect()
    }

    /// The photos declared (and accepted) by every device.
    pub fn declared_photos(&self) -> Vec<&DeclaredPhoto> {
        self.devices.iter().flat_map(|d| &d.photos).collect()
    }

    pub fn verdicts(&self) -> BTreeMap<String, usize> {
        let mut all = BTreeMap::new();
        for (v, n) in self.devices.iter().flat_map(|d| d.verdicts.iter()) {
            *all.entry(v.clone()).or_default() += n;
        }
        all
    }
}

/// Runs the simulation; the report says whether the devices converged.
pub async fn run(args: &SimulateArgs) -> anyhow::Result<Report> {
    let month = fieldvisit_sync::month::Month::parse(&args.month)
        .with_context(|| format!("--month {:?} is not YYYY-MM", args.month))?
        .first_day();
    anyhow::ensure!((1..=999).contains(&args.devices), "--devices must be between 1 and 999");
    anyhow::ensure!((0.0..1.0).contains(&args.drop_rate), "--drop-rate must be at least 0 and below 1");
    anyhow::ensure!((0.0..=1.0).contains(&args.photos), "--photos must be between 0 and 1");
    let mut jobs = JoinSet::new();
    for n in 1..=args.devices {
        let args = args.clone();
        jobs.spawn(async move {
            let username = format!("rep{n:03}");
            let seed = args.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(n);
            run_device(&args, &username, month, seed).await
        });
    }
    let mut devices = Vec::new();
    while let Some(d) = jobs.join_next().await {
        devices.push(d.context("a device task panicked")?);
    }
    devices.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(Report {
        server: args.server.clone(),
        month: args.month.clone(),
        seed: args.seed,
        drop_rate: args.drop_rate,
        photos: args.photos,
        devices,
    })
}

/// Some clocks run hours ahead, some days behind, the rest within seconds.
fn clock_skew(username_number: u64, rng: &mut StdRng) -> Duration {
    match username_number % 4 {
        1 => Duration::hours(rng.gen_range(2..=6)) + Duration::minutes(rng.gen_range(0..60)),
        3 => -(Duration::days(rng.gen_range(1..=3)) + Duration::minutes(rng.gen_range(0..600))),
        _ => Duration::seconds(rng.gen_range(-20..=20)),
    }
}

async fn run_device(args: &SimulateArgs, username: &str, month: NaiveDate, seed: u64) -> DeviceReport {
    let mut rng = StdRng::seed_from_u64(seed);
    let number: u64 = username.trim_start_matches("rep").parse().unwrap_or(0);
    let skew = clock_skew(number, &mut rng);
    let mut conn = Connection::new(&args.server, username, &args.password, seed);
    conn.faults.drop_response_rate = args.drop_rate;
    conn.faults.cut_upload_rate = args.drop_rate;
    // Short waits: the simulator's "network" fails on purpose and often.
    conn.retry = RetryPolicy {
        max_attempts: 12,
        base: StdDuration::from_millis(20),
        max_delay: StdDuration::from_secs(1),
        max_elapsed: StdDuration::from_mins(1),
    };
    let settings =
        DeviceSettings { clock_skew: skew, forget_ack_rate: args.drop_rate / 2.0, seed, ..DeviceSettings::default() };
    let mut device = Device::install(conn, settings);
    let mut report = DeviceReport {
        username: username.to_owned(),
        client_id: device.store.client_id,
        clock_skew: skew,
        places: 0,
        planned: 0,
        sent: Vec::new(),
        stats: DeviceStats::default(),
        connection: ConnectionStats::default(),
        verdicts: BTreeMap::new(),
        outcome_applied: 0,
        outcome_rejected: 0,
        records: 0,
        photos: Vec::new(),
        photos_rejected: 0,
        photo_stats: PhotoStats::default(),
        photos_verified: 0,
        photo_mismatches: 0,
        photos_flagged: 0,
        differences: Vec::new(),
        error: None,
    };
    if let Err(e) = work(args, &mut device, month, &mut rng, &mut report).await {
        report.error = Some(format!("{e:#}"));
    }
    (report.outcome_applied, report.outcome_rejected) = device.outcomes();
    report.stats = device.stats;
    report.photo_stats = device.photo_stats;
    report.connection = device.conn.stats;
    report.records = device.store.records.values().map(BTreeMap::len).sum();
    report
}

async fn work(
    args: &SimulateArgs,
    device: &mut Device,
    month: NaiveDate,
    rng: &mut StdRng,
    report: &mut DeviceReport,
) -> anyhow::Result<()> {
    device.pull().await.context("bootstrap")?;
    let me = device.conn.person_id().context("signed in after a pull")?;
    let places = assigned_places(device, me, month);
    report.places = places.len();
    let mut visits = plan::month_plan(&places, month, rng);
    report.planned = visits.len();
    let now = Utc::now();
    visits.retain(|v| v.device_time <= now);
    for v in &mut visits {
        // The phone stamps the visit with its own (skewed) clock.
        v.device_time += device.settings.clock_skew;
    }
    report.sent = visits.iter().map(|v| v.id).collect();

    // Offline stretches: a few visits without a signal, then a sync.
    let mut stretches = Vec::new();
    let mut rest = visits.as_slice();
    while !rest.is_empty() {
        let n = rng.gen_range(2..=6).min(rest.len());
        stretches.push(&rest[..n]);
        rest = &rest[n..];
    }
    // Besides the random faults, each device meets both kinds at least once
    // when faults are on, so a short run still exercises them.
    let faulty = args.drop_rate > 0.0 && !stretches.is_empty();
    let (drop_at, forget_at) = if faulty {
        (rng.gen_range(0..stretches.len()), rng.gen_range(0..stretches.len()))
    } else {
        (usize::MAX, usize::MAX)
    };
    if faulty && args.photos > 0.0 {
        device.conn.faults.cut_next_uploads = 1;
    }
    // Photos draw from their own generator, so a run without them plans,
    // clocks and faults exactly as before.
    let mut photo_rng = StdRng::seed_from_u64(device.settings.seed ^ 0x9407_0000_0000_0001);
    let mut pending = Vec::new();
    for (i, stretch) in stretches.into_iter().enumerate() {
        for v in stretch {
            device.queue_check_in(v);
            if args.photos > 0.0 && photo_rng.gen_bool(args.photos) {
                let photo = take_photo(v, device.settings.clock_skew, &mut photo_rng).await?;
                let mutation =
                    device.queue_photo(photo.declared.id, &photo.bytes, "image/jpeg", PhotoTarget::CheckIn(v.id));
                pending.push(PendingPhoto { mutation, ..photo });
            }
        }
        if rng.gen_bool(0.1) {
            // The access token runs out while the phone was offline.
            device.conn.expire_access_token();
        }
        if i == drop_at {
            device.conn.faults.drop_next_answers = 1;
        }
        if i == forget_at {
            device.forget_next_acks = 1;
        }
        device.push().await.context("push")?;
        upload_declared(device, &mut pending, report).await?;
        if rng.gen_bool(0.3) {
            device.pull().await.context("pull")?;
        }
    }
    device.push().await.context("final push")?;
    upload_declared(device, &mut pending, report).await?;
    let mut photo_differences: Vec<String> =
        pending.iter().map(|p| format!("photo {} was never declared to the server", p.declared.id)).collect();
    photo_differences.extend(verify_photos(device, report).await?);
    // A second install for the same person, bootstrapped from nothing, is
    // the server's view of what this person's phone should hold.
    let mut fresh = Device::install(
        Connection::new(&args.server, device.conn.username(), &args.password, rng.r#gen()),
        DeviceSettings::default(),
    );
    // Converged means equal once both have pulled everything: the server
    // keeps working after the last upload (thumbnails change photos), and a
    // transaction open elsewhere in the cluster holds the pull horizon back
    // for a moment. So both pull again until they agree, for a bounded time.
    for attempt in 0..CONVERGE_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
        device.pull().await.context("final pull")?;
        fresh.pull().await.context("fresh bootstrap")?;
        report.differences = compare(device, &fresh, &report.sent);
        if report.differences.is_empty() {
            break;
        }
    }
    report.differences.extend(photo_differences);
    if report.differences.len() > MAX_LISTED_DIFFERENCES {
        let more = report.differences.len() - MAX_LISTED_DIFFERENCES;
        report.differences.truncate(MAX_LISTED_DIFFERENCES);
        report.differences.push(format!("and {more} more"));
    }
    for id in &report.sent {
        if let Some(r) = fresh.store.records.get("check_in").and_then(|m| m.get(id)) {
            let verdict = r.data["verdict"].as_str().unwrap_or("?").to_owned();
            *report.verdicts.entry(verdict).or_default() += 1;
        }
    }
    Ok(())
}

/// The places of the person's assignments that run during the month.
fn assigned_places(device: &Device, me: Uuid, month: NaiveDate) -> Vec<PlanPlace> {
    let (first, next) = (month.to_string(), plan::next_month(month).to_string());
    let ids: BTreeSet<Uuid> = device
        .store
        .entity("assignment")
        .filter(|(_, r)| r.data["person_id"].as_str() == Some(me.to_string().as_str()))
        // Dates as YYYY-MM-DD compare as strings.
        .filter(|(_, r)| r.data["valid_from"].as_str().is_none_or(|f| f < next.as_str()))
        .filter(|(_, r)| r.data["valid_to"].as_str().is_none_or(|t| t > first.as_str()))
        .filter_map(|(_, r)| r.data["place_id"].as_str()?.parse().ok())
        .collect();
    let mut places: Vec<PlanPlace> = device
        .store
        .entity("place")
        .filter(|(id, _)| ids.contains(id))
        .filter_map(|(_, r)| PlanPlace::from_feature(&r.data))
        .collect();
    places.sort_by_key(|p| p.id);
    places
}

/// Where the device's copy differs from a fresh bootstrap's.
fn compare(device: &Device, fresh: &Device, sent: &[Uuid]) -> Vec<String> {
    let mut out = Vec::new();
    if !device.store.outbox.is_empty() {
        out.push(format!("{} mutations still queued", device.store.outbox.len()));
    }
    let (mine, theirs) = (device.store.snapshot(), fresh.store.snapshot());
    for (key, data) in &mine {
        match theirs.get(key) {
            None => out.push(format!("{} {} is on the device but not on the server", key.0, key.1)),
            Some(t) if t != data => {
                out.push(format!("{} {} differs: device {} vs server {}", key.0, key.1, brief(data), brief(t)));
            }
            Some(_) => {}
        }
    }
    for key in theirs.keys().filter(|k| !mine.contains_key(*k)) {
        out.push(format!("{} {} is on the server but not on the device", key.0, key.1));
    }
    // Every check-in sent must be on the server unless it was rejected.
    let rejected: BTreeSet<Uuid> = device
        .results
        .values()
        .filter(|r| r.status == MutationStatus::Rejected || r.original == Some(MutationStatus::Rejected))
        .filter_map(|r| device_check_in_id(device, r.id))
        .collect();
    for id in sent.iter().filter(|id| !rejected.contains(id)) {
        if !theirs.contains_key(&("check_in".to_owned(), *id)) {
            out.push(format!("check-in {id} was sent but is not on the server"));
        }
    }
    out
}

/// A photo taken on the device, its bytes kept until they are uploaded.
struct PendingPhoto {
    declared: DeclaredPhoto,
    bytes: Vec<u8>,
    /// The `photo.declare.v1` mutation; the upload waits for its answer.
    mutation: i64,
}

/// A photo of the visit: a real JPEG whose EXIF puts it at the check-in's
/// position (in WGS84, as cameras write it) and at the visit's true time.
/// The phone's skew is taken off the time because the server judges EXIF
/// time against the visit time it corrected for that skew; left on, every
/// photo of a phone days behind would be flagged, which is not what this
/// run is about.
async fn take_photo(v: &CheckInCreateV1, skew: Duration, rng: &mut StdRng) -> anyhow::Result<PendingPhoto> {
    let at = v.device_time - skew;
    let wgs84 = v.position.crs.to_wgs84(geo::coord! { x: v.position.lon, y: v.position.lat });
    let millis = u64::try_from(at.timestamp_millis()).context("a visit after 1970")?;
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &rng.r#gen()).into_uuid();
    let target = rng.gen_range(PHOTO_BYTES);
    let noise: u64 = rng.r#gen();
    let taken_at = at.naive_local();
    // Encoding takes a while in a debug build; off the async workers.
    let bytes = tokio::task::spawn_blocking(move || {
        let jpeg = crate::photos::media::jpeg_with_exif(PHOTO_WIDTH, PHOTO_HEIGHT, wgs84.y, wgs84.x, taken_at);
        pad_jpeg(&jpeg, target, noise)
    })
    .await
    .context("making a photo")?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(PendingPhoto { declared: DeclaredPhoto { id, check_in: v.id, sha256, size: bytes.len() }, bytes, mutation: 0 })
}

/// Grows a JPEG to about `target` bytes with comment (COM) segments of
/// random bytes after its EXIF segment. A gradient picture compresses to
/// ~80 KB where a phone's photo has megabytes; every decoder skips comment
/// segments, so this gives uploads a realistic length without the cost of
/// encoding (and the server's cost of decoding) a bigger picture.
fn pad_jpeg(jpeg: &[u8], target: usize, seed: u64) -> Vec<u8> {
    // SOI (2 bytes), then the APP1 marker (2) and its length, which counts
    // itself but not the marker.
    assert_eq!(jpeg[..4], [0xFF, 0xD8, 0xFF, 0xE1], "jpeg_with_exif puts its EXIF segment right after SOI");
    let app1_end = 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(target.max(jpeg.len()) + 4);
    out.extend_from_slice(&jpeg[..app1_end]);
    let mut missing = target.saturating_sub(jpeg.len());
    while missing > 4 {
        let n = (missing - 4).min(usize::from(u16::MAX) - 2);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&u16::try_from(n + 2).expect("at most u16::MAX").to_be_bytes());
        let start = out.len();
        out.resize(start + n, 0);
        rng.fill(&mut out[start..]);
        missing -= n + 4;
    }
    out.extend_from_slice(&jpeg[app1_end..]);
    out
}

/// Uploads the photos whose declaration a push has got answered; a rejected
/// declaration has nothing to upload to. The rest wait for the next push.
async fn upload_declared(
    device: &mut Device,
    pending: &mut Vec<PendingPhoto>,
    report: &mut DeviceReport,
) -> anyhow::Result<()> {
    for photo in std::mem::take(pending) {
        let outcome = device
            .results
            .get(&photo.mutation)
            .map(|r| if r.status == MutationStatus::Duplicate { r.original } else { Some(r.status) });
        match outcome {
            None => pending.push(photo),
            Some(Some(MutationStatus::Applied)) => {
                device
                    .upload_photo(photo.declared.id, &photo.bytes)
                    .await
                    .with_context(|| format!("uploading photo {}", photo.declared.id))?;
                report.photos.push(photo.declared);
            }
            Some(_) => report.photos_rejected += 1,
        }
    }
    Ok(())
}

/// Reads every declared photo back from the server as the device's person:
/// it must be uploaded, with the declared SHA-256, on its check-in. Waits
/// for the thumbnails too (up to `THUMBNAIL_WAIT`), as they change the
/// records the final pull and the fresh bootstrap compare.
async fn verify_photos(device: &mut Device, report: &mut DeviceReport) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + THUMBNAIL_WAIT;
    let mut out = Vec::new();
    for p in &report.photos {
        loop {
            let record = device.photo(p.id).await.with_context(|| format!("reading photo {}", p.id))?;
            let check_in = record["check_in_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
            if record["status"] != "uploaded"
                || record["sha256"].as_str() != Some(p.sha256.as_str())
                || check_in != Some(p.check_in)
            {
                report.photo_mismatches += 1;
                out.push(format!("photo {} is not on the server as declared: {}", p.id, brief(&record)));
                break;
            }
            if record["thumbnail_ready"] == true || Instant::now() > deadline {
                report.photos_verified += 1;
                report.photos_flagged += usize::from(record["exif_flags"].as_array().is_some_and(|f| !f.is_empty()));
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(200)).await;
        }
    }
    Ok(out)
}

/// The check-in id of a mutation, from the result the server sent back.
fn device_check_in_id(device: &Device, mutation: i64) -> Option<Uuid> {
    device.results.get(&mutation)?.data.as_ref()?["id"].as_str()?.parse().ok()
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 { format!("{}…", s.chars().take(120).collect::<String>()) } else { s }
}

fn skew_label(d: Duration) -> String {
    let sign = if d < Duration::zero() { '-' } else { '+' };
    let s = d.num_seconds().abs();
    match s {
        0..60 => format!("{sign}{s}s"),
        60..86_400 => format!("{sign}{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{sign}{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulated {} against {}: {} devices, seed {}, drop rate {:.2}, photos {:.2}",
            self.month,
            self.server,
            self.devices.len(),
            self.seed,
            self.drop_rate,
            self.photos
        )?;
        writeln!(f, "device  clock    places planned sent pushes applied dup rej retries dropped resent reauth")?;
        for d in &self.devices {
            writeln!(
                f,
                "{:<7} {:<8} {:>6} {:>7} {:>4} {:>6} {:>7} {:>3} {:>3} {:>7} {:>7} {:>6} {:>6}{}",
                d.username,
                skew_label(d.clock_skew),
                d.places,
                d.planned,
                d.sent.len(),
                d.stats.pushes,
                d.stats.applied,
                d.stats.duplicate,
                d.stats.rejected,
                d.connection.retries,
                d.connection.dropped_responses,
                d.stats.repeated_sends,
                d.connection.reauthentications,
                d.error.as_ref().map(|e| format!("  FAILED: {e}")).unwrap_or_default(),
            )?;
        }
        let planned: usize = self.devices.iter().map(|d| d.planned).sum();
        let sent = self.sent_ids().len();
        writeln!(
            f,
            "check-ins planned {planned}, sent {sent} ({} planned after the server's clock were not sent)",
            planned - sent
        )?;
        writeln!(
            f,
            "mutations pushed {} in {} pushes ({} HTTP requests); answers: applied {}, duplicate {}, rejected {}",
            self.total(|d| d.stats.mutations_sent),
            self.total(|d| d.stats.pushes),
            self.total(|d| d.connection.requests),
            self.total(|d| d.stats.applied),
            self.total(|d| d.stats.duplicate),
            self.total(|d| d.stats.rejected),
        )?;
        writeln!(
            f,
            "outcome per mutation (a lost answer's duplicate counts as the original): applied {}, rejected {}",
            self.devices.iter().map(|d| d.outcome_applied).sum::<usize>(),
            self.devices.iter().map(|d| d.outcome_rejected).sum::<usize>(),
        )?;
        let verdicts: Vec<String> = self.verdicts().iter().map(|(v, n)| format!("{v} {n}")).collect();
        writeln!(f, "verdicts: {}", verdicts.join(", "))?;
        writeln!(
            f,
            "retries {}, dropped responses {}, repeated sends {}, re-authentications {}, pull pages {} ({} waiting for the horizon)",
            self.total(|d| d.connection.retries),
            self.total(|d| d.connection.dropped_responses),
            self.total(|d| d.stats.repeated_sends),
            self.total(|d| d.connection.reauthentications),
            self.total(|d| d.stats.pages),
            self.total(|d| d.stats.horizon_waits),
        )?;
        if self.photos > 0.0 {
            let sum = |f: fn(&DeviceReport) -> usize| self.devices.iter().map(f).sum::<usize>();
            writeln!(
                f,
                "photos declared {}, uploaded {}, verified on the server (uploaded, same SHA-256) {}, mismatches {}, declarations rejected {}, EXIF-flagged {}",
                self.total(|d| d.photo_stats.declared),
                self.total(|d| d.photo_stats.uploaded),
                sum(|d| d.photos_verified),
                sum(|d| d.photo_mismatches),
                sum(|d| d.photos_rejected),
                sum(|d| d.photos_flagged),
            )?;
            writeln!(
                f,
                "photo uploads: {} PUTs ({} cut mid-body and retried, {} unanswered, {} refused), {} upload URLs; complete: {} answers dropped, {} not_uploaded, {} size/hash mismatches",
                self.total(|d| d.photo_stats.puts),
                self.total(|d| d.photo_stats.cut_uploads),
                self.total(|d| d.photo_stats.unanswered_puts),
                self.total(|d| d.photo_stats.refused_puts),
                self.total(|d| d.photo_stats.upload_urls),
                self.total(|d| d.photo_stats.dropped_completes),
                self.total(|d| d.photo_stats.not_uploaded),
                self.total(|d| d.photo_stats.mismatches),
            )?;
        }
        if self.converged() {
            let records: usize = self.devices.iter().map(|d| d.records).sum();
            writeln!(
                f,
                "CONVERGED: each device's copy ({records} records in all) equals a fresh bootstrap of the same person"
            )
        } else {
            writeln!(f, "DIVERGED:")?;
            for d in self.devices.iter().filter(|d| d.error.is_some() || !d.differences.is_empty()) {
                if let Some(e) = &d.error {
                    writeln!(f, "  {}: failed: {e}", d.username)?;
                }
                for diff in &d.differences {
                    writeln!(f, "  {}: {diff}", d.username)?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_photos_keep_their_exif_and_decode() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap().and_hms_opt(10, 30, 0).unwrap();
        let jpeg = crate::photos::media::jpeg_with_exif(64, 48, 35.1, 112.1, at);
        let padded = pad_jpeg(&jpeg, 200_000, 9);
        assert!((199_990..=200_000).contains(&padded.len()), "{}", padded.len());
        let exif = crate::photos::media::exif_evidence(&padded).expect("EXIF still found");
        assert_eq!(exif.taken_at, Some(at));
        assert!((exif.lat.unwrap() - 35.1).abs() < 1e-6);
        let kind = crate::photos::media::sniff(&padded).expect("still a JPEG");
        crate::photos::media::thumbnail(&padded, kind, 32).expect("still decodes");
    }

    #[test]
    fn skews_read_well() {
        assert_eq!(skew_label(Duration::seconds(-12)), "-12s");
        assert_eq!(skew_label(Duration::minutes(195)), "+3h15m");
        assert_eq!(skew_label(-Duration::hours(50)), "-2d02h");
    }
}
