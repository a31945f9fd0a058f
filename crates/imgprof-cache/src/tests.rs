use std::sync::Arc;
use std::time::Duration;

use imgprof_layers::{CapturedFile, Compression, Entry, EntryKind, IndexCache, LayerIndex};
use imgprof_source::Digest;

use super::*;

/// A sample with every field and every entry kind. Built field by field, so adding a
/// field to `LayerIndex` or `Entry` breaks this file: then bump INDEX_VERSION.
fn sample(seed: &[u8]) -> LayerIndex {
    let kinds = [
        EntryKind::File,
        EntryKind::Dir,
        EntryKind::Symlink,
        EntryKind::HardLink,
        EntryKind::CharDevice,
        EntryKind::BlockDevice,
        EntryKind::Fifo,
        EntryKind::Whiteout,
        EntryKind::OpaqueWhiteout,
    ];
    let entries = kinds
        .iter()
        .enumerate()
        .map(|(i, &kind)| Entry {
            path: format!("usr/lib/file-{i}").into(),
            kind,
            size: 1 << (i * 7),
            mode: 0o644,
            uid: i as u32,
            gid: 1000,
            hash: 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(i as u64 + 1),
            link: matches!(kind, EntryKind::Symlink | EntryKind::HardLink).then(|| "usr/lib/file-0".into()),
        })
        .collect();
    LayerIndex {
        compression: Compression::Gzip,
        compressed_bytes: 1234,
        tar_bytes: 10240,
        digest: Digest::of(seed),
        diff_id: Digest::of(&[seed, b"-tar"].concat()),
        entries,
        captured: vec![CapturedFile {
            entry: 0,
            content: b"Package: libc6\n".to_vec(),
        }],
        absolute_paths: 2,
    }
}

fn same(a: &LayerIndex, b: &LayerIndex) -> bool {
    a.compression == b.compression
        && a.compressed_bytes == b.compressed_bytes
        && a.tar_bytes == b.tar_bytes
        && a.digest == b.digest
        && a.diff_id == b.diff_id
        && a.entries == b.entries
        && a.captured == b.captured
        && a.absolute_paths == b.absolute_paths
}

fn cache_in(dir: &tempfile::TempDir) -> LayerCache {
    LayerCache::new(dir.path().to_owned(), generation("test policy"))
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_in(&dir);
    let index = sample(b"a");
    assert!(cache.get(&index.digest, &index.diff_id).unwrap().is_none());
    cache.put(&index).unwrap();
    let loaded = cache.get(&index.digest, &index.diff_id).unwrap().expect("a hit");
    assert!(same(&index, &loaded));
    // Another diff_id for the same blob is another key.
    assert!(cache.get(&index.digest, &Digest::of(b"other")).unwrap().is_none());
    assert!(cache.take_problems().is_empty());
}

/// The encoding of the sample, pinned: when this fails the stored shape of `LayerIndex`
/// changed, and `imgprof_layers::INDEX_VERSION` must be bumped (then update the number).
#[test]
fn encoding_is_pinned_to_the_index_version() {
    let bytes = postcard::to_stdvec(&sample(b"pinned")).unwrap();
    assert_eq!(
        (
            imgprof_layers::INDEX_VERSION,
            bytes.len(),
            xxhash_rust::xxh3::xxh3_64(&bytes)
        ),
        (2, 528, 0x23bb_f3d7_2eb3_c5a4),
        "LayerIndex encodes differently: bump imgprof_layers::INDEX_VERSION"
    );
}

#[test]
fn damaged_entries_are_misses_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_in(&dir);
    let index = sample(b"b");
    cache.put(&index).unwrap();
    let path = cache.entry_path(&index.digest, &index.diff_id);
    let good = std::fs::read(&path).unwrap();

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("header only", good[..50].to_vec()),
        ("truncated", good[..good.len() - 3].to_vec()),
        ("longer", [good.as_slice(), b"x"].concat()),
        ("a flipped bit", flipped),
        ("garbage", vec![0xff; good.len()]),
    ];
    for (what, bytes) in damaged {
        std::fs::write(&path, &bytes).unwrap();
        assert!(cache.get(&index.digest, &index.diff_id).unwrap().is_none(), "{what}");
        assert!(!path.exists(), "{what}: removed");
    }
    // And a store afterwards repairs it.
    cache.store(&index);
    assert!(cache.load(&index.digest, &index.diff_id).is_some());
}

