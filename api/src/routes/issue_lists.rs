//! `/v1/issue-lists`: the monthly issue list (问题清单). Station staff draft
//! their station's, the presidium the township's; issuing freezes a list and
//! forwards its new issues. The rules are [`fieldvisit_sync::issue_lists`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use fieldvisit_sync::command;
use fieldvisit_sync::issue_lists::{self, IssueList, ListDetail};
use fieldvisit_sync::month::Month;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Permission, Resource};
use crate::error::{ApiError, ApiResult};
use crate::input::{Body, Path, Query};

/// The stations whose lists the caller reads and acts on (`None`: all).
pub async fn reach(state: &AppState, caller: &Caller) -> ApiResult<Option<Vec<Uuid>>> {
    let scope = caller.scope(&state.db, Resource::Issues).await?;
    if scope.person.is_some() {
        // Representatives read their own issues, not the lists.
        return Ok(Some(Vec::new()));
    }
    Ok(scope.stations)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListFilter {
    /// `YYYY-MM` (Asia/Shanghai).
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssueLists {
    pub items: Vec<IssueList>,
}

/// The monthly lists the caller may see, newest month first.
#[utoipa::path(get, path = "/v1/issue-lists", tag = "issue-lists", params(ListFilter), security(("bearer" = [])),
    responses((status = 200, body = IssueLists), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<ListFilter>,
) -> ApiResult<Json<IssueLists>> {
    let month = f.month.as_deref().map(Month::parse).transpose().map_err(fieldvisit_sync::SyncError::from)?;
    let reach = reach(&state, &caller).await?;
    Ok(Json(IssueLists { items: issue_lists::list(&state.db, reach.as_deref(), month).await? }))
}

/// One list with its lines (序号, carried over, the issue).
#[utoipa::path(get, path = "/v1/issue-lists/{id}", tag = "issue-lists", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ListDetail), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<ListDetail>> {
    let reach = reach(&state, &caller).await?;
    Ok(Json(issue_lists::detail(&state.db, reach.as_deref(), id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewList {
    /// `YYYY-MM` (Asia/Shanghai).
    pub month: String,
    /// The station whose subtree it covers; absent: the whole township (the presidium's list).
    pub station_id: Option<Uuid>,
}

/// Draft the list of a month: the accepted issues not yet forwarded, then the
/// still-open forwarded ones of earlier months (carried over), numbered 1…n.
#[utoipa::path(post, path = "/v1/issue-lists", tag = "issue-lists", request_body = NewList, security(("bearer" = [])),
    responses((status = 201, body = ListDetail), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(n): Body<NewList>,
) -> ApiResult<(StatusCode, Json<ListDetail>)> {
    caller.require(Permission::ManageIssues)?;
    let month = Month::parse(&n.month).map_err(|e| ApiError::invalid("month", e.to_string()))?;
    let reach = reach(&state, &caller).await?;
    let id = Uuid::now_v7();
    let draft = issue_lists::Draft { id, month, station_id: n.station_id, reach: reach.clone() };
    command::execute(&state.db, caller.person_id, draft).await?;
    Ok((StatusCode::CREATED, Json(issue_lists::detail(&state.db, reach.as_deref(), id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListChange {
    /// The version you read; a stale one is a 409 `version_conflict`.
    pub version: Option<i64>,
    /// Every line, in order: add, remove and reorder by sending the whole list.
    pub issue_ids: Vec<Uuid>,
}

/// Edit a draft (an issued list is a 409 `list_issued`).
#[utoipa::path(patch, path = "/v1/issue-lists/{id}", tag = "issue-lists", params(("id" = Uuid, Path)), request_body = ListChange,
    security(("bearer" = [])),
    responses((status = 200, body = ListDetail), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(c): Body<ListChange>,
) -> ApiResult<Json<ListDetail>> {
    caller.require(Permission::ManageIssues)?;
    if c.issue_ids.len() > 10_000 {
        return Err(ApiError::invalid("issue_ids", "a list holds at most 10,000 issues"));
    }
    let reach = reach(&state, &caller).await?;
    let edit = issue_lists::Edit { id, version: c.version, issue_ids: c.issue_ids, reach: reach.clone() };
    command::execute(&state.db, caller.person_id, edit).await?;
    Ok(Json(issue_lists::detail(&state.db, reach.as_deref(), id).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub version: Option<i64>,
}

/// Issue a draft: it is frozen from now on, and its new issues become `forwarded`.
#[utoipa::path(post, path = "/v1/issue-lists/{id}/issue", tag = "issue-lists", params(("id" = Uuid, Path)),
    request_body(content = IssueRequest, description = "optional"), security(("bearer" = [])),
    responses((status = 200, body = ListDetail), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)))]
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ListDetail>> {
    caller.require(Permission::ManageIssues)?;
    // The body is optional: no body, or `{"version": n}`.
    let version = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        crate::input::parse_json::<IssueRequest>(&body)?.version
    };
    let reach = reach(&state, &caller).await?;
    let issue = issue_lists::IssueIt { id, version, reach: reach.clone(), at: Utc::now() };
    command::execute(&state.db, caller.person_id, issue).await?;
    Ok(Json(issue_lists::detail(&state.db, reach.as_deref(), id).await?))
}
