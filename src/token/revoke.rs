//! Keystone's revocation model (`keystone/models/revoke_model.py`): an
//! event revokes every token whose attributes match all of the event's
//! non-empty fields and that was issued at or before `issued_before`,
//! compared in whole seconds.

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
}
