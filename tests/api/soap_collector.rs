//! `/sdk`: PropertyCollector semantics (traversal, skip, inheritance, dotted paths, missing
//! properties, paging, updates), container views, the SearchIndex, power tasks, and the real
//! clients' captured requests replayed.

use reqwest::StatusCode;
use serde_json::json;
use vcmock::soap_xml::Element;

use crate::helpers::{TestApp, root};
use crate::soap::{Answer, call, fetch, find, login, post_raw, text_of};

const PC: (&str, &str) = ("PropertyCollector", "propertyCollector");

async fn rpex(app: &TestApp, cookie: &str, spec: &str, options: &str) -> Answer {
    call(
        app,
        Some(cookie),
        "RetrievePropertiesEx",
        PC,
        &format!("<specSet>{spec}</specSet><options>{options}</options>"),
    )
    .await
}

/// The objects of a RetrieveResult: (type, id).
fn objects(a: &Answer) -> Vec<(String, String)> {
    find(a.body(), "objects")
        .iter()
        .map(|o| {
            let obj = o.child("obj").unwrap();
            (
                obj.attr("type").unwrap().to_owned(),
                obj.trimmed().to_owned(),
            )
        })
        .collect()
}

/// `name` → `val` element of each propSet entry of one object content.
fn props(oc: &Element) -> Vec<(String, &Element)> {
    oc.all("propSet")
        .map(|p| {
            (
                p.child_text("name").unwrap().to_owned(),
                p.child("val").unwrap(),
            )
        })
        .collect()
}

const TRAVERSE_PARENT: &str = r#"<selectSet xmlns:_XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" _XMLSchema-instance:type="TraversalSpec"><name>traverseParent</name><type>ManagedEntity</type><path>parent</path><skip>false</skip><selectSet _XMLSchema-instance:type="SelectionSpec"><name>traverseParent</name></selectSet></selectSet>"#;

#[tokio::test]
async fn traverse_parent_recurses_through_a_named_selection_spec_up_to_the_root() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let spec = format!(
        r#"<propSet><type>ManagedEntity</type><pathSet>name</pathSet><pathSet>parent</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1001</obj><skip>false</skip>{TRAVERSE_PARENT}</objectSet>"#
    );
    let a = rpex(&app, &c, &spec, "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        objects(&a),
        [
            ("VirtualMachine", "vm-1001"),
            ("Folder", "group-v4"),
            ("Datacenter", "datacenter-3"),
            ("Folder", "group-d1")
        ]
        .map(|(t, i)| (t.to_owned(), i.to_owned()))
    );
    let all = find(a.body(), "objects");
    let root = props(all[3]);
    assert_eq!(root.len(), 1, "the root folder has no parent: {}", a.text);
    assert_eq!(
        root[0].1.xsi_type(),
        Some("string"),
        "xsd:string, prefix stripped"
    );
    let dc = props(all[2]);
    assert_eq!(dc[0].1.trimmed(), "DC0");
    assert_eq!(dc[1].1.xsi_type(), Some("ManagedObjectReference"));
}

#[tokio::test]
async fn a_skipped_folder_lists_its_children_and_each_property_spec_applies_by_inheritance() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    // govc's root-folder listing: skip the folder, follow childEntity, read names by type.
    let spec = r#"<propSet><type>Folder</type><pathSet>name</pathSet><pathSet>childType</pathSet></propSet><propSet><type>Datacenter</type><pathSet>name</pathSet></propSet><propSet><type>ComputeResource</type><pathSet>name</pathSet><pathSet>resourcePool</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><skip>true</skip><selectSet xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="TraversalSpec"><type>Folder</type><path>childEntity</path><skip>false</skip></selectSet></objectSet>"#;
    let a = rpex(&app, &c, spec, "").await;
    assert_eq!(
        objects(&a),
        [("Datacenter".to_owned(), "datacenter-3".to_owned())]
    );
    // A TraversalSpec applies only to objects of its type: the Datacenter is not a Folder,
    // so the walk stops there even though the spec could follow childEntity.
    let vms = r#"<propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-h5</obj><skip>true</skip><selectSet><name>f</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet><name>c</name></selectSet></selectSet></objectSet>"#
        .replace(
            "<selectSet><name>c</name></selectSet>",
            r#"<selectSet><name>c</name><type>ComputeResource</type><path>resourcePool</path><skip>false</skip><selectSet><type>ResourcePool</type><path>vm</path><skip>false</skip></selectSet></selectSet>"#,
        );
    let b = rpex(&app, &c, &vms, "").await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    assert_eq!(objects(&b).len(), 6, "{}", b.text);
    assert!(objects(&b).iter().all(|(t, _)| t == "VirtualMachine"));
    // ManagedEntity matches every entity type; Task does not match it.
    let me = r#"<propSet><type>ManagedEntity</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><selectSet><name>all</name><type>Folder</type><path>childEntity</path><selectSet><name>all</name></selectSet><selectSet><name>dc</name></selectSet></selectSet><selectSet><name>dc</name><type>Datacenter</type><path>vmFolder</path><selectSet><name>all</name></selectSet></selectSet></objectSet>"#;
    let m = rpex(&app, &c, me, "").await;
    let types: Vec<String> = objects(&m).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        types,
        [
            "Folder",
            "Datacenter",
            "Folder",
            "VirtualMachine",
            "VirtualMachine",
            "VirtualMachine",
            "VirtualMachine",
            "VirtualMachine",
            "VirtualMachine"
        ]
    );
}

