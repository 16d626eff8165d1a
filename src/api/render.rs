//! Domain types in Keystone's JSON shapes. Links are built under the
//! request's base URL (`…/v3`).

use bytes::Bytes;
use serde_json::{json, Map, Value};

use std::collections::BTreeMap;

use crate::assignment::listing::{Names, Shown};
use crate::auth::{Catalog, LiveScope, RenderedScope, ResolvedScope, TokenContext, ValidToken};
use crate::error::Error;
use crate::token::format_token_time;
use crate::{
    application_credential, assignment, catalog, credential, hierarchy, identity, limit, resource,
    trust,
};

pub fn region(r: &catalog::Region, base_url: &str) -> Value {
    let fields = json!({
        "id": r.id,
        "description": r.description,
        "parent_region_id": r.parent_region_id,
        "links": {"self": format!("{base_url}/regions/{}", r.id)},
    });
    over_extra(&r.extra_attributes(), fields)
}

pub fn service(s: &catalog::Service, base_url: &str) -> Value {
    let mut v = json!({
        "id": s.id,
        "type": s.service_type,
        "name": s.name,
        "enabled": s.enabled,
        "links": {"self": format!("{base_url}/services/{}", s.id)},
    });
    if let Some(d) = &s.description {
        v["description"] = json!(d);
    }
    over_extra(&s.extra_attributes(), v)
}

/// An OS-EP-FILTER endpoint group.
pub fn endpoint_group(g: &catalog::filter::EndpointGroup, base_url: &str) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "filters": g.filters,
        "links": {"self": format!("{base_url}/OS-EP-FILTER/endpoint_groups/{}", g.id)},
    })
}

/// A policy blob: its extra attributes, then the columns over them (as
/// Keystone's `to_dict`), with `self` at `link`.
pub fn policy(p: &catalog::policies::PolicyBlob, link: &str) -> Value {
    let mut body = p.extra.clone();
    body.insert("id".into(), json!(p.id));
    body.insert("blob".into(), json!(p.blob));
    body.insert("type".into(), json!(p.policy_type));
    body.insert("links".into(), json!({"self": link}));
    Value::Object(body)
}

pub fn endpoint(e: &catalog::Endpoint, base_url: &str) -> Value {
    let fields = json!({
        "id": e.id,
        "interface": e.interface,
        "region_id": e.region_id,
        "region": e.region_id,
        "service_id": e.service_id,
        "url": e.url,
        "enabled": e.enabled,
        "links": {"self": format!("{base_url}/endpoints/{}", e.id)},
    });
    over_extra(&e.extra_attributes(), fields)
}

/// An OS-OAUTH1 consumer (never its secret).
pub fn consumer(c: &crate::oauth1::Consumer, base_url: &str) -> Value {
    let fields = json!({
        "id": c.id,
        "description": c.description,
        "links": {"self": format!("{base_url}/OS-OAUTH1/consumers/{}", c.id)},
    });
    over_extra(&c.extra, fields)
}

/// A user's OS-OAUTH1 access token (Keystone's `_format_token_entity`:
/// no secret, no role ids, a link to its roles).
pub fn access_token(t: &crate::oauth1::AccessToken, base_url: &str) -> Value {
    let own = format!(
        "{base_url}/users/{}/OS-OAUTH1/access_tokens/{}",
        t.authorizing_user_id, t.id
    );
    json!({
        "id": t.id,
        "consumer_id": t.consumer_id,
        "project_id": t.project_id,
        "authorizing_user_id": t.authorizing_user_id,
        "expires_at": t.expires_at.map(crate::oauth1::format_expiry),
        "links": {"self": own, "roles": format!("{own}/roles")},
    })
}

/// A role an access token delegates (Keystone's `_format_role_entity`:
/// the role without its description).
pub fn delegated_role(r: &assignment::Role, base_url: &str) -> Value {
    let mut body = role(r, base_url);
    if let Some(map) = body.as_object_mut() {
        map.remove("description");
    }
    body
}

/// A resource's own fields over its `extra` attributes (Keystone's
/// `to_dict`: the columns win).
fn over_extra(extra: &Map<String, Value>, fields: Value) -> Value {
    let mut body = extra.clone();
    if let Value::Object(f) = fields {
        body.extend(f);
    }
    Value::Object(body)
}

pub fn role(r: &assignment::Role, base_url: &str) -> Value {
    let fields = json!({
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id,
        "description": r.description,
        "options": serde_json::from_str::<Value>(&r.options).unwrap_or_else(|_| json!({})),
        "links": {"self": format!("{base_url}/roles/{}", r.id)},
    });
    over_extra(&r.extra_attributes(), fields)
}

