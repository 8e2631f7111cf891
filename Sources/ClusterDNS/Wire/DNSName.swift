/// A domain name, kept in its uncompressed wire form (length-prefixed labels ending with the
/// root label). Comparison and hashing ignore ASCII case, as DNS does (RFC 4343); the original
/// spelling is kept so that answers can echo it.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    /// Uncompressed wire bytes, always ending with the zero-length root label.
    public let wire: [UInt8]

    /// The most bytes a name may take on the wire (RFC 1035 §2.3.4).
    public static let maxWireLength = 255
    /// The most bytes one label may hold.
    public static let maxLabelLength = 63

    /// The root name `.`.
    public static let root = DNSName(validatedWire: [0])

    /// Wraps bytes that the caller has already checked (decoder, builders in this file).
    init(validatedWire: [UInt8]) {
        self.wire = validatedWire
    }

    /// Builds a name from labels; nil when a label is empty or too long, or the name too long.
    public init?<S: Sequence>(labels: S) where S.Element: Collection, S.Element.Element == UInt8 {
        var bytes: [UInt8] = []
        for label in labels {
            guard !label.isEmpty, label.count <= DNSName.maxLabelLength else { return nil }
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
        guard bytes.count <= DNSName.maxWireLength else { return nil }
        self.wire = bytes
    }

    /// Parses presentation format (`web.shop.svc.cluster.local`, trailing dot optional,
    /// `\.` and `\DDD` escapes). Nil when malformed or too long.
    public init?(_ text: String) {
        if text == "." || text.isEmpty {
            self = .root
            return
        }
        var labels: [[UInt8]] = []
        var current: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        var sawTrailingDot = false
        while let b = bytes.popFirst() {
            sawTrailingDot = false
            switch b {
            case UInt8(ascii: "."):
                guard !current.isEmpty else { return nil }
                labels.append(current)
                current = []
                sawTrailingDot = true
            case UInt8(ascii: "\\"):
                guard let next = bytes.popFirst() else { return nil }
                if next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") {
                    guard let d2 = bytes.popFirst(), let d3 = bytes.popFirst(),
                          (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d2),
                          (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d3) else { return nil }
                    let value = Int(next - 48) * 100 + Int(d2 - 48) * 10 + Int(d3 - 48)
                    guard value <= 255 else { return nil }
                    current.append(UInt8(value))
                } else {
                    current.append(next)
                }
            default:
                current.append(b)
            }
        }
        if !current.isEmpty { labels.append(current) } else if !sawTrailingDot { return nil }
        self.init(labels: labels)
    }

    /// The number of labels, not counting the root.
    public var labelCount: Int {
        var count = 0
        var i = 0
        while wire[i] != 0 {
            count += 1
            i += Int(wire[i]) + 1
        }
        return count
    }

    /// The labels, first (leftmost) to last, as byte slices of `wire`.
    public var labels: [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while wire[i] != 0 {
            let len = Int(wire[i])
            out.append(wire[(i + 1)..<(i + 1 + len)])
            i += len + 1
        }
        return out
    }

    /// Byte offset in `wire` where label `index` starts (its length byte); `labelCount` gives the root.
    func offset(ofLabel index: Int) -> Int {
        var i = 0
        for _ in 0..<index { i += Int(wire[i]) + 1 }
        return i
    }

    /// The last `count` labels as a name (`count` ≤ `labelCount`).
    public func suffix(labels count: Int) -> DNSName {
        let start = offset(ofLabel: labelCount - count)
        return DNSName(validatedWire: Array(wire[start...]))
    }

    /// True when `self` equals `zone` or lies below it (ASCII case ignored).
    public func isSubdomain(of zone: DNSName) -> Bool {
        guard wire.count >= zone.wire.count else { return false }
        let start = wire.count - zone.wire.count
        // The suffix must start on a label boundary.
        var i = 0
        while i < start { i += Int(wire[i]) + 1 }
        guard i == start else { return false }
        for j in 0..<zone.wire.count where DNSName.lower(wire[start + j]) != DNSName.lower(zone.wire[j]) {
            return false
        }
        return true
    }

    /// The first `count` labels joined with `.` in lowercase: the key the zone index uses.
    /// Nil when a label holds a byte outside `[A-Za-z0-9_-]`, which no Kubernetes name has
    /// (so such a name simply cannot match, and a `.` inside a label cannot alias two labels).
    func lowercasedKey(firstLabels count: Int) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(wire.count)
        var i = 0
        for n in 0..<count {
            if n > 0 { out.append(UInt8(ascii: ".")) }
            let len = Int(wire[i])
            for b in wire[(i + 1)..<(i + 1 + len)] {
                let c = DNSName.lower(b)
                guard (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f else { return nil }
                out.append(c)
            }
            i += len + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `prefix` (presentation text, already valid) followed by `suffix`. Nil when too long.
    public static func join(_ prefix: String, _ suffix: DNSName) -> DNSName? {
        guard !prefix.isEmpty else { return suffix }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefix.utf8.count + suffix.wire.count + 1)
        for label in prefix.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= maxLabelLength else { return nil }
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(contentsOf: suffix.wire)
        guard bytes.count <= maxWireLength else { return nil }
        return DNSName(validatedWire: bytes)
    }

    /// The name with every ASCII letter lowercased.
    public var lowercased: DNSName {
        DNSName(validatedWire: wire.map(DNSName.lower))
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 {
        (b >= 0x41 && b <= 0x5a) ? b | 0x20 : b
    }

    public static func == (a: DNSName, b: DNSName) -> Bool {
        guard a.wire.count == b.wire.count else { return false }
        for i in 0..<a.wire.count where lower(a.wire[i]) != lower(b.wire[i]) { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        for b in wire { hasher.combine(DNSName.lower(b)) }
    }

    /// True when both names are spelled identically (case included).
    public func isIdentical(to other: DNSName) -> Bool { wire == other.wire }

    /// Presentation format with a trailing dot; unusual bytes escaped as `\DDD`.
    public var description: String {
        if wire == [0] { return "." }
        var out = ""
        for label in labels {
            for b in label {
                switch b {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"),
                     UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                    out.append("\\")
                    out.unicodeScalars.append(Unicode.Scalar(b))
                case 0x21...0x7e:
                    out.unicodeScalars.append(Unicode.Scalar(b))
                default:
                    let s = String(b)
                    out += "\\" + String(repeating: "0", count: 3 - s.count) + s
                }
            }
            out += "."
        }
        return out
    }
}
