import ClusterStore
import KubeModel
import Logging
import ServiceLifecycle

/// Writes `status.loadBalancer.ingress` of LoadBalancer Services from an `AddressPool`.
/// Reads a `ClusterCache` holding Services.
public final class LoadBalancerController: ServiceLifecycle.Service, Sendable {
    private let allocator: LoadBalancerAllocator
    private let cache: ClusterCache
    private let logger: Logger

    public init(allocator: LoadBalancerAllocator, cache: ClusterCache, logger: Logger) {
        self.allocator = allocator
        self.cache = cache
        self.logger = logger
    }

    public func run() async throws {
        let allocator = allocator
        let store = cache.store
        let logger = logger
        let cache = cache
        await cancelWhenGracefulShutdown {
            await ReconcileLoop.run(cache: cache, name: "loadbalancer", logger: logger) { snapshot in
            for service in allocator.statusUpdates(snapshot.list(Service.self)) {
                let ip = service.status.loadBalancer.ingress?.first?.ip ?? ""
                do {
                    _ = try await store.updateStatus(Object(service))
                    logger.info("loadbalancer.assigned", metadata: ["k8s.namespace": "\(service.namespace)", "k8s.service": "\(service.name)", "ip": "\(ip)"])
                } catch let error as StoreError where error.reason == .notFound || error.reason == .conflict {
                    // Deleted or changed meanwhile: the next pass sees the new state.
                    continue
                }
            }
        }
        }
    }
}
