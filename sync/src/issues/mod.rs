//! The issue ledger (台账): issues taken from representatives' findings,
//! numbered per township and year, tracked through the workflow
//! ([`workflow`]) until they are closed out (销号). Desk changes are
//! commands ([`commands`]); phones comment, confirm and dispute through push
//! ([`crate::mutations::issue`]), which applies the same steps. The monthly
//! list that forwards them is [`crate::issue_lists`].

pub mod bench_load;
pub mod commands;
pub mod departments;
pub mod stats;
pub mod workflow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::SyncError;
use crate::month::Month;
use crate::scope::Scope;

/// Where an issue is in its workflow (the database type `issue_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[sqlx(type_name = "issue_state", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    New,
    Accepted,
    Forwarded,
    InProgress,
    Answered,
    ClosedOut,
    Returned,
    Rejected,
    Merged,
}

impl IssueState {
    pub const ALL: [IssueState; 9] = [
        IssueState::New,
        IssueState::Accepted,
        IssueState::Forwarded,
        IssueState::InProgress,
        IssueState::Answered,
        IssueState::ClosedOut,
        IssueState::Returned,
        IssueState::Rejected,
        IssueState::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IssueState::New => "new",
            IssueState::Accepted => "accepted",
            IssueState::Forwarded => "forwarded",
            IssueState::InProgress => "in_progress",
            IssueState::Answered => "answered",
            IssueState::ClosedOut => "closed_out",
            IssueState::Returned => "returned",
            IssueState::Rejected => "rejected",
            IssueState::Merged => "merged",
        }
    }

    /// The state as a township office writes it (办理状态).
    pub fn label(self, english: bool) -> &'static str {
        match (self, english) {
            (IssueState::New, false) => "待受理",
            (IssueState::Accepted, false) => "已受理",
            (IssueState::Forwarded, false) => "已转办",
            (IssueState::InProgress, false) => "办理中",
            (IssueState::Answered, false) => "已答复",
            (IssueState::ClosedOut, false) => "已销号",
            (IssueState::Returned, false) => "已退回",
            (IssueState::Rejected, false) => "不予受理",
            (IssueState::Merged, false) => "已合并",
            (IssueState::New, true) => "New",
            (IssueState::Accepted, true) => "Accepted",
            (IssueState::Forwarded, true) => "Forwarded",
            (IssueState::InProgress, true) => "In progress",
            (IssueState::Answered, true) => "Answered",
            (IssueState::ClosedOut, true) => "Closed out",
            (IssueState::Returned, true) => "Returned",
            (IssueState::Rejected, true) => "Rejected",
            (IssueState::Merged, true) => "Merged",
        }
    }

    /// Still being worked in (not closed out, rejected or merged).
    pub fn is_open(self) -> bool {
        workflow::OPEN.contains(&self)
    }
}

/// A representative who raised an issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Raiser {
    pub id: Uuid,
    pub name: String,
}

/// An issue as a ledger row shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Issue {
    pub id: Uuid,
    /// `2026-0007`: unique per township and year, never reused.
    pub number: String,
    pub title: String,
    pub description: String,
    /// A finding category code.
    pub category: String,
    pub category_zh: String,
    pub category_en: String,
    pub place_id: Option<Uuid>,
    pub place_name: Option<String>,
    /// WGS84: the issue's own position, or a point on its place.
    pub lon: f64,
    pub lat: f64,
    pub station_id: Uuid,
    pub station_name: String,
    pub department_id: Option<Uuid>,
    pub department_zh: Option<String>,
    pub department_en: Option<String>,
    /// 办理时限 (a date, Asia/Shanghai).
    pub deadline: Option<NaiveDate>,
    pub state: IssueState,
    /// Past the deadline and neither answered nor closed out.
    pub overdue: bool,
    /// The issue this one was merged into.
    pub merged_into: Option<Uuid>,
    /// The monthly list that forwarded it.
    pub forwarded_in: Option<Uuid>,
    /// The department's reply.
    pub answer: Option<String>,
    pub answered_on: Option<NaiveDate>,
    pub closed_out_at: Option<DateTime<Utc>>,
    /// 1 to 5, given at close-out.
    pub satisfaction: Option<i16>,
    /// Why it was returned or rejected.
    pub reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Raiser>))]
    pub raisers: Json<Vec<Raiser>>,
    /// How many findings were taken into it.
    pub findings: i64,
    pub raised_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// One entry of an issue's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_name: String,
    /// create, edit, a workflow step (accept, answer, confirm …), forward
    /// (by an issued list), merged_from (another issue was merged in), comment.
    pub action: String,
    pub from_state: Option<IssueState>,
    pub to_state: Option<IssueState>,
    pub note: Option<String>,
    /// Fields changed, `{"field": [before, after]}`; for merges the other issue.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: Value,
}

/// A photo of a linked finding; fetch it with `GET /v1/photos/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoRef {
    pub id: Uuid,
    pub status: String,
    pub mime: String,
    pub thumbnail_ready: bool,
}

/// A finding taken into the issue (or into one merged into it).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkedFinding {
    pub id: Uuid,
    /// The issue it was taken into (this one, or one merged into it).
    pub issue_id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub place_id: Uuid,
    pub place_name: String,
    pub category: String,
    pub description: String,
    pub severity: String,
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<PhotoRef>))]
    pub photos: Json<Vec<PhotoRef>>,
}

/// Another issue's number.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueRef {
    pub id: Uuid,
    pub number: String,
}

