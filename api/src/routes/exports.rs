//! Exports: a monthly issue list (`/v1/issue-lists/{id}/export`) and the
//! ledger with the ledger's filters (`/v1/issues/export`), as XLSX, CSV,
//! GeoJSON or a printable page ([`crate::export`] writes them). The caller
//! sees in an export exactly what the list and ledger routes show them.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::issue_lists;
use fieldvisit_sync::issues::{self, IssueState};
use fieldvisit_sync::month::Month;
use fieldvisit_sync::stations::{self, StationLevel};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use tokio::sync::Semaphore;
use utoipa::IntoParams;
use uuid::Uuid;

use super::issues::IssueFilter;
use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::export::{self, Format, Lang, Row, Sheet};
use crate::input::{Path, Query};

/// Most issues one ledger export holds; narrow the filters beyond it.
pub const LEDGER_MAX_ROWS: usize = 100_000;

/// Ledger rows fetched per query (keyset pages, newest first).
const PAGE: i64 = 1000;

/// Exports written at once: each holds its rows and output in memory and
/// keeps a core busy, so a burst of them waits rather than piles up.
static WRITING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportOptions {
    /// xlsx (default), csv, geojson or html.
    #[param(inline)]
    pub format: Option<Format>,
    /// Headers, title and state words: zh (default) or en.
    #[param(inline)]
    pub lang: Option<Lang>,
    /// Coordinates in the 坐标 column and the GeoJSON: wgs84 (default), gcj02 (AMap) or bd09 (Baidu).
    pub crs: Option<Crs>,
}

/// The ledger's filters (as `GET /v1/issues`, without paging) and the export's options.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LedgerExport {
    pub state: Option<IssueState>,
    pub station_id: Option<Uuid>,
    /// A finding category code.
    pub category: Option<String>,
    pub department_id: Option<Uuid>,
    /// The month raised, `YYYY-MM` (Asia/Shanghai).
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    /// A representative who raised it.
    pub raiser_id: Option<Uuid>,
    /// Only the issues about this place.
    pub place_id: Option<Uuid>,
    /// Only those past their deadline and neither answered nor closed out.
    pub overdue: Option<bool>,
    /// Part of the number, title, description or place name.
    pub q: Option<String>,
    /// xlsx (default), csv, geojson or html.
    #[param(inline)]
    pub format: Option<Format>,
    /// Headers, title and state words: zh (default) or en.
    #[param(inline)]
    pub lang: Option<Lang>,
    /// Coordinates in the 坐标 column and the GeoJSON: wgs84 (default), gcj02 (AMap) or bd09 (Baidu).
    pub crs: Option<Crs>,
}

/// The GeoJSON export, for the document: an RFC 7946 FeatureCollection.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct GeoJsonDocument {
    /// `FeatureCollection`.
    #[schema(rename = "type")]
    pub kind: String,
    /// `wgs84` or the system asked for.
    pub coordinate_system: Option<String>,
    /// One Point Feature per issue.
    #[schema(value_type = Vec<Object>)]
    pub features: Vec<serde_json::Value>,
}

