//! The secrets store: named server secrets kept in the database, so that
//! every API instance signs and checks with the same ones. Each is made once,
//! by whichever instance asks first: the JWT signing key (`jwt`, a PEM), the
//! pull-cursor key (`cursor`) and the photo-URL key (`blobs`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sqlx::PgPool;

use crate::SyncError;

/// The secret called `name`, created with `make` if there is none yet. When
/// two instances start at once, both make one and the first stored wins;
/// both then read the same value.
pub async fn get_or_create(db: &PgPool, name: &str, make: impl FnOnce() -> String) -> Result<String, SyncError> {
    sqlx::query(include_str!("secrets/insert.sql")).bind(name).bind(make()).execute(db).await?;
    Ok(sqlx::query_scalar(include_str!("secrets/select.sql")).bind(name).fetch_one(db).await?)
}

/// A random 32-byte key called `name` (stored as URL-safe base64), for HMAC signatures.
pub async fn hmac_key(db: &PgPool, name: &str) -> Result<Vec<u8>, SyncError> {
    let stored = get_or_create(db, name, || {
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        URL_SAFE_NO_PAD.encode(fresh)
    })
    .await?;
    // A value that is not base64 was damaged by hand: a server fault, not the request's.
    URL_SAFE_NO_PAD.decode(stored.trim()).map_err(|e| SyncError::Database(sqlx::Error::Decode(Box::new(e))))
}
