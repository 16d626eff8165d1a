//! Row types: one struct per table, used for both reading and inserting.

use diesel::prelude::*;

use super::schema::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = domains, treat_none_as_null = true)]
pub struct DomainRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub extra: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = projects, treat_none_as_null = true)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub parent_id: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub is_domain: bool,
    pub extra: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: String,
    pub options: String,
    pub created_at: i64,
    pub last_active_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = passwords)]
pub struct PasswordRow {
    pub id: String,
    pub user_id: String,
    pub password_hash: String,
    pub self_service: bool,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = groups, treat_none_as_null = true)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: Option<String>,
    pub extra: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = roles, treat_none_as_null = true)]
pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: Option<String>,
    pub options: String,
    pub extra: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_assignments)]
pub struct AssignmentRow {
    pub kind: String,
    pub actor_id: String,
    pub target_id: String,
    pub role_id: String,
    pub inherited: bool,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = regions, treat_none_as_null = true)]
pub struct RegionRow {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
    pub extra: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = services, treat_none_as_null = true)]
pub struct ServiceRow {
    pub id: String,
    pub service_type: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub extra: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = endpoints, treat_none_as_null = true)]
pub struct EndpointRow {
    pub id: String,
    pub service_id: String,
    pub region_id: Option<String>,
    pub interface: String,
    pub url: String,
    pub enabled: bool,
    pub extra: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = revocation_events)]
pub struct RevocationEventRow {
    pub id: String,
    pub domain_id: Option<String>,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub role_id: Option<String>,
    pub trust_id: Option<String>,
    pub consumer_id: Option<String>,
    pub access_token_id: Option<String>,
    pub issued_before: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: i64,
    pub audit_id: Option<String>,
    pub audit_chain_id: Option<String>,
}

/// A credential as read (the key hash and extra are not needed to serve).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credentials)]
pub struct CredentialRow {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub credential_type: String,
    pub encrypted_blob: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub expires_at: Option<i64>,
    pub allowed_cidrs: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub use_count: i64,
    pub action_when_leaked: Option<String>,
    pub leaked_at: Option<i64>,
    pub rate_limit: Option<String>,
    pub extra: String,
}

/// An application credential as stored (the secret only as its hash).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = application_credentials, treat_none_as_null = true)]
pub struct AppCredRow {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: Option<String>,
    pub system: Option<String>,
    pub expires_at: Option<i64>,
    pub unrestricted: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = access_rules)]
pub struct AccessRuleRow {
    pub id: String,
    pub user_id: String,
    pub service: String,
    pub path: String,
    pub method: String,
}
