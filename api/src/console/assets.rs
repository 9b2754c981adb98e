//! The console's static files, compiled into the binary: our own script and style,
//! and the vendored browser libraries (`api/assets/vendor/`, from the npm registry,
//! with their licences). Vendored files live under their version, so they are served
//! as immutable; ours carry an ETag of their bytes and are revalidated.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Where MapLibre GL JS lives (its ESM bundle and worker), for the pages and the script.
pub const MAPLIBRE: &str = "/assets/vendor/maplibre-gl-6.20.0";
/// Where idb (the field app's IndexedDB wrapper) lives.
pub const IDB: &str = "/assets/vendor/idb-8.0.4/index.js";
/// Where Apache ECharts lives.
pub const ECHARTS: &str = "/assets/vendor/echarts-6.1.0/echarts.min.js";

struct Asset {
    path: &'static str,
    bytes: &'static [u8],
    mime: &'static str,
}

macro_rules! asset {
    ($path:literal, $file:literal, $mime:literal) => {
        Asset { path: $path, bytes: include_bytes!(concat!("../../assets/", $file)), mime: $mime }
    };
}

const ASSETS: &[Asset] = &[
    asset!("console.js", "console.js", "text/javascript; charset=utf-8"),
    asset!("common.js", "common.js", "text/javascript; charset=utf-8"),
    asset!("inbox.js", "inbox.js", "text/javascript; charset=utf-8"),
    asset!("ledger.js", "ledger.js", "text/javascript; charset=utf-8"),
    asset!("issue.js", "issue.js", "text/javascript; charset=utf-8"),
    asset!("lists.js", "lists.js", "text/javascript; charset=utf-8"),
    asset!("stats.js", "stats.js", "text/javascript; charset=utf-8"),
    asset!("import.js", "import.js", "text/javascript; charset=utf-8"),
    asset!("rule.js", "rule.js", "text/javascript; charset=utf-8"),
    asset!("people.js", "people.js", "text/javascript; charset=utf-8"),
    asset!("places.js", "places.js", "text/javascript; charset=utf-8"),
    asset!("console.css", "console.css", "text/css; charset=utf-8"),
    asset!(
        "vendor/maplibre-gl-6.20.0/maplibre-gl.mjs",
        "vendor/maplibre-gl-6.20.0/maplibre-gl.mjs",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "vendor/maplibre-gl-6.20.0/maplibre-gl-worker.mjs",
        "vendor/maplibre-gl-6.20.0/maplibre-gl-worker.mjs",
        "text/javascript; charset=utf-8"
    ),
    asset!(
        "vendor/maplibre-gl-6.20.0/maplibre-gl.css",
        "vendor/maplibre-gl-6.20.0/maplibre-gl.css",
        "text/css; charset=utf-8"
    ),
    asset!(
        "vendor/maplibre-gl-6.20.0/LICENSE.txt",
        "vendor/maplibre-gl-6.20.0/LICENSE.txt",
        "text/plain; charset=utf-8"
    ),
    asset!(
        "vendor/echarts-6.1.0/echarts.min.js",
        "vendor/echarts-6.1.0/echarts.min.js",
        "text/javascript; charset=utf-8"
    ),
    asset!("vendor/echarts-6.1.0/LICENSE", "vendor/echarts-6.1.0/LICENSE", "text/plain; charset=utf-8"),
    asset!("vendor/idb-8.0.4/index.js", "vendor/idb-8.0.4/index.js", "text/javascript; charset=utf-8"),
    asset!("vendor/idb-8.0.4/LICENSE", "vendor/idb-8.0.4/LICENSE", "text/plain; charset=utf-8"),
];

/// `GET /assets/{*path}`.
pub async fn get(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let asset = ASSETS.iter().find(|a| a.path == path).ok_or(ApiError::NotFound("asset"))?;
    let vendored = path.starts_with("vendor/");
    let cache = if vendored { "public, max-age=31536000, immutable" } else { "no-cache" };
    Ok(revalidated(&headers, asset.mime, cache, Bytes::from_static(asset.bytes)))
}

/// An answer of `bytes` with a strong ETag of them, or `304` when the browser has them.
pub fn revalidated(headers: &HeaderMap, mime: &'static str, cache: &'static str, bytes: Bytes) -> Response {
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let unchanged = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == etag);
    let etag = HeaderValue::from_str(&etag).expect("hex is a valid header value");
    let cache = HeaderValue::from_static(cache);
    if unchanged {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)]).into_response();
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(mime)), (header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        bytes,
    )
        .into_response()
}
