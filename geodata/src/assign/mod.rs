//! The nearby-assignment rule (就近就便): give every place to the representatives nearest to
//! it, nobody over their visit capacity, as a minimum-cost assignment.
//!
//! The assignment is a minimum-cost flow (`flow.rs`, cost scaling with push-relabel): a
//! source holds one unit per place-need; it reaches each representative (capacity: what is
//! left of the visit capacity after the locked assignments) and from there the places
//! (capacity 1, cost: whole geodesic metres from the anchor to the place, 0 inside a
//! polygon), which absorb what they need. Each place also has an "unserved" arc straight
//! from the source, dearer than any rearrangement of the others can save, so a shortage of
//! capacity still has an answer, and that answer serves as many places as possible and,
//! among those, has the least total distance.
//!
//! Nothing here knows about the database: representatives, places and stations are indices
//! and numbers the caller maps its rows to. Large inputs are pruned to the nearest
//! representatives of each place and the pruned answer is then proved optimal on the full
//! graph (`prune.rs`). `explain.rs` says why a place went to whom and who came next.

mod explain;
mod flow;
mod prune;
mod spatial;
#[cfg(test)]
mod tests;

use std::time::Instant;

use geo::{Geometry, Point};
use serde::Serialize;

use crate::GeoError;
pub use explain::{Explainer, NextReason, PlaceExplanation, Runner, Serving};
use flow::{ArcSpec, Network};
use spatial::{Index, Probe};

/// A station (or any grouping the caller bounds places by), as the caller numbers it.
pub type StationId = u32;

/// A representative who visits places, identified by its index in the input slice.
#[derive(Debug, Clone)]
pub struct Representative {
    /// Where their visits start from (WGS84).
    pub anchor: Point<f64>,
    /// How many places they can take in all, locked ones included.
    pub capacity: u32,
    /// Their station, for places bounded to certain stations; `None` belongs to none.
    pub station: Option<StationId>,
}

/// A place to be visited, identified by its index in the input slice.
#[derive(Debug, Clone)]
pub struct Place {
    /// A point or a polygon (WGS84); distance is to its nearest point, 0 inside.
    pub geometry: Geometry<f64>,
    /// How many representatives it needs (locked ones included).
    pub need: u32,
    /// When given, only representatives of these stations may take it (the caller expands
    /// a station subtree into its members).
    pub stations: Option<Vec<StationId>>,
}

/// An assignment a planner fixed by hand: kept as it is, whatever the distance or station,
/// and counted against the representative's capacity and the place's need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Lock {
    pub representative: usize,
    pub place: usize,
}

/// How much of the complete graph (every representative to every place in range) is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Pruning {
    /// The complete graph while it has at most [`FULL_GRAPH_PAIRS`] pairs, else `Nearest`
    /// with a k chosen from the needs and the tightness of capacity, widened (×3) for
    /// places whose nearest representatives are under pressure.
    Auto,
    /// Every eligible pair: no proof needed, but R × P arcs.
    Full,
    /// The `k` nearest eligible representatives of each place, then the proof.
    Nearest { k: usize },
}

/// Above this many representative–place pairs `Pruning::Auto` prunes.
pub const FULL_GRAPH_PAIRS: usize = 1_000_000;

/// The rule's parameters besides the people and places.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// No representative is given a place farther than this (metres).
    pub max_distance_m: Option<f64>,
    pub pruning: Pruning,
    /// Rounds of "prove, add the arcs that break the proof, solve again" before giving up
    /// with a gap bound.
    pub max_rounds: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self { max_distance_m: None, pruning: Pruning::Auto, max_rounds: 8 }
    }
}

/// One representative given one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub representative: usize,
    pub place: usize,
    /// Whole metres from the anchor to the place.
    pub distance_m: u64,
    /// Fixed by a planner, not chosen by the rule.
    pub locked: bool,
}

/// Why a place has fewer representatives than it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnservedReason {
    /// No representative that may take it is within the maximum distance.
    NoOneInRange,
    /// Representatives in range exist, but they are all needed for places that they serve
    /// at least as well (or their capacity is used up by locks).
    CapacityExhausted,
    /// Representatives are in range, but none of the stations the place is bounded to.
    NoRepresentativeInStation,
}

/// A place left (partly) without representatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Unserved {
    pub place: usize,
    /// How many of its need are not met.
    pub missing: u32,
    pub reason: UnservedReason,
}

