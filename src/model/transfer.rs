//! Owns guest file transfers: issuing single-use 10-minute tokens, redeeming them atomically,
//! revoking them per VM, and keeping the table bounded.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use super::fault::{Fault, Refusal};
use super::guest_fs::{AttrUpdate, GuestPath};

/// How long a transfer URL stays valid: 10 minutes, as documented for `Transfers.create`.
/// A URL is valid while `now < issued + TRANSFER_LIFETIME` and invalid from that instant on.
pub const TRANSFER_LIFETIME: Duration = Duration::from_secs(600);

/// Which way the bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direction {
    /// Out of the guest (`GET /guestFile`).
    Download,
    /// Into the guest (`PUT /guestFile`).
    Upload(UploadSpec),
}

/// What an upload declared at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// Exact body length required.
    pub size: u64,
    /// Whether an existing file may be replaced.
    pub overwrite: bool,
    /// Attributes to apply when the file lands.
    pub attrs: AttrUpdate,
}

/// The HTTP method a `/guestFile` request used, in model words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeem {
    /// GET: a download.
    Get,
    /// PUT: an upload.
    Put,
}

/// Where a transfer is in its life.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum TransferState {
    /// Issued and not yet used.
    Issued,
    /// A request is streaming it now.
    InFlight,
    /// Used successfully.
    Redeemed,
    /// Ten minutes passed.
    Expired,
    /// Revoked; the reason says why (power off, suspend, reset, unregister, migrate).
    Revoked(String),
}

/// A cancellation flag shared between the model and a streaming request: set when the
/// transfer is revoked mid-flight.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Whether the transfer was revoked.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// One transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    /// The URL's `id`.
    pub id: u64,
    token: String,
    /// The VM.
    pub vm: String,
    /// The guest path.
    pub path: GuestPath,
    /// The guest user who asked for it.
    pub user: String,
    /// Download or upload.
    pub direction: Direction,
    /// When issued.
    pub created: OffsetDateTime,
    /// When it stops being valid.
    pub expires: OffsetDateTime,
    /// Its state.
    pub state: TransferState,
    /// When it was redeemed, expired or revoked.
    pub ended: Option<OffsetDateTime>,
    cancel: Cancel,
}

