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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};
use fieldvisit_sync::client::plan::{self, PlanPlace};
use fieldvisit_sync::client::{Connection, ConnectionStats, Device, DeviceSettings, DeviceStats, RetryPolicy};
use fieldvisit_sync::protocol::MutationStatus;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::task::JoinSet;
use uuid::Uuid;

/// The differences listed per device before "and N more".
const MAX_LISTED_DIFFERENCES: usize = 10;

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
    /// Probability that a sync answer is lost after the server committed.
    #[arg(long, default_value_t = 0.1)]
    pub drop_rate: f64,
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
    /// How the device's copy differs from the server's; empty when converged.
    pub differences: Vec<String>,
    /// The device failed outright.
    pub error: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Report {
    pub server: String,
    pub month: String,
    pub seed: u64,
    pub drop_rate: f64,
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
    let month = plan::parse_month(&args.month).with_context(|| format!("--month {:?} is not YYYY-MM", args.month))?;
    anyhow::ensure!((1..=999).contains(&args.devices), "--devices must be between 1 and 999");
    anyhow::ensure!((0.0..1.0).contains(&args.drop_rate), "--drop-rate must be at least 0 and below 1");
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
    Ok(Report { server: args.server.clone(), month: args.month.clone(), seed: args.seed, drop_rate: args.drop_rate, devices })
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
    // Short waits: the simulator's "network" fails on purpose and often.
    conn.retry = RetryPolicy { max_attempts: 12, base: StdDuration::from_millis(20), max_delay: StdDuration::from_secs(1), max_elapsed: StdDuration::from_mins(1) };
    let settings = DeviceSettings { clock_skew: skew, forget_ack_rate: args.drop_rate / 2.0, seed, ..DeviceSettings::default() };
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
        differences: Vec::new(),
        error: None,
    };
    if let Err(e) = work(args, &mut device, month, &mut rng, &mut report).await {
        report.error = Some(format!("{e:#}"));
    }
    (report.outcome_applied, report.outcome_rejected) = device.outcomes();
    report.stats = device.stats;
    report.connection = device.conn.stats;
    report.records = device.store.records.values().map(BTreeMap::len).sum();
    report
}

async fn work(args: &SimulateArgs, device: &mut Device, month: NaiveDate, rng: &mut StdRng, report: &mut DeviceReport) -> anyhow::Result<()> {
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
    let (drop_at, forget_at) = if faulty { (rng.gen_range(0..stretches.len()), rng.gen_range(0..stretches.len())) } else { (usize::MAX, usize::MAX) };
    for (i, stretch) in stretches.into_iter().enumerate() {
        for v in stretch {
            device.queue_check_in(v);
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
        if rng.gen_bool(0.3) {
            device.pull().await.context("pull")?;
        }
    }
    device.sync().await.context("final sync")?;

    // A second install for the same person, bootstrapped from nothing, is
    // the server's view of what this person's phone should hold.
    let mut fresh = Device::install(Connection::new(&args.server, device.conn.username(), &args.password, rng.r#gen()), DeviceSettings::default());
    fresh.pull().await.context("fresh bootstrap")?;
    report.differences = compare(device, &fresh, &report.sent);
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
    let mut places: Vec<PlanPlace> = device.store.entity("place").filter(|(id, _)| ids.contains(id)).filter_map(|(_, r)| PlanPlace::from_feature(&r.data)).collect();
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
            Some(t) if t != data => out.push(format!("{} {} differs: device {} vs server {}", key.0, key.1, brief(data), brief(t))),
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
    if out.len() > MAX_LISTED_DIFFERENCES {
        let more = out.len() - MAX_LISTED_DIFFERENCES;
        out.truncate(MAX_LISTED_DIFFERENCES);
        out.push(format!("and {more} more"));
    }
    out
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
        writeln!(f, "simulated {} against {}: {} devices, seed {}, drop rate {:.2}", self.month, self.server, self.devices.len(), self.seed, self.drop_rate)?;
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
        writeln!(f, "check-ins planned {planned}, sent {sent} ({} planned after the server's clock were not sent)", planned - sent)?;
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
        if self.converged() {
            let records: usize = self.devices.iter().map(|d| d.records).sum();
            writeln!(f, "CONVERGED: each device's copy ({records} records in all) equals a fresh bootstrap of the same person")
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
    fn skews_read_well() {
        assert_eq!(skew_label(Duration::seconds(-12)), "-12s");
        assert_eq!(skew_label(Duration::minutes(195)), "+3h15m");
        assert_eq!(skew_label(-Duration::hours(50)), "-2d02h");
    }
}
