//! The desk's changes to issues: `issue.create.v1`, `issue.update.v1` and
//! `issue.act.v1` (a workflow step). A step taken from a phone goes through
//! [`take`] as well, inside the push (see [`crate::mutations::issue`]).

use chrono::{DateTime, NaiveDate, Utc};
use fieldvisit_geodata::wkb;
use geo::{Geometry, Point};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::IssueState;
use super::workflow::{self, Action, Standing};
use crate::SyncError;
use crate::command::{Applied, Command, check_version};
use crate::month::shanghai;
use crate::people::Role;
use crate::scope::Scope;

/// Who takes a step or makes a change, as the policy resolved them.
#[derive(Debug, Clone)]
pub struct Who {
    pub person_id: Uuid,
    pub role: Role,
    /// The issues the person may see (the policy's scope of `Issues`).
    pub scope: Scope,
}

/// What an issue is locked for while it changes.
#[derive(Debug, sqlx::FromRow)]
struct Locked {
    id: Uuid,
    township_id: Uuid,
    station_id: Uuid,
    state: IssueState,
    version: i64,
    raisers: Vec<Uuid>,
}

impl Who {
    /// Where the person stands to `issue`; `None` when they may not see it.
    fn standing(&self, issue: &Locked) -> Option<Standing> {
        let visible = self.scope.stations.as_ref().is_none_or(|s| s.contains(&issue.station_id))
            && self.scope.person.is_none_or(|p| issue.raisers.contains(&p));
        if !visible {
            return None;
        }
        Some(match self.role {
            Role::Presidium => Standing::Presidium,
            Role::StationStaff => Standing::Staff,
            Role::Representative if issue.raisers.contains(&self.person_id) => Standing::Raiser,
            _ => Standing::Onlooker,
        })
    }

    /// The steps this person may take on `issue` now, in the table's order (the
    /// console shows exactly these buttons).
    pub fn allowed(&self, issue: &super::Issue) -> Vec<Action> {
        let raisers: Vec<Uuid> = issue.raisers.0.iter().map(|r| r.id).collect();
        let locked = Locked {
            id: issue.id,
            township_id: issue.station_id,
            station_id: issue.station_id,
            state: issue.state,
            version: 0,
            raisers,
        };
        self.standing(&locked).map(|s| workflow::allowed(issue.state, s)).unwrap_or_default()
    }

    fn may_use_station(&self, station: Uuid) -> bool {
        self.scope.stations.as_ref().is_none_or(|s| s.contains(&station))
    }
}

async fn lock(tx: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Locked>, SyncError> {
    Ok(sqlx::query_as(include_str!("lock.sql")).bind(ids).fetch_all(tx).await?)
}

/// The arguments of a workflow step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepArgs {
    pub note: Option<String>,
    /// For `confirm`: satisfaction 1 to 5.
    pub rating: Option<i16>,
    /// For `answer`: the date of the department's reply (default: the day of the step).
    pub answered_on: Option<NaiveDate>,
    /// For `merge`: the issue that carries on.
    pub into: Option<Uuid>,
}

/// What a step came to.
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub from: IssueState,
    pub to: IssueState,
    pub version: i64,
}

