//! The run store: model responses in SQLite, so a killed run resumes and a
//! rerun with an unchanged model runs nothing.
//!
//! One file (`$CANDOR_HOME/store.sqlite` by default), WAL mode, a busy timeout,
//! so several runs can share it. A response is keyed by the model's
//! fingerprint ([`crate::engine::Engine::fingerprint`]: a hash of the model
//! files for ONNX models, the parsed spec for `fake:` models), the persona, and
//! a hash of the request (its kind and its JSON form). [`CachedEngine`] puts
//! the store in front of any engine: each batch's misses run on the model and
//! are written in one transaction as soon as the batch is done.

mod cached;

pub use cached::{CachedEngine, Reuse};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The store's schema version (in its `meta` table).
pub const SCHEMA_VERSION: i64 = 1;

/// The store's file name under candor's home directory.
pub const FILE_NAME: &str = "store.sqlite";

/// How long a writer waits for another run's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A store error, with the store's path.
#[derive(Debug, thiserror::Error)]
#[error("run store {}: {message}", path.display())]
pub struct StoreError {
    pub path: PathBuf,
    pub message: String,
}

/// The default store path: `$CANDOR_HOME/store.sqlite`.
pub fn default_path() -> PathBuf {
    crate::engine::runtime::candor_home().join(FILE_NAME)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The key of a request: hex SHA-256 of its kind and JSON form.
pub fn request_hash(kind: &str, request: &impl serde::Serialize) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(request).expect("requests serialise"));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// One model's entries, for `candor store stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    pub fingerprint: String,
    pub name: String,
    pub responses: u64,
    pub first_used: i64,
    pub last_used: i64,
}

/// What `candor store stats` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub path: PathBuf,
    pub bytes: u64,
    pub responses: u64,
    pub models: Vec<ModelEntry>,
}

