//! Access: every route needs its credential, and /guestFile only its token.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn every_route_needs_its_credential_and_guest_file_only_its_token() {
    let app = TestApp::spawn_with(|b| b.admin_token("adm")).await;
    let sid = app.login().await;
    let table: Vec<(Method, &str, u16)> = vec![
        (Method::GET, "/api/session", 401),
        (Method::DELETE, "/api/session", 401),
        (Method::GET, "/api/vcenter/vm", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/power", 401),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/power?action=start",
            401,
        ),
        (Method::GET, "/api/vcenter/vm/vm-1001/tools", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/identity", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/power", 401),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/operations", 401),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem?action=create",
            401,
        ),
        (Method::GET, "/api/vcenter/vm/vm-1001/guest/filesystem", 401),
        (Method::PUT, "/api/vcenter/vm/vm-1001/guest/filesystem", 401),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=createTemporary",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=move",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=update",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files/%2Ftmp?action=get",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/files/%2Ftmp?action=delete",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=create",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=delete",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=move",
            401,
        ),
        (
            Method::POST,
            "/api/vcenter/vm/vm-1001/guest/filesystem/directories?action=createTemporary",
            401,
        ),
        (
            Method::POST,
            "/rest/com/vmware/cis/session?~action=get",
            401,
        ),
        (Method::DELETE, "/rest/com/vmware/cis/session", 401),
        (Method::GET, "/rest/vcenter/vm", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/power", 401),
        (Method::POST, "/rest/vcenter/vm/vm-1001/power/stop", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/tools", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/guest/identity", 401),
        (Method::GET, "/rest/vcenter/vm/vm-1001/guest/power", 401),
        (Method::GET, "/_mock/info", 401),
        (Method::POST, "/_mock/reset", 401),
        (Method::GET, "/_mock/state", 401),
        (Method::POST, "/_mock/state", 401),
        (Method::POST, "/_mock/vms", 401),
        (Method::DELETE, "/_mock/vms/vm-1001", 401),
        (Method::PUT, "/_mock/vms/vm-1001/power", 401),
        (Method::GET, "/_mock/clock", 401),
        (Method::GET, "/_mock/faults", 401),
        (Method::GET, "/_mock/journal", 401),
        (Method::GET, "/_mock/transfers", 401),
        (Method::GET, "/_mock/metrics", 401),
        (Method::GET, "/_mock/errors", 401),
        (Method::GET, "/_mock/health", 200),
        (Method::GET, "/_mock/ready", 200),
        (Method::GET, "/_mock/certificate", 200),
    ];
    for (method, path, status) in table {
        let r = app.send(method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text());
        if status != 200 {
            assert_eq!(r.content_type(), "application/json", "{method} {path}");
            let body = r.json();
            let error_type = if path.starts_with("/rest") {
                body["value"]["error_type"].clone()
            } else {
                body["error_type"].clone()
            };
            assert_eq!(error_type, "UNAUTHENTICATED", "{method} {path}");
        }
    }
    // The JSON-RPC endpoint answers in its own shape without a session.
    let rpc = app.client.post(app.url("/api")).json(&json!({"jsonrpc": "2.0", "id": 1, "method": "invoke", "params": {"serviceId": "com.vmware.vcenter.VM", "operationId": "list", "input": {"STRUCTURE": {"operation-input": {}}}, "ctx": {}}})).send().await.unwrap();
    let v: Value = rpc.json().await.unwrap();
    assert!(
        v["result"]["error"]["ERROR"]
            .get("com.vmware.vapi.std.errors.unauthenticated")
            .is_some()
    );
    // /guestFile: the token alone works; a session never stands in for it.
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    let without_token = url.split("&token=").next().unwrap().to_owned();
    let r = app
        .client
        .get(&without_token)
        .header("vmware-api-session-id", &sid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
}
