//! Helpers shared by the fuzz targets: a small "bundle" format that lets the fuzzer
//! describe the files of an image with correct digests, and reading a whole image the
//! way the CLI does.
//!
//! A bundle is a sequence of sections, each `=== NAME\n` followed by its content up to the
//! next `\n=== ` (or the end). `NAME` is a path inside the image (`index.json`,
//! `manifest.json`, `abc/layer.tar`), `@LABEL` for a blob stored under
//! `blobs/sha256/<its sha256>`, or `@LABEL:PATH` for a file at `PATH` with every `%` in it
//! replaced by the file's sha256 (`@cfg:%.json`). In a section's content, `<@LABEL>` becomes the digest
//! (`sha256:...`) and `<#LABEL>` the size of an earlier `@LABEL` blob, and `<%LABEL>` its
//! bare hex digest, so mutated documents still point at their blobs and the fuzzer gets
//! past digest checks into the code behind them.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;

use imgprof_layers::{IndexOptions, Limits, Stack, index_image_then};
use imgprof_source::{Digest, Image};

pub const BUNDLE_MAGIC: &[u8] = b"=== ";
const MAX_MEMBERS: usize = 64;
/// Uncompressed bytes a fuzzed layer may expand to (the CLI allows 1 GiB; this keeps
/// executions fast without hiding anything, since the limit's code path is the same).
pub const FUZZ_MAX_UNCOMPRESSED: u64 = 64 << 20;

/// One file of an image.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub content: Vec<u8>,
}

/// Parses a bundle; `None` when `data` is not one.
pub fn parse_bundle(data: &[u8]) -> Option<Vec<Member>> {
    let rest = data.strip_prefix(BUNDLE_MAGIC)?;
    let mut blobs: HashMap<Vec<u8>, (Digest, usize)> = HashMap::new();
    let mut members = Vec::new();
    for section in split(rest, b"\n=== ") {
        if members.len() == MAX_MEMBERS {
            break;
        }
        let (name, content) = match section.iter().position(|&b| b == b'\n') {
            Some(i) => (&section[..i], &section[i + 1..]),
            None => (section, &[][..]),
        };
        let content = substitute(content, &blobs);
        let name = if let Some(label) = name.strip_prefix(b"@") {
            let digest = Digest::of(&content);
            let (label, path) = match label.iter().position(|&b| b == b':') {
                Some(i) => {
                    let template = String::from_utf8_lossy(&label[i + 1..]);
                    (&label[..i], template.replace('%', digest.hex()))
                }
                None => (label, format!("blobs/sha256/{}", digest.hex())),
            };
            blobs.insert(label.to_vec(), (digest, content.len()));
            path
        } else {
            String::from_utf8_lossy(name).into_owned()
        };
        members.push(Member { name, content });
    }
    Some(members)
}

fn split<'a>(mut data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match data.windows(separator.len()).position(|w| w == separator) {
            Some(i) => {
                let (head, tail) = data.split_at(i);
                data = &tail[separator.len()..];
                Some(head)
            }
            None => {
                done = true;
                Some(data)
            }
        }
    })
}

/// Replaces `<@L>`, `<#L>` and `<%L>` with the digest, size and hex digest of blob `L`.
fn substitute(content: &[u8], blobs: &HashMap<Vec<u8>, (Digest, usize)>) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        if content[i] == b'<'
            && let Some(&kind) = content.get(i + 1)
            && matches!(kind, b'@' | b'#' | b'%')
            && let Some(end) = content[i + 2..].iter().take(64).position(|&b| b == b'>')
            && let Some((digest, size)) = blobs.get(&content[i + 2..i + 2 + end])
        {
            match kind {
                b'@' => out.extend_from_slice(digest.to_string().as_bytes()),
                b'#' => out.extend_from_slice(size.to_string().as_bytes()),
                _ => out.extend_from_slice(digest.hex().as_bytes()),
            }
            i += 2 + end + 1;
            continue;
        }
        out.push(content[i]);
        i += 1;
    }
    out
}

/// A member name as a safe relative path (no `..`, not absolute, no empty parts).
fn safe_relative(name: &str) -> Option<&str> {
    let ok = !name.is_empty()
        && name.len() < 512
        && !name.contains('\0')
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && p.len() < 200);
    ok.then_some(name)
}

