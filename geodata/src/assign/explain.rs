//! Why a place went to whom, who came next and why they did not get it, and why a place
//! could not be served: what a planner reads before applying a proposal.
//!
//! These look at every representative (full ones too, which the flow network leaves out),
//! through an R-tree of all anchors; the solve itself needs none of it.

use serde::Serialize;

use super::spatial::{Index, Probe, metres};
use super::{Instance, Place, Proposal, Representative, Unserved, UnservedReason, whole_metres};

/// One representative serving the place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Serving {
    pub representative: usize,
    pub distance_m: u64,
    pub locked: bool,
}

/// Why an eligible representative near the place did not get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NextReason {
    /// The place already has all it needs from representatives no farther than this one.
    Farther,
    /// This representative's capacity is used up by places they serve (or locks).
    AtCapacity,
    /// Neither: only possible when the solve stopped short of proving optimality.
    NotChosen,
}

/// An eligible representative who did not get the place, nearest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Runner {
    pub representative: usize,
    pub distance_m: u64,
    pub load: u32,
    pub capacity: u32,
    pub reason: NextReason,
}

/// A place's explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceExplanation {
    pub place: usize,
    pub need: u32,
    /// Nearest first.
    pub served_by: Vec<Serving>,
    pub unserved: Option<Unserved>,
    /// The next nearest eligible representatives (station allowed, within the maximum
    /// distance) who did not get it.
    pub next: Vec<Runner>,
}

/// Explains places of one proposal; build once, ask for many places.
pub struct Explainer<'a> {
    reps: &'a [Representative],
    places: &'a [Place],
    max_distance_m: Option<f64>,
    index: Index,
    served: Vec<Vec<Serving>>,
    load: Vec<u32>,
    unserved: Vec<Option<Unserved>>,
}

impl<'a> Explainer<'a> {
    /// `max_distance_m` as given to [`super::solve`] for `proposal`.
    pub fn new(
        reps: &'a [Representative],
        places: &'a [Place],
        max_distance_m: Option<f64>,
        proposal: &Proposal,
    ) -> Self {
        let mut served = vec![Vec::new(); places.len()];
        for a in &proposal.assignments {
            served[a.place].push(Serving { representative: a.representative, distance_m: a.distance_m, locked: a.locked });
        }
        for list in &mut served {
            list.sort_unstable_by_key(|s| (s.distance_m, s.representative));
        }
        let mut unserved = vec![None; places.len()];
        for u in &proposal.unserved {
            unserved[u.place] = Some(*u);
        }
        Self {
            reps,
            places,
            max_distance_m,
            index: all_reps(reps),
            served,
            load: proposal.loads.iter().map(|l| l.load).collect(),
            unserved,
        }
    }

    /// Place `place` (an input index), with up to `next` runners-up.
    pub fn place(&self, place: usize, next: usize) -> PlaceExplanation {
        let spec = &self.places[place];
        let served = &self.served[place];
        let fully = served.len() >= spec.need as usize;
        let farthest = served.iter().map(|s| s.distance_m).max().unwrap_or(0);
        let probe = Probe::of(&spec.geometry);
        let mut runners: Vec<Runner> = Vec::with_capacity(next + 1);
        if next > 0 {
            for (r, chord) in self.index.nearest(probe.centre, spec.stations.as_deref()) {
                let bound = probe.lower_bound(chord);
                if self.max_distance_m.is_some_and(|m| bound > m) {
                    break;
                }
                // Nearest first by exact distance: stop once the bound passes the last kept.
                #[expect(clippy::cast_precision_loss, reason = "metres")]
                if runners.len() >= next && bound > runners[next - 1].distance_m as f64 + 0.5 {
                    break;
                }
                let r = r as usize;
                if served.iter().any(|s| s.representative == r) {
                    continue;
                }
                let d = metres(self.reps[r].anchor, &spec.geometry);
                if self.max_distance_m.is_some_and(|m| d > m) {
                    continue;
                }
                let distance_m = u64::from(whole_metres(d));
                let (load, capacity) = (self.load[r], self.reps[r].capacity);
                let reason = if fully && distance_m >= farthest {
                    NextReason::Farther
                } else if load >= capacity {
                    NextReason::AtCapacity
                } else {
                    NextReason::NotChosen
                };
                let runner = Runner { representative: r, distance_m, load, capacity, reason };
                let at = runners.partition_point(|x| (x.distance_m, x.representative) <= (distance_m, r));
                runners.insert(at, runner);
                runners.truncate(next);
            }
        }
        PlaceExplanation {
            place,
            need: spec.need,
            served_by: served.clone(),
            unserved: self.unserved[place],
            next: runners,
        }
    }
}

fn all_reps(reps: &[Representative]) -> Index {
    Index::new(reps.iter().enumerate().map(|(r, rep)| (u32::try_from(r).expect("fits"), rep.anchor, rep.station)))
}

/// The places of `proposal` with need left, and why.
pub(crate) fn unserved(instance: &Instance<'_>, proposal: &Proposal) -> Vec<Unserved> {
    let mut got = vec![0u32; instance.places.len()];
    for a in &proposal.assignments {
        got[a.place] += 1;
    }
    let short: Vec<usize> = (0..instance.places.len()).filter(|&p| got[p] < instance.places[p].need).collect();
    if short.is_empty() {
        return Vec::new();
    }
    let index = all_reps(instance.reps);
    short
        .into_iter()
        .map(|p| {
            let place = &instance.places[p];
            let probe = instance.probes[p];
            let in_range = |stations: Option<&[u32]>| {
                index
                    .nearest(probe.centre, stations)
                    .take_while(|&(_, chord)| {
                        instance.params.max_distance_m.is_none_or(|m| probe.lower_bound(chord) <= m)
                    })
                    .any(|(r, _)| {
                        instance.locked[p].binary_search(&r).is_err()
                            && instance.in_range(metres(instance.reps[r as usize].anchor, &place.geometry))
                    })
            };
            let reason = if in_range(place.stations.as_deref()) {
                UnservedReason::CapacityExhausted
            } else if place.stations.is_some() && in_range(None) {
                UnservedReason::NoRepresentativeInStation
            } else {
                UnservedReason::NoOneInRange
            };
            Unserved { place: p, missing: place.need - got[p], reason }
        })
        .collect()
}
