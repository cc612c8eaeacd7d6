//! Prediction of the Paketo JVM memory calculator (libjvm `helper/memory_calculator.go`).
//!
//! At container start the bellsoft-liberica (and every other libjvm-based JVM vendor) buildpack
//! runs an exec.d helper that sizes the JVM's memory regions and appends the result to
//! `JAVA_TOOL_OPTIONS`, or aborts the start with `fixed memory regions require … which is greater
//! than … available for allocation`. This module ports that calculator exactly, as pure
//! arithmetic over its inputs, so bpdrift can say what an image will do in a given container and
//! whether two images differ there. It reads no files: callers pass environment values, class
//! counts and the contents of the cgroup and meminfo files.
//!
//! Reference: libjvm v1.43.1 (`b49cf3007f035b3ff7d40020a244e653b39fb66a`), the version in
//! bellsoft-liberica 10.2.4; the calculator is unchanged from v1.20.0 (2020-08) through main
//! `53eac90` (2026-04). Line numbers in comments refer to that version.
//!
//! The calculation, all in `i64` bytes:
//! * loaded classes = `BPL_JVM_LOADED_CLASS_COUNT`, or
//!   `int(float64(jvm + app + agent + static) × pct/100 × 0.35)` ([`Inputs::loaded_class_count`]);
//! * metaspace = `14,000,000 + 5,800 × loaded` unless the user fixed `-XX:MaxMetaspaceSize`;
//! * fixed = direct (10M) + metaspace + code cache (240M) + stack (1M) × threads (250);
//! * head room = `int64(pct/100 × total)`; heap = total − fixed − head room unless `-Xmx` is set;
//! * checks fixed → non-heap → all, first failure wins ([`CalcError`]).
//!
//! Entry points: [`Inputs::from_env`] then [`calculate`]; [`minimum_total`] for the smallest
//! container that starts; [`TotalMemory`] for where the total comes from.

// The port keeps libjvm's whole surface (the /proc/meminfo path, the helper's messages and
// flag lines), verified line by line against libjvm's vectors in `tests.rs`; the commands use
// only part of it so far.
#![cfg_attr(not(test), allow(dead_code))]
#![allow(unused_imports)]

use std::collections::BTreeMap;

use serde::Serialize;

pub mod calc;
mod image;
#[cfg(test)]
pub(crate) use image::tests as image_tests;
pub mod predict;
pub use image::{ImageInputs, LayerSummary, Scanner, Source as EnvSource, jar_classes};
mod go;
pub mod size;

pub use calc::{
    CalcError, Calculation, Calculator, FlagsError, Provenance, Region, RegionKind, UserFlags,
};
pub use go::{NumError, NumErrorKind, ShellwordsError};
pub use size::{GIB, KIB, MIB, Size, SizeError, TIB};

/// The fraction of all classes assumed to be loaded (`ClassLoadFactor`, L36).
pub const CLASS_LOAD_FACTOR: f64 = 0.35;
/// Default `BPL_JVM_THREAD_COUNT` (`DefaultThreadCount`, L41). The spring-boot buildpack writes
/// its own default (50 for reactive/non-web apps, 250 for servlet apps) as a launch env file.
pub const DEFAULT_THREAD_COUNT: i64 = 250;
/// Default head room percentage (`DefaultHeadroom`, L37).
pub const DEFAULT_HEAD_ROOM: i64 = 0;
/// cgroup v1's "no limit" value; only this exact value means unset (`UnsetTotalMemory`, L43).
pub const UNSET_TOTAL_MEMORY: i64 = 9_223_372_036_854_771_712;
/// The largest total libjvm uses; larger limits are capped (`MaxJVMSize`, L42).
pub const MAX_JVM_SIZE: i64 = 64 * TIB;
/// The total libjvm assumes when it can read neither a limit nor meminfo (L160–L162).
pub const FALLBACK_TOTAL: i64 = GIB;

