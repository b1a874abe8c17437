//! [`CachedEngine`]: the store in front of an engine.

use super::{request_hash, Store, StoreError};
use crate::engine::{
    ContinuationScore, Engine, EngineError, GenerateRequest, Generation, LoglikRequest,
};
use serde::{de::DeserializeOwned, Serialize};
use std::sync::{Arc, Mutex};

/// How many responses came from the store, of how many asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reuse {
    pub reused: usize,
    pub total: usize,
}

impl std::ops::Add for Reuse {
    type Output = Reuse;
    fn add(self, o: Reuse) -> Reuse {
        Reuse {
            reused: self.reused + o.reused,
            total: self.total + o.total,
        }
    }
}

/// An engine that answers from the store what it can, runs the rest on the
/// wrapped engine, and writes those responses (one transaction per call).
pub struct CachedEngine<'a> {
    inner: &'a mut dyn Engine,
    store: Arc<Mutex<Store>>,
    fingerprint: String,
    persona: String,
    reuse: Reuse,
}

impl<'a> CachedEngine<'a> {
    /// `fingerprint` identifies the model's numbers; `persona` is the persona
    /// name (or empty). Records the model as used now.
    pub fn new(
        inner: &'a mut dyn Engine,
        store: Arc<Mutex<Store>>,
        fingerprint: String,
        persona: &str,
    ) -> Result<CachedEngine<'a>, StoreError> {
        lock(&store).touch_model(&fingerprint, inner.name())?;
        Ok(CachedEngine {
            inner,
            store,
            fingerprint,
            persona: persona.to_string(),
            reuse: Reuse::default(),
        })
    }

    pub fn reuse(&self) -> Reuse {
        self.reuse
    }

    fn cached<Q: Serialize + Clone, R: Serialize + DeserializeOwned>(
        &mut self,
        kind: &str,
        requests: &[Q],
        run: impl FnOnce(&mut dyn Engine, &[Q]) -> Result<Vec<R>, EngineError>,
    ) -> Result<Vec<R>, EngineError> {
        let hashes: Vec<String> = requests.iter().map(|r| request_hash(kind, r)).collect();
        let stored = lock(&self.store)
            .get_many(&self.fingerprint, &self.persona, &hashes)
            .map_err(store_error)?;
        let mut out: Vec<Option<R>> = stored
            .into_iter()
            .map(|s| s.and_then(|s| serde_json::from_str(&s).ok()))
            .collect();
        let missing: Vec<usize> = (0..requests.len()).filter(|&i| out[i].is_none()).collect();
        self.reuse.total += requests.len();
        self.reuse.reused += requests.len() - missing.len();
        if !missing.is_empty() {
            let todo: Vec<Q> = missing.iter().map(|&i| requests[i].clone()).collect();
            let fresh = run(&mut *self.inner, &todo)?;
            if fresh.len() != todo.len() {
                return Err(EngineError::Request(format!(
                    "{}: {} responses to {} requests",
                    self.inner.name(),
                    fresh.len(),
                    todo.len()
                )));
            }
            let entries: Vec<(String, String)> = missing
                .iter()
                .zip(&fresh)
                .map(|(&i, r)| {
                    (
                        hashes[i].clone(),
                        serde_json::to_string(r).expect("responses serialise"),
                    )
                })
                .collect();
            lock(&self.store)
                .put_many(&self.fingerprint, &self.persona, kind, &entries)
                .map_err(store_error)?;
            for (&i, r) in missing.iter().zip(fresh) {
                out[i] = Some(r);
            }
        }
        Ok(out.into_iter().map(|r| r.expect("filled")).collect())
    }
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

fn store_error(e: StoreError) -> EngineError {
    EngineError::Backend(Box::new(e))
}

impl Engine for CachedEngine<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn loglik(
        &mut self,
        requests: &[LoglikRequest],
    ) -> Result<Vec<Vec<ContinuationScore>>, EngineError> {
        self.cached("loglik", requests, |e, r| e.loglik(r))
    }
    fn generate(&mut self, requests: &[GenerateRequest]) -> Result<Vec<Generation>, EngineError> {
        self.cached("generate", requests, |e, r| e.generate(r))
    }
    fn usage(&self) -> crate::engine::TokenUsage {
        self.inner.usage()
    }
}
