//! Who may do what: Keystone's default policy rules
//! (`keystone/common/policies/*.py` with `enforce_new_defaults`), as a
//! table of actions, each a list of alternatives.

use crate::error::Error;

/// A token whose methods say it was minted from a delegated credential
/// (an EC2 signature, an application credential, an OS-OAUTH1 access
/// token): it cannot mint others.
pub fn minted_by_delegation(methods: &[String]) -> bool {
    methods.is_empty()
        || methods
            .iter()
            .any(|m| m == "application_credential" || m == "ec2credential" || m == "oauth1")
}

/// Who is calling, as the rules see it. `auth` builds it from a validated
/// token; use cases take it instead of the token, so every subsystem can
/// check its rules without depending on `auth`.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user_id: String,
    /// Effective roles of the token: (id, name).
    pub roles: Vec<CallerRole>,
    pub scope: CallerScope,
    /// The token's auth methods (empty for EC2/S3 tokens minted by
    /// `/v3/ec2tokens`).
    pub methods: Vec<String>,
    /// Set when the token came from an application credential: whether it
    /// was restricted.
    pub restricted_application_credential: Option<bool>,
    /// The trust a trust-scoped token came from (redelegation starts from
    /// it).
    pub trust_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerRole {
    pub id: String,
    pub name: String,
}

/// The scope of the caller's token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CallerScope {
    #[default]
    Unscoped,
    Project {
        id: String,
        domain_id: String,
    },
    Domain(String),
    System,
}

impl Caller {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.name == name)
    }

    pub fn is_system_scoped(&self) -> bool {
        self.scope == CallerScope::System
    }

    /// The project of a project-scoped token.
    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            CallerScope::Project { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The domain of a domain-scoped token.
    pub fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            CallerScope::Domain(id) => Some(id),
            _ => None,
        }
    }

    /// The domain the token lives in: its domain scope, or its project's
    /// domain.
    pub fn token_domain_id(&self) -> Option<&str> {
        match &self.scope {
            CallerScope::Domain(id) => Some(id),
            CallerScope::Project { domain_id, .. } => Some(domain_id),
            _ => None,
        }
    }

    /// The scope `scope_types` see: unscoped tokens count as project ones.
    pub fn scope_type(&self) -> ScopeType {
        match self.scope {
            CallerScope::System => ScopeType::System,
            CallerScope::Domain(_) => ScopeType::Domain,
            CallerScope::Project { .. } | CallerScope::Unscoped => ScopeType::Project,
        }
    }

    /// Tokens minted from a delegated credential: they cannot mint others.
    pub fn is_delegated(&self) -> bool {
        minted_by_delegation(&self.methods)
    }

    /// A delegated method or a trust: what Keystone's
    /// `trust_id or is_delegated_method(token)` guards refuse.
    pub fn acts_by_delegation(&self) -> bool {
        self.is_delegated() || self.trust_id.is_some()
    }

    /// EC2 tokens and restricted application-credential tokens may not
    /// manage application credentials (Keystone's
    /// `_check_unrestricted_application_credential`).
    pub fn may_manage_application_credentials(&self) -> bool {
        self.restricted_application_credential != Some(true)
            && !self.methods.iter().any(|m| m == "ec2credential")
    }

    /// The "wide" callers of Keystone's list rules: admins and system
    /// readers see every domain's items.
    pub fn sees_every_domain(&self) -> bool {
        self.has_role("admin") || (self.is_system_scoped() && self.has_role("reader"))
    }
}

/// One alternative in a rule (the rule passes when any alternative does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Any valid token.
    Authenticated,
    /// `rule:admin_required`: the admin role, in any scope.
    Admin,
    /// `role:reader and system_scope:all`.
    SystemReader,
    /// `role:admin and system_scope:all`.
    SystemAdmin,
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
    /// `domain_id:%(target.…domain_id)s`: a token scoped to the target's
    /// domain, whatever its roles.
    ScopedToDomain,
    /// `user_id:%(target.trust.trustee_user_id)s`: the second user of the
    /// target (a trust's trustee).
    Delegate,
    /// `role:leak_reporter`: a secret scanner's account (Ironstone's).
    LeakReporter,
}

/// A use case's input as the handler parsed it. A parse error waits
/// until the policy check has passed, because Keystone runs
/// `enforce_call` before schema validation: a caller who may not act
/// learns nothing about what a valid request looks like.
pub type Input<T> = Result<T, Error>;

