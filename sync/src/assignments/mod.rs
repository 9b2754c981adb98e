//! Assignments: who visits which place, over which period. Planners edit
//! them (`assignment.create.v1`, `.update.v1`, `.end.v1`; the nearby rule
//! writes `rule` rows, planners `manual` ones, and `locked` rows are kept by
//! the rule); others read them within their scope.

pub mod proposals;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::command::{Applied, Command, check_version};
use crate::scope::Scope;

// Who made an assignment: the nearby-assignment rule or a planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[sqlx(type_name = "assignment_source", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AssignmentSource {
    Rule,
    Manual,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub place_id: Uuid,
    pub place_name: String,
    pub station_id: Uuid,
    pub valid_from: NaiveDate,
    /// Exclusive end; null while open.
    pub valid_to: Option<NaiveDate>,
    pub source: AssignmentSource,
    pub locked: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a list of assignments is narrowed to, besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub person_id: Option<Uuid>,
    pub place_id: Option<Uuid>,
    /// The place's station.
    pub station_id: Option<Uuid>,
    pub source: Option<AssignmentSource>,
    /// true: only assignments in force today; false: only ended or future ones.
    pub current: Option<bool>,
    pub after: Option<Uuid>,
}

/// Up to `limit` assignments of the scope by id, after `filter.after`.
pub async fn list(db: &PgPool, scope: &Scope, filter: &Filter, limit: i64) -> Result<Vec<Assignment>, SyncError> {
    Ok(sqlx::query_as(concat!(include_str!("select.sql"), include_str!("list.sql")))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(filter.person_id)
        .bind(filter.place_id)
        .bind(filter.station_id)
        .bind(filter.source)
        .bind(filter.current)
        .bind(filter.after)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// One assignment, if within the scope.
pub async fn get(db: &PgPool, scope: &Scope, id: Uuid) -> Result<Assignment, SyncError> {
    sqlx::query_as(concat!(include_str!("select.sql"), " AND a.id = $3"))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("assignment"))
}

/// Dates outside 2000–2100 are typing errors, not plans.
fn plausible_date(field: &'static str, d: Option<NaiveDate>) -> Result<(), SyncError> {
    match d {
        Some(d) if !(2000..=2100).contains(&d.year()) => {
            Err(SyncError::invalid(field, format!("{field} must be a date between 2000 and 2100")))
        }
        _ => Ok(()),
    }
}

/// `assignment.create.v1`: a planner assigns an active representative to an
/// active place, by hand (`manual`).
#[derive(Debug, Clone)]
pub struct Create {
    pub id: Uuid,
    pub person_id: Uuid,
    pub place_id: Uuid,
    /// Default: today (Asia/Shanghai).
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// A locked assignment is kept when the nearby rule runs again.
    pub locked: bool,
    /// `manual` for a planner's; `rule` for what the nearby rule decided
    /// (the demo's first assignments are its result).
    pub source: AssignmentSource,
}

impl Command for Create {
    const NAME: &'static str = "assignment.create.v1";
    const ACTION: &'static str = "create";
    type Output = Uuid;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Uuid>, SyncError> {
        plausible_date("valid_from", self.valid_from)?;
        plausible_date("valid_to", self.valid_to)?;
        let person: Option<(bool, bool)> =
            sqlx::query_as(include_str!("person_assignable.sql")).bind(self.person_id).fetch_optional(&mut *tx).await?;
        match person {
            None => return Err(SyncError::invalid("person_id", "no such person")),
            Some((false, _)) => return Err(SyncError::invalid("person_id", "this person is not active")),
            Some((true, false)) => {
                return Err(SyncError::invalid("person_id", "only representatives are assigned places"));
            }
            Some((true, true)) => {}
        }
        let place: Option<bool> =
            sqlx::query_scalar(include_str!("place_active.sql")).bind(self.place_id).fetch_optional(&mut *tx).await?;
        match place {
            None => return Err(SyncError::invalid("place_id", "no such place")),
            Some(false) => return Err(SyncError::invalid("place_id", "this place is not active")),
            Some(true) => {}
        }
        sqlx::query(include_str!("insert.sql"))
            .bind(self.id)
            .bind(self.person_id)
            .bind(self.place_id)
            .bind(self.valid_from)
            .bind(self.valid_to)
            .bind(self.locked)
            .bind(self.source)
            .execute(&mut *tx)
            .await?;
        let details = json!({ "person_id": self.person_id, "place_id": self.place_id });
        Ok(Applied { entity: "assignment", id: self.id, details, result: self.id })
    }
}

/// `assignment.update.v1`: a planner changes an assignment's end or lock.
#[derive(Debug, Clone)]
pub struct Update {
    pub id: Uuid,
    /// The version the planner read, if they name one.
    pub version: Option<i64>,
    /// `Some(None)` opens the assignment again; `None` leaves the end as it is.
    pub valid_to: Option<Option<NaiveDate>>,
    pub locked: Option<bool>,
}

impl Command for Update {
    const NAME: &'static str = "assignment.update.v1";
    const ACTION: &'static str = "update";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<()>, SyncError> {
        plausible_date("valid_to", self.valid_to.flatten())?;
        let current: i64 = lock(tx, self.id).await?;
        check_version(self.version, current)?;
        sqlx::query(include_str!("update.sql"))
            .bind(self.id)
            .bind(self.valid_to.is_some())
            .bind(self.valid_to.flatten())
            .bind(self.locked)
            .execute(&mut *tx)
            .await?;
        Ok(Applied { entity: "assignment", id: self.id, details: json!({}), result: () })
    }
}

/// `assignment.end.v1`: a planner ends an assignment today (Asia/Shanghai);
/// the history stays. Ending an ended assignment changes nothing.
#[derive(Debug, Clone, Copy)]
pub struct End {
    pub id: Uuid,
}

impl Command for End {
    const NAME: &'static str = "assignment.end.v1";
    const ACTION: &'static str = "end";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<()>, SyncError> {
        lock(tx, self.id).await?;
        end_open(tx, Ending::Assignment(self.id)).await?;
        Ok(Applied { entity: "assignment", id: self.id, details: json!({}), result: () })
    }
}

/// Locks an assignment for a change and answers its version.
async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<i64, SyncError> {
    sqlx::query_scalar(include_str!("lock.sql"))
        .bind(id)
        .fetch_optional(tx)
        .await?
        .ok_or(SyncError::NotFound("assignment"))
}

/// Whose open assignments end: a leaver's, a closed place's, or one a
/// planner ends.
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    Person(Uuid),
    Place(Uuid),
    Assignment(Uuid),
}

/// Ends the open assignments of a deactivated person or place, or one
/// assignment, today (Asia/Shanghai), keeping the history. The one place
/// this rule lives.
pub async fn end_open(tx: &mut sqlx::PgConnection, ending: Ending) -> Result<(), sqlx::Error> {
    let (person, place, assignment) = match ending {
        Ending::Person(id) => (Some(id), None, None),
        Ending::Place(id) => (None, Some(id), None),
        Ending::Assignment(id) => (None, None, Some(id)),
    };
    sqlx::query(include_str!("end_open.sql")).bind(person).bind(place).bind(assignment).execute(tx).await.map(drop)
}
