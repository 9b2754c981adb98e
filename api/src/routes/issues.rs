//! `/v1/issues`: the ledger (台账). Station staff (within their subtree) and
//! the presidium create issues from findings and take them through the
//! workflow; raisers see theirs and confirm or dispute the answer. The rules
//! are the domain's ([`fieldvisit_sync::issues`]); here the HTTP shapes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use fieldvisit_geodata::crs::Crs;
use fieldvisit_sync::command;
use fieldvisit_sync::issues::commands::{self, Location, StepArgs, Who};
use fieldvisit_sync::issues::workflow::Action;
use fieldvisit_sync::issues::{self, Issue, IssueDetail, IssueState, Similar, SimilarTo};
use fieldvisit_sync::month::Month;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Page;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Resource};
use crate::error::{ApiError, ApiResult};
use crate::geo_input::{self, Position, double_option};
use crate::input::{Body, Paging, Path, Query, optional_text};

/// Longest title and description of an issue.
const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 8000;
const NOTE_MAX: usize = 4000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct IssueFilter {
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
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_after` of the previous page.
    pub after: Option<Uuid>,
}

impl IssueFilter {
    /// The domain's filter; shared with the ledger export.
    pub fn to_domain(&self) -> ApiResult<issues::Filter> {
        Ok(issues::Filter {
            state: self.state,
            station_id: self.station_id,
            category: optional_text("category", self.category.as_deref(), 40)?,
            department_id: self.department_id,
            month: self.month.as_deref().map(Month::parse).transpose().map_err(fieldvisit_sync::SyncError::from)?,
            raiser_id: self.raiser_id,
            place_id: self.place_id,
            overdue: self.overdue.unwrap_or(false),
            q: optional_text("q", self.q.as_deref(), 200)?,
            after: self.after,
        })
    }
}

/// The ledger within the caller's scope, newest raised first.
#[utoipa::path(get, path = "/v1/issues", tag = "issues", params(IssueFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Issue>), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(f): Query<IssueFilter>,
) -> ApiResult<Json<Page<Issue>>> {
    let limit = Paging { limit: f.limit, after: f.after }.limit()?;
    let scope = caller.scope(&state.db, Resource::Issues).await?;
    let rows = issues::list(&state.db, &scope, &f.to_domain()?, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |i| i.id)))
}

/// An issue as its reader sees it: the detail, and the steps they may take now.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueView {
    #[serde(flatten)]
    pub detail: IssueDetail,
    /// The workflow's steps this caller may take now (`POST /v1/issues/{id}/actions`).
    pub allowed: Vec<Action>,
}

/// One issue with its history, linked findings (and their photos), merges and lists,
/// and the steps the caller may take.
#[utoipa::path(get, path = "/v1/issues/{id}", tag = "issues", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = IssueView), (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<IssueView>> {
    let who = who(&state, &caller).await?;
    let detail = issues::detail(&state.db, &who.scope, id).await?;
    let allowed = who.allowed(&detail.issue);
    Ok(Json(IssueView { detail, allowed }))
}

async fn who(state: &AppState, caller: &Caller) -> ApiResult<Who> {
    Ok(Who { person_id: caller.person_id, role: caller.role, scope: caller.scope(&state.db, Resource::Issues).await? })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssue {
    /// The findings taken into it (they can then no longer be edited by their authors).
    #[serde(default)]
    pub finding_ids: Vec<Uuid>,
    /// Where it is, when not (only) from the findings.
    pub place_id: Option<Uuid>,
    /// A point, in `crs`.
    pub position: Option<Position>,
    /// The coordinate system of `position`: wgs84 (default), gcj02 or bd09.
    #[serde(default)]
    pub crs: Crs,
    /// The station, for an issue at a position only (else the place's).
    pub station_id: Option<Uuid>,
    /// Default: the first finding's description, shortened.
    pub title: Option<String>,
    /// Default: the findings' descriptions.
    pub description: Option<String>,
    /// A finding category code; default: the first finding's.
    pub category: Option<String>,
    /// The representatives who raised it; default: the findings' authors.
    pub raiser_ids: Option<Vec<Uuid>>,
    pub department_id: Option<Uuid>,
    /// 办理时限, `YYYY-MM-DD`.
    pub deadline: Option<NaiveDate>,
}

/// A new issue and the open issues like it (candidates to merge into).
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueCreated {
    pub issue: IssueDetail,
    pub similar: Vec<Similar>,
}

/// Create an issue (station staff within their subtree, the presidium).
#[utoipa::path(post, path = "/v1/issues", tag = "issues", request_body = NewIssue, security(("bearer" = [])),
    responses((status = 201, body = IssueCreated), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(n): Body<NewIssue>,
) -> ApiResult<(StatusCode, Json<IssueCreated>)> {
    caller.require(Permission::ManageIssues)?;
    if n.finding_ids.len() > 100 {
        return Err(ApiError::invalid("finding_ids", "at most 100 findings make one issue"));
    }
    let who = who(&state, &caller).await?;
    let scope = who.scope.clone();
    let id = Uuid::now_v7();
    let create = commands::Create {
        id,
        finding_ids: n.finding_ids,
        location: Location {
            place_id: n.place_id,
            position: n.position.map(|p| geo_input::point_in("position", p, n.crs)).transpose()?,
            station_id: n.station_id,
        },
        title: optional_text("title", n.title.as_deref(), TITLE_MAX)?,
        description: optional_text("description", n.description.as_deref(), DESCRIPTION_MAX)?,
        category: optional_text("category", n.category.as_deref(), 40)?,
        raiser_ids: n.raiser_ids,
        department_id: n.department_id,
        deadline: n.deadline,
        who,
        at: Utc::now(),
    };
    command::execute(&state.db, caller.person_id, create).await?;
    let issue = issues::detail(&state.db, &scope, id).await?;
    let similar = issues::similar(&state.db, &scope, &scope, SimilarTo::Issue(id)).await?;
    Ok((StatusCode::CREATED, Json(IssueCreated { issue, similar })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueChange {
    /// The version you read; a stale one is a 409 `version_conflict`.
    pub version: Option<i64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub department_id: Option<Option<Uuid>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub deadline: Option<Option<NaiveDate>>,
    pub place_id: Option<Uuid>,
    pub position: Option<Position>,
    #[serde(default)]
    pub crs: Crs,
    pub raiser_ids: Option<Vec<Uuid>>,
}

/// Edit an open issue (station staff, the presidium); every field changed is kept in its history.
#[utoipa::path(patch, path = "/v1/issues/{id}", tag = "issues", params(("id" = Uuid, Path)), request_body = IssueChange,
    security(("bearer" = [])),
    responses((status = 200, body = IssueDetail), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(c): Body<IssueChange>,
) -> ApiResult<Json<IssueDetail>> {
    caller.require(Permission::ManageIssues)?;
    let who = who(&state, &caller).await?;
    let scope = who.scope.clone();
    let required = |field: &str, v: Option<&str>, max| -> ApiResult<Option<String>> {
        match v {
            Some(t) if t.trim().is_empty() => Err(ApiError::invalid(field, format!("{field} must not be empty"))),
            other => optional_text(field, other, max),
        }
    };
    let update = commands::Update {
        id,
        version: c.version,
        title: required("title", c.title.as_deref(), TITLE_MAX)?,
        description: required("description", c.description.as_deref(), DESCRIPTION_MAX)?,
        category: required("category", c.category.as_deref(), 40)?,
        department_id: c.department_id,
        deadline: c.deadline,
        place_id: c.place_id,
        position: c.position.map(|p| geo_input::point_in("position", p, c.crs)).transpose()?,
        raiser_ids: c.raiser_ids,
        who: Some(who),
        at: Some(Utc::now()),
    };
    command::execute(&state.db, caller.person_id, update).await?;
    Ok(Json(issues::detail(&state.db, &scope, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: Action,
    /// The reason (return, reject), the department's reply (answer), the
    /// objection (dispute), the comment; optional for the other steps.
    pub note: Option<String>,
    /// confirm: satisfaction from 1 to 5.
    pub rating: Option<i16>,
    /// answer: the date of the reply (default: today, Asia/Shanghai).
    pub answered_on: Option<NaiveDate>,
    /// merge: the open issue that carries on.
    pub into: Option<Uuid>,
    /// The version you read; a stale one is a 409 `version_conflict`.
    pub version: Option<i64>,
}

/// Take a workflow step. A step the state or your standing does not allow is
/// a 409 `illegal_transition` whose `details.allowed` lists those that are.
#[utoipa::path(post, path = "/v1/issues/{id}/actions", tag = "issues", params(("id" = Uuid, Path)), request_body = ActionRequest,
    security(("bearer" = [])),
    responses((status = 200, body = IssueDetail), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Body(a): Body<ActionRequest>,
) -> ApiResult<Json<IssueDetail>> {
    let who = who(&state, &caller).await?;
    let scope = who.scope.clone();
    let act = commands::Act {
        issue_id: id,
        action: a.action,
        args: StepArgs {
            note: optional_text("note", a.note.as_deref(), NOTE_MAX)?,
            rating: a.rating,
            answered_on: a.answered_on,
            into: a.into,
        },
        version: a.version,
        who,
        at: Utc::now(),
    };
    command::execute(&state.db, caller.person_id, act).await?;
    Ok(Json(issues::detail(&state.db, &scope, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SimilarQuery {
    /// Issues like this finding…
    pub finding_id: Option<Uuid>,
    /// …or like this issue (exactly one of the two).
    pub issue_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimilarList {
    pub items: Vec<Similar>,
}

/// Open issues of the same category at the same place or within 500 m
/// (geodesic), nearest first: merge into one rather than raise it twice.
#[utoipa::path(get, path = "/v1/issues/similar", tag = "issues", params(SimilarQuery), security(("bearer" = [])),
    responses((status = 200, body = SimilarList), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn similar(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SimilarQuery>,
) -> ApiResult<Json<SimilarList>> {
    let to = match (q.finding_id, q.issue_id) {
        (Some(f), None) => SimilarTo::Finding(f),
        (None, Some(i)) => SimilarTo::Issue(i),
        _ => {
            return Err(ApiError::Invalid {
                code: "invalid_parameter",
                message: "give exactly one of finding_id and issue_id".into(),
                field: Some("finding_id".into()),
            });
        }
    };
    let of = match to {
        SimilarTo::Finding(_) => caller.scope(&state.db, Resource::Findings).await?,
        SimilarTo::Issue(_) => caller.scope(&state.db, Resource::Issues).await?,
    };
    let among = caller.scope(&state.db, Resource::Issues).await?;
    Ok(Json(SimilarList { items: issues::similar(&state.db, &of, &among, to).await? }))
}
