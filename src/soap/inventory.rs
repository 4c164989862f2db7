//! Owns the inventory as vim25 managed objects, derived from the model on each request and
//! never stored twice: the service instance and its managers, the root folder, one datacenter
//! with its four folders, a compute resource, host and resource pool per model host, the VMs,
//! and the session objects and tasks of the [`Store`]. It answers "what is this reference",
//! "what are its properties" and "what does it contain".

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashSet};

use time::OffsetDateTime;

use crate::model::guest_fs::Family;
use crate::model::session::Session;
use crate::model::{PowerState, Vcenter, VirtualMachine as Vm};

use super::fault::power_state;
use super::store::{Store, TaskRecord};
use super::types;
use super::value::{Array, Data, MoRef, Value};

/// The root folder's id.
pub const ROOT_FOLDER: &str = "group-d1";
/// The datacenter's id.
pub const DATACENTER: &str = "datacenter-3";
/// The datacenter's VM folder.
pub const VM_FOLDER: &str = "group-v4";
/// The datacenter's host folder.
pub const HOST_FOLDER: &str = "group-h5";
/// The datacenter's datastore folder.
pub const DATASTORE_FOLDER: &str = "group-s6";
/// The datacenter's network folder.
pub const NETWORK_FOLDER: &str = "group-n7";

/// The singleton managers: (type, id), ids as vCenter's.
pub const MANAGERS: &[(&str, &str)] = &[
    ("SessionManager", "SessionManager"),
    ("PropertyCollector", "propertyCollector"),
    ("ViewManager", "ViewManager"),
    ("SearchIndex", "SearchIndex"),
    ("CustomFieldsManager", "CustomFieldsManager"),
    ("TaskManager", "TaskManager"),
    ("GuestOperationsManager", "guestOperationsManager"),
    ("GuestFileManager", "guestOperationsFileManager"),
    ("GuestProcessManager", "guestOperationsProcessManager"),
    ("GuestAuthManager", "guestOperationsAuthManager"),
];

/// The vCenter version `/sdk` presents.
pub const VERSION: &str = "8.0.3";
/// The vim25 API version it advertises.
pub const API_VERSION: &str = "8.0.3.0";
/// The build number in `about`.
pub const BUILD: &str = "24022515";

/// Settings of the SOAP inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The datacenter's name.
    pub datacenter: String,
    /// `about.instanceUuid`.
    pub instance_uuid: String,
    /// The served certificate's SHA-1 thumbprint (`HostSystem.summary.config.sslThumbprint`).
    pub thumbprint: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            datacenter: "DC0".into(),
            instance_uuid: "8c3a2c8e-6f7d-4d8b-9a55-0c0ffee0d001".into(),
            thumbprint: None,
        }
    }
}

/// A managed object `/sdk` knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Obj {
    /// `ServiceInstance`.
    ServiceInstance,
    /// The root folder.
    Root,
    /// The datacenter.
    Datacenter,
    /// The datacenter's VM folder.
    VmFolder,
    /// The datacenter's host folder.
    HostFolder,
    /// The datacenter's datastore folder.
    DatastoreFolder,
    /// The datacenter's network folder.
    NetworkFolder,
    /// The standalone compute resource of a host.
    Compute(String),
    /// A host.
    Host(String),
    /// A host's root resource pool.
    Pool(String),
    /// A VM.
    Vm(String),
    /// A singleton manager: (type, id).
    Manager(&'static str, &'static str),
    /// A task.
    Task(String),
    /// A container view of the caller's session.
    View(String),
    /// A property filter of the caller's session.
    Filter(String),
    /// An extra property collector of the caller's session.
    Collector(String),
}

/// What a property path yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    /// A value.
    Set(Value),
    /// A valid path with no value.
    Unset,
    /// No such property.
    Invalid,
}

/// The numeric part of a host id (`host-11` → `11`), or the id itself.
fn host_suffix(host: &str) -> &str {
    host.strip_prefix("host-").unwrap_or(host)
}

/// The compute resource of a host: `domain-s11` for `host-11`.
pub fn compute_id(host: &str) -> String {
    format!("domain-s{}", host_suffix(host))
}

/// The root resource pool of a host: `resgroup-11` for `host-11`.
pub fn pool_id(host: &str) -> String {
    format!("resgroup-{}", host_suffix(host))
}

/// vim25's guest id for the REST GuestOS value (`UBUNTU_64` → `ubuntu64Guest`,
/// `RHEL_8_64` → `rhel8_64Guest`).
pub fn guest_id(rest: &str) -> String {
    if rest.ends_with("Guest") {
        return rest.to_owned();
    }
    let mut out = String::new();
    let mut prev: Option<String> = None;
    for (i, part) in rest.split('_').filter(|p| !p.is_empty()).enumerate() {
        let lower = part.to_lowercase();
        let starts_digit = lower.starts_with(|c: char| c.is_ascii_digit());
        if i == 0 {
            out.push_str(&lower);
        } else if starts_digit {
            let p = prev.as_deref().unwrap_or("");
            let mixed = p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(char::is_alphabetic);
            if p.ends_with(|c: char| c.is_ascii_digit()) || mixed {
                out.push('_');
            }
            out.push_str(&lower);
        } else {
            let mut c = lower.chars();
            if let Some(f) = c.next() {
                out.extend(f.to_uppercase());
                out.push_str(c.as_str());
            }
        }
        prev = Some(lower);
    }
    out.push_str("Guest");
    out
}

fn mo(ty: &str, id: &str) -> MoRef {
    MoRef::new(ty, id)
}

fn status(s: &'static str) -> Value {
    Value::en("ManagedEntityStatus", s)
}

