//! Each finding's fix applied alone to the naive Dockerfile, built with BuildKit and
//! measured: a fix written as code must build and save within 20% of what its finding
//! claims; a fix that cannot be applied alone must be written as guidance (comments).
//!
//! How a fix is applied, by its form:
//! - lines under a `# .dockerignore` comment: entries appended to the context's
//!   `.dockerignore`;
//! - a single `FROM` line: it replaces the Dockerfile's `FROM`;
//! - a single `CMD` or `ENTRYPOINT`: it replaces the Dockerfile's last one;
//! - code for the step the finding names (its `instruction`, found in the Dockerfile):
//!   it replaces that step;
//! - code with a `USER` and no step: inserted before the closing `EXPOSE`/`CMD` block.
//!
//! Anything else written as code is a failure: it cannot be applied as printed.

use std::fs;
use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use super::{Builder, Check, Fixture, Run, build, export, imgprof_json, make_context, tail_output};
use crate::builders::World;

/// How a fix reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Guidance,
    Dockerignore,
    Code,
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Guidance => "guidance",
            Form::Dockerignore => ".dockerignore",
            Form::Code => "code",
        }
    }
}

/// One finding's fix, applied alone.
pub(super) struct Applied {
    pub fixture: &'static str,
    pub id: String,
    pub form: Form,
    pub built: Check,
    pub claimed: u64,
    /// naive `shipped_bytes` less the fixed image's (negative: it grew).
    pub measured: Option<i64>,
    pub within: Check,
}

