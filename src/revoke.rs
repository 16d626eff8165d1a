//! Revoke subsystem: storing revocation events and checking tokens
//! against them. The matching rule itself is pure, in `token::revoke`.

use diesel::prelude::*;

use crate::error::Error;
use crate::store::rows::RevocationEventRow;
use crate::store::schema::revocation_events;
use crate::store::{new_id, now_micros, Conn, Database};
use std::collections::HashSet;
use std::sync::Arc;

use crate::token::revoke::{RevocationEvent, RevocationIndex, TokenFacts};

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

/// The stored events as a node holds them between changes. Every write
/// anywhere is a change, so a change loads only the events recorded since
/// the last load, into a segment of their own; segments are merged as a
/// binary counter carries (two of like size become one), so each event is
/// copied O(log n) times in all and a token is checked against O(log n)
/// segments. The events held know the newest `revoked_at` among them and
/// how many are older: when the database has another number of those (an
/// event recorded with an older time, as an import records Keystone's or a
/// node with a slow clock does, or events pruned), everything is loaded
/// again.
#[derive(Debug, Clone)]
pub struct HeldEvents {
    segments: Vec<Arc<RevocationIndex>>,
    len: usize,
    newest: i64,
    /// The ids of the events recorded at `newest` (times are whole
    /// seconds: the next load reads that second again).
    at_newest: Arc<HashSet<String>>,
}

impl HeldEvents {
    pub fn revokes(&self, facts: &TokenFacts<'_>) -> bool {
        self.segments.iter().any(|s| s.revokes(facts))
    }

    fn from_rows(rows: Vec<RevocationEventRow>) -> Self {
        let held = HeldEvents {
            segments: Vec::new(),
            len: 0,
            newest: i64::MIN,
            at_newest: Arc::default(),
        };
        held.with(rows)
    }

    /// These events and `rows` (none of which they hold).
    fn with(&self, rows: Vec<RevocationEventRow>) -> Self {
        let newest = rows
            .iter()
            .map(|r| r.revoked_at)
            .max()
            .unwrap_or(i64::MIN)
            .max(self.newest);
        let mut at_newest: HashSet<String> = if newest == self.newest {
            (*self.at_newest).clone()
        } else {
            HashSet::new()
        };
        at_newest.extend(
            rows.iter()
                .filter(|r| r.revoked_at == newest)
                .map(|r| r.id.clone()),
        );
        let mut segments = self.segments.clone();
        let added = rows.len();
        if added > 0 {
            segments.push(Arc::new(rows.into_iter().map(to_event).collect()));
        }
        while let [.., older, newer] = segments.as_slice() {
            if older.len() > 2 * newer.len() {
                break;
            }
            let merged = Arc::new(RevocationIndex::merged(older, newer));
            segments.truncate(segments.len() - 2);
            segments.push(merged);
        }
        HeldEvents {
            segments,
            len: self.len + added,
            newest,
            at_newest: Arc::new(at_newest),
        }
    }
}

/// Every stored event, for the in-memory check, or `None` when there are
/// more than `limit` (then tokens are checked with [`is_revoked`]).
pub fn load_all(conn: &mut Conn, limit: i64) -> Result<Option<HeldEvents>, Error> {
    // Counted first: past the limit, every change would otherwise read
    // `limit` rows only to find there are more.
    let count: i64 = revocation_events::table.count().get_result(conn)?;
    if count > limit {
        return Ok(None);
    }
    let rows: Vec<RevocationEventRow> = revocation_events::table
        .select(RevocationEventRow::as_select())
        .limit(limit + 1)
        .load(conn)?;
    if rows.len() as i64 > limit {
        return Ok(None);
    }
    Ok(Some(HeldEvents::from_rows(rows)))
}

/// `held` brought up to date with the events recorded since: those at or
/// after its newest time are read, and those before counted (they cannot
/// have changed while their number has not). Everything is read again when
/// it has, or when there is no `held`.
pub fn refresh(
    conn: &mut Conn,
    held: Option<&HeldEvents>,
    limit: i64,
) -> Result<Option<HeldEvents>, Error> {
    let Some(held) = held else {
        return load_all(conn, limit);
    };
    let room = limit - held.len as i64 + held.at_newest.len() as i64;
    let rows: Vec<RevocationEventRow> = revocation_events::table
        .filter(revocation_events::revoked_at.ge(held.newest))
        .select(RevocationEventRow::as_select())
        .limit(room.max(0) + 1)
        .load(conn)?;
    if rows.len() as i64 > room {
        return load_all(conn, limit);
    }
    // Counted after the recent events are read: an older event committed
    // in between is counted, and so everything is read again.
    let older: i64 = revocation_events::table
        .filter(revocation_events::revoked_at.lt(held.newest))
        .count()
        .get_result(conn)?;
    if older as usize != held.len - held.at_newest.len() {
        return load_all(conn, limit);
    }
    let new: Vec<RevocationEventRow> = rows
        .into_iter()
        .filter(|r| !held.at_newest.contains(&r.id))
        .collect();
    Ok(Some(held.with(new)))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(i: usize, revoked_at: i64) -> RevocationEventRow {
        RevocationEventRow {
            id: format!("{i:032x}"),
            domain_id: None,
            project_id: None,
            user_id: Some(format!("u{}", i % 7)),
            role_id: None,
            trust_id: None,
            consumer_id: None,
            access_token_id: None,
            issued_before: (i as i64 % 5) * MICROS,
            expires_at: None,
            revoked_at,
            audit_id: None,
            audit_chain_id: None,
        }
    }

    /// Events added a few at a time, as changes bring them, are held in a
    /// number of segments that grows as the logarithm of their count, and
    /// answer as every event does.
    #[test]
    fn events_added_change_by_change_stay_in_few_segments() {
        let mut held = HeldEvents::from_rows(Vec::new());
        let mut all = Vec::new();
        for i in 0..2_000 {
            let rows: Vec<RevocationEventRow> =
                (0..(i % 3)).map(|j| row(i * 3 + j, i as i64)).collect();
            all.extend(rows.iter().cloned().map(to_event));
            held = held.with(rows);
            let bound = 2 * (usize::BITS - held.len.leading_zeros()) as usize + 2;
            assert!(
                held.segments.len() <= bound,
                "{} segments",
                held.segments.len()
            );
        }
        assert_eq!(held.len, all.len());
        assert_eq!(
            held.segments.iter().map(|s| s.len()).sum::<usize>(),
            all.len()
        );
        for user in 0..8 {
            for issued_at in 0..6 {
                let user = format!("u{user}");
                let facts = TokenFacts {
                    user_id: &user,
                    issued_at,
                    audit_id: "a",
                    ..Default::default()
                };
                let every = all.iter().any(|e| e.revokes(&facts));
                assert_eq!(held.revokes(&facts), every, "{user} at {issued_at}");
            }
        }
    }
}
