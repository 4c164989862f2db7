//! Owns the state `/sdk` keeps beside the model: the bounded task table, and the per-session
//! objects (container views, extra property collectors, property filters with their update
//! baselines, and `RetrievePropertiesEx` continuation tokens, bounded in number and bytes and
//! ended when idle). Everything a session owns ends with it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use super::collector::{Baseline, FilterSpec};
use super::retrieve::Plan;
use super::value::{MoRef, Value};
use crate::model::{Changes, Fault};

/// Tasks kept for `Task.info` reads (oldest dropped first).
pub const TASK_CAP: usize = 1000;
/// Views, filters or collectors one session may hold at once (its oldest is dropped).
pub const PER_SESSION_CAP: usize = 256;
/// Continuation tokens one session may hold at once (its oldest is dropped).
pub const TOKEN_CAP: usize = 16;
/// Continuation tokens kept in all (the oldest goes first).
pub const TOKENS_IN_ALL: usize = 256;
/// Bytes the tokens of one session may hold (what is left to read: object references and the
/// specSets; see [`Plan::held_bytes`]). Its oldest tokens go to make room; a retrieval whose
/// rest alone is larger is refused.
pub const TOKEN_BYTES_PER_SESSION: usize = 16 << 20;
/// Bytes all tokens together may hold (the oldest go first).
pub const TOKEN_BYTES_IN_ALL: usize = 64 << 20;
/// How long a token lasts unused; after that `ContinueRetrievePropertiesEx` does not know it.
pub const TOKEN_IDLE: time::Duration = time::Duration::minutes(10);
/// Session objects kept in all before dead sessions' objects are swept.
pub const SWEEP_AT: usize = 20_000;
/// The most session objects one session may hold: views, filters and collectors, and tokens.
pub const OBJECTS_PER_SESSION: usize = 3 * PER_SESSION_CAP + TOKEN_CAP;
/// Bytes the views and filters of one session may hold (their specs as parsed; see
/// [`spec_bytes`](super::retrieve::spec_bytes)). Its oldest go to make room.
pub const SPEC_BYTES_PER_SESSION: usize = 16 << 20;
/// Bytes the views and filters of all sessions together may hold (the oldest go first).
pub const SPEC_BYTES_IN_ALL: usize = 256 << 20;

/// One finished task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// Its id, e.g. `task-7`.
    pub id: String,
    /// The WSDL method that started it, e.g. `PowerOffVM_Task`.
    pub method: &'static str,
    /// Its description id, e.g. `VirtualMachine.powerOff`.
    pub description_id: &'static str,
    /// The object it ran on.
    pub entity: MoRef,
    /// That object's name.
    pub entity_name: String,
    /// The fault it ended with, if it failed.
    pub error: Option<Fault>,
    /// What it returned, if anything.
    pub result: Option<Value>,
    /// Who started it (`VSPHERE.LOCAL\Administrator`).
    pub user: String,
    /// When it was queued, started and completed (the same instant: tasks finish at once).
    pub time: OffsetDateTime,
    /// Its event chain id.
    pub chain: i32,
}

/// A container view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRecord {
    /// The owning session.
    pub session: String,
    /// The container it watches.
    pub container: MoRef,
    /// The types it keeps (all when empty).
    pub types: Vec<String>,
    /// Whether it reaches beyond the container's direct children.
    pub recursive: bool,
    bytes: usize,
    seq: u64,
}

/// A property filter (what its collector last reported for it, its baseline, is kept apart and
/// read under the store's lock, never copied out).
#[derive(Debug, Clone)]
pub struct FilterRecord {
    /// The owning session.
    pub session: String,
    /// The collector it belongs to (`propertyCollector` or an extra collector's id).
    pub collector: String,
    /// Its spec.
    pub spec: Arc<FilterSpec>,
    /// `partialUpdates` as given.
    pub partial_updates: bool,
    bytes: usize,
    seq: u64,
}

/// Where a blocked `WaitForUpdates[Ex]` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Still the collector's wait.
    Waiting,
    /// `CancelWaitForUpdates` was called.
    Cancelled,
    /// A later wait on the same collector took over.
    Superseded,
    /// The collector, or its session, ended.
    Gone,
}

/// A collector's per-session state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorRecord {
    /// The version last returned by a wait (0: none yet).
    pub version: u64,
    /// Set by `CancelWaitForUpdates`; the wait in progress ends with `RequestCanceled`.
    pub cancelled: bool,
    /// The wait that blocks on this collector now (0: none), numbered from `seq`.
    waiter: u64,
    seq: u64,
}

#[derive(Debug, Clone)]
struct TokenRecord {
    session: String,
    page: usize,
    rest: Plan,
    bytes: usize,
    /// When it was issued (a token is used once, so this is also its last use).
    issued: OffsetDateTime,
    seq: u64,
}

