//! Owns the state shared by every request: the current vCenter (swapped on reset), the loaded
//! fixture, the clock, the id generator, settings, the certificate, and the journal,
//! failure-injection rules and metrics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::{Clock, SwitchableClock};
use crate::fixtures::Fixture;
use crate::ids::IdGen;
use crate::injection::Injections;
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::model::{Changes, Limits, Vcenter};
use crate::tls::CertInfo;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whether the listener speaks TLS (decides `https` or `http` in transfer URLs).
    pub tls: bool,
    /// The port the listener is bound to (the fallback for transfer URLs).
    pub port: u16,
    /// Replaces `*` in transfer URLs (`host` or `host:port`).
    pub transfer_host: Option<String>,
    /// Bearer token the admin API requires, if any.
    pub admin_token: Option<String>,
    /// Whether the admin API is served.
    pub admin_enabled: bool,
    /// Largest JSON request body, in bytes.
    pub body_limit: usize,
    /// Uploads larger than this spill to a temporary file instead of memory.
    pub spill_threshold: u64,
    /// Largest admin API request body, in bytes (state loads carry file content).
    pub admin_body_limit: usize,
    /// How long a client may take to send a request's head (and, on HTTP/1.1, how long an
    /// idle kept-alive connection waits for the next one).
    pub header_timeout: Duration,
    /// How long a connection may sit idle, with no request in flight, before it is closed.
    pub idle_timeout: Duration,
    /// How long a request body (a JSON body or an upload) may stop moving before the request
    /// is given up.
    pub body_timeout: Duration,
}

/// Uploads held in memory, all together, stay below this; one that would pass it is written
/// to a temporary file instead, whatever its size.
pub const UPLOAD_MEMORY_MAX: u64 = 256 << 20;

