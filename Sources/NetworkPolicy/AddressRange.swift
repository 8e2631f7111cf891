import KubeModel

/// A closed range of addresses of one family, as 128-bit numbers (IPv4 in the low 32 bits).
/// ipBlocks become lists of these (the CIDR minus its exceptions), pods single-address ones.
public struct AddressRange: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var v4: Bool
    public var lower: UInt128
    public var upper: UInt128

    public init(v4: Bool, lower: UInt128, upper: UInt128) {
        self.v4 = v4
        self.lower = lower
        self.upper = upper
    }

    public init(_ ip: IPAddress) {
        let n = AddressRange.number(ip)
        self.init(v4: ip.isV4, lower: n, upper: n)
    }

    public init(_ cidr: CIDR) {
        let bits = cidr.isV4 ? 32 : 128
        let host = bits - cidr.prefixLength
        let base = AddressRange.number(cidr.network)
        let span: UInt128 = host >= 128 ? UInt128.max : (UInt128(1) << UInt128(host)) - 1
        self.init(v4: cidr.isV4, lower: base, upper: base | span)
    }

    /// Every address of a family (`0.0.0.0/0`, `::/0`).
    public static func all(v4: Bool) -> AddressRange {
        AddressRange(v4: v4, lower: 0, upper: v4 ? UInt128(UInt32.max) : UInt128.max)
    }

    public static func number(_ ip: IPAddress) -> UInt128 {
        switch ip {
        case .v4(let v): return UInt128(v)
        case .v6(let hi, let lo): return UInt128(hi) << 64 | UInt128(lo)
        }
    }

    public static func address(_ n: UInt128, v4: Bool) -> IPAddress {
        v4 ? .v4(UInt32(truncatingIfNeeded: n)) : .v6(UInt64(truncatingIfNeeded: n >> 64), UInt64(truncatingIfNeeded: n))
    }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.isV4 == v4 else { return false }
        let n = AddressRange.number(ip)
        return lower <= n && n <= upper
    }

    public var lowerAddress: IPAddress { AddressRange.address(lower, v4: v4) }
    public var upperAddress: IPAddress { AddressRange.address(upper, v4: v4) }

    /// `10.0.0.1` or `10.0.0.0-10.0.0.255` (nft's notation).
    public var description: String {
        lower == upper ? lowerAddress.description : "\(lowerAddress)-\(upperAddress)"
    }

    public static func < (a: AddressRange, b: AddressRange) -> Bool {
        (a.v4 ? 0 : 1, a.lower, a.upper) < (b.v4 ? 0 : 1, b.lower, b.upper)
    }

    /// `self` minus `other`: zero, one or two ranges.
    public func subtracting(_ other: AddressRange) -> [AddressRange] {
        guard other.v4 == v4, other.upper >= lower, other.lower <= upper else { return [self] }
        var out: [AddressRange] = []
        if other.lower > lower { out.append(AddressRange(v4: v4, lower: lower, upper: other.lower - 1)) }
        if other.upper < upper { out.append(AddressRange(v4: v4, lower: other.upper + 1, upper: upper)) }
        return out
    }

    /// An ipBlock as disjoint ranges: the CIDR minus every exception.
    public static func ranges(cidr: CIDR, except: [CIDR]) -> [AddressRange] {
        var out = [AddressRange(cidr)]
        for e in except {
            let cut = AddressRange(e)
            out = out.flatMap { $0.subtracting(cut) }
        }
        return out
    }
}

private func < (a: (Int, UInt128, UInt128), b: (Int, UInt128, UInt128)) -> Bool {
    if a.0 != b.0 { return a.0 < b.0 }
    if a.1 != b.1 { return a.1 < b.1 }
    return a.2 < b.2
}
