//! The HTTP/1 serve loop, with the connection timeouts `axum::serve` cannot
//! set: a slow client must not hold a connection (and its memory) forever.
//!
//! - A request head must arrive whole within `header_read` of the moment the
//!   connection opened or its first byte arrived (a half-sent head is closed).
//! - A connection on which no byte moves for `idle` is closed: an idle
//!   keep-alive connection between requests, and equally an upload that
//!   stalled or a download the client stopped reading (the signed blob
//!   routes have no request timeout, so this is what bounds them).
//!
//! hyper's own `header_read_timeout` is not used: its timer starts whenever
//! the connection is ready for the next request, so it would also end every
//! keep-alive connection after the (short) head timeout, leaving no room for
//! a separate idle timeout. Here each connection tracks its own activity.
//!
//! Shutdown is graceful: the listeners stop accepting, idle connections
//! close, requests in flight finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;

use crate::head_errors::JsonHeadErrors;

/// The connection timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

/// Serves `router` on `listener` until `stop` is cancelled, then waits for
/// the requests in flight. Handlers can read the peer's address through
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, router: Router, timeouts: Timeouts, stop: CancellationToken) {
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    if !matches!(e.kind(), std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset) {
                        tracing::error!(error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // Answers are written whole; waiting for more bytes to fill a packet only adds latency.
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(stream, peer, router.clone(), timeouts, stop.clone()));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

async fn connection(stream: TcpStream, peer: SocketAddr, router: Router, timeouts: Timeouts, stop: CancellationToken) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { inner: JsonHeadErrors::new(stream), activity: activity.clone() });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let in_flight = InFlight::new(requests.clone());
        let answer = router.clone().call(req);
        async move {
            let res = answer.await;
            drop(in_flight);
            Ok::<_, Infallible>(res.unwrap_or_else(|never| match never {}))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        // Configured(None): hyper's own head timer stays off (see the module docs).
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            why = activity.expired(timeouts) => {
                // Dropping the connection closes the socket and cancels its
                // handler, as a client that hangs up would. An idle
                // keep-alive connection ending is routine; the others are not.
                if why == IDLE {
                    tracing::debug!(%peer, why, "closing a connection");
                } else {
                    tracing::info!(%peer, why, "closing a connection");
                }
                return;
            }
            () = stop.cancelled(), if !stopping => {
                conn.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

/// No head in progress.
const NONE: u64 = u64::MAX;
/// Why an idle keep-alive connection is closed.
const IDLE: &str = "idle for the idle timeout";

/// What a connection has been doing, in milliseconds since it opened.
struct Activity {
    origin: Instant,
    /// The last byte read or written.
    last_io: AtomicU64,
    /// When the first byte of a request head not yet complete arrived.
    head_since: AtomicU64,
    /// Requests whose handler is running.
    in_flight: AtomicU32,
    /// A head started: the deadline moved earlier.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        // A new connection is waiting for its first head from the start:
        // one that connects and sends nothing gets the head timeout too.
        Self {
            origin: Instant::now(),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        // Bytes between requests are the start of the next head.
        if self.in_flight.load(Ordering::Acquire) == 0 && self.head_since.load(Ordering::Relaxed) == NONE {
            self.head_since.store(now, Ordering::Relaxed);
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The moment this connection is to be closed, and why.
    fn deadline(&self, t: Timeouts) -> (Instant, &'static str) {
        let at = |ms: u64, d: Duration| self.origin + Duration::from_millis(ms) + d;
        let last_io = self.last_io.load(Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return (at(last_io, t.idle), "nothing moved during a request for the idle timeout");
        }
        match self.head_since.load(Ordering::Relaxed) {
            NONE => (at(last_io, t.idle), IDLE),
            since => (at(since, t.header_read), "the request head did not arrive within the header-read timeout"),
        }
    }

    /// Completes once the connection has overstayed a timeout.
    async fn expired(&self, t: Timeouts) -> &'static str {
        loop {
            let (deadline, why) = self.deadline(t);
            if Instant::now() >= deadline {
                return why;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.changed.notified() => {}
            }
        }
    }
}

/// Marks a request's handler as running: a head is complete.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        activity.head_since.store(NONE, Ordering::Relaxed);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.wrote();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection that records when bytes move.
struct Watched {
    inner: JsonHeadErrors<TcpStream>,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
