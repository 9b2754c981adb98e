//! Photos on the device. A photo's record goes through the outbox like any
//! mutation (`photo.declare.v1`), so it syncs even while the bytes cannot;
//! the bytes follow once the declaration is on the server: an upload URL,
//! a PUT there, and `complete`, which checks them against the declaration.
//!
//! Whatever goes wrong on the way (a PUT cut mid-body, an answer lost, bytes
//! the server discarded), the device does the same thing: ask `complete`
//! whether the bytes arrived, and if not, upload them again. `complete` is
//! idempotent and the store keeps nothing of a broken upload, so repeating
//! can never leave a second or a partial copy.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::connection::{ClientError, PutOutcome, Request};
use super::device::Device;
use crate::protocol::{PhotoDeclareV1, PhotoTarget};

/// Rounds of upload-url, PUT and `complete` before the device gives up on
/// a photo for now (a real app would try again at the next signal).
pub const MAX_UPLOAD_ROUNDS: u32 = 12;

/// Where and how to send a photo's bytes: the answer of
/// `POST /v1/photos/{id}/upload-url`.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedUpload {
    pub url: String,
    pub method: String,
    /// Sent exactly as given: on S3 they are part of the signature.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// What the device's photo uploads came to, for the simulator's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoStats {
    /// Declarations queued.
    pub declared: u64,
    /// Photos `complete` answered as uploaded.
    pub uploaded: u64,
    /// PUTs of photo bytes started.
    pub puts: u64,
    /// PUTs cut mid-body by fault injection (each then retried).
    pub cut_uploads: u64,
    /// Other PUTs without an answer (the network failed by itself).
    pub unanswered_puts: u64,
    /// PUTs the store refused (an expired URL, a short body).
    pub refused_puts: u64,
    /// `complete` answers lost after the server handled the call.
    pub dropped_completes: u64,
    /// `complete` answered `not_uploaded`: the bytes had not arrived.
    pub not_uploaded: u64,
    /// `complete` answered `size_mismatch` or `hash_mismatch`: the server
    /// discarded the bytes.
    pub mismatches: u64,
    /// Upload URLs asked for.
    pub upload_urls: u64,
}

impl Device {
    /// Queues `photo.declare.v1` for `bytes`, attached to `target`. Returns
    /// the mutation id; upload with [`Device::upload_photo`] once a push has
    /// got the declaration applied.
    pub fn queue_photo(&mut self, id: Uuid, bytes: &[u8], mime: &str, target: PhotoTarget) -> i64 {
        let args = PhotoDeclareV1 {
            id,
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
            mime: mime.to_owned(),
            attached_to: target,
        };
        self.photo_stats.declared += 1;
        self.queue("photo.declare.v1", serde_json::to_value(args).expect("photo declaration serialises"))
    }

    /// Sends a declared photo's bytes until `complete` answers `uploaded`
    /// (or `MAX_UPLOAD_ROUNDS` pass). Returns `complete`'s answer.
    pub async fn upload_photo(&mut self, id: Uuid, bytes: &[u8]) -> Result<Value, ClientError> {
        let started = std::time::Instant::now();
        let mut last = String::new();
        // After a PUT without an answer the bytes may have arrived anyway
        // (the line broke after the body went), so `complete` is asked
        // before anything is sent again.
        let mut ask_first = false;
        for _ in 0..MAX_UPLOAD_ROUNDS {
            if ask_first {
                match self.complete_photo(id).await? {
                    Some(done) => return Ok(done),
                    None => ask_first = false,
                }
            }
            // A fresh URL each round: one from before a failure may have
            // expired, and an app that restarted has lost it anyway.
            self.photo_stats.upload_urls += 1;
            let path = format!("/v1/photos/{id}/upload-url");
            let signed: SignedUpload =
                match self.conn.call(&Request { method: Method::POST, path: &path, query: vec![], body: None }).await {
                    Ok(s) => s,
                    // Uploaded by an earlier round whose `complete` answer was
                    // lost: `complete` again says so.
                    Err(ClientError::Http { status: 409, code, .. }) if code == "already_uploaded" => {
                        if let Some(done) = self.complete_photo(id).await? {
                            return Ok(done);
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                };
            self.photo_stats.puts += 1;
            match self.conn.put_signed(&signed, bytes).await {
                PutOutcome::Stored => {}
                PutOutcome::NoAnswer { cut, why } => {
                    if cut {
                        self.photo_stats.cut_uploads += 1;
                    } else {
                        self.photo_stats.unanswered_puts += 1;
                    }
                    tracing::debug!(photo = %id, %why, "upload without an answer");
                    last = why;
                    ask_first = true;
                    continue;
                }
                // A body too large for the declaration can never succeed.
                PutOutcome::Refused { status: 413, code, message } => {
                    return Err(ClientError::Http { status: 413, code, message });
                }
                // `complete` already sealed the bytes (its answer to an
                // earlier round was lost): it says so again.
                PutOutcome::Refused { status: 409, code, .. } if code == "already_uploaded" => {
                    ask_first = true;
                    continue;
                }
                PutOutcome::Refused { status, code, message } => {
                    // 403 (the URL expired) and 400 (the body arrived short)
                    // are mended by a new round; so is a busy store.
                    self.photo_stats.refused_puts += 1;
                    last = format!("HTTP {status} {code}: {message}");
                    continue;
                }
            }
            if let Some(done) = self.complete_photo(id).await? {
                return Ok(done);
            }
            "complete found no matching bytes".clone_into(&mut last);
        }
        Err(ClientError::GaveUp { attempts: MAX_UPLOAD_ROUNDS, elapsed: started.elapsed(), last })
    }

    /// `POST /v1/photos/{id}/complete`: `Some(answer)` once the photo is
    /// uploaded, `None` when the server has no usable bytes (not arrived, or
    /// discarded for a wrong size or hash) and they must be sent again.
    async fn complete_photo(&mut self, id: Uuid) -> Result<Option<Value>, ClientError> {
        let path = format!("/v1/photos/{id}/complete");
        let dropped_before = self.conn.stats.dropped_responses;
        let answer =
            self.conn.call::<Value>(&Request { method: Method::POST, path: &path, query: vec![], body: None }).await;
        // The connection retries a lost answer itself; `complete` being
        // idempotent is what makes that safe, so count how often it was needed.
        self.photo_stats.dropped_completes += self.conn.stats.dropped_responses - dropped_before;
        match answer {
            Ok(done) if done["status"] == "uploaded" => {
                self.photo_stats.uploaded += 1;
                Ok(Some(done))
            }
            Ok(other) => Err(ClientError::Decode(format!("complete answered {other}"))),
            Err(ClientError::Http { status: 409, code, .. }) if code == "not_uploaded" => {
                self.photo_stats.not_uploaded += 1;
                Ok(None)
            }
            Err(ClientError::Http { status: 409, code, .. }) if code == "size_mismatch" || code == "hash_mismatch" => {
                self.photo_stats.mismatches += 1;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/photos/{id}`: the server's record of a photo (status,
    /// sha256, thumbnail_ready, EXIF flags, and a URL once uploaded).
    pub async fn photo(&mut self, id: Uuid) -> Result<Value, ClientError> {
        let path = format!("/v1/photos/{id}");
        self.conn.call(&Request { method: Method::GET, path: &path, query: vec![], body: None }).await
    }
}
