//! A device: the local store plus a connection. `push` empties the outbox
//! in batches and keeps what the server said about each mutation; `pull`
//! pages through the changes, applying each page before taking its cursor.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::connection::{ClientError, Connection, Request};
use super::photos::PhotoStats;
use super::plan::SHANGHAI;
use super::store::LocalStore;
use crate::protocol::{
    CheckInCreateV1, MutationResult, MutationStatus, PullResponse, PushRequest, PushResponse, SCHEMA_VERSION,
};

/// Mutations per push: small enough that a push over a weak signal finishes.
pub const DEFAULT_BATCH: usize = 50;

/// The longest a pull waits for the horizon to pass the device's own
/// writes; after that it returns, and the next pull carries on.
pub const HORIZON_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How the device behaves.
#[derive(Debug, Clone, Copy)]
pub struct DeviceSettings {
    pub batch_size: usize,
    /// Changes per pull page.
    pub page_limit: i64,
    /// How far the device clock is off the true time (positive: ahead).
    pub clock_skew: Duration,
    /// Fault injection: probability that the app dies after a push was
    /// answered but before it stored the acknowledgement, so it sends the
    /// same batch again.
    pub forget_ack_rate: f64,
    /// Seeds the fault injection.
    pub seed: u64,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self { batch_size: DEFAULT_BATCH, page_limit: 200, clock_skew: Duration::zero(), forget_ack_rate: 0.0, seed: 0 }
    }
}

/// What the device's pushes and pulls came to, for the simulator's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Mutations queued.
    pub queued: u64,
    /// Push requests answered.
    pub pushes: u64,
    /// Mutations sent in answered pushes (repeats included).
    pub mutations_sent: u64,
    pub applied: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// Batches sent again because the acknowledgement was "forgotten".
    pub repeated_sends: u64,
    /// Pull pages applied.
    pub pages: u64,
    /// Cursors the server refused (the device then bootstrapped).
    pub cursor_resets: u64,
    /// Extra pulls made because the horizon had not yet passed the device's
    /// own last push.
    pub horizon_waits: u64,
}

/// One device: what it stores and how it talks to the server.
pub struct Device {
    pub store: LocalStore,
    pub conn: Connection,
    pub settings: DeviceSettings,
    pub stats: DeviceStats,
    /// The last answer per mutation id: for a mutation whose first answer was
    /// lost, the `duplicate` answer (with `original`) that came later.
    pub results: BTreeMap<i64, MutationResult>,
    /// Fault injection: forget the next this-many push acknowledgements,
    /// whatever `forget_ack_rate` says.
    pub forget_next_acks: u32,
    /// What the photo uploads came to.
    pub photo_stats: PhotoStats,
    rng: StdRng,
}

impl Device {
    pub fn new(conn: Connection, store: LocalStore, settings: DeviceSettings) -> Self {
        let rng = StdRng::seed_from_u64(settings.seed ^ 0x0de7_1ce0_5eed_0001);
        Self {
            store,
            conn,
            settings,
            stats: DeviceStats::default(),
            results: BTreeMap::new(),
            forget_next_acks: 0,
            photo_stats: PhotoStats::default(),
            rng,
        }
    }

    /// A fresh install with a new random client id.
    pub fn install(conn: Connection, settings: DeviceSettings) -> Self {
        Self::new(conn, LocalStore::new(Uuid::now_v7()), settings)
    }

    /// The device clock: the true time plus its skew, shown in Beijing time.
    pub fn now(&self) -> DateTime<FixedOffset> {
        (Utc::now() + self.settings.clock_skew).with_timezone(&SHANGHAI)
    }

    /// Queues any mutation.
    pub fn queue(&mut self, name: &str, args: Value) -> i64 {
        self.stats.queued += 1;
        self.store.enqueue(name, args)
    }

    /// Queues a check-in. Its `device_time` is taken as read off this
    /// device's clock, so the caller sets it (skew included).
    pub fn queue_check_in(&mut self, args: &CheckInCreateV1) -> i64 {
        self.queue("checkin.create.v1", serde_json::to_value(args).expect("check-in args serialise"))
    }