/// `BPL_JVM_CLASS_ADJUSTMENT` (L110–L122): either a percentage (`NN%`, unsigned, ≤ 2^32−1)
/// applied to the class total, or a signed number of classes added to it. libjvm keeps both and
/// applies both; the variable can only set one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClassAdjustment {
    /// Percentage factor; 100 by default.
    pub percent: u64,
    /// Classes added before the factor; 0 by default.
    pub static_classes: i64,
}

impl Default for ClassAdjustment {
    fn default() -> Self {
        ClassAdjustment {
            percent: 100,
            static_classes: 0,
        }
    }
}

impl ClassAdjustment {
    /// Parses a `BPL_JVM_CLASS_ADJUSTMENT` value like libjvm: a trailing `%` (one, removed once)
    /// makes it a `strconv.ParseUint(…, 10, 32)` percentage, so `-40%` and `+10%` are errors;
    /// anything else goes through `strconv.Atoi`.
    pub fn parse(value: &str) -> Result<ClassAdjustment, InputError> {
        match value.strip_suffix('%') {
            Some(pct) => go::parse_uint32(pct)
                .map(|percent| ClassAdjustment {
                    percent,
                    static_classes: 0,
                })
                .map_err(|reason| InputError::ClassAdjustmentPercentage {
                    value: value.to_owned(),
                    reason,
                }),
            None => go::atoi(value)
                .map(|static_classes| ClassAdjustment {
                    percent: 100,
                    static_classes,
                })
                .map_err(|reason| InputError::ClassAdjustmentInteger {
                    value: value.to_owned(),
                    reason,
                }),
        }
    }
}

/// An invalid or missing environment value. `Display` is libjvm's error text
/// (`helper/memory_calculator.go` L63–L139), including Go's `strconv` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// An integer variable (`BPL_JVM_HEADROOM`, `BPL_JVM_HEAD_ROOM`,
    /// `BPL_JVM_LOADED_CLASS_COUNT`, `BPI_JVM_CLASS_COUNT`, `BPL_JVM_THREAD_COUNT`) is not a Go
    /// `int`.
    #[error("unable to convert ${name}={value} to integer\n{reason}")]
    Integer {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// Go's `strconv.Atoi` error.
        reason: NumError,
    },
    /// `BPI_APPLICATION_PATH` or `BPI_JVM_CLASS_COUNT` is unset while classes must be counted
    /// (no `BPL_JVM_LOADED_CLASS_COUNT`).
    #[error("${name} must be set")]
    Missing {
        /// The variable.
        name: &'static str,
    },
    /// `BPL_JVM_CLASS_ADJUSTMENT=NN%` with `NN` not an unsigned 32-bit integer.
    #[error("unable to parse $BPL_JVM_CLASS_ADJUSTMENT {value} as a percentage\n{reason}")]
    ClassAdjustmentPercentage {
        /// The whole value, `%` included.
        value: String,
        /// Go's `strconv.ParseUint` error.
        reason: NumError,
    },
    /// `BPL_JVM_CLASS_ADJUSTMENT` without `%` that is not a Go `int`.
    #[error("unable to parse $BPL_JVM_CLASS_ADJUSTMENT {value} as an integer\n{reason}")]
    ClassAdjustmentInteger {
        /// The value.
        value: String,
        /// Go's `strconv.Atoi` error.
        reason: NumError,
    },
    /// go-shellwords rejected `JAVA_TOOL_OPTIONS` while looking for `-javaagent:` jars to count
    /// (L235–L239; only when classes are counted).
    #[error("unable to parse $JAVA_TOOL_OPTIONS\n{0}")]
    JavaToolOptions(ShellwordsError),
}