/// Takes `action` on `issue_id` for `who` at `at`, recording the event `event_id`.
/// Refused with 404 when the issue is not theirs to see, with 409
/// `illegal_transition` (and the steps allowed) when the state or their
/// standing does not allow it, with 422 when an argument is missing.
pub async fn take(
    tx: &mut PgConnection,
    issue_id: Uuid,
    action: Action,
    args: &StepArgs,
    who: &Who,
    at: DateTime<Utc>,
    event: (Uuid, Option<&[u8]>),
) -> Result<Taken, SyncError> {
    let mut ids = vec![issue_id];
    if action == Action::Merge
        && let Some(into) = args.into
    {
        ids.push(into);
    }
    let locked = lock(tx, &ids).await?;
    let issue = locked.iter().find(|l| l.id == issue_id).ok_or(SyncError::NotFound("issue"))?;
    let standing = who.standing(issue).ok_or(SyncError::NotFound("issue"))?;
    let Some(to) = workflow::leads_to(issue.state, standing, action) else {
        let allowed = workflow::allowed(issue.state, standing);
        return Err(SyncError::IllegalTransition {
            message: format!(
                "the issue is {}; you may not {} it now{}",
                issue.state.as_str(),
                action.as_str(),
                if allowed.is_empty() {
                    String::new()
                } else {
                    format!(" (allowed: {})", allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "))
                }
            ),
            allowed: allowed.into_iter().map(Action::as_str).collect(),
        });
    };
    let to = to.unwrap_or(issue.state);
    if action.needs_note() && args.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(SyncError::invalid("note", format!("{} needs a note", action.as_str())));
    }
    let mut changes = Map::new();
    let mut update = StateUpdate {
        state: to,
        answer: None,
        answered_on: None,
        satisfaction: None,
        closed_out_at: None,
        reason: Reason::Keep,
        merged_into: None,
    };
    match action {
        Action::Answer => {
            let on = args.answered_on.unwrap_or_else(|| at.with_timezone(&shanghai()).date_naive());
            update.answer.clone_from(&args.note);
            update.answered_on = Some(on);
            changes.insert("answered_on".into(), json!(on));
        }
        Action::Confirm => {
            let rating =
                args.rating.ok_or_else(|| SyncError::invalid("rating", "confirm needs a rating from 1 to 5"))?;
            if !(1..=5).contains(&rating) {
                return Err(SyncError::invalid("rating", "the rating is from 1 to 5"));
            }
            update.satisfaction = Some(rating);
            update.closed_out_at = Some(at);
            changes.insert("satisfaction".into(), json!(rating));
        }
        Action::Return | Action::Reject => update.reason = Reason::Set(args.note.clone()),
        Action::Resubmit => update.reason = Reason::Set(None),
        Action::Merge => {
            let into_id = args.into.ok_or_else(|| SyncError::invalid("into", "merge needs the issue to merge into"))?;
            let into = locked
                .iter()
                .find(|l| l.id == into_id && l.id != issue_id)
                .filter(|l| who.standing(l).is_some())
                .ok_or_else(|| SyncError::invalid("into", format!("no issue {into_id} to merge into")))?;
            if !into.state.is_open() || into.township_id != issue.township_id {
                return Err(SyncError::conflict(
                    "merge_target_closed",
                    Some("into"),
                    format!("issue {into_id} is {}; merge into an open issue", into.state.as_str()),
                ));
            }
            update.merged_into = Some(into_id);
            merge_into(tx, issue_id, into_id, who.person_id, at).await?;
            changes.insert("into".into(), json!(into_id));
        }
        _ => {}
    }
    let version: i64 = sqlx::query_scalar(include_str!("update_state.sql"))
        .bind(issue_id)
        .bind(update.state)
        .bind(&update.answer)
        .bind(update.answered_on)
        .bind(update.satisfaction)
        .bind(update.closed_out_at)
        .bind(matches!(update.reason, Reason::Set(_)))
        .bind(match update.reason {
            Reason::Set(r) => r,
            Reason::Keep => None,
        })
        .bind(update.merged_into)
        .fetch_one(&mut *tx)
        .await?;
    record(
        tx,
        EventRow {
            id: event.0,
            issue_id,
            at,
            actor: who.person_id,
            action: action.as_str(),
            from: Some(issue.state),
            to: Some(to),
            note: args.note.as_deref(),
            changes: Value::Object(changes),
            payload_hash: event.1,
        },
    )
    .await?;
    Ok(Taken { from: issue.state, to, version })
}

/// What a step does to the issue's `reason`.
enum Reason {
    Keep,
    Set(Option<String>),
}

struct StateUpdate {
    state: IssueState,
    answer: Option<String>,
    answered_on: Option<NaiveDate>,
    satisfaction: Option<i16>,
    closed_out_at: Option<DateTime<Utc>>,
    reason: Reason,
    merged_into: Option<Uuid>,
}

/// The surviving issue of a merge takes the raisers (so they may close it
/// out) and an event naming the merged one.
async fn merge_into(
    tx: &mut PgConnection,
    from: Uuid,
    into: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<(), SyncError> {
    let number: String =
        sqlx::query_scalar(include_str!("merge_into.sql")).bind(from).bind(into).fetch_one(&mut *tx).await?;
    record(
        tx,
        EventRow {
            id: Uuid::now_v7(),
            issue_id: into,
            at,
            actor: by,
            action: "merged_from",
            from: None,
            to: None,
            note: None,
            changes: json!({ "from": { "id": from, "number": number } }),
            payload_hash: None,
        },
    )
    .await
}

/// One row of the history.
pub(crate) struct EventRow<'a> {
    pub id: Uuid,
    pub issue_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: Uuid,
    pub action: &'a str,
    pub from: Option<IssueState>,
    pub to: Option<IssueState>,
    pub note: Option<&'a str>,
    pub changes: Value,
    pub payload_hash: Option<&'a [u8]>,
}

