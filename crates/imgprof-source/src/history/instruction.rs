//! A Dockerfile instruction, parsed once: from a history entry's `created_by` as each
//! builder writes it ([`Instruction::from_created_by`]), or from one line of a Dockerfile
//! ([`Instruction::parse`]). Everything downstream matches on the variants, never on the
//! text; [`Instruction`]'s `Display` is the text a user would write in a Dockerfile.

use std::fmt;

/// One Dockerfile instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    From(Stage),
    Run(Run),
    /// `COPY` and `ADD` (see [`Copy::add`]).
    Copy(Copy),
    /// `ENV`: the assignments as recorded (`A=b C=d`; builders drop the quotes).
    Env(String),
    /// `ARG`: the names (and defaults) as recorded (buildah lists every one in scope).
    Arg(String),
    /// `LABEL`: the pairs as recorded.
    Label(String),
    Workdir(String),
    User(String),
    Cmd(Command),
    Entrypoint(Command),
    /// `EXPOSE`: the ports (`8000/tcp`, `53/udp`, `80`), as written or as BuildKit's map.
    Expose(Vec<String>),
    /// `VOLUME`: the paths as recorded (a list or a JSON array).
    Volume(String),
    /// `HEALTHCHECK`: its options and command as recorded.
    Healthcheck(String),
    /// `SHELL`: the JSON array as recorded.
    Shell(String),
    StopSignal(String),
    /// `ONBUILD`: the trigger instruction as recorded.
    OnBuild(String),
    Maintainer(String),
    /// An upper-case keyword this model does not know, with its arguments as recorded.
    Other {
        keyword: String,
        args: String,
    },
    /// Text with no Dockerfile keyword, as recorded: an empty `created_by`, a classic
    /// builder's RUN under another `SHELL` (`/bin/bash -c make`), a tool's own words.
    Unknown(String),
}

/// `FROM [--platform=..] image [AS name]`: the start of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub flags: Vec<String>,
    pub image: String,
    /// The stage's name (`AS builder`).
    pub name: Option<String>,
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// `--mount=..`, `--network=..`, `--security=..` as written. Only a Dockerfile line
    /// (and kaniko, which records the line) keeps them: BuildKit, the classic builder and
    /// buildah leave them out of history.
    pub flags: Vec<String>,
    /// The build arguments in scope, as the `|2 A=b C=d` prefix records them.
    pub build_args: Vec<(String, String)>,
    pub command: Command,
    /// Here-documents the shell script opens (`python3 <<EOF ... EOF`). BuildKit records
    /// a plain `RUN <<EOF` as the body alone (a multi-line script, no marker).
    pub heredocs: Vec<Heredoc>,
}

/// One here-document of a `RUN` script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub body: String,
}

/// `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// `ADD` rather than `COPY`.
    pub add: bool,
    /// `--from=..`, `--chown=..`, `--chmod=..`, `--link`, ... as written, in order.
    /// BuildKit drops them from history; the classic builder keeps `--chown`.
    pub flags: Vec<String>,
    /// The sources: paths of the context or a stage, URLs, or, as the classic builder and
    /// buildah record them, content hashes (`file:<hex>`, `dir:<hex>`, `multi:<hex>`;
    /// see [`Copy::hashed`]).
    pub sources: Vec<String>,
    pub dest: String,
    /// The JSON array as written (`COPY ["a b", "/app/"]`), when that form was used.
    pub json: Option<String>,
}

/// The command of a `RUN`, `CMD` or `ENTRYPOINT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Exec form: the argv, and the array as recorded: JSON (`["a", "b"]`) or, for
    /// BuildKit's `CMD` and `ENTRYPOINT`, Go's `%q` (`["a" "b"]`).
    Exec { argv: Vec<String>, written: String },
    /// Shell form: the script the shell runs.
    Shell(String),
}

