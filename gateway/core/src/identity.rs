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

use crate::approval::ApproverRole;

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
