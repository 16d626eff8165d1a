//! Keystone's revocation model (`keystone/models/revoke_model.py`): an
//! event revokes every token whose attributes match all of the event's
//! non-empty fields and that was issued at or before `issued_before`,
//! compared in whole seconds.

use std::collections::HashMap;

/// A revocation event, times in Unix seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevocationEvent {
    pub domain_id: Option<String>,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub role_id: Option<String>,
    pub trust_id: Option<String>,
    pub consumer_id: Option<String>,
    pub access_token_id: Option<String>,
    pub issued_before: i64,
    pub expires_at: Option<i64>,
    pub audit_id: Option<String>,
    pub audit_chain_id: Option<String>,
}

/// The attributes of a token that events are matched against.
#[derive(Debug, Clone, Default)]
pub struct TokenFacts<'a> {
    pub user_id: &'a str,
    pub trustor_id: Option<&'a str>,
    pub trustee_id: Option<&'a str>,
    pub identity_domain_id: Option<&'a str>,
    pub project_id: Option<&'a str>,
    /// The domain of the scope: the project's domain or the scoped domain.
    pub assignment_domain_id: Option<&'a str>,
    pub trust_id: Option<&'a str>,
    pub consumer_id: Option<&'a str>,
    pub access_token_id: Option<&'a str>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub audit_id: &'a str,
    pub parent_audit_id: Option<&'a str>,
    pub role_ids: &'a [String],
}

fn field_matches(event: &Option<String>, candidates: &[Option<&str>]) -> bool {
    match event {
        None => true,
        Some(value) => candidates.iter().flatten().any(|c| *c == value),
    }
}

impl RevocationEvent {
    /// True when this event revokes a token with these facts.
    pub fn revokes(&self, t: &TokenFacts<'_>) -> bool {
        if self.issued_before < t.issued_at {
            return false;
        }
        field_matches(
            &self.user_id,
            &[Some(t.user_id), t.trustor_id, t.trustee_id],
        ) && field_matches(&self.project_id, &[t.project_id])
            && field_matches(&self.audit_id, &[Some(t.audit_id)])
            && field_matches(&self.trust_id, &[t.trust_id])
            && field_matches(
                &self.domain_id,
                &[t.identity_domain_id, t.assignment_domain_id],
            )
            && field_matches(&self.consumer_id, &[t.consumer_id])
            && field_matches(&self.access_token_id, &[t.access_token_id])
            && field_matches(
                &self.audit_chain_id,
                &[t.parent_audit_id.or(Some(t.audit_id))],
            )
            && self.expires_at.is_none_or(|e| e == t.expires_at)
            && self
                .role_id
                .as_ref()
                .is_none_or(|r| t.role_ids.iter().any(|tr| tr == r))
    }
}

/// The events held in memory, filed under what nearly every one names (a
/// user, a token's audit id, an audit chain), so that a token is checked
/// against its own candidates rather than against every event: the events
/// grow with every user deleted and every role taken away, and every
/// request checks at least its caller's token.
#[derive(Debug, Default)]
pub struct RevocationIndex {
    by_user: HashMap<String, Vec<RevocationEvent>>,
    by_audit: HashMap<String, Vec<RevocationEvent>>,
    by_chain: HashMap<String, Vec<RevocationEvent>>,
    /// Events naming none of the three (a project, a domain, a role…).
    others: Vec<RevocationEvent>,
    len: usize,
}

impl FromIterator<RevocationEvent> for RevocationIndex {
    fn from_iter<I: IntoIterator<Item = RevocationEvent>>(events: I) -> Self {
        let mut index = RevocationIndex::default();
        for event in events {
            // An event naming a user can only revoke that user's tokens
            // (or those it is trustor or trustee of), one naming an audit
            // id only that token, one naming a chain only its tokens.
            let list = if let Some(user) = &event.user_id {
                index.by_user.entry(user.clone()).or_default()
            } else if let Some(audit) = &event.audit_id {
                index.by_audit.entry(audit.clone()).or_default()
            } else if let Some(chain) = &event.audit_chain_id {
                index.by_chain.entry(chain.clone()).or_default()
            } else {
                &mut index.others
            };
            list.push(event);
            index.len += 1;
        }
        index
    }
}

impl RevocationIndex {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every event held, in no particular order.
    pub fn events(&self) -> impl Iterator<Item = &RevocationEvent> {
        self.by_user
            .values()
            .chain(self.by_audit.values())
            .chain(self.by_chain.values())
            .flatten()
            .chain(&self.others)
    }

    /// One index holding the events of both.
    pub fn merged(a: &Self, b: &Self) -> Self {
        a.events().chain(b.events()).cloned().collect()
    }

