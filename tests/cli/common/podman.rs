//! A real Podman service speaking the Docker Engine API on a Unix socket in a temporary
//! directory (its own `--root`/`--runroot`, vfs storage: no privileges beyond root, no systemd),
//! loaded with images from the testdata layout by `podman pull oci:…` and `podman tag`.
//!
//! One service per test run ([`shared`]): starting it takes a fraction of a second, but pulling
//! a 20-layer image into vfs storage takes seconds. A static is never dropped, so the service is
//! started by a shell that also waits on a pipe from this process: when the test binary exits,
//! however it exits, the pipe closes and the shell stops the service and removes its storage.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Names the shared service's images are tagged with, and the testdata tags they come from.
pub const IMAGES: &[(&str, &str)] = &[
    ("incident-good", "example.com/app:good"),
    ("incident-bad", "example.com/app:bad"),
    ("jvm-incident", "example.com/jvm:incident"),
];

pub struct Podman {
    child: Child,
    /// Held open: its closing (a drop, or this process ending) stops the service.
    lifeline: Option<ChildStdin>,
    dir: PathBuf,
    /// The Unix socket (of the shared service, for a TCP one).
    pub socket: PathBuf,
    /// The loopback port of a TCP service.
    port: Option<u16>,
    /// Its log file in `dir`.
    log: String,
}

/// The service of this test run, started and loaded with [`IMAGES`] on first use.
pub fn shared() -> &'static Podman {
    static PODMAN: OnceLock<Podman> = OnceLock::new();
    PODMAN.get_or_init(|| {
        let p = Podman::start();
        for (tag, name) in IMAGES {
            p.load(tag, name);
        }
        p
    })
}

impl Podman {
    /// `podman system service` on `DIR/podman.sock`; returns once the socket answers.
    pub fn start() -> Self {
        // Not a TempDir: the shell removes it after the service stops (a static is not dropped).
        let dir = tempfile::Builder::new()
            .prefix("bpdrift-podman-")
            .tempdir()
            .expect("podman dir")
            .keep();
        let socket = dir.join("podman.sock");
        let listen = format!("unix://{}", socket.display());
        let cleanup = format!("rm -rf {}", dir.display());
        Self::spawn(dir, socket, None, &listen, &cleanup)
    }

    /// A second service on this one's storage (so with its images), on `tcp://127.0.0.1:PORT`:
    /// what `DOCKER_HOST=tcp://…` reaches. Stopped on drop; the storage stays with `self`.
    pub fn start_tcp(&self) -> Self {
        let port = crate::common::free_port();
        let listen = format!("tcp://127.0.0.1:{port}");
        Self::spawn(
            self.dir.clone(),
            self.socket.clone(),
            Some(port),
            &listen,
            "true",
        )
    }

    fn spawn(
        dir: PathBuf,
        socket: PathBuf,
        port: Option<u16>,
        listen: &str,
        cleanup: &str,
    ) -> Self {
        let log_name = format!("service-{}.log", port.unwrap_or(0));
        let log = std::fs::File::create(dir.join(&log_name)).expect("podman log");
        let script = format!(
            "{} system service --time=0 {listen} & pid=$!; read -r _; kill $pid; wait $pid; {cleanup}",
            global_args(&dir).join(" "),
        );
        let mut child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log clone"))
            .stderr(log)
            .spawn()
            .expect("sh");
        let lifeline = child.stdin.take().expect("stdin");
        let p = Self {
            child,
            lifeline: Some(lifeline),
            dir,
            socket,
            port,
            log: log_name,
        };
        p.wait_ready();
        p
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let up = match self.port {
                Some(port) => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
                None => std::os::unix::net::UnixStream::connect(&self.socket).is_ok(),
            };
            if up {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "podman system service did not listen on {} within 30 s (is podman installed? scripts/test.sh installs it); log:\n{}",
            self.host(),
            std::fs::read_to_string(self.dir.join(&self.log)).unwrap_or_default()
        );
    }

    /// `unix://…` (or `tcp://…`) for `DOCKER_HOST` / `CONTAINER_HOST`.
    pub fn host(&self) -> String {
        match self.port {
            Some(port) => format!("tcp://127.0.0.1:{port}"),
            None => format!("unix://{}", self.socket.display()),
        }
    }

    /// Pulls `testdata/images:<tag>` into the service's storage and tags it `name`.
    pub fn load(&self, tag: &str, name: &str) {
        let layout = crate::common::root().join("testdata/images");
        let id = self.podman(&[
            "pull",
            "--quiet",
            &format!("oci:{}:{tag}", layout.display()),
        ]);
        self.podman(&["tag", id.trim(), name]);
    }

    /// Runs the podman CLI on the service's storage; its stdout.
    pub fn podman(&self, args: &[&str]) -> String {
        let argv = global_args(&self.dir);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .args(args)
            .output()
            .expect("podman");
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The image id (config digest) of `name`.
    pub fn id(&self, name: &str) -> String {
        let id = self.podman(&["image", "inspect", "--format", "{{.Id}}", name]);
        format!("sha256:{}", id.trim().trim_start_matches("sha256:"))
    }
}

/// `podman` with this service's storage; no systemd, no cgroups manager, file events.
fn global_args(dir: &Path) -> Vec<String> {
    [
        "podman",
        "--storage-driver",
        "vfs",
        "--root",
        &dir.join("root").display().to_string(),
        "--runroot",
        &dir.join("run").display().to_string(),
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "file",
    ]
    .map(str::to_string)
    .to_vec()
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Closing the lifeline ends the shell's `read`; it stops the service and cleans up.
        self.lifeline.take();
        let _ = self.child.wait();
    }
}
