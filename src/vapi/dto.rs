//! Owns the JSON shapes of `/api` requests and responses, and their conversion to and from
//! model types.

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::model::guest_fs::{
    self, AttrUpdate, Family, FileInfo, FileType, ListPage, PosixAttrs, WindowsAttrs,
};
use crate::model::transfer::UploadSpec;
use crate::model::vm::VmView;
use crate::model::{Credentials, Fault, GuestAuth, VmSummary};

/// Renders a datetime as vAPI does: `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub fn datetime(t: OffsetDateTime) -> String {
    crate::clock::format_millis(t)
}

/// Parses an RFC 3339 datetime from a request.
pub fn parse_datetime(field: &str, s: &str) -> Result<OffsetDateTime, Fault> {
    crate::clock::parse_instant(s).map_err(|e| Fault::InvalidInput {
        detail: format!("{field}: {e}"),
    })
}

const CREDENTIALS: &str = "com.vmware.vcenter.vm.guest.credentials";

/// Guest credentials as sent (`com.vmware.vcenter.vm.guest.credentials`).
#[derive(Debug, Clone, Deserialize)]
pub struct CredentialsDto {
    /// Required.
    pub interactive_session: bool,
    /// `USERNAME_PASSWORD` or `SAML_BEARER_TOKEN`.
    #[serde(rename = "type")]
    pub kind: CredentialsType,
    /// Guest user.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Required for `USERNAME_PASSWORD`.
    #[serde(default)]
    pub password: Option<String>,
    /// Required for `SAML_BEARER_TOKEN`.
    #[serde(default)]
    pub saml_token: Option<String>,
}

/// The credentials type enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CredentialsType {
    /// User name and password.
    UsernamePassword,
    /// SAML bearer token.
    SamlBearerToken,
}

impl CredentialsDto {
    /// Applies the union rules and builds model credentials.
    pub fn validate(self) -> Result<Credentials, Fault> {
        let missing = |field: &str| Fault::MissingField {
            field: field.into(),
            structure: CREDENTIALS,
        };
        let auth = match self.kind {
            CredentialsType::UsernamePassword => GuestAuth::Password {
                user: self.user_name.unwrap_or_default(),
                password: self.password.ok_or_else(|| missing("password"))?,
            },
            CredentialsType::SamlBearerToken => {
                if self.interactive_session {
                    return Err(Fault::InvalidInput {
                        detail: "credentials.interactive_session is supported only for USERNAME_PASSWORD".into(),
                    });
                }
                GuestAuth::Saml {
                    token: self.saml_token.ok_or_else(|| missing("saml_token"))?,
                    user: self.user_name,
                }
            }
        };
        Ok(Credentials {
            auth,
            interactive: self.interactive_session,
        })
    }
}

/// A body carrying only credentials (`Files.get`, `Files.delete`).
#[derive(Debug, Clone, Deserialize)]
pub struct CredentialsOnly {
    /// Guest credentials.
    pub credentials: CredentialsDto,
}

/// `createTemporary` body (files and directories).
#[derive(Debug, Clone, Deserialize)]
pub struct CreateTemporary {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Name prefix.
    pub prefix: String,
    /// Name suffix.
    pub suffix: String,
    /// Directory to create it in.
    #[serde(default)]
    pub parent_path: Option<String>,
}

/// `VM.FilterSpec` (JSON-RPC `VM.list` input).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VmFilterSpec {
    /// VM ids.
    #[serde(default)]
    pub vms: Option<Vec<String>>,
    /// VM names.
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// Power states.
    #[serde(default)]
    pub power_states: Option<Vec<crate::model::PowerState>>,
}

impl VmFilterSpec {
    /// The model filter.
    pub fn into_model(self) -> crate::model::VmFilter {
        crate::model::VmFilter {
            vms: self.vms.unwrap_or_default(),
            names: self.names.unwrap_or_default(),
            power_states: self.power_states.unwrap_or_default(),
        }
    }
}

/// `Files.list` body.
#[derive(Debug, Clone, Deserialize)]
pub struct ListFiles {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Directory or file.
    pub path: String,
    /// Paging.
    #[serde(default)]
    pub iteration: Option<Iteration>,
    /// Filter.
    #[serde(default)]
    pub filter: Option<Filter>,
}

