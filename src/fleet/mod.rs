//! The scheduled fleet report: every watched image fetched (concurrently, bounded), drift
//! between each service's watched references and since the previous run, rule findings, the
//! rollback targets checked for existence, everything recorded in the history, and an alarm when
//! the schedule itself stopped. Nothing is skipped silently: an image that cannot be fetched
//! is a row with its error.
//!
//! A run is three stages: [`fetch`] (I/O: the images, the history's previous observations, the
//! rollback targets' HEADs) → [`assess`] (pure: drift, findings, statuses — testable without a
//! registry or SQLite) → record (I/O: the observations and findings written to the [`history`],
//! timelines read back). [`file`] reads the fleet file.

pub(crate) mod assess;
pub(crate) mod fetch;
pub(crate) mod file;
pub(crate) mod history;
pub(crate) mod notify;

use std::collections::BTreeMap;

use self::file::Fleet;
use self::history::History;
use crate::render::{FleetFormat, Row};
use crate::report::fleet::{FleetReport, ServiceReport};
use crate::rules::RuleSet;
use crate::source::Fetcher;

/// Everything a run needs.
pub(crate) struct RunInput<'a> {
    /// The fleet.
    pub(crate) fleet: &'a Fleet,
    /// Its file name (recorded).
    pub(crate) fleet_name: &'a str,
    /// Rules per service (built-ins plus the fleet's and the service's files), shared.
    pub(crate) rules: &'a BTreeMap<String, std::sync::Arc<RuleSet>>,
    /// Now, seconds since the epoch.
    pub(crate) now: i64,
    /// `--expect-every`, in seconds.
    pub(crate) expect_every: Option<i64>,
    /// Called before the first fetch with (0, total, "") and after each with (done, total,
    /// what): progress.
    pub(crate) progress: &'a (dyn Fn(usize, usize, &str) + Sync),
    /// Images fetched at once (`--jobs`): each completes early, so progress moves from the
    /// first requests on instead of after every manifest was asked for.
    pub(crate) jobs: usize,
    /// The run id shared by every shard of this run (`--run-id`).
    pub(crate) group: Option<&'a str>,
    /// `K/N` with `--shard`.
    pub(crate) shard: Option<&'a str>,
    /// The report's format: each service's part is written as it is done.
    pub(crate) format: FleetFormat,
}

impl<'a> RunInput<'a> {
    /// What the assessment reads of it.
    fn context(&self) -> assess::Context<'a> {
        assess::Context {
            fleet: self.fleet,
            fleet_name: self.fleet_name,
            rules: self.rules,
            now: self.now,
            expect_every: self.expect_every,
        }
    }
}

/// A run's report as it was written: the report itself, its services reduced to what the
/// totals, the metrics and the messages need, and its body (the services table and each
/// service's details, in report order) kept in a temporary file.
pub(crate) struct Ran {
    pub(crate) report: FleetReport,
    body: Body,
}

struct Body {
    format: FleetFormat,
    rows: Vec<Row>,
    spill: std::fs::File,
    /// Each service's details: (offset, length) in `spill`, in report order.
    pieces: Vec<(u64, u64)>,
}

impl Ran {
    /// Writes the whole report.
    pub(crate) fn write(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        use std::io::{Read as _, Seek as _};
        let Body {
            format,
            rows,
            spill,
            pieces,
        } = &mut self.body;
        let json = *format == FleetFormat::Json;
        let mut details = |w: &mut dyn std::io::Write| -> std::io::Result<()> {
            for (i, (offset, len)) in pieces.iter().enumerate() {
                if json && i > 0 {
                    w.write_all(b",\n")?;
                }
                spill.seek(std::io::SeekFrom::Start(*offset))?;
                std::io::copy(&mut (&mut *spill).take(*len), w)?;
            }
            Ok(())
        };
        format.document(&self.report, rows, &mut details, out)
    }
}

/// A service reduced to what the totals, the metrics and the messages read (its details are
/// written out already).
fn slim(mut s: ServiceReport) -> ServiceReport {
    s.timeline = Vec::new();
    s.drift = Vec::new();
    s.since_last_run = Vec::new();
    for i in &mut s.images {
        i.buildpacks = Vec::new();
        i.dependencies = Vec::new();
    }
    s
}

