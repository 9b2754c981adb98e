//! Representatives in an R-tree, nearest first, with a distance that never exceeds the
//! geodesic one, so that "every representative not yet looked at is at least this far" is a
//! fact the optimality proof can rely on.
//!
//! The tree holds Earth-centred Cartesian coordinates (ECEF) of the anchors on the WGS84
//! ellipsoid. The straight line through the Earth (the chord) is never longer than the
//! geodesic along the surface, and over the tens of kilometres of a township the two differ
//! by under a metre (d³/24R²), so the order is the geodesic order in all but near-ties. A
//! place that is not a point is probed from the centre of its bounding box, minus a radius
//! that covers all of it (triangle inequality on the chord).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use geo::{BoundingRect, Coord, CoordsIter, Geometry, Point};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::StationId;
use crate::distance::{distance_to_geometry_m, geodesic_m};

type Entry = GeomWithData<[f64; 3], u32>;

/// Earth-centred Cartesian metres of a WGS84 longitude/latitude on the ellipsoid.
pub(crate) fn ecef(c: Coord<f64>) -> [f64; 3] {
    const A: f64 = 6_378_137.0;
    const F: f64 = 1.0 / 298.257_223_563;
    let e2 = F * (2.0 - F);
    let (lat, lon) = (c.y.to_radians(), c.x.to_radians());
    let n = A / (1.0 - e2 * lat.sin().powi(2)).sqrt();
    [n * lat.cos() * lon.cos(), n * lat.cos() * lon.sin(), n * (1.0 - e2) * lat.sin()]
}

/// Straight-line metres between two ECEF points: never more than the geodesic.
pub(crate) fn chord(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Where a place is searched from: a point, and how far its geometry reaches from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pub centre: [f64; 3],
    /// At least the chord from `centre` to any point of the geometry.
    pub reach_m: f64,
}

impl Probe {
    pub(crate) fn of(g: &Geometry<f64>) -> Self {
        if let Geometry::Point(p) = g {
            return Self { centre: ecef(p.0), reach_m: 0.0 };
        }
        let Some(rect) = g.bounding_rect() else {
            return Self { centre: [0.0; 3], reach_m: f64::INFINITY };
        };
        let centre = rect.center();
        // The farthest vertex bounds the farthest point of the edges up to the curvature of
        // a lon/lat edge on the ellipsoid; 1% and 10 m more cover that with room to spare.
        let reach = g.coords_iter().map(|c| geodesic_m(Point(centre), Point(c))).fold(0.0, f64::max);
        Self { centre: ecef(centre), reach_m: reach * 1.01 + 10.0 }
    }

    /// Metres that the place is at least from an anchor at `chord_m` chord distance from the
    /// centre.
    pub(crate) fn lower_bound(&self, chord_m: f64) -> f64 {
        (chord_m - self.reach_m).max(0.0)
    }
}

/// The exact cost of an arc: whole metres from the anchor to the place.
pub(crate) fn metres(anchor: Point<f64>, g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Point(p) => geodesic_m(anchor, *p),
        _ => distance_to_geometry_m(anchor, g),
    }
}

/// An R-tree of the anchors of some representatives (by index), and one per station for
/// places that may only go to certain stations.
pub(crate) struct Index {
    all: RTree<Entry>,
    by_station: HashMap<StationId, RTree<Entry>>,
}

impl Index {
    /// `members`: (representative index, anchor, station).
    pub(crate) fn new(members: impl Iterator<Item = (u32, Point<f64>, Option<StationId>)>) -> Self {
        let mut all = Vec::new();
        let mut by_station: HashMap<StationId, Vec<Entry>> = HashMap::new();
        for (rep, anchor, station) in members {
            let entry = GeomWithData::new(ecef(anchor.0), rep);
            if let Some(s) = station {
                by_station.entry(s).or_default().push(entry);
            }
            all.push(entry);
        }
        Self {
            all: RTree::bulk_load(all),
            by_station: by_station.into_iter().map(|(s, v)| (s, RTree::bulk_load(v))).collect(),
        }
    }

    /// Representatives nearest first as (index, chord metres from the probe's centre),
    /// among those of the `allowed` stations when given.
    pub(crate) fn nearest<'a>(
        &'a self,
        centre: [f64; 3],
        allowed: Option<&'a [StationId]>,
    ) -> Box<dyn Iterator<Item = (u32, f64)> + 'a> {
        let Some(allowed) = allowed else {
            return Box::new(
                self.all.nearest_neighbor_iter_with_distance_2(&centre).map(|(e, d2)| (e.data, d2.sqrt())),
            );
        };
        let mut trees: Vec<&RTree<Entry>> = allowed.iter().filter_map(|s| self.by_station.get(s)).collect();
        // A station listed twice must not yield its representatives twice.
        trees.sort_by_key(|t| std::ptr::from_ref(*t) as usize);
        trees.dedup_by_key(|t| std::ptr::from_ref(*t) as usize);
        if let [only] = trees[..] {
            return Box::new(only.nearest_neighbor_iter_with_distance_2(&centre).map(|(e, d2)| (e.data, d2.sqrt())));
        }
        Box::new(Merge::new(
            trees
                .into_iter()
                .map(|t| {
                    let it: Box<dyn Iterator<Item = (u32, f64)> + 'a> = Box::new(
                        t.nearest_neighbor_iter_with_distance_2(&centre).map(|(e, d2)| (e.data, d2.sqrt())),
                    );
                    it
                })
                .collect(),
        ))
    }
}

/// Several nearest-first streams merged into one.
struct Merge<'a> {
    streams: Vec<Box<dyn Iterator<Item = (u32, f64)> + 'a>>,
    heap: BinaryHeap<Head>,
}

struct Head {
    distance: f64,
    rep: u32,
    stream: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    /// Reversed: the heap's top is the nearest.
    fn cmp(&self, other: &Self) -> Ordering {
        other.distance.total_cmp(&self.distance).then(other.rep.cmp(&self.rep))
    }
}

impl<'a> Merge<'a> {
    fn new(mut streams: Vec<Box<dyn Iterator<Item = (u32, f64)> + 'a>>) -> Self {
        let mut heap = BinaryHeap::new();
        for (i, s) in streams.iter_mut().enumerate() {
            if let Some((rep, distance)) = s.next() {
                heap.push(Head { distance, rep, stream: i });
            }
        }
        Self { streams, heap }
    }
}

impl Iterator for Merge<'_> {
    type Item = (u32, f64);
    fn next(&mut self) -> Option<(u32, f64)> {
        let top = self.heap.pop()?;
        if let Some((rep, distance)) = self.streams[top.stream].next() {
            self.heap.push(Head { distance, rep, stream: top.stream });
        }
        Some((top.rep, top.distance))
    }
}
