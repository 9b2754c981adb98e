//! A reverse proxy between a browser and the server under test, so that a test
//! can do to the browser what the hills do to a field worker's phone: lose the
//! signal (every request fails at the transport level, as a dropped connection
//! and never as an HTTP status), and cut an upload mid-body (the server gets a
//! body shorter than announced and keeps nothing; the browser's request fails
//! as a network error, as `fetch` rejecting with a TypeError).
//!
//! Everything else passes through unchanged: any method, path, query, headers
//! (cookies included) and body, both ways, streamed and byte for byte (hyper's
//! client neither decompresses nor follows redirects). Only the hop-by-hop
//! headers are dropped, `Host` names the upstream, and a `Location` pointing at
//! the upstream is rewritten to point at the proxy (so the browser stays on the
//! proxy's origin, which is what its service worker and storage belong to).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The proxy, serving on a free port of the loopback until dropped.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: tokio::task::JoinHandle<()>,
}

struct State {
    /// `http://host:port` of the upstream, without a trailing slash (empty until set).
    upstream: Mutex<String>,
    /// `http://127.0.0.1:port` of the proxy.
    base: String,
    client: Client<HttpConnector, Body>,
    offline: AtomicBool,
    /// Uploads still to cut, and after how many bytes of their body.
    cuts: Mutex<(u32, usize)>,
    cuts_done: AtomicU32,
    requests: Mutex<Vec<(String, String)>>,
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1:0` in front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Proxy {
        let proxy = Proxy::bind().await;
        proxy.set_upstream(upstream);
        proxy
    }

    /// Starts a proxy with no upstream yet (it answers 502 until
    /// [`Proxy::set_upstream`]), for a server that must know its public URL
    /// (the proxy's) before it starts.
    pub async fn bind() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let state = Arc::new(State {
            upstream: Mutex::default(),
            base: format!("http://{addr}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
            offline: AtomicBool::new(false),
            cuts: Mutex::new((0, 0)),
            cuts_done: AtomicU32::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let serving = state.clone();
        let accept = tokio::spawn(async move {
            // Connections live in this set: stopping the proxy stops them too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let state = serving.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| forward(state.clone(), req));
                    // An error here is the point of the proxy (a dropped connection) or the
                    // browser's doing (it went away): nothing to report either way.
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Proxy { addr, state, accept }
    }

    /// Forwards to `upstream` (`http://127.0.0.1:PORT`) from now on.
    pub fn set_upstream(&self, upstream: &str) {
        upstream.trim_end_matches('/').clone_into(&mut self.state.upstream.lock().unwrap());
    }

    /// `http://127.0.0.1:PORT`, for the browser.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// While offline, every request fails as a closed connection without an
    /// answer, and answers still streaming break off.
    pub fn set_offline(&self, offline: bool) {
        self.state.offline.store(offline, Ordering::SeqCst);
    }

    /// Cuts the next `n` PUT requests (any path) after `after_bytes` bytes of
    /// their body: the upstream gets those bytes and then a broken connection,
    /// the browser a network error (see [`cut`] for how).
    pub fn cut_next_uploads(&self, n: u32, after_bytes: usize) {
        *self.state.cuts.lock().unwrap() = (n, after_bytes);
    }

    /// How many uploads have been cut so far.
    pub fn cuts_done(&self) -> u32 {
        self.state.cuts_done.load(Ordering::SeqCst)
    }

