//! Benchmark of the nearby-assignment rule on synthetic townships, against Google OR-Tools'
//! `SimpleMinCostFlow` on the same flow network.
//!
//! ```text
//! cargo run --release -p fieldvisit-geodata --example assign_bench -- --size small|medium|large|smoke \
//!     [--max-distance-m 15000] [--ortools PYTHON] [--out DIR]
//! ```
//!
//! A township is clusters (villages) of representatives' anchors and of places around them,
//! spread over an area that grows with the number of representatives (about 20 km square for
//! 87). Capacities cover the need overall, but each cluster's capacity is scaled by a random
//! factor so that some clusters are short and their places must reach into neighbouring
//! ones. One place in ten needs two representatives and one in five is bounded to its
//! cluster's station.
//!
//! With `--ortools PYTHON` the example writes the network it solved last (the same pruned
//! candidate arcs plus those the proof added, or the complete graph on small sizes) as raw
//! little-endian arrays and runs `ortools_mcf.py` on it with that interpreter; the reference
//! reads them, solves, and prints its total cost and seconds. Ratios are OR-Tools over ours.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use fieldvisit_geodata::assign::{Params, Place, Pruning, Representative, solve_exporting};
use geo::{Destination, Geodesic, Point};

/// splitmix64: deterministic instances without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    #[expect(clippy::cast_precision_loss, reason = "53 random bits")]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        #[expect(clippy::cast_possible_truncation, reason = "n is a count in memory")]
        let i = (self.next() % n as u64) as usize;
        i
    }
    /// A normal deviate (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

struct Township {
    reps: Vec<Representative>,
    places: Vec<Place>,
}

