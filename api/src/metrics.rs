//! Prometheus metrics, served as text at `/metrics` on a listener of their
//! own (`--metrics-listen`), so the public port never exposes them.
//!
//! Kept only when that listener is configured: otherwise no recorder is
//! installed and [`track`] does nothing but one atomic load per request.
//!
//! | series | what |
//! |---|---|
//! | `fieldvisit_http_requests_total{method,route,status}` | answers, by matched route (`unmatched` for none) |
//! | `fieldvisit_http_request_duration_seconds{method,route,status}` | histogram of the time to the answer's head |
//! | `fieldvisit_http_requests_in_flight` | requests being handled now |
//! | `fieldvisit_sync_mutations_total{name,status}` | pushed mutations by name and result (`applied`, `rejected`, `duplicate`) |
//! | `fieldvisit_sync_pull_pages_total{kind}`, `fieldvisit_sync_pull_changes_total{kind}` | pull answers and the changes they carried (`bootstrap` or `incremental`) |
//! | `fieldvisit_db_pool_connections{state}` | the pool's connections `in_use` and `idle` (at scrape) |
//! | `fieldvisit_db_pool_max_connections` | the pool's ceiling |
//! | `fieldvisit_db_acquire_timeouts_total` | requests that found no free connection in time (answered 503) |
//! | `fieldvisit_photo_completes_total{status}`, `fieldvisit_photo_uploads_total{status}` | `complete` calls and local-store uploads by HTTP status |
//! | `fieldvisit_thumbnail_queue` | uploaded photos waiting for their thumbnail (at scrape) |
//! | `fieldvisit_login_failures_total`, `fieldvisit_login_throttled_total` | wrong credentials (401) and throttled attempts (429) |

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldvisit_sync::protocol::{MutationStatus, PullResponse, PushRequest, PushResponse};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

/// Set once the recorder is installed.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Latency buckets (seconds): from a cached pull to a request timing out.
const LATENCY_BUCKETS: &[f64] = &[0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Installs the process-wide recorder and keeps its histograms trimmed.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install_recorder()?;
    describe();
    ENABLED.store(true, Ordering::Release);
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

fn describe() {
    describe_counter!("fieldvisit_http_requests_total", "HTTP answers by method, matched route and status");
    describe_histogram!(
        "fieldvisit_http_request_duration_seconds",
        Unit::Seconds,
        "time from the request to its answer's head"
    );
    describe_gauge!("fieldvisit_http_requests_in_flight", "requests being handled");
    describe_counter!("fieldvisit_sync_mutations_total", "pushed mutations by name and result");
    describe_counter!("fieldvisit_sync_pull_pages_total", "pull answers");
    describe_counter!("fieldvisit_sync_pull_changes_total", "changes delivered by pulls");
    describe_gauge!("fieldvisit_db_pool_connections", "database connections of this instance, in use or idle");
    describe_gauge!("fieldvisit_db_pool_max_connections", "the database pool's ceiling");
    describe_counter!(
        "fieldvisit_db_acquire_timeouts_total",
        "requests that waited too long for a database connection (503)"
    );
    describe_counter!("fieldvisit_photo_completes_total", "photo complete calls by status");
    describe_counter!("fieldvisit_photo_uploads_total", "uploads to the local photo store by status");
    describe_gauge!("fieldvisit_thumbnail_queue", "uploaded photos waiting for a thumbnail");
    describe_counter!("fieldvisit_login_failures_total", "sign-ins refused for wrong credentials");
    describe_counter!("fieldvisit_login_throttled_total", "sign-ins refused by the throttle");
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Counts and times every answer by its matched route (never the raw path,
/// whose ids would make a series per record).
pub async fn track(req: Request, next: Next) -> Response {
    if !enabled() {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    gauge!("fieldvisit_http_requests_in_flight").increment(1);
    let res = next.run(req).await;
    gauge!("fieldvisit_http_requests_in_flight").decrement(1);
    let status = res.status();
    let code = status.as_u16().to_string();
    histogram!("fieldvisit_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone(), "status" => code.clone())
        .record(started.elapsed().as_secs_f64());
    match (route.as_str(), status.as_u16()) {
        ("/v1/auth/login", 401) => counter!("fieldvisit_login_failures_total").increment(1),
        ("/v1/auth/login", 429) => counter!("fieldvisit_login_throttled_total").increment(1),
        ("/v1/photos/{id}/complete", _) => {
            counter!("fieldvisit_photo_completes_total", "status" => code.clone()).increment(1);
        }
        ("/v1/blobs/{*key}", _) if method == "PUT" => {
            counter!("fieldvisit_photo_uploads_total", "status" => code.clone()).increment(1);
        }
        _ => {}
    }
    counter!("fieldvisit_http_requests_total", "method" => method, "route" => route, "status" => code).increment(1);
    res
}

/// Counts a push's mutations by name and result. Names a device made up are
/// counted as `other`, so a client cannot create series at will.
pub fn pushed(req: &PushRequest, res: &PushResponse) {
    if !enabled() {
        return;
    }
    for r in &res.results {
        let name = req
            .mutations
            .iter()
            .find(|m| m.id == r.id)
            .and_then(|m| fieldvisit_sync::mutations::KNOWN.iter().find(|k| **k == m.name))
            .copied()
            .unwrap_or("other");
        let status = match r.status {
            MutationStatus::Applied => "applied",
            MutationStatus::Duplicate => "duplicate",
            MutationStatus::Rejected => "rejected",
        };
        counter!("fieldvisit_sync_mutations_total", "name" => name, "status" => status).increment(1);
    }
}

/// Counts a pull page and its changes.
pub fn pulled(bootstrap: bool, res: &PullResponse) {
    if !enabled() {
        return;
    }
    let kind = if bootstrap { "bootstrap" } else { "incremental" };
    counter!("fieldvisit_sync_pull_pages_total", "kind" => kind).increment(1);
    counter!("fieldvisit_sync_pull_changes_total", "kind" => kind).increment(res.changes.len() as u64);
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    db: PgPool,
}

/// The metrics listener's router: `GET /metrics`.
pub fn router(handle: PrometheusHandle, db: PgPool) -> Router {
    Router::new().route("/metrics", axum::routing::get(scrape)).with_state(Scrape { handle, db })
}

/// Samples the gauges read at scrape time, then renders everything.
async fn scrape(State(s): State<Scrape>) -> Response {
    let idle = u32::try_from(s.db.num_idle()).unwrap_or(u32::MAX);
    gauge!("fieldvisit_db_pool_connections", "state" => "idle").set(f64::from(idle));
    gauge!("fieldvisit_db_pool_connections", "state" => "in_use").set(f64::from(s.db.size().saturating_sub(idle)));
    gauge!("fieldvisit_db_pool_max_connections").set(f64::from(s.db.options().get_max_connections()));
    // Under overload the scrape gives up waiting rather than queue behind requests.
    let pending = fieldvisit_sync::photos::thumbnail_queue(&s.db);
    match tokio::time::timeout(Duration::from_secs(1), pending).await {
        #[expect(clippy::cast_precision_loss, reason = "a queue length far below 2^52")]
        Ok(Ok(n)) => gauge!("fieldvisit_thumbnail_queue").set(n as f64),
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: reading the thumbnail queue"),
        Err(_) => tracing::warn!("metrics: the thumbnail queue could not be read within 1 s"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], s.handle.render()).into_response()
}
