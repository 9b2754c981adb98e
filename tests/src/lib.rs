//! End-to-end test support, against a fresh PostGIS database per test,
//! driven over HTTP on a free port of the loopback:
//!
//! - [`Server::in_process`]: the same router `main` builds (`fieldvisit::app::app`),
//!   served inside the test process on the test's `#[sqlx::test]` database,
//!   which the test loads with small SQL fixtures (`tests/fixtures/`). Most
//!   tests use this: it starts in milliseconds and the test's data is exactly
//!   what its fixtures hold.
//! - [`Server::demo`] / [`Server::start`]: the real `fieldvisit` binary, for
//!   what needs it (the embedded cluster, signals, the demo, the simulator,
//!   the listener's own timeouts, the metrics listener, database loss).
//!
//! Both answer the same `call`/`get`/`login` methods.

pub mod bench;
pub mod browser;
pub mod pg_cluster;
pub mod proxy;
pub mod s3;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// The `fieldvisit` binary: `FIELDVISIT_BIN`, or built on demand next to this test.
pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("FIELDVISIT_BIN") {
        return PathBuf::from(bin);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "-q", "-p", "fieldvisit", "--bin", "fieldvisit"])
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building fieldvisit failed");
    // target/debug/deps/<test> -> target/debug/fieldvisit
    let exe = std::env::current_exe().expect("current exe");
    exe.parent().and_then(|d| d.parent()).expect("target dir").join("fieldvisit")
}

/// A URL to the database behind `pool` (a per-test database of `sqlx::test`).
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set by .ci/test");
    let name = pool.connect_options().get_database().expect("test database name").to_owned();
    let (head, _) = base.rsplit_once('/').expect("DATABASE_URL ends with /dbname");
    format!("{head}/{name}")
}

/// A running server: a child process (killed when dropped) or the app in
/// this process (stopped when dropped).
pub struct Server {
    child: Option<Child>,
    _in_process: Option<InProcess>,
    pub base: String,
    pub http: reqwest::Client,
    pub stdout: Vec<String>,
}

/// The app served inside the test process, on a thread and runtime of its
/// own (multi-threaded like `main`'s, so that the test's client and the
/// server never share one thread). When dropped it stops serving, closes its
/// database pool (waiting a few seconds at most, so that the test's database
/// can be dropped after it) and removes its private data folder.
struct InProcess {
    stop: CancellationToken,
    /// In a mutex only so that a `Server` is `Sync` (a receiver is not).
    stopped: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    data_dir: PathBuf,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Ok(stopped) = self.stopped.get_mut() {
            let _ = stopped.recv_timeout(Duration::from_secs(5));
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// The flags of `fieldvisit serve`, to build its configuration in process.
#[derive(clap::Parser)]
struct Flags {
    #[command(flatten)]
    config: fieldvisit::config::Config,
}

/// The server's configuration as the binary would read it with the
/// environment `env` (variable names as `--help` lists them, e.g.
/// `FIELDVISIT_ACCESS_TTL`) on the test's database, with a private data folder.
fn config_for(pool: &PgPool, data_dir: &std::path::Path, env: &[(&str, &str)]) -> fieldvisit::config::Config {
    use clap::{CommandFactory, Parser};
    let command = Flags::command();
    let mut args = vec![
        "fieldvisit".to_owned(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ];
    args.extend(["--database-url".into(), database_url(pool)]);
    for (name, value) in env {
        let arg = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == std::ffi::OsStr::new(name)))
            .unwrap_or_else(|| panic!("{name} is not a setting of the server"));
        args.push(format!("--{}", arg.get_long().expect("every setting has a flag")));
        args.push((*value).to_owned());
    }
    Flags::try_parse_from(args).unwrap_or_else(|e| panic!("settings {env:?}: {e}")).config
}

impl Server {
    /// The app in this process on the test's database, which `#[sqlx::test]`
    /// has migrated and loaded with the test's fixtures: the same database
    /// opening, state, router and serve loop as `fieldvisit serve`, on
    /// `127.0.0.1:0`, with the thumbnailer; no signal handlers and no
    /// metrics listener (the tests of those start the binary).
    pub async fn in_process(pool: &PgPool) -> Self {
        Self::in_process_with(pool, &[]).await
    }

