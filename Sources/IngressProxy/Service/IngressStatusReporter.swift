import ClusterStore
import KubeModel
import Logging
import Synchronization

/// Writes `status.loadBalancer.ingress`: our address on the Ingresses we handle, removed from
/// the ones we no longer handle. Runs apart from the routing loop, taking the newest table and
/// inputs each time, with the Ingresses to check merged across the requests it skipped.
final class IngressStatusReporter: Sendable {
    private struct Request {
        var table: RouteTable
        var inputs: RouteInputs
        /// nil: every Ingress.
        var checking: Set<IngressRef>?
    }

    private let store: any Store
    private let entry: LoadBalancerStatus.Ingress
    private let logger: Logger
    private let pending = Mutex<Request?>(nil)
    private let wake = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    /// `address` is an IP or a hostname; nil or empty: no status is written (nil reporter).
    init?(store: any Store, address: String?, logger: Logger) {
        guard let address, !address.isEmpty else { return nil }
        self.store = store
        entry = IPAddress(address) != nil ? LoadBalancerStatus.Ingress(ip: address) : LoadBalancerStatus.Ingress(hostname: address)
        self.logger = logger
    }

    /// Asks for the Ingresses in `checking` (nil: all) to be brought up to `table`.
    func submit(_ table: RouteTable, _ inputs: RouteInputs, checking: Set<IngressRef>?) {
        let wanted = pending.withLock { request in
            if let old = request {
                request = Request(table: table, inputs: inputs, checking: Self.union(old.checking, checking))
                return true
            }
            guard checking?.isEmpty != true else { return false }
            request = Request(table: table, inputs: inputs, checking: checking)
            return true
        }
        if wanted { wake.continuation.yield() }
    }

    /// Sets of Ingresses to check, where nil (every Ingress) absorbs any set.
    private static func union(_ a: Set<IngressRef>?, _ b: Set<IngressRef>?) -> Set<IngressRef>? {
        guard let a, let b else { return nil }
        return a.union(b)
    }

    /// Writes until cancelled. A failed write is tried again a second later.
    func run() async {
        for await _ in wake.stream {
            guard let request = pending.withLock({ r in defer { r = nil }; return r }) else { continue }
            let failed = await write(request)
            guard !failed.isEmpty else { continue }
            try? await Task.sleep(for: .seconds(1))
            if Task.isCancelled { return }
            pending.withLock { r in
                if var newer = r {
                    newer.checking = Self.union(newer.checking, failed)
                    r = newer
                } else {
                    r = Request(table: request.table, inputs: request.inputs, checking: failed)
                }
            }
            wake.continuation.yield()
        }
    }

    /// Returns the Ingresses whose write failed.
    private func write(_ request: Request) async -> Set<IngressRef> {
        var failed = Set<IngressRef>()
        for ref in request.checking ?? Set(request.inputs.ingresses.keys) where request.inputs.ingresses[ref] != nil {
            if Task.isCancelled { break }
            let current = request.inputs.ingressStatus[ref] ?? []
            let desired: [LoadBalancerStatus.Ingress]
            if request.table.handles(ref) {
                desired = [entry]
            } else if current.contains(entry) {
                desired = current.filter { $0 != entry }
            } else {
                continue
            }
            guard current != desired else { continue }
            do {
                let key = ObjectKey(type: Ingress.resourceType, namespace: ref.namespace, name: ref.name)
                guard var ingress = try await store.get(key)?.decode(Ingress.self) else { continue }
                ingress.status.loadBalancer.ingress = desired.isEmpty ? nil : desired
                _ = try await store.updateStatus(Object(ingress))
            } catch {
                failed.insert(ref)
                logger.debug("ingress status update failed", metadata: ["k8s.namespace": "\(ref.namespace)", "k8s.name": "\(ref.name)", "error": "\(error)"])
            }
        }
        return failed
    }
}
