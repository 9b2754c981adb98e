//! The wire format of the sync protocol, shared by the server and the
//! reference device. Every name here is part of the public contract: add,
//! never rename; a new meaning gets a new versioned mutation name.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The schema this server speaks. A device reports its own with every request.
pub const SCHEMA_VERSION: i32 = 1;
/// Devices older than this must update before they may pull (their pushes are
/// still accepted, so nothing queued offline is lost).
pub const MIN_PULL_SCHEMA_VERSION: i32 = 1;

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// One install of the app; registered to the signed-in person on first use.
    pub client_id: Uuid,
    pub schema_version: i32,
    /// The device clock when it sent this request: with the server's clock it
    /// gives the device-vs-server skew, used to correct the device's times.
    #[serde(default)]
    pub client_time: Option<DateTime<FixedOffset>>,
    pub mutations: Vec<Mutation>,
}

/// One change a device made, in the order it made them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Per client, growing by one from 1.
    pub id: i64,
    /// Versioned, e.g. `checkin.create.v1`.
    pub name: String,
    pub args: Value,
}

/// What became of a pushed mutation; also the database type
/// `mutation_status` of a recorded result (applied or rejected only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "mutation_status", rename_all = "snake_case")]
pub enum MutationStatus {
    /// Applied now.
    Applied,
    /// Seen before: the stored result is returned and nothing is touched.
    Duplicate,
    /// Can never succeed; acknowledged so the queue moves on.
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    pub id: i64,
    pub status: MutationStatus,
    /// For `duplicate`: what happened the first time (`applied` or `rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<MutationStatus>,
    /// A stable code for a rejection, e.g. `out_of_scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it was rejected, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the mutation produced, e.g. a check-in's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// The highest mutation id the server has taken from this client.
    pub last_mutation_id: i64,
    /// One per mutation handled, in order; a gap stops the batch early.
    pub results: Vec<MutationResult>,
    /// A pull whose `horizon` is above this includes this push's writes.
    pub checkpoint: String,
}

/// `GET /v1/sync/pull` parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PullQuery {
    /// The install of the app (as in its pushes).
    pub client_id: Uuid,
    /// The `cursor` of the previous answer; absent: bootstrap.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Changes per page, 1 to 1000 (default 200).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<i64>,
    /// The app's schema; below the minimum the answer is 426.
    #[serde(default)]
    pub schema_version: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Upsert,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// The bucket it came through; a device drops a record when the last
    /// bucket that brought it is removed.
    pub bucket: String,
    /// `check_in`, `place`, `assignment`, `station`.
    pub entity: String,
    pub id: Uuid,
    pub op: Op,
    pub version: i64,
    /// The whole record for an upsert; absent for a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BucketEventKind {
    /// New to this device: its records follow (in pages) from the start.
    Added,
    /// No longer the device's: drop every record that came through it.
    Removed,
    /// The device's copy cannot be continued (epoch change, expired cursor):
    /// drop everything and bootstrap again from this answer.
    Reset,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BucketEvent {
    pub id: String,
    pub event: BucketEventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub changes: Vec<Change>,
    pub buckets: Vec<BucketEvent>,
    pub last_mutation_id: i64,
    pub has_more: bool,
    /// Opaque and signed; pass it back unchanged.
    pub cursor: String,
    /// Every write of a transaction whose `checkpoint` is below this is included.
    pub horizon: String,
}

/// A position as the device reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportedPosition {
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub crs: fieldvisit_geodata::crs::Crs,
}

/// `checkin.create.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckInCreateV1 {
    pub id: Uuid,
    pub place_id: Uuid,
    pub position: ReportedPosition,
    pub accuracy_m: f64,
    /// RFC 3339 with offset.
    pub device_time: DateTime<FixedOffset>,
    #[serde(default)]
    pub mock_location: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// What an applied `checkin.create.v1` answers, so the phone can tell the
/// representative at once whether the visit counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInOutcome {
    pub id: Uuid,
    pub verdict: String,
    pub reasons: Vec<String>,
    pub distance_m: f64,
    pub geofence_m: f64,
    /// The server's estimate of when the visit happened.
    pub visited_at: DateTime<Utc>,
    /// The calendar month (Asia/Shanghai) the visit counts for, `YYYY-MM`.
    pub month: String,
    /// Seconds from the visit to the server's receipt. Past the late grace
    /// period (or into a closed month) the verdict is `suspicious` with the
    /// reason `late`, and the visit counts only once staff accept it.
    #[serde(default)]
    pub late_by_s: i64,
}

/// `finding.create.v1`: what a visit found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FindingCreateV1 {
    pub id: Uuid,
    pub place_id: Uuid,
    #[serde(default)]
    pub check_in_id: Option<Uuid>,
    /// A code of the `finding_category` list (reference data).
    pub category: String,
    pub description: String,
    /// low, medium, high or urgent.
    pub severity: String,
    #[serde(default)]
    pub position: Option<ReportedPosition>,
}

/// `finding.update.v1`: the author's edit; only the fields sent change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FindingUpdateV1 {
    pub id: Uuid,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub position: Option<ReportedPosition>,
}

/// What a photo is attached to: exactly one of a check-in or a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PhotoTarget {
    CheckIn(Uuid),
    Finding(Uuid),
}

/// `photo.declare.v1`: a photo's record, before any byte moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoDeclareV1 {
    pub id: Uuid,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: u64,
    pub mime: String,
    pub attached_to: PhotoTarget,
}

/// `issue.comment.v1`: a raiser's comment on an issue; appended to its
/// history, never overwriting anything. `id` names the comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IssueCommentV1 {
    pub id: Uuid,
    pub issue_id: Uuid,
    pub note: String,
}

/// `issue.confirm.v1`: 销号 by a raiser, with a satisfaction rating of 1 to 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IssueConfirmV1 {
    pub id: Uuid,
    pub issue_id: Uuid,
    pub rating: i16,
    #[serde(default)]
    pub note: Option<String>,
}

/// `issue.dispute.v1`: a raiser does not accept the answer (the note says why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IssueDisputeV1 {
    pub id: Uuid,
    pub issue_id: Uuid,
    pub note: String,
}
