//! Images in containerd's image store: `containerd:NAME[:TAG]`, `containerd:NAME@sha256:...`
//! (what `ctr`, nerdctl, k3s and Docker 25+ with the containerd image store keep).
//!
//! No daemon API is needed: the image record is read from containerd's metadata database
//! (`ROOT/io.containerd.metadata.v1.bolt/meta.db`, a bbolt file, read-only and without a
//! lock, see [`bolt`]), bucket `v1/NAMESPACE/images/NAME/target` (`digest`, `mediatype`,
//! `size`), and everything the target leads to is read from the content store
//! (`ROOT/io.containerd.content.v1.content/blobs/sha256/...`), which is laid out as an OCI
//! layout's blob directory, so the OCI layout reader opens it with digests verified the
//! same way. `CONTAINERD_ROOT` (default `/var/lib/containerd`) and `CONTAINERD_NAMESPACE`
//! (default `default`, as `ctr`) say where to look.

mod bolt;

use std::fmt;
use std::path::{Path, PathBuf};

pub use bolt::BoltError;

use crate::error::SourceError;
use crate::files::SourceFiles;
use crate::local::{IndexRoots, list_index_platforms, open_index_roots};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::spec::Descriptor;
use crate::{Image, PlatformEntry, SourceInfo, SourceKind};

const DEFAULT_ROOT: &str = "/var/lib/containerd";
const DEFAULT_NAMESPACE: &str = "default";
const META_DB: &str = "io.containerd.metadata.v1.bolt/meta.db";
const CONTENT: &str = "io.containerd.content.v1.content";
/// How many image names an "unknown image" error lists.
const MAX_LISTED: usize = 30;

/// `containerd:NAME` as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerdRef {
    /// The image as containerd names it (`docker.io/library/app:1`) or as docker would
    /// shorten it (`app:1`, `app`, `app@sha256:...`).
    pub name: String,
}

impl ContainerdRef {
    /// `Some` for arguments with the `containerd:` prefix (an error if the name is unusable).
    pub(crate) fn parse(arg: &str) -> Option<Result<ContainerdRef, SourceError>> {
        let name = arg.strip_prefix("containerd:")?;
        Some(crate::daemon::engine_image_name(arg, name).map(|name| ContainerdRef { name }))
    }
}

impl fmt::Display for ContainerdRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "containerd:{}", self.name)
    }
}

/// Where containerd keeps its data, and which namespace to read.
#[derive(Debug, Clone)]
struct Store {
    root: PathBuf,
    namespace: String,
}

impl Store {
    fn from_env() -> Store {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        Store {
            root: var("CONTAINERD_ROOT").map_or_else(|| PathBuf::from(DEFAULT_ROOT), PathBuf::from),
            namespace: var("CONTAINERD_NAMESPACE")
                .map_or_else(|| DEFAULT_NAMESPACE.to_owned(), |v| v.to_string_lossy().into_owned()),
        }
    }

    fn meta_db(&self) -> PathBuf {
        self.root.join(META_DB)
    }

    fn content(&self) -> PathBuf {
        self.root.join(CONTENT)
    }
}

/// The image record containerd holds for a name.
#[derive(Debug)]
struct Found {
    /// The name as stored.
    name: String,
    target: Descriptor,
}

pub(crate) fn open_containerd(image: &ContainerdRef, platform: Option<&Platform>) -> Result<Image, SourceError> {
    let store = Store::from_env();
    let found = find_image(&store, image)?;
    let files = content_files(&store)?;
    let roots = IndexRoots::new(vec![found.target], image.to_string(), true);
    let source = SourceInfo {
        kind: SourceKind::Containerd,
        location: image.to_string(),
        tag: Some(found.name.clone()),
        platform: Platform::unknown(),
    };
    open_index_roots(files, roots, source, platform).map_err(|e| missing_blob(e, &store, &found.name, platform))
}

/// The platforms the image offers, those whose content the store lacks included.
pub(crate) fn list_platforms(image: &ContainerdRef) -> Result<Vec<PlatformEntry>, SourceError> {
    let store = Store::from_env();
    let found = find_image(&store, image)?;
    let files = content_files(&store)?;
    let roots = IndexRoots::new(vec![found.target], image.to_string(), true);
    let mut entries = list_index_platforms(&files, roots).map_err(|e| missing_blob(e, &store, &found.name, None))?;
    for entry in &mut entries {
        entry.ref_name.get_or_insert_with(|| found.name.clone());
    }
    Ok(entries)
}

