//! The JSON error body for the answers hyper gives on its own, before any
//! route runs, to a request head it cannot take: 414 for a URL over 64 KB
//! (the `http` crate's limit on a URI, which no setting raises), 431 for
//! headers beyond the read buffer, 400 for a malformed request line. hyper
//! writes those as a bare head (`connection: close`, `content-length: 0`)
//! and offers no hook for them, so the connection is wrapped: a write that is
//! exactly such a head is replaced by the same status with the error body
//! every other answer has. hyper closes the connection after it, so nothing
//! follows on the wire.
//!
//! Only a whole write that matches that head byte for byte is replaced:
//! every answer of the router carries a `content-type`, and JSON bodies hold
//! no raw line breaks, so no answer of ours can look like it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest automatic head hyper writes (status line, three headers).
const MAX_AUTOMATIC_HEAD: usize = 200;

/// A listener whose connections carry [`JsonHeadErrors`].
#[derive(Debug)]
pub struct WithJsonHeadErrors<L>(pub L);

impl<L: axum::serve::Listener> axum::serve::Listener for WithJsonHeadErrors<L> {
    type Io = JsonHeadErrors<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (JsonHeadErrors::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection on which hyper's bodiless automatic error heads are
/// replaced by answers in the JSON error shape.
#[derive(Debug)]
pub struct JsonHeadErrors<T> {
    inner: T,
    /// The replacement still to be written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonHeadErrors<T> {
    pub fn new(inner: T) -> Self {
        Self { inner, pending: None }
    }
}

/// The answer to write instead of `head`, when `head` is one of hyper's
/// automatic error heads.
pub fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    if head.len() > MAX_AUTOMATIC_HEAD {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let (code, message) = match status {
        "400" => ("bad_request", "the request line or a header is not valid HTTP/1.1"),
        "414" => (
            "uri_too_long",
            "the URL is longer than the server accepts (64 KB); send fewer or shorter query parameters",
        ),
        "431" => ("headers_too_large", "the request headers are larger than the server accepts"),
        _ => return None,
    };
    let mut date = None;
    let (mut close, mut empty) = (false, false);
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match (name, value) {
            ("connection", "close") => close = true,
            ("content-length", "0") => empty = true,
            ("date", d) => date = Some(d),
            _ => return None,
        }
    }
    if !(close && empty) {
        return None;
    }
    let body = serde_json::json!({ "error": { "code": code, "message": message, "details": null } }).to_string();
    let date = date.map(|d| format!("date: {d}\r\n")).unwrap_or_default();
    Some(
        format!("{status_line}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{date}\r\n{body}", body.len())
            .into_bytes(),
    )
}

impl<T: AsyncWrite + Unpin> JsonHeadErrors<T> {
    /// Writes what is left of a replacement; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` as written when it is an automatic error head, queueing
    /// its replacement instead.
    fn replaced(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Option<Poll<io::Result<usize>>> {
        let replacement = replacement_for(head)?;
        self.pending = Some((replacement, 0));
        // Start at once; what the socket does not take now goes on flush.
        Some(match self.poll_pending(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(head.len())),
        })
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonHeadErrors<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonHeadErrors<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = self.replaced(cx, buf) {
            return answer;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total <= MAX_AUTOMATIC_HEAD {
            let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if let Some(answer) = self.replaced(cx, &joined) {
                return answer;
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_error_heads_are_replaced() {
        let head = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 09:26:32 GMT\r\n\r\n";
        let answer = String::from_utf8(replacement_for(head).expect("replaced")).unwrap();
        let (head_out, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head_out.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head_out}");
        assert!(
            head_out.contains("content-type: application/json")
                && head_out.contains(&format!("content-length: {}", body.len())),
            "{head_out}"
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "uri_too_long");
        // An answer of the router, or one with a body, stays as it is.
        assert!(
            replacement_for(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n")
                .is_none()
        );
        assert!(
            replacement_for(b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n\r\nx").is_none()
        );
        assert!(replacement_for(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
