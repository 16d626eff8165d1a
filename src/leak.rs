//! Leak response: a scanner (a user with the `leak_reporter` role, or an
//! admin) reports secrets or access keys it found exposed; each key that
//! matches gets its `action_when_leaked` (none, disable, delete; the
//! deployment's default otherwise) and is marked leaked for its owner.
//!
//! A report is stored (as digests, never the values) and answered before
//! it is processed, so neither the answer nor its timing says whether
//! anything matched. Processing runs right after, and again from upkeep
//! for reports a crash left behind. It crosses the credential and
//! application-credential subsystems, as `cascade` does.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::audit::Initiator;
use crate::error::Error;
use crate::lifecycle::LeakAction;
use crate::policy::{self, Caller, Input, Target};
use crate::store::schema::{application_credentials, credentials, leak_report_items, leak_reports};
use crate::store::{new_id, now_micros, Conn, Database};

/// At most this many values per report, as GitHub's revocation API.
pub const MAX_REPORTED: usize = 1000;

/// What a reporter sent.
#[derive(Debug)]
pub struct Report {
    /// Exposed secrets or access keys.
    pub values: Vec<String>,
    /// Where they were found (a URL), for the record.
    pub source: Option<String>,
}

#[derive(Clone)]
pub struct Leaks {
    db: Database,
    default_action: LeakAction,
    /// To name a leaked pair by its access key in the audit trail.
    cipher: std::sync::Arc<crate::credential::CredentialCipher>,
}

impl Leaks {
    pub fn new(
        db: Database,
        default_action: LeakAction,
        cipher: std::sync::Arc<crate::credential::CredentialCipher>,
    ) -> Self {
        Leaks {
            db,
            default_action,
            cipher,
        }
    }