#[tokio::test]
async fn dotted_paths_read_into_data_objects_unset_ones_are_left_out_and_invalid_ones_are_missing()
{
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let spec = r#"<propSet><type>VirtualMachine</type><pathSet>summary.config.uuid</pathSet><pathSet>runtime.powerState</pathSet><pathSet>guest.toolsRunningStatus</pathSet><pathSet>runtime.question</pathSet><pathSet>parentVApp</pathSet><pathSet>config.noSuchField</pathSet><pathSet>noSuchProperty</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1001</obj></objectSet>"#;
    let a = rpex(&app, &c, spec, "").await;
    let oc = find(a.body(), "objects")[0];
    let got = props(oc);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "summary.config.uuid",
            "runtime.powerState",
            "guest.toolsRunningStatus"
        ]
    );
    assert_eq!(got[1].1.xsi_type(), Some("VirtualMachinePowerState"));
    assert_eq!(got[1].1.trimmed(), "poweredOn");
    assert_eq!(got[2].1.trimmed(), "guestToolsRunning");
    let missing: Vec<(String, String)> = oc
        .all("missingSet")
        .map(|m| {
            (
                m.child_text("path").unwrap().to_owned(),
                m.child("fault")
                    .unwrap()
                    .child("fault")
                    .unwrap()
                    .xsi_type()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        missing,
        [
            (
                "config.noSuchField".to_owned(),
                "InvalidProperty".to_owned()
            ),
            ("noSuchProperty".to_owned(), "InvalidProperty".to_owned())
        ]
    );
    // The uuid is the REST identity's bios_uuid.
    let sid = app.login().await;
    let info = app.get("/api/vcenter/vm/vm-1001", &sid).await.json();
    assert_eq!(got[0].1.trimmed(), info["identity"]["bios_uuid"]);
}

#[tokio::test]
async fn max_objects_pages_through_a_token_that_works_once() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let spec = r#"<propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-v4</obj><skip>true</skip><selectSet><type>Folder</type><path>childEntity</path></selectSet></objectSet>"#;
    let first = rpex(&app, &c, spec, "<maxObjects>4</maxObjects>").await;
    assert_eq!(objects(&first).len(), 4);
    let token = text_of(first.returnval(), "token").expect("a token");
    let next = call(
        &app,
        Some(&c),
        "ContinueRetrievePropertiesEx",
        PC,
        &format!("<token>{token}</token>"),
    )
    .await;
    assert_eq!(objects(&next).len(), 2);
    assert!(text_of(next.returnval(), "token").is_none());
    let again = call(
        &app,
        Some(&c),
        "ContinueRetrievePropertiesEx",
        PC,
        &format!("<token>{token}</token>"),
    )
    .await;
    assert_eq!(again.fault().as_deref(), Some("InvalidArgument"));
    assert_eq!(
        text_of(again.detail(), "invalidProperty").as_deref(),
        Some("token")
    );
    // Another session cannot use a session's token.
    let first = rpex(&app, &c, spec, "<maxObjects>1</maxObjects>").await;
    let token = text_of(first.returnval(), "token").unwrap();
    let other = login(&app).await;
    let stolen = call(
        &app,
        Some(&other),
        "ContinueRetrievePropertiesEx",
        PC,
        &format!("<token>{token}</token>"),
    )
    .await;
    assert_eq!(stolen.fault().as_deref(), Some("InvalidArgument"));
}

/// From the root folder through every folder and the datacenter's VM folder.
const WALK: &str = r#"<objectSet><obj type="Folder">group-d1</obj><skip>false</skip><selectSet xsi:type="TraversalSpec"><name>t</name><type>Folder</type><path>childEntity</path><selectSet><name>t</name></selectSet><selectSet><name>d</name></selectSet></selectSet><selectSet xsi:type="TraversalSpec"><name>d</name><type>Datacenter</type><path>vmFolder</path><selectSet><name>t</name></selectSet></selectSet></objectSet>"#;

async fn continue_with(app: &TestApp, cookie: &str, token: &str) -> Answer {
    call(
        app,
        Some(cookie),
        "ContinueRetrievePropertiesEx",
        PC,
        &format!("<token>{token}</token>"),
    )
    .await
}

#[tokio::test]
async fn thousands_of_identical_spec_sets_answer_each_object_once() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let spec = format!(
        "<specSet><propSet><type>ManagedEntity</type><pathSet>name</pathSet><pathSet>nope</pathSet></propSet>{WALK}</specSet>"
    );
    let once = call(&app, Some(&c), "RetrievePropertiesEx", PC, &spec).await;
    let copies = spec.repeat(2000);
    let many = call(&app, Some(&c), "RetrievePropertiesEx", PC, &copies).await;
    assert_eq!(many.status, StatusCode::OK, "{}", many.text);
    let ids = objects(&many);
    assert_eq!(ids, objects(&once));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "each object once");
    assert_eq!(many.text.len(), once.text.len(), "the same answer");
    // The legacy method blends them the same way.
    let legacy = call(&app, Some(&c), "RetrieveProperties", PC, &copies).await;
    assert_eq!(find(legacy.body(), "returnval").len(), ids.len());
}

