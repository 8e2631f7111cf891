import HostSystem
import Logging
import ServiceLifecycle

/// Gives freed heap memory back to the system, as Go's scavenger does for CoreDNS: glibc keeps
/// what a burst (a list of 10,000 objects, a rebuilt index) freed in the middle of its arenas,
/// so the process would otherwise stay at its peak.
///
/// Checks once a second and trims when the free bytes have grown, since the last trim, by more
/// than an eighth of those in use (at least `minimumGrowth`). Free chunks stay free chunks after
/// `malloc_trim` returns their pages, so a heap whose free memory is scattered among live blocks
/// is trimmed once, not every second: a trim holds the allocator's locks, and a server under
/// load should not pay for it again and again.
struct HeapScavenger: ServiceLifecycle.Service {
    var interval: Duration = .seconds(1)
    var minimumGrowth = 1 << 20
    let logger: Logger

    func run() async throws {
        var baseline = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            guard let heap = HostMemory.heap() else { continue }
            baseline = min(baseline, heap.free)
            guard heap.free - baseline > max(minimumGrowth, heap.inUse / 8) else { continue }
            HostMemory.releaseFreeHeap()
            baseline = HostMemory.heap()?.free ?? heap.free
            logger.debug("heap.trimmed", metadata: ["heap.free": "\(heap.free)", "heap.inUse": "\(heap.inUse)"])
        }
    }
}
