//! The one error type of the sync crate. Rejections of single mutations are
//! not errors (they are acknowledged results); these are failures of a whole
//! request.

use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The request itself is malformed (e.g. mutation ids not increasing).
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// A query parameter has a value outside what it takes (e.g. `limit=0`):
    /// the same 400 as any other bad query value.
    #[error("{message}")]
    BadParameter { field: &'static str, message: String },
    /// The client id is registered to another person.
    #[error("client {0} belongs to another person; use this install's own client id")]
    ForeignClient(Uuid),
    /// The cursor was not made by this server for this person, or was altered.
    #[error("the cursor is not valid: {0}")]
    BadCursor(&'static str),
    /// The device's schema is too old to pull; it must update (pushes still work).
    #[error("this app version is too old to sync (schema {got}, need {min}); update the app")]
    UpgradeRequired { got: i32, min: i32 },
    /// The database failed; nothing was committed and the request may be retried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl SyncError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}