pub(crate) async fn record(tx: &mut PgConnection, e: EventRow<'_>) -> Result<(), SyncError> {
    sqlx::query(include_str!("insert_event.sql"))
        .bind(e.id)
        .bind(e.issue_id)
        .bind(e.at)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.from)
        .bind(e.to)
        .bind(e.note)
        .bind(e.changes)
        .bind(e.payload_hash)
        .execute(tx)
        .await?;
    Ok(())
}

/// `issue.act.v1`: a workflow step taken at a desk.
#[derive(Debug, Clone)]
pub struct Act {
    pub issue_id: Uuid,
    pub action: Action,
    pub args: StepArgs,
    /// The version the caller read, when they name one.
    pub version: Option<i64>,
    pub who: Who,
    pub at: DateTime<Utc>,
}

impl Command for Act {
    const NAME: &'static str = "issue.act.v1";
    const ACTION: &'static str = "act";
    type Output = Taken;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Taken>, SyncError> {
        if let Some(v) = self.version {
            let current: Option<i64> =
                sqlx::query_scalar(include_str!("version.sql")).bind(self.issue_id).fetch_optional(&mut *tx).await?;
            check_version(Some(v), current.ok_or(SyncError::NotFound("issue"))?)?;
        }
        let taken =
            take(tx, self.issue_id, self.action, &self.args, &self.who, self.at, (Uuid::now_v7(), None)).await?;
        Ok(Applied {
            entity: "issue",
            id: self.issue_id,
            details: json!({ "step": self.action, "from": taken.from, "to": taken.to, "args": self.args }),
            result: taken,
        })
    }
}

/// Where a new issue is, when it is not taken from findings' places alone.
#[derive(Debug, Clone, Default)]
pub struct Location {
    pub place_id: Option<Uuid>,
    /// WGS84, checked.
    pub position: Option<Point<f64>>,
    /// The station, for an issue at a position with no place; else the place's.
    pub station_id: Option<Uuid>,
}

