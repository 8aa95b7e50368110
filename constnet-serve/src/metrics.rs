//! Counters and histograms in atomics, written out in Prometheus' text format (0.0.4). A fixed
//! set of endpoints and statuses keeps every update one atomic add, with no lock on the hot path.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// What the `endpoint` label says: the route's pattern, not the path (a path can name any
/// model, and unbounded label values would grow the output without end).
const ENDPOINTS: [&str; 11] = [
    "/",
    "/metrics",
    "/v2",
    "/v2/health/live",
    "/v2/health/ready",
    "/v2/models/{name}",
    "/v2/models/{name}/ready",
    "/v2/models/{name}/infer",
    "/v1/models/{name}",
    "/v1/models/{name}:predict",
    "other",
];

const STATUSES: [u16; 9] = [200, 400, 404, 405, 408, 413, 500, 503, 0];

/// Upper bounds of the latency buckets, in seconds.
const LATENCY: [f64; 14] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Upper bounds of the batch size buckets, in samples.
const BATCH: [u64; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096];

/// The route a path belongs to, as an index into `ENDPOINTS`.
pub(crate) fn endpoint(path: &str) -> usize {
    let other = ENDPOINTS.len() - 1;
    if let Some(i) = ENDPOINTS[..5].iter().position(|e| *e == path) {
        return i;
    }
    if let Some(rest) = path.strip_prefix("/v2/models/") {
        return match rest.split_once('/') {
            None => 5,
            Some((_, "ready")) => 6,
            Some((_, "infer")) => 7,
            Some(_) => other,
        };
    }
    if let Some(rest) = path.strip_prefix("/v1/models/") {
        return match (rest.contains('/'), rest.ends_with(":predict")) {
            (false, false) => 8,
            (false, true) => 9,
            (true, _) => other,
        };
    }
    other
}

struct Histogram<const B: usize> {
    /// Per bucket (not cumulative; summed when written); the last is +Inf.
    buckets: [AtomicU64; B],
    count: AtomicU64,
    sum: AtomicU64,
}

impl<const B: usize> Default for Histogram<B> {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }
}