/// `Files.IterationSpec`.
#[derive(Debug, Clone, Deserialize)]
pub struct Iteration {
    /// Page size (default 50).
    #[serde(default)]
    pub size: Option<i64>,
    /// First index (default 0).
    #[serde(default)]
    pub index: Option<i64>,
}

/// `Files.FilterSpec`.
#[derive(Debug, Clone, Deserialize)]
pub struct Filter {
    /// Regular expression matched against names.
    #[serde(default)]
    pub match_pattern: Option<String>,
}

/// `Files.move` body. `src_path`/`dst_path` are accepted as aliases of `path`/`new_path`.
#[derive(Debug, Clone, Deserialize)]
pub struct MoveFile {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Source.
    #[serde(alias = "src_path")]
    pub path: String,
    /// Destination.
    #[serde(alias = "dst_path")]
    pub new_path: String,
    /// Replace an existing file.
    #[serde(default)]
    pub overwrite: Option<bool>,
}

/// `Directories.move` body.
#[derive(Debug, Clone, Deserialize)]
pub struct MoveDir {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Source.
    #[serde(alias = "src_path")]
    pub path: String,
    /// Destination.
    #[serde(alias = "dst_path")]
    pub new_path: String,
}

/// `Files.update` body.
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateFile {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Path.
    pub path: String,
    /// Changes.
    pub file_attributes: AttributesUpdate,
}

/// `Files.FileAttributesUpdateSpec`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AttributesUpdate {
    /// New modification time.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// New access time.
    #[serde(default)]
    pub last_accessed: Option<String>,
    /// Windows attributes.
    #[serde(default)]
    pub windows: Option<WindowsDto>,
    /// POSIX attributes.
    #[serde(default)]
    pub posix: Option<PosixDto>,
}

/// Windows attribute changes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WindowsDto {
    /// Hidden.
    #[serde(default)]
    pub hidden: Option<bool>,
    /// Read-only.
    #[serde(default)]
    pub read_only: Option<bool>,
}

/// POSIX attribute changes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PosixDto {
    /// Owner uid.
    #[serde(default)]
    pub owner_id: Option<u32>,
    /// Group gid.
    #[serde(default)]
    pub group_id: Option<u32>,
    /// Octal permissions.
    #[serde(default)]
    pub permissions: Option<String>,
}

impl AttributesUpdate {
    /// Converts to model attribute changes, checking datetimes and octal permissions.
    pub fn to_model(&self, field: &str) -> Result<AttrUpdate, Fault> {
        let time = |name: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| parse_datetime(&format!("{field}.{name}"), s))
                .transpose()
        };
        let posix = match &self.posix {
            None => None,
            Some(p) => Some(PosixAttrs {
                owner: p.owner_id,
                group: p.group_id,
                mode: p
                    .permissions
                    .as_deref()
                    .map(|m| {
                        guest_fs::parse_mode(m).ok_or_else(|| Fault::InvalidInput {
                            detail: format!("{field}.posix.permissions: '{m}' is not octal permissions such as \"644\""),
                        })
                    })
                    .transpose()?,
            }),
        };
        Ok(AttrUpdate {
            modified: time("last_modified", &self.last_modified)?,
            accessed: time("last_accessed", &self.last_accessed)?,
            windows: self.windows.as_ref().map(|w| WindowsAttrs {
                hidden: w.hidden,
                read_only: w.read_only,
            }),
            posix,
        })
    }
}

/// `Directories.create` body.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateDir {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Path.
    pub path: String,
    /// Create missing parents.
    #[serde(default)]
    pub create_parents: Option<bool>,
}

/// `Directories.delete` body.
#[derive(Debug, Clone, Deserialize)]
pub struct DeleteDir {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Path.
    pub path: String,
    /// Delete content too.
    #[serde(default)]
    pub recursive: Option<bool>,
}

/// `Transfers.create` body.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateTransfer {
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// What to transfer.
    pub spec: TransferSpec,
}

/// `Transfers.CreateSpec`.
#[derive(Debug, Clone, Deserialize)]
pub struct TransferSpec {
    /// Guest path.
    pub path: String,
    /// Set for uploads.
    #[serde(default)]
    pub attributes: Option<CreationAttributes>,
}

