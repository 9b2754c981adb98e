//! Push: a device's mutations, applied once each, in order, in one
//! transaction that holds the client's row lock, so two concurrent pushes of
//! one client cannot both apply a mutation.

use chrono::{DateTime, Utc};
use fieldvisit_geodata::geofence::GeofenceRules;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::mutations::{self, Applying, Outcome};
use crate::protocol::{Mutation, MutationResult, MutationStatus, PushRequest, PushResponse};
use crate::{Actor, SyncError};

/// Most mutations in one push; a device sends more in several pushes.
pub const MAX_BATCH: usize = 500;

/// The server side of a push: the rules to judge by and the server's clock.
#[derive(Debug, Clone, Copy)]
pub struct PushContext {
    pub rules: GeofenceRules,
    /// When the server received the push. Injected, so tests and the demo can
    /// replay a past month; device times are never trusted for this.
    pub received_at: DateTime<Utc>,
    /// Largest photo a device may declare, in bytes.
    pub photo_max_bytes: u64,
}

/// The default photo size limit, under the name the protocol's users know.
pub use crate::photos::DEFAULT_MAX_BYTES as PHOTO_MAX_BYTES;

/// Binds a client id to a person on first use; another person's id is refused.
pub async fn register_client(db: &PgPool, client: Uuid, person: Uuid, schema: i32) -> Result<(), SyncError> {
    let owner: Option<Uuid> = sqlx::query_scalar(
        "WITH ins AS (INSERT INTO sync_clients (id, person_id, schema_version) VALUES ($1, $2, $3)
                      ON CONFLICT (id) DO NOTHING RETURNING person_id)
         SELECT person_id FROM ins UNION ALL SELECT person_id FROM sync_clients WHERE id = $1 LIMIT 1",
    )
    .bind(client)
    .bind(person)
    .bind(schema)
    .fetch_optional(db)
    .await?;
    // Two first pushes racing: the loser's statement could not see the
    // winner's row; a fresh statement does.
    let owner = match owner {
        Some(o) => o,
        None => {
            sqlx::query_scalar("SELECT person_id FROM sync_clients WHERE id = $1").bind(client).fetch_one(db).await?
        }
    };
    if owner == person { Ok(()) } else { Err(SyncError::ForeignClient(client)) }
}

/// A stored mutation result: id, status, code, reason, data.
type StoredResult = (i64, MutationStatus, Option<String>, Option<String>, Option<Value>);

struct Recorded {
    id: i64,
    name: String,
    status: MutationStatus,
    code: Option<String>,
    reason: Option<String>,
    result: Option<Value>,
}

/// Applies a push. A transient failure returns `Err` (see
/// [`crate::database_unavailable`]); it normally committed nothing, but one
/// that raced the commit (the connection lost while `COMMIT` was on its way)
/// may have: the device re-sends the same ids and gets `duplicate` for what
/// was taken. Everything else is an acknowledged result per mutation.
pub async fn push(db: &PgPool, actor: &Actor, req: &PushRequest, ctx: &PushContext) -> Result<PushResponse, SyncError> {
    if req.mutations.len() > MAX_BATCH {
        return Err(SyncError::invalid("mutations", format!("at most {MAX_BATCH} mutations per push")));
    }
    if let Some(w) = req.mutations.windows(2).find(|w| w[1].id <= w[0].id) {
        return Err(SyncError::invalid(
            "mutations",
            format!("mutation ids must increase within a push ({} after {})", w[1].id, w[0].id),
        ));
    }
    // A device clock is evidence, but one that is not a plausible date (a
    // year -262000 overflows the skew arithmetic, 9999 the database's range)
    // would stop the device's whole outbox behind one field: refuse the push
    // with a reason the app can show, before anything is applied.
    if let Some(t) = req.client_time
        && !plausible_device_time(t)
    {
        return Err(SyncError::invalid("client_time", "client_time is not a plausible date (years 2000 to 2100)"));
    }
    if let Some(m) = req.mutations.iter().find(|m| m.id < 1) {
        return Err(SyncError::invalid("mutations", format!("mutation ids start at 1 (got {})", m.id)));
    }
    register_client(db, req.client_id, actor.person_id, req.schema_version).await?;
    let mut retries = 0;
    loop {
        let outcome = match apply_push(db, actor, req, ctx, Mode::Together).await {
            Err(SyncError::Database(e)) if rejection_from_database(&e).is_some() => {
                // The database refused something the checks let through: redo the
                // push one mutation at a time, so only that one is rejected.
                tracing::warn!(client = %req.client_id, error = %e, "a batch was refused; applying one by one");
                apply_push(db, actor, req, ctx, Mode::OneByOne).await
            }
            other => other,
        };
        match outcome {
            // A deadlock or serialization failure rolled the whole transaction
            // back: trying again here spares the device a round trip.
            Err(SyncError::Database(e)) if retries < 2 && rolled_back_whole(&e) => {
                retries += 1;
                tracing::warn!(client = %req.client_id, error = %e, retries, "push rolled back; trying again");
            }
            other => return other,
        }
    }
}

