//! Owns one virtual machine: power state, VMware Tools, guest identity, accounts, filesystem
//! and what runs in the guest.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::guest_fs::{Family, GuestUser, LazyFs};
use super::process::GuestRuntime;
use super::process::environment::default_environment;
use super::shell::{Env, System};

/// vCenter's VM power state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PowerState {
    /// Running.
    PoweredOn,
    /// Off.
    PoweredOff,
    /// Suspended to disk.
    Suspended,
}

impl PowerState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PoweredOn => "POWERED_ON",
            Self::PoweredOff => "POWERED_OFF",
            Self::Suspended => "SUSPENDED",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "POWERED_ON" => Some(Self::PoweredOn),
            "POWERED_OFF" => Some(Self::PoweredOff),
            "SUSPENDED" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// A power operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerOp {
    /// Power on, or resume from suspend.
    Start,
    /// Hard power off.
    Stop,
    /// Suspend.
    Suspend,
    /// Hard reset.
    Reset,
}

impl PowerOp {
    /// The `action=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Suspend => "suspend",
            Self::Reset => "reset",
        }
    }
}

/// VMware Tools as the guest has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// Whether Tools are installed at all.
    pub installed: bool,
    /// Whether the Tools service starts when the guest boots.
    pub starts_with_guest: bool,
    /// Whether Tools are running right now.
    pub running: bool,
    /// Numeric version, e.g. 12352.
    pub version_number: i64,
    /// Human-readable version.
    pub version: String,
    /// vCenter's version status, e.g. `UNMANAGED`, `TOO_OLD_UNSUPPORTED`.
    pub version_status: String,
    /// Install type, e.g. `OPEN_VM_TOOLS`, `MSI`.
    pub install_type: String,
    /// `MANUAL` or `UPGRADE_AT_POWER_CYCLE`.
    pub upgrade_policy: String,
    /// Whether guest operations are enabled in the guest's Tools configuration.
    pub guest_ops_enabled: bool,
}

impl Tools {
    /// Whether these Tools are too old for guest operations.
    pub fn too_old(&self) -> bool {
        self.version_status == "TOO_OLD_UNSUPPORTED"
    }
}

/// What the guest reports about itself through Tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestIdentity {
    /// vCenter's GuestOS enum value, e.g. `UBUNTU_64`.
    pub guest_os: String,
    /// Human-readable OS name.
    pub full_name: String,
    /// Guest host name.
    pub host_name: String,
    /// Primary IP address.
    pub ip_address: Option<String>,
}

/// One virtual machine.
#[derive(Debug, Clone)]
pub struct VirtualMachine {
    /// vCenter id, e.g. `vm-1001`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Power state.
    pub power: PowerState,
    /// Whether the last power-off was clean (guest shutdown).
    pub clean_power_off: bool,
    /// Virtual CPUs.
    pub cpu_count: i64,
    /// Memory in MiB.
    pub memory_mib: i64,
    /// The ESXi host the VM runs on (changes on migration).
    pub host: String,
    /// VMware Tools.
    pub tools: Tools,
    /// Guest identity.
    pub identity: GuestIdentity,
    /// Guest accounts, by name as the guest compares them.
    pub users: GuestUsers,
    /// SAML bearer tokens accepted by the guest, mapped to guest user names.
    pub saml_tokens: BTreeMap<String, String>,
    /// The guest's filesystem (built on first use when it comes from a fixture).
    pub fs: LazyFs,
    /// Set by the admin API to make every guest operation answer `RESOURCE_BUSY`.
    pub busy: bool,
    /// What runs in the guest: processes, declared programs, the environment, a reboot in
    /// progress.
    pub runtime: GuestRuntime,
}

/// A guest's accounts, keyed by name as the guest compares them ([`user_key`]), in key order.
///
/// A guest has a handful of accounts, so they sit in one sorted vector of exactly their size:
/// a map node per VM would cost over a kilobyte for a single account, which a 10,000-VM fixture
/// pays 10,000 times.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuestUsers(Vec<(String, GuestUser)>);

impl GuestUsers {
    /// The account whose key is `key`.
    pub fn get(&self, key: &str) -> Option<&GuestUser> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The accounts in key order.
    pub fn values(&self) -> impl Iterator<Item = &GuestUser> {
        self.0.iter().map(|(_, u)| u)
    }
}

impl FromIterator<(String, GuestUser)> for GuestUsers {
    /// Collects accounts by key; of two with the same key, the later one is kept (as a map
    /// insert would).
    fn from_iter<I: IntoIterator<Item = (String, GuestUser)>>(iter: I) -> Self {
        let mut all: Vec<(String, GuestUser)> = iter.into_iter().collect();
        // Reversed, a stable sort puts the latest of equal keys first, which dedup keeps.
        all.reverse();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.dedup_by(|a, b| a.0 == b.0);
        all.shrink_to_fit();
        Self(all)
    }
}

impl VirtualMachine {
    /// The guest family.
    pub fn family(&self) -> Family {
        self.fs.family()
    }

    /// Looks up a guest account as the guest compares names.
    pub fn user(&self, name: &str) -> Option<&GuestUser> {
        self.users.get(user_key(self.family(), name).as_ref())
    }

