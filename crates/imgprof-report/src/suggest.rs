//! `imgprof suggest`: a Dockerfile that answers the report's findings. From the image's
//! own history (or the user's Dockerfile) it writes a builder stage with the build
//! dependencies the image installed, a runtime stage on the slim variant of its base
//! with the runtime counterparts of its `-dev` packages, a venv copied from the builder,
//! apt cleanup in the same `RUN`, `COPY --chown`, a non-root `USER`, and a `.dockerignore`
//! from the context leftovers. Each instruction is preceded by a comment naming the
//! finding it answers and the bytes it saves (Dockerfiles have no trailing comments).

use std::collections::BTreeMap;

use imgprof_source::history::{Copy, Instruction, Run};
use imgprof_waste::{Ecosystem, FindingId};

use crate::model::Report;

/// What `imgprof suggest` prints.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub dockerfile: String,
    pub dockerignore: String,
    /// With `--dockerfile`: the change to the user's file, as a unified diff.
    pub diff: Option<String>,
}

/// One line of the suggestion: an instruction and the comment above it.
struct Line {
    comment: Option<String>,
    text: String,
}

fn line(text: impl Into<String>) -> Line {
    Line {
        comment: None,
        text: text.into(),
    }
}

fn commented(comment: impl Into<String>, text: impl Into<String>) -> Line {
    Line {
        comment: Some(comment.into()),
        text: text.into(),
    }
}

/// The report's findings by id: summed bytes saved and a title.
struct Findings(BTreeMap<FindingId, u64>);

impl Findings {
    fn of(report: &Report) -> Findings {
        let mut map = BTreeMap::new();
        for f in &report.findings {
            *map.entry(f.id).or_insert(0) += f.saves_bytes;
        }
        Findings(map)
    }

    fn has(&self, id: FindingId) -> bool {
        self.0.contains_key(&id)
    }

    /// `IMG001, IMG002 (saves 410.6 MB)` for the ids the report has; `None` if none.
    fn cite(&self, ids: &[FindingId]) -> Option<String> {
        let present: Vec<(FindingId, u64)> = ids.iter().filter_map(|id| Some((*id, *self.0.get(id)?))).collect();
        if present.is_empty() {
            return None;
        }
        let codes: Vec<&str> = present.iter().map(|(id, _)| id.code()).collect();
        let saves: u64 = present.iter().map(|(_, saves)| saves).sum();
        Some(if saves > 0 {
            format!("{} (saves {})", codes.join(", "), imgprof_waste::human(saves))
        } else {
            codes.join(", ")
        })
    }
}

/// The image's base as a `FROM` reference (see [`imgprof_waste::BaseIdentity::reference`]);
/// a placeholder only where the distribution is unknown.
fn base_reference(report: &Report, slim: bool) -> String {
    report
        .base_image
        .identity
        .reference(slim)
        .unwrap_or_else(|| "<your base>".to_owned())
}

/// The interpreter a venv is made with, by its path: the venv's `python` links to it,
/// so the runtime stage must have the very same path (the official image's
/// /usr/local/bin/python3.X on its -slim variant, the distribution's /usr/bin/python3.X
/// from its `python3` package), never a `python3` that PATH finds (a link elsewhere).
fn venv_interpreter(report: &Report) -> String {
    report
        .base_image
        .identity
        .python
        .clone()
        .unwrap_or_else(|| "python3".to_owned())
}

/// What the image's layers tell about a step beyond its history text.
#[derive(Debug, Default)]
struct StepFacts {
    /// The owner of the files it copied, when not root.
    owner: Option<String>,
    /// The one file a hashed `COPY file:<hash>` put in its layer.
    copied_file: Option<String>,
}

/// The instructions after the base image, in order, each with what its layer tells.
struct Steps {
    steps: Vec<(Instruction, StepFacts)>,
    /// Read from the image's history (not the user's Dockerfile): a step may have lost
    /// what a Dockerfile needs (see [`Instruction::to_dockerfile`]).
    from_history: bool,
}

/// A step kept as it is: from the user's Dockerfile, as written; from history, as a
/// Dockerfile can take it, or commented out where history lost what it needs.
fn kept(instruction: &Instruction, from_history: bool) -> Line {
    if !from_history {
        return line(instruction.to_string());
    }
    match instruction.to_dockerfile() {
        Some(text) => line(text),
        None => commented(
            "history keeps this step in a form a Dockerfile cannot take: write it as your Dockerfile has it",
            commented_out(&instruction.to_string()),
        ),
    }
}

