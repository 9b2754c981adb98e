//! What the browser benchmarks (`tests/examples/*_first_load.rs`, `app_bench.rs`) share:
//! their command line (`--runs N`, `--smoke`), the demo they measure, and the median.

use crate::Server;

/// `--smoke` (tiny sizes, one run) and `--runs N`.
#[derive(Debug, Clone, Copy)]
pub struct Args {
    pub smoke: bool,
    pub runs: usize,
}

/// The command line, with `default_runs` when `--runs` is not given.
pub fn args(default_runs: usize) -> Args {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if smoke { 1 } else { default_runs });
    Args { smoke, runs }
}

/// `fieldvisit demo` on `DATABASE_URL` (the township alone in a smoke run, else with
/// its year of history); the database's URL with it.
pub async fn demo(args: Args) -> (Server, String) {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL: the benchmark's database");
    let history = if args.smoke { "none" } else { "full" };
    let server =
        Server::start(&["demo"], &[("DATABASE_URL", url.as_str()), ("FIELDVISIT_DEMO_HISTORY", history)]).await;
    (server, url)
}

/// The median (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
