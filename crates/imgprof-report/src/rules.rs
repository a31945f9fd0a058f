//! CI rules: limits a report must meet, read from `.imgprof.toml` or, when there is
//! none, from dive's `.dive-ci` with dive's own meaning. `docs/ci.md` documents every key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use imgprof_waste::{FindingId, Severity};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Report;

pub const IMGPROF_FILE: &str = ".imgprof.toml";
pub const DIVE_FILE: &str = ".dive-ci";

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{path}: cannot read")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// A problem at a line of the file (YAML syntax, a bad value).
    #[error("{path}:{line}: {message}")]
    At { path: String, line: usize, message: String },
}

/// The rules a report is checked against, and where they came from.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// `.imgprof.toml`, `.dive-ci` (a path), or `defaults`.
    pub source: String,
    rules: Vec<Rule>,
    severity_overrides: BTreeMap<FindingId, Severity>,
    exclude: Vec<imgprof_waste::Glob>,
    /// What the file says that was read differently from how it reads, or not at all.
    warnings: Vec<String>,
}

/// How much an image may grow over a baseline: bytes (`50MB`) or a share of the
/// baseline (`10%`). Shrinking always passes.
#[derive(Debug, Clone, PartialEq)]
pub enum Growth {
    Bytes(u64),
    Share(f64),
}

impl Growth {
    /// `now` may be this much larger than `before`.
    pub fn allows(&self, before: u64, now: u64) -> bool {
        let grown = now.saturating_sub(before);
        match self {
            Growth::Bytes(b) => grown <= *b,
            Growth::Share(s) => grown == 0 || (before > 0 && grown as f64 / before as f64 <= *s),
        }
    }
}

impl std::str::FromStr for Growth {
    type Err = String;

    /// A size (`50MB`, `1.5GiB`, `1000000`) or a percentage (`10%`).
    fn from_str(text: &str) -> Result<Growth, String> {
        match text.trim().strip_suffix('%') {
            Some(percent) => {
                let percent: f64 = percent
                    .trim()
                    .parse()
                    .map_err(|_| format!("{text:?} is not a percentage"))?;
                if !(percent.is_finite() && percent >= 0.0) {
                    return Err(format!("{text:?} is not a percentage"));
                }
                Ok(Growth::Share(percent / 100.0))
            }
            None => parse_bytes(&Bytes::Text(text.to_owned())).map(Growth::Bytes),
        }
    }
}

impl std::fmt::Display for Growth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Growth::Bytes(b) => f.write_str(&imgprof_waste::human(*b)),
            Growth::Share(s) => write!(f, "{:.1}%", s * 100.0),
        }
    }
}

#[derive(Debug, Clone)]
enum Rule {
    MaxGrowth(Growth),
    MaxCompressed(u64),
    MaxUncompressed(u64),
    MinEfficiency(f64),
    MaxRedundantBytes(u64),
    MaxRedundantShare { share: f64, floor: u64 },
    MaxCategory { id: String, bytes: u64 },
    ForbidCategory(String),
    ForbidFinding(FindingId),
    FailOnSeverity(Severity),
    DiveLowestEfficiency(f64),
    DiveHighestWastedBytes(u64),
    DiveHighestUserWastedPercent(f64),
}

/// One rule's outcome.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleResult {
    pub rule: String,
    pub value: String,
    pub limit: String,
    pub passed: bool,
}

