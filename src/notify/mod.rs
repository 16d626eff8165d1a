//! Keystone's notifications: the events Ceilometer, Designate, billing and
//! audit tools consume from the message bus, in Keystone's envelope and
//! payload shapes (oslo.messaging's v2 envelope; `basic` or CADF
//! payloads; `identity.<resource>.<operation>` event types).
//!
//! Use cases stage a [`Fact`] inside their transaction ([`created`],
//! [`deleted`], [`role_assignment`], …); the database hands the facts of a
//! committed transaction to [`Notifier::delivery`], which builds the
//! messages with the request's initiator and queues them for the
//! publisher ([`amqp`]). Queueing never waits: past `queue_size` waiting
//! messages (a broker down for long), new ones are dropped and counted.

pub mod amqp;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::store::context::{self, RequestContext};
use crate::store::outbox::{self, Channel, Delivery, Staged};

/// Keystone's service name in every event type.
const SERVICE: &str = "identity";
/// pycadf's taxonomy.
const ACCOUNT_USER: &str = "service/security/account/user";
const SERVICE_SECURITY: &str = "service/security";
/// Keystone's namespace for `resource_uuid` (keystone.common.utils).
const RESOURCE_ID_NAMESPACE: uuid::Uuid = uuid::uuid!("4332ecab-770b-4288-a680-b9aca3b1b153");

/// Keystone's notifications to the message bus (keystone.conf's
/// `notification_format`, `notification_opt_out`, `default_publisher_id`
/// and `[oslo_messaging_notifications]`, gathered in one section).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// oslo.messaging's `transport_url`, e.g.
    /// `rabbit://openstack:PASSWORD@rabbitmq:5672/`; unset: none are sent.
    pub transport_url: Option<String>,
    /// `cadf` (Keystone's default) or `basic`. Role assignments and
    /// authentications are CADF either way, as in Keystone.
    pub format: String,
    /// Event types not sent; authentication outcomes as
    /// `identity.authenticate.<outcome>`.
    #[serde(deserialize_with = "crate::config::string_or_list")]
    pub opt_out: Vec<String>,
    /// The exchange (oslo.messaging's `control_exchange`; Keystone's is
    /// `keystone`).
    pub exchange: String,
    /// Topics; each message goes to `<topic>.info`.
    #[serde(deserialize_with = "crate::config::string_or_list")]
    pub topics: Vec<String>,
    /// The host in `publisher_id` (`identity.<host>`); empty: this host's
    /// name.
    pub publisher_host: String,
    /// Messages that may wait for the broker; past it new ones are
    /// dropped and counted.
    pub queue_size: usize,
    /// oslo.messaging's `amqp_durable_queues`: the exchange and queues
    /// must be declared as the consumers declare them.
    pub durable: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            transport_url: None,
            format: "cadf".into(),
            opt_out: vec![
                "identity.authenticate.success".into(),
                "identity.authenticate.pending".into(),
            ],
            exchange: "keystone".into(),
            topics: vec!["notifications".into()],
            publisher_host: String::new(),
            queue_size: 10_000,
            durable: false,
        }
    }
}

/// What a transaction changed, as it is staged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// Keystone's resource type: `user`, `project`, `OS-TRUST:trust`, …;
    /// `role_assignment` and `authenticate` for those events.
    pub resource_type: String,
    /// `created`, `updated`, `disabled`, `deleted`; for `authenticate`,
    /// `success` or `failure`.
    pub operation: String,
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// For `role_assignment`: Keystone's extra CADF fields (`role`,
    /// `user`/`group`, `project`/`domain`, `inherited_to_projects`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub fields: Map<String, Value>,
    /// For `authenticate`: the name of the user who tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// Who was added to or removed from a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub operation: String,
}

fn stage(fact: Fact) {
    if let Ok(line) = serde_json::to_string(&fact) {
        outbox::stage_on(Channel::Notification, line);
    }
}

fn stage_plain(resource_type: &str, operation: &str, id: &str) {
    stage(Fact {
        resource_type: resource_type.to_string(),
        operation: operation.to_string(),
        resource_id: id.to_string(),
        actor: None,
        fields: Map::new(),
        user_name: None,
    });
}