#[tokio::test]
async fn a_retrieval_answering_more_than_the_byte_bound_at_once_is_invalid_argument_on_spec_set() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    // 30,000 invalid paths: each object answers as many MissingProperty entries, about 10 MB.
    let paths: String = (0..30_000)
        .map(|i| format!("<pathSet>p{i}</pathSet>"))
        .collect();
    let spec =
        format!("<specSet><propSet><type>ManagedEntity</type>{paths}</propSet>{WALK}</specSet>");
    let a = call(&app, Some(&c), "RetrieveProperties", PC, &spec).await;
    assert_eq!(
        a.fault().as_deref(),
        Some("InvalidArgument"),
        "{}",
        &a.text[..a.text.len().min(2000)]
    );
    assert_eq!(
        text_of(a.detail(), "invalidProperty").as_deref(),
        Some("specSet")
    );
    assert!(a.text.len() < 4096, "the refusal is small");
}

#[tokio::test]
async fn a_token_unused_for_ten_minutes_is_gone() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let spec = format!(
        "<specSet><propSet><type>ManagedEntity</type><pathSet>name</pathSet></propSet>{WALK}</specSet>"
    );
    let paged = "<options><maxObjects>1</maxObjects></options>";
    let first = call(
        &app,
        Some(&c),
        "RetrievePropertiesEx",
        PC,
        &format!("{spec}{paged}"),
    )
    .await;
    let stale = text_of(first.returnval(), "token").expect("a token");
    app.clock.advance(std::time::Duration::from_secs(9 * 60));
    let second = call(
        &app,
        Some(&c),
        "RetrievePropertiesEx",
        PC,
        &format!("{spec}{paged}"),
    )
    .await;
    let fresh = text_of(second.returnval(), "token").expect("a token");
    app.clock.advance(std::time::Duration::from_secs(2 * 60));
    let gone = continue_with(&app, &c, &stale).await;
    assert_eq!(gone.fault().as_deref(), Some("InvalidArgument"));
    assert_eq!(
        text_of(gone.detail(), "invalidProperty").as_deref(),
        Some("token")
    );
    let next = continue_with(&app, &c, &fresh).await;
    assert_eq!(objects(&next).len(), 1, "{}", next.text);
}

#[tokio::test]
async fn a_session_s_oldest_token_goes_when_its_tokens_hold_more_than_the_byte_bound() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    // The first page is the root folder's name; what is left is kept with the specSet,
    // whose 46,000 property paths (for the VMs) make each token hold about 1.2 MB.
    let names: String = (0..46_000)
        .map(|i| {
            let d = |n: usize| char::from_digit((n % 36) as u32, 36).unwrap();
            format!("<pathSet>{}{}{}</pathSet>", d(i / 1296), d(i / 36), d(i))
        })
        .collect();
    let spec = format!(
        "<specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><propSet><type>VirtualMachine</type>{names}</propSet>{WALK}</specSet><options><maxObjects>1</maxObjects></options>"
    );
    let mut tokens = Vec::new();
    // Fewer than the 16 tokens a session may hold: only their bytes can push one out.
    for _ in 0..15 {
        let a = call(&app, Some(&c), "RetrievePropertiesEx", PC, &spec).await;
        assert_eq!(
            objects(&a).len(),
            1,
            "{}",
            &a.text[..a.text.len().min(2000)]
        );
        tokens.push(text_of(a.returnval(), "token").expect("a token"));
    }
    let first = continue_with(&app, &c, &tokens[0]).await;
    assert_eq!(first.fault().as_deref(), Some("InvalidArgument"));
    // The newest is kept (cancelled here: its next page would be a large answer to read).
    let last = call(
        &app,
        Some(&c),
        "CancelRetrievePropertiesEx",
        PC,
        &format!("<token>{}</token>", tokens[14]),
    )
    .await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text);
    assert!(last.fault().is_none());
}

