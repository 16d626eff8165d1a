//! The `ironstone` command line: the contract scripts and operators rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{free_port, wait_until_listening, Serving};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn ironstone(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ironstone"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IRONSTONE_IDENTITY_PASSWORD_HASH_ROUNDS", "4")
        .arg("--data-dir")
        .arg(data_dir);
    cmd
}

fn key_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn serve_listens_on_every_address_and_bootstraps_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (free_port(), free_port());
    let child = ironstone(dir.path())
        .env("IRONSTONE_BOOTSTRAP_PASSWORD", "from-env")
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{a}"),
            "--listen",
            &format!("127.0.0.1:{b}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _serving = Serving(child);
    wait_until_listening(a);
    wait_until_listening(b);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for port in [a, b] {
            let resp = client
                .post(format!("http://127.0.0.1:{port}/identity/v3/auth/tokens"))
                .json(&serde_json::json!({"auth": {"identity": {"methods": ["password"],
                    "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "from-env"}}}}}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201, "port {port}");
        }
    });
    assert!(
        dir.path().join("ironstone.sqlite").exists(),
        "SQLite in the data directory"
    );
    assert_eq!(key_files(&dir.path().join("fernet-keys")), vec!["0", "1"]);
    assert_eq!(
        key_files(&dir.path().join("credential-keys")),
        vec!["0", "1"]
    );
}

#[test]
fn fernet_and_credential_repositories_use_keystones_layout() {
    let dir = tempfile::tempdir().unwrap();
    for what in ["fernet", "credential"] {
        let status = ironstone(dir.path())
            .args([what, "setup"])
            .status()
            .unwrap();
        assert!(status.success());
        let repo = dir.path().join(if what == "fernet" {
            "fernet-keys"
        } else {
            "credential-keys"
        });
        assert_eq!(key_files(&repo), vec!["0", "1"]);
        assert_eq!(
            std::fs::read(repo.join("1")).unwrap().len(),
            44,
            "44 characters, no newline"
        );
        for _ in 0..3 {
            assert!(ironstone(dir.path())
                .args([what, "rotate"])
                .status()
                .unwrap()
                .success());
        }
        assert_eq!(key_files(&repo), vec!["0", "3", "4"], "max_active_keys = 3");
    }
}

#[test]
fn keystone_reads_a_repository_made_by_ironstone() {
    let Some(python) = common::interop_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    assert!(ironstone(dir.path())
        .args(["fernet", "setup"])
        .status()
        .unwrap()
        .success());
    assert!(ironstone(dir.path())
        .args(["fernet", "rotate"])
        .status()
        .unwrap()
        .success());
    let repo = dir.path().join("fernet-keys");
    let out = dir.path().join("tokens.json");
    let output = Command::new(&python)
        .arg(common::interop_dir().join("keystone_tokens.py"))
        .arg("generate")
        .arg(&repo)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names: Vec<String> = ironstone::config::DEFAULT_AUTH_METHODS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let provider = ironstone::token::TokenProvider::new(
        ironstone::token::KeyRepository::new(&repo, 3),
        ironstone::token::MethodMap::new(&names),
        "default",
    )
    .unwrap();
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for case in cases {
        assert!(
            provider.open(case["token"].as_str().unwrap()).is_ok(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn db_sync_and_bootstrap_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("custom.sqlite");
    for _ in 0..2 {
        let status = ironstone(dir.path())
            .env("IRONSTONE_DATABASE_URL", &db)
            .args(["db", "sync"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    assert!(
        db.exists(),
        "IRONSTONE_DATABASE_URL selects the SQLite file"
    );
    for _ in 0..2 {
        let output = ironstone(dir.path())
            .env("IRONSTONE_DATABASE_URL", &db)
            .args([
                "bootstrap",
                "--admin-password",
                "pw",
                "--public-url",
                "http://id.example:5000/v3/",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("pw\""),
            "the password is not logged"
        );
    }
}

#[test]
fn configuration_mistakes_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let output = ironstone(dir.path())
        .env("IRONSTONE_TOKEN_EXPIRATOIN", "5")
        .args(["db", "sync"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("IRONSTONE_TOKEN_EXPIRATOIN"));

    let output = ironstone(dir.path())
        .env(
            "IRONSTONE_DATABASE_URL",
            "postgress://postgres:hunter2@127.0.0.1/x",
        )
        .args(["db", "sync"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unsupported database URL scheme"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "passwords in URLs are redacted: {stderr}"
    );

    let config = dir.path().join("ironstone.toml");
    std::fs::write(&config, "[token]\nexpiration = \"soon\"\n").unwrap();
    let output = ironstone(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["db", "sync"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid configuration"));
}

/// The database and the credential cipher of a data directory, as the
/// server opens them.
fn store_and_cipher(
    dir: &Path,
) -> (
    ironstone::store::Database,
    ironstone::credential::CredentialCipher,
) {
    let db_path = dir.join("ironstone.sqlite");
    let db = ironstone::store::Database::open(db_path.to_str().unwrap(), 1, Duration::from_secs(5))
        .unwrap();
    let repo = ironstone::token::KeyRepository::new(dir.join("credential-keys"), 3);
    let cipher =
        ironstone::credential::CredentialCipher::new(ironstone::token::KeyRing::new(repo).unwrap());
    (db, cipher)
}

#[test]
fn credential_rotate_waits_for_migrate() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ironstone(dir.path())
        .args(["credential", "setup"])
        .status()
        .unwrap()
        .success());
    assert!(ironstone(dir.path())
        .args(["db", "sync"])
        .status()
        .unwrap()
        .success());
    // Store one encrypted credential, as the server would.
    {
        let (db, cipher) = store_and_cipher(dir.path());
        db.blocking(|conn| {
            ironstone::credential::create(
                conn,
                &cipher,
                ironstone::credential::NewCredential {
                    id: "c1".into(),
                    user_id: "u1".into(),
                    project_id: None,
                    credential_type: "totp".into(),
                    blob: ironstone::secret::Secret::new("ABC"),
                    meta: ironstone::credential::KeyMeta {
                        enabled: true,
                        ..Default::default()
                    },
                    secret_digest: None,
                },
            )
        })
        .unwrap();
    }
    // And one sensitive domain option (the LDAP bind password), which
    // the same keys encrypt.
    {
        use diesel::RunQueryDsl;
        let (db, cipher) = store_and_cipher(dir.path());
        let (encrypted, key_hash) = cipher.encrypt("\"bind-secret\"").unwrap();
        db.blocking(move |conn| {
            diesel::sql_query("INSERT INTO domains (id, name, created_at) VALUES ('d1', 'd1', 0)")
                .execute(conn)?;
            diesel::sql_query(format!(
                "INSERT INTO domain_config (domain_id, config_group, config_option, encrypted_value, key_hash) \
                 VALUES ('d1', 'ldap', 'password', '{encrypted}', '{key_hash}')"
            ))
            .execute(conn)?;
            // And an OS-OAUTH1 consumer's secret.
            diesel::sql_query(format!(
                "INSERT INTO oauth_consumers (id, encrypted_secret, key_hash, created_at) \
                 VALUES ('oc1', '{encrypted}', '{key_hash}', 0)"
            ))
            .execute(conn)?;
            Ok(())
        })
        .unwrap();
    }
    let run = |args: &[&str]| ironstone(dir.path()).args(args).output().unwrap();
    assert!(
        run(&["credential", "rotate"]).status.success(),
        "all blobs are under the primary"
    );
    let refused = run(&["credential", "rotate"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("credential migrate"));
    assert!(run(&["credential", "migrate"]).status.success());
    assert!(
        run(&["credential", "rotate"]).status.success(),
        "allowed again after migrate"
    );
    assert!(run(&["credential", "migrate"]).status.success());
    // The blob still decrypts with the current keys.
    let (db, cipher) = store_and_cipher(dir.path());
    let found = db
        .blocking(|conn| ironstone::credential::get(conn, &cipher, "c1"))
        .unwrap()
        .unwrap();
    assert_eq!(found.blob.expose(), "ABC");
    let (encrypted, key_hash) = db
        .blocking(|conn| {
            use diesel::prelude::*;
            use ironstone::store::schema::domain_config as dc;
            Ok(dc::table
                .select((dc::encrypted_value, dc::key_hash))
                .first::<(Option<String>, Option<String>)>(conn)?)
        })
        .unwrap();
    assert_eq!(key_hash.unwrap(), cipher.ring().primary_key_hash().unwrap());
    assert_eq!(
        cipher.decrypt(&encrypted.unwrap()).unwrap().expose(),
        "\"bind-secret\""
    );
    let (encrypted, key_hash) = db
        .blocking(|conn| {
            use diesel::prelude::*;
            use ironstone::store::schema::oauth_consumers as oc;
            Ok(oc::table
                .select((oc::encrypted_secret, oc::key_hash))
                .first::<(String, String)>(conn)?)
        })
        .unwrap();
    assert_eq!(key_hash, cipher.ring().primary_key_hash().unwrap());
    assert_eq!(
        cipher.decrypt(&encrypted).unwrap().expose(),
        "\"bind-secret\""
    );
}
