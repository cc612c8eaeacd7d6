//! libjvm's `calc` package: user-fixed regions from `JAVA_TOOL_OPTIONS`, the region arithmetic,
//! and the three failure checks with libjvm's exact messages.
//!
//! Line references are to libjvm v1.43.1 (`b49cf30`), identical to v1.42.0 and to main `53eac90`.
//! All arithmetic is `i64` and wraps like Go's on overflow; realistic inputs never get near that.
//!
//! One file on purpose (over 600 lines): it mirrors libjvm's `calc/calculator.go` and
//! `calc/*_region.go` section by section, so a reviewer can hold the two side by side.

use std::fmt;

use serde::Serialize;

use super::go::{self, ShellwordsError};
use super::size::{MIB, Size, match_size};

/// Bytes of metaspace per loaded class (`calc/calculator.go` L24, `ClassSize`).
pub const CLASS_SIZE: i64 = 5_800;
/// Fixed metaspace overhead in bytes (`calc/calculator.go` L25, `ClassOverhead`).
pub const CLASS_OVERHEAD: i64 = 14_000_000;
/// Default `-XX:MaxDirectMemorySize` (`calc/direct_memory.go` L26).
pub const DEFAULT_DIRECT_MEMORY: i64 = 10 * MIB;
/// Default `-XX:ReservedCodeCacheSize` (`calc/reserved_code_cache.go` L26).
pub const DEFAULT_RESERVED_CODE_CACHE: i64 = 240 * MIB;
/// Default `-Xss`, per thread (`calc/stack.go` L26).
pub const DEFAULT_STACK: i64 = MIB;

/// One of the five JVM memory regions libjvm sizes, in libjvm's output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    /// `-XX:MaxDirectMemorySize`
    DirectMemory,
    /// `-Xmx`
    Heap,
    /// `-XX:MaxMetaspaceSize`
    Metaspace,
    /// `-XX:ReservedCodeCacheSize`
    ReservedCodeCache,
    /// `-Xss` (per thread)
    Stack,
}

impl RegionKind {
    /// This region's value among one value per region: direct memory, heap and metaspace,
    /// then reserved code cache and stack (the field order of the structs holding them).
    fn of<T>(self, [direct, heap, metaspace]: [T; 3], code_cache: T, stack: T) -> T {
        match self {
            Self::DirectMemory => direct,
            Self::Heap => heap,
            Self::Metaspace => metaspace,
            Self::ReservedCodeCache => code_cache,
            Self::Stack => stack,
        }
    }

    /// All regions in the order libjvm appends their flags (`helper/memory_calculator.go`
    /// L175–L190).
    pub const ALL: [RegionKind; 5] = [
        RegionKind::DirectMemory,
        RegionKind::Heap,
        RegionKind::Metaspace,
        RegionKind::ReservedCodeCache,
        RegionKind::Stack,
    ];

    /// The flag text before the size, e.g. `-XX:MaxDirectMemorySize=`.
    pub fn flag_prefix(self) -> &'static str {
        match self {
            RegionKind::DirectMemory => "-XX:MaxDirectMemorySize=",
            RegionKind::Heap => "-Xmx",
            RegionKind::Metaspace => "-XX:MaxMetaspaceSize=",
            RegionKind::ReservedCodeCache => "-XX:ReservedCodeCacheSize=",
            RegionKind::Stack => "-Xss",
        }
    }

    /// The name libjvm uses in parse errors (`unable to parse reserved code cache`).
    pub fn name(self) -> &'static str {
        match self {
            RegionKind::DirectMemory => "direct memory",
            RegionKind::Heap => "heap",
            RegionKind::Metaspace => "metaspace",
            RegionKind::ReservedCodeCache => "reserved code cache",
            RegionKind::Stack => "stack",
        }
    }

    /// The flag for a size, printed like libjvm (`-XX:MaxMetaspaceSize=120382K`).
    pub fn flag(self, size: Size) -> String {
        format!("{}{size}", self.flag_prefix())
    }

    /// The regex libjvm matches flags against, as its `String()` appears in errors,
    /// e.g. `^-Xmx(([\d]+)([kmgtKMGT]?))$`.
    pub fn pattern(self) -> String {
        format!(r"^{}(([\d]+)([kmgtKMGT]?))$", self.flag_prefix())
    }

    /// The size if `token` fully matches this region's pattern as it stands (no trimming).
    fn parse_exact(self, token: &str) -> Option<Result<Size, String>> {
        let rest = token.strip_prefix(self.flag_prefix())?;
        let (digits, multiplier) = match_size(rest)?;
        Some(match digits.parse::<i64>() {
            Ok(n) => Ok(Size(n.wrapping_mul(multiplier))),
            Err(_) => Err(digits.to_owned()),
        })
    }
}