/// A named action and its rule.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub action: &'static str,
    pub any_of: &'static [Check],
    /// Keystone's `scope_types`: a token of another scope is refused
    /// whatever its roles (oslo.policy's `enforce_scope`, on in Keystone
    /// 30). Unscoped tokens count as project-scoped, as oslo.policy has it.
    pub scope_types: &'static [ScopeType],
}

/// The scope of a token, as `scope_types` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeType {
    System,
    Domain,
    Project,
}

/// Every scope (rules whose `scope_types` list all three, or none).
pub const ANY_SCOPE: &[ScopeType] = &[ScopeType::System, ScopeType::Domain, ScopeType::Project];
/// `scope_types=['system', 'project']`.
pub const SYSTEM_OR_PROJECT: &[ScopeType] = &[ScopeType::System, ScopeType::Project];
/// `scope_types=['project']`.
pub const PROJECT_ONLY: &[ScopeType] = &[ScopeType::Project];

/// Keystone 30's `identity:ec2tokens_validate`: a service verifying a
/// signed request (unless `signature.allow_anonymous`).
pub const EC2TOKENS_VALIDATE: Policy = Policy {
    action: "identity:ec2tokens_validate",
    any_of: &[Check::Admin, Check::Service],
    scope_types: ANY_SCOPE,
};
pub const S3TOKENS_VALIDATE: Policy = Policy {
    action: "identity:s3tokens_validate",
    any_of: &[Check::Admin, Check::Service],
    scope_types: ANY_SCOPE,
};
/// Ironstone's own rule: who may report the end client's address
/// (`client_ip`), which `allowed_cidrs` are checked against.
pub const REPORT_CLIENT_IP: Policy = Policy {
    action: "ironstone:report_client_ip",
    any_of: &[Check::Admin, Check::Service],
    scope_types: ANY_SCOPE,
};

pub const LIST_REVOKE_EVENTS: Policy = Policy {
    action: "identity:list_revoke_events",
    any_of: &[Check::Admin, Check::Service],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const VALIDATE_TOKEN: Policy = Policy {
    action: "identity:validate_token",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::Service,
        Check::TokenSubject,
    ],
    scope_types: ANY_SCOPE,
};
pub const CHECK_TOKEN: Policy = Policy {
    action: "identity:check_token",
    any_of: &[Check::Admin, Check::SystemReader, Check::TokenSubject],
    scope_types: ANY_SCOPE,
};
pub const REVOKE_TOKEN: Policy = Policy {
    action: "identity:revoke_token",
    any_of: &[Check::Admin, Check::TokenSubject],
    scope_types: ANY_SCOPE,
};
pub const GET_AUTH_PROJECTS: Policy = Policy {
    action: "identity:get_auth_projects",
    any_of: &[Check::Authenticated],
    scope_types: ANY_SCOPE,
};
pub const GET_AUTH_DOMAINS: Policy = Policy {
    action: "identity:get_auth_domains",
    any_of: &[Check::Authenticated],
    scope_types: ANY_SCOPE,
};
pub const GET_AUTH_SYSTEM: Policy = Policy {
    action: "identity:get_auth_system",
    any_of: &[Check::Authenticated],
    scope_types: ANY_SCOPE,
};
pub const GET_AUTH_CATALOG: Policy = Policy {
    action: "identity:get_auth_catalog",
    any_of: &[Check::Authenticated],
    scope_types: ANY_SCOPE,
};

