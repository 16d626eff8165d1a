//! OAuth 2.0 client credentials (`POST /v3/OS-OAUTH2/token`, Keystone's
//! OS-OAUTH2): an application credential is the client, and the access
//! token is an ordinary Keystone token that services accept as
//! `X-Auth-Token` or, through keystonemiddleware's `oauth2_token` filter,
//! as `Authorization: Bearer`. Mutual TLS (`tls_client_auth`) is not
//! offered: Ironstone does not terminate TLS itself.

use crate::error::Error;
use crate::secret::Secret;

use super::request::{AppCredCredentials, AuthRequest, ScopeRequest};
use super::{issue_token, Auth};

/// The client of a `client_credentials` grant.
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

impl Auth {
    /// Issues the access token for an application credential, as
    /// Keystone's `_client_secret_basic` does: the same path as
    /// `POST /v3/auth/tokens` with the `application_credential` method.
    /// Returns the token and how many seconds it lives by configuration
    /// (Keystone's `expires_in` is `[token] expiration`, even where the
    /// credential expires sooner).
    pub async fn client_credentials(
        &self,
        client: ClientCredentials,
    ) -> Result<(String, u64), Error> {
        let request = AuthRequest {
            methods: vec!["application_credential".into()],
            password: None,
            token: None,
            application_credential: Some(AppCredCredentials {
                id: Some(client.client_id),
                name: None,
                user: None,
                secret: client.client_secret,
            }),
            oauth1: None,
            scope: ScopeRequest::Default,
        };
        if !self
            .config
            .auth
            .methods
            .iter()
            .any(|m| m == "application_credential")
        {
            return Err(Error::unauthorized());
        }
        let (token, _) = issue_token(self, request).await?;
        Ok((token, self.config.token.expiration))
    }
}
