//! Photos: the types a device may upload and how large, the records as
//! people read them, and `photo.complete.v1`, which accepts the bytes of a
//! declared photo ([`crate::mutations::photo`] declares it) and judges the
//! EXIF evidence. The bytes themselves live in the API's photo store: the
//! API reads and seals them and hands what it found to the rules here.

mod complete;

pub use complete::{Complete, EXIF_FAR_M, EXIF_TIME_APART_H, ExifEvidence, Refusal, check_bytes, judge_exif, sniffed};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::SyncError;
use crate::scope::Scope;

/// The default size limit of a photo, in MB (`FIELDVISIT_PHOTO_MAX_MB`).
pub const DEFAULT_MAX_MB: u64 = 25;

/// A size limit in MB, in bytes.
pub const fn max_bytes(mb: u64) -> u64 {
    mb.saturating_mul(1024 * 1024)
}

/// The default size limit, in bytes.
pub const DEFAULT_MAX_BYTES: u64 = max_bytes(DEFAULT_MAX_MB);

/// The photo types a device may upload, named by MIME type. Reading also
/// takes the aliases phones send (`image/jpg`, `image/heif`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum PhotoType {
    Jpeg,
    Png,
    /// HEIC and HEIF, what iPhones and many Android phones take by default.
    Heif,
    Webp,
}

/// Every MIME name a photo may be declared with, and its type; each type's
/// own name comes first. The one list of accepted photo types.
const MIME_NAMES: &[(&str, PhotoType)] = &[
    ("image/jpeg", PhotoType::Jpeg),
    ("image/jpg", PhotoType::Jpeg),
    ("image/png", PhotoType::Png),
    ("image/heic", PhotoType::Heif),
    ("image/heif", PhotoType::Heif),
    ("image/webp", PhotoType::Webp),
];

impl PhotoType {
    pub fn mime(self) -> &'static str {
        MIME_NAMES.iter().find(|(_, t)| *t == self).map_or("application/octet-stream", |(m, _)| m)
    }

    /// The usual file extension, for download file names.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Heif => "heic",
            Self::Webp => "webp",
        }
    }

    /// Case-insensitive; accepts the common aliases `image/jpg` and `image/heif`.
    pub fn from_mime(m: &str) -> Option<Self> {
        let m = m.trim().to_ascii_lowercase();
        MIME_NAMES.iter().find(|(name, _)| *name == m).map(|(_, t)| *t)
    }

    /// How a declared MIME type is kept: lower case, and `image/jpg` (a
    /// common mistake, no MIME type) as `image/jpeg`; `None` for a type
    /// that is no photo's.
    pub fn declared(m: &str) -> Option<String> {
        let m = m.trim().to_ascii_lowercase();
        let kind = Self::from_mime(&m)?;
        Some(if kind == Self::Jpeg { kind.mime().to_owned() } else { m })
    }

    /// The MIME types a declaration may name, for messages.
    pub fn declarable() -> Vec<&'static str> {
        MIME_NAMES.iter().map(|(m, _)| *m).filter(|m| Self::declared(m).as_deref() == Some(*m)).collect()
    }
}

impl From<PhotoType> for &'static str {
    fn from(t: PhotoType) -> Self {
        t.mime()
    }
}

impl TryFrom<String> for PhotoType {
    type Error = String;

    fn try_from(m: String) -> Result<Self, String> {
        Self::from_mime(&m)
            .ok_or_else(|| format!("{m:?} is not a photo type; photos are one of {}", Self::declarable().join(", ")))
    }
}

/// Where a photo is: declared by its device, then its bytes uploaded (the
/// database type `photo_status`; the same words on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "photo_status", rename_all = "snake_case")]
pub enum PhotoStatus {
    /// Declared by the device; no bytes yet.
    Declared,
    /// The bytes arrived and were checked and sealed.
    Uploaded,
}

/// What the owner declared of a photo, before any byte arrived.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Declaration {
    pub status: PhotoStatus,
    pub sha256: Vec<u8>,
    pub size: i64,
    pub mime: String,
    pub object_key: String,
}

impl Declaration {
    pub fn uploaded(&self) -> bool {
        self.status == PhotoStatus::Uploaded
    }
}

/// The declaration of photo `id`, to its owner `person` only.
pub async fn declaration(db: &PgPool, person: Uuid, id: Uuid) -> Result<Declaration, SyncError> {
    sqlx::query_as(include_str!("declaration.sql"))
        .bind(id)
        .bind(person)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("photo"))
}

