//! Proposals of the nearby-assignment rule (就近就便): the rule's answer for
//! the active representatives and places, kept for planners to review and
//! applied in one transaction (`assignment_proposal.create.v1`,
//! `assignment_proposal.apply.v1`). The solver itself is
//! [`fieldvisit_geodata::assign`], which knows no database: this module
//! reads its inputs, maps rows to its indices and back, and writes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use fieldvisit_geodata::assign::{self, Explainer, Lock, Place as SolverPlace, Representative as SolverRep};
use fieldvisit_geodata::wkb;
use geo::{Geometry, Point};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{AssignmentSource, Create, Ending, end_open};
use crate::SyncError;
use crate::command::{Applied, Command};
use crate::places::PlaceKind;

/// How many representatives each kind of place needs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Needs {
    #[serde(default = "one")]
    pub grid_cell: u32,
    #[serde(default = "one")]
    pub enterprise: u32,
    #[serde(default = "one")]
    pub project_site: u32,
}

fn one() -> u32 {
    1
}

impl Default for Needs {
    fn default() -> Self {
        Self { grid_cell: 1, enterprise: 1, project_site: 1 }
    }
}

/// The rule's parameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Representatives per place, by kind (default 1 each).
    #[serde(default)]
    pub needs: Needs,
    /// The capacity of a representative whose own is 0 (default 0: they take none).
    #[serde(default)]
    pub default_capacity: u32,
    /// No place farther than this from a representative's anchor (metres).
    pub max_distance_m: Option<f64>,
    /// A place may only go to representatives of its own station's subtree.
    #[serde(default)]
    pub within_station: bool,
    /// Only this station's subtree (its representatives and places); absent: the whole township.
    pub station_id: Option<Uuid>,
}

/// One assignment the rule proposes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposed {
    pub person_id: Uuid,
    pub person_name: String,
    pub place_id: Uuid,
    pub place_name: String,
    /// Whole geodesic metres from the anchor to the place (0 inside a polygon).
    pub distance_m: u64,
    /// Locked by a planner: kept as it is.
    pub locked: bool,
}

/// A place served short of its need, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnservedPlace {
    pub place_id: Uuid,
    pub place_name: String,
    pub missing: u32,
    /// no_one_in_range, capacity_exhausted or no_representative_in_station.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub reason: Value,
}

/// A representative's load against capacity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonLoad {
    pub person_id: Uuid,
    pub person_name: String,
    pub load: u32,
    pub capacity: u32,
}

/// A pair in the difference to the assignments in force.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pair {
    /// The assignment in force (for a removal).
    pub assignment_id: Option<Uuid>,
    pub person_id: Uuid,
    pub place_id: Uuid,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Diff {
    pub added: Vec<Pair>,
    pub removed: Vec<Pair>,
    pub kept: usize,
}

/// Why a place went to whom, and who came next.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    pub place_id: Uuid,
    pub place_name: String,
    pub need: u32,
    /// Nearest first: `{person_id, person_name, distance_m, locked}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub served_by: Vec<Value>,
    /// When served short: `{missing, reason}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub unserved: Option<Value>,
    /// The next nearest eligible representatives who did not get it:
    /// `{person_id, person_name, distance_m, load, capacity, reason}` (farther, at_capacity, not_chosen).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub next: Vec<Value>,
}

/// A proposal as planners review it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Body {
    pub assignments: Vec<Proposed>,
    pub unserved: Vec<UnservedPlace>,
    pub loads: Vec<PersonLoad>,
    pub diff: Diff,
    pub total_distance_m: u64,
    /// Representatives left out for want of an anchor.
    pub without_anchor: usize,
    /// The solver's figures: seconds, arcs, rounds, optimal or the gap bound.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub figures: Value,
    /// Per place (by id): why it went to whom and who came next.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub explanations: HashMap<Uuid, Explanation>,
}

/// A stored proposal.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    pub id: Uuid,
    pub params: Params,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    /// Made on assignments that have changed since: it can no longer be applied.
    pub stale: bool,
    #[serde(flatten)]
    pub body: Body,
}

#[derive(Debug, sqlx::FromRow)]
struct RepRow {
    id: Uuid,
    name: String,
    station_id: Option<Uuid>,
    anchor: Vec<u8>,
    visit_capacity: i32,
}

#[derive(Debug, sqlx::FromRow)]
struct PlaceRow {
    id: Uuid,
    name: String,
    kind: PlaceKind,
    station_id: Uuid,
    geom: Vec<u8>,
}

#[derive(Debug, sqlx::FromRow)]
struct InForce {
    id: Uuid,
    person_id: Uuid,
    place_id: Uuid,
    locked: bool,
}