impl InputError {
    /// The environment variable at fault.
    pub fn variable(&self) -> &'static str {
        match self {
            InputError::Integer { name, .. } | InputError::Missing { name } => name,
            InputError::ClassAdjustmentPercentage { .. }
            | InputError::ClassAdjustmentInteger { .. } => "BPL_JVM_CLASS_ADJUSTMENT",
            InputError::JavaToolOptions(_) => "JAVA_TOOL_OPTIONS",
        }
    }

    /// The offending value, if the variable was set.
    pub fn value(&self) -> Option<&str> {
        match self {
            InputError::Integer { value, .. }
            | InputError::ClassAdjustmentPercentage { value, .. }
            | InputError::ClassAdjustmentInteger { value, .. } => Some(value),
            InputError::Missing { .. } | InputError::JavaToolOptions(_) => None,
        }
    }
}

/// Everything the calculator reads except the total memory.
///
/// [`Inputs::from_env`] fills it from the launch environment. The class counts that libjvm takes
/// from the file system at start-up, `app_classes` (classes under `BPI_APPLICATION_PATH`) and
/// `agent_classes` (classes in `-javaagent:` jars, see [`Inputs::agent_paths`]), are left at 0
/// for the caller to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inputs {
    /// `BPI_JVM_CLASS_COUNT`: classes in the JRE, counted at build time.
    pub jvm_classes: i64,
    /// Classes in the application directory, counted at every start.
    pub app_classes: i64,
    /// Classes in `-javaagent:` jars named in `JAVA_TOOL_OPTIONS`.
    pub agent_classes: i64,
    /// `BPL_JVM_LOADED_CLASS_COUNT`: when set, replaces the counted value (and makes libjvm skip
    /// counting, `BPI_*` and `BPL_JVM_CLASS_ADJUSTMENT` altogether).
    pub loaded_class_count: Option<i64>,
    /// `BPL_JVM_CLASS_ADJUSTMENT`.
    pub class_adjustment: ClassAdjustment,
    /// `BPL_JVM_THREAD_COUNT`, default 250.
    pub thread_count: i64,
    /// `BPL_JVM_HEAD_ROOM` (or the deprecated `BPL_JVM_HEADROOM`), percent, default 0.
    pub head_room: i64,
    /// `JAVA_TOOL_OPTIONS` as set in the environment (`None` if unset).
    pub java_tool_options: Option<String>,
    /// `JAVA_OPTS` (`None` if unset); the java-opts helper appends it before the calculator runs.
    pub java_opts: Option<String>,
    /// `BPI_APPLICATION_PATH`: where libjvm counts application classes (normally `/workspace`).
    pub application_path: Option<String>,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            jvm_classes: 0,
            app_classes: 0,
            agent_classes: 0,
            loaded_class_count: None,
            class_adjustment: ClassAdjustment::default(),
            thread_count: DEFAULT_THREAD_COUNT,
            head_room: DEFAULT_HEAD_ROOM,
            java_tool_options: None,
            java_opts: None,
            application_path: None,
        }
    }
}

fn int_var(env: &BTreeMap<String, String>, name: &'static str) -> Result<Option<i64>, InputError> {
    env.get(name)
        .map(|value| {
            go::atoi(value).map_err(|reason| InputError::Integer {
                name,
                value: value.clone(),
                reason,
            })
        })
        .transpose()
}