/// What one session owns, indexed so that bounding, listing and ending it never reads
/// another session's objects.
#[derive(Debug, Default)]
struct Owned {
    /// Its views' ids by age.
    views: BTreeMap<u64, String>,
    /// Its filters' ids by age.
    filters: BTreeMap<u64, String>,
    /// Its collectors by id (`propertyCollector` once used).
    collectors: HashMap<String, CollectorRecord>,
    /// Bytes its views and filters hold.
    spec_bytes: usize,
}

impl Owned {
    fn is_empty(&self) -> bool {
        self.views.is_empty() && self.filters.is_empty() && self.collectors.is_empty()
    }
}

#[derive(Debug, Default)]
struct Inner {
    seq: u64,
    tasks: VecDeque<TaskRecord>,
    views: HashMap<String, ViewRecord>,
    filters: HashMap<String, FilterRecord>,
    /// Per filter id, the property values a wait last reported for each object.
    baselines: HashMap<String, Baseline>,
    tokens: HashMap<String, TokenRecord>,
    /// By session.
    owned: HashMap<String, Owned>,
    /// Every session's views and filters by age: (whether a filter, its id).
    specs: BTreeMap<u64, (bool, String)>,
    /// Bytes all views and filters hold.
    spec_bytes: usize,
    /// Collectors in all.
    collectors: usize,
    /// How many sessions the vCenter had ended when dead sessions' objects were last swept.
    swept_at: u64,
    /// Other byte bounds for views and filters than [`SPEC_BYTES_PER_SESSION`] and
    /// [`SPEC_BYTES_IN_ALL`] (tests).
    spec_caps: Option<(usize, usize)>,
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn objects(&self) -> usize {
        self.views.len() + self.collectors + self.filters.len() + self.tokens.len()
    }

    fn owned(&mut self, session: &str) -> &mut Owned {
        if !self.owned.contains_key(session) {
            self.owned.insert(session.to_owned(), Owned::default());
        }
        self.owned.get_mut(session).expect("just made")
    }

    /// Forgets `session`'s index when it owns nothing any more.
    fn prune(&mut self, session: &str) {
        if self.owned.get(session).is_some_and(Owned::is_empty) {
            self.owned.remove(session);
        }
    }

    fn insert_view(&mut self, id: String, v: ViewRecord) {
        let o = self.owned(&v.session);
        o.views.insert(v.seq, id.clone());
        o.spec_bytes += v.bytes;
        self.spec_bytes += v.bytes;
        self.specs.insert(v.seq, (false, id.clone()));
        self.views.insert(id, v);
    }

    fn remove_view(&mut self, id: &str) -> Option<ViewRecord> {
        let v = self.views.remove(id)?;
        if let Some(o) = self.owned.get_mut(&v.session) {
            o.views.remove(&v.seq);
            o.spec_bytes -= v.bytes;
        }
        self.spec_bytes -= v.bytes;
        self.specs.remove(&v.seq);
        self.prune(&v.session);
        Some(v)
    }

    fn insert_filter(&mut self, id: String, f: FilterRecord) {
        let o = self.owned(&f.session);
        o.filters.insert(f.seq, id.clone());
        o.spec_bytes += f.bytes;
        self.spec_bytes += f.bytes;
        self.specs.insert(f.seq, (true, id.clone()));
        self.filters.insert(id, f);
    }

    fn remove_filter(&mut self, id: &str) -> Option<FilterRecord> {
        let f = self.filters.remove(id)?;
        self.baselines.remove(id);
        if let Some(o) = self.owned.get_mut(&f.session) {
            o.filters.remove(&f.seq);
            o.spec_bytes -= f.bytes;
        }
        self.spec_bytes -= f.bytes;
        self.specs.remove(&f.seq);
        self.prune(&f.session);
        Some(f)
    }

    /// Removes a view or a filter by id.
    fn remove_spec(&mut self, filter: bool, id: &str) {
        if filter {
            self.remove_filter(id);
        } else {
            self.remove_view(id);
        }
    }

    /// A collector's state, made on first use.
    fn collector_mut(&mut self, session: &str, id: &str) -> &mut CollectorRecord {
        let seq = self.next();
        self.collector_made_at(session, id, seq)
    }

    /// A collector's state, made with number `seq` if it is new.
    fn collector_made_at(&mut self, session: &str, id: &str, seq: u64) -> &mut CollectorRecord {
        if !self.owned(session).collectors.contains_key(id) {
            self.collectors += 1;
        }
        self.owned(session)
            .collectors
            .entry(id.to_owned())
            .or_insert_with(|| CollectorRecord {
                seq,
                ..CollectorRecord::default()
            })
    }

