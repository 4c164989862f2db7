//! Owns vCenter sessions: login, lookup with idle expiry, logout, and a bounded table.

use std::collections::VecDeque;
use std::time::Duration;

use time::OffsetDateTime;

/// One vCenter API session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The login name, lower-cased (the key of the user table).
    pub login: String,
    /// The name vCenter reports, e.g. `VSPHERE.LOCAL\Administrator`.
    pub user: String,
    /// When it was created.
    pub created: OffsetDateTime,
    /// When it was last used.
    pub last_accessed: OffsetDateTime,
}

/// The session table. Sessions expire after `idle` without use; when `cap` sessions exist, the
/// oldest one is dropped to make room, so memory stays bounded however many logins arrive.
#[derive(Debug)]
pub struct SessionTable {
    idle: Duration,
    cap: usize,
    /// Live sessions by id. The ids are the server's own random ones, never a client's, so a
    /// fast unkeyed hash is safe here.
    live: rustc_hash::FxHashMap<String, Session>,
    /// Ids in creation order; may hold ids already deleted (skipped when met).
    order: VecDeque<String>,
    /// How many sessions have ended in all: logged out, expired or dropped for room.
    ended: u64,
}

impl SessionTable {
    /// An empty table.
    pub fn new(idle: Duration, cap: usize) -> Self {
        Self {
            idle,
            cap: cap.max(1),
            live: rustc_hash::FxHashMap::default(),
            order: VecDeque::new(),
            ended: 0,
        }
    }

    /// How many sessions have ended since the table was made: logged out, expired or dropped
    /// for room (so that state kept per session elsewhere knows when to look for the dead).
    pub fn ended(&self) -> u64 {
        self.ended
    }

    /// How many sessions are live (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Adds a session under `id`, evicting expired and, if still full, the oldest sessions.
    pub fn create(&mut self, id: String, login: &str, user: &str, now: OffsetDateTime) {
        self.sweep(now);
        while self.live.len() >= self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    if self.live.remove(&old).is_some() {
                        self.ended += 1;
                    }
                }
                None => break,
            }
        }
        self.live.insert(
            id.clone(),
            Session {
                login: login.to_owned(),
                user: user.to_owned(),
                created: now,
                last_accessed: now,
            },
        );
        self.order.push_back(id);
        // Keep the order queue from growing with ids deleted out of order.
        if self.order.len() > 2 * self.live.len() + 64 {
            let live = &self.live;
            self.order.retain(|id| live.contains_key(id));
        }
    }

    /// Finds a live session and marks it used. An idle-expired session is removed.
    pub fn touch(&mut self, id: &str, now: OffsetDateTime) -> Option<Session> {
        self.touch_with(id, now, Session::clone)
    }

    /// As [`SessionTable::touch`], answering what `f` reads of the session instead of a copy.
    pub fn touch_with<R>(
        &mut self,
        id: &str,
        now: OffsetDateTime,
        f: impl FnOnce(&Session) -> R,
    ) -> Option<R> {
        let idle = self.idle;
        let session = self.live.get_mut(id)?;
        if now - session.last_accessed >= idle {
            self.live.remove(id);
            self.ended += 1;
            return None;
        }
        session.last_accessed = now;
        Some(f(session))
    }

    /// Ends a session. Returns whether it existed (and had not expired).
    pub fn delete(&mut self, id: &str, now: OffsetDateTime) -> bool {
        let live = self.touch(id, now).is_some();
        if self.live.remove(id).is_some() {
            self.ended += 1;
        }
        live
    }

    /// All live sessions with their ids (admin state dump).
    pub fn all(&self) -> Vec<(String, Session)> {
        let mut v: Vec<_> = self
            .live
            .iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| a.1.created.cmp(&b.1.created).then(a.0.cmp(&b.0)));
        v
    }

    /// Drops expired sessions from the front of the creation order (amortised O(1) per login).
    fn sweep(&mut self, now: OffsetDateTime) {
        while let Some(front) = self.order.front() {
            match self.live.get(front) {
                Some(s) if now - s.last_accessed < self.idle => break,
                Some(_) => {
                    self.live.remove(front);
                    self.order.pop_front();
                    self.ended += 1;
                }
                None => {
                    self.order.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;

    #[test]
    fn a_session_expires_after_the_idle_timeout_and_not_before() {
        let mut t = SessionTable::new(Duration::from_secs(1800), 10);
        t.create("a".into(), "u", "U", T0);
        assert!(t.touch("a", T0 + Duration::from_secs(1799)).is_some());
        let later = T0 + Duration::from_secs(1799 + 1800);
        assert!(t.touch("a", later).is_none());
    }

    #[test]
    fn a_full_table_drops_its_oldest_session() {
        let mut t = SessionTable::new(Duration::from_secs(1800), 3);
        for i in 0..5 {
            t.create(format!("s{i}"), "u", "U", T0);
        }
        assert_eq!(t.len(), 3);
        assert!(t.touch("s0", T0).is_none());
        assert!(t.touch("s4", T0).is_some());
    }

    #[test]
    fn a_million_logins_keep_the_table_at_its_cap() {
        let mut t = SessionTable::new(Duration::from_secs(1800), 1000);
        for i in 0..1_000_000u32 {
            t.create(i.to_string(), "u", "U", T0);
        }
        assert_eq!(t.len(), 1000);
        assert!(t.order.len() <= 2 * 1000 + 64);
    }

    #[test]
    fn every_way_a_session_ends_is_counted_once() {
        let mut t = SessionTable::new(Duration::from_secs(60), 2);
        t.create("a".into(), "u", "U", T0);
        t.create("b".into(), "u", "U", T0);
        assert!(t.delete("a", T0));
        assert!(!t.delete("a", T0), "already gone");
        assert_eq!(t.ended(), 1, "logged out");
        t.create("c".into(), "u", "U", T0);
        t.create("d".into(), "u", "U", T0);
        assert_eq!(t.ended(), 2, "b dropped for room");
        let later = T0 + Duration::from_secs(61);
        assert!(t.touch("c", later).is_none());
        assert_eq!(t.ended(), 3, "c expired when used");
        t.create("e".into(), "u", "U", later);
        assert_eq!(t.ended(), 4, "d expired when swept");
        assert_eq!(t.len(), 1);
    }
}
