//! Candidate pruning and its proof: on large inputs the network holds only the k nearest
//! eligible representatives of each place; afterwards the node potentials show whether any
//! arc left out could have improved the answer.
//!
//! The solver ends 1-optimal in costs scaled by n + 1 (see `flow.rs`; the shortest-path
//! solver of pruned networks even 0-optimal): every residual arc has reduced cost ≥ −1. If every arc that was left out also has reduced cost ≥ −1 under
//! the same potentials, the flow is 1-optimal, hence optimal, on the complete graph too (it
//! has the same nodes). Left-out arcs are never enumerated: for a place, the representatives
//! come out of the R-tree nearest first with a lower bound on their distance, and the scan
//! stops as soon as that bound makes every further arc's reduced cost non-negative, given
//! the lowest representative potential. Before the scan each potential is moved to the end
//! of its feasible interval that favours the proof (`Network::tighten`), which makes the
//! scan stop within about the distance the place already travels.
//!
//! Arcs that break the proof are added and the flow re-solved from where it was (the
//! places they lead to are given back and routed again). Places whose candidate list
//! already holds every representative closer than the distance that could matter are not
//! walked at all (`complete`). If rounds run out, the Lagrangian bound
//! −Σ b(v)π(v) − Σ u·max(0, −reduced cost), valid for any potentials, bounds the gap.
#![expect(clippy::cast_possible_truncation, reason = "graph indices fit u32 (checked when the network is built)")]

use super::flow::Network;
use super::spatial::{Index, metres};
use super::{Candidates, Instance, Layout, whole_metres};

/// A left-out arc whose reduced cost is below −1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Violation {
    /// Graph place and graph representative.
    pub place: u32,
    pub rep: u32,
    /// Whole metres.
    pub cost: u32,
}

pub(crate) struct Proof {
    pub violations: Vec<Violation>,
    /// Left-out arcs that do not break the proof yet but come within `MARGIN_M` of it: when
    /// a round adds arcs anyway these go in too, since the potentials move in the re-solve
    /// and they are the ones that would break the next proof.
    pub near: Vec<Violation>,
    /// Objective − lower bound, in metres (meaningful when there are violations).
    pub gap_bound: f64,
}

/// The starting k: enough for a place that needs several, more where capacity is tight
/// (nearby representatives fill up and places reach further).
pub(crate) fn initial_k(instance: &Instance<'_>, layout: &Layout) -> usize {
    let max_need = layout.places.iter().map(|&p| instance.open[p as usize]).max().unwrap_or(1) as usize;
    let need: u64 = layout.places.iter().map(|&p| u64::from(instance.open[p as usize])).sum();
    let capacity: u64 = layout.reps.iter().map(|&r| u64::from(instance.free[r as usize])).sum();
    let mut k = 8 + 2 * max_need;
    if need * 5 > capacity * 4 {
        k += 4;
    }
    k.min(layout.reps.len().max(1))
}

/// Where the nearest representatives cannot cover the places around them, the optimum
/// reaches further, and a first solve on k nearest alone would leave places unserved that
/// the proof then has to bring back round after round. So estimate each representative's
/// pressure (the need of the places that have it among their nearest few, against its
/// capacity) and give the places whose nearest are under pressure `WIDEN` × k candidates.
pub(crate) fn widen_where_short(
    instance: &Instance<'_>,
    layout: &Layout,
    index: &Index,
    candidates: &mut Candidates,
    complete: &mut [f64],
    k: usize,
) {
    const NEAREST: usize = 4;
    let wide = (k * WIDEN).min(layout.reps.len());
    let mut demand = vec![0f64; layout.reps.len()];
    for (g, list) in candidates.iter().enumerate() {
        let share =
            f64::from(instance.open[layout.places[g] as usize]) / f64::from(list.len().clamp(1, NEAREST) as u32);
        for &(r, _) in list.iter().take(NEAREST) {
            demand[r as usize] += share;
        }
    }
    let pressure = |r: u32| demand[r as usize] / f64::from(instance.free[layout.reps[r as usize] as usize]);
    let short: Vec<u32> = (0..candidates.len())
        .filter(|&g| {
            let list = &candidates[g];
            list.len() == k && {
                let near = &list[..list.len().min(NEAREST)];
                near.iter().map(|&(r, _)| pressure(r)).sum::<f64>() / f64::from(near.len() as u32) > PRESSURE
            }
        })
        .map(|g| g as u32)
        .collect();
    let sub = Layout { reps: layout.reps.clone(), places: short.iter().map(|&g| layout.places[g as usize]).collect() };
    let known: Vec<Vec<(u32, u32)>> = short.iter().map(|&g| std::mem::take(&mut candidates[g as usize])).collect();
    let (wider, within) = candidates_for(instance, &sub, index, Some(wide), Some(&known));
    for ((g, list), within) in short.into_iter().zip(wider).zip(within) {
        candidates[g as usize] = list;
        complete[g as usize] = within;
    }
}

