import ClusterStore
import Foundation
import KubeModel
import Logging
import Metrics
import ServiceLifecycle

/// Keeps EndpointSlices of Services with a selector in line with their pods
/// (kube-controller-manager's EndpointSlice controller). Reads a `ClusterCache` holding
/// Services, Pods and EndpointSlices; writes slices through the cache's store.
public final class EndpointSliceController: ServiceLifecycle.Service, Sendable {
    /// Settings.
    public struct Configuration: Sendable {
        public var maxEndpointsPerSlice: Int
        public var minSyncInterval: Duration

        public init(maxEndpointsPerSlice: Int = 100, minSyncInterval: Duration = .milliseconds(20)) {
            self.maxEndpointsPerSlice = maxEndpointsPerSlice
            self.minSyncInterval = minSyncInterval
        }
    }

    private let configuration: Configuration
    private let cache: ClusterCache
    private let logger: Logger
    private let writes = Counter(label: "kplane_endpointslice_controller_changes", dimensions: [("controller", "endpointslice")])

    public init(configuration: Configuration = .init(), cache: ClusterCache, logger: Logger) {
        self.configuration = configuration
        self.cache = cache
        self.logger = logger
    }

    public func run() async throws {
        let reconciler = SliceReconciler(maxEndpointsPerSlice: configuration.maxEndpointsPerSlice)
        let minInterval = configuration.minSyncInterval
        let store = cache.store
        let logger = logger
        let writes = writes
        let cache = cache
        await cancelWhenGracefulShutdown {
            await ReconcileLoop.run(cache: cache, name: "endpointslice", minInterval: minInterval, logger: logger) { snapshot in
            let plan = EndpointSliceSync.planSelector(snapshot, now: Timestamp.now(), reconciler: reconciler)
            guard !plan.isEmpty else { return }
            logger.debug("endpointslice.sync", metadata: ["create": "\(plan.create.count)", "update": "\(plan.update.count)", "delete": "\(plan.delete.count)"])
            try await EndpointSliceSync.apply(plan, to: store)
            writes.increment(by: plan.create.count + plan.update.count + plan.delete.count)
        }
        }
    }
}

/// Mirrors hand-written `Endpoints` of selectorless Services into EndpointSlices
/// (kube-controller-manager's EndpointSliceMirroring controller).
public final class EndpointSliceMirroringController: ServiceLifecycle.Service, Sendable {
    private let cache: ClusterCache
    private let logger: Logger
    private let minSyncInterval: Duration

    public init(cache: ClusterCache, minSyncInterval: Duration = .milliseconds(20), logger: Logger) {
        self.cache = cache
        self.logger = logger
        self.minSyncInterval = minSyncInterval
    }

    public func run() async throws {
        let store = cache.store
        let logger = logger
        let cache = cache
        let minInterval = minSyncInterval
        await cancelWhenGracefulShutdown {
            await ReconcileLoop.run(cache: cache, name: "endpointslice-mirroring", minInterval: minInterval, logger: logger) { snapshot in
            let plan = EndpointSliceSync.planMirroring(snapshot, now: Timestamp.now())
            guard !plan.isEmpty else { return }
            logger.debug("endpointslice.mirror.sync", metadata: ["create": "\(plan.create.count)", "update": "\(plan.update.count)", "delete": "\(plan.delete.count)"])
            try await EndpointSliceSync.apply(plan, to: store)
        }
        }
    }
}

/// RFC 3339 times as the API server writes them.
enum Timestamp {
    static func now() -> String { string(Date()) }

    static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