pub fn user(u: &identity::User, base_url: &str) -> Value {
    let mut body = u.extra.clone();
    let fields = json!({
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "enabled": u.enabled,
        "password_expires_at": u.password_expires_at_json(),
        "options": {},
        "links": {"self": format!("{base_url}/users/{}", u.id)},
    });
    if let Value::Object(f) = fields {
        body.extend(f);
    }
    if let Some(p) = &u.default_project_id {
        body.insert("default_project_id".into(), Value::String(p.clone()));
    }
    Value::Object(body)
}

pub fn group(g: &identity::Group, base_url: &str) -> Value {
    let fields = json!({
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description.clone().unwrap_or_default(),
        "links": {"self": format!("{base_url}/groups/{}", g.id)},
    });
    over_extra(&g.extra, fields)
}

pub fn domain(d: &resource::Domain, base_url: &str) -> Value {
    let mut body = d.extra.clone();
    let fields = json!({
        "id": d.id,
        "name": d.name,
        "description": d.description.clone().unwrap_or_default(),
        "enabled": d.enabled,
        "tags": d.tags,
        "options": {},
        "links": {"self": format!("{base_url}/domains/{}", d.id)},
    });
    if let Value::Object(f) = fields {
        body.extend(f);
    }
    Value::Object(body)
}

pub fn project(p: &resource::Project, base_url: &str) -> Value {
    let mut body = Map::new();
    for (k, v) in &p.extra {
        body.insert(k.clone(), v.clone());
    }
    let fields = json!({
        "id": p.id,
        "name": p.name,
        "domain_id": p.owning_domain(),
        "description": p.description.clone().unwrap_or_default(),
        "enabled": p.enabled,
        // A top-level project's API parent is its domain; a domain has none.
        "parent_id": p.parent_id.as_deref().or(p.owning_domain()),
        "is_domain": p.is_domain,
        "tags": p.tags,
        "options": {},
        "links": {"self": format!("{base_url}/projects/{}", p.id)},
    });
    if let Value::Object(f) = fields {
        body.extend(f);
    }
    Value::Object(body)
}

/// A project with the sides of its hierarchy asked for: listed relatives
/// each wrapped as `{"project": …}` (with `limits` when asked), or ids.
pub fn project_tree(tree: &hierarchy::ProjectTree, base_url: &str) -> Value {
    let side = |relatives: &hierarchy::Relatives| match relatives {
        hierarchy::Relatives::Ids(ids) => ids.clone(),
        hierarchy::Relatives::List(listed) => Value::Array(
            listed
                .iter()
                .map(|r| {
                    let mut body = project(&r.project, base_url);
                    if let Some(limits) = &r.limits {
                        body["limits"] = limits.iter().map(limit_in_project).collect();
                    }
                    json!({ "project": body })
                })
                .collect(),
        ),
    };
    let mut body = project(&tree.project, base_url);
    if let Some(parents) = &tree.parents {
        body["parents"] = side(parents);
    }
    if let Some(subtree) = &tree.subtree {
        body["subtree"] = side(subtree);
    }
    body
}

/// A limit inside a project's hierarchy listing: Keystone shows it
/// without links.
fn limit_in_project(l: &limit::Limit) -> Value {
    let mut body = limit(l, "");
    if let Some(map) = body.as_object_mut() {
        map.remove("links");
    }
    body
}

/// `{"id", "name", "links"}`: a role inside an inference rule.
pub fn role_ref(r: &assignment::Role, base: &str) -> Value {
    json!({"id": r.id, "name": r.name, "links": {"self": format!("{base}/roles/{}", r.id)}})
}

/// One implication rule: `prior` implies `implied`.
pub fn implication(prior: &assignment::Role, implied: &assignment::Role, base: &str) -> Value {
    json!({
        "role_inference": {"prior_role": role_ref(prior, base), "implies": role_ref(implied, base)},
        "links": {"self": format!("{base}/roles/{}/implies/{}", prior.id, implied.id)},
    })
}

/// The roles `prior` implies.
pub fn implications(prior: &assignment::Role, implied: &[assignment::Role], base: &str) -> Value {
    json!({
        "role_inference": {
            "prior_role": role_ref(prior, base),
            "implies": implied.iter().map(|r| role_ref(r, base)).collect::<Vec<_>>(),
        },
        "links": {"self": format!("{base}/roles/{}/implies", prior.id)},
    })
}