/// Where a region's size came from (`calc.Provenance`, `calc/size.go` L26–L32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// libjvm's constant default (direct memory, code cache, stack).
    Default,
    /// A flag in `JAVA_TOOL_OPTIONS` (after `JAVA_OPTS` was appended); libjvm does not re-emit it.
    UserConfigured,
    /// Computed from class count, total memory and head room (metaspace, heap, head room).
    Calculated,
}

/// A region's size and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Region {
    /// Bytes.
    pub size: Size,
    /// Default, user-configured or calculated.
    pub provenance: Provenance,
}

/// Why `JAVA_TOOL_OPTIONS` could not be turned into regions. `Display` is the libjvm error chain
/// below `unable to create memory regions from flags` (`calc/memory_regions.go` L42–L78).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagsError {
    /// go-shellwords rejected the string (unterminated quote, stray `(`…).
    #[error("unable to parse flags\n{0}")]
    Shellwords(ShellwordsError),
    /// A token matched a region's pattern only after trimming (a quoted `"-Xmx1g "`): libjvm's
    /// `MatchX` trims but `ParseX` does not, so it fails.
    #[error("unable to parse {}\n{token} does not match {} pattern {}", .kind.name(), .kind.name(), .kind.pattern())]
    Mismatch {
        /// The region.
        kind: RegionKind,
        /// The token as shellwords returned it.
        token: String,
    },
    /// The digits of a region flag do not fit an `int64`.
    #[error("unable to parse {}\nunable to parse {} size\nmemory size {} is not an integer", .kind.name(), .kind.name(), go::quote(.digits))]
    NotInteger {
        /// The region.
        kind: RegionKind,
        /// The digits.
        digits: String,
    },
}

/// The regions a user fixed with flags (`calc.NewMemoryRegionsFromFlags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UserFlags {
    /// `-XX:MaxDirectMemorySize=…`
    pub direct_memory: Option<Size>,
    /// `-Xmx…`
    pub heap: Option<Size>,
    /// `-XX:MaxMetaspaceSize=…`
    pub metaspace: Option<Size>,
    /// `-XX:ReservedCodeCacheSize=…`
    pub reserved_code_cache: Option<Size>,
    /// `-Xss…`
    pub stack: Option<Size>,
}

impl UserFlags {
    /// Reads user-fixed regions from a `JAVA_TOOL_OPTIONS` value like libjvm
    /// (`calc/memory_regions.go` L35–L82): split with go-shellwords, each token *trimmed* and
    /// matched in full against `^-XX:MaxDirectMemorySize=(\d+)([kmgtKMGT]?)$`, `^-Xmx…$`,
    /// `^-XX:MaxMetaspaceSize=…$`, `^-XX:ReservedCodeCacheSize=…$`, `^-Xss…$`. The last
    /// occurrence wins; everything else (`-Xms512m`, `-Xmx512MB`, `-XX:MaxRAMPercentage=75`) is
    /// ignored.
    pub fn parse(flags: &str) -> Result<UserFlags, FlagsError> {
        let mut user = UserFlags::default();
        for token in go::shellwords(flags).map_err(FlagsError::Shellwords)? {
            let trimmed = token.trim();
            let Some(kind) = RegionKind::ALL
                .into_iter()
                .find(|k| k.parse_exact(trimmed).is_some())
            else {
                continue;
            };
            // The match was on the trimmed token; the parse is on the token itself
            // (e.g. `calc/heap.go` L33–L41), so surrounding white space is an error.
            let size = match kind.parse_exact(&token) {
                None => return Err(FlagsError::Mismatch { kind, token }),
                Some(Err(digits)) => return Err(FlagsError::NotInteger { kind, digits }),
                Some(Ok(size)) => size,
            };
            *user.slot(kind) = Some(size);
        }
        Ok(user)
    }

    /// The user's size for a region.
    pub fn get(&self, kind: RegionKind) -> Option<Size> {
        let all = [self.direct_memory, self.heap, self.metaspace];
        kind.of(all, self.reserved_code_cache, self.stack)
    }

