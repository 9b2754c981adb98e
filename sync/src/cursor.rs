//! The pull cursor: per bucket, the last `(xid, seq)` delivered. Opaque to the
//! device and signed (HMAC-SHA256) by the server, bound to the person and to
//! the database epoch, so a tampered, foreign or pre-restore cursor is caught.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::SyncError;

/// A position in one bucket's change log: the writing transaction's id and
/// the order within it. `(0, 0)` is before everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub xid: i64,
    pub seq: i64,
}

/// What a cursor says, once its signature checks out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    #[serde(rename = "p")]
    pub person: Uuid,
    #[serde(rename = "e")]
    pub epoch: Uuid,
    /// Unix seconds when the cursor was issued; too old means tombstones it
    /// needs may be gone.
    #[serde(rename = "t")]
    pub issued_at: i64,
    #[serde(rename = "b")]
    pub buckets: BTreeMap<String, Position>,
}

/// The server's cursor-signing secret, shared by every instance through the database.
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

impl CursorKey {
    /// Loads the secret, creating it on first use.
    pub async fn load(db: &PgPool) -> Result<Self, SyncError> {
        Ok(Self(crate::secrets::hmac_key(db, "cursor").await?))
    }

    /// A key for tests and tools that do not touch a database.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }

    pub fn sign(&self, state: &CursorState) -> String {
        let payload = serde_json::to_vec(state).expect("a cursor state serialises");
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks the signature and that the cursor is this person's.
    pub fn verify(&self, cursor: &str, person: Uuid) -> Result<CursorState, SyncError> {
        let (payload, tag) = cursor.split_once('.').ok_or(SyncError::BadCursor("not a cursor this server made"))?;
        let payload =
            URL_SAFE_NO_PAD.decode(payload).map_err(|_| SyncError::BadCursor("not a cursor this server made"))?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| SyncError::BadCursor("not a cursor this server made"))?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag)
            .map_err(|_| SyncError::BadCursor("the signature does not match; the cursor was altered"))?;
        let state: CursorState =
            serde_json::from_slice(&payload).map_err(|_| SyncError::BadCursor("unreadable cursor"))?;
        if state.person != person {
            return Err(SyncError::BadCursor("the cursor belongs to another person"));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> CursorState {
        let mut buckets = BTreeMap::new();
        buckets.insert("ref".to_owned(), Position { xid: 812, seq: 9 });
        CursorState { person: Uuid::from_u128(7), epoch: Uuid::from_u128(1), issued_at: 1_790_000_000, buckets }
    }

    #[test]
    fn a_signed_cursor_reads_back() {
        let key = CursorKey::from_bytes(b"k");
        let c = key.sign(&state());
        assert_eq!(key.verify(&c, Uuid::from_u128(7)).unwrap(), state());
    }

    #[test]
    fn tampered_foreign_and_garbage_cursors_are_refused() {
        let key = CursorKey::from_bytes(b"k");
        let c = key.sign(&state());
        // Another person's cursor.
        assert!(matches!(key.verify(&c, Uuid::from_u128(8)), Err(SyncError::BadCursor(_))));
        // A payload changed to skip ahead, with the old signature.
        let (_, tag) = c.split_once('.').unwrap();
        let mut forged = state();
        forged.buckets.insert("ref".to_owned(), Position { xid: 999_999, seq: 0 });
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap()));
        assert!(matches!(key.verify(&forged, Uuid::from_u128(7)), Err(SyncError::BadCursor(_))));
        // Another server's key.
        assert!(CursorKey::from_bytes(b"other").verify(&c, Uuid::from_u128(7)).is_err());
        assert!(key.verify("garbage", Uuid::from_u128(7)).is_err());
    }
}
