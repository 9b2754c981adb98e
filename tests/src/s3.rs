//! A real S3-protocol server for tests: `s3s-fs` in-process, serving a
//! temporary folder over HTTP on a free port, with SigV4 authentication
//! enforced — so the S3 store is tested against signature, expiry and
//! checksum checks done by a server, not against a mock of the client.

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// A running S3 server with one empty bucket. Stops, and removes its
/// folder, when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`; requests must be path-style.
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    folder: PathBuf,
    task: JoinHandle<()>,
}

impl S3Server {
    /// Starts the server on `127.0.0.1:0` with a bucket named `fieldvisit`.
    pub async fn start() -> Self {
        let folder = std::env::temp_dir().join(format!("fieldvisit-s3-{}", uuid::Uuid::new_v4()));
        let bucket = "fieldvisit".to_owned();
        // s3s-fs keeps a bucket as a folder under its root.
        std::fs::create_dir_all(folder.join(&bucket)).expect("creating the S3 folder");
        let access_key = format!("AK{}", uuid::Uuid::new_v4().simple()).to_uppercase();
        let secret_key = format!("sk-{}", uuid::Uuid::new_v4());

        let fs = s3s_fs::FileSystem::new(&folder).expect("s3s-fs on the folder");
        let mut builder = S3ServiceBuilder::new(fs);
        // With auth set, unsigned and wrongly signed requests are refused.
        builder.set_auth(SimpleAuth::from_single(access_key.clone(), secret_key.clone()));
        let service = builder.build();

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the S3 port");
        let endpoint = format!("http://{}", listener.local_addr().expect("S3 address"));
        let task = tokio::spawn(async move {
            // Owned here, so aborting the accept loop drops (aborts) every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                connections.spawn(async move {
                    let io = TokioIo::new(socket);
                    // A client hanging up mid-request is a test scenario, not a failure.
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Self { endpoint, bucket, access_key, secret_key, folder, task }
    }

    /// Where an object `key` of the bucket lives on disk. A file put there
    /// directly is served as an object with no stored checksum, the way
    /// some S3-compatible services serve objects.
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.folder.join(&self.bucket).join(Path::new(key))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