/// Everything `GET /metrics` reports.
pub(crate) struct Metrics {
    requests: [[AtomicU64; STATUSES.len()]; ENDPOINTS.len()],
    latency: [Histogram<{ LATENCY.len() + 1 }>; ENDPOINTS.len()],
    batch: Histogram<{ BATCH.len() + 1 }>,
    overloaded: AtomicU64,
    too_large: AtomicU64,
    timed_out: AtomicU64,
    bad_request: AtomicU64,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        Metrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            latency: std::array::from_fn(|_| Histogram::default()),
            batch: Default::default(),
            overloaded: AtomicU64::new(0),
            too_large: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            bad_request: AtomicU64::new(0),
        }
    }

    /// Counts one answered request.
    pub(crate) fn request(&self, endpoint: usize, status: u16, took: Duration) {
        let s = STATUSES
            .iter()
            .position(|&s| s == status)
            .unwrap_or(STATUSES.len() - 1);
        self.requests[endpoint][s].fetch_add(1, Relaxed);
        let secs = took.as_secs_f64();
        let h = &self.latency[endpoint];
        let b = LATENCY
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(LATENCY.len());
        h.buckets[b].fetch_add(1, Relaxed);
        h.count.fetch_add(1, Relaxed);
        h.sum
            .fetch_add(took.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
        let rejected = match status {
            503 => &self.overloaded,
            413 => &self.too_large,
            408 => &self.timed_out,
            400 => &self.bad_request,
            _ => return,
        };
        rejected.fetch_add(1, Relaxed);
    }

    /// Counts one forward pass over `samples` samples.
    pub(crate) fn batch(&self, samples: usize) {
        let samples = samples as u64;
        let b = BATCH
            .iter()
            .position(|&le| samples <= le)
            .unwrap_or(BATCH.len());
        self.batch.buckets[b].fetch_add(1, Relaxed);
        self.batch.count.fetch_add(1, Relaxed);
        self.batch.sum.fetch_add(samples, Relaxed);
    }

    /// The Prometheus text exposition; `queued` is the current queue depth.
    pub(crate) fn render(&self, model: &str, queued: usize) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let model = model.replace('\\', "\\\\").replace('"', "\\\"");
        // `write!` to a String cannot fail.
        let _ = self.write(&mut out, &model, queued);
        out
    }

    fn write(&self, out: &mut String, model: &str, queued: usize) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP constnet_requests_total HTTP requests answered, by endpoint and status."
        )?;
        writeln!(out, "# TYPE constnet_requests_total counter")?;
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            for (s, status) in STATUSES.iter().enumerate() {
                let n = self.requests[e][s].load(Relaxed);
                if n > 0 {
                    let status = if *status == 0 {
                        "other".to_string()
                    } else {
                        status.to_string()
                    };
                    writeln!(
                        out,
                        "constnet_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
                    )?;
                }
            }
        }

        writeln!(out, "# HELP constnet_request_duration_seconds Time from a request's arrival to its response, by endpoint.")?;
        writeln!(out, "# TYPE constnet_request_duration_seconds histogram")?;
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            let h = &self.latency[e];
            let count = h.count.load(Relaxed);
            if count == 0 {
                continue;
            }
            let mut cumulative = 0;
            for (b, bucket) in h.buckets.iter().enumerate() {
                cumulative += bucket.load(Relaxed);
                let le = LATENCY
                    .get(b)
                    .map_or("+Inf".to_string(), |le| le.to_string());
                writeln!(
                    out,
                    "constnet_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{le}\"}} {cumulative}"
                )?;
            }
            let sum = h.sum.load(Relaxed) as f64 / 1e9;
            writeln!(
                out,
                "constnet_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {sum}"
            )?;
            writeln!(
                out,
                "constnet_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {count}"
            )?;
        }

        writeln!(out, "# HELP constnet_batch_size Samples per forward pass (with dynamic batching, the merged batch).")?;
        writeln!(out, "# TYPE constnet_batch_size histogram")?;
        let mut cumulative = 0;
        for (b, bucket) in self.batch.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = BATCH.get(b).map_or("+Inf".to_string(), |le| le.to_string());
            writeln!(
                out,
                "constnet_batch_size_bucket{{model=\"{model}\",le=\"{le}\"}} {cumulative}"
            )?;
        }
        writeln!(
            out,
            "constnet_batch_size_sum{{model=\"{model}\"}} {}",
            self.batch.sum.load(Relaxed)
        )?;
        writeln!(
            out,
            "constnet_batch_size_count{{model=\"{model}\"}} {}",
            self.batch.count.load(Relaxed)
        )?;

        writeln!(out, "# HELP constnet_rejected_total Requests refused, by reason (overload 503, too_large 413, timeout 408, bad_request 400).")?;
        writeln!(out, "# TYPE constnet_rejected_total counter")?;
        for (reason, n) in [
            ("overload", &self.overloaded),
            ("too_large", &self.too_large),
            ("timeout", &self.timed_out),
            ("bad_request", &self.bad_request),
        ] {
            writeln!(
                out,
                "constnet_rejected_total{{reason=\"{reason}\"}} {}",
                n.load(Relaxed)
            )?;
        }

        writeln!(
            out,
            "# HELP constnet_queue_depth Requests waiting for or in inference."
        )?;
        writeln!(out, "# TYPE constnet_queue_depth gauge")?;
        writeln!(out, "constnet_queue_depth{{model=\"{model}\"}} {queued}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_routes() {
        assert_eq!(
            ENDPOINTS[endpoint("/v2/models/mnist/infer")],
            "/v2/models/{name}/infer"
        );
        assert_eq!(ENDPOINTS[endpoint("/v2/models/other")], "/v2/models/{name}");
        assert_eq!(
            ENDPOINTS[endpoint("/v1/models/mnist:predict")],
            "/v1/models/{name}:predict"
        );
        assert_eq!(ENDPOINTS[endpoint("/v2/health/ready")], "/v2/health/ready");
        assert_eq!(ENDPOINTS[endpoint("/nope")], "other");
        assert_eq!(ENDPOINTS[endpoint("/v2/models/a/b/c")], "other");
    }

    #[test]
    fn histograms_are_cumulative() {
        let m = Metrics::new();
        m.request(7, 200, Duration::from_micros(300));
        m.request(7, 503, Duration::from_millis(2));
        m.batch(3);
        m.batch(64);
        let text = m.render("mnist", 0);
        assert!(text.contains(
            "constnet_requests_total{endpoint=\"/v2/models/{name}/infer\",status=\"503\"} 1"
        ));
        assert!(text.contains("endpoint=\"/v2/models/{name}/infer\",le=\"0.0005\"} 1\n"));
        assert!(text.contains("endpoint=\"/v2/models/{name}/infer\",le=\"0.0025\"} 2\n"));
        assert!(text.contains("constnet_batch_size_bucket{model=\"mnist\",le=\"4\"} 1\n"));
        assert!(text.contains("constnet_batch_size_bucket{model=\"mnist\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("constnet_batch_size_sum{model=\"mnist\"} 67\n"));
        assert!(text.contains("constnet_rejected_total{reason=\"overload\"} 1\n"));
    }
}
