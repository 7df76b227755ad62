//! Unmodified Segment and RudderStack SDKs, pointed at Hilo by changing only their host.
//! `.ci/run` installs them: `HILO_TEST_PYTHON` names a Python with
//! `segment-analytics-python` and `rudder-sdk-python`, `HILO_TEST_NODE_PATH` a
//! `node_modules` with `@segment/analytics-node`.

use std::process::Command;

use serde_json::Value;

use crate::support::{TestApp, on_both_engines};

on_both_engines!(
    segment_python_sdk_delivers_a_journey,
    rudderstack_python_sdk_delivers_a_gzipped_journey,
    segment_node_sdk_delivers_a_journey,
);

const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk");

/// A tool the SDK tests need, or `None` to skip outside CI.
fn tool(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(std::env::var("CI").is_err(), "CI must set {variable}");
            eprintln!("{variable} is not set: SDK test not run");
            None
        }
    }
}

fn run(command: &mut Command) {
    let output = command.output().expect("run the SDK");
    assert!(
        output.status.success(),
        "SDK failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The journey every SDK script sends, as Hilo must show it.
async fn assert_journey(app: &TestApp, prefix: &str, source_id: &str, expected_events: i64) {
    let customer = app
        .lookup("email", &format!("{prefix}@example.com"))
        .await
        .expect("identified by email");
    let by_device = app
        .lookup("anonymous_id", &format!("{prefix}-device"))
        .await
        .expect("known by device");
    assert_eq!(
        customer["id"], by_device["id"],
        "device and person are one profile"
    );
    assert_eq!(customer["traits"]["name"], format!("{prefix} name"));
    assert_eq!(customer["computed"]["event_count"], expected_events);
    let timeline = app.timeline(customer["id"].as_str().expect("id")).await;
    assert_eq!(timeline.len() as i64, expected_events);
    assert!(timeline.iter().all(|item| item["source_id"] == source_id));
    let order: &Value = timeline
        .iter()
        .find(|item| item["name"] == "Order Completed")
        .expect("the order");
    assert_eq!(order["body"]["properties"]["total"], 99.5);
    assert!(
        order["body"]["context"]["library"]["name"].is_string(),
        "SDK context kept"
    );
}

async fn segment_python_sdk_delivers_a_journey(app: TestApp) {
    let Some(python) = tool("HILO_TEST_PYTHON") else {
        return;
    };
    let (source_id, key) = app.create_source("Python backend", "server").await;
    run(Command::new(python).args([
        &format!("{SDK_DIR}/send_python.py"),
        "segment",
        &app.base,
        &key,
        "seg",
    ]));
    assert_journey(&app, "seg", &source_id, 6).await;
}

async fn rudderstack_python_sdk_delivers_a_gzipped_journey(app: TestApp) {
    let Some(python) = tool("HILO_TEST_PYTHON") else {
        return;
    };
    let (source_id, key) = app.create_source("Rudder backend", "server").await;
    run(Command::new(python).args([
        &format!("{SDK_DIR}/send_python.py"),
        "rudder",
        &app.base,
        &key,
        "rud",
    ]));
    assert_journey(&app, "rud", &source_id, 6).await;
}

async fn segment_node_sdk_delivers_a_journey(app: TestApp) {
    let Some(node_path) = tool("HILO_TEST_NODE_PATH") else {
        return;
    };
    let (source_id, key) = app.create_source("Node backend", "server").await;
    run(Command::new("node").env("NODE_PATH", node_path).args([
        &format!("{SDK_DIR}/send_node.mjs"),
        &app.base,
        &key,
        "node",
    ]));
    assert_journey(&app, "node", &source_id, 6).await;
}
