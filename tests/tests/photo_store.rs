//! The blob-store suite, run unchanged against both stores through
//! `Arc<dyn BlobStore>`: the local folder behind a small axum server that
//! plays the upload/download route, and the S3 store against a real
//! S3-protocol server (`s3s-fs`, signatures checked). Devices are played by
//! reqwest using only what `upload_request` and `download_url` returned.
//! No database is needed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use fieldvisit::photos::local::{LocalStore, UploadRefused};
use fieldvisit::photos::s3::{S3Settings, S3Store};
use fieldvisit::photos::store::{BlobStore, Declared, Presentation, SignedRequest, StoreError, Stored};
use fieldvisit_tests::s3::S3Server;
use sha2::{Digest as _, Sha256};

/// A store under test and what keeps its server alive.
struct Subject {
    store: Arc<dyn BlobStore>,
    /// S3 refuses a body whose checksum differs from the signed one; the
    /// local store finds out only at `stat`.
    server_checks_hash: bool,
    /// The local store keeps a sealed upload under its key and refuses
    /// uploads to it (409); S3 moves it out of the URL's reach.
    sealed_in_place: bool,
    _server: Box<dyn Send>,
}

/// The local store, served by a stand-in for the real `/v1/blobs/{key}` route.
struct LocalServer {
    root: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

async fn local() -> Subject {
    let root = std::env::temp_dir().join(format!("fieldvisit-blobs-{}", uuid::Uuid::new_v4()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let store = LocalStore::new(root.clone(), base, b"test secret".to_vec());
    let app = Router::new().route("/v1/blobs/{*key}", put(receive).get(send)).with_state(store.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Subject {
        store: Arc::new(store),
        server_checks_hash: false,
        sealed_in_place: true,
        _server: Box::new(LocalServer { root, task }),
    }
}

async fn s3() -> Subject {
    let server = S3Server::start().await;
    let store = S3Store::new(settings(&server, &server.secret_key));
    Subject { store: Arc::new(store), server_checks_hash: true, sealed_in_place: false, _server: Box::new(server) }
}

fn settings(server: &S3Server, secret_key: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(server.endpoint.clone()),
        region: "cn-north-1".into(),
        bucket: server.bucket.clone(),
        access_key: server.access_key.clone(),
        secret_key: secret_key.into(),
        path_style: true,
    }
}

fn refused(e: &UploadRefused) -> StatusCode {
    match e {
        UploadRefused::Forbidden(_) => StatusCode::FORBIDDEN,
        UploadRefused::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UploadRefused::ShortBody => StatusCode::BAD_REQUEST,
        UploadRefused::Sealed => StatusCode::CONFLICT,
        UploadRefused::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn param<T: std::str::FromStr>(q: &HashMap<String, String>, name: &str) -> Option<T> {
    q.get(name)?.parse().ok()
}

async fn receive(
    State(store): State<LocalStore>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> StatusCode {
    let (Some(expires), Some(size), Some(sig)) = (param(&q, "expires"), param(&q, "size"), q.get("sig")) else {
        return StatusCode::BAD_REQUEST;
    };
    if let Err(e) = store.check_upload(&key, expires, size, sig, chrono::Utc::now()) {
        return refused(&e);
    }
    match store.receive(&key, size, body.into_data_stream()).await {
        Ok(_) => StatusCode::OK,
        Err(e) => refused(&e),
    }
}

async fn send(
    State(store): State<LocalStore>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(expires), Some(sig), Some(content_type), Some(name)) =
        (param(&q, "expires"), q.get("sig"), q.get("type"), q.get("name"))
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(shown) = Presentation::new(content_type, name) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    if let Err(e) = store.check_download(&key, expires, &shown, sig, chrono::Utc::now()) {
        return refused(&e).into_response();
    }
    match store.path_of(&key) {
        Some(path) => (
            [("content-type", shown.content_type.clone()), ("content-disposition", shown.disposition())],
            tokio::fs::read(path).await.unwrap(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Deterministic, non-repeating test bytes.
fn photo(len: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block: [u8; 32] = Sha256::digest([seed]).into();
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(block).into();
    }
    out.truncate(len);
    out
}

fn declared(bytes: &[u8]) -> Declared {
    Declared { size: bytes.len() as u64, sha256: Sha256::digest(bytes).into(), mime: "image/jpeg".into() }
}

/// PUTs `body` as a device would, with the signed headers (all of them, or
/// all but `content-length`, to let the body's real length through).
async fn upload(req: &SignedRequest, body: Vec<u8>, with_length: bool) -> StatusCode {
    upload_to(&req.url, req, body, with_length).await
}

async fn upload_to(url: &str, req: &SignedRequest, body: Vec<u8>, with_length: bool) -> StatusCode {
    assert_eq!(req.method, "PUT");
    let mut put = reqwest::Client::new().put(url);
    for (name, value) in &req.headers {
        if with_length || name != "content-length" {
            put = put.header(name.as_str(), value.as_str());
        }
    }
    put.body(body).send().await.expect("upload request").status()
}

async fn get(url: &str) -> (StatusCode, Vec<u8>) {
    let resp = reqwest::get(url).await.expect("download request");
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

/// A download's `Content-Type` and `Content-Disposition`, and the SHA-256 of its body.
async fn download(url: &str) -> (String, String, [u8; 32]) {
    let resp = reqwest::get(url).await.expect("download request");
    assert_eq!(resp.status(), StatusCode::OK);
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    (content_type, disposition, Sha256::digest(resp.bytes().await.unwrap()).into())
}

fn shown() -> Presentation {
    Presentation::new("image/jpeg", "one.jpg").unwrap()
}

/// Changes the last character of a hex signature at the end of `url`.
fn flip_last(url: &str) -> String {
    let mut url = url.to_owned();
    let last = url.pop().unwrap();
    url.push(if last == '0' { '1' } else { '0' });
    url
}

const TTL: Duration = Duration::from_mins(5);

async fn suite(subject: Subject) {
    let store = subject.store;

    // The whole flow: signed PUT, the store's own measurement, signed GET.
    let bytes = photo(700_000, 1);
    let d = declared(&bytes);
    let req = store.upload_request("photos/one", &d, TTL).await.unwrap();
    assert_eq!(req.headers["content-length"], "700000");
    if subject.server_checks_hash {
        assert!(req.headers.contains_key("x-amz-checksum-sha256"), "{:?}", req.headers);
    }
    assert!(req.expires_at > chrono::Utc::now() + chrono::Duration::seconds(290));
    assert_eq!(upload(&req, bytes.clone(), true).await, StatusCode::OK);
    assert_eq!(store.stat("photos/one").await.unwrap(), Stored { size: d.size, sha256: d.sha256 });
    assert_eq!(store.read("photos/one").await.unwrap(), bytes);
    let url = store.download_url("photos/one", TTL, &shown()).await.unwrap();
    assert_eq!(get(&url).await, (StatusCode::OK, bytes.clone()));
    // The download says what it is: the photo's type and a file name.
    let (content_type, disposition, _) = download(&url).await;
    assert_eq!(content_type, "image/jpeg");
    assert_eq!(disposition, "inline; filename=\"one.jpg\"");
    // The type is part of the signature: a URL cannot be turned into an HTML page.
    let as_html = url.replace("image%2Fjpeg", "text%2Fhtml").replace("image/jpeg", "text/html");
    assert_ne!(as_html, url);
    assert_eq!(get(&as_html).await.0, StatusCode::FORBIDDEN, "download URL with another type");

    // Sealing (what `complete` does first) puts the bytes beyond the upload
    // URL's reach, though the URL has not expired: replaying it, with other
    // bytes or the same, changes nothing the sealed key holds.
    let sealed = store.seal("photos/one").await.unwrap();
    assert_eq!(store.seal("photos/one").await.unwrap(), sealed, "a retried seal answers the same key");
    assert_eq!(sealed == "photos/one", subject.sealed_in_place, "{sealed}");
    let mut forged = bytes.clone();
    forged[99] ^= 0xff;
    let status = upload(&req, forged, true).await;
    if subject.sealed_in_place {
        assert_eq!(status, StatusCode::CONFLICT, "a sealed key refuses uploads");
    } else {
        assert!(status.is_client_error(), "S3 refuses bytes that fail the signed checksum: {status}");
    }
    let status = upload(&req, bytes.clone(), true).await;
    if subject.sealed_in_place {
        assert_eq!(status, StatusCode::CONFLICT, "even the same bytes");
    }
    assert_eq!(store.stat(&sealed).await.unwrap(), Stored { size: d.size, sha256: d.sha256 });
    let url = store.download_url(&sealed, TTL, &shown()).await.unwrap();
    let (content_type, disposition, sha256) = download(&url).await;
    assert_eq!(sha256, d.sha256, "the sealed bytes hash to the declared SHA-256");
    assert_eq!((content_type.as_str(), disposition.as_str()), ("image/jpeg", "inline; filename=\"one.jpg\""));
    assert!(matches!(store.seal("photos/never").await, Err(StoreError::NotFound)));
    let url = store.download_url(&sealed, TTL, &shown()).await.unwrap();
    assert_eq!(get(&flip_last(&url)).await.0, StatusCode::FORBIDDEN, "tampered download");
    let other = url.replace("photos/one", "photos/two");
    assert_eq!(get(&other).await.0, StatusCode::FORBIDDEN, "download URL used for another key");

    // Bytes other than declared, same length.
    let mut wrong = bytes.clone();
    wrong[1234] ^= 0xff;
    let req = store.upload_request("photos/wrong", &d, TTL).await.unwrap();
    let status = upload(&req, wrong, true).await;
    if subject.server_checks_hash {
        assert_eq!(status, StatusCode::BAD_REQUEST, "S3 refuses a body that fails the signed checksum");
    } else {
        assert_eq!(status, StatusCode::OK);
        let stored = store.stat("photos/wrong").await.unwrap();
        assert_ne!(stored.sha256, d.sha256, "the mismatch shows at stat");
    }

    // A body longer or shorter than signed.
    let small = photo(1000, 2);
    let req = store.upload_request("photos/length", &declared(&small), TTL).await.unwrap();
    let mut longer = small.clone();
    longer.push(0);
    let status = upload(&req, longer, false).await;
    assert!(status.is_client_error(), "longer body: {status}");
    let status = upload(&req, small[..999].to_vec(), false).await;
    assert!(status.is_client_error(), "shorter body: {status}");
    assert!(matches!(store.stat("photos/length").await, Err(StoreError::NotFound)));

    // Tampered upload URLs: another key, a changed signature.
    let status = upload_to(&req.url.replace("photos/length", "photos/stolen"), &req, small.clone(), true).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "upload URL used for another key");
    assert_eq!(upload_to(&flip_last(&req.url), &req, small.clone(), true).await, StatusCode::FORBIDDEN);
    assert!(matches!(store.stat("photos/stolen").await, Err(StoreError::NotFound)));
    assert_eq!(upload(&req, small.clone(), true).await, StatusCode::OK, "the genuine URL still works");

    // Expired.
    let req = store.upload_request("photos/late", &declared(&small), Duration::from_secs(1)).await.unwrap();
    let url = store.download_url(&sealed, Duration::from_secs(1), &shown()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(upload(&req, small.clone(), true).await, StatusCode::FORBIDDEN, "expired upload URL");
    assert_eq!(get(&url).await.0, StatusCode::FORBIDDEN, "expired download URL");

    // Server-side writes, listing by prefix, idempotent delete.
    store.write("thumbnails/one.jpg", b"thumb".to_vec(), "image/jpeg").await.unwrap();
    store.write("thumbnails/two.jpg", b"thumb 2".to_vec(), "image/jpeg").await.unwrap();
    assert_eq!(
        store.stat("thumbnails/two.jpg").await.unwrap(),
        Stored { size: 7, sha256: Sha256::digest(b"thumb 2").into() }
    );
    assert_eq!(store.list("thumbnails/").await.unwrap(), ["thumbnails/one.jpg", "thumbnails/two.jpg"]);
    let photos = store.list("photos/").await.unwrap();
    assert!(photos.contains(&sealed) && photos.contains(&"photos/length".to_owned()), "{photos:?}");
    assert!(photos.iter().all(|k| k.starts_with("photos/")));
    store.delete("thumbnails/one.jpg").await.unwrap();
    store.delete("thumbnails/one.jpg").await.unwrap();
    store.delete("thumbnails/never").await.unwrap();
    assert!(matches!(store.stat("thumbnails/one.jpg").await, Err(StoreError::NotFound)));
    assert!(matches!(store.read("thumbnails/one.jpg").await, Err(StoreError::NotFound)));
    assert_eq!(store.list("thumbnails/").await.unwrap(), ["thumbnails/two.jpg"]);
}

#[tokio::test]
async fn local_store_suite() {
    suite(local().await).await;
}

#[tokio::test]
async fn s3_store_suite() {
    suite(s3().await).await;
}

#[tokio::test]
async fn s3_server_checks_signatures() {
    let server = S3Server::start().await;
    let impostor = S3Store::new(settings(&server, "not the secret"));
    let err = impostor.list("").await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    let err = impostor.write("photos/x", vec![1], "image/jpeg").await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    // An unsigned request is refused too.
    let url = format!("{}/{}/photos/x", server.endpoint, server.bucket);
    let status = reqwest::Client::new().put(&url).body("x").send().await.unwrap().status();
    assert_eq!(status, StatusCode::FORBIDDEN);
    let genuine = S3Store::new(settings(&server, &server.secret_key));
    assert!(genuine.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn s3_stat_measures_objects_without_a_checksum() {
    let server = S3Server::start().await;
    let store = S3Store::new(settings(&server, &server.secret_key));
    let bytes = photo(300_000, 3);
    let path = server.object_path("photos/raw");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let d = declared(&bytes);
    assert_eq!(store.stat("photos/raw").await.unwrap(), Stored { size: d.size, sha256: d.sha256 });
    assert!(matches!(store.stat("photos/none").await, Err(StoreError::NotFound)));
}
