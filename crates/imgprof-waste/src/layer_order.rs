//! Reading Dockerfile instructions (parsed from history into
//! [`imgprof_source::history::Instruction`]) for what they do to the build cache: a broad
//! `COPY . .`, and the dependency installs that read a manifest.

use imgprof_source::history::{Copy, Run};

use crate::packages::Manager;

/// A dependency install found in a `RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// `pip`, `uv`, `poetry`, `npm`, `apt-get`, ...
    pub tool: &'static str,
    /// The files it reads (`requirements.txt`, `package-lock.json`); empty for OS
    /// package installs, which read no file of the context.
    pub inputs: Vec<String>,
}

/// The words of a shell command line, split at whitespace and at the operators that
/// start a new command (`&&`, `||`, `;`, `|`).
fn commands(script: &str) -> Vec<Vec<&str>> {
    let mut out = vec![Vec::new()];
    for word in script.split_whitespace() {
        if matches!(word, "&&" | "||" | ";" | "|" | "\\") {
            if word != "\\" {
                out.push(Vec::new());
            }
            continue;
        }
        let (word, ends) = match word.strip_suffix(';') {
            Some(w) => (w, true),
            None => (word, false),
        };
        if let Some(current) = out.last_mut() {
            current.push(word);
        }
        if ends {
            out.push(Vec::new());
        }
    }
    out.retain(|c| !c.is_empty());
    out
}

fn program(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The commands of a `RUN` as (program name, arguments), with leading env assignments
/// skipped (`DEBIAN_FRONTEND=noninteractive apt-get ...`): the shell script's lines
/// (here-document bodies left out), or the exec form's argv.
pub fn run_commands(run: &Run) -> Vec<(&str, Vec<&str>)> {
    let words: Vec<Vec<&str>> = match run.argv() {
        Some(argv) => vec![argv.iter().map(String::as_str).collect()],
        None => run.shell_lines().into_iter().flat_map(commands).collect(),
    };
    words
        .into_iter()
        .filter_map(|words| {
            let mut words = words.into_iter().skip_while(|w| w.contains('=') && !w.starts_with('-'));
            let first = words.next()?;
            Some((program(first), words.collect()))
        })
        .collect()
}

/// `python -m pip install ...` as `pip install ...`: the module run as its own program.
fn module_as_program<'a>((tool, mut args): (&'a str, Vec<&'a str>)) -> (&'a str, Vec<&'a str>) {
    if tool.starts_with("python") && args.first() == Some(&"-m") && args.len() > 1 {
        let module = program(args[1]);
        args.drain(..2);
        return (module, args);
    }
    (tool, args)
}

/// The dependency installs of a `RUN`.
pub fn installs(run: &Run) -> Vec<Install> {
    let mut found = Vec::new();
    for (tool, args) in run_commands(run).into_iter().map(module_as_program) {
        let sub = args.iter().find(|a| !a.starts_with('-')).copied();
        let requirements = || -> Vec<String> {
            args.windows(2)
                .filter(|w| matches!(w[0], "-r" | "--requirement" | "-c" | "--constraint"))
                .map(|w| w[1].to_owned())
                .chain(
                    args.iter()
                        .filter_map(|a| a.strip_prefix("--requirement="))
                        .map(str::to_owned),
                )
                .collect()
        };
        let install = match (tool, sub) {
            ("pip" | "pip3", Some("install")) => Some(Install {
                tool: "pip",
                inputs: requirements(),
            })
            .filter(|i| !i.inputs.is_empty()),
            ("uv", Some("pip")) if args.contains(&"install") || args.contains(&"sync") => Some(Install {
                tool: "uv",
                inputs: requirements(),
            })
            .filter(|i| !i.inputs.is_empty()),
            ("uv", Some("sync")) => Some(Install {
                tool: "uv",
                inputs: vec!["pyproject.toml".into(), "uv.lock".into()],
            }),
            ("poetry", Some("install")) => Some(Install {
                tool: "poetry",
                inputs: vec!["pyproject.toml".into(), "poetry.lock".into()],
            }),
            ("pipenv", Some("install" | "sync")) => Some(Install {
                tool: "pipenv",
                inputs: vec!["Pipfile".into(), "Pipfile.lock".into()],
            }),
            // `npm ci` needs the lockfile; `npm install` may run without one, so the glob
            // (a COPY of a name that matches nothing fails).
            ("npm", Some("ci")) if args.iter().filter(|a| !a.starts_with('-')).count() == 1 => Some(Install {
                tool: "npm",
                inputs: vec!["package.json".into(), "package-lock.json".into()],
            }),
            ("npm", Some("install" | "i")) if args.iter().filter(|a| !a.starts_with('-')).count() == 1 => {
                Some(Install {
                    tool: "npm",
                    inputs: vec!["package*.json".into()],
                })
            }
            ("yarn", None | Some("install")) => Some(Install {
                tool: "yarn",
                inputs: vec!["package.json".into(), "yarn.lock".into()],
            }),
            ("pnpm", Some("install" | "i")) => Some(Install {
                tool: "pnpm",
                inputs: vec!["package.json".into(), "pnpm-lock.yaml".into()],
            }),
            ("bundle", Some("install")) => Some(Install {
                tool: "bundle",
                inputs: vec!["Gemfile".into(), "Gemfile.lock".into()],
            }),
            ("go", Some("mod")) if args.contains(&"download") => Some(Install {
                tool: "go",
                inputs: vec!["go.mod".into(), "go.sum".into()],
            }),
            ("composer", Some("install")) => Some(Install {
                tool: "composer",
                inputs: vec!["composer.json".into(), "composer.lock".into()],
            }),
            ("apt-get" | "apt", Some("install")) => Some(Install {
                tool: "apt-get",
                inputs: Vec::new(),
            }),
            ("apk", Some("add")) => Some(Install {
                tool: "apk",
                inputs: Vec::new(),
            }),
            _ => None,
        };
        found.extend(install);
    }
    found
}

