//! Real servers for the tests: Redis and PostgreSQL on loopback, for the shared-store crates.
//!
//! `cargo xtask test` (and so `ci`) calls [`start`] before running the tests. Missing servers are installed from
//! Debian's packages (`apt-get update` once, then `apt-get install -y`), each server is started on a free
//! loopback port with a data directory of its own under the system temp dir, and its URL is handed to the tests
//! in an environment variable ([`REDIS_URL_VAR`], [`POSTGRES_URL_VAR`]). [`Services`] stops them by PID when
//! dropped, and removes their data.
//!
//! With `CI=true` a server that cannot be installed or started fails the run. Elsewhere the run goes on
//! without it and the tests that need it say loudly that they were skipped.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::Result;

/// The Redis URL the tests read, e.g. `redis://127.0.0.1:40123/`.
pub const REDIS_URL_VAR: &str = "COPILOT_RS_TEST_REDIS_URL";
/// The PostgreSQL URL the tests read, e.g. `postgres://copilot@127.0.0.1:40124/postgres`.
pub const POSTGRES_URL_VAR: &str = "COPILOT_RS_TEST_POSTGRES_URL";

/// How long a server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The unprivileged account PostgreSQL runs as when the Debian `postgres` user does not exist.
const FALLBACK_PG_USER: &str = "copilot-rs-pg";

/// Running servers; stopped (by PID) and cleaned up on drop.
#[derive(Default)]
pub struct Services {
    running: Vec<Running>,
    env: Vec<(&'static str, String)>,
}

struct Running {
    name: &'static str,
    child: Child,
    data_dir: PathBuf,
}

impl Services {
    /// The variables to pass to the test processes.
    pub fn env(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for running in self.running.iter_mut().rev() {
            stop(running);
        }
    }
}

fn stop(running: &mut Running) {
    let pid = running.child.id();
    // SIGTERM first (both servers shut down cleanly on it), SIGKILL if it hangs.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match running.child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = running.child.kill();
                let _ = running.child.wait();
                break;
            }
        }
    }
    eprintln!("xtask: stopped {} (pid {pid})", running.name);
    let _ = fs::remove_dir_all(&running.data_dir);
}

/// Whether this run must have every server (`CI=true`).
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Installs (if needed) and starts Redis and PostgreSQL.
pub fn start() -> Result<Services> {
    let required = required();
    let mut services = Services::default();
    let mut apt = Apt::default();
    let mut failures = Vec::new();

    match start_redis(&mut apt) {
        Ok((running, url)) => {
            eprintln!("xtask: redis-server on {url} (pid {})", running.child.id());
            services.running.push(running);
            services.env.push((REDIS_URL_VAR, url));
        }
        Err(e) => failures.push(format!("Redis: {e}")),
    }
    match start_postgres(&mut apt) {
        Ok((running, url)) => {
            eprintln!("xtask: postgres on {url} (pid {})", running.child.id());
            services.running.push(running);
            services.env.push((POSTGRES_URL_VAR, url));
        }
        Err(e) => failures.push(format!("PostgreSQL: {e}")),
    }

    if failures.is_empty() {
        return Ok(services);
    }
    let list = failures.join("\n  ");
    if required {
        return Err(format!(
            "CI=true and a test server could not start:\n  {list}"
        ));
    }
    eprintln!(
        "\n{bar}\nxtask: WARNING: test servers unavailable; the tests that need them will be SKIPPED:\n  {list}\n\
         (with CI=true this fails the run)\n{bar}\n",
        bar = "!".repeat(100)
    );
    Ok(services)
}

/// `apt-get update` at most once per run.
#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn install(&mut self, packages: &[&str]) -> Result {
        if !Path::new("/usr/bin/apt-get").exists() {
            return Err(format!(
                "{} missing and there is no apt-get to install it",
                packages.join(", ")
            ));
        }
        // Another apt run on the machine holds the lock for a while: wait for it instead of failing.
        let lock_wait = ["-o", "DPkg::Lock::Timeout=300"];
        if !self.updated {
            eprintln!("xtask: apt-get update");
            let status = Command::new("apt-get")
                .args(lock_wait)
                .args(["update", "-qq"])
                .status()
                .map_err(|e| format!("apt-get update: {e}"))?;
            if !status.success() {
                return Err(format!("apt-get update failed with {status}"));
            }
            self.updated = true;
        }
        eprintln!("xtask: apt-get install -y {}", packages.join(" "));
        let status = Command::new("apt-get")
            .args(lock_wait)
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("apt-get install: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "apt-get install {} failed with {status}",
                packages.join(" ")
            ))
        }
    }
}

fn find_program(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    dirs.iter()
        .chain(path_dirs.iter())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn temp_dir(name: &str) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "copilot-rs-{name}-{}-{nanos:09}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Waits until `ready` says yes, failing early if the server exited (with the tail of its log).
fn wait_ready(
    name: &str,
    child: &mut Child,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) -> Result {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{name} exited with {status} before accepting connections:\n{}",
                log_tail(log)
            ));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{name} did not accept connections within {READY_TIMEOUT:?}:\n{}",
                log_tail(log)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log_tail(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(log) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn log_file(dir: &Path) -> Result<(PathBuf, Stdio, Stdio)> {
    let path = dir.join("server.log");
    let file = fs::File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let err = file
        .try_clone()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, Stdio::from(file), Stdio::from(err)))
}