/// `GET /v3/role_inferences`: every prior role with what it implies.
pub fn inferences(all: &assignment::Inferences, base: &str) -> Value {
    let find = |id: &str| all.roles.iter().find(|r| r.id == id);
    let priors: std::collections::BTreeSet<&str> =
        all.rules.iter().map(|(p, _)| p.as_str()).collect();
    let items: Vec<Value> = priors
        .iter()
        .filter_map(|p| find(p))
        .map(|prior| {
            let implies: Vec<Value> = all
                .rules
                .iter()
                .filter(|(p, _)| *p == prior.id)
                .filter_map(|(_, i)| find(i))
                .map(|r| role_ref(r, base))
                .collect();
            json!({"prior_role": role_ref(prior, base), "implies": implies})
        })
        .collect();
    json!({"role_inferences": items, "links": {"self": format!("{base}/role_inferences")}})
}

/// One row of `GET /v3/role_assignments`, with names when asked for.
pub fn assignment(s: &Shown, base: &str, names: Option<&Names>) -> Value {
    let name_of = |map: &BTreeMap<String, (String, Option<String>)>, id: &str| map.get(id).cloned();
    let mut scope = if let Some(p) = &s.project {
        let mut v = json!({"project": {"id": p}});
        if let Some((name, domain)) = names.and_then(|n| name_of(&n.projects, p)) {
            v["project"]["name"] = json!(name);
            if let Some(d) = domain {
                v["project"]["domain"] =
                    json!({"id": d, "name": names.and_then(|n| n.domains.get(&d).cloned())});
            }
        }
        v
    } else if let Some(d) = &s.domain {
        let mut v = json!({"domain": {"id": d}});
        if let Some(name) = names.and_then(|n| n.domains.get(d).cloned()) {
            v["domain"]["name"] = json!(name);
        }
        v
    } else {
        json!({"system": {"all": true}})
    };
    if s.inherited {
        scope["OS-INHERIT:inherited_to"] = json!("projects");
    }
    let (actor_key, actor_id) = match (&s.user, &s.group) {
        (Some(u), _) => ("user", u.clone()),
        (None, Some(g)) => ("group", g.clone()),
        _ => ("user", String::new()),
    };
    let mut actor = json!({"id": actor_id});
    if let Some((name, domain)) = names.and_then(|n| {
        if actor_key == "user" {
            name_of(&n.users, &actor_id)
        } else {
            name_of(&n.groups, &actor_id)
        }
    }) {
        actor["name"] = json!(name);
        if let Some(d) = domain {
            actor["domain"] =
                json!({"id": d, "name": names.and_then(|n| n.domains.get(&d).cloned())});
        }
    }
    let mut role = json!({"id": s.role});
    if let Some(name) = names.and_then(|n| n.roles.get(&s.role).cloned()) {
        role["name"] = json!(name);
    }
    let target = match (&s.project, &s.domain) {
        (Some(p), _) => format!("projects/{p}"),
        (None, Some(d)) => format!("domains/{d}"),
        _ => "system".to_string(),
    };
    let prefix = if s.inherited {
        format!("{base}/OS-INHERIT")
    } else {
        base.to_string()
    };
    let mut links = json!({"assignment": format!("{prefix}/{target}/{actor_key}s/{actor_id}/roles/{}{}", s.prior_role.as_ref().unwrap_or(&s.role), if s.inherited { "/inherited_to_projects" } else { "" })});
    if let Some(g) = &s.via_group {
        links["membership"] = json!(format!("{base}/groups/{g}/users/{actor_id}"));
    }
    if let Some(prior) = &s.prior_role {
        links["prior_role"] = json!(format!("{base}/prior_role/{prior}/implies/{}", s.role));
    }
    json!({"links": links, "scope": scope, actor_key: actor, "role": role})
}

/// Keystone's member shape of a credential (`blob` as a JSON string).
pub fn credential(c: &credential::Credential, base_url: &str) -> Value {
    let fields = json!({
        "id": c.id,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "type": c.credential_type,
        "blob": c.blob.expose(),
        "links": {"self": format!("{base_url}/credentials/{}", c.id)},
    });
    over_extra(&c.meta.extra, fields)
}

/// Keystone's OS-EC2 shape of an ec2 credential.
pub fn ec2_credential(c: &credential::Credential, base: &str) -> Result<Value, Error> {
    let blob = c.ec2()?;
    Ok(json!({
        "user_id": c.user_id,
        "tenant_id": c.project_id,
        "access": blob.access,
        "secret": blob.secret.expose(),
        "trust_id": blob.trust_id,
        "links": {"self": format!("{base}/users/{}/credentials/OS-EC2/{}", c.user_id, blob.access)},
    }))
}

