//! The credential subsystem's use cases: Keystone's `/v3/credentials` and
//! OS-EC2, and SODA's AK/SK pairs, over the one encrypted store. Each
//! public method runs the rules (delegated tokens refused first, then the
//! action's rule) and then one transaction.

use std::sync::Arc;

use crate::audit::{self, Initiator};
use crate::error::Error;
use crate::lifecycle::Lifetime;
use crate::policy::{self, Caller, Input, Policy, Target};
use crate::secret::Secret;
use crate::store::{Conn, Database};
use crate::{assignment, identity, resource};

use super::{Credential, CredentialCipher, Filter, KeyMeta, MetaPatch, NewCredential, EC2};

/// A credential to create through `/v3/credentials`.
#[derive(Debug)]
pub struct CredentialInput {
    pub blob: String,
    pub credential_type: String,
    pub user_id: String,
    pub project_id: Option<String>,
    /// Attributes Keystone keeps in `extra`.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An AK/SK pair to create through SODA's API. `meta` is checked once the
/// caller may create the pair.
#[derive(Debug)]
pub struct AkskInput {
    pub project_id: String,
    pub user_id: String,
    pub meta: Input<MetaPatch>,
}

/// A new pair: the only time its secret is shown.
#[derive(Debug)]
pub struct NewPair {
    pub access: String,
    pub secret: Secret,
}

/// A rotation's outcome: the replacement (its secret shown once) and the
/// pair it replaces, now set to expire.
#[derive(Debug)]
pub struct Rotated {
    pub pair: NewPair,
    pub replacement: Credential,
    pub previous: Credential,
}

#[derive(Clone)]
pub struct Credentials {
    db: Database,
    cipher: Arc<CredentialCipher>,
    settings: Settings,
}

/// What the deployment decides about keys (`[credential]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Credentials per user; negative for no limit.
    pub user_limit: i64,
    /// New secret keys are scannable (`irsk_…`).
    pub secret_prefix: bool,
    /// How long keys may live, and when they count as expiring or unused.
    pub lifetime: Lifetime,
}

/// The user must exist, and the project when one is named.
fn check_owner_exists(
    conn: &mut Conn,
    user_id: &str,
    project_id: Option<&str>,
) -> Result<(), Error> {
    if identity::get_user(conn, user_id)?.is_none() {
        return Err(identity::not_found_user(user_id));
    }
    if let Some(p) = project_id {
        if resource::get_project(conn, p)?.is_none() {
            return Err(resource::not_found_project(p));
        }
    }
    Ok(())
}

/// SODA: the project and user exist (400 when not, on create), and the
/// user has a role on the project.
fn check_membership(conn: &mut Conn, project_id: &str, user_id: &str) -> Result<(), Error> {
    let project = resource::get_project(conn, project_id)?
        .ok_or_else(|| Error::BadRequest(format!("Could not find project: {project_id}.")))?;
    if identity::get_user(conn, user_id)?.is_none() {
        return Err(Error::BadRequest(format!(
            "Could not find user: {user_id}."
        )));
    }
    if assignment::effective_project_roles(conn, user_id, &project)?.is_empty() {
        return Err(Error::BadRequest(format!(
            "User {user_id} has no role on project {project_id}; grant one before creating AK/SK pairs."
        )));
    }
    Ok(())
}

/// The project and the user of an AK/SK path exist (404 when not).
fn check_path_owner(conn: &mut Conn, project_id: &str, user_id: &str) -> Result<(), Error> {
    if resource::get_project(conn, project_id)?.is_none() {
        return Err(resource::not_found_project(project_id));
    }
    if identity::get_user(conn, user_id)?.is_none() {
        return Err(identity::not_found_user(user_id));
    }
    Ok(())
}

fn enabled_meta() -> KeyMeta {
    KeyMeta {
        enabled: true,
        ..Default::default()
    }
}

impl Credentials {
    pub fn new(db: Database, cipher: Arc<CredentialCipher>, settings: Settings) -> Self {
        Credentials {
            db,
            cipher,
            settings,
        }
    }