/// Writes the members as files under `dir` (the files of an OCI layout). Names that are
/// not safe relative paths are skipped, as are members that cannot be written.
pub fn write_dir(members: &[Member], dir: &Path) {
    for member in members {
        let Some(name) = safe_relative(&member.name) else {
            continue;
        };
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(&path, &member.content);
    }
}

/// Writes the members as an uncompressed tar (a `docker save` archive, an oci-archive).
pub fn write_tar(members: &[Member], path: &Path) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut builder = tar::Builder::new(file);
    for member in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(member.content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Names the tar crate refuses (absolute, `..`) are skipped: the raw-input mode
        // covers malformed archives.
        let _ = builder.append_data(&mut header, &member.name, &member.content[..]);
    }
    builder.into_inner()?.sync_all()
}

/// Reads every layer of `image` as the CLI does (digests verified, layers walked, stacked),
/// and streams each layer's stored bytes once more through `open_layer`.
pub fn read_image(image: &Image) {
    let _ = imgprof_source::history::layer_history(image.config.history(), image.layers.len());
    for history in image.config.history() {
        if let Some(created_by) = history.created_by() {
            let parsed = imgprof_source::history::Instruction::from_created_by(created_by);
            let _ = parsed.to_dockerfile();
            let _ = imgprof_source::history::Instruction::parse(&parsed.to_string());
        }
    }
    for layer in &image.layers {
        if let Ok(reader) = image.open_layer(layer) {
            let _ = io::copy(&mut reader.take(FUZZ_MAX_UNCOMPRESSED), &mut io::sink());
        }
    }
    let options = IndexOptions {
        jobs: 1,
        capture: |_| Some(256),
        cache: None,
        progress: None,
        limits: Limits { max_expansion: Some(4) },
    };
    let _ = index_image_then(image, options, |indexes| {
        let _ = imgprof_layers::dive::metrics(indexes);
        let stack = Stack::build(indexes);
        exercise_stack(&stack);
    });
}

/// Calls every query of a stack, so inconsistencies in it surface as panics.
pub fn exercise_stack(stack: &Stack<'_>) {
    let _ = stack.shipped_bytes();
    let _ = stack.final_bytes();
    let _ = stack.redundant_bytes();
    let _ = stack.final_counts();
    for layer in 0..stack.layers().len() {
        let _ = stack.removals(layer).len();
    }
    let _ = stack.changes().len();
    for lost in stack.lost_copies() {
        let _ = lost.inode();
    }
    for (path, slot) in stack.visible() {
        let _ = stack.entry(slot);
        let _ = stack.get(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(target: &str, suffix: &str) -> Vec<(String, Vec<u8>)> {
        let dir = crate::replay::corpus_dir().join(target);
        let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        seeds.sort();
        assert!(!seeds.is_empty());
        seeds
    }

    fn open_and_index(arg: &str) {
        let image = imgprof_source::open(arg, None).unwrap_or_else(|e| panic!("{arg}: {e}"));
        let options = IndexOptions {
            jobs: 1,
            capture: |_| None,
            cache: None,
            progress: None,
            limits: Limits::default(),
        };
        index_image_then(&image, options, |_| ()).unwrap_or_else(|e| panic!("{arg}: {e}"));
    }

    /// The bundle seeds are whole, readable images, so the fuzzer starts past every check.
    #[test]
    fn bundle_seeds_open() {
        for (name, data) in seeds("fuzz_oci_layout", ".bundle") {
            let dir = tempfile::tempdir().unwrap();
            write_dir(&parse_bundle(&data).unwrap(), dir.path());
            open_and_index(&format!("oci:{}", dir.path().display()));
            println!("{name} opens");
        }
        for (name, data) in seeds("fuzz_docker_archive", ".bundle") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("image.tar");
            write_tar(&parse_bundle(&data).unwrap(), &path).unwrap();
            open_and_index(path.to_str().unwrap());
            println!("{name} opens");
        }
    }

    #[test]
    fn substitution() {
        let members = parse_bundle(b"=== @a\nxyz\n=== @c:%.json\n<@a> <#a> <%b>\n=== plain\n<#c>").unwrap();
        assert_eq!(members[0].name, format!("blobs/sha256/{}", Digest::of(b"xyz").hex()));
        let text = String::from_utf8(members[1].content.clone()).unwrap();
        assert_eq!(text, format!("{} 3 <%b>", Digest::of(b"xyz")));
        assert_eq!(members[1].name, format!("{}.json", Digest::of(text.as_bytes()).hex()));
        assert_eq!(members[2].content, text.len().to_string().into_bytes());
    }
}