/// A `COPY`/`ADD` of the whole build context (or most of it): `COPY . .`,
/// `COPY ./ /app`, `ADD . /src`, `COPY * ./`. History drops `--from`, so a copy from
/// another stage shows as an absolute source and is not broad.
pub fn is_broad_copy(copy: &Copy) -> bool {
    copy.sources
        .iter()
        .any(|s| matches!(s.as_str(), "." | "./" | "*" | "./*"))
}

/// Whether a `RUN` runs the project's own scripts with Node's tools (`npm run build`,
/// `npx tsc`, `yarn build`, `pnpm run build`): a build that needs the dev dependencies,
/// so it belongs in the builder stage, before they are pruned.
pub fn runs_node_script(run: &Run) -> bool {
    run_commands(run).iter().any(|(tool, args)| {
        let sub = args.iter().find(|a| !a.starts_with('-')).copied();
        match *tool {
            "npm" | "pnpm" => matches!(sub, Some("run" | "run-script" | "exec")),
            "yarn" => !matches!(sub, None | Some("install" | "add")),
            "npx" | "tsc" => true,
            _ => false,
        }
    })
}

/// A copy of the whole build context: `COPY . DEST`, or a directory the classic builder
/// and buildah recorded by its hash only (`COPY dir:<hash> in DEST`).
pub fn is_context_copy(copy: &Copy) -> bool {
    copy.from().is_none()
        && (is_broad_copy(copy)
            || (copy.hashed() && !copy.sources.is_empty() && copy.sources.iter().all(|s| s.starts_with("dir:"))))
}

/// Packages only a build needs: compilers, headers and the tools that fetch and build.
pub fn build_only(package: &str) -> bool {
    package.ends_with("-dev")
        || matches!(
            package,
            "build-essential"
                | "gcc"
                | "g++"
                | "make"
                | "cmake"
                | "pkg-config"
                | "pkgconf"
                | "autoconf"
                | "automake"
                | "libtool"
                | "git"
                | "cargo"
                | "rustc"
                | "golang"
                | "python3-pip"
                | "python3-venv"
                | "python3-wheel"
                | "python3-setuptools"
        )
        || package.starts_with("gcc-")
        || package.starts_with("g++-")
}

/// The package names the `apt-get install` / `apk add` commands of a `RUN` ask for, in
/// order.
pub fn requested_packages(run: &Run) -> Vec<(Manager, String)> {
    let mut out = Vec::new();
    for (tool, args) in run_commands(run).into_iter().map(module_as_program) {
        let sub = args.iter().find(|a| !a.starts_with('-')).copied();
        let manager = match (tool, sub) {
            ("apt-get" | "apt", Some("install")) => Manager::Dpkg,
            ("apk", Some("add")) => Manager::Apk,
            ("pip" | "pip3", Some("install")) => Manager::Pip,
            ("uv", Some("pip")) if args.contains(&"install") => Manager::Pip,
            _ => continue,
        };
        let mut words = args
            .iter()
            .copied()
            .filter(|w| !matches!(*w, "install" | "add" | "pip"));
        while let Some(word) = words.next() {
            if manager == Manager::Pip && PIP_OPTIONS_WITH_VALUE.contains(&word) {
                words.next();
                continue;
            }
            if word.starts_with('-') {
                continue;
            }
            match manager {
                // A requirement by name (`fastapi`, `uvicorn[standard]==0.30`), not a path,
                // an archive or a URL.
                Manager::Pip => {
                    if word.contains('/')
                        || word.starts_with('.')
                        || word.ends_with(".whl")
                        || word.ends_with(".tar.gz")
                    {
                        continue;
                    }
                    if let Some(name) = crate::packages::requirement_name(word) {
                        out.push((manager, name));
                    }
                }
                _ => out.push((manager, word.to_owned())),
            }
        }
    }
    out
}

