//! Sign in, token refresh with rotation, sign out, and `GET /v1/me`. What a
//! sign-in stores and decides (the throttle, the token families) is the
//! domain's ([`fieldvisit_sync::sign_ins`]); here are the HTTP and the crypto.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use fieldvisit_sync::sign_ins::{self, Me, NewToken, Refusal, SignIn, Turn};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::tokens::{new_refresh_token, refresh_hash};
use crate::auth::{Caller, ClientAddress, password};
use crate::error::{ApiError, ApiResult};
use crate::input::Body;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: Me,
}

/// A fresh refresh token for the client, and what the database keeps of it.
fn next_refresh(state: &AppState) -> (String, NewToken) {
    let (token, token_hash) = new_refresh_token();
    (token, NewToken { token_hash, expires_at: Utc::now() + Duration::days(state.keys.refresh_ttl_days) })
}

async fn token_pair(state: &AppState, sign_in: SignIn, refresh_token: String) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        access_token: state.keys.issue_access(sign_in.person, sign_in.family)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.keys.access_ttl_s,
        user: sign_ins::me(&state.db, sign_in.person).await?,
    })
}

/// Sign in with a username and password.
///
/// Repeated failures for one username from one address make that address
/// wait (429 with `Retry-After`), whether or not the username exists: five
/// attempts in 15 minutes, then 30 s, doubling up to 15 minutes. Other
/// addresses are not affected until the username has failed 100 times in
/// 15 minutes from all addresses together.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "wrong username or password", body = super::ErrorBody),
    (status = 429, description = "too many failures; wait", body = super::ErrorBody)))]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddress,
    Body(req): Body<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    sign_in(&state, client.0, req.username, req.password).await.map(Json)
}

/// Checks a username and password (throttled per name and address) and starts a
/// sign-in; the console's login form uses it too.
pub async fn sign_in(state: &AppState, address: String, username: String, secret: String) -> ApiResult<TokenPair> {
    let username = sign_ins::login_name(&username)?;
    if let Turn::Wait { seconds } = sign_ins::take_turn(&state.db, &username, &address).await? {
        tracing::warn!(%address, "sign-in throttled");
        return Err(ApiError::TooManyAttempts(seconds));
    }
    let found = sign_ins::credentials(&state.db, &username).await?;
    // An unknown username costs the same password work as a known one.
    let ok = password::verify(secret, found.as_ref().map(|c| c.password_hash.clone())).await?;
    let Some(person) = found.filter(|_| ok) else {
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    };
    let (refresh, stored) = next_refresh(state);
    let sign_in = sign_ins::start(&state.db, &username, &address, person.id, stored).await?;
    tracing::info!(user.id = %person.id, "signed in");
    token_pair(state, sign_in, refresh).await
}

/// Trade a refresh token for a new pair. The old token stops working; using
/// it again revokes every token of that sign-in.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "unknown, expired, revoked or reused token", body = super::ErrorBody)))]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn refresh(State(state): State<AppState>, Body(req): Body<RefreshRequest>) -> ApiResult<Json<TokenPair>> {
    rotate(&state, &req.refresh_token).await.map(Json)
}

/// Spends a refresh token for a new pair (the console's session renews with it).
pub async fn rotate(state: &AppState, refresh_token: &str) -> ApiResult<TokenPair> {
    let (refresh, stored) = next_refresh(state);
    let sign_in =
        sign_ins::rotate(&state.db, &refresh_hash(refresh_token.trim()), stored).await?.map_err(|refusal| {
            ApiError::Unauthorized(
                match refusal {
                    Refusal::Unknown => "unknown refresh token; sign in again",
                    Refusal::Ended => "this sign-in was ended; sign in again",
                    Refusal::Reused => "this refresh token was already used; the sign-in is ended, sign in again",
                    Refusal::Expired => "the refresh token has expired; sign in again",
                    Refusal::Inactive => "this account is no longer active",
                }
                .into(),
            )
        })?;
    token_pair(state, sign_in, refresh).await
}

/// Sign out: the refresh token and every token of its sign-in stop working.
/// Unknown tokens are accepted too, so a retried sign-out does not fail.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, Body(req): Body<RefreshRequest>) -> ApiResult<StatusCode> {
    end(&state, &req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends the sign-in a refresh token belongs to.
pub async fn end(state: &AppState, refresh_token: &str) -> ApiResult<()> {
    sign_ins::end(&state.db, &refresh_hash(refresh_token.trim())).await?;
    Ok(())
}

/// The signed-in person.
#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me), (status = 401, body = super::ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    Ok(Json(sign_ins::me(&state.db, caller.person_id).await?))
}