/// See [`Proof::near`] (metres). On the benchmark's large township 1,000 m rather than
/// 300 m saved a round (each proof walks the R-tree around every place not skipped).
const MARGIN_M: i64 = 1000;

/// Candidates per place are multiplied by this where representatives are under pressure:
/// 3 rather than 2 halved the arcs the first proof adds back on the benchmark.
const WIDEN: usize = 3;
/// Average pressure of a place's nearest representatives above which it is widened.
const PRESSURE: f64 = 1.2;

/// Each graph place's eligible representatives in range, nearest first by the index's
/// bound: the first `k`, or all when `k` is `None`.
///
/// With them, per place, the distance (metres, a lower bound) within which the list holds
/// every eligible representative: the proof has nothing to look for closer than that.
pub(crate) fn candidates(
    instance: &Instance<'_>,
    layout: &Layout,
    index: &Index,
    k: Option<usize>,
) -> (Candidates, Vec<f64>) {
    candidates_for(instance, layout, index, k, None)
}

/// With `known`, per place of `layout`, arcs already measured (the narrower list being
/// widened): their distances are taken from it instead of measured again.
fn candidates_for(
    instance: &Instance<'_>,
    layout: &Layout,
    index: &Index,
    k: Option<usize>,
    known: Option<&[Vec<(u32, u32)>]>,
) -> (Candidates, Vec<f64>) {
    let limit = k.unwrap_or(usize::MAX);
    let of = |i: usize| {
        let known = known.map_or(&[][..], |k| &k[i][..]);
        let p = layout.places[i] as usize;
        let place = &instance.places[p];
        let probe = instance.probes[p];
        let mut list = Vec::with_capacity(limit.min(64));
        let mut complete = f64::INFINITY;
        for (g, chord) in index.nearest(probe.centre, place.stations.as_deref()) {
            if list.len() >= limit {
                complete = probe.lower_bound(chord);
                break;
            }
            if instance.params.max_distance_m.is_some_and(|m| probe.lower_bound(chord) > m) {
                break;
            }
            if let Some(&arc) = known.iter().find(|&&(r, _)| r == g) {
                list.push(arc);
                continue;
            }
            let r = layout.reps[g as usize];
            if instance.locked[p].binary_search(&r).is_ok() {
                continue;
            }
            let d = metres(instance.reps[r as usize].anchor, &place.geometry);
            if instance.in_range(d) {
                list.push((g, whole_metres(d)));
            }
        }
        (list, complete)
    };
    let parts = in_parallel(layout.places.len(), |range| range.map(of).collect::<Vec<_>>());
    parts.into_iter().flatten().unzip()
}

/// `work` over `0..n` cut into one range per core, the results in order: the nearest
/// representatives and their geodesic distances are most of the candidates' and the
/// proof's time, and each place's are independent of the others'.
fn in_parallel<T: Send>(n: usize, work: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(8);
    // Small inputs (the tests, a township) are not worth a thread.
    if threads == 1 || n < 4096 {
        return vec![work(0..n)];
    }
    let step = n.div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..n).step_by(step).map(|start| scope.spawn(move || work(start..(start + step).min(n)))).collect();
        handles.into_iter().map(|h| h.join().expect("a worker panicked")).collect()
    })
}

