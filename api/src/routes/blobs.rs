//! `/v1/blobs/{key}`: the local photo store's signed upload and download
//! URLs. Authorised by the URL's signature alone (devices upload outside the
//! JSON API, as they would to S3); bodies stream to disk, never into memory.
//! A completed photo's key is sealed: a replayed upload URL gets 409 and
//! changes nothing. Downloads answer with the type and file name the URL
//! signs (the photo's own), never a bare octet stream.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::input::{Path, Query};
use crate::photos::local::UploadRefused;
use crate::photos::store::Presentation;

/// The signature a signed URL carries; the URLs come whole from
/// `upload-url` and `GET /v1/photos/{id}`, never built by a client.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Signed {
    /// Unix time after which the URL is refused.
    pub expires: i64,
    /// The declared size in bytes (uploads only).
    pub size: Option<u64>,
    /// The content type the download answers with (downloads only).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub content_type: Option<String>,
    /// The file name in the download's `Content-Disposition` (downloads only).
    pub name: Option<String>,
    /// HMAC-SHA256 of the key, expiry (and size, or type and name), hex.
    pub sig: String,
}

/// Raw bytes, for the OpenAPI document (a binary string, not an array of numbers).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct RawBytes(#[allow(dead_code, reason = "a schema only")] Vec<u8>);

fn refused(e: UploadRefused) -> ApiError {
    refused_sized(e, 0)
}

fn refused_sized(e: UploadRefused, size: u64) -> ApiError {
    match e {
        UploadRefused::Forbidden(why) => ApiError::Forbidden(format!("this upload URL is not valid: {why}")),
        UploadRefused::TooLarge => ApiError::PayloadTooLarge(usize::try_from(size).unwrap_or(usize::MAX)),
        UploadRefused::ShortBody => ApiError::Invalid {
            code: "incomplete_upload",
            message: "the body ended before the declared size; upload again".into(),
            field: None,
        },
        UploadRefused::Sealed => ApiError::Conflict {
            code: "already_uploaded",
            message: "this photo's bytes were verified by complete and cannot be replaced".into(),
            field: None,
        },
        UploadRefused::Io(e) => ApiError::Internal(anyhow::anyhow!("local store: {e}")),
    }
}

fn local(state: &AppState) -> Result<&crate::photos::local::LocalStore, ApiError> {
    state.photos.local.as_ref().ok_or(ApiError::NotFound("route"))
}

/// Receives the bytes of a signed upload (local store only; with S3 the
/// device PUTs to S3). The key may contain `/`.
#[utoipa::path(put, path = "/v1/blobs/{key}", tag = "blobs",
    params(("key" = String, Path, description = "the object key, as in the signed URL"), Signed),
    request_body(content = RawBytes, content_type = "application/octet-stream", description = "exactly the declared number of bytes"),
    responses((status = 200, description = "stored; now call complete"),
        (status = 403, description = "tampered or expired URL", body = super::ErrorBody),
        (status = 409, description = "already_uploaded: the photo was completed and its bytes are sealed; nothing was changed", body = super::ErrorBody),
        (status = 413, description = "more bytes than declared", body = super::ErrorBody),
        (status = 422, description = "the body ended early (incomplete_upload); upload again", body = super::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<Signed>,
    req: Request,
) -> Result<StatusCode, ApiError> {
    let store = local(&state)?;
    let size = q.size.ok_or_else(|| ApiError::Forbidden("this upload URL is not valid: no size".into()))?;
    store.check_upload(&key, q.expires, size, &q.sig, Utc::now()).map_err(refused)?;
    if let Some(len) =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
        && len > size
    {
        return Err(ApiError::PayloadTooLarge(usize::try_from(size).unwrap_or(usize::MAX)));
    }
    store.receive(&key, size, req.into_body().into_data_stream()).await.map_err(|e| refused_sized(e, size))?;
    Ok(StatusCode::OK)
}

/// Streams the bytes of a signed download (local store only), with the
/// content type and `Content-Disposition` the URL signs.
#[utoipa::path(get, path = "/v1/blobs/{key}", tag = "blobs",
    params(("key" = String, Path, description = "the object key, as in the signed URL"), Signed),
    responses((status = 200, description = "the bytes, as the photo's own type (image/jpeg, image/png, image/heic, image/webp)", content_type = "image/*", body = RawBytes,
            headers(("content-disposition" = String, description = "inline; filename=\"<photo id>.<extension>\""))),
        (status = 403, description = "tampered or expired URL", body = super::ErrorBody),
        (status = 404, description = "nothing stored under this key", body = super::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<Signed>,
) -> Result<Response, ApiError> {
    let store = local(&state)?;
    let invalid = || ApiError::Forbidden("this download URL is not valid: no type or name".into());
    let shown =
        Presentation::new(q.content_type.as_deref().ok_or_else(invalid)?, q.name.as_deref().ok_or_else(invalid)?)
            .map_err(|_| ApiError::Forbidden("this download URL is not valid: bad type or name".into()))?;
    store.check_download(&key, q.expires, &shown, &q.sig, Utc::now()).map_err(refused)?;
    let path = store.path_of(&key).ok_or(ApiError::NotFound("object"))?;
    let file = tokio::fs::File::open(&path).await.map_err(|_| ApiError::NotFound("object"))?;
    let length = file.metadata().await.map_err(|_| ApiError::NotFound("object"))?.len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, shown.content_type.clone()),
            (header::CONTENT_DISPOSITION, shown.disposition()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response())
}
