//! The publisher: one task holding one AMQP connection (amqprs), which
//! declares what oslo.messaging's notifier declares (a topic exchange and,
//! per topic, a `<topic>.info` queue bound to it, so that nothing is lost
//! before a consumer first comes) and publishes the queued messages in
//! order. While the broker cannot be reached it reconnects with a growing
//! pause, and messages wait in the bounded queue; the one in hand when a
//! publish fails is sent again after the reconnection.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use amqprs::channel::{
    BasicPublishArguments, Channel, ExchangeDeclareArguments, QueueBindArguments,
    QueueDeclareArguments,
};
use amqprs::connection::{Connection, OpenConnectionArguments};
use amqprs::BasicProperties;
use tokio::sync::mpsc::Receiver;

use super::{Outgoing, Settings, Stats};
use crate::error::Error;

/// The longest pause between reconnection attempts.
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Where and how to publish.
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    user: String,
    password: String,
    vhost: String,
    exchange: String,
    topics: Vec<String>,
    durable: bool,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "amqp://{}@{}:{}/{}",
            self.user, self.host, self.port, self.vhost
        )
    }
}

fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

impl Target {
    /// Reads oslo.messaging's `transport_url` (`rabbit://user:pass@host:port/vhost`;
    /// `amqp://` also). One host: a cluster sits behind one address.
    pub fn parse(url: &str, settings: &Settings) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::Config(format!(
                "notifications.transport_url {}: {why}",
                crate::store::redact_url(url)
            ))
        };
        let rest = ["rabbit://", "amqp://"]
            .iter()
            .find_map(|s| url.strip_prefix(s))
            .ok_or_else(|| bad("use rabbit://USER:PASSWORD@HOST:PORT/VHOST"))?;
        let (authority, vhost) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.contains(',') {
            return Err(bad("give one host"));
        }
        let (credentials, address) = authority
            .rsplit_once('@')
            .unwrap_or(("guest:guest", authority));
        let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
        let (host, port) = match address.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("bad port"))?),
            None => (address, 5672),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let vhost = decode(vhost.split('?').next().unwrap_or(""));
        let too_long = |s: &str| s.is_empty() || s.len() > 200;
        if too_long(&settings.exchange) || settings.topics.iter().any(|t| too_long(t)) {
            return Err(Error::Config(
                "notifications.exchange and topics must be 1 to 200 bytes".into(),
            ));
        }
        Ok(Target {
            host: host.to_string(),
            port,
            user: decode(user),
            password: decode(password),
            // oslo.messaging: an empty path is the default virtual host.
            vhost: if vhost.is_empty() { "/".into() } else { vhost },
            exchange: settings.exchange.clone(),
            topics: settings.topics.clone(),
            durable: settings.durable,
        })
    }
}

/// Starts the publisher on a thread of its own (with its own small
/// runtime), so that neither a slow broker nor the caller's runtime, if
/// any, matters to the other. It ends when the notifier is dropped.
pub fn spawn(target: Target, queue: Receiver<Outgoing>, stats: Arc<Stats>) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the notifier: {e}")))?;
    std::thread::Builder::new()
        .name("ironstone-notify".into())
        .spawn(move || runtime.block_on(publish_forever(target, queue, stats)))
        .map(|_| ())
        .map_err(|e| Error::Internal(format!("cannot start the notifier: {e}")))
}

async fn connect(target: &Target) -> Result<(Connection, Channel), amqprs::error::Error> {
    let args =
        OpenConnectionArguments::new(&target.host, target.port, &target.user, &target.password)
            .virtual_host(&target.vhost)
            .connection_name("ironstone-notifications")
            .finish();
    let connection = Connection::open(&args).await?;
    let channel = connection.open_channel(None).await?;
    channel
        .exchange_declare(
            ExchangeDeclareArguments::new(&target.exchange, "topic")
                .durable(target.durable)
                .finish(),
        )
        .await?;
    for topic in &target.topics {
        let queue = format!("{topic}.info");
        channel
            .queue_declare(
                QueueDeclareArguments::new(&queue)
                    .durable(target.durable)
                    .finish(),
            )
            .await?;
        channel
            .queue_bind(QueueBindArguments::new(&queue, &target.exchange, &queue))
            .await?;
    }
    Ok((connection, channel))
}

async fn publish_forever(target: Target, mut queue: Receiver<Outgoing>, stats: Arc<Stats>) {
    let mut held: Option<Outgoing> = None;
    let mut pause = Duration::from_millis(500);
    loop {
        let (connection, channel) = match connect(&target).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(broker = ?target, error = %e, "cannot reach the message broker for notifications; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                continue;
            }
        };
        pause = Duration::from_millis(500);
        loop {
            let message = match held.take() {
                Some(m) => m,
                None => match queue.recv().await {
                    Some(m) => m,
                    // The notifier is gone: the service is stopping.
                    None => {
                        let _ = channel.close().await;
                        let _ = connection.close().await;
                        return;
                    }
                },
            };
            let properties = BasicProperties::default()
                .with_content_type("application/json")
                .with_content_encoding("utf-8")
                .with_persistence(target.durable)
                .finish();
            let args = BasicPublishArguments::new(&target.exchange, &message.routing_key);
            let sent = if connection.is_open() && channel.is_open() {
                channel
                    .basic_publish(properties, message.body.clone().into_bytes(), args)
                    .await
                    .map_err(|e| e.to_string())
            } else {
                Err("the connection is closed".to_string())
            };
            match sent {
                Ok(()) => {
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failed_publishes.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "lost the message broker; reconnecting");
                    held = Some(message);
                    break;
                }
            }
        }
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_transport_urls_are_read() {
        let s = Settings::default();
        let t =
            Target::parse("rabbit://guest:p%40ss@10.0.0.5:5673/", &s).unwrap_or_else(|_| panic!());
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.user.as_str(),
                t.password.as_str(),
                t.vhost.as_str()
            ),
            ("10.0.0.5", 5673, "guest", "p@ss", "/")
        );
        let t = Target::parse("rabbit://u:p@h/openstack", &s).unwrap_or_else(|_| panic!());
        assert_eq!((t.port, t.vhost.as_str()), (5672, "openstack"));
        assert!(Target::parse("kafka://h:9092", &s).is_err());
        assert!(Target::parse("rabbit://u:p@a:5672,u:p@b:5672/", &s).is_err());
        assert!(format!("{t:?}")
            .find('p')
            .is_some_and(|_| !format!("{t:?}").contains(":p@")));
    }
}
