//! The one router, built the same way by `main` and by every test.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::tokens::TokenKeys;
use crate::error::ApiError;
use crate::routes;

/// Largest request body accepted, in bytes (places with big polygons fit).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What every handler shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: PgPool,
    pub keys: Arc<TokenKeys>,
    pub sync: Arc<SyncSettings>,
    pub photos: Arc<crate::photos::Photos>,
    /// Take the client's address from `X-Forwarded-For` (behind a proxy).
    pub trust_forwarded_for: bool,
    /// Longest a request may take (the signed blob transfers excepted).
    pub request_timeout: Duration,
    /// The township's name for export titles (`--township-name`); `None`:
    /// the root station's name.
    pub township_name: Option<Arc<str>>,
}

/// The sync protocol's settings and secret.
#[derive(Debug)]
pub struct SyncSettings {
    pub cursor_key: fieldvisit_sync::cursor::CursorKey,
    pub rules: fieldvisit_geodata::geofence::GeofenceRules,
    pub pull: fieldvisit_sync::pull::PullRules,
    /// Largest photo a device may declare and upload, in bytes.
    pub photo_max_bytes: u64,
    /// The longer side, in pixels, the field app downscales photos to.
    pub photo_max_px: u32,
    /// A reported GPS accuracy worse than this cannot verify a visit (the
    /// field app waits for a better fix, and says so).
    pub max_accuracy_m: f64,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "fieldvisit", description = "Field visits of people's-congress representatives: stations, people, places, assignments."),
    modifiers(&BearerAuth),
    // Routed outside the OpenApiRouter (the blobs' keys contain `/`; their
    // bodies and an import's file bypass the JSON body limit), so listed here.
    // The tiles' `{y}.mvt` is more than one segment's parameter to axum's router.
    paths(routes::blobs::put, routes::blobs::get, routes::places_import::import, routes::coverage::tile),
    tags(
        (name = "auth", description = "Sign in, refresh, sign out"),
        (name = "stations", description = "The liaison-station tree (1+5+N)"),
        (name = "people", description = "Representatives, staff, planners, presidium, admins"),
        (name = "places", description = "Grid cells, enterprises and project sites, as GeoJSON"),
        (name = "assignments", description = "Who visits which place"),
        (name = "sync", description = "The offline protocol: push mutations, pull changes"),
        (name = "check-ins", description = "Judged check-ins and their review"),
        (name = "visits", description = "The monthly visit rule"),
        (name = "coverage", description = "The visit-coverage map: places by status, the trend, vector tiles, the printable monthly report"),
        (name = "findings", description = "What visits found"),
        (name = "issues", description = "The issue ledger (台账): from findings to close-out (销号)"),
        (name = "issue-lists", description = "The monthly issue list (问题清单)"),
        (name = "departments", description = "The departments issues are sent to (责任单位)"),
        (name = "photos", description = "Signed uploads, verification, thumbnails"),
        (name = "blobs", description = "The local photo store's signed upload and download URLs"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

pub fn app(state: AppState) -> Router {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::auth::login))
        .routes(routes!(routes::auth::refresh))
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::auth::me))
        .routes(routes!(routes::stations::list, routes::stations::create))
        .routes(routes!(routes::stations::get, routes::stations::update, routes::stations::deactivate))
        .routes(routes!(routes::people::list, routes::people::create))
        .routes(routes!(routes::people::get, routes::people::update, routes::people::deactivate))
        .routes(routes!(routes::places::list, routes::places::create))
        .routes(routes!(routes::places::get, routes::places::update, routes::places::deactivate))
        .routes(routes!(routes::assignments::list, routes::assignments::create))
        .routes(routes!(routes::assignments::get, routes::assignments::update, routes::assignments::end))
        .routes(routes!(routes::assignment_proposals::create, routes::assignment_proposals::recent))
        .routes(routes!(routes::assignment_proposals::get))
        .routes(routes!(routes::assignment_proposals::place))
        .routes(routes!(routes::assignment_proposals::apply))
        .routes(routes!(routes::sync::push))
        .routes(routes!(routes::sync::pull))
        .routes(routes!(routes::check_ins::list))
        .routes(routes!(routes::check_ins::get))
        .routes(routes!(routes::check_ins::review))
        .routes(routes!(routes::visits::status))
        .routes(routes!(routes::coverage::get))
        .routes(routes!(routes::coverage::trend))
        .routes(routes!(routes::coverage_report::report))
        .routes(routes!(routes::findings::list))
        .routes(routes!(routes::departments::list, routes::departments::create))
        .routes(routes!(routes::departments::get, routes::departments::update))
        .routes(routes!(routes::exports::export_ledger))
        .routes(routes!(routes::issues::list, routes::issues::create))
        .routes(routes!(routes::issues::similar))
        .routes(routes!(routes::issue_stats::stats))
        .routes(routes!(routes::issues::get, routes::issues::update))
        .routes(routes!(routes::issues::act))
        .routes(routes!(routes::issue_lists::list, routes::issue_lists::create))
        .routes(routes!(routes::issue_lists::get, routes::issue_lists::update))
        .routes(routes!(routes::issue_lists::issue))
        .routes(routes!(routes::exports::export_list))
        .routes(routes!(routes::photos::upload_url))
        .routes(routes!(routes::photos::complete))
        .routes(routes!(routes::photos::get))
        .routes(routes!(routes::photos::thumbnail))
        .split_for_parts();

    // Completed with what every operation shares, and serialised once: a
    // route handler is cloned per request, and cloning the document itself
    // cost megabytes of allocation on every fetch.
    let mut document = serde_json::to_value(&openapi).expect("the OpenAPI document serialises");
    crate::openapi::complete(&mut document);
    let query_rules = Arc::new(crate::openapi::QueryRules::from_document(&document));
    let openapi_json = axum::body::Bytes::from(serde_json::to_vec(&document).expect("the OpenAPI document serialises"));
    // The local store's signed URLs: bodies stream to disk and the store
    // enforces the signed size, so the JSON body limit does not apply.
    let blobs = Router::new()
        .route("/v1/blobs/{*key}", axum::routing::put(routes::blobs::put).get(routes::blobs::get))
        .layer(DefaultBodyLimit::disable());
    // A file of places: up to its own limit, and as long as a large register
    // takes to check and write (no request timeout; the idle timeout holds).
    let imports = Router::new()
        .route("/v1/places/import", axum::routing::post(routes::places_import::import))
        .layer(DefaultBodyLimit::max(routes::places_import::MAX_FILE_BYTES));
    // Everything but the blobs: answers compressed as Accept-Encoding asks,
    // bodies accepted compressed (decoded under the same body limit), and a
    // request timeout. Blob bytes are photos (compressed already) and stream
    // for as long as a weak link needs; the idle timeout bounds those.
    let request_timeout = state.request_timeout;
    let api = router
        .route(routes::coverage::TILE_ROUTE, axum::routing::get(routes::coverage::tile))
        .merge(crate::console::router())
        .merge(crate::field_app::router())
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi_json)
            }),
        )
        .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .layer(axum::middleware::from_fn_with_state(request_timeout, crate::middleware::request_timeout))
        .layer(RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn(crate::middleware::accepted_body_encoding))
        .layer(crate::middleware::compression());
    api.merge(blobs)
        .merge(imports)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(move |req, next| crate::openapi::refuse_unknown_query(query_rules.clone(), req, next)))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()))
        .layer(axum::middleware::from_fn(crate::middleware::response_headers))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let path = req.extensions().get::<MatchedPath>().map_or(req.uri().path(), MatchedPath::as_str);
                    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), path, request_id, user.id = tracing::field::Empty)
                })
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_millis(), "answered");
                }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> Response {
    let body = serde_json::json!({"error": {"code": "method_not_allowed", "message": "this method is not allowed on this path", "details": null}});
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// Used by `/readyz`: the database answers and every migration is applied.
pub async fn database_ready(State(state): State<AppState>) -> Result<(), ApiError> {
    let applied = fieldvisit_sync::health::applied_migration(&state.db).await.map_err(ApiError::Unavailable)?;
    let expected = crate::MIGRATOR.iter().map(|m| m.version).max();
    if applied == expected {
        Ok(())
    } else {
        Err(ApiError::Unavailable(sqlx::Error::Protocol("migrations are not applied".into())))
    }
}