/// Keystone's shape of an application credential (never the secret,
/// never its hash).
pub fn app_cred(a: &application_credential::AppCred, base_url: &str) -> Value {
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "user_id": a.user_id,
        "project_id": a.project_id,
        "system": null,
        "expires_at": a.expires_at.and_then(chrono::DateTime::from_timestamp_micros).map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        "unrestricted": a.unrestricted,
        "roles": a.roles.iter().map(|r| json!({"id": r.id, "name": r.name, "domain_id": r.domain_id, "description": r.description, "options": serde_json::from_str::<Value>(&r.options).unwrap_or_else(|_| json!({}))})).collect::<Vec<_>>(),
        "links": {"self": format!("{base_url}/application_credentials/{}", a.id)},
    });
    if !a.access_rules.is_empty() {
        v["access_rules"] = Value::Array(a.access_rules.iter().map(access_rule).collect());
    }
    v
}

/// Keystone's application credential plus what Ironstone knows of its
/// life (`last_used_at`, `expires_soon`): answered by Ironstone's own
/// routes, and by Keystone's when asked with `?lifecycle`, so that
/// Keystone's shape stays exactly Keystone's by default.
pub fn app_cred_with_lifecycle(a: &application_credential::AppCred, base_url: &str) -> Value {
    let mut v = app_cred(a, base_url);
    v["last_used_at"] = json!(a
        .last_used_at
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()));
    v["expires_soon"] = json!(a.expires_soon);
    v["action_when_leaked"] = json!(a.action_when_leaked.map(|l| l.as_str()));
    v["leaked_at"] = json!(a
        .leaked_at
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()));
    v
}

/// An access rule of an application credential.
pub fn access_rule(r: &application_credential::AccessRule) -> Value {
    json!({"id": r.id, "service": r.service, "path": r.path, "method": r.method})
}

/// An access rule as `/v3/users/{id}/access_rules` answers it: with
/// Keystone's self link (which, as Keystone writes it, leaves the user out).
pub fn access_rule_member(r: &application_credential::AccessRule, base_url: &str) -> Value {
    let mut body = access_rule(r);
    body["links"] = json!({"self": format!("{base_url}/access_rules/{}", r.id)});
    body
}

/// Keystone's token answer (`render_token_response_from_model`) as JSON
/// text: `{"token": {…, "catalog": […]}}`, written into one buffer sized
/// for it.
pub fn token(t: &TokenContext, catalog: Option<&Catalog>) -> Bytes {
    let scope = rendered_scope(&t.live);
    let mut out = answer_buffer(
        scope.user.len() + scope.members.len() + TOKEN_OWN_BYTES,
        catalog,
    );
    write_token_body(&mut out, t, scope);
    close_answer(out, catalog)
}

/// [`token`] for a token from the token cache: its body is rendered once
/// per epoch and kept with it.
pub fn validated_token(v: &ValidToken, catalog: Option<&Catalog>) -> Bytes {
    let body = v.rendered.get_or_init(|| token_text(&v.context));
    let mut out = answer_buffer(body.len(), catalog);
    out.extend_from_slice(body);
    close_answer(out, catalog)
}

/// About what a token's own members take (methods, audit ids, times).
const TOKEN_OWN_BYTES: usize = 192;

fn token_text(t: &TokenContext) -> Bytes {
    let scope = rendered_scope(&t.live);
    let mut out = Vec::with_capacity(scope.user.len() + scope.members.len() + TOKEN_OWN_BYTES);
    write_token_body(&mut out, t, scope);
    out.into()
}

/// The token's body, as [`TokenBody`] serialises it, from its own members
/// and its scope's, which were written once for every token of the scope.
fn write_token_body(out: &mut Vec<u8>, t: &TokenContext, scope: &RenderedScope) {
    let start = out.len();
    out.extend_from_slice(b"{\"methods\":");
    let own = serde_json::to_writer(&mut *out, &t.methods).and_then(|()| {
        out.extend_from_slice(b",\"user\":");
        out.extend_from_slice(&scope.user);
        out.extend_from_slice(b",\"audit_ids\":");
        serde_json::to_writer(&mut *out, &t.audit_ids)
    });
    if own.is_err() {
        // Strings in a vector always serialise; should they not, the
        // whole body is written the slow way.
        out.truncate(start);
        let whole = serde_json::to_writer(&mut *out, &TokenBody::of(t));
        if whole.is_err() {
            out.truncate(start);
            out.extend_from_slice(b"{}");
        }
        return;
    }
    out.extend_from_slice(b",\"expires_at\":\"");
    out.extend_from_slice(format_token_time(t.expires_at as i64).as_bytes());
    out.extend_from_slice(b"\",\"issued_at\":\"");
    out.extend_from_slice(format_token_time(t.issued_at).as_bytes());
    out.push(b'"');
    if !scope.members.is_empty() {
        out.push(b',');
        out.extend_from_slice(&scope.members);
    }
    out.push(b'}');
}

