//! The device's local state: the records pulled from the server (with the
//! buckets that brought each one), the outbox of queued mutations, and the
//! cursor. All of it is plain data, serialisable as one JSON document, so a
//! real app can persist it after every step and resume after a crash.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::protocol::{BucketEventKind, Mutation, Op, PullResponse};

/// One record as the server last sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub version: i64,
    pub data: Value,
    /// The buckets it came through; it is dropped when the last one goes.
    pub buckets: BTreeSet<String>,
}

/// Everything a device keeps between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalStore {
    /// This install of the app.
    pub client_id: Uuid,
    /// entity -> id -> record.
    pub records: BTreeMap<String, BTreeMap<Uuid, Record>>,
    /// Mutations made on the device and not yet acknowledged, oldest first.
    pub outbox: VecDeque<Mutation>,
    /// The id the next queued mutation gets (ids grow by one per client).
    pub next_mutation_id: i64,
    /// The highest mutation id the server acknowledged.
    pub last_acked: i64,
    /// The server's cursor after the last page applied here; `None` bootstraps.
    pub cursor: Option<String>,
    /// The checkpoint of the latest push whose writes no pull has yet
    /// covered: until a pull's horizon passes it, the device's own writes may
    /// still be missing from what it pulled (a concurrent transaction holds
    /// the horizon back).
    #[serde(default)]
    pub awaiting_checkpoint: Option<u64>,
}

impl LocalStore {
    /// A fresh install: nothing pulled, nothing queued.
    pub fn new(client_id: Uuid) -> Self {
        Self {
            client_id,
            records: BTreeMap::new(),
            outbox: VecDeque::new(),
            next_mutation_id: 1,
            last_acked: 0,
            cursor: None,
            awaiting_checkpoint: None,
        }
    }

    /// Queues a mutation and returns its id.
    pub fn enqueue(&mut self, name: &str, args: Value) -> i64 {
        let id = self.next_mutation_id;
        self.next_mutation_id += 1;
        self.outbox.push_back(Mutation { id, name: name.to_owned(), args });
        id
    }

    /// Drops the queued mutations up to and including `id`: the server has
    /// them (applied, duplicate and rejected are all acknowledgements).
    pub fn acknowledge_through(&mut self, id: i64) {
        while self.outbox.front().is_some_and(|m| m.id <= id) {
            self.outbox.pop_front();
        }
        self.last_acked = self.last_acked.max(id);
    }

    /// Remembers a push's checkpoint (the server's transaction id, as text).
    pub fn note_checkpoint(&mut self, checkpoint: &str) {
        if let Ok(c) = checkpoint.parse::<u64>() {
            self.awaiting_checkpoint = Some(self.awaiting_checkpoint.map_or(c, |a| a.max(c)));
        }
    }

    /// Whether a page with this horizon includes every write pushed so far;
    /// if so the checkpoint is done with.
    pub fn covered_by(&mut self, horizon: &str) -> bool {
        // A horizon we cannot read proves nothing either way; do not wait
        // forever on it.
        let covered = match (self.awaiting_checkpoint, horizon.parse::<u64>()) {
            (Some(c), Ok(h)) => h > c,
            (None, _) | (Some(_), Err(_)) => true,
        };
        if covered {
            self.awaiting_checkpoint = None;
        }
        covered
    }

    /// Applies one pull page, then (and only then) takes its cursor, so a
    /// crash between the two repeats the page instead of skipping it.
    pub fn apply_page(&mut self, page: &PullResponse) {
        for b in &page.buckets {
            match b.event {
                BucketEventKind::Added => {}
                // A reset bucket's records are sent again from the start, so
                // what came only through it goes now; the bootstrap follows.
                BucketEventKind::Removed | BucketEventKind::Reset => self.drop_bucket(&b.id),
            }
        }
        for c in &page.changes {
            let by_id = self.records.entry(c.entity.clone()).or_default();
            match c.op {
                Op::Upsert => {
                    let data = c.data.clone().unwrap_or(Value::Null);
                    let r = by_id.entry(c.id).or_insert_with(|| Record {
                        version: c.version,
                        data: data.clone(),
                        buckets: BTreeSet::new(),
                    });
                    // Two buckets may carry one record at different moments;
                    // the newer version wins whichever bucket brings it.
                    if c.version >= r.version {
                        r.version = c.version;
                        r.data = data;
                    }
                    r.buckets.insert(c.bucket.clone());
                }
                Op::Delete => {
                    if let Some(r) = by_id.get_mut(&c.id) {
                        r.buckets.remove(&c.bucket);
                        if r.buckets.is_empty() {
                            by_id.remove(&c.id);
                        }
                    }
                }
            }
        }
        self.records.retain(|_, by_id| !by_id.is_empty());
        self.cursor = Some(page.cursor.clone());
    }

