//! docker-compose.yml and the Dockerfile cannot run on our machines (no
//! Docker engine); these checks keep them in step with the configuration
//! reference and the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_yaml::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Value {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The environment of a service, with YAML anchors merged.
fn environment(service: &Value) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let mut collect = |v: &Value| {
        if let Some(map) = v.get("environment").and_then(Value::as_mapping) {
            for (k, v) in map {
                let value = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| serde_yaml::to_string(v).unwrap().trim().to_string());
                env.push((k.as_str().unwrap().to_string(), value));
            }
        }
    };
    if let Some(merged) = service.get("<<") {
        collect(merged);
    }
    collect(service);
    env
}

fn get<'a>(service: &'a Value, key: &str) -> Option<&'a Value> {
    service
        .get(key)
        .or_else(|| service.get("<<").and_then(|m| m.get(key)))
}

#[test]
fn compose_runs_two_replicas_that_share_database_and_keys() {
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    for name in ["postgres", "keys", "ironstone-1", "ironstone-2"] {
        assert!(services.contains_key(name), "service {name}");
    }
    let one = &c["services"]["ironstone-1"];
    let two = &c["services"]["ironstone-2"];
    let env_one = environment(one);
    let env_two = environment(two);
    assert_eq!(env_one, env_two, "replicas share one configuration");
    // Every variable is a real setting: the config loader accepts them.
    let substituted: Vec<(String, String)> = env_one
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.replace("${IRONSTONE_BOOTSTRAP_PASSWORD:-change-me}", "change-me")
                    .replace(
                        "${IRONSTONE_PUBLIC_ENDPOINT:-http://localhost:5000}",
                        "http://localhost:5000",
                    ),
            )
        })
        .collect();
    let config = ironstone::config::Config::load(None, substituted).unwrap();
    assert!(
        config.database_url().starts_with("postgres://"),
        "replicas need PostgreSQL"
    );
    assert!(config.database_url().contains("@postgres:5432/"));
    // The key repositories live on the shared volume.
    let volumes: Vec<&str> = get(one, "volumes")
        .unwrap()
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mount = volumes
        .iter()
        .find_map(|v| v.strip_prefix("keys:"))
        .unwrap();
    assert!(config.fernet_key_repository().starts_with(mount));
    assert!(config.credential_key_repository().starts_with(mount));
    assert!(c["volumes"].as_mapping().unwrap().contains_key("keys"));
    assert!(c["volumes"].as_mapping().unwrap().contains_key("pgdata"));
    // Both serve Keystone's and SODA's ports, published on distinct host ports.
    let mut host_ports = Vec::new();
    for replica in [one, two] {
        let command: Vec<&str> = replica["command"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            command,
            [
                "serve",
                "--listen",
                "0.0.0.0:5000",
                "--listen",
                "0.0.0.0:8089"
            ]
        );
        for port in replica["ports"].as_sequence().unwrap() {
            let (host, container) = port.as_str().unwrap().split_once(':').unwrap();
            assert!(["5000", "8089"].contains(&container));
            host_ports.push(host.to_string());
        }
        let check: Vec<&str> = replica["healthcheck"]["test"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            check.iter().any(|a| a.ends_with(":5000/readyz")),
            "health checks use /readyz"
        );
        assert_eq!(
            replica["depends_on"]["postgres"]["condition"],
            "service_healthy"
        );
        assert_eq!(
            replica["depends_on"]["keys"]["condition"],
            "service_completed_successfully"
        );
    }
    let unique: std::collections::BTreeSet<_> = host_ports.iter().collect();
    assert_eq!(
        unique.len(),
        host_ports.len(),
        "no host port is published twice"
    );
    // The key setup runs the real CLI subcommands.
    let setup = c["services"]["keys"]["entrypoint"][2].as_str().unwrap();
    assert!(
        setup.contains("ironstone fernet setup") && setup.contains("ironstone credential setup")
    );
}

#[test]
fn dockerfile_is_multi_stage_and_runs_the_release_binary() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage");
    assert!(froms[0].contains(" AS build"));
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("COPY --from=build /src/target/release/ironstone"));
    assert!(text.contains("EXPOSE 5000 8089"));
    assert!(text.contains("USER ironstone"), "not root at runtime");
    assert!(text.contains("/readyz"));
}