/// `Transfers.FileCreationAttributes`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreationAttributes {
    /// Required: upload size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Replace an existing file.
    #[serde(default)]
    pub overwrite: Option<bool>,
    /// Modification time.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// Access time.
    #[serde(default)]
    pub last_accessed: Option<String>,
    /// Windows attributes.
    #[serde(default)]
    pub windows: Option<WindowsDto>,
    /// POSIX attributes.
    #[serde(default)]
    pub posix: Option<PosixDto>,
}

impl CreationAttributes {
    /// Builds the upload declaration; `size` is required and must not be negative.
    pub fn to_upload(&self) -> Result<UploadSpec, Fault> {
        let size = self.size.ok_or_else(|| Fault::MissingField {
            field: "size".into(),
            structure: "com.vmware.vcenter.vm.guest.filesystem.transfers.file_creation_attributes",
        })?;
        let size = u64::try_from(size).map_err(|_| Fault::InvalidInput {
            detail: format!("spec.attributes.size: {size} is negative"),
        })?;
        let attrs = AttributesUpdate {
            last_modified: self.last_modified.clone(),
            last_accessed: self.last_accessed.clone(),
            windows: self.windows.clone(),
            posix: self.posix.clone(),
        }
        .to_model("spec.attributes")?;
        Ok(UploadSpec {
            size,
            overwrite: self.overwrite.unwrap_or(false),
            attrs,
        })
    }
}

/// The 7.0U1 preview download request (`GET .../guest/filesystem` with a body).
#[derive(Debug, Clone, Deserialize)]
pub struct PreviewGet {
    /// Guest path.
    pub path: String,
    /// Guest credentials.
    pub credentials: CredentialsDto,
}

/// The 7.0U1 preview upload request (`PUT .../guest/filesystem`).
#[derive(Debug, Clone, Deserialize)]
pub struct PreviewPut {
    /// Guest path.
    pub path: String,
    /// Guest credentials.
    pub credentials: CredentialsDto,
    /// Attributes.
    #[serde(default)]
    pub file_attributes: Option<AttributesUpdate>,
    /// Replace an existing file.
    #[serde(default)]
    pub overwrite: Option<bool>,
    /// Upload size in bytes.
    pub file_size: i64,
}

// ---------------------------------------------------------------------- responses

/// `VM.Summary`.
pub fn vm_summary(s: &VmSummary) -> Value {
    json!({
        "vm": s.vm,
        "name": s.name,
        "power_state": s.power_state.as_str(),
        "cpu_count": s.cpu_count,
        "memory_size_MiB": s.memory_mib,
    })
}

/// A stable UUID for a VM, derived from its id (so dumps and runs are reproducible).
pub fn vm_uuid(id: &str, salt: u8) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in id.bytes().chain([salt]) {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    uuid::Builder::from_random_bytes(h.to_be_bytes())
        .into_uuid()
        .to_string()
}

/// A VMware-range MAC address derived from the VM id.
fn mac_address(id: &str) -> String {
    let u = vm_uuid(id, 3);
    format!("00:50:56:{}:{}:{}", &u[0..2], &u[2..4], &u[4..6])
}

/// `VM.Info`, with the members vCenter always sends.
pub fn vm_info(vm: &VmView) -> Value {
    let disk_gib = vm.disk_capacity >> 30;
    json!({
        "guest_OS": vm.identity.guest_os,
        "name": vm.name,
        "identity": {
            "name": vm.name,
            "bios_uuid": vm_uuid(&vm.id, 1),
            "instance_uuid": vm_uuid(&vm.id, 2),
        },
        "power_state": vm.power.as_str(),
        "instant_clone_frozen": false,
        "hardware": {"version": "VMX_19", "upgrade_policy": "NEVER", "upgrade_status": "NONE"},
        "boot": {"type": "BIOS", "delay": 0, "retry": false, "retry_delay": 10000, "enter_setup_mode": false},
        "boot_devices": [],
        "cpu": {"count": vm.cpu_count, "cores_per_socket": 1, "hot_add_enabled": false, "hot_remove_enabled": false},
        "memory": {"size_MiB": vm.memory_mib, "hot_add_enabled": false},
        "disks": {"2000": {
            "label": "Hard disk 1",
            "type": "SCSI",
            "capacity": vm.disk_capacity,
            "scsi": {"bus": 0, "unit": 0},
            "backing": {"type": "VMDK_FILE", "vmdk_file": format!("[datastore1] {0}/{0}.vmdk", vm.name)},
        }},
        "nics": {"4000": {
            "label": "Network adapter 1",
            "type": "VMXNET3",
            "upt_compatibility_enabled": false,
            "state": if vm.power == crate::model::PowerState::PoweredOn { "CONNECTED" } else { "NOT_CONNECTED" },
            "start_connected": true,
            "allow_guest_control": true,
            "wake_on_lan_enabled": false,
            "mac_type": "ASSIGNED",
            "mac_address": mac_address(&vm.id),
            "pci_slot_number": 160,
            "backing": {"type": "STANDARD_PORTGROUP", "network": "network-11", "network_name": "VM Network"},
        }},
        "cdroms": {},
        "floppies": {},
        "parallel_ports": {},
        "serial_ports": {},
        "sata_adapters": {},
        "scsi_adapters": {"1000": {"label": "SCSI controller 0", "type": "PVSCSI", "scsi": {"bus": 0, "unit": 7}, "pci_slot_number": 160, "sharing": "NONE"}},
        "nvme_adapters": {},
        "vcmock": {"disk_capacity_GiB": disk_gib, "host": vm.host},
    })
}

