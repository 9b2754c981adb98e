//! Commands: the changes people make at a desk (a planner's edit, an admin's
//! new account, a staff review), as opposed to the mutations devices push.
//! Each is named and versioned like a device's mutation and applied here, in
//! one transaction with its audit event, so that a rule and its trail exist
//! once and no handler writes to the database itself. The API resolves who
//! may do it (the access policy) and puts the caller's scope into the
//! command; the command decides everything else.

use std::future::Future;

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;

/// What a command changed, for the audit trail, and what it answers.
#[derive(Debug)]
pub struct Applied<T> {
    /// The kind of record changed (`place`, `person`, `check_in` …).
    pub entity: &'static str,
    pub id: Uuid,
    /// What the audit event keeps beyond who, when and which record.
    pub details: Value,
    pub result: T,
}

/// A named, versioned change applied by [`execute`].
pub trait Command: Send {
    /// The versioned name, e.g. `place.create.v1`; kept with the audit event.
    const NAME: &'static str;
    /// The audit trail's action (`create`, `update`, `deactivate`, `review` …).
    const ACTION: &'static str;
    type Output: Send;

    /// Applies the change inside the command's transaction. `by` is the person
    /// acting. An `Err` rolls everything back.
    fn apply(
        self,
        tx: &mut PgConnection,
        by: Uuid,
    ) -> impl Future<Output = Result<Applied<Self::Output>, SyncError>> + Send;
}

/// Applies `command` for the person `by`: the change and its audit event
/// commit together or not at all.
pub async fn execute<C: Command>(db: &PgPool, by: Uuid, command: C) -> Result<C::Output, SyncError> {
    let mut tx = db.begin().await?;
    let mut applied = command.apply(&mut tx, by).await?;
    if let Value::Object(map) = &mut applied.details {
        map.insert("mutation".into(), Value::String(C::NAME.into()));
    }
    record_audit(&mut tx, by, C::ACTION, applied.entity, applied.id, &applied.details).await?;
    tx.commit().await?;
    Ok(applied.result)
}

/// Applies `command` as [`execute`] would and rolls it back: what it would do
/// and answer, with nothing changed (an import's dry run).
pub async fn dry_run<C: Command>(db: &PgPool, by: Uuid, command: C) -> Result<C::Output, SyncError> {
    let mut tx = db.begin().await?;
    let applied = command.apply(&mut tx, by).await?;
    tx.rollback().await?;
    Ok(applied.result)
}

/// The audit trail: who changed what, in the transaction of the change.
pub async fn record_audit(
    tx: &mut PgConnection,
    actor: Uuid,
    action: &str,
    entity: &str,
    entity_id: Uuid,
    details: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("command/record_audit.sql"))
        .bind(actor)
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(details)
        .execute(tx)
        .await?;
    Ok(())
}

/// Optimistic concurrency: a command that names the version it read is
/// refused when the record has moved on since.
pub fn check_version(sent: Option<i64>, current: i64) -> Result<(), SyncError> {
    match sent {
        Some(v) if v != current => Err(SyncError::conflict(
            "version_conflict",
            Some("version"),
            format!("the record changed since you read it (your version {v}, now {current}); reload and try again"),
        )),
        _ => Ok(()),
    }
}