/// What the rule runs on, read from the database.
#[derive(Debug)]
pub struct Inputs {
    params: Params,
    reps: Vec<RepRow>,
    places: Vec<PlaceRow>,
    in_force: Vec<InForce>,
    /// Every station's subtree.
    subtrees: HashMap<Uuid, Vec<Uuid>>,
    without_anchor: usize,
    basis: String,
}

fn subtrees(stations: &[(Uuid, Option<Uuid>)]) -> HashMap<Uuid, Vec<Uuid>> {
    let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, parent) in stations {
        if let Some(p) = parent {
            children.entry(*p).or_default().push(*id);
        }
    }
    stations
        .iter()
        .map(|(id, _)| {
            let mut all = vec![*id];
            let mut i = 0;
            while i < all.len() {
                all.extend(children.get(&all[i]).cloned().unwrap_or_default());
                i += 1;
            }
            (*id, all)
        })
        .collect()
}

/// Reads the inputs of the rule.
pub async fn inputs(db: &PgPool, params: Params) -> Result<Inputs, SyncError> {
    if let Some(m) = params.max_distance_m
        && !(m.is_finite() && m > 0.0)
    {
        return Err(SyncError::invalid("max_distance_m", "max_distance_m must be a positive number of metres"));
    }
    if params.default_capacity > 1000
        || [params.needs.grid_cell, params.needs.enterprise, params.needs.project_site].iter().any(|n| *n > 100)
    {
        return Err(SyncError::invalid("needs", "needs are at most 100 and the default capacity at most 1000"));
    }
    let stations: Vec<(Uuid, Option<Uuid>)> = sqlx::query_as(include_str!("stations.sql")).fetch_all(db).await?;
    let subtrees = subtrees(&stations);
    let within = match params.station_id {
        Some(s) => Some(
            subtrees
                .get(&s)
                .cloned()
                .ok_or_else(|| SyncError::invalid("station_id", format!("no active station {s}")))?,
        ),
        None => None,
    };
    let all_reps: i64 =
        sqlx::query_scalar(include_str!("representative_count.sql")).bind(&within).fetch_one(db).await?;
    let reps: Vec<RepRow> = sqlx::query_as(include_str!("representatives.sql")).bind(&within).fetch_all(db).await?;
    let places: Vec<PlaceRow> = sqlx::query_as(include_str!("places.sql")).bind(&within).fetch_all(db).await?;
    let in_force: Vec<InForce> = sqlx::query_as(include_str!("in_force.sql")).fetch_all(db).await?;
    let basis: String = sqlx::query_scalar(include_str!("basis.sql")).fetch_one(db).await?;
    let without_anchor = usize::try_from(all_reps).unwrap_or(0).saturating_sub(reps.len());
    Ok(Inputs { params, reps, places, in_force, subtrees, without_anchor, basis })
}

fn point(bytes: &[u8]) -> Result<Point<f64>, SyncError> {
    match wkb::from_wkb(bytes) {
        Ok(Geometry::Point(p)) => Ok(p),
        _ => Err(SyncError::Database(sqlx::Error::Protocol("a stored anchor is not a point".into()))),
    }
}