/// A representative's load against their capacity (locked places included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Load {
    pub representative: usize,
    pub load: u32,
    pub capacity: u32,
}

/// What the solver did.
#[derive(Debug, Clone, Serialize)]
pub struct SolverFigures {
    /// Wall time of `solve`, candidates and proof included.
    pub seconds: f64,
    /// Of which finding the candidate arcs (distances included).
    pub candidate_seconds: f64,
    /// Of which the min-cost flow solves (first and re-solves).
    pub flow_seconds: f64,
    /// Of which the optimality proofs (one per round).
    pub proof_seconds: f64,
    pub nodes: usize,
    /// Arcs of the flow network in the last solve (source arcs and unserved arcs included).
    pub arcs: usize,
    /// Nearest representatives per place at the start; `None` for the complete graph.
    pub k: Option<usize>,
    /// Solves: 1, plus one per proof round that added arcs.
    pub rounds: usize,
    /// Arcs the proof added back.
    pub arcs_added: usize,
    /// Cost scaling (the complete graph): phases, pushes, relabels, global price updates.
    pub phases: u64,
    pub pushes: u64,
    pub relabels: u64,
    pub price_updates: u64,
    /// Successive shortest paths (pruned graphs): augmenting paths, and the nodes their
    /// searches settled.
    pub paths: u64,
    pub settled: u64,
    /// Proved optimal on the complete graph.
    pub optimal: bool,
    /// When not proved optimal: the objective is at most this much above the optimum.
    pub gap_bound: Option<f64>,
    /// The flow's cost: total distance of the rule's assignments (locked ones excluded) plus
    /// `unserved_penalty` per unit of need left unserved. The quantity that is minimised.
    pub objective: u64,
    /// Cost of one unit of unserved need: more than any rearrangement can save.
    pub unserved_penalty: u64,
}

/// The rule's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    /// Sorted by place, then representative; locked ones included.
    pub assignments: Vec<Assignment>,
    pub unserved: Vec<Unserved>,
    /// Every representative, in input order.
    pub loads: Vec<Load>,
    /// Whole metres over all assignments, locked ones included.
    pub total_distance_m: u64,
    pub figures: SolverFigures,
}

/// Node numbering of the flow network: the source, then the representatives with capacity
/// left, then the places with need left.
struct Layout {
    /// Graph representative (node − 1) → input index.
    reps: Vec<u32>,
    /// Graph place → input index.
    places: Vec<u32>,
}

impl Layout {
    fn rep_node(i: usize) -> u32 {
        u32::try_from(i + 1).expect("fits")
    }
    fn place_node(&self, i: usize) -> u32 {
        u32::try_from(1 + self.reps.len() + i).expect("fits")
    }
}

/// Candidate arcs of one graph place: (graph representative, cost in metres).
pub(crate) type Candidates = Vec<Vec<(u32, u32)>>;

/// The inputs after checks, shared by the stages.
pub(crate) struct Instance<'a> {
    pub reps: &'a [Representative],
    pub places: &'a [Place],
    pub params: Params,
    /// Capacity left after locks, per input representative.
    pub free: Vec<u32>,
    /// Need left after locks, per input place.
    pub open: Vec<u32>,
    /// Locked representatives per input place (sorted).
    pub locked: Vec<Vec<u32>>,
    pub probes: Vec<Probe>,
}

impl Instance<'_> {
    /// Within the maximum distance?
    fn in_range(&self, metres: f64) -> bool {
        self.params.max_distance_m.is_none_or(|m| metres <= m)
    }
}

/// Whole metres, as the costs are.
pub(crate) fn whole_metres(m: f64) -> u32 {
    // Distances on Earth are below 2^32 m; `as` saturates anything else.
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "non-negative, far below 2^32")]
    let whole = m.round() as u32;
    whole
}

/// The flow network of a solve's last round, for handing the same instance to a reference
/// solver (the benchmark's OR-Tools run): node 0 is the source, arcs as (tail, head,
/// capacity, cost in metres or the unserved penalty).
#[derive(Debug, Clone, Default)]
pub struct FlowNetwork {
    pub supplies: Vec<i64>,
    pub tails: Vec<u32>,
    pub heads: Vec<u32>,
    pub capacities: Vec<i32>,
    pub costs: Vec<i64>,
}

/// Runs the rule. Errors only on inconsistent input (a lock naming a representative or
/// place that is not there, or the same lock twice).
pub fn solve(reps: &[Representative], places: &[Place], locks: &[Lock], params: &Params) -> Result<Proposal, GeoError> {
    solve_exporting(reps, places, locks, params, false).map(|(p, _)| p)
}

