//! The sync protocol end to end: push idempotence and ordering, pull cursors
//! and buckets, the xmin horizon, clocks, and check-in verdicts with real
//! coordinates of 邵原镇.

use fieldvisit_geodata::crs::Crs;
use fieldvisit_tests::{Server, error_code};
use geo::{Destination, Geodesic, Point};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// A representative of a regional station with their token and one grid cell
/// and one point enterprise of that station.
struct Rep {
    token: String,
    person: Uuid,
    station: Uuid,
    cell: Uuid,
    enterprise: Uuid,
}

async fn rep(server: &Server, pool: &PgPool, username: &str) -> Rep {
    let (person, station): (Uuid, Uuid) = sqlx::query_as("SELECT id, station_id FROM people WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap();
    let cell: Uuid =
        sqlx::query_scalar("SELECT id FROM places WHERE station_id = $1 AND kind = 'grid_cell' ORDER BY id LIMIT 1")
            .bind(station)
            .fetch_one(pool)
            .await
            .unwrap();
    let enterprise: Uuid = sqlx::query_scalar(
        "SELECT id FROM places WHERE station_id = $1 AND kind = 'enterprise' AND GeometryType(geom) = 'POINT' ORDER BY id LIMIT 1",
    )
    .bind(station)
    .fetch_one(pool)
    .await
    .unwrap();
    Rep { token: server.login(username).await, person, station, cell, enterprise }
}

/// One of the places assigned to `person`.
async fn assigned(pool: &PgPool, person: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT place_id FROM assignments WHERE person_id = $1 ORDER BY place_id LIMIT 1")
        .bind(person)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A point well inside a place (WGS84).
async fn inside(pool: &PgPool, place: Uuid) -> (f64, f64) {
    sqlx::query_as("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM places WHERE id = $1")
        .bind(place)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn checkin(id: Uuid, place: Uuid, (lon, lat): (f64, f64), device_time: &str) -> Value {
    json!({"id": id, "place_id": place, "position": {"lon": lon, "lat": lat, "crs": "wgs84"},
        "accuracy_m": 12.0, "device_time": device_time, "mock_location": false})
}

fn now_device() -> String {
    chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).to_rfc3339()
}

async fn push(server: &Server, token: &str, client: Uuid, mutations: Value) -> (StatusCode, Value) {
    let body = json!({"client_id": client, "schema_version": 1, "client_time": now_device(), "mutations": mutations});
    server.call(Method::POST, Some(token), "/v1/sync/push", Some(&body)).await
}

async fn pull(server: &Server, token: &str, client: Uuid, cursor: Option<&str>, limit: i64) -> (StatusCode, Value) {
    let mut path = format!("/v1/sync/pull?client_id={client}&limit={limit}&schema_version=1");
    if let Some(c) = cursor {
        path.push_str("&cursor=");
        path.push_str(c);
    }
    server.get(token, &path).await
}

/// Pulls until `has_more` is false; returns every change and the last cursor.
async fn pull_all(
    server: &Server,
    token: &str,
    client: Uuid,
    mut cursor: Option<String>,
    limit: i64,
) -> (Vec<Value>, Vec<Value>, String) {
    let mut changes = Vec::new();
    let mut events = Vec::new();
    loop {
        let (status, page) = pull(server, token, client, cursor.as_deref(), limit).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
        events.extend(page["buckets"].as_array().unwrap().iter().cloned());
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return (changes, events, cursor.unwrap());
        }
    }
}

async fn count_check_ins(pool: &PgPool) -> i64 {
    // Only what the test itself pushed: the demo brings months of history.
    sqlx::query_scalar("SELECT count(*) FROM check_ins WHERE received_at > now() - interval '1 day'")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn statuses(body: &Value) -> Vec<String> {
    body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_owned()).collect()
}

fn m(id: i64, args: Value) -> Value {
    let mut mutation = json!({"id": id, "name": "checkin.create.v1"});
    mutation["args"] = args;
    mutation
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn identical_batch_resent_applies_once(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep020").await;
    let client = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let batch = json!([
        m(1, checkin(Uuid::now_v7(), r.cell, at, &now_device())),
        m(2, checkin(Uuid::now_v7(), r.enterprise, inside(&pool, r.enterprise).await, &now_device()))
    ]);
    let (status, first) = push(&server, &r.token, client, batch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(statuses(&first), ["applied", "applied"]);
    assert_eq!(first["results"][0]["data"]["verdict"], "verified", "{first}");
    let (_, second) = push(&server, &r.token, client, batch).await;
    assert_eq!(statuses(&second), ["duplicate", "duplicate"]);
    assert_eq!(second["results"][0]["original"], "applied");
    // The stored result comes back as it was.
    assert_eq!(second["results"][0]["data"], first["results"][0]["data"]);
    assert_eq!(second["last_mutation_id"], 2);
    assert_eq!(count_check_ins(&pool).await, 2);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_batch_overlapping_an_acknowledged_one_applies_only_the_new_part(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep021").await;
    let client = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let args: Vec<Value> = (0..4).map(|_| checkin(Uuid::now_v7(), r.cell, at, &now_device())).collect();
    let (_, first) = push(&server, &r.token, client, json!([m(1, args[0].clone()), m(2, args[1].clone())])).await;
    assert_eq!(statuses(&first), ["applied", "applied"]);
    let (_, second) =
        push(&server, &r.token, client, json!([m(2, args[1].clone()), m(3, args[2].clone()), m(4, args[3].clone())]))
            .await;
    assert_eq!(statuses(&second), ["duplicate", "applied", "applied"]);
    assert_eq!(second["last_mutation_id"], 4);
    assert_eq!(count_check_ins(&pool).await, 4);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_gap_stops_the_batch(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep022").await;
    let client = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let (_, body) = push(
        &server,
        &r.token,
        client,
        json!([
            m(1, checkin(Uuid::now_v7(), r.cell, at, &now_device())),
            m(3, checkin(Uuid::now_v7(), r.cell, at, &now_device()))
        ]),
    )
    .await;
    assert_eq!(statuses(&body), ["applied"], "nothing after the gap is applied: {body}");
    assert_eq!(body["last_mutation_id"], 1);
    assert_eq!(count_check_ins(&pool).await, 1);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_same_uuid_with_another_payload_is_rejected_not_overwritten(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep023").await;
    let client = Uuid::now_v7();
    let id = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let original = checkin(id, r.cell, at, &now_device());
    let mut changed = original.clone();
    changed["note"] = json!("另一份内容");
    let (_, body) =
        push(&server, &r.token, client, json!([m(1, original.clone()), m(2, changed), m(3, original)])).await;
    assert_eq!(statuses(&body), ["applied", "rejected", "applied"], "{body}");
    assert_eq!(body["results"][1]["code"], "id_conflict");
    let note: Option<String> =
        sqlx::query_scalar("SELECT note FROM check_ins WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(note, None, "the stored check-in is untouched");
    assert_eq!(count_check_ins(&pool).await, 1);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_connection_dropped_after_commit_is_retried_safely(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep024").await;
    let client = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let batch = json!([m(1, checkin(Uuid::now_v7(), r.cell, at, &now_device()))]);
    let body = json!({"client_id": client, "schema_version": 1, "mutations": batch});
    // Send the push and hang up without reading the answer.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = server.base.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let payload = body.to_string();
        let req = format!(
            "POST /v1/sync/push HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{payload}",
            r.token,
            payload.len()
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        // Wait until the server has answered (so it committed), then drop the answer unread.
        let mut first = [0u8; 1];
        let _ = stream.read(&mut first).await;
    }
    assert_eq!(count_check_ins(&pool).await, 1);
    let (_, retried) = server.call(Method::POST, Some(&r.token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(statuses(&retried), ["duplicate"]);
    assert_eq!(count_check_ins(&pool).await, 1);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn two_concurrent_pushes_of_one_client_apply_each_mutation_once(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep025").await;
    let client = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let batch: Vec<Value> = (1..=20).map(|i| m(i, checkin(Uuid::now_v7(), r.cell, at, &now_device()))).collect();
    let batch = Value::Array(batch);
    let (a, b) =
        tokio::join!(push(&server, &r.token, client, batch.clone()), push(&server, &r.token, client, batch.clone()));
    let applied = |body: &Value| statuses(body).iter().filter(|s| *s == "applied").count();
    assert_eq!(a.0, StatusCode::OK);
    assert_eq!(b.0, StatusCode::OK);
    assert_eq!(applied(&a.1) + applied(&b.1), 20, "each mutation applied by exactly one of the two");
    assert_eq!(count_check_ins(&pool).await, 20);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_rejected_mutation_in_the_middle_does_not_block_the_queue(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep026").await;
    let client = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let other_station_place: Uuid = sqlx::query_scalar("SELECT id FROM places WHERE station_id <> $1 LIMIT 1")
        .bind(r.station)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (_, body) = push(
        &server,
        &r.token,
        client,
        json!([
            m(1, checkin(Uuid::now_v7(), r.cell, at, &now_device())),
            m(2, checkin(Uuid::now_v7(), other_station_place, at, &now_device())),
            {"id": 3, "name": "checkin.create.v1", "args": {"id": "not-a-uuid"}},
            {"id": 4, "name": "teleport.v9", "args": {}},
            m(5, checkin(Uuid::now_v7(), r.cell, at, &now_device())),
        ]),
    )
    .await;
    assert_eq!(statuses(&body), ["applied", "rejected", "rejected", "rejected", "applied"], "{body}");
    assert_eq!(body["results"][1]["code"], "unknown_place", "outside the scope reads like absent");
    assert_eq!(body["results"][2]["code"], "invalid_args");
    assert_eq!(body["results"][3]["code"], "unknown_mutation");
    assert!(body["results"][1]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(body["last_mutation_id"], 5);
    assert_eq!(count_check_ins(&pool).await, 2);
    // The rejections are acknowledged: a resend answers them as duplicates.
    let (_, again) = push(&server, &r.token, client, json!([{"id": 4, "name": "teleport.v9", "args": {}}])).await;
    assert_eq!(statuses(&again), ["duplicate"]);
    assert_eq!(again["results"][0]["original"], "rejected");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn another_persons_client_id_is_refused(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let a = rep(&server, &pool, "rep027").await;
    let b = rep(&server, &pool, "rep028").await;
    let client = Uuid::now_v7();
    let (status, _) = push(&server, &a.token, client, json!([])).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = push(
        &server,
        &b.token,
        client,
        json!([m(1, checkin(Uuid::now_v7(), b.cell, inside(&pool, b.cell).await, &now_device()))]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    error_code(&body);
    assert_eq!(count_check_ins(&pool).await, 0);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_database_unreachable_during_a_push_commits_nothing(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep029").await;
    let client = Uuid::now_v7();
    let at = inside(&pool, r.cell).await;
    let batch = json!([m(1, checkin(Uuid::now_v7(), r.cell, at, &now_device()))]);
    let db = pool.connect_options().get_database().unwrap().to_owned();
    // Shut the server's database out from the maintenance database: no new
    // connections, existing ones cut (the test's own pool included).
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect(&std::env::var("DATABASE_URL").unwrap()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false")))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&db)
        .execute(&mut admin)
        .await
        .unwrap();
    let (status, body) = push(&server, &r.token, client, batch.clone()).await;
    assert!(status.is_server_error(), "{status} {body}");
    assert!(status != StatusCode::INTERNAL_SERVER_ERROR || body["error"]["code"].is_string());
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true")))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(count_check_ins(&pool).await, 0, "nothing was committed");
    // Once the database is back, the same push applies, once.
    let mut tries = 0;
    let (status, body) = loop {
        let answer = push(&server, &r.token, client, batch.clone()).await;
        tries += 1;
        if answer.0 == StatusCode::OK || tries > 20 {
            break answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(statuses(&body), ["applied"]);
    assert_eq!(count_check_ins(&pool).await, 1);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn an_interrupted_pull_is_repeated_with_the_same_cursor(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep030").await;
    let client = Uuid::now_v7();
    let (_, first) = pull(&server, &r.token, client, None, 5).await;
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    // The answer to the next page got lost; the device asks again with the cursor it saved.
    let (_, a) = pull(&server, &r.token, client, Some(&cursor), 5).await;
    let (_, b) = pull(&server, &r.token, client, Some(&cursor), 5).await;
    assert_eq!(a["changes"], b["changes"]);
    assert!(!a["changes"].as_array().unwrap().is_empty());
}

/// What a device holds after applying changes: (entity, id) → data, per bucket.
fn apply(store: &mut std::collections::BTreeMap<(String, String, String), Value>, changes: &[Value], events: &[Value]) {
    for e in events {
        if e["event"] != "added" {
            let bucket = e["id"].as_str().unwrap();
            store.retain(|k, _| k.0 != bucket);
        }
    }
    for c in changes {
        let key = (
            c["bucket"].as_str().unwrap().to_owned(),
            c["entity"].as_str().unwrap().to_owned(),
            c["id"].as_str().unwrap().to_owned(),
        );
        if c["op"] == "delete" {
            store.remove(&key);
        } else {
            store.insert(key, c["data"].clone());
        }
    }
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_paged_bootstrap_while_writes_continue_converges(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep031").await;
    let planner = server.login("planner").await;
    let client = Uuid::now_v7();
    let places: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM places WHERE station_id = $1 ORDER BY id")
        .bind(r.station)
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut store = std::collections::BTreeMap::new();
    let mut cursor: Option<String> = None;
    for (i, page_no) in (0..200).enumerate() {
        let (status, page) = pull(&server, &r.token, client, cursor.as_deref(), 7).await;
        assert_eq!(status, StatusCode::OK);
        apply(&mut store, page["changes"].as_array().unwrap(), page["buckets"].as_array().unwrap());
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        // Writes land between the pages: renames, and a deactivation.
        if i < places.len() && page_no % 2 == 0 {
            let (s, _) = server
                .call(
                    Method::PATCH,
                    Some(&planner),
                    &format!("/v1/places/{}", places[i]),
                    Some(&json!({"properties": {"name": format!("改名{i}")}})),
                )
                .await;
            assert_eq!(s, StatusCode::OK);
        }
        if !page["has_more"].as_bool().unwrap() && i >= places.len() {
            break;
        }
    }
    let (status, _) = server.call(Method::DELETE, Some(&planner), &format!("/v1/places/{}", places[0]), None).await;
    assert_eq!(status, StatusCode::OK);
    let mut server_side: Vec<(String, String)> =
        sqlx::query_as("SELECT id::text, name FROM places WHERE station_id = $1 AND active ORDER BY id")
            .bind(r.station)
            .fetch_all(&pool)
            .await
            .unwrap();
    server_side.sort();
    // A write shows up once the pull horizon passes it, which a transaction
    // open elsewhere in the cluster (another test's) may delay a little.
    let mut device = Vec::new();
    for _ in 0..100 {
        let (changes, events, next) = pull_all(&server, &r.token, client, cursor, 7).await;
        cursor = Some(next);
        apply(&mut store, &changes, &events);
        // The device's places equal the server's active places of the station, names included.
        device = store
            .iter()
            .filter(|(k, _)| k.1 == "place")
            .map(|(k, v)| (k.2.clone(), v["properties"]["name"].as_str().unwrap().to_owned()))
            .collect();
        device.sort();
        if device == server_side {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(device, server_side);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_transaction_that_commits_last_is_not_skipped_and_rollbacks_do_not_stall(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep032").await;
    let client = Uuid::now_v7();
    let (_, _, cursor) = pull_all(&server, &r.token, client, None, 500).await;
    let (early_place, late_place): (Uuid, Uuid) = sqlx::query_as(
        "SELECT (array_agg(id ORDER BY id))[1], (array_agg(id ORDER BY id))[2] FROM places WHERE station_id = $1",
    )
    .bind(r.station)
    .fetch_one(&pool)
    .await
    .unwrap();

    // T1 takes its transaction id first and writes, but commits last.
    let mut t1 = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut *t1).await.unwrap();
    sqlx::query("UPDATE places SET name = '先开始后提交', version = version + 1 WHERE id = $1")
        .bind(early_place)
        .execute(&mut *t1)
        .await
        .unwrap();
    // T2 starts later and commits first.
    sqlx::query("UPDATE places SET name = '后开始先提交', version = version + 1 WHERE id = $1")
        .bind(late_place)
        .execute(&pool)
        .await
        .unwrap();
    // A rolled-back transaction in between leaves nothing behind.
    let mut t3 = pool.begin().await.unwrap();
    sqlx::query("UPDATE places SET name = '回滚', version = version + 1 WHERE id = $1")
        .bind(late_place)
        .execute(&mut *t3)
        .await
        .unwrap();
    t3.rollback().await.unwrap();

    // While T1 is open, T2's change waits behind the horizon instead of being
    // delivered with a cursor that would then skip T1's.
    let (_, page) = pull(&server, &r.token, client, Some(&cursor), 500).await;
    let names = |page: &Value| -> Vec<String> {
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["data"]["properties"]["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(names(&page).is_empty(), "{:?}", names(&page));
    let cursor = page["cursor"].as_str().unwrap().to_owned();
    t1.commit().await.unwrap();

    // Once T1 has committed the horizon passes both (after any transaction
    // another test has open in the same cluster).
    let mut cursor = Some(cursor);
    let mut got: Vec<String> = Vec::new();
    for _ in 0..100 {
        let (changes, _, next) = pull_all(&server, &r.token, client, cursor, 500).await;
        cursor = Some(next);
        got.extend(changes.iter().filter_map(|c| c["data"]["properties"]["name"].as_str().map(str::to_owned)));
        if got.contains(&"先开始后提交".to_owned()) && got.contains(&"后开始先提交".to_owned()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(got.contains(&"先开始后提交".to_owned()), "the late commit is delivered: {got:?}");
    assert!(got.contains(&"后开始先提交".to_owned()));
    assert!(!got.contains(&"回滚".to_owned()));
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn device_clocks_hours_ahead_or_days_behind(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep033").await;
    let at = inside(&pool, r.cell).await;
    let now = chrono::Utc::now();
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    // Three hours ahead, and the device says so in client_time: flagged, and the
    // visit time is corrected back to the real time.
    let ahead = (now + chrono::Duration::hours(3)).with_timezone(&tz);
    let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "client_time": ahead.to_rfc3339(),
        "mutations": [m(1, checkin(Uuid::now_v7(), r.cell, at, &ahead.to_rfc3339()))]});
    let (_, res) = server.call(Method::POST, Some(&r.token), "/v1/sync/push", Some(&body)).await;
    let data = &res["results"][0]["data"];
    assert_eq!(data["verdict"], "suspicious", "{res}");
    assert!(data["reasons"].as_array().unwrap().contains(&json!("device_time_in_future")));
    let visited: chrono::DateTime<chrono::Utc> = data["visited_at"].as_str().unwrap().parse().unwrap();
    assert!((visited - now).num_seconds().abs() < 60, "corrected visit time {visited} vs {now}");

    // Three days behind (a wrong clock, synced at once): not suspicious, and
    // the visit is placed at the real time, not three days ago.
    let behind = (now - chrono::Duration::days(3)).with_timezone(&tz);
    let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "client_time": behind.to_rfc3339(),
        "mutations": [m(1, checkin(Uuid::now_v7(), r.cell, at, &behind.to_rfc3339()))]});
    let (_, res) = server.call(Method::POST, Some(&r.token), "/v1/sync/push", Some(&body)).await;
    let data = &res["results"][0]["data"];
    assert_eq!(data["verdict"], "verified", "{res}");
    let visited: chrono::DateTime<chrono::Utc> = data["visited_at"].as_str().unwrap().parse().unwrap();
    assert!((visited - now).num_seconds().abs() < 60);
    // The evidence is kept: the skew and the device's own time.
    let skews: Vec<f64> = sqlx::query_scalar(
        "SELECT skew_s FROM check_ins WHERE person_id = $1 AND received_at > now() - interval '1 day' ORDER BY skew_s",
    )
    .bind(r.person)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(skews[0] < -3.0 * 86_400.0 + 120.0 && skews[1] > 3.0 * 3600.0 - 120.0, "{skews:?}");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_moved_representative_loses_the_old_station_and_gains_the_new(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep034").await;
    let admin = server.login("admin").await;
    let client = Uuid::now_v7();
    fieldvisit_tests::wait_for_pull_horizon(&pool).await;
    let (changes, _, cursor) = pull_all(&server, &r.token, client, None, 500).await;
    assert!(changes.iter().any(|c| c["bucket"] == format!("places:{}", r.station)));
    let new_station: Uuid =
        sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' AND id <> $1 ORDER BY code LIMIT 1")
            .bind(r.station)
            .fetch_one(&pool)
            .await
            .unwrap();
    let (status, _) = server
        .call(
            Method::PATCH,
            Some(&admin),
            &format!("/v1/people/{}", r.person),
            Some(&json!({"station_id": new_station})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (changes, events, _) = pull_all(&server, &r.token, client, Some(cursor), 20).await;
    assert!(events.contains(&json!({"id": format!("places:{}", r.station), "event": "removed"})), "{events:?}");
    assert!(events.contains(&json!({"id": format!("places:{new_station}"), "event": "added"})));
    let new_places: i64 = sqlx::query_scalar("SELECT count(*) FROM places WHERE station_id = $1")
        .bind(new_station)
        .fetch_one(&pool)
        .await
        .unwrap();
    let got =
        changes.iter().filter(|c| c["entity"] == "place" && c["bucket"] == format!("places:{new_station}")).count();
    assert_eq!(i64::try_from(got).unwrap(), new_places, "the new station is bootstrapped in pages");
    // Writes at the old station are now outside the scope: rejected, acknowledged.
    let (_, res) = push(
        &server,
        &r.token,
        client,
        json!([m(1, checkin(Uuid::now_v7(), r.cell, inside(&pool, r.cell).await, &now_device()))]),
    )
    .await;
    assert_eq!(statuses(&res), ["rejected"]);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_token_that_expires_mid_sync_is_refreshed_and_the_push_resent(pool: PgPool) {
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_ACCESS_TTL", "1")]).await;
    let (_, login) = server.login_full("rep035", "fieldvisit").await;
    let token = login["access_token"].as_str().unwrap().to_owned();
    let r = rep(&server, &pool, "rep035").await;
    let client = Uuid::now_v7();
    let batch = json!([m(1, checkin(Uuid::now_v7(), r.cell, inside(&pool, r.cell).await, &now_device()))]);
    let (_, first) = pull(&server, &token, client, None, 5).await;
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let (status, _) = push(&server, &token, client, batch.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired mid-sync");
    assert_eq!(count_check_ins(&pool).await, 0);
    let (_, fresh) = server
        .call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": login["refresh_token"]})))
        .await;
    let token = fresh["access_token"].as_str().unwrap();
    let (_, res) = push(&server, token, client, batch).await;
    assert_eq!(statuses(&res), ["applied"]);
    // The saved cursor still works with the new token.
    let (status, _) = pull(&server, token, client, first["cursor"].as_str(), 5).await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_tampered_or_foreign_cursor_is_refused(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let a = rep(&server, &pool, "rep036").await;
    let b = rep(&server, &pool, "rep037").await;
    let (_, page) = pull(&server, &a.token, Uuid::now_v7(), None, 5).await;
    let cursor = page["cursor"].as_str().unwrap().to_owned();
    let (payload, tag) = cursor.split_once('.').unwrap();
    let mut bytes: Vec<char> = payload.chars().collect();
    bytes[3] = if bytes[3] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{}.{tag}", bytes.into_iter().collect::<String>());
    let (status, body) = pull(&server, &a.token, Uuid::now_v7(), Some(&tampered), 5).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_cursor");
    let (status, _) = pull(&server, &b.token, Uuid::now_v7(), Some(&cursor), 5).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another person's cursor");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_too_old_app_may_push_but_not_pull(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep038").await;
    let client = Uuid::now_v7();
    let (status, body) = server.get(&r.token, &format!("/v1/sync/pull?client_id={client}&schema_version=0")).await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(error_code(&body), "upgrade_required");
    let body = json!({"client_id": client, "schema_version": 0, "mutations": [m(1, checkin(Uuid::now_v7(), r.cell, inside(&pool, r.cell).await, &now_device()))]});
    let (status, res) = server.call(Method::POST, Some(&r.token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(statuses(&res), ["applied"], "work queued before an update is never dropped");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn an_epoch_change_resets_every_bucket(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep039").await;
    let client = Uuid::now_v7();
    let (_, _, cursor) = pull_all(&server, &r.token, client, None, 500).await;
    sqlx::query("UPDATE sync_epoch SET epoch = gen_random_uuid()").execute(&pool).await.unwrap();
    let (changes, events, _) = pull_all(&server, &r.token, client, Some(cursor), 500).await;
    assert!(!events.is_empty() && events.iter().all(|e| e["event"] == "reset"), "{events:?}");
    let places: i64 = sqlx::query_scalar("SELECT count(*) FROM places WHERE station_id = $1")
        .bind(r.station)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        i64::try_from(changes.iter().filter(|c| c["entity"] == "place").count()).unwrap(),
        places,
        "bootstrapped again"
    );
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn every_verdict_with_real_coordinates(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep040").await;
    let client = Uuid::now_v7();
    let cell_inside = inside(&pool, r.cell).await;
    let (ex, ey): (f64, f64) = sqlx::query_as("SELECT ST_X(geom), ST_Y(geom) FROM places WHERE id = $1")
        .bind(r.enterprise)
        .fetch_one(&pool)
        .await
        .unwrap();
    let away = |metres: f64| {
        let p = Geodesic.destination(Point::new(ex, ey), 45.0, metres);
        (p.x(), p.y())
    };
    let gcj = Crs::Gcj02.from_wgs84(geo::Coord { x: cell_inside.0, y: cell_inside.1 });
    let far = (cell_inside.0 + 0.08, cell_inside.1 + 0.08);
    let t = now_device();
    let mut mock = checkin(Uuid::now_v7(), r.cell, cell_inside, &t);
    mock["mock_location"] = json!(true);
    let mut blurry = checkin(Uuid::now_v7(), r.cell, cell_inside, &t);
    blurry["accuracy_m"] = json!(300.0);
    let mut gcj_input = checkin(Uuid::now_v7(), r.cell, (gcj.x, gcj.y), &t);
    gcj_input["position"]["crs"] = json!("gcj02");
    let cases = [
        ("inside the grid cell", checkin(Uuid::now_v7(), r.cell, cell_inside, &t), "verified"),
        ("inside, sent as GCJ-02", gcj_input, "verified"),
        ("150 m from the enterprise", checkin(Uuid::now_v7(), r.enterprise, away(150.0), &t), "verified"),
        ("250 m from the enterprise", checkin(Uuid::now_v7(), r.enterprise, away(250.0), &t), "outside_geofence"),
        ("10 km from the cell", checkin(Uuid::now_v7(), r.cell, far, &t), "suspicious"),
        ("mock location", mock, "suspicious"),
        ("accuracy 300 m", blurry, "low_accuracy"),
    ];
    for (i, (name, args, want)) in cases.iter().enumerate() {
        // One client per case, so the speed check compares nothing across cases.
        let (_, res) = push(&server, &r.token, Uuid::now_v7(), json!([m(1, args.clone())])).await;
        assert_eq!(res["results"][0]["status"], "applied", "{name}: {res}");
        let data = &res["results"][0]["data"];
        // Clean each case's trace so the next one is judged on its own.
        // (The demo's findings come from its check-ins.)
        sqlx::query("DELETE FROM findings WHERE person_id = $1").bind(r.person).execute(&pool).await.unwrap();
        sqlx::query("DELETE FROM check_ins WHERE person_id = $1").bind(r.person).execute(&pool).await.unwrap();
        if *name == "10 km from the cell" {
            // Alone, far away is outside; suspicious only with a neighbour in time (below).
            assert_eq!(data["verdict"], "outside_geofence", "{name}: {data}");
            continue;
        }
        assert_eq!(data["verdict"], *want, "case {i} {name}: {data}");
        if *want == "verified" && *name != "150 m from the enterprise" {
            assert_eq!(data["distance_m"], 0.0);
        }
    }
    // 10 km in a minute from the previous check-in: impossible speed.
    let (_, res) = push(
        &server,
        &r.token,
        client,
        json!([m(1, checkin(Uuid::now_v7(), r.cell, cell_inside, &t)), m(2, checkin(Uuid::now_v7(), r.cell, far, &t))]),
    )
    .await;
    assert_eq!(res["results"][1]["data"]["verdict"], "suspicious", "{res}");
    assert!(res["results"][1]["data"]["reasons"].as_array().unwrap().contains(&json!("impossible_speed")));
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn months_are_asia_shanghai_calendar_months(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let mut r = rep(&server, &pool, "rep042").await;
    r.cell = assigned(&pool, r.person).await;
    sqlx::query("DELETE FROM findings").execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM check_ins").execute(&pool).await.unwrap();
    let at = inside(&pool, r.cell).await;
    let client = Uuid::now_v7();
    let cases = [
        // 23:30 in Shanghai on the last day of October counts for October…
        ("2026-10-31T23:30:00+08:00", "2026-10"),
        // …whatever offset the phone reports it in (15:30 UTC is 23:30 in Shanghai)…
        ("2026-10-31T16:30:00+01:00", "2026-10"),
        // …and 07:30 on 1 November in Shanghai is November, though still October in UTC.
        ("2026-11-01T07:30:00+08:00", "2026-11"),
    ];
    let mut ids = Vec::new();
    for (i, (device_time, month)) in cases.iter().enumerate() {
        let (_, res) = push(
            &server,
            &r.token,
            client,
            json!([m(i64::try_from(i).unwrap() + 1, checkin(Uuid::now_v7(), r.cell, at, device_time))]),
        )
        .await;
        assert_eq!(res["results"][0]["data"]["month"], *month, "{device_time}: {res}");
        ids.push(res["results"][0]["data"]["id"].as_str().unwrap().to_owned());
    }
    // Pushed weeks after those dates, they are late and wait for a review
    // (tests/tests/late.rs); the station's staff accept them.
    let staff: String =
        sqlx::query_scalar("SELECT username FROM people WHERE role = 'station_staff' AND station_id = $1")
            .bind(r.station)
            .fetch_one(&pool)
            .await
            .unwrap();
    let staff = server.login(&staff).await;
    for id in &ids {
        let (status, body) = server
            .call(
                Method::POST,
                Some(&staff),
                &format!("/v1/check-ins/{id}/review"),
                Some(&json!({"decision": "accepted"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The visit rule sees October as visited for this assignment, and it is a closed month.
    let (status, october) = server.get(&r.token, "/v1/visits/status?month=2026-10").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(october["closed"], true);
    let entry = october["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["place_id"] == r.cell.to_string())
        .expect("assigned cell");
    assert_eq!(entry["status"], "visited", "{entry}");
    let others_overdue = october["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["place_id"] != r.cell.to_string())
        .all(|e| e["status"] == "overdue");
    assert!(others_overdue);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_visit_status_follows_scope_and_review(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let mut r = rep(&server, &pool, "rep042").await;
    r.cell = assigned(&pool, r.person).await;
    sqlx::query("DELETE FROM findings").execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM check_ins").execute(&pool).await.unwrap();
    let client = Uuid::now_v7();
    let far = {
        let p = inside(&pool, r.cell).await;
        (p.0 + 0.02, p.1)
    };
    let (_, res) =
        push(&server, &r.token, client, json!([m(1, checkin(Uuid::now_v7(), r.cell, far, &now_device()))])).await;
    assert_eq!(res["results"][0]["data"]["verdict"], "outside_geofence");
    let id = res["results"][0]["data"]["id"].as_str().unwrap().to_owned();
    let month = res["results"][0]["data"]["month"].as_str().unwrap().to_owned();
    let status_of = |body: &Value| {
        body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["place_id"] == r.cell.to_string() && e["person_id"] == r.person.to_string())
            .unwrap()["status"]
            .clone()
    };
    let (_, mine) = server.get(&r.token, &format!("/v1/visits/status?month={month}")).await;
    assert_eq!(status_of(&mine), "due");
    assert!(
        mine["entries"].as_array().unwrap().iter().all(|e| e["person_id"] == r.person.to_string()),
        "a representative sees only their own"
    );

    // The station's staff reviews and accepts it: now it counts.
    let staff: String =
        sqlx::query_scalar("SELECT username FROM people WHERE role = 'station_staff' AND station_id = $1")
            .bind(r.station)
            .fetch_one(&pool)
            .await
            .unwrap();
    let staff = server.login(&staff).await;
    let (_, pending) = server.get(&staff, "/v1/check-ins?review=pending&verdict=outside_geofence").await;
    assert!(pending["items"].as_array().unwrap().iter().any(|c| c["id"] == id.as_str()));
    let (status, reviewed) = server
        .call(
            Method::POST,
            Some(&staff),
            &format!("/v1/check-ins/{id}/review"),
            Some(&json!({"decision": "accepted", "note": "信号差，人在现场"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reviewed}");
    assert_eq!(reviewed["review"], "accepted");
    let (_, station_view) = server.get(&staff, &format!("/v1/visits/status?month={month}")).await;
    assert_eq!(status_of(&station_view), "visited");
    let totals = station_view["stations"].as_array().unwrap();
    assert_eq!(totals.len(), 1, "staff see their own station's totals");
    // A representative cannot review; another station's staff cannot see it.
    let (status, _) = server
        .call(
            Method::POST,
            Some(&r.token),
            &format!("/v1/check-ins/{id}/review"),
            Some(&json!({"decision": "rejected"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other: String = sqlx::query_scalar("SELECT p.username FROM people p JOIN stations s ON s.id = p.station_id WHERE p.role = 'station_staff' AND s.level = 'regional' AND s.id <> $1 LIMIT 1").bind(r.station).fetch_one(&pool).await.unwrap();
    let other = server.login(&other).await;
    let (status, _) = server
        .call(Method::POST, Some(&other), &format!("/v1/check-ins/{id}/review"), Some(&json!({"decision": "rejected"})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity = 'check_in' AND action = 'review'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    // The presidium sees every station in the same query.
    let presidium = server.login("presidium").await;
    let (_, all) = server.get(&presidium, &format!("/v1/visits/status?month={month}")).await;
    assert_eq!(all["stations"].as_array().unwrap().len(), 6);
}