    /// Removes a collector and its filters; whether it existed.
    fn remove_collector(&mut self, session: &str, id: &str) -> bool {
        let Some(o) = self.owned.get_mut(session) else {
            return false;
        };
        let found = o.collectors.remove(id).is_some();
        if found {
            self.collectors -= 1;
        }
        let ids: Vec<String> = o.filters.values().cloned().collect();
        for f in ids {
            if self.filters.get(&f).is_some_and(|r| r.collector == id) {
                self.remove_filter(&f);
            }
        }
        self.prune(session);
        found
    }

    /// Drops everything `session` owns.
    fn end_session(&mut self, session: &str) {
        if let Some(o) = self.owned.remove(session) {
            for id in o.views.values() {
                self.remove_view(id);
            }
            for id in o.filters.values() {
                self.remove_filter(id);
            }
            self.collectors -= o.collectors.len();
        }
        self.tokens.retain(|_, t| t.session != session);
    }

    /// Makes room for one more view (a filter, with `filter`) of `bytes` for `session`: its
    /// oldest of that kind goes past [`PER_SESSION_CAP`], then the oldest views and filters
    /// past the byte bounds.
    fn make_room(&mut self, session: &str, filter: bool, bytes: usize) {
        while let Some(id) = self.owned.get(session).and_then(|o| {
            let kind = if filter { &o.filters } else { &o.views };
            let full = kind.len() >= PER_SESSION_CAP;
            full.then(|| kind.first_key_value().map(|(_, id)| id.clone()))
                .flatten()
        }) {
            self.remove_spec(filter, &id);
        }
        self.trim_specs(session, bytes);
    }

    /// Drops the oldest views and filters until `bytes` more fit: `session`'s under
    /// [`SPEC_BYTES_PER_SESSION`], then everyone's under [`SPEC_BYTES_IN_ALL`].
    fn trim_specs(&mut self, session: &str, bytes: usize) {
        let (per_session, in_all) = self
            .spec_caps
            .unwrap_or((SPEC_BYTES_PER_SESSION, SPEC_BYTES_IN_ALL));
        while let Some(o) = self.owned.get(session)
            && o.spec_bytes + bytes > per_session
        {
            let view = o.views.first_key_value();
            let filter = o.filters.first_key_value();
            let (is_filter, id) = match (view, filter) {
                (Some(v), Some(f)) if f.0 < v.0 => (true, f.1.clone()),
                (Some(v), _) => (false, v.1.clone()),
                (None, Some(f)) => (true, f.1.clone()),
                (None, None) => break,
            };
            self.remove_spec(is_filter, &id);
        }
        while self.spec_bytes + bytes > in_all {
            let Some((_, (is_filter, id))) = self.specs.first_key_value() else {
                break;
            };
            let (is_filter, id) = (*is_filter, id.clone());
            self.remove_spec(is_filter, &id);
        }
    }

    /// Drops the tokens unused for [`TOKEN_IDLE`].
    fn expire_tokens(&mut self, now: OffsetDateTime) {
        self.tokens.retain(|_, t| now - t.issued < TOKEN_IDLE);
    }

    /// Drops the oldest tokens `owner` picks until they hold fewer than `count` tokens and
    /// `bytes` more would fit under `cap`.
    fn trim_tokens(
        &mut self,
        owner: impl Fn(&TokenRecord) -> bool,
        count: usize,
        bytes: usize,
        cap: usize,
    ) {
        loop {
            let mine = self.tokens.iter().filter(|(_, t)| owner(t));
            let (n, held, oldest) =
                mine.fold((0, 0, None::<(&String, u64)>), |(n, b, o), (k, t)| {
                    let o = match o {
                        Some((_, seq)) if seq <= t.seq => o,
                        _ => Some((k, t.seq)),
                    };
                    (n + 1, b + t.bytes, o)
                });
            if n < count && held + bytes <= cap {
                return;
            }
            let Some((k, _)) = oldest else { return };
            let k = k.clone();
            self.tokens.remove(&k);
        }
    }
}

/// The `/sdk` side state of one vCenter (replaced with it on reset).
#[derive(Debug, Default)]
pub struct Store {
    inner: Mutex<Inner>,
    /// The datacenter's name, from the fixture.
    datacenter: Option<String>,
    /// Where the changes a property filter could see are counted: tasks, views, filters and
    /// collectors made or ended (the model counts its own in the same place).
    changes: Arc<Changes>,
}

impl Store {
    /// An empty store for a vCenter built from `fixture` (its datacenter name), counting its
    /// changes in `changes`.
    pub fn for_fixture(fixture: &crate::fixtures::Fixture, changes: Arc<Changes>) -> Self {
        Self {
            datacenter: fixture.datacenter.clone(),
            changes,
            ..Self::default()
        }
    }

    /// Runs `f` on the locked state, then counts a change when it says it made one (after the
    /// lock is released, so that whoever is told can read the store).
    fn change<R>(&self, f: impl FnOnce(&mut Inner) -> (R, bool)) -> R {
        let (r, changed) = f(&mut self.lock());
        if changed {
            self.changes.bump();
        }
        r
    }

