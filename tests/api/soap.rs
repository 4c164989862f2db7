//! `/sdk` (SOAP vim25): the bootstrap, sessions shared with REST, faults and XML edge cases.
//! The PropertyCollector, views, search and tasks are in `soap_collector.rs`.

use reqwest::StatusCode;
use serde_json::json;
use vcmock::soap_xml::{Bounds, Element, parse};

use crate::helpers::{ADMIN, READONLY, TestApp};

pub const ENV_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<soapenv:Body>"#;
pub const ENV_CLOSE: &str = "</soapenv:Body></soapenv:Envelope>";

/// A SOAP answer: status, headers, and the parsed envelope.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub envelope: Element,
}

impl Answer {
    /// The element inside `Body` (`XResponse` or `Fault`).
    pub fn body(&self) -> &Element {
        &self.envelope.child("Body").expect("Body").children[0]
    }

    /// The fault's vim25 type (the detail element's `xsi:type`), if this is a fault.
    pub fn fault(&self) -> Option<String> {
        let f = self.body();
        if f.name != "Fault" {
            return None;
        }
        let d = &f.child("detail")?.children[0];
        assert_eq!(d.name, format!("{}Fault", d.xsi_type().unwrap()));
        d.xsi_type().map(str::to_owned)
    }

    /// The fault's detail object.
    pub fn detail(&self) -> &Element {
        &self.body().child("detail").expect("detail").children[0]
    }

    /// The first `returnval`.
    pub fn returnval(&self) -> &Element {
        self.body().child("returnval").expect("returnval")
    }
}

/// Every descendant of `el` named `name`, depth first.
pub fn find<'a>(el: &'a Element, name: &str) -> Vec<&'a Element> {
    let mut out = Vec::new();
    for c in &el.children {
        if c.name == name {
            out.push(c);
        }
        out.extend(find(c, name));
    }
    out
}

/// The text of the first descendant named `name`.
pub fn text_of(el: &Element, name: &str) -> Option<String> {
    find(el, name).first().map(|e| e.trimmed().to_owned())
}

/// A pyVmomi-style request body.
pub fn envelope(method: &str, this: (&str, &str), params: &str) -> String {
    format!(
        r#"{ENV_OPEN}<{method} xmlns="urn:vim25"><_this versionId="8.0.3.0" type="{}">{}</_this>{params}</{method}>{ENV_CLOSE}"#,
        this.0, this.1
    )
}

/// Posts `body` to `/sdk` with an optional session cookie.
pub async fn post_raw(app: &TestApp, cookie: Option<&str>, body: String) -> Answer {
    let mut rb = app
        .client
        .post(app.url("/sdk"))
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", "\"urn:vim25/8.0.3.0\"")
        .body(body);
    if let Some(c) = cookie {
        rb = rb.header(
            "cookie",
            format!("vmware_soap_session=\"{c}\"; Path=/; HttpOnly; Secure;"),
        );
    }
    let r = rb.send().await.unwrap();
    read(r).await
}

pub async fn read(r: reqwest::Response) -> Answer {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let envelope = parse(text.as_bytes(), Bounds::default())
        .unwrap_or_else(|e| panic!("answer is not XML ({e}): {text}"));
    assert_eq!(envelope.name, "Envelope", "{text}");
    Answer {
        status,
        headers,
        text,
        envelope,
    }
}

/// Calls `method` on `this`.
pub async fn call(
    app: &TestApp,
    cookie: Option<&str>,
    method: &str,
    this: (&str, &str),
    params: &str,
) -> Answer {
    post_raw(app, cookie, envelope(method, this, params)).await
}

