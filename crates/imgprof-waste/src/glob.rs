//! Path globs for `exclude_paths`: `*` matches within one path component, `**` across
//! components, `?` one character. A pattern with a `/` matches the whole absolute path
//! (`/app/models/**`); one without matches the file name (`*.log`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    whole_path: bool,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob {
            whole_path: pattern.contains('/'),
            pattern: pattern.trim_start_matches('/').to_owned(),
        }
    }

    /// Whether `path` (normalised, no leading `/`) matches.
    pub fn matches(&self, path: &str) -> bool {
        let subject = if self.whole_path {
            path
        } else {
            path.rsplit('/').next().unwrap_or(path)
        };
        matches(self.pattern.as_bytes(), subject.as_bytes())
    }
}

fn matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=text.len()).any(|i| matches(rest, &text[i..]))
        }
        [b'*', rest @ ..] => {
            let limit = text.iter().position(|&c| c == b'/').unwrap_or(text.len());
            (0..=limit).any(|i| matches(rest, &text[i..]))
        }
        [b'?', rest @ ..] => text.first().is_some_and(|&c| c != b'/') && matches(rest, &text[1..]),
        [c, rest @ ..] => text.first() == Some(c) && matches(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn globs() {
        assert!(Glob::new("/app/models/**").matches("app/models/a/b.bin"));
        assert!(!Glob::new("/app/models/**").matches("app/other/b.bin"));
        assert!(Glob::new("*.log").matches("var/log/x/app.log"));
        assert!(Glob::new("/var/cache/*/x").matches("var/cache/apt/x"));
        assert!(!Glob::new("/var/cache/*/x").matches("var/cache/apt/deep/x"));
        assert!(Glob::new("/usr/**/*.h").matches("usr/include/stdio.h"));
        assert!(Glob::new("/a?c").matches("abc"));
    }
}
