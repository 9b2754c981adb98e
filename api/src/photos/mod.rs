//! Photos: what a device declares, where the bytes go (a local folder or
//! S3, behind one trait), how they are checked, and the thumbnails and EXIF
//! evidence made from them.

pub mod heif;
pub mod local;
pub mod media;
pub mod processing;
pub mod s3;
pub mod store;
pub mod sweep;

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;
use store::BlobStore;

/// The photo side of the server: the store, and the local store's own
/// handle when it is the one in use (its upload and download routes).
#[derive(Debug)]
pub struct Photos {
    pub store: Arc<dyn BlobStore>,
    pub local: Option<local::LocalStore>,
    pub max_bytes: u64,
    /// How long a signed upload URL stays valid.
    pub upload_ttl: std::time::Duration,
    /// Wakes the thumbnail worker after an upload completes.
    pub thumbnails: Arc<tokio::sync::Notify>,
    /// Converts HEIC/HEIF photos for their thumbnails.
    pub heif: heif::HeifConverter,
}

impl Photos {
    /// The configured store; `public_url` is where devices reach this server.
    pub async fn from_config(config: &Config, db: &PgPool, public_url: &str) -> anyhow::Result<Self> {
        let (store, local): (Arc<dyn BlobStore>, Option<local::LocalStore>) = if config.photo_store == "s3" {
            anyhow::ensure!(
                !config.s3_access_key.is_empty(),
                "the S3 store needs FIELDVISIT_S3_ACCESS_KEY and FIELDVISIT_S3_SECRET_KEY"
            );
            let s3 = s3::S3Store::new(s3::S3Settings {
                endpoint: config.s3_endpoint.clone(),
                region: config.s3_region.clone(),
                bucket: config.s3_bucket.clone(),
                access_key: config.s3_access_key.clone(),
                secret_key: config.s3_secret_key.clone(),
                path_style: config.s3_path_style,
            });
            (Arc::new(s3), None)
        } else {
            let root = config.photo_dir.clone().unwrap_or_else(|| config.data_dir.join("photos"));
            // Shared through the database, so every API instance signs and checks the same URLs.
            let secret = fieldvisit_sync::secrets::hmac_key(db, "blobs").await?;
            let local = local::LocalStore::new(root, public_url.to_owned(), secret);
            (Arc::new(local.clone()), Some(local))
        };
        Ok(Self {
            store,
            local,
            max_bytes: fieldvisit_sync::photos::max_bytes(config.photo_max_mb),
            upload_ttl: std::time::Duration::from_secs(config.upload_url_ttl_s),
            thumbnails: Arc::new(tokio::sync::Notify::new()),
            heif: heif::HeifConverter::new(config.heif_convert.clone()),
        })
    }
}
