//! The CPU a figure came from, as `/proc/cpuinfo` names it (benches print it beside their numbers).

/// The model name of the first CPU, or "unknown CPU" off Linux.
pub fn name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
