//! Secrets stay out of the logs: guest passwords, vCenter passwords, session ids and transfer
//! tokens never appear on stderr, even at the most verbose levels, whichever API carried them.

use base64::Engine as _;
use serde_json::{Value, json};

#[path = "support/binary.rs"]
mod binary;

const GUEST_SECRET: &str = "Guest-Secret-7731-xyzzy";
const WRONG_GUEST_SECRET: &str = "Wrong-Guest-Secret-4410-plugh";
const VC_LOGIN: &str = "tester@vsphere.local";
const VC_SECRET: &str = "Vc-Secret-9182-frobozz";
const ADDED_SECRET: &str = "Added-Guest-Secret-5526-grue";

/// The built-in fixture, with vm-1001's root password and a vCenter user's password changed to
/// distinctive strings.
fn fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let mut f: Value = serde_json::from_str(include_str!("../fixtures/default.json")).unwrap();
    let vm = f["vms"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|v| v["id"] == "vm-1001")
        .unwrap();
    for u in vm["guest_users"].as_array_mut().unwrap() {
        if u["name"] == "root" {
            u["password"] = json!(GUEST_SECRET);
        }
    }
    f["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"login": VC_LOGIN, "password": VC_SECRET, "role": "Admin"}));
    let path = dir.join("fixture.json");
    std::fs::write(&path, f.to_string()).unwrap();
    path
}

fn creds(password: &str) -> Value {
    json!({"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "root", "password": password})
}

/// Runs the binary at `level`, drives every API that carries a secret, stops it with SIGTERM and
/// returns its stderr and the secrets it was given or handed out.
async fn run_and_collect_logs(level: &str) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let server = binary::launch()
        .args(["--log", "json", "--log-level", level])
        .arg("--cert-out")
        .arg(dir.path().join("cert.pem"))
        .arg("--fixtures")
        .arg(fixture(dir.path()))
        .tmpdir(dir.path())
        .start();
    let base = server.base_url();
    let http = server.client();
    let mut secrets: Vec<String> = [GUEST_SECRET, WRONG_GUEST_SECRET, VC_SECRET, ADDED_SECRET]
        .map(str::to_owned)
        .into();
    secrets
        .push(base64::engine::general_purpose::STANDARD.encode(format!("{VC_LOGIN}:{VC_SECRET}")));

    // Sessions on all three session APIs.
    let sid: String = http
        .post(format!("{base}/api/session"))
        .basic_auth(VC_LOGIN, Some(VC_SECRET))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest: Value = http
        .post(format!("{base}/rest/com/vmware/cis/session"))
        .basic_auth(VC_LOGIN, Some(VC_SECRET))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rpc: Value = http
        .post(format!("{base}/api"))
        .json(&json!({"jsonrpc": "2.0", "method": "invoke", "id": "1", "params": {
            "ctx": {"appCtx": {}, "securityCtx": {"schemeId": "com.vmware.vapi.std.security.user_pass", "userName": VC_LOGIN, "password": VC_SECRET}},
            "input": {"STRUCTURE": {"operation-input": {}}},
            "serviceId": "com.vmware.cis.session", "operationId": "create"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(sid.clone());
    secrets.push(rest["value"].as_str().unwrap().to_owned());
    secrets.push(
        rpc["result"]["output"]["SECRET"]
            .as_str()
            .unwrap()
            .to_owned(),
    );

    // Guest operations with the right and a wrong password, and a JSON-RPC one.
    let guest = |tail: &str| format!("{base}/api/vcenter/vm/vm-1001/guest/filesystem/{tail}");
    for (tail, body) in [
        (
            "files?action=list",
            json!({"credentials": creds(GUEST_SECRET), "path": "/etc"}),
        ),
        (
            "files?action=list",
            json!({"credentials": creds(WRONG_GUEST_SECRET), "path": "/etc"}),
        ),
        (
            "files?action=createTemporary",
            json!({"credentials": creds(GUEST_SECRET), "prefix": "p", "suffix": "s"}),
        ),
        (
            "files/%2Fetc%2Fhosts?action=get",
            json!({"credentials": creds(GUEST_SECRET)}),
        ),
    ] {
        let r = http
            .post(guest(tail))
            .header("vmware-api-session-id", &sid)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().as_u16() < 500, "{tail}: {}", r.status());
    }
    let rpc_guest = http
        .post(format!("{base}/api"))
        .json(&json!({"jsonrpc": "2.0", "method": "invoke", "id": "2", "params": {
            "ctx": {"appCtx": {}, "securityCtx": {"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": sid}},
            "input": {"STRUCTURE": {"operation-input": {"vm": "vm-1001", "path": "/etc", "credentials": {"STRUCTURE": {"com.vmware.vcenter.vm.guest.credentials": {
                "interactive_session": false, "password": {"OPTIONAL": {"SECRET": GUEST_SECRET}},
                "saml_token": {"OPTIONAL": null}, "type": "USERNAME_PASSWORD", "user_name": {"OPTIONAL": "root"}}}}}}},
            "serviceId": "com.vmware.vcenter.vm.guest.filesystem.files", "operationId": "list"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(rpc_guest.status(), 200);

    // Transfers: an upload and a download, each used twice (the second is refused and logged).
    let transfer = |spec: Value| {
        let (http, url, sid) = (
            http.clone(),
            guest("").replace("filesystem/", "filesystem?action=create"),
            sid.clone(),
        );
        async move {
            let u: String = http
                .post(url)
                .header("vmware-api-session-id", &sid)
                .json(&json!({"credentials": creds(GUEST_SECRET), "spec": spec}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            u.replacen('*', "127.0.0.1", 1)
        }
    };
    let up = transfer(json!({"path": "/tmp/up.txt", "attributes": {"size": 5}})).await;
    let down = transfer(json!({"path": "/etc/hosts"})).await;
    for _ in 0..2 {
        http.put(&up).body("hello").send().await.unwrap();
        http.get(&down).send().await.unwrap();
    }
    for url in [&up, &down] {
        secrets.push(url.split("token=").nth(1).unwrap().to_owned());
    }
    // A guessed token is refused and logged too.
    http.get(format!("{base}/guestFile?id=1&token=Guessed-Token-3321"))
        .send()
        .await
        .unwrap();
    secrets.push("Guessed-Token-3321".into());

    // The admin API: a VM added with a guest password, and a state dump that carries them all.
    let added = http
        .post(format!("{base}/_mock/vms"))
        .json(
            &json!({"id": "vm-added", "name": "vm-added", "guest_family": "linux", "power_state": "POWERED_ON",
                      "guest_users": [{"name": "root", "password": ADDED_SECRET, "uid": 0}]}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        added.status().is_success(),
        "{}",
        added.text().await.unwrap()
    );
    let state = http
        .get(format!("{base}/_mock/state"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        state.contains(ADDED_SECRET),
        "the state dump is the admin's to see"
    );

    let stopped = server.stop();
    assert!(stopped.status.success(), "exit status {}", stopped.status);
    (stopped.logs, secrets)
}

async fn assert_no_secret_at(level: &str) {
    let (logs, secrets) = run_and_collect_logs(level).await;
    assert!(
        logs.contains("guestFile request refused") && logs.contains("files.list"),
        "{level}: the logs were written: {logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{level}: the logs contain a secret ({secret})"
        );
    }
}

#[tokio::test]
async fn guest_passwords_session_ids_and_tokens_never_appear_in_debug_logs() {
    assert_no_secret_at("debug").await;
}

#[tokio::test]
async fn no_secret_appears_even_when_every_crate_logs_at_trace() {
    assert_no_secret_at("trace").await;
}