#[tokio::test]
async fn no_match_is_an_empty_response_and_an_unknown_selection_name_is_invalid_argument() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let none = rpex(&app, &c, r#"<propSet><type>HostSystem</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj></objectSet>"#, "").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body().children.is_empty(), "{}", none.text);
    let bad = rpex(&app, &c, r#"<propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-d1</obj><selectSet><name>nowhere</name></selectSet></objectSet>"#, "").await;
    assert_eq!(bad.fault().as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn fetch_answers_a_whole_object_an_empty_response_for_unset_and_invalid_property_for_nonsense()
 {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let s = fetch(&app, &c, ("VirtualMachine", "vm-1002"), "summary").await;
    assert_eq!(s.returnval().xsi_type(), Some("VirtualMachineSummary"));
    assert_eq!(
        text_of(s.returnval(), "guestFullName").as_deref(),
        Some("Microsoft Windows Server 2019 (64-bit)")
    );
    // No enum is ever sent empty (pyVmomi refuses them).
    assert!(
        !s.text.contains("></faultToleranceState>") && !s.text.contains("<recordReplayState></")
    );
    let unset = fetch(&app, &c, ("VirtualMachine", "vm-1001"), "parentVApp").await;
    assert_eq!(unset.status, StatusCode::OK);
    assert_eq!(unset.body().name, "FetchResponse");
    assert!(unset.body().children.is_empty());
    let bad = fetch(&app, &c, ("VirtualMachine", "vm-1001"), "bogus").await;
    assert_eq!(bad.fault().as_deref(), Some("InvalidProperty"));
    let gom = fetch(
        &app,
        &c,
        ("GuestOperationsManager", "guestOperationsManager"),
        "authManager",
    )
    .await;
    assert_eq!(gom.returnval().trimmed(), "guestOperationsAuthManager");
    let fields = fetch(
        &app,
        &c,
        ("CustomFieldsManager", "CustomFieldsManager"),
        "field",
    )
    .await;
    assert_eq!(fields.returnval().xsi_type(), Some("ArrayOfCustomFieldDef"));
}

#[tokio::test]
async fn a_container_view_at_the_host_folder_reaches_the_vms_and_ends_with_destroy_view() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let v = call(&app, Some(&c), "CreateContainerView", ("ViewManager", "ViewManager"),
        r#"<container type="Folder">group-h5</container><type>VirtualMachine</type><recursive>true</recursive>"#).await;
    let view = v.returnval().trimmed().to_owned();
    let got = fetch(&app, &c, ("ContainerView", &view), "view").await;
    assert_eq!(
        find(got.returnval(), "ManagedObjectReference").len(),
        6,
        "{}",
        got.text
    );
    let flat = call(&app, Some(&c), "CreateContainerView", ("ViewManager", "ViewManager"),
        r#"<container type="Folder">group-h5</container><type>VirtualMachine</type><recursive>false</recursive>"#).await;
    let flat = flat.returnval().trimmed().to_owned();
    let none = fetch(&app, &c, ("ContainerView", &flat), "view").await;
    assert!(find(none.returnval(), "ManagedObjectReference").is_empty());
    let other = login(&app).await;
    let foreign = fetch(&app, &other, ("ContainerView", &view), "view").await;
    assert_eq!(foreign.fault().as_deref(), Some("ManagedObjectNotFound"));
    let d = call(&app, Some(&c), "DestroyView", ("ContainerView", &view), "").await;
    assert_eq!(d.status, StatusCode::OK);
    let gone = fetch(&app, &c, ("ContainerView", &view), "view").await;
    assert_eq!(gone.fault().as_deref(), Some("ManagedObjectNotFound"));
    let bad = call(&app, Some(&c), "CreateContainerView", ("ViewManager", "ViewManager"),
        r#"<container type="VirtualMachine">vm-1001</container><type>VirtualMachine</type><recursive>true</recursive>"#).await;
    assert_eq!(bad.fault().as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn the_search_index_finds_vms_by_uuid_path_dns_name_ip_and_child_name() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let sid = app.login().await;
    let info = app.get("/api/vcenter/vm/vm-1002", &sid).await.json();
    let si = ("SearchIndex", "SearchIndex");
    let bios = info["identity"]["bios_uuid"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let inst = info["identity"]["instance_uuid"].as_str().unwrap();
    for (method, params, want) in [
        (
            "FindByUuid",
            format!("<uuid>{bios}</uuid><vmSearch>true</vmSearch>"),
            Some("vm-1002"),
        ),
        (
            "FindByUuid",
            format!(
                "<uuid>{inst}</uuid><vmSearch>true</vmSearch><instanceUuid>true</instanceUuid>"
            ),
            Some("vm-1002"),
        ),
        (
            "FindByUuid",
            format!(
                "<uuid>{inst}</uuid><vmSearch>true</vmSearch><instanceUuid>false</instanceUuid>"
            ),
            None,
        ),
        (
            "FindByInventoryPath",
            "<inventoryPath>DC0/vm/windows-01</inventoryPath>".into(),
            Some("vm-1002"),
        ),
        (
            "FindByInventoryPath",
            "<inventoryPath>DC0/vm/nope</inventoryPath>".into(),
            None,
        ),
        (
            "FindByInventoryPath",
            "<inventoryPath>DC0/host/host-11/Resources/linux-01</inventoryPath>".into(),
            Some("vm-1001"),
        ),
        (
            "FindByDnsName",
            "<dnsName>windows-01</dnsName><vmSearch>true</vmSearch>".into(),
            Some("vm-1002"),
        ),
        (
            "FindByIp",
            "<ip>192.0.2.11</ip><vmSearch>true</vmSearch>".into(),
            Some("vm-1001"),
        ),
        (
            "FindByIp",
            "<ip>192.0.2.11</ip><vmSearch>false</vmSearch>".into(),
            None,
        ),
        (
            "FindChild",
            r#"<entity type="Folder">group-v4</entity><name>linux-off</name>"#.into(),
            Some("vm-1003"),
        ),
    ] {
        let a = call(&app, Some(&c), method, si, &params).await;
        assert_eq!(a.status, StatusCode::OK, "{method} {params}: {}", a.text);
        let got = a.body().child("returnval").map(|r| r.trimmed().to_owned());
        assert_eq!(got.as_deref(), want, "{method} {params}");
    }
}

async fn wait_ex(app: &TestApp, c: &str, collector: &str, version: &str, max_wait: &str) -> Answer {
    call(
        app,
        Some(c),
        "WaitForUpdatesEx",
        ("PropertyCollector", collector),
        &format!("<version>{version}</version><options>{max_wait}</options>"),
    )
    .await
}

#[tokio::test]
async fn a_power_task_is_done_when_returned_and_govcs_wait_sees_it_enter_then_nothing_more() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let pc = call(&app, Some(&c), "CreatePropertyCollector", PC, "").await;
    let pc = pc.returnval().trimmed().to_owned();
    let t = call(
        &app,
        Some(&c),
        "PowerOffVM_Task",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    assert_eq!(t.returnval().attr("type"), Some("Task"));
    let task = t.returnval().trimmed().to_owned();
    let f = call(&app, Some(&c), "CreateFilter", ("PropertyCollector", &pc),
        &format!(r#"<spec><propSet><type>Task</type><pathSet>info</pathSet></propSet><objectSet><obj type="Task">{task}</obj></objectSet></spec><partialUpdates>false</partialUpdates>"#)).await;
    assert_eq!(
        f.returnval().attr("type"),
        Some("PropertyFilter"),
        "{}",
        f.text
    );
    let first = wait_ex(&app, &c, &pc, "", "").await;
    let set = first.returnval();
    assert_eq!(text_of(set, "kind").as_deref(), Some("enter"));
    let val = find(set, "val")[0];
    assert_eq!(val.xsi_type(), Some("TaskInfo"));
    assert_eq!(val.child_text("state"), Some("success"));
    assert_eq!(val.child_text("name"), Some("PowerOffVM_Task"));
    assert_eq!(
        val.child("reason").unwrap().xsi_type(),
        Some("TaskReasonUser")
    );
    let version = set.child_text("version").unwrap().to_owned();
    let quiet = wait_ex(
        &app,
        &c,
        &pc,
        &version,
        "<maxWaitSeconds>0</maxWaitSeconds>",
    )
    .await;
    assert_eq!(quiet.status, StatusCode::OK);
    assert!(quiet.body().children.is_empty(), "{}", quiet.text);
    let stale = wait_ex(&app, &c, &pc, "999", "<maxWaitSeconds>0</maxWaitSeconds>").await;
    assert_eq!(stale.fault().as_deref(), Some("InvalidCollectorVersion"));
    let d = call(
        &app,
        Some(&c),
        "DestroyPropertyCollector",
        ("PropertyCollector", &pc),
        "",
    )
    .await;
    assert_eq!(d.status, StatusCode::OK);
    let gone = wait_ex(&app, &c, &pc, "", "").await;
    assert_eq!(gone.fault().as_deref(), Some("ManagedObjectNotFound"));
}

#[tokio::test]
async fn a_wait_sees_a_change_made_over_rest_as_a_modify() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let v = filtered(&app, &c, "propertyCollector",
        r#"<spec><propSet><type>VirtualMachine</type><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1003</obj></objectSet></spec><partialUpdates>true</partialUpdates>"#).await;
    let waiter = blocked_wait(&app, &c, "propertyCollector", &v, 20).await;
    let sid = app.login().await;
    crate::helpers::power(&app, &sid, "vm-1003", "start").await;
    let a = woken(waiter).await;
    assert_eq!(
        text_of(a.returnval(), "kind").as_deref(),
        Some("modify"),
        "{}",
        a.text
    );
    assert_eq!(text_of(a.returnval(), "val").as_deref(), Some("poweredOn"));
}

/// A filter spec on vm-1001's name.
const NAME_OF_1001: &str = r#"<spec><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1001</obj></objectSet></spec><partialUpdates>false</partialUpdates>"#;

/// Creates a filter of `spec` on `collector` and answers the version of the first wait (which
/// reports every object as it enters).
async fn filtered(app: &TestApp, cookie: &str, collector: &str, spec: &str) -> String {
    let f = call(
        app,
        Some(cookie),
        "CreateFilter",
        ("PropertyCollector", collector),
        spec,
    )
    .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    let first = wait_ex(
        app,
        cookie,
        collector,
        "",
        "<maxWaitSeconds>0</maxWaitSeconds>",
    )
    .await;
    text_of(first.returnval(), "version").expect("the first wait has a version")
}

/// Starts a `WaitForUpdatesEx` on `collector` and lets it block; its answer comes from the
/// handle (a correctness guard: a wait nothing wakes would end empty after `max_wait` s).
async fn blocked_wait(
    app: &TestApp,
    cookie: &str,
    collector: &str,
    version: &str,
    max_wait: u32,
) -> tokio::task::JoinHandle<Answer> {
    let params = format!(
        "<version>{version}</version><options><maxWaitSeconds>{max_wait}</maxWaitSeconds></options>"
    );
    blocked(app, cookie, "WaitForUpdatesEx", collector, params).await
}

/// Starts `method` (`WaitForUpdates` or `WaitForUpdatesEx`) with `params` on `collector` and
/// lets it block.
async fn blocked(
    app: &TestApp,
    cookie: &str,
    method: &str,
    collector: &str,
    params: String,
) -> tokio::task::JoinHandle<Answer> {
    let (url, client, cookie) = (app.url("/sdk"), app.client.clone(), cookie.to_owned());
    let body = crate::soap::envelope(method, ("PropertyCollector", collector), &params);
    let handle = tokio::spawn(async move {
        let r = client
            .post(url)
            .header("cookie", format!("vmware_soap_session={cookie}"))
            .body(body)
            .send()
            .await
            .unwrap();
        crate::soap::read(r).await
    });
    // Long enough for its first pass to find nothing and the wait to block.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    handle
}

/// The answer of a blocked wait, which must come within 20 s.
async fn woken(handle: tokio::task::JoinHandle<Answer>) -> Answer {
    tokio::time::timeout(std::time::Duration::from_secs(20), handle)
        .await
        .expect("the wait was woken")
        .unwrap()
}

#[tokio::test]
async fn a_blocked_wait_is_woken_by_a_change_made_over_rest_soap_or_the_admin_api() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    call(&app, Some(&c), "CreateFilter", PC,
        r#"<spec><propSet><type>VirtualMachine</type><pathSet>runtime.powerState</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1003</obj></objectSet></spec><partialUpdates>false</partialUpdates>"#).await;
    let first = wait_ex(
        &app,
        &c,
        "propertyCollector",
        "",
        "<maxWaitSeconds>0</maxWaitSeconds>",
    )
    .await;
    let mut version = text_of(first.returnval(), "version").unwrap();
    let sid = app.login().await;
    // vm-1003 starts powered off; each wire changes it once, while a wait blocks for 60 s.
    for (wire, want) in [
        ("REST", "poweredOn"),
        ("SOAP", "poweredOff"),
        ("admin API", "poweredOn"),
    ] {
        let waiter = blocked_wait(&app, &c, "propertyCollector", &version, 60).await;
        match wire {
            "REST" => crate::helpers::power(&app, &sid, "vm-1003", "start").await,
            "SOAP" => {
                let t = call(
                    &app,
                    Some(&c),
                    "PowerOffVM_Task",
                    ("VirtualMachine", "vm-1003"),
                    "",
                )
                .await;
                assert_eq!(t.status, StatusCode::OK, "{}", t.text);
            }
            _ => {
                let r = app
                    .client
                    .put(app.url("/_mock/vms/vm-1003/power"))
                    .json(&json!({"state": "POWERED_ON"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::NO_CONTENT);
            }
        }
        let a = woken(waiter).await;
        assert_eq!(
            text_of(a.returnval(), "kind").as_deref(),
            Some("modify"),
            "{wire}: {}",
            a.text
        );
        assert_eq!(
            text_of(a.returnval(), "val").as_deref(),
            Some(want),
            "{wire}"
        );
        version = text_of(a.returnval(), "version").unwrap();
    }
}

#[tokio::test]
async fn a_later_wait_on_a_collector_ends_the_blocked_one_empty_and_logout_cancels_it() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let v = filtered(&app, &c, "propertyCollector", NAME_OF_1001).await;
    let older = blocked_wait(&app, &c, "propertyCollector", &v, 60).await;
    let newer = blocked_wait(&app, &c, "propertyCollector", &v, 60).await;
    let a = woken(older).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.body().children.is_empty(), "an empty answer: {}", a.text);
    // The newer one is the collector's wait now; the session's end cancels it.
    let out = call(
        &app,
        Some(&c),
        "Logout",
        ("SessionManager", "SessionManager"),
        "",
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.text);
    let b = woken(newer).await;
    assert_eq!(b.fault().as_deref(), Some("RequestCanceled"), "{}", b.text);
}

#[tokio::test]
async fn destroying_a_collector_cancels_the_wait_blocked_on_it() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let pc = call(&app, Some(&c), "CreatePropertyCollector", PC, "").await;
    let id = pc.returnval().trimmed().to_owned();
    let v = filtered(&app, &c, &id, NAME_OF_1001).await;
    let waiter = blocked_wait(&app, &c, &id, &v, 60).await;
    let d = call(
        &app,
        Some(&c),
        "DestroyPropertyCollector",
        ("PropertyCollector", &id),
        "",
    )
    .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let a = woken(waiter).await;
    assert_eq!(a.fault().as_deref(), Some("RequestCanceled"), "{}", a.text);
}

#[tokio::test]
async fn powering_on_a_running_vm_ends_its_task_with_invalid_power_state() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let t = call(
        &app,
        Some(&c),
        "PowerOnVM_Task",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    let task = t.returnval().trimmed().to_owned();
    let info = fetch(&app, &c, ("Task", &task), "info").await;
    let i = info.returnval();
    assert_eq!(i.child_text("state"), Some("error"));
    let fault = i.child("error").unwrap().child("fault").unwrap();
    assert_eq!(fault.xsi_type(), Some("InvalidPowerState"));
    assert_eq!(fault.child_text("requestedState"), Some("poweredOff"));
    assert_eq!(fault.child_text("existingState"), Some("poweredOn"));
    assert!(
        i.child("error")
            .unwrap()
            .child_text("localizedMessage")
            .unwrap()
            .contains("Powered on")
    );
}

#[tokio::test]
async fn a_soap_power_off_revokes_a_rest_transfer_url() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hostname")
        .await;
    let c = login(&app).await;
    let t = call(
        &app,
        Some(&c),
        "PowerOffVM_Task",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    assert_eq!(t.status, StatusCode::OK);
    let r = app.client.get(&url).send().await.unwrap();
    assert_ne!(r.status(), StatusCode::OK);
    let power = app.get("/api/vcenter/vm/vm-1001/power", &sid).await.json();
    assert_eq!(
        power,
        json!({"state": "POWERED_OFF", "clean_power_off": false})
    );
}

#[tokio::test]
async fn guest_shutdown_needs_a_running_vm_with_tools_and_powers_off_cleanly() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let off = call(
        &app,
        Some(&c),
        "ShutdownGuest",
        ("VirtualMachine", "vm-1003"),
        "",
    )
    .await;
    assert_eq!(off.fault().as_deref(), Some("InvalidPowerState"));
    let no_tools = call(
        &app,
        Some(&c),
        "RebootGuest",
        ("VirtualMachine", "vm-1005"),
        "",
    )
    .await;
    assert_eq!(no_tools.fault().as_deref(), Some("ToolsUnavailable"));
    let ok = call(
        &app,
        Some(&c),
        "ShutdownGuest",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let sid = app.login().await;
    let power = app.get("/api/vcenter/vm/vm-1001/power", &sid).await.json();
    assert_eq!(
        power,
        json!({"state": "POWERED_OFF", "clean_power_off": true})
    );
}

/// The captured requests replayed: ids of the capture's canned inventory mapped to ours.
fn replayable(name: &str) -> bool {
    let method = name.split_once('-').map(|(_, m)| m).unwrap_or("");
    [
        "RetrieveServiceContent",
        "Fetch-",
        "RetrieveProperties-",
        "RetrievePropertiesEx-",
        "FindBy",
        "CreateContainerView",
    ]
    .iter()
    .any(|p| method.starts_with(p))
        && !name.contains("task-info")
        && !name.contains("-view.xml")
        && !name.contains("container-view")
        && !name.contains("-view-")
}

#[tokio::test]
async fn every_captured_read_request_of_pyvmomi_and_govmomi_is_answered_without_a_fault() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/soap/captures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".xml") && replayable(n))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "{names:?}");
    for name in &names {
        let body = std::fs::read_to_string(dir.join(name))
            .unwrap()
            .replace("group-v3", "group-v4")
            .replace("datacenter-2", "datacenter-3");
        let a = post_raw(&app, Some(&c), body).await;
        assert_eq!(a.status, StatusCode::OK, "{name}: {}", a.text);
    }
}

#[tokio::test]
async fn every_captured_request_reads_as_one_call() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/soap/captures");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".xml") || name.starts_with("GET-") || name.contains("guestFile") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let call = vcmock::soap_xml::read_envelope(&bytes, vcmock::soap_xml::Bounds::default())
            .unwrap_or_else(|f| panic!("{name}: {f:?}"));
        let method = name.split_once('-').unwrap().1.trim_end_matches(".xml");
        assert!(
            method.starts_with(&call.method),
            "{name} read as {}",
            call.method
        );
        assert!(call.body.child("_this").is_some(), "{name}");
        n += 1;
    }
    assert!(n >= 90, "{n}");
}

#[tokio::test]
async fn the_datacenter_takes_the_fixtures_name_and_keeps_it_through_a_state_dump() {
    let mut fixture = vcmock::Fixture::default_fixture();
    fixture.datacenter = Some("Lab".into());
    let app = TestApp::spawn_with(|b| b.fixture(fixture)).await;
    let c = login(&app).await;
    let name = fetch(&app, &c, ("Datacenter", "datacenter-3"), "name").await;
    assert_eq!(name.returnval().trimmed(), "Lab");
    let found = call(
        &app,
        Some(&c),
        "FindByInventoryPath",
        ("SearchIndex", "SearchIndex"),
        "<inventoryPath>Lab/vm/linux-01</inventoryPath>",
    )
    .await;
    assert_eq!(found.returnval().trimmed(), "vm-1001");
    assert_eq!(
        app.mock.snapshot().unwrap().datacenter.as_deref(),
        Some("Lab")
    );
}

#[tokio::test]
async fn cancel_wait_for_updates_ends_a_blocked_wait_with_request_canceled() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let v = filtered(&app, &c, "propertyCollector", NAME_OF_1001).await;
    // The legacy WaitForUpdates, which has no maxWaitSeconds: only the cancel ends it.
    let waiter = blocked(
        &app,
        &c,
        "WaitForUpdates",
        "propertyCollector",
        format!("<version>{v}</version>"),
    )
    .await;
    let cancel = call(&app, Some(&c), "CancelWaitForUpdates", PC, "").await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.text);
    let a = woken(waiter).await;
    assert_eq!(a.fault().as_deref(), Some("RequestCanceled"), "{}", a.text);
}

