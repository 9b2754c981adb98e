//! What happens to a photo's bytes once they are stored: `complete` checks
//! them against the declaration (size, SHA-256, content type by sniffing),
//! reads the EXIF evidence and flags a photo taken far away or at another
//! time, and hands the photo to the thumbnail worker. The worker claims
//! photos from the database, so a crash or a restart loses no thumbnail.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use fieldvisit_geodata::distance::geodesic_m;
use geo::Point;
use sqlx::PgPool;
use uuid::Uuid;

use super::Photos;
use super::media::{self, MediaError, PhotoType};
use super::store::StoreError;
use crate::error::ApiError;

/// The longer side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 512;
/// How much of a photo `complete` reads: the type's magic bytes and the EXIF
/// segment (at most 64 KB in a JPEG) lie within it.
const EXIF_PREFIX: usize = 256 * 1024;
/// EXIF position further than this from the visit's own position is flagged.
pub const EXIF_FAR_M: f64 = 1000.0;
/// EXIF time further than this from the visit's own time is flagged.
pub const EXIF_TIME_APART_H: i64 = 24;

/// The photo as `complete` leaves it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Completed {
    pub id: Uuid,
    pub status: String,
    pub mime: String,
    pub size: i64,
    /// Flags from the EXIF evidence: `exif_far`, `exif_time_apart`, `no_exif`.
    pub exif_flags: Vec<String>,
    pub exif_distance_m: Option<f64>,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(anyhow::anyhow!("photo store: {e}"))
    }
}

/// Checks the stored bytes of photo `id` (owned by `person`) and marks it
/// uploaded. Idempotent: a completed photo answers as it is.
///
/// The upload is sealed first and the sealed bytes checked after: once
/// sealed, no signed URL (which stays valid until it expires) can change
/// them, so what the record names always hashes to its SHA-256. An upload
/// that lands between the device's PUT and the seal is caught by the check.
pub async fn complete(db: &PgPool, photos: &Photos, person: Uuid, id: Uuid) -> Result<Completed, ApiError> {
    let row: Option<(String, Vec<u8>, i64, String, String)> =
        sqlx::query_as("SELECT status, sha256, size, mime, object_key FROM photos WHERE id = $1 AND person_id = $2")
            .bind(id)
            .bind(person)
            .fetch_optional(db)
            .await?;
    let (status, sha256, size, declared_mime, key) = row.ok_or(ApiError::NotFound("photo"))?;
    if status == "uploaded" {
        return current(db, id).await;
    }
    let not_uploaded = || ApiError::Conflict { code: "not_uploaded", message: "no bytes have arrived for this photo yet; upload them first".into(), field: None };
    let sealed = match photos.store.seal(&key).await {
        Ok(k) => k,
        Err(StoreError::NotFound) => return Err(not_uploaded()),
        Err(e) => return Err(e.into()),
    };
    let stored = match photos.store.stat(&sealed).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return Err(not_uploaded()),
        Err(e) => return Err(e.into()),
    };
    // A refused upload is deleted, seal and all, so that the device can upload again.
    if i64::try_from(stored.size).ok() != Some(size) {
        photos.store.delete(&sealed).await?;
        return Err(ApiError::Conflict {
            code: "size_mismatch",
            message: format!("{} bytes arrived, {size} were declared; the upload was discarded, upload again", stored.size),
            field: None,
        });
    }
    if stored.sha256.as_slice() != sha256.as_slice() {
        photos.store.delete(&sealed).await?;
        return Err(ApiError::Conflict {
            code: "hash_mismatch",
            message: "the bytes do not match the declared SHA-256; the upload was discarded, upload again".into(),
            field: None,
        });
    }
    // The type and the EXIF are at the start of a photo: read only that, so
    // memory stays flat however large the photo and however many arrive.
    let bytes = photos.store.read_prefix(&sealed, EXIF_PREFIX).await?;
    let Some(kind) = media::sniff(&bytes) else {
        photos.store.delete(&sealed).await?;
        return Err(ApiError::UnsupportedMediaType("the bytes are not a JPEG, PNG, HEIC/HEIF or WebP photo; the upload was discarded".into()));
    };
    let evidence = tokio::task::spawn_blocking(move || media::exif_evidence(&bytes)).await.map_err(|e| ApiError::Internal(e.into()))?;
    let (flags, distance) = judge_exif(db, id, evidence).await?;
    let exif = evidence.unwrap_or(media::ExifEvidence { lat: None, lon: None, taken_at: None, offset_minutes: None });
    sqlx::query(
        "UPDATE photos SET status = 'uploaded', uploaded_at = now(), mime = $2, exif_lat = $3, exif_lon = $4,
             exif_taken_at = $5, exif_distance_m = $6, exif_flags = $7, object_key = $8, version = version + 1
         WHERE id = $1 AND status = 'declared'",
    )
    .bind(id)
    .bind(kind.mime())
    .bind(exif.lat)
    .bind(exif.lon)
    .bind(exif.taken_at)
    .bind(distance)
    .bind(&flags)
    .bind(&sealed)
    .execute(db)
    .await?;
    if declared_mime != kind.mime() {
        tracing::info!(photo = %id, declared = %declared_mime, sniffed = kind.mime(), "photo type corrected by sniffing");
    }
    photos.thumbnails.notify_one();
    current(db, id).await
}