impl Instruction {
    /// The instruction a history entry's `created_by` records, as BuildKit
    /// (`RUN /bin/sh -c make # buildkit`, `RUN |1 A=b /bin/sh -c make # buildkit`,
    /// `COPY . /app # buildkit`, `EXPOSE map[8000/tcp:{}]`, `CMD ["a" "b"]`), the classic
    /// builder and buildah (`/bin/sh -c #(nop)  CMD ["bash"]`, `/bin/sh -c #(nop) COPY
    /// file:<hex> in /app `, `|2 A=b C=d /bin/sh -c make`, a bare `/bin/sh -c make` for
    /// RUN) and kaniko (the Dockerfile line itself) write it.
    pub fn from_created_by(created_by: &str) -> Instruction {
        let text = created_by.trim();
        let text = text.strip_suffix("# buildkit").unwrap_or(text).trim_end();
        let (keyword, rest) = match text.split_once(' ') {
            // Upper case only: kaniko records the keyword as the user wrote it, and a
            // lower-case one has always been shown as recorded (`Unknown`).
            Some((k, r)) if is_keyword_word(k) => (Some(k), r.trim_start()),
            None if is_keyword_word(text) => (Some(text), ""),
            _ => (None, text),
        };
        let (build_args, rest) = build_args(rest);
        if let Some(nop) = rest.strip_prefix("/bin/sh -c #(nop)") {
            return Instruction::parse(nop);
        }
        if let Some(script) = rest.strip_prefix("/bin/sh -c ") {
            return Instruction::Run(Run::new(Vec::new(), build_args, script.trim()));
        }
        match keyword {
            Some(k) => typed(k, rest, build_args).unwrap_or_else(|| Instruction::Other {
                keyword: k.to_owned(),
                args: rest.to_owned(),
            }),
            None => Instruction::Unknown(rest.to_owned()),
        }
    }

    /// One Dockerfile instruction as written (continuations joined), or as the classic
    /// builder records it after `#(nop)`. Keywords are matched in any case.
    pub fn parse(line: &str) -> Instruction {
        let line = line.trim();
        let (word, rest) = match line.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim_start()),
            None => (line, ""),
        };
        if let Some(typed) = typed(word, rest, Vec::new()) {
            return typed;
        }
        if is_keyword_word(word) {
            Instruction::Other {
                keyword: word.to_owned(),
                args: rest.to_owned(),
            }
        } else {
            Instruction::Unknown(line.to_owned())
        }
    }

    /// The Dockerfile keyword (`RUN`, `ADD`, ...); `None` for [`Instruction::Unknown`].
    pub fn keyword(&self) -> Option<&str> {
        Some(match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Copy(c) if c.add => "ADD",
            Instruction::Copy(_) => "COPY",
            Instruction::Env(_) => "ENV",
            Instruction::Arg(_) => "ARG",
            Instruction::Label(_) => "LABEL",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::User(_) => "USER",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Shell(_) => "SHELL",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::OnBuild(_) => "ONBUILD",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Other { keyword, .. } => keyword,
            Instruction::Unknown(_) => return None,
        })
    }

    /// Whether [`Display`](fmt::Display) can be written back into a Dockerfile as it is:
    /// not for a COPY of content hashes (the classic builder and buildah keep no source
    /// path) or of a here-document (history keeps no body), not for BuildKit's `%q`
    /// arrays (`CMD ["a" "b"]` is no JSON), not for a multi-line RUN script without a
    /// here-document marker, not for text with no known keyword.
    pub fn writable(&self) -> bool {
        match self {
            Instruction::Copy(c) => {
                !c.sources.is_empty() && !c.hashed() && !c.sources.iter().any(|s| s.starts_with("<<"))
            }
            Instruction::Run(r) => {
                r.command.is_writable() && !(r.heredocs.is_empty() && r.command.to_string().contains('\n'))
            }
            Instruction::Cmd(c) | Instruction::Entrypoint(c) => c.is_writable(),
            Instruction::Other { .. } | Instruction::Unknown(_) => false,
            _ => true,
        }
    }

    /// The text to write for this instruction in a Dockerfile: what it shows when it is
    /// [`writable`](Instruction::writable); a multi-line `RUN` script that lost its
    /// here-document marker as a here-document again; a `%q` array as JSON; `None`
    /// where history lost what a Dockerfile needs (content-hash sources, a here-document
    /// body, the keyword).
    pub fn to_dockerfile(&self) -> Option<String> {
        if self.writable() {
            return Some(self.to_string());
        }
        match self {
            Instruction::Run(r) => {
                let flags = join_nonempty(r.flags.iter().map(String::as_str));
                let command = match &r.command {
                    Command::Exec { argv, .. } => serde_json::to_string(argv).ok()?,
                    Command::Shell(script) => {
                        let mut name = String::from("EOF");
                        while script.lines().any(|l| l == name) {
                            name.push('_');
                        }
                        format!("<<{name}\n{}\n{name}", script.trim_end())
                    }
                };
                Some(format!(
                    "RUN {}",
                    join_nonempty([flags.as_str(), command.as_str()].into_iter())
                ))
            }
            Instruction::Cmd(Command::Exec { argv, .. }) | Instruction::Entrypoint(Command::Exec { argv, .. }) => {
                Some(format!("{} {}", self.keyword()?, serde_json::to_string(argv).ok()?))
            }
            _ => None,
        }
    }

    /// The `RUN`, if this is one.
    pub fn as_run(&self) -> Option<&Run> {
        match self {
            Instruction::Run(r) => Some(r),
            _ => None,
        }
    }

    /// The `COPY` or `ADD`, if this is one.
    pub fn as_copy(&self) -> Option<&Copy> {
        match self {
            Instruction::Copy(c) => Some(c),
            _ => None,
        }
    }

    /// The arguments after the keyword, as displayed.
    fn args(&self) -> String {
        match self {
            Instruction::From(f) => {
                let mut words: Vec<&str> = f.flags.iter().map(String::as_str).collect();
                words.push(&f.image);
                if let Some(name) = &f.name {
                    words.extend(["AS", name]);
                }
                words.join(" ")
            }
            Instruction::Run(r) => {
                let command = r.command.to_string();
                join_nonempty(r.flags.iter().map(String::as_str).chain([command.as_str()]))
            }
            Instruction::Copy(c) => c.args(),
            Instruction::Cmd(c) | Instruction::Entrypoint(c) => c.to_string(),
            Instruction::Expose(ports) => ports.join(" "),
            Instruction::Env(s)
            | Instruction::Arg(s)
            | Instruction::Label(s)
            | Instruction::Workdir(s)
            | Instruction::User(s)
            | Instruction::Volume(s)
            | Instruction::Healthcheck(s)
            | Instruction::Shell(s)
            | Instruction::StopSignal(s)
            | Instruction::OnBuild(s)
            | Instruction::Maintainer(s)
            | Instruction::Other { args: s, .. }
            | Instruction::Unknown(s) => s.clone(),
        }
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args = self.args();
        match self.keyword() {
            None => f.write_str(&args),
            Some(k) if args.is_empty() => f.write_str(k),
            Some(k) => write!(f, "{k} {args}"),
        }
    }
}

