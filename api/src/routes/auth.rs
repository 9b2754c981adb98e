//! Sign in, token refresh with rotation, sign out, and `GET /v1/me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::tokens::{RefreshRow, new_refresh_token, refresh_hash};
use crate::auth::{Caller, ClientAddress, Role, password};
use crate::error::{ApiError, ApiResult};
use crate::input::Body;

/// Failures within this window count towards slowing a sign-in down.
const FAILURE_WINDOW_MIN: i32 = 15;
/// Attempts one address has for one username before it must wait: the fifth
/// failure blocks, so no sixth password is checked.
const FREE_FAILURES: i32 = 5;
/// Failures of one username from all addresses together before every
/// address must wait: a guess spread over many addresses stops here, while a
/// stranger at one address cannot lock the account's owner out.
const USERNAME_CEILING: i32 = 100;
/// How long the ceiling makes everyone wait, in seconds.
const CEILING_WAIT_S: u64 = 60;

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

/// The signed-in person.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Me {
    pub id: Uuid,
    pub name: String,
    pub username: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
    pub station_name: Option<String>,
    pub phone: Option<String>,
}

async fn load_me(state: &AppState, id: Uuid) -> ApiResult<Me> {
    sqlx::query_as(
        "SELECT p.id, p.name, p.username, p.role, p.station_id, s.name AS station_name, p.phone
         FROM people p LEFT JOIN stations s ON s.id = p.station_id WHERE p.id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(ApiError::NotFound("person"))
}

async fn issue_pair(state: &AppState, tx: &mut sqlx::PgConnection, person: Uuid, family: Uuid) -> ApiResult<(String, String)> {
    let (refresh, hash) = new_refresh_token();
    sqlx::query("INSERT INTO refresh_tokens (id, family_id, person_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(Uuid::now_v7())
        .bind(family)
        .bind(person)
        .bind(hash)
        .bind(Utc::now() + Duration::days(state.keys.refresh_ttl_days))
        .execute(&mut *tx)
        .await?;
    Ok((state.keys.issue_access(person, family)?, refresh))
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
pub async fn login(State(state): State<AppState>, client: ClientAddress, Body(req): Body<LoginRequest>) -> ApiResult<Json<TokenPair>> {
    let username = req.username.trim().to_lowercase();
    if username.is_empty() || username.chars().count() > 64 {
        return Err(ApiError::invalid("username", "username must have 1 to 64 characters"));
    }
    if username.chars().any(char::is_control) {
        return Err(ApiError::invalid("username", "username contains control characters"));
    }
    // Reserve the attempt before checking the password, atomically: parallel
    // guesses each take a turn, and once the free ones are used up the rest
    // are refused here without any password work.
    let address = client.0;
    let turn: Option<i32> = sqlx::query_scalar(include_str!("login_attempt.sql"))
        .bind(&username)
        .bind(&address)
        .bind(FAILURE_WINDOW_MIN)
        .bind(FREE_FAILURES)
        .bind(USERNAME_CEILING)
        .fetch_optional(&state.db)
        .await?;
    if turn.is_none() {
        let wait: Option<f64> = sqlx::query_scalar(
            "SELECT EXTRACT(EPOCH FROM blocked_until - now())::float8 FROM login_throttle
             WHERE username = $1 AND address = $2 AND blocked_until > now()",
        )
        .bind(&username)
        .bind(&address)
        .fetch_optional(&state.db)
        .await?
        .flatten();
        tracing::warn!(%address, "sign-in throttled");
        return Err(ApiError::TooManyAttempts(wait.map_or(CEILING_WAIT_S, seconds)));
    }

    let person: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, password_hash FROM people WHERE username = $1 AND active")
            .bind(&username)
            .fetch_optional(&state.db)
            .await?;
    let stored = person.as_ref().map(|(_, h)| h.clone());
    let ok = password::verify(req.password, stored).await?;
    let Some((person_id, _)) = person.filter(|_| ok) else {
        return Err(ApiError::Unauthorized("wrong username or password".into()));
    };

    let mut tx = state.db.begin().await?;
    // A success clears the count; stale counts of other names go too, so
    // made-up usernames do not pile up.
    sqlx::query(
        "DELETE FROM login_throttle WHERE (username = $1 AND address = $2) OR last_failure_at < now() - interval '1 day'",
    )
    .bind(&username)
    .bind(&address)
    .execute(&mut *tx)
        .await?;
    let (access, refresh) = issue_pair(&state, &mut tx, person_id, Uuid::now_v7()).await?;
    tx.commit().await?;
    tracing::info!(user.id = %person_id, "signed in");
    Ok(Json(TokenPair {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: state.keys.access_ttl_s,
        user: load_me(&state, person_id).await?,
    }))
}

fn seconds(wait: f64) -> u64 {
    // Bounded by the 15-minute cap, so the cast cannot overflow.
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0 < wait <= 900")]
    let s = wait.ceil().max(1.0) as u64;
    s
}

/// Trade a refresh token for a new pair. The old token stops working; using
/// it again revokes every token of that sign-in.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenPair),
    (status = 401, description = "unknown, expired, revoked or reused token", body = super::ErrorBody)))]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn refresh(State(state): State<AppState>, Body(req): Body<RefreshRequest>) -> ApiResult<Json<TokenPair>> {
    let mut tx = state.db.begin().await?;
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT id, family_id, person_id, expires_at, used_at, revoked_at FROM refresh_tokens
         WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(refresh_hash(req.refresh_token.trim()))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Err(ApiError::Unauthorized("unknown refresh token; sign in again".into())) };
    if row.revoked_at.is_some() {
        return Err(ApiError::Unauthorized("this sign-in was ended; sign in again".into()));
    }
    if row.used_at.is_some() {
        // Two holders of one token: the owner and someone else. End the sign-in for both.
        sqlx::query("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL")
            .bind(row.family_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::warn!(user.id = %row.person_id, family = %row.family_id, "refresh token reused; family revoked");
        return Err(ApiError::Unauthorized("this refresh token was already used; the sign-in is ended, sign in again".into()));
    }
    if row.expires_at <= Utc::now() {
        return Err(ApiError::Unauthorized("the refresh token has expired; sign in again".into()));
    }
    let active: bool = sqlx::query_scalar("SELECT active FROM people WHERE id = $1")
        .bind(row.person_id)
        .fetch_one(&mut *tx)
        .await?;
    if !active {
        return Err(ApiError::Unauthorized("this account is no longer active".into()));
    }
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1").bind(row.id).execute(&mut *tx).await?;
    let (access, refresh) = issue_pair(&state, &mut tx, row.person_id, row.family_id).await?;
    tx.commit().await?;
    Ok(Json(TokenPair {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: state.keys.access_ttl_s,
        user: load_me(&state, row.person_id).await?,
    }))
}

/// Sign out: the refresh token and every token of its sign-in stop working.
/// Unknown tokens are accepted too, so a retried sign-out does not fail.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, Body(req): Body<RefreshRequest>) -> ApiResult<StatusCode> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL
         AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
    )
    .bind(refresh_hash(req.refresh_token.trim()))
    .execute(&state.db)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in person.
#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = Me), (status = 401, body = super::ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    load_me(&state, caller.person_id).await.map(Json)
}