    /// How long keys may live, and when they count as expiring or unused.
    pub fn lifetime(&self) -> Lifetime {
        self.settings.lifetime
    }

    /// Disables the pairs unused for `credential.disable_unused_after`
    /// (upkeep); how many.
    pub async fn disable_unused(&self) -> Result<usize, Error> {
        let Some(before) = self
            .settings
            .lifetime
            .unused_before(crate::store::now_micros())
        else {
            return Ok(0);
        };
        let cipher = self.cipher.clone();
        self.db
            .write(move |conn| {
                let ids = super::disable_unused(conn, before)?;
                for id in &ids {
                    let pair = super::get(conn, &cipher, id)?;
                    let event = pair.and_then(|p| {
                        super::pair_event("disabled", &p, Initiator::Service, Some("unused".into()))
                    });
                    if let Some(event) = event {
                        audit::record(conn, &event)?;
                    }
                }
                Ok(ids.len())
            })
            .await
    }

    /// The metadata of a credential made through Keystone's APIs, which
    /// cannot ask for an expiry: ec2 pairs get the longest allowed.
    fn implied_meta(&self, credential_type: &str) -> KeyMeta {
        KeyMeta {
            expires_at: (credential_type == EC2)
                .then(|| self.settings.lifetime.implied(crate::store::now_micros()))
                .flatten(),
            ..enabled_meta()
        }
    }

    /// A new secret key: scannable (`irsk_…`) unless the deployment keeps
    /// the plain formats, then `plain()` (SODA's or Keystone's).
    fn new_secret(&self, plain: impl FnOnce() -> String) -> Secret {
        Secret::new(if self.settings.secret_prefix {
            crate::scannable::generate(crate::scannable::Kind::PairSecret)
        } else {
            plain()
        })
    }

    /// Stores a new credential after the user limit; a pair's creation is
    /// audited in the same transaction.
    async fn store(
        &self,
        new: NewCredential,
        initiator: Initiator,
        check: impl FnOnce(&mut Conn) -> Result<(), Error> + Send + 'static,
    ) -> Result<Credential, Error> {
        let (cipher, limit) = (self.cipher.clone(), self.settings.user_limit);
        self.db
            .write(move |conn| {
                check(conn)?;
                super::check_user_limit(conn, &new.user_id, limit)?;
                let created = super::create(conn, &cipher, new)?;
                if let Some(event) = super::pair_event("created", &created, initiator, None) {
                    audit::record(conn, &event)?;
                }
                Ok(created)
            })
            .await
    }

    async fn fetch(&self, id: String) -> Result<Option<Credential>, Error> {
        let cipher = self.cipher.clone();
        self.db
            .read(move |conn| super::get(conn, &cipher, &id))
            .await
    }

    /// Deletes one credential; a pair's deletion is audited with it.
    async fn delete_key(&self, found: Credential, initiator: Initiator) -> Result<(), Error> {
        self.db
            .write(move |conn| {
                super::delete(conn, &found.id)?;
                if let Some(event) = super::pair_event("deleted", &found, initiator, None) {
                    audit::record(conn, &event)?;
                }
                Ok(())
            })
            .await
    }

    /// `POST /v3/credentials`.
    pub async fn create(
        &self,
        caller: &Caller,
        new: Input<CredentialInput>,
    ) -> Result<Credential, Error> {
        policy::refuse_delegated_credentials(caller)?;
        let new = new?;
        policy::enforce(
            policy::CREATE_CREDENTIAL,
            caller,
            Target::owned_by(&new.user_id),
        )?;
        let id = if new.credential_type.eq_ignore_ascii_case(EC2) {
            if new.project_id.is_none() {
                return Err(Error::invalid(
                    "credential",
                    "'project_id' is a required property for ec2 credentials",
                ));
            }
            super::ec2_credential_id(&super::parse_ec2_blob(&new.blob)?.access)
        } else {
            crate::store::new_id()
        };
        let (user_id, project_id) = (new.user_id.clone(), new.project_id.clone());
        self.store(
            NewCredential {
                id,
                user_id: new.user_id,
                project_id: new.project_id,
                meta: KeyMeta {
                    extra: new.extra,
                    ..self.implied_meta(&new.credential_type.to_ascii_lowercase())
                },
                credential_type: new.credential_type.to_ascii_lowercase(),
                blob: Secret::new(new.blob),
                secret_digest: None,
            },
            Initiator::of(caller),
            move |conn| check_owner_exists(conn, &user_id, project_id.as_deref()),
        )
        .await
    }

