//! Pull: the changes after a device's cursor, bucket by bucket, in pages.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use sqlx::PgPool;
use uuid::Uuid;

use crate::cursor::{CursorKey, CursorState, Position};
use crate::protocol::{BucketEvent, BucketEventKind, Change, MIN_PULL_SCHEMA_VERSION, Op, PullQuery, PullResponse};
use crate::{Actor, SyncError, buckets, push};

/// Largest page a device may ask for, and the default.
pub const MAX_LIMIT: i64 = 1000;
pub const DEFAULT_LIMIT: i64 = 200;

/// Settings of pull.
#[derive(Debug, Clone, Copy)]
pub struct PullRules {
    /// A cursor older than this may need tombstones that compaction removed:
    /// the device must bootstrap again.
    pub cursor_max_age_days: i64,
}

impl Default for PullRules {
    fn default() -> Self {
        Self { cursor_max_age_days: 90 }
    }
}

/// What one read of the log says.
struct LogAnswer {
    horizon: i64,
    epoch: Uuid,
    owner: Option<Uuid>,
    last_mutation_id: Option<i64>,
    rows: Vec<ChangeRow>,
}

async fn read_log(
    db: &PgPool,
    wanted: &[String],
    positions: &BTreeMap<String, Position>,
    limit: i64,
    client: Uuid,
) -> Result<LogAnswer, SyncError> {
    let (xids, seqs): (Vec<i64>, Vec<i64>) =
        wanted.iter().map(|b| positions.get(b).copied().unwrap_or_default()).map(|p| (p.xid, p.seq)).unzip();
    let (horizon, epoch, owner, last_mutation_id, changes): (i64, Uuid, Option<Uuid>, Option<i64>, serde_json::Value) =
        sqlx::query_as(include_str!("pull_changes.sql"))
            .bind(wanted)
            .bind(&xids)
            .bind(&seqs)
            .bind(limit + 1)
            .bind(client)
            .fetch_one(db)
            .await?;
    let rows: Vec<(String, i64, i64, String, Uuid, String, i64)> =
        serde_json::from_value(changes).map_err(|e| SyncError::Database(sqlx::Error::Decode(e.into())))?;
    let rows = rows
        .into_iter()
        .map(|(bucket, xid, seq, entity, entity_id, op, version)| ChangeRow {
            bucket,
            xid,
            seq,
            entity,
            entity_id,
            op,
            version,
        })
        .collect();
    Ok(LogAnswer { horizon, epoch, owner, last_mutation_id, rows })
}

#[derive(Debug)]
struct ChangeRow {
    bucket: String,
    xid: i64,
    seq: i64,
    entity: String,
    entity_id: Uuid,
    op: String,
    version: i64,
}

