//! The demo township's visit history: a few months of generated check-ins
//! for every representative, applied in-process through the same dispatcher
//! a phone's push reaches, as if each day's visits had been synced that
//! evening. So the coverage map, the visit status and the review lists have
//! something to show, with every verdict represented.
//!
//! Idempotent: each representative has one fixed client id and the plan is
//! seeded from the person and the month, so a second run sends the same
//! mutation ids and the dispatcher answers them as duplicates; mutations the
//! server has already taken are not even sent.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use fieldvisit_geodata::geofence::GeofenceRules;
use fieldvisit_sync::Actor;
use fieldvisit_sync::client::plan::{self, PlanPlace, SHANGHAI};
use fieldvisit_sync::month::Month;
use fieldvisit_sync::protocol::{CheckInCreateV1, Mutation, MutationStatus, PushRequest, SCHEMA_VERSION};
use fieldvisit_sync::push::{PushContext, last_mutation_ids, push};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::township::{self, NAMESPACE};

/// How many months of history the demo holds.
pub const HISTORY_MONTHS: usize = 12;

/// The months of history the demo loads: the twelve calendar months before
/// `created`, the month the demo database was created in (so the demo never
/// looks stale, and a reload sees the same months).
pub fn history_months(created: Month) -> Vec<NaiveDate> {
    let mut months: Vec<Month> =
        std::iter::successors(Some(created.previous()), |m| Some(m.previous())).take(HISTORY_MONTHS).collect();
    months.reverse();
    months.into_iter().map(Month::first_day).collect()
}

/// The fixed client id of a representative's history "phone".
pub fn history_client(person: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("history-client:{person}").as_bytes())
}

/// One day's visits of one person, pushed together that evening.
pub(super) struct DayPush {
    pub received_at: DateTime<Utc>,
    pub mutations: Vec<Mutation>,
}

/// A demo representative, their station and their assigned places.
pub(super) struct Rep {
    pub person: Uuid,
    pub station: Uuid,
    pub places: Vec<PlanPlace>,
}

/// Every demo representative with their places, in a fixed order.
pub(super) fn representatives() -> Vec<Rep> {
    let t = township::township();
    let places: HashMap<Uuid, PlanPlace> =
        t.places.iter().map(|p| (p.id, PlanPlace { id: p.id, kind: p.kind, geometry: p.geometry.clone() })).collect();
    t.people
        .iter()
        .filter(|p| p.role == fieldvisit_sync::people::Role::Representative)
        .filter_map(|p| {
            let mut theirs: Vec<PlanPlace> = t
                .assignments
                .iter()
                .filter(|a| a.person == p.id)
                .filter_map(|a| places.get(&a.place).cloned())
                .collect();
            theirs.sort_by_key(|pl| pl.id);
            Some(Rep { person: p.id, station: p.station?, places: theirs })
        })
        .collect()
}

/// The sync identity of a demo representative's phone.
fn actor(rep: &Rep) -> Actor {
    Actor { person_id: rep.person, representative: true, place_stations: Some(vec![rep.station]), buckets: Vec::new() }
}

/// Applies generated check-ins of every demo representative for `months`
/// and returns how many were applied now (0 when they were already there).
/// Visits whose sync time is still in the future are left out.
pub async fn load_history(db: &PgPool, months: &[NaiveDate]) -> anyhow::Result<usize> {
    push_history(db, history_client, |rep| days_of(rep.person, history_client(rep.person), &rep.places, months)).await
}

