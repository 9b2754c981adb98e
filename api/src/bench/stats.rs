//! `fieldvisit bench stats` (`.ci/bench stats`): `GET /v1/issues/stats` for
//! a year over 100,000 issues and 1,000,000 check-ins, through the real
//! server over HTTP, one request after the other: p50 and p99 for the whole
//! township (the presidium) and for one station's staff.
//!
//! The reference, in the same run: counting the year's visits in one plain
//! statement on a pooled connection. Any answer has to read every check-in of
//! the year once, so that round trip is the floor; the ratio says what the
//! rest (the issue figures, grouping, scope, HTTP, JSON) costs above it, and
//! does not change with the speed of the machine the way milliseconds do.
//! A ledger page (`GET /v1/issues?limit=50`) is timed too, as the request a
//! stats read competes with.

use std::time::Instant;

use anyhow::Context;
use fieldvisit_sync::issues::stats::{self, Period};
use serde_json::Value;

use super::{percentiles, rig};

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[arg(long, default_value_t = 100_000)]
    pub issues: i32,
    #[arg(long, default_value_t = 1_000_000)]
    pub check_ins: i32,
    /// Requests timed for each caller (one at a time).
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Tiny sizes, a few seconds: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
}

impl StatsArgs {
    pub fn sized(self) -> Self {
        if self.smoke { Self { issues: 500, check_ins: 5000, requests: 5, ..self } } else { self }
    }
}

pub async fn run(a: StatsArgs) -> anyhow::Result<()> {
    let rig = rig("stats").await?;
    let t = Instant::now();
    stats::load_bench_data(&rig.pool, a.issues, a.check_ins).await?;
    println!(
        "stats: loaded {} issues and {} check-ins over the last twelve months in {:.1} s (with VACUUM ANALYZE)",
        a.issues,
        a.check_ins,
        t.elapsed().as_secs_f64()
    );

    let time = |user: &'static str, path: &'static str| {
        let rig = &rig;
        async move {
            let token = rig.login(user).await?;
            let get = || async {
                let res = rig.http.get(format!("{}{path}", rig.base)).bearer_auth(&token).send().await?;
                let res = res.error_for_status()?;
                anyhow::Ok(res.json::<Value>().await?)
            };
            // Warm the pool's connections, their prepared statements and the cache.
            let mut last = Value::Null;
            for _ in 0..5 {
                last = get().await?;
            }
            let mut latencies = Vec::with_capacity(a.requests);
            for _ in 0..a.requests {
                let t = Instant::now();
                last = get().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok((percentiles(latencies), last))
        }
    };

    let ((p50, p99, max), township) = time("presidium", "/v1/issues/stats").await?;
    let total = &township["total"];
    let raised = total["raised"].as_i64().context("total.raised")?;
    anyhow::ensure!(raised >= i64::from(a.issues) * 19 / 20, "the year holds {raised} issues, fewer than loaded");
    println!(
        "stats: GET /v1/issues/stats for {} to {} as the presidium (whole township), {} requests one at a time:",
        township["from"].as_str().unwrap_or("?"),
        township["to"].as_str().unwrap_or("?"),
        a.requests
    );
    println!("  p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
    println!(
        "  total: {} visits, {raised} raised, {} accepted, {} closed out, {} still open, {} overdue, median {} days, satisfaction {}",
        total["visits"],
        total["accepted"],
        total["closed_out"],
        total["still_open"],
        total["overdue"],
        total["median_days_to_close_out"],
        total["mean_satisfaction"]
    );
    let ((s50, s99, _), _) = time("staff02", "/v1/issues/stats").await?;
    println!("  as one regional station's staff (its subtree): p50 {s50:.1} ms, p99 {s99:.1} ms");

    // The reference: the year's visits counted in one statement.
    let period = Period::new(None, None, stats::this_month(&rig.pool).await?)?;
    let mut floor = Vec::with_capacity(a.requests);
    let mut visits = 0;
    for i in 0..a.requests + 5 {
        let t = Instant::now();
        visits = stats::bench_floor(&rig.pool, period).await?;
        if i >= 5 {
            floor.push(t.elapsed());
        }
    }
    let (f50, f99, _) = percentiles(floor);
    println!(
        "  reference, the year's {visits} visits counted in one statement (no HTTP): p50 {f50:.1} ms, p99 {f99:.1} ms"
    );
    println!("  stats / reference: p50 {:.2}×, p99 {:.2}×", ratio(p50, f50), ratio(p99, f99));
    let ((l50, l99, _), _) = time("presidium", "/v1/issues?limit=50").await?;
    println!("  for scale, a ledger page GET /v1/issues?limit=50: p50 {l50:.1} ms, p99 {l99:.1} ms");
    Ok(())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}