    /// Records a report and starts processing it; the report's id. The
    /// answer is the same whatever the values match.
    pub async fn report(&self, caller: &Caller, report: Input<Report>) -> Result<String, Error> {
        policy::enforce(policy::REPORT_LEAKED_KEYS, caller, Target::default())?;
        let report = report?;
        // A value in our scannable format with a wrong checksum is not one
        // of our secrets: nothing to look up.
        let digests: BTreeSet<String> = report
            .values
            .iter()
            .filter(|v| crate::scannable::classify(v) != crate::scannable::Shape::Malformed)
            .map(|v| crate::credential::secret_digest(v))
            .collect();
        let id = new_id();
        let (reporter, received) = (caller.user_id().to_string(), report.values.len());
        let (row_id, source) = (id.clone(), report.source);
        self.db
            .write(move |conn| {
                diesel::insert_into(leak_reports::table)
                    .values((
                        leak_reports::id.eq(&row_id),
                        leak_reports::reporter_id.eq(&reporter),
                        leak_reports::source.eq(&source),
                        leak_reports::received_at.eq(now_micros()),
                        leak_reports::items.eq(received as i32),
                    ))
                    .execute(conn)?;
                for digest in &digests {
                    diesel::insert_into(leak_report_items::table)
                        .values((
                            leak_report_items::report_id.eq(&row_id),
                            leak_report_items::digest.eq(digest),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .await?;
        let leaks = self.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = leaks.process_pending().await {
                tracing::warn!(error = %e, "cannot process a leak report yet; upkeep retries");
            }
        });
        Ok(id)
    }

    /// Applies every report not yet processed; how many keys matched.
    pub async fn process_pending(&self) -> Result<usize, Error> {
        let (default, cipher) = (self.default_action, self.cipher.clone());
        self.db
            .write(move |conn| {
                let pending: Vec<String> = leak_reports::table
                    .filter(leak_reports::processed_at.is_null())
                    .order(leak_reports::received_at.asc())
                    .select(leak_reports::id)
                    .load(conn)?;
                let mut matched = 0;
                for report in pending {
                    matched += process(conn, &cipher, &report, default)?;
                }
                Ok(matched)
            })
            .await
    }
}

/// Applies one report, in the caller's transaction.
fn process(
    conn: &mut Conn,
    cipher: &crate::credential::CredentialCipher,
    report: &str,
    default: LeakAction,
) -> Result<usize, Error> {
    let why = || Some(format!("leak report {report}"));
    let now = now_micros();
    // Claim the report first. Two processors at once (the one a report
    // starts and the upkeep's) both read it as pending; on PostgreSQL and
    // MariaDB the second's claim waits for the first's commit and then
    // finds it processed, so each report acts, and is audited, once.
    let claimed = diesel::update(
        leak_reports::table
            .find(report)
            .filter(leak_reports::processed_at.is_null()),
    )
    .set(leak_reports::processed_at.eq(Some(now)))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(0);
    }
    let digests: Vec<String> = leak_report_items::table
        .filter(leak_report_items::report_id.eq(report))
        .select(leak_report_items::digest)
        .load(conn)?;
    let pairs: Vec<(String, Option<String>, Option<String>)> = credentials::table
        .filter(credentials::credential_type.eq(crate::credential::EC2))
        .filter(
            credentials::access_digest
                .eq_any(&digests)
                .or(credentials::secret_digest.eq_any(&digests)),
        )
        .select((
            credentials::id,
            credentials::action_when_leaked,
            credentials::secret_digest,
        ))
        .load(conn)?;
    let app_creds: Vec<(String, Option<String>)> = application_credentials::table
        .filter(application_credentials::secret_digest.eq_any(&digests))
        .select((
            application_credentials::id,
            application_credentials::action_when_leaked,
        ))
        .load(conn)?;
    let action = |own: &Option<String>| {
        own.as_deref()
            .and_then(LeakAction::parse)
            .unwrap_or(default)
    };
    for (id, own, secret) in &pairs {
        // An access key is no secret (it travels in every signed request
        // and sits in logs and the audit trail): naming one only marks the
        // pair leaked. Acting on it would let a reporter disable any key
        // it has merely seen; the pair's action needs its secret.
        let own = if secret.as_ref().is_some_and(|d| digests.contains(d)) {
            own.clone()
        } else {
            Some(LeakAction::None.as_str().to_string())
        };
        let own = &own;
        let target = credentials::table.find(id);
        let leaked = crate::credential::get(conn, cipher, id)?
            .and_then(|p| crate::credential::pair_event("leaked", &p, Initiator::Service, why()));
        if let Some(event) = leaked {
            crate::audit::record(conn, &event)?;
        }
        match action(own) {
            LeakAction::Delete => {
                crate::credential::delete(conn, id)?;
            }
            LeakAction::Disable => {
                diesel::update(target)
                    .set((
                        credentials::enabled.eq(false),
                        credentials::leaked_at.eq(Some(now)),
                    ))
                    .execute(conn)?;
            }
            LeakAction::None => {
                diesel::update(target)
                    .set(credentials::leaked_at.eq(Some(now)))
                    .execute(conn)?;
            }
        }
    }
    for (id, own) in &app_creds {
        let target = application_credentials::table.find(id);
        if let Some(a) = crate::application_credential::get(conn, id)? {
            let event =
                crate::application_credential::event("leaked", &a, Initiator::Service, why());
            crate::audit::record(conn, &event)?;
        }
        match action(own) {
            LeakAction::Delete => crate::application_credential::delete(conn, id)?,
            LeakAction::Disable => {
                // No enabled flag in Keystone's model: it ends now, and its
                // tokens with it, unless it already ended.
                diesel::update(target)
                    .set(application_credentials::leaked_at.eq(Some(now)))
                    .execute(conn)?;
                diesel::update(
                    target.filter(
                        application_credentials::expires_at
                            .is_null()
                            .or(application_credentials::expires_at.gt(now)),
                    ),
                )
                .set(application_credentials::expires_at.eq(Some(now)))
                .execute(conn)?;
            }
            LeakAction::None => {
                diesel::update(target)
                    .set(application_credentials::leaked_at.eq(Some(now)))
                    .execute(conn)?;
            }
        }
    }
    let matched = pairs.len() + app_creds.len();
    diesel::update(leak_reports::table.find(report))
        .set(leak_reports::matched.eq(Some(matched as i32)))
        .execute(conn)?;
    if matched > 0 {
        tracing::warn!(
            report,
            pairs = pairs.len(),
            application_credentials = app_creds.len(),
            "keys reported leaked; their actions applied"
        );
    }
    Ok(matched)
}
