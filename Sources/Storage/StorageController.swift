import ClusterStore
import Foundation
import KubeModel
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The storage controller of embedded mode: binds claims to volumes (kube-controller-manager's
/// persistent-volume controller), gives claims the default class, keeps the protection
/// finalizers, and provisions, expands and deletes kplane's local volumes on this node.
/// Runs over a `ClusterCache` of `StorageController.resourceTypes`.
public final class StorageController: ServiceLifecycle.Service, Sendable {
    /// The configuration of a storage controller.
    public struct Configuration: Sendable {
        /// This node (volumes are pinned to it; consumers on other nodes are not ours).
        public var node: NodeInfo
        /// Nil to run the binder only.
        public var provisioner: ProvisionerSettings?
        /// Install `local-path` as the default class when the cluster has no default.
        public var installDefaultClass: Bool
        /// Unmount image volumes at shutdown.
        public var unmountAtShutdown: Bool

        public init(node: NodeInfo, provisioner: ProvisionerSettings?, installDefaultClass: Bool = true, unmountAtShutdown: Bool = true) {
            self.node = node
            self.provisioner = provisioner
            self.installDefaultClass = installDefaultClass
            self.unmountAtShutdown = unmountAtShutdown
        }
    }

    /// The kinds the controller's cache must hold.
    public static let resourceTypes: [ResourceType] = [
        PersistentVolume.resourceType, PersistentVolumeClaim.resourceType, StorageClass.resourceType, Pod.resourceType,
    ]

    let configuration: Configuration
    let cache: ClusterCache
    let host: (any VolumeHost)?
    let logger: Logger
    /// The resourceVersion of the last write: a snapshot older than it has not seen our own
    /// writes yet, and acting on it would do the same work twice.
    private let expectation = Mutex<Int64>(0)
    private let passTimer = Timer(label: "kplane_storage_pass_seconds")
    private let provisionTimer = Timer(label: "kplane_storage_provision_seconds")
    private let writes = Counter(label: "kplane_storage_writes_total")
    private let failures = Counter(label: "kplane_storage_failures_total")

    /// `host` does the volume work; nil (or no provisioner configured) runs the binder only.
    public init(configuration: Configuration, cache: ClusterCache, host: (any VolumeHost)?, logger: Logger) {
        self.configuration = configuration
        self.cache = cache
        self.host = host
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            guard let first = await cache.waitUntilSynced() else { return }
            if configuration.installDefaultClass { await installDefaultClass(first) }
            await ReconcileLoop.run(cache: cache, name: "storage", minInterval: .milliseconds(20), logger: logger) { [self] snapshot in
                _ = try await self.reconcile(snapshot)
            }
        } onGracefulShutdown: {}
        if configuration.unmountAtShutdown, let host, let dir = configuration.provisioner?.volumeDirectory {
            let left = await host.unmountAll(under: dir)
            if !left.isEmpty { logger.warning("storage.unmount.busy", metadata: ["paths": "\(left.joined(separator: ","))"]) }
        }
    }

    private func installDefaultClass(_ snapshot: CacheSnapshot) async {
        guard let sc = DefaultStorageClass.toInstall(given: snapshot.list(StorageClass.self)) else { return }
        do {
            _ = try await cache.store.create(Object(sc))
            logger.info("storage.class.installed", metadata: ["storageclass": "\(sc.name)", "provisioner": "\(sc.provisioner)"])
        } catch let error as StoreError where error.reason == .alreadyExists {
        } catch {
            logger.warning("storage.class.install.failed", metadata: ["storageclass": "\(sc.name)", "error": "\(error)"])
        }
    }

    /// What one pass planned and did.
    struct PassReport {
        var plan = StoragePlan()
        var writes = 0
        var failures = 0
        var errors: [String] = []
        /// How long each volume provisioned in this pass took.
        var provisioned: [Duration] = []
    }

    /// One pass: plan from the snapshot, then apply.
    @discardableResult
    func reconcile(_ snapshot: CacheSnapshot) async throws -> PassReport {
        if snapshot.resourceVersion < expectation.withLock({ $0 }) { return PassReport() }
        let clock = ContinuousClock()
        let start = clock.now
        var mounted: Set<String>?
        if let host, configuration.provisioner != nil {
            do { mounted = try await host.mountedPaths() } catch {
                logger.warning("storage.mounts.unreadable", metadata: ["error": "\(error)"])
            }
        }
        let now = StorageController.timestamp()
        let plan = StoragePlanner.plan(StorageInputs(snapshot: snapshot, node: configuration.node,
                                                     provisioner: host == nil ? nil : configuration.provisioner,
                                                     mounted: mounted, now: now))
        for event in plan.events {
            logger.debug("storage.event", metadata: ["object": "\(event.object)", "type": "\(event.kind.rawValue)", "reason": "\(event.reason)", "message": "\(event.message)"])
        }
        var applier = StorageApplier(store: cache.store, host: host, snapshot: snapshot, logger: logger, now: now)
        let outcome = await applier.apply(plan)
        if outcome.highestResourceVersion > 0 { expectation.withLock { $0 = max($0, outcome.highestResourceVersion) } }
        writes.increment(by: outcome.writes)
        if outcome.failures > 0 { failures.increment(by: outcome.failures) }
        for d in outcome.provisioned { provisionTimer.recordNanoseconds(d.nanoseconds) }
        passTimer.recordNanoseconds((clock.now - start).nanoseconds)
        if outcome.writes > 0 {
            logger.debug("storage.pass", metadata: ["rv": "\(snapshot.resourceVersion)", "writes": "\(outcome.writes)", "failures": "\(outcome.failures)"])
        }
        return PassReport(plan: plan, writes: outcome.writes, failures: outcome.failures, errors: outcome.errors, provisioned: outcome.provisioned)
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }
}