fn start_redis(apt: &mut Apt) -> Result<(Running, String)> {
    let server = match find_program("redis-server", &[]) {
        Some(server) => server,
        None => {
            apt.install(&["redis-server"])?;
            find_program("redis-server", &[]).ok_or("redis-server is not on PATH after install")?
        }
    };
    let data_dir = temp_dir("redis")?;
    let port = free_port()?;
    let (log, stdout, stderr) = log_file(&data_dir)?;
    let mut child = Command::new(&server)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--dir")
        .arg(&data_dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", server.display()))?;
    let ready = wait_ready("redis-server", &mut child, &log, || {
        redis_ping(port).unwrap_or(false)
    });
    if let Err(e) = ready {
        let _ = fs::remove_dir_all(&data_dir);
        return Err(e);
    }
    Ok((
        Running {
            name: "redis-server",
            child,
            data_dir,
        },
        format!("redis://127.0.0.1:{port}/"),
    ))
}

/// `PING` in the inline protocol; `+PONG` means the server is ready.
fn redis_ping(port: u16) -> std::io::Result<bool> {
    use std::io::Write;
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.write_all(b"PING\r\n")?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply)?;
    Ok(&reply == b"+PONG\r\n")
}

/// The newest `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The uid and gid of a local account, from `id`.
fn account_ids(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, user]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// PostgreSQL refuses to run as root: use the Debian `postgres` account, or create a system account for it.
fn postgres_account() -> Result<(u32, u32)> {
    // Not root: we already are an unprivileged user and run it as ourselves.
    let me = account_ids(&whoami()).ok_or("cannot read the current uid")?;
    if me.0 != 0 {
        return Ok(me);
    }
    if let Some(ids) = account_ids("postgres") {
        return Ok(ids);
    }
    if let Some(ids) = account_ids(FALLBACK_PG_USER) {
        return Ok(ids);
    }
    eprintln!("xtask: creating the system account {FALLBACK_PG_USER} to run PostgreSQL");
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_PG_USER,
        ])
        .status()
        .map_err(|e| format!("useradd: {e}"))?;
    if !status.success() {
        return Err(format!("useradd {FALLBACK_PG_USER} failed with {status}"));
    }
    account_ids(FALLBACK_PG_USER)
        .ok_or_else(|| format!("{FALLBACK_PG_USER} not found after useradd"))
}

fn whoami() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn chown_recursive(path: &Path, uid: u32, gid: u32) -> Result {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .map_err(|e| format!("chown: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("chown {} failed with {status}", path.display()))
    }
}

fn start_postgres(apt: &mut Apt) -> Result<(Running, String)> {
    let bin = match postgres_bin_dir() {
        Some(bin) => bin,
        None => {
            apt.install(&["postgresql"])?;
            postgres_bin_dir().ok_or("no /usr/lib/postgresql/*/bin/postgres after install")?
        }
    };
    let (uid, gid) = postgres_account()?;
    let root = temp_dir("postgres")?;
    let data = root.join("data");
    let result = (|| {
        fs::create_dir_all(&data).map_err(|e| format!("creating {}: {e}", data.display()))?;
        chown_recursive(&root, uid, gid)?;
        let (log, stdout, stderr) = log_file(&root)?;
        chown_recursive(&log, uid, gid)?;
        let initdb = Command::new(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "copilot", "--no-sync", "-E", "UTF8"])
            .current_dir(&root)
            .uid(uid)
            .gid(gid)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed with {}: {}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        let port = free_port()?;
        let mut child = Command::new(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", root.display()))
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .current_dir(&root)
            .uid(uid)
            .gid(gid)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        let isready = bin.join("pg_isready");
        wait_ready("postgres", &mut child, &log, || {
            Command::new(&isready)
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success())
        })?;
        Ok((child, port))
    })();
    match result {
        Ok((child, port)) => Ok((
            Running {
                name: "postgres",
                child,
                data_dir: root,
            },
            format!("postgres://copilot@127.0.0.1:{port}/postgres"),
        )),
        Err(e) => {
            let _ = fs::remove_dir_all(&root);
            Err(e)
        }
    }
}

/// `cargo xtask services CMD [ARGS]`: runs one command with the servers up and their URLs in its environment,
/// e.g. `cargo xtask services cargo nextest run -p copilot-store-redis`.
pub fn run_with(command: &[String]) -> Result {
    let (program, args) = command
        .split_first()
        .ok_or("services needs a command to run, e.g. `cargo xtask services cargo nextest run -p copilot-store-redis`")?;
    let services = start()?;
    let mut child = Command::new(program);
    child.args(args).envs(services.env());
    crate::run(child)
}