/// [`solve`], and with `export` the flow network it solved last.
pub fn solve_exporting(
    reps: &[Representative],
    places: &[Place],
    locks: &[Lock],
    params: &Params,
    export: bool,
) -> Result<(Proposal, FlowNetwork), GeoError> {
    let started = Instant::now();
    let instance = Instance::new(reps, places, locks, *params)?;
    let mut layout = Layout {
        reps: (0..reps.len()).filter(|&r| instance.free[r] > 0).map(|r| u32::try_from(r).expect("fits")).collect(),
        places: (0..places.len()).filter(|&p| instance.open[p] > 0).map(|p| u32::try_from(p).expect("fits")).collect(),
    };
    let pairs = layout.reps.len().saturating_mul(layout.places.len());
    let pruned = match params.pruning {
        Pruning::Full => false,
        Pruning::Auto => pairs > FULL_GRAPH_PAIRS,
        Pruning::Nearest { .. } => true,
    };
    if pruned {
        spatial_order(&instance, &mut layout);
    }
    let index = Index::new(
        layout
            .reps
            .iter()
            .enumerate()
            .map(|(g, &r)| (u32::try_from(g).expect("fits"), reps[r as usize].anchor, reps[r as usize].station)),
    );
    let k = match params.pruning {
        Pruning::Full => None,
        Pruning::Auto if pairs <= FULL_GRAPH_PAIRS => None,
        Pruning::Auto => Some(prune::initial_k(&instance, &layout)),
        Pruning::Nearest { k } => Some(k.max(1)),
    };
    let (mut candidates, mut complete) = prune::candidates(&instance, &layout, &index, k);
    // `Nearest { k }` is exactly k (the proof does the rest); `Auto` also widens.
    if let (Some(k), Pruning::Auto) = (k, params.pruning) {
        prune::widen_where_short(&instance, &layout, &index, &mut candidates, &mut complete, k);
    }
    let candidate_seconds = started.elapsed().as_secs_f64();
    let penalty = prune::unserved_penalty(&instance, &layout, params.max_distance_m);

    let supply = supplies(&instance, &layout);
    let mut arcs = network_arcs(&instance, &layout, &candidates, penalty);
    let flow_started = Instant::now();
    let mut net = Network::new(&supply, &arcs);
    // The complete graph by cost scaling; pruned ones by successive shortest paths, whose
    // exact potentials let the proof's re-solves start from the flow they had and stay
    // local (cost scaling re-solved them phase by phase over the whole network: 70 s on
    // the large benchmark, most of it re-solves).
    if k.is_some() {
        net.solve_paths(None);
    } else {
        net.solve();
    }
    let mut flow_seconds = flow_started.elapsed().as_secs_f64();
    let mut proof_seconds = 0.0;
    let mut figures = SolverFigures {
        seconds: 0.0,
        candidate_seconds,
        flow_seconds: 0.0,
        nodes: supply.len(),
        arcs: arcs.len(),
        k,
        rounds: 1,
        arcs_added: 0,
        phases: 0,
        pushes: 0,
        relabels: 0,
        price_updates: 0,
        paths: 0,
        settled: 0,
        proof_seconds: 0.0,
        optimal: k.is_none(),
        gap_bound: None,
        objective: 0,
        unserved_penalty: penalty,
    };
    let mut counters = net.counters;
    if k.is_some() {
        loop {
            let proof_started = Instant::now();
            let proof = prune::prove(&instance, &layout, &index, &candidates, &complete, &mut net, &supply);
            proof_seconds += proof_started.elapsed().as_secs_f64();
            if proof.violations.is_empty() {
                figures.optimal = true;
                break;
            }
            if figures.rounds > params.max_rounds {
                figures.gap_bound = Some(proof.gap_bound);
                break;
            }
            let flow = net.flows();
            let mut added = proof.violations;
            added.extend(proof.near);
            for v in &added {
                candidates[v.place as usize].push((v.rep, v.cost));
            }
            figures.arcs_added += added.len();
            let potential = std::mem::take(&mut net.potential);
            arcs = network_arcs(&instance, &layout, &candidates, penalty);
            // Old arcs keep their flow: `network_arcs` lists them in the same order, with
            // the added ones at the end of each place's list.
            let warm_flow = carry_flow(&layout, &candidates, &added, &flow);
            let resolve_started = Instant::now();
            net = Network::new(&supply, &arcs);
            net.solve_paths(Some(flow::WarmStart { flow: &warm_flow, potential: &potential }));
            flow_seconds += resolve_started.elapsed().as_secs_f64();
            counters.phases += net.counters.phases;
            counters.pushes += net.counters.pushes;
            counters.relabels += net.counters.relabels;
            counters.price_updates += net.counters.price_updates;
            counters.paths += net.counters.paths;
            counters.settled += net.counters.settled;
            figures.rounds += 1;
        }
    }
    figures.arcs = arcs.len();
    figures.flow_seconds = flow_seconds;
    figures.phases = counters.phases;
    figures.pushes = counters.pushes;
    figures.relabels = counters.relabels;
    figures.price_updates = counters.price_updates;
    figures.paths = counters.paths;
    figures.settled = counters.settled;
    figures.proof_seconds = proof_seconds;
    let mut proposal = extract(&instance, &layout, &candidates, &arcs, &net.flows(), figures);
    proposal.unserved = explain::unserved(&instance, &proposal);
    proposal.figures.seconds = started.elapsed().as_secs_f64();
    let network = if export {
        FlowNetwork {
            supplies: supply,
            tails: arcs.iter().map(|a| a.tail).collect(),
            heads: arcs.iter().map(|a| a.head).collect(),
            capacities: arcs.iter().map(|a| a.capacity).collect(),
            costs: arcs.iter().map(|a| a.cost).collect(),
        }
    } else {
        FlowNetwork::default()
    };
    Ok((proposal, network))
}

