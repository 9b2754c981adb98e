//! `/v1/sync`: the offline protocol (see the `sync` crate for the rules).

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use fieldvisit_sync::protocol::{PullQuery, PullResponse, PushRequest, PushResponse};
use fieldvisit_sync::{pull, push};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::input::{PushBody, Query};

/// Push a device's queued mutations. Each is applied once, in order; a
/// repeated one answers its stored result; a rejected one is acknowledged
/// with a reason; a gap stops the batch.
#[utoipa::path(post, path = "/v1/sync/push", tag = "sync", request_body = PushRequest, security(("bearer" = [])),
    responses((status = 200, body = PushResponse), (status = 403, description = "another person's client id", body = super::ErrorBody),
        (status = 422, body = super::ErrorBody), (status = 503, description = "the database is gone or refuses for now; re-send the same mutation ids (any a raced commit took answer `duplicate`)", body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(client = %req.client_id, n = req.mutations.len()), err(level = "warn"))]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    PushBody(req): PushBody<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    let actor = caller.sync_actor(&state.db).await?;
    let ctx = push::PushContext {
        rules: state.sync.rules,
        received_at: Utc::now(),
        photo_max_bytes: state.sync.photo_max_bytes,
    };
    let res = push::push(&state.db, &actor, &req, &ctx).await?;
    crate::metrics::pushed(&req, &res);
    Ok(Json(res))
}

/// Pull the changes after `cursor` (none: bootstrap), in pages.
#[utoipa::path(get, path = "/v1/sync/pull", tag = "sync", params(PullQuery), security(("bearer" = [])),
    responses((status = 200, body = PullResponse), (status = 400, description = "tampered or foreign cursor", body = super::ErrorBody),
        (status = 403, description = "another person's client id", body = super::ErrorBody),
        (status = 426, description = "the app is too old to pull", body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(client = %q.client_id), err(level = "warn"))]
pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PullQuery>,
) -> ApiResult<Json<PullResponse>> {
    let actor = caller.sync_actor(&state.db).await?;
    let res = pull::pull(&state.db, &state.sync.cursor_key, &actor, &q, state.sync.pull).await?;
    crate::metrics::pulled(q.cursor.is_none(), &res);
    Ok(Json(res))
}