    /// [`Server::in_process`] with settings given as the binary's environment
    /// variables (e.g. a short token lifetime).
    pub async fn in_process_with(pool: &PgPool, env: &[(&str, &str)]) -> Self {
        let data_dir = std::env::temp_dir().join(format!("fieldvisit-test-{}", uuid::Uuid::new_v4()));
        let config = config_for(pool, &data_dir, env);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fieldvisit-in-process")
            .enable_all()
            .build()
            .expect("a runtime for the server");
        let stop = CancellationToken::new();
        let serving = stop.clone();
        let (started, base) = tokio::sync::oneshot::channel::<Result<String, String>>();
        let (done, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(listener) => listener,
                    Err(e) => return drop(started.send(Err(format!("binding 127.0.0.1:0: {e}")))),
                };
                let base = format!("http://{}", listener.local_addr().expect("bound address"));
                let public_url = config.public_url.clone().unwrap_or_else(|| base.clone());
                let db = match fieldvisit::server::open_database(&config).await {
                    Ok(db) => db,
                    Err(e) => return drop(started.send(Err(format!("{e:#}")))),
                };
                let state = match fieldvisit::server::app_state(&config, &db.pool, &public_url).await {
                    Ok(state) => state,
                    Err(e) => return drop(started.send(Err(format!("{e:#}")))),
                };
                let timeouts = fieldvisit::listener::Timeouts {
                    header_read: Duration::from_secs_f64(config.header_read_timeout_s),
                    idle: Duration::from_secs_f64(config.idle_timeout_s),
                };
                fieldvisit::photos::processing::spawn_thumbnailer(state.db.clone(), state.photos.clone());
                let _ = started.send(Ok(base));
                fieldvisit::listener::serve(listener, fieldvisit::app::app(state), timeouts, serving).await;
                db.pool.close().await;
            });
            runtime.shutdown_background();
            let _ = done.send(());
        });
        let base = base
            .await
            .expect("the server thread answers")
            .unwrap_or_else(|e| panic!("starting the app in process: {e}"));
        let in_process = InProcess { stop, stopped: std::sync::Mutex::new(stopped), data_dir };
        // The fixture's rows were logged in the test's setup transaction; the
        // setup of a test starting beside this one holds the cluster-wide pull
        // horizon back for a moment, and a first pull would miss them.
        wait_for_pull_horizon(pool).await;
        Self { child: None, _in_process: Some(in_process), base, http: reqwest::Client::new(), stdout: Vec::new() }
    }

    /// `fieldvisit demo` on the test's database: the demo township, served.
    pub async fn demo(pool: &PgPool) -> Self {
        Self::start(&["demo"], &[("DATABASE_URL", database_url(pool).as_str())]).await
    }

    /// `fieldvisit demo` with extra environment (e.g. a short token lifetime).
    pub async fn demo_with(pool: &PgPool, env: &[(&str, &str)]) -> Self {
        let url = database_url(pool);
        let mut all = vec![("DATABASE_URL", url.as_str())];
        all.extend_from_slice(env);
        Self::start(&["demo"], &all).await
    }

    /// Starts the binary with `args` plus `--listen 127.0.0.1:0` and waits for its banner.
    pub async fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(binary());
        cmd.args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawning fieldvisit");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut stdout = Vec::new();
        let base = tokio::time::timeout(Duration::from_mins(2), async {
            while let Some(line) = lines.next_line().await.expect("reading stdout") {
                stdout.push(line.clone());
                if let Some(url) = line.strip_prefix("fieldvisit listening on ") {
                    return url.trim().to_owned();
                }
            }
            panic!("fieldvisit exited before listening: {stdout:?}");
        })
        .await
        .expect("fieldvisit did not start within 120 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        // Collect the banner lines printed right after the first one.
        tokio::time::sleep(Duration::from_millis(50)).await;
        stdout.extend(rx.try_iter());
        Self { child: Some(child), _in_process: None, base, http: reqwest::Client::new(), stdout }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("a server started from the binary (this one runs in process)")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("a server started from the binary (this one runs in process)").id().expect("running")
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.pid();
        std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
        tokio::time::timeout(Duration::from_mins(1), self.child().wait())
            .await
            .expect("exit within 60 s")
            .expect("wait")
    }

    /// Sends SIGKILL, as a crash or the OOM killer would, and waits until it is gone.
    pub async fn kill(mut self) {
        self.child().start_kill().expect("SIGKILL");
        tokio::time::timeout(Duration::from_secs(30), self.child().wait())
            .await
            .expect("gone within 30 s")
            .expect("wait");
    }

    /// Signs in and returns the access token.
    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self.login_full(username, "fieldvisit").await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn login_full(&self, username: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            None,
            "/v1/auth/login",
            Some(&serde_json::json!({"username": username, "password": password})),
        )
        .await
    }

    /// A JSON request; answers the status and the JSON body (Null when empty).
    pub async fn call(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    /// A request with a raw body and content type.
    pub async fn call_raw(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req =
            self.http.request(method, format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    /// Sends a body larger than the server accepts over a raw connection,
    /// reading the answer while still writing: a server refuses such a body
    /// before reading it, which an ordinary client reports as a broken request.
    pub async fn call_oversize(
        &self,
        method: &Method,
        token: Option<&str>,
        path: &str,
        size: usize,
    ) -> (StatusCode, Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://").to_owned();
        let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{auth}content-length: {size}\r\nconnection: close\r\n\r\n"
        );
        let write = tokio::spawn(async move {
            let _ = writer.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < size {
                if writer.write_all(&chunk[..chunk.len().min(size - sent)]).await.is_err() {
                    break;
                }
                sent += chunk.len();
            }
        });
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut raw)).await;
        write.abort();
        let text = String::from_utf8_lossy(&raw);
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {text}"));
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        // A chunked answer starts with its length line; the JSON starts at the brace.
        let json = body.find('{').and_then(|i| body.rfind('}').map(|j| &body[i..=j])).unwrap_or("null");
        (StatusCode::from_u16(status).expect("status"), serde_json::from_str(json).unwrap_or(Value::Null))
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, Some(token), path, None).await
    }

    async fn answer(res: reqwest::Response) -> (StatusCode, Value) {
        let status = res.status();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, body)
    }
}

/// Asserts the JSON error shape and returns the error code.
pub fn error_code(body: &Value) -> &str {
    let err = &body["error"];
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "error without a message: {body}");
    err["code"].as_str().unwrap_or_else(|| panic!("not the error shape: {body}"))
}

/// Waits until every change logged so far in the test's database lies below
/// the cluster-wide pull horizon, so that a bootstrap pull returns all of it.
/// A pull never returns what a still-open transaction could precede (that is
/// how it never skips a late commit), and the horizon is shared by the whole
/// cluster: another test holding a transaction open holds it back for a while.
pub async fn wait_for_pull_horizon(pool: &PgPool) {
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    loop {
        let passed: bool = sqlx::query_scalar(
            "SELECT NOT EXISTS (SELECT FROM sync_changes WHERE xid >= pg_snapshot_xmin(pg_current_snapshot()))",
        )
        .fetch_one(pool)
        .await
        .expect("reading the pull horizon");
        if passed {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pull horizon did not pass this test's changes within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