/// Logs in over SOAP and returns the session cookie's value.
pub async fn login_as(app: &TestApp, user: (&str, &str)) -> String {
    let a = call(
        app,
        None,
        "Login",
        ("SessionManager", "SessionManager"),
        &format!(
            "<userName>{}</userName><password>{}</password>",
            user.0, user.1
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let cookie = a.headers["set-cookie"].to_str().unwrap().to_owned();
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("vmware_soap_session=")
        .unwrap()
        .trim_matches('"')
        .to_owned();
    assert_eq!(
        text_of(a.returnval(), "key").as_deref(),
        Some(value.as_str())
    );
    value
}

pub async fn login(app: &TestApp) -> String {
    login_as(app, ADMIN).await
}

/// `Fetch` of one property.
pub async fn fetch(app: &TestApp, cookie: &str, this: (&str, &str), prop: &str) -> Answer {
    call(
        app,
        Some(cookie),
        "Fetch",
        this,
        &format!("<prop versionId=\"8.0.3.0\">{prop}</prop>"),
    )
    .await
}

#[tokio::test]
async fn the_service_versions_file_advertises_8_0_3_and_prior_versions_back_to_6_5() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(app.url("/sdk/vimServiceVersions.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc = parse(r.text().await.unwrap().as_bytes(), Bounds::default()).unwrap();
    assert_eq!(doc.name, "namespaces");
    assert_eq!(doc.attr("version"), Some("1.0"));
    let ns = doc.child("namespace").unwrap();
    assert_eq!(ns.child_text("name"), Some("urn:vim25"));
    assert_eq!(ns.child_text("version"), Some("8.0.3.0"));
    let prior: Vec<&str> = ns
        .child("priorVersions")
        .unwrap()
        .all("version")
        .map(Element::trimmed)
        .collect();
    assert!(prior.contains(&"8.0.2.0") && prior.last() == Some(&"6.5"));
}

#[tokio::test]
async fn retrieve_service_content_needs_no_session_and_says_virtual_center_8_0_3() {
    let app = TestApp::spawn().await;
    let a = call(
        &app,
        None,
        "RetrieveServiceContent",
        ("ServiceInstance", "ServiceInstance"),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "text/xml; charset=utf-8");
    let sc = a.returnval();
    let about = sc.child("about").unwrap();
    assert_eq!(about.child_text("apiType"), Some("VirtualCenter"));
    assert_eq!(about.child_text("apiVersion"), Some("8.0.3.0"));
    assert_eq!(about.child_text("version"), Some("8.0.3"));
    for (field, ty, id) in [
        ("rootFolder", "Folder", "group-d1"),
        (
            "propertyCollector",
            "PropertyCollector",
            "propertyCollector",
        ),
        ("sessionManager", "SessionManager", "SessionManager"),
        ("searchIndex", "SearchIndex", "SearchIndex"),
        ("viewManager", "ViewManager", "ViewManager"),
        (
            "customFieldsManager",
            "CustomFieldsManager",
            "CustomFieldsManager",
        ),
        (
            "guestOperationsManager",
            "GuestOperationsManager",
            "guestOperationsManager",
        ),
    ] {
        let m = sc.child(field).unwrap_or_else(|| panic!("{field}"));
        assert_eq!((m.attr("type"), m.trimmed()), (Some(ty), id));
    }
}

#[tokio::test]
async fn a_bad_password_is_invalid_login_with_vcenters_message_and_http_500() {
    let app = TestApp::spawn().await;
    let a = call(
        &app,
        None,
        "Login",
        ("SessionManager", "SessionManager"),
        "<userName>administrator@vsphere.local</userName><password>nope</password>",
    )
    .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.fault().as_deref(), Some("InvalidLogin"));
    assert_eq!(a.body().child_text("faultcode"), Some("ServerFaultCode"));
    assert_eq!(
        a.body().child_text("faultstring"),
        Some("Cannot complete login due to an incorrect user name or password.")
    );
    assert!(a.headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn a_soap_session_is_a_rest_session_and_a_rest_session_works_on_sdk() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    let r = app.get("/api/vcenter/vm", &cookie).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rest = app.login().await;
    let a = fetch(
        &app,
        &rest,
        ("SessionManager", "SessionManager"),
        "currentSession",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        text_of(a.returnval(), "userName").as_deref(),
        Some("VSPHERE.LOCAL\\Administrator")
    );
    assert_eq!(a.returnval().xsi_type(), Some("UserSession"));
}

#[tokio::test]
async fn logout_ends_the_session_on_both_wires() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    let a = call(
        &app,
        Some(&cookie),
        "Logout",
        ("SessionManager", "SessionManager"),
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body().name, "LogoutResponse");
    assert!(a.body().children.is_empty());
    assert_eq!(
        app.get("/api/vcenter/vm", &cookie).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = call(
        &app,
        Some(&cookie),
        "Logout",
        ("SessionManager", "SessionManager"),
        "",
    )
    .await;
    assert_eq!(again.fault().as_deref(), Some("NotAuthenticated"));
}

#[tokio::test]
async fn without_a_session_calls_are_not_authenticated_and_retrieve_reports_it_in_missing_set() {
    let app = TestApp::spawn().await;
    let a = call(
        &app,
        Some("no-such-session"),
        "CreateContainerView",
        ("ViewManager", "ViewManager"),
        r#"<container type="Folder">group-d1</container><type>VirtualMachine</type><recursive>true</recursive>"#,
    )
    .await;
    assert_eq!(a.fault().as_deref(), Some("NotAuthenticated"));
    assert_eq!(
        text_of(a.detail(), "privilegeId").as_deref(),
        Some("System.View")
    );
    let f = fetch(
        &app,
        "no-such-session",
        ("VirtualMachine", "vm-1001"),
        "name",
    )
    .await;
    assert_eq!(f.fault().as_deref(), Some("NotAuthenticated"));
    assert_eq!(
        text_of(f.detail(), "privilegeId").as_deref(),
        Some("System.Read"),
        "reading a property names System.Read"
    );
    // govc's saved-session check: currentSession comes back in missingSet.
    let r = call(
        &app,
        Some("no-such-session"),
        "RetrievePropertiesEx",
        ("PropertyCollector", "propertyCollector"),
        r#"<specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type="SessionManager">SessionManager</obj></objectSet></specSet><options/>"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let missing = find(r.returnval(), "missingSet");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].child_text("path"), Some("currentSession"));
    assert_eq!(
        missing[0]
            .child("fault")
            .unwrap()
            .child("fault")
            .unwrap()
            .xsi_type(),
        Some("NotAuthenticated")
    );
    assert!(find(r.returnval(), "propSet").is_empty());
}

#[tokio::test]
async fn an_unserved_method_is_method_not_found_naming_receiver_and_method() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    for (method, this) in [
        ("CloneVM_Task", ("VirtualMachine", "vm-1001")),
        ("PowerOnVM_Task", ("Folder", "group-d1")),
        ("NoSuchMethod", ("ServiceInstance", "ServiceInstance")),
    ] {
        let a = call(&app, Some(&cookie), method, this, "").await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(a.fault().as_deref(), Some("MethodNotFound"), "{method}");
        assert_eq!(text_of(a.detail(), "method").as_deref(), Some(method));
        let recv = a.detail().child("receiver").unwrap();
        assert_eq!((recv.attr("type"), recv.trimmed()), (Some(this.0), this.1));
    }
}

#[tokio::test]
async fn an_unknown_this_is_managed_object_not_found() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    let a = call(
        &app,
        Some(&cookie),
        "PowerOffVM_Task",
        ("VirtualMachine", "vm-9999"),
        "",
    )
    .await;
    assert_eq!(a.fault().as_deref(), Some("ManagedObjectNotFound"));
    let obj = a.detail().child("obj").unwrap();
    assert_eq!(
        (obj.attr("type"), obj.trimmed()),
        (Some("VirtualMachine"), "vm-9999")
    );
}

#[tokio::test]
async fn malformed_or_foreign_bodies_are_soap_faults_never_html_or_json() {
    let app = TestApp::spawn().await;
    for body in [
        "",
        "not xml at all",
        "<unclosed>",
        r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>"#,
        r#"<Envelope xmlns="urn:other"><Body/></Envelope>"#,
        r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body/></Envelope>"#,
        r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Login xmlns="urn:vim25"/></Body></Envelope>"#,
        &"<a>".repeat(1000),
    ] {
        let a = post_raw(&app, None, body.to_owned()).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{body:?}");
        assert_eq!(a.headers["content-type"], "text/xml; charset=utf-8");
        assert!(
            matches!(
                a.fault().as_deref(),
                Some("InvalidRequest" | "InvalidArgument")
            ),
            "{body:?}: {}",
            a.text
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_soap_fault() {
    let app = TestApp::spawn().await;
    let big = envelope(
        "RetrieveServiceContent",
        ("ServiceInstance", "ServiceInstance"),
        &format!("<pad>{}</pad>", "x".repeat(2 << 20)),
    );
    let a = post_raw(&app, None, big).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.fault().as_deref(), Some("InvalidRequest"));
}

#[tokio::test]
async fn a_chunked_govc_style_body_with_an_unquoted_newer_soapaction_is_read_whole() {
    let app = TestApp::spawn().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".to_vec()),
        Ok(br#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>"#.to_vec()),
        Ok(b"<userName>administrator@vsphere.local</userName><password>VMware1!</password><locale>en_US</locale></Login></Body></Envelope>".to_vec()),
    ];
    let r = app
        .client
        .post(app.url("/sdk"))
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .header("Soapaction", "urn:vim25/9.1.0.0")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    let a = read(r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body().name, "LoginResponse");
}

#[tokio::test]
async fn the_readonly_users_power_off_is_no_permission_with_the_privilege() {
    let app = TestApp::spawn().await;
    let cookie = login_as(&app, READONLY).await;
    let a = call(
        &app,
        Some(&cookie),
        "PowerOffVM_Task",
        ("VirtualMachine", "vm-1001"),
        "",
    )
    .await;
    assert_eq!(a.fault().as_deref(), Some("NoPermission"));
    assert_eq!(
        text_of(a.detail(), "privilegeId").as_deref(),
        Some("VirtualMachine.Interact.PowerOff")
    );
    let obj = a.detail().child("object").unwrap();
    assert_eq!(obj.trimmed(), "vm-1001");
}

#[tokio::test]
async fn session_is_active_answers_only_a_caller_who_may_validate_sessions() {
    let app = TestApp::spawn().await;
    let admin = login(&app).await;
    let ro = login_as(&app, READONLY).await;
    let ask = |cookie: String, id: String, user: &'static str| {
        let app = &app;
        async move {
            call(
                app,
                Some(&cookie),
                "SessionIsActive",
                ("SessionManager", "SessionManager"),
                &format!("<sessionID>{id}</sessionID><userName>{user}</userName>"),
            )
            .await
        }
    };
    let probe = ask(ro.clone(), admin.clone(), ADMIN.0).await;
    assert_eq!(
        probe.fault().as_deref(),
        Some("NoPermission"),
        "{}",
        probe.text
    );
    assert_eq!(
        text_of(probe.detail(), "privilegeId").as_deref(),
        Some("Sessions.ValidateSession")
    );
    let live = ask(admin.clone(), ro.clone(), READONLY.0).await;
    assert_eq!(live.returnval().trimmed(), "true", "{}", live.text);
    let wrong_user = ask(admin.clone(), ro, ADMIN.0).await;
    assert_eq!(wrong_user.returnval().trimmed(), "false");
    let gone = ask(admin, "no-such-session".into(), ADMIN.0).await;
    assert_eq!(gone.returnval().trimmed(), "false");
}

#[tokio::test]
async fn a_host_property_vim25_declares_but_vcmock_does_not_model_is_fetched_unset() {
    let app = TestApp::spawn().await;
    let c = login(&app).await;
    for prop in ["configManager", "datastoreBrowser", "systemResources"] {
        let a = fetch(&app, &c, ("HostSystem", "host-11"), prop).await;
        assert_eq!(a.status, StatusCode::OK, "{prop}: {}", a.text);
        assert!(a.body().child("returnval").is_none(), "{prop}: {}", a.text);
    }
    let bogus = fetch(&app, &c, ("HostSystem", "host-11"), "noSuchProperty").await;
    assert_eq!(bogus.fault().as_deref(), Some("InvalidProperty"));
}

#[tokio::test]
async fn the_journal_names_soap_operations_and_their_vm() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    fetch(&app, &cookie, ("VirtualMachine", "vm-1002"), "name").await;
    let ops: Vec<(String, Option<String>, u16)> = app
        .mock
        .journal()
        .requests()
        .into_iter()
        .map(|e| (e.operation.to_owned(), e.vm, e.status))
        .collect();
    assert!(ops.contains(&("soap.Login".into(), None, 200)), "{ops:?}");
    assert!(
        ops.contains(&("soap.Fetch".into(), Some("vm-1002".into()), 200)),
        "{ops:?}"
    );
}

#[tokio::test]
async fn a_failure_rule_on_a_soap_operation_answers_a_soap_fault() {
    let app = TestApp::spawn().await;
    let cookie = login(&app).await;
    let r = app
        .client
        .post(app.url("/_mock/faults"))
        .json(&json!({"operation": "soap.Fetch", "vm": "vm-1001", "effect": {"kind": "error", "error_type": "RESOURCE_BUSY"}, "times": 1}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let a = fetch(&app, &cookie, ("VirtualMachine", "vm-1001"), "name").await;
    assert_eq!(a.fault().as_deref(), Some("TaskInProgress"), "{}", a.text);
    let b = fetch(&app, &cookie, ("VirtualMachine", "vm-1001"), "name").await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
}
