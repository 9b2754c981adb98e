//! `GET /v1/coverage/report`: the printable monthly coverage report (the map
//! with its legend, the totals per station, the overdue list) as a page, an
//! SVG or a PNG, within the caller's reach of places: every signed-in role
//! reads it, representatives for their station, station staff for their
//! subtree ([`crate::report`] draws it).

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use fieldvisit_sync::coverage_report;
use serde::Deserialize;
use tokio::sync::Semaphore;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::input::Query;
use crate::report::{self, Catalogue, Lang, Page, ReportFormat};

/// Reports drawn at once: a PNG keeps a core busy for a while and holds a
/// 14 MB pixmap, so a burst of them waits rather than piles up.
static DRAWING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// `YYYY-MM`; default: this month in Asia/Shanghai.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    /// A station within the caller's scope: the report of its subtree.
    pub station_id: Option<Uuid>,
    /// html (default), svg or png.
    #[param(inline)]
    pub format: Option<ReportFormat>,
    /// zh (default) or en.
    #[param(inline)]
    pub lang: Option<Lang>,
}

/// The month's coverage map, its legend, the totals per station (coverage
/// rate = visited ÷ assigned places) and the overdue places, for meeting
/// papers (A4 landscape). Statuses are those of `place_coverage`, as on the
/// coverage map; times are Beijing time.
#[utoipa::path(get, path = "/v1/coverage/report", operation_id = "coverage_report", tag = "coverage",
    params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "The report; `Content-Disposition` names it (`filename*` in UTF-8)",
            content((String = "text/html"), (String = "image/svg+xml"), (super::blobs::RawBytes = "image/png")),
            headers(("content-disposition" = String, description = "inline; filename=\"coverage-2026-11.png\"; filename*=UTF-8''…"))),
        (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let month = super::visits::month_param(q.month.as_deref())?;
    let (format, lang) = (q.format.unwrap_or_default(), q.lang.unwrap_or_default());
    let scope = caller.scope(&state.db, Resource::Places).await?;
    let data = coverage_report::report(&state.db, month, &scope, q.station_id, report::svg::MAP_FRAME).await?;
    let township = super::exports::township(&state).await?;
    // Named after the station asked for, or else, for a caller whose reach is
    // their station's tree, after theirs.
    let named = q.station_id.or(scope.stations.as_ref().and(caller.station_id));
    let station_name = named.and_then(|id| data.stations.iter().find(|s| s.id == id)).map(|s| s.name.as_str());
    let title = Catalogue::of(lang).title(&township, station_name, data.month);
    let disposition =
        super::exports::file_disposition(true, format.extension(), &title, &format!("coverage-{}", data.month));

    let _permit = DRAWING.acquire().await.map_err(|e| ApiError::Internal(e.into()))?;
    let bytes = tokio::task::spawn_blocking(move || {
        let page = Page { report: &data, title, generated: Utc::now(), lang };
        match format {
            ReportFormat::Html => Ok(report::html::write(&page)?.into_bytes()),
            ReportFormat::Svg => Ok(report::svg::write(&page).into_bytes()),
            ReportFormat::Png => report::png::render(&report::svg::write(&page), report::png::system_fonts()),
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)?;

    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| ApiError::Internal(e.into()))?,
    );
    // Visits arrive all month: a report is of the moment it was asked for.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