/// The members of a token body that depend only on its user and scope,
/// written for the first token of the scope and kept with it.
fn rendered_scope(live: &LiveScope) -> &RenderedScope {
    live.rendered.get_or_init(|| {
        let (user, members) = ScopeMembers::of(live);
        let user = serde_json::to_vec(&user).unwrap_or_else(|_| b"{}".to_vec());
        let members = serde_json::to_vec(&members).unwrap_or_else(|_| b"{}".to_vec());
        // `{…}` without its braces.
        let inner = members
            .get(1..members.len().saturating_sub(1))
            .unwrap_or_default();
        RenderedScope {
            user: user.into(),
            members: Bytes::copy_from_slice(inner),
        }
    })
}

/// `{"token":`, in a buffer with room for a body of `body_len` bytes and
/// the catalog.
fn answer_buffer(body_len: usize, catalog: Option<&Catalog>) -> Vec<u8> {
    let extra = catalog.map_or(0, |c| c.json.len() + 12);
    let mut out = Vec::with_capacity(body_len + extra + 12);
    out.extend_from_slice(b"{\"token\":");
    out
}

/// Closes `{"token":BODY`, with the catalog's JSON text spliced in as
/// BODY's last member: the catalog, most of the answer, is never
/// serialised again.
fn close_answer(mut out: Vec<u8>, catalog: Option<&Catalog>) -> Bytes {
    if let (Some(catalog), Some(b'}')) = (catalog, out.last()) {
        out.pop();
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
        out.extend_from_slice(b"\"catalog\":");
        out.extend_from_slice(&catalog.json);
        out.push(b'}');
    }
    out.push(b'}');
    out.into()
}

/// The object inside Keystone's token answer, without the catalog.
pub fn token_body(t: &TokenContext) -> Value {
    serde_json::to_value(TokenBody::of(t)).unwrap_or_else(|_| json!({}))
}

/// Keystone's token body, written straight from the context: building a
/// `Value` tree first cost a tenth of an ec2tokens request. The answers
/// are assembled from the same parts by [`write_token_body`]; a test holds
/// the two to the same text.
#[derive(serde::Serialize)]
struct TokenBody<'a> {
    methods: &'a [String],
    user: TokenUser<'a>,
    audit_ids: &'a [String],
    expires_at: String,
    issued_at: String,
    #[serde(flatten)]
    scope: ScopeMembers<'a>,
}

/// The members of a token body after its times: what its scope makes it.
#[derive(serde::Serialize, Default)]
struct ScopeMembers<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<TokenProject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_domain: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<NameRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<SystemAll>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<NameRef<'a>>>,
    #[serde(rename = "OS-TRUST:trust", skip_serializing_if = "Option::is_none")]
    trust: Option<TrustBlock<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    application_credential: Option<Value>,
    #[serde(rename = "OS-OAUTH1", skip_serializing_if = "Option::is_none")]
    oauth: Option<OAuthBlock<'a>>,
}

/// `{"id", "name"}`, as tokens embed domains and roles.
#[derive(serde::Serialize)]
struct NameRef<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(serde::Serialize)]
struct IdRef<'a> {
    id: &'a str,
}

#[derive(serde::Serialize)]
struct TokenUser<'a> {
    domain: NameRef<'a>,
    id: &'a str,
    name: &'a str,
    password_expires_at: Value,
}

#[derive(serde::Serialize)]
struct TokenProject<'a> {
    domain: NameRef<'a>,
    id: &'a str,
    name: &'a str,
}

#[derive(serde::Serialize)]
struct SystemAll {
    all: bool,
}

#[derive(serde::Serialize)]
struct TrustBlock<'a> {
    id: &'a str,
    trustor_user: IdRef<'a>,
    trustee_user: IdRef<'a>,
    impersonation: bool,
}

#[derive(serde::Serialize)]
struct OAuthBlock<'a> {
    access_token_id: &'a str,
    consumer_id: &'a str,
}