/// `identity.<resource_type>.created`, sent if the transaction commits.
pub fn created(resource_type: &str, id: &str) {
    stage_plain(resource_type, "created", id);
}

/// `identity.<resource_type>.updated`.
pub fn updated(resource_type: &str, id: &str) {
    stage_plain(resource_type, "updated", id);
}

/// `identity.<resource_type>.disabled` (projects and domains).
pub fn disabled(resource_type: &str, id: &str) {
    stage_plain(resource_type, "disabled", id);
}

/// `identity.<resource_type>.deleted`.
pub fn deleted(resource_type: &str, id: &str) {
    stage_plain(resource_type, "deleted", id);
}

/// `identity.group.updated` naming the user added to or removed from it.
pub fn membership(group_id: &str, user_id: &str, added: bool) {
    stage(Fact {
        resource_type: "group".into(),
        operation: "updated".into(),
        resource_id: group_id.to_string(),
        actor: Some(Actor {
            id: user_id.to_string(),
            kind: "user".into(),
            operation: if added { "added" } else { "removed" }.into(),
        }),
        fields: Map::new(),
        user_name: None,
    });
}

/// Where a role assignment is, as Keystone names it in its event.
pub struct Assignment<'a> {
    pub role_id: &'a str,
    /// `("user" | "group", id)`.
    pub actor: (&'a str, &'a str),
    /// `("project" | "domain" | "system", id)`.
    pub target: (&'a str, &'a str),
    pub inherited: bool,
}

/// `identity.role_assignment.created` or `.deleted` (always CADF, as in
/// Keystone).
pub fn role_assignment(created: bool, a: &Assignment<'_>) {
    let mut fields = Map::new();
    fields.insert(a.target.0.into(), json!(a.target.1));
    fields.insert(a.actor.0.into(), json!(a.actor.1));
    fields.insert("inherited_to_projects".into(), json!(a.inherited));
    fields.insert("role".into(), json!(a.role_id));
    stage(Fact {
        resource_type: "role_assignment".into(),
        operation: if created { "created" } else { "deleted" }.into(),
        resource_id: a.role_id.to_string(),
        actor: None,
        fields,
        user_name: None,
    });
}

/// `identity.authenticate` with its outcome, for a password check of a
/// known user (always CADF, as in Keystone).
pub fn authentication(user_id: &str, user_name: &str, succeeded: bool) {
    stage(Fact {
        resource_type: "authenticate".into(),
        operation: if succeeded { "success" } else { "failure" }.into(),
        resource_id: user_id.to_string(),
        actor: None,
        fields: Map::new(),
        user_name: Some(user_name.to_string()),
    });
}

/// Names the current request's authenticated caller as the initiator of
/// the notifications it causes.
pub fn set_initiator(
    user_id: &str,
    user_name: &str,
    project_id: Option<&str>,
    domain_id: Option<&str>,
) {
    context::set_caller(user_id, user_name, project_id, domain_id);
}

/// One message for the bus: where it goes and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub routing_key: String,
    pub body: String,
}

/// The notifier's counters, for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub failed_publishes: AtomicU64,
}

/// Builds and queues notifications; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    settings: Arc<Settings>,
    publisher_id: Arc<str>,
    queue: Option<tokio::sync::mpsc::Sender<Outgoing>>,
    pub stats: Arc<Stats>,
}

impl Notifier {
    /// A notifier that sends nothing (no `transport_url`).
    pub fn disabled() -> Self {
        Notifier {
            settings: Arc::new(Settings::default()),
            publisher_id: Arc::from("identity"),
            queue: None,
            stats: Arc::new(Stats::default()),
        }
    }

