import HostSystem
import Logging
import ServiceLifecycle

/// Gives freed heap memory back to the system, as Go's scavenger does for CoreDNS: glibc keeps
/// what a burst (a list of 10,000 objects, a rebuilt index) freed in the middle of its arenas,
/// so the process would otherwise stay at its peak. Checks once a second and trims when more
/// than `threshold` bytes are free.
struct HeapScavenger: ServiceLifecycle.Service {
    var interval: Duration = .seconds(1)
    var threshold = 2 << 20
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            guard let heap = HostMemory.heap(), heap.free > threshold else { continue }
            HostMemory.releaseFreeHeap()
            logger.debug("heap.trimmed", metadata: ["heap.free": "\(heap.free)", "heap.inUse": "\(heap.inUse)"])
        }
    }
}