pub const CREATE_CREDENTIAL: Policy = Policy {
    action: "identity:create_credential",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const GET_CREDENTIAL: Policy = Policy {
    action: "identity:get_credential",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const LIST_CREDENTIALS: Policy = Policy {
    action: "identity:list_credentials",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const UPDATE_CREDENTIAL: Policy = Policy {
    action: "identity:update_credential",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const DELETE_CREDENTIAL: Policy = Policy {
    action: "identity:delete_credential",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const EC2_CREATE_CREDENTIAL: Policy = Policy {
    action: "identity:ec2_create_credential",
    any_of: &[Check::Admin, Check::MemberOwner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const EC2_LIST_CREDENTIALS: Policy = Policy {
    action: "identity:ec2_list_credentials",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const EC2_GET_CREDENTIAL: Policy = Policy {
    action: "identity:ec2_get_credential",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const EC2_DELETE_CREDENTIAL: Policy = Policy {
    action: "identity:ec2_delete_credential",
    any_of: &[Check::Admin, Check::MemberOwner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const GET_USER: Policy = Policy {
    action: "identity:get_user",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainReader,
        Check::Owner,
    ],
    scope_types: ANY_SCOPE,
};
pub const GET_PROJECT: Policy = Policy {
    action: "identity:get_project",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainReader,
        Check::ScopedToProject,
    ],
    scope_types: ANY_SCOPE,
};
pub const GET_DOMAIN: Policy = Policy {
    action: "identity:get_domain",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::TokenInTargetDomain,
    ],
    scope_types: ANY_SCOPE,
};
pub const LIST_DOMAINS: Policy = Policy {
    action: "identity:list_domains",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
    scope_types: ANY_SCOPE,
};
pub const CREATE_DOMAIN: Policy = Policy {
    action: "identity:create_domain",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const UPDATE_DOMAIN: Policy = Policy {
    action: "identity:update_domain",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const DELETE_DOMAIN: Policy = Policy {
    action: "identity:delete_domain",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const LIST_PROJECTS: Policy = Policy {
    action: "identity:list_projects",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
    scope_types: ANY_SCOPE,
};
pub const CREATE_PROJECT: Policy = Policy {
    action: "identity:create_project",
    any_of: &[Check::Admin, Check::DomainManager],
    scope_types: ANY_SCOPE,
};
pub const UPDATE_PROJECT: Policy = Policy {
    action: "identity:update_project",
    any_of: &[Check::Admin, Check::DomainManager],
    scope_types: ANY_SCOPE,
};
/// The tag routes: read like the project, written like it.
pub const LIST_PROJECT_TAGS: Policy = Policy {
    action: "identity:list_project_tags",
    ..GET_PROJECT
};
pub const GET_PROJECT_TAG: Policy = Policy {
    action: "identity:get_project_tag",
    ..GET_PROJECT
};
pub const UPDATE_PROJECT_TAGS: Policy = Policy {
    action: "identity:update_project_tags",
    ..UPDATE_PROJECT
};
pub const CREATE_PROJECT_TAG: Policy = Policy {
    action: "identity:create_project_tag",
    ..UPDATE_PROJECT
};
pub const DELETE_PROJECT_TAGS: Policy = Policy {
    action: "identity:delete_project_tags",
    ..UPDATE_PROJECT
};
pub const DELETE_PROJECT_TAG: Policy = Policy {
    action: "identity:delete_project_tag",
    ..UPDATE_PROJECT
};
pub const DELETE_PROJECT: Policy = Policy {
    action: "identity:delete_project",
    any_of: &[Check::Admin, Check::DomainManager],
    scope_types: ANY_SCOPE,
};
pub const LIST_USERS: Policy = Policy {
    action: "identity:list_users",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
    scope_types: ANY_SCOPE,
};
pub const CREATE_USER: Policy = Policy {
    action: "identity:create_user",
    any_of: &[Check::Admin, Check::DomainManager],
    scope_types: ANY_SCOPE,
};
pub const UPDATE_USER: Policy = Policy {
    action: "identity:update_user",
    any_of: &[Check::Admin, Check::DomainManager],
    scope_types: ANY_SCOPE,
};
pub const DELETE_USER: Policy = Policy {
    action: "identity:delete_user",
    any_of: &[Check::Admin, Check::DomainManager],
    scope_types: ANY_SCOPE,
};
/// Unified limits: anyone reads registered limits and the model; admins
/// write; a limit is read by admins, system readers, and tokens scoped to
/// its project or its (project's) domain.
pub const CREATE_REGISTERED_LIMITS: Policy = Policy {
    action: "identity:create_registered_limits",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const UPDATE_REGISTERED_LIMIT: Policy = Policy {
    action: "identity:update_registered_limit",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const DELETE_REGISTERED_LIMIT: Policy = Policy {
    action: "identity:delete_registered_limit",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const GET_LIMIT: Policy = Policy {
    action: "identity:get_limit",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::ScopedToDomain,
        Check::ScopedToProject,
    ],
    scope_types: ANY_SCOPE,
};
pub const CREATE_LIMITS: Policy = Policy {
    action: "identity:create_limits",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const UPDATE_LIMIT: Policy = Policy {
    action: "identity:update_limit",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const DELETE_LIMIT: Policy = Policy {
    action: "identity:delete_limit",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};

/// Trusts: the trustor creates and deletes; trustor, trustee, admins and
/// system readers read; lists need admin or system reader unless filtered
/// to the caller's own trusts.
pub const CREATE_TRUST: Policy = Policy {
    action: "identity:create_trust",
    any_of: &[Check::Owner],
    scope_types: PROJECT_ONLY,
};
pub const LIST_TRUSTS: Policy = Policy {
    action: "identity:list_trusts",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const LIST_TRUSTS_FOR_TRUSTOR: Policy = Policy {
    action: "identity:list_trusts_for_trustor",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const LIST_TRUSTS_FOR_TRUSTEE: Policy = Policy {
    action: "identity:list_trusts_for_trustee",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const GET_TRUST: Policy = Policy {
    action: "identity:get_trust",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::Owner,
        Check::Delegate,
    ],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const LIST_ROLES_FOR_TRUST: Policy = Policy {
    action: "identity:list_roles_for_trust",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::Owner,
        Check::Delegate,
    ],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const GET_ROLE_FOR_TRUST: Policy = Policy {
    action: "identity:get_role_for_trust",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::Owner,
        Check::Delegate,
    ],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const DELETE_TRUST: Policy = Policy {
    action: "identity:delete_trust",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};

/// `DELETE /v3/users/{user_id}/tokens` (Keystone 30): "log out
/// everywhere", for the user itself or an admin.
pub const REVOKE_USER_TOKENS: Policy = Policy {
    action: "identity:revoke_tokens_for_user",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const LIST_USER_PROJECTS: Policy = Policy {
    action: "identity:list_user_projects",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainReader,
        Check::Owner,
    ],
    scope_types: ANY_SCOPE,
};
pub const GET_ROLE: Policy = Policy {
    action: "identity:get_role",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: ANY_SCOPE,
};
pub const LIST_ROLES: Policy = Policy {
    action: "identity:list_roles",
    any_of: &[
        Check::Admin,
        Check::SystemReader,
        Check::DomainScopedManager,
    ],
    scope_types: ANY_SCOPE,
};
pub const MANAGE_ROLES: Policy = Policy {
    action: "identity:create_role",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const READ_IMPLIED_ROLES: Policy = Policy {
    action: "identity:list_implied_roles",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const MANAGE_IMPLIED_ROLES: Policy = Policy {
    action: "identity:create_implied_role",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const READ_GROUPS: Policy = Policy {
    action: "identity:get_group",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
    scope_types: ANY_SCOPE,
};
pub const LIST_GROUPS: Policy = Policy {
    action: "identity:list_groups",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
    scope_types: ANY_SCOPE,
};
pub const MANAGE_GROUPS: Policy = Policy {
    action: "identity:create_group",
    any_of: &[Check::Admin, Check::DomainManager],
    scope_types: ANY_SCOPE,
};
pub const READ_GRANTS: Policy = Policy {
    action: "identity:check_grant",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
    scope_types: ANY_SCOPE,
};
pub const READ_SYSTEM_GRANTS: Policy = Policy {
    action: "identity:list_system_grants_for_user",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const MANAGE_SYSTEM_GRANTS: Policy = Policy {
    action: "identity:create_system_grant_for_user",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const MANAGE_GRANTS: Policy = Policy {
    action: "identity:create_grant",
    any_of: &[Check::Admin],
    scope_types: ANY_SCOPE,
};
pub const LIST_ROLE_ASSIGNMENTS: Policy = Policy {
    action: "identity:list_role_assignments",
    any_of: &[Check::Admin, Check::SystemReader, Check::DomainReader],
    scope_types: ANY_SCOPE,
};
pub const READ_CATALOG: Policy = Policy {
    action: "identity:list_services",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:get_policy`/`list_policies`: admins and system readers.
pub const READ_POLICIES: Policy = Policy {
    action: "identity:list_policies",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:create_policy`/`update_policy`/`delete_policy`: admins.
pub const MANAGE_POLICIES: Policy = Policy {
    action: "identity:create_policy",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:list_consumers`/`get_consumer` (OS-OAUTH1): admins and
/// system readers.
pub const READ_CONSUMERS: Policy = Policy {
    action: "identity:list_consumers",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:create_consumer`/`update_…`/`delete_…`: admins.
pub const MANAGE_CONSUMERS: Policy = Policy {
    action: "identity:create_consumer",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:authorize_request_token`: admins, on a project-scoped token.
pub const AUTHORIZE_REQUEST_TOKEN: Policy = Policy {
    action: "identity:authorize_request_token",
    any_of: &[Check::Admin],
    scope_types: PROJECT_ONLY,
};
/// `identity:list_access_tokens`, `get_access_token` and their roles:
/// admins, on a project-scoped token (Keystone 30's defaults).
pub const READ_ACCESS_TOKENS: Policy = Policy {
    action: "identity:list_access_tokens",
    any_of: &[Check::Admin],
    scope_types: PROJECT_ONLY,
};
/// OS-ENDPOINT-POLICY's checks and lookups
/// (`identity:check_policy_association_for_*`, `get_policy_for_endpoint`,
/// `list_endpoints_for_policy`): admins and system readers.
pub const READ_POLICY_ASSOCIATIONS: Policy = Policy {
    action: "identity:check_policy_association_for_endpoint",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
/// OS-ENDPOINT-POLICY's creates and deletes: admins.
pub const MANAGE_POLICY_ASSOCIATIONS: Policy = Policy {
    action: "identity:create_policy_association_for_endpoint",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
/// OS-EP-FILTER's reads (`identity:list_endpoint_groups`,
/// `check_endpoint_in_project`, `list_endpoints_for_project`, …): admins
/// and system readers.
pub const READ_ENDPOINT_FILTERS: Policy = Policy {
    action: "identity:list_endpoint_groups",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
/// OS-EP-FILTER's writes (`identity:create_endpoint_group`,
/// `add_endpoint_to_project`, …): admins.
pub const MANAGE_ENDPOINT_FILTERS: Policy = Policy {
    action: "identity:create_endpoint_group",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:get_domain_config`: admins and system readers.
pub const GET_DOMAIN_CONFIG: Policy = Policy {
    action: "identity:get_domain_config",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:get_domain_config_default`: admins and system readers.
pub const GET_DOMAIN_CONFIG_DEFAULT: Policy = Policy {
    action: "identity:get_domain_config_default",
    any_of: &[Check::Admin, Check::SystemReader],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:create_domain_config`/`update_…`/`delete_…`: admins.
pub const MANAGE_DOMAIN_CONFIG: Policy = Policy {
    action: "identity:create_domain_config",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
/// `identity:get_security_compliance_domain_config`: any token.
pub const GET_SECURITY_COMPLIANCE: Policy = Policy {
    action: "identity:get_security_compliance_domain_config",
    any_of: &[Check::Authenticated],
    scope_types: ANY_SCOPE,
};
/// `identity:get_region`/`list_regions`: any token.
pub const READ_REGIONS: Policy = Policy {
    action: "identity:list_regions",
    any_of: &[Check::Authenticated],
    scope_types: ANY_SCOPE,
};
pub const MANAGE_CATALOG: Policy = Policy {
    action: "identity:create_service",
    any_of: &[Check::Admin],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const CREATE_APP_CRED: Policy = Policy {
    action: "identity:create_application_credential",
    any_of: &[Check::Owner],
    scope_types: PROJECT_ONLY,
};
pub const READ_APP_CREDS: Policy = Policy {
    action: "identity:list_application_credentials",
    any_of: &[Check::Admin, Check::SystemReader, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
/// Access rules: the owner and system readers read; the owner and system
/// admins delete (Keystone's `access_rule` policies: no project admins).
pub const READ_ACCESS_RULES: Policy = Policy {
    action: "identity:list_access_rules",
    any_of: &[Check::SystemReader, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const DELETE_ACCESS_RULE: Policy = Policy {
    action: "identity:delete_access_rule",
    any_of: &[Check::SystemAdmin, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
pub const DELETE_APP_CRED: Policy = Policy {
    action: "identity:delete_application_credential",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: SYSTEM_OR_PROJECT,
};
/// SODA's AK/SK API: a user manages their own pairs, admin anyone's. The
/// handlers add the project checks (scope and role on the project).
/// Reading the audit trail of keys (`GET /v1/audit-events`): anyone
/// authenticated, narrowed by `audit::Audit::list` to what they may see.
pub const READ_AUDIT_EVENTS: Policy = Policy {
    action: "audit:list_events",
    any_of: &[Check::Authenticated],
    scope_types: ANY_SCOPE,
};
/// Reporting exposed secrets or access keys (`POST /v1/leaked-keys`).
pub const REPORT_LEAKED_KEYS: Policy = Policy {
    action: "credential:report_leaked",
    any_of: &[Check::Admin, Check::LeakReporter],
    scope_types: ANY_SCOPE,
};
pub const AKSK_CREATE: Policy = Policy {
    action: "aksk:create",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const AKSK_GET: Policy = Policy {
    action: "aksk:get",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const AKSK_UPDATE: Policy = Policy {
    action: "aksk:update",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};
pub const AKSK_DELETE: Policy = Policy {
    action: "aksk:delete",
    any_of: &[Check::Admin, Check::Owner],
    scope_types: ANY_SCOPE,
};

/// Every action, for documentation and the authorisation matrix tests.
pub const ALL: &[Policy] = &[
    READ_AUDIT_EVENTS,
    REPORT_LEAKED_KEYS,
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
    REVOKE_USER_TOKENS,
    READ_ACCESS_RULES,
    DELETE_ACCESS_RULE,
    CREATE_TRUST,
    LIST_TRUSTS,
    LIST_TRUSTS_FOR_TRUSTOR,
    LIST_TRUSTS_FOR_TRUSTEE,
    GET_TRUST,
    LIST_ROLES_FOR_TRUST,
    GET_ROLE_FOR_TRUST,
    DELETE_TRUST,
    CREATE_REGISTERED_LIMITS,
    UPDATE_REGISTERED_LIMIT,
    DELETE_REGISTERED_LIMIT,
    GET_LIMIT,
    CREATE_LIMITS,
    UPDATE_LIMIT,
    DELETE_LIMIT,
    LIST_USER_PROJECTS,
    GET_ROLE,
    LIST_ROLES,
    MANAGE_ROLES,
    READ_IMPLIED_ROLES,
    MANAGE_IMPLIED_ROLES,
    READ_GROUPS,
    LIST_GROUPS,
    MANAGE_GROUPS,
    READ_GRANTS,
    MANAGE_GRANTS,
    READ_SYSTEM_GRANTS,
    MANAGE_SYSTEM_GRANTS,
    LIST_ROLE_ASSIGNMENTS,
    READ_REGIONS,
    READ_CATALOG,
    MANAGE_CATALOG,
    READ_POLICIES,
    MANAGE_POLICIES,
    READ_CONSUMERS,
    MANAGE_CONSUMERS,
    AUTHORIZE_REQUEST_TOKEN,
    READ_ACCESS_TOKENS,
    READ_ENDPOINT_FILTERS,
    MANAGE_ENDPOINT_FILTERS,
    GET_DOMAIN_CONFIG,
    GET_DOMAIN_CONFIG_DEFAULT,
    MANAGE_DOMAIN_CONFIG,
    GET_SECURITY_COMPLIANCE,
    READ_POLICY_ASSOCIATIONS,
    MANAGE_POLICY_ASSOCIATIONS,
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
    /// A second user the target belongs to (a trust's trustee).
    pub delegate_id: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// A target that belongs to a user (a token, a credential, a user).
    pub fn owned_by(user_id: &'a str) -> Self {
        Target {
            user_id: Some(user_id),
            ..Default::default()
        }
    }

    /// A target that lives in a domain.
    pub fn in_domain(domain_id: &'a str) -> Self {
        Target {
            domain_id: Some(domain_id),
            ..Default::default()
        }
    }
}

fn passes(check: Check, caller: &Caller, target: &Target<'_>) -> bool {
    match check {
        Check::Authenticated => true,
        Check::Admin => caller.has_role("admin"),
        Check::SystemReader => caller.is_system_scoped() && caller.has_role("reader"),
        Check::SystemAdmin => caller.is_system_scoped() && caller.has_role("admin"),
        Check::Service => caller.has_role("service"),
        Check::LeakReporter => caller.has_role("leak_reporter"),
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
        Check::Delegate => target.delegate_id == Some(caller.user_id()),
        Check::ScopedToDomain => {
            caller.domain_id().is_some() && caller.domain_id() == target.domain_id
        }
        Check::TokenInTargetDomain => {
            let token_domain = caller.token_domain_id();
            token_domain.is_some() && token_domain == target.domain_id
        }
    }
}

/// True when the rule passes (for filtering lists item by item).
pub fn allows(policy: Policy, caller: &Caller, target: Target<'_>) -> bool {
    policy.scope_types.contains(&caller.scope_type())
        && policy.any_of.iter().any(|c| passes(*c, caller, &target))
}

/// Allows or refuses with Keystone's 403 naming the action.
pub fn enforce(policy: Policy, caller: &Caller, target: Target<'_>) -> Result<(), Error> {
    if allows(policy, caller, target) {
        Ok(())
    } else {
        Err(Error::forbidden_action(policy.action))
    }
}

/// Which domain a domain-limited list may cover (Keystone's list rules
/// with `domain_id:%(target.domain_id)s`): admins and system readers any,
/// or the one asked for; domain readers only their own; anyone else 403.
pub fn list_domain(
    policy: Policy,
    caller: &Caller,
    asked: Option<String>,
) -> Result<Option<String>, Error> {
    if caller.sees_every_domain() {
        return Ok(asked);
    }
    let Some(own) = caller.domain_id() else {
        return Err(Error::forbidden_action(policy.action));
    };
    if asked.as_deref().is_some_and(|a| a != own) {
        return Err(Error::forbidden_action(policy.action));
    }
    enforce(policy, caller, Target::in_domain(own))?;
    Ok(Some(own.to_string()))
}

/// Grants: admins manage every grant; system readers read all, and
/// readers of a domain read grants whose actor (and target, if it has a
/// domain) live in it.
pub fn enforce_grant(
    caller: &Caller,
    manage: bool,
    target_domain: Option<&str>,
    actor_domain: &str,
    role: Option<(&str, Option<&str>)>,
) -> Result<(), Error> {
    // System grants: admins manage, admins and system readers read; no
    // domain-scoped token (scope_types system and project).
    let Some(target_domain) = target_domain else {
        let rule = if manage {
            MANAGE_SYSTEM_GRANTS
        } else {
            READ_SYSTEM_GRANTS
        };
        return enforce(rule, caller, Target::default());
    };
    let in_own_domain =
        caller.domain_id() == Some(actor_domain) && caller.domain_id() == Some(target_domain);
    if manage {
        // Keystone's ADMIN_OR_DOMAIN_ADMIN_OR_DOMAIN_MANAGER: a domain
        // manager hands out the managed roles inside its domain.
        let managed = caller.has_role("manager")
            && in_own_domain
            && role.is_some_and(|(name, _)| DOMAIN_MANAGED_ROLES.contains(&name));
        if managed {
            return Ok(());
        }
        return enforce(MANAGE_GRANTS, caller, Target::default());
    }
    if caller.sees_every_domain() {
        return Ok(());
    }
    // A domain reader reads grants inside its domain, of global roles or
    // of its domain's own.
    let role_in_reach =
        role.is_none_or(|(_, domain)| domain.is_none() || domain == caller.domain_id());
    if in_own_domain && role_in_reach {
        enforce(READ_GRANTS, caller, Target::in_domain(actor_domain))
    } else {
        Err(Error::forbidden_action(READ_GRANTS.action))
    }
}

/// `GET /v3/role_assignments`: admins, system readers, and readers of a
/// domain-scoped token; whatever the filters, a domain-scoped token sees
/// only the assignments on its domain and its projects (Keystone filters
/// the answer). The domain to filter to, if any.
pub fn enforce_list_role_assignments(caller: &Caller) -> Result<Option<String>, Error> {
    let own = caller.domain_id();
    enforce(
        LIST_ROLE_ASSIGNMENTS,
        caller,
        Target {
            domain_id: own,
            ..Default::default()
        },
    )?;
    Ok(own.map(str::to_string))
}

/// Roles a domain manager may see and hand out (Keystone's
/// `domain_managed_target_role`).
pub const DOMAIN_MANAGED_ROLES: [&str; 3] = ["manager", "member", "reader"];

/// `GET /v3/roles/{id}`: admins and system readers; managers (of any
/// scope, as Keystone's rule has it) for the roles a domain manager may
/// hand out.
pub fn enforce_get_role(caller: &Caller, role_name: &str) -> Result<(), Error> {
    let managed = caller.has_role("manager") && DOMAIN_MANAGED_ROLES.contains(&role_name);
    if managed {
        Ok(())
    } else {
        enforce(GET_ROLE, caller, Target::default())
    }
}

/// Group membership: the group's rule, and, for callers that do not see
/// every domain, the user must live in the group's domain.
pub fn enforce_membership(
    caller: &Caller,
    manage: bool,
    group_domain: &str,
    user_domain: &str,
) -> Result<(), Error> {
    let policy = if manage { MANAGE_GROUPS } else { READ_GROUPS };
    enforce(policy, caller, Target::in_domain(group_domain))?;
    let system_reader = !manage && caller.is_system_scoped() && caller.has_role("reader");
    let unrestricted = caller.has_role("admin") || system_reader;
    if !unrestricted && user_domain != group_domain {
        return Err(Error::forbidden_action(policy.action));
    }
    Ok(())
}

/// Credentials: tokens minted from a delegated credential may not touch
/// credentials at all (Keystone's `_check_unrestricted_application_credential`
/// and EC2 token rules).
pub fn refuse_delegated_credentials(caller: &Caller) -> Result<(), Error> {
    // A trust is a scope, not a method: its tokens are refused too
    // (Keystone's `_require_primary_auth`, OSSA-2013-032).
    if caller.acts_by_delegation() {
        return Err(Error::Forbidden(
            "Delegated tokens cannot access credentials directly.".into(),
        ));
    }
    Ok(())
}

/// Which user's credentials a list shows: wide callers any (or the one
/// asked for); others only their own, and asking for someone else's
/// yields an empty list, as Keystone filters rather than refuses.
pub fn credential_list_user(caller: &Caller, asked: Option<String>) -> Option<String> {
    if caller.sees_every_domain() {
        return asked;
    }
    if asked.as_deref().is_some_and(|u| u != caller.user_id()) {
        Some(String::new())
    } else {
        Some(caller.user_id().to_string())
    }
}

/// Application credentials: who may manage them at all.
pub fn refuse_restricted_delegation(caller: &Caller) -> Result<(), Error> {
    if caller.may_manage_application_credentials() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "You are not authorized to perform the requested action: Using a delegated token to manage application credentials is not allowed.".into(),
        ))
    }
}

/// Keystone's `_block_delegated_token_app_creds`: a trust-scoped token,
/// or one minted by a delegated method (EC2, OS-OAUTH1), may not create,
/// read or delete application credentials or access rules (a credential
/// would outlive the delegation). Application-credential tokens are
/// judged apart (restricted or not).
pub fn refuse_delegated_app_creds(caller: &Caller) -> Result<(), Error> {
    if caller.methods.iter().any(|m| m == "application_credential") {
        return Ok(());
    }
    if caller.acts_by_delegation() {
        return Err(Error::Forbidden(
            "Cannot manage application credentials with a token issued via delegation.".into(),
        ));
    }
    Ok(())
}

/// SODA's AK/SK: the action's rule on the pair's owner, and a token
/// scoped to the path's project unless the caller is an admin.
pub fn enforce_aksk(
    policy: Policy,
    caller: &Caller,
    project_id: &str,
    user_id: &str,
) -> Result<(), Error> {
    enforce(policy, caller, Target::owned_by(user_id))?;
    if !caller.has_role("admin") && caller.project_id() != Some(project_id) {
        return Err(Error::Forbidden(format!(
            "The token is not scoped to project {project_id}: use a token scoped to the project in the path."
        )));
    }
    Ok(())
}

/// SODA's AK/SK create: the body's project must be the path's, unless an
/// admin creates a pair for another project.
pub fn check_aksk_project(
    caller: &Caller,
    body_project: &str,
    path_project: &str,
) -> Result<(), Error> {
    if body_project != path_project && !caller.has_role("admin") {
        return Err(Error::BadRequest(format!(
            "The project_id in the body ({body_project}) does not match the project in the path ({path_project})."
        )));
    }
    Ok(())
}

/// `/v3/ec2tokens` and `/v3/s3tokens`: the route's rule for the calling
/// service (skipped with `allow_anonymous`), and who may report the end
/// client's address.
pub fn enforce_signed_route(
    policy: Policy,
    caller: Option<&Caller>,
    anonymous: bool,
    reports_client: bool,
) -> Result<(), Error> {
    let allowed = |p: Policy| caller.is_some_and(|c| allows(p, c, Target::default()));
    if !anonymous && !allowed(policy) {
        return Err(Error::forbidden_action(policy.action));
    }
    match (reports_client && !allowed(REPORT_CLIENT_IP), caller) {
        (false, _) => Ok(()),
        (true, None) => Err(Error::unauthorized_with(
            "Only a service authenticated with a token holding the admin or service role may report client_ip.",
        )),
        (true, Some(_)) => Err(Error::Forbidden(
            "Only a token holding the admin or service role may report client_ip.".into(),
        )),
    }
}
