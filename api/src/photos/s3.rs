//! The S3 blob store: AWS S3 or any S3-compatible service (MinIO, Garage,
//! Ceph, the Chinese clouds' S3 endpoints) through `aws-sdk-s3`.
//!
//! Devices PUT straight to S3 with a presigned URL whose signature covers
//! `content-length` and `x-amz-checksum-sha256` (the declared hash), so S3
//! itself refuses bytes of another length or content and the server never
//! relays photo bytes. `stat` then reads the SHA-256 that S3 verified and
//! kept with the object (HEAD with checksum mode); only a backend that keeps
//! no checksum makes it read the object and hash it.
//!
//! A presigned PUT cannot be revoked and stays valid for its whole lifetime,
//! so `seal` (at `complete`) copies the upload to `<key>.verified`, a key no
//! URL is ever signed for, and removes the upload key; the record then names
//! the copy. This needs nothing of the service beyond CopyObject (conditional
//! writes, `If-None-Match`, are not offered by every S3-compatible service and
//! would let a device's retry of a lost answer fail).
//!
//! Downloads are presigned GETs with `response-content-type` and
//! `response-content-disposition`, which S3 signs and answers with, so the
//! photo arrives with its real type and a file name whatever the object's
//! stored metadata says.
//!
//! The client is built from explicit static credentials (no `aws-config`, no
//! environment or instance-metadata lookups), speaks HTTPS through rustls
//! with the ring provider, and optionally uses path-style addressing, which
//! most self-hosted services need.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use sha2::{Digest as _, Sha256};

use super::store::{BlobStore, Declared, Presentation, SignedRequest, StoreError, Stored, expiry, validate_key};

/// Where `seal` keeps the verified copy of the upload under `key`.
fn sealed_key(key: &str) -> String {
    format!("{key}.verified")
}

/// Where the bucket is and how to reach it.
#[derive(Clone)]
pub struct S3Settings {
    /// `None` for AWS itself; otherwise e.g. `https://minio.internal:9000`.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// `https://host/bucket/key` rather than `https://bucket.host/key`.
    pub path_style: bool,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret key.
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

/// A bucket in S3-compatible storage; see the module documentation.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    endpoint: Option<String>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// GET an object, or the byte range `range` of it.
    async fn get(&self, key: &str, range: Option<String>) -> Result<Vec<u8>, StoreError> {
        validate_key(key)?;
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_range(range)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        let bytes = out.body.collect().await.map_err(|e| StoreError::Backend(DisplayErrorContext(e).to_string()))?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Builds the client; no request is made until the store is used.
    pub fn new(settings: S3Settings) -> Self {
        let credentials = Credentials::new(settings.access_key, settings.secret_key, None, None, "fieldvisit-config");
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region))
            .credentials_provider(credentials)
            .http_client(http)
            .force_path_style(settings.path_style);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Self { client: Client::from_conf(config.build()), bucket: settings.bucket, endpoint: settings.endpoint }
    }

    /// Reads the object and hashes it as it streams (memory stays flat), for
    /// backends that keep no SHA-256 with the object.
    async fn measure(&self, key: &str) -> Result<Stored, StoreError> {
        let out = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|e| sdk_error(&e))?;
        let mut body = out.body;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(chunk) =
            body.try_next().await.map_err(|e| StoreError::Backend(DisplayErrorContext(e).to_string()))?
        {
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Stored { size, sha256: hasher.finalize().into() })
    }
}

#[async_trait::async_trait]
impl BlobStore for S3Store {
    async fn upload_request(&self, key: &str, declared: &Declared, ttl: Duration) -> Result<SignedRequest, StoreError> {
        validate_key(key)?;
        let expires_at = expiry(Utc::now(), ttl)?;
        let length =
            i64::try_from(declared.size).map_err(|_| StoreError::Backend("declared size out of range".into()))?;
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(length)
            .content_type(&declared.mime)
            .checksum_sha256(BASE64.encode(declared.sha256))
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| sdk_error(&e))?;
        let headers: BTreeMap<String, String> =
            presigned.headers().map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())).collect();
        Ok(SignedRequest { url: presigned.uri().to_owned(), method: "PUT", headers, expires_at })
    }

    async fn stat(&self, key: &str) -> Result<Stored, StoreError> {
        validate_key(key)?;
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        let size = head.content_length().and_then(|n| u64::try_from(n).ok());
        // A multipart object's checksum is "<base64>-<parts>", a checksum of
        // checksums: not the file's SHA-256, so it is measured instead.
        let sha256 = head
            .checksum_sha256()
            .and_then(|b64| BASE64.decode(b64).ok())
            .and_then(|raw| <[u8; 32]>::try_from(raw).ok());
        match (size, sha256) {
            (Some(size), Some(sha256)) => Ok(Stored { size, sha256 }),
            _ => self.measure(key).await,
        }
    }

    async fn download_url(&self, key: &str, ttl: Duration, shown: &Presentation) -> Result<String, StoreError> {
        validate_key(key)?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(&shown.content_type)
            .response_content_disposition(shown.disposition())
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| sdk_error(&e))?;
        Ok(presigned.uri().to_owned())
    }

    async fn seal(&self, key: &str) -> Result<String, StoreError> {
        validate_key(key)?;
        let sealed = sealed_key(key);
        validate_key(&sealed)?;
        // Asking for SHA-256 makes S3 compute and keep the copy's own
        // checksum, which `stat` then reads.
        let copied = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{key}", self.bucket))
            .key(&sealed)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await;
        match copied {
            Ok(_) => {}
            // The upload key is gone: a seal whose answer was lost already
            // copied it (and removed it), or nothing was ever uploaded.
            Err(e) => match sdk_error(&e) {
                StoreError::NotFound => {
                    self.client
                        .head_object()
                        .bucket(&self.bucket)
                        .key(&sealed)
                        .send()
                        .await
                        .map_err(|e| sdk_error(&e))?;
                    return Ok(sealed);
                }
                other => return Err(other),
            },
        }
        self.delete(key).await?;
        Ok(sealed)
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.get(key, None).await
    }

    async fn read_prefix(&self, key: &str, n: usize) -> Result<Vec<u8>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut bytes = self.get(key, Some(format!("bytes=0-{}", n - 1))).await?;
        // A server that ignores Range sends the whole object: keep the prefix.
        bytes.truncate(n);
        Ok(bytes)
    }

    async fn write(&self, key: &str, bytes: Vec<u8>, mime: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        // Sending our own SHA-256 makes S3 check it and keep it for `stat`.
        let sha256 = BASE64.encode(Sha256::digest(&bytes));
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(mime)
            .checksum_sha256(sha256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        match self.client.delete_object().bucket(&self.bucket).key(key).send().await {
            // S3 answers 204 for a missing key; some compatible services say 404.
            Ok(_) => Ok(()),
            Err(e) => match sdk_error(&e) {
                StoreError::NotFound => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error(&e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, StoreError> {
    PresigningConfig::expires_in(ttl).map_err(|e| StoreError::Backend(format!("presigning: {e}")))
}

/// 404 and `NoSuchKey` become `NotFound` (a HEAD answer has no body, so a
/// missing key shows only as the status); everything else is the backend's
/// failure, with the service's own code and message kept for the log.
fn sdk_error<E>(e: &SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let not_found = match e {
        SdkError::ServiceError(service) => {
            matches!(service.err().code(), Some("NoSuchKey" | "NotFound")) || service.raw().status().as_u16() == 404
        }
        _ => false,
    };
    if not_found { StoreError::NotFound } else { StoreError::Backend(DisplayErrorContext(e).to_string()) }
}
