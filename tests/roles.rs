//! Roles, implied roles, groups and grants over HTTP: errors change
//! nothing, grants reach tokens (directly, through groups, inherited), and
//! who may manage them; on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, create_project, member_of, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn role_names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn roles_and_implications(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let (status, r) = call(
        &s,
        Method::POST,
        "/v3/roles",
        t,
        Some(json!({"role": {"name": "ops"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let ops = r["role"]["id"].as_str().unwrap().to_string();
    assert_eq!(r["role"]["domain_id"], Value::Null);
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/roles",
        t,
        Some(json!({"role": {"name": "ops"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, d) = call(
        &s,
        Method::POST,
        "/v3/roles",
        t,
        Some(json!({"role": {"name": "ops", "domain_id": "default"}})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the same name in a domain is another role: {d}"
    );
    let (_, list) = call(&s, Method::GET, "/v3/roles?name=ops", t, None).await;
    assert_eq!(
        list["roles"].as_array().unwrap().len(),
        1,
        "global roles only unless a domain is named"
    );
    let (_, reader) = call(&s, Method::GET, "/v3/roles?name=reader", t, None).await;
    let reader = reader["roles"][0]["id"].as_str().unwrap().to_string();
    let (_, member) = call(&s, Method::GET, "/v3/roles?name=member", t, None).await;
    let member = member["roles"][0]["id"].as_str().unwrap().to_string();

    // Implications: create, idempotent, cycles refused, listed, removed.
    let url = format!("/v3/roles/{ops}/implies/{member}");
    let (status, body) = call(&s, Method::PUT, &url, t, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role_inference"]["implies"]["id"], member.as_str());
    let (status, body) = call(
        &s,
        Method::PUT,
        &format!("/v3/roles/{reader}/implies/{ops}"),
        t,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "reader ⇒ ops would close ops ⇒ member ⇒ reader: {body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("cycle"));
    let (status, _) = call(
        &s,
        Method::PUT,
        &format!("/v3/roles/{ops}/implies/ffffffffffffffffffffffffffffffff"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, inferences) = call(&s, Method::GET, "/v3/role_inferences", t, None).await;
    assert!(inferences["role_inferences"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["prior_role"]["id"] == ops.as_str()));
    assert_eq!(
        call(&s, Method::HEAD, &url, t, None).await.0,
        StatusCode::NO_CONTENT
    );

    // A domain-specific role is granted only inside its domain.
    let domain_role = d["role"]["id"].as_str().unwrap().to_string();
    let (_, other) = call(
        &s,
        Method::POST,
        "/v3/domains",
        t,
        Some(json!({"domain": {"name": "elsewhere"}})),
    )
    .await;
    let other = other["domain"]["id"].as_str().unwrap().to_string();
    let (status, body) = call(
        &s,
        Method::PUT,
        &format!(
            "/v3/domains/{other}/users/{}/roles/{domain_role}",
            admin.user_id
        ),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = call(
        &s,
        Method::PUT,
        &format!(
            "/v3/domains/default/users/{}/roles/{domain_role}",
            admin.user_id
        ),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A token holding ops gets member and reader too.
    let project = create_project(&s, "impl").await;
    let m = member_of(&s, "ivy", &project, "reader").await;
    let (status, _) = call(
        &s,
        Method::PUT,
        &format!("/v3/projects/{project}/users/{}/roles/{ops}", m.user_id),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &s,
        Method::PUT,
        &format!("/v3/projects/{project}/users/{}/roles/{ops}", m.user_id),
        t,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "granting twice is not an error"
    );
    let (_, body) = s
        .password_token("ivy", "pw", Some(json!({"project": {"id": project}})))
        .await;
    assert_eq!(role_names(&body), vec!["member", "ops", "reader"]);
    let (status, _) = call(&s, Method::DELETE, &url, t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = s
        .password_token("ivy", "pw", Some(json!({"project": {"id": project}})))
        .await;
    assert_eq!(role_names(&body), vec!["ops", "reader"]);

    // Immutable bootstrap roles cannot be deleted; deleting a role removes its grants.
    let (status, _) = call(&s, Method::DELETE, &format!("/v3/roles/{reader}"), t, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&s, Method::DELETE, &format!("/v3/roles/{ops}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &s,
        Method::GET,
        &format!("/v3/projects/{project}/users/{}/roles/{ops}", m.user_id),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn groups_and_inheritance(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let (_, g) = call(
        &s,
        Method::POST,
        "/v3/groups",
        t,
        Some(json!({"group": {"name": "devs", "description": "developers"}})),
    )
    .await;
    let gid = g["group"]["id"].as_str().unwrap().to_string();
    assert_eq!(g["group"]["domain_id"], "default");
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/groups",
        t,
        Some(json!({"group": {"name": "devs"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let uid = common::create_user(&s, "gil", "pw", None).await;
    let parent = create_project(&s, "parent").await;
    let (_, child) = call(
        &s,
        Method::POST,
        "/v3/projects",
        t,
        Some(json!({"project": {"name": "child", "parent_id": parent}})),
    )
    .await;
    let child = child["project"]["id"].as_str().unwrap().to_string();
    let (_, member) = call(&s, Method::GET, "/v3/roles?name=member", t, None).await;
    let member = member["roles"][0]["id"].as_str().unwrap().to_string();

    // Through a group.
    assert_eq!(
        call(
            &s,
            Method::PUT,
            &format!("/v3/groups/{gid}/users/{uid}"),
            t,
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(
            &s,
            Method::HEAD,
            &format!("/v3/groups/{gid}/users/{uid}"),
            t,
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, users) = call(&s, Method::GET, &format!("/v3/groups/{gid}/users"), t, None).await;
    assert_eq!(users["users"][0]["id"], uid.as_str());
    let (_, groups) = call(&s, Method::GET, &format!("/v3/users/{uid}/groups"), t, None).await;
    assert_eq!(groups["groups"][0]["id"], gid.as_str());
    assert_eq!(
        call(
            &s,
            Method::PUT,
            &format!("/v3/projects/{parent}/groups/{gid}/roles/{member}"),
            t,
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (token, body) = s
        .password_token("gil", "pw", Some(json!({"project": {"id": parent}})))
        .await;
    assert_eq!(role_names(&body), vec!["member", "reader"]);
    // The effective listing shows the group path and the implied role.
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/role_assignments?effective&include_names&user.id={uid}"),
        t,
        None,
    )
    .await;
    let items = list["role_assignments"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert!(
        items
            .iter()
            .all(|a| a["links"]["membership"].is_string()
                && a["scope"]["project"]["name"] == "parent")
    );
    assert!(items
        .iter()
        .any(|a| a["links"]["prior_role"].is_string() && a["role"]["name"] == "reader"));
    // Leaving the group revokes the token.
    assert_eq!(
        call(
            &s,
            Method::DELETE,
            &format!("/v3/groups/{gid}/users/{uid}"),
            t,
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.validate(&admin.token, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &s,
            Method::DELETE,
            &format!("/v3/groups/{gid}/users/{uid}"),
            t,
            None
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Inherited from the parent project: the child gets it, the parent does not.
    let inherit = format!(
        "/v3/OS-INHERIT/projects/{parent}/users/{uid}/roles/{member}/inherited_to_projects"
    );
    assert_eq!(
        call(&s, Method::PUT, &inherit, t, None).await.0,
        StatusCode::NO_CONTENT
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, body) = s
        .password_token("gil", "pw", Some(json!({"project": {"id": child}})))
        .await;
    assert_eq!(role_names(&body), vec!["member", "reader"]);
    let (status, _, _) = s
        .auth(json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": uid, "password": "pw"}}}, "scope": {"project": {"id": parent}}}}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "inherited grants do not apply to the project itself"
    );
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/role_assignments?user.id={uid}"),
        t,
        None,
    )
    .await;
    assert_eq!(
        list["role_assignments"][0]["scope"]["OS-INHERIT:inherited_to"],
        "projects"
    );
    assert!(list["role_assignments"][0]["links"]["assignment"]
        .as_str()
        .unwrap()
        .ends_with("/inherited_to_projects"));
    // Inherited from the domain.
    assert_eq!(
        call(&s, Method::DELETE, &inherit, t, None).await.0,
        StatusCode::NO_CONTENT
    );
    let domain_inherit =
        format!("/v3/OS-INHERIT/domains/default/users/{uid}/roles/{member}/inherited_to_projects");
    assert_eq!(
        call(&s, Method::PUT, &domain_inherit, t, None).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/role_assignments?effective&user.id={uid}&role.id={member}"),
        t,
        None,
    )
    .await;
    let projects: Vec<&str> = list["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["scope"]["project"]["id"].as_str().unwrap())
        .collect();
    assert!(
        projects.contains(&parent.as_str()) && projects.contains(&child.as_str()),
        "{list}"
    );

    // include_subtree reaches the child's assignments from the parent.
    assert_eq!(
        call(
            &s,
            Method::PUT,
            &format!("/v3/projects/{child}/users/{uid}/roles/{member}"),
            t,
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, list) = call(
        &s,
        Method::GET,
        &format!(
            "/v3/role_assignments?scope.project.id={parent}&include_subtree=true&user.id={uid}"
        ),
        t,
        None,
    )
    .await;
    assert!(
        list["role_assignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["scope"]["project"]["id"] == child.as_str()),
        "{list}"
    );
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/role_assignments?scope.project.id={parent}&user.id={uid}"),
        t,
        None,
    )
    .await;
    assert!(!list["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["scope"]["project"]["id"] == child.as_str()));

    // Unknown ids answer 404 and change nothing.
    for path in [
        format!("/v3/projects/ffffffffffffffffffffffffffffffff/users/{uid}/roles/{member}"),
        format!("/v3/projects/{parent}/users/ffffffffffffffffffffffffffffffff/roles/{member}"),
        format!("/v3/projects/{parent}/users/{uid}/roles/ffffffffffffffffffffffffffffffff"),
        format!("/v3/groups/{gid}/users/ffffffffffffffffffffffffffffffff"),
    ] {
        assert_eq!(
            call(&s, Method::PUT, &path, t, None).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        call(&s, Method::DELETE, &format!("/v3/groups/{gid}"), t, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
}

async fn who_may_grant(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let project = create_project(&s, "g").await;
    let m = member_of(&s, "mo", &project, "member").await;
    let other = member_of(&s, "ned", &project, "member").await;
    let system_reader = common::create_user(&s, "sr", "pw", None).await;
    let sr = system_reader.clone();
    s.db(move |conn| {
        let role = ironstone::assignment::find_global_role_by_name(conn, "reader")?.unwrap();
        ironstone::assignment::grant(
            conn,
            ironstone::assignment::AssignmentKind::UserSystem,
            &sr,
            "system",
            &role.id,
            false,
        )
    })
    .await;
    let (sr_token, _) = s
        .password_token("sr", "pw", Some(json!({"system": {"all": true}})))
        .await;
    let (_, reader) = call(
        &s,
        Method::GET,
        "/v3/roles?name=reader",
        Some(&admin.token),
        None,
    )
    .await;
    let reader = reader["roles"][0]["id"].as_str().unwrap().to_string();
    let grant = format!(
        "/v3/projects/{project}/users/{}/roles/{reader}",
        other.user_id
    );
    let cases: Vec<(&str, Option<&str>, Method, &str, StatusCode)> = vec![
        (
            "admin",
            Some(&admin.token),
            Method::PUT,
            &grant,
            StatusCode::NO_CONTENT,
        ),
        (
            "member",
            Some(&m.token),
            Method::PUT,
            &grant,
            StatusCode::FORBIDDEN,
        ),
        (
            "system reader",
            Some(&sr_token),
            Method::PUT,
            &grant,
            StatusCode::FORBIDDEN,
        ),
        (
            "system reader",
            Some(&sr_token),
            Method::HEAD,
            &grant,
            StatusCode::NO_CONTENT,
        ),
        (
            "member",
            Some(&m.token),
            Method::HEAD,
            &grant,
            StatusCode::FORBIDDEN,
        ),
        (
            "nobody",
            None,
            Method::HEAD,
            &grant,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "member",
            Some(&m.token),
            Method::POST,
            "/v3/roles",
            StatusCode::FORBIDDEN,
        ),
        (
            "member",
            Some(&m.token),
            Method::GET,
            "/v3/roles",
            StatusCode::FORBIDDEN,
        ),
        (
            "system reader",
            Some(&sr_token),
            Method::GET,
            "/v3/roles",
            StatusCode::OK,
        ),
        (
            "member",
            Some(&m.token),
            Method::GET,
            "/v3/role_assignments",
            StatusCode::FORBIDDEN,
        ),
        (
            "system reader",
            Some(&sr_token),
            Method::GET,
            "/v3/role_assignments",
            StatusCode::OK,
        ),
        (
            "member",
            Some(&m.token),
            Method::POST,
            "/v3/groups",
            StatusCode::FORBIDDEN,
        ),
        (
            "member",
            Some(&m.token),
            Method::GET,
            "/v3/groups",
            StatusCode::FORBIDDEN,
        ),
        (
            "member",
            Some(&m.token),
            Method::GET,
            "/v3/role_inferences",
            StatusCode::FORBIDDEN,
        ),
        (
            "admin",
            Some(&admin.token),
            Method::DELETE,
            &grant,
            StatusCode::NO_CONTENT,
        ),
    ];
    for (who, token, method, path, want) in cases {
        // Keystone's schemas close the body to its one member.
        let body = (method == Method::POST).then(|| {
            if path.ends_with("/groups") {
                json!({"group": {"name": "x"}})
            } else {
                json!({"role": {"name": "x"}})
            }
        });
        let (status, got) = call(&s, method.clone(), path, token, body).await;
        assert_eq!(status, want, "{method} {path} as {who}: {got}");
    }
}

on_every_backend!(
    roles_and_implications,
    groups_and_inheritance,
    who_may_grant
);

/// Every grant route, for a user and a group on the system, a domain and
/// a project, directly and inherited: grant (204), check with GET and
/// HEAD (204), list (200, where the route exists), revoke (204), check
/// again (404). Then the checks of the other resources that answer "yes"
/// with an empty status: group membership, a trust's role, a role
/// implication, and a policy's association with a service; and a trust's
/// roles refused to a stranger (403), a trust refused without a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_and_check_route_answers_its_success() {
    let s = TestServer::start(Backend::Sqlite).unwrap();
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let created = |path: &'static str, body: Value, key: &'static str| {
        common::create_as(&s, &admin.token, path, body, key)
    };
    let user = common::create_user(&s, "granted", "pw", None).await;
    let group = created("/v3/groups", json!({"group": {"name": "granted"}}), "group").await;
    let role = created("/v3/roles", json!({"role": {"name": "granted"}}), "role").await;
    let project = create_project(&s, "granted").await;
    let routes: Vec<String> = ironstone::api::ROUTES
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let has_route = |method: &str, path: &str, ids: &[(&str, &str)]| {
        let mut pattern = path.to_string();
        for (name, id) in ids {
            pattern = pattern.replace(id, &format!("{{{name}}}"));
        }
        routes.contains(&format!("{method} {pattern}"))
    };
    for (actor, actor_id, actor_param) in [
        ("users", user.as_str(), "user_id"),
        ("groups", group.as_str(), "group_id"),
    ] {
        for (target, target_param, suffix) in [
            ("/v3/system".to_string(), None, ""),
            ("/v3/domains/default".to_string(), Some("domain_id"), ""),
            (format!("/v3/projects/{project}"), Some("project_id"), ""),
            (
                "/v3/OS-INHERIT/domains/default".to_string(),
                Some("domain_id"),
                "/inherited_to_projects",
            ),
            (
                format!("/v3/OS-INHERIT/projects/{project}"),
                Some("project_id"),
                "/inherited_to_projects",
            ),
        ] {
            let list = format!("{target}/{actor}/{actor_id}/roles{suffix}");
            let one = format!("{target}/{actor}/{actor_id}/roles/{role}{suffix}");
            let target_id = match target_param {
                Some("domain_id") => "default".to_string(),
                Some(_) => project.clone(),
                None => String::new(),
            };
            let mut ids = vec![(actor_param, actor_id), ("role_id", role.as_str())];
            if let Some(param) = target_param {
                ids.push((param, target_id.as_str()));
            }
            for (method, expected) in [
                (Method::PUT, StatusCode::NO_CONTENT),
                (Method::GET, StatusCode::NO_CONTENT),
                (Method::HEAD, StatusCode::NO_CONTENT),
            ] {
                let (status, body) = call(&s, method.clone(), &one, t, None).await;
                assert_eq!(status, expected, "{method} {one}: {body}");
            }
            if has_route("GET", &list, &ids) {
                let (status, body) = call(&s, Method::GET, &list, t, None).await;
                assert_eq!(status, StatusCode::OK, "{list}: {body}");
                assert!(body.to_string().contains(&role), "{list}: {body}");
            }
            let (status, body) = call(&s, Method::DELETE, &one, t, None).await;
            assert_eq!(status, StatusCode::NO_CONTENT, "DELETE {one}: {body}");
            let (status, _) = call(&s, Method::GET, &one, t, None).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "GET {one} after the revocation"
            );
        }
    }

    let membership = format!("/v3/groups/{group}/users/{user}");
    let (status, _) = call(&s, Method::PUT, &membership, t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&s, Method::GET, &membership, t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let member_role = common::role_id(&s, &admin.token, "member").await;
    let implication = format!("/v3/roles/{role}/implies/{member_role}");
    let (status, _) = call(&s, Method::PUT, &implication, t, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = call(&s, Method::GET, &implication, t, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["role_inference"]["implies"]["id"],
        member_role.as_str()
    );

    let admin_role = common::role_id(&s, &admin.token, "admin").await;
    let (status, trust) = call(
        &s,
        Method::POST,
        "/v3/OS-TRUST/trusts",
        t,
        Some(json!({"trust": {
            "trustor_user_id": admin.user_id, "trustee_user_id": user,
            "project_id": admin.project_id, "impersonation": false,
            "roles": [{"id": admin_role}]}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{trust}");
    let trust_role = format!(
        "/v3/OS-TRUST/trusts/{}/roles/{admin_role}",
        trust["trust"]["id"].as_str().unwrap()
    );
    let trust_roles = trust_role.rsplit_once('/').unwrap().0.to_string();
    let outsider = member_of(&s, "outsider", &project, "member").await;
    for (path, method, caller, expected) in [
        (&trust_role, Method::GET, &admin.token, StatusCode::OK),
        (&trust_role, Method::HEAD, &admin.token, StatusCode::OK),
        (
            &trust_role,
            Method::GET,
            &outsider.token,
            StatusCode::FORBIDDEN,
        ),
        (
            &trust_role,
            Method::HEAD,
            &outsider.token,
            StatusCode::FORBIDDEN,
        ),
        (
            &trust_roles,
            Method::GET,
            &outsider.token,
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, body) = call(&s, method.clone(), path, Some(caller), None).await;
        assert_eq!(status, expected, "{method} {path}: {body}");
    }
    // A well-formed trust without a token.
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/OS-TRUST/trusts",
        None,
        Some(json!({"trust": {
            "trustor_user_id": admin.user_id, "trustee_user_id": user,
            "project_id": admin.project_id, "impersonation": false,
            "roles": [{"id": admin_role}]}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let policy = created(
        "/v3/policies",
        json!({"policy": {"blob": "{}", "type": "application/json"}}),
        "policy",
    )
    .await;
    let service = created(
        "/v3/services",
        json!({"service": {"type": "swept"}}),
        "service",
    )
    .await;
    let association = format!("/v3/policies/{policy}/OS-ENDPOINT-POLICY/services/{service}");
    for method in [Method::PUT, Method::GET, Method::DELETE] {
        let (status, body) = call(&s, method.clone(), &association, t, None).await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{method} {association}: {body}"
        );
    }
}