async fn current(db: &PgPool, id: Uuid) -> Result<Completed, ApiError> {
    let (status, mime, size, exif_flags, exif_distance_m): (String, String, i64, Vec<String>, Option<f64>) =
        sqlx::query_as("SELECT status, mime, size, exif_flags, exif_distance_m FROM photos WHERE id = $1").bind(id).fetch_one(db).await?;
    Ok(Completed { id, status, mime, size, exif_flags, exif_distance_m })
}

/// Compares the photo's EXIF with the visit it belongs to: the check-in's
/// position and time, or the finding's (its own position, else its
/// check-in's). Far or at another time is flagged, never refused.
async fn judge_exif(db: &PgPool, id: Uuid, evidence: Option<media::ExifEvidence>) -> Result<(Vec<String>, Option<f64>), ApiError> {
    let Some(exif) = evidence else { return Ok((vec!["no_exif".to_owned()], None)) };
    let visit: Option<VisitEvidence> = sqlx::query_as(
        "SELECT ST_X(coalesce(f.position, c.position, fc.position)), ST_Y(coalesce(f.position, c.position, fc.position)),
                coalesce(c.visited_at, fc.visited_at, f.created_at)
         FROM photos p
         LEFT JOIN check_ins c ON c.id = p.check_in_id
         LEFT JOIN findings f ON f.id = p.finding_id
         LEFT JOIN check_ins fc ON fc.id = f.check_in_id
         WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let Some((x, y, at)) = visit else { return Ok((Vec::new(), None)) };
    let mut flags = Vec::new();
    let distance = match (exif.lat, exif.lon, x, y) {
        (Some(lat), Some(lon), Some(x), Some(y)) => Some(geodesic_m(Point::new(lon, lat), Point::new(x, y))),
        _ => None,
    };
    if distance.is_some_and(|d| d > EXIF_FAR_M) {
        flags.push("exif_far".to_owned());
    }
    if let (Some(taken), Some(at)) = (exif.taken_at, at)
        && (utc_of(taken, exif.offset_minutes) - at).num_hours().abs() >= EXIF_TIME_APART_H
    {
        flags.push("exif_time_apart".to_owned());
    }
    Ok((flags, distance.map(|d| (d * 100.0).round() / 100.0)))
}

/// The visit's own position (lon, lat) and time, to compare the EXIF with.
type VisitEvidence = (Option<f64>, Option<f64>, Option<DateTime<Utc>>);

/// EXIF times are local clock readings; without an offset tag, the phone was
/// in China, so Asia/Shanghai (UTC+8 without daylight saving since 1991).
fn utc_of(local: NaiveDateTime, offset_minutes: Option<i32>) -> DateTime<Utc> {
    let offset = i64::from(offset_minutes.unwrap_or(8 * 60));
    local.and_utc() - chrono::Duration::minutes(offset)
}

/// Runs the thumbnail worker until the process ends: on every completed
/// upload, and every few seconds for what a crash left behind.
pub fn spawn_thumbnailer(db: PgPool, photos: Arc<Photos>) {
    tokio::spawn(async move {
        loop {
            match thumbnail_pending(&db, &photos).await {
                Ok(0) => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), photos.thumbnails.notified()).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "thumbnail worker");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    });
}

