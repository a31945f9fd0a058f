//! `created_by` as each builder writes it: the variant and fields it parses to, the text
//! it displays as (the report's `instruction`, unchanged), and whether that text can go
//! back into a Dockerfile.
//!
//! Sources: buildah 1.28.2 strings were captured from a real `buildah bud --isolation
//! chroot` run here (OCI and `--format docker`, with and without `--layers`); BuildKit's
//! from the committed fixtures (`testdata/`, written like BuildKit) and BuildKit's
//! `dockerfile2llb` (`RUN` + `runCommandString`, `COPY` + sources + dest, `CMD %q`); the
//! classic builder's from the fixtures and moby's dispatchers; kaniko's from its
//! executor (`CreatedBy: command.String()`, the Dockerfile line as written).

use super::{Command, Copy, Instruction, Run, Stage};

fn run(text: &str) -> Run {
    match Instruction::from_created_by(text) {
        Instruction::Run(r) => r,
        other => panic!("{text:?} is not a RUN: {other:?}"),
    }
}

fn copy(text: &str) -> Copy {
    match Instruction::from_created_by(text) {
        Instruction::Copy(c) => c,
        other => panic!("{text:?} is not a COPY: {other:?}"),
    }
}

fn shows(text: &str) -> String {
    Instruction::from_created_by(text).to_string()
}

