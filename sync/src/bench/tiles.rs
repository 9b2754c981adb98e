//! The tile benchmark's data (`fieldvisit bench tiles`): clustered places
//! with assignments and a month of check-ins, so that the coverage statuses
//! vary; the tiles to request; and the one call the benchmark compares the
//! HTTP route with, `coverage_tile` itself.

use sqlx::PgPool;
use uuid::Uuid;

/// Loads `places` places around 邵原镇 (`tiles_places.sql` says how they are
/// spread), assigns 85% of them and gives the month starting `month` its
/// check-ins, then refreshes the statistics. Answers the station that holds a
/// tenth of the places. The sync log triggers and foreign-key checks are off
/// for the load (`session_replication_role = replica`, a superuser's
/// setting): no device pulls these rows, and the rows refer only to rows
/// that exist.
pub async fn load(db: &PgPool, places: i32, month: chrono::NaiveDate) -> Result<Uuid, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await?;
    let station: Uuid = sqlx::query_scalar(include_str!("tiles_places.sql")).bind(places).fetch_one(&mut *tx).await?;
    sqlx::query(include_str!("tiles_assignments.sql")).bind(month).execute(&mut *tx).await?;
    sqlx::query(include_str!("tiles_check_ins.sql")).bind(month).execute(&mut *tx).await?;
    tx.commit().await?;
    // Statistics and the visibility map, as autovacuum would leave them.
    sqlx::query("VACUUM ANALYZE places, assignments, check_ins").execute(db).await?;
    Ok(station)
}

/// The benchmark's places per coverage status in the month starting `month`.
pub async fn statuses(db: &PgPool, month: chrono::NaiveDate) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(include_str!("tiles_statuses.sql")).bind(month).fetch_all(db).await
}

/// A point on each of `n` of the benchmark's places, in random order: (lon, lat).
pub async fn sample_points(db: &PgPool, n: i64) -> Result<Vec<(f64, f64)>, sqlx::Error> {
    sqlx::query_as(include_str!("tiles_sample.sql")).bind(n).fetch_all(db).await
}

/// Writes the tile list `(z, x, y)` to `bench_tiles` (numbered from 1), where
/// pgbench's script draws from it.
pub async fn store_tile_list(db: &PgPool, tiles: &[(i32, i32, i32)]) -> Result<(), sqlx::Error> {
    sqlx::query("DROP TABLE IF EXISTS bench_tiles").execute(db).await?;
    sqlx::query(
        "CREATE TABLE bench_tiles (i integer PRIMARY KEY, z integer NOT NULL, x integer NOT NULL, y integer NOT NULL)",
    )
    .execute(db)
    .await?;
    let numbers: Vec<i32> = (1..).take(tiles.len()).collect();
    let (z, (x, y)): (Vec<i32>, (Vec<i32>, Vec<i32>)) = tiles.iter().map(|&(z, x, y)| (z, (x, y))).unzip();
    sqlx::query(include_str!("tiles_list.sql")).bind(numbers).bind(z).bind(x).bind(y).execute(db).await?;
    sqlx::query("ANALYZE bench_tiles").execute(db).await?;
    Ok(())
}

/// One tile straight from `coverage_tile`, with the same `query_params` a
/// caller's request would carry.
pub async fn tile(
    db: &PgPool,
    (z, x, y): (i32, i32, i32),
    query_params: &serde_json::Value,
) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query_scalar("SELECT coverage_tile($1, $2, $3, $4::json)")
        .bind(z)
        .bind(x)
        .bind(y)
        .bind(query_params)
        .fetch_one(db)
        .await
}
