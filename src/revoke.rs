//! Revoke subsystem: storing revocation events and checking tokens
//! against them. The matching rule itself is pure, in `token::revoke`.

use diesel::prelude::*;

use crate::error::Error;
use crate::store::rows::RevocationEventRow;
use crate::store::schema::revocation_events;
use crate::store::{new_id, now_micros, Conn, Database};
use crate::token::revoke::{RevocationEvent, TokenFacts};

const MICROS: i64 = 1_000_000;

/// What to revoke; unset fields match every token.
#[derive(Debug, Default, Clone)]
pub struct Revoke {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub role_id: Option<String>,
    pub audit_id: Option<String>,
    pub audit_chain_id: Option<String>,
    pub expires_at: Option<i64>,
}

/// Records an event revoking every matching token issued up to now (whole
/// seconds, as Keystone's `revoked_at.replace(microsecond=0)`).
pub fn record(conn: &mut Conn, what: Revoke) -> Result<(), Error> {
    let now = now_micros() / MICROS * MICROS;
    diesel::insert_into(revocation_events::table)
        .values(RevocationEventRow {
            id: new_id(),
            domain_id: what.domain_id,
            project_id: what.project_id,
            user_id: what.user_id,
            role_id: what.role_id,
            trust_id: None,
            consumer_id: None,
            access_token_id: None,
            issued_before: now,
            expires_at: what.expires_at.map(|s| s * MICROS),
            revoked_at: now,
            audit_id: what.audit_id,
            audit_chain_id: what.audit_chain_id,
        })
        .execute(conn)?;
    Ok(())
}

fn to_event(row: RevocationEventRow) -> RevocationEvent {
    RevocationEvent {
        domain_id: row.domain_id,
        project_id: row.project_id,
        user_id: row.user_id,
        role_id: row.role_id,
        trust_id: row.trust_id,
        consumer_id: row.consumer_id,
        access_token_id: row.access_token_id,
        issued_before: row.issued_before / MICROS,
        expires_at: row.expires_at.map(|e| e / MICROS),
        audit_id: row.audit_id,
        audit_chain_id: row.audit_chain_id,
    }
}

/// True when any stored event revokes the token. Only candidate events are
/// loaded: those issued at or after the token and naming none of its
/// attributes differently.
pub fn is_revoked(conn: &mut Conn, facts: &TokenFacts<'_>) -> Result<bool, Error> {
    let issued_at_micros = facts.issued_at * MICROS;
    let audit_ids: Vec<&str> = std::iter::once(facts.audit_id)
        .chain(facts.parent_audit_id)
        .collect();
    let mut users = vec![facts.user_id];
    users.extend(facts.trustor_id);
    users.extend(facts.trustee_id);
    let rows: Vec<RevocationEventRow> = revocation_events::table
        .filter(revocation_events::issued_before.ge(issued_at_micros))
        .filter(
            revocation_events::user_id
                .is_null()
                .or(revocation_events::user_id.eq_any(users)),
        )
        .filter(
            revocation_events::audit_id
                .is_null()
                .or(revocation_events::audit_id.eq(facts.audit_id)),
        )
        .filter(
            revocation_events::audit_chain_id
                .is_null()
                .or(revocation_events::audit_chain_id.eq_any(audit_ids)),
        )
        .select(RevocationEventRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(to_event).any(|e| e.revokes(facts)))
}

/// Every stored event, for the in-memory check, or `None` when there are
/// more than `limit` (then tokens are checked with [`is_revoked`]).
pub fn load_all(conn: &mut Conn, limit: i64) -> Result<Option<Vec<RevocationEvent>>, Error> {
    let rows: Vec<RevocationEventRow> = revocation_events::table
        .select(RevocationEventRow::as_select())
        .limit(limit + 1)
        .load(conn)?;
    if rows.len() as i64 > limit {
        return Ok(None);
    }
    Ok(Some(rows.into_iter().map(to_event).collect()))
}

/// A stored revocation event as listed, with when it was recorded
/// (microseconds).
#[derive(Debug, Clone)]
pub struct ListedEvent {
    pub event: RevocationEvent,
    pub revoked_at: i64,
}

/// `GET /v3/OS-REVOKE/events`: the stored events revoked after `since`
/// (all without it), oldest first, for admins and services.
pub async fn list_events(
    db: &Database,
    caller: &crate::policy::Caller,
    since: crate::policy::Input<Option<i64>>,
) -> Result<Vec<ListedEvent>, Error> {
    crate::policy::enforce(
        crate::policy::LIST_REVOKE_EVENTS,
        caller,
        crate::policy::Target::default(),
    )?;
    let since = since?;
    db.read(move |conn| {
        let mut query = revocation_events::table
            .select(RevocationEventRow::as_select())
            .into_boxed();
        if let Some(since) = since {
            query = query.filter(revocation_events::revoked_at.gt(since));
        }
        let rows: Vec<RevocationEventRow> = query
            .order((
                revocation_events::revoked_at.asc(),
                revocation_events::id.asc(),
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|row| ListedEvent {
                revoked_at: row.revoked_at,
                event: to_event(row),
            })
            .collect())
    })
    .await
}

/// Removes events that can no longer match a token: older than the longest
/// token life plus the allow-expired window.
pub fn prune(conn: &mut Conn, older_than_seconds: i64) -> Result<usize, Error> {
    let cutoff = now_micros() - older_than_seconds * MICROS;
    Ok(
        diesel::delete(revocation_events::table.filter(revocation_events::revoked_at.lt(cutoff)))
            .execute(conn)?,
    )
}