fn shell(script: &str) -> Command {
    Command::Shell(script.to_owned())
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn buildkit() {
    let r = run("RUN /bin/sh -c pip install -r requirements.txt # buildkit");
    assert_eq!(r.command, shell("pip install -r requirements.txt"));
    assert!(r.build_args.is_empty() && r.flags.is_empty() && r.heredocs.is_empty());
    assert_eq!(
        shows("RUN /bin/sh -c pip install -r requirements.txt # buildkit"),
        "RUN pip install -r requirements.txt"
    );

    let r = run("RUN |2 A=b C=d /bin/sh -c make install # buildkit");
    assert_eq!(r.build_args, [("A".into(), "b".into()), ("C".into(), "d".into())]);
    assert_eq!(r.command, shell("make install"));
    assert_eq!(
        shows("RUN |2 A=b C=d /bin/sh -c make install # buildkit"),
        "RUN make install"
    );

    // Exec form: BuildKit joins the argv with spaces, no shell, no JSON.
    let r = run("RUN python3 -m pip install x # buildkit");
    assert_eq!(r.command, shell("python3 -m pip install x"));
    assert_eq!(
        shows("RUN python3 -m pip install x # buildkit"),
        "RUN python3 -m pip install x"
    );
    let r = run("RUN |1 V=1 make # buildkit");
    assert_eq!(r.build_args, [("V".into(), "1".into())]);
    assert_eq!(shows("RUN |1 V=1 make # buildkit"), "RUN make");
    // ... and a JSON array, should a frontend keep one.
    let r = run(r#"RUN ["/usr/bin/make","all"] # buildkit"#);
    assert_eq!(
        r.command,
        Command::Exec {
            argv: strings(&["/usr/bin/make", "all"]),
            written: r#"["/usr/bin/make","all"]"#.into()
        }
    );
    assert_eq!(r.argv(), Some(&strings(&["/usr/bin/make", "all"])[..]));
    assert_eq!(
        shows(r#"RUN ["/usr/bin/make","all"] # buildkit"#),
        r#"RUN ["/usr/bin/make","all"]"#
    );

    let c = copy("COPY . /app # buildkit");
    assert_eq!(
        (c.add, c.sources.clone(), c.dest.as_str()),
        (false, strings(&["."]), "/app")
    );
    assert!(!c.hashed() && c.flags.is_empty());
    assert_eq!(shows("COPY . . # buildkit"), "COPY . .");
    let c = copy("COPY --chown=1000 . /app # buildkit");
    assert_eq!(c.chown(), Some("1000"));
    assert_eq!(shows("COPY --chown=1000 . /app # buildkit"), "COPY --chown=1000 . /app");
    let c = copy("ADD a.tar.gz b /opt/ # buildkit");
    assert!(c.add);
    assert_eq!(
        (c.sources.clone(), c.dest.as_str()),
        (strings(&["a.tar.gz", "b"]), "/opt/")
    );
    assert_eq!(shows("ADD a.tar.gz b /opt/ # buildkit"), "ADD a.tar.gz b /opt/");

    assert_eq!(
        Instruction::from_created_by("WORKDIR /app"),
        Instruction::Workdir("/app".into())
    );
    assert_eq!(shows("WORKDIR /app"), "WORKDIR /app");
    assert_eq!(
        Instruction::from_created_by("USER app:app"),
        Instruction::User("app:app".into())
    );
    assert_eq!(
        Instruction::from_created_by("ENV A=b C=d e"),
        Instruction::Env("A=b C=d e".into())
    );
    assert_eq!(shows("ENV PATH=/opt/venv/bin:$PATH"), "ENV PATH=/opt/venv/bin:$PATH");
    assert_eq!(shows("ARG PY=3.12"), "ARG PY=3.12");
    assert_eq!(shows("LABEL a=b"), "LABEL a=b");

    assert_eq!(
        Instruction::from_created_by("EXPOSE map[53/udp:{} 8000/tcp:{}]"),
        Instruction::Expose(strings(&["53/udp", "8000/tcp"]))
    );
    assert_eq!(shows("EXPOSE map[8000/tcp:{}]"), "EXPOSE 8000/tcp");

    // CMD and ENTRYPOINT: Go's %q of the argv.
    let text = r#"CMD ["uvicorn" "main:app" "--host" "0.0.0.0"] # buildkit"#;
    let Instruction::Cmd(Command::Exec { argv, .. }) = Instruction::from_created_by(text) else {
        panic!("exec-form CMD");
    };
    assert_eq!(argv, strings(&["uvicorn", "main:app", "--host", "0.0.0.0"]));
    assert_eq!(shows(text), r#"CMD ["uvicorn" "main:app" "--host" "0.0.0.0"]"#);
    assert!(!Instruction::from_created_by(text).writable(), "%q is no JSON");
    let text = r#"ENTRYPOINT ["/bin/sh" "-c" "python app.py \"$X\""] # buildkit"#;
    let Instruction::Entrypoint(Command::Exec { argv, .. }) = Instruction::from_created_by(text) else {
        panic!("exec-form ENTRYPOINT");
    };
    assert_eq!(argv[2], r#"python app.py "$X""#);
    assert_eq!(
        Instruction::from_created_by(r#"CMD ["python3","app.py"]"#).to_string(),
        r#"CMD ["python3","app.py"]"#
    );
    assert!(Instruction::from_created_by(r#"CMD ["python3","app.py"]"#).writable());
}

#[test]
fn buildkit_heredocs() {
    // `RUN <<EOF` alone: BuildKit runs (and records) the body as the script.
    let text = "RUN /bin/sh -c apt-get update\napt-get install -y gcc\n # buildkit";
    let r = run(text);
    assert!(r.heredocs.is_empty());
    assert_eq!(r.shell_lines(), ["apt-get update", "apt-get install -y gcc"]);
    assert_eq!(shows(text), "RUN apt-get update\napt-get install -y gcc");
    assert!(!Instruction::from_created_by(text).writable(), "the markers are gone");

    // A heredoc fed to a command: the whole text, markers included.
    let text = "RUN /bin/sh -c python3 <<EOF > /out\nimport sys\nprint(sys.version)\nEOF # buildkit";
    let r = run(text);
    assert_eq!(r.heredocs.len(), 1);
    assert_eq!(r.heredocs[0].name, "EOF");
    assert_eq!(r.heredocs[0].body, "import sys\nprint(sys.version)");
    assert_eq!(r.shell_lines(), ["python3 <<EOF > /out"]);
    assert_eq!(
        shows(text),
        "RUN python3 <<EOF > /out\nimport sys\nprint(sys.version)\nEOF"
    );
    assert!(Instruction::from_created_by(text).writable());

    let r = run("RUN /bin/sh -c cat <<-'A' <<\"B\" > f\n\tone\n\tA\ntwo\nB\necho done # buildkit");
    assert_eq!(
        r.heredocs.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
        ["A", "B"]
    );
    assert_eq!(r.shell_lines(), ["cat <<-'A' <<\"B\" > f", "echo done"]);
    assert!(
        run("RUN /bin/sh -c echo $((1<<2)) <<< x # buildkit")
            .heredocs
            .is_empty()
    );

    let c = copy("COPY <<EOF /etc/conf # buildkit");
    assert!(!Instruction::Copy(c).writable(), "history keeps no heredoc body");
}

#[test]
fn classic_builder() {
    assert_eq!(
        Instruction::from_created_by("/bin/sh -c #(nop)  CMD [\"bash\"]"),
        Instruction::Cmd(Command::Exec {
            argv: strings(&["bash"]),
            written: "[\"bash\"]".into()
        })
    );
    assert_eq!(shows("/bin/sh -c #(nop)  CMD [\"bash\"]"), "CMD [\"bash\"]");

    let text = "/bin/sh -c #(nop) ADD file:0c4b0e0ef5d4f3b3ee2e4b7a4c2f0a7d6b3e2f1a in / ";
    let c = copy(text);
    assert!(c.add && c.hashed());
    assert_eq!(
        (c.sources.clone(), c.dest.as_str()),
        (strings(&["file:0c4b0e0ef5d4f3b3ee2e4b7a4c2f0a7d6b3e2f1a"]), "/")
    );
    assert_eq!(shows(text), "ADD file:0c4b0e0ef5d4f3b3ee2e4b7a4c2f0a7d6b3e2f1a in /");
    assert!(
        !Instruction::from_created_by(text).writable(),
        "no source path to write"
    );
    assert_eq!(
        shows("/bin/sh -c #(nop) ADD file:alpine-minirootfs in / "),
        "ADD file:alpine-minirootfs in /"
    );

    // moby writes `--chown=` and the hash with no space between.
    let c = copy("/bin/sh -c #(nop) COPY --chown=1000:1000file:ab12 in /app ");
    assert_eq!(c.chown(), Some("1000:1000"));
    assert_eq!((c.sources.clone(), c.dest.as_str()), (strings(&["file:ab12"]), "/app"));
    assert!(c.hashed());
    assert_eq!(
        shows("/bin/sh -c #(nop) COPY --chown=1000:1000file:ab12 in /app "),
        "COPY --chown=1000:1000file:ab12 in /app",
        "shown as moby writes it"
    );
    let c = copy("COPY --chown=myfile:grp src /app");
    assert_eq!((c.chown(), c.sources.clone()), (Some("myfile:grp"), strings(&["src"])));

    assert_eq!(
        Instruction::from_created_by("/bin/sh -c #(nop) WORKDIR /app"),
        Instruction::Workdir("/app".into())
    );
    assert_eq!(
        Instruction::from_created_by("/bin/sh -c #(nop)  EXPOSE 80 443/tcp"),
        Instruction::Expose(strings(&["80", "443/tcp"]))
    );
    assert_eq!(shows("/bin/sh -c #(nop)  EXPOSE 80"), "EXPOSE 80");
    assert_eq!(shows("/bin/sh -c #(nop)  ENV LANG=C.UTF-8"), "ENV LANG=C.UTF-8");
    assert_eq!(shows("/bin/sh -c #(nop)  MAINTAINER someone"), "MAINTAINER someone");

    let r = run("/bin/sh -c apt-get update");
    assert_eq!(r.command, shell("apt-get update"));
    assert_eq!(shows("/bin/sh -c apt-get update"), "RUN apt-get update");
    let r = run("|1 A=b /bin/sh -c make");
    assert_eq!(r.build_args, [("A".into(), "b".into())]);
    assert_eq!(shows("|2 A=1 B=2 /bin/sh -c make"), "RUN make");
    assert_eq!(
        shows("RUN |1 PIP=x /bin/sh -c pip install . # buildkit"),
        "RUN pip install ."
    );

    // Another SHELL: no keyword, shown as recorded.
    assert_eq!(
        Instruction::from_created_by("/bin/bash -c make"),
        Instruction::Unknown("/bin/bash -c make".into())
    );
}

/// Captured from buildah 1.28.2 (`buildah bud --isolation chroot`, `--layers` or not,
/// OCI or `--format docker`: the strings are the same) building `FROM scratch` with
/// ADD, COPY of a file, a directory and several files, ARGs, RUN in both forms and
/// every metadata instruction. podman builds with the same library.
#[test]
fn buildah() {
    let c = copy("/bin/sh -c #(nop) ADD dir:2785a05cbd9a1d6a4eb123f431dd34f16c304a8bebcf44d6bfc384dfbcc43fd8 in / ");
    assert!(c.add && c.hashed());
    assert_eq!(c.dest, "/");
    let text = "/bin/sh -c #(nop) COPY file:5b0d3e5a1f86a61bbdcc3d7112cd4ad2bf246c14f7815651ce02b1c77f985ee1 in /app/ ";
    assert_eq!(
        shows(text),
        "COPY file:5b0d3e5a1f86a61bbdcc3d7112cd4ad2bf246c14f7815651ce02b1c77f985ee1 in /app/"
    );
    assert!(copy(text).hashed());
    assert!(
        copy("/bin/sh -c #(nop) COPY dir:0b3055855787c881d0c4207bb8fe226fd4809dc121e9f3e7a7839ee59b222463 in /app/d ")
            .hashed()
    );
    // `COPY --chown=1000:1000 hello.txt d/a /app/multi/`: the flag is not recorded.
    let c = copy(
        "/bin/sh -c #(nop) COPY multi:edc3bf4a5deebb8f0e726f82ea77af1e866a8bd645532798db88849fb5b0f871 in /app/multi/ ",
    );
    assert!(c.hashed() && c.chown().is_none());
    assert_eq!(c.dest, "/app/multi/");

    assert_eq!(
        Instruction::from_created_by("/bin/sh -c #(nop) ARG A C"),
        Instruction::Arg("A C".into())
    );
    let r = run("|2 A=b C=d /bin/sh -c echo run1 > /r1");
    assert_eq!(r.build_args, [("A".into(), "b".into()), ("C".into(), "d".into())]);
    assert_eq!(r.command, shell("echo run1 > /r1"));
    assert_eq!(shows("|2 A=b C=d /bin/sh -c echo run1 > /r1"), "RUN echo run1 > /r1");
    // Exec form: the JSON as written, after `/bin/sh -c`.
    let text = r#"|2 A=b C=d /bin/sh -c ["/bin/sh", "-c", "echo exec > /r2"]"#;
    let r = run(text);
    assert_eq!(
        r.command,
        Command::Exec {
            argv: strings(&["/bin/sh", "-c", "echo exec > /r2"]),
            written: r#"["/bin/sh", "-c", "echo exec > /r2"]"#.into()
        }
    );
    assert_eq!(r.script(), Some("echo exec > /r2"));
    assert_eq!(shows(text), r#"RUN ["/bin/sh", "-c", "echo exec > /r2"]"#);

    for (text, want) in [
        (
            "/bin/sh -c #(nop) ENV E=f G=\"h i\"",
            Instruction::Env("E=f G=\"h i\"".into()),
        ),
        ("/bin/sh -c #(nop) WORKDIR /app", Instruction::Workdir("/app".into())),
        ("/bin/sh -c #(nop) USER 1000", Instruction::User("1000".into())),
        (
            "/bin/sh -c #(nop) EXPOSE 8000 53/udp",
            Instruction::Expose(strings(&["8000", "53/udp"])),
        ),
        ("/bin/sh -c #(nop) LABEL k=v", Instruction::Label("k=v".into())),
        ("/bin/sh -c #(nop) VOLUME /data", Instruction::Volume("/data".into())),
        (
            "/bin/sh -c #(nop) STOPSIGNAL SIGINT",
            Instruction::StopSignal("SIGINT".into()),
        ),
        (
            "/bin/sh -c #(nop) HEALTHCHECK CMD [\"/bin/true\"]",
            Instruction::Healthcheck("CMD [\"/bin/true\"]".into()),
        ),
        (
            "/bin/sh -c #(nop) SHELL [\"/bin/sh\", \"-c\"]",
            Instruction::Shell("[\"/bin/sh\", \"-c\"]".into()),
        ),
        (
            "/bin/sh -c #(nop) ENTRYPOINT [\"/bin/sh\", \"-c\"]",
            Instruction::Entrypoint(Command::Exec {
                argv: strings(&["/bin/sh", "-c"]),
                written: "[\"/bin/sh\", \"-c\"]".into(),
            }),
        ),
        ("/bin/sh -c #(nop) CMD echo hi", Instruction::Cmd(shell("echo hi"))),
    ] {
        let parsed = Instruction::from_created_by(text);
        assert_eq!(parsed, want, "{text}");
        assert_eq!(
            parsed.to_string(),
            text.trim_start_matches("/bin/sh -c #(nop) "),
            "{text}"
        );
        assert!(parsed.writable(), "{text}");
    }
}

/// kaniko records the Dockerfile line itself (`command.String()`), flags and all.
#[test]
fn kaniko() {
    let r = run("RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt");
    assert_eq!(r.flags, ["--mount=type=cache,target=/root/.cache/pip"]);
    assert_eq!(r.command, shell("pip install -r requirements.txt"));
    assert_eq!(
        shows("RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt"),
        "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt"
    );
    let c = copy("COPY --from=builder --chown=app:app /opt/venv /opt/venv");
    assert_eq!((c.from(), c.chown()), (Some("builder"), Some("app:app")));
    assert_eq!(
        shows("COPY --from=builder --chown=app:app /opt/venv /opt/venv"),
        "COPY --from=builder --chown=app:app /opt/venv /opt/venv"
    );
    let c = copy(r#"COPY ["my file.txt", "/app/"]"#);
    assert_eq!(
        (c.sources.clone(), c.dest.as_str()),
        (strings(&["my file.txt"]), "/app/")
    );
    assert_eq!(
        shows(r#"COPY ["my file.txt", "/app/"]"#),
        r#"COPY ["my file.txt", "/app/"]"#
    );
    assert_eq!(shows("CMD [\"python\", \"app.py\"]"), "CMD [\"python\", \"app.py\"]");
    // A lower-case keyword as the user wrote it: shown as recorded, as it always was (a
    // Dockerfile line, `Instruction::parse`, takes any case).
    assert_eq!(
        Instruction::from_created_by("run apt-get install -y gcc"),
        Instruction::Unknown("run apt-get install -y gcc".into())
    );
    assert!(matches!(
        Instruction::parse("run apt-get install -y gcc"),
        Instruction::Run(_)
    ));
}

#[test]
fn no_history() {
    assert_eq!(Instruction::from_created_by(""), Instruction::Unknown(String::new()));
    assert_eq!(shows(""), "");
    assert_eq!(shows("   "), "");
    assert!(!Instruction::from_created_by("").writable());
    // Tools' own words.
    assert_eq!(shows("bazel build //app"), "bazel build //app");
    assert_eq!(shows("ADD"), "ADD");
    assert_eq!(shows("CMD"), "CMD");
    assert!(matches!(Instruction::from_created_by("CMD"), Instruction::Cmd(_)));
    assert_eq!(
        Instruction::from_created_by("STEP 3"),
        Instruction::Other {
            keyword: "STEP".into(),
            args: "3".into()
        }
    );
    assert_eq!(shows("STEP 3"), "STEP 3");
}

#[test]
fn dockerfile_lines() {
    assert_eq!(
        Instruction::parse("FROM --platform=linux/amd64 python:3.12-slim AS builder"),
        Instruction::From(Stage {
            flags: strings(&["--platform=linux/amd64"]),
            image: "python:3.12-slim".into(),
            name: Some("builder".into())
        })
    );
    assert_eq!(
        Instruction::parse("RUN pip install x")
            .as_run()
            .map(|r| r.command.clone()),
        Some(shell("pip install x"))
    );
    for line in [
        "RUN apt-get update && apt-get install -y python3",
        "COPY --chown=app:app main.py ./",
        "COPY --from=builder /opt/venv /opt/venv",
        "ENV PATH=/opt/venv/bin:$PATH",
        "EXPOSE 8000",
        "CMD [\"python3\", \"main.py\"]",
        "HEALTHCHECK --interval=5s CMD curl -f http://localhost/",
        "ONBUILD RUN make",
        "USER app",
    ] {
        assert_eq!(Instruction::parse(line).to_string(), line);
        assert!(Instruction::parse(line).writable(), "{line}");
    }
    let copy = Instruction::parse("COPY --link --chmod=644 a b /dst/");
    let copy = copy.as_copy().expect("a COPY");
    assert!(copy.link());
    assert_eq!(copy.chmod(), Some("644"));
    assert_eq!(copy.args(), "--link --chmod=644 a b /dst/");
}

/// What a report shows reads back as the same kind of instruction with the same text
/// (the build arguments are not shown): `dockerfile` matches a layer's text by parsing
/// it again.
#[test]
fn shown_text_parses_back() {
    for created_by in [
        "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
        "RUN |2 A=b C=d /bin/sh -c make install # buildkit",
        "RUN python3 -m pip install x # buildkit",
        "RUN /bin/sh -c python3 <<EOF > /out\nimport sys\nEOF # buildkit",
        "RUN /bin/sh -c apt-get update\napt-get install -y gcc\n # buildkit",
        "COPY --chown=1000 . /app # buildkit",
        "EXPOSE map[53/udp:{} 8000/tcp:{}]",
        r#"CMD ["uvicorn" "main:app"] # buildkit"#,
        "/bin/sh -c #(nop)  CMD [\"bash\"]",
        "/bin/sh -c #(nop) ADD file:0c4b0e0ef5d4 in / ",
        "/bin/sh -c #(nop) COPY --chown=1000:1000file:ab12 in /app ",
        "/bin/sh -c #(nop) COPY multi:edc3bf4a5dee in /app/multi/ ",
        "/bin/sh -c apt-get update",
        r#"|2 A=b C=d /bin/sh -c ["/bin/sh", "-c", "echo exec > /r2"]"#,
        "/bin/sh -c #(nop) ENV E=f G=\"h i\"",
        "/bin/sh -c #(nop) HEALTHCHECK CMD [\"/bin/true\"]",
        "/bin/sh -c #(nop) CMD echo hi",
        "/bin/bash -c make",
        "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt",
        r#"COPY ["my file.txt", "/app/"]"#,
        "STEP 3",
        "CMD",
        "",
    ] {
        let parsed = Instruction::from_created_by(created_by);
        let shown = parsed.to_string();
        let again = Instruction::parse(&shown);
        assert_eq!(again.to_string(), shown, "{created_by:?}");
        assert_eq!(
            std::mem::discriminant(&again),
            std::mem::discriminant(&parsed),
            "{created_by:?} shown as {shown:?}"
        );
        assert_eq!(again.writable(), parsed.writable(), "{created_by:?}");
    }
}

#[test]
fn back_into_a_dockerfile() {
    let back = |text: &str| Instruction::from_created_by(text).to_dockerfile();
    assert_eq!(back("RUN /bin/sh -c make # buildkit").as_deref(), Some("RUN make"));
    assert_eq!(
        back("RUN /bin/sh -c apt-get update\napt-get install -y gcc\n # buildkit").as_deref(),
        Some("RUN <<EOF\napt-get update\napt-get install -y gcc\nEOF")
    );
    assert_eq!(
        back("RUN /bin/sh -c echo a\nEOF\n # buildkit").as_deref(),
        Some("RUN <<EOF_\necho a\nEOF\nEOF_")
    );
    assert_eq!(
        back(r#"CMD ["uvicorn" "main:app"] # buildkit"#).as_deref(),
        Some(r#"CMD ["uvicorn","main:app"]"#)
    );
    assert_eq!(back("/bin/sh -c #(nop) COPY file:5b0d3e5a1f86 in /app/ "), None);
    assert_eq!(back("/bin/bash -c make"), None);
    assert_eq!(back(""), None);
    assert_eq!(back("COPY . /app # buildkit").as_deref(), Some("COPY . /app"));
}