    /// `GET /v3/credentials`: callers who are neither admin nor system
    /// reader see only their own.
    pub async fn list(
        &self,
        caller: &Caller,
        mut filter: Filter,
    ) -> Result<Vec<Credential>, Error> {
        policy::refuse_delegated_credentials(caller)?;
        filter.user_id = policy::credential_list_user(caller, filter.user_id.take());
        let cipher = self.cipher.clone();
        let mut found = self
            .db
            .read(move |conn| super::list(conn, &cipher, &filter))
            .await?;
        found.retain(|c| {
            policy::allows(
                policy::LIST_CREDENTIALS,
                caller,
                Target::owned_by(&c.user_id),
            )
        });
        Ok(found)
    }

    /// A credential for `rule` in Keystone's order: the rule is checked
    /// first, against the credential when it exists and against an empty
    /// target when it does not. A caller who may not act on it gets the
    /// same 403 whether it exists or not; only callers the rule lets
    /// through learn that it is missing (404).
    async fn load_for(
        &self,
        caller: &Caller,
        rule: Policy,
        id: Input<String>,
    ) -> Result<Credential, Error> {
        let id = id?;
        let found = self.fetch(id.clone()).await?;
        let target = Target {
            user_id: found.as_ref().map(|c| c.user_id.as_str()),
            ..Default::default()
        };
        policy::enforce(rule, caller, target)?;
        found.ok_or_else(|| super::not_found(&id))
    }

    pub async fn get(&self, caller: &Caller, id: Input<String>) -> Result<Credential, Error> {
        policy::refuse_delegated_credentials(caller)?;
        self.load_for(caller, policy::GET_CREDENTIAL, id).await
    }

    /// Only the blob may change. An ec2 blob may take a new access key (as
    /// in Keystone, the id stays) and the pair then answers to it.
    pub async fn update(
        &self,
        caller: &Caller,
        id: Input<String>,
        blob: Input<String>,
    ) -> Result<Credential, Error> {
        policy::refuse_delegated_credentials(caller)?;
        let blob = blob?;
        let found = self.load_for(caller, policy::UPDATE_CREDENTIAL, id).await?;
        if found.credential_type == EC2 {
            super::check_ec2_blob_update(&found.ec2()?, &super::parse_ec2_blob(&blob)?)?;
        }
        let (cipher, id, blob) = (self.cipher.clone(), found.id, Secret::new(blob));
        let kind = found.credential_type;
        self.db
            .write(move |conn| {
                super::update_blob(conn, &cipher, &id, &kind, &blob)?;
                super::get(conn, &cipher, &id)?.ok_or_else(|| super::not_found(&id))
            })
            .await
    }

    pub async fn delete(&self, caller: &Caller, id: Input<String>) -> Result<(), Error> {
        policy::refuse_delegated_credentials(caller)?;
        let found = self.load_for(caller, policy::DELETE_CREDENTIAL, id).await?;
        self.delete_key(found, Initiator::of(caller)).await
    }

    fn enforce_ec2(caller: &Caller, rule: Policy, user_id: &str) -> Result<(), Error> {
        policy::refuse_delegated_credentials(caller)?;
        policy::enforce(rule, caller, Target::owned_by(user_id))
    }

