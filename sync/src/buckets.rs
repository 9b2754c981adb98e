//! Partial replication: the buckets a device carries. Each synced record is
//! logged to its owner's `rep:{person}` bucket and to `{resource}:{station}`
//! of its place's station (`places:`, `assignments:`, `check_ins:`,
//! `findings:`, `photos:`); reference data goes to `ref`. Which of them a
//! person carries is the API's access policy's decision, recomputed from the
//! database on every pull (through [`Actor`]), never remembered.

use uuid::Uuid;

use crate::Actor;

/// Reference data every device carries: the station tree and the code lists.
pub const REF: &str = "ref";

/// A person's own records: their check-ins, findings, photos, assignments.
pub fn own(person: Uuid) -> String {
    format!("rep:{person}")
}

/// One station's records of one resource, e.g. `findings:{station}`.
pub fn of_station(resource: &str, station: Uuid) -> String {
    format!("{resource}:{station}")
}

/// The buckets of `actor`, in the order pull serves them: reference data
/// first (small, needed to show anything), then the person's own records,
/// then the station buckets, sorted so that the order is stable.
pub fn for_actor(actor: &Actor) -> Vec<String> {
    let mut buckets: Vec<String> = actor.buckets.iter().filter(|b| b.as_str() != REF).cloned().collect();
    let own = own(actor.person_id);
    buckets.retain(|b| *b != own);
    buckets.sort();
    buckets.dedup();
    let mut out = vec![REF.to_owned(), own];
    out.extend(buckets);
    out
}