impl<'a> Instance<'a> {
    fn new(reps: &'a [Representative], places: &'a [Place], locks: &[Lock], params: Params) -> Result<Self, GeoError> {
        let mut locked = vec![Vec::new(); places.len()];
        let mut held = vec![0u32; reps.len()];
        for l in locks {
            if l.representative >= reps.len() || l.place >= places.len() {
                return Err(GeoError::Invalid(format!(
                    "locked assignment of representative {} to place {}: no such representative or place",
                    l.representative, l.place
                )));
            }
            locked[l.place].push(u32::try_from(l.representative).expect("fits"));
            held[l.representative] += 1;
        }
        for (p, list) in locked.iter_mut().enumerate() {
            list.sort_unstable();
            if list.windows(2).any(|w| w[0] == w[1]) {
                return Err(GeoError::Invalid(format!("place {p} is locked to the same representative twice")));
            }
        }
        let free = reps.iter().zip(&held).map(|(r, &h)| r.capacity.saturating_sub(h)).collect();
        let open = places
            .iter()
            .zip(&locked)
            .map(|(p, l)| p.need.saturating_sub(u32::try_from(l.len()).unwrap_or(u32::MAX)))
            .collect();
        let probes = places.iter().map(|p| Probe::of(&p.geometry)).collect();
        Ok(Self { reps, places, params, free, open, locked, probes })
    }
}

/// Numbers the nodes along a Z-order curve over their positions, so that those a search
/// touches together (neighbours on the ground) lie together in memory: on the large
/// benchmark the first solve took twice as long with the nodes in input order.
fn spatial_order(instance: &Instance<'_>, layout: &mut Layout) {
    let rep_at = |r: u32| spatial::ecef(instance.reps[r as usize].anchor.0);
    let place_at = |p: u32| instance.probes[p as usize].centre;
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for c in layout.reps.iter().map(|&r| rep_at(r)).chain(layout.places.iter().map(|&p| place_at(p))) {
        for i in 0..3 {
            if c[i].is_finite() {
                lo[i] = lo[i].min(c[i]);
                hi[i] = hi[i].max(c[i]);
            }
        }
    }
    let key = |c: [f64; 3]| -> u64 {
        let mut key = 0u64;
        for i in 0..3 {
            let span = (hi[i] - lo[i]).max(1.0);
            let unit = if c[i].is_finite() { ((c[i] - lo[i]) / span).clamp(0.0, 1.0) } else { 0.0 };
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "in 0..2^21")]
            let q = (unit * f64::from((1u32 << 21) - 1)) as u64;
            for bit in 0..21 {
                key |= ((q >> bit) & 1) << (3 * bit + i);
            }
        }
        key
    };
    layout.reps.sort_by_cached_key(|&r| (key(rep_at(r)), r));
    layout.places.sort_by_cached_key(|&p| (key(place_at(p)), p));
}

