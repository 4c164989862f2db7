//! Owns the vAPI JSON-RPC 2.0 wire that the official Python SDK speaks at `POST /api`: the
//! envelope, the typed value encoding (`STRUCTURE`, `OPTIONAL`, `SECRET`, ...) in both
//! directions, and the schema of the structures vcmock answers with.

use serde_json::{Map, Value, json};

/// A vAPI type, as far as encoding needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// Strings, enums, datetimes, URIs, ids: plain JSON strings.
    Str,
    /// Booleans.
    Bool,
    /// Integers.
    Long,
    /// Secrets: `{"SECRET": "..."}`.
    Secret,
    /// `{"OPTIONAL": v}` or `{"OPTIONAL": null}`.
    Opt(Box<Ty>),
    /// JSON arrays.
    List(Box<Ty>),
    /// Maps: a list of `map-entry` structures.
    Map(Box<Ty>),
    /// A structure with a canonical id.
    Struct(&'static str),
    /// Any structure, encoded by its own shape.
    Dynamic,
    /// No result.
    Void,
}

/// Parses a type expression such as `optional<list<com.vmware.vcenter.VM.summary>>`.
pub fn ty(expr: &'static str) -> Ty {
    if let Some(inner) = expr
        .strip_prefix("optional<")
        .and_then(|s| s.strip_suffix('>'))
    {
        return Ty::Opt(Box::new(ty(inner)));
    }
    if let Some(inner) = expr
        .strip_prefix("list<")
        .or_else(|| expr.strip_prefix("set<"))
        .and_then(|s| s.strip_suffix('>'))
    {
        return Ty::List(Box::new(ty(inner)));
    }
    if let Some(inner) = expr.strip_prefix("map<").and_then(|s| s.strip_suffix('>')) {
        let value = inner.split_once(',').map_or(inner, |(_, v)| v);
        return Ty::Map(Box::new(ty(value)));
    }
    match expr {
        "boolean" => Ty::Bool,
        "long" => Ty::Long,
        "secret" => Ty::Secret,
        "void" => Ty::Void,
        "dynamic" => Ty::Dynamic,
        s if fields_of(s).is_some() => Ty::Struct(s),
        _ => Ty::Str,
    }
}

type Fields = &'static [(&'static str, &'static str)];

