import ClusterStore
import HostSystem
import KubeModel

/// The policy component's apply step: renders each model, keeps a mirror of what is in the
/// kernel, and applies one atomic `nft -f -` transaction per sync (the whole table first,
/// then only element and counter changes). Never lists the kernel's ruleset.
public actor PolicySyncer {
    /// Runs one `nft -f -` transaction.
    public typealias Executor = @Sendable (String) async throws -> Void

    /// What a sync did.
    public struct Report: Sendable {
        public var full: Bool
        public var changed: Bool
        public var elements: Int
        public var transactionBytes: Int
        public var ruleset: PolicyRuleset
    }

    public let table: String
    private let execute: Executor
    /// Element lines and counters in the kernel (nil: unknown, load everything).
    private var applied: ([String: Set<String>], Set<String>)?
    private var numbers = PolicyRulesetBuilder.ClassNumbers()
    private var replaceOnNextFull = true

    public init(table: String = PolicyRuleset.defaultTable, execute: @escaping Executor) {
        self.table = table
        self.execute = execute
    }

    /// Renders and applies. On failure the mirror is dropped so that the next sync reloads
    /// the whole table.
    public func sync(_ model: PolicyModel) async throws -> Report {
        let desired = PolicyRulesetBuilder.build(model, table: table, numbers: &numbers)
        let full = applied == nil
        let desiredElements = (desired.elements(), desired.counters)
        let script = applied.map { PolicyRuleset.transaction(table: table, from: $0, to: desiredElements) } ?? desired.fullTransaction(replacing: replaceOnNextFull)
        if let script {
            do {
                try await execute(script)
            } catch {
                applied = nil
                replaceOnNextFull = true
                throw error
            }
        }
        applied = desiredElements
        replaceOnNextFull = false
        return Report(full: full, changed: script != nil, elements: desired.elementCount, transactionBytes: script?.utf8.count ?? 0, ruleset: desired)
    }

    /// Removes the table (on stop).
    public func removeTable() async throws {
        try await execute("add table inet \(table)\ndelete table inet \(table)\n")
        applied = nil
        replaceOnNextFull = true
    }
}

extension PolicySyncer {
    /// `nft -f -` through the `nft` binary at `path`.
    public static func nftExecutor(nft path: String) -> Executor {
        { script in
            let result = try await HostCommand.run([path, "-f", "-"], input: script, check: false)
            guard result.status == 0 else {
                throw PolicyError(.nftFailed, "nft -f - failed (status \(result.status)): \(result.stderr.prefix(2000))")
            }
        }
    }
}
