//! Signed-request verifications (`/v3/ec2tokens`, `/v3/s3tokens`) in the
//! audit trail. They come by the tens of thousands a second, so they are
//! tallied in memory, one tally per access key, route and outcome, and
//! each tally becomes one CADF event carrying its count: refusals every
//! 250 ms, successes once per `audit.signed_window`.
//!
//! Everything a caller can fill is bounded. Past a fixed number of
//! distinct keys, further keys share one tally; at write time, refusals of
//! keys nobody owns fold into one event per route and outcome. A flood of
//! invented access keys therefore costs a few rows a second and a few
//! megabytes at most, however fast it comes.

use std::collections::HashMap;
use std::net::IpAddr;

use diesel::prelude::*;
use serde_json::{json, Value};
use sha2::Digest;

use super::{envelope, KeyKind};
use crate::error::Error;
use crate::store::schema::{audit_events, credentials};
use crate::store::{new_id, Conn};

/// One verification of a signed request, as the request path reports it.
#[derive(Debug, Clone)]
pub struct SignedAuthentication {
    pub at: i64,
    pub route: &'static str,
    /// The access key as presented (at most 128 characters kept).
    pub access: String,
    /// `None` on success; `401` or `429` (throttled) on failure.
    pub refused: Option<u16>,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    /// The end client, as the calling service reported it.
    pub client: Option<IpAddr>,
}

/// Which signed-request verifications the trail keeps (`[audit]
/// signed_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedPolicy {
    All,
    Failures,
    None,
}

/// Distinct end clients kept per tally.
const MAX_CLIENTS: usize = 8;
/// Access keys named in an event about keys nobody owns.
const MAX_SAMPLES: usize = 8;
/// Characters kept of each of those: they may be anything a caller sent,
/// a secret pasted into the access-key field included, so only enough to
/// tell them apart.
const SAMPLE_CHARS: usize = 8;
/// Distinct keys tallied between two writes of refusals, which anyone
/// with a service token can invent at will: about 2 MB at most.
const MAX_FAILING_KEYS: usize = 4096;
/// Distinct keys tallied between two writes of successes, which only
/// real keys produce.
const MAX_SUCCEEDING_KEYS: usize = 32_768;
/// Access keys looked up in one query when resolving owners.
const LOOKUP_CHUNK: usize = 500;

/// Verifications of one key through one route with one outcome, between
/// two writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub route: &'static str,
    /// The access key; `None` for keys past the bound, and for keys nobody
    /// owns once folded together.
    pub access: Option<String>,
    pub refused: Option<u16>,
    pub count: u64,
    pub first_at: i64,
    pub last_at: i64,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    /// Distinct end clients, the first [`MAX_CLIENTS`].
    pub clients: Vec<IpAddr>,
    /// Some of the access keys a folded tally stands for, shortened.
    pub sample: Vec<String>,
}

impl Tally {
    fn start(e: SignedAuthentication, access: Option<String>) -> Self {
        Tally {
            route: e.route,
            access,
            refused: e.refused,
            count: 1,
            first_at: e.at,
            last_at: e.at,
            user_id: e.user_id,
            project_id: e.project_id,
            clients: e.client.into_iter().collect(),
            sample: Vec::new(),
        }
    }

    fn same_slot(&self, route: &str, refused: Option<u16>) -> bool {
        self.route == route && self.refused == refused
    }

    fn note_client(&mut self, client: IpAddr) {
        if self.clients.len() < MAX_CLIENTS && !self.clients.contains(&client) {
            self.clients.push(client);
        }
    }

    fn add(&mut self, at: i64, client: Option<IpAddr>) {
        self.count += 1;
        self.first_at = self.first_at.min(at);
        self.last_at = self.last_at.max(at);
        if let Some(client) = client {
            self.note_client(client);
        }
    }

    /// Folds `other` (an unowned tally) into this one.
    fn absorb(&mut self, other: Tally) {
        self.count += other.count;
        self.first_at = self.first_at.min(other.first_at);
        self.last_at = self.last_at.max(other.last_at);
        for client in other.clients {
            self.note_client(client);
        }
        let named = other.access.into_iter().chain(other.sample);
        for access in named {
            if self.sample.len() < MAX_SAMPLES {
                self.sample
                    .push(access.chars().take(SAMPLE_CHARS).collect());
            }
        }
    }

