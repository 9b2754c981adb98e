//! The audit trail: who changed what, written in the same transaction as the change.

use uuid::Uuid;

pub async fn record(
    tx: &mut sqlx::PgConnection,
    actor: Uuid,
    action: &str,
    entity: &str,
    entity_id: Uuid,
    details: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_events (actor_id, action, entity, entity_id, details) VALUES ($1, $2, $3, $4, $5)")
        .bind(actor)
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(details)
        .execute(tx)
        .await?;
    Ok(())
}