/// `AboutInfo` of this vCenter.
pub fn about(cfg: &Config) -> Data {
    Data::new("AboutInfo")
        .set("name", "VMware vCenter Server")
        .set(
            "fullName",
            format!("VMware vCenter Server {VERSION} build-{BUILD}"),
        )
        .set("vendor", "VMware, Inc.")
        .set("version", VERSION)
        .set("build", BUILD)
        .set("localeVersion", "INTL")
        .set("localeBuild", "000")
        .set("osType", "linux-x64")
        .set("productLineId", "vpx")
        .set("apiType", "VirtualCenter")
        .set("apiVersion", API_VERSION)
        .set("instanceUuid", cfg.instance_uuid.as_str())
        .set("licenseProductName", "VMware VirtualCenter Server")
        .set("licenseProductVersion", "8.0")
}

fn esx_about() -> Data {
    Data::new("AboutInfo")
        .set("name", "VMware ESXi")
        .set("fullName", format!("VMware ESXi {VERSION} build-24022510"))
        .set("vendor", "VMware, Inc.")
        .set("version", VERSION)
        .set("build", "24022510")
        .set("localeVersion", "INTL")
        .set("localeBuild", "000")
        .set("osType", "vmnix-x86")
        .set("productLineId", "embeddedEsx")
        .set("apiType", "HostAgent")
        .set("apiVersion", API_VERSION)
}

/// `ServiceContent`.
pub fn service_content(cfg: &Config) -> Data {
    let m = |ty: &str, id: &str| Value::MoRef(mo(ty, id));
    Data::new("ServiceContent")
        .set("rootFolder", m("Folder", ROOT_FOLDER))
        .set(
            "propertyCollector",
            m("PropertyCollector", "propertyCollector"),
        )
        .set("viewManager", m("ViewManager", "ViewManager"))
        .set("about", about(cfg))
        .set("sessionManager", m("SessionManager", "SessionManager"))
        .set("taskManager", m("TaskManager", "TaskManager"))
        .set(
            "customFieldsManager",
            m("CustomFieldsManager", "CustomFieldsManager"),
        )
        .set("searchIndex", m("SearchIndex", "SearchIndex"))
        .set(
            "guestOperationsManager",
            m("GuestOperationsManager", "guestOperationsManager"),
        )
}

/// `UserSession` for a model session.
pub fn user_session(key: &str, s: &Session) -> Data {
    Data::new("UserSession")
        .set("key", key)
        .set("userName", s.user.as_str())
        .set("fullName", s.user.as_str())
        .set("loginTime", s.created)
        .set("lastActiveTime", s.last_accessed)
        .set("locale", "en")
        .set("messageLocale", "en")
        .set("extensionSession", false)
        .set("callCount", 0i64)
}

/// `TaskInfo` of a task.
pub fn task_info(t: &TaskRecord) -> Data {
    let state = if t.error.is_some() {
        "error"
    } else {
        "success"
    };
    Data::new("TaskInfo")
        .set("key", t.id.as_str())
        .set("task", mo("Task", &t.id))
        .set("name", t.method)
        .set("descriptionId", t.description_id)
        .set("entity", t.entity.clone())
        .set("entityName", t.entity_name.as_str())
        .set(
            "locked",
            Value::Array(Array {
                of: "ManagedObjectReference",
                items: vec![],
            }),
        )
        .set("state", Value::en("TaskInfoState", state))
        .set("cancelled", false)
        .set("cancelable", false)
        .opt(
            "error",
            t.error.as_ref().map(|e| {
                super::fault::localized(
                    e,
                    super::fault::Context {
                        this: Some(&t.entity),
                        entity: None,
                        method: None,
                        vc: None,
                    },
                )
            }),
        )
        .opt("result", t.result.clone().map(Value::any))
        .unset("progress")
        .set(
            "reason",
            Value::any(Data::new("TaskReasonUser").set("userName", t.user.as_str())),
        )
        .set("queueTime", t.time)
        .set("startTime", t.time)
        .set("completeTime", t.time)
        .set("eventChainId", t.chain)
}

/// `data` with the Tools state vim25 reports in `GuestInfo` and `VirtualMachineGuestSummary`
/// alike.
fn tools_state(data: Data, vm: &Vm) -> Data {
    data.set(
        "toolsStatus",
        Value::en("VirtualMachineToolsStatus", tools_status(vm)),
    )
    .set(
        "toolsVersionStatus",
        Value::en("VirtualMachineToolsVersionStatus", version_status(vm)),
    )
    .opt(
        "toolsVersionStatus2",
        version_status2(vm).map(|s| Value::en("VirtualMachineToolsVersionStatus", s)),
    )
    .set(
        "toolsRunningStatus",
        Value::en("VirtualMachineToolsRunningStatus", running_status(vm)),
    )
}

fn tools_status(vm: &Vm) -> &'static str {
    let t = &vm.tools;
    if !t.installed {
        "toolsNotInstalled"
    } else if !t.running {
        "toolsNotRunning"
    } else if matches!(
        t.version_status.as_str(),
        "TOO_OLD_UNSUPPORTED" | "SUPPORTED_OLD" | "NEEDS_UPGRADE"
    ) {
        "toolsOld"
    } else {
        "toolsOk"
    }
}

fn version_status(vm: &Vm) -> &'static str {
    if !vm.tools.installed {
        return "guestToolsNotInstalled";
    }
    match vm.tools.version_status.as_str() {
        "UNMANAGED" => "guestToolsUnmanaged",
        "TOO_OLD_UNSUPPORTED" | "SUPPORTED_OLD" | "NEEDS_UPGRADE" => "guestToolsNeedUpgrade",
        "NOT_INSTALLED" => "guestToolsNotInstalled",
        _ => "guestToolsCurrent",
    }
}

