//! Which file contents the analyses need, kept by the layer walk (`CapturePolicy`).

const DATABASE_LIMIT: u64 = 64 << 20;
const LIST_LIMIT: u64 = 16 << 20;
const CONFIG_LIMIT: u64 = 64 << 10;
const SNIFF_LIMIT: u64 = 4 << 10;

/// The capture policy of imgprof's analyses: package databases (dpkg, apk, pip RECORDs),
/// os-release, and the start of files that may hold secrets.
pub fn capture_policy(path: &str) -> Option<u64> {
    match path {
        "var/lib/dpkg/status" | "lib/apk/db/installed" => return Some(DATABASE_LIMIT),
        "etc/os-release" | "usr/lib/os-release" => return Some(CONFIG_LIMIT),
        _ => {}
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    if (path.starts_with("var/lib/dpkg/info/") && name.ends_with(".list"))
        || path.ends_with(".dist-info/RECORD")
        || path.ends_with(".egg-info/installed-files.txt")
    {
        return Some(LIST_LIMIT);
    }
    crate::secrets::may_hold_secret(name).then_some(SNIFF_LIMIT)
}
