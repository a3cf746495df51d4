//! Who may do what: the roles an API token grants.
//!
//! - `agent` decides drafts that need an agent;
//! - `supervisor` also decides drafts that require a supervisor;
//! - `reviewer` reads the approval log, exports, insights and operator views, and decides
//!   nothing;
//! - `admin` manages tokens, plugins and configuration, and reads operator views.
//!
//! Roles do not imply one another except where [`Role::approver_role`] says so: an admin is
//! not an approver unless also given `agent` or `supervisor`.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::approval::ApproverRole;

/// Longest person name a token may carry, in characters.
pub const MAX_PERSON_CHARS: usize = 200;

/// A person's name that cannot name anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "person: give the name of the person the token is for (1 to {MAX_PERSON_CHARS} characters, no control characters)"
)]
pub struct BadPersonName;

/// A person's name as tokens record it and decisions show it: Unicode NFC, no leading or
/// trailing whitespace, inner whitespace collapsed to single spaces. Two spellings that differ
/// only in those respects become the same text.
pub fn normalize_person(name: &str) -> Result<String, BadPersonName> {
    let composed: String = name.nfc().collect();
    let normalized = composed.split_whitespace().collect::<Vec<_>>().join(" ");
    let length = normalized.chars().count();
    if length == 0 || length > MAX_PERSON_CHARS || normalized.chars().any(char::is_control) {
        return Err(BadPersonName);
    }
    Ok(normalized)
}

/// What two person names are compared by (the two-person rule, the editor's own approval, a
/// token minted for its own holder): compatibility-composed (NFKC: full-width letters become
/// ASCII), case-folded (lower case, `ß` as `ss`, final sigma as sigma) and with whitespace
/// collapsed. "Ann Agent", " ann  agent" and "ＡＮＮ ＡＧＥＮＴ" are the same person.
pub fn person_key(name: &str) -> String {
    let mut lowered = String::with_capacity(name.len());
    for c in name.nfkc().flat_map(char::to_lowercase) {
        match c {
            '\u{df}' => lowered.push_str("ss"),
            '\u{3c2}' => lowered.push('\u{3c3}'),
            other => lowered.push(other),
        }
    }
    let folded: String = lowered.nfkc().collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A role an API token grants.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Decides drafts.
    Agent,
    /// Decides drafts, including those that require a supervisor.
    Supervisor,
    /// Reads the approval log, exports and insights; cannot decide.
    Reviewer,
    /// Manages tokens, plugins and configuration.
    Admin,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Reviewer, Role::Admin];

    /// The role's name as written in configs, tokens and API bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    /// The approver role this role decides drafts as, if any.
    pub fn approver_role(self) -> Option<ApproverRole> {
        match self {
            Role::Agent => Some(ApproverRole::Agent),
            Role::Supervisor => Some(ApproverRole::Supervisor),
            Role::Reviewer | Role::Admin => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected agent, supervisor, reviewer or admin")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole(text.to_owned()))
    }
}

/// The strongest approver role among `roles` (supervisor over agent), if any.
pub fn strongest_approver_role(roles: &[Role]) -> Option<ApproverRole> {
    roles.iter().filter_map(|r| r.approver_role()).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("owner".parse::<Role>(), Err(UnknownRole("owner".into())));
    }

    #[test]
    fn names_are_normalized_and_compared_case_and_width_blind() {
        // "é" written as e + combining accent becomes the one composed character.
        assert_eq!(
            normalize_person("  Ren\u{e9}e   Agent \t").as_deref(),
            Ok("Ren\u{e9}e Agent")
        );
        assert_eq!(
            normalize_person("Rene\u{301}e Agent").as_deref(),
            Ok("Ren\u{e9}e Agent")
        );
        for bad in ["", "   ", "Ann\u{7}", &"x".repeat(MAX_PERSON_CHARS + 1)] {
            assert_eq!(normalize_person(bad), Err(BadPersonName), "{bad:?}");
        }
        let key = person_key("Ann Agent");
        for same in [
            " ann  agent",
            "ANN AGENT",
            "\u{ff21}\u{ff2e}\u{ff2e} \u{ff21}\u{ff27}\u{ff25}\u{ff2e}\u{ff34}",
        ] {
            assert_eq!(person_key(same), key, "{same:?}");
        }
        assert_eq!(person_key("Stra\u{df}e"), person_key("STRASSE"));
        assert_eq!(person_key("Rene\u{301}e"), person_key("REN\u{c9}E"));
        assert_ne!(person_key("Ann Agent"), person_key("Anna Agent"));
    }

    #[test]
    fn only_agents_and_supervisors_approve() {
        assert_eq!(
            strongest_approver_role(&[Role::Admin, Role::Reviewer]),
            None
        );
        assert_eq!(
            strongest_approver_role(&[Role::Agent, Role::Supervisor]),
            Some(ApproverRole::Supervisor)
        );
    }
}
