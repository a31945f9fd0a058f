//! Text from an image (file names, history commands, labels) is the image author's, and
//! may carry terminal control sequences: a window-title or clipboard OSC, a clear-screen,
//! a carriage return that overwrites the line above. Everything imgprof prints for a
//! person passes through [`terminal_safe`] first.

/// `text` with every control character shown as a Rust escape (`\u{1b}`, `\r`), except
/// newlines, tabs and the colour sequences (`ESC [ digits;... m`) that [`crate::Style`]
/// writes. A stray SGR in a name can at worst recolour the rest of a line, so it is kept
/// rather than parsed for its origin.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of the SGR sequence `ESC [ [0-9;]* m` at the start of `text`, if one is.
fn sgr_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let params = body.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn colours_stay_and_other_controls_are_shown_escaped() {
        let text = "\u{1b}[1;31mbig\u{1b}[0m app/\u{1b}]0;owned\u{7}\u{1b}[2J\rx\u{9b}y\n";
        assert_eq!(
            terminal_safe(text),
            "\u{1b}[1;31mbig\u{1b}[0m app/\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\rx\\u{9b}y\n"
        );
    }

    #[test]
    fn plain_text_is_unchanged() {
        let text = "usr/lib/python3.12/site-packages/numpy\t12.3 MB\n";
        assert_eq!(terminal_safe(text), text);
    }
}
