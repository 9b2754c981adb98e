//! Late check-ins end to end: a phone that pushes a check-in long after its
//! device time (or into a month already closed) gets `suspicious` with the
//! reason `late`, the month is not rewritten, and the check-in counts only
//! once staff accept it. Absurd device clocks are refused, never a 500.

use chrono::{Duration, FixedOffset, Utc};
use fieldvisit_tests::{Server, error_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// A representative, the staff of their station, one of their assigned
/// places and a point inside it.
struct Cast {
    rep: String,
    person: Uuid,
    staff: String,
    place: Uuid,
    at: (f64, f64),
}

async fn cast(server: &Server, pool: &PgPool, username: &str) -> Cast {
    let (person, station): (Uuid, Uuid) = sqlx::query_as("SELECT id, station_id FROM people WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap();
    let place: Uuid = sqlx::query_scalar(
        "SELECT a.place_id FROM assignments a JOIN places p ON p.id = a.place_id
         WHERE a.person_id = $1 ORDER BY p.kind = 'grid_cell' DESC, a.place_id LIMIT 1",
    )
    .bind(person)
    .fetch_one(pool)
    .await
    .unwrap();
    let at: (f64, f64) =
        sqlx::query_as("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM places WHERE id = $1")
            .bind(place)
            .fetch_one(pool)
            .await
            .unwrap();
    let staff: String =
        sqlx::query_scalar("SELECT username FROM people WHERE role = 'station_staff' AND station_id = $1")
            .bind(station)
            .fetch_one(pool)
            .await
            .unwrap();
    Cast { rep: server.login(username).await, person, staff: server.login(&staff).await, place, at }
}

/// One check-in stamped `device_time` by a phone whose clock is right now.
async fn push_check_in(server: &Server, c: &Cast, device_time: chrono::DateTime<Utc>) -> Value {
    let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "client_time": Utc::now().with_timezone(&shanghai()).to_rfc3339(),
        "mutations": [{"id": 1, "name": "checkin.create.v1", "args": {"id": Uuid::now_v7(), "place_id": c.place,
            "position": {"lon": c.at.0, "lat": c.at.1, "crs": "wgs84"}, "accuracy_m": 10.0,
            "device_time": device_time.with_timezone(&shanghai()).to_rfc3339()}}]});
    let (status, res) = server.call(Method::POST, Some(&c.rep), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["results"][0]["status"], "applied", "{res}");
    res["results"][0]["data"].clone()
}

fn status_of(body: &Value, c: &Cast) -> String {
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["place_id"] == c.place.to_string() && e["person_id"] == c.person.to_string())
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_check_in_backdated_weeks_does_not_rewrite_its_month_until_staff_accept_it(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&server, &pool, "rep045").await;
    // The device says it was there 47 days ago (the 15 October of the probe,
    // pushed on 1 December); make sure nobody visited the place that month.
    let claimed = Utc::now() - Duration::days(47);
    let month = claimed.with_timezone(&shanghai()).format("%Y-%m").to_string();
    let first_day = format!("{month}-01");
    sqlx::query("DELETE FROM findings WHERE check_in_id IN (SELECT id FROM check_ins WHERE place_id = $1 AND visit_month = $2::date)")
        .bind(c.place)
        .bind(&first_day)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM check_ins WHERE place_id = $1 AND visit_month = $2::date")
        .bind(c.place)
        .bind(&first_day)
        .execute(&pool)
        .await
        .unwrap();

    let outcome = push_check_in(&server, &c, claimed).await;
    assert_eq!(outcome["verdict"], "suspicious", "{outcome}");
    assert_eq!(outcome["reasons"], json!(["late"]));
    assert_eq!(outcome["month"], month.as_str());
    let late = outcome["late_by_s"].as_i64().unwrap();
    assert!((late - 47 * 86_400).abs() < 120, "the evidence says how late: {outcome}");

    let (status, before) = server.get(&c.staff, &format!("/v1/visits/status?month={month}")).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(status_of(&before, &c), "overdue", "the closed month is not rewritten");
    let id = outcome["id"].as_str().unwrap();
    let (_, pending) = server.get(&c.staff, "/v1/check-ins?review=pending&verdict=suspicious").await;
    let listed = pending["items"].as_array().unwrap().iter().find(|i| i["id"] == id).expect("in the review list");
    assert_eq!(listed["reasons"], json!(["late"]));
    assert!((listed["late_by_s"].as_i64().unwrap() - late).abs() <= 1);

    let (status, reviewed) = server
        .call(
            Method::POST,
            Some(&c.staff),
            &format!("/v1/check-ins/{id}/review"),
            Some(&json!({"decision": "accepted", "note": "补录，有照片为证"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reviewed}");
    let (_, after) = server.get(&c.staff, &format!("/v1/visits/status?month={month}")).await;
    assert_eq!(status_of(&after, &c), "visited", "accepted on review, it counts");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn seventy_one_hours_offline_counts_seventy_three_waits_for_review(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&server, &pool, "rep046").await;
    // 71 hours back is at most three days: its month is still open (months close on the 6th).
    let on_time = push_check_in(&server, &c, Utc::now() - Duration::hours(71)).await;
    assert_eq!(on_time["verdict"], "verified", "{on_time}");
    let late = push_check_in(&server, &c, Utc::now() - Duration::hours(73)).await;
    assert_eq!(late["verdict"], "suspicious", "{late}");
    assert!(late["reasons"].as_array().unwrap().contains(&json!("late")), "{late}");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_grace_period_is_configurable(pool: PgPool) {
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_LATE_GRACE_HOURS", "1")]).await;
    let c = cast(&server, &pool, "rep047").await;
    let outcome = push_check_in(&server, &c, Utc::now() - Duration::minutes(90)).await;
    assert_eq!(outcome["reasons"], json!(["late"]), "{outcome}");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn an_absurd_device_clock_is_refused_with_a_reason_never_a_500(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&server, &pool, "rep048").await;
    for absurd in ["-262000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1900-01-01T00:00:00+08:00"] {
        let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "client_time": absurd,
            "mutations": [{"id": 1, "name": "checkin.create.v1", "args": {"id": Uuid::now_v7(), "place_id": c.place,
                "position": {"lon": c.at.0, "lat": c.at.1, "crs": "wgs84"}, "accuracy_m": 10.0,
                "device_time": Utc::now().with_timezone(&shanghai()).to_rfc3339()}}]});
        let (status, res) = server.call(Method::POST, Some(&c.rep), "/v1/sync/push", Some(&body)).await;
        assert!(status.is_client_error(), "client_time {absurd}: {status} {res}");
        error_code(&res);
        // A device time out of range is one mutation's fault: acknowledged, rejected, the queue goes on.
        let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "client_time": Utc::now().with_timezone(&shanghai()).to_rfc3339(),
            "mutations": [{"id": 1, "name": "checkin.create.v1", "args": {"id": Uuid::now_v7(), "place_id": c.place,
                "position": {"lon": c.at.0, "lat": c.at.1, "crs": "wgs84"}, "accuracy_m": 10.0, "device_time": absurd}}]});
        let (status, res) = server.call(Method::POST, Some(&c.rep), "/v1/sync/push", Some(&body)).await;
        if status == StatusCode::OK {
            assert_eq!(res["results"][0]["status"], "rejected", "device_time {absurd}: {res}");
        } else {
            assert!(status.is_client_error(), "device_time {absurd}: {status} {res}");
        }
    }
    let written: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM check_ins WHERE person_id = $1 AND received_at > now() - interval '1 hour'",
    )
    .bind(c.person)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(written, 0);
}