    /// Its CADF event: one `authenticate` standing for `count` of them.
    pub fn cadf(&self, id: &str) -> Value {
        let mut initiator = json!({
            "typeURI": "service/security/account/user",
            "id": self.user_id.as_deref().unwrap_or("unknown"),
        });
        if let Some(first) = self.clients.first() {
            initiator["host"] = json!({"address": first.to_string()});
        }
        let mut value = envelope(id, self.last_at, "authenticate", self.refused.is_none());
        value["initiator"] = initiator;
        value["target"] = json!({
            "typeURI": "data/security/credential/aksk",
            "id": self.access.as_deref().unwrap_or("unknown"),
        });
        value["methods"] = json!([self.route]);
        if let Some(code) = self.refused {
            value["reason"] = json!({
                "reasonType": "HTTP",
                "reasonCode": code.to_string(),
            });
        }
        let mut tally = json!({
            "count": self.count,
            "first": super::cadf_time(self.first_at),
            "last": super::cadf_time(self.last_at),
            "clients": self.clients.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        if !self.sample.is_empty() {
            tally["access_keys"] = json!(self.sample);
        }
        value["attachments"] = json!([{
            "name": "tally",
            "typeURI": "mime:application/json",
            "content": tally,
        }]);
        value
    }
}

/// The tallies of one kind of outcome between two writes.
struct Tallies {
    limit: usize,
    by_key: HashMap<String, Vec<Tally>>,
    /// Keys past `limit`, per route and outcome.
    others: Vec<Tally>,
}

impl Tallies {
    fn new(limit: usize) -> Self {
        Tallies {
            limit,
            by_key: HashMap::new(),
            others: Vec::new(),
        }
    }

    fn add(&mut self, e: SignedAuthentication) {
        if let Some(slots) = self.by_key.get_mut(&e.access) {
            count(slots, e, true);
        } else if self.by_key.len() < self.limit {
            let mut slots = Vec::with_capacity(1);
            let key = e.access.clone();
            count(&mut slots, e, true);
            self.by_key.insert(key, slots);
        } else {
            count(&mut self.others, e, false);
        }
    }

    fn take(&mut self) -> Vec<Tally> {
        let by_key = std::mem::take(&mut self.by_key);
        let mut all: Vec<Tally> = by_key.into_values().flatten().collect();
        all.append(&mut self.others);
        all
    }
}

/// Counts `e` in the tally of its route and outcome among `slots`;
/// `named` keeps its access key.
fn count(slots: &mut Vec<Tally>, mut e: SignedAuthentication, named: bool) {
    match slots.iter_mut().find(|t| t.same_slot(e.route, e.refused)) {
        Some(tally) => tally.add(e.at, e.client),
        None => {
            let access = named.then(|| std::mem::take(&mut e.access));
            slots.push(Tally::start(e, access));
        }
    }
}

/// The in-memory tallies of signed-request verifications. Adding one
/// costs a short lock and a hash lookup; the upkeep task takes them and
/// writes them with [`write_signed`].
pub struct Sink {
    policy: SignedPolicy,
    failures: std::sync::Mutex<Tallies>,
    successes: std::sync::Mutex<Tallies>,
}

impl Sink {
    pub fn new(policy: SignedPolicy) -> Self {
        Sink {
            policy,
            failures: std::sync::Mutex::new(Tallies::new(MAX_FAILING_KEYS)),
            successes: std::sync::Mutex::new(Tallies::new(MAX_SUCCEEDING_KEYS)),
        }
    }

    pub fn push(&self, event: SignedAuthentication) {
        let tallies = match (self.policy, event.refused) {
            (SignedPolicy::None, _) | (SignedPolicy::Failures, None) => return,
            (_, Some(_)) => &self.failures,
            (SignedPolicy::All, None) => &self.successes,
        };
        if let Ok(mut tallies) = tallies.lock() {
            tallies.add(event);
        }
    }

    /// The refusals tallied since the last call.
    pub fn take_failures(&self) -> Vec<Tally> {
        take(&self.failures)
    }

    /// The successes tallied since the last call.
    pub fn take_successes(&self) -> Vec<Tally> {
        take(&self.successes)
    }
}

fn take(tallies: &std::sync::Mutex<Tallies>) -> Vec<Tally> {
    tallies.lock().map(|mut t| t.take()).unwrap_or_default()
}

/// Writes tallies as events in the caller's transaction. A refusal does
/// not say whose key it was (finding out would cost the request path);
/// here the owner is looked up, so owners see failed attempts on their
/// keys, and refusals of keys nobody owns fold into one event per route
/// and outcome, readable by system readers only.
pub fn write_signed(conn: &mut Conn, tallies: Vec<Tally>) -> Result<(), Error> {
    let owners = owners_of(conn, &tallies)?;
    let mut unowned: Vec<Tally> = Vec::new();
    for mut tally in tallies {
        if tally.user_id.is_none() {
            if let Some((user, project)) = tally.access.as_ref().and_then(|a| owners.get(a)) {
                tally.user_id = Some(user.clone());
                tally.project_id = project.clone();
            }
        }
        if tally.user_id.is_some() {
            insert(conn, &tally)?;
            continue;
        }
        match unowned
            .iter_mut()
            .find(|t| t.same_slot(tally.route, tally.refused))
        {
            Some(folded) => folded.absorb(tally),
            None => {
                let mut folded = Tally {
                    access: None,
                    count: 0,
                    clients: Vec::new(),
                    sample: Vec::new(),
                    ..tally.clone()
                };
                folded.absorb(tally);
                unowned.push(folded);
            }
        }
    }
    for tally in &unowned {
        insert(conn, tally)?;
    }
    Ok(())
}

/// The owners (user, project) of the access keys of refusals.
fn owners_of(
    conn: &mut Conn,
    tallies: &[Tally],
) -> Result<HashMap<String, (String, Option<String>)>, Error> {
    let by_digest: HashMap<String, &String> = tallies
        .iter()
        .filter(|t| t.user_id.is_none())
        .filter_map(|t| t.access.as_ref())
        .map(|a| (hex::encode(sha2::Sha256::digest(a.as_bytes())), a))
        .collect();
    let digests: Vec<&String> = by_digest.keys().collect();
    let mut owners = HashMap::new();
    for chunk in digests.chunks(LOOKUP_CHUNK) {
        let rows: Vec<(Option<String>, String, Option<String>)> = credentials::table
            .filter(credentials::access_digest.eq_any(chunk.iter().map(|d| d.as_str())))
            .select((
                credentials::access_digest,
                credentials::user_id,
                credentials::project_id,
            ))
            .load(conn)?;
        for (digest, user, project) in rows {
            if let Some(access) = digest.as_ref().and_then(|d| by_digest.get(d)) {
                owners.insert((*access).clone(), (user, project));
            }
        }
    }
    Ok(owners)
}

fn insert(conn: &mut Conn, tally: &Tally) -> Result<(), Error> {
    let id = new_id();
    let body = tally.cadf(&id).to_string();
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::at.eq(tally.last_at),
            audit_events::action.eq("authenticate"),
            audit_events::outcome.eq(if tally.refused.is_none() {
                "success"
            } else {
                "failure"
            }),
            audit_events::key_kind.eq(KeyKind::Pair.name()),
            audit_events::key_id.eq(&tally.access),
            audit_events::user_id.eq(&tally.user_id),
            audit_events::project_id.eq(&tally.project_id),
            audit_events::initiator_id.eq(&tally.user_id),
            audit_events::event.eq(&body),
        ))
        .execute(conn)?;
    super::export::stage(&body);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(access: &str, at: i64, client: u8) -> SignedAuthentication {
        SignedAuthentication {
            at,
            route: "ec2tokens",
            access: access.into(),
            refused: Some(401),
            user_id: None,
            project_id: None,
            client: Some(IpAddr::from([10, 0, 0, client])),
        }
    }

