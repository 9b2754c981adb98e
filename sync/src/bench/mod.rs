//! The benchmark rig's data (`fieldvisit bench`): a database of its own per
//! benchmark, the load each one needs beyond the demo township, the counts it
//! reports, and plain COPY as the floor the push rate is compared with. Only
//! the bench rig calls these; they are here so that the API holds no SQL.

use std::time::{Duration, Instant};

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub mod tiles;

/// Drops and creates the benchmark database `name` (a fixed name of the rig,
/// `fieldvisit_bench_push` and the like) on the cluster of `admin`.
///
/// # Panics
/// When `name` is anything but lower-case letters, digits and `_`: it is
/// written into the statement, which takes no parameters.
pub async fn recreate_database(admin: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    assert!(
        name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "not a benchmark database name: {name:?}"
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut *admin)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut *admin).await?;
    Ok(())
}

/// Statistics for every table. Fresh tables have none; without them the
/// planner may scan the change log instead of walking its index, and the
/// figures would depend on when autovacuum happens to run.
pub async fn analyze(db: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("ANALYZE").execute(db).await?;
    Ok(())
}

/// A point inside each place assigned to `username`: (place, lon, lat).
pub async fn assigned_points(db: &PgPool, username: &str) -> Result<Vec<(Uuid, f64, f64)>, sqlx::Error> {
    sqlx::query_as(include_str!("assigned_points.sql")).bind(username).fetch_all(db).await
}

/// Removes every check-in and whatever refers to them (findings, photos), so
/// that the push benchmark counts only its own.
pub async fn clear_check_ins(db: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("TRUNCATE check_ins CASCADE").execute(db).await?;
    Ok(())
}

/// How many check-ins are stored.
pub async fn count_check_ins(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM check_ins").fetch_one(db).await
}

/// Copies every check-in with plain binary COPY into a new table with the
/// same indexes (no triggers, no foreign keys): the floor of what PostgreSQL
/// can take. Answers the rows copied and how long the COPY in took.
pub async fn copy_check_ins(db: &PgPool) -> Result<(u64, Duration), sqlx::Error> {
    copy_into_twin(db, Twin::CHECK_INS).await
}

/// The same for places: the reference of the import benchmark.
pub async fn copy_places(db: &PgPool) -> Result<(u64, Duration), sqlx::Error> {
    copy_into_twin(db, Twin::PLACES).await
}

/// A table and its twin, as the statements that make and fill it (table
/// names cannot be bound as parameters, so each pair is written out).
struct Twin {
    create: &'static str,
    copy_out: &'static str,
    copy_in: &'static str,
}

impl Twin {
    const CHECK_INS: Self = Self {
        create: "CREATE TABLE check_ins_copy (LIKE check_ins INCLUDING ALL)",
        copy_out: "COPY check_ins TO STDOUT (FORMAT binary)",
        copy_in: "COPY check_ins_copy FROM STDIN (FORMAT binary)",
    };
    const PLACES: Self = Self {
        create: "CREATE TABLE places_copy (LIKE places INCLUDING ALL)",
        copy_out: "COPY places TO STDOUT (FORMAT binary)",
        copy_in: "COPY places_copy FROM STDIN (FORMAT binary)",
    };
}

async fn copy_into_twin(db: &PgPool, twin: Twin) -> Result<(u64, Duration), sqlx::Error> {
    let mut conn = db.acquire().await?;
    sqlx::query(twin.create).execute(&mut *conn).await?;
    let mut out = conn.copy_out_raw(twin.copy_out).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut out).await {
        bytes.extend_from_slice(&chunk?);
    }
    drop(out);
    let t = Instant::now();
    let mut copy = conn.copy_in_raw(twin.copy_in).await?;
    copy.send(bytes.as_slice()).await?;
    let copied = copy.finish().await?;
    Ok((copied, t.elapsed()))
}

/// The station of the person `username`.
pub async fn station_of(db: &PgPool, username: &str) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(include_str!("station_of.sql")).bind(username).fetch_one(db).await
}

/// Loads `cells` square grid cells (about 450 m across) and `points` points
/// scattered over the same block, all in `station`, with their statistics,
/// and answers how many places there are now.
pub async fn load_geofence(db: &PgPool, station: Uuid, cells: i64, points: i64) -> Result<i64, sqlx::Error> {
    sqlx::query(include_str!("geofence_load.sql")).bind(station).bind(cells).bind(points).execute(db).await?;
    sqlx::query("ANALYZE places").execute(db).await?;
    sqlx::query_scalar("SELECT count(*) FROM places").fetch_one(db).await
}

/// `n` of the loaded places in random order, each with a point near it.
pub async fn geofence_targets(db: &PgPool, n: i64) -> Result<Vec<(Uuid, f64, f64)>, sqlx::Error> {
    sqlx::query_as(include_str!("geofence_targets.sql")).bind(n).fetch_all(db).await
}

/// The geometry of place `id`, as WKB.
pub async fn place_wkb(db: &PgPool, id: Uuid) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query_scalar(include_str!("place_wkb.sql")).bind(id).fetch_one(db).await
}

/// Seconds from `complete` to thumbnail ready of every photo that has one.
pub async fn thumbnail_delays(db: &PgPool) -> Result<Vec<f64>, sqlx::Error> {
    sqlx::query_scalar(include_str!("thumbnail_delays.sql")).fetch_all(db).await
}
