//! The `fieldvisit` command: `serve`, `demo`, `migrate`, `simulate`, `bench`.

use clap::{Parser, Subcommand};
use fieldvisit::config::Config;
use fieldvisit::{demo, server};

/// jemalloc rather than glibc malloc: see the workspace Cargo.toml.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(name = "fieldvisit", version, about = "Field visits of people's-congress representatives: the server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(Config),
    /// Load the demo township (邵原镇, 济源市) if absent, then run the server.
    Demo(Config),
    /// Apply the database migrations and exit.
    Migrate(Config),
    /// Run a benchmark against the PostgreSQL of DATABASE_URL (see `.ci/bench`).
    #[command(subcommand)]
    Bench(fieldvisit::bench::Bench),
    /// Photo housekeeping.
    #[command(subcommand)]
    Photos(PhotosCommand),
    /// Run the nearby-assignment rule (就近就便) and print a summary; --apply applies it.
    Assign(Box<fieldvisit::assign_cli::AssignArgs>),
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Drive demo representatives' devices through a month of field work
    /// against a running server, then check that they converged.
    Simulate(fieldvisit::simulate::SimulateArgs),
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Places from a GeoJSON, CSV, XLSX or zipped shapefile file.
    Places(Box<fieldvisit::import_cli::ImportPlaces>),
}

#[derive(Debug, Subcommand)]
enum PhotosCommand {
    /// Report photos declared but never uploaded, and stored objects no record
    /// references; with --apply, remove those objects.
    Sweep {
        /// Report photos declared more than this many days ago without bytes.
        #[arg(long, default_value_t = 7)]
        days: i64,
        /// Remove the unreferenced objects (the default is a dry run).
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        config: Config,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve(config)
        | Command::Demo(config)
        | Command::Migrate(config)
        | Command::Photos(PhotosCommand::Sweep { config, .. }) => {
            server::init_logging(&config.log_format, "info,sqlx=warn,tower_http=warn");
        }
        // A measurement, a simulation or an import prints its own report; request logs would drown it.
        Command::Simulate(_) | Command::Bench(_) | Command::Import(_) | Command::Assign(_) => {
            server::init_logging("text", "warn,sqlx=error");
        }
    }
    match run(cli.command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => {
            let db = server::open_database(&config).await?;
            server::serve(&config, db, |addr| println!("fieldvisit listening on http://{addr}")).await
        }
        Command::Demo(mut config) => {
            // Export titles name the demo township (邵原镇人大主席团…问题清单)
            // unless --township-name says otherwise.
            config.township_name.get_or_insert_with(|| "邵原镇".to_owned());
            let db = server::open_database(&config).await?;
            let loaded = demo::load(&db.pool, config.demo_history == "full").await?;
            server::serve(&config, db, |addr| demo::print_banner(addr, &loaded)).await
        }
        Command::Bench(bench) => fieldvisit::bench::run(bench).await,
        Command::Import(ImportCommand::Places(a)) => fieldvisit::import_cli::run(*a).await,
        Command::Assign(a) => fieldvisit::assign_cli::run(*a).await,
        Command::Photos(PhotosCommand::Sweep { days, apply, config }) => {
            let db = server::open_database(&config).await?;
            let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
            let photos = fieldvisit::photos::Photos::from_config(&config, &db.pool, &public_url).await?;
            let report = fieldvisit::photos::sweep::sweep(&db.pool, &photos, days, apply).await?;
            println!("photos declared more than {days} days ago and never uploaded: {}", report.never_uploaded.len());
            for (id, who, at) in &report.never_uploaded {
                println!("  {id}  {who}  declared {at}");
            }
            println!("stored objects no record references: {}", report.orphans.len());
            for key in &report.orphans {
                println!("  {key}");
            }
            if apply {
                println!("removed {} objects", report.removed);
            } else if !report.orphans.is_empty() {
                println!("dry run: nothing removed (add --apply to remove them)");
            }
            Ok(())
        }
        Command::Migrate(config) => {
            let db = server::open_database(&config).await?;
            println!("migrations applied");
            drop(db);
            Ok(())
        }
        Command::Simulate(args) => {
            let report = fieldvisit::simulate::run(&args).await?;
            print!("{report}");
            anyhow::ensure!(report.converged(), "the devices did not converge with the server");
            Ok(())
        }
    }
}
