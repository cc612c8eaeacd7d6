//! One `[[rule]]` table: the keys a rule may have, the words its values use, and every check
//! of them (each problem reported at its span, none stopping the others).

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use super::super::{
    AppliesIf, AppliesTarget, ChangeKind, Condition, Globs, Reverse, Rule, Severity, Subject,
    WhenUnknown,
};
use crate::metadata::ImageKind;
use crate::toml_file::{Ctx, TableView as RawRule, type_name};
use crate::version;

const SUBJECT_KEYS: &[&str] = &[
    "buildpack",
    "extension",
    "dependency",
    "lifecycle",
    "platform-api",
    "run-image",
    "stack",
    "label",
    "env",
    "process",
    "package",
    "runtime",
];
/// Keys other than the subject keys.
const OTHER_KEYS: &[&str] = &[
    "id",
    "severity",
    "affects",
    "summary",
    "advice",
    "sources",
    "introduced",
    "fixed",
    "from",
    "to",
    "change",
    "from-value",
    "to-value",
    "applies-if",
    "image-kinds",
    "reverse-severity",
    "reverse-summary",
    "purl-type",
    "depends-on",
    "family",
];

/// The keys of an `applies-if` table.
pub(crate) const APPLIES_IF_KEYS: &[&str] = &[
    "dependency",
    "runtime",
    "version",
    "when-unknown",
    "godebug",
    "kept",
];

/// The words accepted in `image-kinds`.
pub(crate) const KIND_WORDS: &[(&str, ImageKind)] = &[
    ("app", ImageKind::App),
    ("builder", ImageKind::Builder),
    ("buildpackage", ImageKind::Buildpackage),
    ("base-image", ImageKind::RunImage),
    ("build-image", ImageKind::BuildImage),
    ("lifecycle", ImageKind::Lifecycle),
    ("plain", ImageKind::Plain),
];

/// The `image-kinds` word of a kind (the same words `rules list` prints).
pub fn kind_word(kind: ImageKind) -> &'static str {
    KIND_WORDS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("?", |(w, _)| w)
}

/// Every key a rule may have.
pub(crate) fn keys() -> Vec<&'static str> {
    OTHER_KEYS.iter().chain(SUBJECT_KEYS).copied().collect()
}

fn globs(ctx: &mut Ctx<'_>, key: &str, values: Vec<Spanned<String>>) -> Option<Globs> {
    let mut out = Vec::new();
    for v in values {
        if v.get_ref().is_empty() {
            ctx.error(
                v.span(),
                format!("`{key}` is empty"),
                "expected a name or glob",
            );
            return None;
        }
        match glob::Pattern::new(v.get_ref()) {
            Ok(p) => out.push(p),
            Err(e) => {
                ctx.error(
                    v.span(),
                    format!("invalid glob in `{key}`: {}", e.msg),
                    format!("at character {}", e.pos + 1),
                );
                return None;
            }
        }
    }
    (!out.is_empty()).then_some(Globs(out))
}

fn parse_version(ctx: &mut Ctx<'_>, key: &str, v: &Spanned<String>) -> Option<semver::Version> {
    let parsed = version::parse(v.get_ref());
    if parsed.is_none() {
        ctx.error_with(
            v.span(),
            format!("invalid version in `{key}`: `{}`", v.get_ref()),
            "expected a version such as `10.2.4`",
            vec!["`v1.2` and `1.2` are read as 1.2.0; other forms cannot be ordered".into()],
        );
    }
    parsed
}

fn parse_req(ctx: &mut Ctx<'_>, key: &str, v: &Spanned<String>) -> Option<semver::VersionReq> {
    match semver::VersionReq::parse(v.get_ref()) {
        Ok(r) => Some(r),
        Err(e) => {
            ctx.error_with(
                v.span(),
                format!("invalid version range in `{key}`: {e}"),
                "expected a semver requirement",
                vec!["examples: `>=10, <11`, `^5.24`, `~10.4`".into()],
            );
            None
        }
    }
}