    /// Forgets what came only through `bucket`.
    pub fn drop_bucket(&mut self, bucket: &str) {
        for by_id in self.records.values_mut() {
            by_id.retain(|_, r| {
                r.buckets.remove(bucket);
                !r.buckets.is_empty()
            });
        }
        self.records.retain(|_, by_id| !by_id.is_empty());
    }

    /// Forgets every record and the cursor (a refused cursor): the next pull bootstraps.
    pub fn forget_pulled(&mut self) {
        self.records.clear();
        self.cursor = None;
    }

    /// The records of one entity.
    pub fn entity(&self, entity: &str) -> impl Iterator<Item = (&Uuid, &Record)> {
        self.records.get(entity).into_iter().flat_map(|m| m.iter())
    }

    /// Record data only, for comparing two devices' views.
    pub fn snapshot(&self) -> BTreeMap<(String, Uuid), Value> {
        self.records.iter().flat_map(|(e, m)| m.iter().map(|(id, r)| ((e.clone(), *id), r.data.clone()))).collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the store serialises")
    }

    pub fn from_json(s: &str) -> serde_json::Result<Self> {
        serde_json::from_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{BucketEvent, Change};
    use serde_json::json;

    fn page(buckets: Vec<BucketEvent>, changes: Vec<Change>, cursor: &str) -> PullResponse {
        PullResponse {
            changes,
            buckets,
            last_mutation_id: 0,
            has_more: false,
            cursor: cursor.into(),
            horizon: "0".into(),
        }
    }

    fn upsert(bucket: &str, id: Uuid, version: i64) -> Change {
        Change {
            bucket: bucket.into(),
            entity: "place".into(),
            id,
            op: Op::Upsert,
            version,
            data: Some(json!({ "v": version })),
        }
    }

    #[test]
    fn a_record_stays_while_any_bucket_that_brought_it_remains() {
        let mut s = LocalStore::new(Uuid::nil());
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        s.apply_page(&page(
            vec![],
            vec![upsert("station:x", a, 1), upsert("station:y", a, 2), upsert("station:y", b, 1)],
            "c1",
        ));
        assert_eq!(s.cursor.as_deref(), Some("c1"));
        assert_eq!(s.records["place"][&a].data, json!({ "v": 2 }));
        assert_eq!(LocalStore::from_json(&s.to_json()).unwrap(), s, "the state persists as JSON");
        s.apply_page(&page(
            vec![BucketEvent { id: "station:y".into(), event: BucketEventKind::Removed }],
            vec![],
            "c2",
        ));
        assert!(s.records["place"].contains_key(&a));
        assert!(!s.records["place"].contains_key(&b));
        s.apply_page(&page(vec![BucketEvent { id: "station:x".into(), event: BucketEventKind::Reset }], vec![], "c3"));
        assert!(s.records.is_empty());
    }

    #[test]
    fn acknowledged_mutations_leave_the_outbox() {
        let mut s = LocalStore::new(Uuid::nil());
        for _ in 0..3 {
            s.enqueue("checkin.create.v1", json!({}));
        }
        s.acknowledge_through(2);
        assert_eq!(s.outbox.iter().map(|m| m.id).collect::<Vec<_>>(), vec![3]);
        assert_eq!((s.last_acked, s.next_mutation_id), (2, 4));
    }
}
