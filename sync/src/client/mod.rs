//! The device side of the protocol, in Rust: a reference for the app and
//! the engine of `fieldvisit simulate`, the end-to-end tests and the
//! benchmarks.
//!
//! - [`LocalStore`]: what a phone keeps (records with their buckets, the
//!   outbox, the last acknowledged mutation, the cursor), serialisable.
//! - [`Connection`]: sign-in, token refresh on 401, retries with backoff and
//!   jitter on transport errors and 5xx, and the simulator's fault injection.
//! - [`Device`]: push (batches, acknowledgements, per-mutation results) and
//!   pull (pages, cursor taken only after the page is applied).
//! - photos: `photo.declare.v1` through the outbox, then the bytes through
//!   a signed upload and `complete`, repeated until they are on the server.
//! - [`plan`]: a month of plausible visits for one representative.

mod connection;
mod device;
mod photos;
pub mod plan;
mod store;

pub use connection::{ClientError, Connection, ConnectionStats, Faults, RetryPolicy};
pub use device::{DEFAULT_BATCH, Device, DeviceSettings, DeviceStats, HORIZON_WAIT};
pub use photos::{MAX_UPLOAD_ROUNDS, PhotoStats, SignedUpload};
pub use store::{LocalStore, Record};
