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
    /// The record a command names does not exist, or is outside the
    /// caller's scope (which must look the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The command conflicts with the current state (a stale version, a
    /// duplicate, an illegal transition); `field` names what, when one does.
    #[error("{message}")]
    Conflict { code: &'static str, message: String, field: Option<&'static str> },
    /// An issue's workflow step that its state or the caller's standing does
    /// not allow; `allowed` lists the steps that are (409 `illegal_transition`).
    #[error("{message}")]
    IllegalTransition { message: String, allowed: Vec<&'static str> },
    /// The database failed. When [`database_unavailable`] says so, the
    /// request may be retried as it is (a push that raced its commit may have
    /// committed; the retry then answers `duplicate`).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl SyncError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }

    pub fn conflict(code: &'static str, field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into(), field }
    }
}

/// Whether `e` means the database went away or refused for now, so that the
/// same request may succeed later: the server answers 503 and a device
/// retries the same bytes. Everything else is the request's doing (a 4xx) or
/// a bug (a 500). One list, used by every path that meets a database error.
pub fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().as_deref().is_some_and(transient_sqlstate),
        // A dying or refused connection: reset, broken pipe, EOF mid-message,
        // a message cut short, a TLS session that broke, the pool waiting in vain.
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        _ => false,
    }
}

/// SQLSTATEs of a database that is going away, overloaded or in the way for
/// now (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
fn transient_sqlstate(code: &str) -> bool {
    matches!(
        code,
        // admin_shutdown (`pg_ctl stop -m fast`, "unexpected postmaster exit"),
        // crash_shutdown, cannot_connect_now (starting up, shutting down, in
        // recovery), idle_session_timeout.
        "57P01" | "57P02" | "57P03" | "57P05"
        // query_canceled: a statement timeout or an operator's cancel.
        | "57014"
        // serialization_failure, deadlock_detected: the transaction was rolled back whole.
        | "40001" | "40P01"
        // lock_not_available (lock_timeout).
        | "55P03"
        // read_only_sql_transaction: a standby reached before a failover finished.
        | "25006"
    ) || code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources: too many connections, disk full, out of memory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_losses_are_unavailable_and_data_errors_are_not() {
        for code in ["57P01", "57P02", "57P03", "08006", "08003", "53300", "53100", "40001", "40P01", "57014"] {
            assert!(transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23503", "22P02", "42P01", "XX000", "42501"] {
            assert!(!transient_sqlstate(code), "{code}");
        }
        assert!(database_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(database_unavailable(&sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())));
        assert!(!database_unavailable(&sqlx::Error::RowNotFound));
    }
}
