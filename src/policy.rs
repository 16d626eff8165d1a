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
    /// `role:member and user_id:%(target.…user_id)s`.
    MemberOwner,
    /// `role:reader and token.domain.id:%(target.…domain_id)s`.
    DomainReader,
    /// `project_id:%(target.project.id)s`: a token scoped to the target.
    ScopedToProject,
    /// `role:manager and token.domain.id:%(target.…domain_id)s`.
    DomainManager,
    /// `token.domain.id` or `token.project.domain.id` is the target domain.
    TokenInTargetDomain,
    /// `role:manager and not domain_id:None`: any domain-scoped manager.
    DomainScopedManager,
}

/// A named action and its rule.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub action: &'static str,
    pub any_of: &'static [Check],
}

/// Keystone 30's `identity:ec2tokens_validate`: a service verifying a
/// signed request (unless `signature.allow_anonymous`).
pub const EC2TOKENS_VALIDATE: Policy = Policy {
    action: "identity:ec2tokens_validate",
    any_of: &[Check::Admin, Check::Service],
};
pub const S3TOKENS_VALIDATE: Policy = Policy {
    action: "identity:s3tokens_validate",
    any_of: &[Check::Admin, Check::Service],
};
/// Ironstone's own rule: who may report the end client's address
/// (`client_ip`), which `allowed_cidrs` are checked against.
pub const REPORT_CLIENT_IP: Policy = Policy {
    action: "ironstone:report_client_ip",
    any_of: &[Check::Admin, Check::Service],
};

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

pub const CREATE_CREDENTIAL: Policy = Policy {
    action: "identity:create_credential",
    any_of: &[Check::Admin, Check::Owner],
};
pub const GET_CREDENTIAL: Policy = Policy {
    action: "identity:get_credential",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
};
pub const LIST_CREDENTIALS: Policy = Policy {
    action: "identity:list_credentials",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
};
pub const UPDATE_CREDENTIAL: Policy = Policy {
    action: "identity:update_credential",
    any_of: &[Check::Admin, Check::Owner],
};
pub const DELETE_CREDENTIAL: Policy = Policy {
    action: "identity:delete_credential",
    any_of: &[Check::Admin, Check::Owner],
};
pub const EC2_CREATE_CREDENTIAL: Policy = Policy {
    action: "identity:ec2_create_credential",
    any_of: &[Check::Admin, Check::MemberOwner],
};
pub const EC2_LIST_CREDENTIALS: Policy = Policy {
    action: "identity:ec2_list_credentials",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
};
pub const EC2_GET_CREDENTIAL: Policy = Policy {
    action: "identity:ec2_get_credential",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
};
pub const EC2_DELETE_CREDENTIAL: Policy = Policy {
    action: "identity:ec2_delete_credential",
    any_of: &[Check::Admin, Check::MemberOwner],
};
pub const GET_USER: Policy = Policy {
    action: "identity:get_user",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainReader,
        Check::Owner,
    ],
};
pub const GET_PROJECT: Policy = Policy {
    action: "identity:get_project",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainReader,
        Check::ScopedToProject,
    ],
};
pub const GET_DOMAIN: Policy = Policy {
    action: "identity:get_domain",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::TokenInTargetDomain,
    ],
};
pub const LIST_DOMAINS: Policy = Policy {
    action: "identity:list_domains",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
};
pub const CREATE_DOMAIN: Policy = Policy {
    action: "identity:create_domain",
    any_of: &[Check::Admin],
};
pub const UPDATE_DOMAIN: Policy = Policy {
    action: "identity:update_domain",
    any_of: &[Check::Admin],
};
pub const DELETE_DOMAIN: Policy = Policy {
    action: "identity:delete_domain",
    any_of: &[Check::Admin],
};
pub const LIST_PROJECTS: Policy = Policy {
    action: "identity:list_projects",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
};
pub const CREATE_PROJECT: Policy = Policy {
    action: "identity:create_project",
    any_of: &[Check::Admin, Check::DomainManager],
};
pub const UPDATE_PROJECT: Policy = Policy {
    action: "identity:update_project",
    any_of: &[Check::Admin, Check::DomainManager],
};
pub const DELETE_PROJECT: Policy = Policy {
    action: "identity:delete_project",
    any_of: &[Check::Admin, Check::DomainManager],
};
pub const LIST_USERS: Policy = Policy {
    action: "identity:list_users",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
};
pub const CREATE_USER: Policy = Policy {
    action: "identity:create_user",
    any_of: &[Check::Admin, Check::DomainManager],
};
pub const UPDATE_USER: Policy = Policy {
    action: "identity:update_user",
    any_of: &[Check::Admin, Check::DomainManager],
};
pub const DELETE_USER: Policy = Policy {
    action: "identity:delete_user",
    any_of: &[Check::Admin, Check::DomainManager],
};
pub const LIST_USER_PROJECTS: Policy = Policy {
    action: "identity:list_user_projects",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainReader,
        Check::Owner,
    ],
};
pub const GET_ROLE: Policy = Policy {
    action: "identity:get_role",
    any_of: &[Check::Admin, Check::SystemReader],
};
pub const LIST_ROLES: Policy = Policy {
    action: "identity:list_roles",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainScopedManager,
    ],
};
pub const MANAGE_ROLES: Policy = Policy {
    action: "identity:create_role",
    any_of: &[Check::Admin],
};
pub const READ_IMPLIED_ROLES: Policy = Policy {
    action: "identity:list_implied_roles",
    any_of: &[Check::Admin, Check::SystemReader],
};
pub const MANAGE_IMPLIED_ROLES: Policy = Policy {
    action: "identity:create_implied_role",
    any_of: &[Check::Admin],
};
pub const READ_GROUPS: Policy = Policy {
    action: "identity:get_group",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
};
pub const MANAGE_GROUPS: Policy = Policy {
    action: "identity:create_group",
    any_of: &[Check::Admin, Check::DomainManager],
};
pub const READ_GRANTS: Policy = Policy {
    action: "identity:check_grant",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
};
pub const MANAGE_GRANTS: Policy = Policy {
    action: "identity:create_grant",
    any_of: &[Check::Admin],
};
pub const LIST_ROLE_ASSIGNMENTS: Policy = Policy {
    action: "identity:list_role_assignments",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
};
pub const READ_CATALOG: Policy = Policy {
    action: "identity:list_services",
    any_of: &[Check::Admin, Check::SystemReader],
};
pub const MANAGE_CATALOG: Policy = Policy {
    action: "identity:create_service",
    any_of: &[Check::Admin],
};
pub const CREATE_APP_CRED: Policy = Policy {
    action: "identity:create_application_credential",
    any_of: &[Check::Owner],
};
pub const READ_APP_CREDS: Policy = Policy {
    action: "identity:list_application_credentials",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
};
pub const DELETE_APP_CRED: Policy = Policy {
    action: "identity:delete_application_credential",
    any_of: &[Check::Admin, Check::Owner],
};
/// SODA's AK/SK API: a user manages their own pairs, admin anyone's. The
/// handlers add the project checks (scope and role on the project).
pub const AKSK_CREATE: Policy = Policy {
    action: "aksk:create",
    any_of: &[Check::Admin, Check::Owner],
};
pub const AKSK_GET: Policy = Policy {
    action: "aksk:get",
    any_of: &[Check::Admin, Check::Owner],
};
pub const AKSK_UPDATE: Policy = Policy {
    action: "aksk:update",
    any_of: &[Check::Admin, Check::Owner],
};
pub const AKSK_DELETE: Policy = Policy {
    action: "aksk:delete",
    any_of: &[Check::Admin, Check::Owner],
};