fn commented_out(text: &str) -> String {
    text.lines().map(|l| format!("# {l}")).collect::<Vec<_>>().join("\n")
}

fn is_apt_install(instruction: &Instruction) -> bool {
    instruction
        .as_run()
        .is_some_and(|run| !imgprof_waste::requested_system_packages(run).is_empty())
}

/// The dependency install of a `RUN` (Python's or Node's), if it is one.
fn dependency_install_of(instruction: &Instruction) -> Option<(&Run, Ecosystem)> {
    let run = instruction.as_run()?;
    imgprof_waste::dependency_installs(run)
        .iter()
        .find_map(|i| match i.tool {
            "pip" | "uv" | "poetry" | "pipenv" => Some((run, Ecosystem::Python)),
            "npm" | "yarn" | "pnpm" => Some((run, Ecosystem::Node)),
            _ => None,
        })
}

/// A `RUN` whose every command is `rm`: a deletion that cannot take bytes out of the
/// layers below; the paths belong in `.dockerignore` (or the step that made them).
fn deleted_paths(instruction: &Instruction) -> Option<Vec<String>> {
    let commands = imgprof_waste::run_commands(instruction.as_run()?);
    if commands.is_empty() || commands.iter().any(|(tool, _)| *tool != "rm") {
        return None;
    }
    Some(
        commands
            .iter()
            .flat_map(|(_, args)| args.iter().filter(|w| !w.starts_with('-')).map(|w| w.to_string()))
            .collect(),
    )
}

