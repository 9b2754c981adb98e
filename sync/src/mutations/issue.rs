//! A raiser's steps on an issue from the phone: `issue.comment.v1`,
//! `issue.confirm.v1` (销号 with a rating) and `issue.dispute.v1`. They go
//! through the same workflow function as the desk's clicks
//! ([`crate::issues::commands::take`]), so the staff's state always wins: a
//! step on an issue that has moved on (closed out, merged, answered anew) is
//! rejected with a reason the app can show, and a comment only ever appends.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Applying, Outcome, parse_args, payload_hash, repeated};
use crate::SyncError;
use crate::issues::commands::{StepArgs, Who, take};
use crate::issues::workflow::Action;
use crate::people::Role;
use crate::protocol::{IssueCommentV1, IssueConfirmV1, IssueDisputeV1};
use crate::scope::Scope;

/// Longest note kept.
pub const NOTE_MAX_CHARS: usize = 4000;

fn note(n: Option<&str>) -> Result<Option<String>, Outcome> {
    let Some(n) = n.map(str::trim) else { return Ok(None) };
    if n.chars().count() > NOTE_MAX_CHARS || n.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Outcome::rejected(
            "invalid_note",
            format!("the note must have at most {NOTE_MAX_CHARS} characters and no control characters"),
        ));
    }
    Ok(Some(n.to_owned()))
}

pub async fn comment_v1(tx: &mut sqlx::PgConnection, args: &Value, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    match parse_args::<IssueCommentV1>(args) {
        Ok(m) => step(tx, a, m.id, m.issue_id, Action::Comment, Some(&m.note), None, payload_hash(&m)).await,
        Err(o) => Ok(o),
    }
}

pub async fn confirm_v1(tx: &mut sqlx::PgConnection, args: &Value, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    match parse_args::<IssueConfirmV1>(args) {
        Ok(m) => {
            step(tx, a, m.id, m.issue_id, Action::Confirm, m.note.as_deref(), Some(m.rating), payload_hash(&m)).await
        }
        Err(o) => Ok(o),
    }
}

pub async fn dispute_v1(tx: &mut sqlx::PgConnection, args: &Value, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    match parse_args::<IssueDisputeV1>(args) {
        Ok(m) => step(tx, a, m.id, m.issue_id, Action::Dispute, Some(&m.note), None, payload_hash(&m)).await,
        Err(o) => Ok(o),
    }
}

#[allow(clippy::too_many_arguments)]
async fn step(
    tx: &mut sqlx::PgConnection,
    a: &Applying<'_>,
    event_id: Uuid,
    issue_id: Uuid,
    action: Action,
    text: Option<&str>,
    rating: Option<i16>,
    hash: Vec<u8>,
) -> Result<Outcome, sqlx::Error> {
    let existing: Option<(Uuid, Option<Vec<u8>>)> =
        sqlx::query_as(include_str!("issue_event_existing.sql")).bind(event_id).fetch_optional(&mut *tx).await?;
    if let Some((issue, stored)) = existing {
        let stored = stored.unwrap_or_default();
        return Ok(repeated("issue event", action.as_str(), event_id, &stored, &hash, || {
            Outcome::Applied(json!({ "id": event_id, "issue_id": issue }))
        }));
    }
    if !a.actor.representative {
        return Ok(Outcome::rejected(
            "not_a_representative",
            "only the representatives who raised an issue act on it from a phone",
        ));
    }
    let note = match note(text) {
        Ok(n) => n,
        Err(o) => return Ok(o),
    };
    let who = Who {
        person_id: a.actor.person_id,
        role: Role::Representative,
        scope: Scope { stations: None, person: Some(a.actor.person_id) },
    };
    let args = StepArgs { note, rating, ..StepArgs::default() };
    match take(tx, issue_id, action, &args, &who, a.ctx.received_at, (event_id, Some(&hash))).await {
        Ok(taken) => Ok(Outcome::Applied(json!({
            "id": event_id, "issue_id": issue_id, "state": taken.to, "version": taken.version
        }))),
        Err(SyncError::Database(e)) => Err(e),
        Err(SyncError::NotFound(_)) => {
            Ok(Outcome::rejected("unknown_issue", format!("no issue {issue_id} raised by you")))
        }
        Err(SyncError::IllegalTransition { .. }) => Ok(moved_on(tx, issue_id, action).await?),
        Err(e) => Ok(Outcome::rejected("invalid_args", e.to_string())),
    }
}

/// The rejection of a step the issue's state no longer allows, in words the
/// app can show as they are.
async fn moved_on(tx: &mut sqlx::PgConnection, issue_id: Uuid, action: Action) -> Result<Outcome, sqlx::Error> {
    let (state, number): (crate::issues::IssueState, String) =
        sqlx::query_as(include_str!("issue_state.sql")).bind(issue_id).fetch_one(&mut *tx).await?;
    Ok(Outcome::rejected(
        "issue_moved_on",
        format!(
            "issue {number} is now {} ({}); it can no longer take a {}",
            state.as_str(),
            state.label(false),
            action.as_str()
        ),
    ))
}
