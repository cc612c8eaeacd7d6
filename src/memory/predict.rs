//! A prediction for one image: the inputs found in it (and where), what the calculator does in a
//! container of a given size, and the smallest container in which the JVM starts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ImageInputs, Inputs, Size, calculate, minimum};

/// The variables the calculator reads, shown with their source.
pub const RELEVANT: &[&str] = &[
    "BPI_APPLICATION_PATH",
    "BPI_JVM_CLASS_COUNT",
    "BPL_JVM_CLASS_ADJUSTMENT",
    "BPL_JVM_HEADROOM",
    "BPL_JVM_HEAD_ROOM",
    "BPL_JVM_LOADED_CLASS_COUNT",
    "BPL_JVM_THREAD_COUNT",
    "JAVA_OPTS",
    "JAVA_TOOL_OPTIONS",
];

/// Said with every prediction: the total the calculator uses is not always the limit.
pub const MEMINFO_NOTE: &str = "The calculator sizes the JVM from the container's own cgroup memory limit. Without one (e.g. ECS with only a task-level memory size, or a soft reservation) it uses /proc/meminfo MemAvailable at start, logs 'Calculating JVM memory based on … available memory', and the result changes from start to start.";

/// A variable the calculator reads.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Input {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Where it came from.
    pub from: String,
}

/// The calculator's outcome in a container of `limit`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Outcome {
    /// The limit, as libjvm prints sizes.
    pub limit: String,
    /// The limit in bytes.
    #[serde(default)]
    pub limit_bytes: i64,
    /// Whether the JVM starts.
    pub starts: bool,
    /// Flags appended to `JAVA_TOOL_OPTIONS` (libjvm's order) when it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
    /// libjvm's error line when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fixed regions (direct + metaspace + code cache + stacks), as libjvm prints sizes.
    pub fixed: Option<String>,
    /// `fixed` in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_bytes: Option<i64>,
}

/// One of the largest contributors to the application class count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppDetail {
    /// Path in the image (a directory or a jar).
    pub path: String,
    /// Classes counted there.
    pub classes: i64,
}

/// The whole prediction.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Prediction {
    /// Image reference.
    pub reference: String,
    /// Whether the image has what the calculator needs (a Paketo JVM image).
    pub jvm: bool,
    /// Why there is nothing to predict, when `jvm` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nothing_to_predict: Option<String>,
    /// The variables the calculator reads, and their sources.
    pub inputs: Vec<Input>,
    /// Classes counted in the application directory.
    pub app_classes: i64,
    /// The largest contributors to `app_classes` (at most 10).
    pub app_detail: Vec<AppDetail>,
    /// The contributors left out of `app_detail`, counted: nothing is hidden silently.
    #[serde(default)]
    pub app_detail_hidden: HiddenSources,
    /// Classes in agent jars.
    pub agent_classes: i64,
    /// Agent jars named but not in the image.
    pub missing_agents: Vec<String>,
    /// Loaded classes the calculator assumes.
    pub loaded_classes: Option<i64>,
    /// Threads.
    pub threads: Option<i64>,
    /// libjvm's own debug line (`BP_LOG_LEVEL=DEBUG` at run time prints the same).
    pub debug_line: Option<String>,
    /// In the given container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The smallest limit (whole KiB) at which the JVM starts, as libjvm prints sizes.
    pub minimum_limit: Option<String>,
    /// Bytes of `minimum_limit`.
    pub minimum_limit_bytes: Option<i64>,
    /// The heap the calculator leaves at that limit (usually 0: the smallest limit is the one
    /// where the fixed regions just fit), as libjvm prints sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_limit_heap: Option<String>,
    /// Bytes of `minimum_limit_heap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_limit_heap_bytes: Option<i64>,
    /// When the inputs themselves make the calculator fail (bad values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_error: Option<String>,
    /// Always said.
    pub note: String,
}

/// What is missing for a prediction, and what was found instead: an image built with
/// bellsoft-liberica can still lack the class count (built before libjvm wrote it, or its env
/// files not in the layers), so "not a JVM image" would be wrong.
fn missing_inputs(found: &ImageInputs) -> String {
    let mut buildpacks: Vec<String> = found
        .env
        .iter()
        .filter_map(|s| s.from.strip_prefix("/layers/"))
        .filter_map(|rest| rest.split('/').next())
        .map(|dir| dir.replacen('_', "/", 1))
        .collect();
    buildpacks.sort();
    buildpacks.dedup();
    let seen = if buildpacks.is_empty() {
        "no layer has launch env files (`/layers/<buildpack>/<layer>/env.launch/`)".to_string()
    } else {
        format!(
            "launch env found in layers of {}, none of it the calculator's class count",
            buildpacks.join(", ")
        )
    };
    format!(
        "missing BPI_JVM_CLASS_COUNT (written by the JRE layer of libjvm buildpacks such as bellsoft-liberica 3.1.0+) and BPL_JVM_LOADED_CLASS_COUNT; {seen}; pass --env BPL_JVM_LOADED_CLASS_COUNT=N to predict anyway"
    )
}