    fn slot(&mut self, kind: RegionKind) -> &mut Option<Size> {
        match kind {
            RegionKind::DirectMemory => &mut self.direct_memory,
            RegionKind::Heap => &mut self.heap,
            RegionKind::Metaspace => &mut self.metaspace,
            RegionKind::ReservedCodeCache => &mut self.reserved_code_cache,
            RegionKind::Stack => &mut self.stack,
        }
    }
}

/// Why the calculation failed. `Display` is exactly the message libjvm's `Calculate` returns
/// (`calc/calculator.go` L35–L96); the helper prefixes it with
/// `unable to calculate memory configuration\n` ([`CalcError::helper_message`]).
///
/// The checks run in libjvm's order: fixed regions, then non-heap (fixed + head room), then all
/// regions (non-heap + a user `-Xmx`); the first that fails is reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    /// `JAVA_TOOL_OPTIONS` could not be parsed into regions.
    #[error("unable to create memory regions from flags\n{0}")]
    Flags(FlagsError),
    /// Direct memory + metaspace + code cache + stack × threads exceed the total
    /// (`calc/calculator.go` L53–L57).
    #[error(
        "fixed memory regions require {required} which is greater than {available} available for allocation: {regions}"
    )]
    FixedRegions {
        /// Fixed regions in bytes.
        required: Size,
        /// Total memory.
        available: Size,
        /// `-XX:MaxDirectMemorySize=10M, -XX:MaxMetaspaceSize=…, -XX:ReservedCodeCacheSize=240M, -Xss1M * 250 threads`
        regions: String,
    },
    /// Fixed regions + head room exceed the total (`calc/calculator.go` L70–L75).
    #[error(
        "non-heap memory regions require {required} which is greater than {available} available for allocation: {regions}"
    )]
    NonHeapRegions {
        /// Non-heap regions in bytes.
        required: Size,
        /// Total memory.
        available: Size,
        /// `<head room> headroom, ` followed by the fixed regions.
        regions: String,
    },
    /// Non-heap + the user's `-Xmx` exceed the total (`calc/calculator.go` L89–L93).
    #[error(
        "all memory regions require {required} which is greater than {available} available for allocation: {regions}"
    )]
    AllRegions {
        /// All regions in bytes.
        required: Size,
        /// Total memory.
        available: Size,
        /// `-Xmx…, <head room> headroom, ` followed by the fixed regions.
        regions: String,
    },
}

impl CalcError {
    /// The error as the memory-calculator helper returns it (`helper/memory_calculator.go` L172).
    pub fn helper_message(&self) -> String {
        format!("unable to calculate memory configuration\n{self}")
    }

    /// Bytes missing for the failed check to pass, if it was a size check.
    pub fn shortfall(&self) -> Option<i64> {
        match self {
            CalcError::Flags(_) => None,
            CalcError::FixedRegions {
                required,
                available,
                ..
            }
            | CalcError::NonHeapRegions {
                required,
                available,
                ..
            }
            | CalcError::AllRegions {
                required,
                available,
                ..
            } => Some(required.0.wrapping_sub(available.0)),
        }
    }
}

/// libjvm's `calc.Calculator`: the numbers the helper hands to `Calculate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Calculator {
    /// Head room in percent of the total.
    pub head_room: i64,
    /// Loaded classes (drives metaspace).
    pub loaded_class_count: i64,
    /// Threads (multiplies the stack size).
    pub thread_count: i64,
    /// Total memory in bytes, after the helper's 1G default and 64T cap.
    pub total_memory: i64,
}

/// A successful calculation: every region and the inputs that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Calculation {
    /// Total memory the regions were fitted into.
    pub total_memory: Size,
    /// Threads.
    pub thread_count: i64,
    /// Loaded classes.
    pub loaded_class_count: i64,
    /// Head room percentage.
    pub head_room_percent: i64,
    /// Head room in bytes.
    pub head_room: Size,
    /// `-XX:MaxDirectMemorySize`
    pub direct_memory: Region,
    /// `-Xmx`
    pub heap: Region,
    /// `-XX:MaxMetaspaceSize`
    pub metaspace: Region,
    /// `-XX:ReservedCodeCacheSize`
    pub reserved_code_cache: Region,
    /// `-Xss`
    pub stack: Region,
}

