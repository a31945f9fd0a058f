//! dive's `.dive-ci`, read as dive 0.13.1 reads it: YAML (any style: block, flow, comments,
//! quoted or plain scalars; the first document), handed to viper, whose keys are
//! case-insensitive and whose values are read as strings, so `0.9` and `"0.9"` mean the same.
//! Only `rules.lowestEfficiency`, `rules.highestWastedBytes` and
//! `rules.highestUserWastedPercent` are read; a null value keeps dive's default and
//! `disabled` (exactly so) turns a rule off.
//!
//! Where imgprof departs from dive, it says so instead of guessing silently:
//! - a malformed file, or a value dive would call misconfigured, is an error naming the file
//!   and the line (dive prints `CI Misconfigured` and exits 1; imgprof exits 2, an error);
//! - the kebab-case spellings (`lowest-efficiency`, `highest-wasted-bytes`,
//!   `highest-user-wasted-percent`, dive's spelling in its newer application config) are
//!   applied, with a warning: dive 0.13.1 ignores them in `.dive-ci` and applies its default;
//! - an unknown key is ignored, as dive ignores it, with a warning (so a typo is seen);
//! - two spellings of one rule (`lowestEfficiency` and `lowestefficiency`) are an error: dive
//!   keeps one of them, which one is not defined.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::rules::RulesError;

/// One rule's setting in the file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Setting<T> {
    /// Not given, or given as null: dive's default.
    Default,
    Disabled,
    Value(T),
}

/// What a `.dive-ci` sets, and what the reader has to say about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiveCi {
    pub lowest_efficiency: Setting<f64>,
    pub highest_wasted_bytes: Setting<u64>,
    pub highest_user_wasted_percent: Setting<f64>,
    /// `path:line: ...`, one per key dive would read differently or not at all.
    pub warnings: Vec<String>,
}

/// dive's three rules: the key dive reads, the kebab-case spelling, and dive's default.
const RULES: [(&str, &str, &str); 3] = [
    ("lowestEfficiency", "lowest-efficiency", "0.9"),
    ("highestWastedBytes", "highest-wasted-bytes", "disabled"),
    ("highestUserWastedPercent", "highest-user-wasted-percent", "0.1"),
];

/// A scalar as YAML resolved it (YAML 1.2 core schema), or what else the node is.
enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Sequence,
    Mapping,
    Alias,
}

fn value<'a>(node: &'a MarkedYaml<'a>) -> Value<'a> {
    match &node.data {
        YamlData::Value(Scalar::Null) => Value::Null,
        YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => Value::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => Value::Float(f.into_inner()),
        YamlData::Value(Scalar::String(s)) => Value::Str(s),
        YamlData::Representation(s, _, _) => Value::Str(s),
        YamlData::Tagged(_, inner) => value(inner),
        YamlData::Sequence(_) => Value::Sequence,
        YamlData::Mapping(_) => Value::Mapping,
        YamlData::Alias(_) | YamlData::BadValue => Value::Alias,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("{b}"),
        Value::Int(i) => format!("{i}"),
        Value::Float(f) => format!("{f}"),
        Value::Str(s) => format!("{s:?}"),
        Value::Sequence => "a list".to_owned(),
        Value::Mapping => "a mapping".to_owned(),
        Value::Alias => "an alias".to_owned(),
    }
}

fn line(node: &MarkedYaml) -> usize {
    node.span.start.line()
}