/// `Power.Info`.
pub fn power_info(vm: &VmView) -> Value {
    match vm.power {
        crate::model::PowerState::PoweredOff => {
            json!({"state": "POWERED_OFF", "clean_power_off": vm.clean_power_off})
        }
        s => json!({"state": s.as_str()}),
    }
}

/// `Tools.Info`.
pub fn tools_info(vm: &VmView) -> Value {
    let t = &vm.tools;
    let run_state = if t.running { "RUNNING" } else { "NOT_RUNNING" };
    let mut v = json!({
        "auto_update_supported": false,
        "install_attempt_count": 0,
        "upgrade_policy": t.upgrade_policy,
        "version_status": t.version_status,
        "run_state": run_state,
    });
    if t.installed {
        v["version_number"] = json!(t.version_number);
        v["version"] = json!(t.version);
        v["install_type"] = json!(t.install_type);
    }
    v
}

/// `Identity.Info`.
pub fn identity_info(vm: &VmView) -> Value {
    let family = match vm.family {
        Family::Linux => "LINUX",
        Family::Windows => "WINDOWS",
    };
    let mut v = json!({
        "name": vm.identity.guest_os,
        "family": family,
        "full_name": {"id": format!("vmsg.guestos.{}.label", vm.identity.guest_os.to_lowercase()), "default_message": vm.identity.full_name, "args": []},
        "host_name": vm.identity.host_name,
    });
    if let Some(ip) = &vm.identity.ip_address {
        v["ip_address"] = json!(ip);
    }
    v
}

/// Guest `Power.Info`.
pub fn guest_power_info(vm: &VmView) -> Value {
    json!({"state": vm.guest_power_state, "operations_ready": vm.tools.running})
}

/// Guest `Operations.Info`.
pub fn guest_operations_info(vm: &VmView) -> Value {
    json!({
        "guest_operations_ready": vm.guest_operations_ready,
        "interactive_guest_operations_ready": vm.interactive_guest_operations_ready,
    })
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "FILE",
        FileType::Directory => "DIRECTORY",
        FileType::Symlink => "SYMLINK",
    }
}

/// `Files.Info`.
pub fn file_info(info: &FileInfo) -> Value {
    let m = &info.meta;
    let mut attrs = json!({
        "last_modified": datetime(m.modified),
        "last_accessed": datetime(m.accessed),
    });
    match info.family {
        Family::Linux => {
            attrs["filesystem_family"] = json!("POSIX");
            attrs["posix_attributes"] = json!({"owner": m.owner, "group": m.group, "permissions": guest_fs::format_mode(m.mode)});
        }
        Family::Windows => {
            attrs["filesystem_family"] = json!("WINDOWS");
            attrs["win_attributes"] = json!({"hidden": m.hidden, "read_only": m.read_only, "created": datetime(m.created)});
        }
    }
    if let Some(t) = &info.symlink_target {
        attrs["symlink_target"] = json!(t);
    }
    json!({"type": type_name(info.file_type), "size": info.size, "attributes": attrs})
}

