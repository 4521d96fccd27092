//! What the process holds, read from `/proc/self`: resident memory and open sockets (Linux only; elsewhere the
//! probes answer `None`).

/// Resident set size in bytes (`/proc/self/statm`, second field, times the page size).
pub fn rss_bytes() -> Option<u64> {
    rss_from("/proc/self/statm")
}

fn rss_from(statm: &str) -> Option<u64> {
    let statm = std::fs::read_to_string(statm).ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * page_size())
}

/// The page size. Asking the kernel needs libc (and `unsafe`, which the workspace forbids); x86-64 and most
/// aarch64 Linux kernels use 4 KiB pages, and aarch64 kernels with 64 KiB pages say so in the `KernelPageSize`
/// lines of `/proc/self/smaps`, read here when present.
fn page_size() -> u64 {
    static PAGE_SIZE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE_SIZE.get_or_init(|| {
        std::fs::read_to_string("/proc/self/smaps")
            .ok()
            .and_then(|smaps| {
                smaps.lines().find_map(|line| {
                    let kib = line
                        .strip_prefix("KernelPageSize:")?
                        .trim()
                        .strip_suffix("kB")?;
                    kib.trim().parse::<u64>().ok().map(|k| k * 1024)
                })
            })
            .unwrap_or(4096)
    })
}

/// Number of open file descriptors of this process that are sockets (`/proc/self/fd/*` → `socket:[…]`).
pub fn open_sockets() -> Option<usize> {
    sockets_in("/proc/self/fd")
}

fn sockets_in(fd_dir: &str) -> Option<usize> {
    let entries = std::fs::read_dir(fd_dir).ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_link(entry.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count(),
    )
}

/// Tasks alive on the current tokio runtime (stable runtime metrics), or `None` outside a runtime.
pub fn alive_tasks() -> Option<usize> {
    tokio::runtime::Handle::try_current()
        .ok()
        .map(|handle| handle.metrics().num_alive_tasks())
}

/// `bytes` in MiB, for reports.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// CPU time (user + system) of process `pid` and every process descended from it, from `/proc/PID/stat`
/// (`utime` and `stime`, in the kernel's fixed 100 Hz `USER_HZ` units). `None` when `pid` is gone or off Linux.
///
/// Descendants count because a peer may run its server in worker processes (a Python proxy under uvicorn or
/// gunicorn); a descendant that exits between two readings takes its time with it, so readings bracket one
/// round of a server whose processes stay up.
pub fn process_tree_cpu(pid: u32) -> Option<std::time::Duration> {
    let mut parents: Vec<(u32, u32, u64)> = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, ticks)) = stat_ppid_and_ticks(id) {
            parents.push((id, ppid, ticks));
        }
    }
    let mut tree = vec![pid];
    let mut total = 0u64;
    let mut seen_root = false;
    // Breadth-first over the parent links; the process table is small.
    let mut index = 0;
    while let Some(&current) = tree.get(index) {
        index += 1;
        for &(id, ppid, ticks) in &parents {
            if id == current {
                total = total.saturating_add(ticks);
                seen_root |= id == pid;
            }
            if ppid == current && !tree.contains(&id) {
                tree.push(id);
            }
        }
    }
    seen_root.then(|| std::time::Duration::from_millis(total.saturating_mul(10)))
}

/// `(ppid, utime + stime)` of one process.
fn stat_ppid_and_ticks(pid: u32) -> Option<(u32, u64)> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The parent of process `pid`, if it exists.
pub fn parent_pid(pid: u32) -> Option<u32> {
    stat_ppid_and_ticks(pid).map(|(ppid, _)| ppid)
}

/// `(ppid, utime + stime)` from the text of a `/proc/PID/stat` file. The command name (field 2) may contain
/// spaces and parentheses, so the fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) … utime(14) stime(15) → indices 0, 1, …, 11, 12.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime.saturating_add(stime)))
}

/// Open sockets of another process (`/proc/PID/fd`), like [`open_sockets`] for this one.
pub fn process_sockets(pid: u32) -> Option<usize> {
    sockets_in(&format!("/proc/{pid}/fd"))
}

/// Resident set size of another process in bytes (`/proc/PID/statm`).
pub fn process_rss(pid: u32) -> Option<u64> {
    rss_from(&format!("/proc/{pid}/statm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        // A command name with a space and a parenthesis, as a Python worker can have.
        let stat =
            "4242 (python3 (w) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0 1000";
        assert_eq!(parse_stat(stat), Some((17, 281)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_tree_has_cpu_time_and_sockets_are_counted() {
        let pid = std::process::id();
        let start = process_tree_cpu(pid).expect("own stat readable");
        // Burn a little CPU so the counter moves past one 10 ms tick.
        let until = std::time::Instant::now() + std::time::Duration::from_millis(60);
        let mut x = 0u64;
        while std::time::Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let end = process_tree_cpu(pid).expect("own stat readable");
        assert!(end > start, "{start:?} → {end:?}");
        assert_eq!(process_sockets(pid), open_sockets());
        assert!(process_rss(pid).is_some_and(|b| b > 0));
        assert_eq!(process_tree_cpu(u32::MAX), None);
    }
}