/// Runs the rule on `inputs` (CPU work: call it off the async workers).
pub fn propose(inputs: &Inputs) -> Result<Body, SyncError> {
    let p = &inputs.params;
    let station_number: HashMap<Uuid, u32> =
        inputs.subtrees.keys().enumerate().map(|(i, s)| (*s, u32::try_from(i).unwrap_or(u32::MAX))).collect();
    let reps: Vec<SolverRep> = inputs
        .reps
        .iter()
        .map(|r| {
            let own = u32::try_from(r.visit_capacity).unwrap_or(0);
            Ok(SolverRep {
                anchor: point(&r.anchor)?,
                capacity: if own == 0 { p.default_capacity } else { own },
                station: r.station_id.and_then(|s| station_number.get(&s).copied()),
            })
        })
        .collect::<Result<_, SyncError>>()?;
    let places: Vec<SolverPlace> = inputs
        .places
        .iter()
        .map(|pl| {
            let geometry =
                wkb::from_wkb(&pl.geom).map_err(|e| SyncError::Database(sqlx::Error::Protocol(e.to_string())))?;
            let need = match pl.kind {
                PlaceKind::GridCell => p.needs.grid_cell,
                PlaceKind::Enterprise => p.needs.enterprise,
                PlaceKind::ProjectSite => p.needs.project_site,
            };
            let stations = p.within_station.then(|| {
                inputs
                    .subtrees
                    .get(&pl.station_id)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| station_number.get(s).copied())
                    .collect()
            });
            Ok(SolverPlace { geometry, need, stations })
        })
        .collect::<Result<_, SyncError>>()?;
    let rep_index: HashMap<Uuid, usize> = inputs.reps.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let place_index: HashMap<Uuid, usize> = inputs.places.iter().enumerate().map(|(i, pl)| (pl.id, i)).collect();
    let locks: Vec<Lock> = inputs
        .in_force
        .iter()
        .filter(|a| a.locked)
        .filter_map(|a| {
            Some(Lock { representative: *rep_index.get(&a.person_id)?, place: *place_index.get(&a.place_id)? })
        })
        .collect();
    let solver_params = assign::Params { max_distance_m: p.max_distance_m, ..assign::Params::default() };
    let answer = assign::solve(&reps, &places, &locks, &solver_params)
        .map_err(|e| SyncError::invalid("params", format!("the rule cannot run on these inputs: {e}")))?;

    let rep = |i: usize| &inputs.reps[i];
    let place = |i: usize| &inputs.places[i];
    let assignments: Vec<Proposed> = answer
        .assignments
        .iter()
        .map(|a| Proposed {
            person_id: rep(a.representative).id,
            person_name: rep(a.representative).name.clone(),
            place_id: place(a.place).id,
            place_name: place(a.place).name.clone(),
            distance_m: a.distance_m,
            locked: a.locked,
        })
        .collect();
    let unserved = answer
        .unserved
        .iter()
        .map(|u| UnservedPlace {
            place_id: place(u.place).id,
            place_name: place(u.place).name.clone(),
            missing: u.missing,
            reason: serde_json::to_value(u.reason).unwrap_or(Value::Null),
        })
        .collect();
    let loads = answer
        .loads
        .iter()
        .map(|l| PersonLoad {
            person_id: rep(l.representative).id,
            person_name: rep(l.representative).name.clone(),
            load: l.load,
            capacity: l.capacity,
        })
        .collect();
    // The difference to what is in force, for the people and places this run covers.
    let covered_people: HashSet<Uuid> = inputs.reps.iter().map(|r| r.id).collect();
    let covered_places: HashSet<Uuid> = inputs.places.iter().map(|pl| pl.id).collect();
    let proposed: HashSet<(Uuid, Uuid)> = assignments.iter().map(|a| (a.person_id, a.place_id)).collect();
    let current: Vec<&InForce> = inputs
        .in_force
        .iter()
        .filter(|a| covered_people.contains(&a.person_id) && covered_places.contains(&a.place_id))
        .collect();
    let current_pairs: HashSet<(Uuid, Uuid)> = current.iter().map(|a| (a.person_id, a.place_id)).collect();
    let diff = Diff {
        added: assignments
            .iter()
            .filter(|a| !current_pairs.contains(&(a.person_id, a.place_id)))
            .map(|a| Pair { assignment_id: None, person_id: a.person_id, place_id: a.place_id })
            .collect(),
        removed: current
            .iter()
            .filter(|a| !proposed.contains(&(a.person_id, a.place_id)))
            .map(|a| Pair { assignment_id: Some(a.id), person_id: a.person_id, place_id: a.place_id })
            .collect(),
        kept: current.iter().filter(|a| proposed.contains(&(a.person_id, a.place_id))).count(),
    };
    let explainer = Explainer::new(&reps, &places, p.max_distance_m, &answer);
    let explanations = (0..places.len())
        .map(|i| {
            let e = explainer.place(i, 3);
            let who = |r: usize| json!({ "person_id": rep(r).id, "person_name": rep(r).name });
            let served_by = e
                .served_by
                .iter()
                .map(|s| {
                    let mut v = who(s.representative);
                    v["distance_m"] = json!(s.distance_m);
                    v["locked"] = json!(s.locked);
                    v
                })
                .collect();
            let next = e
                .next
                .iter()
                .map(|n| {
                    let mut v = who(n.representative);
                    v["distance_m"] = json!(n.distance_m);
                    v["load"] = json!(n.load);
                    v["capacity"] = json!(n.capacity);
                    v["reason"] = serde_json::to_value(n.reason).unwrap_or(Value::Null);
                    v
                })
                .collect();
            let unserved = e.unserved.map(|u| json!({ "missing": u.missing, "reason": u.reason }));
            let ex = Explanation {
                place_id: place(i).id,
                place_name: place(i).name.clone(),
                need: e.need,
                served_by,
                unserved,
                next,
            };
            (place(i).id, ex)
        })
        .collect();
    Ok(Body {
        assignments,
        unserved,
        loads,
        diff,
        total_distance_m: answer.total_distance_m,
        without_anchor: inputs.without_anchor,
        figures: serde_json::to_value(&answer.figures).unwrap_or(Value::Null),
        explanations,
    })
}

/// `assignment_proposal.create.v1`: keeps a proposal for review.
#[derive(Debug, Clone)]
pub struct Keep {
    pub id: Uuid,
    pub params: Params,
    pub basis: String,
    pub body: Body,
}

impl Keep {
    pub fn new(id: Uuid, inputs: &Inputs, body: Body) -> Self {
        Self { id, params: inputs.params.clone(), basis: inputs.basis.clone(), body }
    }
}