#[tokio::test]
async fn a_wait_is_truncated_only_when_updates_were_held_back() {
    // group-v4 holds six VMs; a second filter on vm-1001 alone has one more update.
    const SIX: &str = r#"<spec><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-v4</obj><skip>true</skip><selectSet><type>Folder</type><path>childEntity</path></selectSet></objectSet></spec><partialUpdates>false</partialUpdates>"#;
    const ONE: &str = r#"<spec><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="VirtualMachine">vm-1001</obj></objectSet></spec><partialUpdates>false</partialUpdates>"#;
    // (filters, maxObjectUpdates, updates answered, truncated)
    for (filters, limit, answered, truncated) in [
        (&[SIX][..], 6, 6, "false"),
        (&[SIX][..], 7, 6, "false"),
        (&[SIX][..], 5, 5, "true"),
        (&[SIX, ONE][..], 6, 6, "true"),
        (&[SIX, ONE][..], 7, 7, "false"),
    ] {
        let app = TestApp::spawn().await;
        let c = login(&app).await;
        for spec in filters {
            let f = call(&app, Some(&c), "CreateFilter", PC, spec).await;
            assert_eq!(f.status, StatusCode::OK, "{}", f.text);
        }
        let a = wait_ex(
            &app,
            &c,
            "propertyCollector",
            "",
            &format!("<maxObjectUpdates>{limit}</maxObjectUpdates>"),
        )
        .await;
        let case = format!("{} filters, limit {limit}", filters.len());
        assert_eq!(find(a.returnval(), "objectSet").len(), answered, "{case}");
        assert_eq!(
            text_of(a.returnval(), "truncated").as_deref(),
            Some(truncated),
            "{case}"
        );
    }
}

