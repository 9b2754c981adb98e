//! The dispatcher: every named, versioned mutation and the function that
//! applies it. A phone's push and a staff member's click both end up here,
//! so each rule exists once. Old versions stay, so work queued offline
//! before an app update is never dropped.

pub mod checkin;
pub mod finding;
pub mod issue;
pub mod photo;

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Actor;
use crate::protocol::Mutation;
use crate::push::PushContext;

/// The names this server applies.
pub const KNOWN: &[&str] = &[
    "checkin.create.v1",
    "finding.create.v1",
    "finding.update.v1",
    "photo.declare.v1",
    "issue.comment.v1",
    "issue.confirm.v1",
    "issue.dispute.v1",
];

/// What applying one mutation came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied(Value),
    /// Can never succeed: acknowledged with a reason, and the queue moves on.
    Rejected {
        code: &'static str,
        reason: String,
    },
}

impl Outcome {
    pub fn rejected(code: &'static str, reason: impl Into<String>) -> Self {
        Self::Rejected { code, reason: reason.into() }
    }
}

/// Who applies, from which client, with which clocks.
#[derive(Debug, Clone, Copy)]
pub struct Applying<'a> {
    pub actor: &'a Actor,
    pub client_id: Uuid,
    pub ctx: &'a PushContext,
    /// Device clock minus server clock, when the device told its clock.
    pub skew_s: Option<f64>,
}

/// Applies one mutation inside the push transaction. `Err` is a database
/// failure; the caller decides whether it is a rejection or transient.
pub async fn apply(tx: &mut sqlx::PgConnection, m: &Mutation, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    match m.name.as_str() {
        "checkin.create.v1" => checkin::create_v1(tx, &m.args, a).await,
        "finding.create.v1" => finding::create_v1(tx, &m.args, a).await,
        "finding.update.v1" => finding::update_v1(tx, &m.args, a).await,
        "photo.declare.v1" => photo::declare_v1(tx, &m.args, a).await,
        "issue.comment.v1" => issue::comment_v1(tx, &m.args, a).await,
        "issue.confirm.v1" => issue::confirm_v1(tx, &m.args, a).await,
        "issue.dispute.v1" => issue::dispute_v1(tx, &m.args, a).await,
        other => Ok(Outcome::rejected(
            "unknown_mutation",
            format!("this server does not know the mutation {other:?}; it knows {}", KNOWN.join(", ")),
        )),
    }
}

/// Applies a run of new mutations without a savepoint each: consecutive
/// check-in creates go through [`checkin::create_batch`] together. This is
/// safe because every apply function decides a rejection before it writes;
/// a refusal by the database itself makes the caller redo the push with
/// [`apply`] and a savepoint per mutation.
pub async fn apply_batch(
    tx: &mut sqlx::PgConnection,
    ms: &[&Mutation],
    a: &Applying<'_>,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut out = Vec::with_capacity(ms.len());
    let mut i = 0;
    while i < ms.len() {
        if ms[i].name == "checkin.create.v1" {
            let end = ms[i..].iter().position(|m| m.name != "checkin.create.v1").map_or(ms.len(), |k| i + k);
            let args: Vec<&Value> = ms[i..end].iter().map(|m| &m.args).collect();
            out.extend(checkin::create_batch(tx, &args, a).await?);
            i = end;
        } else {
            out.push(apply(tx, ms[i], a).await?);
            i += 1;
        }
    }
    Ok(out)
}

/// Parses a mutation's arguments; a mismatch is a rejection naming the field.
pub(crate) fn parse_args<T: serde::de::DeserializeOwned>(args: &Value) -> Result<T, Outcome> {
    T::deserialize(args).map_err(|e| Outcome::rejected("invalid_args", format!("the arguments do not fit: {e}")))
}

/// The fingerprint of a mutation's arguments, kept with what it created.
/// Serialising the parsed struct gives one byte string per meaning, whatever
/// the device's key order or whitespace.
pub(crate) fn payload_hash<T: serde::Serialize>(args: &T) -> Vec<u8> {
    Sha256::digest(serde_json::to_vec(args).expect("arguments serialise")).to_vec()
}

/// A create whose id exists already (`stored` is the hash kept with it): the
/// same payload is a retry and answers what it answered then (`answer`);
/// other contents under that id are refused, since a create never
/// overwrites. `what` names the record (`check-in`), `change` the mutation
/// (`create`, `declaration`).
pub(crate) fn repeated(
    what: &str,
    change: &str,
    id: Uuid,
    stored: &[u8],
    hash: &[u8],
    answer: impl FnOnce() -> Outcome,
) -> Outcome {
    if stored == hash { answer() } else { id_conflict(what, change, id) }
}

/// The refusal of other contents under an existing id.
pub(crate) fn id_conflict(what: &str, change: &str, id: Uuid) -> Outcome {
    Outcome::rejected(
        "id_conflict",
        format!("{what} {id} already exists with other contents; a {change} never overwrites"),
    )
}
