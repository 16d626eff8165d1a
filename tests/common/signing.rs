//! Signed requests for tests: AK/SK pairs made through the SODA API, and
//! requests of every signature version signed with them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ironstone::signature::ec2::{self, Ec2Request};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{admin_member, call, create_project, member_of, Member, TestServer};

pub struct Pair {
    pub access: String,
    pub secret: String,
}

/// A pair for `m` in its project, with `extra` fields (name, expiry…).
pub async fn pair_for(s: &TestServer, m: &Member, extra: Value) -> Pair {
    let mut body = json!({"project_id": m.project_id, "user_id": m.user_id});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    create_pair(s, m, body).await
}

/// `POST /v1/{project}/aksks` with `body`, as `m`.
pub async fn create_pair(s: &TestServer, m: &Member, body: Value) -> Pair {
    let (status, body) = call(
        s,
        Method::POST,
        &format!("/v1/{}/aksks", m.project_id),
        Some(&m.token),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Pair {
        access: body["access_key"].as_str().unwrap().into(),
        secret: body["secret_key"].as_str().unwrap().into(),
    }
}

pub fn iso(offset_seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn amz(offset_seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_seconds))
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

pub fn rfc1123(offset_seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_seconds))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn object(items: &[(String, String)]) -> Value {
    Value::Object(
        items
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The `/v3/ec2tokens` body for `r`, signed with `secret`.
pub fn sign(access: &str, secret: &str, r: &Ec2Request) -> (Value, String) {
    let signature = ec2::expected_signatures(secret, r).unwrap()[0].clone();
    (body_with(access, r, &signature), signature)
}

pub fn body_with(access: &str, r: &Ec2Request, signature: &str) -> Value {
    json!({"credentials": {
        "access": access, "signature": signature, "host": r.host, "verb": r.verb, "path": r.path,
        "params": object(&r.params), "headers": object(&r.headers), "body_hash": r.body_hash,
    }})
}

/// An EC2 v2 request; `time` is its `Timestamp` or `Expires` parameter.
pub fn v2(pair: &Pair, time: Option<(&str, String)>, nonce: &str) -> Ec2Request {
    let mut params = pairs(&[
        ("Action", "DescribeInstances"),
        ("SignatureVersion", "2"),
        ("SignatureMethod", "HmacSHA256"),
        ("Nonce", nonce),
    ]);
    params.push(("AWSAccessKeyId".into(), pair.access.clone()));
    if let Some((name, value)) = time {
        params.push((name.into(), value));
    }
    Ec2Request {
        host: "ec2.example.com".into(),
        verb: "GET".into(),
        path: "/".into(),
        params,
        ..Default::default()
    }
}

/// A presigned SigV4 EC2 request signed `offset` seconds from now.
pub fn presigned_v4(pair: &Pair, offset: i64, expires: Option<&str>, nonce: &str) -> Ec2Request {
    let date = amz(offset);
    let mut params = pairs(&[
        ("Action", "DescribeRegions"),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-SignedHeaders", "host"),
        ("Nonce", nonce),
    ]);
    params.push((
        "X-Amz-Credential".into(),
        format!("{}/{}/RegionOne/ec2/aws4_request", pair.access, &date[..8]),
    ));
    params.push(("X-Amz-Date".into(), date));
    if let Some(e) = expires {
        params.push(("X-Amz-Expires".into(), e.into()));
    }
    Ec2Request {
        host: "ec2.example.com".into(),
        verb: "GET".into(),
        path: "/".into(),
        params,
        headers: pairs(&[("Host", "ec2.example.com")]),
        body_hash: Some(ec2::empty_body_hash()),
    }
}

/// A whole S3 V2 request signed with `Authorization: AWS AK:sig` and `Date`.
pub fn s3v2_header(pair: &Pair, date: &str, path: &str) -> Ec2Request {
    Ec2Request {
        host: "s3.example.com".into(),
        verb: "GET".into(),
        path: path.into(),
        headers: vec![
            ("Date".into(), date.into()),
            ("Authorization".into(), format!("AWS {}:x", pair.access)),
        ],
        ..Default::default()
    }
}

pub async fn post_ec2(s: &TestServer, token: &str, body: Value) -> (StatusCode, Value) {
    call(s, Method::POST, "/v3/ec2tokens", Some(token), Some(body)).await
}

pub async fn setup(s: &TestServer) -> (Member, Member, Pair) {
    let admin = admin_member(s).await;
    let project = create_project(s, "signed").await;
    let user = member_of(s, "signer", &project, "member").await;
    let pair = pair_for(s, &user, json!({})).await;
    (admin, user, pair)
}

/// An EC2 v2 request signed with `secret`, as a service would send it to
/// /v3/ec2tokens; a nonce makes each one new to the replay cache.
pub fn ec2_v2_body(access: &str, secret: &str) -> serde_json::Value {
    let params: Vec<(String, String)> = vec![
        ("Action".into(), "DescribeRegions".into()),
        ("SignatureVersion".into(), "2".into()),
        ("Nonce".into(), uuid::Uuid::new_v4().simple().to_string()),
        (
            "Timestamp".into(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
    ];
    let r = ironstone::signature::ec2::Ec2Request {
        host: "ec2".into(),
        verb: "GET".into(),
        path: "/".into(),
        params: params.clone(),
        ..Default::default()
    };
    let signature = ironstone::signature::ec2::expected_signatures(secret, &r).unwrap()[0].clone();
    let params: serde_json::Map<String, serde_json::Value> =
        params.into_iter().map(|(k, v)| (k, json!(v))).collect();
    json!({"credentials": {"access": access, "signature": signature, "host": "ec2", "verb": "GET", "path": "/", "params": params}})
}