impl Calculator {
    /// libjvm's `Calculator.Calculate(flags)` (`calc/calculator.go` L35–L96); `flags` is the
    /// `JAVA_TOOL_OPTIONS` value the helper sees.
    pub fn calculate(&self, flags: &str) -> Result<Calculation, CalcError> {
        let user = UserFlags::parse(flags).map_err(CalcError::Flags)?;
        let region = |kind: RegionKind, default: i64| match user.get(kind) {
            Some(size) => Region {
                size,
                provenance: Provenance::UserConfigured,
            },
            None => Region {
                size: Size(default),
                provenance: Provenance::Default,
            },
        };
        let direct_memory = region(RegionKind::DirectMemory, DEFAULT_DIRECT_MEMORY);
        let reserved_code_cache =
            region(RegionKind::ReservedCodeCache, DEFAULT_RESERVED_CODE_CACHE);
        let stack = region(RegionKind::Stack, DEFAULT_STACK);
        // L41–L46: metaspace is calculated only when the user did not fix it.
        let metaspace = match user.metaspace {
            Some(size) => Region {
                size,
                provenance: Provenance::UserConfigured,
            },
            None => Region {
                size: Size(
                    CLASS_OVERHEAD.wrapping_add(CLASS_SIZE.wrapping_mul(self.loaded_class_count)),
                ),
                provenance: Provenance::Calculated,
            },
        };
        let total = Size(self.total_memory);
        let fixed_string = fixed_regions_string(
            direct_memory.size,
            metaspace.size,
            reserved_code_cache.size,
            stack.size,
            self.thread_count,
        );

        // memory_regions.go L117.
        let fixed = direct_memory
            .size
            .0
            .wrapping_add(metaspace.size.0)
            .wrapping_add(reserved_code_cache.size.0)
            .wrapping_add(stack.size.0.wrapping_mul(self.thread_count));
        if fixed > total.0 {
            return Err(CalcError::FixedRegions {
                required: Size(fixed),
                available: total,
                regions: fixed_string,
            });
        }

        // L60–L63: float64 percentage of float64 total, truncated by the int64 conversion.
        let head_room = Size(((self.head_room as f64 / 100.0) * total.0 as f64) as i64);
        let non_heap = fixed.wrapping_add(head_room.0);
        let non_heap_string = format!("{head_room} headroom, {fixed_string}");
        if non_heap > total.0 {
            return Err(CalcError::NonHeapRegions {
                required: Size(non_heap),
                available: total,
                regions: non_heap_string,
            });
        }

        // L77–L82: the heap is whatever is left unless the user fixed it. There is no minimum.
        let heap = match user.heap {
            Some(size) => Region {
                size,
                provenance: Provenance::UserConfigured,
            },
            None => Region {
                size: Size(total.0.wrapping_sub(non_heap)),
                provenance: Provenance::Calculated,
            },
        };
        let all = non_heap.wrapping_add(heap.size.0);
        if all > total.0 {
            return Err(CalcError::AllRegions {
                required: Size(all),
                available: total,
                regions: format!("{}, {non_heap_string}", RegionKind::Heap.flag(heap.size)),
            });
        }

        Ok(Calculation {
            total_memory: total,
            thread_count: self.thread_count,
            loaded_class_count: self.loaded_class_count,
            head_room_percent: self.head_room,
            head_room,
            direct_memory,
            heap,
            metaspace,
            reserved_code_cache,
            stack,
        })
    }
}

/// `MemoryRegions.FixedRegionsString` (`calc/memory_regions.go` L122–L133).
fn fixed_regions_string(
    direct: Size,
    metaspace: Size,
    code_cache: Size,
    stack: Size,
    threads: i64,
) -> String {
    format!(
        "{}, {}, {}, {} * {threads} threads",
        RegionKind::DirectMemory.flag(direct),
        RegionKind::Metaspace.flag(metaspace),
        RegionKind::ReservedCodeCache.flag(code_cache),
        RegionKind::Stack.flag(stack),
    )
}

impl Calculation {
    /// A region by kind.
    pub fn region(&self, kind: RegionKind) -> Region {
        let all = [self.direct_memory, self.heap, self.metaspace];
        kind.of(all, self.reserved_code_cache, self.stack)
    }

    /// All five regions in libjvm's order.
    pub fn regions(&self) -> [(RegionKind, Region); 5] {
        RegionKind::ALL.map(|k| (k, self.region(k)))
    }

    /// Bytes of the fixed regions: direct + metaspace + code cache + stack × threads.
    pub fn fixed(&self) -> Size {
        Size(
            self.direct_memory
                .size
                .0
                .wrapping_add(self.metaspace.size.0)
                .wrapping_add(self.reserved_code_cache.size.0)
                .wrapping_add(self.stack.size.0.wrapping_mul(self.thread_count)),
        )
    }