/// Pushes every demo representative's `plan` through the dispatcher, a day
/// at a time at that day's sync time, from the phone `client_of(person)`,
/// and answers how many mutations were applied now. Days still in the
/// future are left out, and mutations the server already took are not sent.
pub(super) async fn push_history(
    db: &PgPool,
    client_of: fn(Uuid) -> Uuid,
    plan: impl Fn(&Rep) -> Vec<DayPush>,
) -> anyhow::Result<usize> {
    let reps = representatives();
    let clients: Vec<Uuid> = reps.iter().map(|r| client_of(r.person)).collect();
    let taken: HashMap<Uuid, i64> = last_mutation_ids(db, &clients).await?.into_iter().collect();

    let now = Utc::now();
    let mut jobs = JoinSet::new();
    for rep in reps {
        let client = client_of(rep.person);
        let last = taken.get(&client).copied().unwrap_or(0);
        let days: Vec<DayPush> = plan(&rep)
            .into_iter()
            .filter(|d| d.received_at <= now)
            .map(|mut d| {
                d.mutations.retain(|m| m.id > last);
                d
            })
            .filter(|d| !d.mutations.is_empty())
            .collect();
        if days.is_empty() {
            continue;
        }
        let db = db.clone();
        let actor = actor(&rep);
        jobs.spawn(async move {
            let mut applied = 0;
            for d in days {
                let req = PushRequest {
                    client_id: client,
                    schema_version: SCHEMA_VERSION,
                    client_time: Some(d.received_at.with_timezone(&SHANGHAI)),
                    mutations: d.mutations,
                };
                let ctx = PushContext {
                    rules: GeofenceRules::default(),
                    received_at: d.received_at,
                    photo_max_bytes: fieldvisit_sync::photos::DEFAULT_MAX_BYTES,
                };
                let answer = push(&db, &actor, &req, &ctx).await?;
                applied += answer.results.iter().filter(|r| r.status == MutationStatus::Applied).count();
            }
            anyhow::Ok(applied)
        });
    }
    let mut total = 0;
    while let Some(done) = jobs.join_next().await {
        total += done??;
    }
    Ok(total)
}

/// One day's planned visits of one person and when they were synced.
pub(super) struct VisitDay {
    pub received_at: DateTime<Utc>,
    pub visits: Vec<CheckInCreateV1>,
}

/// A person's planned visits for `months`, grouped by day, seeded from the
/// person, the month and the client.
pub(super) fn visit_days(person: Uuid, client: Uuid, places: &[PlanPlace], months: &[NaiveDate]) -> Vec<VisitDay> {
    let mut out: Vec<VisitDay> = Vec::new();
    let (hi, lo) = person.as_u64_pair();
    for month in months {
        let ordinal =
            u64::try_from(month.year() * 12 + i32::try_from(month.month()).expect("1..=12")).expect("a year after 0");
        let mut rng = StdRng::seed_from_u64(hi ^ lo.rotate_left(17) ^ ordinal ^ client.as_u64_pair().0);
        let visits = plan::month_plan(places, *month, &mut rng);
        let mut day: Option<NaiveDate> = None;
        for v in visits {
            let date = v.device_time.date_naive();
            if day != Some(date) {
                day = Some(date);
                out.push(VisitDay { received_at: DateTime::<Utc>::MIN_UTC, visits: Vec::new() });
            }
            let current = out.last_mut().expect("pushed above");
            // Synced that evening, some minutes to a few hours after the last visit.
            current.received_at = v.device_time.with_timezone(&Utc) + Duration::minutes(rng.gen_range(5..=180));
            current.visits.push(v);
        }
    }
    out
}

/// A person's check-in mutations for `months`, grouped by day, with ids
/// counting from 1 across the months in the order given.
pub(super) fn days_of(person: Uuid, client: Uuid, places: &[PlanPlace], months: &[NaiveDate]) -> Vec<DayPush> {
    let mut next_id = 0;
    visit_days(person, client, places, months)
        .into_iter()
        .map(|day| DayPush {
            received_at: day.received_at,
            mutations: day
                .visits
                .iter()
                .map(|v| {
                    next_id += 1;
                    Mutation {
                        id: next_id,
                        name: "checkin.create.v1".into(),
                        args: serde_json::to_value(v).expect("args serialise"),
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_plan_is_the_same_every_time() {
        let t = township::township();
        let person = t.people.iter().find(|p| p.role == fieldvisit_sync::people::Role::Representative).unwrap().id;
        let places: Vec<PlanPlace> = t
            .assignments
            .iter()
            .filter(|a| a.person == person)
            .filter_map(|a| t.places.iter().find(|p| p.id == a.place))
            .map(|p| PlanPlace { id: p.id, kind: p.kind, geometry: p.geometry.clone() })
            .collect();
        let months = history_months(Month::parse("2026-12").unwrap());
        assert_eq!(months.len(), 12);
        assert_eq!((months[0].to_string(), months[11].to_string()), ("2025-12-01".into(), "2026-11-01".into()));
        let a = days_of(person, history_client(person), &places, &months);
        let b = days_of(person, history_client(person), &places, &months);
        let ids = |d: &[DayPush]| {
            d.iter().flat_map(|d| d.mutations.iter().map(|m| (m.id, m.args.clone()))).collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        let all = ids(&a);
        assert!(!all.is_empty());
        assert!(all.iter().enumerate().all(|(i, (id, _))| *id == i64::try_from(i).unwrap() + 1));
        assert!(a.windows(2).all(|w| w[0].received_at < w[1].received_at));
    }
}