impl Run {
    fn new(flags: Vec<String>, build_args: Vec<(String, String)>, text: &str) -> Run {
        let command = Command::parse(text);
        let heredocs = match &command {
            Command::Shell(script) => scan_heredocs(script).0,
            Command::Exec { .. } => Vec::new(),
        };
        Run {
            flags,
            build_args,
            command,
            heredocs,
        }
    }

    /// The shell script: the shell form's, or the exec form's `["sh", "-c", script]`.
    pub fn script(&self) -> Option<&str> {
        match &self.command {
            Command::Shell(script) => Some(script),
            Command::Exec { argv, .. } => match argv.as_slice() {
                [shell, c, script, ..]
                    if c == "-c" && matches!(program(shell), "sh" | "bash" | "dash" | "ash" | "zsh") =>
                {
                    Some(script)
                }
                _ => None,
            },
        }
    }

    /// The lines of [`Run::script`] the shell reads as commands: here-document bodies
    /// and their terminators left out.
    pub fn shell_lines(&self) -> Vec<&str> {
        self.script().map(|s| scan_heredocs(s).1).unwrap_or_default()
    }

    /// The argv of an exec-form `RUN` that runs no shell script.
    pub fn argv(&self) -> Option<&[String]> {
        match &self.command {
            Command::Exec { argv, .. } if self.script().is_none() => Some(argv),
            _ => None,
        }
    }
}

impl Copy {
    fn parse(add: bool, rest: &str) -> Copy {
        let (mut flags, rest) = split_flags(rest);
        // The classic builder writes `--chown=` and the hash without a space between:
        // `COPY --chown=1000:1000file:<hex> in /app`.
        let mut glued = None;
        let in_dest = rest.split_whitespace().count() == 2 && rest.starts_with("in ");
        if in_dest
            && let Some(last) = flags.last_mut()
            && last.starts_with("--chown=")
            && let Some(at) = ["file:", "dir:", "multi:"]
                .iter()
                .filter_map(|p| last.find(p))
                .filter(|&at| at > "--chown=".len() && is_content_hash(&last[at..]))
                .min()
        {
            glued = Some(last.split_off(at));
        }
        if glued.is_none()
            && rest.starts_with('[')
            && let Some(mut words) = parse_array(rest)
            && let Some(dest) = words.pop()
        {
            return Copy {
                add,
                flags,
                sources: words,
                dest,
                json: Some(rest.to_owned()),
            };
        }
        let mut words: Vec<String> = glued
            .into_iter()
            .chain(rest.split_whitespace().map(str::to_owned))
            .collect();
        let dest = words.pop().unwrap_or_default();
        if words.len() >= 2
            && words.last().is_some_and(|w| w == "in")
            && words[..words.len() - 1].iter().all(|w| is_content_hash(w))
        {
            words.pop();
        }
        Copy {
            add,
            flags,
            sources: words,
            dest,
            json: None,
        }
    }

