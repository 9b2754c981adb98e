//! The rule against brute force on small random instances (every feasible assignment
//! enumerated), its constraints on every answer, pruned against complete graphs, and the
//! reasons and explanations a planner reads.

use geo::{Destination, Geodesic, Geometry, Point, point, polygon};
use proptest::prelude::*;

use super::*;

/// 邵原镇, roughly: the middle of the test township.
const TOWN: Point<f64> = Point(geo::Coord { x: 112.10, y: 35.10 });

fn at(bearing: f64, metres: f64) -> Point<f64> {
    Geodesic.destination(TOWN, bearing, metres)
}

fn rep(anchor: Point<f64>, capacity: u32, station: Option<StationId>) -> Representative {
    Representative { anchor, capacity, station }
}

fn place(p: Point<f64>, need: u32) -> Place {
    Place { geometry: p.into(), need, stations: None }
}

fn full() -> Params {
    Params { pruning: Pruning::Full, ..Params::default() }
}

fn metres_of(reps: &[Representative], places: &[Place], r: usize, p: usize) -> f64 {
    spatial::metres(reps[r].anchor, &places[p].geometry)
}

fn eligible(reps: &[Representative], places: &[Place], params: &Params, r: usize, p: usize) -> bool {
    let station_ok = match &places[p].stations {
        None => true,
        Some(allowed) => reps[r].station.is_some_and(|s| allowed.contains(&s)),
    };
    station_ok && params.max_distance_m.is_none_or(|m| metres_of(reps, places, r, p) <= m)
}

/// The best (units served, −metres) over every assignment that respects the constraints,
/// by exhaustive search: each place picks a subset of its eligible representatives.
fn brute_force(reps: &[Representative], places: &[Place], locks: &[Lock], params: &Params) -> (u32, u64) {
    let mut free: Vec<i64> = reps.iter().map(|r| i64::from(r.capacity)).collect();
    for l in locks {
        free[l.representative] -= 1;
    }
    let options: Vec<Vec<(u32, u64)>> = (0..places.len())
        .map(|p| {
            let locked: Vec<usize> = locks.iter().filter(|l| l.place == p).map(|l| l.representative).collect();
            let open = places[p].need.saturating_sub(locked.len() as u32) as usize;
            let mine: Vec<usize> = (0..reps.len())
                .filter(|&r| !locked.contains(&r) && eligible(reps, places, params, r, p))
                .collect();
            (0u32..1 << mine.len())
                .filter(|mask| mask.count_ones() as usize <= open)
                .map(|mask| {
                    let mut set = 0u32;
                    let mut cost = 0u64;
                    for (i, &r) in mine.iter().enumerate() {
                        if mask & (1 << i) != 0 {
                            set |= 1 << r;
                            cost += u64::from(whole_metres(metres_of(reps, places, r, p)));
                        }
                    }
                    (set, cost)
                })
                .collect()
        })
        .collect();
    fn search(p: usize, options: &[Vec<(u32, u64)>], free: &mut [i64], served: u32, cost: u64, best: &mut (u32, u64)) {
        if p == options.len() {
            if served > best.0 || (served == best.0 && cost < best.1) {
                *best = (served, cost);
            }
            return;
        }
        for &(set, c) in &options[p] {
            let ok = (0..free.len()).all(|r| set & (1 << r) == 0 || free[r] > 0);
            if !ok {
                continue;
            }
            for (r, f) in free.iter_mut().enumerate() {
                if set & (1 << r) != 0 {
                    *f -= 1;
                }
            }
            search(p + 1, options, free, served + set.count_ones(), cost + c, best);
            for (r, f) in free.iter_mut().enumerate() {
                if set & (1 << r) != 0 {
                    *f += 1;
                }
            }
        }
    }
    let mut best = (0, u64::MAX);
    search(0, &options, &mut free, 0, 0, &mut best);
    best
}