/// What `candor store gc` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    pub models: u64,
    pub responses: u64,
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let err = |e: &dyn std::fmt::Display| StoreError {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| err(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| err(&e))?;
        // WAL: readers never block the writer; NORMAL sync is safe against a
        // killed process (only a power cut can lose the last transactions).
        // Switching a new file to WAL takes an exclusive lock without SQLite's busy
        // handler: two runs opening a fresh store at once get SQLITE_BUSY at once.
        let start = std::time::Instant::now();
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy
                        && start.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                r => break r.map_err(|e| err(&e))?,
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| err(&e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        let r = tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS models (
                 fingerprint TEXT PRIMARY KEY,
                 name TEXT NOT NULL,
                 first_used INTEGER NOT NULL,
                 last_used INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS responses (
                 fingerprint TEXT NOT NULL,
                 persona TEXT NOT NULL,
                 request TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 response TEXT NOT NULL,
                 created INTEGER NOT NULL,
                 PRIMARY KEY (fingerprint, persona, request)) WITHOUT ROWID;
             INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');",
        );
        let version: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or(None);
        r.and_then(|_| tx.commit()).map_err(|e| self.err(e))?;
        match version.as_deref() {
            Some(v) if v == SCHEMA_VERSION.to_string() => Ok(()),
            v => Err(self.err(format!(
                "schema version {} (this candor reads {SCHEMA_VERSION}); remove the file or use --store",
                v.unwrap_or("missing")
            ))),
        }
    }

    /// Records that a model is used now.
    pub fn touch_model(&self, fingerprint: &str, name: &str) -> Result<(), StoreError> {
        let t = now();
        self.conn
            .execute(
                "INSERT INTO models (fingerprint, name, first_used, last_used) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (fingerprint) DO UPDATE SET last_used = excluded.last_used, name = excluded.name",
                params![fingerprint, name, t],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The stored responses (JSON) for these request hashes, in order.
    pub fn get_many(
        &self,
        fingerprint: &str,
        persona: &str,
        requests: &[String],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT response FROM responses WHERE fingerprint = ?1 AND persona = ?2 AND request = ?3",
            )
            .map_err(|e| self.err(e))?;
        requests
            .iter()
            .map(|r| {
                stmt.query_row(params![fingerprint, persona, r], |row| row.get(0))
                    .optional()
                    .map_err(|e| self.err(e))
            })
            .collect()
    }

    /// Writes responses `(request hash, JSON)` in one transaction.
    pub fn put_many(
        &mut self,
        fingerprint: &str,
        persona: &str,
        kind: &str,
        entries: &[(String, String)],
    ) -> Result<(), StoreError> {
        let t = now();
        let path = self.path.clone();
        let err = |e: rusqlite::Error| StoreError {
            path: path.clone(),
            message: e.to_string(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO responses (fingerprint, persona, request, kind, response, created)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            for (req, resp) in entries {
                stmt.execute(params![fingerprint, persona, req, kind, resp, t])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Counts per model, and the file size.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT m.fingerprint, m.name, m.first_used, m.last_used,
                        (SELECT COUNT(*) FROM responses r WHERE r.fingerprint = m.fingerprint)
                 FROM models m ORDER BY m.last_used DESC, m.fingerprint",
            )
            .map_err(|e| self.err(e))?;
        let models = stmt
            .query_map([], |r| {
                Ok(ModelEntry {
                    fingerprint: r.get(0)?,
                    name: r.get(1)?,
                    first_used: r.get(2)?,
                    last_used: r.get(3)?,
                    responses: r.get::<_, i64>(4)? as u64,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        let responses: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM responses", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let bytes = ["", "-wal"]
            .iter()
            .filter_map(|s| {
                std::fs::metadata(format!("{}{s}", self.path.display()))
                    .ok()
                    .map(|m| m.len())
            })
            .sum();
        Ok(Stats {
            path: self.path.clone(),
            bytes,
            responses: responses as u64,
            models,
        })
    }

    /// Drops every model (and its responses) not used in the last `days` days,
    /// and responses of no known model; then compacts the file.
    pub fn gc(&mut self, days: u64) -> Result<Collected, StoreError> {
        let cutoff = now() - (days as i64) * 86_400;
        let path = self.path.clone();
        let err = |e: rusqlite::Error| StoreError {
            path: path.clone(),
            message: e.to_string(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        // Models used at or after `keep` stay; `days = 0` keeps nothing.
        let keep = if days == 0 { i64::MAX } else { cutoff };
        let responses = tx
            .execute(
                "DELETE FROM responses WHERE fingerprint NOT IN
                   (SELECT fingerprint FROM models WHERE last_used >= ?1)",
                params![keep],
            )
            .map_err(err)? as u64;
        let models = tx
            .execute("DELETE FROM models WHERE last_used < ?1", params![keep])
            .map_err(err)? as u64;
        tx.commit().map_err(err)?;
        self.conn.execute_batch("VACUUM").map_err(err)?;
        Ok(Collected { models, responses })
    }

    /// `PRAGMA integrity_check`: `ok`, or what is wrong.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_opening_a_fresh_store_at_once_all_get_it() {
        // Before the retry around switching to WAL, about 2 of 5 such pairs failed
        // with "database is locked".
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("store.sqlite");
            let go = std::sync::Barrier::new(4);
            std::thread::scope(|s| {
                let opened: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            go.wait();
                            Store::open(&path).map(|_| ())
                        })
                    })
                    .collect();
                for h in opened {
                    if let Err(e) = h.join().unwrap() {
                        panic!("{e}");
                    }
                }
            });
        }
    }

    #[test]
    fn responses_round_trip_and_gc_drops_old_models() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("s.sqlite")).unwrap();
        s.touch_model("fp1", "m1").unwrap();
        let h = request_hash("loglik", &"a request");
        assert_eq!(h.len(), 64);
        assert_ne!(h, request_hash("generate", &"a request"));
        s.put_many("fp1", "", "loglik", &[(h.clone(), "[1.5]".into())])
            .unwrap();
        assert_eq!(
            s.get_many("fp1", "", &[h.clone(), "other".into()]).unwrap(),
            vec![Some("[1.5]".into()), None]
        );
        assert_eq!(
            s.get_many("fp1", "warm", std::slice::from_ref(&h)).unwrap(),
            vec![None]
        );
        let st = s.stats().unwrap();
        assert_eq!((st.responses, st.models.len()), (1, 1));
        assert_eq!(
            s.gc(30).unwrap(),
            Collected {
                models: 0,
                responses: 0
            }
        );
        assert_eq!(
            s.gc(0).unwrap(),
            Collected {
                models: 1,
                responses: 1
            }
        );
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }
}