fn version_status2(vm: &Vm) -> Option<&'static str> {
    if !vm.tools.installed {
        return Some("guestToolsNotInstalled");
    }
    Some(match vm.tools.version_status.as_str() {
        "CURRENT" => "guestToolsCurrent",
        "UNMANAGED" => "guestToolsUnmanaged",
        "TOO_OLD_UNSUPPORTED" => "guestToolsTooOld",
        "SUPPORTED_OLD" => "guestToolsSupportedOld",
        "SUPPORTED_NEW" => "guestToolsSupportedNew",
        "TOO_NEW" => "guestToolsTooNew",
        "BLACKLISTED" => "guestToolsBlacklisted",
        "NEEDS_UPGRADE" => "guestToolsNeedUpgrade",
        "NOT_INSTALLED" => "guestToolsNotInstalled",
        _ => return None,
    })
}

fn install_type(vm: &Vm) -> Option<&'static str> {
    if !vm.tools.installed {
        return None;
    }
    Some(match vm.tools.install_type.as_str() {
        "OPEN_VM_TOOLS" => "guestToolsTypeOpenVMTools",
        "MSI" => "guestToolsTypeMSI",
        "TAR" => "guestToolsTypeTar",
        "OSP" => "guestToolsTypeOSP",
        _ => "guestToolsTypeUnknown",
    })
}

fn running_status(vm: &Vm) -> &'static str {
    if vm.tools.running {
        "guestToolsRunning"
    } else {
        "guestToolsNotRunning"
    }
}

fn family(vm: &Vm) -> &'static str {
    match vm.family() {
        Family::Linux => "linuxGuest",
        Family::Windows => "windowsGuest",
    }
}

fn heartbeat(vm: &Vm) -> &'static str {
    if vm.tools.running { "green" } else { "gray" }
}

fn vmx_path(vm: &Vm) -> String {
    format!("[datastore1] {0}/{0}.vmx", vm.name)
}

/// `VirtualMachineRuntimeInfo`.
pub fn vm_runtime(vm: &Vm) -> Data {
    let on = vm.power == PowerState::PoweredOn;
    Data::new("VirtualMachineRuntimeInfo")
        .set("device", Value::empty("VirtualMachineDeviceRuntimeInfo"))
        .set("host", mo("HostSystem", &vm.host))
        .set(
            "connectionState",
            Value::en("VirtualMachineConnectionState", "connected"),
        )
        .set(
            "powerState",
            Value::en("VirtualMachinePowerState", power_state(vm.power)),
        )
        .set(
            "faultToleranceState",
            Value::en("VirtualMachineFaultToleranceState", "notConfigured"),
        )
        .unset("dasVmProtection")
        .set("toolsInstallerMounted", false)
        .unset("suspendTime")
        .unset("bootTime")
        .unset("suspendInterval")
        .unset("question")
        .unset("memoryOverhead")
        .opt(
            "maxCpuUsage",
            on.then(|| vm.cpu_count.saturating_mul(2000) as i32),
        )
        .opt("maxMemoryUsage", on.then_some(vm.memory_mib as i32))
        .set("numMksConnections", 0i32)
        .set(
            "recordReplayState",
            Value::en("VirtualMachineRecordReplayState", "inactive"),
        )
        .opt(
            "cleanPowerOff",
            (vm.power == PowerState::PoweredOff).then_some(vm.clean_power_off),
        )
        .unset("needSecondaryReason")
        .set("onlineStandby", false)
        .unset("minRequiredEVCModeKey")
        .set("consolidationNeeded", false)
        .set("paused", false)
        .set("snapshotInBackground", false)
        .unset("quiescedForkParent")
        .set("instantCloneFrozen", false)
}

/// `GuestInfo`.
pub fn vm_guest(vm: &Vm) -> Data {
    let up = vm.tools.running;
    let ip = vm.identity.ip_address.clone().filter(|_| up);
    let state = match vm.power {
        PowerState::PoweredOn if up => "running",
        PowerState::Suspended => "standby",
        _ => "notRunning",
    };
    let nics: Vec<Value> = ip
        .iter()
        .map(|ip| {
            Value::Data(
                Data::new("GuestNicInfo")
                    .set("network", "VM Network")
                    .set("ipAddress", Value::strings([ip.clone()]))
                    .set("macAddress", mac_address(&vm.id))
                    .set("connected", true)
                    .set("deviceConfigId", 4000i32),
            )
        })
        .collect();
    let ready = vm.guest_operations_ready();
    tools_state(Data::new("GuestInfo"), vm)
        .set(
            "toolsVersion",
            if vm.tools.installed {
                vm.tools.version_number.to_string()
            } else {
                "0".into()
            },
        )
        .opt(
            "toolsInstallType",
            install_type(vm).map(|s| Value::en("VirtualMachineToolsInstallType", s)),
        )
        .opt("guestId", up.then(|| guest_id(&vm.identity.guest_os)))
        .opt("guestFamily", up.then_some(family(vm)))
        .opt("guestFullName", up.then(|| vm.identity.full_name.clone()))
        .opt("hostName", up.then(|| vm.identity.host_name.clone()))
        .opt("ipAddress", ip)
        .set(
            "net",
            Value::Array(Array {
                of: "GuestNicInfo",
                items: nics,
            }),
        )
        .set("ipStack", Value::empty("GuestStackInfo"))
        .set("disk", Value::empty("GuestDiskInfo"))
        .unset("screen")
        .set("guestState", state)
        .set("appHeartbeatStatus", "appStatusGray")
        .set("guestKernelCrashed", false)
        .set("appState", "none")
        .set("guestOperationsReady", ready)
        .set(
            "interactiveGuestOperationsReady",
            ready && vm.users.values().any(|u| u.interactive),
        )
        .set("guestStateChangeSupported", up)
        .set(
            "generationInfo",
            Value::empty("GuestInfoNamespaceGenerationInfo"),
        )
}