    /// The value of flag `--name=value` (`""` for a bare `--link`).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().find_map(|f| {
            let rest = f.strip_prefix("--")?.strip_prefix(name)?;
            if rest.is_empty() {
                Some("")
            } else {
                rest.strip_prefix('=')
            }
        })
    }

    /// `--from=`: the stage or image copied from.
    pub fn from(&self) -> Option<&str> {
        self.flag("from")
    }

    pub fn chown(&self) -> Option<&str> {
        self.flag("chown")
    }

    pub fn chmod(&self) -> Option<&str> {
        self.flag("chmod")
    }

    pub fn link(&self) -> bool {
        self.flag("link").is_some()
    }

    /// Whether the sources are content hashes (`file:<hex> in /app`), as the classic
    /// builder and buildah record them: the paths are gone.
    pub fn hashed(&self) -> bool {
        !self.sources.is_empty() && self.json.is_none() && self.sources.iter().all(|s| is_content_hash(s))
    }

    /// What follows the keyword: flags, sources, destination.
    /// Content hashes are shown as the classic builder writes them, `--chown=` glued to
    /// the hash (`--chown=1000:1000file:<hex> in /app`), so the text stays as it was.
    pub fn args(&self) -> String {
        let flags = self.flags.join(" ");
        let paths = match &self.json {
            Some(json) => json.clone(),
            None if self.hashed() => format!("{} in {}", self.sources.join(" "), self.dest),
            None => join_nonempty(self.sources.iter().map(String::as_str).chain([self.dest.as_str()])),
        };
        if self.hashed() && self.flags.last().is_some_and(|f| f.starts_with("--chown=")) {
            format!("{flags}{paths}")
        } else {
            join_nonempty([flags.as_str(), paths.as_str()].into_iter())
        }
    }
}

impl Command {
    fn parse(text: &str) -> Command {
        let text = text.trim();
        match text.starts_with('[').then(|| parse_array(text)).flatten() {
            Some(argv) => Command::Exec {
                argv,
                written: text.to_owned(),
            },
            None => Command::Shell(text.to_owned()),
        }
    }

    /// Whether the text is valid Dockerfile syntax: a shell form, or an exec form in JSON.
    fn is_writable(&self) -> bool {
        match self {
            Command::Shell(_) => true,
            Command::Exec { written, .. } => serde_json::from_str::<Vec<String>>(written).is_ok(),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Exec { written, .. } => f.write_str(written),
            Command::Shell(script) => f.write_str(script),
        }
    }
}

/// A word that may be a Dockerfile keyword: upper-case letters.
fn is_keyword_word(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase())
}

/// The typed instruction for `keyword` (any case) with its arguments `rest`.
fn typed(keyword: &str, rest: &str, build_args: Vec<(String, String)>) -> Option<Instruction> {
    let rest = rest.trim();
    let raw = || rest.to_owned();
    Some(match keyword.to_ascii_uppercase().as_str() {
        "FROM" => {
            let (flags, rest) = split_flags(rest);
            let words: Vec<&str> = rest.split_whitespace().collect();
            let (image, name) = match words.as_slice() {
                [image @ .., as_, stage] if as_.eq_ignore_ascii_case("as") => {
                    (image.join(" "), Some((*stage).to_owned()))
                }
                _ => (words.join(" "), None),
            };
            Instruction::From(Stage { flags, image, name })
        }
        "RUN" => {
            let (flags, rest) = split_flags(rest);
            Instruction::Run(Run::new(flags, build_args, rest))
        }
        "COPY" => Instruction::Copy(Copy::parse(false, rest)),
        "ADD" => Instruction::Copy(Copy::parse(true, rest)),
        "ENV" => Instruction::Env(raw()),
        "ARG" => Instruction::Arg(raw()),
        "LABEL" => Instruction::Label(raw()),
        "WORKDIR" => Instruction::Workdir(raw()),
        "USER" => Instruction::User(raw()),
        "CMD" => Instruction::Cmd(Command::parse(rest)),
        "ENTRYPOINT" => Instruction::Entrypoint(Command::parse(rest)),
        "EXPOSE" => Instruction::Expose(exposed_ports(rest)),
        "VOLUME" => Instruction::Volume(raw()),
        "HEALTHCHECK" => Instruction::Healthcheck(raw()),
        "SHELL" => Instruction::Shell(raw()),
        "STOPSIGNAL" => Instruction::StopSignal(raw()),
        "ONBUILD" => Instruction::OnBuild(raw()),
        "MAINTAINER" => Instruction::Maintainer(raw()),
        _ => return None,
    })
}