/// Makes the thumbnail of one uploaded photo and returns how many it
/// handled. The photo is claimed in a statement of its own (SKIP LOCKED, so
/// several API instances share the work) and no transaction stays open while
/// the image is decoded: an open transaction would hold back every device's
/// pull horizon. One at a time, so the worker's memory is one photo's
/// bytes plus its reduced decode (about 7 MB for a 5 MB, 12-megapixel JPEG).
pub async fn thumbnail_pending(db: &PgPool, photos: &Photos) -> anyhow::Result<usize> {
    let claimed: Vec<(Uuid, String, String)> = sqlx::query_as(
        "UPDATE photos SET thumbnail_claimed_at = now() WHERE id = (
             SELECT id FROM photos
             WHERE status = 'uploaded' AND thumbnail_key IS NULL AND thumbnail_error IS NULL
               AND (thumbnail_claimed_at IS NULL OR thumbnail_claimed_at < now() - interval '5 minutes')
             ORDER BY uploaded_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING id, object_key, mime",
    )
    .fetch_all(db)
    .await?;
    for (id, key, mime) in &claimed {
        let bytes = match photos.store.read(key).await {
            Ok(b) => b,
            // Bytes that are gone will not come back: record it, so that this
            // photo does not hold up the ones behind it.
            Err(StoreError::NotFound) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let kind = PhotoType::from_mime(mime).or_else(|| media::sniff(&bytes));
        let made = match kind {
            _ if bytes.is_empty() => Err(MediaError::Decode("the stored bytes are missing".to_owned())),
            Some(PhotoType::Heif) => match photos.heif.to_jpeg(bytes).await {
                Ok(jpeg) => tokio::task::spawn_blocking(move || media::thumbnail_of_converted(&jpeg, THUMBNAIL_SIDE)).await?,
                Err(e) => Err(e),
            },
            Some(kind) => tokio::task::spawn_blocking(move || media::thumbnail(&bytes, kind, THUMBNAIL_SIDE)).await?,
            None => Err(MediaError::Decode("unknown photo type".to_owned())),
        };
        match made {
            Ok(jpeg) => {
                let thumb = format!("thumbnails/{id}.jpg");
                photos.store.write(&thumb, jpeg, "image/jpeg").await?;
                sqlx::query("UPDATE photos SET thumbnail_key = $2, thumbnail_at = now(), version = version + 1 WHERE id = $1")
                    .bind(id)
                    .bind(thumb)
                    .execute(db)
                    .await?;
            }
            // The server is not set up for this type (no HEIF converter):
            // nothing is wrong with the photo, so nothing is recorded on it.
            // The claim lapses and the photo is tried again in a few
            // minutes, and gets its thumbnail once the converter is there.
            Err(MediaError::Converter(reason)) => {
                tracing::warn!(photo = %id, %reason, "thumbnail postponed");
            }
            Err(e) => {
                // The photo stays, without a thumbnail; the reason is kept.
                let reason = e.to_string();
                tracing::info!(photo = %id, %reason, "no thumbnail");
                sqlx::query("UPDATE photos SET thumbnail_error = $2, version = version + 1 WHERE id = $1").bind(id).bind(reason).execute(db).await?;
            }
        }
    }
    Ok(claimed.len())
}
