//! Memory: what vcmock keeps because a client sent it is bounded in bytes, and nothing a client
//! declares is allocated up front.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_journal_keeps_at_most_a_kibibyte_of_each_text_a_client_sent() {
    let app = TestApp::spawn().await;
    let long = format!("/{}", "a".repeat(900_000));
    for _ in 0..5 {
        // Unauthenticated: the request is refused, and still journaled.
        let r = app
            .send(
                Method::POST,
                "/api/vcenter/vm/vm-1001/guest/filesystem/files?action=list",
                None,
                Some(json!({"credentials": root(), "path": long})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let entries = app.mock.journal().requests();
    let paths: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.guest_path.as_deref())
        .collect();
    assert_eq!(paths.len(), 5);
    for p in paths {
        assert!(p.len() < 1100, "{} bytes kept", p.len());
        assert!(
            p.ends_with("… (900001 bytes)"),
            "the cut says how long it was"
        );
    }
    let served = app.send(Method::GET, "/_mock/journal", None, None).await;
    assert!(
        served.body.len() < 20_000,
        "{} bytes served",
        served.body.len()
    );
}

#[tokio::test]
async fn fault_rules_are_bounded_in_number_and_in_text() {
    let app = TestApp::spawn().await;
    let long_delay = json!({"effect": {"kind": "delay", "ms": 600_001}});
    let r = app
        .send(Method::POST, "/_mock/faults", None, Some(long_delay))
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a rule may not hold a request forever"
    );
    let huge = json!({"operation": "files.list", "effect": {"kind": "error", "error_type": "ERROR", "message": "x".repeat(20_000)}});
    let r = app
        .send(Method::POST, "/_mock/faults", None, Some(huge))
        .await;
    assert_eq!(
        (r.status, r.error_type()),
        (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT".into())
    );
    assert!(r.text().contains("at most 16384"), "{}", r.text());
    for i in 0..1000 {
        let rule = json!({"operation": format!("op{i}"), "effect": {"kind": "delay", "ms": 1}});
        let r = app
            .send(Method::POST, "/_mock/faults", None, Some(rule))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "rule {i}");
    }
    let over = app
        .send(
            Method::POST,
            "/_mock/faults",
            None,
            Some(json!({"effect": {"kind": "reset"}})),
        )
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
    assert!(
        over.text().contains("1000 rules are installed"),
        "{}",
        over.text()
    );
}

#[tokio::test]
async fn the_admin_api_streams_a_generated_file_larger_than_memory() {
    let app = TestApp::spawn().await;
    let size: u64 = 100 << 30;
    let put = app
        .send(
            Method::PUT,
            "/_mock/vms/vm-1001/files",
            None,
            Some(json!({"path": "/big", "size": size})),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text());
    let mut r = app
        .client
        .get(app.url("/_mock/vms/vm-1001/files?path=/big"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.content_length(), Some(size));
    let first = r.chunk().await.unwrap().unwrap();
    assert!(
        first.starts_with(b"vcmock generated content"),
        "the pattern streams"
    );
    drop(r);
    assert_eq!(
        app.send(Method::GET, "/_mock/health", None, None)
            .await
            .status,
        StatusCode::OK,
        "the server is still up"
    );
    let read = app.mock.vm("vm-1001").read_file("/big").unwrap_err();
    assert!(
        matches!(read, vcmock::Fault::ContentTooLarge { size: s, .. } if s == size),
        "the library refuses to read it into memory: {read:?}"
    );
}

#[tokio::test]
async fn an_upload_declaring_hundreds_of_gigabytes_is_not_allocated_up_front() {
    let app = TestApp::spawn_with(|b| {
        b.spill_threshold(u64::MAX).vm(vcmock::Vm::linux("vm-huge")
            .guest_user("root", "rootpw")
            .disk_capacity(1 << 40))
    })
    .await;
    let sid = app.login().await;
    let size: u64 = 200 << 30;
    let r = app
        .transfer(
            &sid,
            "vm-huge",
            json!({"credentials": root(), "spec": {"path": "/tmp/huge", "attributes": {"size": size}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let url = app.substitute(r.json().as_str().unwrap());
    let (tx, put) = streamed_put(&app, &url, Some(size as usize));
    tx.send(Ok(vec![b'x'; 1 << 20])).await.unwrap();
    drop(tx);
    let _ = put.await;
    assert_eq!(
        app.send(Method::GET, "/_mock/health", None, None)
            .await
            .status,
        StatusCode::OK,
        "the process did not abort"
    );
    assert!(
        !app.mock.vm("vm-huge").exists("/tmp/huge").unwrap(),
        "nothing landed"
    );
}

#[tokio::test]
async fn a_state_dump_can_be_posted_back_and_one_too_large_to_carry_is_refused() {
    let app = TestApp::spawn().await;
    let vm = app.mock.vm("vm-1001");
    vm.put_file("/tmp/800k.bin", vec![7u8; 800_000]).unwrap();
    let dump = app.send(Method::GET, "/_mock/state", None, None).await;
    assert_eq!(dump.status, StatusCode::OK);
    assert!(
        dump.body.len() > 1 << 20,
        "the dump is over the JSON body limit"
    );
    vm.remove("/tmp/800k.bin").unwrap();
    let load = app
        .client
        .post(app.url("/_mock/state"))
        .header("content-type", "application/json")
        .body(dump.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        load.status(),
        StatusCode::NO_CONTENT,
        "{}",
        load.text().await.unwrap()
    );
    assert_eq!(
        vm.read_file("/tmp/800k.bin").unwrap().unwrap(),
        vec![7u8; 800_000]
    );

    vm.put_file("/tmp/17m.bin", vec![1u8; 17 << 20]).unwrap();
    let refused = app.send(Method::GET, "/_mock/state", None, None).await;
    assert_eq!(
        refused.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        refused.text()
    );
    assert_eq!(refused.error_type(), "UNABLE_TO_ALLOCATE_RESOURCE");
    let body: Value = refused.json();
    assert_eq!(body["messages"][0]["id"], "vcmock.content.too_large");
    assert_eq!(body["messages"][0]["args"][0], "/tmp/17m.bin");
}

#[tokio::test]
async fn a_malformed_guest_file_query_never_puts_the_token_in_the_journal() {
    let app = TestApp::spawn().await;
    let sid = app.login().await;
    let url = app
        .download_url(&sid, "vm-1001", root(), "/etc/hosts")
        .await;
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let id = url.split("id=").nth(1).unwrap().split('&').next().unwrap();
    for query in [format!("id={id};token={token}"), format!("id={token}")] {
        let r = TestApp::read(
            app.client
                .get(app.url(&format!("/guestFile?{query}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(!r.text().contains(&token), "the answer does not echo it");
    }
    let journal = app
        .send(Method::GET, "/_mock/journal", None, None)
        .await
        .text();
    assert!(!journal.contains(&token), "{journal}");
}
