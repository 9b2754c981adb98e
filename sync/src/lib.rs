//! The fieldvisit sync protocol: devices push mutations (applied once, in
//! order, each acknowledged) and pull changes (after a signed cursor, per
//! bucket, never skipping a late commit). Also the monthly visit rule, and,
//! behind the `client` feature, a reference device and the simulator.
//!
//! Nothing here knows HTTP: `api` authenticates, resolves the caller's scope
//! with its policy, and hands both to these functions.

pub mod actor;
pub mod assignments;
pub mod bench;
pub mod buckets;
pub mod check_ins;
pub mod command;
pub mod coverage;
pub mod coverage_report;
pub mod cursor;
mod error;
pub mod findings;
pub mod health;
pub mod issue_lists;
pub mod issues;
pub mod month;
pub mod mutations;
pub mod people;
pub mod photos;
pub mod places;
pub mod protocol;
pub mod pull;
pub mod push;
pub mod scope;
pub mod secrets;
pub mod sign_ins;
pub mod stations;
pub mod visits;

#[cfg(feature = "client")]
pub mod client;

pub use actor::Actor;
pub use error::{SyncError, database_unavailable};
pub use scope::Scope;
