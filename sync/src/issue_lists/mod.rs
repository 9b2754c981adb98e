//! The monthly issue list (问题清单): the accepted issues a liaison station or
//! the presidium sends to the township government, numbered 序号 1…n, with
//! the still-open ones of earlier months carried over. A draft is edited
//! (`issue_list.draft.v1`, `issue_list.update.v1`); issuing it
//! (`issue_list.issue.v1`) freezes it and forwards its new issues.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::command::{Applied, Command, check_version};
use crate::issues::commands::{EventRow, record};
use crate::issues::{self, Issue, IssueState};
use crate::month::Month;
use crate::scope::Scope;

/// A list as the index shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueList {
    pub id: Uuid,
    /// `YYYY-MM` (Asia/Shanghai).
    pub month: String,
    /// The station whose subtree it covers; none: the whole township.
    pub station_id: Option<Uuid>,
    pub station_name: Option<String>,
    /// draft or issued.
    pub state: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_by: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub items: i64,
}

/// One line of a list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    /// 序号, from 1.
    pub position: i32,
    /// Forwarded by an earlier month's list and still open.
    pub carried_over: bool,
    pub issue: Issue,
}

/// A list with its lines in order.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListDetail {
    #[serde(flatten)]
    pub list: IssueList,
    pub lines: Vec<Item>,
}

/// The lists of the reader's stations, newest month first; one month when given.
pub async fn list(db: &PgPool, stations: Option<&[Uuid]>, month: Option<Month>) -> Result<Vec<IssueList>, SyncError> {
    Ok(sqlx::query_as(concat!(
        include_str!("select.sql"),
        " AND ($2::date IS NULL OR l.month = $2) ORDER BY l.month DESC, l.station_id NULLS FIRST, l.id"
    ))
    .bind(stations)
    .bind(month.map(Month::first_day))
    .fetch_all(db)
    .await?)
}

/// One list with its lines, if the reader's stations cover it.
pub async fn detail(db: &PgPool, stations: Option<&[Uuid]>, id: Uuid) -> Result<ListDetail, SyncError> {
    let list: IssueList = sqlx::query_as(concat!(include_str!("select.sql"), " AND l.id = $2"))
        .bind(stations)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("issue list"))?;
    let items: Vec<(Uuid, i32, bool)> = sqlx::query_as(include_str!("items.sql")).bind(id).fetch_all(db).await?;
    let ids: Vec<Uuid> = items.iter().map(|i| i.0).collect();
    // The list decides what it holds; the reader already may see the list.
    let rows = issues::get_many(db, &Scope::default(), &ids).await?;
    let lines = items
        .into_iter()
        .zip(rows)
        .map(|((_, position, carried_over), issue)| Item { position, carried_over, issue })
        .collect();
    Ok(ListDetail { list, lines })
}

/// The stations a list of `station` covers (`None`: the whole township).
async fn coverage(tx: &mut PgConnection, station: Option<Uuid>) -> Result<Option<Vec<Uuid>>, SyncError> {
    Ok(match station {
        Some(s) => Some(sqlx::query_scalar(include_str!("../scope/subtree.sql")).bind(s).fetch_all(&mut *tx).await?),
        None => None,
    })
}

/// The issues a list may hold, with whether each is carried over.
async fn eligible(
    tx: &mut PgConnection,
    township: Uuid,
    station: Option<Uuid>,
    month: Month,
) -> Result<Vec<(Uuid, bool)>, SyncError> {
    let stations = coverage(tx, station).await?;
    Ok(sqlx::query_as(include_str!("eligible.sql"))
        .bind(month.first_day())
        .bind(stations)
        .bind(township)
        .fetch_all(&mut *tx)
        .await?)
}

async fn township(tx: &mut PgConnection) -> Result<Uuid, SyncError> {
    Ok(sqlx::query_scalar(include_str!("township.sql")).fetch_one(&mut *tx).await?)
}

/// Whether the reader's stations (`None`: all) may act on a list of `station`.
fn covers(reach: Option<&[Uuid]>, station: Option<Uuid>) -> bool {
    match (reach, station) {
        (None, _) => true,
        (Some(r), Some(s)) => r.contains(&s),
        (Some(_), None) => false,
    }
}

/// `issue_list.draft.v1`: the draft for a month, filled with what it may hold.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: Uuid,
    pub month: Month,
    pub station_id: Option<Uuid>,
    /// The drafter's stations (`None`: all), from the policy.
    pub reach: Option<Vec<Uuid>>,
}

