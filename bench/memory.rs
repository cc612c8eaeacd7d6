//! `bpdrift memory` of a ~300 MB image (`BPDRIFT_BENCH_BIG_MIB` of incompressible data in its
//! JRE layer): layers streamed to a temporary file, verified and scanned, memory bounded.

use std::fmt::Write as _;

use crate::common::Registry;
use crate::common::proxy::Proxy;
use crate::measure::bpdrift;
use crate::seed::seed_big_jvm;
use crate::{env_num, verdict};

pub(crate) fn case(md: &mut String, targets: &mut Vec<String>, reg: &Registry, proxy: &Proxy) {
    // The memory prediction of a ~300 MB image: layers streamed, memory bounded.
    let big_mib = env_num("BPDRIFT_BENCH_BIG_MIB", 290) as usize;
    note!("bench: memory of a {big_mib} MiB-JRE image…");
    let total = seed_big_jvm(&reg.addr, "bench/jvm", big_mib);
    let mem = bpdrift(
        proxy,
        vec![
            "memory".into(),
            "--no-cache".into(),
            "--memory".into(),
            "1G".into(),
            format!("{}/bench/jvm:big", proxy.addr),
        ],
    );
    writeln!(md).unwrap();
    writeln!(md, "`bpdrift memory` of an image of {:.0} MB (compressed; its JRE layer holds {big_mib} MiB of incompressible data, streamed to a temporary file, verified and scanned): {:.2} s, {} requests, peak RSS {:.1} MB.", total as f64 / 1e6, mem.secs, mem.requests, mem.rss_kb as f64 / 1024.0).unwrap();
    targets.push(format!(
        "memory prediction of a {:.0} MB image, peak RSS ≤ 100 MB: {:.1} MB — {}",
        total as f64 / 1e6,
        mem.rss_kb as f64 / 1024.0,
        verdict(mem.rss_kb <= 100 * 1024)
    ));
}
