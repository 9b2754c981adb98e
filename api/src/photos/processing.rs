//! What happens to a photo's bytes once they are stored: `complete` checks
//! them against the declaration (size, SHA-256, content type by sniffing),
//! reads the EXIF evidence and flags a photo taken far away or at another
//! time, and hands the photo to the thumbnail worker. The worker claims
//! photos from the database, so a crash or a restart loses no thumbnail.

use std::sync::Arc;
use std::time::Duration;

use fieldvisit_sync::photos::{self as domain, Completed, Refusal};
use fieldvisit_sync::{SyncError, command};
use sqlx::PgPool;
use uuid::Uuid;

use super::Photos;
use super::media::{self, MediaError, PhotoType};
use super::store::StoreError;

/// The longer side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 512;
/// How much of a photo `complete` reads: the type's magic bytes and the EXIF
/// segment (at most 64 KB in a JPEG) lie within it.
const EXIF_PREFIX: usize = 256 * 1024;

/// Why `complete` did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    /// The bytes are not what was declared, or not a photo, or not there.
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Domain(#[from] SyncError),
    #[error("photo store: {0}")]
    Store(#[from] StoreError),
    #[error("reading the EXIF failed: {0}")]
    Exif(#[from] tokio::task::JoinError),
}

/// Checks the stored bytes of photo `id` (owned by `person`) and marks it
/// uploaded (`photo.complete.v1`). Idempotent: a completed photo answers as
/// it is.
///
/// The upload is sealed first and the sealed bytes checked after: once
/// sealed, no signed URL (which stays valid until it expires) can change
/// them, so what the record names always hashes to its SHA-256. An upload
/// that lands between the device's PUT and the seal is caught by the check.
/// Refused bytes are deleted, seal and all, so that the device can upload
/// again.
pub async fn complete(db: &PgPool, photos: &Photos, person: Uuid, id: Uuid) -> Result<Completed, CompleteError> {
    let declared = domain::declaration(db, person, id).await?;
    if declared.uploaded() {
        return Ok(domain::completed(db, id).await?);
    }
    let sealed = match photos.store.seal(&declared.object_key).await {
        Ok(k) => k,
        Err(StoreError::NotFound) => return Err(Refusal::NotUploaded.into()),
        Err(e) => return Err(e.into()),
    };
    let stored = match photos.store.stat(&sealed).await {
        Ok(s) => s,
        Err(StoreError::NotFound) => return Err(Refusal::NotUploaded.into()),
        Err(e) => return Err(e.into()),
    };
    if let Err(refused) = domain::check_bytes(&declared, stored.size, &stored.sha256) {
        photos.store.delete(&sealed).await?;
        return Err(refused.into());
    }
    // The type and the EXIF are at the start of a photo: read only that, so
    // memory stays flat however large the photo and however many arrive.
    let bytes = photos.store.read_prefix(&sealed, EXIF_PREFIX).await?;
    let kind = match domain::sniffed(media::sniff(&bytes)) {
        Ok(kind) => kind,
        Err(refused) => {
            photos.store.delete(&sealed).await?;
            return Err(refused.into());
        }
    };
    let exif = tokio::task::spawn_blocking(move || media::exif_evidence(&bytes)).await?;
    let done = command::execute(db, person, domain::Complete { id, sealed_key: sealed, kind, exif }).await?;
    if declared.mime != kind.mime() {
        tracing::info!(photo = %id, declared = %declared.mime, sniffed = kind.mime(), "photo type corrected by sniffing");
    }
    photos.thumbnails.notify_one();
    Ok(done)
}

/// Runs the thumbnail worker until the process ends: on every completed
/// upload, and every few seconds for what a crash left behind.
pub fn spawn_thumbnailer(db: PgPool, photos: Arc<Photos>) {
    tokio::spawn(async move {
        loop {
            match thumbnail_pending(&db, &photos).await {
                Ok(0) => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), photos.thumbnails.notified()).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "thumbnail worker");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    });
}

/// Makes the thumbnail of one uploaded photo and returns how many it
/// handled. The photo is claimed in a statement of its own (SKIP LOCKED, so
/// several API instances share the work) and no transaction stays open while
/// the image is decoded: an open transaction would hold back every device's
/// pull horizon. One at a time, so the worker's memory is one photo's
/// bytes plus its reduced decode (about 7 MB for a 5 MB, 12-megapixel JPEG).
pub async fn thumbnail_pending(db: &PgPool, photos: &Photos) -> anyhow::Result<usize> {
    let claimed = domain::claim_thumbnail(db).await?;
    for domain::ThumbnailClaim { id, object_key: key, mime } in &claimed {
        let bytes = match photos.store.read(key).await {
            Ok(b) => b,
            // Bytes that are gone will not come back: record it, so that this
            // photo does not hold up the ones behind it.
            Err(StoreError::NotFound) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let kind = PhotoType::from_mime(mime).or_else(|| media::sniff(&bytes));
        let made = match kind {
            _ if bytes.is_empty() => Err(MediaError::Decode("the stored bytes are missing".to_owned())),
            Some(PhotoType::Heif) => match photos.heif.to_jpeg(bytes).await {
                Ok(jpeg) => {
                    tokio::task::spawn_blocking(move || media::thumbnail_of_converted(&jpeg, THUMBNAIL_SIDE)).await?
                }
                Err(e) => Err(e),
            },
            Some(kind) => tokio::task::spawn_blocking(move || media::thumbnail(&bytes, kind, THUMBNAIL_SIDE)).await?,
            None => Err(MediaError::Decode("unknown photo type".to_owned())),
        };
        match made {
            Ok(jpeg) => {
                let thumb = format!("thumbnails/{id}.jpg");
                photos.store.write(&thumb, jpeg, "image/jpeg").await?;
                domain::thumbnail_made(db, *id, &thumb).await?;
            }
            // The server is not set up for this type (no HEIF converter):
            // nothing is wrong with the photo, so nothing is recorded on it.
            // The claim lapses and the photo is tried again in a few
            // minutes, and gets its thumbnail once the converter is there.
            Err(MediaError::Converter(reason)) => {
                tracing::warn!(photo = %id, %reason, "thumbnail postponed");
            }
            Err(e) => {
                // The photo stays, without a thumbnail; the reason is kept.
                let reason = e.to_string();
                tracing::info!(photo = %id, %reason, "no thumbnail");
                domain::thumbnail_failed(db, *id, &reason).await?;
            }
        }
    }
    Ok(claimed.len())
}
