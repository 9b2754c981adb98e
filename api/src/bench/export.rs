//! `fieldvisit bench export`: the ledger of 10,000 issues exported as XLSX
//! through the real server over HTTP (the presidium's export, every row),
//! timed over a few runs, with the server's peak resident memory above
//! idle; against the CSV export of the same rows in the same run, the
//! reference (the same query, the same rows, the plainest writer). Aims:
//! under 2 s and under 50 MB.
//!
//! The issues are loaded by one SQL statement
//! ([`fieldvisit_sync::issues::bench_load`]); the server runs as a process
//! of its own, so its memory is its own.

use std::time::{Duration, Instant};

use anyhow::Context;
use uuid::Uuid;

use super::{Rig, listening_on, memory_kb, percentiles, rig, server_pid};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Issues in the ledger (besides the demo's).
    #[arg(long, default_value_t = 10_000)]
    pub issues: u32,
    /// Timed runs of each format (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Tiny sizes, a few seconds: proves the benchmark runs (the figures mean nothing).
    #[arg(long)]
    pub smoke: bool,
}

impl ExportArgs {
    pub fn sized(self) -> Self {
        if self.smoke { Self { issues: 50, runs: 1, ..self } } else { self }
    }
}

/// One format's runs: durations, peak kB above the RSS before each run, bytes.
struct Runs {
    took: Vec<Duration>,
    peak_above_kb: Vec<u64>,
    bytes: usize,
}

pub async fn run(a: ExportArgs) -> anyhow::Result<()> {
    let rig = rig("export").await?;
    let start = Instant::now();
    fieldvisit_sync::issues::bench_load::load(&rig.pool, a.issues).await?;
    sqlx::query("ANALYZE").execute(&rig.pool).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM issues").fetch_one(&rig.pool).await?;
    println!(
        "export: the ledger of {total} issues ({} loaded in {:.1} s), {} runs per format",
        a.issues,
        start.elapsed().as_secs_f64(),
        a.runs
    );

    let db_url = std::env::var("DATABASE_URL")?;
    let (head, _) = db_url.rsplit_once('/').context("DATABASE_URL ends with /dbname")?;
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(&exe)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", format!("{head}/fieldvisit_bench_export"))
        .env("FIELDVISIT_PHOTO_DIR", std::env::temp_dir().join(format!("fieldvisit-bench-export-{}", Uuid::new_v4())))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = server_pid(child.id().context("server pid")?, &exe);
    let base = listening_on(&mut child).await?;
    let server = Rig { pool: rig.pool.clone(), base, http: rig.http.clone() };
    let token = server.login("presidium").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, idle) = memory_kb(pid);

    // Once each untimed: the first answers warm the plan cache and the allocator.
    for format in ["xlsx", "csv"] {
        fetch(&server, &token, format).await?;
    }
    let mut xlsx = Runs { took: Vec::new(), peak_above_kb: Vec::new(), bytes: 0 };
    let mut csv = Runs { took: Vec::new(), peak_above_kb: Vec::new(), bytes: 0 };
    let mut peak_above_idle = 0u64;
    // Alternated, so that both formats see the same state of the machine.
    for _ in 0..a.runs {
        for (format, runs) in [("xlsx", &mut xlsx), ("csv", &mut csv)] {
            // Writing 5 to clear_refs resets VmHWM to the current RSS.
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
            let (_, before) = memory_kb(pid);
            let t = Instant::now();
            runs.bytes = fetch(&server, &token, format).await?;
            runs.took.push(t.elapsed());
            let (peak, _) = memory_kb(pid);
            runs.peak_above_kb.push(peak.saturating_sub(before));
            if format == "xlsx" {
                peak_above_idle = peak_above_idle.max(peak.saturating_sub(idle));
            }
        }
    }
    let (x50, _, xmax) = percentiles(xlsx.took.clone());
    let (c50, _, cmax) = percentiles(csv.took.clone());
    let mb = |kb: u64| {
        #[expect(clippy::cast_precision_loss, reason = "kB of one process")]
        let m = kb as f64 / 1024.0;
        m
    };
    let kb = |b: usize| b / 1024;
    println!(
        "  xlsx: p50 {x50:.0} ms (max {xmax:.0} ms), {} kB; server peak {:.1} MB above the RSS before the export, {:.1} MB above idle ({:.1} MB)",
        kb(xlsx.bytes),
        mb(xlsx.peak_above_kb.iter().copied().max().unwrap_or(0)),
        mb(peak_above_idle),
        mb(idle)
    );
    println!(
        "  csv (reference): p50 {c50:.0} ms (max {cmax:.0} ms), {} kB; server peak {:.1} MB above the RSS before the export",
        kb(csv.bytes),
        mb(csv.peak_above_kb.iter().copied().max().unwrap_or(0))
    );
    println!("  xlsx / csv: time {:.2}×", if c50 > 0.0 { x50 / c50 } else { 0.0 });

    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    if tokio::time::timeout(Duration::from_mins(1), child.wait()).await.is_err() {
        child.kill().await?;
    }
    Ok(())
}

/// The whole ledger in `format`, read to the end; its size in bytes.
async fn fetch(server: &Rig, token: &str, format: &str) -> anyhow::Result<usize> {
    let res = server
        .http
        .get(format!("{}/v1/issues/export?format={format}", server.base))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    Ok(res.bytes().await?.len())
}
