//! Keystone's notifications over AMQP, received by the real oslo.messaging
//! notification listener (as Ceilometer consumes them) from the RabbitMQ
//! on 127.0.0.1:5672; and what happens while the broker is away.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{admin_member, call, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BROKER: &str = "127.0.0.1:5672";

/// The broker, or `None` (with a reason) when it is not running and the
/// interop tests are not required.
fn broker_up() -> bool {
    if std::net::TcpStream::connect(BROKER).is_ok() {
        return true;
    }
    if std::env::var("IRONSTONE_TEST_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
        panic!("RabbitMQ is required at {BROKER}");
    }
    eprintln!("skipping: no RabbitMQ at {BROKER}");
    false
}

/// oslo.messaging's listener on a topic and exchange of the test's own.
struct Listener {
    child: Child,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl Listener {
    /// A listener on an exchange and topic of the test's own; `None` (the
    /// test skips) without the interop venv or the broker.
    fn on_own_topic() -> Option<(Listener, String, String)> {
        let python = common::interop_python()?;
        if !broker_up() {
            return None;
        }
        let (exchange, topic) = (unique("keystone_test"), unique("notifications_test"));
        let listener = Listener::start(&python, &exchange, &topic);
        Some((listener, exchange, topic))
    }

    /// The listener lives until it is dropped (its stdin closes); the
    /// time cap is only a backstop, far beyond a slow CI machine's run
    /// (a cap of 120 s once ended it before the last events came).
    fn start(python: &std::path::Path, exchange: &str, topic: &str) -> Listener {
        let mut child = Command::new(python)
            .arg(common::interop_dir().join("notification_listener.py"))
            .args([
                &format!("rabbit://guest:guest@{BROKER}/"),
                exchange,
                topic,
                "1800",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert_eq!(first, "READY");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        Listener { child, seen }
    }

    /// The first notification `matches` accepts, waiting up to `within`.
    async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            if let Some(v) = self.seen.lock().unwrap().iter().find(|v| matches(v)) {
                return v.clone();
            }
            assert!(
                started.elapsed() < within,
                "no {what} within {within:?}; received: {:?}",
                self.seen.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server publishing to the broker at `address`, on the test's own
/// exchange and topic.
fn notifying(
    address: &str,
    exchange: &str,
    topic: &str,
    tweak: impl FnOnce(&mut ironstone::config::Config),
) -> TestServer {
    TestServer::start_with(Backend::Sqlite, |c| {
        c.notifications.transport_url = Some(format!("rabbit://guest:guest@{address}/"));
        c.notifications.exchange = exchange.to_string();
        c.notifications.topics = vec![topic.to_string()];
        tweak(c);
    })
    .unwrap()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn of_type<'a>(event_type: &'a str, id: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |v| v["event_type"] == event_type && v["payload"]["resource_info"] == id
}

async fn create_user(s: &TestServer, token: &str, name: &str) -> String {
    let (status, body) = call(
        s,
        Method::POST,
        "/v3/users",
        Some(token),
        Some(json!({"user": {"name": name, "password": "pw-notify-1", "domain_id": "default"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["user"]["id"].as_str().unwrap().to_string()
}

/// A user created, a project deleted, a role granted and a failed login,
/// each received and parsed by oslo.messaging, in Keystone's CADF shape;
/// then the same user creation in the `basic` format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_notifications_reach_an_oslo_messaging_listener() {
    let Some((listener, exchange, topic)) = Listener::on_own_topic() else {
        return;
    };
    let s = notifying(BROKER, &exchange, &topic, |c| {
        c.notifications.publisher_host = "ironstone-test".into();
    });
    let admin = admin_member(&s).await;
    let within = Duration::from_secs(30);

    let user = create_user(&s, &admin.token, "notified").await;
    let created = listener
        .wait_for(
            "identity.user.created",
            within,
            of_type("identity.user.created", &user),
        )
        .await;
    assert_eq!(created["publisher_id"], "identity.ironstone-test");
    assert_eq!(created["priority"], "info");
    let p = &created["payload"];
    assert_eq!(
        p["typeURI"],
        "http://schemas.dmtf.org/cloud/audit/1.0/event"
    );
    assert_eq!(p["action"], "created.user");
    assert_eq!(p["outcome"], "success");
    assert_eq!(p["eventType"], "activity");
    assert_eq!(
        p["target"],
        json!({"typeURI": "data/security/account/user", "id": user})
    );
    assert_eq!(p["observer"]["typeURI"], "service/security");
    assert_eq!(p["initiator"]["typeURI"], "service/security/account/user");
    assert_eq!(p["initiator"]["user_id"], admin.user_id);
    assert_eq!(p["initiator"]["project_id"], admin.project_id);
    assert_eq!(p["initiator"]["host"]["address"], "127.0.0.1");
    assert!(p["initiator"]["request_id"]
        .as_str()
        .unwrap()
        .starts_with("req-"));
    assert!(created["metadata"]["message_id"].is_string());
    assert!(created["metadata"]["timestamp"].is_string());

    let project = common::create_project(&s, "doomed").await;
    let (status, _) = call(
        &s,
        Method::PATCH,
        &format!("/v3/projects/{project}"),
        Some(&admin.token),
        Some(json!({"project": {"enabled": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!("/v3/projects/{project}"),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleted = listener
        .wait_for(
            "identity.project.deleted",
            within,
            of_type("identity.project.deleted", &project),
        )
        .await;
    assert_eq!(deleted["payload"]["action"], "deleted.project");
    assert_eq!(
        deleted["payload"]["target"]["typeURI"],
        "data/security/project"
    );

    let role = common::role_id(&s, &admin.token, "member").await;
    let (status, _) = call(
        &s,
        Method::PUT,
        &format!(
            "/v3/projects/{}/users/{user}/roles/{role}",
            admin.project_id
        ),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let granted = listener
        .wait_for("identity.role_assignment.created", within, |v| {
            v["event_type"] == "identity.role_assignment.created" && v["payload"]["user"] == user
        })
        .await;
    let p = &granted["payload"];
    assert_eq!(p["action"], "created.role_assignment");
    assert_eq!(p["project"], admin.project_id);
    assert_eq!(p["role"], role);
    assert_eq!(p["inherited_to_projects"], false);
    assert_eq!(p["outcome"], "success");

    let (status, _, _) = s
        .auth(json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": "notified", "domain": {"id": "default"}, "password": "wrong"}}}}}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let failed = listener
        .wait_for("identity.authenticate (failure)", within, |v| {
            v["event_type"] == "identity.authenticate"
                && v["payload"]["initiator"]["user_id"] == user
        })
        .await;
    let p = &failed["payload"];
    assert_eq!(p["action"], "authenticate");
    assert_eq!(p["outcome"], "failure");
    assert_eq!(p["target"]["typeURI"], "service/security/account/user");
    // Keystone's default opt-out: successful logins are not sent.
    s.password_token("notified", "pw-notify-1", None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let successes = listener
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|v| {
            v["event_type"] == "identity.authenticate" && v["payload"]["outcome"] == "success"
        })
        .count();
    assert_eq!(successes, 0);
    drop(s);

    // `basic`: the resource and the request only.
    let basic = notifying(BROKER, &exchange, &topic, |c| {
        c.notifications.format = "basic".into();
    });
    let admin = admin_member(&basic).await;
    let user = create_user(&basic, &admin.token, "basic-notified").await;
    let created = listener
        .wait_for(
            "a basic identity.user.created",
            within,
            of_type("identity.user.created", &user),
        )
        .await;
    let p = created["payload"].as_object().unwrap();
    assert_eq!(
        p.keys().map(String::as_str).collect::<Vec<_>>(),
        ["request_id", "resource_info"]
    );
}

/// Forwards 127.0.0.1:`port` to the broker once started: the broker "comes
/// back" at that moment.
async fn broker_returns_on(port: u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(BROKER).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}

/// While the broker is away requests go on as fast, their notifications
/// wait in the queue, and they are delivered once it is back; past the
/// queue's bound, new ones are dropped and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_wait_for_a_broker_that_is_down() {
    let Some((listener, exchange, topic)) = Listener::on_own_topic() else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = notifying(&format!("127.0.0.1:{port}"), &exchange, &topic, |_| {});
    let admin = admin_member(&s).await;
    let started = Instant::now();
    let user = create_user(&s, &admin.token, "waiting").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let metrics = common::text_of(&s, "/metrics").await;
    assert!(
        gauge(&metrics, "ironstone_notifications_queued") >= 1.0,
        "{metrics}"
    );
    assert_eq!(
        gauge(&metrics, "ironstone_notifications_dropped_total"),
        0.0
    );

    broker_returns_on(port).await;
    listener
        .wait_for(
            "the queued identity.user.created",
            Duration::from_secs(20),
            of_type("identity.user.created", &user),
        )
        .await;
    drop(s);

    // A queue of 2 fills with the bootstrap's own events: the rest are
    // dropped and counted, and requests do not wait.
    let full = TestServer::start_with(Backend::Sqlite, |c| {
        c.notifications.transport_url = Some("rabbit://guest:guest@127.0.0.1:9/".into());
        c.notifications.queue_size = 2;
    })
    .unwrap();
    let admin = admin_member(&full).await;
    let started = Instant::now();
    create_user(&full, &admin.token, "dropped").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let metrics = common::text_of(&full, "/metrics").await;
    assert_eq!(gauge(&metrics, "ironstone_notifications_queued"), 2.0);
    assert!(gauge(&metrics, "ironstone_notifications_dropped_total") >= 1.0);
}

fn gauge(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Keystone 30 started with its notifications on `topic`; its base URL.
/// It stops when the returned child's stdin closes (on drop).
fn keystone_notifying(python: &std::path::Path, exchange: &str, topic: &str) -> (Child, String) {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut child = Command::new(python)
        .arg(common::interop_dir().join("keystone_server.py"))
        .arg(&dir)
        .arg(common::ADMIN_PASSWORD)
        .env(
            "KEYSTONE_NOTIFICATIONS",
            format!("rabbit://guest:guest@{BROKER}/ {exchange} {topic}"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = lines
        .find_map(|l| l.ok()?.strip_prefix("PORT ").map(str::to_string))
        .expect("Keystone started");
    (child, format!("http://127.0.0.1:{port}"))
}

/// The same requests, over HTTP only, against `base`: what each event is
/// about, by the id the service gave it.
async fn notified_scenario(client: &reqwest::Client, base: &str) -> Value {
    let send = |method: Method, path: String, token: Option<String>, body: Option<Value>| {
        let mut req = client.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let token = resp
                .headers()
                .get("x-subject-token")
                .map(|v| v.to_str().unwrap().to_string());
            (
                status,
                token,
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let login = |name: &str, password: &str, scope: Option<Value>| {
        let mut body = json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": name, "domain": {"id": "default"}, "password": password}}}}});
        if let Some(scope) = scope {
            body["auth"]["scope"] = scope;
        }
        send(Method::POST, "/v3/auth/tokens".into(), None, Some(body))
    };
    let scope = json!({"project": {"name": "admin", "domain": {"id": "default"}}});
    let (_, token, _) = login("admin", common::ADMIN_PASSWORD, Some(scope)).await;
    let t = || token.clone();
    let create = |kind: &'static str, body: Value| {
        let request = send(
            Method::POST,
            format!("/v3/{kind}s"),
            t(),
            Some(json!({kind: body})),
        );
        async move { request.await.2[kind]["id"].as_str().unwrap().to_string() }
    };
    let user = create(
        "user",
        json!({"name": "shaped", "password": "pw-shaped-1", "domain_id": "default"}),
    )
    .await;
    let project = create(
        "project",
        json!({"name": "shaped-p", "domain_id": "default"}),
    )
    .await;
    let (_, _, roles) = send(Method::GET, "/v3/roles?name=member".into(), t(), None).await;
    let role = roles["roles"][0]["id"].as_str().unwrap().to_string();
    let put = |path: String| {
        let request = send(Method::PUT, path, t(), None);
        async move { assert_eq!(request.await.0, StatusCode::NO_CONTENT) }
    };
    put(format!("/v3/projects/{project}/users/{user}/roles/{role}")).await;
    let group = create("group", json!({"name": "shaped-g", "domain_id": "default"})).await;
    put(format!("/v3/groups/{group}/users/{user}")).await;
    send(
        Method::PATCH,
        format!("/v3/projects/{project}"),
        t(),
        Some(json!({"project": {"enabled": false}})),
    )
    .await;
    let (status, _, _) = send(Method::DELETE, format!("/v3/projects/{project}"), t(), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = login("shaped", "wrong", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    json!({"user": user, "project": project, "group": group, "role": role})
}

/// Every key path of a payload (`initiator.host.address`), with the
/// values that must match where they are not ids or times.
fn shape(v: &Value, prefix: &str, out: &mut std::collections::BTreeMap<String, Value>) {
    const SAME_VALUES: [&str; 8] = [
        "typeURI",
        "action",
        "outcome",
        "eventType",
        "inherited_to_projects",
        "actor_type",
        "actor_operation",
        "priority",
    ];
    if let Value::Object(map) = v {
        for (k, child) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match child {
                Value::Object(_) => shape(child, &path, out),
                _ => {
                    let shown = if SAME_VALUES.contains(&k.as_str()) {
                        child.clone()
                    } else {
                        json!("…")
                    };
                    out.insert(path, shown);
                }
            }
        }
    }
}

/// Keystone 30 and Ironstone, given the same requests, send the same
/// notifications: the same event types, in the same payload shapes, with
/// the same actions, outcomes and CADF types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_as_in_keystone() {
    let Some((theirs, exchange, topic)) = Listener::on_own_topic() else {
        return;
    };
    let python = common::interop_python().unwrap();
    let ours_topic = unique("notifications_ours");
    let ours = Listener::start(&python, &exchange, &ours_topic);
    let (keystone, keystone_url) = keystone_notifying(&python, &exchange, &topic);
    let s = notifying(BROKER, &exchange, &ours_topic, |_| {});
    let client = reqwest::Client::new();
    let mut compared = Vec::new();
    for (name, base, listener) in [
        ("keystone", keystone_url.as_str(), &theirs),
        ("ironstone", s.url.as_str(), &ours),
    ] {
        let ids = notified_scenario(&client, base).await;
        let user = ids["user"].as_str().unwrap().to_string();
        listener
            .wait_for(
                &format!("{name}'s failed login"),
                Duration::from_secs(60),
                |v| {
                    v["event_type"] == "identity.authenticate"
                        && v["payload"]["initiator"]["user_id"] == user
                },
            )
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mentioned: Vec<String> = ["user", "project", "group", "role"]
            .iter()
            .map(|k| ids[k].as_str().unwrap().to_string())
            .collect();
        let mut events = std::collections::BTreeMap::new();
        for v in listener.seen.lock().unwrap().iter() {
            let text = v["payload"].to_string();
            if !mentioned.iter().any(|id| text.contains(id.as_str())) {
                continue;
            }
            let mut keys = std::collections::BTreeMap::new();
            shape(&v["payload"], "", &mut keys);
            keys.insert("priority".into(), v["priority"].clone());
            events.insert(v["event_type"].as_str().unwrap().to_string(), keys);
        }
        compared.push(events);
    }
    drop(keystone);
    let (theirs, ours) = (&compared[0], &compared[1]);
    assert_eq!(
        theirs.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "event types differ"
    );
    let mut differences = Vec::new();
    for (event, shape) in theirs {
        for (key, value) in shape {
            if ours[event].get(key) != Some(value) {
                differences.push(format!(
                    "{event} {key}: Keystone {value}, Ironstone {:?}",
                    ours[event].get(key)
                ));
            }
        }
        for key in ours[event].keys().filter(|k| !shape.contains_key(*k)) {
            differences.push(format!("{event} {key}: only in Ironstone"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