    /// The method and path of every request forwarded (or cut) so far, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Why a connection was dropped: hyper closes it without an answer when the
/// service fails.
#[derive(Debug)]
struct Dropped(&'static str);

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Dropped {}

/// The headers that belong to one connection, not to the message.
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::TE,
    header::UPGRADE,
    header::HOST,
    header::PROXY_AUTHORIZATION,
    header::TRAILER,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Connection also names headers of its own that go no further.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP) {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

async fn forward(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    if state.offline.load(Ordering::SeqCst) {
        return Err(Dropped("offline").into());
    }
    let upstream = state.upstream.lock().unwrap().clone();
    if upstream.is_empty() {
        return Ok(bad_gateway("the proxy has no upstream yet".into()));
    }
    let (mut parts, body) = req.into_parts();
    state.requests.lock().unwrap().push((parts.method.to_string(), parts.uri.path().to_owned()));
    let cut_after = if parts.method == Method::PUT {
        let mut cuts = state.cuts.lock().unwrap();
        (cuts.0 > 0).then(|| {
            cuts.0 -= 1;
            cuts.1
        })
    } else {
        None
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("{upstream}{path}").parse::<Uri>()?;
    strip_hop_by_hop(&mut parts.headers);
    if let Some(after_bytes) = cut_after {
        return cut(&state, parts, body, after_bytes).await;
    }
    let answer = state.client.request(Request::from_parts(parts, Body::new(body))).await;
    let answer = match answer {
        Ok(answer) => answer,
        // The upstream is down: say so, as a proxy would.
        Err(e) => return Ok(bad_gateway(format!("upstream: {e}"))),
    };
    let (mut parts, body) = answer.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    if let Some(location) = parts.headers.get(header::LOCATION).and_then(|l| l.to_str().ok())
        && let Some(rest) = location.strip_prefix(&upstream)
        && (rest.is_empty() || rest.starts_with(['/', '?', '#']))
    {
        let moved = format!("{}{rest}", state.base);
        parts.headers.insert(header::LOCATION, HeaderValue::from_str(&moved)?);
    }
    Ok(Response::from_parts(parts, Body::new(Answer { inner: body, state })))
}

/// Forwards the first `after_bytes` bytes of an upload, then breaks the
/// upstream connection (hyper's client aborts it when the body fails, so the
/// upstream reads a body shorter than its Content-Length). The rest of the body
/// is read from the browser and dropped, and the browser gets an answer it must
/// refuse as a network error: a bare close would do, except that Chromium
/// resends a request that got no answer on a connection it had opened in
/// advance, and the resend would get through. Two different Content-Disposition
/// headers are refused outright (`ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_DISPOSITION`,
/// against response smuggling) and never resent: `fetch` rejects with a
/// TypeError, as when the signal goes mid-upload.
async fn cut(
    state: &State,
    parts: hyper::http::request::Parts,
    mut body: Incoming,
    after_bytes: usize,
) -> Result<Response<Body>, BoxError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, BoxError>>();
    let upstream_body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let upstream = tokio::spawn(state.client.request(Request::from_parts(parts, upstream_body)));
    let mut sent = 0;
    let mut broken = false;
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => {
                let Ok(mut data) = frame.into_data() else { continue };
                if !broken {
                    data.truncate(after_bytes - sent);
                    sent += data.len();
                    let _ = tx.send(Ok(data));
                    if sent == after_bytes {
                        break_upstream(&tx).await;
                        broken = true;
                    }
                }
            }
            // The browser's whole body (if shorter than the cut), or the browser gone.
            end => {
                if !broken {
                    break_upstream(&tx).await;
                }
                if end.is_some() {
                    return Err(Dropped("the browser broke off its upload").into());
                }
                break;
            }
        }
    }
    let _ = upstream.await;
    state.cuts_done.fetch_add(1, Ordering::SeqCst);
    let mut refused = bad_gateway(String::new());
    let headers = refused.headers_mut();
    headers.append(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"cut\""));
    headers.append(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"off\""));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(refused)
}

fn bad_gateway(why: String) -> Response<Body> {
    let mut bad = Response::new(Body::from(why));
    *bad.status_mut() = hyper::StatusCode::BAD_GATEWAY;
    bad
}

/// Breaks the upstream's connection, once the bytes sent so far have had time to reach it.
async fn break_upstream(tx: &tokio::sync::mpsc::UnboundedSender<Result<Bytes, BoxError>>) {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let _ = tx.send(Err(Dropped("upload cut").into()));
}

/// An answer's body on its way to the browser, broken off if the signal goes.
struct Answer {
    inner: Incoming,
    state: Arc<State>,
}

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.state.offline.load(Ordering::SeqCst) {
            return Poll::Ready(Some(Err(Dropped("offline").into())));
        }
        Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
