//! Owns the vim25 managed-object type system as far as `/sdk` serves it: which type extends
//! which (so that a PropertySpec for `ManagedEntity` matches every entity) and which properties
//! each type declares (for `all`, and to tell an unset property from an invalid one).

/// The type `ty` directly extends, if any.
pub fn parent(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "ManagedObject" => return None,
        "ExtensibleManagedObject"
        | "View"
        | "PropertyCollector"
        | "PropertyFilter"
        | "ServiceInstance"
        | "SessionManager"
        | "ViewManager"
        | "SearchIndex"
        | "CustomFieldsManager"
        | "TaskManager"
        | "GuestOperationsManager"
        | "GuestFileManager"
        | "GuestProcessManager"
        | "GuestAuthManager" => "ManagedObject",
        "ManagedEntity" | "Task" => "ExtensibleManagedObject",
        "Folder"
        | "Datacenter"
        | "VirtualMachine"
        | "ComputeResource"
        | "HostSystem"
        | "ResourcePool"
        | "Network"
        | "Datastore"
        | "DistributedVirtualSwitch" => "ManagedEntity",
        "ClusterComputeResource" => "ComputeResource",
        "VirtualApp" => "ResourcePool",
        "ManagedObjectView" => "View",
        "ContainerView" | "ListView" | "InventoryView" => "ManagedObjectView",
        _ => return None,
    })
}

/// Whether `ty` is `wanted` or extends it.
pub fn is_a(ty: &str, wanted: &str) -> bool {
    let mut t = Some(ty);
    while let Some(cur) = t {
        if cur == wanted {
            return true;
        }
        t = parent(cur);
    }
    false
}

/// Whether `ty` names a managed object type this server knows (served or not).
pub fn known(ty: &str) -> bool {
    ty == "ManagedObject" || parent(ty).is_some()
}

/// The properties `ty` declares itself (not inherited), all of those vim25 8.0 declares: one
/// vcmock does not model reads as unset, as vCenter answers a property it has nothing for, and
/// never as `InvalidProperty`.
fn own(ty: &str) -> &'static [&'static str] {
    match ty {
        "ExtensibleManagedObject" => &["value", "availableField"],
        "ManagedEntity" => &[
            "parent",
            "customValue",
            "overallStatus",
            "configStatus",
            "configIssue",
            "effectiveRole",
            "permission",
            "name",
            "disabledMethod",
            "recentTask",
            "declaredAlarmState",
            "triggeredAlarmState",
            "alarmActionsEnabled",
            "tag",
        ],
        "Folder" => &[
            "childType",
            "childEntity",
            "namespace",
            "externallyManagedFolderInfo",
        ],
        "Datacenter" => &[
            "vmFolder",
            "hostFolder",
            "datastoreFolder",
            "networkFolder",
            "datastore",
            "network",
            "configuration",
        ],
        "VirtualMachine" => &[
            "capability",
            "config",
            "layout",
            "layoutEx",
            "storage",
            "environmentBrowser",
            "resourcePool",
            "parentVApp",
            "resourceConfig",
            "runtime",
            "guest",
            "summary",
            "datastore",
            "network",
            "snapshot",
            "rootSnapshot",
            "guestHeartbeatStatus",
        ],
        "ComputeResource" => &[
            "resourcePool",
            "host",
            "datastore",
            "network",
            "summary",
            "environmentBrowser",
            "configurationEx",
            "lifecycleManaged",
            "configManagerEnabled",
            "networkBootMode",
        ],
        "ClusterComputeResource" => &[
            "configuration",
            "summaryEx",
            "recommendation",
            "drsRecommendation",
            "hciConfig",
            "migrationHistory",
            "actionHistory",
            "drsFault",
        ],
        "HostSystem" => &[
            "runtime",
            "summary",
            "hardware",
            "capability",
            "licensableResource",
            "remediationState",
            "precheckRemediationResult",
            "remediationResult",
            "complianceCheckState",
            "complianceCheckResult",
            "configManager",
            "config",
            "vm",
            "datastore",
            "network",
            "datastoreBrowser",
            "systemResources",
            "answerFileValidationState",
            "answerFileValidationResult",
        ],
        "ResourcePool" => &[
            "summary",
            "runtime",
            "owner",
            "resourcePool",
            "vm",
            "config",
            "childConfiguration",
            "namespace",
        ],
        "ServiceInstance" => &["serverClock", "capability", "content"],
        "SessionManager" => &[
            "sessionList",
            "currentSession",
            "message",
            "messageLocaleList",
            "supportedLocaleList",
            "defaultLocale",
        ],
        "PropertyCollector" => &["filter"],
        "PropertyFilter" => &["spec", "partialUpdates"],
        "ViewManager" => &["viewList"],
        "ManagedObjectView" => &["view"],
        "ContainerView" => &["container", "type", "recursive"],
        "CustomFieldsManager" => &["field"],
        "TaskManager" => &["recentTask", "description", "maxCollector"],
        "Task" => &["info"],
        "GuestOperationsManager" => &[
            "authManager",
            "fileManager",
            "processManager",
            "guestWindowsRegistryManager",
            "aliasManager",
        ],
        _ => &[],
    }
}

/// Every property of `ty`, inherited ones first.
pub fn properties(ty: &str) -> Vec<&'static str> {
    let mut chain = Vec::new();
    let mut t = Some(ty);
    while let Some(cur) = t {
        chain.push(cur);
        t = parent(cur);
    }
    chain
        .iter()
        .rev()
        .flat_map(|t| own(t).iter().copied())
        .collect()
}

/// Whether `ty` declares (or inherits) the top-level property `name`.
pub fn has_property(ty: &str, name: &str) -> bool {
    let mut t = Some(ty);
    while let Some(cur) = t {
        if own(cur).contains(&name) {
            return true;
        }
        t = parent(cur);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_entity_matches_every_inventory_type_and_nothing_else() {
        for t in [
            "Folder",
            "Datacenter",
            "VirtualMachine",
            "ComputeResource",
            "ClusterComputeResource",
            "HostSystem",
            "ResourcePool",
            "VirtualApp",
        ] {
            assert!(is_a(t, "ManagedEntity"), "{t}");
            assert!(is_a(t, "ManagedObject"), "{t}");
        }
        for t in [
            "Task",
            "PropertyCollector",
            "ContainerView",
            "SessionManager",
        ] {
            assert!(!is_a(t, "ManagedEntity"), "{t}");
        }
    }

    #[test]
    fn a_cluster_is_a_compute_resource_but_not_the_other_way_round() {
        assert!(is_a("ClusterComputeResource", "ComputeResource"));
        assert!(!is_a("ComputeResource", "ClusterComputeResource"));
    }

    #[test]
    fn properties_include_inherited_ones_and_names_are_checked_along_the_chain() {
        let vm = properties("VirtualMachine");
        assert!(vm.starts_with(&["value", "availableField", "parent"]));
        assert!(vm.contains(&"summary"));
        assert!(has_property("ContainerView", "view"));
        assert!(has_property("Task", "availableField"));
        assert!(!has_property("Folder", "summary"));
        assert!(!has_property("NoSuchType", "name"));
    }
}
