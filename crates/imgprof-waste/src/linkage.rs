//! Which shared libraries a native module links against, read from the start of its
//! ELF file (the layer walk keeps [`ELF_PREFIX`] bytes of each, see
//! [`crate::capture_policy`]).
//!
//! A module's `DT_NEEDED` entries are offsets into `.dynstr`, which linkers place in
//! the first loadable segment, right after the symbol table: within the first few
//! kilobytes of an extension module (psycopg2's `_psycopg.so`: at 7 kB of 1 MB). The
//! dynamic section itself sits far later (and section headers at the very end), so
//! instead of following it the names are taken from the strings in the prefix that
//! have the form of a shared-object name. `.dynstr` holds symbol names and version
//! names besides; neither has that form. A library whose name lies past the prefix is
//! missed (a module exporting tens of thousands of symbols): the rebuild then lacks
//! that package, which the e2e check (the module imported in the built image) catches.

/// Bytes of each native module the walk keeps.
pub const ELF_PREFIX: u64 = 64 << 10;

/// Whether `path` is a native module of a language's package directory, whose
/// libraries the runtime stage must install: Python extension modules and the shared
/// libraries wheels bundle, Node addons.
pub fn is_native_module(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_packages = path.contains("-packages/") || path.contains("node_modules/");
    in_packages && (name.ends_with(".so") || name.contains(".so.") || name.ends_with(".node"))
}

/// `libpq.so.5`, `libc.so.6`, `ld-linux-x86-64.so.2`, `libfoo.so`: a shared-object name.
pub fn is_soname(name: &str) -> bool {
    let Some((stem, version)) = name.split_once(".so") else {
        return false;
    };
    (stem.starts_with("lib") || stem.starts_with("ld-"))
        && stem.len() > 3
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.'))
        && (version.is_empty() || version.strip_prefix('.').is_some_and(is_version))
}

fn is_version(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// The shared-object names in the start of an ELF file (none if it is not one).
pub fn needed_libraries(prefix: &[u8]) -> Vec<String> {
    if !prefix.starts_with(b"\x7fELF") {
        return Vec::new();
    }
    let mut names: Vec<String> = prefix
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok())
        .filter(|s| is_soname(s))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sonames_have_the_form_of_a_library_file() {
        for name in [
            "libpq.so.5",
            "libc.so.6",
            "ld-linux-x86-64.so.2",
            "libstdc++.so.6",
            "libfoo.so",
        ] {
            assert!(is_soname(name), "{name}");
        }
        for name in [
            "GLIBC_2.2.5",
            "PQconnectdb",
            "lib.so",
            "libpq.so.5a",
            "libpq.sox",
            "x.so.1",
            "libpq.so.",
        ] {
            assert!(!is_soname(name), "{name}");
        }
    }

    #[test]
    fn reads_the_names_from_the_strings_of_an_elf_prefix() {
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
        elf.extend_from_slice(b"\0PQconnectdb\0libpq.so.5\0libc.so.6\0GLIBC_2.2.5\0libpq.so.5\0");
        assert_eq!(needed_libraries(&elf), ["libc.so.6", "libpq.so.5"]);
        assert!(
            needed_libraries(b"#!/bin/sh\0libpq.so.5\0").is_empty(),
            "not an ELF file"
        );
    }

    #[test]
    fn native_modules_are_those_of_package_directories() {
        assert!(is_native_module(
            "usr/local/lib/python3.11/site-packages/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so"
        ));
        assert!(is_native_module(
            "opt/venv/lib/python3.11/site-packages/numpy.libs/libgfortran-040039e1.so.5.0.0"
        ));
        assert!(is_native_module(
            "app/node_modules/bcrypt/lib/binding/napi-v3/bcrypt_lib.node"
        ));
        assert!(!is_native_module("usr/lib/x86_64-linux-gnu/libpq.so.5"));
        assert!(!is_native_module("usr/lib/python3/dist-packages/pip/__init__.py"));
    }
}
