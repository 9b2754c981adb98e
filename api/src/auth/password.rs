//! Password hashing with argon2id. Hashing costs tens of milliseconds of CPU
//! and 19 MiB of memory, so it runs on the blocking pool, never on the async
//! worker threads, and no more hashes run at once than there are cores: a
//! burst of logins (every device of a township after an outage) then queues
//! instead of holding 19 MiB per login, and finishes no later, since the
//! cores were the limit anyway.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// One permit per core for argon2 work.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get)));

/// Runs argon2 `work` on the blocking pool once a core is free for it.
async fn with_a_core<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let permit = HASHING.acquire().await.map_err(|e| ApiError::Internal(e.into()))?;
    // The permit goes with the work: a caller that hangs up does not free the
    // core while the hash still runs.
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

/// Shortest password accepted when an admin sets one.
pub const MIN_PASSWORD_CHARS: usize = 8;

pub async fn hash(password: String) -> Result<String, ApiError> {
    with_a_core(move || hash_blocking(&password)).await?
}

pub fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2: {e}")))
}

/// Verifies a password. With no stored hash (unknown user) it still does the
/// work of a verification, so the answer time does not reveal which usernames exist.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    with_a_core(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
}

/// A hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Bq3kJ3vVXfZk0bW7Ckv5G7f9Yp5VqzU6Z1H2lZqg6c";

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "password",
            format!("password must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > 256 {
        return Err(ApiError::invalid("password", "password must have at most 256 characters"));
    }
    Ok(())
}
