//! CPU time and resident memory of the service under test, read from `/proc` (Linux).

/// User + system CPU time of a process so far, in microseconds (`/proc/<pid>/stat`).
pub fn cpu_micros(pid: u32) -> Option<u64> {
    cpu_split_micros(pid).map(|(user, system)| user + system)
}

/// (user, system) CPU time of a process so far, in microseconds (`/proc/<pid>/stat`).
pub fn cpu_split_micros(pid: u32) -> Option<(u64, u64)> {
    stat_micros(&format!("/proc/{pid}/stat"))
}

/// (user, system) CPU time in microseconds from a `/proc/…/stat` file (a process's or a thread's).
fn stat_micros(path: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    Some((utime * 1_000_000 / ticks, stime * 1_000_000 / ticks))
}

/// CPU time (user + system) of a process's threads so far, in microseconds, summed by thread
/// name (`/proc/<pid>/task/*/{comm,stat}`; the kernel cuts names to 15 bytes). Threads that
/// ended are missing, so the sum may be below [`cpu_micros`].
pub fn thread_cpu_micros(pid: u32) -> Option<std::collections::BTreeMap<String, u64>> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        if let Some((user, system)) = stat_micros(&format!("/proc/{pid}/task/{tid}/stat")) {
            *by_name.entry(name.trim().to_string()).or_default() += user + system;
        }
    }
    Some(by_name)
}

/// Resident set size of a process, in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