/// A photo's record and, once uploaded, a short-lived URL to its bytes.
// The API fills the URL in.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Photo {
    pub id: Uuid,
    pub person_id: Uuid,
    pub check_in_id: Option<Uuid>,
    pub finding_id: Option<Uuid>,
    pub status: PhotoStatus,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub thumbnail_ready: bool,
    pub exif_lat: Option<f64>,
    pub exif_lon: Option<f64>,
    pub exif_distance_m: Option<f64>,
    pub exif_flags: Vec<String>,
    #[sqlx(skip)]
    pub url: Option<String>,
    #[sqlx(skip)]
    pub url_expires_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub object_key: String,
    #[serde(skip)]
    pub thumbnail_key: Option<String>,
}

/// A photo within the scope: its owner, the staff of its place's station
/// subtree, and the township roles.
pub async fn get(db: &PgPool, scope: &Scope, id: Uuid) -> Result<Photo, SyncError> {
    sqlx::query_as(include_str!("select.sql"))
        .bind(id)
        .bind(&scope.stations)
        .bind(scope.person)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("photo"))
}

/// The photo as `complete` leaves it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Completed {
    pub id: Uuid,
    pub status: PhotoStatus,
    pub mime: String,
    pub size: i64,
    /// Flags from the EXIF evidence: `exif_far`, `exif_time_apart`, `no_exif`.
    pub exif_flags: Vec<String>,
    pub exif_distance_m: Option<f64>,
}

/// Photo `id` as `complete` answers it.
pub async fn completed(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> Result<Completed, SyncError> {
    Ok(sqlx::query_as(include_str!("completed.sql")).bind(id).fetch_one(db).await?)
}

/// A photo the thumbnail worker claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThumbnailClaim {
    pub id: Uuid,
    pub object_key: String,
    pub mime: String,
}

/// Claims the next photo that needs a thumbnail, if any (see
/// `thumbnail_claim.sql`); a claim lapses after five minutes.
pub async fn claim_thumbnail(db: &PgPool) -> Result<Vec<ThumbnailClaim>, SyncError> {
    Ok(sqlx::query_as(include_str!("thumbnail_claim.sql")).fetch_all(db).await?)
}

/// Records the thumbnail made of photo `id`, stored at `key`.
pub async fn thumbnail_made(db: &PgPool, id: Uuid, key: &str) -> Result<(), SyncError> {
    sqlx::query(include_str!("thumbnail_made.sql")).bind(id).bind(key).execute(db).await?;
    Ok(())
}

/// Records why no thumbnail can be made of photo `id`; it is not tried again.
pub async fn thumbnail_failed(db: &PgPool, id: Uuid, reason: &str) -> Result<(), SyncError> {
    sqlx::query(include_str!("thumbnail_failed.sql")).bind(id).bind(reason).execute(db).await?;
    Ok(())
}

/// Photos declared more than `days` ago whose bytes never came: id, the
/// owner's username, when declared.
pub async fn never_uploaded(db: &PgPool, days: i64) -> Result<Vec<(Uuid, String, DateTime<Utc>)>, SyncError> {
    Ok(sqlx::query_as(include_str!("never_uploaded.sql"))
        .bind(i32::try_from(days).unwrap_or(i32::MAX))
        .fetch_all(db)
        .await?)
}

/// Every stored object a photo record names (bytes and thumbnails).
pub async fn referenced_keys(db: &PgPool) -> Result<Vec<String>, SyncError> {
    Ok(sqlx::query_scalar(include_str!("referenced_keys.sql")).fetch_all(db).await?)
}

/// How many uploaded photos wait for their thumbnail (for the metrics).
pub async fn thumbnail_queue(db: &sqlx::PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(include_str!("thumbnail_queue.sql")).fetch_one(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_types_are_named_once() {
        assert_eq!(PhotoType::from_mime("IMAGE/JPG"), Some(PhotoType::Jpeg));
        assert_eq!(PhotoType::from_mime("image/heif"), Some(PhotoType::Heif));
        assert_eq!(PhotoType::Heif.mime(), "image/heic");
        assert_eq!(PhotoType::declared(" Image/JPG "), Some("image/jpeg".to_owned()));
        assert_eq!(PhotoType::declared("image/heif"), Some("image/heif".to_owned()));
        assert_eq!(PhotoType::declared("image/gif"), None);
        assert_eq!(PhotoType::declarable(), ["image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"]);
        assert_eq!(DEFAULT_MAX_BYTES, 25 * 1024 * 1024);
    }
}