impl<'a> TokenUser<'a> {
    fn of(user: &'a crate::identity::User, domain: &'a resource::Domain) -> Self {
        TokenUser {
            domain: NameRef::domain(domain),
            id: &user.id,
            name: &user.name,
            password_expires_at: user.password_expires_at_json(),
        }
    }
}

impl<'a> NameRef<'a> {
    fn domain(d: &'a resource::Domain) -> Self {
        NameRef {
            id: &d.id,
            name: &d.name,
        }
    }
}

impl<'a> TokenBody<'a> {
    fn of(t: &'a TokenContext) -> Self {
        let (user, scope) = ScopeMembers::of(&t.live);
        TokenBody {
            methods: &t.methods,
            user,
            audit_ids: &t.audit_ids,
            expires_at: format_token_time(t.expires_at as i64),
            issued_at: format_token_time(t.issued_at),
            scope,
        }
    }
}

impl<'a> ScopeMembers<'a> {
    /// Keystone's `render_token_response_from_model`: the user shown (the
    /// trustor when a trust impersonates), the scope's block, the roles of
    /// a scoped token, and the trust, application credential and OAuth
    /// blocks when the token has them.
    fn of(live: &'a LiveScope) -> (TokenUser<'a>, Self) {
        let mut user = TokenUser::of(&live.user, &live.user_domain);
        let mut body = ScopeMembers::default();
        match &live.scope {
            ResolvedScope::Unscoped => return (user, body),
            ResolvedScope::Project { project, domain } => {
                body.project = Some(TokenProject {
                    domain: NameRef::domain(domain),
                    id: &project.id,
                    name: &project.name,
                });
                body.is_domain = Some(project.is_domain);
            }
            ResolvedScope::Domain(domain) => body.domain = Some(NameRef::domain(domain)),
            ResolvedScope::System => body.system = Some(SystemAll { all: true }),
        }
        body.roles = Some(
            live.roles
                .iter()
                .map(|r| NameRef {
                    id: &r.id,
                    name: &r.name,
                })
                .collect(),
        );
        if let Some(trust) = &live.trust {
            // Keystone's trust branch: no `is_domain`, the trust block, and
            // the trustor as the user when impersonating.
            body.is_domain = None;
            body.trust = Some(TrustBlock {
                id: &trust.id,
                trustor_user: IdRef {
                    id: &trust.trustor.id,
                },
                trustee_user: IdRef {
                    id: &trust.trustee_user_id,
                },
                impersonation: trust.impersonation,
            });
            if trust.impersonation {
                user = TokenUser::of(&trust.trustor, &trust.trustor_domain);
            }
        }
        if let Some(ac) = &live.application_credential {
            let mut block = json!({"id": ac.id, "name": ac.name, "restricted": ac.restricted});
            if !ac.access_rules.is_empty() {
                block["access_rules"] =
                    Value::Array(ac.access_rules.iter().map(access_rule).collect());
            }
            body.application_credential = Some(block);
        }
        if let Some(oauth) = &live.oauth {
            body.oauth = Some(OAuthBlock {
                access_token_id: &oauth.access_token_id,
                consumer_id: &oauth.consumer_id,
            });
        }
        (user, body)
    }
}

/// Keystone's registered limit.
pub fn registered_limit(r: &limit::RegisteredLimit, base_url: &str) -> Value {
    json!({
        "id": r.id,
        "service_id": r.service_id,
        "region_id": r.region_id,
        "resource_name": r.resource_name,
        "default_limit": r.default_limit,
        "description": r.description,
        "links": {"self": format!("{base_url}/registered_limits/{}", r.id)},
    })
}

/// Keystone's limit: its registered limit's service, region and resource,
/// and the project or domain it applies to.
pub fn limit(l: &limit::Limit, base_url: &str) -> Value {
    json!({
        "id": l.id,
        "project_id": l.project_id,
        "domain_id": l.domain_id,
        "service_id": l.service_id,
        "region_id": l.region_id,
        "resource_name": l.resource_name,
        "resource_limit": l.resource_limit,
        "description": l.description,
        "links": {"self": format!("{base_url}/limits/{}", l.id)},
    })
}

