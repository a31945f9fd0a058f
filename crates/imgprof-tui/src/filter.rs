//! The tree pane's regex path filter, matched against every node of a [`FileTree`].
//!
//! Matching a million full paths one by one means building each path and scanning it
//! from its first byte: ~70 ms. A node's path is its parent's path, a `/` and its name,
//! so [`PathFilter::matches`] runs a DFA down the tree instead: each node starts from
//! the state its parent's path left and feeds only its own name. The answers are the
//! regex's own, exactly: a match the DFA saw inside a directory's path (before its end)
//! holds for every path below it, and a match that needs the end of the path (`$`) is
//! asked at each node's end. Patterns a DFA cannot take (Unicode word boundaries, or
//! one that would grow past [`DFA_BYTES`]) are matched path by path with the regex.

use regex::Regex;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::start;
use regex_automata::util::syntax;

use crate::tree::{FileTree, NodeId, ROOT};

/// Memory a filter's DFA may take before the filter falls back to the regex.
const DFA_BYTES: usize = 8 << 20;

/// A path filter: ignores case unless the pattern has a capital letter, as ripgrep's
/// smart case does. Making one checks the pattern; its DFA is built when it is matched
/// (on the view's worker thread).
pub struct PathFilter {
    regex: Regex,
    case_insensitive: bool,
}

impl std::fmt::Debug for PathFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PathFilter").field(&self.regex.as_str()).finish()
    }
}

impl PathFilter {
    pub fn new(pattern: &str) -> Result<PathFilter, regex::Error> {
        let case_insensitive = !pattern.chars().any(char::is_uppercase);
        let regex = regex::RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()?;
        Ok(PathFilter {
            regex,
            case_insensitive,
        })
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether each node's full path (no leading `/`) matches; the root's is false.
    pub fn matches(&self, tree: &FileTree) -> Vec<bool> {
        let walked = self.dfa().and_then(|dfa| walk_dfa(&dfa, tree));
        walked.unwrap_or_else(|| walk_paths(&self.regex, tree))
    }

    fn dfa(&self) -> Option<dense::DFA<Vec<u32>>> {
        dense::Builder::new()
            .syntax(syntax::Config::new().case_insensitive(self.case_insensitive))
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Unanchored)
                    .dfa_size_limit(Some(DFA_BYTES))
                    .determinize_size_limit(Some(DFA_BYTES)),
            )
            .build(self.regex.as_str())
            .ok()
    }
}

/// The DFA walk, in node order (a parent's id is smaller than its children's), so the
/// names and parents are read front to back; `None` if the DFA cannot give a start state.
fn walk_dfa(dfa: &dense::DFA<Vec<u32>>, tree: &FileTree) -> Option<Vec<bool>> {
    let n = tree.len();
    let start = dfa.start_state(&start::Config::new()).ok()?;
    let mut matches = vec![false; n];
    // The state after each node's path, and whether the DFA saw a match before its end.
    let mut after = vec![start; n];
    let mut early = vec![false; n];
    for node in 1..n {
        let parent = tree.parent_of(node as NodeId) as usize;
        if early[parent] {
            early[node] = true;
            matches[node] = true;
            continue;
        }
        let mut state = after[parent];
        let mut matched = false;
        let separator: &[u8] = if parent == ROOT as usize { b"" } else { b"/" };
        for &byte in separator.iter().chain(tree.name(node as NodeId).as_bytes()) {
            state = dfa.next_state(state, byte);
            if dfa.is_special_state(state) && (dfa.is_match_state(state) || dfa.is_dead_state(state)) {
                matched = dfa.is_match_state(state);
                break;
            }
        }
        // A match seen before the path's end does not depend on what follows it (the
        // DFA reports a match one byte late, having looked at that byte); one at the
        // end is asked of this path only.
        after[node] = state;
        early[node] = matched;
        matches[node] = matched || dfa.is_match_state(dfa.next_eoi_state(state));
    }
    Some(matches)
}

/// Each node's full path built in one buffer and matched by the regex.
fn walk_paths(regex: &Regex, tree: &FileTree) -> Vec<bool> {
    let mut matches = vec![false; tree.len()];
    let mut path = String::new();
    let mut stack: Vec<(NodeId, usize)> = tree.children(ROOT).iter().map(|&c| (c, 0)).collect();
    while let Some((node, prefix_len)) = stack.pop() {
        path.truncate(prefix_len);
        if prefix_len > 0 {
            path.push('/');
        }
        path.push_str(tree.name(node));
        matches[node as usize] = regex.is_match(&path);
        let len = path.len();
        stack.extend(tree.children(node).iter().map(|&c| (c, len)));
    }
    matches
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgprof_layers::{Entry, EntryKind, LayerIndex};

    fn tree(paths: &[&str]) -> FileTree {
        let entries = paths.iter().map(|p| Entry::plain(p, EntryKind::File, 1)).collect();
        FileTree::build(&[LayerIndex::of_entries(entries)], &[])
    }

    /// The regex on each node's built path: what the DFA walk must agree with.
    fn expected(tree: &FileTree, filter: &PathFilter) -> Vec<bool> {
        (0..tree.len() as NodeId)
            .map(|n| n != ROOT && filter.regex.is_match(&tree.path(n)))
            .collect()
    }

    const PATHS: &[&str] = &[
        "usr/lib/python3.11/site-packages/numpy/core/_multiarray.so",
        "usr/lib/python3.11/site-packages/numpy/__init__.py",
        "usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
        "usr/include/python3.11/Python.h",
        "usr/bin/gcc-12",
        "usr/bin/x86_64-linux-gnu-gcc-12",
        "etc/apt/sources.list",
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
        "app/src/main.py",
        "app/src/Main.py",
        "app/dir.with.dots/a",
        "opt/caf\u{e9}/men\u{fc}.txt",
        "x",
    ];

    #[test]
    fn the_dfa_walk_agrees_with_the_regex_on_every_path() {
        let tree = tree(PATHS);
        let patterns = [
            "site-packages",
            "numpy",
            "py$",
            r"\.pyc$",
            "^usr/bin",
            "^app$",
            "^app",
            "bin/gcc",
            "gcc-[0-9]+$",
            "lib/",
            "/",
            "^[^/]+$",
            "src/main",
            "Main",
            r"\bgcc\b",
            "(?-u:\\b)gcc",
            r"\.h$|\.so$",
            "apt.*lists",
            "caf\u{e9}",
            "CAF\u{c9}",
            "x$",
            "^x$",
            "",
            "a|b",
            "dir\\.with",
            "(?m)py$",
            "$",
            "^",
        ];
        for pattern in patterns {
            let filter = PathFilter::new(pattern).unwrap();
            assert_eq!(filter.matches(&tree), expected(&tree, &filter), "/{pattern}/");
            if filter.dfa().is_none() {
                assert!(pattern.contains(r"\b"), "/{pattern}/ fell back to the regex");
            }
            assert_eq!(
                walk_paths(&filter.regex, &tree),
                expected(&tree, &filter),
                "/{pattern}/"
            );
        }
    }

    #[test]
    fn a_capital_letter_makes_the_filter_case_sensitive() {
        let tree = tree(PATHS);
        let count = |pattern: &str| {
            PathFilter::new(pattern)
                .unwrap()
                .matches(&tree)
                .iter()
                .filter(|m| **m)
                .count()
        };
        // "main.py" and "Main.py" both match without a capital; only one with one.
        assert_eq!(count("main\\.py"), 2);
        assert_eq!(count("Main\\.py"), 1);
    }
}
