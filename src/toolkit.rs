//! Owns the test-double toolkit's bookkeeping: the bounded request journal, fault-injection
//! rules and their matching, and request metrics.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::IdGen;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One request as the journal keeps it. Never holds bodies, headers, session ids, passwords or
/// transfer tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEntry {
    /// Sequence number, from 1.
    pub seq: u64,
    /// When it arrived (by the server clock); serialised as `YYYY-MM-DDTHH:MM:SS.sssZ`.
    #[serde(serialize_with = "serialize_time")]
    pub time: time::OffsetDateTime,
    /// HTTP method.
    pub method: String,
    /// URL path (the query is left out: it can hold a token).
    pub path: String,
    /// Stable operation name, e.g. `files.list`.
    pub operation: String,
    /// The VM, if the operation names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vm: Option<String>,
    /// The guest path, if the operation names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest_path: Option<String>,
    /// HTTP status answered.
    pub status: u16,
    /// vCenter error type, for errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Why a transfer token was refused, or which fault rule fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
}

fn serialize_time<S: serde::Serializer>(t: &time::OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::vapi::dto::datetime(*t))
}

/// A filter on journal entries; unset fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct JournalFilter {
    /// Operation name.
    pub operation: Option<String>,
    /// VM id.
    pub vm: Option<String>,
    /// HTTP status.
    pub status: Option<u16>,
}

/// The most recent requests, up to a fixed number.
#[derive(Debug)]
pub struct Journal {
    cap: usize,
    inner: Mutex<(u64, VecDeque<JournalEntry>)>,
}

impl Journal {
    /// A journal keeping at most `cap` entries (0 keeps none).
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            inner: Mutex::new((0, VecDeque::new())),
        }
    }

    /// Appends an entry (its `seq` is assigned here), dropping the oldest when full.
    pub fn record(&self, mut entry: JournalEntry) {
        let mut g = lock(&self.inner);
        g.0 += 1;
        entry.seq = g.0;
        if self.cap == 0 {
            return;
        }
        if g.1.len() >= self.cap {
            g.1.pop_front();
        }
        g.1.push_back(entry);
    }

    /// Entries matching `filter`, oldest first.
    pub fn entries(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        lock(&self.inner)
            .1
            .iter()
            .filter(|e| filter.operation.as_ref().is_none_or(|o| *o == e.operation))
            .filter(|e| filter.vm.as_ref().is_none_or(|v| e.vm.as_ref() == Some(v)))
            .filter(|e| filter.status.is_none_or(|s| s == e.status))
            .cloned()
            .collect()
    }

    /// Every entry, oldest first.
    pub fn requests(&self) -> Vec<JournalEntry> {
        self.entries(&JournalFilter::default())
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        lock(&self.inner).1.clear();
    }

    /// The configured size.
    pub fn capacity(&self) -> usize {
        self.cap
    }
}

/// What a firing fault rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// Answer with a vAPI error of this type (status from vCenter's table).
    Error {
        /// vCenter error type, e.g. `RESOURCE_BUSY`.
        error_type: String,
        /// Message text.
        #[serde(default = "injected_message")]
        message: String,
    },
    /// Answer with a raw HTTP status and body.
    Status {
        /// HTTP status.
        status: u16,
        /// Body: a JSON value (sent as JSON) or a string (sent as text).
        #[serde(default)]
        body: Option<Value>,
    },
    /// Wait before handling the request normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Close the connection without answering.
    Reset,
    /// `/guestFile` GET: send only this many bytes of the body, then cut the connection.
    Truncate {
        /// Bytes sent before the cut.
        after_bytes: u64,
    },
    /// `/guestFile`: stream at most this many bytes per second.
    Slow {
        /// Throughput.
        bytes_per_second: u64,
    },
}

fn injected_message() -> String {
    "Injected fault.".into()
}

/// A rule as the admin API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Operation name to match (e.g. `files.list`, `guestFile.get`); unset matches all.
    #[serde(default)]
    pub operation: Option<String>,
    /// VM id to match.
    #[serde(default)]
    pub vm: Option<String>,
    /// Regular expression the guest path must match.
    #[serde(default)]
    pub path: Option<String>,
    /// HTTP method to match.
    #[serde(default)]
    pub method: Option<String>,
    /// What happens.
    pub effect: Effect,
    /// Fire at most this many times.
    #[serde(default)]
    pub times: Option<u64>,
    /// Let this many matching requests through before firing.
    #[serde(default)]
    pub after: u64,
    /// Fire with this probability (0..=1), drawn from the seeded generator.
    #[serde(default)]
    pub probability: Option<f64>,
}

/// A rule with its counters.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRule {
    /// Id for deletion.
    pub id: u64,
    /// The rule.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Requests that matched.
    pub matched: u64,
    /// Times it fired.
    pub fired: u64,
    #[serde(skip)]
    path_re: Option<regex::Regex>,
}

