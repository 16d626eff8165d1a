//! Who may do what: Keystone's default policy rules
//! (`keystone/common/policies/*.py` with `enforce_new_defaults`), as a
//! table of actions, each a list of alternatives.

use crate::auth::TokenContext;
use crate::error::Error;

/// One alternative in a rule (the rule passes when any alternative does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Any valid token.
    Authenticated,
    /// `rule:admin_required`: the admin role, in any scope.
    Admin,
    /// `role:reader and system_scope:all`.
    SystemReader,
    /// `role:service`.
    Service,
    /// `rule:token_subject`: the subject token belongs to the caller.
    TokenSubject,
    /// `user_id:%(target.…user_id)s`: the target belongs to the caller.
    Owner,
}

/// A named action and its rule.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub action: &'static str,
    pub any_of: &'static [Check],
}

pub const VALIDATE_TOKEN: Policy = Policy {
    action: "identity:validate_token",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::Service,
        Check::TokenSubject,
    ],
};
pub const CHECK_TOKEN: Policy = Policy {
    action: "identity:check_token",
    any_of: &[Check::Admin, Check::SystemReader, Check::TokenSubject],
};
pub const REVOKE_TOKEN: Policy = Policy {
    action: "identity:revoke_token",
    any_of: &[Check::Admin, Check::TokenSubject],
};
pub const GET_AUTH_PROJECTS: Policy = Policy {
    action: "identity:get_auth_projects",
    any_of: &[Check::Authenticated],
};
pub const GET_AUTH_DOMAINS: Policy = Policy {
    action: "identity:get_auth_domains",
    any_of: &[Check::Authenticated],
};
pub const GET_AUTH_SYSTEM: Policy = Policy {
    action: "identity:get_auth_system",
    any_of: &[Check::Authenticated],
};
pub const GET_AUTH_CATALOG: Policy = Policy {
    action: "identity:get_auth_catalog",
    any_of: &[Check::Authenticated],
};

/// Every action, for documentation and the authorisation matrix tests.
pub const ALL: &[Policy] = &[
    VALIDATE_TOKEN,
    CHECK_TOKEN,
    REVOKE_TOKEN,
    GET_AUTH_PROJECTS,
    GET_AUTH_DOMAINS,
    GET_AUTH_SYSTEM,
    GET_AUTH_CATALOG,
];

/// What the request acts on, as far as the rules care.
#[derive(Debug, Default, Clone, Copy)]
pub struct Target<'a> {
    /// The user owning the subject token or resource.
    pub user_id: Option<&'a str>,
}

fn passes(check: Check, caller: &TokenContext, target: &Target<'_>) -> bool {
    match check {
        Check::Authenticated => true,
        Check::Admin => caller.has_role("admin"),
        Check::SystemReader => caller.is_system_scoped() && caller.has_role("reader"),
        Check::Service => caller.has_role("service"),
        Check::TokenSubject | Check::Owner => target.user_id == Some(caller.user_id()),
    }
}

/// Allows or refuses with Keystone's 403 naming the action.
pub fn enforce(policy: Policy, caller: &TokenContext, target: Target<'_>) -> Result<(), Error> {
    if policy.any_of.iter().any(|c| passes(*c, caller, &target)) {
        Ok(())
    } else {
        Err(Error::forbidden_action(policy.action))
    }
}
