//! Start-up and the HTTP server: key repositories, database, bootstrap,
//! listeners, middleware and background upkeep.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};

use crate::bootstrap::{self, BootstrapInput};
use crate::config::Config;
use crate::credential::CredentialCipher;
use crate::error::Error;
use crate::identity::Hasher;
use crate::store::Database;
use crate::token::{KeyRepository, KeyRing, MethodMap, TokenProvider};
use crate::{api, AppState};

/// Builds the shared state: creates missing key repositories, opens and
/// migrates the database.
pub fn prepare(config: Config) -> Result<AppState, Error> {
    crate::store::create_private_dir(&config.server.data_dir)?;
    let fernet = KeyRepository::new(
        config.fernet_key_repository(),
        config.fernet_tokens.max_active_keys,
    );
    if !fernet.is_initialized() {
        tracing::info!(dir = %fernet.dir().display(), "creating the Fernet token key repository");
        fernet.setup()?;
    }
    let credential = KeyRepository::new(config.credential_key_repository(), 3);
    if !credential.is_initialized() {
        tracing::info!(dir = %credential.dir().display(), "creating the credential key repository");
        credential.setup()?;
    }
    let db = Database::open(
        &config.database_url(),
        config.database.max_connections,
        Duration::from_millis(config.database.acquire_timeout_ms),
    )?;
    let notifier = crate::notify::Notifier::start(&config.notifications)?;
    let db = match crate::store::outbox::both(
        crate::audit::export::start(
            non_empty_path(&config.audit.file),
            non_empty_path(&config.audit.syslog),
        )?,
        notifier.delivery(),
    ) {
        Some(delivery) => db.with_outbox(delivery),
        None => db,
    };
    let hasher = Hasher::new(
        config.server.hash_threads,
        config.identity.password_hash_rounds,
    )?;
    let tokens = TokenProvider::new(
        fernet,
        MethodMap::new(&config.auth.methods),
        &config.identity.default_domain_id,
    )?;
    let credentials = Arc::new(CredentialCipher::new(KeyRing::new(credential)?));
    let shared_replays = match config.signature.replay_store.as_str() {
        "local" => None,
        "database" => Some(db.start_shared_replays()?.ok_or_else(|| {
            Error::Config(
                "signature.replay_store = database needs PostgreSQL or MariaDB/MySQL; SQLite serves one node, whose memory is enough".into(),
            )
        })?),
        "auto" => db.start_shared_replays()?,
        redis => Some(crate::store::replays::SharedReplays::redis(redis)?),
    };
    let guards = crate::auth::signed::Guards::new(&config.signature, shared_replays);
    let caches = crate::auth::Caches::new(&config.cache);
    db.spawn_change_listener(Duration::from_millis(config.cache.listener_poll_ms.max(1)))?;
    let default_domain = config.identity.default_domain_id.clone();
    let users = crate::identity::Users::new(db.clone(), hasher.clone(), default_domain.clone());
    let groups = crate::identity::Groups::new(db.clone(), users.clone(), default_domain.clone());
    let model = config.unified_limit.enforcement_model;
    let max_depth = model
        .max_project_depth()
        .map_or(config.identity.max_project_tree_depth, |m| {
            m.min(config.identity.max_project_tree_depth)
        });
    let resources = crate::resource::Resources::new(db.clone(), default_domain.clone(), max_depth);
    let resources_default_domain = default_domain.clone();
    let limits = crate::limit::Limits::new(db.clone(), model);
    let trusts = crate::trust::Trusts::new(db.clone(), config.trust.max_redelegation_count);
    let assignments = crate::assignment::Assignments::new(db.clone(), users.clone());
    let roles =
        crate::assignment::Roles::new(db.clone(), config.identity.prohibited_implied_roles.clone());
    let config = Arc::new(config);
    let tokens = Arc::new(tokens);
    let auth = crate::auth::Auth {
        config: config.clone(),
        db: db.clone(),
        tokens: tokens.clone(),
        credentials: credentials.clone(),
        hasher: hasher.clone(),
        guards,
        caches,
        audit: Arc::new(crate::audit::Sink::new(config.audit.signed_policy())),
        rates: crate::auth::rate::KeyRates::new(&db),
    };
    Ok(AppState {
        auth,
        config: config.clone(),
        catalog: crate::catalog::Catalog::new(db.clone()),
        roles,
        groups: groups.clone(),
        assignments: assignments.clone(),
        cascade: crate::cascade::Cascade::new(
            db.clone(),
            groups,
            users.clone(),
            resources.clone(),
            assignments,
            default_domain,
            credentials.clone(),
        ),
        users,
        domain_configs: crate::domain_config::DomainConfigs::new(
            db.clone(),
            credentials.clone(),
            resources_default_domain,
        ),
        hierarchy: crate::hierarchy::Hierarchy::new(db.clone(), resources.clone()),
        resources,
        app_creds: crate::application_credential::AppCreds::new(
            db.clone(),
            hasher.clone(),
            config.credential.secret_prefix,
            config.credential.lifetime(),
        ),
        limits,
        trusts,
        oauth1: crate::oauth1::OAuth1::new(db.clone(), credentials.clone(), config.oauth1.clone()),
        leaks: crate::leak::Leaks::new(
            db.clone(),
            config.credential.leak_action(),
            credentials.clone(),
        ),
        audit: crate::audit::Audit::new(db.clone()),
        notifier,
        telemetry: Arc::new(crate::telemetry::Telemetry::new(db.round_trips())?),
        credential: crate::credential::Credentials::new(
            db.clone(),
            credentials.clone(),
            crate::credential::Settings {
                user_limit: config.credential.user_limit,
                secret_prefix: config.credential.secret_prefix,
                lifetime: config.credential.lifetime(),
            },
        ),
        db,
        tokens,
        credentials,
        hasher,
    })
}

