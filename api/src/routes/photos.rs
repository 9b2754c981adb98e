//! `/v1/photos`: the byte side of photos. Devices declare a photo through
//! sync (`photo.declare.v1`), then ask here for a signed upload, PUT the
//! bytes there, and call `complete`. Reading answers short-lived signed URLs.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use fieldvisit_sync::photos::{self, Completed, Photo, PhotoStatus, PhotoType, Refusal};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::input::Path;
use crate::photos::processing::{self, CompleteError};
use crate::photos::store::{Declared, Presentation, SignedRequest, StoreError};

/// How long a download URL stays valid.
const DOWNLOAD_TTL: Duration = Duration::from_mins(5);

/// Where to PUT the bytes of a declared photo (the owner only).
#[utoipa::path(post, path = "/v1/photos/{id}/upload-url", tag = "photos", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = SignedRequest, description = "PUT the bytes to `url` with exactly these `headers` before `expires_at`"), (status = 404, body = super::ErrorBody),
        (status = 409, description = "already uploaded", body = super::ErrorBody)))]
pub async fn upload_url(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<SignedRequest>> {
    let d = photos::declaration(&state.db, caller.person_id, id).await?;
    if d.uploaded() {
        return Err(ApiError::Conflict {
            code: "already_uploaded",
            message: "this photo is on the server already".into(),
            field: None,
        });
    }
    let declared = Declared {
        size: u64::try_from(d.size).unwrap_or_default(),
        sha256: d.sha256.try_into().map_err(|_| ApiError::Internal(anyhow::anyhow!("stored hash is not 32 bytes")))?,
        mime: d.mime,
    };
    Ok(Json(state.photos.store.upload_request(&d.object_key, &declared, state.photos.upload_ttl).await?))
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
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Completed>> {
    Ok(Json(processing::complete(&state.db, &state.photos, caller.person_id, id).await?))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(anyhow::anyhow!("photo store: {e}"))
    }
}

impl From<CompleteError> for ApiError {
    fn from(e: CompleteError) -> Self {
        match e {
            CompleteError::Refused(r @ Refusal::NotAPhoto) => ApiError::UnsupportedMediaType(r.to_string()),
            CompleteError::Refused(r) => ApiError::Conflict { code: r.code(), message: r.to_string(), field: None },
            CompleteError::Domain(e) => e.into(),
            CompleteError::Store(e) => e.into(),
            CompleteError::Exif(e) => ApiError::Internal(e.into()),
        }
    }
}

/// A photo within the caller's scope: its owner, the staff of its place's
/// station subtree, and the township roles.
async fn fetch(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Photo> {
    let scope = caller.scope(&state.db, Resource::Photos).await?;
    Ok(photos::get(&state.db, &scope, id).await?)
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
    if photo.status == PhotoStatus::Uploaded {
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
pub async fn thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ThumbnailUrl>> {
    let photo = fetch(&state, &caller, id).await?;
    let key = photo.thumbnail_key.ok_or(ApiError::Conflict {
        code: "not_ready",
        message: "the thumbnail is not made yet; try again shortly".into(),
        field: None,
    })?;
    let shown = Presentation::new("image/jpeg", &format!("{id}-thumbnail.jpg"))?;
    Ok(Json(ThumbnailUrl {
        url: state.photos.store.download_url(&key, DOWNLOAD_TTL, &shown).await?,
        expires_at: Utc::now() + DOWNLOAD_TTL,
    }))
}
