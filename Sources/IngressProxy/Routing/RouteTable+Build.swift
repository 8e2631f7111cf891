import KubeModel

/// A host covered by a `spec.tls` entry, and the Secret that should serve it.
public struct TLSAssignment: Sendable, Hashable {
    public var ingress: IngressRef
    /// The Secret's namespace and name; nil when the entry names no Secret (default certificate).
    public var secretNamespace: String
    public var secretName: String?
}

extension RouteTable {
    /// Computes the table from one snapshot. Pure: the same inputs give the same table.
    ///
    /// Ingresses are taken oldest first (creationTimestamp, then namespace/name); on a conflict
    /// for the same host and path, default backend or TLS host the oldest wins and the newer
    /// one is reported in `problems`. The ingress component keeps a `RouteTableBuilder`
    /// instead, which gives the same table and rebuilds only what a change touches.
    public static func build(_ inputs: RouteInputs, settings: IngressClassSettings = IngressClassSettings()) -> RouteTable {
        var builder = RouteTableBuilder(settings: settings)
        return builder.update(inputs).table
    }

    /// A DNS name or a `*.` wildcard of one: lower-case letters, digits, '-' and '.'.
    static func isValidRuleHost(_ host: String) -> Bool {
        var rest = Substring(host)
        if rest.hasPrefix("*.") { rest = rest.dropFirst(2) }
        guard !rest.isEmpty, rest.utf8.count <= 253, !rest.hasPrefix("."), !rest.hasSuffix("."), !rest.contains("..") else { return false }
        return rest.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}