    /// `POST /v3/users/{user_id}/credentials/OS-EC2`: Keystone's uuid-hex
    /// access and secret.
    pub async fn ec2_create(
        &self,
        caller: &Caller,
        user_id: String,
        tenant_id: Input<String>,
    ) -> Result<Credential, Error> {
        Self::enforce_ec2(caller, policy::EC2_CREATE_CREDENTIAL, &user_id)?;
        let tenant_id = tenant_id?;
        let access = crate::store::new_id();
        let secret = self.new_secret(crate::store::new_id);
        let (owner, project) = (user_id.clone(), tenant_id.clone());
        self.store(
            NewCredential {
                id: super::ec2_credential_id(&access),
                user_id,
                project_id: Some(tenant_id),
                credential_type: EC2.into(),
                blob: Secret::new(super::ec2_blob(&access, secret.expose())),
                meta: self.implied_meta(EC2),
                secret_digest: Some(super::secret_digest(secret.expose())),
            },
            Initiator::of(caller),
            move |conn| check_owner_exists(conn, &owner, Some(&project)),
        )
        .await
    }

    pub async fn ec2_list(
        &self,
        caller: &Caller,
        user_id: String,
    ) -> Result<Vec<Credential>, Error> {
        Self::enforce_ec2(caller, policy::EC2_LIST_CREDENTIALS, &user_id)?;
        let cipher = self.cipher.clone();
        let filter = Filter {
            user_id: Some(user_id),
            credential_type: Some(EC2.into()),
            ..Default::default()
        };
        self.db
            .read(move |conn| super::list(conn, &cipher, &filter))
            .await
    }

    /// An ec2 credential of `user_id` by access key, under `rule`. As in
    /// Keystone, the pair is looked up first (a missing one is a 404 for
    /// any caller) and the rule is checked against its owner; a pair of
    /// another user than the path's is a 404 too (Keystone serves it).
    async fn load_ec2(
        &self,
        caller: &Caller,
        rule: Policy,
        user_id: &str,
        access: &str,
    ) -> Result<Credential, Error> {
        let id = super::ec2_credential_id(access);
        let (cipher, key) = (self.cipher.clone(), access.to_string());
        let found = self
            .db
            .read(move |conn| super::get_by_access(conn, &cipher, &key))
            .await?
            .filter(|c| c.credential_type == EC2)
            .ok_or_else(|| super::not_found(&id))?;
        Self::enforce_ec2(caller, rule, &found.user_id)?;
        if found.user_id != user_id {
            return Err(super::not_found(&id));
        }
        Ok(found)
    }

    pub async fn ec2_get(
        &self,
        caller: &Caller,
        user_id: String,
        access: String,
    ) -> Result<Credential, Error> {
        self.load_ec2(caller, policy::EC2_GET_CREDENTIAL, &user_id, &access)
            .await
    }

    pub async fn ec2_delete(
        &self,
        caller: &Caller,
        user_id: String,
        access: String,
    ) -> Result<(), Error> {
        let found = self
            .load_ec2(caller, policy::EC2_DELETE_CREDENTIAL, &user_id, &access)
            .await?;
        self.delete_key(found, Initiator::of(caller)).await
    }

    /// `POST /v1/{project_id}/aksks`. The body's project must be the
    /// path's, unless an admin creates for another project.
    pub async fn aksk_create(
        &self,
        caller: &Caller,
        path_project: String,
        new: Input<AkskInput>,
    ) -> Result<NewPair, Error> {
        policy::refuse_delegated_credentials(caller)?;
        let new = new?;
        policy::check_aksk_project(caller, &new.project_id, &path_project)?;
        policy::enforce_aksk(policy::AKSK_CREATE, caller, &new.project_id, &new.user_id)?;
        let patch = new.meta?;
        let access = super::generate_access_key();
        let secret = self.new_secret(super::generate_secret_key);
        let expires_at = self
            .settings
            .lifetime
            .for_new_key(crate::store::now_micros(), patch.expires_at.flatten())?;
        let meta = KeyMeta {
            name: patch.name.flatten(),
            description: patch.description.flatten(),
            enabled: patch.enabled.unwrap_or(true),
            expires_at,
            allowed_cidrs: patch.allowed_cidrs.unwrap_or_default(),
            action_when_leaked: patch.action_when_leaked.flatten(),
            rate_limit: patch.rate_limit.flatten(),
            ..Default::default()
        };
        let (project, user) = (new.project_id.clone(), new.user_id.clone());
        self.store(
            NewCredential {
                id: super::ec2_credential_id(&access),
                user_id: new.user_id,
                project_id: Some(new.project_id),
                credential_type: EC2.into(),
                blob: Secret::new(super::ec2_blob(&access, secret.expose())),
                meta,
                secret_digest: Some(super::secret_digest(secret.expose())),
            },
            Initiator::of(caller),
            move |conn| check_membership(conn, &project, &user),
        )
        .await?;
        Ok(NewPair { access, secret })
    }

