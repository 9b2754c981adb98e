//! The device's line to the server: signs in, keeps its tokens fresh, and
//! retries what can be retried. A phone in the hills sees dropped
//! connections and busy servers all the time; the sync code above only sees
//! answers, or an error it cannot fix by waiting. Bodies of a kilobyte or
//! more (pushes) go zstd-compressed, and answers come compressed
//! (`Accept-Encoding: gzip, zstd`): phones pay for every byte.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::photos::SignedUpload;

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request (a 4xx other than a fixable 401).
    #[error("HTTP {status} {code}: {message}")]
    Http { status: u16, code: String, message: String },
    /// Transport errors and 5xx answers went on past the retry budget.
    #[error("gave up after {attempts} attempts in {elapsed:?}; last: {last}")]
    GaveUp { attempts: u32, elapsed: Duration, last: String },
    /// The server answered 2xx with a body that does not parse.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// The push made no progress: the server stopped before our first mutation
    /// (a gap: the device lost mutations the server never saw).
    #[error("push stalled at mutation {next}: the server has taken up to {server_last}")]
    Stalled { next: i64, server_last: i64 },
}

impl ClientError {
    /// The stable error code of an HTTP refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Http { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Exponential backoff with full jitter, bounded in count and in time.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first wait's upper bound; it doubles on each retry...
    pub base: Duration,
    /// ...up to this.
    pub max_delay: Duration,
    /// No new attempt starts after this much time since the first.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_mins(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): uniform in
    /// [0, min(max_delay, base * 2^(retry-1))], so devices that failed
    /// together do not come back together.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let cap = self.base.saturating_mul(1u32 << retry.saturating_sub(1).min(20)).min(self.max_delay);
        cap.mul_f64(rng.gen_range(0.0..=1.0))
    }
}

/// Faults the simulator injects on purpose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Probability that a sync request's answer is thrown away after the
    /// server handled it: the connection dropped after the commit. The
    /// request is then retried as if the network had failed.
    pub drop_response_rate: f64,
    /// Drop the next this-many successful sync answers, whatever the rate:
    /// for tests and runs that must see the fault happen.
    pub drop_next_answers: u32,
    /// Probability that a photo upload loses its connection part-way through
    /// the body: the store sees a short body and keeps nothing.
    pub cut_upload_rate: f64,
    /// Cut the next this-many photo uploads, whatever the rate.
    pub cut_next_uploads: u32,
}

/// What the connection did, for the simulator's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// HTTP requests sent (retries and sign-ins included).
    pub requests: u64,
    /// Retries after a transport error, a 5xx or a dropped answer.
    pub retries: u64,
    /// Answers thrown away by fault injection.
    pub dropped_responses: u64,
    /// Token refreshes and sign-ins after a 401 (the first sign-in excluded).
    pub reauthentications: u64,
}

#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

#[derive(Debug, Deserialize)]
struct TokenPair {
    access_token: String,
    refresh_token: String,
    user: TokenUser,
}

#[derive(Debug, Deserialize)]
struct TokenUser {
    id: Uuid,
}

/// One request, rebuildable for every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
}

/// How one PUT of a photo's bytes to a signed URL went.
#[derive(Debug)]
pub(crate) enum PutOutcome {
    /// The store answered 2xx: it has the bytes (`complete` checks them).
    Stored,
    /// The store answered with an error status.
    Refused { status: u16, code: String, message: String },
    /// No answer: the connection broke, or fault injection cut the body
    /// (`cut`). The bytes may or may not have all arrived.
    NoAnswer { cut: bool, why: String },
}

/// One try's result, before retrying is decided.
enum Attempt {
    Answer(Vec<u8>),
    Unauthorized,
    Transient(String),
    Refused(ClientError),
}

/// A signed-in session with the server.
pub struct Connection {
    http: reqwest::Client,
    base: String,
    username: String,
    password: String,
    tokens: Option<Tokens>,
    person_id: Option<Uuid>,
    pub retry: RetryPolicy,
    pub faults: Faults,
    pub stats: ConnectionStats,
    rng: StdRng,
}