/// A serialization failure or deadlock: nothing of the transaction stayed.
fn rolled_back_whole(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}

/// How new mutations are applied: together (few statements for a run) or one
/// by one, each under a savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Together,
    OneByOne,
}

async fn apply_push(
    db: &PgPool,
    actor: &Actor,
    req: &PushRequest,
    ctx: &PushContext,
    mode: Mode,
) -> Result<PushResponse, SyncError> {
    let mut tx = db.begin().await?;
    let mut last: i64 = sqlx::query_scalar("SELECT last_mutation_id FROM sync_clients WHERE id = $1 FOR UPDATE")
        .bind(req.client_id)
        .fetch_one(&mut *tx)
        .await?;

    let duplicates: Vec<i64> = req.mutations.iter().map(|m| m.id).filter(|id| *id <= last).collect();
    let stored: Vec<StoredResult> = if duplicates.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT id, status, code, reason, result FROM sync_mutations WHERE client_id = $1 AND id = ANY($2)",
        )
        .bind(req.client_id)
        .bind(&duplicates)
        .fetch_all(&mut *tx)
        .await?
    };

    let applying = Applying {
        actor,
        client_id: req.client_id,
        ctx,
        skew_s: req.client_time.map(|t| seconds_between(t.with_timezone(&Utc), ctx.received_at)),
    };
    let mut results = Vec::with_capacity(req.mutations.len());
    for m in req.mutations.iter().filter(|m| m.id <= last) {
        let original = stored.iter().find(|s| s.0 == m.id);
        results.push(MutationResult {
            id: m.id,
            status: MutationStatus::Duplicate,
            original: original.map(|s| s.1),
            code: original.and_then(|s| s.2.clone()),
            reason: original.and_then(|s| s.3.clone()),
            data: original.and_then(|s| s.4.clone()),
        });
    }
    // The new ones: from last + 1 on, up to the first gap (something in
    // between was lost on the device; nothing is applied out of order).
    let mut fresh: Vec<&Mutation> = Vec::new();
    for m in req.mutations.iter().filter(|m| m.id > last) {
        if m.id != last + 1 + i64::try_from(fresh.len()).unwrap_or(i64::MAX) {
            break;
        }
        fresh.push(m);
    }
    let outcomes = match mode {
        Mode::Together => mutations::apply_batch(&mut tx, &fresh, &applying).await?,
        Mode::OneByOne => {
            let mut outcomes = Vec::with_capacity(fresh.len());
            for m in &fresh {
                sqlx::query("SAVEPOINT mutation").execute(&mut *tx).await?;
                let outcome = match mutations::apply(&mut tx, m, &applying).await {
                    Ok(o) => o,
                    Err(e) => match rejection_from_database(&e) {
                        Some(o) => o,
                        None => return Err(e.into()),
                    },
                };
                let end = if matches!(outcome, Outcome::Applied(_)) {
                    "RELEASE SAVEPOINT mutation"
                } else {
                    "ROLLBACK TO SAVEPOINT mutation"
                };
                sqlx::query(end).execute(&mut *tx).await?;
                outcomes.push(outcome);
            }
            outcomes
        }
    };
    let mut recorded = Vec::with_capacity(fresh.len());
    for (m, outcome) in fresh.iter().zip(outcomes) {
        let rec = match outcome {
            Outcome::Applied(data) => Recorded {
                id: m.id,
                name: m.name.clone(),
                status: MutationStatus::Applied,
                code: None,
                reason: None,
                result: Some(data),
            },
            Outcome::Rejected { code, reason } => {
                tracing::info!(client = %req.client_id, mutation = m.id, name = %m.name, code, %reason, "mutation rejected");
                Recorded {
                    id: m.id,
                    name: m.name.clone(),
                    status: MutationStatus::Rejected,
                    code: Some(code.to_owned()),
                    reason: Some(reason),
                    result: None,
                }
            }
        };
        results.push(MutationResult {
            id: rec.id,
            status: rec.status,
            original: None,
            code: rec.code.clone(),
            reason: rec.reason.clone(),
            data: rec.result.clone(),
        });
        recorded.push(rec);
        last = m.id;
    }
    results.sort_by_key(|r| r.id);

    if !recorded.is_empty() {
        let (ids, names, statuses, codes, reasons, payloads) = recorded.into_iter().fold(
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()),
            |mut acc, r| {
                acc.0.push(r.id);
                acc.1.push(r.name);
                acc.2.push(r.status);
                acc.3.push(r.code);
                acc.4.push(r.reason);
                acc.5.push(r.result);
                acc
            },
        );
        sqlx::query(
            "INSERT INTO sync_mutations (client_id, id, name, status, code, reason, result)
             SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::mutation_status[], $5::text[], $6::text[], $7::jsonb[])",
        )
        .bind(req.client_id)
        .bind(ids)
        .bind(names)
        .bind(statuses)
        .bind(codes)
        .bind(reasons)
        .bind(payloads)
        .execute(&mut *tx)
        .await?;
    }
    let checkpoint: String = sqlx::query_scalar(
        "UPDATE sync_clients SET last_mutation_id = $2, last_push_at = now(), schema_version = $3 WHERE id = $1
         RETURNING pg_current_xact_id()::text",
    )
    .bind(req.client_id)
    .bind(last)
    .bind(req.schema_version)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(PushResponse { last_mutation_id: last, results, checkpoint })
}