/// The cost of a unit of unserved need: more than the distance part of any augmenting path
/// can add (it uses at most min(R, P) representative → place arcs, each at most the longest
/// possible arc), so serving more always wins over travelling less.
pub(crate) fn unserved_penalty(instance: &Instance<'_>, layout: &Layout, max_distance_m: Option<f64>) -> u64 {
    // The longest arc: the maximum distance, or what the extent of everything allows (the
    // chord across the bounding box, times π/2 for the arc over it, and the places' reach).
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    let mut reach = 0.0f64;
    let mut widen = |c: [f64; 3]| {
        for i in 0..3 {
            lo[i] = lo[i].min(c[i]);
            hi[i] = hi[i].max(c[i]);
        }
    };
    for &r in &layout.reps {
        widen(super::spatial::ecef(instance.reps[r as usize].anchor.0));
    }
    for &p in &layout.places {
        let probe = instance.probes[p as usize];
        widen(probe.centre);
        reach = reach.max(probe.reach_m);
    }
    let diagonal = if lo[0].is_finite() { super::spatial::chord(lo, hi) } else { 0.0 };
    let extent = diagonal * std::f64::consts::FRAC_PI_2 + 2.0 * reach + 1000.0;
    let longest = max_distance_m.map_or(extent, |m| m.min(extent)).ceil() + 1.0;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "metres on Earth")]
    let longest = longest as u64;
    let arcs = layout.reps.len().min(layout.places.len()) as u64;
    longest * arcs.max(1) + 1
}

/// Checks every left-out arc (see the module header) and returns those that break the
/// proof, with the gap bound.
pub(crate) fn prove(
    instance: &Instance<'_>,
    layout: &Layout,
    index: &Index,
    candidates: &Candidates,
    complete: &[f64],
    net: &mut Network,
    supply: &[i64],
) -> Proof {
    let reps = layout.reps.len();
    net.tighten(1..=reps, (reps + 1)..(reps + 1 + layout.places.len()));
    let scale = net.scale;
    let potential = &net.potential;
    let lowest = potential[1..=reps].iter().copied().min().unwrap_or(0);
    let margin = MARGIN_M.saturating_mul(scale);
    let walk = |range: std::ops::Range<usize>| {
        let mut violations = Vec::new();
        let mut near = Vec::new();
        let mut negative_left_out = 0i128;
        for g in range {
            let p = layout.places[g] as usize;
            let place = &instance.places[p];
            let probe = instance.probes[p];
            let own = potential[1 + reps + g];
            // Past this (scaled) distance no arc can have a negative reduced cost.
            let threshold = own - lowest + margin;
            // Every arc left out is at least this long: no violation to look for (most
            // places; their near arcs are not worth the walk either).
            #[expect(clippy::cast_possible_truncation, reason = "metres on Earth, or infinity (saturates)")]
            if (complete[g].floor() as i64).saturating_mul(scale) >= threshold - margin {
                continue;
            }
            let list = &candidates[g];
            for (r, chord) in index.nearest(probe.centre, place.stations.as_deref()) {
                let bound = probe.lower_bound(chord);
                #[expect(clippy::cast_possible_truncation, reason = "metres on Earth")]
                let bound_scaled = (bound.floor() as i64).saturating_mul(scale);
                if bound_scaled >= threshold {
                    break;
                }
                if instance.params.max_distance_m.is_some_and(|m| bound > m) {
                    break;
                }
                // The representative's own price may already put the arc out of reach:
                // then no geodesic is needed (most of the walk, where prices are high).
                if bound_scaled + potential[1 + r as usize] - own >= margin {
                    continue;
                }
                if list.iter().any(|&(c, _)| c == r) {
                    continue;
                }
                let input_rep = layout.reps[r as usize];
                if instance.locked[p].binary_search(&input_rep).is_ok() {
                    continue;
                }
                let d = metres(instance.reps[input_rep as usize].anchor, &place.geometry);
                if !instance.in_range(d) {
                    continue;
                }
                let cost = whole_metres(d);
                let reduced = i64::from(cost) * scale + potential[1 + r as usize] - own;
                let arc = Violation { place: g as u32, rep: r, cost };
                if reduced < 0 {
                    negative_left_out += i128::from(-reduced);
                }
                if reduced < -1 {
                    violations.push(arc);
                } else if reduced < margin {
                    near.push(arc);
                }
            }
        }
        (violations, near, negative_left_out)
    };
    let mut violations = Vec::new();
    let mut near = Vec::new();
    let mut negative_left_out = 0i128;
    for (v, n, negative) in in_parallel(layout.places.len(), walk) {
        violations.extend(v);
        near.extend(n);
        negative_left_out += negative;
    }
    let (supply_term, negative_present) = net.lagrangian_terms(supply);
    let lower = supply_term - negative_present - negative_left_out;
    #[expect(clippy::cast_precision_loss, reason = "a bound, shown to a metre")]
    let gap_bound = ((net.cost_scaled() - lower) as f64 / scale as f64).max(0.0);
    Proof { violations, near, gap_bound }
}
