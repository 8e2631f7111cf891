import HostSystem
import Logging
import ServiceLifecycle

/// Gives freed heap memory back to the system, as Go's scavenger does for CoreDNS: glibc keeps
/// what a burst (a list of 10,000 objects, a rebuilt index) freed in the middle of its arenas,
/// so the process would otherwise stay at its peak. Checks once a second and trims when the free
/// bytes exceed an eighth of those in use, and at least `minimumFree` (Go keeps about a tenth
/// over its heap goal): a busy server's transient garbage is not given back and faulted in again
/// every second.
struct HeapScavenger: ServiceLifecycle.Service {
    var interval: Duration = .seconds(1)
    var minimumFree = 1 << 20
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: interval)
            guard let heap = HostMemory.heap(), heap.free > max(minimumFree, heap.inUse / 8) else { continue }
            HostMemory.releaseFreeHeap()
            logger.debug("heap.trimmed", metadata: ["heap.free": "\(heap.free)", "heap.inUse": "\(heap.inUse)"])
        }
    }
}