/// The `.dockerignore` entries and the code lines of a fix.
fn parse(fix: &str) -> (Vec<String>, Vec<String>) {
    let (mut ignore, mut code): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let mut in_ignore = false;
    let mut continued = false;
    for line in fix.lines() {
        let trimmed = line.trim();
        if trimmed == "# .dockerignore" {
            in_ignore = true;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.is_empty() {
            // A comment or a blank line ends the .dockerignore block.
            in_ignore = false;
            continue;
        }
        if in_ignore {
            ignore.push(trimmed.to_owned());
        } else if let Some(last) = code.last_mut().filter(|_| continued) {
            last.push('\n');
            last.push_str(line);
        } else {
            code.push(line.to_owned());
        }
        continued = !in_ignore && line.ends_with('\\');
    }
    (ignore, code)
}

fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_trailing(line: &str) -> bool {
    ["EXPOSE ", "CMD ", "ENTRYPOINT ", "HEALTHCHECK ", "LABEL "]
        .iter()
        .any(|k| line.starts_with(k))
}

/// The Dockerfile with `code` applied for `finding`, or why it cannot be.
fn apply_code(dockerfile: &str, finding: &Value, code: &[String]) -> Result<String, String> {
    let mut lines: Vec<String> = dockerfile.lines().map(str::to_owned).collect();
    let keyword = |l: &str| l.split_whitespace().next().unwrap_or("").to_owned();
    let single = (code.len() == 1).then(|| keyword(&code[0]));
    match single.as_deref() {
        Some("FROM") => {
            let at = lines.iter().position(|l| l.starts_with("FROM ")).ok_or("no FROM")?;
            lines[at] = code[0].clone();
            return Ok(lines.join("\n") + "\n");
        }
        Some(k @ ("CMD" | "ENTRYPOINT")) => {
            let at = lines
                .iter()
                .rposition(|l| keyword(l) == k)
                .ok_or_else(|| format!("no {k} to replace"))?;
            lines[at] = code[0].clone();
            return Ok(lines.join("\n") + "\n");
        }
        _ => {}
    }
    if let Some(instruction) = finding["instruction"].as_str() {
        let wanted = normalized(instruction);
        if let Some(at) = lines.iter().position(|l| normalized(l) == wanted) {
            lines.splice(at..=at, code.iter().cloned());
            return Ok(lines.join("\n") + "\n");
        }
    }
    if finding["instruction"].is_null() && code.iter().any(|l| l.starts_with("USER ")) {
        let at = lines.iter().position(|l| is_trailing(l)).unwrap_or(lines.len());
        lines.splice(at..at, code.iter().cloned());
        return Ok(lines.join("\n") + "\n");
    }
    Err(format!(
        "the fix is code but names no step of the Dockerfile to replace (instruction {:?})",
        finding["instruction"]
    ))
}

/// Applies each distinct fix of the naive report alone, builds it with BuildKit and
/// measures it against the naive image.
pub(super) fn check(
    run: &mut Run,
    world: &World,
    imgprof: &Path,
    dir: &Path,
    fixture: &'static Fixture,
    report: &Value,
) -> Result<()> {
    let naive_shipped = report["image"]["shipped_bytes"].as_u64().unwrap_or(0);
    let dockerfile = fs::read_to_string(
        crate::project_root()
            .join("xtask/e2e/apps")
            .join(fixture.name)
            .join("Dockerfile"),
    )?;
    let mut seen = Vec::new();
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    for (n, finding) in findings.iter().enumerate() {
        let id = finding["id"].as_str().unwrap_or("?").to_owned();
        let fix = finding["fix"].as_str().unwrap_or("").to_owned();
        if seen.contains(&(id.clone(), fix.clone())) {
            continue;
        }
        seen.push((id.clone(), fix.clone()));
        let claimed = finding["saves_bytes"].as_u64().unwrap_or(0);
        let case = format!("{}/{id} fix", fixture.name);
        let (ignore, code) = parse(&fix);
        let form = if !code.is_empty() {
            Form::Code
        } else if !ignore.is_empty() {
            Form::Dockerignore
        } else {
            Form::Guidance
        };
        let mut row = Applied {
            fixture: fixture.name,
            id: id.clone(),
            form,
            built: Check::NotRun,
            claimed,
            measured: None,
            within: Check::NotRun,
        };
        if form == Form::Guidance {
            run.applied.push(row);
            continue;
        }
        let ctx = dir.join(format!("fix-{n}-{id}"));
        make_context(fixture, &ctx)?;
        let fixed = if code.is_empty() {
            Ok(dockerfile.clone())
        } else {
            apply_code(&dockerfile, finding, &code)
        };
        let fixed = match fixed {
            Ok(text) => text,
            Err(why) => {
                run.fail(
                    &case,
                    "a fix written as code cannot be applied alone",
                    format!("{why}\n{fix}"),
                );
                row.built = Check::Fail;
                run.applied.push(row);
                continue;
            }
        };
        fs::write(ctx.join("Dockerfile"), &fixed)?;
        if !ignore.is_empty() {
            fs::write(ctx.join(".dockerignore"), ignore.join("\n") + "\n")?;
        }
        let tag = format!("localhost/imgprof-e2e/{}:fix-{}", fixture.name, id.to_lowercase());
        let out = run.timed(format!("{case}: build"), |_| {
            build(world, Builder::BuildKit, &ctx, &tag)
        });
        row.built = Check::of(out.status.success());
        if !out.status.success() {
            run.fail(
                &case,
                "the fix, applied alone, does not build",
                format!("{fixed}\n{}", tail_output(&out, 20)),
            );
            run.applied.push(row);
            continue;
        }
        let archive = dir.join(format!("fix-{n}-{id}.tar"));
        export(world, Builder::BuildKit, &tag, &archive)?;
        let shipped = imgprof_json(imgprof, &["report", "--json"], &archive)?["image"]["shipped_bytes"].as_u64();
        fs::remove_file(&archive)?;
        let Some(shipped) = shipped else {
            run.fail(&case, "the report of the fixed image has no image.shipped_bytes", "");
            run.applied.push(row);
            continue;
        };
        let measured = naive_shipped as i64 - shipped as i64;
        row.measured = Some(measured);
        // A fix that claims no bytes (security, layer order, signals) only has to build.
        let ok = claimed == 0 || (measured - claimed as i64).unsigned_abs() as f64 <= 0.2 * claimed as f64;
        row.within = Check::of(ok);
        if !ok {
            run.fail(
                &case,
                "the fix, applied alone, does not save within 20% of its claim",
                format!("claimed {claimed} B, measured {measured} B\n{fix}"),
            );
        }
        run.applied.push(row);
    }
    Ok(())
}

/// The table of docs/e2e.md.
pub(super) fn table(applied: &[Applied]) -> String {
    use std::fmt::Write;
    let mut t = String::from(
        "| fixture | finding | fix written as | applied alone builds | claimed | measured | within 20% |\n|---|---|---|---|---:|---:|---|\n",
    );
    for a in applied {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            a.fixture,
            a.id,
            a.form.name(),
            a.built.cell(),
            a.claimed,
            a.measured.map_or_else(|| "–".to_owned(), |m| m.to_string()),
            if a.claimed == 0 && a.built == Check::Pass {
                "– (claims none)"
            } else {
                a.within.cell()
            },
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_are_read_as_ignore_entries_and_code() {
        let (ignore, code) = parse("# .dockerignore\n.git\ntests/\n# and then\nRUN a \\\n    && b\nUSER app");
        assert_eq!(ignore, [".git", "tests/"]);
        assert_eq!(code, ["RUN a \\\n    && b", "USER app"]);
        assert_eq!(parse("# only words\n# more").1.len(), 0);
    }

    #[test]
    fn code_replaces_the_step_it_names() {
        let dockerfile = "FROM python:3.11\nWORKDIR /app\nRUN pip install -r requirements.txt\nCMD python app.py\n";
        let finding = serde_json::json!({"instruction": "RUN pip install  -r requirements.txt"});
        let fixed = apply_code(
            dockerfile,
            &finding,
            &["RUN pip install --no-cache-dir -r requirements.txt".into()],
        );
        assert!(
            fixed
                .unwrap()
                .contains("\nRUN pip install --no-cache-dir -r requirements.txt\nCMD")
        );
        let user = serde_json::json!({"instruction": null});
        let fixed = apply_code(dockerfile, &user, &["RUN useradd app".into(), "USER app".into()]).unwrap();
        assert!(
            fixed.ends_with("RUN useradd app\nUSER app\nCMD python app.py\n"),
            "{fixed}"
        );
        let cmd = apply_code(dockerfile, &user, &["CMD [\"python\", \"app.py\"]".into()]).unwrap();
        assert!(cmd.ends_with("CMD [\"python\", \"app.py\"]\n"));
        assert!(apply_code(dockerfile, &user, &["RUN something".into()]).is_err());
    }
}