#[test]
fn entries_of_another_generation_or_key_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let index = sample(b"c");
    let old = LayerCache::new(dir.path().to_owned(), generation("old policy"));
    old.put(&index).unwrap();
    let new = cache_in(&dir);
    assert_ne!(old.generation(), new.generation());
    assert!(new.get(&index.digest, &index.diff_id).unwrap().is_none());

    // An entry copied under another name (or a header of another format) is a miss.
    let other = sample(b"d");
    new.put(&other).unwrap();
    let bytes = std::fs::read(new.entry_path(&other.digest, &other.diff_id)).unwrap();
    std::fs::write(new.entry_path(&index.digest, &index.diff_id), &bytes).unwrap();
    assert!(new.get(&index.digest, &index.diff_id).unwrap().is_none());
    let mut future = bytes.clone();
    future[8] = 99;
    std::fs::write(new.entry_path(&other.digest, &other.diff_id), &future).unwrap();
    assert!(new.get(&other.digest, &other.diff_id).unwrap().is_none());
}

#[test]
fn concurrent_writers_and_readers_see_whole_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(cache_in(&dir));
    let index = Arc::new(sample(b"e"));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let cache = Arc::clone(&cache);
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    cache.put(&index).unwrap();
                    // Some writer has finished: always a whole entry, never a damaged one.
                    let loaded = cache.get(&index.digest, &index.diff_id).unwrap();
                    assert!(same(&index, &loaded.expect("a hit after a store")));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let info = info(dir.path(), cache.generation()).unwrap();
    assert_eq!(info.entries(), 1);
    assert_eq!(info.generations[0].temporary, 0, "no temporary file left");
}

#[test]
fn unwritable_directory_is_a_problem_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the cache directory should be.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"").unwrap();
    let cache = LayerCache::new(blocked.clone(), generation("p"));
    let index = sample(b"f");
    cache.store(&index);
    assert!(cache.load(&index.digest, &index.diff_id).is_none());
    let problems = cache.take_problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].to_string().contains(&blocked.display().to_string()),
        "names the path"
    );
}

#[test]
fn info_and_prune() {
    let dir = tempfile::tempdir().unwrap();
    let current = cache_in(&dir);
    let old = LayerCache::new(dir.path().to_owned(), generation("old"));
    for seed in [b"1", b"2", b"3"] {
        current.put(&sample(seed)).unwrap();
    }
    old.put(&sample(b"4")).unwrap();
    // A file that is not the cache's stays.
    let foreign = dir
        .path()
        .join("layers")
        .join(generation_dir_name(current.generation()))
        .join("notes.txt");
    std::fs::write(&foreign, b"mine").unwrap();

    let summary = info(dir.path(), current.generation()).unwrap();
    assert_eq!(summary.entries(), 4);
    assert_eq!(summary.generations.len(), 2);
    assert!(summary.generations[0].current);
    assert_eq!(summary.generations[0].entries, 3);
    assert!(summary.bytes() > 0);

    let stale = PruneSelection {
        stale: true,
        ..Default::default()
    };
    let pruned = prune(dir.path(), current.generation(), stale).unwrap();
    assert_eq!((pruned.removed, pruned.kept), (1, 3));
    let unused = PruneSelection {
        unused_for: Some(Duration::from_secs(3600)),
        ..Default::default()
    };
    assert_eq!(prune(dir.path(), current.generation(), unused).unwrap().removed, 0);
    let all = prune(dir.path(), current.generation(), PruneSelection::default()).unwrap();
    assert_eq!((all.removed, all.kept), (3, 0));
    assert_eq!(info(dir.path(), current.generation()).unwrap().entries(), 0);
    assert!(foreign.exists(), "only the cache's own files are removed");

    // An absent directory is an empty cache.
    let nowhere = dir.path().join("nowhere");
    assert_eq!(info(&nowhere, current.generation()).unwrap().entries(), 0);
    assert_eq!(
        prune(&nowhere, current.generation(), PruneSelection::default())
            .unwrap()
            .removed,
        0
    );
}

#[test]
fn directory_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    };
    const ALL: [(&str, &str); 3] = [("IMGPROF_CACHE_DIR", "/c"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")];
    let all = &ALL;
    assert_eq!(dir_from(env(all)).unwrap(), PathBuf::from("/c"));
    assert_eq!(dir_from(env(&all[1..])).unwrap(), PathBuf::from("/x/imgprof"));
    assert_eq!(dir_from(env(&all[2..])).unwrap(), PathBuf::from("/h/.cache/imgprof"));
    const EMPTY_AND_RELATIVE: [(&str, &str); 3] =
        [("IMGPROF_CACHE_DIR", ""), ("XDG_CACHE_HOME", "rel"), ("HOME", "/h")];
    assert_eq!(
        dir_from(env(&EMPTY_AND_RELATIVE)).unwrap(),
        PathBuf::from("/h/.cache/imgprof")
    );
    assert!(matches!(dir_from(env(&[])), Err(CacheError::NoDirectory)));
}
