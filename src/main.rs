//! The `ironstone` command line, in the spirit of `keystone-manage`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use ironstone::bootstrap::{self, BootstrapInput};
use ironstone::config::Config;
use ironstone::error::Error;
use ironstone::identity::Hasher;
use ironstone::store::Database;
use ironstone::token::KeyRepository;

/// glibc's malloc and free took a fifth of the CPU of `/v3/ec2tokens`
/// under load (perf); jemalloc's thread caches cost less.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "ironstone",
    version,
    about = "An OpenStack Keystone-compatible identity service"
)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "IRONSTONE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite file and key repositories unless set apart).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrates and bootstraps an empty database first).
    Serve {
        /// Address to listen on; repeat for several (e.g. :5000 and :8089).
        #[arg(long = "listen")]
        listen: Vec<String>,
    },
    /// Database schema management.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Create the default domain, admin project, admin user, roles and the
    /// identity endpoints (idempotent).
    Bootstrap {
        /// Admin password (or IRONSTONE_BOOTSTRAP_PASSWORD).
        #[arg(long, env = "IRONSTONE_BOOTSTRAP_PASSWORD", hide_env_values = true)]
        admin_password: String,
        #[arg(long)]
        public_url: Option<String>,
        #[arg(long)]
        internal_url: Option<String>,
        #[arg(long)]
        admin_url: Option<String>,
    },
    /// The Fernet token key repository.
    Fernet {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// The credential encryption key repository.
    Credential {
        #[command(subcommand)]
        action: CredentialAction,
    },
    /// Take over another identity service's data (idempotent).
    Import {
        #[command(subcommand)]
        from: ImportSource,
    },
}

#[derive(Subcommand)]
enum ImportSource {
    /// Import a Keystone deployment: its database, token keys and
    /// credential keys. Tokens it issued keep validating, users keep their
    /// passwords and EC2 pairs keep verifying.
    Keystone {
        /// Keystone's `[database] connection` (sqlite:////path,
        /// postgresql+psycopg2://…) or a plain URL or SQLite path.
        #[arg(long)]
        db: String,
        /// Keystone's `[fernet_tokens] key_repository`, adopted as
        /// Ironstone's token keys.
        #[arg(long)]
        fernet_keys: Option<PathBuf>,
        /// Keystone's `[credential] key_repository`, to decrypt credential
        /// blobs (re-encrypted with Ironstone's keys).
        #[arg(long)]
        credential_keys: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Clone, Copy)]
enum CredentialAction {
    /// Create the repository with a staged and a primary key if missing.
    Setup,
    /// Promote the staged key; refused while credentials remain under an
    /// older key (run `migrate` first).
    Rotate,
    /// Re-encrypt every credential with the primary key (safe while serving).
    Migrate,
}

#[derive(Subcommand)]
enum DbAction {
    /// Apply pending migrations.
    Sync,
    /// Write an online, consistent copy of the SQLite database to FILE
    /// (which must not exist) while the service serves. The key
    /// repositories are not in it: back them up apart.
    Backup {
        /// Where the copy goes (written under a temporary name, checked,
        /// then renamed).
        file: PathBuf,
    },
}

#[derive(Subcommand, Clone, Copy)]
enum KeyAction {
    /// Create the repository with a staged and a primary key if missing.
    Setup,
    /// Promote the staged key, stage a new one, purge the oldest.
    Rotate,
}

fn load_config(cli: &Cli, listen: &[String]) -> Result<Config, Error> {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(dir) = &cli.data_dir {
        config.server.data_dir = dir.clone();
    }
    if !listen.is_empty() {
        config.server.listen = listen.to_vec();
    }
    Ok(config)
}