/// Runs the report and records it. History errors are errors (the record is the point).
///
/// Services go through [`fetch::service`] `jobs` at a time, in any order: each is fetched,
/// assessed, its images stored and its part of the report written as soon as its own requests
/// are answered, so requests stay in flight back to back and the run holds the images of the
/// services in flight and a row per service, never the fleet's images or details.
pub(crate) async fn run(
    input: RunInput<'_>,
    fetcher: &Fetcher,
    history: &mut History,
) -> Result<Ran, RunError> {
    use futures_util::StreamExt as _;
    use std::io::{Seek as _, Write as _};
    // The previous run is read before this one is recorded as started (another shard of this
    // run is not a previous run).
    let previous_run = history.last_finished_run(input.group).await?;
    let started_at = history::rfc3339(input.now);
    let run_id = history
        .start_run(history::RunStart {
            started_at: &started_at,
            fleet: input.fleet_name,
            group: input.group,
            shard: input.shard,
        })
        .await?;
    let total = input.fleet.services.iter().map(|s| s.images.len()).sum();
    (input.progress)(0, total, "");
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = fetch::Progress { done: &done, total };
    let spill = tempfile::tempfile().map_err(RunError::Spill)?;
    let mut writer = std::io::BufWriter::new(spill);
    let mut at = 0u64;
    let shared: &History = history;
    let mut stream = futures_util::stream::iter(input.fleet.services.iter().enumerate())
        .map(|(i, s)| {
            let (input, progress, started_at) = (&input, &progress, &started_at);
            async move {
                let r = fetch::service(input, fetcher, shared, run_id, started_at, s, progress);
                (i, r.await)
            }
        })
        .buffer_unordered(input.jobs.max(1));
    let mut finished = Vec::with_capacity(input.fleet.services.len());
    let (mut sightings, mut findings) = (Vec::new(), Vec::new());
    let (mut images, mut fetch_errors) = (0, 0);
    while let Some((i, r)) = stream.next().await {
        let d = r?;
        input
            .format
            .detail(&d.report, &mut writer)
            .map_err(RunError::Spill)?;
        let end = writer.stream_position().map_err(RunError::Spill)?;
        let piece = (at, end - at);
        at = end;
        sightings.extend(d.sightings);
        findings.extend(d.findings);
        images += d.images;
        fetch_errors += d.fetch_errors;
        finished.push((i, Row::of(&d.report), piece, slim(d.report)));
    }
    drop(stream);
    writer.flush().map_err(RunError::Spill)?;
    let spill = writer
        .into_inner()
        .map_err(|e| RunError::Spill(e.into_error()))?;
    // Report order: the worst first, fleet order within a status.
    finished.sort_by_key(|(i, _, _, s)| (s.status, *i));
    let status = if fetch_errors > 0 { "partial" } else { "ok" };
    history
        .finish_run(history::RunEnd {
            run_id,
            finished_at: &started_at,
            status,
            sightings: &sightings,
            findings: &findings,
        })
        .await?;
    drop((sightings, findings));
    let context = input.context();
    let mut rows = Vec::with_capacity(finished.len());
    let mut pieces = Vec::with_capacity(finished.len());
    let mut services = Vec::with_capacity(finished.len());
    for (_, row, piece, s) in finished {
        rows.push(row);
        pieces.push(piece);
        services.push(s);
    }
    let report = assess::assemble(&context, previous_run, services, images, fetch_errors);
    Ok(Ran {
        report,
        body: Body {
            format: input.format,
            rows,
            spill,
            pieces,
        },
    })
}

/// A run that could not be recorded or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// The history.
    #[error(transparent)]
    History(#[from] history::HistoryError),
    /// The temporary file the report's parts are kept in.
    #[error("cannot keep the report's parts in a temporary file")]
    Spill(#[source] std::io::Error),
}

/// `--shard K/N` as given: `K` may be `index` (from `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardArg {
    /// 1-based; `None`: from the environment.
    index: Option<u32>,
    count: u32,
}