fn content_files(store: &Store) -> Result<SourceFiles, SourceError> {
    let content = store.content();
    SourceFiles::open(&content).map_err(|e| match e {
        SourceError::NotFound { .. } => SourceError::ContainerdStore {
            path: content.display().to_string(),
            reason: "no content store there".to_owned(),
            hint: root_hint(),
        },
        other => other,
    })
}

/// A blob the store does not hold: say which, and how to get it.
fn missing_blob(error: SourceError, store: &Store, name: &str, platform: Option<&Platform>) -> SourceError {
    match error {
        SourceError::MissingFile { location } | SourceError::NotFound { location } => {
            let platform = platform.map(|p| format!(" --platform {p}")).unwrap_or_default();
            SourceError::ContainerdBlobMissing {
                location,
                image: name.to_owned(),
                hint: format!(
                    "`ctr -n {ns} content fetch{platform} {name}` fetches it from its registry; \
                     an imported image needs `ctr -n {ns} images import --all-platforms` \
                     (or `--platform`) of its archive",
                    ns = store.namespace
                ),
            }
        }
        other => other,
    }
}

fn root_hint() -> String {
    format!("set CONTAINERD_ROOT to containerd's root directory (`root` in its config.toml; default {DEFAULT_ROOT})")
}

/// Finds the image in the store's namespace.
fn find_image(store: &Store, image: &ContainerdRef) -> Result<Found, SourceError> {
    let path = store.meta_db();
    let db = bolt::Db::open(&path).map_err(|e| unreadable(&path, e))?;
    let corrupt = |source| SourceError::ContainerdDatabase {
        path: path.display().to_string(),
        source,
    };
    let root = db.root();
    let v1 = root.bucket(b"v1").map_err(corrupt)?;
    let namespace = match &v1 {
        Some(v1) => v1.bucket(store.namespace.as_bytes()).map_err(corrupt)?,
        None => None,
    };
    let Some(namespace) = namespace else {
        let mut namespaces = Vec::new();
        if let Some(v1) = &v1 {
            for (key, value) in v1.entries().map_err(corrupt)? {
                if matches!(value, bolt::Value::Bucket(_)) {
                    namespaces.push(String::from_utf8_lossy(key).into_owned());
                }
            }
        }
        return Err(SourceError::ContainerdNamespaceNotFound {
            namespace: store.namespace.clone(),
            root: store.root.display().to_string(),
            available: if namespaces.is_empty() {
                "(none)".to_owned()
            } else {
                namespaces.join(", ")
            },
        });
    };
    let mut images = Vec::new();
    if let Some(bucket) = namespace.bucket(b"images").map_err(corrupt)? {
        for (key, value) in bucket.entries().map_err(corrupt)? {
            if let bolt::Value::Bucket(record) = value {
                images.push((String::from_utf8_lossy(key).into_owned(), record));
            }
        }
    }
    let names: Vec<&str> = images.iter().map(|(name, _)| name.as_str()).collect();
    let chosen = match resolve(&image.name, &names) {
        Resolved::Name(index) => Some(index),
        Resolved::Digest { repository, digest } => {
            let mut chosen = None;
            for (index, (name, record)) in images.iter().enumerate() {
                if strip_version(name) == repository
                    && target_fields(record).map_err(corrupt)?.0.as_deref() == Some(digest.as_str())
                {
                    chosen = Some(index);
                    break;
                }
            }
            chosen
        }
        Resolved::None => None,
    };
    let Some(index) = chosen else {
        let mut listed: Vec<&str> = names.iter().take(MAX_LISTED).copied().collect();
        let more = names.len().saturating_sub(MAX_LISTED);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        if listed.is_empty() {
            listed.push("(none)");
        }
        return Err(SourceError::ContainerdImageNotFound {
            image: image.to_string(),
            namespace: store.namespace.clone(),
            root: store.root.display().to_string(),
            available: format!("{}{more}", listed.join(", ")),
        });
    };
    let (name, record) = &images[index];
    let what = format!("{}: image {name}", path.display());
    let (digest, media_type, size) = target_fields(record).map_err(corrupt)?;
    let (Some(digest), Some(size)) = (digest, size) else {
        return Err(SourceError::invalid(what, "its target has no digest or size"));
    };
    let size = u64::try_from(size).map_err(|_| SourceError::invalid(&what, format!("target size {size}")))?;
    let target: Descriptor = serde_json::from_value(serde_json::json!({
        "mediaType": media_type.unwrap_or_default(),
        "digest": digest,
        "size": size,
    }))
    .map_err(|source| SourceError::Json {
        what: what.clone(),
        source,
    })?;
    Ok(Found {
        name: name.clone(),
        target,
    })
}

/// The `target` bucket's digest, media type and size.
type TargetFields = (Option<String>, Option<String>, Option<i64>);

