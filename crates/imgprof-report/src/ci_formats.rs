//! The findings and broken CI rules as CI platforms take them: GitHub workflow commands
//! (annotations on the Dockerfile's lines), GitLab's Code Quality report and JUnit XML.
//! The same items and lines as SARIF (`sarif::items`); only the encoding differs.

use imgprof_source::Digest;
use imgprof_waste::{FindingId, Severity};
use serde_json::{Value, json};

use crate::model::Report;
use crate::sarif::{Item, SarifTarget, items, rule_message};

/// One `::error file=...,line=N,title=...::message` line per item (`::warning`,
/// `::notice` by severity); without a Dockerfile, annotations of the run itself.
pub fn render_github(report: &Report, target: &SarifTarget<'_>) -> String {
    let mut out = String::new();
    for item in items(report, target) {
        let command = match item.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut properties = Vec::new();
        if let (Some(path), Some(line)) = (target.dockerfile, item.line) {
            properties.push(format!("file={}", property(path)));
            properties.push(format!("line={line}"));
        }
        properties.push(format!("title={}", property(&format!("{} {}", item.code, item.title))));
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            data(&item.message)
        ));
    }
    out
}

/// GitLab's Code Quality report: an array of issues with a description, check name,
/// fingerprint (stable across runs: the code, layer and first path), severity and a
/// location in the Dockerfile (`Dockerfile` when none was given: where GitLab shows it).
pub fn render_gitlab(report: &Report, target: &SarifTarget<'_>) -> Value {
    let path = target.dockerfile.unwrap_or("Dockerfile");
    let issues: Vec<Value> = items(report, target)
        .into_iter()
        .map(|item: Item| {
            let severity = match item.severity {
                Severity::Error => "critical",
                Severity::Warning => "major",
                Severity::Info => "info",
            };
            let key = format!(
                "{}|{}|{}",
                item.code,
                item.layer.map_or(-1, |l| l as i64),
                item.first_path
            );
            json!({
                "description": item.message,
                "check_name": item.code,
                "fingerprint": Digest::of(key.as_bytes()).to_string().trim_start_matches("sha256:"),
                "severity": severity,
                "location": {"path": path, "lines": {"begin": item.line.unwrap_or(target.from_line)}},
            })
        })
        .collect();
    Value::Array(issues)
}

/// JUnit XML (the Ant/Jenkins dialect every CI reads: testdata/schemas/junit.xsd): a `rules` suite
/// with a test case per CI rule, failing when it broke (exactly what makes `check` exit
/// 1), when rules were checked; and a `findings` suite with a test case per rule of the
/// finding catalog, failing when the image has an error or warning finding of it (as
/// linters' JUnit output counts warnings); an info finding passes and is told in the
/// case's `system-out`. With a Dockerfile, a case points at its first finding's line.
pub fn render_junit(report: &Report, target: &SarifTarget<'_>) -> String {
    let items = items(report, target);
    let mut suites = Vec::new();
    if let Some(checked) = &report.rules {
        let cases: Vec<Case> = checked
            .results
            .iter()
            .map(|result| Case {
                name: result.rule.clone(),
                classname: "imgprof.rules",
                file: None,
                failure: (!result.passed).then(|| Failure {
                    kind: "rule",
                    message: rule_message(result),
                    body: String::new(),
                }),
                output: format!("{} (limit {})", result.value, result.limit),
            })
            .collect();
        suites.push(("rules", cases));
    }
    let cases: Vec<Case> = FindingId::ALL
        .into_iter()
        .map(|id| {
            let fired: Vec<&Item> = items.iter().filter(|item| item.code == id.code()).collect();
            let failing = fired.iter().find(|item| item.severity != Severity::Info);
            let file = target.dockerfile.zip(fired.first().and_then(|item| item.line));
            Case {
                name: format!("{} {}", id.code(), id.rule().title),
                classname: "imgprof.findings",
                file,
                failure: failing.map(|item| Failure {
                    kind: item.severity.name(),
                    message: item.message.clone(),
                    body: item.fix.clone(),
                }),
                output: fired
                    .iter()
                    .map(|item| item.message.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            }
        })
        .collect();
    suites.push(("findings", cases));

    let total: usize = suites.iter().map(|(_, cases)| cases.len()).sum();
    let failed = |cases: &[Case]| cases.iter().filter(|c| c.failure.is_some()).count();
    let failures: usize = suites.iter().map(|(_, cases)| failed(cases)).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"imgprof {}\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\">\n",
        escape(&report.source.location)
    ));
    for (name, cases) in &suites {
        xml.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n",
            cases.len(),
            failed(cases)
        ));
        for case in cases {
            xml.push_str(&case.xml());
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// One JUnit test case: its failure, and what it says on stdout.
struct Case<'a> {
    name: String,
    classname: &'static str,
    file: Option<(&'a str, usize)>,
    failure: Option<Failure>,
    output: String,
}

/// A failing case: its type, its one-line message, and its body (a finding's whole fix;
/// none for a CI rule, whose value and limit are in `system-out`).
struct Failure {
    kind: &'static str,
    message: String,
    body: String,
}

impl Case<'_> {
    fn xml(&self) -> String {
        let mut attributes = format!("name=\"{}\" classname=\"{}\"", escape(&self.name), self.classname);
        if let Some((path, line)) = self.file {
            attributes.push_str(&format!(" file=\"{}\" line=\"{line}\"", escape(path)));
        }
        let mut body = String::new();
        if let Some(failure) = &self.failure {
            let opening = format!(
                "<failure type=\"{}\" message=\"{}\"",
                failure.kind,
                escape(&failure.message)
            );
            body.push_str(&if failure.body.is_empty() {
                format!("      {opening}/>\n")
            } else {
                format!("      {opening}>{}</failure>\n", escape(&failure.body))
            });
        }
        if !self.output.is_empty() {
            body.push_str(&format!("      <system-out>{}</system-out>\n", escape(&self.output)));
        }
        if body.is_empty() {
            format!("    <testcase {attributes}/>\n")
        } else {
            format!("    <testcase {attributes}>\n{body}    </testcase>\n")
        }
    }
}

/// Text as XML 1.0 takes it in an attribute or element: markup escaped, and the control
/// characters XML cannot hold at all (a path may have them) written as `\u{..}`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push_str(&format!("&#{};", c as u32)),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// A workflow command's message: `%`, CR and LF escaped.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped_as_github_reads_them() {
        assert_eq!(data("50% of it\nthen"), "50%25 of it%0Athen");
        assert_eq!(property("IMG001 a: b, c"), "IMG001 a%3A b%2C c");
    }

    #[test]
    fn xml_text_escapes_markup_and_the_characters_xml_cannot_hold() {
        assert_eq!(
            escape("a<b & \"c\">\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot;&gt;&#10;\\u{1}"
        );
    }
}