/// The apt and apk packages a `RUN` installs by name.
pub fn requested_system_packages(run: &Run) -> Vec<String> {
    requested_packages(run)
        .into_iter()
        .filter(|(manager, _)| *manager != Manager::Pip)
        .map(|(_, name)| name)
        .collect()
}

/// pip install's options whose value is the next word.
const PIP_OPTIONS_WITH_VALUE: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--cache-dir",
    "--trusted-host",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--only-binary",
    "--no-binary",
    "--progress-bar",
    "--src",
    "--upgrade-strategy",
];

#[cfg(test)]
mod tests {
    use imgprof_source::history::Instruction;

    use super::*;

    fn installs(line: &str) -> Vec<Install> {
        super::installs(Instruction::parse(line).as_run().expect("a RUN"))
    }

    fn is_broad_copy(line: &str) -> bool {
        Instruction::parse(line).as_copy().is_some_and(super::is_broad_copy)
    }

    fn requested_packages(line: &str) -> Vec<(Manager, String)> {
        super::requested_packages(Instruction::parse(line).as_run().expect("a RUN"))
    }

    #[test]
    fn node_scripts_are_told_from_installs() {
        let script = |line: &str| super::runs_node_script(Instruction::parse(line).as_run().expect("a RUN"));
        assert!(script("RUN npm run build"));
        assert!(script("RUN npx tsc -p ."));
        assert!(script("RUN yarn build"));
        assert!(!script("RUN npm ci"));
        assert!(!script("RUN yarn install --frozen-lockfile"));
        assert!(!script("RUN pip install -r requirements.txt"));
    }

    #[test]
    fn finds_installs_that_read_a_manifest() {
        let run = "RUN pip install --break-system-packages uv && uv pip install --system -r requirements.txt";
        assert_eq!(
            installs(run),
            [Install {
                tool: "uv",
                inputs: vec!["requirements.txt".into()]
            }],
            "installing a tool by name reads no file; the -r install does"
        );
        assert_eq!(installs("RUN npm ci")[0].tool, "npm");
        assert!(installs("RUN npm install left-pad").is_empty());
        assert_eq!(
            installs("RUN python3 -m pip install -r req/base.txt")[0].inputs,
            ["req/base.txt"]
        );
        assert_eq!(
            installs("RUN apt-get update && apt-get install -y vim")[0].tool,
            "apt-get"
        );
        assert!(installs("RUN rm -rf /tmp/x").is_empty());
        // Each line of a here-document script is a command; a body fed to a program is not.
        let heredoc =
            Instruction::from_created_by("RUN /bin/sh -c apt-get update\napt-get install -y gcc\n # buildkit");
        assert_eq!(super::installs(heredoc.as_run().expect("a RUN"))[0].tool, "apt-get");
        let fed = Instruction::from_created_by("RUN /bin/sh -c cat <<EOF > /x\npip install -r r.txt\nEOF # buildkit");
        assert!(super::installs(fed.as_run().expect("a RUN")).is_empty());
        // Exec form, with a shell or without.
        assert_eq!(installs(r#"RUN ["/bin/sh", "-c", "npm ci"]"#)[0].tool, "npm");
        assert_eq!(
            installs(r#"RUN ["pip", "install", "-r", "r.txt"]"#)[0].inputs,
            ["r.txt"]
        );
    }

    #[test]
    fn broad_copies() {
        assert!(is_broad_copy("COPY . ."));
        assert!(is_broad_copy("COPY --chown=app:app . /app"));
        assert!(is_broad_copy("ADD ./ /src"));
        assert!(!is_broad_copy("COPY requirements.txt ."));
        assert!(!is_broad_copy("COPY /opt/venv /opt/venv"));
        assert!(!is_broad_copy("RUN cp . ."));
        assert!(is_broad_copy(r#"COPY [".", "/app/"]"#));
        assert!(!is_broad_copy("COPY dir:0b30558557 in /app"));
    }

    #[test]
    fn requested_package_names() {
        assert_eq!(
            requested_packages(
                "RUN apt-get update && apt-get install -y --no-install-recommends python3 libpq5 && rm -rf /var/lib/apt/lists/*"
            ),
            [
                (Manager::Dpkg, "python3".to_owned()),
                (Manager::Dpkg, "libpq5".to_owned())
            ]
        );
        let pip = |line: &str| -> Vec<String> { requested_packages(line).into_iter().map(|(_, n)| n).collect() };
        assert_eq!(
            pip(
                "RUN pip install --no-cache-dir -r requirements.txt -i https://x/simple 'uvicorn[standard]==0.30' Flask_Cors ./local /w/x.whl"
            ),
            ["uvicorn", "flask-cors"]
        );
        assert_eq!(pip("RUN python3 -m pip install --target /opt/t gunicorn"), ["gunicorn"]);
        assert_eq!(pip("RUN uv pip install --system zope.interface>=5"), ["zope-interface"]);
        assert!(requested_packages("RUN pip download fastapi").is_empty());
    }
}
