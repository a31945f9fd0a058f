//! Which file contents the analyses need, kept by the layer walk (`CapturePolicy`).

const DATABASE_LIMIT: u64 = 64 << 20;
const LIST_LIMIT: u64 = 16 << 20;
const CONFIG_LIMIT: u64 = 64 << 10;
const SNIFF_LIMIT: u64 = 4 << 10;
/// A wheel's METADATA headers (Requires-Dist) come before its description, which can be
/// a whole README: the start is enough.
const METADATA_HEADER_LIMIT: u64 = 16 << 10;

/// The official node images' header naming the version they built into /usr/local.
pub(crate) const NODE_VERSION_HEADER: &str = "usr/local/include/node/node_version.h";

/// Bump whenever [`capture_policy`] keeps other files or other lengths: stored layer
/// indexes hold what it captured, and the cache keys them by
/// [`capture_policy_description`]. The probes below catch most changes on their own.
pub const CAPTURE_POLICY_VERSION: u32 = 4;

/// Paths whose treatment the description records: one of each rule and a few that no
/// rule keeps, so changing a limit or a rule changes the description (and the cache key).
const PROBES: &[&str] = &[
    "var/lib/dpkg/status",
    "lib/apk/db/installed",
    "etc/os-release",
    "usr/lib/os-release",
    "var/lib/dpkg/info/libc6:amd64.list",
    "usr/lib/python3/dist-packages/pip-24.0.dist-info/RECORD",
    "usr/lib/python3/site-packages/x.egg-info/installed-files.txt",
    "app/.env",
    "app/.env.production",
    "app/.env.example",
    "root/.ssh/id_rsa",
    "root/.ssh/id_ed25519",
    "etc/ssl/private/server.key",
    "etc/ssl/certs/ca.pem",
    "root/.npmrc",
    "root/.pypirc",
    "root/.netrc",
    "root/.git-credentials",
    "root/.aws/credentials",
    "usr/bin/python3",
    "etc/passwd",
    "etc/group",
    "usr/lib/python3/dist-packages/pip-24.0.dist-info/WHEEL",
    "usr/local/lib/python3.11/site-packages/fastapi-0.110.0.dist-info/METADATA",
    "var/lib/dpkg/status-old",
    "usr/local/lib/python3.11/site-packages/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so",
    "app/node_modules/.package-lock.json",
    "usr/local/include/node/node_version.h",
    "app/package.json",
    "app/node_modules/express/package.json",
];

/// A description of what [`capture_policy`] keeps: its version and its answer for each
/// probe path. The layer cache hashes it into its key.
pub fn capture_policy_description() -> String {
    let mut text = format!("imgprof-waste capture policy v{CAPTURE_POLICY_VERSION}\n");
    for path in PROBES {
        let kept = capture_policy(path).map_or_else(|| "-".to_owned(), |n| n.to_string());
        text.push_str(&format!("{path} {kept}\n"));
    }
    text
}

/// The capture policy of imgprof's analyses: package databases (dpkg, apk, pip RECORDs
/// and the headers of METADATA),
/// os-release, the user and group tables (owners of copied files), wheel tags, npm's
/// record of what it installed, the start of native modules (the libraries they link)
/// and the start of files that may hold secrets.
pub fn capture_policy(path: &str) -> Option<u64> {
    match path {
        "var/lib/dpkg/status" | "lib/apk/db/installed" => return Some(DATABASE_LIMIT),
        "etc/os-release" | "usr/lib/os-release" | "etc/passwd" | "etc/group" | NODE_VERSION_HEADER => {
            return Some(CONFIG_LIMIT);
        }
        _ => {}
    }
    if path.ends_with(".dist-info/WHEEL") {
        return Some(CONFIG_LIMIT);
    }
    if path.ends_with(".dist-info/METADATA") {
        return Some(METADATA_HEADER_LIMIT);
    }
    if path.ends_with("node_modules/.package-lock.json") {
        return Some(LIST_LIMIT);
    }
    // The app's own manifest (its start script), not the thousands in node_modules.
    if (path == "package.json" || path.ends_with("/package.json")) && !path.contains("node_modules/") {
        return Some(CONFIG_LIMIT);
    }
    if crate::linkage::is_native_module(path) {
        return Some(crate::linkage::ELF_PREFIX);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_records_each_rule() {
        let text = capture_policy_description();
        assert!(text.contains("var/lib/dpkg/status 67108864\n"), "{text}");
        assert!(text.contains("root/.npmrc 4096\n"), "{text}");
        assert!(text.contains("etc/passwd 65536\n"), "{text}");
        assert!(text.contains("var/lib/dpkg/status-old -\n"), "{text}");
    }
}
