//! Keystone's Fernet token payloads, byte for byte: `msgpack((version,) +
//! fields)` with the field order of `keystone/token/token_formatters.py`.
//! Pure code, no I/O, so it can be fuzzed and tested against vectors.

use std::io::Cursor;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rmpv::Value;

/// Why a payload could not be read. All of these are a 404 to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("This is not a recognized Fernet payload version: {0}")]
    UnknownVersion(u64),
    #[error("Could not recognize Fernet token")]
    Malformed,
    #[error("Could not recognize Fernet token")]
    CannotEncode,
}

/// What a token is scoped to, one variant per Keystone payload version.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// v0
    Unscoped,
    /// v1
    Domain { domain_id: String },
    /// v2
    Project { project_id: String },
    /// v3
    Trust {
        project_id: String,
        trust_id: String,
    },
    /// v4
    FederatedUnscoped {
        group_ids: Vec<String>,
        idp_id: String,
        protocol_id: String,
    },
    /// v5
    FederatedProject {
        project_id: String,
        group_ids: Vec<String>,
        idp_id: String,
        protocol_id: String,
    },
    /// v6
    FederatedDomain {
        domain_id: String,
        group_ids: Vec<String>,
        idp_id: String,
        protocol_id: String,
    },
    /// v7
    OAuth {
        project_id: String,
        access_token_id: String,
    },
    /// v8
    System,
    /// v9
    ApplicationCredential {
        project_id: String,
        app_cred_id: String,
    },
    /// v10
    OAuth2 {
        project_id: String,
        domain_id: String,
        thumbprint: String,
    },
}

impl Scope {
    pub fn version(&self) -> u8 {
        match self {
            Scope::Unscoped => 0,
            Scope::Domain { .. } => 1,
            Scope::Project { .. } => 2,
            Scope::Trust { .. } => 3,
            Scope::FederatedUnscoped { .. } => 4,
            Scope::FederatedProject { .. } => 5,
            Scope::FederatedDomain { .. } => 6,
            Scope::OAuth { .. } => 7,
            Scope::System => 8,
            Scope::ApplicationCredential { .. } => 9,
            Scope::OAuth2 { .. } => 10,
        }
    }

    /// The project the token is scoped to, for every project-like version.
    pub fn project_id(&self) -> Option<&str> {
        match self {
            Scope::Project { project_id }
            | Scope::Trust { project_id, .. }
            | Scope::FederatedProject { project_id, .. }
            | Scope::OAuth { project_id, .. }
            | Scope::ApplicationCredential { project_id, .. }
            | Scope::OAuth2 { project_id, .. } => Some(project_id),
            _ => None,
        }
    }
}

/// The decoded contents of a token, apart from `issued_at` (the Fernet
/// timestamp) which the envelope carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub user_id: String,
    /// The method bitmask, as packed.
    pub methods: u64,
    pub scope: Scope,
    /// Unix seconds. Keystone packs a float64 and accepts an integer.
    pub expires_at: f64,
    /// `[own]` or `[own, chain_root]`, 22-character urlsafe strings.
    pub audit_ids: Vec<String>,
}

