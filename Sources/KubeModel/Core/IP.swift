/// An IPv4 or IPv6 address, parsed without the C library so that the model stays pure.
public enum IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    public init?(_ text: String) {
        if text.contains(":") {
            guard let v = IPAddress.parseV6(text) else { return nil }
            self = v
        } else {
            guard let v = IPAddress.parseV4(text) else { return nil }
            self = .v4(v)
        }
    }

    public var isV4: Bool { if case .v4 = self { return true } else { return false } }

    /// The address as a 128-bit pair (IPv4 in the low 32 bits); for arithmetic.
    var bits: (UInt64, UInt64) {
        switch self {
        case .v4(let v): return (0, UInt64(v))
        case .v6(let h, let l): return (h, l)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        default: return a.bits < b.bits
        }
    }

    static func parseV4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let n = UInt32(p), n <= 255 else { return nil }
            // Leading zeros are ambiguous (octal in some parsers); the API server rejects them.
            if p.count > 1 && p.first == "0" { return nil }
            value = value << 8 | n
        }
        return value
    }

    static func parseV6(_ text: String) -> IPAddress? {
        var groups: [UInt16] = []
        var tail: [UInt16] = []
        var seenGap = false
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ s: String, allowV4: Bool) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if allowV4 && i == parts.count - 1 && p.contains(".") {
                    guard let v4 = parseV4(String(p)) else { return nil }
                    out.append(UInt16(v4 >> 16)); out.append(UInt16(v4 & 0xffff))
                } else {
                    guard !p.isEmpty, p.count <= 4, let g = UInt16(p, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        if halves.count == 2 {
            seenGap = true
            guard let h = parseGroups(halves[0], allowV4: false), let t = parseGroups(halves[1], allowV4: true) else { return nil }
            groups = h; tail = t
        } else {
            guard let h = parseGroups(halves[0], allowV4: true) else { return nil }
            groups = h
        }
        let total = groups.count + tail.count
        if seenGap { guard total <= 7 else { return nil } } else { guard total == 8 else { return nil } }
        let all = groups + Array(repeating: 0, count: 8 - total) + tail
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        return .v6(hi, lo)
    }

    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\((v >> 16) & 255).\((v >> 8) & 255).\(v & 255)"
        case .v6(let hi, let lo):
            var g: [UInt16] = []
            for i in 0..<4 { g.append(UInt16(truncatingIfNeeded: hi >> UInt64(48 - 16 * i))) }
            for i in 0..<4 { g.append(UInt16(truncatingIfNeeded: lo >> UInt64(48 - 16 * i))) }
            // RFC 5952: compress the longest run (length ≥ 2) of zero groups.
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if g[i] == 0 {
                    var j = i
                    while j < 8 && g[j] == 0 { j += 1 }
                    if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                    i = j
                } else { i += 1 }
            }
            func hex(_ r: ArraySlice<UInt16>) -> String { r.map { String($0, radix: 16) }.joined(separator: ":") }
            if bestStart < 0 { return hex(g[...]) }
            return hex(g[..<bestStart]) + "::" + hex(g[(bestStart + bestLen)...])
        }
    }

    /// Adds `n` to the address (wrapping inside its family).
    public func advanced(by n: UInt64) -> IPAddress {
        switch self {
        case .v4(let v): return .v4(v &+ UInt32(truncatingIfNeeded: n))
        case .v6(let hi, let lo):
            let (sum, overflow) = lo.addingReportingOverflow(n)
            return .v6(overflow ? hi &+ 1 : hi, sum)
        }
    }
}

/// A CIDR block (`10.96.0.0/12`, `fd00::/108`).
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let ip = IPAddress(String(parts[0])),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let len = Int(parts[1]) else { return nil }
        let max = ip.isV4 ? 32 : 128
        guard len >= 0 && len <= max else { return nil }
        self.address = ip
        self.prefixLength = len
    }

    public init(address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// The network address (host bits cleared).
    public var network: IPAddress { CIDR.mask(address, prefixLength) }

    /// True when the text had no host bits set (`10.0.0.0/8`, not `10.0.0.1/8`).
    public var isCanonical: Bool { network == address }

    public var isV4: Bool { address.isV4 }

    /// The number of addresses, capped at UInt64.max.
    public var size: UInt64 {
        let hostBits = (isV4 ? 32 : 128) - prefixLength
        return hostBits >= 64 ? UInt64.max : (UInt64(1) << UInt64(hostBits))
    }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.isV4 == address.isV4 else { return false }
        return CIDR.mask(ip, prefixLength) == network
    }

    /// True when every address of `other` is inside this block.
    public func contains(_ other: CIDR) -> Bool {
        other.isV4 == isV4 && other.prefixLength >= prefixLength && contains(other.address)
    }

    static func mask(_ ip: IPAddress, _ len: Int) -> IPAddress {
        switch ip {
        case .v4(let v):
            let m: UInt32 = len == 0 ? 0 : ~UInt32(0) << UInt32(32 - len)
            return .v4(v & m)
        case .v6(let hi, let lo):
            let mh: UInt64 = len >= 64 ? ~0 : (len == 0 ? 0 : ~UInt64(0) << UInt64(64 - len))
            let ml: UInt64 = len <= 64 ? 0 : (len == 128 ? ~0 : ~UInt64(0) << UInt64(128 - len))
            return .v6(hi & mh, lo & ml)
        }
    }

    public var description: String { "\(network)/\(prefixLength)" }
}
