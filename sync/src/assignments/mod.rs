//! Assignments: who visits which place, over which period.

use uuid::Uuid;

/// Whose open assignments end: a leaver's, or a closed place's.
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    Person(Uuid),
    Place(Uuid),
}

/// Ends the open assignments of a deactivated person or place today
/// (Asia/Shanghai), keeping the history. The one place this rule lives.
pub async fn end_open(tx: &mut sqlx::PgConnection, ending: Ending) -> Result<(), sqlx::Error> {
    let (person, place) = match ending {
        Ending::Person(id) => (Some(id), None),
        Ending::Place(id) => (None, Some(id)),
    };
    sqlx::query(include_str!("end_open.sql")).bind(person).bind(place).execute(tx).await.map(drop)
}