/// The identity endpoint URLs for the catalog: configured, else derived from
/// `public_endpoint`, else from the first listen address.
pub fn identity_urls(
    config: &Config,
    first_listen: Option<SocketAddr>,
) -> (String, String, String) {
    let derived = match (&config.server.public_endpoint, first_listen) {
        (Some(endpoint), _) => {
            let trimmed = endpoint.trim_end_matches('/');
            format!("{}/v3/", trimmed.strip_suffix("/v3").unwrap_or(trimmed))
        }
        (None, Some(addr)) => {
            let host = if addr.ip().is_unspecified() {
                "localhost".to_string()
            } else if addr.is_ipv6() {
                format!("[{}]", addr.ip())
            } else {
                addr.ip().to_string()
            };
            format!("http://{host}:{}/v3/", addr.port())
        }
        (None, None) => "http://localhost:5000/v3/".to_string(),
    };
    let b = &config.bootstrap;
    let public = b.public_url.clone().unwrap_or_else(|| derived.clone());
    let internal = b.internal_url.clone().unwrap_or_else(|| public.clone());
    let admin = b.admin_url.clone().unwrap_or_else(|| public.clone());
    (public, internal, admin)
}

/// Bootstraps an empty database when a bootstrap password is configured.
pub fn bootstrap_if_empty(state: &AppState, first_listen: Option<SocketAddr>) -> Result<(), Error> {
    let Some(password) = state.config.bootstrap.password.clone() else {
        return Ok(());
    };
    if !state.db.blocking(bootstrap::is_empty)? {
        return Ok(());
    }
    let (public_url, internal_url, admin_url) = identity_urls(&state.config, first_listen);
    let report = bootstrap::run(
        &state.db,
        &state.hasher,
        &BootstrapInput {
            settings: &state.config.bootstrap,
            password: &password,
            default_domain_id: &state.config.identity.default_domain_id,
            public_url,
            internal_url,
            admin_url,
        },
    )?;
    tracing::info!(created = ?report.created, "bootstrapped an empty database");
    Ok(())
}

fn non_empty_path(setting: &str) -> Option<std::path::PathBuf> {
    (!setting.is_empty()).then(|| setting.into())
}