impl Transfer {
    /// The cancellation flag of an in-flight request.
    pub fn cancel(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The URL token.
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// All transfers: live ones indexed by id and by VM, plus a bounded history of ended ones.
#[derive(Debug)]
pub struct TransferTable {
    next_id: u64,
    live: HashMap<u64, Transfer>,
    by_vm: HashMap<String, BTreeSet<u64>>,
    /// The paths transfers in flight hold, by VM: what the busy check of every changing guest
    /// operation reads, so it costs O(transfers in flight on that VM), not O(live URLs).
    in_flight: HashMap<String, HashMap<u64, GuestPath>>,
    /// Live ids in issue order, for sweeping expired ones.
    order: VecDeque<u64>,
    /// Ended transfers by id (a refused URL is told why in O(1)), and their ids in the order
    /// they ended, for keeping the history to its cap.
    ended: HashMap<u64, Transfer>,
    history: VecDeque<u64>,
    history_cap: usize,
    live_cap: usize,
    /// Most bytes the live transfers hold in all, and what they hold now.
    byte_cap: usize,
    live_bytes: usize,
}

/// The smallest id from `n` up whose decimal form has no `443` in it. Transfer ids go into
/// `/guestFile` URLs, and Ansible's `vmware_guest_file_operation` replaces every `443` in a URL
/// with its own port, so an id holding one would reach the wrong transfer.
pub fn url_safe_id(mut n: u64) -> u64 {
    loop {
        let text = n.to_string();
        let Some(at) = text.find("443") else {
            return n;
        };
        // Step past every number sharing the digits up to that `3`: "…443xyz" goes to "…444000".
        let unit = 10u64.pow((text.len() - at - 3) as u32);
        n = (n / unit + 1) * unit;
    }
}

/// What one transfer holds in memory, roughly: its texts and a fixed overhead.
fn footprint(t: &Transfer) -> usize {
    t.token.len() + t.vm.len() + t.user.len() + t.path.footprint() + 256
}

impl TransferTable {
    /// An empty table keeping at most `live_cap` unused tokens and `history_cap` ended ones.
    pub fn new(live_cap: usize, history_cap: usize) -> Self {
        Self {
            next_id: 1,
            live: HashMap::new(),
            by_vm: HashMap::new(),
            in_flight: HashMap::new(),
            order: VecDeque::new(),
            ended: HashMap::new(),
            history: VecDeque::new(),
            history_cap,
            live_cap: live_cap.max(1),
            byte_cap: usize::MAX,
            live_bytes: 0,
        }
    }

    /// This table, keeping the live transfers within `bytes` in all.
    pub fn with_byte_cap(mut self, bytes: usize) -> Self {
        self.byte_cap = bytes;
        self
    }

    /// Issues a transfer and returns its id.
    pub fn issue(
        &mut self,
        token: String,
        vm: &str,
        path: GuestPath,
        user: &str,
        direction: Direction,
        now: OffsetDateTime,
    ) -> u64 {
        self.sweep(now);
        let cost = token.len() + vm.len() + user.len() + path.footprint() + 256;
        // At either cap the oldest unused token goes; a transfer in flight is never cut off here.
        while self.live.len() >= self.live_cap || self.live_bytes + cost > self.byte_cap {
            let live = &self.live;
            let Some(pos) = self.order.iter().position(|id| {
                live.get(id)
                    .is_some_and(|t| t.state == TransferState::Issued)
            }) else {
                break;
            };
            let old = self.order.remove(pos).expect("position is in range");
            self.end(old, TransferState::Expired, now);
        }
        let id = self.next_id;
        self.next_id = url_safe_id(id + 1);
        self.live.insert(
            id,
            Transfer {
                id,
                token,
                vm: vm.to_owned(),
                path,
                user: user.to_owned(),
                direction,
                created: now,
                expires: now + TRANSFER_LIFETIME,
                state: TransferState::Issued,
                ended: None,
                cancel: Cancel::default(),
            },
        );
        self.by_vm.entry(vm.to_owned()).or_default().insert(id);
        self.order.push_back(id);
        self.live_bytes += cost;
        id
    }

    /// Validates a `/guestFile` request and, when it wins, marks the transfer in flight.
    /// Exactly one concurrent caller can win; a refused request changes nothing.
    pub fn begin(
        &mut self,
        id: u64,
        token: &str,
        method: Redeem,
        now: OffsetDateTime,
    ) -> Result<Transfer, Fault> {
        let refuse = |refusal| Err(Fault::TransferRefused { refusal });
        let Some(t) = self.live.get(&id) else {
            return match self.ended.get(&id).filter(|t| constant_eq(&t.token, token)) {
                Some(t) => refuse(ended_refusal(&t.state)),
                None => refuse(Refusal::Unknown),
            };
        };
        if !constant_eq(&t.token, token) {
            return refuse(Refusal::Unknown);
        }
        if now >= t.expires && t.state == TransferState::Issued {
            self.end(id, TransferState::Expired, now);
            return refuse(Refusal::Expired);
        }
        match (&t.direction, method) {
            (Direction::Download, Redeem::Put) => {
                return Err(Fault::TransferWrongMethod { expected: "GET" });
            }
            (Direction::Upload(_), Redeem::Get) => {
                return Err(Fault::TransferWrongMethod { expected: "PUT" });
            }
            _ => {}
        }
        if t.state == TransferState::InFlight {
            return refuse(match t.direction {
                Direction::Download => Refusal::Used,
                Direction::Upload(_) => Refusal::InProgress,
            });
        }
        let t = self.live.get_mut(&id).expect("checked above");
        t.state = TransferState::InFlight;
        self.in_flight
            .entry(t.vm.clone())
            .or_default()
            .insert(id, t.path.clone());
        Ok(t.clone())
    }

    /// Forgets that transfer `id` of `vm` holds its path.
    fn settle(&mut self, vm: &str, id: u64) {
        if let Some(held) = self.in_flight.get_mut(vm) {
            held.remove(&id);
            if held.is_empty() {
                self.in_flight.remove(vm);
            }
        }
    }

    /// Ends an in-flight request. A download is used up whatever happened; an upload is used up
    /// only when it succeeded, and otherwise may be tried again.
    pub fn finish(&mut self, id: u64, succeeded: bool, now: OffsetDateTime) {
        let Some(t) = self.live.get_mut(&id) else {
            return;
        };
        if t.state != TransferState::InFlight {
            return;
        }
        match (&t.direction, succeeded) {
            (Direction::Upload(_), false) => {
                t.state = TransferState::Issued;
                let vm = t.vm.clone();
                self.settle(&vm, id);
            }
            _ => self.end(id, TransferState::Redeemed, now),
        }
    }

    /// Gives back a transfer whose request failed before any content was sent (for example the
    /// file to download went away after the URL was issued): a failed attempt does not use the
    /// URL up.
    pub fn release(&mut self, id: u64) {
        if let Some(t) = self.live.get_mut(&id) {
            if t.state == TransferState::InFlight {
                t.state = TransferState::Issued;
                let vm = t.vm.clone();
                self.settle(&vm, id);
            }
        }
    }

    /// Whether the transfer is still in flight and not revoked (checked before an upload lands).
    pub fn still_in_flight(&self, id: u64) -> bool {
        self.live
            .get(&id)
            .is_some_and(|t| t.state == TransferState::InFlight)
    }

    /// Revokes every live transfer of `vm`, cutting off in-flight ones. Costs O(transfers of
    /// that VM).
    pub fn revoke_vm(&mut self, vm: &str, reason: &str, now: OffsetDateTime) -> usize {
        let ids = self.by_vm.remove(vm).unwrap_or_default();
        let n = ids.len();
        for id in ids {
            if let Some(t) = self.live.get(&id) {
                t.cancel.cancel();
            }
            self.end(id, TransferState::Revoked(reason.to_owned()), now);
        }
        n
    }

    /// Whether a transfer of `vm` in flight holds `path`, a path below it or above it.
    pub fn holds(&self, vm: &str, path: &GuestPath) -> bool {
        self.in_flight.get(vm).is_some_and(|held| {
            held.values()
                .any(|p| p.is_within(path) || path.is_within(p))
        })
    }

    /// Live transfers then ended ones, newest first within each.
    pub fn all(&self) -> Vec<Transfer> {
        let mut live: Vec<Transfer> = self.live.values().cloned().collect();
        live.sort_by_key(|t| std::cmp::Reverse(t.id));
        live.extend(
            self.history
                .iter()
                .rev()
                .filter_map(|id| self.ended.get(id).cloned()),
        );
        live
    }

    /// Live (issued or in-flight) transfers.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    fn end(&mut self, id: u64, state: TransferState, now: OffsetDateTime) {
        let Some(mut t) = self.live.remove(&id) else {
            return;
        };
        self.live_bytes -= footprint(&t);
        self.settle(&t.vm, id);
        if let Some(ids) = self.by_vm.get_mut(&t.vm) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_vm.remove(&t.vm);
            }
        }
        t.state = state;
        t.ended = Some(now);
        if self.history_cap > 0 {
            if self.history.len() >= self.history_cap {
                if let Some(oldest) = self.history.pop_front() {
                    self.ended.remove(&oldest);
                }
            }
            self.history.push_back(id);
            self.ended.insert(id, t);
        }
    }

    /// Moves expired, unused transfers out of the live table, oldest first.
    fn sweep(&mut self, now: OffsetDateTime) {
        while let Some(&front) = self.order.front() {
            match self.live.get(&front) {
                Some(t) if t.state == TransferState::Issued && now >= t.expires => {
                    self.order.pop_front();
                    self.end(front, TransferState::Expired, now);
                }
                Some(_) => break,
                None => {
                    self.order.pop_front();
                }
            }
        }
        if self.order.len() > 2 * self.live.len() + 64 {
            let live = &self.live;
            self.order.retain(|id| live.contains_key(id));
        }
    }
}

