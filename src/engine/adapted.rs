//! Models candor imports into its cache from files a reference points at: a
//! Llama GGUF file (`models/base.gguf`), a base with a LoRA adapter merged into
//! its weights (`default+adapter=adapters/warm`), and model files.
//!
//! A model file (`*.yaml`) names a model and optionally an adapter; relative
//! paths in it are relative to the file's directory:
//!
//! ```yaml
//! backend: onnx            # optional; the only backend
//! model: default           # any model reference but another model file
//! adapter: ../adapters/warm  # optional: a peft LoRA adapter directory
//! ```
//!
//! An import is cached in `$CANDOR_HOME/models/` under a name keyed by what
//! defines its weights: the base (the default model's pinned package, or a
//! GGUF file's SHA-256) and the adapter's two files' SHA-256, so a changed
//! adapter is a new model and an unchanged one is imported once.

use super::default_model::{default_gguf, default_gguf_id, import_into, lock_models, DEFAULT_STEM};
use super::{runtime, EngineError, ModelRef};
use crate::import::{lora, WeightFormat, GRAPH_VERSION};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The cached model directory of a `Gguf` or `Adapted` reference, imported on first use.
pub fn resolve(model: &ModelRef, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, EngineError> {
    let (base, adapter) = match model {
        ModelRef::Adapted { base, adapter } => (base.as_ref(), Some(adapter.as_path())),
        other => (other, None),
    };
    let (gguf, stem, base_id) = match base {
        ModelRef::Default(WeightFormat::F32) => {
            let gguf = default_gguf(progress)?;
            (gguf, DEFAULT_STEM.to_string(), default_gguf_id())
        }
        ModelRef::Gguf(path) => {
            if !path.is_file() {
                return Err(EngineError::MissingFile {
                    path: path.clone(),
                    what: "GGUF file".into(),
                });
            }
            let stem = path
                .file_stem()
                .map(|s| sanitize(&s.to_string_lossy()))
                .unwrap_or_else(|| "model".into());
            let id = format!("gguf:{}", hash_files(&[path.as_path()])?);
            (path.clone(), stem, id)
        }
        other => {
            return Err(EngineError::BadReference {
                reference: model.to_string(),
                message: format!(
                    "`{other}` is not a base candor imports (expected `default` or a `.gguf` file)"
                ),
            })
        }
    };
    let mut key = Sha256::new();
    key.update(base_id.as_bytes());
    let kind = match adapter {
        None => "f32",
        Some(dir) => {
            let files = lora::adapter_files(dir).map_err(crate::import::ImportError::from)?;
            key.update(b"\0lora\0");
            key.update(hash_files(&[files[0].as_path(), files[1].as_path()])?.as_bytes());
            "lora"
        }
    };
    let key: String = key
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let models = runtime::candor_home().join("models");
    let dir = models.join(format!("{stem}-{kind}-{key}-g{GRAPH_VERSION}"));
    let ready = |d: &Path| d.join("model.onnx").is_file() && d.join("config.json").is_file();
    if ready(&dir) {
        return Ok(dir);
    }
    // Read the adapter before taking the lock: its errors need no cache.
    let adapter = adapter
        .map(lora::Adapter::load)
        .transpose()
        .map_err(crate::import::ImportError::from)?;
    let _lock = lock_models(&models)?;
    if ready(&dir) {
        return Ok(dir);
    }
    match &adapter {
        Some(a) => progress(&format!(
            "adapter: merging {} into {base} (once; cached in {})",
            a.dir.display(),
            dir.display()
        )),
        None => progress(&format!(
            "importing {} into {} (once)",
            gguf.display(),
            dir.display()
        )),
    }
    let started = std::time::Instant::now();
    import_into(&dir, progress, |tmp, progress| {
        crate::import::import_gguf_adapted(
            &gguf,
            tmp,
            WeightFormat::F32,
            adapter.as_ref(),
            progress,
        )
    })?;
    progress(&format!(
        "  import: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(dir)
}

/// A model file's contents.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModelFile {
    #[serde(default)]
    backend: Option<String>,
    model: String,
    #[serde(default)]
    adapter: Option<String>,
}

/// Reads a model file into the reference it describes, its relative paths
/// made relative to the file's directory.
pub fn load_model_file(path: &Path) -> Result<ModelRef, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::MissingFile {
        path: path.to_path_buf(),
        what: format!("model file ({e})"),
    })?;
    let bad = |message: String| EngineError::BadModel {
        path: path.to_path_buf(),
        message,
    };
    let raw: RawModelFile = serde_norway::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if let Some(b) = &raw.backend {
        if b != "onnx" {
            return Err(bad(format!(
                "backend: {b:?} is not a backend of this version of candor (expected onnx)"
            )));
        }
    }
    let here = path.parent().unwrap_or(Path::new(""));
    let model = ModelRef::parse(&raw.model).map_err(|e| bad(format!("model: {e}")))?;
    let model = rebase(model, here);
    if matches!(model, ModelRef::File(_)) {
        return Err(bad(format!(
            "model: {}: a model file cannot name another model file",
            raw.model
        )));
    }
    match raw.adapter {
        None => Ok(model),
        Some(a) => model
            .with_adapter(here.join(a))
            .map_err(|e| bad(format!("adapter: {e}"))),
    }
}

