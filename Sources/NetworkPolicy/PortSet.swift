/// A set of (protocol, port) pairs: either every protocol and port (a rule without `ports`)
/// or, per protocol, disjoint sorted port ranges. Union is what combining rules means.
public struct PortSet: Sendable, Hashable, CustomStringConvertible {
    /// Every protocol (TCP, UDP, SCTP and those without ports) and every port.
    public private(set) var anyProtocol: Bool
    /// Disjoint, sorted, non-adjacent ranges per protocol (empty when `anyProtocol`).
    public private(set) var ranges: [PolicyProtocol: [ClosedRange<Int>]]

    public static let all = PortSet(anyProtocol: true, ranges: [:])
    public static let none = PortSet(anyProtocol: false, ranges: [:])

    private init(anyProtocol: Bool, ranges: [PolicyProtocol: [ClosedRange<Int>]]) {
        self.anyProtocol = anyProtocol
        self.ranges = ranges
    }

    /// One range of one protocol.
    public init(_ proto: PolicyProtocol, _ range: ClosedRange<Int>) {
        self.init(anyProtocol: false, ranges: [proto: [range]])
    }

    public var isEmpty: Bool { !anyProtocol && ranges.isEmpty }

    public func contains(_ p: PortProtocol) -> Bool {
        anyProtocol || (ranges[p.proto]?.contains { $0.contains(p.port) } ?? false)
    }

    public mutating func formUnion(_ other: PortSet) {
        if anyProtocol { return }
        if other.anyProtocol { self = .all; return }
        for (proto, list) in other.ranges {
            ranges[proto] = PortSet.merge((ranges[proto] ?? []) + list)
        }
    }

    public func union(_ other: PortSet) -> PortSet {
        var copy = self
        copy.formUnion(other)
        return copy
    }

    static func merge(_ list: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        for r in list.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound <= last.upperBound + 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    public var description: String {
        if anyProtocol { return "all ports" }
        if ranges.isEmpty { return "no ports" }
        return ranges.keys.sorted().flatMap { proto in
            ranges[proto]!.map { r in
                r == 0...65535 ? "all \(proto)" : (r.lowerBound == r.upperBound ? "\(r.lowerBound)/\(proto)" : "\(r.lowerBound)-\(r.upperBound)/\(proto)")
            }
        }.joined(separator: ", ")
    }
}
