/// The transport protocols a NetworkPolicy port names (`TCP`, `UDP`, `SCTP`).
public enum PolicyProtocol: String, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"

    /// Parses `TCP`, `tcp`, …; nil for anything else.
    public init?(name: String) {
        guard let p = PolicyProtocol(rawValue: name.uppercased()) else { return nil }
        self = p
    }

    /// The IP protocol number (`meta l4proto`).
    public var number: Int {
        switch self {
        case .tcp: return 6
        case .udp: return 17
        case .sctp: return 132
        }
    }

    public var description: String { rawValue }

    public static func < (a: PolicyProtocol, b: PolicyProtocol) -> Bool { a.number < b.number }
}

/// A destination port and protocol (`80/TCP`).
public struct PortProtocol: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var port: Int
    public var proto: PolicyProtocol

    public init(_ port: Int, _ proto: PolicyProtocol) {
        self.port = port
        self.proto = proto
    }

    /// Parses `80/TCP`, `53/udp` or `80` (TCP).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let port = Int(parts[0]), (1...65535).contains(port) else { return nil }
        let proto = parts.count == 2 ? PolicyProtocol(name: String(parts[1])) : .tcp
        guard let proto else { return nil }
        self.init(port, proto)
    }

    public var description: String { "\(port)/\(proto)" }

    public static func < (a: PortProtocol, b: PortProtocol) -> Bool { (a.proto, a.port) < (b.proto, b.port) }
}
