import HostSystem
import Logging
import ServiceLifecycle

/// Gives freed heap memory back to the system, as Go's scavenger does for CoreDNS: glibc keeps
/// what a burst (a list of 10,000 objects, a rebuilt index) freed in the middle of its arenas,
/// so the process would otherwise stay at its peak.
///
/// Once a second it trims when asked by a burst of work (`HostMemory.requestTrim`, which
/// informers call after a list or a burst of events) that has had `quiet` to end, or when the
/// resident set has grown by more than `minimumGrowth` since the last trim and has stopped
/// growing. It never asks the allocator for statistics, and never trims while nothing
/// changes: on a fragmented heap `malloc_info` and `malloc_trim` walk every free chunk with the
/// arenas locked (40 ms with 10,000 Ingress rules).
struct HeapScavenger: ServiceLifecycle.Service {
    var interval: Duration = .seconds(1)
    var minimumGrowth = 1 << 20
    /// Growth within one interval that means the process is still busy growing.
    var settled = 256 << 10
    var quiet: Duration = .seconds(1)
    let logger: Logger

    func run() async throws {
        guard var baseline = HostMemory.resident() else { return }
        var peak = baseline, previous = baseline
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            guard let rss = HostMemory.resident() else { continue }
            defer { previous = rss }
            peak = max(peak, rss)
            let requested = HostMemory.takeTrimRequest(quiet: quiet)
            guard requested || (rss - previous < settled && peak - baseline > minimumGrowth) else { continue }
            HostMemory.releaseFreeHeap()
            baseline = HostMemory.resident() ?? rss
            peak = baseline
            logger.debug("heap.trimmed", metadata: ["rss.before": "\(rss)", "rss.after": "\(baseline)"])
        }
    }
}
