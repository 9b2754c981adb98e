//! What every answer shares, around the handlers: compression both ways,
//! the request timeout, and the headers a browser or a proxy needs to treat
//! answers as private.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};

use crate::error::{ApiError, RETRY_AFTER_S};

/// Answers smaller than this go uncompressed: they fit one packet anyway,
/// and compressing them would cost more than it saves.
pub const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// Compresses answers with gzip, br or zstd, as `Accept-Encoding` asks.
/// Images and workbooks (an XLSX is a zip) are never compressed again.
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new().compress_when(
        SizeAbove::new(COMPRESS_ABOVE_BYTES)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::const_new("application/vnd.openxmlformats")),
    )
}

/// The request body encodings accepted (decoded by tower-http's
/// `RequestDecompressionLayer`, under the same body limit as plain bodies).
const BODY_ENCODINGS: [&str; 3] = ["gzip", "zstd", "identity"];

/// Refuses a body encoding the server cannot decode with the JSON error
/// shape (the decompression layer itself would answer an empty 415), and
/// spells an accepted one as that layer expects (lower case, no spaces).
pub async fn accepted_body_encoding(mut req: Request, next: Next) -> Response {
    let given = req.headers().get(header::CONTENT_ENCODING).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(given) = given {
        let encoding = given.trim().to_ascii_lowercase();
        if let Some(known) = BODY_ENCODINGS.iter().find(|e| **e == encoding) {
            req.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(known));
        } else {
            let mut res = ApiError::UnsupportedMediaType(format!(
                "Content-Encoding {given:?} is not accepted; send the body as gzip, zstd or uncompressed"
            ))
            .into_response();
            res.headers_mut().insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, zstd"));
            return res;
        }
    }
    next.run(req).await
}

/// Answers 503 `timeout` (with `Retry-After`) when the handler has not
/// answered within `limit`; the handler is dropped, so its transaction rolls
/// back unless it already committed (a retry then answers `duplicate`).
pub async fn request_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if let Ok(res) = tokio::time::timeout(limit, next.run(req)).await {
        return res;
    }
    tracing::warn!(limit_s = limit.as_secs_f64(), "request timed out");
    let message = format!("the server did not answer within {} seconds; retry", limit.as_secs_f64());
    let body = serde_json::json!({"error": {"code": "timeout", "message": message, "details": null}});
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

/// `X-Content-Type-Options: nosniff` on every answer; `Cache-Control:
/// no-store` on every `/v1` answer that sets no cache policy of its own
/// (they carry tokens and personal data: no shared or browser cache may
/// keep them); `Retry-After` on every 503 that lacks one.
pub async fn response_headers(req: Request, next: Next) -> Response {
    let private = req.uri().path().starts_with("/v1/");
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if private && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if res.status() == StatusCode::SERVICE_UNAVAILABLE && !res.headers().contains_key(header::RETRY_AFTER) {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    }
    res
}
