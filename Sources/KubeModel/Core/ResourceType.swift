/// What identifies a kind: its group/version, names used on the command line and scope.
public struct ResourceType: Sendable, Hashable, CustomStringConvertible {
    public let group: String
    public let version: String
    public let kind: String
    public let plural: String
    public let shortNames: [String]
    public let namespaced: Bool

    public init(group: String, version: String, kind: String, plural: String, shortNames: [String] = [], namespaced: Bool) {
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.shortNames = shortNames
        self.namespaced = namespaced
    }

    /// `v1`, `apps/v1`, `networking.k8s.io/v1`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The singular lower-case name (`service`).
    public var singular: String { kind.lowercased() }
    /// kubectl's qualified resource name (`ingresses.networking.k8s.io`, `services`).
    public var resource: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// The prefix kubectl prints before names (`service/web`, `ingress.networking.k8s.io/web`).
    public var namePrefix: String { group.isEmpty ? singular : "\(singular).\(group)" }

    public var description: String { resource }
}
