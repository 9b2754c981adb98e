//! `/v1/findings`: what visits found, within the caller's scope. Devices
//! create and edit findings through sync (`finding.create.v1`, `.update.v1`).

use axum::Json;
use axum::extract::State;
use fieldvisit_sync::findings::{self, Finding};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::auth::{Caller, Resource};
use crate::error::ApiResult;
use crate::input::{Paging, Query};

#[derive(Debug, Deserialize, IntoParams)]
pub struct FindingFilter {
    pub place_id: Option<Uuid>,
    pub station_id: Option<Uuid>,
    pub category: Option<String>,
    /// `YYYY-MM` (Asia/Shanghai) of creation.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
    pub author_id: Option<Uuid>,
    /// `false`: only findings not yet taken into an issue (the station's inbox); `true`: only those that are.
    pub in_issue: Option<bool>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

/// List findings within the caller's scope.
#[utoipa::path(get, path = "/v1/findings", tag = "findings", params(FindingFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Finding>), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<FindingFilter>,
) -> ApiResult<Json<Page<Finding>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let month = super::visits::month_param(f.month.as_deref())?;
    let scope = caller.scope(&state.db, Resource::Findings).await?;
    let filter = findings::Filter {
        place_id: f.place_id,
        station_id: f.station_id,
        category: f.category,
        month,
        author_id: f.author_id,
        in_issue: f.in_issue,
        after: f.after,
    };
    let rows = findings::list(&state.db, &scope, &filter, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |f| f.id)))
}
