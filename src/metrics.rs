//! Owns the request and transfer counters served at `/_mock/metrics` in Prometheus text.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Request and transfer counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Counts by operation, then status (looked up without allocating once an operation is seen).
    requests: Mutex<std::collections::HashMap<String, BTreeMap<u16, u64>>>,
    /// Bytes sent by `/guestFile` downloads.
    pub bytes_down: AtomicU64,
    /// Bytes received by `/guestFile` uploads that landed.
    pub bytes_up: AtomicU64,
}

impl Metrics {
    /// Counts one request.
    pub fn count(&self, operation: &str, status: u16) {
        let mut requests = lock(&self.requests);
        match requests.get_mut(operation) {
            Some(by_status) => *by_status.entry(status).or_default() += 1,
            None => {
                requests.insert(operation.to_owned(), BTreeMap::from([(status, 1)]));
            }
        }
    }

    /// Adds downloaded bytes.
    pub fn add_down(&self, n: u64) {
        self.bytes_down.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds uploaded bytes.
    pub fn add_up(&self, n: u64) {
        self.bytes_up.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition, with the gauges given.
    pub fn render(&self, sessions: usize, tokens: usize) -> String {
        let mut out = String::new();
        out.push_str("# HELP vcmock_requests_total Requests answered, by operation and status.\n");
        out.push_str("# TYPE vcmock_requests_total counter\n");
        let requests = lock(&self.requests);
        let mut ops: Vec<&String> = requests.keys().collect();
        ops.sort();
        for op in ops {
            for (status, n) in &requests[op] {
                out.push_str(&format!(
                    "vcmock_requests_total{{operation=\"{op}\",status=\"{status}\"}} {n}\n"
                ));
            }
        }
        out.push_str("# HELP vcmock_transfer_bytes_total Bytes moved through /guestFile.\n");
        out.push_str("# TYPE vcmock_transfer_bytes_total counter\n");
        out.push_str(&format!(
            "vcmock_transfer_bytes_total{{direction=\"download\"}} {}\n",
            self.bytes_down.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "vcmock_transfer_bytes_total{{direction=\"upload\"}} {}\n",
            self.bytes_up.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP vcmock_sessions_active Open vCenter sessions.\n# TYPE vcmock_sessions_active gauge\n");
        out.push_str(&format!("vcmock_sessions_active {sessions}\n"));
        out.push_str("# HELP vcmock_transfer_tokens_active Issued transfer URLs not yet used, expired or revoked.\n# TYPE vcmock_transfer_tokens_active gauge\n");
        out.push_str(&format!("vcmock_transfer_tokens_active {tokens}\n"));
        out
    }
}