#[expect(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "sizes")]
fn township(n_reps: usize, n_places: usize, seed: u64) -> Township {
    let mut rng = Rng(seed);
    let origin = Point::new(112.10, 35.10);
    let side_m = 20_000.0 * (n_reps as f64 / 87.0).sqrt();
    let clusters = (n_reps / 6).max(2);
    let centres: Vec<Point<f64>> = (0..clusters)
        .map(|_| {
            let east = Geodesic.destination(origin, 90.0, rng.unit() * side_m);
            Geodesic.destination(east, 0.0, rng.unit() * side_m)
        })
        .collect();
    let around = |rng: &mut Rng, c: Point<f64>, sigma: f64| {
        let (dx, dy) = (rng.normal() * sigma, rng.normal() * sigma);
        let p = Geodesic.destination(c, 90.0, dx);
        Geodesic.destination(p, 0.0, dy)
    };
    let mut places = Vec::with_capacity(n_places);
    let mut need_of = vec![0u64; clusters];
    for _ in 0..n_places {
        let c = rng.below(clusters);
        let need = if rng.unit() < 0.1 { 2 } else { 1 };
        need_of[c] += need;
        let stations = (rng.unit() < 0.2).then(|| vec![c as u32]);
        places.push(Place { geometry: around(&mut rng, centres[c], 1500.0).into(), need: need as u32, stations });
    }
    // Representatives: every cluster has at least one, the rest at random.
    let home: Vec<usize> = (0..n_reps).map(|i| if i < clusters { i } else { rng.below(clusters) }).collect();
    let mut members = vec![0u64; clusters];
    for &c in &home {
        members[c] += 1;
    }
    // Capacity per cluster: its need times a factor in 0.6..1.5, then all scaled so that the
    // total is 5% over the total need.
    let factor: Vec<f64> = (0..clusters).map(|_| 0.6 + 0.9 * rng.unit()).collect();
    let raw: f64 = (0..clusters).map(|c| need_of[c] as f64 * factor[c]).sum();
    let total_need: u64 = need_of.iter().sum();
    let scale = 1.05 * total_need as f64 / raw;
    let reps = home
        .iter()
        .map(|&c| {
            let per = need_of[c] as f64 * factor[c] * scale / members[c] as f64;
            let capacity = (per * (0.8 + 0.4 * rng.unit())).round().max(1.0) as u32;
            Representative { anchor: around(&mut rng, centres[c], 1000.0), capacity, station: Some(c as u32) }
        })
        .collect();
    Township { reps, places }
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn write_raw<T: Copy>(path: &PathBuf, values: &[T], bytes: impl Fn(T) -> [u8; 8]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for &v in values {
        out.write_all(&bytes(v)).expect("write");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let size = arg("--size").unwrap_or_else(|| "small".into());
    let (n_reps, n_places) = match size.as_str() {
        "smoke" => (20, 150),
        "small" => (87, 600),
        "medium" => (5_000, 50_000),
        "large" => (20_000, 200_000),
        other => panic!("unknown size {other}: smoke, small, medium or large"),
    };
    let max_distance_m = arg("--max-distance-m").map_or(15_000.0, |m| m.parse().expect("metres"));
    let out =
        PathBuf::from(arg("--out").unwrap_or_else(|| std::env::temp_dir().join("assign-bench").display().to_string()));
    let ortools = arg("--ortools");

    let t = Instant::now();
    let town = township(n_reps, n_places, 87);
    let generated = t.elapsed().as_secs_f64();
    let params = Params { max_distance_m: Some(max_distance_m), pruning: Pruning::Auto, max_rounds: 8 };
    let (proposal, network) =
        solve_exporting(&town.reps, &town.places, &[], &params, ortools.is_some()).expect("valid instance");
    let peak = peak_mib();
    let f = &proposal.figures;
    let unserved: u32 = proposal.unserved.iter().map(|u| u.missing).sum();
    println!(
        "assign {size}: {n_reps} representatives × {n_places} places, max distance {max_distance_m} m (instance made in {generated:.2} s)"
    );
    println!(
        "  ours: {:.3} s (candidates {:.3} s, flow {:.3} s, proofs {:.3} s), peak {peak:.0} MiB, total distance {} m, unserved {unserved}, objective {}",
        f.seconds, f.candidate_seconds, f.flow_seconds, f.proof_seconds, proposal.total_distance_m, f.objective
    );
    println!(
        "        k {:?}, arcs {}, rounds {}, arcs added {}, phases {}, pushes {}, relabels {}, price updates {}, paths {}, settled {}, optimal {}, gap {:?}",
        f.k,
        f.arcs,
        f.rounds,
        f.arcs_added,
        f.phases,
        f.pushes,
        f.relabels,
        f.price_updates,
        f.paths,
        f.settled,
        f.optimal,
        f.gap_bound
    );
    let Some(python) = ortools else { return };
    std::fs::create_dir_all(&out).expect("output directory");
    let t = Instant::now();
    write_raw(&out.join("supplies.i64"), &network.supplies, i64::to_le_bytes);
    write_raw(&out.join("tails.i64"), &network.tails, |v| i64::from(v).to_le_bytes());
    write_raw(&out.join("heads.i64"), &network.heads, |v| i64::from(v).to_le_bytes());
    write_raw(&out.join("capacities.i64"), &network.capacities, |v| i64::from(v).to_le_bytes());
    write_raw(&out.join("costs.i64"), &network.costs, i64::to_le_bytes);
    let written = t.elapsed().as_secs_f64();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/ortools_mcf.py");
    let answer = Command::new(&python).arg(&script).arg(&out).output().expect("run the OR-Tools reference");
    assert!(answer.status.success(), "ortools_mcf.py failed: {}", String::from_utf8_lossy(&answer.stderr));
    let text = String::from_utf8_lossy(&answer.stdout);
    let value = |key: &str| -> f64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key}= in {text}"))
    };
    let (cost, solve_s, total_s) = (value("cost"), value("solve_seconds"), value("total_seconds"));
    #[expect(clippy::cast_precision_loss, reason = "costs below 2^53")]
    let ours = f.objective as f64;
    println!(
        "  OR-Tools: solve {solve_s:.3} s, load+solve {total_s:.3} s (+ our candidates {:.3} s = {:.3} s end to end), objective {cost} (files written in {written:.2} s)",
        f.candidate_seconds,
        total_s + f.candidate_seconds
    );
    println!(
        "  ratios OR-Tools/ours: flow time {:.2}, end to end {:.2}, objective {:.6}{}",
        solve_s / f.flow_seconds,
        (total_s + f.candidate_seconds) / f.seconds,
        cost / ours,
        if (cost - ours).abs() < 0.5 { " (same total)" } else { " (DIFFERENT TOTAL)" }
    );
    assert!((cost - ours).abs() < 0.5, "OR-Tools found objective {cost}, we {ours}");
}
