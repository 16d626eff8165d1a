//! The catalog API: errors change nothing, who may read and write, and
//! tokens carrying what it holds; on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{admin_member, call, create_project, member_of, Backend, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn catalog_api(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let t = Some(admin.token.as_str());
    let project = create_project(&s, "cat").await;
    let m = member_of(&s, "cal", &project, "member").await;
    let (status, svc) = call(
        &s,
        Method::POST,
        "/v3/services",
        t,
        Some(json!({"service": {"type": "object-store", "name": "swift"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let sid = svc["service"]["id"].as_str().unwrap().to_string();
    for (body, want) in [
        (
            json!({"endpoint": {"service_id": sid, "interface": "sideways", "url": "http://x"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"endpoint": {"service_id": sid, "interface": "public", "url": "ftp://x"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"endpoint": {"service_id": "nope", "interface": "public", "url": "http://x"}}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"endpoint": {"service_id": sid, "interface": "public", "url": "http://x", "region_id": "Nowhere"}}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"endpoint": {"interface": "public", "url": "http://x"}}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, got) = call(&s, Method::POST, "/v3/endpoints", t, Some(body.clone())).await;
        assert_eq!(status, want, "{body} -> {got}");
    }
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/endpoints?service_id={sid}"),
        t,
        None,
    )
    .await;
    assert_eq!(
        list["endpoints"],
        json!([]),
        "nothing was created by bad input"
    );
    let (status, e) = call(
        &s,
        Method::POST,
        "/v3/endpoints",
        t,
        Some(json!({"endpoint": {"service_id": sid, "interface": "public", "url": "http://swift.example.com/v1/AUTH_$(project_id)s", "region": "RegionOne"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    assert_eq!(e["endpoint"]["region_id"], "RegionOne");
    // A member's token carries it with its project substituted.
    let (_, body) = s
        .password_token("cal", "pw", Some(json!({"project": {"id": project}})))
        .await;
    let swift = body["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "object-store")
        .unwrap()
        .clone();
    assert_eq!(
        swift["endpoints"][0]["url"],
        format!("http://swift.example.com/v1/AUTH_{project}")
    );
    // Who may: members read regions only; admins write.
    assert_eq!(
        call(&s, Method::GET, "/v3/regions", Some(&m.token), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&s, Method::GET, "/v3/services", Some(&m.token), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&s, Method::GET, "/v3/endpoints", Some(&m.token), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &s,
            Method::POST,
            "/v3/regions",
            Some(&m.token),
            Some(json!({"region": {"id": "X"}}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &s,
            Method::DELETE,
            &format!("/v3/services/{sid}"),
            Some(&m.token),
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&s, Method::GET, "/v3/regions", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Regions: duplicates, loops, in-use.
    let (status, _) = call(
        &s,
        Method::POST,
        "/v3/regions",
        t,
        Some(json!({"region": {"id": "RegionOne"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    call(
        &s,
        Method::POST,
        "/v3/regions",
        t,
        Some(json!({"region": {"id": "Child", "parent_region_id": "RegionOne"}})),
    )
    .await;
    let (status, _) = call(
        &s,
        Method::PATCH,
        "/v3/regions/RegionOne",
        t,
        Some(json!({"region": {"parent_region_id": "Child"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a loop");
    assert_eq!(
        call(&s, Method::DELETE, "/v3/regions/RegionOne", t, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    // Deleting the service takes its endpoints.
    assert_eq!(
        call(&s, Method::DELETE, &format!("/v3/services/{sid}"), t, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, list) = call(
        &s,
        Method::GET,
        &format!("/v3/endpoints?service_id={sid}"),
        t,
        None,
    )
    .await;
    assert_eq!(list["endpoints"], json!([]));
}

on_every_backend!(catalog_api);
