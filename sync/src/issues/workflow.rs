//! The issue workflow, written once: which step may be taken from which
//! state, by whom, and where it leads. The web console, the REST API and the
//! phones (through push) all apply a step through [`take`], so no rule exists
//! twice. README.md carries the same table; a test reads it back.
//!
//! ```text
//! new → accepted → forwarded → in_progress → answered → closed_out (销号)
//!   ↘ returned → (resubmit) new        answered → (dispute) in_progress
//!   ↘ rejected                          any open state → merged
//! ```
//! `forwarded` is never a step of its own: issuing a monthly list sets it.

use serde::{Deserialize, Serialize};

use super::IssueState;

/// A step of the workflow, as `POST /v1/issues/{id}/actions` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The station takes it up.
    Accept,
    /// Back to the raisers for more information (a note says what).
    Return,
    /// The raisers answered what was asked; it is considered anew.
    Resubmit,
    /// Not an issue for the list (a note gives the reason).
    Reject,
    /// The responsible department acknowledged it.
    Acknowledge,
    /// The department's reply is recorded (the note), with its date.
    Answer,
    /// 销号 / 人大验单: a raiser, or the presidium, confirms the answer with a
    /// satisfaction rating from 1 to 5.
    Confirm,
    /// A raiser does not accept the answer; back to the department.
    Dispute,
    /// A duplicate: merged into another open issue, which carries on.
    Merge,
    /// A comment; the state does not change.
    Comment,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Accept,
        Action::Return,
        Action::Resubmit,
        Action::Reject,
        Action::Acknowledge,
        Action::Answer,
        Action::Confirm,
        Action::Dispute,
        Action::Merge,
        Action::Comment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Return => "return",
            Action::Resubmit => "resubmit",
            Action::Reject => "reject",
            Action::Acknowledge => "acknowledge",
            Action::Answer => "answer",
            Action::Confirm => "confirm",
            Action::Dispute => "dispute",
            Action::Merge => "merge",
            Action::Comment => "comment",
        }
    }

    /// Whether the step needs a note (the reason, the reply, the objection…).
    pub fn needs_note(self) -> bool {
        matches!(self, Action::Return | Action::Reject | Action::Answer | Action::Dispute | Action::Comment)
    }
}

/// Where the caller stands to an issue they can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    /// A representative who raised it.
    Raiser,
    /// Staff of a liaison station whose subtree holds it.
    Staff,
    /// The presidium (主席团).
    Presidium,
    /// Anyone else who may read it (planners, admins): no steps.
    Onlooker,
}

impl Standing {
    pub const ALL: [Standing; 4] = [Standing::Raiser, Standing::Staff, Standing::Presidium, Standing::Onlooker];
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub action: Action,
    pub from: &'static [IssueState],
    /// `None`: the state stays (a comment).
    pub to: Option<IssueState>,
    pub by: &'static [Standing],
}

use IssueState as S;
use Standing::{Presidium, Raiser, Staff};

/// States an issue is still being worked in.
pub const OPEN: &[IssueState] = &[S::New, S::Accepted, S::Forwarded, S::InProgress, S::Answered, S::Returned];

/// The table. A step not listed for a state and a standing is refused with
/// the steps that are allowed.
pub const STEPS: &[Step] = &[
    Step { action: Action::Accept, from: &[S::New], to: Some(S::Accepted), by: &[Staff, Presidium] },
    Step { action: Action::Return, from: &[S::New, S::Accepted], to: Some(S::Returned), by: &[Staff, Presidium] },
    Step { action: Action::Resubmit, from: &[S::Returned], to: Some(S::New), by: &[Raiser, Staff, Presidium] },
    Step {
        action: Action::Reject,
        from: &[S::New, S::Accepted, S::Returned],
        to: Some(S::Rejected),
        by: &[Staff, Presidium],
    },
    Step { action: Action::Acknowledge, from: &[S::Forwarded], to: Some(S::InProgress), by: &[Staff, Presidium] },
    Step {
        action: Action::Answer,
        from: &[S::Forwarded, S::InProgress],
        to: Some(S::Answered),
        by: &[Staff, Presidium],
    },
    Step { action: Action::Confirm, from: &[S::Answered], to: Some(S::ClosedOut), by: &[Raiser, Presidium] },
    Step { action: Action::Dispute, from: &[S::Answered], to: Some(S::InProgress), by: &[Raiser] },
    Step {
        action: Action::Merge,
        from: &[S::New, S::Accepted, S::Returned, S::Forwarded, S::InProgress],
        to: Some(S::Merged),
        by: &[Staff, Presidium],
    },
    Step { action: Action::Comment, from: OPEN, to: None, by: &[Raiser, Staff, Presidium] },
];

/// Where `action` leads from `state` for `standing`, if it is allowed:
/// `Some(None)` for a step that keeps the state.
pub fn leads_to(state: IssueState, standing: Standing, action: Action) -> Option<Option<IssueState>> {
    STEPS.iter().find(|s| s.action == action && s.from.contains(&state) && s.by.contains(&standing)).map(|s| s.to)
}

/// The steps allowed from `state` for `standing`, in the table's order.
pub fn allowed(state: IssueState, standing: Standing) -> Vec<Action> {
    Action::ALL.into_iter().filter(|a| leads_to(state, standing, *a).is_some()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_rejected_and_merged_issues_take_no_step() {
        for state in [S::ClosedOut, S::Rejected, S::Merged] {
            for standing in Standing::ALL {
                assert!(allowed(state, standing).is_empty(), "{state:?} {standing:?}");
            }
        }
    }

    #[test]
    fn only_a_raiser_or_the_presidium_closes_out() {
        for standing in Standing::ALL {
            let may = leads_to(S::Answered, standing, Action::Confirm).is_some();
            assert_eq!(may, matches!(standing, Raiser | Presidium), "{standing:?}");
        }
        assert_eq!(leads_to(S::Answered, Raiser, Action::Dispute), Some(Some(S::InProgress)));
        assert_eq!(leads_to(S::Answered, Raiser, Action::Comment), Some(None));
    }

    #[test]
    fn onlookers_take_no_step_anywhere() {
        for state in IssueState::ALL {
            assert!(allowed(state, Standing::Onlooker).is_empty());
        }
    }
}