/// Reads a `.dive-ci`; `name` is how errors and warnings name the file.
pub(crate) fn parse(text: &str, name: &str) -> Result<DiveCi, RulesError> {
    let at = |line: usize, message: String| RulesError::At {
        path: name.to_owned(),
        line,
        message,
    };
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        at(
            e.marker().line(),
            format!("not valid YAML (column {}): {}", e.marker().col() + 1, e.info()),
        )
    })?;
    let mut ci = DiveCi {
        lowest_efficiency: Setting::Default,
        highest_wasted_bytes: Setting::Default,
        highest_user_wasted_percent: Setting::Default,
        warnings: Vec::new(),
    };
    // yaml.v3, under viper, reads the first document only.
    let Some(doc) = docs.first() else { return Ok(ci) };
    let top = match &doc.data {
        YamlData::Mapping(map) => map,
        _ if matches!(value(doc), Value::Null) => return Ok(ci),
        _ => {
            return Err(at(
                line(doc),
                format!(
                    "expected a mapping with `rules:` (as in `rules: {{lowestEfficiency: 0.9}}`), got {}",
                    describe(&value(doc))
                ),
            ));
        }
    };
    let mut warnings: Vec<(usize, String)> = Vec::new();
    let mut rules = None;
    for (key, val) in top {
        match value(key) {
            Value::Str(k) if k.eq_ignore_ascii_case("rules") => {
                if let Some((first, _)) = rules {
                    return Err(at(
                        line(key),
                        format!("`{k}` given again (first on line {first}); dive's keys are case-insensitive"),
                    ));
                }
                rules = Some((line(key), val));
            }
            other => warnings.push((
                line(key),
                format!(
                    "{name}:{}: key {} ignored: dive reads only `rules` from .dive-ci",
                    line(key),
                    describe(&other)
                ),
            )),
        }
    }
    let Some((rules_line, rules)) = rules else {
        ci.warnings = warnings.into_iter().map(|(_, w)| w).collect();
        return Ok(ci);
    };
    let entries = match &rules.data {
        YamlData::Mapping(map) => map,
        _ if matches!(value(rules), Value::Null) => {
            ci.warnings = warnings.into_iter().map(|(_, w)| w).collect();
            return Ok(ci);
        }
        _ => {
            return Err(at(
                rules_line,
                format!(
                    "`rules` must be a mapping (as in `rules: {{lowestEfficiency: 0.9}}`), got {}",
                    describe(&value(rules))
                ),
            ));
        }
    };
    // For each of dive's rules: the line and spelling that set it.
    let mut seen: [Option<(usize, String)>; 3] = [None, None, None];
    for (key, val) in entries {
        let key_line = line(key);
        let spelled = match value(key) {
            Value::Str(k) => k.to_owned(),
            other => describe(&other),
        };
        let lower = spelled.to_ascii_lowercase();
        let Some((index, (camel, kebab, default))) = RULES
            .iter()
            .enumerate()
            .find(|(_, (camel, kebab, _))| lower == camel.to_ascii_lowercase() || lower == *kebab)
        else {
            warnings.push((
                key_line,
                format!(
                    "{name}:{key_line}: unknown rule `{spelled}` ignored, as dive ignores it (dive's rules: {})",
                    RULES.map(|(camel, _, _)| camel).join(", ")
                ),
            ));
            continue;
        };
        if let Some((first_line, first)) = &seen[index] {
            return Err(at(
                key_line,
                format!(
                    "`{spelled}` sets the same rule as `{first}` on line {first_line} \
                     (dive's keys are case-insensitive; which one dive keeps is not defined): keep one"
                ),
            ));
        }
        seen[index] = Some((key_line, spelled.clone()));
        if lower == *kebab {
            warnings.push((
                key_line,
                format!(
                    "{name}:{key_line}: `{spelled}` read as `{camel}`; dive 0.13.1 reads only `{camel}` \
                     (in any case) from .dive-ci and would apply its default ({default}) instead"
                ),
            ));
        }
        let invalid = |message: String| at(key_line, format!("{camel}: {message}"));
        let v = value(val);
        match index {
            0 => ci.lowest_efficiency = ratio(&v).map_err(invalid)?,
            1 => ci.highest_wasted_bytes = bytes(&v).map_err(invalid)?,
            _ => ci.highest_user_wasted_percent = ratio(&v).map_err(invalid)?,
        }
    }
    // In the file's order.
    warnings.sort_by_key(|(line, _)| *line);
    ci.warnings = warnings.into_iter().map(|(_, w)| w).collect();
    Ok(ci)
}

/// A ratio between 0 and 1, as dive's `strconv.ParseFloat` of viper's string.
fn ratio(v: &Value) -> Result<Setting<f64>, String> {
    let number = match v {
        Value::Null => return Ok(Setting::Default),
        Value::Str("disabled") => return Ok(Setting::Disabled),
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => match s.parse::<f64>() {
            Ok(f) => f,
            Err(_) if s.trim_end().ends_with('%') => {
                return Err(format!(
                    "{s:?}: dive reads a ratio between 0 and 1, not a percentage (write 0.1 for 10%)"
                ));
            }
            Err(_) => {
                return Err(format!(
                    "{s:?} is not a number (a ratio between 0 and 1, or `disabled`)"
                ));
            }
        },
        other => {
            return Err(format!(
                "expected a ratio between 0 and 1 or `disabled`, got {}",
                describe(other)
            ));
        }
    };
    if (0.0..=1.0).contains(&number) {
        Ok(Setting::Value(number))
    } else {
        Err(format!("must be between 0 and 1, got {number}"))
    }
}