/// One entry of a `Files.ListResult`.
#[cfg(test)]
#[derive(Debug, serde::Serialize)]
pub struct ListEntryDto<'a> {
    filename: &'a str,
    size: u64,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `Files.ListResult`, as serde writes it: the reference [`list_result_json`] is tested against.
#[cfg(test)]
#[derive(Debug, serde::Serialize)]
pub struct ListResultDto<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    end_index: Option<u64>,
    files: Vec<ListEntryDto<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_index: Option<u64>,
    status: &'static str,
    total: u64,
}

/// `Files.ListResult` for a page.
#[cfg(test)]
pub fn list_result(page: &ListPage) -> ListResultDto<'_> {
    ListResultDto {
        end_index: page.end_index,
        files: page
            .files
            .iter()
            .map(|f| ListEntryDto {
                filename: &f.filename,
                size: f.size,
                kind: type_name(f.file_type),
            })
            .collect(),
        start_index: page.start_index,
        status: list_status(page),
        total: page.total,
    }
}

fn list_status(page: &ListPage) -> &'static str {
    if page.more { "READY" } else { "END_OF_DATA" }
}

/// `Files.ListResult` for a page as JSON text: the bytes serde writes for [`ListResultDto`]
/// (members in the same order, the same escapes), written straight into one buffer. Listings
/// are the most frequent answer, and serde's writer spends most of its time on the member
/// names, which are constant here.
pub fn list_result_json(page: &ListPage) -> Vec<u8> {
    let names: usize = page.files.iter().map(|f| f.filename.len()).sum();
    let mut out = Vec::with_capacity(96 + 48 * page.files.len() + names);
    out.push(b'{');
    if let Some(end) = page.end_index {
        out.extend_from_slice(b"\"end_index\":");
        push_u64(&mut out, end);
        out.push(b',');
    }
    out.extend_from_slice(b"\"files\":[");
    for (i, f) in page.files.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"filename\":");
        push_json_str(&mut out, &f.filename);
        out.extend_from_slice(b",\"size\":");
        push_u64(&mut out, f.size);
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(type_name(f.file_type).as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.push(b']');
    if let Some(start) = page.start_index {
        out.extend_from_slice(b",\"start_index\":");
        push_u64(&mut out, start);
    }
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(list_status(page).as_bytes());
    out.extend_from_slice(b"\",\"total\":");
    push_u64(&mut out, page.total);
    out.push(b'}');
    out
}

/// Appends `n` in decimal.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `s` as a JSON string. A string with nothing to escape (almost every file name) is
/// copied between quotes; any other is written by serde_json, so the escapes are its own.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
        return;
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// The list page parameters, with vCenter's defaults (size 50, index 0).
pub fn paging(it: Option<&Iteration>) -> Result<(u64, u64), Fault> {
    let size = it.and_then(|i| i.size).unwrap_or(50);
    let index = it.and_then(|i| i.index).unwrap_or(0);
    let check = |name: &str, v: i64| {
        u64::try_from(v).map_err(|_| Fault::InvalidInput {
            detail: format!("iteration.{name}: {v} is negative"),
        })
    };
    Ok((check("index", index)?, check("size", size)?))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::guest_fs::ListEntry;

    fn file_type() -> impl Strategy<Value = FileType> {
        prop_oneof![
            Just(FileType::File),
            Just(FileType::Directory),
            Just(FileType::Symlink)
        ]
    }

    fn entry() -> impl Strategy<Value = ListEntry> {
        // Any text, control characters, quotes, backslashes and non-ASCII included.
        (any::<String>(), file_type(), any::<u64>()).prop_map(|(filename, file_type, size)| {
            ListEntry {
                filename,
                file_type,
                size,
                info: None,
            }
        })
    }

    proptest! {
        #[test]
        fn the_written_list_result_is_byte_for_byte_what_serde_writes(
            files in proptest::collection::vec(entry(), 0..8),
            total in any::<u64>(),
            start in proptest::option::of(any::<u64>()),
            end in proptest::option::of(any::<u64>()),
            more in any::<bool>(),
        ) {
            let page = ListPage { files, total, start_index: start, end_index: end, more };
            let by_serde = serde_json::to_vec(&list_result(&page)).expect("JSON");
            prop_assert_eq!(
                String::from_utf8(list_result_json(&page)).expect("UTF-8"),
                String::from_utf8(by_serde).expect("UTF-8")
            );
        }
    }
}
