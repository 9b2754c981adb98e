//! Password hashing with argon2id. Hashing costs tens of milliseconds of CPU,
//! so it runs on the blocking pool, never on the async worker threads.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Argon2, PasswordHash};

use crate::error::ApiError;

/// Shortest password accepted when an admin sets one.
pub const MIN_PASSWORD_CHARS: usize = 8;

pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
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
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

/// A hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Bq3kJ3vVXfZk0bW7Ckv5G7f9Yp5VqzU6Z1H2lZqg6c";

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid("password", format!("password must have at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > 256 {
        return Err(ApiError::invalid("password", "password must have at most 256 characters"));
    }
    Ok(())
}
