//! The field app (人大代表走访): an offline-first web app for representatives' phones,
//! served by the binary at `/app`, with no app store and no JavaScript toolchain. It
//! speaks the sync protocol like the reference device (`sync::client`): an outbox of
//! mutations in IndexedDB, pushed in order, and pulls applied page by page with the
//! saved cursor, so that hours without a signal lose nothing.
//!
//! What is served here:
//! - `/app`: the shell, the same bytes for everyone (no personal data, so the service
//!   worker may keep it and open it offline); the script finds out who is signed in.
//! - `/app/v/{version}/…`: the app's modules, styles and word lists, under the hash of
//!   all of them, so they are cached as immutable and a release changes every URL.
//! - `/app/sw.js`: the service worker, which precaches the shell and those files.
//! - `/app/manifest.webmanifest` and `/app/icons/…`: what a phone needs to install it.
//!
//! The session is the console's (cookies holding the API's tokens, double-submit CSRF).

pub mod assets;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::app::AppState;
use crate::console::assets::{IDB, MAPLIBRE, revalidated};
use crate::console::session;
use crate::error::ApiError;
use assets::{APP_FILES, ICONS, version};

/// The app's routes (outside the API document: a web app, not operations).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app", axum::routing::get(shell))
        .route("/app/", axum::routing::get(|| async { Redirect::permanent("/app") }))
        .route("/app/sw.js", axum::routing::get(service_worker))
        .route("/app/sw-classic.js", axum::routing::get(classic_service_worker))
        .route("/app/manifest.webmanifest", axum::routing::get(manifest))
        .route("/app/icons/{file}", axum::routing::get(icon))
        .route("/app/v/{version}/{*file}", axum::routing::get(asset))
}

/// The URL of one of the app's files in this release.
pub fn asset_url(file: &str) -> String {
    format!("/app/v/{}/{file}", version())
}

/// The modules the app starts with (all but the map's), and the IndexedDB wrapper.
fn modules() -> Vec<String> {
    let js = |p: &str| std::path::Path::new(p).extension().is_some_and(|e| e == "js");
    let mut urls: Vec<String> = APP_FILES
        .iter()
        .filter(|f| js(f.path) && f.path != "main.js" && f.path != "map.js")
        .map(|f| asset_url(f.path))
        .collect();
    urls.push(IDB.to_owned());
    urls
}

/// Everything the service worker keeps for opening offline: the shell, the app's
/// files, the IndexedDB wrapper, the manifest and icons. MapLibre is not among them
/// (it is 800 KB and only the map screen needs it; the worker keeps it once used).
pub fn precache() -> Vec<String> {
    let mut urls = vec!["/app".to_owned(), "/app/manifest.webmanifest".to_owned(), IDB.to_owned()];
    urls.extend(APP_FILES.iter().map(|f| asset_url(f.path)));
    urls.extend(ICONS.iter().map(|(name, _)| format!("/app/icons/{name}")));
    urls
}

/// What the app's script needs to know of this server (the same for everyone).
fn app_config(state: &AppState) -> serde_json::Value {
    json!({
        "version": version(),
        "base": format!("/app/v/{}", version()),
        "idb": IDB,
        "maplibre": MAPLIBRE,
        "csrfCookie": session::CSRF,
        "csrfHeader": session::CSRF_HEADER,
        "schemaVersion": fieldvisit_sync::protocol::SCHEMA_VERSION,
        "photoMaxPx": state.sync.photo_max_px,
        "photoMaxBytes": state.sync.photo_max_bytes,
        "maxAccuracyM": state.sync.max_accuracy_m,
    })
}

/// `GET /app`: the shell. Revalidated on every open with the network (`no-cache`), so
/// a release reaches phones at once; offline the service worker answers it.
pub async fn shell(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = app_config(&state);
    let rendered = crate::templates::render(
        "app/shell.html",
        minijinja::context! {
            // `<` escaped, so that no text can close the script element early.
            config => config.to_string().replace('<', "\\u003c"),
            css => asset_url("app.css"), main => asset_url("main.js"), words => asset_url("i18n/zh.json"),
            preload => modules(),
        },
    );
    match rendered {
        Ok(html) => revalidated(&headers, "text/html; charset=utf-8", "no-cache", html.into()),
        Err(e) => ApiError::Internal(e.into()).into_response(),
    }
}

/// `GET /app/sw.js`: the service worker, with this release's version and the files
/// to precache written in front of it (so a release is a new worker). Its scope is
/// `/app` itself as well as what is under it, which `Service-Worker-Allowed` permits.
pub async fn service_worker(State(state): State<AppState>, headers: HeaderMap) -> Response {
    worker(&state, &headers, true)
}

/// `GET /app/sw-classic.js`: the same worker for browsers without module service
/// workers; it caches the same files, and leaves syncing to the open page (only
/// Chromium has Background Sync, and it has module workers).
pub async fn classic_service_worker(State(state): State<AppState>, headers: HeaderMap) -> Response {
    worker(&state, &headers, false)
}

fn worker(state: &AppState, headers: &HeaderMap, module: bool) -> Response {
    let import = if module {
        format!("import {{ syncInWorker }} from {};\n", json!(asset_url("sync.js")))
    } else {
        "const syncInWorker = null;\n".to_owned()
    };
    let head = format!(
        "{import}self.fieldvisitConfig = {};\nconst VERSION = {};\nconst PRECACHE = {};\nconst MAP_LIBRARY = {};\n",
        app_config(state),
        json!(version()),
        json!(precache()),
        json!(MAPLIBRE),
    );
    let body = [head.as_bytes(), assets::SERVICE_WORKER].concat();
    let mut response = revalidated(headers, "text/javascript; charset=utf-8", "no-cache", body.into());
    response.headers_mut().insert("service-worker-allowed", HeaderValue::from_static("/app"));
    response
}

/// `GET /app/manifest.webmanifest`.
pub async fn manifest(headers: HeaderMap) -> Response {
    let body = json!({
        "name": "人大代表走访",
        "short_name": "代表走访",
        "description": "人大代表联系群众走访：本月走访、现场签到、问题反映与销号",
        "lang": "zh-CN",
        "start_url": "/app",
        "scope": "/app",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "icons": [
            {"src": "/app/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/app/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/app/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": "/app/icons/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    });
    revalidated(&headers, "application/manifest+json", "no-cache", body.to_string().into())
}

/// `GET /app/icons/{file}`: the icon as SVG, or rendered to PNG by resvg.
pub async fn icon(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, bytes)) = ICONS.iter().find(|(name, _)| *name == file) else {
        return ApiError::NotFound("icon").into_response();
    };
    // The names are ours (`ICONS`), lower case.
    let mime =
        if std::path::Path::new(&file).extension().is_some_and(|e| e == "svg") { "image/svg+xml" } else { "image/png" };
    match bytes() {
        Ok(bytes) => revalidated(&headers, mime, "public, max-age=86400", bytes.into()),
        Err(e) => ApiError::Internal(e).into_response(),
    }
}

/// `GET /app/v/{version}/{*file}`: one of the app's files; immutable under its
/// release's version. A file asked for under an older version is answered from this
/// release without the immutable promise (a phone mid-update still gets a working
/// file, and will not keep it forever).
pub async fn asset(Path((asked, file)): Path<(String, String)>) -> Response {
    let Some(found) = APP_FILES.iter().find(|f| f.path == file) else {
        return ApiError::NotFound("asset").into_response();
    };
    let cache = if asked == version() { "public, max-age=31536000, immutable" } else { "no-cache" };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(found.mime)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        found.bytes,
    )
        .into_response()
}