    /// Applies a power change at `now`: Tools start with the guest or stop, the guest's
    /// processes end, and a guest that (re)starts boots its system processes anew. A change to
    /// the same state (a reset) reboots the guest too.
    pub fn set_power(&mut self, to: PowerState, clean: bool, now: OffsetDateTime) {
        self.power = to;
        self.runtime.rebooting_until = None;
        self.runtime.tickets.clear();
        match to {
            PowerState::PoweredOn => {
                self.tools.running = self.tools.installed && self.tools.starts_with_guest;
                self.runtime.processes.boot(now);
            }
            PowerState::PoweredOff => {
                self.tools.running = false;
                self.clean_power_off = clean;
                self.runtime.processes.halt();
            }
            PowerState::Suspended => {
                self.tools.running = false;
                self.runtime.processes.halt();
            }
        }
    }

    /// A reboot from inside the guest at `now`: the VM stays on, its processes end, and Tools
    /// stop until `tools_back`.
    pub fn reboot_guest(&mut self, now: OffsetDateTime, tools_back: OffsetDateTime) {
        self.runtime.processes.boot(now);
        self.runtime.tickets.clear();
        self.tools.running = false;
        self.runtime.rebooting_until = Some(tools_back);
    }

    /// What the guest says about itself to the programs it runs.
    pub fn system(&self) -> System {
        let mut system = System::new(self.family(), self.identity.host_name.clone());
        system.accounts = self
            .users
            .values()
            .map(|u| (u.uid, u.name.clone()))
            .collect();
        system
    }

    /// The environment `user`'s processes start with.
    pub fn environment_for(&self, user: &GuestUser) -> Env {
        default_environment(
            self.family(),
            user,
            &self.identity.host_name,
            &self.runtime.environment,
        )
    }

    /// The guest power state vCenter reports (`RUNNING`, `NOT_RUNNING`, `STANDBY`, ...);
    /// `RESETTING` while a guest reboot has Tools down.
    pub fn guest_power_state(&self) -> &'static str {
        match self.power {
            PowerState::PoweredOn if self.runtime.rebooting_until.is_some() => "RESETTING",
            PowerState::PoweredOn if self.tools.running => "RUNNING",
            PowerState::PoweredOn => "UNAVAILABLE",
            PowerState::Suspended => "STANDBY",
            PowerState::PoweredOff => "NOT_RUNNING",
        }
    }

    /// Whether guest operations can run now.
    pub fn guest_operations_ready(&self) -> bool {
        self.power == PowerState::PoweredOn
            && self.tools.running
            && !self.tools.too_old()
            && self.tools.guest_ops_enabled
    }
}

/// The key a guest account is stored under: as is on Linux (borrowed, so that a lookup copies
/// nothing), lower-case on Windows.
pub fn user_key(family: Family, name: &str) -> std::borrow::Cow<'_, str> {
    super::guest_fs::name_key(family, name)
}

/// A VM's state as the inventory operations report it (VM get, power, Tools, guest identity,
/// power and readiness), copied out of the registry so that no lock is held while it is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmView {
    /// vCenter id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Power state.
    pub power: PowerState,
    /// Whether the last power-off was clean.
    pub clean_power_off: bool,
    /// Virtual CPUs.
    pub cpu_count: i64,
    /// Memory in MiB.
    pub memory_mib: i64,
    /// The ESXi host.
    pub host: String,
    /// VMware Tools.
    pub tools: Tools,
    /// Guest identity.
    pub identity: GuestIdentity,
    /// The guest family.
    pub family: Family,
    /// Guest disk capacity in bytes.
    pub disk_capacity: u64,
    /// The guest power state vCenter reports.
    pub guest_power_state: &'static str,
    /// Whether guest operations can run now.
    pub guest_operations_ready: bool,
    /// Whether interactive guest operations can run now.
    pub interactive_guest_operations_ready: bool,
}

impl VirtualMachine {
    /// The VM's reportable state.
    pub fn view(&self) -> VmView {
        let ready = self.guest_operations_ready();
        VmView {
            id: self.id.clone(),
            name: self.name.clone(),
            power: self.power,
            clean_power_off: self.clean_power_off,
            cpu_count: self.cpu_count,
            memory_mib: self.memory_mib,
            host: self.host.clone(),
            tools: self.tools.clone(),
            identity: self.identity.clone(),
            family: self.family(),
            disk_capacity: self.fs.capacity(),
            guest_power_state: self.guest_power_state(),
            guest_operations_ready: ready,
            interactive_guest_operations_ready: ready && self.users.values().any(|u| u.interactive),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, uid: u32) -> (String, GuestUser) {
        (name.to_owned(), GuestUser::plain(name, uid))
    }

    #[test]
    fn guest_users_are_found_by_key_in_key_order_and_the_last_of_a_key_wins() {
        let users: GuestUsers = [account("zed", 3), account("root", 0), account("zed", 4)]
            .into_iter()
            .collect();
        assert_eq!(users.get("zed").map(|u| u.uid), Some(4));
        assert_eq!(users.get("root").map(|u| u.uid), Some(0));
        assert!(users.get("nobody").is_none());
        let names: Vec<&str> = users.values().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["root", "zed"]);
    }
}
