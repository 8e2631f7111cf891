import Foundation
import NIOCore

/// The CPUs of the host this process may use.
public enum HostCPUs {
    /// The CPUs this process may run on: its affinity mask (`Cpus_allowed_list` in
    /// /proc/self/status, as set by `taskset` or a cpuset), at most `System.coreCount` (which
    /// honours cgroup CPU quotas), at least 1. Servers run one event loop per usable CPU, as
    /// nginx's `worker_processes auto`: more busy loops than CPUs only adds context switches,
    /// and a query waiting for its loop's time slice is a latency spike.
    public static func usable(status: String? = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) -> Int {
        let cores = max(1, System.coreCount)
        guard let status,
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return cores }
        var count = 0
        for range in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
            let bounds = range.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1: if bounds[0] != nil { count += 1 } else { return cores }
            case 2: if let a = bounds[0], let b = bounds[1], b >= a { count += b - a + 1 } else { return cores }
            default: return cores
            }
        }
        return count > 0 ? min(count, cores) : cores
    }
}
