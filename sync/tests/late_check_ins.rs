//! Late check-ins through the real dispatcher and database, at chosen times
//! of receipt: a device clock may not rewrite a month that has closed.

use chrono::{DateTime, Duration, Utc};
use fieldvisit_geodata::geofence::GeofenceRules;
use fieldvisit_sync::Actor;
use fieldvisit_sync::protocol::{Mutation, PushRequest};
use fieldvisit_sync::push::{PHOTO_MAX_BYTES, PushContext, push};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// One station, one representative, one grid cell of about 1 km² around
/// 112.12°E 35.14°N (邵原镇), assigned to them since 2026.
async fn township(db: &PgPool) -> (Actor, Uuid) {
    let (station, person, place) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    sqlx::query("INSERT INTO stations (id, level, code, name, location) VALUES ($1, 'central', 'centre', '邵原中心站', ST_Point(112.12, 35.14, 4326))")
        .bind(station)
        .execute(db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO people (id, name, username, password_hash, role, station_id) VALUES ($1, '代表', 'rep001', 'x', 'representative', $2)")
        .bind(person)
        .bind(station)
        .execute(db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO places (id, kind, name, geom, station_id)
         VALUES ($1, 'grid_cell', '网格', ST_MakeEnvelope(112.115, 35.135, 112.125, 35.145, 4326), $2)",
    )
    .bind(place)
    .bind(station)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO assignments (id, person_id, place_id, valid_from, source) VALUES ($1, $2, $3, '2026-01-01', 'manual')")
        .bind(Uuid::now_v7())
        .bind(person)
        .bind(place)
        .execute(db)
        .await
        .unwrap();
    let actor = Actor {
        person_id: person,
        representative: true,
        place_stations: Some(vec![station]),
        // Pushes use no buckets.
        buckets: Vec::new(),
    };
    (actor, place)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Pushes one check-in inside the cell, stamped `visited` by a correct
/// device clock, as the server receives it at `received`; answers its outcome.
async fn check_in(
    db: &PgPool,
    actor: &Actor,
    place: Uuid,
    rules: GeofenceRules,
    visited: DateTime<Utc>,
    received: DateTime<Utc>,
) -> Value {
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let req = PushRequest {
        client_id: Uuid::now_v7(),
        schema_version: 1,
        client_time: Some(received.with_timezone(&tz)),
        mutations: vec![Mutation {
            id: 1,
            name: "checkin.create.v1".into(),
            args: json!({"id": Uuid::now_v7(), "place_id": place, "position": {"lon": 112.12, "lat": 35.14, "crs": "wgs84"},
                "accuracy_m": 10.0, "device_time": visited.with_timezone(&tz).to_rfc3339()}),
        }],
    };
    let ctx = PushContext { rules, received_at: received, photo_max_bytes: PHOTO_MAX_BYTES };
    let res = push(db, actor, &req, &ctx).await.unwrap();
    let r = &res.results[0];
    assert_eq!(r.status, fieldvisit_sync::protocol::MutationStatus::Applied, "{r:?}");
    r.data.clone().unwrap()
}

fn reasons(outcome: &Value) -> Vec<&str> {
    outcome["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn seventy_one_hours_late_counts_seventy_three_waits_for_review(db: PgPool) {
    let (actor, place) = township(&db).await;
    let visited = at("2026-11-10T10:00:00+08:00");
    let on_time = check_in(&db, &actor, place, GeofenceRules::default(), visited, visited + Duration::hours(71)).await;
    assert_eq!(on_time["verdict"], "verified", "{on_time}");
    assert_eq!(on_time["late_by_s"], 71 * 3600);
    let late = check_in(
        &db,
        &actor,
        place,
        GeofenceRules::default(),
        visited + Duration::hours(2),
        visited + Duration::hours(75),
    )
    .await;
    assert_eq!(late["verdict"], "suspicious", "{late}");
    assert_eq!(reasons(&late), ["late"]);
    assert_eq!(late["late_by_s"], 73 * 3600, "the evidence says how late");
    // It waits in the review list: a judged check-in without a review.
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM check_ins WHERE verdict <> 'verified' AND review IS NULL")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(pending, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_last_day_of_a_month_counts_on_day_four_of_the_next_not_on_day_six(db: PgPool) {
    let (actor, place) = township(&db).await;
    // A long grace period, so that only the month's closing can make these late.
    let rules = GeofenceRules { late_grace_s: 30.0 * 86_400.0, ..GeofenceRules::default() };
    let visited = at("2026-10-31T18:00:00+08:00");
    let day4 = check_in(&db, &actor, place, rules, visited, at("2026-11-04T09:00:00+08:00")).await;
    assert_eq!((day4["verdict"].as_str(), day4["month"].as_str()), (Some("verified"), Some("2026-10")), "{day4}");
    let day6 =
        check_in(&db, &actor, place, rules, visited + Duration::minutes(30), at("2026-11-06T09:00:00+08:00")).await;
    assert_eq!(day6["verdict"], "suspicious", "{day6}");
    assert_eq!(reasons(&day6), ["late"]);
    // The default rule gives five days; the first one that closes the month is the sixth.
    let edge = check_in(&db, &actor, place, rules, visited + Duration::hours(1), at("2026-11-05T23:59:00+08:00")).await;
    assert_eq!(edge["verdict"], "verified", "{edge}");
    // October counts the day-4 and the day-5 check-ins, not the day-6 one.
    let counted: i64 =
        sqlx::query_scalar("SELECT count(*) FROM check_ins WHERE visit_month = '2026-10-01' AND verdict = 'verified'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(counted, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_absurd_client_time_refuses_the_push_and_writes_nothing(db: PgPool) {
    let (actor, place) = township(&db).await;
    for absurd in ["-262000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"] {
        let req: PushRequest = serde_json::from_value(json!({
            "client_id": Uuid::now_v7(), "schema_version": 1, "client_time": absurd,
            "mutations": [{"id": 1, "name": "checkin.create.v1", "args": {"id": Uuid::now_v7(), "place_id": place,
                "position": {"lon": 112.12, "lat": 35.14, "crs": "wgs84"}, "accuracy_m": 10.0, "device_time": "2026-11-10T10:00:00+08:00"}}]
        }))
        .unwrap();
        let ctx =
            PushContext { rules: GeofenceRules::default(), received_at: Utc::now(), photo_max_bytes: PHOTO_MAX_BYTES };
        let err = push(&db, &actor, &req, &ctx).await.expect_err(absurd);
        assert!(err.to_string().contains("client_time"), "{absurd}: {err}");
    }
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM check_ins").fetch_one(&db).await.unwrap();
    assert_eq!(written, 0);
}