/// True only for ids that Keystone packs as bytes *and* that decode back to
/// the same text: 32 lowercase hex characters.
pub fn is_packable_uuid(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn unpack_id(value: &Value) -> Result<String, PayloadError> {
    match value {
        Value::Array(items) if items.len() == 2 => match (&items[0], &items[1]) {
            (Value::Boolean(true), Value::Binary(b)) if b.len() == 16 => Ok(hex::encode(b)),
            (Value::Boolean(false), v) => bare_string(v),
            _ => Err(PayloadError::Malformed),
        },
        // Tolerated by Keystone's readers for older payloads.
        Value::String(_) => bare_string(value),
        _ => Err(PayloadError::Malformed),
    }
}

/// A str, or bin from msgpack's old raw mode.
fn bare_string(value: &Value) -> Result<String, PayloadError> {
    match value {
        Value::String(s) => s
            .as_str()
            .map(str::to_string)
            .ok_or(PayloadError::Malformed),
        Value::Binary(b) => String::from_utf8(b.clone()).map_err(|_| PayloadError::Malformed),
        _ => Err(PayloadError::Malformed),
    }
}

/// A bare bin16 UUID (trust ids, domain ids in v1), or a bare str.
fn bare_uuid_or_string(value: &Value) -> Result<String, PayloadError> {
    match value {
        Value::Binary(b) if b.len() == 16 => Ok(hex::encode(b)),
        Value::String(_) => bare_string(value),
        _ => Err(PayloadError::Malformed),
    }
}

fn unpack_audit_ids(value: &Value) -> Result<Vec<String>, PayloadError> {
    let Value::Array(items) = value else {
        return Err(PayloadError::Malformed);
    };
    items
        .iter()
        .map(|item| match item {
            Value::Binary(b) => Ok(URL_SAFE_NO_PAD.encode(b)),
            _ => Err(PayloadError::Malformed),
        })
        .collect()
}

fn unpack_f64(value: &Value) -> Result<f64, PayloadError> {
    match value {
        Value::F64(f) => Ok(*f),
        Value::F32(f) => Ok(f64::from(*f)),
        Value::Integer(i) => i.as_f64().ok_or(PayloadError::Malformed),
        _ => Err(PayloadError::Malformed),
    }
}

fn unpack_u64(value: &Value) -> Result<u64, PayloadError> {
    value.as_u64().ok_or(PayloadError::Malformed)
}

fn unpack_group_ids(value: &Value) -> Result<Vec<String>, PayloadError> {
    let Value::Array(items) = value else {
        return Err(PayloadError::Malformed);
    };
    items.iter().map(unpack_id).collect()
}

/// Writing to a `Vec` fails only on bad input (an id that is not hex, an
/// audit id that is not base64): the payload cannot be encoded.
fn cannot_encode<E>(_: E) -> PayloadError {
    PayloadError::CannotEncode
}

/// One field of a payload, as [`Payload::encode`] writes it.
#[derive(Clone, Copy)]
enum Field<'a> {
    Uint(u64),
    Float(f64),
    Str(&'a str),
    /// 32 hex digits, written as their 16 bytes.
    Bytes16(&'a str),
    /// `[true, bin16]` for canonical UUID hex, else `[false, "str"]`.
    Id(&'a str),
    /// Each audit id's bytes (they are URL-safe base64).
    AuditIds(&'a [String]),
    GroupIds(&'a [String]),
    /// OAuth 2.0's `[false, thumbprint]`.
    Thumbprint(&'a str),
}

impl Field<'_> {
    fn write(self, out: &mut Vec<u8>) -> Result<(), PayloadError> {
        use rmp::encode;
        match self {
            Field::Uint(n) => encode::write_uint(out, n).map(drop).map_err(cannot_encode),
            Field::Float(f) => encode::write_f64(out, f).map_err(cannot_encode),
            Field::Str(text) => encode::write_str(out, text).map_err(cannot_encode),
            Field::Bytes16(hex_id) => {
                let mut bytes = [0u8; 16];
                hex::decode_to_slice(hex_id, &mut bytes).map_err(cannot_encode)?;
                encode::write_bin(out, &bytes).map_err(cannot_encode)
            }
            Field::Id(id) => {
                encode::write_array_len(out, 2).map_err(cannot_encode)?;
                if is_packable_uuid(id) {
                    encode::write_bool(out, true).map_err(cannot_encode)?;
                    Field::Bytes16(id).write(out)
                } else {
                    encode::write_bool(out, false).map_err(cannot_encode)?;
                    encode::write_str(out, id).map_err(cannot_encode)
                }
            }
            Field::AuditIds(ids) => {
                encode::write_array_len(out, ids.len() as u32).map_err(cannot_encode)?;
                for id in ids {
                    let bytes = URL_SAFE_NO_PAD
                        .decode(id.trim_end_matches('='))
                        .map_err(cannot_encode)?;
                    encode::write_bin(out, &bytes).map_err(cannot_encode)?;
                }
                Ok(())
            }
            Field::GroupIds(ids) => {
                encode::write_array_len(out, ids.len() as u32).map_err(cannot_encode)?;
                ids.iter().try_for_each(|id| Field::Id(id).write(out))
            }
            Field::Thumbprint(thumbprint) => {
                encode::write_array_len(out, 2).map_err(cannot_encode)?;
                encode::write_bool(out, false).map_err(cannot_encode)?;
                encode::write_str(out, thumbprint).map_err(cannot_encode)
            }
        }
    }
}

impl Payload {
    /// Serialises exactly as Keystone's `TokenFormatter.pack` input.
    /// `default_domain_id` is needed because v1 packs that one domain id as
    /// a bare string; any other non-UUID domain id cannot be issued.
    ///
    /// Written field by field with rmp's writers, in the encoding
    /// `rmpv::encode::write_value` gives the same tree (smallest integer,
    /// `bin` for bytes): building the tree cost a dozen allocations per
    /// token, and a token is minted for every signed request verified.
    pub fn encode(&self, default_domain_id: &str) -> Result<Vec<u8>, PayloadError> {
        use Field::{AuditIds, Bytes16, Float, GroupIds, Id, Str, Thumbprint, Uint};
        let user = Id(&self.user_id);
        let methods = Uint(self.methods);
        let expires = Float(self.expires_at);
        let audit = AuditIds(&self.audit_ids);
        let head = [Uint(u64::from(self.scope.version())), user, methods];
        let rest: &[Field<'_>] = match &self.scope {
            Scope::Unscoped => &[expires, audit],
            Scope::Domain { domain_id } => {
                let domain = if is_packable_uuid(domain_id) {
                    Bytes16(domain_id)
                } else if domain_id == default_domain_id {
                    Str(domain_id)
                } else {
                    return Err(PayloadError::CannotEncode);
                };
                &[domain, expires, audit]
            }
            Scope::Project { project_id } => &[Id(project_id), expires, audit],
            Scope::Trust {
                project_id,
                trust_id,
            } => {
                if !is_packable_uuid(trust_id) {
                    return Err(PayloadError::CannotEncode);
                }
                &[Id(project_id), expires, audit, Bytes16(trust_id)]
            }
            Scope::FederatedUnscoped {
                group_ids,
                idp_id,
                protocol_id,
            } => &[
                GroupIds(group_ids),
                Id(idp_id),
                Str(protocol_id),
                expires,
                audit,
            ],
            Scope::FederatedProject {
                project_id: scope_id,
                group_ids,
                idp_id,
                protocol_id,
            }
            | Scope::FederatedDomain {
                domain_id: scope_id,
                group_ids,
                idp_id,
                protocol_id,
            } => &[
                Id(scope_id),
                GroupIds(group_ids),
                Id(idp_id),
                Str(protocol_id),
                expires,
                audit,
            ],
            Scope::OAuth {
                project_id,
                access_token_id,
            } => &[Id(project_id), Id(access_token_id), expires, audit],
            Scope::System => &[Str("all"), expires, audit],
            Scope::ApplicationCredential {
                project_id,
                app_cred_id,
            } => &[Id(project_id), expires, audit, Id(app_cred_id)],
            Scope::OAuth2 {
                project_id,
                domain_id,
                thumbprint,
            } => &[
                Id(project_id),
                Id(domain_id),
                expires,
                audit,
                Thumbprint(thumbprint),
            ],
        };
        let mut out = Vec::with_capacity(96);
        rmp::encode::write_array_len(&mut out, (head.len() + rest.len()) as u32)
            .map_err(cannot_encode)?;
        for field in head.iter().chain(rest) {
            field.write(&mut out)?;
        }
        Ok(out)
    }

    /// Reads any of Keystone's 11 payload versions.
    pub fn decode(bytes: &[u8]) -> Result<Payload, PayloadError> {
        let mut cursor = Cursor::new(bytes);
        let value = rmpv::decode::read_value(&mut cursor).map_err(|_| PayloadError::Malformed)?;
        if cursor.position() as usize != bytes.len() {
            return Err(PayloadError::Malformed);
        }
        let Value::Array(items) = value else {
            return Err(PayloadError::Malformed);
        };
        let version = items
            .first()
            .map(unpack_u64)
            .ok_or(PayloadError::Malformed)??;
        let want = match version {
            0 => 4,
            1 | 2 | 8 => 5,
            3 | 7 | 9 => 6,
            4 | 10 => 7,
            5 | 6 => 8,
            other => return Err(PayloadError::UnknownVersion(other)),
        };
        if items.len() != want + 1 {
            return Err(PayloadError::Malformed);
        }
        let f = &items[1..];
        let user_id = unpack_id(&f[0])?;
        let methods = unpack_u64(&f[1])?;
        let (scope, expires_at, audit_ids) = match version {
            0 => (Scope::Unscoped, &f[2], &f[3]),
            1 => (
                Scope::Domain {
                    domain_id: bare_uuid_or_string(&f[2])?,
                },
                &f[3],
                &f[4],
            ),
            2 => (
                Scope::Project {
                    project_id: unpack_id(&f[2])?,
                },
                &f[3],
                &f[4],
            ),
            3 => (
                Scope::Trust {
                    project_id: unpack_id(&f[2])?,
                    trust_id: bare_uuid_or_string(&f[5])?,
                },
                &f[3],
                &f[4],
            ),
            4 => (
                Scope::FederatedUnscoped {
                    group_ids: unpack_group_ids(&f[2])?,
                    idp_id: unpack_id(&f[3])?,
                    protocol_id: bare_string(&f[4])?,
                },
                &f[5],
                &f[6],
            ),
            5 | 6 => {
                let scope_id = unpack_id(&f[2])?;
                let group_ids = unpack_group_ids(&f[3])?;
                let idp_id = unpack_id(&f[4])?;
                let protocol_id = bare_string(&f[5])?;
                let scope = if version == 5 {
                    Scope::FederatedProject {
                        project_id: scope_id,
                        group_ids,
                        idp_id,
                        protocol_id,
                    }
                } else {
                    Scope::FederatedDomain {
                        domain_id: scope_id,
                        group_ids,
                        idp_id,
                        protocol_id,
                    }
                };
                (scope, &f[6], &f[7])
            }
            7 => (
                Scope::OAuth {
                    project_id: unpack_id(&f[2])?,
                    access_token_id: unpack_id(&f[3])?,
                },
                &f[4],
                &f[5],
            ),
            8 => {
                if bare_string(&f[2])? != "all" {
                    return Err(PayloadError::Malformed);
                }
                (Scope::System, &f[3], &f[4])
            }
            9 => (
                Scope::ApplicationCredential {
                    project_id: unpack_id(&f[2])?,
                    app_cred_id: unpack_id(&f[5])?,
                },
                &f[3],
                &f[4],
            ),
            10 => (
                Scope::OAuth2 {
                    project_id: unpack_id(&f[2])?,
                    domain_id: unpack_id(&f[3])?,
                    thumbprint: unpack_id(&f[6])?,
                },
                &f[4],
                &f[5],
            ),
            other => return Err(PayloadError::UnknownVersion(other)),
        };
        let audit_ids = unpack_audit_ids(audit_ids)?;
        if audit_ids.is_empty() || audit_ids.len() > 2 {
            return Err(PayloadError::Malformed);
        }
        let expires_at = unpack_f64(expires_at)?;
        if !expires_at.is_finite() {
            return Err(PayloadError::Malformed);
        }
        Ok(Payload {
            user_id,
            methods,
            scope,
            expires_at,
            audit_ids,
        })
    }
}

/// Maps method names to Keystone's bitmask: bit `i` is `methods[i]` of the
/// configured `[auth] methods` list.
#[derive(Debug, Clone)]
pub struct MethodMap {
    names: Vec<String>,
}

impl MethodMap {
    pub fn new(names: &[String]) -> Self {
        MethodMap {
            names: names.to_vec(),
        }
    }

    /// The sum of the bits of known methods; unknown ones are dropped, as
    /// Keystone drops them.
    pub fn encode<S: AsRef<str>>(&self, methods: &[S]) -> u64 {
        methods
            .iter()
            .filter_map(|m| self.names.iter().position(|n| n == m.as_ref()))
            .filter(|i| *i < 64)
            .fold(0u64, |acc, i| acc | (1u64 << i))
    }

    /// Names from the highest bit down, as Keystone lists them on validation.
    pub fn decode(&self, bits: u64) -> Vec<String> {
        (0..self.names.len().min(64))
            .rev()
            .filter(|i| bits & (1u64 << i) != 0)
            .map(|i| self.names[i].clone())
            .collect()
    }
}

/// A new audit id: 16 random bytes as 22 urlsafe characters (Keystone
/// encodes a random UUID's). From the thread's CSPRNG, reseeded from the
/// OS: a system call per token was a measurable part of ec2tokens.
pub fn new_audit_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const USER: &str = "e70bd777cb5844a9be6c7b63893a7df9";
    const PROJECT: &str = "961a96533e5f4f608ad5dbaeb31d1cce";
    const AUDIT: &str = "K2A-IZpSTp2BDxwIy3atwA";
    const EXPIRES: f64 = 1_700_003_600.0;

    fn payload(methods: u64, scope: Scope, audit_ids: &[&str]) -> Payload {
        Payload {
            user_id: USER.into(),
            methods,
            scope,
            expires_at: EXPIRES,
            audit_ids: audit_ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn check(p: &Payload, expected_hex: &str) {
        assert_eq!(hex::encode(p.encode("default").unwrap()), expected_hex);
        assert_eq!(
            &Payload::decode(&hex::decode(expected_hex).unwrap()).unwrap(),
            p
        );
    }

    // Vectors from Keystone 30's own formatter (../shared/reference/keystone-v3.md §5.5).
    #[test]
    fn project_scoped_matches_keystone() {
        check(
            &payload(2, Scope::Project { project_id: PROJECT.into() }, &[AUDIT]),
            "960292c3c410e70bd777cb5844a9be6c7b63893a7df90292c3c410961a96533e5f4f608ad5dbaeb31d1ccecb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc0",
        );
    }

    #[test]
    fn unscoped_with_chain_matches_keystone() {
        check(
            &payload(6, Scope::Unscoped, &[AUDIT, "vuR-l2SfQ5qYgJ6MBPdUgQ"]),
            "950092c3c410e70bd777cb5844a9be6c7b63893a7df906cb41d954ffc400000092c4102b603e219a524e9d810f1c08cb76adc0c410bee47e97649f439a98809e8c04f75481",
        );
    }

    #[test]
    fn default_domain_is_a_bare_string() {
        check(
            &payload(2, Scope::Domain { domain_id: "default".into() }, &[AUDIT]),
            "960192c3c410e70bd777cb5844a9be6c7b63893a7df902a764656661756c74cb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc0",
        );
        let other = payload(
            2,
            Scope::Domain {
                domain_id: "ldap".into(),
            },
            &[AUDIT],
        );
        assert_eq!(other.encode("default"), Err(PayloadError::CannotEncode));
    }

    #[test]
    fn non_uuid_user_is_a_string() {
        let mut p = payload(
            2,
            Scope::Project {
                project_id: PROJECT.into(),
            },
            &[AUDIT],
        );
        p.user_id = "ldapuser-1".into();
        check(
            &p,
            "960292c2aa6c646170757365722d310292c3c410961a96533e5f4f608ad5dbaeb31d1ccecb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc0",
        );
    }

    #[test]
    fn system_matches_keystone() {
        check(
            &payload(2, Scope::System, &[AUDIT]),
            "960892c3c410e70bd777cb5844a9be6c7b63893a7df902a3616c6ccb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc0",
        );
    }

    #[test]
    fn application_credential_matches_keystone() {
        check(
            &payload(
                32,
                Scope::ApplicationCredential {
                    project_id: PROJECT.into(),
                    app_cred_id: "89fa28720c4246a49ceace82e3087233".into(),
                },
                &[AUDIT],
            ),
            "970992c3c410e70bd777cb5844a9be6c7b63893a7df92092c3c410961a96533e5f4f608ad5dbaeb31d1ccecb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc092c3c41089fa28720c4246a49ceace82e3087233",
        );
    }

    #[test]
    fn trust_matches_keystone() {
        check(
            &payload(
                2,
                Scope::Trust {
                    project_id: PROJECT.into(),
                    trust_id: "0123456789abcdef0123456789abcdef".into(),
                },
                &[AUDIT],
            ),
            "970392c3c410e70bd777cb5844a9be6c7b63893a7df90292c3c410961a96533e5f4f608ad5dbaeb31d1ccecb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc0c4100123456789abcdef0123456789abcdef",
        );
    }

    #[test]
    fn federated_unscoped_matches_keystone() {
        check(
            &payload(
                16,
                Scope::FederatedUnscoped {
                    group_ids: vec!["0123456789abcdef0123456789abcdef".into()],
                    idp_id: "myidp".into(),
                    protocol_id: "saml2".into(),
                },
                &[AUDIT],
            ),
            "980492c3c410e70bd777cb5844a9be6c7b63893a7df9109192c3c4100123456789abcdef0123456789abcdef92c2a56d79696470a573616d6c32cb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc0",
        );
    }

    #[test]
    fn ec2_token_matches_keystone() {
        check(
            &payload(64, Scope::Project { project_id: PROJECT.into() }, &[AUDIT]),
            "960292c3c410e70bd777cb5844a9be6c7b63893a7df94092c3c410961a96533e5f4f608ad5dbaeb31d1ccecb41d954ffc400000091c4102b603e219a524e9d810f1c08cb76adc0",
        );
    }

    #[test]
    fn integer_expiry_is_accepted() {
        // v2 with expires_at packed as uint32 1700003600.
        let bytes = hex::decode(
            "960292c3c410e70bd777cb5844a9be6c7b63893a7df90292c3c410961a96533e5f4f608ad5dbaeb31d1ccece6553ff1091c4102b603e219a524e9d810f1c08cb76adc0",
        )
        .unwrap();
        assert_eq!(Payload::decode(&bytes).unwrap().expires_at, EXPIRES);
    }

    #[test]
    fn every_version_round_trips() {
        let g = vec!["0123456789abcdef0123456789abcdef".to_string()];
        let scopes = vec![
            Scope::FederatedProject {
                project_id: PROJECT.into(),
                group_ids: g.clone(),
                idp_id: "i".into(),
                protocol_id: "p".into(),
            },
            Scope::FederatedDomain {
                domain_id: PROJECT.into(),
                group_ids: g,
                idp_id: "i".into(),
                protocol_id: "p".into(),
            },
            Scope::OAuth {
                project_id: PROJECT.into(),
                access_token_id: "tok".into(),
            },
            Scope::OAuth2 {
                project_id: PROJECT.into(),
                domain_id: "default".into(),
                thumbprint: "abc".into(),
            },
        ];
        for scope in scopes {
            let p = payload(2, scope, &[AUDIT]);
            assert_eq!(Payload::decode(&p.encode("default").unwrap()).unwrap(), p);
        }
    }

    /// Each field is written as rmpv writes the tree the encoder built
    /// before (`Value::from`, `Value::Binary`, arrays), at every width.
    #[test]
    fn fields_are_written_as_rmpv_writes_their_tree() {
        fn tree(field: Field<'_>) -> Value {
            let id = |id: &str| {
                if is_packable_uuid(id) {
                    Value::Array(vec![true.into(), Value::Binary(hex::decode(id).unwrap())])
                } else {
                    Value::Array(vec![false.into(), id.into()])
                }
            };
            match field {
                Field::Uint(n) => n.into(),
                Field::Float(f) => Value::F64(f),
                Field::Str(text) => text.into(),
                Field::Bytes16(text) => Value::Binary(hex::decode(text).unwrap()),
                Field::Id(text) => id(text),
                Field::AuditIds(ids) => Value::Array(
                    ids.iter()
                        .map(|a| {
                            Value::Binary(URL_SAFE_NO_PAD.decode(a.trim_end_matches('=')).unwrap())
                        })
                        .collect(),
                ),
                Field::GroupIds(ids) => Value::Array(ids.iter().map(|g| id(g)).collect()),
                Field::Thumbprint(t) => Value::Array(vec![false.into(), t.into()]),
            }
        }
        let long = "x".repeat(300);
        let texts = [
            "",
            "default",
            "all",
            &"y".repeat(31),
            &"z".repeat(32),
            &long,
            "ünï",
        ];
        let many: Vec<String> = (0..20).map(|i| format!("{i:032x}")).collect();
        let audits = vec![AUDIT.to_string(), "vuR-l2SfQ5qYgJ6MBPdUgQ==".to_string()];
        let mut fields = vec![
            Field::Float(1_700_003_600.0),
            Field::Float(0.5),
            Field::Bytes16(USER),
            Field::AuditIds(&[]),
            Field::AuditIds(&audits),
            Field::GroupIds(&[]),
            Field::GroupIds(&many),
        ];
        for n in [
            0,
            1,
            10,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            u64::from(u32::MAX) + 1,
            u64::MAX,
        ] {
            fields.push(Field::Uint(n));
        }
        for text in texts.iter().copied().chain([USER, PROJECT]) {
            fields.extend([Field::Str(text), Field::Id(text), Field::Thumbprint(text)]);
        }
        for field in fields {
            let mut ours = Vec::new();
            field.write(&mut ours).unwrap();
            let mut theirs = Vec::new();
            rmpv::encode::write_value(&mut theirs, &tree(field)).unwrap();
            assert_eq!(hex::encode(ours), hex::encode(theirs));
        }
    }

    #[test]
    fn unknown_version_and_garbage_are_rejected() {
        assert_eq!(
            Payload::decode(&hex::decode("950b01020304").unwrap()),
            Err(PayloadError::UnknownVersion(11))
        );
        assert_eq!(Payload::decode(b""), Err(PayloadError::Malformed));
        assert_eq!(Payload::decode(&[0x92, 0x00]), Err(PayloadError::Malformed));
        assert_eq!(Payload::decode(&[0xc1]), Err(PayloadError::Malformed));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic sweep; the fuzz target covers more.
        let mut state = 0x1234_5678_u64;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = Payload::decode(&bytes);
        }
    }

    #[test]
    fn method_bits_follow_configured_order() {
        let names: Vec<String> = crate::config::DEFAULT_AUTH_METHODS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let map = MethodMap::new(&names);
        assert_eq!(map.encode(&["password"]), 2);
        assert_eq!(map.encode(&["password", "token"]), 6);
        assert_eq!(map.encode(&["ec2credential"]), 64);
        assert_eq!(map.encode(&["totp"]), 0);
        assert_eq!(map.decode(6), vec!["token", "password"]);
        assert_eq!(map.decode(0), Vec::<String>::new());
    }

    #[test]
    fn audit_ids_are_22_urlsafe_characters() {
        let id = new_audit_id();
        assert_eq!(id.len(), 22);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
