//! The database goes away under load and comes back: devices pushing
//! check-ins see only 200 or 503 (never a 500, which the reference client
//! would treat like any other failure), `/readyz` says not ready meanwhile,
//! the server recovers without a restart, and devices that re-send the same
//! mutation ids converge with every check-in stored exactly once.
//!
//! Each test runs its own throwaway PostgreSQL cluster: the shared one must
//! never be stopped.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use fieldvisit_tests::Server;
use fieldvisit_tests::pg_cluster::{Outage, PgCluster};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const DEVICES: usize = 6;
const BATCH: usize = 10;

/// What every device saw, shared with the test's main task.
#[derive(Default)]
struct Seen {
    /// Every answer to a push, in the order they came.
    statuses: Mutex<Vec<StatusCode>>,
    /// Error codes of the 503s (each must be `unavailable`).
    codes: Mutex<Vec<String>>,
    /// Pushes answered 200, over all devices.
    accepted: AtomicUsize,
    /// Requests that got no HTTP answer at all.
    transport_errors: Mutex<Vec<String>>,
}

struct Device {
    token: String,
    client: Uuid,
    /// Places assigned to the representative and a point inside each.
    places: Vec<(Uuid, f64, f64)>,
}

/// One device's outbox: batches of check-ins, each pushed until it is
/// answered 200; a 503 is retried with the same bytes (the same mutation ids).
async fn run_device(
    server: Arc<Server>,
    device: Device,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
) -> (Device, Vec<Value>) {
    let http = reqwest::Client::builder().timeout(Duration::from_mins(1)).build().unwrap();
    let mut sent: Vec<Value> = Vec::new();
    // Visits a minute apart over the last hours: plausible speeds, no clock ahead.
    let mut at = Utc::now() - chrono::Duration::hours(8);
    while !stop.load(Ordering::SeqCst) {
        let first = sent.len() + 1;
        let mutations: Vec<Value> = (0..BATCH)
            .map(|k| {
                let (place, lon, lat) = device.places[(first + k) % device.places.len()];
                at += chrono::Duration::minutes(1);
                json!({"id": first + k, "name": "checkin.create.v1", "args": {"id": Uuid::now_v7(), "place_id": place,
                    "position": {"lon": lon, "lat": lat, "crs": "wgs84"}, "accuracy_m": 10.0,
                    "device_time": at.to_rfc3339(), "mock_location": false}})
            })
            .collect();
        let body = json!({"client_id": device.client, "schema_version": 1, "client_time": Utc::now().to_rfc3339(), "mutations": mutations});
        loop {
            let answer =
                http.post(format!("{}/v1/sync/push", server.base)).bearer_auth(&device.token).json(&body).send().await;
            let res = match answer {
                Ok(res) => res,
                Err(e) => {
                    seen.transport_errors.lock().unwrap().push(e.to_string());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let status = res.status();
            let answer: Value = res.json().await.unwrap_or(Value::Null);
            seen.statuses.lock().unwrap().push(status);
            if status == StatusCode::OK {
                // A 503 that raced the commit may have committed: its retry says `duplicate`.
                for r in answer["results"].as_array().expect("results") {
                    assert!(r["status"] == "applied" || r["status"] == "duplicate", "a check-in was not taken: {r}");
                }
                seen.accepted.fetch_add(1, Ordering::SeqCst);
                break;
            }
            if status == StatusCode::SERVICE_UNAVAILABLE {
                seen.codes.lock().unwrap().push(answer["error"]["code"].as_str().unwrap_or_default().to_owned());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sent.extend(mutations);
    }
    (device, sent)
}

/// A station's staff reading meanwhile: pulls and REST lists, which meet the
/// same lost sessions as pushes. Answers what it saw.
async fn run_reader(server: Arc<Server>, token: String, stop: Arc<AtomicBool>) -> Vec<(String, StatusCode)> {
    let http = reqwest::Client::builder().timeout(Duration::from_mins(1)).build().unwrap();
    let client = Uuid::now_v7();
    let mut seen = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        for path in [
            format!("/v1/sync/pull?client_id={client}&schema_version=1&limit=50"),
            "/v1/check-ins?limit=20".to_owned(),
            "/v1/places?limit=5".to_owned(),
        ] {
            match http.get(format!("{}{path}", server.base)).bearer_auth(&token).send().await {
                Ok(res) => seen.push((path, res.status())),
                Err(e) => seen.push((format!("{path}: {e}"), StatusCode::IM_A_TEAPOT)),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn readyz(server: &Server) -> StatusCode {
    server.http.get(format!("{}/readyz", server.base)).send().await.expect("readyz answers").status()
}

async fn database_loss(outage: Outage) {
    let cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap();
    let url = cluster.url();
    let server = Arc::new(Server::start(&["demo", "--demo-history", "none"], &[("DATABASE_URL", url.as_str())]).await);
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let mut devices = Vec::new();
    for i in 1..=DEVICES {
        let username = format!("rep{i:03}");
        let places: Vec<(Uuid, f64, f64)> = sqlx::query_as(
            "SELECT pl.id, ST_X(ST_PointOnSurface(pl.geom)), ST_Y(ST_PointOnSurface(pl.geom))
             FROM assignments a JOIN people pe ON pe.id = a.person_id JOIN places pl ON pl.id = a.place_id
             WHERE pe.username = $1",
        )
        .bind(&username)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(!places.is_empty(), "{username} has places");
        devices.push(Device { token: server.login(&username).await, client: Uuid::now_v7(), places });
    }
    pool.close().await;

    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> =
        devices.into_iter().map(|d| tokio::spawn(run_device(server.clone(), d, seen.clone(), stop.clone()))).collect();
    let reader = tokio::spawn(run_reader(server.clone(), server.login("planner").await, stop.clone()));
    let accepted = || seen.accepted.load(Ordering::SeqCst);
    wait_until("pushes before the outage", Duration::from_mins(1), || accepted() >= 2 * DEVICES).await;

    tokio::task::block_in_place(|| cluster.take_down(outage));
    // While it is down: not ready, and pushes are refused as unavailable.
    assert_eq!(readyz(&server).await, StatusCode::SERVICE_UNAVAILABLE, "/readyz while the database is down");
    let refused = || seen.statuses.lock().unwrap().iter().filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE).count();
    wait_until("a push refused with 503 while down", Duration::from_secs(30), || refused() >= DEVICES).await;

    tokio::task::block_in_place(|| cluster.bring_back());
    let back = Instant::now();
    loop {
        if readyz(&server).await == StatusCode::OK {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "/readyz did not answer 200 within 20 s of the database coming back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every device gets through again, without restarting the server.
    let after = accepted();
    wait_until("pushes after recovery", Duration::from_mins(1), || accepted() >= after + 2 * DEVICES).await;
    stop.store(true, Ordering::SeqCst);
    let mut outboxes = Vec::new();
    for t in tasks {
        outboxes.push(tokio::time::timeout(Duration::from_mins(2), t).await.expect("devices finish").unwrap());
    }

    let reads = reader.await.unwrap();
    let odd_reads: Vec<_> =
        reads.iter().filter(|(_, s)| *s != StatusCode::OK && *s != StatusCode::SERVICE_UNAVAILABLE).collect();
    assert!(odd_reads.is_empty(), "reads answered other than 200 or 503: {odd_reads:?}");
    let statuses = seen.statuses.lock().unwrap().clone();
    let other: Vec<_> =
        statuses.iter().filter(|s| **s != StatusCode::OK && **s != StatusCode::SERVICE_UNAVAILABLE).collect();
    assert!(
        other.is_empty(),
        "pushes answered other than 200 or 503 ({} of {}): {other:?}",
        other.len(),
        statuses.len()
    );
    let codes = seen.codes.lock().unwrap().clone();
    assert!(codes.iter().all(|c| c == "unavailable"), "503 codes: {codes:?}");
    let transport = seen.transport_errors.lock().unwrap().clone();
    assert!(transport.is_empty(), "requests without an answer: {transport:?}");

    // Re-sending the whole outbox (the same ids) changes nothing: all duplicates.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let mut ids = Vec::new();
    for (device, sent) in &outboxes {
        for chunk in sent.chunks(500) {
            let body = json!({"client_id": device.client, "schema_version": 1, "mutations": chunk});
            let (status, answer) =
                server.call(reqwest::Method::POST, Some(&device.token), "/v1/sync/push", Some(&body)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            let results = answer["results"].as_array().unwrap();
            assert_eq!(results.len(), chunk.len());
            assert!(
                results.iter().all(|r| r["status"] == "duplicate" && r["original"] == "applied"),
                "re-sent: {answer}"
            );
        }
        ids.extend(sent.iter().map(|m| Uuid::parse_str(m["args"]["id"].as_str().unwrap()).unwrap()));
        let taken: i64 = sqlx::query_scalar("SELECT last_mutation_id FROM sync_clients WHERE id = $1")
            .bind(device.client)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(usize::try_from(taken).unwrap(), sent.len(), "the server took every mutation of the device once");
    }
    let clients: Vec<Uuid> = outboxes.iter().map(|(d, _)| d.client).collect();
    let stored: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM check_ins WHERE client_id = ANY($1) ORDER BY id")
        .bind(&clients)
        .fetch_all(&pool)
        .await
        .unwrap();
    ids.sort();
    assert_eq!(stored, ids, "every check-in pushed is stored exactly once, and nothing else");
    pool.close().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushes_answer_503_not_500_when_postgres_stops_fast() {
    database_loss(Outage::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushes_answer_503_not_500_when_postgres_stops_immediately() {
    database_loss(Outage::Immediate).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushes_answer_503_not_500_when_the_postmaster_is_killed() {
    database_loss(Outage::KillPostmaster).await;
}