    /// Starts the publisher for `settings.transport_url`;
    /// [`Notifier::disabled`] when none is set.
    pub fn start(settings: &Settings) -> Result<Self, crate::error::Error> {
        let Some(url) = settings.transport_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(Self::disabled());
        };
        let target = amqp::Target::parse(url, settings)?;
        let (tx, rx) = tokio::sync::mpsc::channel(settings.queue_size.max(1));
        let stats = Arc::new(Stats::default());
        amqp::spawn(target, rx, Arc::clone(&stats))?;
        let host = if settings.publisher_host.is_empty() {
            hostname()
        } else {
            settings.publisher_host.clone()
        };
        Ok(Notifier {
            settings: Arc::new(settings.clone()),
            publisher_id: Arc::from(format!("{SERVICE}.{host}")),
            queue: Some(tx),
            stats,
        })
    }

    /// Messages waiting for the broker.
    pub fn queued(&self) -> u64 {
        self.queue
            .as_ref()
            .map_or(0, |q| (q.max_capacity() - q.capacity()) as u64)
    }

    /// What the database calls with a committed transaction's staged
    /// lines; `None` when nothing is sent.
    pub fn delivery(&self) -> Option<Delivery> {
        self.queue.as_ref()?;
        let notifier = self.clone();
        Some(Arc::new(move |staged: Vec<Staged>| {
            let request = context::of_this_thread();
            for s in staged {
                if s.channel != Channel::Notification {
                    continue;
                }
                if let Ok(fact) = serde_json::from_str::<Fact>(&s.line) {
                    notifier.send(&fact, &request);
                }
            }
        }))
    }

    fn send(&self, fact: &Fact, request: &RequestContext) {
        let Some(queue) = &self.queue else {
            return;
        };
        let Some(message) = message(&self.settings, &self.publisher_id, fact, request) else {
            return;
        };
        for topic in &self.settings.topics {
            let out = Outgoing {
                routing_key: format!("{topic}.info"),
                body: message.clone(),
            };
            if queue.try_send(out).is_err() {
                let before = self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                if before.is_power_of_two() || before == 0 {
                    tracing::warn!(
                        dropped = before + 1,
                        "the notification queue is full (is the message broker down?); notifications are being dropped"
                    );
                }
            }
        }
    }
}

/// The host name for `publisher_id`, as Keystone's `socket.gethostname()`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The event type Keystone gives a fact.
pub fn event_type(fact: &Fact) -> String {
    if fact.resource_type == "authenticate" {
        return format!("{SERVICE}.authenticate");
    }
    format!("{SERVICE}.{}.{}", fact.resource_type, fact.operation)
}

/// The whole AMQP message body for `fact`, or `None` when opted out:
/// oslo.messaging's v2 envelope around Keystone's notification.
pub fn message(
    settings: &Settings,
    publisher_id: &str,
    fact: &Fact,
    request: &RequestContext,
) -> Option<String> {
    let event_type = event_type(fact);
    // Keystone matches authentication opt-outs with the outcome appended.
    let opt_out_name = if fact.resource_type == "authenticate" {
        format!("{event_type}.{}", fact.operation)
    } else {
        event_type.clone()
    };
    if settings.opt_out.contains(&opt_out_name) {
        return None;
    }
    let now = chrono::Utc::now();
    let always_cadf = matches!(
        fact.resource_type.as_str(),
        "authenticate" | "role_assignment"
    );
    let payload = if always_cadf || settings.format == "cadf" {
        cadf_payload(fact, request, &now)
    } else {
        basic_payload(fact, request)
    };
    let inner = json!({
        "message_id": uuid::Uuid::new_v4().to_string(),
        "publisher_id": publisher_id,
        "event_type": event_type,
        "priority": "INFO",
        "payload": payload,
        "timestamp": now.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        "_unique_id": uuid::Uuid::new_v4().simple().to_string(),
    });
    Some(
        json!({
            "oslo.version": "2.0",
            "oslo.message": inner.to_string(),
        })
        .to_string(),
    )
}

/// Keystone's `basic` payload: the resource, the group member for
/// membership changes, and the request.
pub fn basic_payload(fact: &Fact, request: &RequestContext) -> Value {
    let mut payload = Map::new();
    payload.insert("resource_info".into(), json!(fact.resource_id));
    if let Some(actor) = &fact.actor {
        payload.insert("actor_id".into(), json!(actor.id));
        payload.insert("actor_type".into(), json!(actor.kind));
        payload.insert("actor_operation".into(), json!(actor.operation));
    }
    if !request.request_id.is_empty() {
        payload.insert("request_id".into(), json!(request.request_id));
    }
    Value::Object(payload)
}

