//! TEMPORARY development path until `cairn serve` exposes remote-write and the query API: the
//! generated data appended to a `cairn::storage::Db` and queried with `cairn_query::Engine`.
//! Deleted once the HTTP path works end to end.

use cairn_format::Labels;
use cairn_query::{Engine, EngineOptions, ErrorKind, QueryOptions, Value};

use super::compare::{Answer, Labels as Map};
use super::queries::Mode;

pub struct InProc {
    db: cairn::storage::Db,
    engine: Engine,
    _dir: tempfile::TempDir,
}

impl InProc {
    /// Decodes the remote-write `body` with Cairn's own decoder and appends it to a fresh Db.
    pub fn load(body: &[u8]) -> InProc {
        use cairn::ingest::{limits::IngestLimits, remote};
        let limits = IngestLimits::default();
        let req = remote::decode_write_request(body, Some("application/x-protobuf"), Some("snappy"), &limits)
            .expect("decode write request");
        let batch = remote::write_batch(req, &limits).expect("valid write request");
        let dir = tempfile::tempdir().expect("tempdir");
        let db = cairn::storage::Db::open(dir.path(), cairn::storage::Options::default()).expect("open db");
        let mut app = db.appender();
        for s in &batch.series {
            for p in &s.samples {
                app.append(&s.labels, p.t, p.v).expect("append");
            }
        }
        app.commit().expect("commit");
        InProc { db, engine: Engine::new(EngineOptions::default()), _dir: dir }
    }

    /// Closes the Db so a `cairn serve` can open its directory, and hands the directory over.
    pub fn into_dir(self) -> tempfile::TempDir {
        self.db.close().expect("close db");
        self._dir
    }

    pub fn query(&self, expr: &str, mode: Mode) -> Result<Answer, String> {
        let opts = QueryOptions::default();
        let r = match mode {
            Mode::Instant { time_ms } => self.engine.instant_query(&self.db, expr, time_ms, &opts),
            Mode::Range { start_ms, end_ms, step_ms } => {
                self.engine.range_query(&self.db, expr, start_ms, end_ms, step_ms, &opts)
            }
        };
        match r {
            Ok(r) => Ok(match r.value {
                Value::Scalar(t, v) => Answer::Scalar(t, v),
                Value::String(t, s) => Answer::String(t, s),
                Value::Vector(v) => Answer::Vector(v.into_iter().map(|(l, t, x)| (map(&l), t, x)).collect()),
                Value::Matrix(m) => Answer::Matrix(
                    m.into_iter()
                        .map(|(l, pts)| (map(&l), pts.iter().map(|p| (p.t, p.v)).collect()))
                        .collect(),
                ),
            }),
            Err(e) => {
                let error_type = match e.kind() {
                    ErrorKind::BadData => "bad_data",
                    ErrorKind::Execution | ErrorKind::TooManySamples => "execution",
                    ErrorKind::Timeout => "timeout",
                    ErrorKind::Canceled => "canceled",
                    ErrorKind::Storage => "internal",
                };
                Ok(Answer::Error { error_type: error_type.into(), error: e.to_string() })
            }
        }
    }
}

fn map(l: &Labels) -> Map {
    l.iter().map(|x| (x.name.clone(), x.value.clone())).collect()
}