/// One monthly list as a file: 序号 order, carried-over lines marked, titled
/// e.g. 邵原镇人大主席团2026年11月问题清单.
#[utoipa::path(get, path = "/v1/issue-lists/{id}/export", tag = "issue-lists", params(("id" = Uuid, Path), ExportOptions),
    security(("bearer" = [])),
    responses((status = 200, description = "The list as a file; `Content-Disposition` names it (`filename*` in UTF-8)",
            content((super::blobs::RawBytes = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "text/csv"), (GeoJsonDocument = "application/geo+json"), (String = "text/html")),
            headers(("content-disposition" = String, description = "attachment; filename=\"issue-list-2026-11.xlsx\"; filename*=UTF-8''…"))),
        (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn export_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(o): Query<ExportOptions>,
) -> ApiResult<Response> {
    let (format, lang, crs) = (o.format.unwrap_or(Format::Xlsx), o.lang.unwrap_or_default(), o.crs.unwrap_or_default());
    let reach = super::issue_lists::reach(&state, &caller).await?;
    let detail = issue_lists::detail(&state.db, reach.as_deref(), id).await?;
    let month = Month::parse(&detail.list.month).map_err(fieldvisit_sync::SyncError::from)?;
    let township = township(&state).await?;
    let title = list_title(&township, detail.list.station_name.as_deref(), month, lang);
    let rows: Vec<Row> = detail
        .lines
        .iter()
        .map(|l| Row::new(u32::try_from(l.position).unwrap_or(0), l.carried_over, &l.issue, lang, crs))
        .collect();
    drop(detail);
    let ascii = format!("issue-list-{month}");
    answer(format, title, &ascii, rows, lang, crs).await
}

/// The ledger within the caller's scope as a file, with the filters of
/// `GET /v1/issues`, every page, newest raised first (at most 100,000 issues:
/// a 422 `export_too_large` beyond, narrow the filters).
#[utoipa::path(get, path = "/v1/issues/export", tag = "issues", params(LedgerExport), security(("bearer" = [])),
    responses((status = 200, description = "The ledger as a file; `Content-Disposition` names it (`filename*` in UTF-8)",
            content((super::blobs::RawBytes = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "text/csv"), (GeoJsonDocument = "application/geo+json"), (String = "text/html")),
            headers(("content-disposition" = String, description = "attachment; filename=\"issue-ledger-2026-11.xlsx\"; filename*=UTF-8''…"))),
        (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn export_ledger(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LedgerExport>,
) -> ApiResult<Response> {
    let (format, lang, crs) = (q.format.unwrap_or(Format::Xlsx), q.lang.unwrap_or_default(), q.crs.unwrap_or_default());
    let mut filter = IssueFilter {
        state: q.state,
        station_id: q.station_id,
        category: q.category,
        department_id: q.department_id,
        month: q.month,
        raiser_id: q.raiser_id,
        place_id: q.place_id,
        overdue: q.overdue,
        q: q.q,
        limit: None,
        after: None,
    }
    .to_domain()?;
    let scope = caller.scope(&state.db, Resource::Issues).await?;
    let mut rows: Vec<Row> = Vec::new();
    loop {
        let page = issues::list(&state.db, &scope, &filter, PAGE).await?;
        let full = i64::try_from(page.len()).unwrap_or(i64::MAX) == PAGE;
        filter.after = page.last().map(|i| i.id);
        for issue in &page {
            let position = u32::try_from(rows.len() + 1).unwrap_or(u32::MAX);
            rows.push(Row::new(position, false, issue, lang, crs));
        }
        if rows.len() > LEDGER_MAX_ROWS {
            return Err(ApiError::Invalid {
                code: "export_too_large",
                message: format!(
                    "more than {LEDGER_MAX_ROWS} issues match; narrow the filters (month, station_id, state …)"
                ),
                field: None,
            });
        }
        if !full {
            break;
        }
    }
    let township = township(&state).await?;
    let month = filter.month;
    let title = ledger_title(&township, month, lang);
    let ascii = format!("issue-ledger-{}", month.unwrap_or_else(|| Month::of(Utc::now())));
    answer(format, title, &ascii, rows, lang, crs).await
}

/// The township's name: the configured one, else the root station's.
pub(crate) async fn township(state: &AppState) -> ApiResult<String> {
    if let Some(name) = &state.township_name {
        return Ok(name.to_string());
    }
    let filter = stations::Filter { level: Some(StationLevel::Central), ..Default::default() };
    let roots = stations::list(&state.db, &filter, 100).await?;
    Ok(roots.into_iter().find(|s| s.parent_id.is_none()).map(|s| s.name).unwrap_or_default())
}

fn month_words(month: Month, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月", month.year(), month.month()),
        Lang::En => {
            let name =
                u8::try_from(month.month()).ok().and_then(|m| chrono::Month::try_from(m).ok()).map_or("", |m| m.name());
            format!("{name} {}", month.year())
        }
    }
}

/// 邵原镇人大主席团2026年11月问题清单 (the presidium's, the whole township),
/// 邵原镇东阳联络站2026年11月问题清单 (a station's).
pub fn list_title(township: &str, station: Option<&str>, month: Month, lang: Lang) -> String {
    let when = month_words(month, lang);
    match (lang, station) {
        (Lang::Zh, None) => format!("{township}人大主席团{when}问题清单"),
        (Lang::Zh, Some(s)) => format!("{township}{s}{when}问题清单"),
        (Lang::En, None) => format!("{township} People's Congress Presidium: issue list, {when}"),
        (Lang::En, Some(s)) => format!("{township} {s}: issue list, {when}"),
    }
}

/// 邵原镇问题台账, or 邵原镇2026年11月问题台账 for one month raised.
pub fn ledger_title(township: &str, month: Option<Month>, lang: Lang) -> String {
    match (lang, month) {
        (Lang::Zh, None) => format!("{township}问题台账"),
        (Lang::Zh, Some(m)) => format!("{township}{}问题台账", month_words(m, lang)),
        (Lang::En, None) => format!("{township} issue ledger"),
        (Lang::En, Some(m)) => format!("{township} issue ledger, {}", month_words(m, lang)),
    }
}

/// What `filename*` may leave unescaped (RFC 5987 attr-char, conservatively).
const FILENAME_CHARS: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

/// `attachment` (inline for the printable page) with an ASCII `filename` and
/// the title as `filename*` (RFC 6266), so a browser saves the Chinese name.
fn disposition(format: Format, title: &str, ascii: &str) -> String {
    file_disposition(format == Format::Html, format.extension(), title, ascii)
}

/// `Content-Disposition` naming a file `ascii.ext` and, in UTF-8, `title.ext`;
/// `inline` for what a browser shows (a page, an image), else an attachment.
pub(crate) fn file_disposition(inline: bool, ext: &str, title: &str, ascii: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let title = title.replace(['/', '\\', '"', ':', '\n', '\r'], "_");
    format!(
        "{kind}; filename=\"{ascii}.{ext}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&format!("{title}.{ext}"), FILENAME_CHARS)
    )
}

async fn answer(
    format: Format,
    title: String,
    ascii: &str,
    rows: Vec<Row>,
    lang: Lang,
    crs: Crs,
) -> ApiResult<Response> {
    let disposition = disposition(format, &title, ascii);
    let _permit = WRITING.acquire().await.map_err(|e| ApiError::Internal(e.into()))?;
    let bytes =
        tokio::task::spawn_blocking(move || export::write(format, &Sheet { title: &title, lang, crs, rows: &rows }))
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
    // Issues change: an export is of the moment it was asked for.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_as_the_township_writes_them() {
        let m = Month::parse("2026-11").unwrap();
        assert_eq!(list_title("邵原镇", None, m, Lang::Zh), "邵原镇人大主席团2026年11月问题清单");
        assert_eq!(list_title("邵原镇", Some("东阳联络站"), m, Lang::Zh), "邵原镇东阳联络站2026年11月问题清单");
        assert_eq!(
            list_title("邵原镇", None, m, Lang::En),
            "邵原镇 People's Congress Presidium: issue list, November 2026"
        );
        assert_eq!(ledger_title("邵原镇", Some(m), Lang::Zh), "邵原镇2026年11月问题台账");
    }

    #[test]
    fn disposition_names_the_file_in_both_forms() {
        let d = disposition(Format::Xlsx, "邵原镇问题清单", "issue-list-2026-11");
        assert!(d.starts_with("attachment; filename=\"issue-list-2026-11.xlsx\"; filename*=UTF-8''%E9%82%B5"), "{d}");
        assert!(d.ends_with("%E5%8D%95.xlsx"), "{d}");
    }
}