/// Units served and metres travelled by the rule's own (not locked) assignments.
fn achieved(proposal: &Proposal) -> (u32, u64) {
    let mine = proposal.assignments.iter().filter(|a| !a.locked);
    (mine.clone().count() as u32, mine.map(|a| a.distance_m).sum())
}

/// Everything an answer must respect, whatever the instance.
fn check_constraints(reps: &[Representative], places: &[Place], locks: &[Lock], params: &Params, proposal: &Proposal) {
    let mut load = vec![0u32; reps.len()];
    let mut got = vec![0u32; places.len()];
    let mut seen = std::collections::HashSet::new();
    for a in &proposal.assignments {
        assert!(seen.insert((a.representative, a.place)), "{a:?} twice");
        load[a.representative] += 1;
        got[a.place] += 1;
        let is_lock = locks.contains(&Lock { representative: a.representative, place: a.place });
        assert_eq!(a.locked, is_lock, "{a:?}");
        if !a.locked {
            assert!(eligible(reps, places, params, a.representative, a.place), "{a:?} breaks a bound");
        }
    }
    for l in locks {
        assert!(seen.contains(&(l.representative, l.place)), "lock {l:?} dropped");
    }
    for (r, rep) in reps.iter().enumerate() {
        let locked = locks.iter().filter(|l| l.representative == r).count() as u32;
        assert!(load[r] <= rep.capacity.max(locked), "representative {r} over capacity");
        assert_eq!(proposal.loads[r], Load { representative: r, load: load[r], capacity: rep.capacity });
    }
    for (p, spec) in places.iter().enumerate() {
        let missing = spec.need.saturating_sub(got[p]);
        let listed = proposal.unserved.iter().find(|u| u.place == p).map_or(0, |u| u.missing);
        assert_eq!(listed, missing, "place {p}");
    }
    assert_eq!(proposal.total_distance_m, proposal.assignments.iter().map(|a| a.distance_m).sum::<u64>());
}

#[derive(Debug, Clone)]
struct Case {
    reps: Vec<Representative>,
    places: Vec<Place>,
    locks: Vec<Lock>,
    max_distance_m: Option<f64>,
}

fn point_within(km: f64) -> impl Strategy<Value = Point<f64>> {
    (0.0..360.0f64, 0.0..km * 1000.0).prop_map(|(bearing, m)| at(bearing, m))
}

fn geometry() -> impl Strategy<Value = Geometry<f64>> {
    prop_oneof![
        3 => point_within(8.0).prop_map(Geometry::from),
        1 => (point_within(8.0), 100.0..1500.0f64).prop_map(|(c, size)| {
            let ne = Geodesic.destination(c, 45.0, size);
            polygon![(x: c.x(), y: c.y()), (x: ne.x(), y: c.y()), (x: ne.x(), y: ne.y()), (x: c.x(), y: ne.y()), (x: c.x(), y: c.y())].into()
        }),
    ]
}

fn stations() -> impl Strategy<Value = Option<Vec<StationId>>> {
    prop_oneof![2 => Just(None), 1 => proptest::collection::vec(0u32..3, 0..3).prop_map(Some)]
}

