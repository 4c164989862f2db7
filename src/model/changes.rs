//! Owns the count of the changes a reader of the inventory could see, and the one listener
//! told of each (the server wakes blocked `WaitForUpdates` calls with it).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Something to call after each change (and on [`Changes::wake`]).
pub type Listener = Box<dyn Fn() + Send + Sync>;

/// A generation number that moves on every change a reader of the inventory could see: a VM
/// changed (anything reached through a mutable borrow), added or removed; a session opened or
/// closed; and, for `/sdk`, a task, view, filter or collector made or ended. Readers that
/// computed something at one generation need not compute it again until it moves.
#[derive(Default)]
pub struct Changes {
    generation: AtomicU64,
    listener: OnceLock<Listener>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("generation", &self.generation())
            .field("listened", &self.listener.get().is_some())
            .finish()
    }
}

impl Changes {
    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records a change, then tells the listener.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.wake();
    }

    /// Tells the listener without a change (a wait cancelled or superseded is for its waiter
    /// to notice).
    pub fn wake(&self) {
        if let Some(listen) = self.listener.get() {
            listen();
        }
    }

    /// Sets the listener; only the first one set is kept (false when one was set already).
    pub fn listen(&self, listener: Listener) -> bool {
        self.listener.set(listener).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;
    use crate::model::PowerState;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_vcenter_counts_vm_changes_and_sessions_opened_or_closed_but_not_reads_or_use() {
        let changes = Arc::new(Changes::default());
        let vc = crate::model::proptests::vcenter(8).with_changes(changes.clone());
        let vm = vc.vm_ids()[0].clone();
        let ids = crate::ids::IdGen::new(Some(1));
        let id = vc.login("admin", "pw", &ids, T0).unwrap();
        assert_eq!(changes.generation(), 1, "a session opened");
        vc.session(&id, T0).unwrap();
        vc.with_vm(&vm, |v| v.power).unwrap();
        vc.settle(&vm, T0);
        assert_eq!(
            changes.generation(),
            1,
            "reads, a session used, nothing due"
        );
        vc.set_power_state(&vm, PowerState::PoweredOff, T0).unwrap();
        assert_eq!(changes.generation(), 2, "a VM changed");
        vc.logout(&id, T0).unwrap();
        assert_eq!(changes.generation(), 3, "a session closed");
    }

    #[test]
    fn guest_reads_are_no_change_and_a_guest_write_is_one() {
        use crate::model::proptests::{admin, guest_creds, vcenter};
        let changes = Arc::new(Changes::default());
        let vc = vcenter(8).with_changes(changes.clone());
        let vm = vc.vm_ids()[0].clone();
        let (caller, creds) = (admin(), guest_creds(0, true, true));
        vc.list_files(&caller, &vm, &creds, "/", 0, 100, false, &|_| true)
            .unwrap();
        vc.stat(&caller, &vm, &creds, "/").unwrap();
        vc.list_processes(&caller, &vm, &creds, T0).unwrap();
        vc.list_environment(&caller, &vm, &creds, &[], T0).unwrap();
        assert_eq!(changes.generation(), 0, "reads");
        vc.create_dir(&caller, &vm, &creds, "/made", false, T0)
            .unwrap();
        assert_eq!(changes.generation(), 1, "a directory made");
    }

    #[test]
    fn each_change_moves_the_generation_and_tells_the_listener_and_a_wake_only_tells_it() {
        let c = Changes::default();
        c.bump();
        assert_eq!(c.generation(), 1, "counted without a listener too");
        let told = Arc::new(AtomicUsize::new(0));
        let t = told.clone();
        assert!(c.listen(Box::new(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })));
        assert!(!c.listen(Box::new(|| {})), "one listener");
        c.bump();
        c.wake();
        assert_eq!(c.generation(), 2);
        assert_eq!(told.load(Ordering::SeqCst), 2);
    }
}
