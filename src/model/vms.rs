//! Owns the VM table: a read borrows a VM, and a mutable borrow that is written through, an
//! insertion or a removal counts as a change ([`Changes`]), so that no change to a VM can be
//! made without moving the generation.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use dashmap::DashMap;
use dashmap::mapref::one::{Ref, RefMut};

use super::changes::Changes;
use super::vm::VirtualMachine;

/// The VMs by id.
#[derive(Debug)]
pub(super) struct Vms {
    map: DashMap<String, VirtualMachine>,
    changes: Arc<Changes>,
}

/// A VM borrowed to change: writing through it counts as a change once the borrow ends (after
/// the VM's lock is released).
pub(super) struct VmMut<'a> {
    guard: Option<RefMut<'a, String, VirtualMachine>>,
    written: bool,
    changes: &'a Changes,
}

impl Deref for VmMut<'_> {
    type Target = VirtualMachine;

    fn deref(&self) -> &VirtualMachine {
        self.guard.as_deref().expect("held until dropped")
    }
}

impl DerefMut for VmMut<'_> {
    fn deref_mut(&mut self) -> &mut VirtualMachine {
        self.written = true;
        self.guard.as_deref_mut().expect("held until dropped")
    }
}

impl Drop for VmMut<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        if self.written {
            self.changes.bump();
        }
    }
}

impl Vms {
    /// The table of `vms`, counting its changes in `changes`.
    pub(super) fn new(
        vms: impl IntoIterator<Item = VirtualMachine, IntoIter: ExactSizeIterator>,
        changes: Arc<Changes>,
    ) -> Self {
        let vms = vms.into_iter();
        // Sized up front: growing by rehashing would hold two tables of VMs at once.
        let map = DashMap::with_capacity(vms.len());
        for vm in vms {
            map.insert(vm.id.clone(), vm);
        }
        Self { map, changes }
    }

    /// Counts changes in `changes` from now on.
    pub(super) fn count_in(&mut self, changes: Arc<Changes>) {
        self.changes = changes;
    }

    /// Reads a VM.
    pub(super) fn get(&self, id: &str) -> Option<Ref<'_, String, VirtualMachine>> {
        self.map.get(id)
    }

    /// Borrows a VM to change it.
    pub(super) fn get_mut(&self, id: &str) -> Option<VmMut<'_>> {
        self.map.get_mut(id).map(|guard| VmMut {
            guard: Some(guard),
            written: false,
            changes: &self.changes,
        })
    }

    /// Every VM, to read.
    pub(super) fn iter(&self) -> impl Iterator<Item = impl Deref<Target = VirtualMachine> + '_> {
        self.map.iter()
    }

    /// Adds a VM, or replaces the one with its id.
    pub(super) fn insert(&self, vm: VirtualMachine) {
        self.map.insert(vm.id.clone(), vm);
        self.changes.bump();
    }

    /// Removes a VM.
    pub(super) fn remove(&self, id: &str) -> Option<VirtualMachine> {
        let removed = self.map.remove(id).map(|(_, vm)| vm);
        if removed.is_some() {
            self.changes.bump();
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::guest_fs::Family;
    use crate::model::proptests::guest;

    fn table() -> (Vms, Arc<Changes>) {
        let changes = Arc::new(Changes::default());
        let vms = vec![
            guest("vm-1001", Family::Linux, &[("root", 0)]),
            guest("vm-1002", Family::Windows, &[("Administrator", 0)]),
        ];
        (Vms::new(vms, changes.clone()), changes)
    }

    #[test]
    fn reading_a_vm_even_through_a_mutable_borrow_is_no_change() {
        let (vms, changes) = table();
        assert!(vms.get("vm-1001").is_some());
        let power = vms.get_mut("vm-1001").map(|vm| vm.power);
        assert!(power.is_some());
        assert_eq!(vms.iter().count(), vms.map.len());
        assert_eq!(changes.generation(), 0);
    }

    #[test]
    fn writing_through_a_borrow_adding_and_removing_are_each_one_change() {
        let (vms, changes) = table();
        if let Some(mut vm) = vms.get_mut("vm-1001") {
            vm.name = "renamed".into();
            vm.host = "host-99".into();
        }
        assert_eq!(changes.generation(), 1, "one borrow, one change");
        let vm = vms.remove("vm-1001").unwrap();
        assert_eq!(changes.generation(), 2);
        assert!(vms.remove("vm-1001").is_none());
        assert_eq!(changes.generation(), 2, "removing nothing changes nothing");
        vms.insert(vm);
        assert_eq!(changes.generation(), 3);
    }

    #[test]
    fn the_change_is_told_after_the_vm_is_released() {
        let (vms, changes) = table();
        let vms = Arc::new(vms);
        let reader = vms.clone();
        assert!(changes.listen(Box::new(move || {
            // The listener may read the VM that changed without waiting for its lock.
            assert!(reader.map.try_get("vm-1001").try_unwrap().is_some());
        })));
        if let Some(mut vm) = vms.get_mut("vm-1001") {
            vm.name = "x".into();
        }
        assert_eq!(changes.generation(), 1);
    }
}
