//! The `fieldvisit` command: `serve`, `demo`, `migrate`.

use clap::{Parser, Subcommand};
use fieldvisit::config::Config;
use fieldvisit::{demo, server};

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (Command::Serve(config) | Command::Demo(config) | Command::Migrate(config)) = &cli.command;
    server::init_logging(&config.log_format);
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
        Command::Demo(config) => {
            let db = server::open_database(&config).await?;
            let loaded = demo::load(&db.pool).await?;
            server::serve(&config, db, |addr| demo::print_banner(addr, &loaded)).await
        }
        Command::Migrate(config) => {
            let db = server::open_database(&config).await?;
            println!("migrations applied");
            drop(db);
            Ok(())
        }
    }
}
