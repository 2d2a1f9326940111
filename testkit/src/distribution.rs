//! The CNCF distribution registry (Debian's `docker-registry`) run as a
//! child process on a free loopback port, with filesystem storage in a temp
//! directory and, optionally, htpasswd (basic) authentication. Killed on drop.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "/usr/bin/docker-registry";
const READY_WITHIN: Duration = Duration::from_secs(20);

pub struct Distribution {
    pub addr: String,
    child: Child,
    dir: tempfile::TempDir,
}

/// The binary, or a failure saying how to get it (CI installs it; a silent
/// skip would hide that these tests did not run).
fn binary() -> PathBuf {
    let path = std::env::var_os("STELLA_DOCKER_REGISTRY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(BINARY));
    assert!(
        path.exists(),
        "{} is missing: the registry tests need the CNCF distribution registry; \
         run `apt-get install docker-registry` (or set STELLA_DOCKER_REGISTRY)",
        path.display()
    );
    path
}

impl Distribution {
    /// Starts a registry; with `user` it demands basic auth for that user.
    pub fn start(user: Option<(&str, &str)>) -> Distribution {
        let binary = binary();
        let mut last_error = String::new();
        // The port is picked by binding :0 and released before the registry
        // binds it, so another process may take it in between: retry.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let addr = format!("127.0.0.1:{port}");
            let config = write_config(dir.path(), &addr, user);
            let log = fs::File::create(dir.path().join("registry.log")).expect("log file");
            let child = Command::new(&binary)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                // Keep the registry from reading a host-wide config.
                .env_remove("REGISTRY_CONFIGURATION_PATH")
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut registry = Distribution { addr, child, dir };
            match registry.wait_ready() {
                Ok(()) => return registry,
                Err(e) => last_error = e,
            }
        }
        panic!("docker-registry did not come up: {last_error}");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.log()));
            }
            if let Ok(r) = crate::http::raw_request(&self.addr, "GET", "/v2/", &[]) {
                if r.status == 200 || r.status == 401 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("not ready within {READY_WITHIN:?}: {}", self.log()))
    }

    /// The registry's own log, for failure messages.
    pub fn log(&self) -> String {
        let text = fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

fn write_config(dir: &Path, addr: &str, user: Option<(&str, &str)>) -> PathBuf {
    let data = dir.join("data");
    fs::create_dir_all(&data).expect("storage dir");
    let mut config = format!(
        "version: 0.1\n\
         log:\n  level: warn\n  accesslog:\n    disabled: true\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
         http:\n  addr: {addr}\n",
        data.display()
    );
    if let Some((name, password)) = user {
        let hash = bcrypt::hash_with_result(password, 4)
            .expect("bcrypt")
            .format_for_version(bcrypt::Version::TwoA);
        let htpasswd = dir.join("htpasswd");
        fs::write(&htpasswd, format!("{name}:{hash}\n")).expect("htpasswd");
        config.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: stella-test\n    path: {}\n",
            htpasswd.display()
        ));
    }
    let path = dir.join("config.yml");
    fs::write(&path, config).expect("config");
    path
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