#[tokio::test]
async fn max_object_updates_holds_the_rest_back_for_the_next_wait() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    call(&app, Some(&c), "CreateFilter", PC,
        r#"<spec><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet><objectSet><obj type="Folder">group-v4</obj><skip>true</skip><selectSet><type>Folder</type><path>childEntity</path></selectSet></objectSet></spec><partialUpdates>false</partialUpdates>"#).await;
    let first = wait_ex(
        &app,
        &c,
        "propertyCollector",
        "",
        "<maxObjectUpdates>4</maxObjectUpdates>",
    )
    .await;
    assert_eq!(find(first.returnval(), "objectSet").len(), 4);
    assert_eq!(
        text_of(first.returnval(), "truncated").as_deref(),
        Some("true")
    );
    let v = text_of(first.returnval(), "version").unwrap();
    let rest = wait_ex(
        &app,
        &c,
        "propertyCollector",
        &v,
        "<maxWaitSeconds>0</maxWaitSeconds><maxObjectUpdates>4</maxObjectUpdates>",
    )
    .await;
    assert_eq!(find(rest.returnval(), "objectSet").len(), 2);
    assert_eq!(
        text_of(rest.returnval(), "truncated").as_deref(),
        Some("false")
    );
    assert!(
        find(rest.returnval(), "kind")
            .iter()
            .all(|k| k.trimmed() == "enter")
    );
}