/// `issue.create.v1`: an issue from findings, or directly at a place or a position.
#[derive(Debug, Clone)]
pub struct Create {
    pub id: Uuid,
    pub finding_ids: Vec<Uuid>,
    pub location: Location,
    /// Default: the first finding's description, shortened.
    pub title: Option<String>,
    /// Default: the findings' descriptions.
    pub description: Option<String>,
    /// Default: the first finding's category.
    pub category: Option<String>,
    /// Default: the findings' authors.
    pub raiser_ids: Option<Vec<Uuid>>,
    pub department_id: Option<Uuid>,
    pub deadline: Option<NaiveDate>,
    pub who: Who,
    pub at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
struct SourceFinding {
    id: Uuid,
    person_id: Uuid,
    place_id: Uuid,
    station_id: Uuid,
    category: String,
    description: String,
    position: Option<Vec<u8>>,
    issue_id: Option<Uuid>,
}

/// The longest title made from a finding's description.
const DERIVED_TITLE_CHARS: usize = 40;

fn derived_title(description: &str) -> String {
    let first = description.lines().find(|l| !l.trim().is_empty()).unwrap_or(description).trim();
    let mut t: String = first.chars().take(DERIVED_TITLE_CHARS).collect();
    if first.chars().count() > DERIVED_TITLE_CHARS {
        t.push('…');
    }
    t
}

impl Command for Create {
    const NAME: &'static str = "issue.create.v1";
    const ACTION: &'static str = "create";
    type Output = Uuid;

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<Uuid>, SyncError> {
        let mut ids = self.finding_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.finding_ids.len() {
            return Err(SyncError::invalid("finding_ids", "a finding is named twice"));
        }
        let found: Vec<SourceFinding> =
            sqlx::query_as(include_str!("lock_findings.sql")).bind(&self.finding_ids).fetch_all(&mut *tx).await?;
        let mut findings = Vec::with_capacity(found.len());
        for id in &self.finding_ids {
            let f = found
                .iter()
                .find(|f| f.id == *id && self.who.may_use_station(f.station_id))
                .ok_or_else(|| SyncError::invalid("finding_ids", format!("no finding {id}")))?;
            if let Some(issue) = f.issue_id {
                return Err(SyncError::conflict(
                    "finding_taken",
                    Some("finding_ids"),
                    format!("finding {id} is already in issue {issue}"),
                ));
            }
            findings.push(f);
        }
        let first = findings.first();
        if first.is_none() && self.location.place_id.is_none() && self.location.position.is_none() {
            return Err(SyncError::invalid("place_id", "an issue needs findings, a place or a position"));
        }
        let place_id = self.location.place_id.or(first.map(|f| f.place_id));
        let mut station_id = self.location.station_id.or(first.map(|f| f.station_id));
        if let Some(place) = self.location.place_id {
            let station: Option<(Uuid, bool)> =
                sqlx::query_as(include_str!("place_station.sql")).bind(place).fetch_optional(&mut *tx).await?;
            match station {
                Some((s, true)) if self.who.may_use_station(s) => station_id = Some(s),
                Some((s, false)) if self.who.may_use_station(s) => {
                    return Err(SyncError::invalid("place_id", "this place is no longer active"));
                }
                _ => return Err(SyncError::invalid("place_id", format!("no place {place}"))),
            }
        }
        let station_id =
            station_id.ok_or_else(|| SyncError::invalid("station_id", "an issue at a position needs a station"))?;
        if !self.who.may_use_station(station_id) {
            return Err(SyncError::invalid("station_id", format!("no station {station_id} of yours")));
        }
        let position = match self.location.position {
            Some(p) => Some(wkb::to_wkb(&Geometry::Point(p))),
            None if self.location.place_id.is_none() => first.and_then(|f| f.position.clone()),
            None => None,
        };
        let category = self
            .category
            .clone()
            .or_else(|| first.map(|f| f.category.clone()))
            .ok_or_else(|| SyncError::invalid("category", "an issue not taken from findings needs a category"))?;
        let description = self
            .description
            .clone()
            .or_else(|| {
                (!findings.is_empty())
                    .then(|| findings.iter().map(|f| f.description.as_str()).collect::<Vec<_>>().join("\n"))
            })
            .ok_or_else(|| SyncError::invalid("description", "an issue not taken from findings needs a description"))?;
        let title = self.title.clone().unwrap_or_else(|| derived_title(&description));
        let mut raisers = self.raiser_ids.clone().unwrap_or_else(|| findings.iter().map(|f| f.person_id).collect());
        raisers.sort_unstable();
        raisers.dedup();
        check_references(tx, &category, self.department_id, &raisers).await?;
        let year = chrono::Datelike::year(&self.at.with_timezone(&shanghai()).date_naive());
        let (township, seq): (Uuid, i32) =
            sqlx::query_as(include_str!("next_number.sql")).bind(station_id).bind(year).fetch_one(&mut *tx).await?;
        sqlx::query(include_str!("insert.sql"))
            .bind(self.id)
            .bind(township)
            .bind(year)
            .bind(seq)
            .bind(title.trim())
            .bind(description.trim())
            .bind(&category)
            .bind(place_id)
            .bind(position)
            .bind(station_id)
            .bind(self.department_id)
            .bind(self.deadline)
            .bind(self.at)
            .bind(by)
            .bind(&raisers)
            .bind(&self.finding_ids)
            .execute(&mut *tx)
            .await?;
        record(
            tx,
            EventRow {
                id: Uuid::now_v7(),
                issue_id: self.id,
                at: self.at,
                actor: by,
                action: "create",
                from: None,
                to: Some(IssueState::New),
                note: None,
                changes: json!({ "finding_ids": self.finding_ids }),
                payload_hash: None,
            },
        )
        .await?;
        Ok(Applied {
            entity: "issue",
            id: self.id,
            details: json!({ "finding_ids": self.finding_ids, "category": category, "station_id": station_id }),
            result: self.id,
        })
    }
}

/// The category exists, the department is active, the raisers are active representatives.
async fn check_references(
    tx: &mut PgConnection,
    category: &str,
    department: Option<Uuid>,
    raisers: &[Uuid],
) -> Result<(), SyncError> {
    let (category_ok, department_ok, raisers_ok): (bool, bool, i64) = sqlx::query_as(include_str!("references.sql"))
        .bind(category)
        .bind(department)
        .bind(raisers)
        .fetch_one(&mut *tx)
        .await?;
    if !category_ok {
        return Err(SyncError::invalid("category", format!("no finding category {category:?}")));
    }
    if !department_ok {
        return Err(SyncError::invalid("department_id", "no active department with this id"));
    }
    if usize::try_from(raisers_ok).ok() != Some(raisers.len()) {
        return Err(SyncError::invalid("raiser_ids", "every raiser must be an active representative"));
    }
    Ok(())
}

/// `issue.update.v1`: the desk's edit of an open issue's fields. Each field
/// changed is recorded in the history with its value before and after.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub id: Uuid,
    pub version: Option<i64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    /// `Some(None)` clears it.
    pub department_id: Option<Option<Uuid>>,
    pub deadline: Option<Option<NaiveDate>>,
    pub place_id: Option<Uuid>,
    pub position: Option<Point<f64>>,
    pub raiser_ids: Option<Vec<Uuid>>,
    pub who: Option<Who>,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
struct Editable {
    title: String,
    description: String,
    category: String,
    department_id: Option<Uuid>,
    deadline: Option<NaiveDate>,
    place_id: Option<Uuid>,
}

impl Command for Update {
    const NAME: &'static str = "issue.update.v1";
    const ACTION: &'static str = "update";
    type Output = i64;

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<i64>, SyncError> {
        let who = self.who.clone().ok_or(SyncError::NotFound("issue"))?;
        let at = self.at.unwrap_or_else(Utc::now);
        let locked = lock(tx, &[self.id]).await?;
        let issue = locked.first().ok_or(SyncError::NotFound("issue"))?;
        match who.standing(issue) {
            None => return Err(SyncError::NotFound("issue")),
            Some(Standing::Staff | Standing::Presidium) => {}
            Some(_) => {
                return Err(SyncError::conflict(
                    "not_editable",
                    None,
                    "only station staff and the presidium edit issues",
                ));
            }
        }
        check_version(self.version, issue.version)?;
        if !issue.state.is_open() {
            return Err(SyncError::conflict(
                "issue_closed",
                None,
                format!("the issue is {}; it can no longer be edited", issue.state.as_str()),
            ));
        }
        let before: Editable = sqlx::query_as(include_str!("editable.sql")).bind(self.id).fetch_one(&mut *tx).await?;
        let mut changes = Map::new();
        let mut note = |field: &str, old: Value, new: Value| {
            if old != new {
                changes.insert(field.into(), json!([old, new]));
            }
        };
        if let Some(t) = &self.title {
            note("title", json!(before.title), json!(t));
        }
        if let Some(d) = &self.description {
            note("description", json!(before.description), json!(d));
        }
        if let Some(c) = &self.category {
            note("category", json!(before.category), json!(c));
        }
        if let Some(d) = &self.department_id {
            note("department_id", json!(before.department_id), json!(d));
        }
        if let Some(d) = &self.deadline {
            note("deadline", json!(before.deadline), json!(d));
        }
        let mut station = issue.station_id;
        if let Some(p) = self.place_id {
            let s: Option<(Uuid, bool)> =
                sqlx::query_as(include_str!("place_station.sql")).bind(p).fetch_optional(&mut *tx).await?;
            match s {
                Some((s, true)) if who.may_use_station(s) => station = s,
                _ => return Err(SyncError::invalid("place_id", format!("no active place {p}"))),
            }
            note("place_id", json!(before.place_id), json!(p));
        }
        if let Some(p) = self.position {
            note("position", Value::Null, json!({ "lon": p.x(), "lat": p.y() }));
        }
        if let Some(r) = &self.raiser_ids {
            let mut r = r.clone();
            r.sort_unstable();
            r.dedup();
            let mut old = issue.raisers.clone();
            old.sort_unstable();
            note("raiser_ids", json!(old), json!(r));
        }
        check_references(
            tx,
            self.category.as_deref().unwrap_or(&before.category),
            self.department_id.flatten(),
            self.raiser_ids.as_deref().unwrap_or(&[]),
        )
        .await?;
        let version: i64 = sqlx::query_scalar(include_str!("update.sql"))
            .bind(self.id)
            .bind(self.title.as_deref().map(str::trim))
            .bind(self.description.as_deref().map(str::trim))
            .bind(&self.category)
            .bind(self.department_id.is_some())
            .bind(self.department_id.flatten())
            .bind(self.deadline.is_some())
            .bind(self.deadline.flatten())
            .bind(self.place_id)
            .bind(self.position.map(|p| wkb::to_wkb(&Geometry::Point(p))))
            .bind(station)
            .bind(&self.raiser_ids)
            .fetch_one(&mut *tx)
            .await?;
        let changes = Value::Object(changes);
        record(
            tx,
            EventRow {
                id: Uuid::now_v7(),
                issue_id: self.id,
                at,
                actor: by,
                action: "edit",
                from: None,
                to: None,
                note: None,
                changes: changes.clone(),
                payload_hash: None,
            },
        )
        .await?;
        Ok(Applied { entity: "issue", id: self.id, details: json!({ "changes": changes }), result: version })
    }
}