/// CADF's typeURI for a Keystone resource type (keystone.notifications'
/// CADF_TYPE_MAP).
fn target_type_uri(resource_type: &str) -> &'static str {
    match resource_type {
        "group" => "data/security/group",
        "project" => "data/security/project",
        "role" => "data/security/role",
        "user" => "data/security/account/user",
        "domain" => "data/security/domain",
        "region" => "data/security/region",
        "endpoint" => "data/security/endpoint",
        "service" => "data/security/service",
        "policy" => "data/security/policy",
        "OS-TRUST:trust" => "data/security/trust",
        "OS-OAUTH1:access_token" | "OS-OAUTH1:request_token" | "application_credential" => {
            "data/security/credential"
        }
        "OS-OAUTH1:consumer" => "data/security/account",
        _ => "unknown",
    }
}

/// Keystone's `resource_uuid`: a UUID stays, anything else becomes its
/// UUID5 in Keystone's namespace.
pub fn resource_uuid(id: &str) -> String {
    match uuid::Uuid::try_parse(id) {
        Ok(_) => id.to_string(),
        Err(_) => uuid::Uuid::new_v5(&RESOURCE_ID_NAMESPACE, id.as_bytes())
            .simple()
            .to_string(),
    }
}

/// The CADF initiator: the authenticated caller of the request (the
/// user who tried, for an authentication), as Keystone's
/// `build_audit_initiator` and `_add_username_to_initiator` make it.
/// `None` outside a request (bootstrap, the CLI), where Keystone has none.
fn initiator(fact: &Fact, request: &RequestContext) -> Option<Value> {
    if request.request_id.is_empty() {
        return None;
    }
    let mut initiator = Map::new();
    initiator.insert("typeURI".into(), json!(ACCOUNT_USER));
    let (user_id, user_name) = if fact.resource_type == "authenticate" {
        (Some(fact.resource_id.as_str()), fact.user_name.as_deref())
    } else {
        (request.user_id.as_deref(), request.user_name.as_deref())
    };
    initiator.insert(
        "host".into(),
        json!({
            "address": request.remote_addr.clone().unwrap_or_default(),
            // Flask renders a missing User-Agent as "".
            "agent": request.user_agent.clone().unwrap_or_default(),
        }),
    );
    match user_id {
        Some(user_id) => {
            initiator.insert("id".into(), json!(resource_uuid(user_id)));
            initiator.insert("user_id".into(), json!(user_id));
        }
        None => {
            initiator.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
        }
    }
    if let Some(name) = user_name {
        initiator.insert("name".into(), json!(name));
        initiator.insert("username".into(), json!(name));
    }
    if fact.resource_type != "authenticate" {
        if let Some(project_id) = &request.project_id {
            initiator.insert("project_id".into(), json!(project_id));
        }
        if let Some(domain_id) = &request.domain_id {
            initiator.insert("domain_id".into(), json!(domain_id));
        }
    }
    initiator.insert("request_id".into(), json!(request.request_id));
    Some(Value::Object(initiator))
}