pub(super) fn validate(
    ctx: &mut Ctx<'_>,
    raw: &RawRule<'_, '_>,
    seen: &mut BTreeMap<String, Range<usize>>,
) -> Option<Rule> {
    let before = ctx.diags.len();
    // A misspelt required key is one mistake, not two: its "missing" error is left out.
    let misspelt = raw.unknown_keys(ctx, &keys(), "");
    let missing = |key: &str| raw.get(key).is_none() && !misspelt.contains(&key);

    let id = raw.string(ctx, "id");
    if missing("id") {
        ctx.error(
            raw.span.start..raw.span.start + 8,
            "rule without `id`",
            "add `id = \"…\"`",
        );
    }
    if let Some(id) = &id {
        let valid = !id.get_ref().is_empty()
            && id
                .get_ref()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        if !valid {
            ctx.error(
                id.span(),
                format!("invalid rule id `{}`", id.get_ref()),
                "use lowercase letters, digits, `-`, `_` and `.`",
            );
        } else if let Some(first) = seen.get(id.get_ref()) {
            let (line, col) = ctx.position(first.start);
            ctx.error_with(
                id.span(),
                format!("duplicate rule id `{}`", id.get_ref()),
                "defined again here",
                vec![format!("first defined at {}:{line}:{col}", ctx.name)],
            );
        } else {
            seen.insert(id.get_ref().clone(), id.span());
        }
    }

    let severity = match raw.string(ctx, "severity") {
        Some(s) => match s.get_ref().parse::<Severity>() {
            Ok(sev) => Some(sev),
            Err(()) => {
                let mut notes = vec!["severity is one of `info`, `warning`, `error`".to_string()];
                if ["high", "medium"].contains(&s.get_ref().as_str()) {
                    notes.push("`high` in the research seed maps to `warning` or `error`".into());
                }
                ctx.error_with(
                    s.span(),
                    format!("unknown severity `{}`", s.get_ref()),
                    "unknown severity",
                    notes,
                );
                None
            }
        },
        None => {
            if missing("severity") {
                ctx.error(
                    raw.span.start..raw.span.start + 8,
                    "rule without `severity`",
                    "add `severity = \"info\" | \"warning\" | \"error\"`",
                );
            }
            None
        }
    };
    let summary = raw.string(ctx, "summary");
    if missing("summary") {
        ctx.error(
            raw.span.start..raw.span.start + 8,
            "rule without `summary`",
            "add `summary = \"…\"`",
        );
    }
    let advice = raw.string(ctx, "advice");
    let depends_on = raw.string(ctx, "depends-on");
    let rule_family = raw.string(ctx, "family");
    if let Some(f) = &rule_family
        && !valid_family(f.get_ref())
    {
        ctx.error(
            f.span(),
            format!("invalid family `{}`", f.get_ref()),
            "use lowercase letters, digits and `-`",
        );
    }
    let affects = raw.strings(ctx, "affects").unwrap_or_default();
    let sources = raw.strings(ctx, "sources").unwrap_or_default();
    for s in &sources {
        if !(s.get_ref().starts_with("https://") || s.get_ref().starts_with("http://")) {
            ctx.error(s.span(), "a source must be an http(s) link", "not a link");
        }
    }

    // Subject: exactly one, except `buildpack` narrowing `dependency`.
    let present: Vec<&str> = SUBJECT_KEYS
        .iter()
        .copied()
        .filter(|k| raw.get(k).is_some())
        .collect();
    let is_dependency = present.contains(&"dependency");
    let extra: Vec<&str> = present
        .iter()
        .copied()
        .filter(|k| !(is_dependency && *k == "buildpack"))
        .collect();
    if raw.get("purl-type").is_some() && !present.contains(&"package") {
        ctx.error(
            raw.key_span("purl-type"),
            "`purl-type` narrows a `package` rule",
            "add `package = \"…\"`",
        );
    }
    let mut subject = None;
    let misspelt_subject = misspelt.iter().any(|k| SUBJECT_KEYS.contains(k));
    if extra.is_empty() && misspelt_subject {
        // Already reported as an unknown key with a suggestion.
    } else if extra.is_empty() {
        ctx.error_with(
            raw.span.start..raw.span.start + 8,
            "rule without a subject",
            "this rule looks at nothing",
            vec![format!("add one of: {}", SUBJECT_KEYS.join(", "))],
        );
    } else if extra.len() > 1 {
        ctx.error_with(
            raw.key_span(extra[1]),
            format!("rule has more than one subject: {}", extra.join(", ")),
            "second subject",
            vec!["split it into one rule per subject (`buildpack` may narrow `dependency`)".into()],
        );
    } else {
        let key = extra[0];
        subject = match key {
            "buildpack" => raw
                .strings(ctx, key)
                .and_then(|v| globs(ctx, key, v))
                .map(Subject::Buildpack),
            "extension" => raw
                .strings(ctx, key)
                .and_then(|v| globs(ctx, key, v))
                .map(Subject::Extension),
            "dependency" => {
                let layer = raw.strings(ctx, key).and_then(|v| globs(ctx, key, v));
                let bp = match raw.strings(ctx, "buildpack") {
                    Some(v) => globs(ctx, "buildpack", v).map(Some),
                    None if raw.get("buildpack").is_some() => None,
                    None => Some(None),
                };
                match (layer, bp) {
                    (Some(layer), Some(buildpack)) => {
                        Some(Subject::Dependency { buildpack, layer })
                    }
                    _ => None,
                }
            }
            "label" => raw
                .strings(ctx, key)
                .and_then(|v| globs(ctx, key, v))
                .map(Subject::Label),
            "env" => raw
                .strings(ctx, key)
                .and_then(|v| globs(ctx, key, v))
                .map(Subject::Env),
            "process" => raw
                .strings(ctx, key)
                .and_then(|v| globs(ctx, key, v))
                .map(Subject::Process),
            "runtime" => {
                let v = raw.strings(ctx, key);
                if let Some(v) = &v {
                    runtime_names(ctx, key, v);
                }
                v.and_then(|v| globs(ctx, key, v)).map(Subject::Runtime)
            }
            "package" => {
                let name = raw.strings(ctx, key).and_then(|v| globs(ctx, key, v));
                let purl_type = match raw.strings(ctx, "purl-type") {
                    Some(v) => globs(ctx, "purl-type", v).map(Some),
                    None if raw.get("purl-type").is_some() => None,
                    None => Some(None),
                };
                match (name, purl_type) {
                    (Some(name), Some(purl_type)) => Some(Subject::Package { name, purl_type }),
                    _ => None,
                }
            }
            flag => match raw.flag(ctx, flag) {
                Some(b) if !*b.get_ref() => {
                    ctx.error(
                        b.span(),
                        format!("`{flag} = false` selects nothing"),
                        "remove it or set `true`",
                    );
                    None
                }
                Some(_) => Some(match flag {
                    "lifecycle" => Subject::Lifecycle,
                    "platform-api" => Subject::PlatformApi,
                    "run-image" => Subject::RunImage,
                    _ => Subject::Stack,
                }),
                None => None,
            },
        };
    }

    // Condition.
    let introduced_s = raw.string(ctx, "introduced");
    let fixed_s = raw.string(ctx, "fixed");
    // A package's versions are ordered by its own scheme (dpkg for Debian packages), so its
    // bounds are kept as written.
    let is_package = matches!(subject, Some(Subject::Package { .. }));
    let package_bounds = if is_package {
        introduced_s.as_ref().map(|i| {
            (
                i.get_ref().clone(),
                fixed_s.as_ref().map(|f| f.get_ref().clone()),
            )
        })
    } else {
        None
    };
    let introduced = introduced_s
        .as_ref()
        .filter(|_| !is_package)
        .and_then(|v| parse_version(ctx, "introduced", v));
    let fixed = fixed_s
        .as_ref()
        .filter(|_| !is_package)
        .and_then(|v| parse_version(ctx, "fixed", v));
    let from = raw
        .string(ctx, "from")
        .and_then(|v| parse_req(ctx, "from", &v));
    let to = raw.string(ctx, "to").and_then(|v| parse_req(ctx, "to", &v));
    let mut change = Vec::new();
    for w in raw.strings(ctx, "change").unwrap_or_default() {
        match ChangeKind::parse(w.get_ref()) {
            Some(k) => change.push(k),
            None => ctx.error_with(
                w.span(),
                format!("unknown change kind `{}`", w.get_ref()),
                "unknown change kind",
                vec![format!("one of: {}", ChangeKind::WORDS.join(", "))],
            ),
        }
    }
    let from_value = raw
        .strings(ctx, "from-value")
        .and_then(|v| globs(ctx, "from-value", v));
    let to_value = raw
        .strings(ctx, "to-value")
        .and_then(|v| globs(ctx, "to-value", v));

    let mut kinds = Vec::new();
    for w in raw.strings(ctx, "image-kinds").unwrap_or_default() {
        match KIND_WORDS.iter().find(|(k, _)| k == w.get_ref()) {
            Some((_, k)) => kinds.push(*k),
            None => ctx.error_with(
                w.span(),
                format!("unknown image kind `{}`", w.get_ref()),
                "unknown image kind",
                vec![format!(
                    "one of: {}",
                    KIND_WORDS
                        .iter()
                        .map(|(w, _)| *w)
                        .collect::<Vec<_>>()
                        .join(", ")
                )],
            ),
        }
    }
    let mut reverse = Reverse::default();
    if let Some(s) = raw.string(ctx, "reverse-severity") {
        match s.get_ref().as_str() {
            "off" => reverse.severity = None,
            other => match other.parse::<Severity>() {
                Ok(sev) => reverse.severity = Some(sev),
                Err(()) => ctx.error_with(
                    s.span(),
                    format!("unknown reverse severity `{other}`"),
                    "unknown severity",
                    vec!["one of `info`, `warning`, `error`, `off`".into()],
                ),
            },
        }
    }
    reverse.summary = raw.string(ctx, "reverse-summary").map(Spanned::into_inner);
    // A value rule with both ends (`from-value` → `to-value`) has a way back too.
    let value_pair = raw.get("from-value").is_some() && raw.get("to-value").is_some();
    for key in ["reverse-severity", "reverse-summary"] {
        let crossing = introduced_s.is_some() && fixed_s.is_none();
        if raw.get(key).is_some() && !crossing && !(value_pair && introduced_s.is_none()) {
            ctx.error_with(
                raw.key_span(key),
                format!("`{key}` only applies to a crossing rule"),
                "needs `introduced` without `fixed`, or `from-value` with `to-value`",
                vec![
                    "a bug window `[introduced, fixed)` fires on the new version alone, in either direction"
                        .into(),
                ],
            );
        }
    }

    // Rules that can never match.
    if let (Some(f), None) = (&fixed_s, &introduced_s) {
        ctx.error(
            f.span(),
            "`fixed` without `introduced` can never match",
            "a bug window needs both ends: `introduced` (first bad) and `fixed` (first good)",
        );
    }
    if let (Some(i), Some(f), Some(fs)) = (&introduced, &fixed, &fixed_s)
        && f <= i
    {
        ctx.error_with(
            fs.span(),
            format!("this rule can never match: `fixed` ({f}) is not after `introduced` ({i})"),
            "the window [introduced, fixed) is empty",
            vec!["`fixed` is the first version without the problem".into()],
        );
    }
    if let Some(s) = &subject
        && !s.versioned()
    {
        for key in ["introduced", "fixed", "from", "to"] {
            if raw.get(key).is_some() {
                ctx.error(
                    raw.key_span(key),
                    format!(
                        "this rule can never match: {} has no version, so `{key}` never holds",
                        s.describe()
                    ),
                    "version condition on an unversioned subject",
                );
            }
        }
        for k in &change {
            if let ChangeKind::Class(c) = k {
                ctx.error(
                    raw.key_span("change"),
                    format!(
                        "this rule can never match: {} has no version, so it is never `{c}`",
                        s.describe()
                    ),
                    "version class on an unversioned subject",
                );
            }
        }
    }
    if let (Some(i), Some(req)) = (&introduced, &to)
        && fixed.is_some()
        && !req.matches(i)
        && req.comparators.iter().all(|c| c.op == semver::Op::Less)
    {
        ctx.error(
            raw.key_span("to"),
            "this rule can never match: `to` excludes the whole bug window",
            "contradicts `introduced`",
        );
    }

    let applies_if = match raw.get("applies-if") {
        None => None,
        Some(v) => match v.get_ref() {
            DeValue::Table(t) => {
                let sub = RawRule {
                    table: t,
                    span: v.span(),
                };
                for (k, _) in t.iter() {
                    let key = k.get_ref().as_ref();
                    if !APPLIES_IF_KEYS.contains(&key) {
                        ctx.error_with(
                            k.span(),
                            format!("unknown key `{key}` in `applies-if`"),
                            "unknown key",
                            vec![
                                "`applies-if` takes `dependency` or `runtime` with `version`, or `godebug` with `kept`; and `when-unknown`"
                                    .into(),
                            ],
                        );
                    }
                }
                let when_unknown = match sub.string(ctx, "when-unknown") {
                    None => WhenUnknown::Info,
                    Some(w) => match w.get_ref().as_str() {
                        "info" => WhenUnknown::Info,
                        "off" => WhenUnknown::Off,
                        other => {
                            ctx.error_with(
                                w.span(),
                                format!("unknown `when-unknown` value `{other}`"),
                                "expected `info` or `off`",
                                vec![
                                    "`info` reports \"may apply\" at info; `off` reports nothing"
                                        .into(),
                                ],
                            );
                            WhenUnknown::Info
                        }
                    },
                };
                let godebug = sub.string(ctx, "godebug");
                let kept = sub.flag(ctx, "kept");
                let subjects = ["dependency", "runtime", "godebug"]
                    .iter()
                    .filter(|k| sub.get(k).is_some())
                    .count();
                if subjects > 1 {
                    ctx.error(
                        v.span(),
                        "`applies-if` takes one of `dependency`, `runtime` and `godebug`",
                        "more than one",
                    );
                }
                if let Some(g) = &godebug {
                    // `godebug = "asynctimerchan=1"`: the setting and its old value; it needs
                    // `kept`, and no version (the setting is the condition).
                    let valid = g.get_ref().split_once('=').is_some_and(|(k, v)| {
                        !k.is_empty()
                            && !v.is_empty()
                            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    });
                    if !valid {
                        ctx.error_with(
                            g.span(),
                            format!("invalid `godebug` `{}`", g.get_ref()),
                            "expected `setting=old-value`",
                            vec![
                                "e.g. `asynctimerchan=1`: the value the go.mod go line keeps"
                                    .into(),
                            ],
                        );
                    }
                    if kept.is_none() {
                        ctx.error(
                            v.span(),
                            "`applies-if.godebug` needs `kept = true` or `kept = false`",
                            "incomplete",
                        );
                    }
                    if sub.get("version").is_some() {
                        ctx.error(
                            sub.key_span("version"),
                            "`applies-if.godebug` takes no `version`",
                            "the setting is the condition",
                        );
                    }
                    match (g.get_ref().split_once('='), kept) {
                        (Some((setting, old)), Some(kept)) if valid => Some(AppliesIf {
                            target: AppliesTarget::Godebug {
                                setting: setting.to_string(),
                                old: old.to_string(),
                                kept: *kept.get_ref(),
                            },
                            version: semver::VersionReq::STAR,
                            when_unknown,
                        }),
                        _ => None,
                    }
                } else {
                    if kept.is_some() {
                        ctx.error(
                            sub.key_span("kept"),
                            "`kept` goes with `applies-if.godebug`",
                            "no `godebug` here",
                        );
                    }
                    let target = match (sub.get("dependency"), sub.get("runtime")) {
                        (Some(_), None) => sub
                            .strings(ctx, "dependency")
                            .and_then(|v| globs(ctx, "applies-if.dependency", v))
                            .map(AppliesTarget::Dependency),
                        (None, Some(_)) => {
                            let names = sub.strings(ctx, "runtime");
                            if let Some(n) = &names {
                                runtime_names(ctx, "applies-if.runtime", n);
                            }
                            names
                                .and_then(|v| globs(ctx, "applies-if.runtime", v))
                                .map(AppliesTarget::Runtime)
                        }
                        _ => None,
                    };
                    let ver = sub
                        .string(ctx, "version")
                        .and_then(|v| parse_req(ctx, "applies-if.version", &v));
                    let has_target =
                        sub.get("dependency").is_some() || sub.get("runtime").is_some();
                    if !has_target || sub.get("version").is_none() {
                        ctx.error(
                            v.span(),
                            "`applies-if` needs `dependency` (or `runtime`) and `version`",
                            "incomplete",
                        );
                    }
                    match (target, ver) {
                        (Some(target), Some(version)) => Some(AppliesIf {
                            target,
                            version,
                            when_unknown,
                        }),
                        _ => None,
                    }
                }
            }
            other => {
                ctx.error(
                    v.span(),
                    format!("`applies-if` must be a table, found {}", type_name(other)),
                    "expected `{ runtime = \"java\", version = \">=18\" }`",
                );
                None
            }
        },
    };

    if ctx.diags.len() > before {
        return None;
    }
    Some(Rule {
        id: id?.into_inner(),
        severity: severity?,
        affects: affects.into_iter().map(Spanned::into_inner).collect(),
        summary: summary?.into_inner(),
        advice: advice.map(Spanned::into_inner),
        sources: sources.into_iter().map(Spanned::into_inner).collect(),
        subject: subject?,
        condition: Condition {
            introduced,
            fixed,
            from,
            to,
            change,
            from_value,
            to_value,
            reverse,
            package_bounds,
        },
        applies_if,
        kinds,
        family: rule_family.map(Spanned::into_inner),
        depends_on: depends_on.map(Spanned::into_inner),
        origin: ctx.name.to_string(),
    })
}