    /// True when any held event revokes a token with these facts: the same
    /// answer as asking every event, from the token's candidates alone.
    pub fn revokes(&self, t: &TokenFacts<'_>) -> bool {
        let users = [Some(t.user_id), t.trustor_id, t.trustee_id];
        let by_user = users
            .into_iter()
            .flatten()
            .filter_map(|u| self.by_user.get(u));
        let by_audit = self.by_audit.get(t.audit_id);
        let by_chain = self.by_chain.get(t.parent_audit_id.unwrap_or(t.audit_id));
        by_user
            .chain(by_audit)
            .chain(by_chain)
            .flatten()
            .chain(&self.others)
            .any(|e| e.revokes(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(issued_at: i64, roles: &'a [String]) -> TokenFacts<'a> {
        TokenFacts {
            user_id: "u1",
            project_id: Some("p1"),
            identity_domain_id: Some("default"),
            assignment_domain_id: Some("default"),
            issued_at,
            expires_at: 5000,
            audit_id: "a1",
            parent_audit_id: Some("root"),
            role_ids: roles,
            ..Default::default()
        }
    }

    #[test]
    fn user_event_revokes_tokens_issued_up_to_the_same_second() {
        let e = RevocationEvent {
            user_id: Some("u1".into()),
            issued_before: 100,
            ..Default::default()
        };
        assert!(e.revokes(&facts(99, &[])));
        assert!(e.revokes(&facts(100, &[])), "same second is revoked");
        assert!(!e.revokes(&facts(101, &[])));
        let other = RevocationEvent {
            user_id: Some("u2".into()),
            issued_before: 100,
            ..Default::default()
        };
        assert!(!other.revokes(&facts(99, &[])));
    }

    #[test]
    fn audit_and_chain_events() {
        let by_audit = RevocationEvent {
            audit_id: Some("a1".into()),
            issued_before: 100,
            ..Default::default()
        };
        assert!(by_audit.revokes(&facts(50, &[])));
        let by_chain = RevocationEvent {
            audit_chain_id: Some("root".into()),
            issued_before: 100,
            ..Default::default()
        };
        assert!(by_chain.revokes(&facts(50, &[])));
        let mut unchained = facts(50, &[]);
        unchained.parent_audit_id = None;
        unchained.audit_id = "root";
        assert!(
            by_chain.revokes(&unchained),
            "the chain root itself is revoked"
        );
        unchained.audit_id = "zzz";
        assert!(!by_chain.revokes(&unchained));
    }

    #[test]
    fn project_domain_and_role_fields_must_all_match() {
        let roles = vec!["r1".to_string()];
        let e = RevocationEvent {
            project_id: Some("p1".into()),
            role_id: Some("r1".into()),
            issued_before: 100,
            ..Default::default()
        };
        assert!(e.revokes(&facts(50, &roles)));
        assert!(!e.revokes(&facts(50, &[])));
        let d = RevocationEvent {
            domain_id: Some("other".into()),
            issued_before: 100,
            ..Default::default()
        };
        assert!(!d.revokes(&facts(50, &[])));
    }

    use proptest::prelude::*;

    fn pick(options: &[&str], i: u8) -> Option<String> {
        options.get(i as usize).map(|s| s.to_string())
    }

    prop_compose! {
        fn event()(user in 0u8..4, audit in 0u8..4, chain in 0u8..4, project in 0u8..3,
                   role in 0u8..3, issued_before in 0i64..4) -> RevocationEvent {
            RevocationEvent {
                user_id: pick(&["u1", "u2", "t1"], user),
                audit_id: pick(&["a1", "a2", "root"], audit),
                audit_chain_id: pick(&["root", "a1", "a2"], chain),
                project_id: pick(&["p1", "p2"], project),
                role_id: pick(&["r1", "r2"], role),
                issued_before,
                ..Default::default()
            }
        }
    }

    proptest! {
        /// The index answers as asking every event does.
        #[test]
        fn the_index_answers_as_every_event_does(
            events in proptest::collection::vec(event(), 0..30),
            issued_at in 0i64..4, user in 0u8..3, trustor in 0u8..4, audit in 0u8..3, parent in 0u8..4,
        ) {
            let roles = ["r1".to_string()];
            let mut t = facts(issued_at, &roles);
            let users = ["u1", "u2", "t1"];
            t.user_id = users[user as usize];
            t.trustor_id = users.get(trustor as usize).copied();
            t.audit_id = ["a1", "a2", "root"][audit as usize];
            t.parent_audit_id = ["root", "a1", "a2"].get(parent as usize).copied();
            let every = events.iter().any(|e| e.revokes(&t));
            let index: RevocationIndex = events.into_iter().collect();
            prop_assert_eq!(index.revokes(&t), every);
        }
    }
}