    /// The flags libjvm appends: every region the user did not fix, in libjvm's order
    /// (`helper/memory_calculator.go` L175–L190).
    pub fn calculated_flags(&self) -> Vec<String> {
        self.regions()
            .into_iter()
            .filter(|(_, r)| r.provenance != Provenance::UserConfigured)
            .map(|(k, r)| k.flag(r.size))
            .collect()
    }

    /// [`Calculation::calculated_flags`] joined with spaces, e.g.
    /// `-XX:MaxDirectMemorySize=10M -Xmx522705K -XX:MaxMetaspaceSize=13870K -XX:ReservedCodeCacheSize=240M -Xss1M`.
    pub fn flags(&self) -> String {
        self.calculated_flags().join(" ")
    }

    /// All five regions as flags, user-fixed ones included, in libjvm's order.
    pub fn all_flags(&self) -> String {
        self.regions()
            .into_iter()
            .map(|(k, r)| k.flag(r.size))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `JAVA_TOOL_OPTIONS` the helper exports: the value it saw (if the variable was set,
    /// even to `""`) then the calculated flags, joined with single spaces (L191–L196).
    pub fn java_tool_options(&self, existing: Option<&str>) -> String {
        let mut values: Vec<String> = existing.map(str::to_owned).into_iter().collect();
        values.extend(self.calculated_flags());
        values.join(" ")
    }

    /// The helper's log line (L193–L194):
    /// `Calculated JVM Memory Configuration: … (Total Memory: 1G, Thread Count: 250, Loaded Class Count: 35, Headroom: 0%)`.
    pub fn log_line(&self) -> String {
        format!(
            "Calculated JVM Memory Configuration: {} (Total Memory: {}, Thread Count: {}, Loaded Class Count: {}, Headroom: {}%)",
            self.flags(),
            self.total_memory,
            self.thread_count,
            self.loaded_class_count,
            self.head_room_percent
        )
    }
}

impl fmt::Display for Calculation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.flags())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::size::{GIB, KIB};

    fn calc(head_room: i64, loaded: i64, threads: i64, total: i64) -> Calculator {
        Calculator {
            head_room,
            loaded_class_count: loaded,
            thread_count: threads,
            total_memory: total,
        }
    }

    /// libjvm v1.43.1 `calc/calculator_test.go`, every case.
    #[test]
    fn libjvm_calculator_tests() {
        let m = calc(0, 100, 2, GIB).calculate("").unwrap();
        assert_eq!(m.metaspace.size, Size(14_580_000));
        assert_eq!(m.metaspace.provenance, Provenance::Calculated);

        assert_eq!(
            calc(0, 100, 2, KIB).calculate("").unwrap_err().to_string(),
            "fixed memory regions require 272286K which is greater than 1K available for allocation: -XX:MaxDirectMemorySize=10M, -XX:MaxMetaspaceSize=14238K, -XX:ReservedCodeCacheSize=240M, -Xss1M * 2 threads"
        );

        let m = calc(1, 100, 2, GIB).calculate("").unwrap();
        assert_eq!(m.head_room, Size((0.01 * GIB as f64) as i64));

        assert_eq!(
            calc(1, 100, 2, 272_287 * KIB)
                .calculate("")
                .unwrap_err()
                .to_string(),
            "non-heap memory regions require 275009K which is greater than 272287K available for allocation: 2722K headroom, -XX:MaxDirectMemorySize=10M, -XX:MaxMetaspaceSize=14238K, -XX:ReservedCodeCacheSize=240M, -Xss1M * 2 threads"
        );

        let m = calc(0, 100, 2, GIB).calculate("").unwrap();
        assert_eq!(m.heap.size, Size(794_920_672));

        assert_eq!(
            calc(0, 100, 2, 272_287 * KIB)
                .calculate("-Xmx1M")
                .unwrap_err()
                .to_string(),
            "all memory regions require 273310K which is greater than 272287K available for allocation: -Xmx1M, 0 headroom, -XX:MaxDirectMemorySize=10M, -XX:MaxMetaspaceSize=14238K, -XX:ReservedCodeCacheSize=240M, -Xss1M * 2 threads"
        );
    }

