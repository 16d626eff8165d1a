//! Byte compatibility with Keystone's Fernet tokens, both ways: Ironstone
//! decodes tokens minted by Keystone's own formatter (committed vectors),
//! and Keystone's formatter decodes tokens minted by Ironstone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use ironstone::token::{
    format_token_time, KeyRepository, MethodMap, Payload, Scope, TokenProvider,
};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn provider() -> TokenProvider {
    let names: Vec<String> = ironstone::config::DEFAULT_AUTH_METHODS
        .iter()
        .map(|s| s.to_string())
        .collect();
    TokenProvider::new(
        KeyRepository::new(fixtures().join("fernet-keys"), 3),
        MethodMap::new(&names),
        "default",
    )
    .unwrap()
}

/// The fields Keystone's `validate_token` reports, from an Ironstone payload.
fn fields(provider: &TokenProvider, payload: &Payload, issued_at: i64) -> Value {
    let mut methods = provider.methods().decode(payload.methods);
    methods.sort();
    let (mut project, mut domain, mut system, mut trust, mut app_cred) =
        (None, None, None, None, None);
    match &payload.scope {
        Scope::Unscoped => {}
        Scope::Project { project_id } => project = Some(project_id.clone()),
        Scope::Domain { domain_id } => domain = Some(domain_id.clone()),
        Scope::System => system = Some("all".to_string()),
        Scope::Trust {
            project_id,
            trust_id,
        } => {
            project = Some(project_id.clone());
            trust = Some(trust_id.clone());
        }
        Scope::ApplicationCredential {
            project_id,
            app_cred_id,
        } => {
            project = Some(project_id.clone());
            app_cred = Some(app_cred_id.clone());
        }
        other => panic!("unexpected scope {other:?}"),
    }
    json!({
        "user_id": payload.user_id,
        "methods": methods,
        "audit_ids": payload.audit_ids,
        "project_id": project,
        "domain_id": domain,
        "system": system,
        "trust_id": trust,
        "app_cred_id": app_cred,
        "issued_at": format_token_time(issued_at),
        "expires_at": format_token_time(payload.expires_at as i64),
    })
}

#[test]
fn decodes_every_token_minted_by_keystone() {
    let provider = provider();
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("keystone_tokens.json")).unwrap(),
    )
    .unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let token = case["token"].as_str().unwrap();
        let (payload, issued_at) = provider
            .open(token)
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        assert_eq!(
            payload.scope.version() as u64,
            case["version"].as_u64().unwrap(),
            "{}",
            case["name"]
        );
        let got = fields(&provider, &payload, issued_at);
        for (key, value) in got.as_object().unwrap() {
            assert_eq!(&case[key], value, "{}: {key}", case["name"]);
        }
        // Re-encoding the decoded payload gives Keystone's exact plaintext.
        let reencoded = payload.encode("default").unwrap();
        let keys = KeyRepository::new(fixtures().join("fernet-keys"), 3)
            .load()
            .unwrap();
        let plaintext = keys.multi_fernet().unwrap().decrypt(token).unwrap();
        assert_eq!(
            reencoded, plaintext,
            "{}: payload bytes differ from Keystone's",
            case["name"]
        );
    }
}

#[test]
fn keystone_decodes_tokens_minted_by_ironstone() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let provider = provider();
    let user = "e70bd777cb5844a9be6c7b63893a7df9".to_string();
    let project = "961a96533e5f4f608ad5dbaeb31d1cce".to_string();
    let scopes = vec![
        ("unscoped", Scope::Unscoped, vec!["password"]),
        (
            "project",
            Scope::Project {
                project_id: project.clone(),
            },
            vec!["password", "token"],
        ),
        (
            "project-ldap",
            Scope::Project {
                project_id: "not-a-uuid".into(),
            },
            vec!["password"],
        ),
        (
            "domain-default",
            Scope::Domain {
                domain_id: "default".into(),
            },
            vec!["password"],
        ),
        (
            "domain-uuid",
            Scope::Domain {
                domain_id: project.clone(),
            },
            vec!["token"],
        ),
        ("system", Scope::System, vec!["password"]),
        (
            "app-cred",
            Scope::ApplicationCredential {
                project_id: project.clone(),
                app_cred_id: "89fa28720c4246a49ceace82e3087233".into(),
            },
            vec!["application_credential"],
        ),
        (
            "ec2",
            Scope::Project {
                project_id: project.clone(),
            },
            vec!["ec2credential"],
        ),
    ];
    let mut cases = Vec::new();
    for (i, (name, scope, methods)) in scopes.into_iter().enumerate() {
        let mut audit_ids = vec![ironstone::token::payload::new_audit_id()];
        if i % 2 == 1 {
            audit_ids.push(ironstone::token::payload::new_audit_id());
        }
        let payload = Payload {
            user_id: user.clone(),
            methods: provider.methods().encode(&methods),
            scope,
            expires_at: 4_102_444_800.0,
            audit_ids,
        };
        let (token, issued_at) = provider.issue(&payload).unwrap();
        let mut case = fields(&provider, &payload, issued_at);
        case["name"] = json!(name);
        case["token"] = json!(token);
        cases.push(case);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ironstone_tokens.json");
    std::fs::write(&path, serde_json::to_string_pretty(&cases).unwrap()).unwrap();
    let output = std::process::Command::new(python)
        .arg(common::interop_dir().join("keystone_tokens.py"))
        .arg("check")
        .arg(fixtures().join("fernet-keys"))
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Keystone rejected Ironstone tokens:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("{} passed, 0 failed", cases.len())),
        "{stdout}"
    );
}
