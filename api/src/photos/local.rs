//! The local blob store: a folder on the server's disk, the default so the
//! demo runs with nothing else installed.
//!
//! Layout under `root` (content-addressed; a key is a name for a content):
//! - `objects/<sha256-hex>`: the bytes, written once and never changed. Two
//!   keys with the same bytes share one file.
//! - `keys/<key>`: a symlink to `../…/objects/<sha256-hex>`. Its target is
//!   the hash, so [`BlobStore::stat`] answers without reading the bytes, and
//!   the HTTP layer can open the link path directly to stream the file.
//! - `refs/<key>`: a hard link to the same object, so the object's link
//!   count says how many keys still use it: the last `delete` (or a key
//!   replaced by other bytes) removes the object.
//! - `sealed/<key>`: an empty file once `complete` has sealed the key (see
//!   [`BlobStore::seal`]): every later upload or write to it is refused, so a
//!   signed URL replayed after `complete` cannot replace verified evidence.
//!   Only `delete` removes it (with the key).
//!
//! Uploads stream into `objects/.tmp-<uuid>`, hashing as they go, are
//! fsynced, then renamed to their hash; only then does the key's link
//! appear (again by rename), so an interrupted upload leaves nothing under
//! the key and a crash leaves at most a stray temporary file. Link changes
//! are serialised by one mutex: this store is for a single server process
//! (more than one process means S3).
//!
//! Upload and download URLs point back at the server (`/v1/blobs/{key}`) and
//! carry an expiry and an HMAC-SHA256 signature made with the server's
//! secret (a download URL also signs the content type and file name it is
//! answered with); the HTTP route checks them with
//! [`LocalStore::check_upload`] and [`LocalStore::check_download`] and hands
//! the body to [`LocalStore::receive`].

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt as _};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::store::{BlobStore, Declared, Presentation, SignedRequest, StoreError, Stored, expiry, validate_key};

/// Why an upload (or a download URL) was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadRefused {
    /// Bad or expired signature, or a key the URL could not have been signed for. HTTP 403.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The body went past the signed size. HTTP 413.
    #[error("body longer than the declared size")]
    TooLarge,
    /// The body ended (or the connection broke) before the signed size. HTTP 400.
    #[error("body shorter than the declared size, or interrupted")]
    ShortBody,
    /// The key is sealed: its bytes were verified by `complete` and may not
    /// be replaced. HTTP 409. Nothing was read or changed.
    #[error("the object under this key is sealed")]
    Sealed,
    /// The server's disk failed. HTTP 500.
    #[error("storage I/O: {0}")]
    Io(String),
}

/// A folder of content-addressed files; see the module documentation.
#[derive(Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    /// Without a trailing slash.
    public_base_url: String,
    secret: Vec<u8>,
    /// Held while links are made or removed, so a `delete` cannot remove an
    /// object another key is just linking to.
    links: Mutex<()>,
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        f.debug_struct("LocalStore")
            .field("root", &self.inner.root)
            .field("public_base_url", &self.inner.public_base_url)
            .finish_non_exhaustive()
    }
}

impl LocalStore {
    /// A store under `root` (created on first write), whose URLs start with
    /// `public_base_url` (the server as devices reach it) and are signed
    /// with `secret`.
    pub fn new(root: PathBuf, public_base_url: String, secret: Vec<u8>) -> Self {
        let mut public_base_url = public_base_url;
        while public_base_url.ends_with('/') {
            public_base_url.pop();
        }
        Self { inner: Arc::new(Inner { root, public_base_url, secret, links: Mutex::new(()) }) }
    }

    /// Checks an upload URL's signature and expiry (`Err(Forbidden)` when
    /// tampered or expired).
    pub fn check_upload(
        &self,
        key: &str,
        expires: i64,
        size: u64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), UploadRefused> {
        self.check(&upload_message(key, expires, size), key, expires, sig, now)
    }

    /// Checks a download URL's signature and expiry, including the way the
    /// URL says the download is to be presented.
    pub fn check_download(
        &self,
        key: &str,
        expires: i64,
        shown: &Presentation,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), UploadRefused> {
        self.check(&download_message(key, expires, shown), key, expires, sig, now)
    }