/// A runtime name that no recording produces matches nothing: a typo (`nodejs`, `golang`) is
/// an error with the names bpdrift knows. Globs are taken as they are.
fn runtime_names(ctx: &mut Ctx<'_>, key: &str, names: &[Spanned<String>]) {
    let known = crate::metadata::runtimes::NAMES;
    for n in names {
        let name = n.get_ref();
        if name.contains(['*', '?', '[']) || known.contains(&name.as_str()) {
            continue;
        }
        let mut notes = vec![format!("runtimes: {}", known.join(", "))];
        if let Some(s) = crate::toml_file::suggest(name, known).or(match name.as_str() {
            "nodejs" | "node.js" => Some("node"),
            "golang" => Some("go"),
            "jvm" | "jre" | "jdk" | "openjdk" => Some("java"),
            "cpython" => Some("python"),
            "net" | ".net" | "aspnetcore" | "dotnet-core" => Some("dotnet"),
            "apache" | "apache2" => Some("httpd"),
            _ => None,
        }) {
            notes.insert(0, format!("did you mean `{s}`?"));
        }
        ctx.error_with(
            n.span(),
            format!("unknown runtime `{name}` in `{key}`"),
            "no buildpack family records a runtime of that name",
            notes,
        );
    }
}

/// A family name: lowercase letters, digits and `-`.
pub(super) fn valid_family(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 40
        && f.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
