//! Authentication: passwords, tokens, and the `Caller` extractor through which
//! every handler learns who is asking. Access rules live in [`policy`].

pub mod password;
pub mod policy;
pub mod tokens;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiError;
pub use policy::{Caller, Permission, Resource, Role, Scope};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(|| ApiError::Unauthorized("sign in first: send Authorization: Bearer <access_token>".into()))?;
        let claims = state.keys.verify_access(token.trim())?;
        let row: Option<(String, Role, Option<Uuid>)> =
            sqlx::query_as("SELECT username, role, station_id FROM people WHERE id = $1 AND active")
                .bind(claims.sub)
                .fetch_optional(&state.db)
                .await?;
        let (username, role, station_id) =
            row.ok_or_else(|| ApiError::Unauthorized("this account is no longer active".into()))?;
        tracing::Span::current().record("user.id", tracing::field::display(claims.sub));
        Ok(Caller { person_id: claims.sub, username, role, station_id })
    }
}
