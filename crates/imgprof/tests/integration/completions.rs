//! Shell completions and man pages, generated from the command line's definition: bash
//! completes through the script as a shell would run it, and groff reads every page
//! without a warning.

use std::process::Command;

use crate::common::imgprof;

/// What bash's completion offers for the words typed so far (the last one being completed).
fn bash_completes(script: &str, words: &[&str]) -> Vec<String> {
    let program = format!(
        "{script}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE=\"{line}\"; COMP_POINT=${{#COMP_LINE}}\n\
         _imgprof imgprof \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        cword = words.len() - 1,
        line = words.join(" "),
    );
    let out = Command::new("bash").arg("-c").arg(program).output().expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_and_their_flags() {
    let out = imgprof(&["completions", "bash"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = String::from_utf8(out.stdout).expect("UTF-8");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
    assert_eq!(bash_completes(&script, &["imgprof", "rep"]), ["report"]);
    let commands = bash_completes(&script, &["imgprof", ""]);
    for command in [
        "report",
        "inspect",
        "check",
        "suggest",
        "platforms",
        "compare",
        "cache",
        "completions",
        "man",
    ] {
        assert!(commands.iter().any(|c| c == command), "{command} in {commands:?}");
    }
    assert_eq!(bash_completes(&script, &["imgprof", "report", "--js"]), ["--json"]);
    let shells = bash_completes(&script, &["imgprof", "completions", ""]);
    assert!(
        shells.iter().any(|s| s == "zsh") && shells.iter().any(|s| s == "fish"),
        "{shells:?}"
    );
    // The other shells' scripts name every command too.
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = imgprof(&["completions", shell]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("platforms") && text.contains("max-expansion"),
            "{shell}"
        );
    }
    let bad = imgprof(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("possible values"),
        "{bad:?}"
    );
}

#[test]
fn man_pages_render_without_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pages = dir.path().join("man1");
    let out = imgprof(&["man", "--dir", pages.to_str().expect("UTF-8")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(written.len(), 11, "imgprof.1 and one per command: {written:?}");
    for page in &written {
        let rendered = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(page)
            .output()
            .expect("groff runs");
        assert!(rendered.status.success(), "{page}");
        assert!(
            rendered.stderr.is_empty(),
            "{page}: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
    }
    let report = Command::new("groff")
        .args(["-man", "-Tascii", "-P", "-cbou"])
        .arg(pages.join("imgprof-report.1"))
        .output()
        .expect("groff runs");
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(
        text.contains("imgprof report") && text.contains("--max-expansion") && text.contains("decompression bomb"),
        "{text}"
    );
    // On stdout without --dir: the main page, naming the commands.
    let main = imgprof(&["man"]);
    let roff = String::from_utf8_lossy(&main.stdout);
    assert!(
        main.status.success() && roff.starts_with(".ie") && roff.contains("platforms"),
        "{roff}"
    );
    // A directory that cannot be made is named.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").expect("written");
    let bad = imgprof(&["man", "--dir", blocker.join("man1").to_str().expect("UTF-8")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot make"), "{bad:?}");
}
