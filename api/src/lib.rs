//! The fieldvisit server: the HTTP API over PostgreSQL + PostGIS, the CLI and
//! the demo township. Business rules live in the database constraints, the
//! access policy (`auth::policy`) and the `sync` and `geodata` crates; this
//! crate parses, authorises and answers.

pub mod app;
pub mod assign_cli;
pub mod auth;
pub mod bench;
pub mod config;
pub mod console;
pub mod demo;
pub mod embedded_pg;
pub mod error;
pub mod export;
pub mod field_app;
pub mod geo_input;
pub mod head_errors;
pub mod import_cli;
pub mod input;
pub mod listener;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod photos;
pub mod report;
pub mod routes;
pub mod server;
pub mod simulate;
pub mod templates;

/// The SQL migrations, embedded in the binary and run at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