    /// Sends the whole outbox, `batch_size` at a time. Returns the results of
    /// this call in the order received (repeats included).
    pub async fn push(&mut self) -> Result<Vec<MutationResult>, ClientError> {
        let mut answered = Vec::new();
        while !self.store.outbox.is_empty() {
            let batch: Vec<_> = self.store.outbox.iter().take(self.settings.batch_size.max(1)).cloned().collect();
            let req = PushRequest {
                client_id: self.store.client_id,
                schema_version: SCHEMA_VERSION,
                client_time: Some(self.now()),
                mutations: batch,
            };
            let body = serde_json::to_value(&req).expect("a push serialises");
            let res: PushResponse = self
                .conn
                .call(&Request { method: Method::POST, path: "/v1/sync/push", query: vec![], body: Some(body) })
                .await?;
            self.stats.pushes += 1;
            self.stats.mutations_sent += req.mutations.len() as u64;
            for r in &res.results {
                match r.status {
                    MutationStatus::Applied => self.stats.applied += 1,
                    MutationStatus::Duplicate => self.stats.duplicate += 1,
                    MutationStatus::Rejected => self.stats.rejected += 1,
                }
                self.results.insert(r.id, r.clone());
            }
            answered.extend(res.results.iter().cloned());
            self.store.note_checkpoint(&res.checkpoint);
            let first = req.mutations[0].id;
            if res.last_mutation_id < first {
                return Err(ClientError::Stalled { next: first, server_last: res.last_mutation_id });
            }
            let forget = if self.forget_next_acks > 0 {
                self.forget_next_acks -= 1;
                true
            } else {
                self.settings.forget_ack_rate > 0.0 && self.rng.gen_bool(self.settings.forget_ack_rate.min(1.0))
            };
            if forget {
                // The app died before saving the acknowledgement: the batch
                // is still queued and goes again.
                self.stats.repeated_sends += 1;
                continue;
            }
            // Everything the server has taken, whatever the results list:
            // each of applied, duplicate and rejected is an acknowledgement.
            self.store.acknowledge_through(res.last_mutation_id);
        }
        Ok(answered)
    }

    /// Pulls until the server has nothing more and the horizon has passed the
    /// device's own last push (waiting briefly for a concurrent transaction
    /// elsewhere to finish, up to `HORIZON_WAIT`). Returns the pages applied.
    pub async fn pull(&mut self) -> Result<u64, ClientError> {
        let mut pages = 0;
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(10);
        loop {
            let mut query = vec![
                ("client_id", self.store.client_id.to_string()),
                ("limit", self.settings.page_limit.to_string()),
                ("schema_version", SCHEMA_VERSION.to_string()),
            ];
            if let Some(c) = &self.store.cursor {
                query.push(("cursor", c.clone()));
            }
            let page: PullResponse = match self
                .conn
                .call(&Request { method: Method::GET, path: "/v1/sync/pull", query, body: None })
                .await
            {
                Ok(p) => p,
                Err(ClientError::Http { status: 400, code, .. })
                    if code == "invalid_cursor" && self.store.cursor.is_some() =>
                {
                    // A cursor the server no longer accepts (another
                    // server's key, a damaged store): start over.
                    self.stats.cursor_resets += 1;
                    self.store.forget_pulled();
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.store.apply_page(&page);
            // Mutations the server has, whose answer was lost, are done too.
            self.store.acknowledge_through(page.last_mutation_id);
            pages += 1;
            self.stats.pages += 1;
            if page.has_more {
                continue;
            }
            if self.store.covered_by(&page.horizon) || started.elapsed() > HORIZON_WAIT {
                return Ok(pages);
            }
            self.stats.horizon_waits += 1;
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(500));
        }
    }

    /// Per mutation, what finally became of it: (applied, rejected). A
    /// duplicate answer counts as what happened the first time.
    pub fn outcomes(&self) -> (usize, usize) {
        let first =
            |r: &MutationResult| if r.status == MutationStatus::Duplicate { r.original } else { Some(r.status) };
        let applied = self.results.values().filter(|r| first(r) == Some(MutationStatus::Applied)).count();
        let rejected = self.results.values().filter(|r| first(r) == Some(MutationStatus::Rejected)).count();
        (applied, rejected)
    }

    /// Push, then pull: what an app does when it finds a signal.
    pub async fn sync(&mut self) -> Result<(), ClientError> {
        self.push().await?;
        self.pull().await?;
        Ok(())
    }
}