    #[test]
    fn one_key_one_tally() {
        let sink = Sink::new(SignedPolicy::Failures);
        for i in 0..100 {
            sink.push(refusal("AK1", 1000 + i, (i % 20) as u8));
        }
        let mut ok = refusal("AK1", 5000, 1);
        ok.refused = None;
        sink.push(ok);
        let tallies = sink.take_failures();
        assert_eq!(tallies.len(), 1);
        let t = &tallies[0];
        assert_eq!((t.count, t.first_at, t.last_at), (100, 1000, 1099));
        assert_eq!(t.clients.len(), MAX_CLIENTS);
        assert_eq!(t.access.as_deref(), Some("AK1"));
        assert!(sink.take_successes().is_empty(), "successes not kept");
        assert!(sink.take_failures().is_empty());
    }

    #[test]
    fn invented_keys_are_bounded() {
        let sink = Sink::new(SignedPolicy::All);
        for i in 0..(MAX_FAILING_KEYS as i64 + 1000) {
            sink.push(refusal(&format!("{i:0>128}"), i, 1));
        }
        let tallies = sink.take_failures();
        assert_eq!(tallies.len(), MAX_FAILING_KEYS + 1);
        let others: Vec<_> = tallies.iter().filter(|t| t.access.is_none()).collect();
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].count, 1000);
    }

    #[test]
    fn the_event_carries_its_count() {
        let mut t = Tally::start(refusal("AK1", 1_764_000_000_000_000, 7), None);
        t.add(1_764_000_001_000_000, None);
        t.absorb(Tally::start(
            refusal(&"x".repeat(100), 1, 8),
            Some("x".repeat(100)),
        ));
        let v = t.cadf("e1");
        assert_eq!(v["action"], "authenticate");
        assert_eq!(v["outcome"], "failure");
        assert_eq!(v["target"]["id"], "unknown");
        let tally = &v["attachments"][0]["content"];
        assert_eq!(tally["count"], 3);
        assert_eq!(tally["clients"], json!(["10.0.0.7", "10.0.0.8"]));
        assert_eq!(tally["access_keys"], json!(["x".repeat(SAMPLE_CHARS)]));
    }
}
