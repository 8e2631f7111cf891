import ClusterStore
import Foundation
import HostSystem
import KubeModel
import Logging

/// The proxy's apply step: keeps the model and the rendered table up to date Service by
/// Service (`IncrementalModel`, `IncrementalRuleset`) and turns each snapshot into one atomic
/// `nft -f -` transaction (the whole table first, then only differences), then the node's
/// LoadBalancer addresses and the UDP conntrack cleanup that go with it. Never lists the
/// kernel's ruleset.
public actor ProxySyncer {
    /// Runs one `nft -f -` transaction.
    public typealias Executor = @Sendable (String) async throws -> Void
    /// Deletes conntrack entries (`conntrack` arguments).
    public typealias ConntrackExecutor = @Sendable ([String]) async -> Void

    /// What a sync did, for metrics and logs.
    public struct Report: Sendable {
        public var full: Bool
        public var changed: Bool
        public var rules: Int
        public var elements: Int
        public var transactionBytes: Int
        public var conntrackFlushes: Int
        /// Services rendered again (all of them on the first sync).
        public var servicesRendered: Int
        public var healthChecks: [HealthCheck]
        public var loadBalancerIPs: Set<IPAddress>
        /// `last-change-trigger-time` of the EndpointSlices this sync took in.
        public var triggerTimes: [String]
    }

    public let node: NodeConfig
    public let table: String
    private let execute: Executor
    private let conntrack: ConntrackExecutor
    private let addresses: LoadBalancerInterface?
    private var model: IncrementalModel
    private var rules: IncrementalRuleset
    private var loaded = false
    private var replaceOnNextFull = true
    private var addressesInSync = false
    private var synced = false

    /// `addresses`: the interface that holds this node's LoadBalancer addresses (none: the
    /// addresses are only DNATed, for routers that send them to the node).
    public init(node: NodeConfig, table: String = RulesetBuilder.defaultTable, execute: @escaping Executor,
                conntrack: @escaping ConntrackExecutor, addresses: LoadBalancerInterface? = nil) {
        self.node = node
        self.table = table
        self.execute = execute
        self.conntrack = conntrack
        self.addresses = addresses
        model = IncrementalModel(node: node)
        rules = IncrementalRuleset(node: node, table: table)
    }

    /// The proxy's inputs from a snapshot (unordered: the model indexes them by key).
    public static func inputs(_ snapshot: CacheSnapshot) -> ([Service], [EndpointSlice]) {
        (snapshot.unordered(Service.self), snapshot.unordered(EndpointSlice.self))
    }

    /// The model as of the last sync.
    public var currentModel: ProxyModel { model.model }

    /// Renders what changed and applies it. On failure the next sync reloads the whole table.
    public func sync(services: [Service], slices: [EndpointSlice]) async throws -> Report {
        let delta = model.update(services: services, slices: slices)
        rules.apply(delta)
        let full = !loaded
        let script = rules.transaction(replacing: replaceOnNextFull)
        if let script {
            do {
                try await execute(script)
            } catch {
                rules.invalidate()
                loaded = false
                replaceOnNextFull = true
                throw error
            }
        }
        rules.commit()
        loaded = true
        replaceOnNextFull = false
        if let addresses, delta.loadBalancerIPsChanged || !addressesInSync {
            addressesInSync = false
            try await addresses.sync(model.model.loadBalancerIPs)
            addressesInSync = true
        }
        // The first sync's changes happened before the proxy started: nothing to clean up.
        let flushes = synced ? ConntrackFlush.stale(delta.frontends) : []
        synced = true
        for flush in flushes { await conntrack(flush.arguments) }
        let ruleset = rules.ruleset
        return Report(full: full, changed: script != nil, rules: ruleset.ruleCount, elements: ruleset.elementCount,
                      transactionBytes: script?.utf8.count ?? 0, conntrackFlushes: flushes.count, servicesRendered: delta.servicesRendered,
                      healthChecks: model.model.healthChecks, loadBalancerIPs: model.model.loadBalancerIPs, triggerTimes: delta.triggerTimes)
    }

    /// Forgets what the kernel has (the next sync replaces the table wholesale).
    public func invalidate() {
        rules.invalidate()
        loaded = false
        replaceOnNextFull = true
        addressesInSync = false
    }

    /// Removes the table and the LoadBalancer interface.
    public func removeTable() async throws {
        defer { invalidate() }
        var failure: (any Error)?
        do { try await addresses?.remove() } catch { failure = error }
        try await execute("add table inet \(table)\ndelete table inet \(table)\n")
        if let failure { throw failure }
    }
}

extension ProxySyncer {
    /// `nft -f -` through the `nft` binary.
    public static func nftExecutor(nft: String) -> Executor {
        { script in
            let result = try await HostCommand.run([nft, "-f", "-"], input: script, check: false)
            guard result.status == 0 else {
                throw ProxyError(.nftFailed, "nft -f - failed (status \(result.status)): \(result.stderr.prefix(2000))")
            }
        }
    }

    /// `conntrack -D …` (exit status 1 means "nothing to delete" and is fine).
    public static func conntrackExecutor(conntrack: String?, logger: Logger) -> ConntrackExecutor {
        { arguments in
            guard let conntrack else { return }
            do {
                let result = try await HostCommand.run([conntrack] + arguments, check: false)
                if result.status > 1 {
                    logger.warning("proxy.conntrack.failed", metadata: ["args": "\(arguments.joined(separator: " "))", "error": "\(result.stderr)"])
                }
            } catch {
                logger.warning("proxy.conntrack.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