fn supplies(instance: &Instance<'_>, layout: &Layout) -> Vec<i64> {
    let mut supply = vec![0i64; 1 + layout.reps.len() + layout.places.len()];
    for (g, &p) in layout.places.iter().enumerate() {
        let need = i64::from(instance.open[p as usize]);
        supply[layout.place_node(g) as usize] = -need;
        supply[0] += need;
    }
    supply
}

/// Source → representatives, source → places (unserved), then each place's candidates in
/// their list order.
fn network_arcs(instance: &Instance<'_>, layout: &Layout, candidates: &Candidates, penalty: u64) -> Vec<ArcSpec> {
    let mut arcs = Vec::with_capacity(layout.reps.len() + layout.places.len() * 13);
    for (g, &r) in layout.reps.iter().enumerate() {
        let capacity = i32::try_from(instance.free[r as usize]).unwrap_or(i32::MAX);
        arcs.push(ArcSpec { tail: 0, head: Layout::rep_node(g), capacity, cost: 0 });
    }
    let penalty = i64::try_from(penalty).expect("penalty fits i64");
    for (g, &p) in layout.places.iter().enumerate() {
        let capacity = i32::try_from(instance.open[p as usize]).unwrap_or(i32::MAX);
        arcs.push(ArcSpec { tail: 0, head: layout.place_node(g), capacity, cost: penalty });
    }
    for (g, list) in candidates.iter().enumerate() {
        for &(rep, cost) in list {
            arcs.push(ArcSpec {
                tail: Layout::rep_node(rep as usize),
                head: layout.place_node(g),
                capacity: 1,
                cost: i64::from(cost),
            });
        }
    }
    arcs
}

/// The previous flow in the order of the new arc list (which has the violations appended
/// to their places' candidate lists).
fn carry_flow(layout: &Layout, candidates: &Candidates, added: &[prune::Violation], old: &[i32]) -> Vec<i32> {
    let fixed = layout.reps.len() + layout.places.len();
    let mut extra = vec![0usize; candidates.len()];
    for v in added {
        extra[v.place as usize] += 1;
    }
    let mut flow = Vec::with_capacity(old.len() + added.len());
    flow.extend_from_slice(&old[..fixed]);
    let mut at = fixed;
    for (g, list) in candidates.iter().enumerate() {
        let kept = list.len() - extra[g];
        flow.extend_from_slice(&old[at..at + kept]);
        at += kept;
        flow.extend(std::iter::repeat_n(0, extra[g]));
    }
    flow
}

fn extract(
    instance: &Instance<'_>,
    layout: &Layout,
    candidates: &Candidates,
    arcs: &[ArcSpec],
    flow: &[i32],
    mut figures: SolverFigures,
) -> Proposal {
    let mut assignments = Vec::new();
    let mut load = vec![0u32; instance.reps.len()];
    for (p, reps) in instance.locked.iter().enumerate() {
        for &r in reps {
            let d = whole_metres(spatial::metres(instance.reps[r as usize].anchor, &instance.places[p].geometry));
            assignments.push(Assignment {
                representative: r as usize,
                place: p,
                distance_m: u64::from(d),
                locked: true,
            });
            load[r as usize] += 1;
        }
    }
    let mut objective = 0u64;
    let fixed = layout.reps.len() + layout.places.len();
    for &f in &flow[layout.reps.len()..fixed] {
        objective += u64::try_from(f).expect("non-negative") * figures.unserved_penalty;
    }
    let mut at = fixed;
    for (g, list) in candidates.iter().enumerate() {
        for &(rep, cost) in list {
            debug_assert_eq!(arcs[at].cost, i64::from(cost));
            if flow[at] > 0 {
                let r = layout.reps[rep as usize] as usize;
                let p = layout.places[g] as usize;
                assignments.push(Assignment {
                    representative: r,
                    place: p,
                    distance_m: u64::from(cost),
                    locked: false,
                });
                load[r] += 1;
                objective += u64::from(cost);
            }
            at += 1;
        }
    }
    assignments.sort_unstable_by_key(|a| (a.place, a.representative));
    figures.objective = objective;
    let total_distance_m = assignments.iter().map(|a| a.distance_m).sum();
    let loads = instance
        .reps
        .iter()
        .enumerate()
        .map(|(r, rep)| Load { representative: r, load: load[r], capacity: rep.capacity })
        .collect();
    Proposal { assignments, unserved: Vec::new(), loads, total_distance_m, figures }
}