fn case(max_reps: usize, max_places: usize, max_need: u32) -> impl Strategy<Value = Case> {
    let reps = proptest::collection::vec(
        (point_within(8.0), 0u32..4, proptest::option::of(0u32..3)).prop_map(|(a, c, s)| rep(a, c, s)),
        1..=max_reps,
    );
    let places = proptest::collection::vec(
        (geometry(), 0..=max_need, stations()).prop_map(|(geometry, need, stations)| Place { geometry, need, stations }),
        1..=max_places,
    );
    (reps, places, proptest::option::of(2000.0..12000.0f64), proptest::collection::vec((0usize..64, 0usize..64), 0..3))
        .prop_map(|(reps, places, max_distance_m, raw_locks)| {
            let mut locks: Vec<Lock> = raw_locks
                .into_iter()
                .map(|(r, p)| Lock { representative: r % reps.len(), place: p % places.len() })
                .collect();
            locks.sort_unstable_by_key(|l| (l.place, l.representative));
            locks.dedup();
            Case { reps, places, locks, max_distance_m }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn equals_the_exhaustive_optimum(c in case(3, 5, 2)) {
        let params = Params { max_distance_m: c.max_distance_m, ..full() };
        let proposal = solve(&c.reps, &c.places, &c.locks, &params).unwrap();
        check_constraints(&c.reps, &c.places, &c.locks, &params, &proposal);
        prop_assert_eq!(achieved(&proposal), brute_force(&c.reps, &c.places, &c.locks, &params));
        prop_assert!(proposal.figures.optimal);
    }

    #[test]
    fn pruned_equals_complete(c in case(12, 40, 3), k in 1usize..4) {
        let complete = Params { max_distance_m: c.max_distance_m, ..full() };
        let pruned = Params { pruning: Pruning::Nearest { k }, max_rounds: 50, ..complete };
        let a = solve(&c.reps, &c.places, &c.locks, &complete).unwrap();
        let b = solve(&c.reps, &c.places, &c.locks, &pruned).unwrap();
        check_constraints(&c.reps, &c.places, &c.locks, &pruned, &b);
        prop_assert!(b.figures.optimal, "{:?}", b.figures);
        prop_assert_eq!(a.figures.objective, b.figures.objective);
        prop_assert_eq!(achieved(&a), achieved(&b));
    }
}

#[test]
fn nearest_takes_it_and_the_next_is_farther() {
    let reps = [rep(at(90.0, 500.0), 5, None), rep(at(90.0, 2000.0), 5, None)];
    let places = [place(TOWN, 1)];
    let proposal = solve(&reps, &places, &[], &full()).unwrap();
    assert_eq!(proposal.assignments, [Assignment { representative: 0, place: 0, distance_m: 500, locked: false }]);
    assert!(proposal.unserved.is_empty());
    let why = Explainer::new(&reps, &places, None, &proposal).place(0, 3);
    assert_eq!(why.served_by, [Serving { representative: 0, distance_m: 500, locked: false }]);
    assert_eq!(why.next, [Runner { representative: 1, distance_m: 2000, load: 0, capacity: 5, reason: NextReason::Farther }]);
}

#[test]
fn capacity_exhausted_and_the_nearest_is_full() {
    // One representative, two places: the nearer place gets them, the other is short.
    let reps = [rep(TOWN, 1, None)];
    let places = [place(at(0.0, 300.0), 1), place(at(0.0, 900.0), 1)];
    let proposal = solve(&reps, &places, &[], &full()).unwrap();
    assert_eq!(proposal.assignments.len(), 1);
    assert_eq!(proposal.assignments[0].place, 0);
    assert_eq!(proposal.unserved, [Unserved { place: 1, missing: 1, reason: UnservedReason::CapacityExhausted }]);
    assert_eq!(proposal.loads, [Load { representative: 0, load: 1, capacity: 1 }]);
    let why = Explainer::new(&reps, &places, None, &proposal).place(1, 3);
    assert!(why.served_by.is_empty());
    assert_eq!(why.next, [Runner { representative: 0, distance_m: 900, load: 1, capacity: 1, reason: NextReason::AtCapacity }]);
    assert_eq!(why.unserved.map(|u| u.reason), Some(UnservedReason::CapacityExhausted));
}

#[test]
fn nobody_in_range() {
    let reps = [rep(TOWN, 3, None)];
    let places = [place(at(45.0, 5000.0), 1), place(at(45.0, 500.0), 1)];
    let params = Params { max_distance_m: Some(2000.0), ..Params::default() };
    let proposal = solve(&reps, &places, &[], &params).unwrap();
    assert_eq!(proposal.unserved, [Unserved { place: 0, missing: 1, reason: UnservedReason::NoOneInRange }]);
    assert_eq!(proposal.assignments.len(), 1);
    assert!(Explainer::new(&reps, &places, Some(2000.0), &proposal).place(0, 3).next.is_empty());
}

#[test]
fn no_representative_in_the_station() {
    // The only representative nearby is of station 1; the place is bounded to station 2,
    // whose representative is out of range.
    let reps = [rep(TOWN, 3, Some(1)), rep(at(180.0, 30_000.0), 3, Some(2))];
    let places = [Place { geometry: at(0.0, 200.0).into(), need: 1, stations: Some(vec![2]) }];
    let params = Params { max_distance_m: Some(5000.0), ..Params::default() };
    let proposal = solve(&reps, &places, &[], &params).unwrap();
    assert!(proposal.assignments.is_empty());
    assert_eq!(proposal.unserved[0].reason, UnservedReason::NoRepresentativeInStation);
    // Without a maximum distance the station's own representative takes it, however far.
    let proposal = solve(&reps, &places, &[], &Params::default()).unwrap();
    assert_eq!(proposal.assignments[0].representative, 1);
}

#[test]
fn a_place_needing_two_gets_the_two_nearest() {
    let reps = [rep(at(0.0, 100.0), 2, None), rep(at(0.0, 300.0), 2, None), rep(at(0.0, 200.0), 2, None)];
    let places = [place(TOWN, 2)];
    let proposal = solve(&reps, &places, &[], &full()).unwrap();
    let who: Vec<usize> = proposal.assignments.iter().map(|a| a.representative).collect();
    assert_eq!(who, [0, 2]);
    assert_eq!(proposal.total_distance_m, 300);
}

#[test]
fn locks_are_kept_and_counted() {
    // The planner locked the far representative to place 0, beyond the maximum distance:
    // it stays, uses their only capacity, and the near one takes place 1.
    let reps = [rep(at(0.0, 100.0), 1, None), rep(at(180.0, 9000.0), 1, None)];
    let places = [place(TOWN, 1), place(at(0.0, 200.0), 1)];
    let locks = [Lock { representative: 1, place: 0 }];
    let params = Params { max_distance_m: Some(3000.0), ..Params::default() };
    let proposal = solve(&reps, &places, &locks, &params).unwrap();
    assert_eq!(
        proposal.assignments,
        [
            Assignment { representative: 1, place: 0, distance_m: 9000, locked: true },
            Assignment { representative: 0, place: 1, distance_m: 100, locked: false },
        ]
    );
    assert!(proposal.unserved.is_empty());
    assert_eq!(proposal.figures.objective, 100);
    let bad = [Lock { representative: 5, place: 0 }];
    assert!(solve(&reps, &places, &bad, &params).is_err());
}

#[test]
fn inside_a_polygon_costs_nothing() {
    let field: Geometry<f64> =
        polygon![(x: 112.09, y: 35.09), (x: 112.11, y: 35.09), (x: 112.11, y: 35.11), (x: 112.09, y: 35.11), (x: 112.09, y: 35.09)]
            .into();
    let reps = [rep(TOWN, 1, None), rep(point!(x: 112.2, y: 35.1), 1, None)];
    let places = [Place { geometry: field, need: 1, stations: None }];
    let proposal = solve(&reps, &places, &[], &full()).unwrap();
    assert_eq!(proposal.assignments, [Assignment { representative: 0, place: 0, distance_m: 0, locked: false }]);
}

#[test]
fn reasons_serialise_in_snake_case() {
    let u = Unserved { place: 3, missing: 1, reason: UnservedReason::NoRepresentativeInStation };
    assert_eq!(
        serde_json::to_value(u).unwrap(),
        serde_json::json!({"place": 3, "missing": 1, "reason": "no_representative_in_station"})
    );
    assert_eq!(serde_json::to_value(NextReason::AtCapacity).unwrap(), "at_capacity");
}
