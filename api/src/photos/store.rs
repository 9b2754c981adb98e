//! The blob store behind photos and thumbnails: one trait, two backends (a
//! local folder by default, S3 in production).
//!
//! Devices never send bytes through the API's JSON endpoints: they get a
//! signed request from [`BlobStore::upload_request`] and PUT the bytes there,
//! so the client flow is the same whichever store runs. The server then
//! trusts only what the store itself measured ([`BlobStore::stat`]), never
//! what the device said it sent.
//!
//! A signed upload URL stays valid for its whole lifetime and cannot be
//! revoked, so verified evidence must live where no such URL reaches:
//! `complete` first [`BlobStore::seal`]s the upload, then checks the sealed
//! bytes. From then on nothing but a delete changes what the record names.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// What a device declared before any byte moved.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Length in bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// Media type, e.g. `image/jpeg`.
    pub mime: String,
}

/// Where and how the device sends the bytes.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SignedRequest {
    pub url: String,
    pub method: &'static str,
    /// Headers the device must send exactly as given (they are part of the
    /// signature on S3).
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Nothing is stored under the key.
    #[error("no object under this key")]
    NotFound,
    /// The key is not one this store accepts (empty, absolute, `..`, odd
    /// characters). A programming error in the caller, never device input.
    #[error("invalid object key: {0}")]
    InvalidKey(String),
    /// The local disk failed.
    #[error("storage I/O: {0}")]
    Io(String),
    /// The object storage service refused or failed (network, auth, 5xx).
    #[error("object storage: {0}")]
    Backend(String),
    /// The key holds sealed, verified evidence; only a delete may change it.
    #[error("the object under this key is sealed")]
    Sealed,
}

/// How a download presents itself to the app or browser that fetches it:
/// the photo's real type and a file name, not an anonymous octet stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    /// `type/subtype`, e.g. `image/jpeg`.
    pub content_type: String,
    /// `[A-Za-z0-9._-]`, e.g. `<photo id>.jpg`.
    pub filename: String,
}

impl Presentation {
    /// Checks both parts, so that they can go into a signed URL and a header
    /// verbatim: no quoting, no `|` (the local store's signature separator),
    /// no header injection.
    pub fn new(content_type: &str, filename: &str) -> Result<Self, StoreError> {
        let token =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
        let type_ok = content_type.split_once('/').is_some_and(|(kind, sub)| token(kind) && token(sub));
        let name_ok = !filename.is_empty()
            && filename.len() <= 128
            && filename.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !type_ok || !name_ok {
            return Err(StoreError::InvalidKey(format!("presentation {content_type:?} {filename:?}")));
        }
        Ok(Self { content_type: content_type.to_owned(), filename: filename.to_owned() })
    }

    /// The `Content-Disposition` a download answers with: shown in place
    /// (it is a photo), saved under the given name.
    pub fn disposition(&self) -> String {
        format!("inline; filename=\"{}\"", self.filename)
    }
}

/// What is stored under a key, as the store measured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Object storage for photos and thumbnails. Used as `Arc<dyn BlobStore>`.
///
/// Keys are relative, `/`-separated paths of `[A-Za-z0-9._-]` segments such
/// as `photos/<uuid>` or `thumbnails/<uuid>.jpg` (see [`validate_key`]).
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// A URL the device PUTs the bytes to, valid until `expires_at`, bound to
    /// the declared length (and, on S3, the checksum).
    async fn upload_request(&self, key: &str, declared: &Declared, ttl: Duration) -> Result<SignedRequest, StoreError>;

    /// Size and SHA-256 of what is stored under `key` (S3: from the checksum
    /// S3 verified at upload, via HEAD with checksum mode, falling back to
    /// reading the object).
    async fn stat(&self, key: &str) -> Result<Stored, StoreError>;

    /// A short-lived URL to GET the object, answered with `shown`'s content
    /// type and disposition (both bound into the URL's signature).
    async fn download_url(&self, key: &str, ttl: Duration, shown: &Presentation) -> Result<String, StoreError>;

    /// Makes what is stored under the upload key `key` immutable and answers
    /// the key it is kept under from now on, one that no upload URL can write
    /// to. The local store keeps the key and refuses every later upload to it
    /// (409); on S3, where a presigned URL cannot be revoked, the object is
    /// copied to `<key>.verified` and the upload key removed, so a replayed
    /// URL only writes an orphan that the sweep removes. Idempotent (a retry
    /// after a lost answer gets the same key); `NotFound` when nothing was
    /// uploaded. The caller checks the bytes under the answered key after
    /// sealing: an upload may have landed just before.
    async fn seal(&self, key: &str) -> Result<String, StoreError>;

    /// The whole object, for thumbnailing (objects are at most 25 MB).
    async fn read(&self, key: &str) -> Result<Vec<u8>, StoreError>;

    /// At most the first `n` bytes, for sniffing the type and reading EXIF
    /// (which sits at the start of a photo) without holding the whole file.
    async fn read_prefix(&self, key: &str, n: usize) -> Result<Vec<u8>, StoreError>;

    /// A server-side write (thumbnails), replacing what was there (never a
    /// sealed object: `Sealed`).
    async fn write(&self, key: &str, bytes: Vec<u8>, mime: &str) -> Result<(), StoreError>;

    /// Removes the object (and its seal); removing a missing one is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// Every key that starts with `prefix`, sorted (for the sweep).
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
}

/// Longest key accepted; S3 allows 1024 bytes, file systems less per path.
const MAX_KEY_LEN: usize = 512;

/// Checks that `key` is a plain relative path that cannot leave the store's
/// root on disk and means the same thing on S3: non-empty segments of
/// `[A-Za-z0-9._-]`, none `.`/`..` or starting with `.` (the local store
/// keeps its temporary files under dot-names).
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let bad = |why: &str| Err(StoreError::InvalidKey(format!("{key:?}: {why}")));
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return bad("empty or too long");
    }
    for segment in key.split('/') {
        if segment.is_empty() {
            return bad("empty segment (leading, trailing or double slash)");
        }
        if segment.starts_with('.') {
            return bad("segment starts with a dot");
        }
        if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return bad("characters outside A-Z a-z 0-9 . _ -");
        }
    }
    Ok(())
}

/// `expires_at` for a URL signed now with `ttl`, at whole seconds because
/// both URL forms carry seconds.
pub(crate) fn expiry(now: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>, StoreError> {
    let ttl = chrono::Duration::from_std(ttl).map_err(|e| StoreError::Backend(format!("ttl: {e}")))?;
    let at = now + ttl;
    DateTime::from_timestamp(at.timestamp(), 0).ok_or_else(|| StoreError::Backend("ttl out of range".into()))
}

#[cfg(test)]
mod tests {
    use super::validate_key;

    #[test]
    fn keys_that_could_escape_are_refused() {
        for good in ["photos/0190a0b1-7c2e-7000-8000-000000000001", "thumbnails/a.jpg", "a"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "photos/../../x",
            "photos/./x",
            "photos//x",
            "photos/",
            ".hidden",
            "a\\b",
            "a b",
            "ph%2e%2e",
        ] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
    }
}