/// BuildKit records `EXPOSE 8000` as `EXPOSE map[8000/tcp:{}]`: back to the ports.
fn exposed_ports(rest: &str) -> Vec<String> {
    let list = rest.strip_prefix("map[").and_then(|r| r.strip_suffix(']'));
    match list {
        Some(map) => map
            .split_whitespace()
            .map(|p| p.trim_end_matches(":{}").to_owned())
            .collect(),
        None => rest.split_whitespace().map(str::to_owned).collect(),
    }
}

/// The `|N NAME=value ...` prefix that records build arguments, and the text after it.
fn build_args(text: &str) -> (Vec<(String, String)>, &str) {
    let Some(after_bar) = text.strip_prefix('|') else {
        return (Vec::new(), text);
    };
    let mut parts = after_bar.splitn(2, ' ');
    let Some(count) = parts.next().and_then(|n| n.parse::<usize>().ok()) else {
        return (Vec::new(), text);
    };
    let mut rest = parts.next().unwrap_or("");
    let mut args = Vec::new();
    for _ in 0..count {
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        if !word.is_empty() {
            let (name, value) = word.split_once('=').unwrap_or((word, ""));
            args.push((name.to_owned(), value.to_owned()));
        }
        rest = after;
    }
    (args, rest)
}

/// The leading `--flag` words of `text`, and the rest of it.
fn split_flags(text: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = text.trim_start();
    while rest.starts_with("--") {
        let (flag, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        flags.push(flag.to_owned());
        rest = after.trim_start();
    }
    (flags, rest)
}

/// A content hash as the classic builder and buildah write a COPY/ADD source.
fn is_content_hash(source: &str) -> bool {
    ["file:", "dir:", "multi:"]
        .iter()
        .filter_map(|p| source.strip_prefix(p))
        .any(|hash| !hash.is_empty() && !hash.contains('/'))
}

fn program(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn join_nonempty<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// A JSON array of strings (`["a", "b"]`), or Go's `%q` of a string slice (`["a" "b"]`),
/// as BuildKit writes `CMD` and `ENTRYPOINT`.
fn parse_array(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut chars = inner.chars().peekable();
    let mut out = Vec::new();
    let mut expect_item = true;
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => break,
            Some(',') if !expect_item => expect_item = true,
            Some('"') => {
                let mut item = String::new();
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => item.push(match chars.next()? {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            'u' => {
                                let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                            }
                            other => other,
                        }),
                        c => item.push(c),
                    }
                }
                out.push(item);
                expect_item = false;
            }
            Some(_) => return None,
        }
    }
    Some(out)
}

/// The here-documents a shell script opens, and the lines that are shell commands.
fn scan_heredocs(script: &str) -> (Vec<Heredoc>, Vec<&str>) {
    let mut docs = Vec::new();
    let mut shell = Vec::new();
    // Open documents in order: (name, strip leading tabs, body lines).
    let mut pending: Vec<(String, bool)> = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    for line in script.lines() {
        if let Some((name, tabs)) = pending.first() {
            let ends = if *tabs { line.trim_start_matches('\t') } else { line } == name;
            if ends {
                let (name, _) = pending.remove(0);
                docs.push(Heredoc {
                    name,
                    body: body.join("\n"),
                });
                body.clear();
            } else {
                body.push(line);
            }
            continue;
        }
        shell.push(line);
        pending.extend(heredoc_markers(line));
    }
    for (name, _) in pending {
        docs.push(Heredoc {
            name,
            body: std::mem::take(&mut body).join("\n"),
        });
    }
    (docs, shell)
}

/// The `<<NAME`, `<<-NAME`, `<<"NAME"`, `<<'NAME'` markers of one line (not `<<<`).
fn heredoc_markers(line: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("<<") {
        let mut after = &rest[at + 2..];
        rest = after;
        if after.starts_with('<') {
            rest = after.trim_start_matches('<');
            continue;
        }
        let tabs = after.starts_with('-');
        if tabs {
            after = &after[1..];
        }
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        if let Some(q) = quote {
            after = &after[1..];
            let end = after.find(q).unwrap_or(after.len());
            let name = &after[..end];
            if !name.is_empty() {
                out.push((name.to_owned(), tabs));
            }
            continue;
        }
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            out.push((name, tabs));
        }
    }
    out
}
