//! Owns the state `/sdk` keeps beside the model: the bounded task table, and the per-session
//! objects (container views, extra property collectors, property filters with their update
//! baselines, and `RetrievePropertiesEx` continuation tokens, bounded in number and bytes and
//! ended when idle). Everything a session owns ends with it.

use std::collections::{HashMap, VecDeque};
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

#[derive(Debug, Default)]
struct Inner {
    seq: u64,
    tasks: VecDeque<TaskRecord>,
    views: HashMap<String, ViewRecord>,
    /// By (session, collector id).
    collectors: HashMap<(String, String), CollectorRecord>,
    filters: HashMap<String, FilterRecord>,
    /// Per filter id, the property values a wait last reported for each object.
    baselines: HashMap<String, Baseline>,
    tokens: HashMap<String, TokenRecord>,
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn objects(&self) -> usize {
        self.views.len() + self.collectors.len() + self.filters.len() + self.tokens.len()
    }

    /// Drops the baselines of filters that are gone.
    fn forget_baselines(&mut self) {
        let filters = &self.filters;
        self.baselines.retain(|id, _| filters.contains_key(id));
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

/// Drops the oldest entry of `session` from `map` when it holds `cap` already.
fn make_room<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    owner: impl Fn(&K, &V) -> bool,
    seq: impl Fn(&V) -> u64,
) {
    let mine: Vec<(&K, u64)> = map
        .iter()
        .filter(|(k, v)| owner(k, v))
        .map(|(k, v)| (k, seq(v)))
        .collect();
    if mine.len() >= cap
        && let Some((k, _)) = mine.iter().min_by_key(|(_, s)| *s)
    {
        let k = (*k).clone();
        map.remove(&k);
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

    /// Creates a container view for `session`.
    pub fn add_view(
        &self,
        session: &str,
        container: MoRef,
        types: Vec<String>,
        recursive: bool,
    ) -> String {
        self.change(|g| {
            let seq = g.next();
            make_room(
                &mut g.views,
                PER_SESSION_CAP,
                |_, v| v.session == session,
                |v| v.seq,
            );
            let id = format!("session-view-{seq}");
            g.views.insert(
                id.clone(),
                ViewRecord {
                    session: session.to_owned(),
                    container,
                    types,
                    recursive,
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

    /// The views `session` owns.
    pub fn views_of(&self, session: &str) -> Vec<String> {
        let g = self.lock();
        let mut v: Vec<(u64, String)> = g
            .views
            .iter()
            .filter(|(_, v)| v.session == session)
            .map(|(k, v)| (v.seq, k.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, k)| k).collect()
    }

    /// Destroys a view; false when `session` has no such view.
    pub fn remove_view(&self, session: &str, id: &str) -> bool {
        self.change(|g| {
            let found = g.views.get(id).is_some_and(|v| v.session == session);
            if found {
                g.views.remove(id);
            }
            (found, found)
        })
    }

    /// Creates an extra property collector for `session`.
    pub fn add_collector(&self, session: &str) -> String {
        self.change(|g| {
            let seq = g.next();
            make_room(
                &mut g.collectors,
                PER_SESSION_CAP,
                |k, _| k.0 == session && k.1 != "propertyCollector",
                |c| c.seq,
            );
            let id = format!("session-collector-{seq}");
            g.collectors.insert(
                (session.to_owned(), id.clone()),
                CollectorRecord {
                    seq,
                    ..CollectorRecord::default()
                },
            );
            (id, true)
        })
    }

    /// Whether `id` is a collector `session` may use (`propertyCollector` always is).
    pub fn has_collector(&self, session: &str, id: &str) -> bool {
        id == "propertyCollector"
            || self
                .lock()
                .collectors
                .contains_key(&(session.to_owned(), id.to_owned()))
    }

    /// Destroys an extra collector and its filters.
    pub fn remove_collector(&self, session: &str, id: &str) -> bool {
        self.change(|g| {
            let found = g
                .collectors
                .remove(&(session.to_owned(), id.to_owned()))
                .is_some();
            g.filters
                .retain(|_, f| !(f.session == session && f.collector == id));
            g.forget_baselines();
            (found, true)
        })
    }

    /// Reads (and creates on first use) a collector's state.
    pub fn collector<R>(
        &self,
        session: &str,
        id: &str,
        f: impl FnOnce(&mut CollectorRecord) -> R,
    ) -> R {
        let mut g = self.lock();
        let seq = g.next();
        let c = g
            .collectors
            .entry((session.to_owned(), id.to_owned()))
            .or_insert_with(|| CollectorRecord {
                seq,
                ..CollectorRecord::default()
            });
        f(c)
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
            g.collectors
                .entry((session.to_owned(), id.to_owned()))
                .or_insert_with(|| CollectorRecord {
                    seq: n,
                    ..CollectorRecord::default()
                })
                .waiter = n;
            n
        };
        self.changes.wake();
        n
    }

    /// Where blocked wait `n` on a collector stands.
    pub fn wait_state(&self, session: &str, id: &str, n: u64) -> Wait {
        match self
            .lock()
            .collectors
            .get(&(session.to_owned(), id.to_owned()))
        {
            None => Wait::Gone,
            Some(c) if c.waiter != n => Wait::Superseded,
            Some(c) if c.cancelled => Wait::Cancelled,
            Some(_) => Wait::Waiting,
        }
    }

    /// Creates a filter on `collector` for `session`.
    pub fn add_filter(
        &self,
        session: &str,
        collector: &str,
        spec: FilterSpec,
        partial_updates: bool,
    ) -> String {
        self.change(|g| {
            let seq = g.next();
            make_room(
                &mut g.filters,
                PER_SESSION_CAP,
                |_, f| f.session == session,
                |f| f.seq,
            );
            g.forget_baselines();
            let id = format!("session-filter-{seq}");
            g.filters.insert(
                id.clone(),
                FilterRecord {
                    session: session.to_owned(),
                    collector: collector.to_owned(),
                    spec: Arc::new(spec),
                    partial_updates,
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
        let mut v: Vec<(u64, String, Arc<FilterSpec>)> = g
            .filters
            .iter()
            .filter(|(_, f)| f.session == session && f.collector == collector)
            .map(|(k, f)| (f.seq, k.clone(), f.spec.clone()))
            .collect();
        v.sort_by_key(|(seq, _, _)| *seq);
        v.into_iter().map(|(_, k, spec)| (k, spec)).collect()
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
                g.filters.remove(id);
                g.baselines.remove(id);
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
            g.views.retain(|_, v| v.session != session);
            g.collectors.retain(|k, _| k.0 != session);
            g.filters.retain(|_, f| f.session != session);
            g.forget_baselines();
            g.tokens.retain(|_, t| t.session != session);
            ((), true)
        });
    }

    /// Drops the objects of sessions that `alive` says are gone, once the store is large.
    pub fn sweep(&self, alive: impl Fn(&str) -> bool) {
        self.change(|g| {
            if g.objects() < SWEEP_AT {
                return ((), false);
            }
            g.views.retain(|_, v| alive(&v.session));
            g.collectors.retain(|k, _| alive(&k.0));
            g.filters.retain(|_, f| alive(&f.session));
            g.forget_baselines();
            g.tokens.retain(|_, t| alive(&t.session));
            ((), true)
        });
    }

    /// How many session objects exist (for the sweep's trigger).
    pub fn object_count(&self) -> usize {
        self.lock().objects()
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
        use crate::soap::xml::{Bounds, parse};
        let vc =
            crate::fixtures::Fixture::shared_default().build(crate::model::Limits::default(), T0);
        let store = Store::default();
        let cfg = crate::soap::inventory::Config::default();
        let w = crate::soap::inventory::World::new(&vc, &store, None, &cfg, T0);
        let xml = r#"<specSet><propSet><type>VirtualMachine</type></propSet><objectSet><obj type="VirtualMachine">vm-1001</obj></objectSet></specSet>"#;
        let mut spec = crate::soap::collector::parse_filter_spec(
            &parse(xml.as_bytes(), Bounds::default()).unwrap(),
        )
        .unwrap();
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