/// Every rule's outcome; `passed` when none broke.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleReport {
    pub source: String,
    pub passed: bool,
    pub results: Vec<RuleResult>,
    /// The rules file's warnings (`path:line: ...`): keys ignored or read differently
    /// from dive. Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `.imgprof.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImgprofFile {
    max_compressed_size: Option<Bytes>,
    max_uncompressed_size: Option<Bytes>,
    min_efficiency: Option<f64>,
    max_redundant_bytes: Option<Bytes>,
    max_redundant_share: Option<f64>,
    redundant_share_floor: Option<Bytes>,
    #[serde(default)]
    max_category_bytes: BTreeMap<String, Bytes>,
    #[serde(default)]
    forbid_categories: Vec<String>,
    #[serde(default)]
    forbid_findings: Vec<String>,
    fail_on_severity: Option<SeverityOrNever>,
    #[serde(default)]
    severity: BTreeMap<String, SeverityOrNever>,
    #[serde(default)]
    exclude_paths: Vec<String>,
    max_growth: Option<Bytes>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Bytes {
    Count(u64),
    Text(String),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SeverityOrNever {
    Info,
    Warning,
    Error,
    Never,
}

impl SeverityOrNever {
    fn severity(self) -> Option<Severity> {
        match self {
            SeverityOrNever::Info => Some(Severity::Info),
            SeverityOrNever::Warning => Some(Severity::Warning),
            SeverityOrNever::Error => Some(Severity::Error),
            SeverityOrNever::Never => None,
        }
    }
}

impl RuleSet {
    /// The rules in force: `explicit` (`--config`), else `.imgprof.toml` in `dir`, else
    /// `.dive-ci` in `dir`, else the defaults.
    pub fn load(explicit: Option<&Path>, dir: &Path) -> Result<RuleSet, RulesError> {
        if let Some(path) = explicit {
            let text = read(path)?;
            let name = path.display().to_string();
            return if path.file_name().is_some_and(|n| n == DIVE_FILE) {
                RuleSet::from_dive_ci(&text, &name)
            } else {
                RuleSet::from_toml(&text, &name)
            };
        }
        let imgprof: PathBuf = dir.join(IMGPROF_FILE);
        if imgprof.exists() {
            return RuleSet::from_toml(&read(&imgprof)?, IMGPROF_FILE);
        }
        let dive = dir.join(DIVE_FILE);
        if dive.exists() {
            return RuleSet::from_dive_ci(&read(&dive)?, DIVE_FILE);
        }
        Ok(RuleSet::defaults())
    }

    /// No secrets or other error-severity findings, no package-manager caches or apt
    /// lists over 10 MB, and redundant bytes under 10 % of what ships unless they are
    /// under 10 MB.
    pub fn defaults() -> RuleSet {
        RuleSet {
            source: "defaults".to_owned(),
            exclude: Vec::new(),
            rules: vec![
                Rule::FailOnSeverity(Severity::Error),
                Rule::MaxRedundantShare {
                    share: 0.10,
                    floor: 10_000_000,
                },
                Rule::MaxCategory {
                    id: "package-cache".to_owned(),
                    bytes: 10_000_000,
                },
                Rule::MaxCategory {
                    id: "apt-lists".to_owned(),
                    bytes: 10_000_000,
                },
            ],
            severity_overrides: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    pub fn from_toml(text: &str, name: &str) -> Result<RuleSet, RulesError> {
        let invalid = |message: String| RulesError::Invalid {
            path: name.to_owned(),
            message,
        };
        let file: ImgprofFile = toml::from_str(text).map_err(|e| invalid(e.to_string().trim().to_owned()))?;
        let bytes = |key: &str, value: &Bytes| parse_bytes(value).map_err(|m| invalid(format!("{key}: {m}")));
        let mut rules = Vec::new();
        if let Some(v) = &file.max_compressed_size {
            rules.push(Rule::MaxCompressed(bytes("max_compressed_size", v)?));
        }
        if let Some(v) = &file.max_uncompressed_size {
            rules.push(Rule::MaxUncompressed(bytes("max_uncompressed_size", v)?));
        }
        if let Some(v) = file.min_efficiency {
            check_ratio("min_efficiency", v).map_err(invalid)?;
            rules.push(Rule::MinEfficiency(v));
        }
        if let Some(v) = &file.max_redundant_bytes {
            rules.push(Rule::MaxRedundantBytes(bytes("max_redundant_bytes", v)?));
        }
        if let Some(share) = file.max_redundant_share {
            check_ratio("max_redundant_share", share).map_err(invalid)?;
            let floor = match &file.redundant_share_floor {
                Some(v) => bytes("redundant_share_floor", v)?,
                None => 0,
            };
            rules.push(Rule::MaxRedundantShare { share, floor });
        }
        for (id, v) in &file.max_category_bytes {
            known_category(id).map_err(invalid)?;
            rules.push(Rule::MaxCategory {
                id: id.clone(),
                bytes: bytes(&format!("max_category_bytes.{id}"), v)?,
            });
        }
        for id in &file.forbid_categories {
            known_category(id).map_err(invalid)?;
            rules.push(Rule::ForbidCategory(id.clone()));
        }
        for code in &file.forbid_findings {
            rules.push(Rule::ForbidFinding(known_finding(code).map_err(invalid)?));
        }
        let mut severity_overrides = BTreeMap::new();
        for (code, severity) in &file.severity {
            let severity = severity.severity().ok_or_else(|| {
                invalid(format!(
                    "severity.{code}: \"never\" is for fail_on_severity; give info, warning or error"
                ))
            })?;
            severity_overrides.insert(known_finding(code).map_err(invalid)?, severity);
        }
        if let Some(growth) = &file.max_growth {
            let growth = match growth {
                Bytes::Text(t) if t.trim().ends_with('%') => {
                    t.parse().map_err(|message| invalid(format!("max_growth: {message}")))?
                }
                other => Growth::Bytes(bytes("max_growth", other)?),
            };
            rules.push(Rule::MaxGrowth(growth));
        }
        if let Some(severity) = file.fail_on_severity.unwrap_or(SeverityOrNever::Error).severity() {
            rules.push(Rule::FailOnSeverity(severity));
        }
        Ok(RuleSet {
            source: name.to_owned(),
            rules,
            severity_overrides,
            exclude: file.exclude_paths.iter().map(|p| imgprof_waste::Glob::new(p)).collect(),
            warnings: Vec::new(),
        })
    }

    /// dive's `.dive-ci`, read as dive 0.13.1 reads it (`crate::dive_ci`): `rules:` with
    /// `lowestEfficiency`, `highestWastedBytes`, `highestUserWastedPercent` (any case), each
    /// a value or `disabled`; missing keys take dive's defaults (0.9, disabled, 0.1).
    pub fn from_dive_ci(text: &str, name: &str) -> Result<RuleSet, RulesError> {
        use crate::dive_ci::Setting;
        fn setting<T>(setting: Setting<T>, default: Option<T>) -> Option<T> {
            match setting {
                Setting::Default => default,
                Setting::Disabled => None,
                Setting::Value(v) => Some(v),
            }
        }
        let ci = crate::dive_ci::parse(text, name)?;
        let mut rules = Vec::new();
        if let Some(v) = setting(ci.lowest_efficiency, Some(0.9)) {
            rules.push(Rule::DiveLowestEfficiency(v));
        }
        if let Some(v) = setting(ci.highest_wasted_bytes, None) {
            rules.push(Rule::DiveHighestWastedBytes(v));
        }
        if let Some(v) = setting(ci.highest_user_wasted_percent, Some(0.1)) {
            rules.push(Rule::DiveHighestUserWastedPercent(v));
        }
        Ok(RuleSet {
            source: name.to_owned(),
            rules,
            severity_overrides: BTreeMap::new(),
            exclude: Vec::new(),
            warnings: ci.warnings,
        })
    }

    /// The rules file's warnings (`path:line: ...`), also carried by every `RuleReport`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Paths the analysis must not judge (`exclude_paths`).
    pub fn exclude(&self) -> &[imgprof_waste::Glob] {
        &self.exclude
    }

    /// Whether a rule compares against a baseline image (`--baseline`).
    pub fn needs_baseline(&self) -> bool {
        self.rules.iter().any(|r| matches!(r, Rule::MaxGrowth(_)))
    }

    /// Applies the severity overrides to the report's findings.
    pub fn adjust(&self, report: &mut Report) {
        for finding in &mut report.findings {
            if let Some(severity) = self.severity_overrides.get(&finding.id) {
                finding.severity = *severity;
            }
        }
    }

    /// Evaluates every rule; `baseline` is the report of the `--baseline` image, if any.
    pub fn evaluate(&self, report: &Report, baseline: Option<&Report>) -> RuleReport {
        let results: Vec<RuleResult> = self
            .rules
            .iter()
            .flat_map(|rule| rule.evaluate(report, baseline))
            .collect();
        RuleReport {
            source: self.source.clone(),
            passed: results.iter().all(|r| r.passed),
            results,
            warnings: self.warnings.clone(),
        }
    }
}

impl Rule {
    fn evaluate(&self, report: &Report, baseline: Option<&Report>) -> Vec<RuleResult> {
        let image = &report.image;
        // Redundant bytes under excluded paths are not judged.
        let redundant = image.redundant_bytes.saturating_sub(
            report
                .categories
                .iter()
                .find(|c| c.id == imgprof_waste::categories::EXCLUDED)
                .map_or(0, |c| c.redundant_bytes),
        );
        let redundant_ratio = if image.shipped_bytes == 0 {
            0.0
        } else {
            redundant as f64 / image.shipped_bytes as f64
        };
        let result = |rule: String, value: String, limit: String, passed: bool| RuleResult {
            rule,
            value,
            limit,
            passed,
        };
        let size = |bytes: u64| crate::human(bytes);
        match self {
            Rule::MaxCompressed(max) => vec![result(
                "max_compressed_size".into(),
                size(image.compressed_bytes),
                size(*max),
                image.compressed_bytes <= *max,
            )],
            Rule::MaxUncompressed(max) => vec![result(
                "max_uncompressed_size".into(),
                size(image.shipped_bytes),
                size(*max),
                image.shipped_bytes <= *max,
            )],
            Rule::MinEfficiency(min) => vec![result(
                "min_efficiency".into(),
                format!("{:.4}", report.dive.efficiency),
                format!("{min}"),
                report.dive.efficiency >= *min,
            )],
            Rule::MaxRedundantBytes(max) => {
                vec![result(
                    "max_redundant_bytes".into(),
                    size(redundant),
                    size(*max),
                    redundant <= *max,
                )]
            }
            Rule::MaxRedundantShare { share, floor } => vec![result(
                "max_redundant_share".into(),
                format!("{:.1}% ({})", redundant_ratio * 100.0, size(redundant)),
                format!("{:.1}%, not below {}", share * 100.0, size(*floor)),
                redundant < *floor || redundant_ratio <= *share,
            )],
            Rule::MaxGrowth(growth) => {
                let limit = growth.to_string();
                let Some(base) = baseline else {
                    return vec![result(
                        "max_growth".into(),
                        "no --baseline image given".into(),
                        limit,
                        false,
                    )];
                };
                let (now, before) = (image.shipped_bytes, base.image.shipped_bytes);
                let passed = growth.allows(before, now);
                let sign = if now >= before { "+" } else { "-" };
                vec![result(
                    "max_growth".into(),
                    format!(
                        "{sign}{} ({} -> {})",
                        size(now.abs_diff(before)),
                        size(before),
                        size(now)
                    ),
                    limit,
                    passed,
                )]
            }
            Rule::MaxCategory { id, bytes } => {
                let value = category_bytes(report, id);
                vec![result(
                    format!("max_category_bytes.{id}"),
                    size(value),
                    size(*bytes),
                    value <= *bytes,
                )]
            }
            Rule::ForbidCategory(id) => {
                let value = category_bytes(report, id);
                vec![result(
                    format!("forbid_categories.{id}"),
                    size(value),
                    "none".into(),
                    value == 0,
                )]
            }
            Rule::ForbidFinding(id) => {
                let count = report.findings.iter().filter(|f| f.id == *id).count();
                vec![result(
                    format!("forbid_findings.{id}"),
                    format!("{count} found"),
                    "none".into(),
                    count == 0,
                )]
            }
            Rule::FailOnSeverity(severity) => {
                let offending: Vec<String> = report
                    .findings
                    .iter()
                    .filter(|f| f.severity >= *severity)
                    .map(|f| format!("{} {}", f.id, f.title))
                    .collect();
                let limit = format!("no finding of severity {}", severity_name(*severity));
                vec![result(
                    "fail_on_severity".into(),
                    if offending.is_empty() {
                        "none".into()
                    } else {
                        offending.join("; ")
                    },
                    limit,
                    offending.is_empty(),
                )]
            }
            // dive: fails when threshold > efficiency.
            Rule::DiveLowestEfficiency(min) => vec![result(
                "lowestEfficiency".into(),
                format!("{}", report.dive.efficiency),
                format!("{min}"),
                *min <= report.dive.efficiency,
            )],
            Rule::DiveHighestWastedBytes(max) => vec![result(
                "highestWastedBytes".into(),
                size(report.dive.wasted_bytes),
                size(*max),
                report.dive.wasted_bytes <= *max,
            )],
            // dive: fails when threshold < wasted / user bytes; NaN (one layer) passes.
            Rule::DiveHighestUserWastedPercent(max) => {
                let ratio = dive_user_wasted_ratio(report);
                vec![result(
                    "highestUserWastedPercent".into(),
                    format!("{ratio:.4}"),
                    format!("{max}"),
                    ratio.is_nan() || ratio <= *max,
                )]
            }
        }
    }
}

/// dive's `userWastedPercent`: wasted / (image size − first layer), NaN or infinite as
/// dive computes it.
fn dive_user_wasted_ratio(report: &Report) -> f64 {
    report.dive.wasted_bytes as f64 / report.dive.user_bytes as f64
}

fn category_bytes(report: &Report, id: &str) -> u64 {
    report
        .categories
        .iter()
        .find(|c| c.id == id)
        .map_or(0, |c| c.final_bytes)
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info or above",
        Severity::Warning => "warning or above",
        Severity::Error => "error",
    }
}

fn read(path: &Path) -> Result<String, RulesError> {
    std::fs::read_to_string(path).map_err(|source| RulesError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn check_ratio(key: &str, value: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("{key} must be between 0 and 1, got {value}"))
    }
}

fn known_category(id: &str) -> Result<(), String> {
    let known = imgprof_waste::categories::RULES.iter().any(|r| r.id == id) || id == imgprof_waste::categories::OTHER;
    if known {
        Ok(())
    } else {
        let ids: Vec<&str> = imgprof_waste::categories::RULES.iter().map(|r| r.id).collect();
        Err(format!("unknown category {id:?}; known: {}, other", ids.join(", ")))
    }
}

fn known_finding(code: &str) -> Result<FindingId, String> {
    FindingId::from_code(code).ok_or_else(|| {
        let last = FindingId::ALL[FindingId::ALL.len() - 1];
        format!("{code:?} is not a finding id (IMG001 to {last}: see docs/rules.md)")
    })
}

/// Sizes as integers or with units: `"10MB"` (decimal, as dive), `"512KiB"` (binary).
fn parse_bytes(value: &Bytes) -> Result<u64, String> {
    match value {
        Bytes::Count(n) => Ok(*n),
        Bytes::Text(t) => parse_size(t),
    }
}

/// A size with an optional unit (`20MB`, `1.5 GiB`, `1000000`).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 500MB, 1.5GiB, 1000000)"))?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024f64.powi(4),
        other => return Err(format!("unknown unit {other:?} in {text:?}")),
    };
    Ok((number * multiplier).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes(&Bytes::Text("20MB".into())), Ok(20_000_000));
        assert_eq!(parse_bytes(&Bytes::Text("2KiB".into())), Ok(2048));
        assert_eq!(parse_bytes(&Bytes::Text("1.5 GB".into())), Ok(1_500_000_000));
        assert_eq!(parse_bytes(&Bytes::Count(7)), Ok(7));
        assert!(parse_bytes(&Bytes::Text("lots".into())).is_err());
    }

    #[test]
    fn growth_limits() {
        assert_eq!("50MB".parse(), Ok(Growth::Bytes(50_000_000)));
        assert_eq!("10%".parse(), Ok(Growth::Share(0.1)));
        assert!("ten%".parse::<Growth>().is_err());
        assert!(Growth::Share(0.1).allows(100, 110) && !Growth::Share(0.1).allows(100, 111));
        assert!(Growth::Bytes(5).allows(100, 0), "shrinking passes");
    }

    #[test]
    fn toml_is_validated() {
        assert!(
            RuleSet::from_toml(
                "max_compressed_size = \"300MB\"\nforbid_categories = [\"toolchain\"]",
                "x"
            )
            .is_ok()
        );
        let unknown = RuleSet::from_toml("forbid_categories = [\"compilers\"]", "x").unwrap_err();
        assert!(
            unknown.to_string().contains("unknown category \"compilers\""),
            "{unknown}"
        );
        let typo = RuleSet::from_toml("max_size = 3", "x").unwrap_err();
        assert!(typo.to_string().contains("max_size"), "{typo}");
        assert!(RuleSet::from_toml("min_efficiency = 2.0", "x").is_err());
        // A finding id is one of the table's, not any IMG-shaped word.
        assert!(RuleSet::from_toml("forbid_findings = [\"IMG008\"]\n[severity]\nIMG013 = \"error\"", "x").is_ok());
        let unknown = RuleSet::from_toml("forbid_findings = [\"IMG099\"]", "x").unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("\"IMG099\" is not a finding id (IMG001 to IMG021"),
            "{unknown}"
        );
        let unknown = RuleSet::from_toml("[severity]\nIMG000 = \"info\"", "x").unwrap_err();
        assert!(
            unknown.to_string().contains("\"IMG000\" is not a finding id"),
            "{unknown}"
        );
    }

    #[test]
    fn dive_ci_is_read_as_dive_reads_it() {
        let rules = RuleSet::from_dive_ci(
            "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n",
            ".dive-ci",
        )
        .unwrap();
        assert_eq!(rules.rules.len(), 2);
        // dive ignores a misspelt key and applies its default; imgprof too, and says so.
        let typo = RuleSet::from_dive_ci("rules:\n  lowestEfficency: 0.99\n", ".dive-ci").unwrap();
        assert_eq!(typo.rules.len(), 2);
        assert!(matches!(typo.rules[0], Rule::DiveLowestEfficiency(v) if v == 0.9));
        assert_eq!(typo.warnings().len(), 1);
        let bad = RuleSet::from_dive_ci("rules:\n  lowestEfficiency: lots\n", ".dive-ci").unwrap_err();
        assert_eq!(
            bad.to_string(),
            ".dive-ci:2: lowestEfficiency: \"lots\" is not a number (a ratio between 0 and 1, or `disabled`)"
        );
        assert_eq!(
            RuleSet::from_dive_ci("", ".dive-ci").unwrap().rules.len(),
            2,
            "dive's defaults"
        );
    }
}
