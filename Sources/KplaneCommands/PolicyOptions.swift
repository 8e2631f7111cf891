import ArgumentParser
import ClusterStore
import KubeModel
import Logging
import NetworkPolicy

/// `kplane up` flags of the NetworkPolicy enforcer (component `policy`).
public struct PolicyOptions: ParsableArguments {
    @Option(help: "Shortest time between two policy syncs, in milliseconds (bursts are coalesced).")
    var policyMinSyncMs = 20
    @Option(help: "The nftables table (family inet) the policy component owns.")
    var policyTable = PolicyRuleset.defaultTable

    public init() {}

    /// The kinds the component's cache must hold.
    public static let types = PolicyService.types

    /// Fails early, with the component's own message, when not root or nft is missing.
    public static func unavailableReason() -> String? {
        do { _ = try PolicyService.preflight(); return nil } catch { return "\(error)" }
    }

    /// The enforcer as a lifecycle service over the shared cache.
    public func makeService(cache: ClusterCache, logger: Logger) -> PolicyService {
        PolicyService(configuration: .init(table: policyTable, minSyncInterval: .milliseconds(policyMinSyncMs)), cache: cache, logger: logger)
    }
}
