//! Finding and loading the ONNX Runtime shared library, once per process.
//!
//! Order: `ORT_DYLIB_PATH`; candor's cache (`$CANDOR_HOME/onnxruntime`);
//! Python's installed `onnxruntime` package; else download the pinned wheel
//! with pip into the cache and extract the library. ort itself panics when no
//! library loads, so every path is checked here first.

use super::EngineError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const ORT_VERSION: &str = "1.31.1";
const LIB_NAME: &str = "libonnxruntime.so.1.31.1";

/// candor's cache directory: `$CANDOR_HOME`, else `~/.cache/candor`.
pub fn candor_home() -> PathBuf {
    if let Some(h) = std::env::var_os("CANDOR_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("candor")
}

static ENV: OnceLock<Result<(ort::environment::Environment, PathBuf), String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loading the library on first use.
pub fn environment(
    progress: &mut dyn FnMut(&str),
) -> Result<&'static ort::environment::Environment, EngineError> {
    let r = ENV.get_or_init(|| {
        let lib = find_library(progress)?;
        let env = ort::init_from(&lib)
            .map_err(|e| format!("{}: cannot load ONNX Runtime: {e}", lib.display()))?
            .with_name("candor")
            .build()
            .map_err(|e| {
                format!(
                    "{}: cannot create the ONNX Runtime environment: {e}",
                    lib.display()
                )
            })?;
        Ok((env, lib))
    });
    match r {
        Ok((env, _)) => Ok(env),
        Err(e) => Err(EngineError::Runtime(e.clone())),
    }
}

/// The library the environment was loaded from, once loaded.
pub fn library_path() -> Option<&'static Path> {
    ENV.get()
        .and_then(|r| r.as_ref().ok())
        .map(|(_, p)| p.as_path())
}

fn find_library(progress: &mut dyn FnMut(&str)) -> Result<PathBuf, String> {
    let mut tried = vec![];
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        // An explicit setting that is wrong is an error, not something to silently skip.
        return Err(format!(
            "ORT_DYLIB_PATH is set to {}, which is not a file",
            p.display()
        ));
    }
    tried.push("ORT_DYLIB_PATH (not set)".to_string());
    let cached = candor_home().join("onnxruntime").join(LIB_NAME);
    if cached.is_file() {
        return Ok(cached);
    }
    tried.push(format!("candor's cache: {} (not there)", cached.display()));
    match python_package_library() {
        Ok(p) => return Ok(p),
        Err(e) => tried.push(format!("Python's onnxruntime package: {e}")),
    }
    progress(&format!(
        "ONNX Runtime not found; downloading onnxruntime=={ORT_VERSION} with pip into {}",
        cached.parent().unwrap().display()
    ));
    match provision(&cached) {
        Ok(()) => Ok(cached),
        Err(e) => {
            tried.push(format!("pip download of onnxruntime=={ORT_VERSION}: {e}"));
            Err(format!(
                "could not find the ONNX Runtime library. Tried:\n  - {}\nFix: set ORT_DYLIB_PATH to a libonnxruntime.so (version {ORT_VERSION} or newer), \
                 or run `python3 -m pip install onnxruntime=={ORT_VERSION}`, or put {LIB_NAME} in {}",
                tried.join("\n  - "),
                cached.parent().unwrap().display()
            ))
        }
    }
}

fn python_package_library() -> Result<PathBuf, String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .output()
        .map_err(|e| format!("cannot run python3 ({e})"))?;
    if !out.status.success() {
        return Err("not installed".into());
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("capi");
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so."))
        })
        .collect();
    libs.sort();
    libs.pop()
        .ok_or_else(|| format!("no libonnxruntime.so.* in {}", dir.display()))
}

/// `pip download` the pinned wheel and extract the library (a wheel is a zip).
fn provision(target: &Path) -> Result<(), String> {
    let dir = target.parent().unwrap();
    let downloads = dir.join("downloads");
    std::fs::create_dir_all(&downloads).map_err(|e| format!("{}: {e}", downloads.display()))?;
    // Another process may be provisioning too: one does it, the other then finds the file.
    let lock = std::fs::File::create(dir.join(".provision.lock"))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    lock.lock()
        .map_err(|e| format!("{}: cannot lock: {e}", dir.display()))?;
    if target.is_file() {
        return Ok(());
    }
    let wheel =
        crate::engine::provision::pip_download(&format!("onnxruntime=={ORT_VERSION}"), &downloads)
            .map_err(|e| e.to_string())?;
    crate::engine::provision::extract_member(
        &wheel,
        &format!("onnxruntime/capi/{LIB_NAME}"),
        target,
    )
    .map_err(|e| e.to_string())
}