/// Sets the log filter of a running server (from `log.filter`).
type LogReload = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Starts logging to stderr; returns how to change the filter later
/// (SIGHUP). `RUST_LOG`, when set, is the filter and stays so.
fn init_logging(config: &Config) -> LogReload {
    let from_env = std::env::var("RUST_LOG").is_ok();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.filter));
    // Colour only for a person at a terminal, never into a file or pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if config.log_format() == "json" {
        // One object per line, with the request span's fields on each.
        let builder = builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter_reloading();
        let handle = builder.reload_handle();
        builder.init();
        reloader(handle, from_env)
    } else {
        let builder = builder.with_filter_reloading();
        let handle = builder.reload_handle();
        builder.init();
        reloader(handle, from_env)
    }
}

fn reloader<S: Send + Sync + 'static>(
    handle: tracing_subscriber::reload::Handle<tracing_subscriber::EnvFilter, S>,
    from_env: bool,
) -> LogReload {
    Box::new(move |text| {
        if from_env {
            return Err("RUST_LOG is set, and stays the filter".to_string());
        }
        let filter =
            tracing_subscriber::EnvFilter::try_new(text).map_err(|e| format!("{text:?}: {e}"))?;
        handle
            .reload(filter)
            .map_err(|e| format!("cannot set the log filter: {e}"))
    })
}

/// On SIGHUP, reads the configuration again (file and environment) and
/// applies its `log.filter`. Key repositories reload on their own
/// (`fernet_tokens.reload_interval`); every other setting needs a restart.
fn reload_log_filter_on_hangup(config_file: Option<PathBuf>, reload: LogReload) {
    let Ok(mut hangups) =
        actix_web::rt::signal::unix::signal(actix_web::rt::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP; the log filter will not reload");
        return;
    };
    actix_web::rt::spawn(async move {
        while hangups.recv().await.is_some() {
            let applied = Config::load(config_file.as_deref(), std::env::vars())
                .map_err(|e| e.to_string())
                .and_then(|config| reload(&config.log.filter).map(|()| config.log.filter));
            match applied {
                Ok(filter) => tracing::warn!(%filter, "SIGHUP: log filter reloaded"),
                Err(e) => tracing::warn!(error = %e, "SIGHUP: log filter kept"),
            }
        }
    });
}

fn open_db(config: &Config) -> Result<Database, Error> {
    Database::open(
        &config.database_url(),
        config.database.max_connections,
        Duration::from_millis(config.database.acquire_timeout_ms),
    )
}

