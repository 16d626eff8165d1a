//! The audit trail of keys: every lifecycle event of an AK/SK pair or an
//! application credential, as a CADF event (the format of Keystone's
//! notifications), written in the same transaction as the change it
//! records, so that neither exists without the other. Secrets never
//! appear; access keys and ids do.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::error::Error;
use crate::policy::{self, Caller, Target};
use crate::store::schema::audit_events;
use crate::store::{new_id, now_micros, Conn, Database};

pub mod export;
mod signed;
pub use signed::{write_signed, SignedAuthentication, SignedPolicy, Sink, Tally};

/// What kind of key an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Pair,
    AppCred,
}

impl KeyKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyKind::Pair => "aksk",
            KeyKind::AppCred => "application_credential",
        }
    }
}

/// Who caused an event: a user, or Ironstone itself (upkeep, leak
/// reports, which are recorded with their reporter in `reason`).
#[derive(Debug, Clone)]
pub enum Initiator {
    User(String),
    Service,
}

impl Initiator {
    pub fn of(caller: &Caller) -> Self {
        Initiator::User(caller.user_id().to_string())
    }
}

/// Why keys go with something else (a cascade): who deleted what. Each
/// key is recorded as `deleted` with this initiator and reason.
#[derive(Debug, Clone)]
pub struct Cause {
    pub initiator: Initiator,
    /// `user <id> deleted`, `project <id> deleted`, `role <id> deleted`,
    /// `roles no longer held: <ids>`.
    pub reason: String,
}

/// One lifecycle event of one key.
#[derive(Debug, Clone)]
pub struct KeyEvent {
    /// `created`, `updated`, `disabled`, `enabled`, `rotated`, `deleted`,
    /// `leaked`, `expired`.
    pub action: &'static str,
    pub kind: KeyKind,
    /// The access key of a pair, the id of an application credential.
    pub key_id: String,
    /// The key's owner.
    pub user_id: String,
    pub project_id: Option<String>,
    pub initiator: Initiator,
    /// Why, when it is not the initiator's request (`unused`, a leak
    /// report's id, the replacement of a rotation).
    pub reason: Option<String>,
}

/// A time as pycadf writes it.
pub(crate) fn cadf_time(at_micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(at_micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f+0000").to_string())
        .unwrap_or_default()
}

/// The parts every CADF event shares (pycadf's shape, as Keystone's
/// notifications carry it); the caller adds initiator, target and reason.
pub(crate) fn envelope(id: &str, at_micros: i64, action: &str, succeeded: bool) -> Value {
    json!({
        "typeURI": "http://schemas.dmtf.org/cloud/audit/1.0/event",
        "id": id,
        "eventType": "activity",
        "eventTime": cadf_time(at_micros),
        "action": action,
        "outcome": if succeeded { "success" } else { "failure" },
        "observer": {"typeURI": "service/security", "id": "ironstone"},
    })
}

/// The CADF event of a key's lifecycle event.
pub fn cadf(event: &KeyEvent, id: &str, at_micros: i64) -> Value {
    let initiator = match &event.initiator {
        Initiator::User(user) => json!({
            "typeURI": "service/security/account/user",
            "id": user,
        }),
        Initiator::Service => json!({
            "typeURI": "service/security",
            "id": "ironstone",
        }),
    };
    let action = format!("{}.{}", event.action, event.kind.name());
    let mut value = envelope(id, at_micros, &action, true);
    value["initiator"] = initiator;
    value["target"] = json!({
        "typeURI": format!("data/security/credential/{}", event.kind.name()),
        "id": event.key_id,
        "owner": event.user_id,
        "project_id": event.project_id,
    });
    if let Some(reason) = &event.reason {
        value["reason"] = json!({"reasonType": "ironstone", "reasonCode": reason});
    }
    value
}

/// Records `event` in the caller's transaction.
pub fn record(conn: &mut Conn, event: &KeyEvent) -> Result<(), Error> {
    let (id, at) = (new_id(), now_micros());
    let body = cadf(event, &id, at).to_string();
    let initiator = match &event.initiator {
        Initiator::User(user) => user.as_str(),
        Initiator::Service => "ironstone",
    };
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::at.eq(at),
            audit_events::action.eq(event.action),
            audit_events::outcome.eq("success"),
            audit_events::key_kind.eq(event.kind.name()),
            audit_events::key_id.eq(&event.key_id),
            audit_events::user_id.eq(&event.user_id),
            audit_events::project_id.eq(&event.project_id),
            audit_events::initiator_id.eq(initiator),
            audit_events::event.eq(&body),
        ))
        .execute(conn)?;
    export::stage(&body);
    Ok(())
}

/// One authentication through `POST /v3/auth/tokens` (every method, the
/// console's sign-in and OAuth 2.0 included): who, when known, how, and
/// with which key.
#[derive(Debug, Clone)]
pub struct Authentication {
    pub succeeded: bool,
    pub methods: Vec<String>,
    /// The authenticated user; on failure, the user the request named by
    /// id, if it did.
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    /// The application credential used, if any.
    pub app_cred_id: Option<String>,
}

/// The CADF event of an authentication (Keystone's `authenticate`).
pub fn authentication_cadf(a: &Authentication, id: &str, at_micros: i64) -> Value {
    let user = a.user_id.as_deref().unwrap_or("unknown");
    let mut value = envelope(id, at_micros, "authenticate", a.succeeded);
    value["initiator"] = json!({"typeURI": "service/security/account/user", "id": user});
    value["target"] = json!({"typeURI": "service/security/account/user", "id": user});
    value["methods"] = json!(a.methods);
    if let Some(ac) = &a.app_cred_id {
        value["credential"] =
            json!({"typeURI": "data/security/credential/application_credential", "id": ac});
    }
    if !a.succeeded {
        value["reason"] = json!({"reasonType": "HTTP", "reasonCode": "401"});
    }
    value
}

