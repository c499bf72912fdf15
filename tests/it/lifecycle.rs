//! Prometheus's lifecycle API: `POST /-/quit` shuts Cairn down gracefully (data kept, exit
//! status 0) with `--web.enable-lifecycle`, and is refused with 403 without it.

use crate::support::CairnServer;
use std::time::Duration;

async fn post(server: &CairnServer, path: &str) -> (u16, String) {
    let r = crate::support::http_client().post(server.url(path)).send().await.expect("POST");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn quit_needs_the_lifecycle_flag() {
    let mut off = CairnServer::start(&[]).await;
    let (status, body) = post(&off, "/-/quit").await;
    assert_eq!(status, 403, "{body}");
    assert!(off.wait_exit(Duration::from_millis(500)).is_none(), "must keep running without the flag");
    let (status, _) = off.get_raw("/-/healthy").await;
    assert_eq!(status, 200);
    off.stop();

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut on = CairnServer::start_in(&data, &["--web.enable-lifecycle"]).await;
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let t = now_ms - 60_000;
    let (st, body) = crate::support::remote::write(
        &format!("http://{}", on.addr),
        vec![crate::support::remote::series(&[("__name__", "lifecycle_x")], &[(t, 42.0)])],
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let (status, body) = post(&on, "/-/quit").await;
    assert_eq!(status, 200, "{body}");
    let exit = on.wait_exit(Duration::from_secs(30)).expect("cairn did not exit after /-/quit");
    assert!(exit.success(), "exit status {exit:?}: {}", on.log());
    drop(on);

    // The accepted sample survived the shutdown.
    let again = CairnServer::start_in(&data, &[]).await;
    let v = again.get_json(&format!("/api/v1/query?query=lifecycle_x&time={}", t as f64 / 1000.0)).await;
    assert_eq!(v["data"]["result"][0]["value"][1], "42", "{v}");
}
