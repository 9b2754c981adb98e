//! `/v1/assignment-proposals`: the nearby-assignment rule (就近就便) for
//! planners. A proposal is the rule's answer, kept for review (assignments
//! with distances, unserved places and why, loads against capacities, the
//! difference to what is in force, the solver's figures and each place's
//! explanation), and applied in one transaction. The rule is
//! [`fieldvisit_sync::assignments::proposals`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldvisit_sync::assignments::proposals::{self, Diff, Explanation, Params, Proposal};
use fieldvisit_sync::command;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ApiResult};
use crate::input::{Body, Path};

/// Make a proposal (planners): the rule run on the active representatives and
/// places, with the assignments planners locked kept as they are.
#[utoipa::path(post, path = "/v1/assignment-proposals", operation_id = "assignments_propose", tag = "assignments", request_body = Params, security(("bearer" = [])),
    responses((status = 201, body = Proposal), (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(params): Body<Params>,
) -> ApiResult<(StatusCode, Json<Proposal>)> {
    caller.require(Permission::EditAssignments)?;
    let id = propose(&state.db, caller.person_id, params).await?;
    Ok((StatusCode::CREATED, Json(proposals::get(&state.db, id).await?)))
}

/// Reads the inputs, runs the solver off the async workers, keeps the answer; the
/// command line uses it too.
pub async fn propose(db: &sqlx::PgPool, by: Uuid, params: Params) -> ApiResult<Uuid> {
    let inputs = proposals::inputs(db, params).await?;
    let (inputs, body) = tokio::task::spawn_blocking(move || {
        let body = proposals::propose(&inputs);
        (inputs, body)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let id = Uuid::now_v7();
    command::execute(db, by, proposals::Keep::new(id, &inputs, body?)).await?;
    Ok(id)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecentQuery {
    /// How many, newest first (1 to 100; default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The newest proposals (planners), with what each would change.
#[utoipa::path(get, path = "/v1/assignment-proposals", operation_id = "assignments_list_proposals", tag = "assignments",
    params(RecentQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<proposals::Summary>), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody)))]
pub async fn recent(
    State(state): State<AppState>,
    caller: Caller,
    crate::input::Query(q): crate::input::Query<RecentQuery>,
) -> ApiResult<Json<Vec<proposals::Summary>>> {
    caller.require(Permission::EditAssignments)?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(
            fieldvisit_sync::SyncError::BadParameter { field: "limit", message: "limit is 1 to 100".into() }.into()
        );
    }
    Ok(Json(proposals::recent(&state.db, limit).await?))
}

/// One proposal, with whether the assignments have changed since (`stale`).
#[utoipa::path(get, path = "/v1/assignment-proposals/{id}", operation_id = "assignments_get_proposal", tag = "assignments", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Proposal), (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)))]
pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Proposal>> {
    caller.require(Permission::EditAssignments)?;
    Ok(Json(proposals::get(&state.db, id).await?))
}

/// Why a place went to whom in a proposal, and who came next, at what distance.
#[utoipa::path(get, path = "/v1/assignment-proposals/{id}/places/{place_id}", operation_id = "assignments_explain_place", tag = "assignments",
    params(("id" = Uuid, Path), ("place_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Explanation), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn place(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, place_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Json<Explanation>> {
    caller.require(Permission::EditAssignments)?;
    let mut proposal = proposals::get(&state.db, id).await?;
    proposal.body.explanations.remove(&place_id).map(Json).ok_or(ApiError::NotFound("place"))
}

/// Apply a proposal in one transaction: removed assignments end today (with
/// their history), added ones open with `source = rule`. A proposal made
/// before the assignments changed is stale: 409 `stale_proposal`.
#[utoipa::path(post, path = "/v1/assignment-proposals/{id}/apply", operation_id = "assignments_apply_proposal", tag = "assignments", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Diff), (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn apply(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Diff>> {
    caller.require(Permission::EditAssignments)?;
    Ok(Json(command::execute(&state.db, caller.person_id, proposals::Apply { id }).await?))
}
