//! Sign-ins: the login throttle, the refresh-token families (one per
//! sign-in, rotated on every use, ended whole when a used token comes back),
//! and the per-request look-up of the caller. The API does the crypto (JWTs,
//! argon2, random tokens and their hashes); what is stored and decided about
//! a sign-in is here.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::people::Role;

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

/// The username a sign-in names, as people are looked up by it.
pub fn login_name(raw: &str) -> Result<String, SyncError> {
    let username = raw.trim().to_lowercase();
    if username.is_empty() || username.chars().count() > 64 {
        return Err(SyncError::invalid("username", "username must have 1 to 64 characters"));
    }
    if username.chars().any(char::is_control) {
        return Err(SyncError::invalid("username", "username contains control characters"));
    }
    Ok(username)
}

/// Whether an attempt to sign in may check its password now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Granted,
    /// Refused without any password work; try again in `seconds`.
    Wait {
        seconds: u64,
    },
}

/// Reserves an attempt at signing in as `username` from `address` before the
/// password is checked, atomically: parallel guesses each take a turn, and
/// once the free ones are used up the rest are refused here. Every attempt
/// counts as a failure until [`start`] clears it.
pub async fn take_turn(db: &PgPool, username: &str, address: &str) -> Result<Turn, SyncError> {
    let turn: Option<i32> = sqlx::query_scalar(include_str!("take_turn.sql"))
        .bind(username)
        .bind(address)
        .bind(FAILURE_WINDOW_MIN)
        .bind(FREE_FAILURES)
        .bind(USERNAME_CEILING)
        .fetch_optional(db)
        .await?;
    if turn.is_some() {
        return Ok(Turn::Granted);
    }
    let wait: Option<f64> =
        sqlx::query_scalar(include_str!("wait.sql")).bind(username).bind(address).fetch_optional(db).await?.flatten();
    // Not blocked as a pair: the username's ceiling is what stopped it.
    Ok(Turn::Wait { seconds: wait.map_or(CEILING_WAIT_S, seconds) })
}

fn seconds(wait: f64) -> u64 {
    // Bounded by the 15-minute cap, so the cast cannot overflow.
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0 < wait <= 900")]
    let s = wait.ceil().max(1.0) as u64;
    s
}

/// An active person's id and stored password hash, by username.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
}

pub async fn credentials(db: &PgPool, username: &str) -> Result<Option<Credentials>, SyncError> {
    Ok(sqlx::query_as(include_str!("credentials.sql")).bind(username).fetch_optional(db).await?)
}

/// A refresh token to store: only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

async fn insert_token(tx: &mut PgConnection, person: Uuid, family: Uuid, token: NewToken) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("insert_token.sql"))
        .bind(Uuid::now_v7())
        .bind(family)
        .bind(person)
        .bind(token.token_hash)
        .bind(token.expires_at)
        .execute(tx)
        .await
        .map(drop)
}

/// A sign-in: the person, and the refresh family the access tokens name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignIn {
    pub person: Uuid,
    pub family: Uuid,
}

/// Starts a sign-in after the password checked out: the attempt's count is
/// cleared and the first refresh token of a new family stored, together.
pub async fn start(
    db: &PgPool,
    username: &str,
    address: &str,
    person: Uuid,
    token: NewToken,
) -> Result<SignIn, SyncError> {
    let family = Uuid::now_v7();
    let mut tx = db.begin().await?;
    sqlx::query(include_str!("clear_throttle.sql")).bind(username).bind(address).execute(&mut *tx).await?;
    insert_token(&mut tx, person, family, token).await?;
    tx.commit().await?;
    Ok(SignIn { person, family })
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    /// Its sign-in was ended (sign-out, new password, deactivation, reuse).
    Ended,
    /// It was used before: two holders of one token. The sign-in is now ended.
    Reused,
    Expired,
    /// The person is no longer active.
    Inactive,
}

#[derive(Debug, sqlx::FromRow)]
struct Presented {
    id: Uuid,
    family_id: Uuid,
    person_id: Uuid,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    active: bool,
}

/// Trades the refresh token hashed as `presented` for `next` in the same
/// family. A token works once: presenting a used one ends its whole sign-in.
pub async fn rotate(db: &PgPool, presented: &[u8], next: NewToken) -> Result<Result<SignIn, Refusal>, SyncError> {
    let mut tx = db.begin().await?;
    let row: Option<Presented> =
        sqlx::query_as(include_str!("presented.sql")).bind(presented).fetch_optional(&mut *tx).await?;
    let Some(row) = row else { return Ok(Err(Refusal::Unknown)) };
    if row.revoked_at.is_some() {
        return Ok(Err(Refusal::Ended));
    }
    if row.used_at.is_some() {
        // Two holders of one token: the owner and someone else. End the sign-in for both.
        sqlx::query(include_str!("end_family.sql")).bind(row.family_id).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::warn!(user.id = %row.person_id, family = %row.family_id, "refresh token reused; family revoked");
        return Ok(Err(Refusal::Reused));
    }
    if row.expires_at <= Utc::now() {
        return Ok(Err(Refusal::Expired));
    }
    if !row.active {
        return Ok(Err(Refusal::Inactive));
    }
    sqlx::query(include_str!("mark_used.sql")).bind(row.id).execute(&mut *tx).await?;
    insert_token(&mut tx, row.person_id, row.family_id, next).await?;
    tx.commit().await?;
    Ok(Ok(SignIn { person: row.person_id, family: row.family_id }))
}

/// Signs out: every token of the sign-in the token hashed as `presented`
/// belongs to stops working. An unknown token ends nothing, and is no error.
pub async fn end(db: &PgPool, presented: &[u8]) -> Result<(), SyncError> {
    sqlx::query(include_str!("end_by_token.sql")).bind(presented).execute(db).await?;
    Ok(())
}

/// Ends every sign-in of `person` (a new password, a deactivation).
pub async fn end_all(tx: &mut PgConnection, person: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("end_all.sql")).bind(person).execute(tx).await.map(drop)
}

/// The person behind an access token, as the database says now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
    /// Whether the sign-in the token names is still on.
    pub live: bool,
}

/// The active person `person` and the state of their sign-in `sign_in`;
/// `None` when the person is gone or inactive.
pub async fn caller(db: &PgPool, person: Uuid, sign_in: Uuid) -> Result<Option<Caller>, SyncError> {
    Ok(sqlx::query_as(include_str!("caller.sql")).bind(person).bind(sign_in).fetch_optional(db).await?)
}

/// The signed-in person.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: Uuid,
    pub name: String,
    pub username: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
    pub station_name: Option<String>,
    pub phone: Option<String>,
}

pub async fn me(db: &PgPool, person: Uuid) -> Result<Me, SyncError> {
    sqlx::query_as(include_str!("me.sql")).bind(person).fetch_optional(db).await?.ok_or(SyncError::NotFound("person"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_names_are_trimmed_lower_case_and_plain_text() {
        assert_eq!(login_name("  Rep001 ").unwrap(), "rep001");
        assert!(login_name("   ").is_err());
        assert!(login_name("rep\u{0}01").is_err());
        assert!(login_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn waits_are_whole_seconds_and_never_zero() {
        assert_eq!(seconds(0.2), 1);
        assert_eq!(seconds(29.1), 30);
    }
}