/// Every action, for documentation and the authorisation matrix tests.
pub const ALL: &[Policy] = &[
    CREATE_CREDENTIAL,
    GET_CREDENTIAL,
    LIST_CREDENTIALS,
    UPDATE_CREDENTIAL,
    DELETE_CREDENTIAL,
    EC2_CREATE_CREDENTIAL,
    EC2_LIST_CREDENTIALS,
    EC2_GET_CREDENTIAL,
    EC2_DELETE_CREDENTIAL,
    AKSK_CREATE,
    AKSK_GET,
    AKSK_UPDATE,
    AKSK_DELETE,
    GET_USER,
    GET_PROJECT,
    GET_DOMAIN,
    LIST_DOMAINS,
    CREATE_DOMAIN,
    UPDATE_DOMAIN,
    DELETE_DOMAIN,
    LIST_PROJECTS,
    CREATE_PROJECT,
    UPDATE_PROJECT,
    DELETE_PROJECT,
    LIST_USERS,
    CREATE_USER,
    UPDATE_USER,
    DELETE_USER,
    LIST_USER_PROJECTS,
    GET_ROLE,
    LIST_ROLES,
    MANAGE_ROLES,
    READ_IMPLIED_ROLES,
    MANAGE_IMPLIED_ROLES,
    READ_GROUPS,
    MANAGE_GROUPS,
    READ_GRANTS,
    MANAGE_GRANTS,
    LIST_ROLE_ASSIGNMENTS,
    READ_CATALOG,
    MANAGE_CATALOG,
    CREATE_APP_CRED,
    READ_APP_CREDS,
    DELETE_APP_CRED,
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
    /// The domain the target lives in.
    pub domain_id: Option<&'a str>,
    /// The project the target is (for project reads).
    pub project_id: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// A target that belongs to a user (a token, a credential, a user).
    pub fn owned_by(user_id: &'a str) -> Self {
        Target {
            user_id: Some(user_id),
            ..Default::default()
        }
    }
}

fn passes(check: Check, caller: &TokenContext, target: &Target<'_>) -> bool {
    match check {
        Check::Authenticated => true,
        Check::Admin => caller.has_role("admin"),
        Check::SystemReader => caller.is_system_scoped() && caller.has_role("reader"),
        Check::Service => caller.has_role("service"),
        Check::TokenSubject | Check::Owner => target.user_id == Some(caller.user_id()),
        Check::MemberOwner => caller.has_role("member") && target.user_id == Some(caller.user_id()),
        Check::DomainReader => {
            caller.has_role("reader")
                && caller.domain_id().is_some()
                && caller.domain_id() == target.domain_id
        }
        Check::ScopedToProject => {
            caller.project_id().is_some() && caller.project_id() == target.project_id
        }
        Check::DomainManager => {
            caller.has_role("manager")
                && caller.domain_id().is_some()
                && caller.domain_id() == target.domain_id
        }
        Check::DomainScopedManager => caller.has_role("manager") && caller.domain_id().is_some(),
        Check::TokenInTargetDomain => {
            let token_domain = caller.domain_id().or(match &caller.scope {
                crate::auth::ResolvedScope::Project { domain, .. } => Some(domain.id.as_str()),
                _ => None,
            });
            token_domain.is_some() && token_domain == target.domain_id
        }
    }
}

/// True when the rule passes (for filtering lists item by item).
pub fn allows(policy: Policy, caller: &TokenContext, target: Target<'_>) -> bool {
    policy.any_of.iter().any(|c| passes(*c, caller, &target))
}

/// Allows or refuses with Keystone's 403 naming the action.
pub fn enforce(policy: Policy, caller: &TokenContext, target: Target<'_>) -> Result<(), Error> {
    if allows(policy, caller, target) {
        Ok(())
    } else {
        Err(Error::forbidden_action(policy.action))
    }
}
