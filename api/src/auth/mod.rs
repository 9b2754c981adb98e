//! Authentication: passwords, tokens, and the `Caller` extractor through which
//! every handler learns who is asking. Access rules live in [`policy`].

pub mod password;
pub mod policy;
pub mod tokens;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::error::ApiError;
pub use policy::{Caller, Permission, Resource, Role, Scope};

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
        // The console's session cookie stands in for the header; a change made with
        // it must also prove it comes from the console's own page (CSRF).
        let cookie = crate::console::session::access_cookie(&parts.headers);
        let token = match (bearer, cookie) {
            (Some(t), _) => t.to_owned(),
            (None, Some(t)) => {
                crate::console::session::check_csrf(&parts.method, &parts.headers)?;
                t
            }
            (None, None) => {
                return Err(ApiError::Unauthorized("sign in first: send Authorization: Bearer <access_token>".into()));
            }
        };
        Caller::from_token(state, &token).await
    }
}

impl Caller {
    /// The caller an access token names, as the database says now.
    pub async fn from_token(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let claims = state.keys.verify_access(token.trim())?;
        // Read now, so that logout, a password change and reuse detection end access at once.
        let found = fieldvisit_sync::sign_ins::caller(&state.db, claims.sub, claims.sid)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("this account is no longer active".into()))?;
        if !found.live {
            return Err(ApiError::Unauthorized("this sign-in has ended; sign in again".into()));
        }
        tracing::Span::current().record("user.id", tracing::field::display(claims.sub));
        Ok(Caller { person_id: claims.sub, username: found.username, role: found.role, station_id: found.station_id })
    }
}

/// The client's IP address, for the login throttle: the connection's peer,
/// or, when the server is configured to trust a proxy in front of it, the
/// first address of `X-Forwarded-For`.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .trust_forwarded_for
            .then(|| parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .and_then(|a| a.trim().parse::<std::net::IpAddr>().ok());
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(forwarded.or(peer).map_or_else(|| "unknown".to_owned(), |a| a.to_string())))
    }
}
