//! Partial replication: which buckets a person's devices carry. Recomputed
//! from the database on every pull (through [`Actor`]), never remembered.

use crate::Actor;

/// Reference data every device carries: the station tree (later: code lists).
pub const REF: &str = "ref";

/// The buckets of `actor`, in the order pull serves them: reference data
/// first (small, needed to show anything), then the person's own records,
/// then their stations' places and assignments.
pub fn for_actor(actor: &Actor) -> Vec<String> {
    let mut buckets = vec![REF.to_owned()];
    if actor.own_bucket {
        buckets.push(format!("rep:{}", actor.person_id));
    }
    let mut stations = actor.bucket_stations.clone();
    stations.sort();
    buckets.extend(stations.into_iter().map(|s| format!("station:{s}")));
    buckets
}
