//! `/metrics` in Prometheus conventions: request latency histograms and
//! counts per route family and status class, the database round-trip
//! histogram, cache hits and misses, the password-hashing queue, the
//! connection pool, and the signed-request counters. Labels take a
//! bounded set of values (route families, not paths or ids), so a caller
//! cannot grow the series.

use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::error::Error;

/// Latency buckets, in seconds: from a cached validation (tens of
/// microseconds) to a slow bcrypt login.
const BUCKETS: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// The request metrics of one server.
pub struct Telemetry {
    registry: Registry,
    durations: HistogramVec,
    requests: IntCounterVec,
    responses: IntCounterVec,
}

fn metrics_error(e: prometheus::Error) -> Error {
    Error::Config(format!("metrics: {e}"))
}

impl Telemetry {
    /// `round_trips`: the database's histogram, exported beside ours.
    pub fn new(round_trips: prometheus::Histogram) -> Result<Self, Error> {
        let labels = ["family", "status"];
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "ironstone_http_request_duration_seconds",
                "Time to answer a request, in seconds, by route family and status class.",
            )
            .buckets(BUCKETS.to_vec()),
            &labels,
        )
        .map_err(metrics_error)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "ironstone_http_requests_total",
                "Requests answered, by route family and status class.",
            ),
            &labels,
        )
        .map_err(metrics_error)?;
        let responses = IntCounterVec::new(
            Opts::new(
                "ironstone_http_responses_total",
                "Answers by method, route (as in the URL map, without the /identity prefix) and exact status.",
            ),
            &["method", "route", "status"],
        )
        .map_err(metrics_error)?;
        let registry = Registry::new();
        registry
            .register(Box::new(responses.clone()))
            .map_err(metrics_error)?;
        registry
            .register(Box::new(durations.clone()))
            .map_err(metrics_error)?;
        registry
            .register(Box::new(requests.clone()))
            .map_err(metrics_error)?;
        registry
            .register(Box::new(round_trips))
            .map_err(metrics_error)?;
        Ok(Telemetry {
            registry,
            durations,
            requests,
            responses,
        })
    }

    /// Records one answered request; `pattern` is the route it matched.
    /// The exact route and status also say which documented answers occur
    /// (the test suite compares them with the contract). Unmatched paths
    /// are one route, so callers cannot grow the label set.
    pub fn observe(&self, method: &str, pattern: Option<&str>, status: u16, elapsed: Duration) {
        let labels = [route_family(pattern), status_class(status)];
        self.durations
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
        self.requests.with_label_values(&labels).inc();
        let route = pattern.map_or("unmatched", |p| p.strip_prefix("/identity").unwrap_or(p));
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        self.responses
            .with_label_values(&[method, route, itoa_status(status)])
            .inc();
    }
}

/// The family of a route pattern: its first literal segment after the
/// API version (`/v3/projects/{project_id}` is `projects`,
/// `/v1/{project_id}/aksks` is `aksks`); `unmatched` for a 404 path.
pub fn route_family(pattern: Option<&str>) -> &str {
    let Some(pattern) = pattern else {
        return "unmatched";
    };
    let rest = pattern.strip_prefix("/identity").unwrap_or(pattern);
    let mut segments = rest.split('/').filter(|s| !s.is_empty());
    match segments.next() {
        None => "root",
        Some("v3" | "v1") => segments.find(|s| !s.starts_with('{')).unwrap_or("version"),
        Some(other) => other,
    }
}

/// A status as a label, without allocating for the common ones.
fn itoa_status(status: u16) -> &'static str {
    const KNOWN: [(u16, &str); 18] = [
        (200, "200"),
        (201, "201"),
        (202, "202"),
        (204, "204"),
        (300, "300"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (409, "409"),
        (410, "410"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (500, "500"),
        (501, "501"),
        (503, "503"),
    ];
    KNOWN
        .iter()
        .find(|(code, _)| *code == status)
        .map_or("other", |(_, label)| label)
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// One metric in the text format: its samples as (labels, value).
pub fn series(text: &mut String, name: &str, kind: &str, help: &str, samples: Vec<(String, u64)>) {
    text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    for (labels, value) in samples {
        text.push_str(&format!("{name}{labels} {value}\n"));
    }
}

/// A sample without labels.
pub fn one(value: u64) -> Vec<(String, u64)> {
    vec![(String::new(), value)]
}

impl Telemetry {
    /// The registered histograms and counters, in the text format.
    pub fn encode(&self, text: &mut String) {
        let mut buffer = Vec::new();
        let families = self.registry.gather();
        if prometheus::TextEncoder::new()
            .encode(&families, &mut buffer)
            .is_ok()
        {
            text.push_str(&String::from_utf8_lossy(&buffer));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn families_are_bounded_by_the_route_table() {
        assert_eq!(route_family(Some("/v3/projects/{project_id}")), "projects");
        assert_eq!(route_family(Some("/identity/v3/auth/tokens")), "auth");
        assert_eq!(route_family(Some("/v1/{project_id}/aksks")), "aksks");
        assert_eq!(route_family(Some("/v3")), "version");
        assert_eq!(route_family(Some("/")), "root");
        assert_eq!(route_family(Some("/metrics")), "metrics");
        assert_eq!(route_family(None), "unmatched");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(503), "5xx");
    }

    #[test]
    fn answers_are_counted_by_route_and_exact_status() {
        let t = Telemetry::new(
            prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("rt", "rt")).unwrap(),
        )
        .unwrap();
        t.observe("POST", Some("/identity/v3/users"), 201, Duration::ZERO);
        t.observe("POST", Some("/v3/users"), 201, Duration::ZERO);
        t.observe("BREW", None, 418, Duration::ZERO);
        let mut text = String::new();
        t.encode(&mut text);
        assert!(text.contains(
            "ironstone_http_responses_total{method=\"POST\",route=\"/v3/users\",status=\"201\"} 2"
        ));
        assert!(text.contains(
            "ironstone_http_responses_total{method=\"other\",route=\"unmatched\",status=\"other\"} 1"
        ));
    }
}