/// A size: a number of bytes or a string with a unit (`20MB`, as dive's `humanize.ParseBytes`).
fn bytes(v: &Value) -> Result<Setting<u64>, String> {
    match v {
        Value::Null => Ok(Setting::Default),
        Value::Str("disabled") => Ok(Setting::Disabled),
        Value::Int(i) => u64::try_from(*i)
            .map(Setting::Value)
            .map_err(|_| format!("must not be negative, got {i}")),
        Value::Float(f) if f.is_finite() && *f >= 0.0 => Ok(Setting::Value(*f as u64)),
        Value::Str(s) => crate::rules::parse_size(s).map(Setting::Value),
        other => Err(format!(
            "expected a size (20MB, 1000000) or `disabled`, got {}",
            describe(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> DiveCi {
        match parse(text, ".dive-ci") {
            Ok(ci) => ci,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    fn error(text: &str) -> String {
        match parse(text, ".dive-ci") {
            Ok(ci) => panic!("{text:?} was accepted: {ci:?}"),
            Err(e) => e.to_string(),
        }
    }

    const ALL_SET: DiveCi = DiveCi {
        lowest_efficiency: Setting::Value(0.95),
        highest_wasted_bytes: Setting::Value(20_000_000),
        highest_user_wasted_percent: Setting::Disabled,
        warnings: Vec::new(),
    };

    #[test]
    fn block_style_camel_case() {
        let ci = read(
            "# dive's README example\nrules:\n  lowestEfficiency: 0.95   # comment\n  \
             highestWastedBytes: 20MB\n  highestUserWastedPercent: disabled\n",
        );
        assert_eq!(ci, ALL_SET);
    }

    #[test]
    fn flow_style() {
        assert_eq!(
            read("rules: {lowestEfficiency: 0.95, highestWastedBytes: 20MB, highestUserWastedPercent: disabled}"),
            ALL_SET
        );
        assert_eq!(
            read(
                "{rules: {lowestEfficiency: '0.95', highestWastedBytes: \"20MB\", highestUserWastedPercent: \"disabled\"}}"
            ),
            ALL_SET
        );
    }

    #[test]
    fn keys_are_case_insensitive_as_in_viper() {
        assert_eq!(
            read(
                "RULES:\n  LOWESTEFFICIENCY: 0.95\n  highestwastedbytes: 20MB\n  HighestUserWastedPercent: disabled\n"
            ),
            ALL_SET
        );
    }

    #[test]
    fn kebab_case_is_applied_with_a_warning() {
        let ci = read(
            "rules:\n  lowest-efficiency: 0.95\n  highest-wasted-bytes: 20MB\n  highest-user-wasted-percent: disabled\n",
        );
        assert_eq!(ci.lowest_efficiency, Setting::Value(0.95));
        assert_eq!(ci.highest_wasted_bytes, Setting::Value(20_000_000));
        assert_eq!(ci.highest_user_wasted_percent, Setting::Disabled);
        assert_eq!(ci.warnings.len(), 3, "{:?}", ci.warnings);
        assert!(
            ci.warnings[0].starts_with(".dive-ci:2: `lowest-efficiency` read as `lowestEfficiency`")
                && ci.warnings[0].contains("default (0.9)"),
            "{:?}",
            ci.warnings
        );
        assert!(ci.warnings[2].contains("default (0.1)"), "{:?}", ci.warnings);
        let upper = read("rules:\n  Lowest-Efficiency: 0.95\n");
        assert_eq!(upper.lowest_efficiency, Setting::Value(0.95));
    }

    #[test]
    fn numbers_may_be_strings() {
        let ci = read(
            "rules:\n  lowestEfficiency: \"0.5\"\n  highestWastedBytes: '3340'\n  highestUserWastedPercent: '.25'\n",
        );
        assert_eq!(ci.lowest_efficiency, Setting::Value(0.5));
        assert_eq!(ci.highest_wasted_bytes, Setting::Value(3340));
        assert_eq!(ci.highest_user_wasted_percent, Setting::Value(0.25));
        let ci = read("rules:\n  lowestEfficiency: 1\n  highestWastedBytes: 3.4e3\n  highestUserWastedPercent: 5e-1\n");
        assert_eq!(ci.lowest_efficiency, Setting::Value(1.0));
        assert_eq!(ci.highest_wasted_bytes, Setting::Value(3400));
        assert_eq!(ci.highest_user_wasted_percent, Setting::Value(0.5));
        let units = read("rules:\n  highestWastedBytes: 4 kib\n");
        assert_eq!(units.highest_wasted_bytes, Setting::Value(4096));
    }

    #[test]
    fn missing_and_null_keep_dives_defaults() {
        let defaults = DiveCi {
            lowest_efficiency: Setting::Default,
            highest_wasted_bytes: Setting::Default,
            highest_user_wasted_percent: Setting::Default,
            warnings: Vec::new(),
        };
        for text in [
            "",
            "# only a comment\n",
            "rules:\n",
            "rules: {}\n",
            "rules:\n  lowestEfficiency: ~\n  highestWastedBytes:\n",
        ] {
            assert_eq!(read(text), defaults, "{text:?}");
        }
        let first = read("rules:\n  lowestEfficiency: 0.5\n---\nrules:\n  lowestEfficiency: 0.99\n");
        assert_eq!(
            first.lowest_efficiency,
            Setting::Value(0.5),
            "the first document, as yaml.v3"
        );
    }

    #[test]
    fn unknown_keys_are_ignored_with_a_warning() {
        let ci = read("rules:\n  lowestEfficency: 0.99\n  lowest_efficiency: 0.5\nignore-errors: true\n");
        assert_eq!(ci.lowest_efficiency, Setting::Default);
        assert_eq!(ci.warnings.len(), 3, "{:?}", ci.warnings);
        assert!(
            ci.warnings[0].starts_with(".dive-ci:2: unknown rule `lowestEfficency` ignored"),
            "{:?}",
            ci.warnings
        );
        assert!(
            ci.warnings[2].starts_with(".dive-ci:4: key \"ignore-errors\" ignored"),
            "{:?}",
            ci.warnings
        );
    }

    #[test]
    fn malformed_files_name_the_line() {
        let e = error("rules:\n  lowestEfficiency: 0.9\n  highestWastedBytes: [1, 2\n");
        assert!(e.starts_with(".dive-ci:"), "{e}");
        assert!(e.contains("not valid YAML"), "{e}");
        let e = error("rules:\n\tlowestEfficiency: 0.9\n");
        assert!(e.starts_with(".dive-ci:2: "), "tabs: {e}");
        let e = error("rules:\n  lowestEfficiency: 0.99\n  lowestEfficiency: 0.5\n");
        assert!(e.starts_with(".dive-ci:"), "duplicate key: {e}");
    }

    #[test]
    fn no_input_panics() {
        let text = "%YAML 1.2\n---\n&a rules: !!map {lowestEfficiency: !!str 0.5, ? highestWastedBytes : \"1KB\",\n  \
                    *a : [1, {x: y}], 'highest-user-wasted-percent': |\n    0.1\n}\n...\n--- - [\"é\\t\", ~]\n";
        for (i, _) in text.char_indices() {
            for piece in [&text[..i], &text[i..]] {
                let _ = parse(piece, ".dive-ci");
                let _ = parse(&piece.replace(' ', "\t"), ".dive-ci");
            }
        }
    }

    #[test]
    fn values_dive_calls_misconfigured_are_errors_with_the_line() {
        for (text, line, says) in [
            ("rules:\n  lowestEfficiency: 1.5\n", 2, "between 0 and 1"),
            ("rules:\n  lowestEfficiency: DISABLED\n", 2, "not a number"),
            ("rules:\n  lowestEfficiency: true\n", 2, "got true"),
            ("rules:\n  lowestEfficiency: [0.5]\n", 2, "a list"),
            (
                "\nrules:\n  highestUserWastedPercent: \"10%\"\n",
                3,
                "write 0.1 for 10%",
            ),
            ("rules:\n  highestUserWastedPercent: 2\n", 2, "between 0 and 1"),
            ("rules:\n  highestWastedBytes: -5\n", 2, "negative"),
            ("rules:\n  highestWastedBytes: lots\n", 2, "not a size"),
            ("rules: 5\n", 1, "must be a mapping"),
            ("- a\n", 1, "expected a mapping"),
            (
                "rules:\n  lowestEfficiency: 0.99\n  lowestefficiency: 0.5\n",
                3,
                "same rule as `lowestEfficiency` on line 2",
            ),
            (
                "rules:\n  lowestEfficiency: 0.99\n  lowest-efficiency: 0.5\n",
                3,
                "same rule",
            ),
            ("rules: {}\nRules: {}\n", 2, "given again"),
        ] {
            let e = error(text);
            assert!(e.starts_with(&format!(".dive-ci:{line}: ")), "{text:?}: {e}");
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