impl Inputs {
    /// Reads the launch environment as libjvm's helper does (L53–L139), in the same order, so the
    /// first error is the one libjvm would report:
    /// 1. `BPL_JVM_HEADROOM` (deprecated), then `BPL_JVM_HEAD_ROOM`, which overrides it;
    /// 2. `BPL_JVM_LOADED_CLASS_COUNT`; only if it is unset: `BPI_APPLICATION_PATH` and
    ///    `BPI_JVM_CLASS_COUNT` (both required), `JAVA_TOOL_OPTIONS` must split (it is scanned for
    ///    agents), then `BPL_JVM_CLASS_ADJUSTMENT`;
    /// 3. `BPL_JVM_THREAD_COUNT`.
    ///
    /// `JAVA_OPTS` is recorded so that [`Inputs::effective_java_tool_options`] can reproduce the
    /// java-opts helper, which runs earlier (exec.d files run in file-name order, `java-opts` <
    /// `memory-calculator`). Note that the agent scan sees `JAVA_TOOL_OPTIONS` after that append.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<Inputs, InputError> {
        let mut inputs = Inputs {
            java_tool_options: env.get("JAVA_TOOL_OPTIONS").cloned(),
            java_opts: env.get("JAVA_OPTS").cloned(),
            application_path: env.get("BPI_APPLICATION_PATH").cloned(),
            ..Inputs::default()
        };
        if let Some(h) = int_var(env, "BPL_JVM_HEADROOM")? {
            inputs.head_room = h;
        }
        if let Some(h) = int_var(env, "BPL_JVM_HEAD_ROOM")? {
            inputs.head_room = h;
        }
        inputs.loaded_class_count = int_var(env, "BPL_JVM_LOADED_CLASS_COUNT")?;
        if inputs.loaded_class_count.is_none() {
            if inputs.application_path.is_none() {
                return Err(InputError::Missing {
                    name: "BPI_APPLICATION_PATH",
                });
            }
            inputs.jvm_classes =
                int_var(env, "BPI_JVM_CLASS_COUNT")?.ok_or(InputError::Missing {
                    name: "BPI_JVM_CLASS_COUNT",
                })?;
            inputs.agent_paths().map_err(InputError::JavaToolOptions)?;
            if let Some(adj) = env.get("BPL_JVM_CLASS_ADJUSTMENT") {
                inputs.class_adjustment = ClassAdjustment::parse(adj)?;
            }
        }
        if let Some(t) = int_var(env, "BPL_JVM_THREAD_COUNT")? {
            inputs.thread_count = t;
        }
        Ok(inputs)
    }

    /// `JAVA_TOOL_OPTIONS` as the calculator sees it: the java-opts helper
    /// (`helper/java_opts.go`) joins `JAVA_TOOL_OPTIONS` (if set, even empty) and `JAVA_OPTS`
    /// with a space when `JAVA_OPTS` is set. Other helpers that run earlier (debug, jfr, jmx,
    /// jvm-heap, active-processor-count) only append flags that are not memory regions.
    pub fn effective_java_tool_options(&self) -> Option<String> {
        match (&self.java_tool_options, &self.java_opts) {
            (Some(jto), Some(jo)) => Some(format!("{jto} {jo}")),
            (None, Some(jo)) => Some(jo.clone()),
            (jto, None) => jto.clone(),
        }
    }

    /// The agent jar paths libjvm would count (L235–L245): for each shellwords token starting
    /// with `-javaagent:`, the text between the first and second `:`. So
    /// `-javaagent:/a.jar=opts` names `/a.jar=opts`, which does not exist and is skipped by
    /// libjvm with a warning.
    pub fn agent_paths(&self) -> Result<Vec<String>, ShellwordsError> {
        let jto = self.effective_java_tool_options().unwrap_or_default();
        Ok(go::shellwords(&jto)?
            .into_iter()
            .filter(|t| t.starts_with("-javaagent:"))
            .map(|t| t.split(':').nth(1).unwrap_or_default().to_owned())
            .collect())
    }

    /// The loaded class count: the override, or
    /// `int(float64(jvm + app + agent + static) * (float64(pct) / 100.0) * 0.35)` (L126, L132),
    /// with Go's integer addition (wrapping) and truncation toward zero.
    pub fn loaded_class_count(&self) -> i64 {
        self.loaded_class_count.unwrap_or_else(|| {
            let sum = self
                .jvm_classes
                .wrapping_add(self.app_classes)
                .wrapping_add(self.agent_classes)
                .wrapping_add(self.class_adjustment.static_classes);
            let total = sum as f64 * (self.class_adjustment.percent as f64 / 100.0);
            (total * CLASS_LOAD_FACTOR) as i64
        })
    }

    /// The helper's debug line when it counts classes (L131, shown with `BP_LOG_LEVEL=DEBUG`):
    /// `Memory Calculation: (100% * (<jvm> + <app> + <agent> + <static>)) * 0.35`.
    pub fn debug_line(&self) -> Option<String> {
        if self.loaded_class_count.is_some() {
            return None;
        }
        Some(format!(
            "Memory Calculation: ({}% * ({} + {} + {} + {})) * {:.2}",
            self.class_adjustment.percent,
            self.jvm_classes,
            self.app_classes,
            self.agent_classes,
            self.class_adjustment.static_classes,
            CLASS_LOAD_FACTOR
        ))
    }

    /// The `calc.Calculator` libjvm builds from these inputs for a total in bytes.
    pub fn calculator(&self, total: i64) -> Calculator {
        Calculator {
            head_room: self.head_room,
            loaded_class_count: self.loaded_class_count(),
            thread_count: self.thread_count,
            total_memory: total,
        }
    }
}

