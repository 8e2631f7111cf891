import KubeModel

/// The addresses LoadBalancer Services may get: CIDRs and inclusive ranges, comma-separated
/// (`10.250.0.0/28`, `10.250.0.10-10.250.0.20`, `fd00:lb::/120`).
public struct AddressPool: Sendable, Hashable, CustomStringConvertible {
    /// One contiguous block, inclusive.
    public struct Block: Sendable, Hashable {
        public var first: IPAddress
        public var last: IPAddress
    }

    public let blocks: [Block]
    public let text: String

    /// The default pool: a small private range (MetalLB-style addresses held by the node).
    public static let defaultText = "10.250.0.1-10.250.0.14"

    public init?(_ text: String) {
        var blocks: [Block] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            if part.contains("/") {
                guard let cidr = CIDR(part), cidr.isCanonical else { return nil }
                let size = cidr.size
                var first = cidr.network, last = cidr.network.advanced(by: size == UInt64.max ? UInt64.max : size - 1)
                // IPv4 blocks larger than /31 lose their network and broadcast addresses.
                if cidr.isV4 && cidr.prefixLength < 31 {
                    first = first.advanced(by: 1)
                    last = cidr.network.advanced(by: size - 2)
                }
                blocks.append(Block(first: first, last: last))
            } else {
                let ends = part.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
                guard ends.count == 2, let a = IPAddress(ends[0]), let b = IPAddress(ends[1]), a.isV4 == b.isV4, a <= b else { return nil }
                blocks.append(Block(first: a, last: b))
            }
        }
        guard !blocks.isEmpty else { return nil }
        self.blocks = blocks
        self.text = text
    }

    public var description: String { text }

    public func contains(_ ip: IPAddress) -> Bool {
        blocks.contains { $0.first.isV4 == ip.isV4 && $0.first <= ip && ip <= $0.last }
    }

    /// Addresses of one family in pool order (lazily, so a /64 costs nothing).
    public func addresses(v4: Bool) -> some Sequence<IPAddress> {
        blocks.lazy.filter { $0.first.isV4 == v4 }.flatMap { block in
            sequence(first: block.first) { ip in ip < block.last ? ip.advanced(by: 1) : nil }
        }
    }
}