/// A CADF event as pycadf renders it (`event.as_dict()`).
pub fn cadf_payload(
    fact: &Fact,
    request: &RequestContext,
    now: &chrono::DateTime<chrono::Utc>,
) -> Value {
    let (action, outcome, target) = match fact.resource_type.as_str() {
        "authenticate" => (
            "authenticate".to_string(),
            fact.operation.clone(),
            json!({"typeURI": ACCOUNT_USER, "id": uuid::Uuid::new_v4().to_string()}),
        ),
        "role_assignment" => (
            format!("{}.role_assignment", fact.operation),
            "success".to_string(),
            json!({"typeURI": ACCOUNT_USER, "id": uuid::Uuid::new_v4().to_string()}),
        ),
        kind => (
            format!("{}.{kind}", fact.operation),
            "success".to_string(),
            json!({"typeURI": target_type_uri(kind), "id": fact.resource_id}),
        ),
    };
    let mut event = Map::new();
    event.insert(
        "typeURI".into(),
        json!("http://schemas.dmtf.org/cloud/audit/1.0/event"),
    );
    event.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    event.insert(
        "eventTime".into(),
        json!(now.format("%Y-%m-%dT%H:%M:%S%.6f+0000").to_string()),
    );
    event.insert("action".into(), json!(action));
    event.insert("eventType".into(), json!("activity"));
    event.insert("outcome".into(), json!(outcome));
    if let Some(initiator) = initiator(fact, request) {
        event.insert("initiator".into(), initiator);
    }
    event.insert("target".into(), target);
    event.insert(
        "observer".into(),
        json!({"typeURI": SERVICE_SECURITY, "id": uuid::Uuid::new_v4().to_string()}),
    );
    match fact.resource_type.as_str() {
        "authenticate" => {}
        "role_assignment" => {
            for (k, v) in &fact.fields {
                event.insert(k.clone(), v.clone());
            }
        }
        _ => {
            event.insert("resource_info".into(), json!(fact.resource_id));
        }
    }
    Value::Object(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(format: &str, opt_out: &[&str]) -> Settings {
        Settings {
            format: format.into(),
            opt_out: opt_out.iter().map(|s| s.to_string()).collect(),
            ..Settings::default()
        }
    }

    fn request() -> RequestContext {
        RequestContext {
            request_id: "req-1".into(),
            remote_addr: Some("192.0.2.1".into()),
            user_agent: Some("curl/8".into()),
            user_id: Some("0123456789abcdef0123456789abcdef".into()),
            user_name: Some("admin".into()),
            project_id: Some("p1".into()),
            domain_id: None,
        }
    }

    fn inner(body: &str) -> Value {
        let outer: Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(outer["oslo.version"], "2.0");
        serde_json::from_str(outer["oslo.message"].as_str().unwrap_or_default()).unwrap_or_default()
    }

    fn fact(kind: &str, op: &str, id: &str) -> Fact {
        Fact {
            resource_type: kind.into(),
            operation: op.into(),
            resource_id: id.into(),
            actor: None,
            fields: Map::new(),
            user_name: None,
        }
    }

    #[test]
    fn basic_payload_is_keystones() {
        let s = settings("basic", &[]);
        let body = message(&s, "identity.h", &fact("user", "created", "u1"), &request());
        let m = inner(&body.unwrap_or_default());
        assert_eq!(m["event_type"], "identity.user.created");
        assert_eq!(m["publisher_id"], "identity.h");
        assert_eq!(m["priority"], "INFO");
        assert_eq!(
            m["payload"],
            json!({"resource_info": "u1", "request_id": "req-1"})
        );
    }

    #[test]
    fn cadf_payload_names_initiator_target_and_outcome() {
        let s = settings("cadf", &[]);
        let body = message(
            &s,
            "identity.h",
            &fact("project", "deleted", "p9"),
            &request(),
        );
        let p = inner(&body.unwrap_or_default())["payload"].clone();
        assert_eq!(p["action"], "deleted.project");
        assert_eq!(p["outcome"], "success");
        assert_eq!(p["eventType"], "activity");
        assert_eq!(p["target"]["typeURI"], "data/security/project");
        assert_eq!(p["target"]["id"], "p9");
        assert_eq!(p["resource_info"], "p9");
        assert_eq!(
            p["initiator"]["user_id"],
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(p["initiator"]["host"]["address"], "192.0.2.1");
        assert_eq!(p["initiator"]["request_id"], "req-1");
    }

    #[test]
    fn authentication_is_always_cadf_and_opted_out_by_outcome() {
        let s = settings("basic", &["identity.authenticate.success"]);
        let ok = fact("authenticate", "success", "u1");
        assert!(message(&s, "identity.h", &ok, &request()).is_none());
        let failed = fact("authenticate", "failure", "u1");
        let m = inner(&message(&s, "identity.h", &failed, &request()).unwrap_or_default());
        assert_eq!(m["event_type"], "identity.authenticate");
        assert_eq!(m["payload"]["outcome"], "failure");
        assert_eq!(m["payload"]["action"], "authenticate");
        assert_eq!(m["payload"]["initiator"]["user_id"], "u1");
    }

    #[test]
    fn resource_uuid_matches_keystone() {
        assert_eq!(
            resource_uuid("0123456789abcdef0123456789abcdef"),
            "0123456789abcdef0123456789abcdef"
        );
        // Python: uuid.uuid5(UUID('4332ecab-…-b9aca3b1b153'), 'admin').hex
        assert_eq!(resource_uuid("admin"), "db03747ae9c554d097b5e8c328115940");
    }
}