/// `VirtualMachineConfigInfo` (the fields these clients read, schema-valid).
pub fn vm_config(vm: &Vm) -> Data {
    let vmx = vmx_path(vm);
    let dir = format!("[datastore1] {}/", vm.name);
    Data::new("VirtualMachineConfigInfo")
        .set("changeVersion", "1")
        .unset("modified")
        .set("name", vm.name.as_str())
        .set("guestFullName", vm.identity.full_name.as_str())
        .set("version", "vmx-19")
        .set("uuid", crate::vapi::dto::vm_uuid(&vm.id, 1))
        .unset("createDate")
        .set("instanceUuid", crate::vapi::dto::vm_uuid(&vm.id, 2))
        .set("template", false)
        .set("guestId", guest_id(&vm.identity.guest_os))
        .set("alternateGuestName", "")
        .set("annotation", "")
        .set(
            "files",
            Data::new("VirtualMachineFileInfo")
                .set("vmPathName", vmx)
                .set("snapshotDirectory", dir.clone())
                .set("suspendDirectory", dir.clone())
                .set("logDirectory", dir),
        )
        .set(
            "tools",
            Data::new("ToolsConfigInfo")
                .set("toolsVersion", vm.tools.version_number as i32)
                .set("afterPowerOn", true)
                .set("afterResume", true)
                .set("beforeGuestStandby", true)
                .set("beforeGuestShutdown", true)
                .set(
                    "toolsUpgradePolicy",
                    if vm.tools.upgrade_policy == "UPGRADE_AT_POWER_CYCLE" {
                        "upgradeAtPowerCycle"
                    } else {
                        "manual"
                    },
                )
                .set("syncTimeWithHost", false),
        )
        .unset("flags")
        .unset("defaultPowerOps")
        .set(
            "hardware",
            Data::new("VirtualHardware")
                .set("numCPU", vm.cpu_count as i32)
                .set("numCoresPerSocket", 1i32)
                .set("memoryMB", vm.memory_mib as i32)
                .set("virtualICH7MPresent", false)
                .set("virtualSMCPresent", false)
                .set("device", Value::empty("VirtualDevice")),
        )
        .unset("cpuAllocation")
        .unset("memoryAllocation")
        .set("memoryHotAddEnabled", false)
        .set("cpuHotAddEnabled", false)
        .set("cpuHotRemoveEnabled", false)
        .set("extraConfig", Value::empty("OptionValue"))
        .set("changeTrackingEnabled", false)
        .set("firmware", "bios")
        .set("maxMksConnections", 40i32)
        .set("guestAutoLockEnabled", false)
        .unset("managedBy")
        .set("memoryReservationLockedToMax", false)
        .set("nestedHVEnabled", false)
        .set("vPMCEnabled", false)
}

/// A VMware-range MAC address derived from the VM id (the REST NIC's).
fn mac_address(id: &str) -> String {
    let u = crate::vapi::dto::vm_uuid(id, 3);
    format!("00:50:56:{}:{}:{}", &u[0..2], &u[2..4], &u[4..6])
}

/// `VirtualMachineSummary`.
pub fn vm_summary(vm: &Vm) -> Data {
    let disk = vm.fs.capacity() as i64;
    Data::new("VirtualMachineSummary")
        .set("vm", mo("VirtualMachine", &vm.id))
        .set("runtime", vm_runtime(vm))
        .set(
            "guest",
            tools_state(
                Data::new("VirtualMachineGuestSummary")
                    .set("guestId", guest_id(&vm.identity.guest_os))
                    .set("guestFullName", vm.identity.full_name.as_str()),
                vm,
            )
            .opt(
                "hostName",
                vm.tools.running.then(|| vm.identity.host_name.clone()),
            )
            .opt(
                "ipAddress",
                vm.identity.ip_address.clone().filter(|_| vm.tools.running),
            )
            .set("hwVersion", "vmx-19"),
        )
        .set(
            "config",
            Data::new("VirtualMachineConfigSummary")
                .set("name", vm.name.as_str())
                .set("template", false)
                .set("vmPathName", vmx_path(vm))
                .set("memorySizeMB", vm.memory_mib as i32)
                .set("cpuReservation", 0i32)
                .set("memoryReservation", 0i32)
                .set("numCpu", vm.cpu_count as i32)
                .set("numEthernetCards", 1i32)
                .set("numVirtualDisks", 1i32)
                .set("uuid", crate::vapi::dto::vm_uuid(&vm.id, 1))
                .set("instanceUuid", crate::vapi::dto::vm_uuid(&vm.id, 2))
                .set("guestId", guest_id(&vm.identity.guest_os))
                .set("guestFullName", vm.identity.full_name.as_str())
                .set("annotation", "")
                .set("installBootRequired", false)
                .set("tpmPresent", false)
                .set("numVmiopBackings", 0i32)
                .set("hwVersion", "vmx-19"),
        )
        .set(
            "storage",
            Data::new("VirtualMachineStorageSummary")
                .set("committed", disk)
                .set("uncommitted", 0i64)
                .set("unshared", disk)
                // Left unset so that a summary does not change with the clock alone (a
                // WaitForUpdates on it would never block).
                .unset("timestamp"),
        )
        .set(
            "quickStats",
            Data::new("VirtualMachineQuickStats")
                .set("overallCpuUsage", 0i32)
                .set("overallCpuDemand", 0i32)
                .set("guestMemoryUsage", 0i32)
                .set("hostMemoryUsage", 0i32)
                .set("guestHeartbeatStatus", status(heartbeat(vm)))
                .set("distributedCpuEntitlement", 0i32)
                .set("distributedMemoryEntitlement", 0i32)
                .set("staticCpuEntitlement", 0i32)
                .set("staticMemoryEntitlement", 0i32)
                .set("privateMemory", 0i32)
                .set("sharedMemory", 0i32)
                .set("swappedMemory", 0i32)
                .set("balloonedMemory", 0i32)
                .set("consumedOverheadMemory", 0i32)
                .set("ftLogBandwidth", -1i32)
                .set("ftSecondaryLatency", -1i32)
                .set("ftLatencyStatus", status("gray"))
                .set("compressedMemory", 0i64)
                .set("uptimeSeconds", 0i32)
                .set("ssdSwappedMemory", 0i64),
        )
        .set("overallStatus", status("green"))
        .set("customValue", Value::empty("CustomFieldValue"))
}