impl Connection {
    /// `base` is the server's root URL, e.g. `http://127.0.0.1:8080`. Nothing
    /// is sent until the first request; `seed` drives jitter and faults.
    pub fn new(base: &str, username: &str, password: &str, seed: u64) -> Self {
        let http = reqwest::Client::builder()
            // Accept-Encoding: gzip, zstd on every request, answers decoded here.
            .gzip(true)
            .zstd(true)
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("a plain HTTP client builds");
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            tokens: None,
            person_id: None,
            retry: RetryPolicy::default(),
            faults: Faults::default(),
            stats: ConnectionStats::default(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The signed-in person; known after the first request.
    pub fn person_id(&self) -> Option<Uuid> {
        self.person_id
    }

    /// Signs in now (otherwise the first request does).
    pub async fn sign_in(&mut self) -> Result<Uuid, ClientError> {
        let body = json!({ "username": self.username, "password": self.password });
        let pair: TokenPair = self
            .retrying(&Request { method: Method::POST, path: "/v1/auth/login", query: vec![], body: Some(body) }, false)
            .await?;
        self.take(pair);
        Ok(self.person_id.expect("set by take"))
    }

    /// Forgets the access token, as if it had expired: the next request gets
    /// a 401 and refreshes. (For tests of a token expiring mid-sync.)
    pub fn expire_access_token(&mut self) {
        if let Some(t) = &mut self.tokens {
            t.access = "expired".into();
        }
    }

    fn take(&mut self, pair: TokenPair) {
        self.person_id = Some(pair.user.id);
        self.tokens = Some(Tokens { access: pair.access_token, refresh: pair.refresh_token });
    }

    /// After a 401: trade the refresh token for a new pair, or, when that is
    /// refused too (expired, revoked, reused), sign in again.
    async fn reauthenticate(&mut self) -> Result<(), ClientError> {
        self.stats.reauthentications += 1;
        if let Some(refresh) = self.tokens.take().map(|t| t.refresh) {
            let req = Request {
                method: Method::POST,
                path: "/v1/auth/refresh",
                query: vec![],
                body: Some(json!({ "refresh_token": refresh })),
            };
            match self.retrying::<TokenPair>(&req, false).await {
                Ok(pair) => {
                    self.take(pair);
                    return Ok(());
                }
                Err(ClientError::Http { status: 401, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.sign_in().await.map(|_| ())
    }

    /// An authenticated request: signs in first if needed, and once more
    /// after a 401 (a token may expire at any moment of a long sync).
    pub(crate) async fn call<T: DeserializeOwned>(&mut self, req: &Request<'_>) -> Result<T, ClientError> {
        if self.tokens.is_none() {
            self.sign_in().await?;
        }
        match self.retrying(req, true).await {
            Err(ClientError::Http { status: 401, .. }) => {
                self.reauthenticate().await?;
                self.retrying(req, true).await
            }
            other => other,
        }
    }

    /// Sends `req` until it is answered, refused, or the retry budget is spent.
    async fn retrying<T: DeserializeOwned>(&mut self, req: &Request<'_>, authed: bool) -> Result<T, ClientError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let last = match self.attempt(req, authed).await {
                Attempt::Answer(bytes) => {
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| ClientError::Decode(format!("{} {}: {e}", req.method, req.path)));
                }
                Attempt::Unauthorized => {
                    return Err(ClientError::Http {
                        status: 401,
                        code: "unauthorized".into(),
                        message: "not signed in".into(),
                    });
                }
                Attempt::Refused(e) => return Err(e),
                Attempt::Transient(why) => why,
            };
            let wait = self.retry.delay(attempts, &mut self.rng);
            if attempts >= self.retry.max_attempts || started.elapsed() + wait > self.retry.max_elapsed {
                return Err(ClientError::GaveUp { attempts, elapsed: started.elapsed(), last });
            }
            self.stats.retries += 1;
            tracing::debug!(path = req.path, attempts, ?wait, %last, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&mut self, req: &Request<'_>, authed: bool) -> Attempt {
        let mut b = self.http.request(req.method.clone(), format!("{}{}", self.base, req.path));
        if authed && let Some(t) = &self.tokens {
            b = b.bearer_auth(&t.access);
        }
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        if let Some(body) = &req.body {
            b = with_body(b, body);
        }
        self.stats.requests += 1;
        let res = match b.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Transient(format!("transport: {e}")),
        };
        let status = res.status();
        let bytes = match res.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return Attempt::Transient(format!("reading the answer: {e}")),
        };
        // Only the sync calls are dropped: they are the ones whose retries
        // the protocol must make harmless.
        let forced = authed && status.is_success() && self.faults.drop_next_answers > 0;
        if forced
            || (authed
                && self.faults.drop_response_rate > 0.0
                && self.rng.gen_bool(self.faults.drop_response_rate.min(1.0)))
        {
            if forced {
                self.faults.drop_next_answers -= 1;
            }
            self.stats.dropped_responses += 1;
            return Attempt::Transient(format!("answer dropped after the server handled it ({status})"));
        }
        if status.is_success() {
            return Attempt::Answer(bytes);
        }
        if status == StatusCode::UNAUTHORIZED && authed {
            return Attempt::Unauthorized;
        }
        let (code, message) = error_of(&bytes);
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Transient(format!("HTTP {status} {code}: {message}"));
        }
        Attempt::Refused(ClientError::Http { status: status.as_u16(), code, message })
    }
}

impl Connection {
    /// PUTs `bytes` as a signed upload says, with every header it lists (on
    /// S3 they are part of the signature). Never retried here: after a PUT
    /// without an answer only `complete` can tell whether the bytes arrived.
    pub(crate) async fn put_signed(&mut self, signed: &SignedUpload, bytes: &[u8]) -> PutOutcome {
        self.stats.requests += 1;
        let forced = self.faults.cut_next_uploads > 0;
        let cut = bytes.len() > 1
            && (forced
                || (self.faults.cut_upload_rate > 0.0 && self.rng.gen_bool(self.faults.cut_upload_rate.min(1.0))));
        // A cut needs the raw connection, which plain HTTP gives; over HTTPS
        // (S3 in production) the upload simply goes through.
        if cut && signed.url.starts_with("http://") {
            if forced {
                self.faults.cut_next_uploads -= 1;
            }
            let keep = self.rng.gen_range(1..bytes.len());
            let why = match cut_put(signed, &bytes[..keep], bytes.len()).await {
                Ok(()) => format!("connection dropped after {keep} of {} bytes", bytes.len()),
                Err(e) => format!("connection failed before the cut: {e}"),
            };
            return PutOutcome::NoAnswer { cut: true, why };
        }
        let method = Method::from_bytes(signed.method.as_bytes()).unwrap_or(Method::PUT);
        let mut b = self.http.request(method, &signed.url);
        for (k, v) in &signed.headers {
            b = b.header(k, v);
        }
        let res = match b.body(bytes.to_vec()).send().await {
            Ok(r) => r,
            Err(e) => return PutOutcome::NoAnswer { cut: false, why: format!("transport: {e}") },
        };
        let status = res.status();
        let body = match res.bytes().await {
            Ok(b) => b,
            Err(e) => return PutOutcome::NoAnswer { cut: false, why: format!("reading the answer: {e}") },
        };
        if status.is_success() {
            return PutOutcome::Stored;
        }
        let (code, message) = error_of(&body);
        PutOutcome::Refused { status: status.as_u16(), code, message }
    }
}

/// Sends the request line, the signed headers and the first bytes (`sent`)
/// of a `total`-byte body over a raw connection, then closes it: the store
/// sees the line go dead mid-body, as on a phone that lost its signal.
async fn cut_put(signed: &SignedUpload, sent: &[u8], total: usize) -> std::io::Result<()> {
    let url = reqwest::Url::parse(&signed.url).map_err(std::io::Error::other)?;
    let host = url.host_str().ok_or_else(|| std::io::Error::other("no host in the upload URL"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let path_and_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut lines = vec![format!("{} {path_and_query} HTTP/1.1", signed.method), format!("host: {host}:{port}")];
    lines.extend(signed.headers.iter().map(|(k, v)| format!("{k}: {v}")));
    if !signed.headers.keys().any(|k| k.eq_ignore_ascii_case("content-length")) {
        lines.push(format!("content-length: {total}"));
    }
    let head = format!("{}\r\n\r\n", lines.join("\r\n"));
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    write_all(&stream, head.as_bytes()).await?;
    write_all(&stream, sent).await?;
    // Dropping the stream closes the connection with the body unfinished.
    drop(stream);
    Ok(())
}

/// `write_all` with the `net` feature alone (no `io-util` in this crate).
async fn write_all(stream: &tokio::net::TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        stream.writable().await?;
        match stream.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Bodies at least this large go zstd-compressed (a push of 50 check-ins
/// shrinks to about a fifth); smaller ones fit a packet as they are.
const COMPRESS_BODY_FROM: usize = 1024;

/// A JSON body, compressed with zstd when that saves a packet or more.
fn with_body(b: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    let json = serde_json::to_vec(body).expect("a JSON value serialises");
    if json.len() >= COMPRESS_BODY_FROM
        && let Ok(compressed) = zstd::bulk::compress(&json, zstd::DEFAULT_COMPRESSION_LEVEL)
    {
        return b
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::CONTENT_ENCODING, "zstd")
            .body(compressed);
    }
    b.header(reqwest::header::CONTENT_TYPE, "application/json").body(json)
}

/// The code and message of the server's error shape, or the raw body.
fn error_of(bytes: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let code = v["error"]["code"].as_str().unwrap_or("unknown").to_owned();
    let message =
        v["error"]["message"].as_str().map_or_else(|| String::from_utf8_lossy(bytes).into_owned(), str::to_owned);
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(5),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 1..30 {
            let cap = Duration::from_millis(100 * (1 << (retry - 1).min(10))).min(Duration::from_secs(1));
            assert!(p.delay(retry, &mut rng) <= cap);
        }
    }
}
