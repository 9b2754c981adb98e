//! How long [`check_valid`] takes on the boundary sizes real imports send (2k, 20k and 45k
//! vertices; a township boundary from a survey has tens of thousands). A measurement, not a
//! test: it asserts nothing about speed and is `#[ignore]`d so the suite does not pay for it.
//!
//! ```text
//! cargo test -p fieldvisit-geodata --test validation_scaling -- --ignored --nocapture
//! ```
//!
//! Add `--release` for the figures a production build gives; the debug figures are what the
//! end-to-end tests see.

use std::time::Instant;

use fieldvisit_geodata::validate::check_valid;
use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// A valid, wiggly ring of `n` vertices around a point of Shanxi: the radius is a function of
/// the angle, so the ring never crosses itself, and the wiggles keep neighbouring edges from
/// being collinear, as in a surveyed boundary.
fn boundary(n: usize) -> Polygon<f64> {
    let mut ring: Vec<Coord<f64>> = (0..n)
        .map(|i| {
            #[expect(clippy::cast_precision_loss, reason = "vertex counts are far below 2^52")]
            let angle = std::f64::consts::TAU * i as f64 / n as f64;
            let radius = 0.1 * (1.0 + 0.05 * (37.0 * angle).sin() + 0.01 * (501.0 * angle).cos());
            Coord { x: 112.5 + radius * angle.cos(), y: 35.5 + radius * angle.sin() }
        })
        .collect();
    ring.push(ring[0]);
    Polygon::new(LineString(ring), vec![])
}

/// A ring of `n` vertices around `(x, y)` whose radius alternates between `outer` and `inner`:
/// a star of long spikes, whose edges' bounding boxes all overlap near the centre (the worst
/// case for an index of boxes).
fn star(n: usize, x: f64, y: f64, outer: f64, inner: f64) -> LineString<f64> {
    let mut ring: Vec<Coord<f64>> = (0..n)
        .map(|i| {
            #[expect(clippy::cast_precision_loss, reason = "vertex counts are far below 2^52")]
            let angle = std::f64::consts::TAU * i as f64 / n as f64;
            let radius = if i % 2 == 0 { outer } else { inner };
            Coord { x: x + radius * angle.cos(), y: y + radius * angle.sin() }
        })
        .collect();
    ring.push(ring[0]);
    LineString(ring)
}

/// Times `check_valid` on `g` and prints the figure with the verdict.
fn time(what: &str, n: usize, g: &Geometry<f64>) {
    let started = Instant::now();
    let verdict = check_valid(g);
    let took = started.elapsed();
    let verdict = verdict.map_or_else(|e| e.to_string(), |()| "valid".to_owned());
    println!("check_valid, {what:<30} {n:>6} vertices: {:>8.3} s  {verdict}", took.as_secs_f64());
}

#[test]
#[ignore = "a measurement; run it with --ignored --nocapture"]
fn validation_time_by_vertex_count() {
    for n in [2_000, 20_000, 45_000] {
        time("boundary", n, &boundary(n).into());
    }
    // 45,000 vertices in other shapes: a shell with 400 holes of 50 vertices, 900 parts of
    // 50, and a star of spikes.
    let holes = (0..400)
        .map(|k| {
            let (row, col) = (f64::from(k / 20), f64::from(k % 20));
            star(50, 112.45 + col * 0.005, 35.45 + row * 0.005, 0.002, 0.001)
        })
        .collect();
    let shell = boundary(25_000).exterior().clone();
    time("boundary with 400 holes", 45_000, &Polygon::new(shell, holes).into());
    let holes = (0..2000)
        .map(|k| {
            let (row, col) = (f64::from(k / 50), f64::from(k % 50));
            star(10, 112.45 + col * 0.002, 35.45 + row * 0.002, 0.0008, 0.0004)
        })
        .collect();
    let shell = boundary(25_000).exterior().clone();
    time("boundary with 2000 holes", 45_000, &Polygon::new(shell, holes).into());
    let parts = (0..900)
        .map(|k| {
            let (row, col) = (f64::from(k / 30), f64::from(k % 30));
            Polygon::new(star(50, 112.0 + col * 0.01, 35.0 + row * 0.01, 0.004, 0.002), vec![])
        })
        .collect();
    time("multipolygon of 900 parts", 45_000, &MultiPolygon(parts).into());
    for n in [2_000, 20_000, 45_000] {
        time("star of spikes", n, &Polygon::new(star(n, 112.5, 35.5, 0.1, 0.001), vec![]).into());
    }
}
