import HostSystem
import Logging
import ServiceLifecycle

/// Gives freed heap memory back to the system, as Go's scavenger does for CoreDNS: glibc keeps
/// what a burst (a list of 10,000 objects, a rebuilt index) freed in the middle of its arenas,
/// so the process would otherwise stay at its peak.
///
/// Once a second it reads the resident set (cheap) and trims once it has grown, since the last
/// trim, by more than an eighth (at least `minimumGrowth`) and has stopped growing. It never
/// asks the allocator for statistics: on a fragmented heap `malloc_info` walks every free chunk
/// with the arenas locked (40 ms with 10,000 Ingress rules), and so does a trim, so a trim
/// follows growth, it is not repeated while nothing changes.
struct HeapScavenger: ServiceLifecycle.Service {
    var interval: Duration = .seconds(1)
    var minimumGrowth = 1 << 20
    /// Growth within one interval that means the process is still busy growing.
    var settled = 256 << 10
    let logger: Logger

    func run() async throws {
        guard var baseline = HostMemory.resident() else { return }
        var previous = baseline
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            guard let rss = HostMemory.resident() else { continue }
            defer { previous = rss }
            baseline = min(baseline, rss)
            guard rss - previous < settled, rss - baseline > max(minimumGrowth, rss / 8) else { continue }
            HostMemory.releaseFreeHeap()
            baseline = HostMemory.resident() ?? rss
            logger.debug("heap.trimmed", metadata: ["rss.before": "\(rss)", "rss.after": "\(baseline)"])
        }
    }
}
