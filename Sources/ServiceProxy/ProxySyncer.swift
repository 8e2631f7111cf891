import ClusterStore
import Foundation
import KubeModel
import Logging

/// The proxy's apply step: keeps a mirror of what is in the kernel and turns each snapshot
/// into one atomic `nft -f -` transaction (the whole table first, then only differences), plus
/// the UDP conntrack cleanup that goes with it. Never lists the kernel's ruleset.
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
        public var model: ProxyModel
    }

    public let node: NodeConfig
    public let table: String
    private let execute: Executor
    private let conntrack: ConntrackExecutor
    private var applied: Ruleset?
    private var model: ProxyModel?
    private var replaceOnNextFull = true

    public init(node: NodeConfig, table: String = RulesetBuilder.defaultTable, execute: @escaping Executor, conntrack: @escaping ConntrackExecutor) {
        self.node = node
        self.table = table
        self.execute = execute
        self.conntrack = conntrack
    }

    /// The proxy's inputs from a snapshot.
    public static func inputs(_ snapshot: CacheSnapshot) -> ([Service], [EndpointSlice]) {
        (snapshot.list(Service.self), snapshot.list(EndpointSlice.self))
    }

    /// Renders and applies. On failure the mirror is dropped so that the next sync reloads
    /// the whole table.
    public func sync(services: [Service], slices: [EndpointSlice]) async throws -> Report {
        let newModel = ProxyModel.build(services: services, slices: slices, node: node, previous: model)
        let desired = RulesetBuilder.build(newModel, table: table)
        let script: String?
        let full = applied == nil
        if let applied {
            script = RulesetDiff.transaction(from: applied, to: desired)
        } else {
            script = desired.fullTransaction(replacing: replaceOnNextFull)
        }
        if let script {
            do {
                try await execute(script)
            } catch {
                applied = nil
                model = nil
                replaceOnNextFull = true
                throw error
            }
        }
        let flushes = ConntrackFlush.stale(old: model, new: newModel)
        for flush in flushes { await conntrack(flush.arguments) }
        applied = desired
        model = newModel
        replaceOnNextFull = false
        return Report(full: full, changed: script != nil, rules: desired.ruleCount, elements: desired.elementCount,
                      transactionBytes: script?.utf8.count ?? 0, conntrackFlushes: flushes.count, model: newModel)
    }

    /// Forgets the mirror (the next sync replaces the table wholesale).
    public func invalidate() {
        applied = nil
        replaceOnNextFull = true
    }

    /// Removes the table.
    public func removeTable() async throws {
        try await execute("add table inet \(table)\ndelete table inet \(table)\n")
        applied = nil
        model = nil
    }
}

extension ProxySyncer {
    /// `nft -f -` through the `nft` binary.
    public static func nftExecutor(nft: String) -> Executor {
        { script in
            let result = try await CommandRunner.run(nft, ["-f", "-"], input: script)
            guard result.status == 0 else {
                throw ProxyError(.nftFailed, "nft -f - failed (status \(result.status)): \(result.error.prefix(2000))")
            }
        }
    }

    /// `conntrack -D …` (exit status 1 means "nothing to delete" and is fine).
    public static func conntrackExecutor(conntrack: String?, logger: Logger) -> ConntrackExecutor {
        { arguments in
            guard let conntrack else { return }
            do {
                let result = try await CommandRunner.run(conntrack, arguments)
                if result.status > 1 {
                    logger.warning("proxy.conntrack.failed", metadata: ["args": "\(arguments.joined(separator: " "))", "error": "\(result.error)"])
                }
            } catch {
                logger.warning("proxy.conntrack.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