    /// The datacenter's name: the fixture's, or `DC0`.
    pub fn datacenter(&self) -> &str {
        self.datacenter.as_deref().unwrap_or("DC0")
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a finished task and returns its id.
    pub fn add_task(&self, make: impl FnOnce(String, i32) -> TaskRecord) -> String {
        self.change(|g| {
            let n = g.next();
            let id = format!("task-{n}");
            let chain = i32::try_from(n % i32::MAX as u64).unwrap_or(0);
            g.tasks.push_back(make(id.clone(), chain));
            while g.tasks.len() > TASK_CAP {
                g.tasks.pop_front();
            }
            (id, true)
        })
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Option<TaskRecord> {
        self.lock().tasks.iter().find(|t| t.id == id).cloned()
    }

    /// The newest tasks, oldest first (`TaskManager.recentTask`).
    pub fn recent_tasks(&self, n: usize) -> Vec<String> {
        let g = self.lock();
        let skip = g.tasks.len().saturating_sub(n);
        g.tasks.iter().skip(skip).map(|t| t.id.clone()).collect()
    }

    /// Creates a container view for `session`. Its oldest view makes room past
    /// [`PER_SESSION_CAP`], and its oldest views and filters past the byte bounds.
    pub fn add_view(
        &self,
        session: &str,
        container: MoRef,
        types: Vec<String>,
        recursive: bool,
    ) -> String {
        let bytes = 64 + container.value.len() + types.iter().map(|t| 24 + t.len()).sum::<usize>();
        self.change(|g| {
            let seq = g.next();
            g.make_room(session, false, bytes);
            let id = format!("session-view-{seq}");
            g.insert_view(
                id.clone(),
                ViewRecord {
                    session: session.to_owned(),
                    container,
                    types,
                    recursive,
                    bytes,
                    seq,
                },
            );
            (id, true)
        })
    }

    /// A view `session` owns.
    pub fn view(&self, session: &str, id: &str) -> Option<ViewRecord> {
        self.lock()
            .views
            .get(id)
            .filter(|v| v.session == session)
            .cloned()
    }

    /// The views `session` owns, oldest first.
    pub fn views_of(&self, session: &str) -> Vec<String> {
        let g = self.lock();
        g.owned
            .get(session)
            .map(|o| o.views.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Destroys a view; false when `session` has no such view.
    pub fn remove_view(&self, session: &str, id: &str) -> bool {
        self.change(|g| {
            let found = g.views.get(id).is_some_and(|v| v.session == session);
            if found {
                g.remove_view(id);
            }
            (found, found)
        })
    }

    /// Creates an extra property collector for `session` (its oldest extra one makes room
    /// past [`PER_SESSION_CAP`]).
    pub fn add_collector(&self, session: &str) -> String {
        self.change(|g| {
            let oldest = g.owned.get(session).and_then(|o| {
                let extras = o
                    .collectors
                    .iter()
                    .filter(|(k, _)| *k != "propertyCollector");
                if extras.clone().count() < PER_SESSION_CAP {
                    return None;
                }
                extras.min_by_key(|(_, c)| c.seq).map(|(k, _)| k.clone())
            });
            if let Some(oldest) = oldest {
                g.remove_collector(session, &oldest);
            }
            let seq = g.next();
            let id = format!("session-collector-{seq}");
            g.collector_made_at(session, &id, seq);
            (id, true)
        })
    }

    /// Whether `id` is a collector `session` may use (`propertyCollector` always is).
    pub fn has_collector(&self, session: &str, id: &str) -> bool {
        id == "propertyCollector"
            || self
                .lock()
                .owned
                .get(session)
                .is_some_and(|o| o.collectors.contains_key(id))
    }

    /// Destroys an extra collector and its filters.
    pub fn remove_collector(&self, session: &str, id: &str) -> bool {
        self.change(|g| (g.remove_collector(session, id), true))
    }

    /// Reads (and creates on first use) a collector's state.
    pub fn collector<R>(
        &self,
        session: &str,
        id: &str,
        f: impl FnOnce(&mut CollectorRecord) -> R,
    ) -> R {
        f(self.lock().collector_mut(session, id))
    }

    /// `CancelWaitForUpdates`: the collector's wait in progress ends with `RequestCanceled`
    /// (its waiter is woken to notice).
    pub fn cancel_wait(&self, session: &str, id: &str) {
        self.collector(session, id, |c| c.cancelled = true);
        self.changes.wake();
    }

    /// Makes the caller the collector's one blocked wait and returns its number; a wait that
    /// blocked on it before is woken and, seeing [`Wait::Superseded`], ends (vim25: concurrent
    /// waits on a collector "may cause suspended change calculations to be discarded").
    pub fn claim_wait(&self, session: &str, id: &str) -> u64 {
        let n = {
            let mut g = self.lock();
            let n = g.next();
            g.collector_mut(session, id).waiter = n;
            n
        };
        self.changes.wake();
        n
    }

    /// Where blocked wait `n` on a collector stands.
    pub fn wait_state(&self, session: &str, id: &str, n: u64) -> Wait {
        match self
            .lock()
            .owned
            .get(session)
            .and_then(|o| o.collectors.get(id))
        {
            None => Wait::Gone,
            Some(c) if c.waiter != n => Wait::Superseded,
            Some(c) if c.cancelled => Wait::Cancelled,
            Some(_) => Wait::Waiting,
        }
    }

    /// Creates a filter on `collector` for `session`. Its oldest filter makes room past
    /// [`PER_SESSION_CAP`], and its oldest views and filters past the byte bounds.
    pub fn add_filter(
        &self,
        session: &str,
        collector: &str,
        spec: FilterSpec,
        partial_updates: bool,
    ) -> String {
        let bytes = super::retrieve::spec_bytes(&spec);
        self.change(|g| {
            let seq = g.next();
            g.make_room(session, true, bytes);
            let id = format!("session-filter-{seq}");
            g.insert_filter(
                id.clone(),
                FilterRecord {
                    session: session.to_owned(),
                    collector: collector.to_owned(),
                    spec: Arc::new(spec),
                    partial_updates,
                    bytes,
                    seq,
                },
            );
            (id, true)
        })
    }

    /// A filter `session` owns.
    pub fn filter(&self, session: &str, id: &str) -> Option<FilterRecord> {
        self.lock()
            .filters
            .get(id)
            .filter(|f| f.session == session)
            .cloned()
    }

    /// The filters of one collector, oldest first: their ids and specs.
    pub fn filters_of(&self, session: &str, collector: &str) -> Vec<(String, Arc<FilterSpec>)> {
        let g = self.lock();
        let Some(o) = g.owned.get(session) else {
            return Vec::new();
        };
        o.filters
            .values()
            .filter_map(|id| g.filters.get(id).map(|f| (id, f)))
            .filter(|(_, f)| f.collector == collector)
            .map(|(id, f)| (id.clone(), f.spec.clone()))
            .collect()
    }

    /// Runs `f` on a filter's baseline (empty until a wait reports something), under the
    /// store's lock; `None` when the filter is gone.
    pub fn with_baseline<R>(&self, id: &str, f: impl FnOnce(&mut Baseline) -> R) -> Option<R> {
        let mut g = self.lock();
        if !g.filters.contains_key(id) {
            return None;
        }
        Some(f(g.baselines.entry(id.to_owned()).or_default()))
    }

    /// Destroys a filter.
    pub fn remove_filter(&self, session: &str, id: &str) -> bool {
        self.change(|g| {
            let found = g.filters.get(id).is_some_and(|f| f.session == session);
            if found {
                g.remove_filter(id);
            }
            (found, found)
        })
    }

    /// Keeps the rest of a paged retrieval, and its page size, under a new token. The
    /// session's oldest tokens, then anyone's, make room (see [`TOKEN_CAP`] and
    /// [`TOKEN_BYTES_PER_SESSION`]); a rest larger than one session may keep is refused.
    pub fn add_token(
        &self,
        session: &str,
        page: usize,
        rest: Plan,
        now: OffsetDateTime,
    ) -> Result<String, Fault> {
        let bytes = rest.held_bytes();
        if bytes > TOKEN_BYTES_PER_SESSION {
            return Err(Fault::RetrievalTooLarge {
                what: "bytes kept for its continuation",
                limit: TOKEN_BYTES_PER_SESSION as u64,
            });
        }
        let mut g = self.lock();
        g.expire_tokens(now);
        g.trim_tokens(
            |t| t.session == session,
            TOKEN_CAP,
            bytes,
            TOKEN_BYTES_PER_SESSION,
        );
        g.trim_tokens(|_| true, TOKENS_IN_ALL, bytes, TOKEN_BYTES_IN_ALL);
        let seq = g.next();
        let id = format!("{seq}");
        g.tokens.insert(
            id.clone(),
            TokenRecord {
                session: session.to_owned(),
                page,
                rest,
                bytes,
                issued: now,
                seq,
            },
        );
        Ok(id)
    }

    /// Takes the rest of a paged retrieval, with its page size; `None` when `session` has no
    /// such token (never issued, used, dropped for room, or idle too long).
    pub fn take_token(
        &self,
        session: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Option<(usize, Plan)> {
        let mut g = self.lock();
        g.expire_tokens(now);
        if g.tokens.get(token).is_some_and(|t| t.session == session) {
            g.tokens.remove(token).map(|t| (t.page, t.rest))
        } else {
            None
        }
    }

    /// How many bytes the tokens hold: `session`'s, and everyone's.
    #[cfg(test)]
    pub fn token_bytes(&self, session: &str) -> (usize, usize) {
        let g = self.lock();
        g.tokens.values().fold((0, 0), |(mine, all), t| {
            let m = if t.session == session { t.bytes } else { 0 };
            (mine + m, all + t.bytes)
        })
    }

    /// Drops everything `session` owns (logout).
    pub fn end_session(&self, session: &str) {
        self.change(|g| {
            g.end_session(session);
            ((), true)
        });
    }

    /// Whether a sweep of dead sessions' objects would pay for itself, now that the vCenter
    /// has ended `ended` sessions in all: the store is large, and enough sessions ended since
    /// the last sweep to have held a share of its objects (each can hold at most
    /// [`OBJECTS_PER_SESSION`]), so that a pass over every object costs a bounded amount per
    /// session ended. While live sessions hold the objects, no request pays for a sweep.
    pub fn sweep_due(&self, ended: u64) -> bool {
        let g = self.lock();
        let objects = g.objects();
        let since = usize::try_from(ended.saturating_sub(g.swept_at)).unwrap_or(usize::MAX);
        objects >= SWEEP_AT && since.saturating_mul(OBJECTS_PER_SESSION) >= objects
    }

    /// Drops the objects of sessions that `alive` says are gone, when [`Store::sweep_due`]
    /// says so for `ended`.
    pub fn sweep(&self, ended: u64, alive: impl Fn(&str) -> bool) {
        if !self.sweep_due(ended) {
            return;
        }
        self.change(|g| {
            g.swept_at = ended;
            let dead: Vec<String> = g.owned.keys().filter(|s| !alive(s)).cloned().collect();
            for session in &dead {
                g.end_session(session);
            }
            g.tokens.retain(|_, t| alive(&t.session));
            ((), true)
        });
    }

    /// How many session objects exist.
    #[cfg(test)]
    pub fn object_count(&self) -> usize {
        self.lock().objects()
    }

    /// How many bytes the views and filters hold: `session`'s, and everyone's.
    #[cfg(test)]
    pub fn spec_bytes(&self, session: &str) -> (usize, usize) {
        let g = self.lock();
        let views = g.views.values().map(|v| (&v.session, v.bytes));
        let filters = g.filters.values().map(|f| (&f.session, f.bytes));
        let counted = views.chain(filters).fold((0, 0), |(mine, all), (s, b)| {
            (mine + if s == session { b } else { 0 }, all + b)
        });
        let kept = g.owned.get(session).map_or(0, |o| o.spec_bytes);
        assert_eq!(
            counted,
            (kept, g.spec_bytes),
            "the index agrees with the records"
        );
        counted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_sees_only_its_own_views_and_loses_them_at_logout() {
        let s = Store::default();
        let v = s.add_view("a", MoRef::new("Folder", "group-d1"), vec![], true);
        assert!(s.view("a", &v).is_some());
        assert!(s.view("b", &v).is_none());
        assert!(!s.remove_view("b", &v));
        s.end_session("a");
        assert!(s.view("a", &v).is_none());
    }

    /// A real retrieval's plan: vm-1001, for a specSet asking `paths` property paths (so that
    /// the plan holds about 30 bytes a path).
    fn plan(paths: usize) -> Plan {
        let vc =
            crate::fixtures::Fixture::shared_default().build(crate::model::Limits::default(), T0);
        let store = Store::default();
        let cfg = crate::soap::inventory::Config::default();
        let w = crate::soap::inventory::World::new(&vc, &store, None, &cfg, T0);
        let mut spec = plan_spec();
        spec.props[0].paths = (0..paths).map(|i| format!("p{i:07}")).collect();
        Plan::new(&w, vec![spec]).unwrap()
    }

    const T0: OffsetDateTime = crate::clock::DEFAULT_MANUAL_START;

    #[test]
    fn a_session_holds_at_most_its_cap_of_views_and_tokens() {
        let s = Store::default();
        let first = s.add_view("a", MoRef::new("Folder", "group-d1"), vec![], true);
        for _ in 0..PER_SESSION_CAP + 10 {
            s.add_view("a", MoRef::new("Folder", "group-d1"), vec![], true);
        }
        assert_eq!(s.views_of("a").len(), PER_SESSION_CAP);
        assert!(s.view("a", &first).is_none());
        let p = plan(1);
        for _ in 0..TOKEN_CAP * 3 {
            s.add_token("a", 1, p.clone(), T0).unwrap();
        }
        assert_eq!(s.object_count(), PER_SESSION_CAP + TOKEN_CAP);
    }

    #[test]
    fn tokens_are_bounded_in_all_whatever_the_number_of_sessions() {
        let s = Store::default();
        let p = plan(1);
        for i in 0..TOKENS_IN_ALL * 2 {
            s.add_token(&format!("s{i}"), 1, p.clone(), T0).unwrap();
        }
        assert_eq!(s.object_count(), TOKENS_IN_ALL);
    }

    /// A filter spec on vm-1001 asking `paths` property paths.
    fn filter_spec(paths: usize) -> FilterSpec {
        let mut spec = plan_spec();
        spec.props[0].paths = (0..paths).map(|i| format!("p{i:07}")).collect();
        spec
    }

    #[test]
    fn the_bytes_views_and_filters_hold_stay_within_the_session_and_global_bounds() {
        let s = Store::default();
        let spec = filter_spec(1000);
        let size = crate::soap::retrieve::spec_bytes(&spec);
        // Bounds of ten filters a session and forty in all.
        s.lock().spec_caps = Some((10 * size, 40 * size));
        let first = s.add_filter("a", "propertyCollector", spec.clone(), false);
        let view = s.add_view(
            "a",
            MoRef::new("Folder", "group-d1"),
            vec!["VirtualMachine".into()],
            true,
        );
        for _ in 0..20 {
            s.add_filter("a", "propertyCollector", spec.clone(), false);
        }
        let (mine, all) = s.spec_bytes("a");
        assert!(mine <= 10 * size && mine > 9 * size, "{mine}");
        assert_eq!(mine, all);
        let kept = s.filters_of("a", "propertyCollector");
        assert!(
            kept.iter().all(|(id, _)| *id != first),
            "the oldest made room"
        );
        assert!(s.view("a", &view).is_none(), "views count too");
        for i in 0..10 {
            for _ in 0..10 {
                s.add_filter(&format!("s{i}"), "propertyCollector", spec.clone(), false);
            }
        }
        let (mine, all) = s.spec_bytes("a");
        assert!(all <= 40 * size && all > 39 * size, "{all}");
        assert_eq!(mine, 0, "session a's filters were the oldest");
    }

    #[test]
    fn dead_sessions_objects_are_swept_only_once_enough_sessions_ended_to_pay_for_it() {
        let s = Store::default();
        // SWEEP_AT views held by sessions that stay alive: no session ended, no sweep.
        let per = PER_SESSION_CAP;
        let sessions = SWEEP_AT.div_ceil(per);
        for i in 0..sessions {
            for _ in 0..per {
                s.add_view(
                    &format!("s{i}"),
                    MoRef::new("Folder", "group-d1"),
                    vec![],
                    true,
                );
            }
        }
        let objects = s.object_count();
        assert!(objects >= SWEEP_AT);
        assert!(!s.sweep_due(0), "live sessions hold everything");
        // One session ended: a pass over every object would cost more than it can hold.
        assert!(!s.sweep_due(1));
        let enough = objects.div_ceil(OBJECTS_PER_SESSION) as u64;
        assert!(s.sweep_due(enough));
        s.sweep(enough, |id| id != "s0");
        assert_eq!(s.object_count(), objects - per, "s0's views went");
        assert!(!s.sweep_due(enough), "nothing ended since");
    }

    #[test]
    fn a_token_is_used_once_and_only_by_its_session() {
        let s = Store::default();
        let t = s.add_token("a", 1, plan(1), T0).unwrap();
        assert!(s.take_token("b", &t, T0).is_none());
        assert!(s.take_token("a", &t, T0).is_some());
        assert!(s.take_token("a", &t, T0).is_none());
    }

    #[test]
    fn the_bytes_tokens_hold_stay_within_the_session_and_global_bounds() {
        let s = Store::default();
        // About 3 MiB each: five fit in one session, the sixth pushes the oldest out.
        let big = plan(100_000);
        let size = big.held_bytes();
        assert!(
            size > 2 << 20 && size < TOKEN_BYTES_PER_SESSION / 5,
            "{size}"
        );
        let first = s.add_token("a", 1, big.clone(), T0).unwrap();
        for _ in 0..TOKEN_BYTES_PER_SESSION / size {
            s.add_token("a", 1, big.clone(), T0).unwrap();
        }
        let (mine, all) = s.token_bytes("a");
        assert!(mine <= TOKEN_BYTES_PER_SESSION && mine > TOKEN_BYTES_PER_SESSION - size);
        assert_eq!(mine, all);
        assert!(
            s.take_token("a", &first, T0).is_none(),
            "the oldest made room"
        );
        // Other sessions fill the global bound; it holds, and the oldest tokens go first.
        for i in 0..2 * TOKEN_BYTES_IN_ALL / size {
            s.add_token(&format!("s{i}"), 1, big.clone(), T0).unwrap();
        }
        let (mine, all) = s.token_bytes("a");
        assert!(
            all <= TOKEN_BYTES_IN_ALL && all > TOKEN_BYTES_IN_ALL - size,
            "{all}"
        );
        assert_eq!(mine, 0, "session a's tokens were the oldest");
    }

    #[test]
    fn a_rest_larger_than_one_session_may_keep_is_refused_and_nothing_is_kept() {
        let s = Store::default();
        let huge = plan(TOKEN_BYTES_PER_SESSION / 24);
        assert!(huge.held_bytes() > TOKEN_BYTES_PER_SESSION);
        assert!(matches!(
            s.add_token("a", 1, huge, T0),
            Err(Fault::RetrievalTooLarge { .. })
        ));
        assert_eq!(s.token_bytes("a"), (0, 0));
    }

    #[test]
    fn a_token_unused_for_the_idle_time_is_gone() {
        let s = Store::default();
        let old = s.add_token("a", 1, plan(1), T0).unwrap();
        let fresh = s.add_token("a", 1, plan(1), T0 + TOKEN_IDLE / 2).unwrap();
        let later = T0 + TOKEN_IDLE;
        assert!(s.take_token("a", &old, later).is_none());
        assert!(s.take_token("a", &fresh, later).is_some());
        assert_eq!(s.token_bytes("a"), (0, 0));
    }

    #[test]
    fn what_a_filter_could_see_moves_the_generation_and_a_wait_s_bookkeeping_does_not() {
        let changes = Arc::new(Changes::default());
        let s = Store::for_fixture(&crate::fixtures::Fixture::default(), changes.clone());
        let spec = plan_spec();
        let mut last = changes.generation();
        let mut moved = |what: &str, expected: bool| {
            let now = changes.generation();
            assert_eq!(now != last, expected, "{what}");
            last = now;
        };
        let f = s.add_filter("a", "propertyCollector", spec, false);
        moved("a filter made", true);
        s.with_baseline(&f, |b| {
            b.insert(MoRef::new("Folder", "group-d1"), Default::default())
        });
        s.collector("a", "propertyCollector", |c| c.version += 1);
        s.claim_wait("a", "propertyCollector");
        s.add_token("a", 1, plan(1), T0).unwrap();
        moved("baselines, versions, waits and tokens", false);
        let c = s.add_collector("a");
        moved("a collector made", true);
        let v = s.add_view("a", MoRef::new("Folder", "group-d1"), vec![], true);
        moved("a view made", true);
        assert!(!s.remove_view("b", &v));
        moved("another session's view is not removed", false);
        assert!(s.remove_view("a", &v));
        moved("a view ended", true);
        s.remove_collector("a", &c);
        moved("a collector ended", true);
        assert!(s.remove_filter("a", &f));
        moved("a filter ended", true);
        assert!(
            s.with_baseline(&f, |_| ()).is_none(),
            "its baseline went with it"
        );
        s.end_session("a");
        moved("a session's objects ended", true);
    }

    #[test]
    fn a_later_wait_supersedes_a_blocked_one_and_a_cancel_or_the_collector_s_end_stops_it() {
        let s = Store::default();
        let first = s.claim_wait("a", "propertyCollector");
        assert_eq!(s.wait_state("a", "propertyCollector", first), Wait::Waiting);
        let second = s.claim_wait("a", "propertyCollector");
        assert_eq!(
            s.wait_state("a", "propertyCollector", first),
            Wait::Superseded
        );
        s.cancel_wait("a", "propertyCollector");
        assert_eq!(
            s.wait_state("a", "propertyCollector", second),
            Wait::Cancelled
        );
        let c = s.add_collector("a");
        let third = s.claim_wait("a", &c);
        assert_eq!(s.wait_state("a", &c, third), Wait::Waiting);
        assert_eq!(
            s.wait_state("b", &c, third),
            Wait::Gone,
            "another session's"
        );
        s.remove_collector("a", &c);
        assert_eq!(s.wait_state("a", &c, third), Wait::Gone);
        assert!(!s.has_collector("a", &c), "a wait does not bring it back");
    }

    fn plan_spec() -> FilterSpec {
        use crate::soap::xml::{Bounds, parse};
        let xml = r#"<spec><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1001</obj></objectSet></spec>"#;
        crate::soap::collector::parse_filter_spec(
            &parse(xml.as_bytes(), Bounds::default()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_task_table_is_bounded() {
        let s = Store::default();
        let t = time::OffsetDateTime::UNIX_EPOCH;
        let mk = |id: String, chain: i32| TaskRecord {
            id,
            method: "PowerOnVM_Task",
            description_id: "VirtualMachine.powerOn",
            entity: MoRef::new("VirtualMachine", "vm-1"),
            entity_name: "x".into(),
            error: None,
            result: None,
            user: "u".into(),
            time: t,
            chain,
        };
        let first = s.add_task(mk);
        for _ in 0..TASK_CAP {
            s.add_task(mk);
        }
        assert!(s.task(&first).is_none());
        assert_eq!(s.recent_tasks(usize::MAX).len(), TASK_CAP);
    }
}