#[tokio::test]
async fn a_rule_on_a_power_operation_fires_for_rest_and_for_its_soap_method_and_counts_both() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let sid = app.login().await;
    // (rule's operation, the REST call, the SOAP method, whether SOAP answers a task)
    for (operation, rest, method, task) in [
        (
            "vm.power.stop",
            "/api/vcenter/vm/vm-1006/power?action=stop",
            "PowerOffVM_Task",
            true,
        ),
        (
            "vm.guest.power.shutdown",
            "/api/vcenter/vm/vm-1001/guest/power?action=shutdown",
            "ShutdownGuest",
            false,
        ),
    ] {
        let vm = rest.split('/').nth(4).unwrap();
        let r = app.client.post(app.url("/_mock/faults"))
            .json(&json!({"operation": operation, "effect": {"kind": "error", "error_type": "RESOURCE_BUSY"}}))
            .send().await.unwrap();
        assert!(r.status().is_success());
        let id = r.json::<serde_json::Value>().await.unwrap()["id"].clone();
        let over_rest = app
            .send(reqwest::Method::POST, rest, Some(&sid), None)
            .await;
        assert_eq!(over_rest.error_type(), "RESOURCE_BUSY", "{operation}");
        let a = call(&app, Some(&c), method, ("VirtualMachine", vm), "").await;
        if task {
            // A server-side failure after the call was accepted ends the task in error.
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
            let t = a.returnval().trimmed().to_owned();
            let info = fetch(&app, &c, ("Task", &t), "info").await;
            assert_eq!(
                info.returnval().child_text("state"),
                Some("error"),
                "{}",
                info.text
            );
            let error = info.returnval().child("error").unwrap();
            assert_eq!(
                error.child("fault").unwrap().xsi_type(),
                Some("TaskInProgress")
            );
        } else {
            assert_eq!(a.fault().as_deref(), Some("TaskInProgress"), "{}", a.text);
        }
        let power = app
            .get(&format!("/api/vcenter/vm/{vm}/power"), &sid)
            .await
            .json();
        assert_eq!(power["state"], "POWERED_ON", "{operation}: nothing changed");
        let rules = app
            .client
            .get(app.url("/_mock/faults"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        let rule = rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap();
        assert_eq!(rule["fired"], 2, "{operation}: REST and SOAP: {rule}");
        let entry = app
            .mock
            .journal()
            .requests()
            .into_iter()
            .rev()
            .find(|e| e.path == "/sdk" && e.operation == operation)
            .expect("the SOAP call is journaled under the operation's name");
        assert_eq!(entry.vm.as_deref(), Some(vm));
        assert!(entry.note.unwrap_or_default().contains("fault rule"));
        let clear = app
            .client
            .delete(app.url(&format!("/_mock/faults/{id}")))
            .send()
            .await
            .unwrap();
        assert!(clear.status().is_success());
    }
}

#[tokio::test]
async fn a_rule_that_faults_the_call_itself_is_the_power_method_s_fault_not_its_task_s() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    let r = app.client.post(app.url("/_mock/faults"))
        .json(&json!({"operation": "vm.power.start", "effect": {"kind": "error", "error_type": "UNAUTHORIZED"}}))
        .send().await.unwrap();
    assert!(r.status().is_success());
    let a = call(
        &app,
        Some(&c),
        "PowerOnVM_Task",
        ("VirtualMachine", "vm-1003"),
        "",
    )
    .await;
    assert_eq!(a.fault().as_deref(), Some("NoPermission"), "{}", a.text);
}