fn target_fields(record: &bolt::Bucket<'_>) -> Result<TargetFields, BoltError> {
    let Some(target) = record.bucket(b"target")? else {
        return Ok((None, None, None));
    };
    let text = |bytes: Option<&[u8]>| bytes.map(|b| String::from_utf8_lossy(b).into_owned());
    Ok((
        text(target.data(b"digest")?),
        text(target.data(b"mediatype")?),
        target.data(b"size")?.and_then(bolt::varint),
    ))
}

fn unreadable(path: &Path, error: BoltError) -> SourceError {
    let location = path.display().to_string();
    match &error {
        BoltError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => SourceError::ContainerdStore {
            path: location,
            reason: "no containerd metadata database there".to_owned(),
            hint: root_hint(),
        },
        BoltError::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => SourceError::ContainerdStore {
            path: location,
            reason: "permission denied".to_owned(),
            hint: "containerd's root is readable by root only: run imgprof as root (`sudo -E`), \
                   or set CONTAINERD_ROOT to a store you can read"
                .to_owned(),
        },
        _ => SourceError::ContainerdDatabase {
            path: location,
            source: error,
        },
    }
}

/// What a name the user gave stands for among the names containerd holds.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    Name(usize),
    /// `NAME@sha256:...` with no image of that name: an image of the repository whose
    /// target has the digest.
    Digest {
        repository: String,
        digest: String,
    },
    None,
}

/// The name as given, else normalised as docker does (`app:1` is
/// `docker.io/library/app:1`, `app` is `app:latest`).
fn resolve(wanted: &str, names: &[&str]) -> Resolved {
    if let Some(index) = names.iter().position(|n| *n == wanted) {
        return Resolved::Name(index);
    }
    let Ok(reference) = wanted.parse::<Reference>() else {
        return Resolved::None;
    };
    let repository = format!("{}/{}", reference.registry, reference.repository);
    let mut normal = repository.clone();
    match (&reference.tag, &reference.digest) {
        (None, None) => normal.push_str(":latest"),
        (tag, digest) => {
            if let Some(tag) = tag {
                normal.push_str(&format!(":{tag}"));
            }
            if let Some(digest) = digest {
                normal.push_str(&format!("@{digest}"));
            }
        }
    }
    if let Some(index) = names.iter().position(|n| *n == normal) {
        return Resolved::Name(index);
    }
    match reference.digest {
        Some(digest) => Resolved::Digest {
            repository,
            digest: digest.to_string(),
        },
        None => Resolved::None,
    }
}

/// `docker.io/library/app:1@sha256:...` -> `docker.io/library/app`.
fn strip_version(name: &str) -> &str {
    let name = name.split_once('@').map_or(name, |(n, _)| n);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix() {
        let r = ContainerdRef::parse("containerd:app:1")
            .expect("a containerd source")
            .expect("valid");
        assert_eq!(r.name, "app:1");
        assert_eq!(r.to_string(), "containerd:app:1");
        assert!(ContainerdRef::parse("app:1").is_none());
        assert!(ContainerdRef::parse("containerd:").expect("prefixed").is_err());
        assert!(ContainerdRef::parse("containerd:a b").expect("prefixed").is_err());
    }

    #[test]
    fn names_resolve_as_docker_shortens_them() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = format!("docker.io/library/app@{digest}");
        let names = [
            "docker.io/library/app:latest",
            "docker.io/library/app:1",
            "localhost:5000/x/y:2",
            "import-2026-12-07:multi",
            pinned.as_str(),
        ];
        assert_eq!(resolve("app", &names), Resolved::Name(0));
        assert_eq!(resolve("app:latest", &names), Resolved::Name(0));
        assert_eq!(resolve("library/app:1", &names), Resolved::Name(1));
        assert_eq!(resolve("docker.io/library/app:1", &names), Resolved::Name(1));
        assert_eq!(resolve("localhost:5000/x/y:2", &names), Resolved::Name(2));
        assert_eq!(resolve("import-2026-12-07:multi", &names), Resolved::Name(3));
        assert_eq!(resolve(&format!("app@{digest}"), &names), Resolved::Name(4));
        let other = format!("sha256:{}", "b".repeat(64));
        assert_eq!(
            resolve(&format!("app@{other}"), &names),
            Resolved::Digest {
                repository: "docker.io/library/app".to_owned(),
                digest: other
            }
        );
        assert_eq!(resolve("app:2", &names), Resolved::None);
        assert_eq!(strip_version("localhost:5000/x/y:2"), "localhost:5000/x/y");
        assert_eq!(strip_version(&pinned), "docker.io/library/app");
    }
}