/// Runs the calculator for `total` bytes (already resolved by [`TotalMemory::bytes`]).
pub fn calculate(inputs: &Inputs, total: i64) -> Result<Calculation, CalcError> {
    inputs
        .calculator(total)
        .calculate(&inputs.effective_java_tool_options().unwrap_or_default())
}

/// The calculation at [`minimum_total`]: its `heap` is what the JVM would get there. libjvm has
/// no minimum-heap check, so this heap is usually a few bytes (`-Xmx0` once floored to KiB),
/// which the JVM itself then rejects; the total needed for a useful heap is this plus that heap.
///
/// Totals are searched in whole KiB, the granularity of MemAvailable and of libjvm's output
/// (cgroup limits are whole pages). A [`CalcError::Flags`] is returned as is; if even 64T (the
/// cap) fails, that error is returned, e.g. a head room of 100% or more.
pub fn minimum(inputs: &Inputs) -> Result<Calculation, CalcError> {
    let at = |kib: i64| calculate(inputs, kib * KIB);
    match at(0) {
        Err(CalcError::Flags(e)) => return Err(CalcError::Flags(e)),
        Ok(c) => return Ok(c),
        Err(_) => {}
    }
    let mut hi = MAX_JVM_SIZE / KIB;
    at(hi)?;
    // Each check is monotonic in the total (fixed ≤ t, fixed + ⌊p·t⌋ ≤ t for p < 1, plus a
    // constant user heap), so bisect between a failing and a passing total.
    let mut lo = 0;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at(mid).is_ok() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    at(hi)
}

/// The smallest total memory in bytes, a whole number of KiB, at which the calculation succeeds:
/// fixed + head room ≤ total, and with a user `-Xmx`, fixed + head room + heap ≤ total. For the
/// incident inputs (18,840 loaded classes, 250 threads) fixed regions are 647,560,000 B, so this
/// is 632,383 KiB. See [`minimum`] for the heap at that size and the error cases.
pub fn minimum_total(inputs: &Inputs) -> Result<i64, CalcError> {
    minimum(inputs).map(|c| c.total_memory.0)
}

/// Where libjvm's total memory comes from (L141–L168).
///
/// libjvm reads the container's own cgroup limit: v1 `/sys/fs/cgroup/memory/memory.limit_in_bytes`,
/// then v2 `/sys/fs/cgroup/memory.max`. **Without a container cgroup limit** (v1 reads exactly
/// 9223372036854771712, v2 reads `max`, or the files are missing, as on ECS with only a task-level
/// size) it falls back to `MemAvailable` from `/proc/meminfo` at that moment and logs
/// `Calculating JVM memory based on <N>K available memory`. That value depends on the host and
/// on what else runs, so **the result is not deterministic**: the same image can start on one
/// run and fail on the next. Predictions on that path should take MemAvailable as a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "bytes", rename_all = "kebab-case")]
pub enum TotalMemory {
    /// A container memory limit from cgroup v1 or v2 (bytes). Deterministic.
    Limit(i64),
    /// No container limit: `/proc/meminfo` MemAvailable at start-up (bytes). Not deterministic.
    MemAvailable(i64),
    /// Neither a limit nor meminfo could be read: libjvm configures for 1G.
    Unknown,
}