#[tokio::test]
async fn task_times_follow_the_manual_clock_and_reset_ends_soap_sessions_views_and_tasks() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    // Less than the 30-minute idle timeout, so the session lives on.
    app.clock.advance(std::time::Duration::from_secs(1000));
    let t = call(
        &app,
        Some(&c),
        "PowerOffVM_Task",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    let task = t.returnval().trimmed().to_owned();
    let info = fetch(&app, &c, ("Task", &task), "info").await;
    assert_eq!(
        info.returnval().child_text("completeTime"),
        Some("2024-01-01T00:16:40.000000Z")
    );
    let v = call(&app, Some(&c), "CreateContainerView", ("ViewManager", "ViewManager"),
        r#"<container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive>"#).await;
    let view = v.returnval().trimmed().to_owned();
    app.mock.reset();
    let after = fetch(&app, &c, ("Task", &task), "info").await;
    assert_eq!(
        after.fault().as_deref(),
        Some("NotAuthenticated"),
        "{}",
        after.text
    );
    let c2 = login(&app).await;
    assert_eq!(
        fetch(&app, &c2, ("Task", &task), "info")
            .await
            .fault()
            .as_deref(),
        Some("ManagedObjectNotFound")
    );
    assert_eq!(
        fetch(&app, &c2, ("ContainerView", &view), "view")
            .await
            .fault()
            .as_deref(),
        Some("ManagedObjectNotFound")
    );
    // The VM is back as the fixture has it.
    let state = fetch(&app, &c2, ("VirtualMachine", "vm-1001"), "runtime").await;
    assert_eq!(
        state.returnval().child_text("powerState"),
        Some("poweredOn")
    );
}
