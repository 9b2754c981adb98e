//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;

use crate::app::AppState;
use crate::error::ApiError;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "up")))]
pub async fn healthz() -> StatusCode {
    StatusCode::OK
}

/// The database is reachable and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "not ready", body = super::ErrorBody)))]
pub async fn readyz(state: State<AppState>) -> Result<StatusCode, ApiError> {
    crate::app::database_ready(state).await.map(|()| StatusCode::OK)
}