/// Keystone's trust (`roles` and `roles_links` only when `roles` is given,
/// as Keystone's lists leave them out).
pub fn trust(t: &trust::Trust, roles: Option<&[assignment::Role]>, base_url: &str) -> Value {
    let mut body = json!({
        "id": t.id,
        "trustor_user_id": t.trustor_user_id,
        "trustee_user_id": t.trustee_user_id,
        "project_id": t.project_id,
        "impersonation": t.impersonation,
        "expires_at": t.expires_at.map(format_subsecond_time),
        "remaining_uses": t.remaining_uses,
        "redelegated_trust_id": t.redelegated_trust_id,
        "redelegation_count": t.redelegation_count,
        "deleted_at": t.deleted_at.map(format_subsecond_time),
        "links": {"self": format!("{base_url}/OS-TRUST/trusts/{}", t.id)},
    });
    if let Some(roles) = roles {
        body["roles"] = Value::Array(roles.iter().map(|r| role(r, base_url)).collect());
        body["roles_links"] = json!({
            "self": format!("{base_url}/OS-TRUST/trusts/{}/roles", t.id),
            "next": null,
            "previous": null,
        });
    }
    body
}

/// A revocation event as Keystone's `RevokeEvent.to_dict()`: only the
/// fields it has; a domain id with an expiry is a domain-scoped token's.
pub fn revoke_event(listed: &crate::revoke::ListedEvent) -> Value {
    let e = &listed.event;
    let mut event = serde_json::Map::new();
    let domain_scoped = e.domain_id.is_some() && e.expires_at.is_some();
    let (domain_id, domain_scope_id) = if domain_scoped {
        (None, e.domain_id.as_ref())
    } else {
        (e.domain_id.as_ref(), None)
    };
    for (key, value) in [
        ("user_id", e.user_id.as_ref()),
        ("role_id", e.role_id.as_ref()),
        ("domain_id", domain_id),
        ("domain_scope_id", domain_scope_id),
        ("project_id", e.project_id.as_ref()),
        ("audit_id", e.audit_id.as_ref()),
        ("audit_chain_id", e.audit_chain_id.as_ref()),
        ("OS-TRUST:trust_id", e.trust_id.as_ref()),
        ("OS-OAUTH1:consumer_id", e.consumer_id.as_ref()),
        ("OS-OAUTH1:access_token_id", e.access_token_id.as_ref()),
    ] {
        if let Some(value) = value {
            event.insert(key.into(), json!(value));
        }
    }
    if let Some(expires) = e
        .expires_at
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    {
        event.insert(
            "expires_at".into(),
            json!(expires.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
    }
    let issued_before = format_subsecond_time(e.issued_before.saturating_mul(1_000_000));
    event.insert("issued_before".into(), json!(issued_before));
    event.insert(
        "revoked_at".into(),
        json!(format_subsecond_time(listed.revoked_at)),
    );
    Value::Object(event)
}

/// A time in microseconds as Keystone's `isotime(subsecond=True)`.
fn format_subsecond_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn answer(body: &str, catalog: Option<&Catalog>) -> String {
        let mut out = answer_buffer(body.len(), catalog);
        out.extend_from_slice(body.as_bytes());
        String::from_utf8(close_answer(out, catalog).to_vec()).unwrap()
    }

    use crate::application_credential::AccessRule;
    use crate::assignment::Role;
    use crate::auth::{AppCredInfo, OAuthInfo, TrustInfo};
    use crate::identity::User;
    use crate::resource::{Domain, Project};
    use std::sync::Arc;

    fn user(id: &str, expires: Option<i64>) -> User {
        User {
            id: id.into(),
            name: format!("name \"{id}\" é"),
            domain_id: "default".into(),
            enabled: true,
            default_project_id: None,
            extra: Map::new(),
            password_expires_at: expires,
        }
    }

    fn domain(id: &str) -> Domain {
        Domain {
            id: id.into(),
            name: format!("{id} domain"),
            description: None,
            enabled: true,
            extra: Map::new(),
            tags: Vec::new(),
        }
    }

    fn role(id: &str) -> Role {
        Role {
            id: id.into(),
            name: format!("role {id}"),
            domain_id: None,
            description: None,
            options: "{}".into(),
            extra: "{}".into(),
        }
    }

    fn project(is_domain: bool) -> ResolvedScope {
        ResolvedScope::Project {
            project: Project {
                id: "p1".into(),
                name: "project\n1".into(),
                domain_id: "d1".into(),
                parent_id: None,
                description: None,
                enabled: true,
                is_domain,
                tags: Vec::new(),
                extra: Map::new(),
            },
            domain: domain("d1"),
        }
    }

    fn live(scope: ResolvedScope, roles: Vec<Role>) -> LiveScope {
        LiveScope {
            user: user("u1", None),
            user_domain: domain("default"),
            scope,
            role_ids: roles.iter().map(|r| r.id.clone()).collect(),
            roles,
            application_credential: None,
            app_cred_expires_at: None,
            trust: None,
            oauth: None,
            rendered: std::sync::OnceLock::new(),
        }
    }

    /// One live scope of every kind the body renders differently.
    fn every_kind() -> Vec<LiveScope> {
        let roles = || vec![role("r1"), role("r2")];
        let trust = |impersonation| TrustInfo {
            id: "t1".into(),
            impersonation,
            trustee_user_id: "u1".into(),
            trustor: user("u2", Some(1_700_000_000_123_456)),
            trustor_domain: domain("d2"),
        };
        let mut kinds = vec![
            live(ResolvedScope::Unscoped, Vec::new()),
            live(project(false), roles()),
            live(project(true), roles()),
            live(ResolvedScope::Domain(domain("d3")), roles()),
            live(ResolvedScope::System, vec![role("admin")]),
        ];
        let mut expiring = live(project(false), roles());
        expiring.user = user("u3", Some(1_800_000_000_000_001));
        kinds.push(expiring);
        for impersonation in [false, true] {
            let mut trusted = live(project(false), roles());
            trusted.trust = Some(trust(impersonation));
            kinds.push(trusted);
        }
        for access_rules in [
            Vec::new(),
            vec![AccessRule {
                id: "ar1".into(),
                service: "identity".into(),
                path: "/v3/users".into(),
                method: "GET".into(),
            }],
        ] {
            let mut limited = live(project(false), roles());
            limited.application_credential = Some(AppCredInfo {
                id: "ac1".into(),
                name: "ci".into(),
                restricted: true,
                access_rules,
            });
            kinds.push(limited);
        }
        let mut delegated = live(project(false), roles());
        delegated.oauth = Some(OAuthInfo {
            access_token_id: "at1".into(),
            consumer_id: "c1".into(),
        });
        kinds.push(delegated);
        kinds
    }

    /// The answers assembled from the scope's kept parts are the text the
    /// whole body's serializer writes, for every kind of scope, with and
    /// without a catalog, on the first token of a scope and the next.
    #[test]
    fn token_answers_from_kept_parts_are_the_serializers_text() {
        let catalog = Catalog::new(json!([{"type": "identity", "endpoints": []}])).unwrap();
        for kind in every_kind() {
            let shared = Arc::new(kind);
            for (n, methods) in [
                vec!["password".to_string()],
                vec!["token".into(), "ec2credential".into()],
            ]
            .into_iter()
            .enumerate()
            {
                let t = TokenContext {
                    token: crate::secret::Secret::new("x"),
                    issued_at: 1_700_000_000 + n as i64,
                    expires_at: 1_700_003_600.0,
                    audit_ids: vec![format!("audit{n}"), "parent".into()],
                    methods,
                    live: Arc::clone(&shared),
                };
                let whole =
                    String::from_utf8(serde_json::to_vec(&TokenBody::of(&t)).unwrap()).unwrap();
                assert_eq!(String::from_utf8(token_text(&t).to_vec()).unwrap(), whole);
                assert_eq!(
                    String::from_utf8(token(&t, None).to_vec()).unwrap(),
                    format!("{{\"token\":{whole}}}")
                );
                let with_catalog = String::from_utf8(token(&t, Some(&catalog)).to_vec()).unwrap();
                let parsed: Value = serde_json::from_str(&with_catalog).unwrap();
                let mut expected: Value = serde_json::from_str(&whole).unwrap();
                expected["catalog"] = catalog.value.clone();
                assert_eq!(parsed["token"], expected);
                assert!(with_catalog.ends_with(&format!(
                    ",\"catalog\":{}}}}}",
                    String::from_utf8(catalog.json.to_vec()).unwrap()
                )));
            }
            assert!(shared.rendered.get().is_some());
        }
    }

    #[test]
    fn the_catalog_is_spliced_in_as_the_last_member() {
        let catalog = Catalog::new(json!([{"type": "identity"}])).unwrap();
        let expected = r#"{"token":{"a":1,"catalog":[{"type":"identity"}]}}"#;
        assert_eq!(answer(r#"{"a":1}"#, Some(&catalog)), expected);
        assert_eq!(
            answer("{}", Some(&catalog)),
            r#"{"token":{"catalog":[{"type":"identity"}]}}"#
        );
        assert_eq!(answer(r#"{"a":1}"#, None), r#"{"token":{"a":1}}"#);
    }
}