impl Command for Keep {
    const NAME: &'static str = "assignment_proposal.create.v1";
    const ACTION: &'static str = "create";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<()>, SyncError> {
        let body = serde_json::to_value(&self.body).map_err(|e| SyncError::invalid("params", e.to_string()))?;
        sqlx::query(include_str!("insert.sql"))
            .bind(self.id)
            .bind(json!(self.params))
            .bind(&self.basis)
            .bind(body)
            .bind(by)
            .execute(&mut *tx)
            .await?;
        let details = json!({
            "params": self.params, "assignments": self.body.assignments.len(), "unserved": self.body.unserved.len(),
            "added": self.body.diff.added.len(), "removed": self.body.diff.removed.len(),
            "total_distance_m": self.body.total_distance_m,
        });
        Ok(Applied { entity: "assignment_proposal", id: self.id, details, result: () })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Stored {
    id: Uuid,
    params: Value,
    basis: String,
    body: Value,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    applied_at: Option<DateTime<Utc>>,
}

/// One proposal, with whether it has gone stale.
pub async fn get(db: &PgPool, id: Uuid) -> Result<Proposal, SyncError> {
    let s: Stored = sqlx::query_as(include_str!("get.sql"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("proposal"))?;
    let basis: String = sqlx::query_scalar(include_str!("basis.sql")).fetch_one(db).await?;
    let broken = |e: serde_json::Error| SyncError::Database(sqlx::Error::Decode(Box::new(e)));
    Ok(Proposal {
        id: s.id,
        params: serde_json::from_value(s.params).map_err(broken)?,
        created_by: s.created_by,
        created_at: s.created_at,
        stale: s.applied_at.is_none() && s.basis != basis,
        applied_at: s.applied_at,
        body: serde_json::from_value(s.body).map_err(broken)?,
    })
}

/// `assignment_proposal.apply.v1`: ends the removed assignments (keeping
/// their history) and opens the added ones with `source = rule`, in one
/// transaction; refused (409) when the assignments changed since the
/// proposal was made, or it was applied already.
#[derive(Debug, Clone, Copy)]
pub struct Apply {
    pub id: Uuid,
}

impl Command for Apply {
    const NAME: &'static str = "assignment_proposal.apply.v1";
    const ACTION: &'static str = "apply";
    type Output = Diff;

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<Diff>, SyncError> {
        let (basis, body, applied): (String, Value, bool) = sqlx::query_as(include_str!("lock.sql"))
            .bind(self.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(SyncError::NotFound("proposal"))?;
        if applied {
            return Err(SyncError::conflict("already_applied", None, "this proposal has been applied already"));
        }
        // The assignments are locked for the fingerprint's read: nobody changes them meanwhile.
        sqlx::query("LOCK TABLE assignments IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        let now: String = sqlx::query_scalar(include_str!("basis.sql")).fetch_one(&mut *tx).await?;
        if now != basis {
            return Err(SyncError::conflict(
                "stale_proposal",
                None,
                "the assignments changed since this proposal was made; make a new one",
            ));
        }
        let body: Body =
            serde_json::from_value(body).map_err(|e| SyncError::Database(sqlx::Error::Decode(Box::new(e))))?;
        for r in &body.diff.removed {
            if let Some(a) = r.assignment_id {
                end_open(tx, Ending::Assignment(a)).await?;
            }
        }
        for a in &body.diff.added {
            let create = Create {
                id: Uuid::now_v7(),
                person_id: a.person_id,
                place_id: a.place_id,
                valid_from: None,
                valid_to: None,
                locked: false,
                source: AssignmentSource::Rule,
            };
            create.apply(tx, by).await?;
        }
        sqlx::query(include_str!("mark_applied.sql")).bind(self.id).bind(by).execute(&mut *tx).await?;
        let details =
            json!({ "added": body.diff.added.len(), "removed": body.diff.removed.len(), "kept": body.diff.kept });
        Ok(Applied { entity: "assignment_proposal", id: self.id, details, result: body.diff })
    }
}

/// A proposal in the list: what it would change, not the whole of it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: Value,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    /// Made on assignments that have changed since: it can no longer be applied.
    pub stale: bool,
    pub assignments: i32,
    pub unserved: i32,
    pub added: i32,
    pub removed: i32,
    pub kept: i64,
    pub total_distance_m: i64,
}

/// The newest `limit` proposals, newest first.
pub async fn recent(db: &PgPool, limit: i64) -> Result<Vec<Summary>, SyncError> {
    let basis: String = sqlx::query_scalar(include_str!("basis.sql")).fetch_one(db).await?;
    Ok(sqlx::query_as(include_str!("recent.sql")).bind(limit).bind(basis).fetch_all(db).await?)
}