/// Answers one pull.
pub async fn pull(
    db: &PgPool,
    key: &CursorKey,
    actor: &Actor,
    q: &PullQuery,
    rules: PullRules,
) -> Result<PullResponse, SyncError> {
    let schema = q.schema_version.unwrap_or(MIN_PULL_SCHEMA_VERSION);
    if schema < MIN_PULL_SCHEMA_VERSION {
        return Err(SyncError::UpgradeRequired { got: schema, min: MIN_PULL_SCHEMA_VERSION });
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(SyncError::BadParameter {
            field: "limit",
            message: format!("limit must be between 1 and {MAX_LIMIT}"),
        });
    }
    // Check the cursor before touching the database: a forged one costs nothing.
    let sent = q.cursor.as_deref().filter(|c| !c.is_empty()).map(|c| key.verify(c, actor.person_id)).transpose()?;
    let wanted = buckets::for_actor(actor);
    let now = Utc::now().timestamp();
    let fresh =
        |s: &CursorState, epoch: Uuid| s.epoch == epoch && now - s.issued_at <= rules.cursor_max_age_days * 86_400;

    // Ask as if the cursor were current (the usual case): one round trip.
    // A new client, or a cursor from another epoch, costs a second one.
    let assumed = sent.as_ref().map(|s| s.buckets.clone()).unwrap_or_default();
    let mut answer = read_log(db, &wanted, &assumed, limit, q.client_id).await?;
    if answer.owner.is_none() {
        push::register_client(db, q.client_id, actor.person_id, schema).await?;
        answer = read_log(db, &wanted, &assumed, limit, q.client_id).await?;
    }
    if answer.owner != Some(actor.person_id) {
        return Err(SyncError::ForeignClient(q.client_id));
    }
    let mut events = Vec::new();
    let mut positions: BTreeMap<String, Position> = BTreeMap::new();
    match &sent {
        Some(state) if fresh(state, answer.epoch) => {
            for b in &wanted {
                if let Some(p) = state.buckets.get(b) {
                    positions.insert(b.clone(), *p);
                } else {
                    events.push(BucketEvent { id: b.clone(), event: BucketEventKind::Added });
                    positions.insert(b.clone(), Position::default());
                }
            }
            for b in state.buckets.keys().filter(|b| !wanted.contains(b)) {
                events.push(BucketEvent { id: b.clone(), event: BucketEventKind::Removed });
            }
        }
        Some(state) => {
            // Another epoch (a restore) or too old: start over, bucket by bucket.
            for b in state.buckets.keys().filter(|b| !wanted.contains(b)) {
                events.push(BucketEvent { id: b.clone(), event: BucketEventKind::Removed });
            }
            for b in &wanted {
                events.push(BucketEvent { id: b.clone(), event: BucketEventKind::Reset });
                positions.insert(b.clone(), Position::default());
            }
            answer = read_log(db, &wanted, &BTreeMap::new(), limit, q.client_id).await?;
        }
        None => {
            for b in &wanted {
                events.push(BucketEvent { id: b.clone(), event: BucketEventKind::Added });
                positions.insert(b.clone(), Position::default());
            }
        }
    }

    // Rows come in bucket order, at most limit + 1 per bucket, so the page is
    // the first `limit` of them, and more remain exactly when there were more.
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let has_more = answer.rows.len() > limit;
    let page: Vec<ChangeRow> = answer.rows.into_iter().take(limit).collect();
    for r in &page {
        positions.insert(r.bucket.clone(), Position { xid: r.xid, seq: r.seq });
    }
    let (horizon, epoch, last_mutation_id) = (answer.horizon, answer.epoch, answer.last_mutation_id.unwrap_or(0));
    let changes = materialise(db, page).await?;
    let state = CursorState { person: actor.person_id, epoch, issued_at: now, buckets: positions };
    Ok(PullResponse {
        changes,
        buckets: events,
        last_mutation_id,
        has_more,
        cursor: key.sign(&state),
        horizon: horizon.to_string(),
    })
}

/// Turns log rows into changes with the records' current data. A record
/// changed several times in one page is sent once per bucket, as it is now.
async fn materialise(db: &PgPool, page: Vec<ChangeRow>) -> Result<Vec<Change>, SyncError> {
    let mut last: HashMap<(String, String, Uuid), usize> = HashMap::new();
    for (i, r) in page.iter().enumerate() {
        last.insert((r.bucket.clone(), r.entity.clone(), r.entity_id), i);
    }
    let page: Vec<ChangeRow> = page
        .into_iter()
        .enumerate()
        .filter(|(i, r)| last[&(r.bucket.clone(), r.entity.clone(), r.entity_id)] == *i)
        .map(|(_, r)| r)
        .collect();

    let ids = |entity: &str| -> Vec<Uuid> {
        page.iter().filter(|r| r.entity == entity && r.op == "upsert").map(|r| r.entity_id).collect()
    };
    let kinds =
        ["station", "place", "assignment", "check_in", "finding", "photo", "finding_category", "department", "issue"];
    let wanted: Vec<Vec<Uuid>> = kinds.iter().map(|k| ids(k)).collect();
    let mut data: HashMap<(String, Uuid), serde_json::Value> = HashMap::new();
    if wanted.iter().any(|w| !w.is_empty()) {
        let mut query = sqlx::query_as::<_, (String, Uuid, serde_json::Value)>(include_str!("entity_data.sql"));
        for ids in &wanted {
            query = query.bind(ids);
        }
        let rows = query.fetch_all(db).await?;
        for (entity, id, value) in rows {
            data.insert((entity, id), value);
        }
    }
    Ok(page
        .into_iter()
        .map(|r| {
            let op = if r.op == "delete" { Op::Delete } else { Op::Upsert };
            let value = (op == Op::Upsert).then(|| data.get(&(r.entity.clone(), r.entity_id)).cloned()).flatten();
            Change { bucket: r.bucket, entity: r.entity, id: r.entity_id, op, version: r.version, data: value }
        })
        .collect())
}