/// A value as the prediction shows it: secrets redacted, at most 4 KiB.
fn shown(v: &str) -> String {
    crate::redact::redact_value(&crate::limits::shorten_to(v, 4 << 10)).into_owned()
}

/// Class sources not listed one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HiddenSources {
    /// How many.
    pub sources: usize,
    /// Their classes together.
    pub classes: i64,
}

/// Predicts from what the layers hold (the launch environment, `--env` already applied as the
/// launcher applies a platform's env: [`super::image::Scanner::finish`]) and an optional
/// container limit.
pub fn predict(reference: &str, found: &ImageInputs, limit: Option<Size>) -> Prediction {
    let env = found.env_map();
    let sources: BTreeMap<String, String> = found
        .env
        .iter()
        .map(|s| (s.name.clone(), s.from.clone()))
        .collect();
    let inputs_shown: Vec<Input> = RELEVANT
        .iter()
        .filter_map(|k| {
            env.get(*k).map(|v| Input {
                name: k.to_string(),
                // Never a secret (`-D…password=`), never a whole hostile `env.launch` file.
                value: shown(v),
                from: sources.get(*k).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let mut p = Prediction {
        reference: reference.to_string(),
        jvm: true,
        nothing_to_predict: None,
        inputs: inputs_shown,
        app_classes: found.app_classes,
        app_detail_hidden: HiddenSources {
            sources: found.app_detail.len().saturating_sub(10),
            classes: found.app_detail.iter().skip(10).map(|(_, n)| n).sum(),
        },
        app_detail: found
            .app_detail
            .iter()
            .take(10)
            .map(|(path, classes)| AppDetail {
                path: path.clone(),
                classes: *classes,
            })
            .collect(),
        agent_classes: found.agent_classes,
        missing_agents: found.missing_agents.clone(),
        loaded_classes: None,
        threads: None,
        debug_line: None,
        outcome: None,
        minimum_limit: None,
        minimum_limit_bytes: None,
        minimum_limit_heap: None,
        minimum_limit_heap_bytes: None,
        input_error: None,
        note: MEMINFO_NOTE.to_string(),
    };
    if !env.contains_key("BPI_JVM_CLASS_COUNT") && !env.contains_key("BPL_JVM_LOADED_CLASS_COUNT") {
        p.jvm = false;
        p.nothing_to_predict = Some(missing_inputs(found));
        return p;
    }
    let mut inputs: Inputs = match Inputs::from_env(&env) {
        Ok(i) => i,
        Err(e) => {
            p.input_error = Some(shown(&e.to_string()));
            return p;
        }
    };
    inputs.app_classes = found.app_classes;
    inputs.agent_classes = found.agent_classes;
    p.loaded_classes = Some(inputs.loaded_class_count());
    p.threads = Some(inputs.thread_count);
    p.debug_line = inputs.debug_line().map(|d| shown(&d));
    match minimum(&inputs) {
        Ok(c) => {
            p.minimum_limit = Some(c.total_memory.to_string());
            p.minimum_limit_bytes = Some(c.total_memory.0);
            p.minimum_limit_heap = Some(c.heap.size.to_string());
            p.minimum_limit_heap_bytes = Some(c.heap.size.0);
        }
        Err(e) => p.input_error = Some(shown(&e.to_string())),
    }
    if let Some(limit) = limit {
        p.outcome = Some(match calculate(&inputs, limit.0) {
            Ok(c) => Outcome {
                limit: limit.to_string(),
                limit_bytes: limit.0,
                starts: true,
                flags: Some(c.flags()),
                error: None,
                fixed: Some(c.fixed().to_string()),
                fixed_bytes: Some(c.fixed().0),
            },
            Err(e) => Outcome {
                limit: limit.to_string(),
                limit_bytes: limit.0,
                starts: false,
                flags: None,
                error: Some(e.to_string()),
                fixed: None,
                fixed_bytes: None,
            },
        });
    }
    p
}
