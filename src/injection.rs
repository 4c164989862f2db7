//! Owns failure injection: the rules a test installs to make matching requests fail, stall or
//! break off, how a request is matched against them, and their counters.

use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::ErrorType;
use crate::ids::IdGen;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The longest delay a rule may add (ten minutes): nothing waits forever.
pub const DELAY_MAX_MS: u64 = 600_000;

/// The most rules installed at once.
pub const MAX_RULES: usize = 1000;
/// The most text one rule holds: its patterns, message and answer body together (16 KiB).
pub const RULE_TEXT_MAX: usize = 16 << 10;

/// What a firing fault rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// Answer with a vAPI error of this type (status from vCenter's table).
    Error {
        /// vCenter error type, e.g. `RESOURCE_BUSY`; an unknown name is refused with the list
        /// of valid ones.
        error_type: ErrorType,
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
pub struct InjectionRule {
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
pub struct Injection {
    /// Id for deletion.
    pub id: u64,
    /// The rule.
    #[serde(flatten)]
    pub spec: InjectionRule,
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
pub struct Injections {
    inner: Mutex<(u64, Vec<Injection>)>,
    /// How many rules exist, read without the lock on every request.
    count: std::sync::atomic::AtomicUsize,
}

impl Injections {
    /// Adds a rule; fails if its path pattern, probability or status is invalid, if it is larger
    /// than [`RULE_TEXT_MAX`], or if [`MAX_RULES`] are installed already.
    pub fn add(&self, spec: InjectionRule) -> Result<Injection, String> {
        let text = [&spec.operation, &spec.vm, &spec.path, &spec.method]
            .iter()
            .map(|t| t.as_ref().map_or(0, String::len))
            .sum::<usize>()
            + match &spec.effect {
                Effect::Error { message, .. } => message.len(),
                Effect::Status { body, .. } => body.as_ref().map_or(0, |b| b.to_string().len()),
                _ => 0,
            };
        if text > RULE_TEXT_MAX {
            return Err(format!(
                "the rule holds {text} bytes of text; a rule holds at most {RULE_TEXT_MAX}"
            ));
        }
        if let Effect::Delay { ms } = &spec.effect {
            if *ms > DELAY_MAX_MS {
                return Err(format!(
                    "effect.ms: {ms} is longer than the longest delay, {DELAY_MAX_MS} ms"
                ));
            }
        }
        if let Effect::Status { status, .. } = &spec.effect {
            if !(100..=599).contains(status) {
                return Err(format!(
                    "effect.status: {status} is not an HTTP status (100 to 599)"
                ));
            }
        }
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
        if g.1.len() >= MAX_RULES {
            return Err(format!(
                "{MAX_RULES} rules are installed; remove some (DELETE /_mock/faults) first"
            ));
        }
        g.0 += 1;
        let rule = Injection {
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
    pub fn list(&self) -> Vec<Injection> {
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
            error_type: ErrorType::ResourceBusy,
            message: "x".into(),
        }
    }

    #[test]
    fn a_rule_with_times_fires_that_often_then_lets_requests_through() {
        let rules = Injections::default();
        let ids = IdGen::new(Some(1));
        rules
            .add(InjectionRule {
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
        let rules = Injections::default();
        let ids = IdGen::new(Some(1));
        rules
            .add(InjectionRule {
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
}