impl TransferTable {
    /// The VM of a live transfer, if any.
    pub fn all_live_vm(&self, id: u64) -> Option<String> {
        self.live.get(&id).map(|t| t.vm.clone())
    }
}

fn ended_refusal(state: &TransferState) -> Refusal {
    match state {
        TransferState::Expired => Refusal::Expired,
        TransferState::Revoked(_) => Refusal::Revoked,
        _ => Refusal::Used,
    }
}

/// Compares tokens in time independent of where they differ.
fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;
    use crate::model::guest_fs::Family;

    #[test]
    fn transfer_ids_never_hold_443_which_ansible_rewrites_in_urls() {
        for (n, next) in [
            (1, 1),
            (443, 444),
            (1443, 1444),
            (4430, 4440),
            (44300, 44400),
            (443443, 444000),
            (9443, 9444),
        ] {
            assert_eq!(url_safe_id(n), next, "{n}");
        }
        let mut t = TransferTable::new(100_000, 10);
        let path = GuestPath::parse(Family::Linux, "/etc/hosts").unwrap();
        let mut last = 0;
        for _ in 0..50_000 {
            let id = t.issue(
                "tok".into(),
                "vm-1",
                path.clone(),
                "root",
                Direction::Download,
                T0,
            );
            assert!(id > last && !id.to_string().contains("443"), "{id}");
            last = id;
        }
    }

    fn table_with_one(direction: Direction) -> (TransferTable, u64) {
        let mut t = TransferTable::new(100, 100);
        let path = GuestPath::parse(Family::Linux, "/etc/hosts").unwrap();
        let id = t.issue("tok".into(), "vm-1", path, "root", direction, T0);
        (t, id)
    }

    fn upload() -> Direction {
        Direction::Upload(UploadSpec {
            size: 3,
            overwrite: true,
            attrs: AttrUpdate::default(),
        })
    }

    fn refusal(r: Result<Transfer, Fault>) -> Refusal {
        match r {
            Err(Fault::TransferRefused { refusal }) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_url_is_valid_just_before_ten_minutes_and_invalid_at_ten_minutes() {
        let (mut t, id) = table_with_one(Direction::Download);
        let just_before = T0 + TRANSFER_LIFETIME - Duration::from_millis(1);
        assert!(t.begin(id, "tok", Redeem::Get, just_before).is_ok());

        let (mut t, id) = table_with_one(Direction::Download);
        assert_eq!(
            refusal(t.begin(id, "tok", Redeem::Get, T0 + TRANSFER_LIFETIME)),
            Refusal::Expired
        );
    }

    #[test]
    fn a_download_is_used_up_once_it_has_started() {
        let (mut t, id) = table_with_one(Direction::Download);
        t.begin(id, "tok", Redeem::Get, T0).unwrap();
        assert_eq!(refusal(t.begin(id, "tok", Redeem::Get, T0)), Refusal::Used);
        t.finish(id, true, T0);
        assert_eq!(refusal(t.begin(id, "tok", Redeem::Get, T0)), Refusal::Used);
    }

    #[test]
    fn a_failed_upload_leaves_the_token_usable() {
        let (mut t, id) = table_with_one(upload());
        t.begin(id, "tok", Redeem::Put, T0).unwrap();
        t.finish(id, false, T0);
        assert!(t.begin(id, "tok", Redeem::Put, T0).is_ok());
    }

    #[test]
    fn a_wrong_token_or_method_does_not_consume_the_transfer() {
        let (mut t, id) = table_with_one(Direction::Download);
        assert_eq!(
            refusal(t.begin(id, "nope", Redeem::Get, T0)),
            Refusal::Unknown
        );
        assert!(matches!(
            t.begin(id, "tok", Redeem::Put, T0),
            Err(Fault::TransferWrongMethod { .. })
        ));
        assert!(t.begin(id, "tok", Redeem::Get, T0).is_ok());
    }

    #[test]
    fn revoking_a_vm_cancels_in_flight_requests_and_refuses_later_ones() {
        let (mut t, id) = table_with_one(Direction::Download);
        let inflight = t.begin(id, "tok", Redeem::Get, T0).unwrap();
        assert_eq!(t.revoke_vm("vm-1", "powered off", T0), 1);
        assert!(inflight.cancel().is_cancelled());
        assert_eq!(
            refusal(t.begin(id, "tok", Redeem::Get, T0)),
            Refusal::Revoked
        );
    }

    #[test]
    fn expired_tokens_are_swept_so_the_table_stays_bounded() {
        let mut t = TransferTable::new(10, 5);
        let path = GuestPath::parse(Family::Linux, "/a").unwrap();
        for i in 0..1000u64 {
            let now = T0 + Duration::from_secs(i * 601);
            t.issue(
                format!("t{i}"),
                "vm-1",
                path.clone(),
                "root",
                Direction::Download,
                now,
            );
        }
        assert_eq!(t.live_count(), 1);
        assert!(t.history.len() <= 5);
    }

    fn path(raw: &str) -> GuestPath {
        GuestPath::parse(Family::Linux, raw).unwrap()
    }

    fn issue_on(t: &mut TransferTable, vm: &str, token: &str, now: OffsetDateTime) -> u64 {
        t.issue(
            token.into(),
            vm,
            path("/etc/hosts"),
            "root",
            Direction::Download,
            now,
        )
    }

    #[test]
    fn revoking_a_vm_touches_only_the_tokens_of_that_vm() {
        let mut t = TransferTable::new(100_000, 10);
        for i in 0..10_000 {
            issue_on(&mut t, "vm-busy", &format!("b{i}"), T0);
        }
        let quiet = issue_on(&mut t, "vm-quiet", "q", T0);
        // The per-VM index holds exactly the VM's ids: revocation walks that set, not the table.
        assert_eq!(t.by_vm["vm-quiet"], BTreeSet::from([quiet]));
        assert_eq!(t.revoke_vm("vm-quiet", "powered off", T0), 1);
        assert_eq!(t.live_count(), 10_000);
        assert!(!t.by_vm.contains_key("vm-quiet"));
        assert_eq!(t.revoke_vm("vm-quiet", "powered off", T0), 0);
        assert_eq!(t.revoke_vm("vm-busy", "suspended", T0), 10_000);
        assert_eq!(t.live_count(), 0);
        assert!(t.by_vm.is_empty());
    }

    #[test]
    fn a_revoked_transfer_keeps_its_reason_in_the_history() {
        let (mut t, id) = table_with_one(Direction::Download);
        t.revoke_vm("vm-1", "migrated", T0);
        let ended = t.all().into_iter().find(|x| x.id == id).unwrap();
        assert_eq!(ended.state, TransferState::Revoked("migrated".into()));
        assert_eq!(ended.ended, Some(T0));
    }

    #[test]
    fn the_live_cap_evicts_the_oldest_unused_token_never_one_in_flight() {
        let mut t = TransferTable::new(2, 10);
        let first = issue_on(&mut t, "vm-1", "a", T0);
        let second = issue_on(&mut t, "vm-1", "b", T0);
        let streaming = t.begin(first, "a", Redeem::Get, T0).unwrap();
        let third = issue_on(&mut t, "vm-1", "c", T0);
        assert_eq!(t.live_count(), 2);
        assert!(t.still_in_flight(first), "the transfer in flight survives");
        assert!(!streaming.cancel().is_cancelled());
        assert_eq!(
            refusal(t.begin(second, "b", Redeem::Get, T0)),
            Refusal::Expired
        );
        assert!(t.begin(third, "c", Redeem::Get, T0).is_ok());
    }

    #[test]
    fn ended_transfers_leave_the_indexes_so_the_table_stays_bounded() {
        let mut t = TransferTable::new(1000, 8);
        for i in 0..5000u64 {
            let token = format!("t{i}");
            let id = issue_on(&mut t, &format!("vm-{}", i % 7), &token, T0);
            t.begin(id, &token, Redeem::Get, T0).unwrap();
            t.finish(id, true, T0);
        }
        assert_eq!(t.live_count(), 0);
        assert!(t.by_vm.is_empty(), "no empty per-VM sets are kept");
        assert!(t.order.len() <= 64, "the issue-order queue is pruned");
        assert_eq!(t.history.len(), 8, "the history keeps only its cap");
        assert_eq!(t.ended.len(), 8, "and so does its index");
    }

    #[test]
    fn a_transfer_in_flight_outlives_its_ten_minutes() {
        let (mut t, id) = table_with_one(upload());
        let late = T0 + TRANSFER_LIFETIME - Duration::from_secs(1);
        t.begin(id, "tok", Redeem::Put, late).unwrap();
        // Issuing another transfer sweeps expired tokens; the one streaming is not touched.
        issue_on(&mut t, "vm-2", "x", T0 + Duration::from_secs(3600));
        assert!(t.still_in_flight(id));
        t.finish(id, true, T0 + Duration::from_secs(3600));
        assert_eq!(
            refusal(t.begin(id, "tok", Redeem::Put, T0 + Duration::from_secs(3600))),
            Refusal::Used
        );
    }

    #[test]
    fn an_upload_url_is_used_up_only_when_it_lands() {
        let (mut t, id) = table_with_one(upload());
        t.begin(id, "tok", Redeem::Put, T0).unwrap();
        assert_eq!(
            refusal(t.begin(id, "tok", Redeem::Put, T0)),
            Refusal::InProgress,
            "one upload at a time"
        );
        t.finish(id, true, T0);
        assert_eq!(refusal(t.begin(id, "tok", Redeem::Put, T0)), Refusal::Used);
    }

    #[test]
    fn a_released_download_can_be_redeemed_again() {
        let (mut t, id) = table_with_one(Direction::Download);
        t.begin(id, "tok", Redeem::Get, T0).unwrap();
        t.release(id);
        assert!(t.begin(id, "tok", Redeem::Get, T0).is_ok());
    }

    #[test]
    fn the_token_must_match_whole_and_ended_ids_do_not_leak_their_state() {
        let (mut t, id) = table_with_one(Direction::Download);
        for wrong in ["", "to", "tokk", "TOK", "tol"] {
            assert_eq!(
                refusal(t.begin(id, wrong, Redeem::Get, T0)),
                Refusal::Unknown,
                "{wrong:?}"
            );
        }
        t.begin(id, "tok", Redeem::Get, T0).unwrap();
        t.finish(id, true, T0);
        assert_eq!(refusal(t.begin(id, "tok", Redeem::Get, T0)), Refusal::Used);
        assert_eq!(
            refusal(t.begin(id, "guess", Redeem::Get, T0)),
            Refusal::Unknown,
            "only the right token learns that the URL was used"
        );
        assert_eq!(
            refusal(t.begin(id + 1, "tok", Redeem::Get, T0)),
            Refusal::Unknown
        );
    }

    #[test]
    fn only_transfers_in_flight_hold_their_paths_and_they_let_go_when_they_end() {
        let mut t = TransferTable::new(100_000, 10);
        for i in 0..1000 {
            issue_on(&mut t, "vm-1", &format!("idle{i}"), T0);
        }
        let hosts = path("/etc/hosts");
        assert!(!t.holds("vm-1", &hosts), "issued URLs hold nothing");
        let id = issue_on(&mut t, "vm-1", "live", T0);
        t.begin(id, "live", Redeem::Get, T0).unwrap();
        assert!(t.holds("vm-1", &hosts));
        assert!(
            t.holds("vm-1", &path("/etc")),
            "a directory above is held too"
        );
        assert!(!t.holds("vm-2", &hosts), "only on its own VM");
        assert_eq!(
            t.in_flight["vm-1"].len(),
            1,
            "the index holds only what is in flight"
        );
        t.release(id);
        assert!(!t.holds("vm-1", &hosts), "a released download lets go");
        t.begin(id, "live", Redeem::Get, T0).unwrap();
        t.finish(id, true, T0);
        assert!(!t.holds("vm-1", &hosts), "a finished download lets go");
        let (mut u, up) = table_with_one(upload());
        u.begin(up, "tok", Redeem::Put, T0).unwrap();
        u.finish(up, false, T0);
        assert!(!u.holds("vm-1", &hosts), "a failed upload lets go");
        u.begin(up, "tok", Redeem::Put, T0).unwrap();
        u.revoke_vm("vm-1", "powered off", T0);
        assert!(!u.holds("vm-1", &hosts), "a revoked upload lets go");
        assert!(t.in_flight.is_empty() && u.in_flight.is_empty());
    }

    #[test]
    fn the_live_transfers_stay_within_their_byte_cap_however_long_their_paths() {
        let mut t = TransferTable::new(100_000, 10).with_byte_cap(64 << 10);
        let long = GuestPath::parse(
            Family::Linux,
            &format!("/{}", vec!["a".repeat(250); 16].join("/")),
        )
        .unwrap();
        let mut ids = Vec::new();
        for i in 0..1000 {
            ids.push(t.issue(
                format!("t{i}"),
                "vm-1",
                long.clone(),
                "root",
                Direction::Download,
                T0,
            ));
            assert!(t.live_bytes <= 64 << 10, "{} bytes after {i}", t.live_bytes);
        }
        assert!(t.live_count() < 20, "{} live", t.live_count());
        let last = *ids.last().unwrap();
        assert!(
            t.begin(last, "t999", Redeem::Get, T0).is_ok(),
            "the newest URLs stay usable"
        );
        assert!(
            matches!(
                refusal(t.begin(ids[0], "t0", Redeem::Get, T0)),
                Refusal::Expired | Refusal::Unknown
            ),
            "the oldest unused one made room"
        );
        t.revoke_vm("vm-1", "powered off", T0);
        assert_eq!(t.live_bytes, 0, "ending transfers gives their bytes back");
    }

    #[test]
    fn the_wrong_method_is_refused_for_either_direction() {
        let (mut t, id) = table_with_one(upload());
        assert!(matches!(
            t.begin(id, "tok", Redeem::Get, T0),
            Err(Fault::TransferWrongMethod { expected: "PUT" })
        ));
        let (mut t, id) = table_with_one(Direction::Download);
        assert!(matches!(
            t.begin(id, "tok", Redeem::Put, T0),
            Err(Fault::TransferWrongMethod { expected: "GET" })
        ));
    }
}