/// The last mutation id the server took from each of `clients`; a client
/// that never pushed is absent. A device resends from there on.
pub async fn last_mutation_ids(db: &PgPool, clients: &[Uuid]) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(include_str!("last_mutation_ids.sql")).bind(clients).fetch_all(db).await
}

/// Whether a time a device sent can be a real moment of this product's use.
/// Every device-sent time is checked with it before any arithmetic on it.
pub fn plausible_device_time(t: DateTime<chrono::FixedOffset>) -> bool {
    (2000..=2100).contains(&chrono::Datelike::year(&t.with_timezone(&Utc)))
}

fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    // Milliseconds are plenty for clock skew; f64 holds them exactly.
    #[expect(clippy::cast_precision_loss, reason = "differences of real clocks fit in 2^53 ms")]
    let s = (a - b).num_milliseconds() as f64 / 1000.0;
    s
}

/// A database refusal of the data itself (a constraint, a bad value) can
/// never succeed on retry: it is a rejection. Anything else is transient.
fn rejection_from_database(e: &sqlx::Error) -> Option<Outcome> {
    let sqlx::Error::Database(db) = e else { return None };
    let class = db.code().map(|c| c.chars().take(2).collect::<String>());
    // Said in our words: the database's text names its internals, not the mutation.
    let reason = match (class.as_deref(), db.constraint()) {
        (Some("22"), _) => {
            "a value cannot be stored: a text holds a NUL character, or a number, date or time is out of range"
                .to_owned()
        }
        (Some("23"), Some(rule)) => format!("the record breaks the rule {rule}"),
        (Some("23"), None) => "the record breaks a rule of the store".to_owned(),
        _ => return None,
    };
    Some(Outcome::Rejected { code: "invalid_data", reason })
}

pub(crate) fn as_seconds(d: DateTime<Utc>) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "unix milliseconds fit in 2^53")]
    let s = d.timestamp_millis() as f64 / 1000.0;
    s
}
