//! The validation caches never outlive a change: writes through the API
//! take effect on the next request, and writes by another process on the
//! same database (the CLI, an import, another node) within the listener's
//! poll interval, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{admin_member, call, Backend, TestServer};
use ironstone::store::Database;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// What the README promises for writes made elsewhere.
const BOUND: Duration = Duration::from_secs(1);

async fn until_refused(s: &TestServer, caller: &str, subject: &str) -> Duration {
    let started = Instant::now();
    loop {
        let (status, _) = s.validate(caller, subject, "").await;
        if status == StatusCode::NOT_FOUND {
            return started.elapsed();
        }
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() < BOUND, "a stale answer after {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn changes_elsewhere_reach_the_cache(backend: Backend) {
    let Some(s) = TestServer::start(backend) else {
        return;
    };
    let admin = admin_member(&s).await;
    let user = common::create_user(
        &s,
        "cached",
        "cached-pw-1",
        Some((&admin.project_id, "member")),
    )
    .await;
    let scope = Some(json!({"project": {"id": admin.project_id}}));
    let (token, _) = s
        .password_token("cached", "cached-pw-1", scope.clone())
        .await;
    // Validate twice so the scope is cached.
    for _ in 0..2 {
        assert_eq!(s.validate(&admin.token, &token, "").await.0, StatusCode::OK);
    }

    // Through the API: refused on the very next request.
    let (status, _) = call(
        &s,
        Method::DELETE,
        &format!(
            "/v3/projects/{}/users/{user}/roles/{}",
            admin.project_id,
            member_role(&s, &admin.token).await
        ),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        s.validate(&admin.token, &token, "").await.0,
        StatusCode::NOT_FOUND,
        "a removed role is seen at once"
    );

    // Through another connection pool, as another process would write
    // (its writes do not pass through this server at all).
    let (token2, _) = {
        let url = s.state().config.database_url();
        let project_id = admin.project_id.clone();
        let user_id = user.clone();
        tokio::task::spawn_blocking(move || {
            let other = Database::open(&url, 1, Duration::from_secs(5)).unwrap();
            other
                .blocking(|conn| {
                    let role =
                        ironstone::assignment::find_global_role_by_name(conn, "member")?.unwrap();
                    ironstone::assignment::grant(
                        conn,
                        ironstone::assignment::AssignmentKind::UserProject,
                        &user_id,
                        &project_id,
                        &role.id,
                        false,
                    )
                })
                .unwrap();
        })
        .await
        .unwrap();
        // The grant from elsewhere is seen too (the failed scope is not
        // cached, and a new login reads it).
        s.password_token("cached", "cached-pw-1", scope).await
    };
    for _ in 0..2 {
        assert_eq!(
            s.validate(&admin.token, &token2, "").await.0,
            StatusCode::OK
        );
    }
    let url = s.state().config.database_url();
    let user_id = user.clone();
    tokio::task::spawn_blocking(move || {
        let other = Database::open(&url, 1, Duration::from_secs(5)).unwrap();
        other
            .blocking(|conn| ironstone::identity::set_user_enabled(conn, &user_id, false))
            .unwrap();
    })
    .await
    .unwrap();
    let took = until_refused(&s, &admin.token, &token2).await;
    eprintln!("{backend:?}: a user disabled by another process refused after {took:?}");
}

async fn member_role(s: &TestServer, token: &str) -> String {
    let (_, body) = call(s, Method::GET, "/v3/roles?name=member", Some(token), None).await;
    body["roles"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_elsewhere_reach_the_cache_sqlite() {
    changes_elsewhere_reach_the_cache(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_elsewhere_reach_the_cache_postgres() {
    changes_elsewhere_reach_the_cache(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_elsewhere_reach_the_cache_mariadb() {
    changes_elsewhere_reach_the_cache(Backend::Mysql).await;
}

/// Past 10,000 revocation events they are not held in memory: each token
/// is checked with a query, and a revocation still takes effect at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_revocation_events_are_queried_per_token() {
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let admin = admin_member(&s).await;
    let (token, _) = s
        .password_token(
            "admin",
            common::ADMIN_PASSWORD,
            Some(json!({"project": {"id": admin.project_id}})),
        )
        .await;
    s.db(|conn| {
        use diesel::RunQueryDsl;
        let now = ironstone::store::now_micros();
        let rows: Vec<ironstone::store::rows::RevocationEventRow> = (0..10_001)
            .map(|i| ironstone::store::rows::RevocationEventRow {
                id: format!("{i:032x}"),
                domain_id: None,
                project_id: None,
                user_id: Some(format!("someone-else-{i}")),
                role_id: None,
                trust_id: None,
                consumer_id: None,
                access_token_id: None,
                issued_before: now,
                expires_at: None,
                revoked_at: now,
                audit_id: None,
                audit_chain_id: None,
            })
            .collect();
        for row in &rows {
            diesel::insert_into(ironstone::store::schema::revocation_events::table)
                .values(row)
                .execute(conn)?;
        }
        Ok(())
    })
    .await;
    for _ in 0..3 {
        assert_eq!(s.validate(&admin.token, &token, "").await.0, StatusCode::OK);
    }
    assert_eq!(s.revoke(&admin.token, &token).await, StatusCode::NO_CONTENT);
    assert_eq!(
        s.validate(&admin.token, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
}

/// A revocation event for `user` (or someone else's, with `None`) whose
/// `revoked_at` is `age` seconds old, revoking tokens issued up to now.
fn event_row(i: usize, user: Option<&str>, age: i64) -> ironstone::store::rows::RevocationEventRow {
    let now = ironstone::store::now_micros();
    ironstone::store::rows::RevocationEventRow {
        id: format!("aged-{i:026x}"),
        domain_id: None,
        project_id: None,
        user_id: Some(user.map_or_else(|| format!("someone-else-{i}"), str::to_string)),
        role_id: None,
        trust_id: None,
        consumer_id: None,
        access_token_id: None,
        issued_before: now + 1_000_000,
        expires_at: None,
        revoked_at: now - age * 1_000_000,
        audit_id: None,
        audit_chain_id: None,
    }
}

/// After a change, a node loads only the events recorded since its last
/// load; an event recorded with an older time (as an import records
/// Keystone's, or a node with a slow clock) changes the count of the older
/// ones, so everything is loaded again and the event takes effect at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_recorded_with_an_older_time_takes_effect_at_once() {
    let Some(s) = TestServer::start(Backend::Sqlite) else {
        return;
    };
    let admin = admin_member(&s).await;
    let user = common::member_of(&s, "aged", &admin.project_id, "member").await;
    let token = user.token.clone();
    let insert = |rows: Vec<ironstone::store::rows::RevocationEventRow>| {
        s.db(move |conn| {
            use diesel::RunQueryDsl;
            for row in &rows {
                diesel::insert_into(ironstone::store::schema::revocation_events::table)
                    .values(row)
                    .execute(conn)?;
            }
            Ok(())
        })
    };
    // Enough events that they are loaded whole, as a base.
    insert((0..150).map(|i| event_row(i, None, 0)).collect()).await;
    assert_eq!(s.validate(&admin.token, &token, "").await.0, StatusCode::OK);
    // A change: only what was recorded since is loaded.
    insert(vec![event_row(150, None, 0)]).await;
    assert_eq!(s.validate(&admin.token, &token, "").await.0, StatusCode::OK);
    insert(vec![event_row(151, Some(&user.user_id), 3600)]).await;
    let (status, body) = s.validate(&admin.token, &token, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// A token answered from the token cache is still held to the clock:
/// it stops validating when it expires (401 as the caller, 404 as the
/// subject), and `allow_expired` still finds it, as a fresh validation
/// would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_still_expires_on_time() {
    let Some(s) = TestServer::start_with(Backend::Sqlite, |c| c.token.expiration = 3) else {
        return;
    };
    let (token, body) = s
        .password_token("admin", common::ADMIN_PASSWORD, None)
        .await;
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(body["token"]["expires_at"].as_str().unwrap())
            .unwrap();
    let until_expiry =
        || (expires_at.timestamp_millis() - chrono::Utc::now().timestamp_millis()).max(0) as u64;
    // Late in its life, once the login's own writes have settled (they
    // move the epoch, which would empty the cache), validated twice: the
    // second answer comes from the cache, and so does the one after
    // expiry unless a write intervenes.
    tokio::time::sleep(Duration::from_millis(until_expiry().saturating_sub(800))).await;
    for _ in 0..2 {
        assert_eq!(s.validate(&token, &token, "").await.0, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(until_expiry() + 200)).await;
    assert_eq!(
        s.validate(&token, &token, "").await.0,
        StatusCode::UNAUTHORIZED,
        "an expired caller token, even one validated a moment ago"
    );
    let (fresh, _) = s
        .password_token("admin", common::ADMIN_PASSWORD, None)
        .await;
    assert_eq!(
        s.validate(&fresh, &token, "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.validate(&fresh, &token, "?allow_expired=1").await.0,
        StatusCode::OK
    );
}
