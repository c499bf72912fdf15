//! The standard `process_*` metrics every Prometheus client exposes (CPU time, resident and
//! virtual memory, open and maximum file descriptors, start time), read from Linux's `/proc`
//! at scrape time. On other systems, or when `/proc` cannot be read, the affected families are
//! simply absent.

use super::{Kind, Registry, TypedFamily};

/// Registers the `process_*` families on `registry`. Each scrape reads `/proc/self/stat`,
/// `/proc/self/fd` and `/proc/self/limits` once; the boot time (for the start time) is read
/// once, here.
pub fn register(registry: &Registry) {
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|t| boot_time(&t));
    registry.typed_collector(move || {
        let st = stat(boot);
        let fam = |name, help, kind, v: Option<f64>| TypedFamily {
            name,
            help,
            kind,
            samples: v.map(|v| vec![(Vec::new(), v)]).unwrap_or_default(),
        };
        vec![
            fam(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                Kind::Counter,
                st.as_ref().map(|s| s.cpu_seconds),
            ),
            fam(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Kind::Gauge,
                st.as_ref().map(|s| s.rss_bytes),
            ),
            fam(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Kind::Gauge,
                st.as_ref().map(|s| s.vsize_bytes),
            ),
            fam(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                Kind::Gauge,
                st.as_ref().and_then(|s| s.start_time_seconds),
            ),
            fam(
                "process_open_fds",
                "Number of open file descriptors.",
                Kind::Gauge,
                std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as f64),
            ),
            fam(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                Kind::Gauge,
                std::fs::read_to_string("/proc/self/limits").ok().and_then(|t| max_open_files(&t)),
            ),
        ]
    });
}

/// Figures from `/proc/self/stat`.
#[derive(Debug, PartialEq)]
struct Stat {
    cpu_seconds: f64,
    rss_bytes: f64,
    vsize_bytes: f64,
    start_time_seconds: Option<f64>,
}

fn sysconf(name: libc::c_int) -> Option<f64> {
    // SAFETY: sysconf takes a constant name and has no preconditions; it returns -1 on error.
    let v = unsafe { libc::sysconf(name) };
    (v > 0).then_some(v as f64)
}

fn stat(boot: Option<f64>) -> Option<Stat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&text, sysconf(libc::_SC_CLK_TCK)?, sysconf(libc::_SC_PAGESIZE)?, boot)
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may contain spaces and parentheses,
/// so fields are counted after its closing parenthesis.
fn parse_stat(text: &str, ticks_per_s: f64, page_bytes: f64, boot_time_s: Option<f64>) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: f[0] = state (field 3), so field n is f[n - 3].
    let field = |n: usize| -> Option<f64> { f.get(n - 3)?.parse::<f64>().ok() };
    Some(Stat {
        cpu_seconds: (field(14)? + field(15)?) / ticks_per_s,
        vsize_bytes: field(23)?,
        rss_bytes: field(24)? * page_bytes,
        start_time_seconds: boot_time_s.and_then(|b| Some(b + field(22)? / ticks_per_s)),
    })
}

/// `btime` from `/proc/stat`: boot time in seconds since the epoch.
fn boot_time(text: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The soft limit of "Max open files" from `/proc/<pid>/limits` ("unlimited" is +Inf).
fn max_open_files(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" { Some(f64::INFINITY) } else { soft.parse().ok() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        // Fields 3.. of a real line; utime 250, stime 50, starttime 1000, vsize 8192, rss 3.
        let line = "4242 (cairn (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 1000 8192 3 rest";
        let s = parse_stat(line, 100.0, 4096.0, Some(1_700_000_000.0)).unwrap();
        assert_eq!(
            s,
            Stat {
                cpu_seconds: 3.0,
                rss_bytes: 12288.0,
                vsize_bytes: 8192.0,
                start_time_seconds: Some(1_700_000_010.0)
            }
        );
        assert_eq!(parse_stat("garbage", 100.0, 4096.0, None), None);
    }

    #[test]
    fn parses_limits_and_boot_time() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024.0));
        assert_eq!(
            max_open_files("Max open files            unlimited    unlimited  files"),
            Some(f64::INFINITY)
        );
        assert_eq!(boot_time("cpu  1 2 3\nbtime 1763800000\nprocesses 5\n"), Some(1_763_800_000.0));
    }

    #[test]
    fn this_process_reports_sane_figures() {
        // A fresh test process may not have used a clock tick of CPU yet: spin (bounded) until it has.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while stat(None).is_some_and(|s| s.cpu_seconds == 0.0) && start.elapsed().as_secs() < 5 {
            x = (0..100_000u64).fold(x, |a, b| a.wrapping_mul(31).wrapping_add(b));
        }
        std::hint::black_box(x);
        let r = Registry::new();
        register(&r);
        let text = r.render();
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing:\n{text}"));
            let v: f64 = line[name.len() + 1..].parse().unwrap();
            assert!(v > 0.0, "{line}");
        }
    }
}