/// What a request looks like to the fault rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// Operation name.
    pub operation: String,
    /// HTTP method.
    pub method: String,
    /// VM id.
    pub vm: Option<String>,
    /// Guest path.
    pub guest_path: Option<String>,
}

/// The ordered fault rules.
#[derive(Debug, Default)]
pub struct FaultRules {
    inner: Mutex<(u64, Vec<FaultRule>)>,
    /// How many rules exist, read without the lock on every request.
    count: std::sync::atomic::AtomicUsize,
}

impl FaultRules {
    /// Adds a rule; fails if its path pattern or probability is invalid.
    pub fn add(&self, spec: FaultSpec) -> Result<FaultRule, String> {
        let path_re = spec
            .path
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .map_err(|e| format!("path: {e}"))?;
        if let Some(p) = spec.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("probability: {p} is not between 0 and 1"));
            }
        }
        let mut g = lock(&self.inner);
        g.0 += 1;
        let rule = FaultRule {
            id: g.0,
            spec,
            matched: 0,
            fired: 0,
            path_re,
        };
        g.1.push(rule.clone());
        self.count
            .store(g.1.len(), std::sync::atomic::Ordering::Release);
        Ok(rule)
    }

    /// Every rule with its counters.
    pub fn list(&self) -> Vec<FaultRule> {
        lock(&self.inner).1.clone()
    }

    /// Removes a rule; returns whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut g = lock(&self.inner);
        let before = g.1.len();
        g.1.retain(|r| r.id != id);
        self.count
            .store(g.1.len(), std::sync::atomic::Ordering::Release);
        g.1.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut g = lock(&self.inner);
        g.1.clear();
        self.count.store(0, std::sync::atomic::Ordering::Release);
    }

    /// Whether no rule exists (checked before building a request's facts).
    pub fn is_empty(&self) -> bool {
        self.count.load(std::sync::atomic::Ordering::Acquire) == 0
    }

    /// The effect of the first rule that fires for this request, with the rule's id.
    pub fn check(&self, facts: &RequestFacts, ids: &IdGen) -> Option<(u64, Effect)> {
        let mut g = lock(&self.inner);
        for rule in &mut g.1 {
            let s = &rule.spec;
            let matches = s.operation.as_ref().is_none_or(|o| *o == facts.operation)
                && s.method
                    .as_ref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(&facts.method))
                && s.vm.as_ref().is_none_or(|v| Some(v) == facts.vm.as_ref())
                && rule
                    .path_re
                    .as_ref()
                    .is_none_or(|re| facts.guest_path.as_deref().is_some_and(|p| re.is_match(p)));
            if !matches {
                continue;
            }
            rule.matched += 1;
            if rule.matched <= s.after || s.times.is_some_and(|t| rule.fired >= t) {
                continue;
            }
            if s.probability.is_some_and(|p| ids.unit() >= p) {
                continue;
            }
            rule.fired += 1;
            return Some((rule.id, s.effect.clone()));
        }
        None
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(op: &str) -> RequestFacts {
        RequestFacts {
            operation: op.into(),
            method: "POST".into(),
            ..RequestFacts::default()
        }
    }

    fn busy() -> Effect {
        Effect::Error {
            error_type: "RESOURCE_BUSY".into(),
            message: "x".into(),
        }
    }

    #[test]
    fn a_rule_with_times_fires_that_often_then_lets_requests_through() {
        let rules = FaultRules::default();
        let ids = IdGen::new(Some(1));
        rules
            .add(FaultSpec {
                operation: Some("files.list".into()),
                vm: None,
                path: None,
                method: None,
                effect: busy(),
                times: Some(2),
                after: 0,
                probability: None,
            })
            .unwrap();
        let fired: Vec<bool> = (0..4)
            .map(|_| rules.check(&facts("files.list"), &ids).is_some())
            .collect();
        assert_eq!(fired, [true, true, false, false]);
        assert!(rules.check(&facts("files.get"), &ids).is_none());
        assert_eq!(rules.list()[0].fired, 2);
    }

    #[test]
    fn a_rule_with_after_lets_the_first_requests_through() {
        let rules = FaultRules::default();
        let ids = IdGen::new(Some(1));
        rules
            .add(FaultSpec {
                operation: None,
                vm: None,
                path: None,
                method: None,
                effect: busy(),
                times: None,
                after: 1,
                probability: None,
            })
            .unwrap();
        assert!(rules.check(&facts("a"), &ids).is_none());
        assert!(rules.check(&facts("a"), &ids).is_some());
    }

    #[test]
    fn the_journal_keeps_only_its_newest_entries() {
        let j = Journal::new(3);
        for i in 0..10 {
            j.record(JournalEntry {
                seq: 0,
                time: time::OffsetDateTime::UNIX_EPOCH,
                method: "GET".into(),
                path: format!("/{i}"),
                operation: "x".into(),
                vm: None,
                guest_path: None,
                status: 200,
                error_type: None,
                note: None,
                duration_ms: 0.0,
            });
        }
        let e = j.requests();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].seq, 8);
    }
}