/// A monthly list that holds the issue.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListRef {
    pub id: Uuid,
    /// `YYYY-MM`.
    pub month: String,
    pub station_id: Option<Uuid>,
    /// 序号 in that list.
    pub position: i32,
    pub carried_over: bool,
    /// When it was issued; a draft has none.
    pub issued_at: Option<DateTime<Utc>>,
}

/// An issue with everything that belongs to it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueDetail {
    #[serde(flatten)]
    pub issue: Issue,
    pub history: Vec<Event>,
    pub linked_findings: Vec<LinkedFinding>,
    pub merged_from: Vec<IssueRef>,
    pub lists: Vec<ListRef>,
}

/// An open issue like a finding or another issue: a candidate to merge into.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Similar {
    pub id: Uuid,
    pub number: String,
    pub title: String,
    pub state: IssueState,
    pub place_id: Option<Uuid>,
    pub place_name: Option<String>,
    pub same_place: Option<bool>,
    /// Geodesic metres from the finding (or issue) to this one.
    pub distance_m: f64,
}

/// How close counts as the same issue (metres, geodesic).
pub const SIMILAR_WITHIN_M: f64 = 500.0;

/// What a ledger is narrowed to, besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<IssueState>,
    pub station_id: Option<Uuid>,
    pub category: Option<String>,
    pub department_id: Option<Uuid>,
    /// The month raised (Asia/Shanghai).
    pub month: Option<Month>,
    pub raiser_id: Option<Uuid>,
    /// Only the issues about this place.
    pub place_id: Option<Uuid>,
    pub overdue: bool,
    /// Part of the number, title, description or place name.
    pub q: Option<String>,
    pub after: Option<Uuid>,
}

/// Up to `limit` issues of the scope, newest raised first, after `filter.after`.
pub async fn list(db: &PgPool, scope: &Scope, filter: &Filter, limit: i64) -> Result<Vec<Issue>, SyncError> {
    Ok(sqlx::query_as(concat!(include_str!("select.sql"), include_str!("list.sql")))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(filter.state)
        .bind(filter.station_id)
        .bind(&filter.category)
        .bind(filter.department_id)
        .bind(filter.month.map(Month::first_day))
        .bind(filter.raiser_id)
        .bind(filter.overdue)
        .bind(filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()))
        .bind(filter.after)
        .bind(limit)
        .bind(filter.place_id)
        .fetch_all(db)
        .await?)
}

/// One issue row, if within the scope.
pub async fn get(db: &PgPool, scope: &Scope, id: Uuid) -> Result<Issue, SyncError> {
    sqlx::query_as(concat!(include_str!("select.sql"), " AND i.id = $3"))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("issue"))
}

/// Issue rows by id, in the order given, within the scope.
pub async fn get_many(db: &PgPool, scope: &Scope, ids: &[Uuid]) -> Result<Vec<Issue>, SyncError> {
    let rows: Vec<Issue> = sqlx::query_as(concat!(include_str!("select.sql"), " AND i.id = ANY($3)"))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(ids)
        .fetch_all(db)
        .await?;
    let mut by_id: std::collections::HashMap<Uuid, Issue> = rows.into_iter().map(|i| (i.id, i)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// One issue with its history, findings, merges and lists, if within the scope.
pub async fn detail(db: &PgPool, scope: &Scope, id: Uuid) -> Result<IssueDetail, SyncError> {
    let issue = get(db, scope, id).await?;
    let history = sqlx::query_as(include_str!("history.sql")).bind(id).fetch_all(db).await?;
    let linked_findings = sqlx::query_as(include_str!("linked_findings.sql")).bind(id).fetch_all(db).await?;
    let merged_from = sqlx::query_as(include_str!("merged_from.sql")).bind(id).fetch_all(db).await?;
    let lists = sqlx::query_as(include_str!("in_lists.sql")).bind(id).fetch_all(db).await?;
    Ok(IssueDetail { issue, history, linked_findings, merged_from, lists })
}

/// What to look for similar issues around.
#[derive(Debug, Clone, Copy)]
pub enum SimilarTo {
    Finding(Uuid),
    Issue(Uuid),
}

/// Open issues of the same category at the same place or within
/// [`SIMILAR_WITHIN_M`], nearest first. `of` is the scope the finding or
/// issue must be in (else 404), `among` the scope of the candidates.
pub async fn similar(db: &PgPool, of: &Scope, among: &Scope, to: SimilarTo) -> Result<Vec<Similar>, SyncError> {
    let anchor: Option<(String, Option<Uuid>, Vec<u8>)> = match to {
        SimilarTo::Finding(id) => {
            sqlx::query_as(include_str!("finding_anchor.sql"))
                .bind(id)
                .bind(&of.stations)
                .bind(of.person)
                .fetch_optional(db)
                .await?
        }
        SimilarTo::Issue(id) => {
            sqlx::query_as(include_str!("issue_anchor.sql"))
                .bind(id)
                .bind(&of.stations)
                .bind(of.person)
                .fetch_optional(db)
                .await?
        }
    };
    let Some((category, place, point)) = anchor else {
        return Err(SyncError::NotFound(match to {
            SimilarTo::Finding(_) => "finding",
            SimilarTo::Issue(_) => "issue",
        }));
    };
    let leave_out = match to {
        SimilarTo::Issue(id) => Some(id),
        SimilarTo::Finding(_) => None,
    };
    Ok(sqlx::query_as(include_str!("similar.sql"))
        .bind(category)
        .bind(place)
        .bind(point)
        .bind(SIMILAR_WITHIN_M)
        .bind(leave_out)
        .bind(&among.stations)
        .bind(among.person)
        .fetch_all(db)
        .await?)
}
