import ClusterStore
import Foundation
import HostSystem
import KubeModel
import Logging
import Metrics
import ServiceLifecycle

/// The node's NetworkPolicy enforcer (component `policy`): Pods, Namespaces and
/// NetworkPolicies from a `ClusterCache` become kplane's own nftables table
/// (`inet kplane-policy`, filter hooks forward and input), kept in step by coalesced
/// incremental transactions. Needs root. Removes its table when it stops; after a crash the
/// next start replaces the leftover table in its first transaction.
public final class PolicyService: ServiceLifecycle.Service, Sendable {
    /// Settings.
    public struct Configuration: Sendable {
        public var table: String
        /// Shortest time between two syncs (bursts of changes are coalesced).
        public var minSyncInterval: Duration

        public init(table: String = PolicyRuleset.defaultTable, minSyncInterval: Duration = .milliseconds(20)) {
            self.table = table
            self.minSyncInterval = minSyncInterval
        }
    }

    /// The kinds the policy component reads.
    public static let types: [ResourceType] = [Pod.resourceType, Namespace.resourceType, NetworkPolicy.resourceType]

    private let configuration: Configuration
    private let cache: ClusterCache
    private let logger: Logger
    private let metrics = PolicyMetrics()

    public init(configuration: Configuration = Configuration(), cache: ClusterCache, logger: Logger) {
        self.configuration = configuration
        self.cache = cache
        self.logger = logger
    }

    /// Checks what the component needs before it starts, with a message saying what is missing.
    public static func preflight() throws -> String {
        guard geteuid() == 0 else {
            throw PolicyError(.notRoot, "the policy component needs root (it programs nftables); run kplane as root or leave it out with --components")
        }
        guard let nft = HostCommand.find("nft") else {
            throw PolicyError(.missingTool, "the policy component needs the nft tool (Debian package nftables)")
        }
        return nft
    }

    public func run() async throws {
        let nft = try Self.preflight()
        let logger = logger
        let syncer = PolicySyncer(table: configuration.table, execute: PolicySyncer.nftExecutor(nft: nft))
        let metrics = metrics
        let seen = KindRevisions(PolicyService.types)
        await ReconcileLoop.run(cache: cache, name: "policy", minInterval: configuration.minSyncInterval, logger: logger) { snapshot in
            // The shared cache changes for every kind; only these three matter here.
            guard seen.changed(snapshot) else { return }
            let start = ContinuousClock.now
            let report = try await syncer.sync(PolicyModel(snapshot: snapshot))
            metrics.record(report, duration: ContinuousClock.now - start)
            if report.changed {
                logger.debug("policy.synced", metadata: ["full": "\(report.full)", "elements": "\(report.elements)",
                                                         "bytes": "\(report.transactionBytes)", "rv": "\(snapshot.resourceVersion)"])
            }
        }
        do {
            try await syncer.removeTable()
            logger.info("policy.stopped", metadata: ["table": "\(configuration.table)"])
        } catch {
            logger.warning("policy.cleanup.failed", metadata: ["error": "\(error)"])
        }
    }
}

/// The policy component's metrics (swift-metrics; Prometheus is bootstrapped by the binary).
struct PolicyMetrics: Sendable {
    let syncDuration = Timer(label: "kplane_policy_sync_duration_seconds")
    let elements = Gauge(label: "kplane_policy_elements")
    let syncs = Counter(label: "kplane_policy_syncs_total")

    func record(_ report: PolicySyncer.Report, duration: Duration) {
        syncs.increment()
        guard report.changed else { return }
        let c = duration.components
        syncDuration.recordNanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
        elements.record(report.elements)
    }
}