/// `model` with its relative paths taken from `dir`.
fn rebase(model: ModelRef, dir: &Path) -> ModelRef {
    match model {
        ModelRef::Dir(p) => ModelRef::Dir(dir.join(p)),
        ModelRef::Gguf(p) => ModelRef::Gguf(dir.join(p)),
        ModelRef::File(p) => ModelRef::File(dir.join(p)),
        ModelRef::Adapted { base, adapter } => ModelRef::Adapted {
            base: Box::new(rebase(*base, dir)),
            adapter: dir.join(adapter),
        },
        other => other,
    }
}

/// Letters, digits, `-` and `_` of a file name, lower-cased, for a cache directory name.
fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if t.is_empty() {
        "model".into()
    } else {
        t
    }
}

/// SHA-256 of the files' names and contents, in hex.
fn hash_files(files: &[&Path]) -> Result<String, EngineError> {
    use std::io::Read;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for f in files {
        let mut file = std::fs::File::open(f).map_err(|e| EngineError::MissingFile {
            path: f.to_path_buf(),
            what: format!("file ({e})"),
        })?;
        h.update(
            f.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        loop {
            let n = file.read(&mut buf).map_err(|e| EngineError::MissingFile {
                path: f.to_path_buf(),
                what: format!("readable file ({e})"),
            })?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_files_name_a_model_and_an_adapter_relative_to_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("warm.yaml");
        std::fs::write(
            &f,
            "backend: onnx\nmodel: default\nadapter: adapters/warm\n",
        )
        .unwrap();
        assert_eq!(
            load_model_file(&f).unwrap(),
            ModelRef::Adapted {
                base: Box::new(ModelRef::Default(WeightFormat::F32)),
                adapter: dir.path().join("adapters/warm"),
            }
        );
        std::fs::write(&f, "model: base.gguf\n").unwrap();
        assert_eq!(
            load_model_file(&f).unwrap(),
            ModelRef::Gguf(dir.path().join("base.gguf"))
        );
        for (text, says) in [
            ("model: default\nadaptor: x\n", "unknown field `adaptor`"),
            ("backend: vllm\nmodel: default\n", "backend: \"vllm\""),
            ("model: default:q4\nadapter: x\n", "adapter: "),
            ("model: other.yaml\n", "another model file"),
            ("adapter: x\n", "missing field `model`"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = load_model_file(&f).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("warm.yaml"), "{text:?}: {e}");
        }
    }
}
