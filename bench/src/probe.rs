//! What the process holds, read from `/proc/self`: resident memory and open sockets (Linux only; elsewhere the
//! probes answer `None`).

/// Resident set size in bytes (`/proc/self/statm`, second field, times the page size).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
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
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
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
