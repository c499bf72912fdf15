//! Risk: two processes/handles writing one data directory. The second `open` must fail with a
//! clear error naming the directory, and succeed once the first is closed.

use cairn::storage::{Db, Options, StorageError};

#[test]
fn second_open_fails_until_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let err = Db::open(dir.path(), Options::default()).err().expect("second open must fail");
    assert!(matches!(err, StorageError::Locked { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "message must name the dir: {msg}");
    assert!(msg.contains("locked"), "{msg}");
    db.close().unwrap();
    let again = Db::open(dir.path(), Options::default()).unwrap();
    again.close().unwrap();
}

#[test]
fn lock_is_released_when_last_handle_drops() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let clone = db.clone();
    drop(db);
    assert!(Db::open(dir.path(), Options::default()).is_err(), "a clone still holds the dir");
    drop(clone);
    Db::open(dir.path(), Options::default()).unwrap();
}

#[test]
fn shard_count_is_fixed_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options { shards: 8, ..Options::default() }).unwrap();
    assert_eq!(db.shards(), 8);
    db.close().unwrap();
    let db = Db::open(dir.path(), Options { shards: 64, ..Options::default() }).unwrap();
    assert_eq!(db.shards(), 8, "reopen keeps the recorded shard count");
    db.close().unwrap();
}
