//! Check-ins as people at a desk see them: the judged check-ins of a scope,
//! and the staff review (`checkin.review.v1`) that lets a judged check-in
//! count as a visit, or never. Devices create check-ins through push
//! ([`crate::mutations::checkin`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::command::{Applied, Command};
use crate::scope::Scope;

/// A check-in with its evidence.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckIn {
    pub id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub place_id: Uuid,
    pub place_name: String,
    pub station_id: Uuid,
    /// WGS84, as converted from what the device sent.
    pub lon: f64,
    pub lat: f64,
    /// The position as the device sent it, with its `crs`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub reported: serde_json::Value,
    pub accuracy_m: f64,
    pub mock_location: bool,
    pub device_time: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// Device clock minus server clock at push time, in seconds, when known.
    pub skew_s: Option<f64>,
    pub visited_at: DateTime<Utc>,
    /// Seconds from the visit to the server's receipt: the evidence of the
    /// reason `late` (past the late grace period, or into a closed month).
    pub late_by_s: i64,
    /// `YYYY-MM`, Asia/Shanghai.
    pub month: String,
    pub note: Option<String>,
    pub distance_m: f64,
    pub geofence_m: f64,
    pub speed_kmh: Option<f64>,
    /// verified, outside_geofence, low_accuracy or suspicious.
    pub verdict: String,
    /// outside_geofence, low_accuracy, mock_location, device_time_in_future,
    /// impossible_speed, late.
    pub reasons: Vec<String>,
    /// accepted or rejected, once reviewed.
    pub review: Option<String>,
    pub review_note: Option<String>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// The verdicts a check-in can have.
pub const VERDICTS: &[&str] = &["verified", "outside_geofence", "low_accuracy", "suspicious"];
/// The review states a list can filter by.
pub const REVIEW_STATES: &[&str] = &["pending", "accepted", "rejected"];

/// What a list of check-ins is narrowed to, besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub verdict: Option<String>,
    /// pending, accepted or rejected.
    pub review: Option<String>,
    pub station_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub place_id: Option<Uuid>,
    /// The first day of the visit month.
    pub month: Option<NaiveDate>,
    pub after: Option<Uuid>,
}

/// Up to `limit` check-ins of the scope by id, after `filter.after`.
pub async fn list(db: &PgPool, scope: &Scope, filter: &Filter, limit: i64) -> Result<Vec<CheckIn>, SyncError> {
    for (field, value, allowed) in [("verdict", &filter.verdict, VERDICTS), ("review", &filter.review, REVIEW_STATES)] {
        if let Some(v) = value
            && !allowed.contains(&v.as_str())
        {
            return Err(SyncError::BadParameter {
                field,
                message: format!("{field} must be one of {}", allowed.join(", ")),
            });
        }
    }
    let sql = concat!(include_str!("select.sql"), include_str!("list.sql"));
    Ok(sqlx::query_as(sql)
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(&filter.verdict)
        .bind(&filter.review)
        .bind(filter.station_id)
        .bind(filter.person_id)
        .bind(filter.place_id)
        .bind(filter.month)
        .bind(filter.after)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// One check-in, if within the scope.
pub async fn get(db: &PgPool, scope: &Scope, id: Uuid) -> Result<CheckIn, SyncError> {
    sqlx::query_as(concat!(include_str!("select.sql"), " AND c.id = $3"))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("check-in"))
}

/// A staff decision on a judged check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Accepted,
    Rejected,
}

/// `checkin.review.v1`: accepted check-ins count as visits whatever their
/// verdict; rejected ones never do. Only within the reviewer's stations.
#[derive(Debug, Clone)]
pub struct Review {
    pub id: Uuid,
    pub decision: ReviewDecision,
    pub note: Option<String>,
    /// The reviewer's stations (`None`: all), from the access policy.
    pub stations: Option<Vec<Uuid>>,
}

impl Command for Review {
    const NAME: &'static str = "checkin.review.v1";
    const ACTION: &'static str = "review";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<()>, SyncError> {
        let decision = if self.decision == ReviewDecision::Accepted { "accepted" } else { "rejected" };
        sqlx::query_scalar::<_, Uuid>(include_str!("review.sql"))
            .bind(self.id)
            .bind(by)
            .bind(decision)
            .bind(&self.note)
            .bind(&self.stations)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(SyncError::NotFound("check-in"))?;
        Ok(Applied {
            entity: "check_in",
            id: self.id,
            details: json!({ "decision": self.decision, "note": self.note }),
            result: (),
        })
    }
}