impl std::str::FromStr for ShardArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid shard `{s}`: use K/N with 1 ≤ K ≤ N (e.g. 2/10), or index/N");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        let index = match k.trim() {
            "index" => None,
            k => Some(k.parse::<u32>().map_err(|_| bad())?),
        };
        if count == 0 || index.is_some_and(|k| k == 0 || k > count) {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl ShardArg {
    /// The shard, `index/N` resolved from `JOB_COMPLETION_INDEX` (0-based) in `env`.
    pub(crate) fn resolve(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let index = match self.index {
            Some(k) => k,
            None => {
                let raw = env("JOB_COMPLETION_INDEX").ok_or(
                    "--shard index/N takes the shard from JOB_COMPLETION_INDEX, which is not set (not a Kubernetes Indexed Job?)",
                )?;
                let i: u32 = raw.trim().parse().map_err(|_| {
                    format!(
                        "JOB_COMPLETION_INDEX `{}` is not a number",
                        crate::limits::shorten(&raw)
                    )
                })?;
                if i >= self.count {
                    return Err(format!(
                        "JOB_COMPLETION_INDEX {i} is not below the shard count {}",
                        self.count
                    ));
                }
                i + 1
            }
        };
        Ok(Shard {
            index,
            count: self.count,
        })
    }
}

/// Shard `index` of `count` (1-based): the services whose name hashes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Whether `service` is this shard's. Stable across runs, machines and versions (the first
    /// 8 bytes of the name's SHA-256), so every service is in exactly one shard.
    pub(crate) fn owns(&self, service: &str) -> bool {
        let hex = crate::digest::sha256(service.as_bytes());
        let hex = hex.trim_start_matches("sha256:");
        let h = u64::from_str_radix(&hex[..16], 16).unwrap_or(0);
        h % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A random run id (a UUID, version 4), for the heartbeat's `rid`.
pub(crate) fn run_uuid() -> String {
    let mut b = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    if read.is_err() {
        // No /dev/urandom: the hasher's per-process random keys and the clock.
        use std::hash::{BuildHasher, Hasher};
        for (i, chunk) in b.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default(),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The fleet's latest run (every shard of it) as a report, from the history alone: each
/// watched reference as that run observed it, assessed as it was then (drift, findings), the
/// alarm when that run is older than `expect_every`. Rollback targets are listed unchecked:
/// nothing is fetched. `None`: no finished run yet.
pub(crate) async fn from_history(
    input: &RunInput<'_>,
    history: &History,
) -> Result<Option<FleetReport>, history::HistoryError> {
    let Some((group, runs)) = history.latest_group().await? else {
        return Ok(None);
    };
    let mut observed = assess::Observed {
        previous_run: runs.first().cloned(),
        ..Default::default()
    };
    for s in &input.fleet.services {
        for (role, _) in &s.images {
            let key = (s.name.clone(), role.clone());
            let Some((run_id, o)) = history.in_group(&group, &s.name, role).await? else {
                observed.images.insert(
                    key,
                    Err(format!(
                        "not observed by run `{group}` (its shard did not record it)"
                    )),
                );
                continue;
            };
            let prev = history.previous(&s.name, role, run_id).await?;
            if s.sbom {
                for d in o.digest.iter().chain(prev.iter().flat_map(|p| &p.digest)) {
                    if let Some(p) = history.packages(d).await? {
                        if Some(d) == o.digest.as_ref() {
                            observed.packages.insert(key.clone(), p.clone());
                        }
                        observed
                            .recorded_packages
                            .insert((s.name.clone(), role.clone(), d.clone()), p);
                    }
                }
            }
            if let Some(prev) = prev {
                observed.previous.insert(key.clone(), prev);
            }
            let image = match (&o.error, &o.digest) {
                (Some(e), _) => Err(e.clone()),
                (None, Some(d)) => Ok(crate::image::Image {
                    origin: crate::image::Origin {
                        reference: o.reference.clone(),
                        transport: crate::image::Transport::Registry,
                        digest: Some(d.clone()),
                        index_digest: None,
                        config_digest: d.clone(),
                        platform: o.platform.clone().unwrap_or_default(),
                    },
                    layers: Vec::new(),
                    metadata: o.snapshot.map(|s| s.metadata).unwrap_or_default(),
                }),
                (None, None) => Err("recorded without a digest".into()),
            };
            observed.images.insert(key, image);
        }
        let Some((first_role, _)) = s.images.first() else {
            continue;
        };
        let current = observed
            .images
            .get(&(s.name.clone(), first_role.clone()))
            .and_then(|i| i.as_ref().ok())
            .map(crate::image::Image::digest);
        let ran: Vec<String> = history
            .digests(&s.name, first_role, input.fleet.rollback_targets + 1)
            .await?
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        let targets = assess::rollback_targets(
            &s.last_good,
            &ran,
            current.as_deref(),
            input.fleet.rollback_targets,
        );
        let reference = s
            .images
            .first()
            .map(|(_, r)| r.to_string())
            .unwrap_or_default();
        let repo = reference
            .split_once('@')
            .map(|(r, _)| r)
            .unwrap_or(&reference)
            .rsplit_once(':')
            .filter(|(_, tag)| !tag.contains('/'))
            .map_or(reference.as_str(), |(r, _)| r)
            .to_string();
        observed.rollback.insert(
            s.name.clone(),
            targets
                .into_iter()
                .map(|(d, origin)| crate::report::fleet::RollbackTarget {
                    reference: format!("{repo}@{d}"),
                    origin,
                    status: crate::report::fleet::TargetStatus::Unknown,
                    error: Some("not checked: rendered from the history".into()),
                })
                .collect(),
        );
    }
    let context = input.context();
    let mut report = assess::assess(&context, observed).report;
    for s in &mut report.services {
        s.timeline = assess::timeline(&history.timeline(&s.name).await?);
    }
    Ok(Some(report))
}

/// `24h`, `90m`, `1d`, `3600s`, `1d12h` → seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        // Checked: `94368760191893771d` is an error, not a wrap-around to two minutes.
        let unit = match c {
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !num.is_empty() {
        return None;
    }
    (total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fleet::human_duration;

    #[test]
    fn shards_are_disjoint_complete_and_stable() {
        let names: Vec<String> = (0..1000).map(|i| format!("service-{i}")).collect();
        let env = |_: &str| None;
        let shards: Vec<Shard> = (1..=7)
            .map(|k| {
                format!("{k}/7")
                    .parse::<ShardArg>()
                    .unwrap()
                    .resolve(&env)
                    .unwrap()
            })
            .collect();
        let mut sizes = Vec::new();
        for n in &names {
            assert_eq!(shards.iter().filter(|s| s.owns(n)).count(), 1, "{n}");
        }
        for s in &shards {
            sizes.push(names.iter().filter(|n| s.owns(n)).count());
        }
        assert!(sizes.iter().all(|&n| n > 100), "balanced: {sizes:?}");
        // Stable: the same name, the same shard, on every machine and version.
        let owner = shards.iter().position(|s| s.owns("checkout")).unwrap();
        assert_eq!(owner + 1, 7, "sha256(checkout) decides");
        let from_index = "index/7"
            .parse::<ShardArg>()
            .unwrap()
            .resolve(&|k| (k == "JOB_COMPLETION_INDEX").then(|| "3".to_string()))
            .unwrap();
        assert_eq!(from_index.to_string(), "4/7");
        for bad in ["0/3", "4/3", "1/0", "x/3", "3"] {
            assert!(bad.parse::<ShardArg>().is_err(), "{bad}");
        }
        assert!(
            "index/3"
                .parse::<ShardArg>()
                .unwrap()
                .resolve(&env)
                .is_err()
        );
    }

    #[test]
    fn run_uuids_are_v4() {
        let a = run_uuid();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, run_uuid());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(
            parse_duration("94368760191893771d"),
            None,
            "overflow is an error"
        );
        assert_eq!(parse_duration("9223372036854775807s1s"), None);
        assert_eq!(parse_duration("1d12h"), Some(129_600));
        assert_eq!(parse_duration("90m"), Some(5400));
        assert_eq!(parse_duration("24"), None);
        assert_eq!(parse_duration("1w"), None);
        assert_eq!(human_duration(90_061), "1d 1h 1m");
        assert_eq!(human_duration(30), "30s");
        assert_eq!(human_duration(60), "1m");
    }
}
