//! `bpdrift man --out DIR`: roff man pages from the clap model (clap_mangen) — `bpdrift.1` and
//! one `bpdrift-<command>.1` per subcommand (`bpdrift-rules-list.1` for nested ones), as git
//! names its pages.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::Outcome;

/// `bpdrift man`.
#[derive(Debug, Args, Clone)]
pub(crate) struct ManArgs {
    /// The directory to write the pages to (created when missing), e.g.
    /// `~/.local/share/man/man1`.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

/// Writes every page of `cmd` (the whole command line, from `cli`), then their names to `out`,
/// one a line.
pub(crate) fn run(
    args: &ManArgs,
    mut cmd: clap::Command,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create `{}`", args.out.display()))?;
    // The full paths (`bpdrift rules list`) in each page's name and synopsis.
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, "bpdrift", &args.out, &mut written)?;
    for p in written {
        writeln!(out, "{}", p.display())?;
    }
    Ok(Outcome::Clean)
}

fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let page = cmd
        .clone()
        .name(&*Box::leak(name.to_string().into_boxed_str()));
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, roff).with_context(|| format!("cannot write `{}`", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
