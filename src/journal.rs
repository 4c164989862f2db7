//! Owns the request journal: the bounded record of what clients sent, kept for tests to read.
//! It never holds bodies, headers, session ids, passwords or transfer tokens.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

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
    /// HTTP method (the standard ones are held without a copy); serialised as its name.
    #[serde(serialize_with = "serialize_method")]
    pub method: axum::http::Method,
    /// URL path (the query is left out: it can hold a token).
    pub path: String,
    /// Stable operation name, e.g. `files.list`.
    pub operation: &'static str,
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
    pub error_type: Option<&'static str>,
    /// Why a transfer token was refused, or which fault rule fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: f64,
}

fn serialize_method<S: serde::Serializer>(m: &axum::http::Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

fn serialize_time<S: serde::Serializer>(t: &time::OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::clock::format_millis(*t))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_entry_serialises_its_method_by_name_standard_or_not() {
        for (method, name) in [
            (axum::http::Method::POST, "POST"),
            (
                axum::http::Method::from_bytes(b"PROPFIND").unwrap(),
                "PROPFIND",
            ),
        ] {
            let entry = JournalEntry {
                seq: 1,
                time: time::OffsetDateTime::UNIX_EPOCH,
                method,
                path: "/api/session".into(),
                operation: "session.create",
                vm: None,
                guest_path: None,
                status: 201,
                error_type: None,
                note: None,
                duration_ms: 0.0,
            };
            let json = serde_json::to_value(&entry).unwrap();
            assert_eq!(json["method"], name);
            assert_eq!(json["operation"], "session.create");
        }
    }

    #[test]
    fn the_journal_keeps_only_its_newest_entries() {
        let j = Journal::new(3);
        for i in 0..10 {
            j.record(JournalEntry {
                seq: 0,
                time: time::OffsetDateTime::UNIX_EPOCH,
                method: axum::http::Method::GET,
                path: format!("/{i}"),
                operation: "x",
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
