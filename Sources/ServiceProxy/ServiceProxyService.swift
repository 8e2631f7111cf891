import ClusterStore
import Foundation
import HostSystem
import KubeModel
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The node's service proxy: Services and EndpointSlices from a `ClusterCache` become one
/// nftables table (`inet kplane`), kept in step with coalesced incremental transactions.
/// Needs root. Removes its table when it stops; after a crash, the next start replaces the
/// leftover table in its first transaction.
public final class ServiceProxyService: ServiceLifecycle.Service, Sendable {
    /// Settings.
    public struct Configuration: Sendable {
        public var node: NodeConfig
        public var table: String
        /// Shortest time between two syncs (kube-proxy's minSyncPeriod).
        public var minSyncInterval: Duration
        /// Address the health-check servers listen on.
        public var healthCheckHost: String
        /// The interface that holds this node's LoadBalancer addresses (nil: none, the
        /// addresses are only DNATed for traffic routed to the node).
        public var loadBalancerInterface: String?

        public init(node: NodeConfig, table: String = RulesetBuilder.defaultTable, minSyncInterval: Duration = .milliseconds(20),
                    healthCheckHost: String = "0.0.0.0", loadBalancerInterface: String? = LoadBalancerInterface.defaultName) {
            self.node = node
            self.table = table
            self.minSyncInterval = minSyncInterval
            self.healthCheckHost = healthCheckHost
            self.loadBalancerInterface = loadBalancerInterface
        }
    }

    /// The kinds the proxy reads.
    public static let types: [ResourceType] = [Service.resourceType, EndpointSlice.resourceType]

    private let configuration: Configuration
    private let cache: ClusterCache
    private let logger: Logger
    private let metrics = ProxyMetrics()
    private let applied = Mutex<Int64>(0)
    public let healthChecks: HealthCheckServers

    /// The cache resourceVersion whose Services and EndpointSlices are in the kernel (0: none yet).
    public var appliedResourceVersion: Int64 { applied.withLock { $0 } }

    public init(configuration: Configuration, cache: ClusterCache, logger: Logger) {
        self.configuration = configuration
        self.cache = cache
        self.logger = logger
        healthChecks = HealthCheckServers(host: configuration.healthCheckHost, logger: logger)
    }

    /// Checks what the proxy needs before it starts, with a message saying what is missing.
    public static func preflight() throws -> (nft: String, conntrack: String?, ip: String?) {
        guard geteuid() == 0 else {
            throw ProxyError(.notRoot, "the service proxy needs root (it programs nftables); run kplane as root or leave the proxy out with --components")
        }
        guard let nft = HostCommand.find("nft") else {
            throw ProxyError(.missingTool, "the service proxy needs the nft tool (Debian package nftables)")
        }
        return (nft, HostCommand.find("conntrack"), HostCommand.find("ip"))
    }

    public func run() async throws {
        let tools = try Self.preflight()
        let logger = logger
        if tools.conntrack == nil {
            logger.warning("proxy.conntrack.missing", metadata: ["hint": "install the conntrack package so UDP clients move off removed endpoints"])
        }
        var addresses: LoadBalancerInterface?
        if let name = configuration.loadBalancerInterface {
            if let ip = tools.ip {
                addresses = LoadBalancerInterface(name: name, ip: LoadBalancerInterface.executor(ip: ip))
            } else {
                logger.warning("proxy.ip.missing", metadata: ["hint": "install iproute2 so LoadBalancer addresses are put on \(name)"])
            }
        }
        let syncer = ProxySyncer(node: configuration.node, table: configuration.table,
                                 execute: ProxySyncer.nftExecutor(nft: tools.nft),
                                 conntrack: ProxySyncer.conntrackExecutor(conntrack: tools.conntrack, logger: logger),
                                 addresses: addresses)
        let metrics = metrics
        let healthChecks = healthChecks
        let cache = cache
        let minInterval = configuration.minSyncInterval
        await cancelWhenGracefulShutdown {
            await ReconcileLoop.run(cache: cache, name: "proxy", minInterval: minInterval, logger: logger) { snapshot in
                let (services, slices) = ProxySyncer.inputs(snapshot)
                let start = ContinuousClock.now
                let report = try await syncer.sync(services: services, slices: slices)
                let done = Date()
                self.applied.withLock { $0 = max($0, snapshot.resourceVersion) }
                metrics.record(report, duration: ContinuousClock.now - start, at: done)
                await healthChecks.update(report.healthChecks)
                if report.changed {
                    logger.debug("proxy.synced", metadata: ["full": "\(report.full)", "rules": "\(report.rules)", "elements": "\(report.elements)",
                                                            "bytes": "\(report.transactionBytes)", "services.rendered": "\(report.servicesRendered)",
                                                            "rv": "\(snapshot.resourceVersion)"])
                }
            }
        }
        await healthChecks.shutdown()
        do {
            try await syncer.removeTable()
            logger.info("proxy.stopped", metadata: ["table": "\(configuration.table)"])
        } catch {
            logger.warning("proxy.cleanup.failed", metadata: ["error": "\(error)"])
        }
    }
}

/// The proxy's metrics (swift-metrics; Prometheus is bootstrapped by the binary).
struct ProxyMetrics: Sendable {
    let syncDuration = Timer(label: "kplane_proxy_sync_duration_seconds")
    let lastSync = Gauge(label: "kplane_proxy_last_sync_timestamp_seconds")
    let rules = Gauge(label: "kplane_proxy_rules")
    let elements = Gauge(label: "kplane_proxy_elements")
    let programmingLatency = Timer(label: "kplane_proxy_network_programming_duration_seconds")
    let syncs = Counter(label: "kplane_proxy_syncs_total")

    /// Sync duration, and for each EndpointSlice change the sync took in, the network
    /// programming latency: from the change's trigger time (when the EndpointSlice controller
    /// saw the Pod or Service change) to the rules being in the kernel.
    func record(_ report: ProxySyncer.Report, duration: Duration, at time: Date) {
        syncs.increment()
        for t in report.triggerTimes.compactMap(ProxyMetrics.parseTime) where t <= time {
            programmingLatency.recordNanoseconds(Int64(time.timeIntervalSince(t) * 1e9))
        }
        guard report.changed else { return }
        let c = duration.components
        syncDuration.recordNanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
        lastSync.record(time.timeIntervalSince1970)
        rules.record(report.rules)
        elements.record(report.elements)
    }

    static func parseTime(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }
}