/// What one request sees: the model, the store, the caller's session and the settings.
pub struct World<'a> {
    /// The model.
    pub vc: &'a Vcenter,
    /// Tasks and session objects.
    pub store: &'a Store,
    /// The caller's session id and session, if authenticated.
    pub session: Option<(&'a str, &'a Session)>,
    /// Settings.
    pub cfg: &'a Config,
    /// This request's instant.
    pub now: OffsetDateTime,
    /// VM ids by host, read once per request.
    by_host: OnceCell<BTreeMap<String, Vec<String>>>,
}

impl std::fmt::Debug for World<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").finish_non_exhaustive()
    }
}

impl<'a> World<'a> {
    /// A view of the inventory for one request.
    pub fn new(
        vc: &'a Vcenter,
        store: &'a Store,
        session: Option<(&'a str, &'a Session)>,
        cfg: &'a Config,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            vc,
            store,
            session,
            cfg,
            now,
            by_host: OnceCell::new(),
        }
    }

    fn session_id(&self) -> Option<&str> {
        self.session.map(|(id, _)| id)
    }

    /// VM ids by host (hosts ordered, VMs in id order).
    pub fn by_host(&self) -> &BTreeMap<String, Vec<String>> {
        self.by_host.get_or_init(|| {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for id in self.vc.vm_ids() {
                if let Ok(h) = self.vc.with_vm(&id, |v| v.host.clone()) {
                    m.entry(h).or_default().push(id);
                }
            }
            m
        })
    }

    fn hosts(&self) -> impl Iterator<Item = &String> {
        self.by_host().keys()
    }

    fn host_by(&self, f: impl Fn(&str) -> bool) -> Option<String> {
        self.hosts().find(|h| f(h)).cloned()
    }

    /// The object a reference names, if it exists for this caller and its type matches.
    pub fn resolve(&self, m: &MoRef) -> Option<Obj> {
        let v = m.value.as_str();
        let obj = match m.ty.as_str() {
            "ServiceInstance" if v == "ServiceInstance" => Obj::ServiceInstance,
            "Folder" => match v {
                ROOT_FOLDER => Obj::Root,
                VM_FOLDER => Obj::VmFolder,
                HOST_FOLDER => Obj::HostFolder,
                DATASTORE_FOLDER => Obj::DatastoreFolder,
                NETWORK_FOLDER => Obj::NetworkFolder,
                _ => return None,
            },
            "Datacenter" if v == DATACENTER => Obj::Datacenter,
            "VirtualMachine" => {
                self.vc.with_vm(v, |_| ()).ok()?;
                Obj::Vm(v.to_owned())
            }
            "HostSystem" => Obj::Host(self.host_by(|h| h == v)?),
            "ComputeResource" => Obj::Compute(self.host_by(|h| compute_id(h) == v)?),
            "ResourcePool" => Obj::Pool(self.host_by(|h| pool_id(h) == v)?),
            "Task" => {
                self.store.task(v)?;
                Obj::Task(v.to_owned())
            }
            "ContainerView" => {
                self.store.view(self.session_id()?, v)?;
                Obj::View(v.to_owned())
            }
            "PropertyFilter" => {
                self.store.filter(self.session_id()?, v)?;
                Obj::Filter(v.to_owned())
            }
            "PropertyCollector" if v != "propertyCollector" => {
                let s = self.session_id()?;
                if !self.store.has_collector(s, v) {
                    return None;
                }
                Obj::Collector(v.to_owned())
            }
            ty => {
                let (t, id) = MANAGERS.iter().find(|(t, id)| *t == ty && *id == v)?;
                Obj::Manager(t, id)
            }
        };
        Some(obj)
    }

    /// The vim25 type of an object.
    pub fn type_of(obj: &Obj) -> &'static str {
        match obj {
            Obj::ServiceInstance => "ServiceInstance",
            Obj::Root
            | Obj::VmFolder
            | Obj::HostFolder
            | Obj::DatastoreFolder
            | Obj::NetworkFolder => "Folder",
            Obj::Datacenter => "Datacenter",
            Obj::Compute(_) => "ComputeResource",
            Obj::Host(_) => "HostSystem",
            Obj::Pool(_) => "ResourcePool",
            Obj::Vm(_) => "VirtualMachine",
            Obj::Manager(t, _) => t,
            Obj::Task(_) => "Task",
            Obj::View(_) => "ContainerView",
            Obj::Filter(_) => "PropertyFilter",
            Obj::Collector(_) => "PropertyCollector",
        }
    }

    /// The reference to an object.
    pub fn moref(obj: &Obj) -> MoRef {
        let ty = Self::type_of(obj);
        let id = match obj {
            Obj::ServiceInstance => "ServiceInstance".to_owned(),
            Obj::Root => ROOT_FOLDER.into(),
            Obj::Datacenter => DATACENTER.into(),
            Obj::VmFolder => VM_FOLDER.into(),
            Obj::HostFolder => HOST_FOLDER.into(),
            Obj::DatastoreFolder => DATASTORE_FOLDER.into(),
            Obj::NetworkFolder => NETWORK_FOLDER.into(),
            Obj::Compute(h) => compute_id(h),
            Obj::Pool(h) => pool_id(h),
            Obj::Host(h) | Obj::Vm(h) | Obj::Task(h) | Obj::View(h) | Obj::Filter(h) => h.clone(),
            Obj::Collector(c) => c.clone(),
            Obj::Manager(_, id) => (*id).to_owned(),
        };
        MoRef::new(ty, id)
    }

    /// An entity's name.
    pub fn name(&self, obj: &Obj) -> Option<String> {
        match self.top(obj, "name") {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The objects an entity contains, as views and inventory paths walk them.
    pub fn children(&self, obj: &Obj) -> Vec<Obj> {
        match obj {
            Obj::Root => vec![Obj::Datacenter],
            Obj::Datacenter => vec![
                Obj::VmFolder,
                Obj::HostFolder,
                Obj::DatastoreFolder,
                Obj::NetworkFolder,
            ],
            Obj::VmFolder => self.vc.vm_ids().into_iter().map(Obj::Vm).collect(),
            Obj::HostFolder => self.hosts().cloned().map(Obj::Compute).collect(),
            Obj::Compute(h) => vec![Obj::Host(h.clone()), Obj::Pool(h.clone())],
            Obj::Pool(h) | Obj::Host(h) => self
                .by_host()
                .get(h)
                .map(|vms| vms.iter().cloned().map(Obj::Vm).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// What a container view shows: the container's descendants (or children), of the types
    /// asked for, each once, the container itself excluded.
    pub fn contents(&self, container: &Obj, types: &[String], recursive: bool) -> Vec<MoRef> {
        let mut seen: HashSet<Obj> = HashSet::new();
        seen.insert(container.clone());
        let mut out = Vec::new();
        let mut stack: Vec<Obj> = self.children(container).into_iter().rev().collect();
        while let Some(o) = stack.pop() {
            if !seen.insert(o.clone()) {
                continue;
            }
            let ty = Self::type_of(&o);
            if types.is_empty() || types.iter().any(|t| types::is_a(ty, t)) {
                out.push(Self::moref(&o));
            }
            if recursive {
                stack.extend(self.children(&o).into_iter().rev());
            }
        }
        out
    }

    /// A property path's value on an object.
    pub fn property(&self, obj: &Obj, path: &str) -> Prop {
        let mut parts = path.split('.');
        let first = parts.next().unwrap_or_default();
        if !types::has_property(Self::type_of(obj), first) {
            return Prop::Invalid;
        }
        let Some(mut cur) = self.top(obj, first) else {
            return Prop::Unset;
        };
        for part in parts {
            let next = match cur.plain() {
                Value::Data(d) => match d.field(part) {
                    None => return Prop::Invalid,
                    Some(None) => return Prop::Unset,
                    Some(Some(v)) => v.clone(),
                },
                _ => return Prop::Invalid,
            };
            cur = next;
        }
        Prop::Set(cur)
    }

    /// Every set top-level property of an object, in schema order (`all: true`).
    pub fn all(&self, obj: &Obj) -> Vec<(String, Value)> {
        types::properties(Self::type_of(obj))
            .into_iter()
            .filter_map(|p| self.top(obj, p).map(|v| (p.to_owned(), v)))
            .collect()
    }

    fn entity_common(&self, obj: &Obj, name: &str) -> Option<Value> {
        Some(match name {
            "value" => Value::empty("CustomFieldValue"),
            "availableField" => Value::empty("CustomFieldDef"),
            "customValue" => Value::empty("CustomFieldValue"),
            "overallStatus" | "configStatus" => status(match obj {
                Obj::Vm(id) => self
                    .vc
                    .with_vm(id, |v| if v.tools.running { "green" } else { "gray" })
                    .unwrap_or("gray"),
                _ => "green",
            }),
            "configIssue" => Value::empty("Event"),
            "effectiveRole" => Value::Array(Array {
                of: "int",
                items: vec![Value::Int(-1)],
            }),
            "permission" => Value::empty("Permission"),
            "disabledMethod" => Value::empty("string"),
            "recentTask" => Value::empty("ManagedObjectReference"),
            "declaredAlarmState" | "triggeredAlarmState" => Value::empty("AlarmState"),
            "alarmActionsEnabled" => Value::Bool(true),
            "tag" => Value::empty("Tag"),
            _ => return None,
        })
    }

    fn folder(
        &self,
        name: &str,
        prop: &str,
        kinds: &[&str],
        children: Vec<MoRef>,
    ) -> Option<Value> {
        Some(match prop {
            "name" => name.into(),
            "parent" => mo("Datacenter", DATACENTER).into(),
            "childType" => Value::strings(kinds.iter().map(|s| (*s).to_owned())),
            "childEntity" => Value::morefs(children),
            _ => return None,
        })
    }

    /// A top-level property's value; `None` when unset.
    pub fn top(&self, obj: &Obj, name: &str) -> Option<Value> {
        if types::is_a(Self::type_of(obj), "ManagedEntity")
            && let Some(v) = self.entity_common(obj, name)
        {
            return Some(v);
        }
        let refs = |objs: Vec<Obj>| Value::morefs(objs.iter().map(Self::moref));
        match obj {
            Obj::ServiceInstance => match name {
                "content" => Some(service_content(self.cfg).into()),
                "serverClock" => Some(self.now.into()),
                _ => None,
            },
            Obj::Root => match name {
                "name" => Some("Datacenters".into()),
                "childType" => Some(Value::strings(["Folder", "Datacenter"].map(str::to_owned))),
                "childEntity" => Some(refs(self.children(obj))),
                _ => None,
            },
            Obj::Datacenter => match name {
                "name" => Some(self.cfg.datacenter.as_str().into()),
                "parent" => Some(mo("Folder", ROOT_FOLDER).into()),
                "vmFolder" => Some(mo("Folder", VM_FOLDER).into()),
                "hostFolder" => Some(mo("Folder", HOST_FOLDER).into()),
                "datastoreFolder" => Some(mo("Folder", DATASTORE_FOLDER).into()),
                "networkFolder" => Some(mo("Folder", NETWORK_FOLDER).into()),
                "datastore" => Some(Value::empty("ManagedObjectReference")),
                "network" => Some(Value::empty("ManagedObjectReference")),
                _ => None,
            },
            Obj::VmFolder => self.folder(
                "vm",
                name,
                &["Folder", "VirtualMachine", "VirtualApp"],
                self.children(obj).iter().map(Self::moref).collect(),
            ),
            Obj::HostFolder => self.folder(
                "host",
                name,
                &["Folder", "ComputeResource"],
                self.children(obj).iter().map(Self::moref).collect(),
            ),
            Obj::DatastoreFolder => self.folder(
                "datastore",
                name,
                &["Folder", "Datastore", "StoragePod"],
                vec![],
            ),
            Obj::NetworkFolder => self.folder(
                "network",
                name,
                &["Folder", "Network", "DistributedVirtualSwitch"],
                vec![],
            ),
            Obj::Compute(h) => self.compute(h, name),
            Obj::Host(h) => self.host(h, name),
            Obj::Pool(h) => match name {
                "name" => Some("Resources".into()),
                "parent" | "owner" => Some(mo("ComputeResource", &compute_id(h)).into()),
                "resourcePool" => Some(Value::empty("ManagedObjectReference")),
                "vm" => Some(refs(self.children(obj))),
                _ => None,
            },
            Obj::Vm(id) => self.vm(id, name),
            Obj::Manager(ty, _) => self.manager(ty, name),
            Obj::Task(id) => match name {
                "info" => self.store.task(id).map(|t| task_info(&t).into()),
                "value" => Some(Value::empty("CustomFieldValue")),
                "availableField" => Some(Value::empty("CustomFieldDef")),
                _ => None,
            },
            Obj::View(id) => {
                let v = self.store.view(self.session_id()?, id)?;
                match name {
                    "view" => {
                        let c = self.resolve(&v.container)?;
                        Some(Value::morefs(self.contents(&c, &v.types, v.recursive)))
                    }
                    "container" => Some(v.container.into()),
                    "type" => Some(Value::strings(v.types)),
                    "recursive" => Some(v.recursive.into()),
                    _ => None,
                }
            }
            Obj::Filter(id) => {
                let f = self.store.filter(self.session_id()?, id)?;
                match name {
                    "partialUpdates" => Some(f.partial_updates.into()),
                    _ => None,
                }
            }
            Obj::Collector(id) => match name {
                "filter" => Some(self.filters_of(id)),
                _ => None,
            },
        }
    }

    fn filters_of(&self, collector: &str) -> Value {
        let Some(s) = self.session_id() else {
            return Value::empty("ManagedObjectReference");
        };
        Value::morefs(
            self.store
                .filters_of(s, collector)
                .into_iter()
                .map(|(id, _)| mo("PropertyFilter", &id)),
        )
    }

    fn manager(&self, ty: &str, name: &str) -> Option<Value> {
        match (ty, name) {
            ("SessionManager", "currentSession") => {
                self.session.map(|(id, s)| user_session(id, s).into())
            }
            ("SessionManager", "defaultLocale") => Some("en".into()),
            ("SessionManager", "supportedLocaleList" | "messageLocaleList") => {
                Some(Value::strings(["en".to_owned()]))
            }
            ("PropertyCollector", "filter") => Some(self.filters_of("propertyCollector")),
            ("ViewManager", "viewList") => Some(Value::morefs(
                self.session_id()
                    .map(|s| self.store.views_of(s))
                    .unwrap_or_default()
                    .iter()
                    .map(|id| mo("ContainerView", id)),
            )),
            ("CustomFieldsManager", "field") => Some(Value::empty("CustomFieldDef")),
            ("TaskManager", "recentTask") => Some(Value::morefs(
                self.store.recent_tasks(100).iter().map(|id| mo("Task", id)),
            )),
            ("TaskManager", "maxCollector") => Some(Value::Int(100)),
            ("GuestOperationsManager", "authManager") => {
                Some(mo("GuestAuthManager", "guestOperationsAuthManager").into())
            }
            ("GuestOperationsManager", "fileManager") => {
                Some(mo("GuestFileManager", "guestOperationsFileManager").into())
            }
            ("GuestOperationsManager", "processManager") => {
                Some(mo("GuestProcessManager", "guestOperationsProcessManager").into())
            }
            _ => None,
        }
    }

    fn compute(&self, h: &str, name: &str) -> Option<Value> {
        Some(match name {
            "name" => h.into(),
            "parent" => mo("Folder", HOST_FOLDER).into(),
            "resourcePool" => mo("ResourcePool", &pool_id(h)).into(),
            "host" => Value::morefs([mo("HostSystem", h)]),
            "datastore" | "network" => Value::empty("ManagedObjectReference"),
            "summary" => Data::new("ComputeResourceSummary")
                .set("totalCpu", 2000 * 32i32)
                .set("totalMemory", 512i64 << 30)
                .set("numCpuCores", 32i16 as i32)
                .set("numCpuThreads", 64i32)
                .set("effectiveCpu", 2000 * 32i32)
                .set("effectiveMemory", 512i64 << 10)
                .set("numHosts", 1i32)
                .set("numEffectiveHosts", 1i32)
                .set("overallStatus", status("green"))
                .into(),
            _ => return None,
        })
    }

    fn host(&self, h: &str, name: &str) -> Option<Value> {
        let runtime = || {
            Data::new("HostRuntimeInfo")
                .set(
                    "connectionState",
                    Value::en("HostSystemConnectionState", "connected"),
                )
                .set("powerState", Value::en("HostSystemPowerState", "poweredOn"))
                .set("standbyMode", "none")
                .set("inMaintenanceMode", false)
                .set("inQuarantineMode", false)
        };
        Some(match name {
            "name" => h.into(),
            "parent" => mo("ComputeResource", &compute_id(h)).into(),
            "vm" => Value::morefs(
                self.children(&Obj::Host(h.to_owned()))
                    .iter()
                    .map(Self::moref),
            ),
            "datastore" | "network" => Value::empty("ManagedObjectReference"),
            "runtime" => runtime().into(),
            "summary" => Data::new("HostListSummary")
                .set("host", mo("HostSystem", h))
                .unset("hardware")
                .set("runtime", runtime())
                .set(
                    "config",
                    Data::new("HostConfigSummary")
                        .set("name", h)
                        .set("port", 443i32)
                        .opt("sslThumbprint", self.cfg.thumbprint.clone())
                        .set("product", esx_about())
                        .set("vmotionEnabled", false)
                        .set("faultToleranceEnabled", false),
                )
                .set("overallStatus", status("green"))
                .set("rebootRequired", false)
                .into(),
            "config" => Data::new("HostConfigInfo")
                .set("host", mo("HostSystem", h))
                .set("product", esx_about())
                .set(
                    "virtualNicManagerInfo",
                    Data::new("HostVirtualNicManagerInfo")
                        .set("netConfig", Value::empty("VirtualNicManagerNetConfig")),
                )
                .into(),
            _ => return None,
        })
    }

    fn vm(&self, id: &str, name: &str) -> Option<Value> {
        self.vc
            .with_vm(id, |vm| {
                Some(match name {
                    "name" => vm.name.as_str().into(),
                    "parent" => mo("Folder", VM_FOLDER).into(),
                    "resourcePool" => mo("ResourcePool", &pool_id(&vm.host)).into(),
                    "runtime" => vm_runtime(vm).into(),
                    "config" => vm_config(vm).into(),
                    "guest" => vm_guest(vm).into(),
                    "summary" => vm_summary(vm).into(),
                    "guestHeartbeatStatus" => status(heartbeat(vm)),
                    "datastore" | "network" => Value::empty("ManagedObjectReference"),
                    "rootSnapshot" => Value::empty("ManagedObjectReference"),
                    _ => return None,
                })
            })
            .ok()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DEFAULT_MANUAL_START as T0;
    use crate::fixtures::Fixture;

    fn vc() -> Vcenter {
        Fixture::shared_default().build(crate::model::Limits::default(), T0)
    }

    #[test]
    fn guest_ids_follow_vim25_spelling() {
        for (rest, vim) in [
            ("UBUNTU_64", "ubuntu64Guest"),
            ("WINDOWS_9_SERVER_64", "windows9Server64Guest"),
            ("RHEL_7_64", "rhel7_64Guest"),
            ("CENTOS_8_64", "centos8_64Guest"),
            ("OTHER_LINUX_64", "otherLinux64Guest"),
            ("WINDOWS_2019SRV_64", "windows2019srv_64Guest"),
            ("otherGuest", "otherGuest"),
        ] {
            assert_eq!(guest_id(rest), vim, "{rest}");
        }
    }

    #[test]
    fn every_vm_is_in_the_vm_folder_and_reachable_from_the_host_folder_through_its_pool() {
        let vc = vc();
        let store = Store::default();
        let cfg = Config::default();
        let w = World::new(&vc, &store, None, &cfg, T0);
        let vms = w.contents(&Obj::VmFolder, &["VirtualMachine".into()], false);
        assert_eq!(vms.len(), vc.vm_ids().len());
        let via_hosts = w.contents(&Obj::HostFolder, &["VirtualMachine".into()], true);
        let mut a: Vec<_> = vms.iter().map(|m| m.value.clone()).collect();
        let mut b: Vec<_> = via_hosts.iter().map(|m| m.value.clone()).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        let non_recursive = w.contents(&Obj::HostFolder, &["VirtualMachine".into()], false);
        assert!(non_recursive.is_empty());
    }

    #[test]
    fn a_reference_resolves_only_with_its_own_type() {
        let vc = vc();
        let store = Store::default();
        let cfg = Config::default();
        let w = World::new(&vc, &store, None, &cfg, T0);
        assert_eq!(
            w.resolve(&MoRef::new("VirtualMachine", "vm-1001")),
            Some(Obj::Vm("vm-1001".into()))
        );
        assert_eq!(w.resolve(&MoRef::new("HostSystem", "vm-1001")), None);
        assert_eq!(w.resolve(&MoRef::new("VirtualMachine", "vm-9")), None);
        assert_eq!(
            w.resolve(&MoRef::new("ComputeResource", "domain-s11")),
            Some(Obj::Compute("host-11".into()))
        );
        assert_eq!(
            w.resolve(&MoRef::new("Folder", "group-d1")),
            Some(Obj::Root)
        );
    }

    #[test]
    fn dotted_paths_tell_values_unset_fields_and_invalid_names_apart() {
        let vc = vc();
        let store = Store::default();
        let cfg = Config::default();
        let w = World::new(&vc, &store, None, &cfg, T0);
        let vm = Obj::Vm("vm-1003".into());
        assert_eq!(
            w.property(&vm, "runtime.powerState"),
            Prop::Set(Value::en("VirtualMachinePowerState", "poweredOff"))
        );
        assert_eq!(w.property(&vm, "runtime.question"), Prop::Unset);
        assert_eq!(w.property(&vm, "parentVApp"), Prop::Unset);
        assert_eq!(w.property(&vm, "runtime.bogus"), Prop::Invalid);
        assert_eq!(w.property(&vm, "bogus"), Prop::Invalid);
        assert_eq!(w.property(&vm, "name.x"), Prop::Invalid);
        assert_eq!(
            w.property(&vm, "summary.config.name"),
            Prop::Set("linux-off".into())
        );
    }

    #[test]
    fn a_property_vim25_declares_but_vcmock_does_not_model_is_unset_not_invalid() {
        let vc = vc();
        let store = Store::default();
        let cfg = Config::default();
        let w = World::new(&vc, &store, None, &cfg, T0);
        let host = Obj::Host("host-11".into());
        for path in [
            "configManager",
            "datastoreBrowser",
            "systemResources",
            "licensableResource",
            "remediationState",
        ] {
            assert_eq!(w.property(&host, path), Prop::Unset, "{path}");
        }
        let compute = Obj::Compute("host-11".into());
        assert_eq!(w.property(&compute, "configManagerEnabled"), Prop::Unset);
        assert_eq!(w.property(&host, "configManagerBogus"), Prop::Invalid);
    }
}