impl Command for Draft {
    const NAME: &'static str = "issue_list.draft.v1";
    const ACTION: &'static str = "create";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<()>, SyncError> {
        if !covers(self.reach.as_deref(), self.station_id) {
            return Err(match self.station_id {
                Some(s) => SyncError::invalid("station_id", format!("no station {s} of yours")),
                None => SyncError::invalid("station_id", "name your station: a township-wide list is the presidium's"),
            });
        }
        let township = township(tx).await?;
        let items = eligible(tx, township, self.station_id, self.month).await?;
        let (ids, carried): (Vec<Uuid>, Vec<bool>) = items.into_iter().unzip();
        sqlx::query(include_str!("insert.sql"))
            .bind(self.id)
            .bind(township)
            .bind(self.station_id)
            .bind(self.month.first_day())
            .bind(by)
            .bind(&ids)
            .bind(&carried)
            .execute(&mut *tx)
            .await?;
        Ok(Applied {
            entity: "issue_list",
            id: self.id,
            details: json!({ "month": self.month.to_string(), "station_id": self.station_id, "issues": ids }),
            result: (),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Locked {
    township_id: Uuid,
    station_id: Option<Uuid>,
    month: chrono::NaiveDate,
    issued: bool,
    version: i64,
}

async fn lock(tx: &mut PgConnection, id: Uuid, reach: Option<&[Uuid]>) -> Result<Locked, SyncError> {
    let l: Locked = sqlx::query_as(include_str!("lock.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(SyncError::NotFound("issue list"))?;
    if !covers(reach, l.station_id) {
        return Err(SyncError::NotFound("issue list"));
    }
    if l.issued {
        return Err(SyncError::conflict(
            "list_issued",
            None,
            "this list has been issued; an issued list never changes",
        ));
    }
    Ok(l)
}

/// `issue_list.update.v1`: a draft's lines, in their new order (add, remove, reorder).
#[derive(Debug, Clone)]
pub struct Edit {
    pub id: Uuid,
    pub version: Option<i64>,
    pub issue_ids: Vec<Uuid>,
    pub reach: Option<Vec<Uuid>>,
}

impl Command for Edit {
    const NAME: &'static str = "issue_list.update.v1";
    const ACTION: &'static str = "update";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<()>, SyncError> {
        let l = lock(tx, self.id, self.reach.as_deref()).await?;
        check_version(self.version, l.version)?;
        let month = Month::of_date(l.month);
        let eligible = eligible(tx, l.township_id, l.station_id, month).await?;
        let mut carried = Vec::with_capacity(self.issue_ids.len());
        for (n, id) in self.issue_ids.iter().enumerate() {
            if self.issue_ids[..n].contains(id) {
                return Err(SyncError::invalid("issue_ids", format!("issue {id} is named twice")));
            }
            let Some((_, c)) = eligible.iter().find(|(e, _)| e == id) else {
                return Err(SyncError::invalid(
                    "issue_ids",
                    format!("issue {id} cannot be on this list: it is not accepted, or not of this list's stations"),
                ));
            };
            carried.push(*c);
        }
        sqlx::query(include_str!("clear_items.sql")).bind(self.id).execute(&mut *tx).await?;
        sqlx::query(include_str!("replace_items.sql"))
            .bind(self.id)
            .bind(&self.issue_ids)
            .bind(&carried)
            .execute(&mut *tx)
            .await?;
        sqlx::query(include_str!("bump.sql")).bind(self.id).execute(&mut *tx).await?;
        Ok(Applied { entity: "issue_list", id: self.id, details: json!({ "issues": self.issue_ids }), result: () })
    }
}

/// `issue_list.issue.v1`: freezes a draft; its new issues become `forwarded`.
#[derive(Debug, Clone)]
pub struct IssueIt {
    pub id: Uuid,
    pub version: Option<i64>,
    pub reach: Option<Vec<Uuid>>,
    pub at: DateTime<Utc>,
}

impl Command for IssueIt {
    const NAME: &'static str = "issue_list.issue.v1";
    const ACTION: &'static str = "issue";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<()>, SyncError> {
        let l = lock(tx, self.id, self.reach.as_deref()).await?;
        check_version(self.version, l.version)?;
        let items: Vec<(Uuid, i32, bool)> =
            sqlx::query_as(include_str!("items.sql")).bind(self.id).fetch_all(&mut *tx).await?;
        if items.is_empty() {
            return Err(SyncError::conflict("list_empty", None, "an empty list cannot be issued"));
        }
        let month = Month::of_date(l.month);
        let eligible = eligible(tx, l.township_id, l.station_id, month).await?;
        let stale: Vec<Uuid> =
            items.iter().filter(|(id, _, _)| !eligible.iter().any(|(e, _)| e == id)).map(|i| i.0).collect();
        if !stale.is_empty() {
            return Err(SyncError::conflict(
                "list_stale",
                Some("issue_ids"),
                format!(
                    "these issues can no longer be on the list (their state changed since the draft): {}; edit the draft",
                    stale.iter().map(Uuid::to_string).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let new: Vec<Uuid> = items.iter().filter(|(_, _, carried)| !carried).map(|i| i.0).collect();
        sqlx::query(include_str!("mark_issued.sql")).bind(self.id).bind(self.at).bind(by).execute(&mut *tx).await?;
        let forwarded: Vec<Uuid> =
            sqlx::query_scalar(include_str!("forward.sql")).bind(self.id).bind(&new).fetch_all(&mut *tx).await?;
        let note = format!("列入{}年{}月问题清单", month.year(), month.month());
        for issue_id in &forwarded {
            record(
                tx,
                EventRow {
                    id: Uuid::now_v7(),
                    issue_id: *issue_id,
                    at: self.at,
                    actor: by,
                    action: "forward",
                    from: Some(IssueState::Accepted),
                    to: Some(IssueState::Forwarded),
                    note: Some(&note),
                    changes: json!({ "list_id": self.id }),
                    payload_hash: None,
                },
            )
            .await?;
        }
        Ok(Applied {
            entity: "issue_list",
            id: self.id,
            details: json!({ "forwarded": forwarded, "lines": items.len() }),
            result: (),
        })
    }
}