impl TotalMemory {
    /// The total libjvm calculates with: 1G when unknown, capped at 64T (L160–L168).
    pub fn bytes(self) -> i64 {
        match self {
            TotalMemory::Unknown => FALLBACK_TOTAL,
            TotalMemory::Limit(v) | TotalMemory::MemAvailable(v) => {
                if v == UNSET_TOTAL_MEMORY {
                    FALLBACK_TOTAL
                } else if v > MAX_JVM_SIZE {
                    MAX_JVM_SIZE
                } else {
                    v
                }
            }
        }
    }

    /// Whether the same image and settings always get this total (only a cgroup limit does).
    pub fn is_deterministic(self) -> bool {
        !matches!(self, TotalMemory::MemAvailable(_))
    }

    /// Resolves the total from the contents of the cgroup v1 and v2 limit files and
    /// `/proc/meminfo` (`None` = file missing), like libjvm: a limit file counts only if its
    /// trimmed content parses as a size and is not exactly 9223372036854771712 (`max` and
    /// unparsable content mean unset); MemAvailable is matched with
    /// `MemAvailable:\s*(\d+)(.*)` and its unit read with `calc.ParseUnit` (`kB` = 1024 B).
    pub fn from_sources(
        cgroup_v1: Option<&str>,
        cgroup_v2: Option<&str>,
        meminfo: Option<&str>,
    ) -> TotalMemory {
        for file in [cgroup_v1, cgroup_v2].into_iter().flatten() {
            if let Ok(size) = Size::parse(file.trim())
                && size.0 != UNSET_TOTAL_MEMORY
            {
                return TotalMemory::Limit(size.0);
            }
        }
        match meminfo.map(parse_meminfo) {
            Some(Ok(v)) => TotalMemory::MemAvailable(v),
            _ => TotalMemory::Unknown,
        }
    }

    /// The lines libjvm logs about the total (L153–L165), in order.
    pub fn log_lines(self) -> Vec<String> {
        let mut lines = Vec::new();
        if let TotalMemory::MemAvailable(v) = self {
            lines.push(format!(
                "Calculating JVM memory based on {} available memory",
                Size(v)
            ));
            lines.push("For more information on this calculation, see https://paketo.io/docs/reference/java-reference/#memory-calculator".to_owned());
        }
        let raw = match self {
            TotalMemory::Unknown => UNSET_TOTAL_MEMORY,
            TotalMemory::Limit(v) | TotalMemory::MemAvailable(v) => v,
        };
        if raw == UNSET_TOTAL_MEMORY {
            lines.push(
                "WARNING: Unable to determine memory limit. Configuring JVM for 1G container."
                    .to_owned(),
            );
        } else if raw > MAX_JVM_SIZE {
            lines.push(
                "WARNING: Container memory limit too large. Configuring JVM for 64T container."
                    .to_owned(),
            );
        }
        lines
    }
}

/// libjvm's `parseMemInfo` (L216–L233): the leftmost `MemAvailable:\s*(\d+)(.*)` (RE2: `\s` is
/// `[\t\n\f\r ]`, `\d` ASCII, `.` stops at a newline), number times `calc.ParseUnit` of the rest.
pub fn parse_meminfo(text: &str) -> Result<i64, String> {
    const KEY: &str = "MemAvailable:";
    for (at, _) in text.match_indices(KEY) {
        let rest = &text[at + KEY.len()..];
        let rest = rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
        let end = rest
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            continue;
        }
        let (digits, tail) = rest.split_at(end);
        let unit = &tail[..tail.find('\n').unwrap_or(tail.len())];
        let num: i64 = digits
            .parse()
            .map_err(|_| format!("unable to convert available memory {digits} to integer"))?;
        return Ok(num.wrapping_mul(size::parse_unit(unit)?));
    }
    Err(r"failed to match pattern 'MemAvailable:\s*(\d+)(.*)'".to_owned())
}

#[cfg(test)]
mod tests;