fn exec_form(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The suggestion for `report`'s image; with `dockerfile`, the user's Dockerfile is the
/// starting point instead of the image history, and a diff is returned too.
pub fn suggest(report: &Report, dockerfile: Option<&str>) -> Suggestion {
    if let Some(already) = nothing_to_change(report) {
        // With the user's Dockerfile: that file unchanged, and in place of a diff the
        // reasons there is none.
        return Suggestion {
            dockerfile: dockerfile.map_or_else(|| already.clone(), str::to_owned),
            dockerignore: "# imgprof suggests no .dockerignore change: no build-context leftovers in the image\n"
                .to_owned(),
            diff: dockerfile.map(|_| already),
        };
    }
    let steps = match dockerfile {
        Some(text) => Steps::from_dockerfile(text),
        None => Steps {
            steps: report
                .history
                .iter()
                .filter(|s| !s.in_base && !matches!(&s.instruction, Instruction::Unknown(t) if t.is_empty()))
                .map(|s| {
                    let facts = StepFacts {
                        owner: s.owner.clone(),
                        copied_file: s.copied_file.clone(),
                    };
                    (s.instruction.clone(), facts)
                })
                .collect(),
            from_history: true,
        },
    };
    let findings = Findings::of(report);
    let workdir = report.runtime.working_dir.clone().unwrap_or_else(|| "/app".to_owned());
    let earlier = dockerfile.map(earlier_stages).unwrap_or_default();
    let (builder, runtime, ignore) = stages(report, &steps, &findings, &workdir, !earlier.is_empty());

    let mut out = String::new();
    let p = &report.projection;
    // `# syntax=` makes BuildKit fetch a frontend image from Docker Hub (offline and
    // air-gapped builds break): only when a line needs a feature the built-in frontend
    // of older engines may lack. Our own lines, so their text is known: a cache or
    // secret mount, or a here-document.
    let needs_frontend = builder
        .iter()
        .chain(&runtime)
        .any(|l| l.text.contains(" --mount=") || l.text.lines().next().is_some_and(|first| first.contains("<<")));
    if needs_frontend {
        // A parser directive: it must be the very first line.
        out.push_str("# syntax=docker/dockerfile:1\n");
        out.push_str(
            "# The line above makes BuildKit fetch its Dockerfile frontend (for RUN --mount or here-documents).\n",
        );
    }
    out.push_str(&format!(
        "# Suggested by imgprof {} for {}: {} shipped now, about {} with every fix.\n",
        env!("CARGO_PKG_VERSION"),
        report.source.location,
        imgprof_waste::human(p.shipped_bytes),
        imgprof_waste::human(p.projected_bytes),
    ));
    if !earlier.is_empty() {
        out.push('\n');
        out.push_str(&earlier);
    }
    for (title, lines) in [("builder", &builder), ("runtime", &runtime)] {
        if lines.is_empty() {
            continue;
        }
        out.push_str(&format!("\n# --- {title} ---\n"));
        for l in lines.iter() {
            if let Some(comment) = &l.comment {
                for c in comment.lines() {
                    out.push_str(&format!("# {c}\n"));
                }
            }
            out.push_str(&l.text);
            out.push('\n');
        }
    }
    let mut dockerignore =
        String::from("# .dockerignore suggested by imgprof: what the image's build context leftovers show\n");
    for (path, why) in &ignore {
        dockerignore.push_str(&format!("# {why}\n{path}\n"));
    }
    let diff = dockerfile.map(|original| unified_diff(original, &out));
    Suggestion {
        dockerfile: out,
        dockerignore,
        diff,
    }
}

/// When the model has no change to make (`Projection::no_change`): the text that says so
/// instead of a Dockerfile, which from history alone would lose the image's builder
/// stages.
fn nothing_to_change(report: &Report) -> Option<String> {
    if !report.projection.no_change {
        return None;
    }
    let left: Vec<&str> = {
        let mut ids: Vec<FindingId> = report.findings.iter().map(|f| f.id).collect();
        ids.sort();
        ids.dedup();
        ids.into_iter().map(FindingId::code).collect()
    };
    let mut text = format!(
        "# imgprof {} suggests no change to the Dockerfile of {}.\n\
         # Built on: {}.\n\
         # It runs as user {}, installs no dependencies in its final stage, and no finding\n\
         # on its own layers calls for a change.\n",
        env!("CARGO_PKG_VERSION"),
        report.source.location,
        report.base_image.identity.summary,
        report.runtime.user.as_deref().unwrap_or("root"),
    );
    if !left.is_empty() {
        text.push_str(&format!(
            "# The findings left ({}) are in the base image's layers or are informational.\n",
            left.join(", ")
        ));
    }
    Some(text)
}

impl Steps {
    /// The instructions of the final stage of the user's Dockerfile after its `FROM`,
    /// continuations joined, flags kept (`--chown`, `--from` matter here).
    fn from_dockerfile(text: &str) -> Steps {
        let mut instructions = crate::dockerfile::instructions(text);
        let after_from = crate::dockerfile::final_stage_start(&instructions).map_or(0, |from| from + 1);
        Steps {
            steps: instructions
                .split_off(after_from)
                .into_iter()
                .map(|i| (i.instruction, StepFacts::default()))
                .collect(),
            from_history: false,
        }
    }
}

/// The stages of the user's Dockerfile before its final one, verbatim.
fn earlier_stages(text: &str) -> String {
    let stage = crate::dockerfile::final_stage(text);
    let Some(from) = stage.first() else {
        return String::new();
    };
    let before: String = text
        .lines()
        .take(from.line.saturating_sub(1))
        .filter(|l| !l.starts_with("# syntax="))
        .map(|l| format!("{l}\n"))
        .collect();
    let before = before.trim();
    if before.is_empty() {
        String::new()
    } else {
        format!("{before}\n")
    }
}

/// What the rewrite does, decided once from the report (its rebuild model) and the steps.
struct Plan<'s> {
    /// The dependency install that moves into a builder stage, and its ecosystem: the
    /// rebuild model's (its projection counts that stage's output).
    install: Option<(&'s Run, Ecosystem)>,
    build_packages: Vec<String>,
    runtime_packages: Vec<String>,
    /// Node steps that run the project's scripts (`npm run build`): they move into the
    /// builder, which then hands the built app to the runtime stage.
    node_builds: Vec<&'s Instruction>,
}

impl<'s> Plan<'s> {
    fn of(report: &Report, steps: &'s Steps) -> Plan<'s> {
        let rebuild = report.projection.rebuild.as_ref();
        let install = steps
            .steps
            .iter()
            .find_map(|(i, _)| dependency_install_of(i))
            .filter(|(_, ecosystem)| rebuild.is_none_or(|r| r.dependencies == Some(*ecosystem)));
        // The packages come from the rebuild model, which the projection measures; a
        // Dockerfile given with --dockerfile may ask for more.
        let (mut build_packages, mut runtime_packages) = rebuild
            .map(|r| (r.build_packages.clone(), r.runtime_packages.clone()))
            .unwrap_or_default();
        for package in steps
            .steps
            .iter()
            .filter_map(|(i, _)| i.as_run())
            .flat_map(imgprof_waste::requested_system_packages)
        {
            if imgprof_waste::build_only(&package) {
                build_packages.push(package);
            } else if rebuild.is_none() {
                runtime_packages.push(package);
            }
        }
        dedup_keep_order(&mut build_packages);
        dedup_keep_order(&mut runtime_packages);
        let node_builds = match install {
            Some((_, Ecosystem::Node)) => steps
                .steps
                .iter()
                .map(|(i, _)| i)
                .filter(|i| i.as_run().is_some_and(imgprof_waste::runs_node_script))
                .collect(),
            _ => Vec::new(),
        };
        Plan {
            install,
            build_packages,
            runtime_packages,
            node_builds,
        }
    }

    fn ecosystem(&self) -> Option<Ecosystem> {
        self.install.map(|(_, ecosystem)| ecosystem)
    }
}

fn apt_line(packages: &[String]) -> String {
    format!(
        "RUN apt-get update && apt-get install -y --no-install-recommends {} && rm -rf /var/lib/apt/lists/*",
        packages.join(" ")
    )
}

/// The builder stage, the runtime stage and the `.dockerignore` entries (with why).
#[allow(clippy::type_complexity)]
fn stages(
    report: &Report,
    steps: &Steps,
    findings: &Findings,
    workdir: &str,
    user_stages: bool,
) -> (Vec<Line>, Vec<Line>, Vec<(String, String)>) {
    let plan = Plan::of(report, steps);
    let context = ContextRoots::of(steps);
    let mut ignore: Vec<(String, String)> = Vec::new();
    let mut builder = builder_stage(report, steps, findings, workdir, &plan);
    let mut runtime = Runtime::new(report, steps, findings, workdir, &plan);
    runtime.write(steps, &context, &mut ignore);
    let runtime = runtime.lines;
    if builder.is_empty() && !user_stages && runtime.iter().any(|l| l.text.contains("--from=builder")) {
        builder.push(commented(
            "the stage that built what the runtime copies --from=builder is not part of the image:\nkeep yours here, named builder",
            format!("FROM {} AS builder", base_reference(report, false)),
        ));
    }
    dockerignore_entries(report, findings, &context, &plan, &mut ignore);
    (builder, runtime, ignore)
}

/// The builder stage: only when dependencies are installed (and maybe compiled).
fn builder_stage(report: &Report, steps: &Steps, findings: &Findings, workdir: &str, plan: &Plan<'_>) -> Vec<Line> {
    let Some((run, ecosystem)) = plan.install else {
        return Vec::new();
    };
    let mut builder = vec![commented(
        findings
            .cite(&[FindingId::Toolchain, FindingId::DevPackages])
            .map(|c| format!("{c}: compilers and -dev packages stay in this stage"))
            .unwrap_or_else(|| "the build stage: nothing of it ships but the dependencies".to_owned()),
        format!("FROM {} AS builder", base_reference(report, false)),
    )];
    if !plan.build_packages.is_empty() {
        builder.push(line(apt_line(&plan.build_packages)));
    }
    builder.push(line(format!("WORKDIR {workdir}")));
    let first = |what: &str| {
        findings
            .cite(&[FindingId::LayerOrder])
            .map(|c| format!("{c}: copy what the install reads first, so code changes reuse this layer"))
            .unwrap_or_else(|| format!("{what}, before the code"))
    };
    match ecosystem {
        Ecosystem::Python => {
            let requirements: Vec<String> = imgprof_waste::dependency_installs(run)
                .into_iter()
                .flat_map(|i| i.inputs)
                .collect();
            let requirements = if requirements.is_empty() {
                vec!["requirements.txt".to_owned()]
            } else {
                requirements
            };
            builder.push(commented(
                first("what the install reads"),
                format!("COPY {} ./", requirements.join(" ")),
            ));
            let flags: String = requirements.iter().map(|r| format!(" -r {r}")).collect();
            builder.push(commented(
                findings
                    .cite(&[FindingId::PackageCache])
                    .map(|c| format!("{c}: a venv to copy, and no download cache"))
                    .unwrap_or_else(|| "a venv to copy into the runtime stage".to_owned()),
                format!(
                    "RUN {} -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir{flags}",
                    venv_interpreter(report)
                ),
            ));
        }
        Ecosystem::Node => {
            // `package*.json`: the lockfile too when there is one (a name that matches
            // nothing would fail the COPY).
            builder.push(commented(
                first("the manifest and its lockfile"),
                "COPY package*.json ./",
            ));
            let locked = report.projection.rebuild.as_ref().and_then(|r| r.lockfile) == Some(true);
            let command = if locked { "npm ci" } else { "npm install" };
            let cache = findings
                .cite(&[FindingId::PackageCache])
                .map(|c| format!("{c}: the npm cache stays in this stage"))
                .unwrap_or_else(|| "the npm cache stays in this stage".to_owned());
            if plan.node_builds.is_empty() {
                builder.push(commented(
                    format!("{cache}; production dependencies only"),
                    format!("RUN {command} --omit=dev"),
                ));
            } else {
                // The build needs the dev dependencies (compilers, type definitions):
                // built here with all of them, then pruned to what runs.
                builder.push(commented(
                    format!("{cache}; the build needs the dev dependencies"),
                    format!("RUN {command}"),
                ));
                builder.push(commented(
                    "the build, from the whole context (the .dockerignore below trims it)",
                    "COPY . .",
                ));
                for step in &plan.node_builds {
                    builder.push(kept(step, steps.from_history));
                }
                builder.push(commented(
                    "what runs: production dependencies only",
                    "RUN npm prune --omit=dev",
                ));
            }
        }
    }
    builder
}

/// The runtime stage, written step by step from the image's steps.
struct Runtime<'r> {
    report: &'r Report,
    findings: &'r Findings,
    workdir: &'r str,
    plan: &'r Plan<'r>,
    lines: Vec<Line>,
    /// IMG013: the image runs as root, so the stage adds a user.
    needs_user: bool,
    user_added: bool,
    dependencies_copied: bool,
    apt_done: bool,
}

impl<'r> Runtime<'r> {
    fn new(report: &'r Report, steps: &Steps, findings: &'r Findings, workdir: &'r str, plan: &'r Plan<'r>) -> Self {
        let needs_user = findings.has(FindingId::RunsAsRoot);
        let mut runtime = Runtime {
            report,
            findings,
            workdir,
            plan,
            lines: vec![Line {
                comment: findings
                    .cite(&[FindingId::FullBase])
                    .map(|c| format!("{c}: the slim variant of the base")),
                text: format!("FROM {}", base_reference(report, true)),
            }],
            needs_user,
            user_added: !needs_user,
            dependencies_copied: false,
            apt_done: false,
        };
        let apt_step = steps.steps.iter().any(|(i, _)| is_apt_install(i));
        if !apt_step && !plan.runtime_packages.is_empty() {
            runtime.lines.push(commented(
                "what the runtime needs from the distribution (the image's base had it)",
                apt_line(&plan.runtime_packages),
            ));
        }
        runtime
    }

    fn write(&mut self, steps: &Steps, context: &ContextRoots, ignore: &mut Vec<(String, String)>) {
        let trailing = steps
            .steps
            .iter()
            .rposition(|(i, _)| !is_trailing(i))
            .map_or(0, |p| p + 1);
        let mut step_workdir = String::new();
        for (index, (instruction, facts)) in steps.steps.iter().enumerate() {
            if let Instruction::Workdir(dir) = instruction {
                step_workdir = join_path(&step_workdir, dir);
            }
            if index == trailing && self.needs_user {
                self.add_user();
                self.lines.push(line("USER app"));
            }
            if is_apt_install(instruction) {
                self.apt();
                continue;
            }
            if dependency_install_of(instruction).is_some() && self.plan.install.is_some() {
                self.copy_dependencies();
                continue;
            }
            if let Some(paths) = deleted_paths(instruction) {
                for path in paths {
                    let why = self
                        .findings
                        .cite(&[FindingId::DeletedLater])
                        .map(|c| format!("{c}: deleted by a later RUN, yet shipped"))
                        .unwrap_or_else(|| "deleted by a later RUN".to_owned());
                    // Only what came from the build context belongs in .dockerignore.
                    if let Some(path) = context.context_path(&step_workdir, &path) {
                        push_ignore(ignore, &path, why);
                    }
                }
                continue;
            }
            match instruction {
                Instruction::Expose(ports) => {
                    let ports: Vec<&str> = ports.iter().map(|p| p.trim_end_matches("/tcp")).collect();
                    self.lines.push(line(format!("EXPOSE {}", ports.join(" "))));
                }
                Instruction::Copy(copy) => self.copy(copy, facts),
                _ if self.plan.node_builds.iter().any(|b| std::ptr::eq(*b, instruction)) => {}
                Instruction::Cmd(_) | Instruction::Entrypoint(_) => self.command(instruction, steps.from_history),
                _ => {
                    if matches!(instruction, Instruction::User(_)) {
                        self.user_added = true;
                    }
                    self.lines.push(kept(instruction, steps.from_history));
                }
            }
        }
        if self.needs_user && trailing >= steps.steps.len() {
            self.add_user();
            self.lines.push(line("USER app"));
        }
    }

    fn add_user(&mut self) {
        if !self.user_added {
            self.lines.push(commented(
                self.findings.cite(&[FindingId::RunsAsRoot]).unwrap_or_default() + ": a user to run as",
                "RUN useradd --create-home --shell /usr/sbin/nologin --uid 10001 app",
            ));
            self.user_added = true;
        }
    }

    /// The dependencies the builder stage made, once.
    fn copy_dependencies(&mut self) {
        if self.dependencies_copied || self.plan.install.is_none() {
            return;
        }
        self.dependencies_copied = true;
        match self.plan.ecosystem() {
            Some(Ecosystem::Node) if !self.plan.node_builds.is_empty() => self.lines.push(commented(
                "the built app with its production dependencies, from the builder stage",
                format!("COPY --from=builder /{} ./", join_path(self.workdir, "")),
            )),
            Some(Ecosystem::Node) => self.lines.push(commented(
                "the dependencies, installed in the builder stage",
                format!(
                    "COPY --from=builder /{} ./node_modules",
                    join_path(self.workdir, "node_modules")
                ),
            )),
            _ => {
                self.lines.push(commented(
                    "the dependencies, built in the builder stage",
                    "COPY --from=builder /opt/venv /opt/venv",
                ));
                self.lines.push(line("ENV PATH=/opt/venv/bin:$PATH"));
            }
        }
    }

    /// The image's apt step: the runtime packages instead, once, cleaned up.
    fn apt(&mut self) {
        if !self.apt_done && !self.plan.runtime_packages.is_empty() {
            let comment = [
                self.findings
                    .cite(&[FindingId::AptLists, FindingId::OsPackageCache])
                    .map(|c| format!("{c}: clean apt in the same RUN")),
                self.findings
                    .cite(&[FindingId::DevPackages])
                    .map(|c| format!("{c}: runtime libraries instead of -dev packages")),
                self.findings
                    .cite(&[FindingId::Recommends])
                    .map(|c| format!("{c}: no recommended packages")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n");
            self.lines.push(Line {
                comment: (!comment.is_empty()).then_some(comment),
                text: apt_line(&self.plan.runtime_packages),
            });
        }
        self.apt_done = true;
        self.add_user();
    }

    fn copy(&mut self, copy: &Copy, facts: &StepFacts) {
        let rest = copy.args();
        if copy.from().is_some() || from_a_stage(copy) {
            self.lines.push(line(if copy.from().is_some() {
                format!("COPY {rest}")
            } else {
                format!("COPY --from=builder {rest}")
            }));
            self.dependencies_copied |= copy.sources.iter().chain([&copy.dest]).any(|p| p.contains("/opt/venv"));
            return;
        }
        self.copy_dependencies();
        self.add_user();
        if !self.plan.node_builds.is_empty() && imgprof_waste::is_context_copy(copy) {
            // The app came built from the builder stage.
            return;
        }
        let keyword = if copy.add { "ADD" } else { "COPY" };
        let owner = facts
            .owner
            .clone()
            .or_else(|| self.needs_user.then(|| "app:app".to_owned()));
        let chown = match owner {
            Some(o) if copy.chown().is_none() => format!("--chown={o} "),
            _ => String::new(),
        };
        // The classic builder and buildah keep a hash of what was copied, not its paths.
        let flags: String = copy.flags.iter().map(|f| format!("{f} ")).collect();
        if copy.hashed() && imgprof_waste::is_context_copy(copy) {
            // A hashed directory copied from the context: taken as the whole context,
            // which the .dockerignore below trims.
            self.lines.push(commented(
                "history keeps only a content hash of the directory this step copied: written as the\n\
                 build context, trimmed by the .dockerignore below (name the directory if it was a part of it)",
                format!("{keyword} {chown}{flags}. {}", copy.dest),
            ));
        } else if let Some(file) = facts.copied_file.as_deref().filter(|_| copy.hashed()) {
            // A hashed single file: its layer names it; taken from the context's root.
            self.lines.push(commented(
                format!("history keeps only a content hash of the file this step copied: {file}, by the name its layer gives it"),
                format!("{keyword} {chown}{flags}{file} {}", copy.dest),
            ));
        } else if copy.hashed() {
            self.lines.push(commented(
                format!(
                    "history keeps only a content hash ({}) of what this step copied: put back its sources",
                    copy.sources.join(" ")
                ),
                format!("# {keyword} {chown}{flags}<sources> {}", copy.dest),
            ));
        } else {
            let comment = imgprof_waste::is_broad_copy(copy).then(|| {
                self.findings
                    .cite(&[
                        FindingId::VersionControl,
                        FindingId::BuildContext,
                        FindingId::Secrets,
                        FindingId::Models,
                    ])
                    .map(|c| format!("{c}: with the .dockerignore below"))
                    .unwrap_or_else(|| "with the .dockerignore below".to_owned())
            });
            self.lines.push(Line {
                comment,
                text: format!("{keyword} {chown}{rest}"),
            });
        }
    }

    /// `CMD` and `ENTRYPOINT` in exec form; `npm start` as the script it runs.
    fn command(&mut self, instruction: &Instruction, from_history: bool) {
        let start = self
            .report
            .projection
            .rebuild
            .as_ref()
            .and_then(|r| r.start_command.as_ref());
        if let (Instruction::Cmd(_), Some(start)) = (instruction, start) {
            self.lines.push(commented(
                format!(
                    "`npm start` runs `{}`: run it directly, so node gets SIGTERM and the image needs no npm",
                    start.join(" ")
                ),
                format!("CMD {}", exec_form(start)),
            ));
            return;
        }
        let (keyword, words) = if matches!(instruction, Instruction::Cmd(_)) {
            ("CMD", &self.report.runtime.cmd)
        } else {
            ("ENTRYPOINT", &self.report.runtime.entrypoint)
        };
        match words.as_deref() {
            Some(words) if words.len() >= 3 && words[0] == "/bin/sh" && words[1] == "-c" => {
                let exec: Vec<String> = words[2].split_whitespace().map(str::to_owned).collect();
                self.lines.push(commented(
                    self.findings.cite(&[FindingId::ShellFormCommand]).unwrap_or_default()
                        + ": exec form, so the process gets SIGTERM",
                    format!("{keyword} {}", exec_form(&exec)),
                ));
            }
            Some(words) => self.lines.push(line(format!("{keyword} {}", exec_form(words)))),
            None => self.lines.push(kept(instruction, from_history)),
        }
    }
}

/// The `.dockerignore` entries the findings and the rewrite call for, as build-context
/// paths, each once.
fn dockerignore_entries(
    report: &Report,
    findings: &Findings,
    context: &ContextRoots,
    plan: &Plan<'_>,
    ignore: &mut Vec<(String, String)>,
) {
    for f in &report.findings {
        let why = match f.id {
            FindingId::VersionControl => {
                push_ignore(
                    ignore,
                    ".git",
                    findings.cite(&[FindingId::VersionControl]).unwrap_or_default() + ": version-control data",
                );
                continue;
            }
            FindingId::BuildContext => "build-context leftovers",
            FindingId::Secrets => "secrets: never in a layer",
            FindingId::Models => "models and data: mount a volume or fetch at start-up",
            _ => continue,
        };
        let cite = findings.cite(&[f.id]).unwrap_or_default();
        for p in &f.paths {
            // Only what the context copy brought, as a build-context path.
            if let Some(path) = context.context_path("", &p.path) {
                push_ignore(ignore, &path, format!("{cite}: {why}"));
            }
        }
    }
    if plan.ecosystem() == Some(Ecosystem::Node) {
        push_ignore(
            ignore,
            "node_modules",
            "installed in the builder stage, for this platform".to_owned(),
        );
        push_ignore(ignore, "npm-debug.log*", "npm's logs".to_owned());
    }
    for (path, why) in [
        ("**/__pycache__", "bytecode is built where it runs"),
        (".git", "version-control data"),
        ("Dockerfile", "the build recipe itself"),
        (".dockerignore", "the build recipe itself"),
    ] {
        push_ignore(ignore, path, why.to_owned());
    }
}

/// Where the build context landed in the image: the destinations of the steps that
/// copied the whole context (`COPY . /app`, or the classic builder's and buildah's
/// `COPY dir:<hash> in /app`), resolved against the `WORKDIR` in force, so an image path
/// (`/app/tests`) can be written as the build-context path a `.dockerignore` takes
/// (`tests`).
struct ContextRoots {
    /// Normalised directories, no leading `/` (`""` is the root).
    roots: Vec<String>,
}

impl ContextRoots {
    fn of(steps: &Steps) -> ContextRoots {
        let mut workdir = String::new();
        let mut roots = Vec::new();
        for (instruction, _) in &steps.steps {
            match instruction {
                Instruction::Workdir(dir) => workdir = join_path(&workdir, dir),
                Instruction::Copy(copy) if imgprof_waste::is_context_copy(copy) => {
                    roots.push(join_path(&workdir, &copy.dest));
                }
                _ => {}
            }
        }
        ContextRoots { roots }
    }

    /// The context path of `path` (absolute, or relative to `workdir`), when it lies
    /// below a directory the context was copied to.
    fn context_path(&self, workdir: &str, path: &str) -> Option<String> {
        let absolute = join_path(workdir, path);
        self.roots.iter().find_map(|root| {
            if root.is_empty() {
                return Some(absolute.clone());
            }
            absolute
                .strip_prefix(root.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .map(str::to_owned)
        })
    }
}

/// `path` resolved against `dir` (both without a leading `/` in the result; `.` and
/// `..` applied, never above the root).
fn join_path(dir: &str, path: &str) -> String {
    let start = if path.starts_with('/') { "" } else { dir };
    let mut parts: Vec<&str> = start.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// Adds `path` to the .dockerignore unless it or a directory above it is there.
fn push_ignore(ignore: &mut Vec<(String, String)>, path: &str, why: String) {
    let covered = ignore
        .iter()
        .any(|(i, _)| path == i || path.strip_prefix(i.as_str()).is_some_and(|rest| rest.starts_with('/')));
    if !path.is_empty() && !covered {
        ignore.push((path.to_owned(), why));
    }
}

/// `EXPOSE`, `CMD`, `ENTRYPOINT`, `HEALTHCHECK`, `LABEL`: the block a Dockerfile ends
/// with, where `USER` goes just before.
fn is_trailing(instruction: &Instruction) -> bool {
    matches!(
        instruction,
        Instruction::Expose(_)
            | Instruction::Cmd(_)
            | Instruction::Entrypoint(_)
            | Instruction::Healthcheck(_)
            | Instruction::Label(_)
            | Instruction::StopSignal(_)
    )
}

/// History drops `--from`: a copy of an absolute path, written without flags, came from
/// a stage (a copy written with flags kept its `--from` if it had one).
fn from_a_stage(copy: &Copy) -> bool {
    copy.flags.is_empty() && copy.json.is_none() && copy.sources.first().is_some_and(|s| s.starts_with('/'))
}

fn dedup_keep_order(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|p| seen.insert(p.clone()));
}

/// A unified diff of two texts, whole-file hunk, by longest common subsequence of lines.
fn unified_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = format!(
        "--- Dockerfile\n+++ Dockerfile (suggested)\n@@ -1,{} +1,{} @@\n",
        a.len(),
        b.len()
    );
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!(" {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(lines: &[&str]) -> Steps {
        Steps {
            steps: lines
                .iter()
                .map(|l| (Instruction::parse(l), StepFacts::default()))
                .collect(),
            from_history: false,
        }
    }

    #[test]
    fn image_paths_become_build_context_paths() {
        // `COPY . /srv/app` with another WORKDIR: the context root is the destination.
        let roots = ContextRoots::of(&steps(&["WORKDIR /opt", "COPY . /srv/app"]));
        assert_eq!(roots.context_path("", "/srv/app/tests"), Some("tests".into()));
        assert_eq!(
            roots.context_path("srv/app", "./models/m.bin"),
            Some("models/m.bin".into())
        );
        assert_eq!(roots.context_path("opt", "/opt/tests"), None, "not from the context");
        // A relative destination is resolved against the WORKDIR in force.
        let roots = ContextRoots::of(&steps(&["WORKDIR /app", "COPY . ."]));
        assert_eq!(roots.context_path("app", "tests"), Some("tests".into()));
        assert_eq!(roots.context_path("", "/app/.git/config"), Some(".git/config".into()));
        // The classic builder and buildah record the context copy as a hashed directory.
        let history = Instruction::from_created_by("/bin/sh -c #(nop) COPY dir:0123abcd in /app ");
        let roots = ContextRoots::of(&Steps {
            steps: vec![(history, StepFacts::default())],
            from_history: true,
        });
        assert_eq!(roots.context_path("", "/app/.env"), Some(".env".into()));
        assert_eq!(join_path("a/b", "../../../c"), "c");
    }
}
