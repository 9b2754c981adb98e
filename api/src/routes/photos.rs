//! `/v1/photos`: the byte side of photos. Devices declare a photo through
//! sync (`photo.declare.v1`), then ask here for a signed upload, PUT the
//! bytes there, and call `complete`. Reading answers short-lived signed URLs.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::input::Path;
use crate::photos::processing::{self, Completed};
use crate::photos::media::PhotoType;
use crate::photos::store::{Declared, Presentation, SignedRequest};

/// How long a download URL stays valid.
const DOWNLOAD_TTL: Duration = Duration::from_mins(5);

/// Where to PUT the bytes of a declared photo (the owner only).
#[utoipa::path(post, path = "/v1/photos/{id}/upload-url", tag = "photos", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = SignedRequest, description = "PUT the bytes to `url` with exactly these `headers` before `expires_at`"), (status = 404, body = super::ErrorBody),
        (status = 409, description = "already uploaded", body = super::ErrorBody)))]
pub async fn upload_url(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<SignedRequest>> {
    let row: Option<(String, Vec<u8>, i64, String, String)> =
        sqlx::query_as("SELECT status, sha256, size, mime, object_key FROM photos WHERE id = $1 AND person_id = $2")
            .bind(id)
            .bind(caller.person_id)
            .fetch_optional(&state.db)
            .await?;
    let (status, sha, size, mime, key) = row.ok_or(ApiError::NotFound("photo"))?;
    if status == "uploaded" {
        return Err(ApiError::Conflict { code: "already_uploaded", message: "this photo is on the server already".into(), field: None });
    }
    let declared = Declared {
        size: u64::try_from(size).unwrap_or_default(),
        sha256: sha.try_into().map_err(|_| ApiError::Internal(anyhow::anyhow!("stored hash is not 32 bytes")))?,
        mime,
    };
    Ok(Json(state.photos.store.upload_request(&key, &declared, state.photos.upload_ttl).await?))
}

/// Seals the uploaded bytes, checks them against the declaration and marks
/// the photo uploaded; idempotent. From then on the bytes are immutable: the
/// upload URL, though not yet expired, can no longer change them (the local
/// store answers 409; on S3 the record names a copy no URL reaches). A size
/// or hash mismatch discards the bytes (409); bytes that are not a photo are
/// discarded too (415).
#[utoipa::path(post, path = "/v1/photos/{id}/complete", tag = "photos", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Completed), (status = 404, body = super::ErrorBody),
        (status = 409, description = "not uploaded, size_mismatch or hash_mismatch", body = super::ErrorBody),
        (status = 415, body = super::ErrorBody)))]
pub async fn complete(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Completed>> {
    processing::complete(&state.db, &state.photos, caller.person_id, id).await.map(Json)
}

/// A photo's record and, once uploaded, a short-lived URL to its bytes.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Photo {
    pub id: Uuid,
    pub person_id: Uuid,
    pub check_in_id: Option<Uuid>,
    pub finding_id: Option<Uuid>,
    pub status: String,
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

/// A photo within the caller's scope: its owner, the staff of its place's
/// station subtree, and the township roles.
async fn fetch(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Photo> {
    let scope = caller.scope(&state.db, Resource::Photos).await?;
    sqlx::query_as(
        "SELECT p.id, p.person_id, p.check_in_id, p.finding_id, p.status, p.mime, p.size, encode(p.sha256, 'hex') AS sha256,
                p.uploaded_at, p.thumbnail_key IS NOT NULL AS thumbnail_ready, p.exif_lat, p.exif_lon, p.exif_distance_m,
                p.exif_flags, p.object_key, p.thumbnail_key
         FROM photos p
         LEFT JOIN check_ins c ON c.id = p.check_in_id
         LEFT JOIN findings f ON f.id = p.finding_id
         JOIN places pl ON pl.id = coalesce(c.place_id, f.place_id)
         WHERE p.id = $1 AND ($2::uuid[] IS NULL OR pl.station_id = ANY($2)) AND ($3::uuid IS NULL OR p.person_id = $3)",
    )
    .bind(id)
    .bind(scope.stations)
    .bind(scope.person)
    .fetch_optional(&state.db)
    .await?
    .ok_or(ApiError::NotFound("photo"))
}

/// How a photo's download presents itself: its type as `complete` sniffed
/// it, and `<photo id>.<extension>` as the file name.
fn presented(id: Uuid, mime: &str) -> ApiResult<Presentation> {
    let shown = match PhotoType::from_mime(mime) {
        Some(kind) => Presentation::new(kind.mime(), &format!("{id}.{}", kind.extension())),
        None => Presentation::new("application/octet-stream", &id.to_string()),
    };
    Ok(shown?)
}

/// A photo, with a short-lived URL to its bytes once uploaded. The URL
/// answers with the photo's type and `Content-Disposition: inline;
/// filename="<id>.<ext>"`.
#[utoipa::path(get, path = "/v1/photos/{id}", tag = "photos", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Photo), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Photo>> {
    let mut photo = fetch(&state, &caller, id).await?;
    if photo.status == "uploaded" {
        let shown = presented(photo.id, &photo.mime)?;
        photo.url = Some(state.photos.store.download_url(&photo.object_key, DOWNLOAD_TTL, &shown).await?);
        photo.url_expires_at = Some(Utc::now() + DOWNLOAD_TTL);
    }
    Ok(Json(photo))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThumbnailUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A short-lived URL to the photo's 512-pixel JPEG thumbnail (409 `not_ready`
/// until it is made, shortly after `complete`), answered as `image/jpeg`
/// named `<id>-thumbnail.jpg`.
#[utoipa::path(get, path = "/v1/photos/{id}/thumbnail", tag = "photos", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ThumbnailUrl), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn thumbnail(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<ThumbnailUrl>> {
    let photo = fetch(&state, &caller, id).await?;
    let key = photo.thumbnail_key.ok_or(ApiError::Conflict { code: "not_ready", message: "the thumbnail is not made yet; try again shortly".into(), field: None })?;
    let shown = Presentation::new("image/jpeg", &format!("{id}-thumbnail.jpg"))?;
    Ok(Json(ThumbnailUrl { url: state.photos.store.download_url(&key, DOWNLOAD_TTL, &shown).await?, expires_at: Utc::now() + DOWNLOAD_TTL }))
}