impl Default for Settings {
    fn default() -> Self {
        Self {
            tls: true,
            port: 0,
            transfer_host: None,
            admin_token: None,
            admin_enabled: true,
            body_limit: 1 << 20,
            spill_threshold: 8 << 20,
            admin_body_limit: 128 << 20,
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything a request handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    vc: RwLock<Arc<Vcenter>>,
    /// The `/sdk` side state (tasks, views, filters), replaced with the vCenter on reset.
    soap: RwLock<Arc<crate::soap::store::Store>>,
    fixture: RwLock<Arc<Fixture>>,
    limits: Limits,
    clock: SwitchableClock,
    ids: IdGen,
    settings: Settings,
    cert: Option<CertInfo>,
    /// Created on first use (most servers never spill).
    spill_dir: std::sync::OnceLock<tempfile::TempDir>,
    journal: Journal,
    injections: Injections,
    metrics: Metrics,
    ready: AtomicBool,
    /// Where the model and the `/sdk` state count the changes a property filter could see
    /// (kept across resets).
    changes: Arc<Changes>,
    /// Told of each change: blocked `WaitForUpdates` calls wait on it.
    changed: Arc<tokio::sync::Notify>,
    /// Bytes of uploads held in memory right now.
    upload_memory: Arc<AtomicU64>,
}

impl AppState {
    /// Builds the state and the vCenter from `fixture`.
    pub fn new(
        fixture: Arc<Fixture>,
        limits: Limits,
        clock: SwitchableClock,
        seed: Option<u64>,
        settings: Settings,
        cert: Option<CertInfo>,
        journal_size: usize,
    ) -> Self {
        let changed = Arc::new(tokio::sync::Notify::new());
        let changes = Arc::new(Changes::default());
        let notify = changed.clone();
        changes.listen(Box::new(move || notify.notify_waiters()));
        let vc = fixture
            .build(limits.clone(), clock.now())
            .with_changes(changes.clone());
        let store = crate::soap::store::Store::for_fixture(&fixture, changes.clone());
        Self(Arc::new(Inner {
            vc: RwLock::new(Arc::new(vc)),
            soap: RwLock::new(Arc::new(store)),
            fixture: RwLock::new(fixture),
            limits,
            clock,
            ids: IdGen::new(seed),
            settings,
            cert,
            spill_dir: std::sync::OnceLock::new(),
            journal: Journal::new(journal_size),
            injections: Injections::default(),
            metrics: Metrics::default(),
            ready: AtomicBool::new(false),
            upload_memory: Arc::default(),
            changes,
            changed,
        }))
    }

    /// The current vCenter.
    pub fn vcenter(&self) -> Arc<Vcenter> {
        self.0
            .vc
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The `/sdk` side state of the current vCenter.
    pub fn soap(&self) -> Arc<crate::soap::store::Store> {
        self.0
            .soap
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The count of the changes a property filter could see (the current vCenter's and its
    /// `/sdk` state's).
    pub fn changes(&self) -> &Changes {
        &self.0.changes
    }

    /// Notified after each change and each wake of [`AppState::changes`].
    pub fn changed(&self) -> &tokio::sync::Notify {
        &self.0.changed
    }

    /// The instant to use for this request.
    pub fn now(&self) -> OffsetDateTime {
        self.0.clock.now()
    }

    /// The clock.
    pub fn clock(&self) -> &SwitchableClock {
        &self.0.clock
    }

    /// The id generator.
    pub fn ids(&self) -> &IdGen {
        &self.0.ids
    }

    /// Settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The certificate, when serving TLS.
    pub fn cert(&self) -> Option<&CertInfo> {
        self.0.cert.as_ref()
    }

    /// Where spilled uploads go (created on first use, removed on shutdown).
    pub fn spill_dir(&self) -> std::io::Result<&std::path::Path> {
        if self.0.spill_dir.get().is_none() {
            let dir = tempfile::Builder::new().prefix("vcmock-").tempdir()?;
            // Another request may have won the race; its directory is kept and ours removed.
            let _ = self.0.spill_dir.set(dir);
        }
        Ok(self.0.spill_dir.get().expect("set above").path())
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.0.journal
    }

    /// The fault rules.
    pub fn injections(&self) -> &Injections {
        &self.0.injections
    }

    /// Counters for `/_mock/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    fn shared_fixture(&self) -> Arc<Fixture> {
        self.0
            .fixture
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Rebuilds the vCenter from the loaded fixture (or from `fixture`, which then becomes the
    /// one reset restores). Outstanding transfers are revoked; sessions end; the seeded
    /// generator moves to its next epoch, so no credential from before is honoured after.
    pub fn reset(&self, fixture: Option<Fixture>) {
        let now = self.now();
        if let Some(f) = fixture {
            *self
                .0
                .fixture
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(f);
        }
        let fresh = Arc::new(
            self.shared_fixture()
                .build(self.0.limits.clone(), now)
                .with_changes(self.0.changes.clone()),
        );
        let old = std::mem::replace(
            &mut *self
                .0
                .vc
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            fresh,
        );
        *self
            .0
            .soap
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(
            crate::soap::store::Store::for_fixture(&self.shared_fixture(), self.0.changes.clone()),
        );
        old.revoke_all("reset", now);
        self.0.ids.reset();
        // Everything changed: blocked waits look again (and find their session gone).
        self.0.changes.bump();
    }

    /// A fixture describing the current state (refused when it would carry more content than
    /// a snapshot holds).
    pub fn snapshot(&self) -> Result<Fixture, crate::model::Fault> {
        let loaded = self.shared_fixture();
        Ok(Fixture {
            datacenter: loaded.datacenter.clone(),
            ..Fixture::snapshot(&self.vcenter(), &loaded.roles)?
        })
    }

    /// Reserves `bytes` of the memory uploads may hold ([`UPLOAD_MEMORY_MAX`] in all), or
    /// `None` when that would pass it (the upload then goes to a temporary file).
    pub fn reserve_upload_memory(&self, bytes: u64) -> Option<MemoryReservation> {
        let total = &self.0.upload_memory;
        total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|&t| t <= UPLOAD_MEMORY_MAX)
            })
            .ok()
            .map(|_| MemoryReservation {
                total: total.clone(),
                bytes,
            })
    }

    /// Whether the listener is up and the fixture loaded.
    pub fn is_ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    /// Marks the server ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.0.ready.store(ready, Ordering::Release);
    }
}

/// Memory an upload holds; given back when dropped.
#[derive(Debug)]
pub struct MemoryReservation {
    total: Arc<AtomicU64>,
    bytes: u64,
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_in_memory_stay_under_their_bound_and_give_it_back_when_done() {
        let state = AppState::new(
            Fixture::shared_default(),
            Limits::default(),
            SwitchableClock::system(),
            Some(1),
            Settings::default(),
            None,
            10,
        );
        let half = state.reserve_upload_memory(UPLOAD_MEMORY_MAX / 2).unwrap();
        let rest = state.reserve_upload_memory(UPLOAD_MEMORY_MAX / 2).unwrap();
        assert!(state.reserve_upload_memory(1).is_none(), "full");
        drop(half);
        assert!(
            state.reserve_upload_memory(1).is_some(),
            "a finished upload gave its share back"
        );
        drop(rest);
        assert!(state.reserve_upload_memory(UPLOAD_MEMORY_MAX).is_some());
        assert!(
            state.reserve_upload_memory(u64::MAX).is_none(),
            "no overflow"
        );
    }
}