fn key_command(repo: KeyRepository, action: KeyAction, what: &str) -> Result<(), Error> {
    match action {
        KeyAction::Setup => {
            repo.setup()?;
            tracing::info!(dir = %repo.dir().display(), keys = ?repo.load()?.numbers(), "{what} key repository ready");
        }
        KeyAction::Rotate => {
            let primary = repo.rotate()?;
            tracing::info!(dir = %repo.dir().display(), primary, "{what} keys rotated");
        }
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), Error> {
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => Vec::new(),
    };
    let config = load_config(&cli, &listen)?;
    let reload_log = init_logging(&config);
    let config_file = cli.config.clone();
    match cli.command {
        Command::Serve { .. } => actix_web::rt::System::new().block_on(async move {
            let (server, _, state) = ironstone::server::start(config)?;
            reload_log_filter_on_hangup(config_file, reload_log);
            let served = server.await;
            ironstone::server::flush_after_stop(&state).await;
            served.map_err(|e| Error::Internal(format!("server failed: {e}")))
        }),
        Command::Db {
            action: DbAction::Sync,
        } => {
            open_db(&config)?;
            tracing::info!("database schema is up to date");
            Ok(())
        }
        Command::Db {
            action: DbAction::Backup { file },
        } => {
            let backup = open_db(&config)?.backup(&file)?;
            tracing::info!(
                file = %backup.path.display(),
                bytes = backup.bytes,
                "backup written and its integrity checked; the key repositories are not in it"
            );
            Ok(())
        }
        Command::Bootstrap {
            admin_password,
            public_url,
            internal_url,
            admin_url,
        } => {
            let mut settings = config.bootstrap.clone();
            settings.public_url = public_url.or(settings.public_url);
            settings.internal_url = internal_url.or(settings.internal_url);
            settings.admin_url = admin_url.or(settings.admin_url);
            let mut with_urls = config.clone();
            with_urls.bootstrap = settings;
            let first = with_urls.server.listen.first().and_then(|a| a.parse().ok());
            let (public_url, internal_url, admin_url) =
                ironstone::server::identity_urls(&with_urls, first);
            let db = open_db(&config)?;
            let hasher = Hasher::new(1, config.identity.password_hash_rounds)?;
            let report = bootstrap::run(
                &db,
                &hasher,
                &BootstrapInput {
                    settings: &with_urls.bootstrap,
                    password: &admin_password,
                    default_domain_id: &config.identity.default_domain_id,
                    public_url,
                    internal_url,
                    admin_url,
                },
            )?;
            tracing::info!(created = ?report.created, "bootstrap complete");
            Ok(())
        }
        Command::Fernet { action } => key_command(
            KeyRepository::new(
                config.fernet_key_repository(),
                config.fernet_tokens.max_active_keys,
            ),
            action,
            "token",
        ),
        Command::Import {
            from:
                ImportSource::Keystone {
                    db,
                    fernet_keys,
                    credential_keys,
                    json,
                },
        } => {
            let target = open_db(&config)?;
            let credential_repo = KeyRepository::new(config.credential_key_repository(), 3);
            credential_repo.setup()?;
            let ours = ironstone::credential::CredentialCipher::new(
                ironstone::token::KeyRing::new(credential_repo)?,
            );
            let token_keys = KeyRepository::new(
                config.fernet_key_repository(),
                config.fernet_tokens.max_active_keys,
            );
            let report = ironstone::import::import_keystone(
                &target,
                &ours,
                &token_keys,
                &ironstone::import::ImportOptions {
                    database_url: &db,
                    fernet_keys: fernet_keys.as_deref(),
                    credential_keys: credential_keys.as_deref(),
                },
            )?;
            let text = if json {
                serde_json::to_string_pretty(&report)
                    .map_err(|e| Error::Internal(format!("cannot print the report: {e}")))?
            } else {
                report.to_text()
            };
            use std::io::Write;
            std::io::stdout()
                .write_all(format!("{text}\n").as_bytes())
                .map_err(|e| Error::Internal(format!("cannot print the report: {e}")))?;
            Ok(())
        }
        Command::Credential { action } => {
            let repo = KeyRepository::new(config.credential_key_repository(), 3);
            match action {
                CredentialAction::Setup => key_command(repo, KeyAction::Setup, "credential"),
                CredentialAction::Rotate => {
                    let db = open_db(&config)?;
                    let keys = repo.load()?;
                    let stale = db.blocking(|conn| {
                        let options = match keys.primary_key_hash() {
                            Some(primary) => {
                                ironstone::domain_config::count_not_under(conn, &primary)?
                                    + ironstone::oauth1::count_not_under(conn, &primary)?
                            }
                            None => 0,
                        };
                        Ok(ironstone::credential::count_not_under_primary(conn, &keys)? + options)
                    })?;
                    if stale > 0 {
                        return Err(Error::Config(format!(
                            "{stale} credentials are not encrypted with the primary key: run `ironstone credential migrate` first"
                        )));
                    }
                    key_command(repo, KeyAction::Rotate, "credential")
                }
                CredentialAction::Migrate => {
                    let db = open_db(&config)?;
                    let cipher = ironstone::credential::CredentialCipher::new(
                        ironstone::token::KeyRing::new(repo)?,
                    );
                    let migrated = db.blocking(|conn| {
                        Ok(ironstone::credential::migrate(conn, &cipher)?
                            + ironstone::domain_config::migrate(conn, &cipher)?
                            + ironstone::oauth1::migrate(conn, &cipher)?)
                    })?;
                    tracing::info!(migrated, "credentials re-encrypted with the primary key");
                    Ok(())
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ironstone: {e}");
            ExitCode::FAILURE
        }
    }
}