    /// libjvm v1.43.1 `calc/memory_regions_test.go` "NewMemoryRegionsFromFlags".
    #[test]
    fn libjvm_memory_regions_from_flags() {
        assert_eq!(UserFlags::parse(""), Ok(UserFlags::default()));
        let k = Some(Size(KIB));
        assert_eq!(
            UserFlags::parse(
                "-XX:MaxDirectMemorySize=1K -Xmx1K -XX:MaxMetaspaceSize=1K -XX:ReservedCodeCacheSize=1K -Xss1K"
            ),
            Ok(UserFlags {
                direct_memory: k,
                heap: k,
                metaspace: k,
                reserved_code_cache: k,
                stack: k,
            })
        );
    }

    #[test]
    fn flags_need_a_full_match_and_the_last_one_wins() {
        let u = UserFlags::parse(
            "-Xms512m -Xmx512MB -XX:MaxRAMPercentage=75 -Xss512k -Xss2m -XX:MaxMetaspaceSize=200M \
             -Xmx300m -XX:MaxDirectMemorySize=1g -XX:ReservedCodeCacheSize=64m -Xmx -Xss1 -Xss=1M",
        )
        .unwrap();
        assert_eq!(
            u,
            UserFlags {
                direct_memory: Some(Size(GIB)),
                heap: Some(Size(300 * MIB)),
                metaspace: Some(Size(200 * MIB)),
                reserved_code_cache: Some(Size(64 * MIB)),
                stack: Some(Size(1)),
            }
        );
        // Trimmed for the match but not for the parse: a quoted token with a trailing space is
        // a heap flag that then fails to parse.
        assert_eq!(
            UserFlags::parse("-Da=1 \"-Xmx1g \"")
                .unwrap_err()
                .to_string(),
            "unable to parse heap\n-Xmx1g  does not match heap pattern ^-Xmx(([\\d]+)([kmgtKMGT]?))$"
        );
        assert_eq!(
            UserFlags::parse("-Xss99999999999999999999k")
                .unwrap_err()
                .to_string(),
            "unable to parse stack\nunable to parse stack size\nmemory size \"99999999999999999999\" is not an integer"
        );
        assert_eq!(
            UserFlags::parse("-Da='x").unwrap_err().to_string(),
            "unable to parse flags\ninvalid command line string"
        );
        // Flags after an unquoted `|` are never seen.
        assert_eq!(UserFlags::parse("-Da=b|c -Xmx1G"), Ok(UserFlags::default()));
    }

    #[test]
    fn calc_error_wraps_like_the_helper() {
        let e = calc(0, 0, 1, GIB).calculate("\"").unwrap_err();
        assert_eq!(
            e.helper_message(),
            "unable to calculate memory configuration\nunable to create memory regions from flags\nunable to parse flags\ninvalid command line string"
        );
        assert_eq!(e.shortfall(), None);
        let e = calc(0, 18_840, 250, 616_300 * KIB)
            .calculate("")
            .unwrap_err();
        assert_eq!(e.shortfall(), Some(16_468_800));
    }

    #[test]
    fn user_fixed_regions_are_not_re_emitted() {
        let m = calc(0, 35, 250, GIB)
            .calculate("-XX:MaxDirectMemorySize=10M -Xmx522705K -XX:MaxMetaspaceSize=13870K -XX:ReservedCodeCacheSize=240M -Xss1M")
            .unwrap();
        assert_eq!(m.flags(), "");
        assert_eq!(
            m.all_flags(),
            "-XX:MaxDirectMemorySize=10M -Xmx522705K -XX:MaxMetaspaceSize=13870K -XX:ReservedCodeCacheSize=240M -Xss1M"
        );
        let m = calc(0, 35, 250, GIB).calculate("-Xss512k").unwrap();
        assert_eq!(
            m.flags(),
            "-XX:MaxDirectMemorySize=10M -Xmx650705K -XX:MaxMetaspaceSize=13870K -XX:ReservedCodeCacheSize=240M"
        );
        assert_eq!(m.stack.provenance, Provenance::UserConfigured);
        assert_eq!(m.direct_memory.provenance, Provenance::Default);
        assert_eq!(
            m.java_tool_options(Some("-Xss512k")),
            "-Xss512k -XX:MaxDirectMemorySize=10M -Xmx650705K -XX:MaxMetaspaceSize=13870K -XX:ReservedCodeCacheSize=240M"
        );
        assert_eq!(
            m.log_line(),
            "Calculated JVM Memory Configuration: -XX:MaxDirectMemorySize=10M -Xmx650705K -XX:MaxMetaspaceSize=13870K -XX:ReservedCodeCacheSize=240M (Total Memory: 1G, Thread Count: 250, Loaded Class Count: 35, Headroom: 0%)"
        );
    }
}
