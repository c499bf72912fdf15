//! Risk: an admin snapshot is not the data. `POST /api/v1/admin/tsdb/snapshot` must write the
//! head as a block (decimal chunks where the values allow, XOR where they do not: NaN, stale
//! markers, arbitrary floats), hold blocks and no WAL, and `cairn serve --data <snapshot>` must
//! answer queries exactly like the server it was taken from. `skip_head=true` leaves the head
//! out; a malformed `skip_head` is a 400.

use crate::support::remote::{series, write};
use crate::support::{CairnServer, http_client};
use std::path::Path;

const STEP: i64 = 15_000;

fn block_dirs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 26 && n.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    v.sort();
    v
}

async fn snapshot(s: &CairnServer, query: &str) -> (u16, serde_json::Value) {
    let r = http_client()
        .post(s.url(&format!("/api/v1/admin/tsdb/snapshot{query}")))
        .send()
        .await
        .expect("POST snapshot");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_snapshot_holds_the_head_as_a_block_and_serves_the_same_data() {
    let src = CairnServer::start(&["--enable-admin-api"]).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let t0 = (now - 3_600_000) / 1000 * 1000;
    let stale = f64::from_bits(cairn_format::STALE_NAN_BITS);
    let odd = f64::from_bits(std::f64::consts::PI.to_bits() + 1);
    let mut ts = Vec::new();
    for h in 0..5 {
        let host = format!("h{h}");
        let mut counter = Vec::new();
        let mut gauge = Vec::new();
        let mut weird = Vec::new();
        let mut c = 1000.0;
        for i in 0..240i64 {
            let t = t0 + i * STEP;
            c = ((c * 100.0f64).round() + ((i * 37 + h) % 150) as f64) / 100.0;
            counter.push((t, c));
            gauge.push((t, if i == 100 { stale } else { ((i * h) % 97) as f64 / 4.0 }));
            weird.push((t, if i % 50 == 7 { f64::NAN } else { odd * i as f64 }));
        }
        ts.push(series(&[("__name__", "snap_counter"), ("host", &host)], &counter));
        ts.push(series(&[("__name__", "snap_gauge"), ("host", &host)], &gauge));
        ts.push(series(&[("__name__", "snap_weird"), ("host", &host)], &weird));
    }
    let (code, body) = write(&src.url(""), ts).await;
    assert_eq!(code, 204, "{body}");

    let at = (t0 + 240 * STEP) / 1000;
    let queries = [
        format!("/api/v1/query?query=%7B__name__%3D~%22snap_.%2B%22%7D%5B1h%5D&time={at}"),
        format!("/api/v1/query?query=count_over_time(snap_weird%5B2h%5D)&time={at}"),
        format!("/api/v1/query?query=sum_over_time(snap_gauge%5B2h%5D)&time={at}"),
        format!("/api/v1/query?query=rate(snap_counter%5B5m%5D)&time={}", at - 1800),
    ];
    let mut before = Vec::new();
    for q in &queries {
        before.push(src.get_json(q).await);
    }

    // A malformed flag is a 400; skip_head on a database without blocks snapshots nothing.
    let (code, body) = snapshot(&src, "?skip_head=maybe").await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = snapshot(&src, "?skip_head=true").await;
    assert_eq!(code, 200, "{body}");
    let empty = src.data_dir.join("snapshots").join(body["data"]["name"].as_str().unwrap());
    assert!(block_dirs(&empty).is_empty(), "skip_head=true wrote a block");

    let (code, body) = snapshot(&src, "?skip_head=false").await;
    assert_eq!(code, 200, "{body}");
    let name = body["data"]["name"].as_str().expect("data.name").to_string();
    let snap = src.data_dir.join("snapshots").join(&name);
    let blocks = block_dirs(&snap);
    assert_eq!(blocks.len(), 1, "one block for the head: {blocks:?}");
    assert!(!snap.join("wal").exists(), "a snapshot holds blocks, not the WAL");

    // `cairn inspect` reads every chunk: decimal chunks for the counters and gauges, XOR for
    // the series with NaN, stale markers or arbitrary floats.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("inspect")
        .arg(&snap)
        .arg("--json")
        .output()
        .expect("run cairn inspect");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let enc = &rep["blocks"][0]["chunksByEncoding"];
    assert!(enc["decimal"].as_u64().unwrap_or(0) > 0, "{enc}");
    assert!(enc["xor"].as_u64().unwrap_or(0) > 0, "{enc}");
    assert_eq!(rep["totalSamples"].as_u64(), Some(5 * 3 * 240));

    // A copy of the snapshot served on its own answers exactly like the source.
    let copy_root = tempfile::tempdir().unwrap();
    let copy = copy_root.path().join("data");
    std::fs::create_dir(&copy).unwrap();
    for e in walk(&snap) {
        let rel = e.strip_prefix(&snap).unwrap();
        let dst = copy.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&e, &dst).unwrap();
    }
    src.stop();
    let from_snap = CairnServer::start_in(&copy, &[]).await;
    for (q, want) in queries.iter().zip(&before) {
        let got = from_snap.get_json(q).await;
        assert_eq!(&got, want, "{q}");
        assert!(!got["data"]["result"].as_array().unwrap().is_empty(), "{q}: empty result");
    }
    from_snap.stop();
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