/// A running server, for tests, benchmarks and the binary.
pub struct RunningServer {
    pub addrs: Vec<SocketAddr>,
    pub handle: ServerHandle,
    pub state: Arc<AppState>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT` of the first listener.
    pub fn url(&self) -> String {
        self.addrs
            .first()
            .map(|a| format!("http://{a}"))
            .unwrap_or_default()
    }

    /// Stops gracefully and waits for the server thread.
    pub fn stop(mut self) {
        let handle = self.handle.clone();
        let _ =
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(true)))
                .join();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn bind_all(config: &Config) -> Result<Vec<TcpListener>, Error> {
    config
        .server
        .listen
        .iter()
        .map(|addr| {
            let addr = if addr.starts_with(':') {
                format!("0.0.0.0{addr}")
            } else {
                addr.clone()
            };
            TcpListener::bind(&addr)
                .map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))
        })
        .collect()
}

/// Prepares everything, binds the listeners and starts serving. Must be
/// called inside an actix (or tokio) runtime; returns the server future.
pub fn start(
    config: Config,
) -> Result<(actix_web::dev::Server, Vec<SocketAddr>, Arc<AppState>), Error> {
    let listeners = bind_all(&config)?;
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Config(format!("cannot read listen address: {e}")))?;
    let state = prepare(config)?;
    bootstrap_if_empty(&state, addrs.first().copied())?;
    let state = Arc::new(state);
    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let data = web::Data::from(Arc::clone(&state));
    let console = state
        .config
        .console
        .enabled
        .then(|| state.config.console.path.clone());
    let mut server = HttpServer::new(move || {
        let console = console.clone();
        App::new()
            .app_data(data.clone())
            .configure(move |cfg| {
                if let Some(path) = console {
                    cfg.service(api::console::scope(&path));
                }
            })
            .configure(api::configure)
            .default_service(web::to(api::error::not_found))
            .wrap(from_fn(keystone_conventions))
            .wrap(api::slashes::TrimSlashes)
    })
    .workers(workers)
    .shutdown_timeout(10);
    for listener in listeners {
        server = server
            .listen(listener)
            .map_err(|e| Error::Config(format!("cannot serve: {e}")))?;
    }
    let server = server.run();
    spawn_upkeep(Arc::clone(&state));
    for addr in &addrs {
        tracing::info!(%addr, "listening");
    }
    Ok((server, addrs, state))
}

/// Starts a server on its own thread and runtime (tests and benchmarks).
pub fn spawn(config: Config) -> Result<RunningServer, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match start(config) {
                Ok((server, addrs, state)) => {
                    let _ = tx.send(Ok((server.handle(), addrs, Arc::clone(&state))));
                    let _ = server.await;
                    flush_after_stop(&state).await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        })
    });
    let (handle, addrs, state) = rx
        .recv()
        .map_err(|_| Error::Internal("the server thread ended before starting".into()))??;
    Ok(RunningServer {
        addrs,
        handle,
        state,
        thread: Some(thread),
    })
}

/// Writes the tallies of signed-request verifications: refusals every
/// 250 ms, successes every `audit.signed_window`; prunes the trail past
/// `audit.retention` and idle shared rate-limit rows every hour.
fn spawn_audit_writer(state: Arc<AppState>) {
    let writer = Arc::clone(&state);
    let window = state.config.audit.signed_window.max(1) * 4;
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_millis(250));
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            ticks += 1;
            write_signed(&writer, ticks % window == 0).await;
        }
    });
    if state.db.is_clustered() {
        let rates = Arc::clone(&state);
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let pruned = rates.db.write_quiet(crate::store::rates::prune).await;
                if let Err(e) = pruned {
                    tracing::warn!(error = %e, "cannot prune idle key rate limits; will retry");
                }
            }
        });
    }
    let retention = state.config.audit.retention;
    if retention > 0 {
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let before = crate::store::now_micros() - retention.saturating_mul(1_000_000);
                if let Err(e) = state
                    .db
                    .write(move |conn| crate::audit::prune(conn, before))
                    .await
                {
                    tracing::warn!(error = %e, "cannot prune the audit trail; will retry");
                }
            }
        });
    }
}

/// Writes what the audit sink has tallied: the refusals, and the successes
/// too when `successes` (their window is over, or the server stops).
async fn write_signed(state: &AppState, successes: bool) {
    let mut tallies = state.auth.audit.take_failures();
    if successes {
        tallies.extend(state.auth.audit.take_successes());
    }
    if tallies.is_empty() {
        return;
    }
    let count = tallies.len();
    let written = state
        .db
        .write_quiet(move |conn| crate::audit::write_signed(conn, tallies))
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, events = count, "cannot write signed-request events to the audit trail; they are lost");
    }
}

/// Writes what is still gathered in memory, the key uses (last use, use
/// count) and the audit sink's tallies; called once the server has stopped
/// taking requests and finished those in flight (SIGTERM), so that a
/// graceful stop loses none of them.
pub async fn flush_after_stop(state: &AppState) {
    flush_key_uses(state).await;
    write_signed(state, true).await;
}

/// Disables AK/SK pairs and ends application credentials that nobody has
/// used for `credential.disable_unused_after`, checking a few times per
/// period (at least every 10 minutes). Every replica may sweep: the
/// updates are idempotent.
fn spawn_unused_key_sweep(state: Arc<AppState>) {
    let period = state.config.credential.disable_unused_after;
    let every = Duration::from_secs((period / 4).clamp(1, 600) as u64);
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        loop {
            tick.tick().await;
            let pairs = state.credential.disable_unused().await;
            let app_creds = state.app_creds.expire_unused().await;
            match (pairs, app_creds) {
                (Ok(0), Ok(0)) => {}
                (Ok(pairs), Ok(app_creds)) => {
                    tracing::info!(pairs, app_creds, "disabled keys unused for too long")
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot disable unused keys; will retry")
                }
            }
        }
    });
}

fn spawn_upkeep(state: Arc<AppState>) {
    let reload_every = Duration::from_secs(state.config.fernet_tokens.reload_interval.max(1));
    let keys_state = Arc::clone(&state);
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(reload_every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let tokens = Arc::clone(&keys_state.tokens);
            let credentials = Arc::clone(&keys_state.credentials);
            let reloaded = web::block(move || {
                let credential_keys = credentials.ring().reload()?;
                Ok::<bool, Error>(tokens.reload()? || credential_keys)
            })
            .await;
            match reloaded {
                Ok(Ok(true)) => tracing::info!("key repositories reloaded"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot reload token keys; keeping the old ones")
                }
                Err(e) => tracing::warn!(error = %e, "key reload task failed"),
            }
        }
    });
    spawn_audit_writer(Arc::clone(&state));
    let leaks = state.leaks.clone();
    actix_web::rt::spawn(async move {
        // Reports a crash left unprocessed (each is processed as it comes).
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = leaks.process_pending().await {
                tracing::warn!(error = %e, "cannot process leak reports; will retry");
            }
        }
    });
    if state.config.credential.disable_unused_after > 0 {
        spawn_unused_key_sweep(Arc::clone(&state));
    }
    let uses_state = Arc::clone(&state);
    actix_web::rt::spawn(async move {
        let every =
            Duration::from_millis(uses_state.config.signature.use_flush_interval_ms.max(10));
        let mut tick = actix_web::rt::time::interval(every);
        loop {
            tick.tick().await;
            flush_key_uses(&uses_state).await;
        }
    });
    actix_web::rt::spawn(async move {
        let horizon =
            (state.config.token.expiration + state.config.token.allow_expired_window) as i64;
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match state
                .db
                .write(move |conn| crate::revoke::prune(conn, horizon))
                .await
            {
                Ok(n) if n > 0 => tracing::info!(pruned = n, "pruned old revocation events"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot prune revocation events"),
            }
        }
    });
}

/// Writes the key uses gathered since the last flush, in one transaction;
/// on failure they are kept for the next one.
async fn flush_key_uses(state: &AppState) {
    let uses = state.auth.guards.uses.take();
    if uses.is_empty() {
        return;
    }
    let batch = uses.clone();
    let written = state
        .db
        .write_quiet(move |conn| {
            for (id, (at, count)) in &batch {
                crate::credential::record_uses(conn, id, *at, *count)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot record key uses; keeping them for the next flush");
        state.auth.guards.uses.restore(uses);
    }
}

/// Keystone's conventions on every response: `Vary: X-Auth-Token`, a
/// request id, `WWW-Authenticate` on 401, and JSON bodies on every error,
/// plus one log line per request (never with headers or bodies).
/// Answers that can carry a secret or a token (AK/SK pairs, credential
/// blobs, application credential secrets, `X-Subject-Token`) must not be
/// kept by a browser's or a proxy's cache.
fn may_show_secrets(path: &str) -> bool {
    let path = path.strip_prefix(api::IDENTITY_PREFIX).unwrap_or(path);
    path.starts_with("/v1/")
        || path.starts_with("/v3/auth/tokens")
        || path.starts_with("/v3/credentials")
        || path.starts_with("/v3/ec2tokens")
        || path.starts_with("/v3/s3tokens")
        || path.starts_with("/v3/OS-OAUTH2")
        || (path.starts_with("/v3/users/")
            && (path.contains("/application_credentials") || path.contains("/credentials/OS-EC2")))
}

async fn keystone_conventions(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // A random UUID from the thread's CSPRNG (uuid's new_v4 asks the OS,
    // a system call on every request).
    let request_id = format!(
        "req-{}",
        uuid::Builder::from_random_bytes(rand::random()).into_uuid()
    );
    let method = req.method().clone();
    // Every line the request causes, a 500's detail included, names it.
    let span = tracing::info_span!("request", request_id = %request_id);
    let request = crate::store::context::RequestContext {
        request_id: request_id.clone(),
        remote_addr: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        ..Default::default()
    };
    // The route's pattern, found once: for the query check and the
    // per-route metric. Keystone checks the query string before anything
    // else of the request.
    let pattern = req.match_pattern();
    let query_refused = pattern.as_deref().and_then(|pattern| {
        api::keystone_schemas::check_query(method.as_str(), pattern, req.query_string()).err()
    });
    let mut res = match query_refused {
        Some(refused) => req.error_response(refused),
        None => crate::store::context::scope(
            request,
            tracing::Instrument::instrument(next.call(req), span.clone()),
        )
        .await?
        .map_into_boxed_body(),
    };
    let _entered = span.enter();
    let status = res.status();
    let no_store = may_show_secrets(res.request().path());
    // Only a 401 names the identity endpoint, so only a 401 works it out.
    let base = (status == actix_web::http::StatusCode::UNAUTHORIZED)
        .then(|| {
            res.request()
                .app_data::<web::Data<AppState>>()
                .map(|state| api::http::base_url(res.request(), state))
        })
        .flatten();
    if status.is_client_error() || status.is_server_error() {
        let is_json = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if !is_json && method != actix_web::http::Method::HEAD {
            let body = api::error::status_body(status);
            res = res.map_body(|head, _| {
                head.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                BoxBody::new(body)
            });
        }
    }
    let headers = res.headers_mut();
    if no_store && !headers.contains_key(actix_web::http::header::CACHE_CONTROL) {
        headers.insert(
            actix_web::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    headers.insert(
        HeaderName::from_static("vary"),
        HeaderValue::from_static("X-Auth-Token"),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("x-openstack-request-id"), v);
    }
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        if let Some(v) =
            base.and_then(|b| HeaderValue::from_str(&format!("Keystone uri=\"{b}\"")).ok())
        {
            headers.insert(HeaderName::from_static("www-authenticate"), v);
        }
    }
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state.telemetry.observe(
            method.as_str(),
            pattern.as_deref(),
            status.as_u16(),
            started.elapsed(),
        );
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let path = res.request().path();
    if status.is_server_error() {
        tracing::warn!(%method, path, status = status.as_u16(), elapsed_ms, "request");
    } else {
        tracing::info!(%method, path, status = status.as_u16(), elapsed_ms, "request");
    }
    Ok(res)
}