/// The structures vcmock returns or decodes, with their fields and field types.
const STRUCTS: &[(&str, Fields)] = &[
    (
        "com.vmware.cis.session.info",
        &[
            ("user", "string"),
            ("created_time", "datetime"),
            ("last_accessed_time", "datetime"),
        ],
    ),
    (
        "com.vmware.vapi.std.localizable_message",
        &[
            ("id", "string"),
            ("default_message", "string"),
            ("args", "list<string>"),
            ("params", "optional<dynamic>"),
            ("localized", "optional<string>"),
        ],
    ),
    (
        "com.vmware.vcenter.VM.summary",
        &[
            ("vm", "id"),
            ("name", "string"),
            ("power_state", "enum"),
            ("cpu_count", "optional<long>"),
            ("memory_size_MiB", "optional<long>"),
        ],
    ),
    (
        "com.vmware.vcenter.VM.info",
        &[
            ("guest_OS", "enum"),
            ("name", "string"),
            ("identity", "optional<com.vmware.vcenter.vm.identity.info>"),
            ("power_state", "enum"),
            ("instant_clone_frozen", "optional<boolean>"),
            ("hardware", "com.vmware.vcenter.vm.hardware.info"),
            ("boot", "com.vmware.vcenter.vm.hardware.boot.info"),
            ("boot_devices", "list<dynamic>"),
            ("cpu", "com.vmware.vcenter.vm.hardware.cpu.info"),
            ("memory", "com.vmware.vcenter.vm.hardware.memory.info"),
            ("disks", "map<id,com.vmware.vcenter.vm.hardware.disk.info>"),
            (
                "nics",
                "map<id,com.vmware.vcenter.vm.hardware.ethernet.info>",
            ),
            ("cdroms", "map<id,dynamic>"),
            ("floppies", "map<id,dynamic>"),
            ("parallel_ports", "map<id,dynamic>"),
            ("serial_ports", "map<id,dynamic>"),
            ("sata_adapters", "map<id,dynamic>"),
            (
                "scsi_adapters",
                "map<id,com.vmware.vcenter.vm.hardware.adapter.scsi.info>",
            ),
            ("nvme_adapters", "optional<map<id,dynamic>>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.identity.info",
        &[
            ("name", "string"),
            ("bios_uuid", "string"),
            ("instance_uuid", "string"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.info",
        &[
            ("version", "enum"),
            ("upgrade_policy", "enum"),
            ("upgrade_version", "optional<enum>"),
            ("upgrade_status", "enum"),
            ("upgrade_error", "optional<dynamic>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.boot.info",
        &[
            ("type", "enum"),
            ("efi_legacy_boot", "optional<boolean>"),
            ("network_protocol", "optional<enum>"),
            ("delay", "long"),
            ("retry", "boolean"),
            ("retry_delay", "long"),
            ("enter_setup_mode", "boolean"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.cpu.info",
        &[
            ("count", "long"),
            ("cores_per_socket", "long"),
            ("hot_add_enabled", "boolean"),
            ("hot_remove_enabled", "boolean"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.memory.info",
        &[
            ("size_MiB", "long"),
            ("hot_add_enabled", "boolean"),
            ("hot_add_increment_size_MiB", "optional<long>"),
            ("hot_add_limit_MiB", "optional<long>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.disk.info",
        &[
            ("label", "string"),
            ("type", "enum"),
            ("ide", "optional<dynamic>"),
            (
                "scsi",
                "optional<com.vmware.vcenter.vm.hardware.scsi_address_info>",
            ),
            ("sata", "optional<dynamic>"),
            ("nvme", "optional<dynamic>"),
            (
                "backing",
                "com.vmware.vcenter.vm.hardware.disk.backing_info",
            ),
            ("capacity", "optional<long>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.disk.backing_info",
        &[("type", "enum"), ("vmdk_file", "optional<string>")],
    ),
    (
        "com.vmware.vcenter.vm.hardware.scsi_address_info",
        &[("bus", "long"), ("unit", "long")],
    ),
    (
        "com.vmware.vcenter.vm.hardware.ethernet.info",
        &[
            ("label", "string"),
            ("type", "enum"),
            ("upt_compatibility_enabled", "optional<boolean>"),
            ("upt_v2_compatibility_enabled", "optional<boolean>"),
            ("mac_type", "enum"),
            ("mac_address", "optional<string>"),
            ("pci_slot_number", "optional<long>"),
            ("wake_on_lan_enabled", "boolean"),
            (
                "backing",
                "com.vmware.vcenter.vm.hardware.ethernet.backing_info",
            ),
            ("state", "enum"),
            ("start_connected", "boolean"),
            ("allow_guest_control", "boolean"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.ethernet.backing_info",
        &[
            ("type", "enum"),
            ("network", "optional<id>"),
            ("network_name", "optional<string>"),
            ("host_device", "optional<string>"),
            ("distributed_switch_uuid", "optional<string>"),
            ("distributed_port", "optional<string>"),
            ("connection_cookie", "optional<long>"),
            ("opaque_network_type", "optional<string>"),
            ("opaque_network_id", "optional<string>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.hardware.adapter.scsi.info",
        &[
            ("label", "string"),
            ("type", "enum"),
            ("scsi", "com.vmware.vcenter.vm.hardware.scsi_address_info"),
            ("pci_slot_number", "optional<long>"),
            ("sharing", "enum"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.power.info",
        &[("state", "enum"), ("clean_power_off", "optional<boolean>")],
    ),
    (
        "com.vmware.vcenter.vm.tools.info",
        &[
            ("auto_update_supported", "boolean"),
            ("install_attempt_count", "optional<long>"),
            ("error", "optional<dynamic>"),
            ("version_number", "optional<long>"),
            ("version", "optional<string>"),
            ("upgrade_policy", "enum"),
            ("version_status", "optional<enum>"),
            ("install_type", "optional<enum>"),
            ("run_state", "enum"),
            ("guest_reboot_status", "optional<dynamic>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.identity.info",
        &[
            ("name", "enum"),
            ("family", "enum"),
            ("full_name", "com.vmware.vapi.std.localizable_message"),
            ("host_name", "string"),
            ("ip_address", "optional<string>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.power.info",
        &[("state", "enum"), ("operations_ready", "boolean")],
    ),
    (
        "com.vmware.vcenter.vm.guest.operations.info",
        &[
            ("guest_operations_ready", "boolean"),
            ("interactive_guest_operations_ready", "boolean"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.filesystem.files.list_result",
        &[
            (
                "files",
                "list<com.vmware.vcenter.vm.guest.filesystem.files.summary>",
            ),
            ("total", "long"),
            ("start_index", "optional<long>"),
            ("end_index", "optional<long>"),
            ("status", "enum"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.filesystem.files.summary",
        &[("filename", "string"), ("type", "enum"), ("size", "long")],
    ),
    (
        "com.vmware.vcenter.vm.guest.filesystem.files.info",
        &[
            ("type", "enum"),
            ("size", "long"),
            (
                "attributes",
                "com.vmware.vcenter.vm.guest.filesystem.files.file_attributes_info",
            ),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.filesystem.files.file_attributes_info",
        &[
            ("last_modified", "datetime"),
            ("last_accessed", "datetime"),
            ("symlink_target", "optional<string>"),
            ("filesystem_family", "enum"),
            (
                "win_attributes",
                "optional<com.vmware.vcenter.vm.guest.filesystem.files.windows_file_attributes_info>",
            ),
            (
                "posix_attributes",
                "optional<com.vmware.vcenter.vm.guest.filesystem.files.posix_file_attributes_info>",
            ),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.filesystem.files.windows_file_attributes_info",
        &[
            ("hidden", "boolean"),
            ("read_only", "boolean"),
            ("created", "datetime"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.filesystem.files.posix_file_attributes_info",
        &[
            ("owner", "long"),
            ("group", "long"),
            ("permissions", "string"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.filesystem.file_error_details",
        &[("reason", "enum"), ("file_path", "string")],
    ),
    (
        "com.vmware.vcenter.vm.guest.processes.summary",
        &[
            ("name", "string"),
            ("pid", "long"),
            ("owner", "string"),
            ("command", "string"),
            ("started", "datetime"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.processes.info",
        &[
            ("name", "string"),
            ("owner", "string"),
            ("command", "string"),
            ("started", "datetime"),
            ("finished", "optional<datetime>"),
            ("exit_code", "optional<long>"),
        ],
    ),
    (
        "com.vmware.vcenter.vm.guest.processes.process_error_details",
        &[("pid", "long")],
    ),
];

/// The fields of structure `id`, if vcmock knows it.
pub fn fields_of(id: &str) -> Option<Fields> {
    STRUCTS
        .iter()
        .find(|(name, _)| *name == id)
        .map(|(_, f)| *f)
}

/// Encodes a plain JSON value (as `/api` would answer it) as a typed vAPI value.
pub fn encode(v: &Value, t: &Ty) -> Value {
    match t {
        Ty::Void => Value::Null,
        Ty::Opt(inner) => match v {
            Value::Null => json!({"OPTIONAL": null}),
            v => json!({"OPTIONAL": encode(v, inner)}),
        },
        Ty::Secret => json!({"SECRET": v}),
        Ty::List(inner) => Value::Array(
            v.as_array()
                .map(|a| a.iter().map(|x| encode(x, inner)).collect())
                .unwrap_or_default(),
        ),
        Ty::Map(inner) => Value::Array(
            v.as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, x)| {
                            json!({"STRUCTURE": {"map-entry": {"key": k, "value": encode(x, inner)}}})
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Ty::Struct(id) => {
            let mut out = Map::new();
            for (name, ft) in fields_of(id).unwrap_or_default() {
                let fv = v.get(*name).cloned().unwrap_or(Value::Null);
                out.insert((*name).to_owned(), encode(&fv, &ty(ft)));
            }
            json!({"STRUCTURE": {*id: out}})
        }
        Ty::Dynamic => encode_dynamic(v),
        Ty::Str | Ty::Bool | Ty::Long => v.clone(),
    }
}

/// Encodes a value with no declared type: objects become anonymous structures.
fn encode_dynamic(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let inner: Map<String, Value> = m
                .iter()
                .map(|(k, x)| (k.clone(), encode_dynamic(x)))
                .collect();
            json!({"STRUCTURE": {"dynamic_structure": inner}})
        }
        Value::Array(a) => Value::Array(a.iter().map(encode_dynamic).collect()),
        v => v.clone(),
    }
}

/// Decodes a typed vAPI value into plain JSON (the `/api` body shape): structures become
/// objects, `OPTIONAL` unwraps (absent when null), `SECRET` becomes its string, map entries
/// become object members.
pub fn decode(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (tag, inner) = m.iter().next().expect("one member");
            match tag.as_str() {
                "STRUCTURE" | "ERROR" => match inner.as_object().and_then(|o| o.values().next()) {
                    Some(fields) => decode_fields(fields),
                    None => Value::Null,
                },
                "OPTIONAL" => decode(inner),
                "SECRET" => inner.clone(),
                "BINARY" => inner.clone(),
                _ => decode_fields(v),
            }
        }
        Value::Array(items) => {
            // Decide by shape first, so that every value is decoded once: decoding and then
            // starting again would double the work at every level of nesting.
            let entries: Option<Vec<(&str, &Value)>> = items
                .iter()
                .map(|i| {
                    let e = i.get("STRUCTURE")?.get("map-entry")?;
                    Some((e.get("key")?.as_str()?, e.get("value")?))
                })
                .collect();
            match entries {
                Some(entries) if !items.is_empty() => Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), decode(v)))
                        .collect::<Map<String, Value>>(),
                ),
                _ => Value::Array(items.iter().map(decode).collect()),
            }
        }
        Value::Object(_) => decode_fields(v),
        v => v.clone(),
    }
}

fn decode_fields(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), decode(x)))
                .filter(|(_, x)| !x.is_null())
                .collect(),
        ),
        v => decode(v),
    }
}

/// A successful JSON-RPC answer.
pub fn success(id: &Value, output: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"output": output}})
}

/// A JSON-RPC protocol error (`-32700` parse error, `-32600` invalid request, `-32601` method
/// not found, `-32602` invalid params).
pub fn protocol_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_unwraps_structures_optionals_and_secrets() {
        let input = json!({"STRUCTURE": {"operation-input": {
            "credentials": {"STRUCTURE": {"com.vmware.vcenter.vm.guest.credentials": {
                "interactive_session": false,
                "password": {"OPTIONAL": {"SECRET": "pw"}},
                "saml_token": {"OPTIONAL": null},
                "type": "USERNAME_PASSWORD",
                "user_name": {"OPTIONAL": "root"}}}},
            "spec": {"STRUCTURE": {"x": {"attributes": {"OPTIONAL": null}, "path": "/etc/hosts"}}},
            "vm": "vm-42"}}});
        assert_eq!(
            decode(&input),
            json!({
                "credentials": {"interactive_session": false, "password": "pw", "type": "USERNAME_PASSWORD", "user_name": "root"},
                "spec": {"path": "/etc/hosts"},
                "vm": "vm-42"
            })
        );
    }

    #[test]
    fn decoding_nested_almost_maps_visits_each_value_once() {
        // Each level is an array whose first item is a map entry and whose second is not: it
        // decodes as an array, and the entry's value must not be decoded twice (which was
        // 2^100 work here).
        let mut v = json!(1);
        for _ in 0..100 {
            v = json!([{"STRUCTURE": {"map-entry": {"key": "k", "value": v}}}, 1]);
        }
        let mut out = decode(&v);
        for _ in 0..100 {
            let inner = out[0]["value"].take();
            assert_eq!(out[0]["key"], "k");
            assert_eq!(out[1], 1);
            out = inner;
        }
        assert_eq!(out, 1);
    }

    #[test]
    fn decoding_an_array_of_map_entries_gives_an_object() {
        let v = json!([
            {"STRUCTURE": {"map-entry": {"key": "a", "value": {"OPTIONAL": 1}}}},
            {"STRUCTURE": {"map-entry": {"key": "b", "value": "x"}}}
        ]);
        assert_eq!(decode(&v), json!({"a": 1, "b": "x"}));
    }

    #[test]
    fn encoding_wraps_optional_fields_even_when_absent() {
        let v = json!({"vm": "vm-1", "name": "a", "power_state": "POWERED_ON", "cpu_count": 2});
        assert_eq!(
            encode(&v, &ty("com.vmware.vcenter.VM.summary")),
            json!({"STRUCTURE": {"com.vmware.vcenter.VM.summary": {
                "vm": "vm-1", "name": "a", "power_state": "POWERED_ON",
                "cpu_count": {"OPTIONAL": 2}, "memory_size_MiB": {"OPTIONAL": null}}}})
        );
    }

    #[test]
    fn type_expressions_parse_nested_generics() {
        assert_eq!(
            ty("optional<list<com.vmware.vcenter.VM.summary>>"),
            Ty::Opt(Box::new(Ty::List(Box::new(Ty::Struct(
                "com.vmware.vcenter.VM.summary"
            )))))
        );
        assert_eq!(ty("secret"), Ty::Secret);
        assert_eq!(ty("com.vmware.vcenter.vm.power.state"), Ty::Str);
    }
}