    /// The user's pairs in the project, after the rules.
    pub async fn aksk_pairs(
        &self,
        caller: &Caller,
        rule: Policy,
        project_id: String,
        user_id: String,
    ) -> Result<Vec<Credential>, Error> {
        policy::refuse_delegated_credentials(caller)?;
        policy::enforce_aksk(rule, caller, &project_id, &user_id)?;
        let cipher = self.cipher.clone();
        self.db
            .read(move |conn| {
                check_path_owner(conn, &project_id, &user_id)?;
                super::list(
                    conn,
                    &cipher,
                    &Filter {
                        user_id: Some(user_id),
                        project_id: Some(project_id),
                        credential_type: Some(EC2.into()),
                    },
                )
            })
            .await
    }

    /// The one pair named by its access key, after the rules.
    async fn aksk_pair(
        &self,
        caller: &Caller,
        rule: Policy,
        project_id: String,
        user_id: String,
        access: &str,
    ) -> Result<Credential, Error> {
        self.aksk_pairs(caller, rule, project_id, user_id)
            .await?
            .into_iter()
            .find(|c| c.ec2().is_ok_and(|b| b.access == access))
            .ok_or_else(|| super::not_found(&super::ec2_credential_id(access)))
    }

    /// `DELETE /v1/{project_id}/aksks/{user_id}`: the user's AK/SK pairs in
    /// the project, and only those.
    pub async fn aksk_delete_all(
        &self,
        caller: &Caller,
        project_id: String,
        user_id: String,
    ) -> Result<(), Error> {
        policy::refuse_delegated_credentials(caller)?;
        policy::enforce_aksk(policy::AKSK_DELETE, caller, &project_id, &user_id)?;
        let (cipher, initiator) = (self.cipher.clone(), Initiator::of(caller));
        self.db
            .write(move |conn| {
                check_path_owner(conn, &project_id, &user_id)?;
                let pairs = super::list(
                    conn,
                    &cipher,
                    &Filter {
                        user_id: Some(user_id.clone()),
                        project_id: Some(project_id.clone()),
                        credential_type: Some(EC2.into()),
                    },
                )?;
                super::delete_ec2_of_user(conn, &user_id, Some(&project_id))?;
                for pair in &pairs {
                    if let Some(event) = super::pair_event("deleted", pair, initiator.clone(), None)
                    {
                        audit::record(conn, &event)?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// Name, description, enabled, expiry (null clears, unless keys must
    /// expire) and CIDRs of one pair.
    pub async fn aksk_update(
        &self,
        caller: &Caller,
        (project_id, user_id, access): (String, String, String),
        patch: MetaPatch,
    ) -> Result<Credential, Error> {
        let found = self
            .aksk_pair(caller, policy::AKSK_UPDATE, project_id, user_id, &access)
            .await?;
        let mut patch = patch;
        if let Some(asked) = patch.expires_at {
            patch.expires_at = Some(
                self.settings
                    .lifetime
                    .for_change(found.meta.created_at, asked)?,
            );
        }
        let (cipher, id, initiator) = (self.cipher.clone(), found.id, Initiator::of(caller));
        self.db
            .write(move |conn| {
                super::update_meta(conn, &id, &patch)?;
                let updated =
                    super::get(conn, &cipher, &id)?.ok_or_else(|| super::not_found(&id))?;
                // Enabling and disabling are events of their own; any
                // other change is an update.
                let others = MetaPatch {
                    enabled: None,
                    ..patch.clone()
                };
                let mut actions = Vec::new();
                match patch.enabled {
                    Some(true) => actions.push("enabled"),
                    Some(false) => actions.push("disabled"),
                    None => {}
                }
                if others != MetaPatch::default() {
                    actions.push("updated");
                }
                for action in actions {
                    if let Some(event) =
                        super::pair_event(action, &updated, initiator.clone(), None)
                    {
                        audit::record(conn, &event)?;
                    }
                }
                Ok(updated)
            })
            .await
    }

    /// Rotates one pair in one transaction: a replacement with the same
    /// name, description, allowed hosts, expiry (if still ahead) and
    /// delegation (the blob's trust or application credential), and the
    /// old pair set to expire `grace_seconds` from now (sooner if it
    /// already would). Needs the rights to create and to update.
    pub async fn aksk_rotate(
        &self,
        caller: &Caller,
        (project_id, user_id, access): (String, String, String),
        grace_seconds: Input<i64>,
    ) -> Result<Rotated, Error> {
        let found = self
            .aksk_pair(
                caller,
                policy::AKSK_UPDATE,
                project_id.clone(),
                user_id.clone(),
                &access,
            )
            .await?;
        policy::enforce_aksk(policy::AKSK_CREATE, caller, &project_id, &user_id)?;
        let now = crate::store::now_micros();
        let old_expiry = found.meta.expires_at;
        let retired_expiry = crate::lifecycle::retired_expiry(now, old_expiry, grace_seconds?)?;
        let new_access = super::generate_access_key();
        let secret = self.new_secret(super::generate_secret_key);
        let blob = super::replace_ec2_keys(found.blob.expose(), &new_access, secret.expose())?;
        let replacement = NewCredential {
            id: super::ec2_credential_id(&new_access),
            user_id: found.user_id.clone(),
            project_id: found.project_id.clone(),
            credential_type: EC2.into(),
            blob: Secret::new(blob),
            meta: KeyMeta {
                name: found.meta.name.clone(),
                description: found.meta.description.clone(),
                enabled: true,
                expires_at: self.settings.lifetime.for_replacement(now, old_expiry),
                allowed_cidrs: found.meta.allowed_cidrs.clone(),
                action_when_leaked: found.meta.action_when_leaked,
                rate_limit: found.meta.rate_limit,
                ..Default::default()
            },
            secret_digest: Some(super::secret_digest(secret.expose())),
        };
        let expire_old = MetaPatch {
            expires_at: Some(Some(retired_expiry)),
            ..Default::default()
        };
        let (cipher, limit, old_id) = (self.cipher.clone(), self.settings.user_limit, found.id);
        let initiator = Initiator::of(caller);
        let (replacement, previous) = self
            .db
            .write(move |conn| {
                check_membership(conn, &project_id, &user_id)?;
                super::check_user_limit(conn, &user_id, limit)?;
                let replacement = super::create(conn, &cipher, replacement)?;
                super::update_meta(conn, &old_id, &expire_old)?;
                let previous =
                    super::get(conn, &cipher, &old_id)?.ok_or_else(|| super::not_found(&old_id))?;
                let (old_access, new_access) = (
                    super::pair_event("rotated", &previous, initiator.clone(), None),
                    super::pair_event("created", &replacement, initiator.clone(), None),
                );
                if let (Some(mut old), Some(mut new)) = (old_access, new_access) {
                    old.reason = Some(format!("replaced by {}", new.key_id));
                    new.reason = Some(format!("rotation of {}", old.key_id));
                    audit::record(conn, &old)?;
                    audit::record(conn, &new)?;
                }
                Ok((replacement, previous))
            })
            .await?;
        Ok(Rotated {
            pair: NewPair {
                access: new_access,
                secret,
            },
            replacement,
            previous,
        })
    }

    /// One pair, for rotation.
    pub async fn aksk_delete(
        &self,
        caller: &Caller,
        (project_id, user_id, access): (String, String, String),
    ) -> Result<(), Error> {
        let found = self
            .aksk_pair(caller, policy::AKSK_DELETE, project_id, user_id, &access)
            .await?;
        self.delete_key(found, Initiator::of(caller)).await
    }
}