    fn check(
        &self,
        message: &str,
        key: &str,
        expires: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), UploadRefused> {
        validate_key(key).map_err(|e| UploadRefused::Forbidden(e.to_string()))?;
        let sig = hex::decode(sig).map_err(|_| UploadRefused::Forbidden("malformed signature".into()))?;
        // `verify_slice` compares in constant time.
        self.mac(message).verify_slice(&sig).map_err(|_| UploadRefused::Forbidden("bad signature".into()))?;
        // Checked after the signature so a forged expiry never gets a precise answer.
        if now.timestamp() > expires {
            return Err(UploadRefused::Forbidden("URL expired".into()));
        }
        Ok(())
    }

    /// Streams a body to a temporary file in the objects folder (hashing as
    /// it goes, stopping with `TooLarge` past `size` bytes), fsyncs it and
    /// renames it into place: an interrupted upload leaves nothing under the
    /// key. Memory stays flat whatever the size. A broken body stream counts
    /// as `ShortBody`: the device went away mid-upload and may retry.
    pub async fn receive<E: fmt::Display>(
        &self,
        key: &str,
        size: u64,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
    ) -> Result<Stored, UploadRefused> {
        validate_key(key).map_err(|e| UploadRefused::Forbidden(e.to_string()))?;
        // Refused before a byte is read; checked again under the link lock
        // when the upload commits, in case `complete` sealed it meanwhile.
        if self.is_sealed(key) {
            return Err(UploadRefused::Sealed);
        }
        let objects = self.inner.root.join("objects");
        tokio::fs::create_dir_all(&objects).await.map_err(io_refused)?;
        let temp = TempFile(objects.join(format!(".tmp-{}", uuid::Uuid::new_v4())));
        let mut file = tokio::fs::File::create(&temp.0).await.map_err(io_refused)?;
        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(key, error = %e, "upload body broke off");
                UploadRefused::ShortBody
            })?;
            received += chunk.len() as u64;
            if received > size {
                return Err(UploadRefused::TooLarge);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(io_refused)?;
        }
        if received < size {
            return Err(UploadRefused::ShortBody);
        }
        file.flush().await.map_err(io_refused)?;
        file.sync_all().await.map_err(io_refused)?;
        drop(file);
        let sha256: [u8; 32] = hasher.finalize().into();
        let this = self.clone();
        let key = key.to_owned();
        let committed = tokio::task::spawn_blocking(move || this.commit(temp, &sha256, &key))
            .await
            .map_err(|e| UploadRefused::Io(e.to_string()))?
            .map_err(io_refused)?;
        if !committed {
            return Err(UploadRefused::Sealed);
        }
        Ok(Stored { size, sha256 })
    }

    /// The file to stream back for `key`: `None` when the key is invalid or
    /// nothing is stored (the file may still vanish before it is opened).
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        validate_key(key).ok()?;
        let path = self.key_path(key);
        path.exists().then_some(path)
    }

    fn mac(&self, message: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.inner.secret).expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        mac
    }

    fn sign(&self, message: &str) -> String {
        hex::encode(self.mac(message).finalize().into_bytes())
    }

    fn key_path(&self, key: &str) -> PathBuf {
        self.inner.root.join("keys").join(key)
    }

    fn ref_path(&self, key: &str) -> PathBuf {
        self.inner.root.join("refs").join(key)
    }

    fn object_path(&self, sha256_hex: &str) -> PathBuf {
        self.inner.root.join("objects").join(sha256_hex)
    }

    fn seal_path(&self, key: &str) -> PathBuf {
        self.inner.root.join("sealed").join(key)
    }

    fn is_sealed(&self, key: &str) -> bool {
        self.seal_path(key).exists()
    }

    /// Moves a complete, fsynced temporary file to its hash and points `key`
    /// at it; `false` (and nothing changed) when the key is sealed.
    /// Blocking: run it off the async workers.
    fn commit(&self, temp: TempFile, sha256: &[u8; 32], key: &str) -> io::Result<bool> {
        let _links = self.inner.links.lock().unwrap_or_else(PoisonError::into_inner);
        // Under the lock `seal` takes too: an upload that was under way when
        // the key was sealed ends here, its temporary file removed on drop.
        if self.is_sealed(key) {
            return Ok(false);
        }
        let hash = hex::encode(sha256);
        let object = self.object_path(&hash);
        if object.exists() {
            // Same hash, same bytes: the stored copy serves; `temp` is removed on drop.
        } else {
            std::fs::rename(&temp.0, &object)?;
            sync_dir(object.parent().expect("objects folder"))?;
        }
        drop(temp);
        let previous = self.linked_hash(key)?;

        let refs = self.ref_path(key);
        replace_with(&refs, |tmp| std::fs::hard_link(&object, tmp))?;
        // Relative, so the whole root can be moved or restored elsewhere.
        let depth = key.split('/').count();
        let target = format!("{}objects/{hash}", "../".repeat(depth));
        let link = self.key_path(key);
        replace_with(&link, |tmp| std::os::unix::fs::symlink(&target, tmp))?;
        sync_dir(link.parent().expect("key has a parent folder"))?;

        if let Some(previous) = previous.filter(|p| *p != hash) {
            self.collect(&previous)?;
        }
        Ok(true)
    }

    /// Marks `key` sealed, durably; `NotFound` when nothing is stored.
    fn seal_blocking(&self, key: &str) -> io::Result<()> {
        let _links = self.inner.links.lock().unwrap_or_else(PoisonError::into_inner);
        if self.linked_hash(key)?.is_none() {
            return Err(io::ErrorKind::NotFound.into());
        }
        let seal = self.seal_path(key);
        let parent = seal.parent().expect("key has a parent folder");
        std::fs::create_dir_all(parent)?;
        std::fs::File::create(&seal)?.sync_all()?;
        sync_dir(parent)
    }

    /// The hash `key` points at, `None` when nothing is stored.
    fn linked_hash(&self, key: &str) -> io::Result<Option<String>> {
        match std::fs::read_link(self.key_path(key)) {
            Ok(target) => {
                let name = target.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(Some(name.to_owned()))
                } else {
                    Err(io::Error::other(format!("key {key:?} links to {}", target.display())))
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes an object no key uses any more (its only link is its own name).
    fn collect(&self, hash: &str) -> io::Result<()> {
        let object = self.object_path(hash);
        match std::fs::metadata(&object) {
            Ok(meta) if meta.nlink() <= 1 => ignore_missing(std::fs::remove_file(&object)),
            Ok(_) => Ok(()),
            Err(e) => ignore_missing(Err(e)),
        }
    }

    fn delete_blocking(&self, key: &str) -> io::Result<()> {
        let _links = self.inner.links.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(hash) = self.linked_hash(key)? else {
            // Nothing visible; a stray ref (or seal) from a crash between the links goes too.
            ignore_missing(std::fs::remove_file(self.seal_path(key)))?;
            return ignore_missing(std::fs::remove_file(self.ref_path(key)));
        };
        std::fs::remove_file(self.key_path(key))?;
        ignore_missing(std::fs::remove_file(self.ref_path(key)))?;
        // Last, so that a crash before it leaves the key unwritable, not the bytes unsealed.
        ignore_missing(std::fs::remove_file(self.seal_path(key)))?;
        self.collect(&hash)
    }

    fn write_blocking(&self, key: &str, bytes: &[u8]) -> io::Result<bool> {
        let objects = self.inner.root.join("objects");
        std::fs::create_dir_all(&objects)?;
        let temp = TempFile(objects.join(format!(".tmp-{}", uuid::Uuid::new_v4())));
        let mut file = std::fs::File::create(&temp.0)?;
        io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
        drop(file);
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        self.commit(temp, &sha256, key)
    }

    fn list_blocking(&self, prefix: &str) -> io::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pending = vec![(self.inner.root.join("keys"), String::new())];
        while let Some((dir, at)) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                if name.starts_with('.') {
                    continue; // a link being replaced
                }
                let key = if at.is_empty() { name } else { format!("{at}/{name}") };
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    // Descend only where the prefix can still match.
                    if key.starts_with(prefix) || prefix.starts_with(&format!("{key}/")) {
                        pending.push((entry.path(), key));
                    }
                } else if kind.is_symlink() && key.starts_with(prefix) {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> io::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || work(&this))
            .await
            .map_err(|e| StoreError::Io(e.to_string()))?
            .map_err(io_store)
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalStore {
    async fn upload_request(&self, key: &str, declared: &Declared, ttl: Duration) -> Result<SignedRequest, StoreError> {
        validate_key(key)?;
        let expires_at = expiry(Utc::now(), ttl)?;
        let expires = expires_at.timestamp();
        let size = declared.size;
        let sig = self.sign(&upload_message(key, expires, size));
        let base = &self.inner.public_base_url;
        Ok(SignedRequest {
            url: format!("{base}/v1/blobs/{key}?expires={expires}&size={size}&sig={sig}"),
            method: "PUT",
            headers: BTreeMap::from([("content-length".to_owned(), size.to_string())]),
            expires_at,
        })
    }

    async fn stat(&self, key: &str) -> Result<Stored, StoreError> {
        validate_key(key)?;
        let key = key.to_owned();
        self.blocking(move |this| {
            let Some(hash) = this.linked_hash(&key)? else {
                return Err(io::ErrorKind::NotFound.into());
            };
            let size = std::fs::metadata(this.object_path(&hash))?.len();
            let mut sha256 = [0; 32];
            hex::decode_to_slice(&hash, &mut sha256).map_err(io::Error::other)?;
            Ok(Stored { size, sha256 })
        })
        .await
    }

    async fn download_url(&self, key: &str, ttl: Duration, shown: &Presentation) -> Result<String, StoreError> {
        validate_key(key)?;
        let expires = expiry(Utc::now(), ttl)?.timestamp();
        let sig = self.sign(&download_message(key, expires, shown));
        // Both were checked by `Presentation::new`; only the `+` a type may hold needs escaping.
        let content_type = shown.content_type.replace('+', "%2B");
        Ok(format!(
            "{}/v1/blobs/{key}?expires={expires}&type={content_type}&name={}&sig={sig}",
            self.inner.public_base_url, shown.filename
        ))
    }

    async fn seal(&self, key: &str) -> Result<String, StoreError> {
        validate_key(key)?;
        let owned = key.to_owned();
        self.blocking(move |this| this.seal_blocking(&owned)).await?;
        Ok(key.to_owned())
    }

    async fn read(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        validate_key(key)?;
        tokio::fs::read(self.key_path(key)).await.map_err(io_store)
    }

    async fn read_prefix(&self, key: &str, n: usize) -> Result<Vec<u8>, StoreError> {
        use tokio::io::AsyncReadExt as _;
        validate_key(key)?;
        let file = tokio::fs::File::open(self.key_path(key)).await.map_err(io_store)?;
        let mut out = Vec::with_capacity(n.min(1 << 20));
        file.take(n as u64).read_to_end(&mut out).await.map_err(io_store)?;
        Ok(out)
    }

    /// `mime` is not kept: the download URL carries the type.
    async fn write(&self, key: &str, bytes: Vec<u8>, _mime: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        let key = key.to_owned();
        if self.blocking(move |this| this.write_blocking(&key, &bytes)).await? {
            Ok(())
        } else {
            Err(StoreError::Sealed)
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        let key = key.to_owned();
        self.blocking(move |this| this.delete_blocking(&key)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.to_owned();
        self.blocking(move |this| this.list_blocking(&prefix)).await
    }
}

/// What an upload URL signs. Keys cannot contain `|` (see `validate_key`),
/// so the fields cannot be shifted into one another.
fn upload_message(key: &str, expires: i64, size: u64) -> String {
    format!("PUT|{key}|{expires}|{size}")
}

/// The content type and file name cannot contain `|` (see `Presentation::new`).
fn download_message(key: &str, expires: i64, shown: &Presentation) -> String {
    format!("GET|{key}|{expires}|{}|{}", shown.content_type, shown.filename)
}

/// A temporary file removed when dropped, unless it was renamed away first.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        // Already renamed (the usual case) or never created: nothing to do.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Makes `path` (a link) by creating it under a temporary name next to it
/// and renaming over `path`, so readers see the old link or the new one.
fn replace_with(path: &Path, make: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let parent = path.parent().expect("link has a parent folder");
    std::fs::create_dir_all(parent)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let temp = TempFile(parent.join(format!(".{name}.tmp-{}", uuid::Uuid::new_v4())));
    make(&temp.0)?;
    std::fs::rename(&temp.0, path)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[expect(clippy::needless_pass_by_value, reason = "used as a map_err function")]
fn io_store(e: io::Error) -> StoreError {
    if e.kind() == io::ErrorKind::NotFound { StoreError::NotFound } else { StoreError::Io(e.to_string()) }
}

#[expect(clippy::needless_pass_by_value, reason = "used as a map_err function")]
fn io_refused(e: io::Error) -> UploadRefused {
    UploadRefused::Io(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder removed at the end of the test.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("fieldvisit-local-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn store(&self) -> LocalStore {
            LocalStore::new(self.0.clone(), "http://files.test/".into(), b"test secret".to_vec())
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn declared(bytes: &[u8]) -> Declared {
        Declared { size: bytes.len() as u64, sha256: Sha256::digest(bytes).into(), mime: "image/jpeg".into() }
    }

    /// The query of a signed URL, as the route would parse it.
    fn query(url: &str) -> BTreeMap<String, String> {
        let (_, q) = url.split_once('?').unwrap();
        q.split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    fn chunks(
        parts: Vec<Result<&'static [u8], &'static str>>,
    ) -> impl Stream<Item = Result<Bytes, &'static str>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|p| p.map(Bytes::from_static)))
    }

    /// Everything in `objects/` (no temporary files may remain).
    fn objects(scratch: &Scratch) -> Vec<String> {
        match std::fs::read_dir(scratch.0.join("objects")) {
            Ok(dir) => dir.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
            Err(_) => Vec::new(),
        }
    }

    #[tokio::test]
    async fn upload_urls_are_bound_to_key_size_and_time() {
        let scratch = Scratch::new();
        let store = scratch.store();
        let key = "photos/0190a0b1-7c2e-7000-8000-000000000001";
        let req = store.upload_request(key, &declared(b"12345"), Duration::from_mins(10)).await.unwrap();
        assert_eq!(req.method, "PUT");
        assert!(req.url.starts_with(&format!("http://files.test/v1/blobs/{key}?")), "{}", req.url);
        assert_eq!(req.headers["content-length"], "5");
        let q = query(&req.url);
        let expires: i64 = q["expires"].parse().unwrap();
        assert_eq!(expires, req.expires_at.timestamp());
        let sig = &q["sig"];
        let now = Utc::now();

        store.check_upload(key, expires, 5, sig, now).unwrap();
        let forbidden = |r: Result<(), UploadRefused>| matches!(r, Err(UploadRefused::Forbidden(_)));
        assert!(forbidden(store.check_upload("photos/other", expires, 5, sig, now)), "tampered key");
        assert!(forbidden(store.check_upload(key, expires, 6, sig, now)), "tampered size");
        assert!(forbidden(store.check_upload(key, expires + 3600, 5, sig, now)), "tampered expiry");
        assert!(forbidden(store.check_upload(key, expires, 5, "zz", now)), "malformed signature");
        assert!(forbidden(store.check_upload(key, expires, 5, &sig.replace('a', "b").replace('0', "1"), now)));
        let later = DateTime::from_timestamp(expires + 1, 0).unwrap();
        assert!(forbidden(store.check_upload(key, expires, 5, sig, later)), "expired");
        // A download signature is not an upload signature, and vice versa.
        let shown = Presentation::new("image/jpeg", "a.jpg").unwrap();
        let url = store.download_url(key, Duration::from_mins(1), &shown).await.unwrap();
        let d = query(&url);
        assert_eq!((d["type"].as_str(), d["name"].as_str()), ("image/jpeg", "a.jpg"));
        let d_expires: i64 = d["expires"].parse().unwrap();
        store.check_download(key, d_expires, &shown, &d["sig"], now).unwrap();
        assert!(forbidden(store.check_upload(key, d_expires, 5, &d["sig"], now)));
        assert!(forbidden(store.check_download(key, expires, &shown, sig, now)));
        assert!(forbidden(store.check_download("photos/other", d_expires, &shown, &d["sig"], now)));
        // The type and the name are signed: a URL cannot be made to serve the
        // bytes as another type (HTML, say) or under another name.
        let html = Presentation::new("text/html", "a.jpg").unwrap();
        assert!(forbidden(store.check_download(key, d_expires, &html, &d["sig"], now)));
        let renamed = Presentation::new("image/jpeg", "a.exe").unwrap();
        assert!(forbidden(store.check_download(key, d_expires, &renamed, &d["sig"], now)));
        let other = LocalStore::new(scratch.0.clone(), "http://files.test".into(), b"another secret".to_vec());
        assert!(forbidden(other.check_upload(key, expires, 5, sig, now)), "other server's secret");
    }

    #[tokio::test]
    async fn receive_stores_and_stat_measures() {
        let scratch = Scratch::new();
        let store = scratch.store();
        let stored = store.receive("photos/a", 11, chunks(vec![Ok(b"hello "), Ok(b"world")])).await.unwrap();
        let expected = Stored { size: 11, sha256: Sha256::digest(b"hello world").into() };
        assert_eq!(stored, expected);
        assert_eq!(store.stat("photos/a").await.unwrap(), expected);
        assert_eq!(store.read("photos/a").await.unwrap(), b"hello world");
        assert_eq!(std::fs::read(store.path_of("photos/a").unwrap()).unwrap(), b"hello world");
        assert_eq!(objects(&scratch), vec![hex::encode(expected.sha256)]);
    }

    #[tokio::test]
    async fn an_interrupted_upload_leaves_nothing() {
        let scratch = Scratch::new();
        let store = scratch.store();
        let broken = chunks(vec![Ok(b"hello "), Err("connection reset")]);
        assert!(matches!(store.receive("photos/a", 11, broken).await, Err(UploadRefused::ShortBody)));
        let short = chunks(vec![Ok(b"hello ")]);
        assert!(matches!(store.receive("photos/a", 11, short).await, Err(UploadRefused::ShortBody)));
        assert!(matches!(store.stat("photos/a").await, Err(StoreError::NotFound)));
        assert!(store.path_of("photos/a").is_none());
        assert!(objects(&scratch).is_empty(), "{:?}", objects(&scratch));

        // A failed retry does not damage what an earlier upload stored.
        store.receive("photos/a", 5, chunks(vec![Ok(b"first")])).await.unwrap();
        let broken = chunks(vec![Ok(b"sec"), Err("reset")]);
        assert!(store.receive("photos/a", 6, broken).await.is_err());
        assert_eq!(store.read("photos/a").await.unwrap(), b"first");
        assert_eq!(objects(&scratch).len(), 1);
    }

    #[tokio::test]
    async fn a_body_past_the_signed_size_is_cut_off() {
        let scratch = Scratch::new();
        let store = scratch.store();
        let long = chunks(vec![Ok(b"hello "), Ok(b"world"), Ok(b"!")]);
        assert!(matches!(store.receive("photos/a", 11, long).await, Err(UploadRefused::TooLarge)));
        assert!(matches!(store.stat("photos/a").await, Err(StoreError::NotFound)));
        assert!(objects(&scratch).is_empty());
    }

    #[tokio::test]
    async fn shared_content_lives_until_its_last_key_goes() {
        let scratch = Scratch::new();
        let store = scratch.store();
        store.write("photos/a", b"same".to_vec(), "image/jpeg").await.unwrap();
        store.write("photos/b", b"same".to_vec(), "image/jpeg").await.unwrap();
        assert_eq!(objects(&scratch).len(), 1);
        store.delete("photos/a").await.unwrap();
        store.delete("photos/a").await.unwrap();
        assert_eq!(store.read("photos/b").await.unwrap(), b"same");
        // Replacing b's bytes frees the old object.
        store.write("photos/b", b"other".to_vec(), "image/jpeg").await.unwrap();
        assert_eq!(objects(&scratch), vec![hex::encode(Sha256::digest(b"other"))]);
        store.write("thumbnails/b.jpg", b"t".to_vec(), "image/jpeg").await.unwrap();
        assert_eq!(store.list("").await.unwrap(), ["photos/b", "thumbnails/b.jpg"]);
        assert_eq!(store.list("photos/").await.unwrap(), ["photos/b"]);
        assert_eq!(store.list("thumb").await.unwrap(), ["thumbnails/b.jpg"]);
        store.delete("photos/b").await.unwrap();
        store.delete("thumbnails/b.jpg").await.unwrap();
        assert!(objects(&scratch).is_empty());
        assert!(store.list("").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_sealed_key_refuses_every_upload_and_write_until_deleted() {
        let scratch = Scratch::new();
        let store = scratch.store();
        assert!(matches!(store.seal("photos/a").await, Err(StoreError::NotFound)), "nothing to seal");
        store.receive("photos/a", 5, chunks(vec![Ok(b"first")])).await.unwrap();
        assert_eq!(store.seal("photos/a").await.unwrap(), "photos/a", "the key stays");
        assert_eq!(store.seal("photos/a").await.unwrap(), "photos/a", "idempotent");
        let replay = chunks(vec![Ok(b"other")]);
        assert!(matches!(store.receive("photos/a", 5, replay).await, Err(UploadRefused::Sealed)));
        assert!(matches!(store.write("photos/a", b"other".to_vec(), "image/jpeg").await, Err(StoreError::Sealed)));
        assert_eq!(store.read("photos/a").await.unwrap(), b"first");
        assert_eq!(objects(&scratch), vec![hex::encode(Sha256::digest(b"first"))], "no temporary file left");
        // Other keys are not affected; a delete ends the seal with the bytes.
        store.receive("photos/b", 5, chunks(vec![Ok(b"other")])).await.unwrap();
        store.delete("photos/a").await.unwrap();
        store.receive("photos/a", 6, chunks(vec![Ok(b"second")])).await.unwrap();
        assert_eq!(store.read("photos/a").await.unwrap(), b"second");
    }

    /// An upload that was streaming when `complete` sealed the key does not
    /// land: the seal is checked again under the lock the commit takes.
    #[tokio::test]
    async fn an_upload_under_way_when_the_key_is_sealed_does_not_land() {
        let scratch = Scratch::new();
        let store = scratch.store();
        store.receive("photos/a", 5, chunks(vec![Ok(b"first")])).await.unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, &'static str>>();
        let body =
            Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|part| (part, rx)) }));
        tx.send(Ok(Bytes::from_static(b"oth"))).unwrap();
        let uploading = tokio::spawn({
            let store = store.clone();
            async move { store.receive("photos/a", 5, body).await }
        });
        // Let the upload start streaming, then seal, then finish the body.
        tokio::time::sleep(Duration::from_millis(50)).await;
        store.seal("photos/a").await.unwrap();
        tx.send(Ok(Bytes::from_static(b"er"))).unwrap();
        drop(tx);
        assert!(matches!(uploading.await.unwrap(), Err(UploadRefused::Sealed)));
        assert_eq!(store.read("photos/a").await.unwrap(), b"first");
        assert_eq!(objects(&scratch).len(), 1, "{:?}", objects(&scratch));
    }

    #[tokio::test]
    async fn keys_cannot_escape_the_root() {
        let scratch = Scratch::new();
        let store = scratch.store();
        for key in ["../x", "/etc/passwd", "photos/../../x"] {
            assert!(store.path_of(key).is_none());
            assert!(matches!(store.read(key).await, Err(StoreError::InvalidKey(_))));
            assert!(matches!(store.write(key, vec![1], "image/jpeg").await, Err(StoreError::InvalidKey(_))));
            let stream = chunks(vec![Ok(b"x")]);
            assert!(matches!(store.receive(key, 1, stream).await, Err(UploadRefused::Forbidden(_))));
        }
    }
}