/// Records an authentication in its own small transaction.
pub fn record_authentication(conn: &mut Conn, a: &Authentication) -> Result<(), Error> {
    let (id, at) = (new_id(), now_micros());
    let body = authentication_cadf(a, &id, at).to_string();
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::at.eq(at),
            audit_events::action.eq("authenticate"),
            audit_events::outcome.eq(if a.succeeded { "success" } else { "failure" }),
            audit_events::key_kind.eq(a.app_cred_id.as_ref().map(|_| KeyKind::AppCred.name())),
            audit_events::key_id.eq(&a.app_cred_id),
            audit_events::user_id.eq(&a.user_id),
            audit_events::project_id.eq(&a.project_id),
            audit_events::initiator_id.eq(a.user_id.as_deref().unwrap_or("unknown")),
            audit_events::event.eq(&body),
        ))
        .execute(conn)?;
    export::stage(&body);
    Ok(())
}

/// Deletes events older than `before` (retention); how many.
pub fn prune(conn: &mut Conn, before: i64) -> Result<usize, Error> {
    Ok(diesel::delete(audit_events::table.filter(audit_events::at.lt(before))).execute(conn)?)
}

/// The filters of a listing; all optional.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub key_id: Option<String>,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Microseconds, inclusive.
    pub since: Option<i64>,
    /// Microseconds, exclusive.
    pub until: Option<i64>,
    /// The id of the last event of the previous page.
    pub marker: Option<String>,
    pub limit: i64,
}

/// At most this many events a page.
pub const MAX_PAGE: i64 = 1000;

/// The audit trail's use case: reading it, within what the caller may see.
#[derive(Clone)]
pub struct Audit {
    db: Database,
}

impl Audit {
    pub fn new(db: Database) -> Self {
        Audit { db }
    }

    /// Events, newest first. A system reader sees everything; an admin of
    /// a project sees that project's keys; anyone else sees their own.
    pub async fn list(&self, caller: &Caller, filter: Filter) -> Result<Vec<Value>, Error> {
        policy::enforce(policy::READ_AUDIT_EVENTS, caller, Target::default())?;
        let mut filter = filter;
        let system_reader =
            caller.is_system_scoped() && (caller.has_role("reader") || caller.has_role("admin"));
        if !system_reader {
            match caller.project_id() {
                Some(project) if caller.has_role("admin") => {
                    if filter.project_id.as_deref().is_some_and(|p| p != project) {
                        return Ok(Vec::new());
                    }
                    filter.project_id = Some(project.to_string());
                }
                _ => {
                    if filter
                        .user_id
                        .as_deref()
                        .is_some_and(|u| u != caller.user_id())
                    {
                        return Ok(Vec::new());
                    }
                    filter.user_id = Some(caller.user_id().to_string());
                }
            }
        }
        self.db.read(move |conn| list(conn, &filter)).await
    }
}

fn list(conn: &mut Conn, filter: &Filter) -> Result<Vec<Value>, Error> {
    let mut query = audit_events::table.into_boxed();
    if let Some(v) = &filter.key_id {
        query = query.filter(audit_events::key_id.eq(v.clone()));
    }
    if let Some(v) = &filter.user_id {
        query = query.filter(audit_events::user_id.eq(v.clone()));
    }
    if let Some(v) = &filter.project_id {
        query = query.filter(audit_events::project_id.eq(v.clone()));
    }
    if let Some(v) = &filter.action {
        query = query.filter(audit_events::action.eq(v.clone()));
    }
    if let Some(v) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(v.clone()));
    }
    if let Some(v) = filter.since {
        query = query.filter(audit_events::at.ge(v));
    }
    if let Some(v) = filter.until {
        query = query.filter(audit_events::at.lt(v));
    }
    if let Some(marker) = &filter.marker {
        let last: Option<(i64, String)> = audit_events::table
            .find(marker)
            .select((audit_events::at, audit_events::id))
            .first(conn)
            .optional()?;
        let Some((at, id)) = last else {
            return Err(Error::BadRequest(format!("Unknown marker {marker:?}.")));
        };
        // Newest first: the next page is strictly older, ties by id.
        query = query.filter(
            audit_events::at
                .lt(at)
                .or(audit_events::at.eq(at).and(audit_events::id.lt(id))),
        );
    }
    let rows: Vec<String> = query
        .order((audit_events::at.desc(), audit_events::id.desc()))
        .limit(filter.limit.clamp(1, MAX_PAGE))
        .select(audit_events::event)
        .load(conn)?;
    Ok(rows
        .iter()
        .filter_map(|text| serde_json::from_str(text).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_cadf() {
        let event = KeyEvent {
            action: "rotated",
            kind: KeyKind::Pair,
            key_id: "AKIAEXAMPLE12345".into(),
            user_id: "u1".into(),
            project_id: Some("p1".into()),
            initiator: Initiator::User("u1".into()),
            reason: Some("replaced by AK2".into()),
        };
        let v = cadf(&event, "e1", 1_764_000_000_000_000);
        assert_eq!(
            v["typeURI"],
            "http://schemas.dmtf.org/cloud/audit/1.0/event"
        );
        assert_eq!(v["action"], "rotated.aksk");
        assert_eq!(v["outcome"], "success");
        assert_eq!(v["target"]["id"], "AKIAEXAMPLE12345");
        assert_eq!(v["initiator"]["id"], "u1");
        assert!(v["eventTime"].as_str().unwrap_or("").ends_with("+0000"));
        assert_eq!(v["reason"]["reasonCode"], "replaced by AK2");
    }
}
