import KubeModel

/// A resource record type (`A`, `SRV`, …); any 16-bit value is representable.
public struct RRType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RRType(rawValue: 1)
    public static let ns = RRType(rawValue: 2)
    public static let cname = RRType(rawValue: 5)
    public static let soa = RRType(rawValue: 6)
    public static let ptr = RRType(rawValue: 12)
    public static let hinfo = RRType(rawValue: 13)
    public static let mx = RRType(rawValue: 15)
    public static let txt = RRType(rawValue: 16)
    public static let aaaa = RRType(rawValue: 28)
    public static let srv = RRType(rawValue: 33)
    public static let opt = RRType(rawValue: 41)
    public static let axfr = RRType(rawValue: 252)
    public static let any = RRType(rawValue: 255)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
        28: "AAAA", 33: "SRV", 41: "OPT", 252: "AXFR", 255: "ANY",
    ]

    /// Parses `A`, `srv`, `TYPE65`.
    public init?(_ text: String) {
        let upper = text.uppercased()
        if let hit = RRType.names.first(where: { $0.value == upper }) {
            self.rawValue = hit.key
        } else if upper.hasPrefix("TYPE"), let n = UInt16(upper.dropFirst(4)) {
            self.rawValue = n
        } else {
            return nil
        }
    }

    public var description: String { RRType.names[rawValue] ?? "TYPE\(rawValue)" }
}

/// A DNS class; kplane serves `IN` only.
public struct DNSClass: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let inet = DNSClass(rawValue: 1)
    public static let chaos = DNSClass(rawValue: 3)
    public static let hesiod = DNSClass(rawValue: 4)
    public static let none = DNSClass(rawValue: 254)
    public static let any = DNSClass(rawValue: 255)
    public var description: String {
        switch rawValue {
        case 1: return "IN"
        case 3: return "CH"
        case 4: return "HS"
        case 254: return "NONE"
        case 255: return "ANY"
        default: return "CLASS\(rawValue)"
        }
    }
}

/// A response code, including the EDNS0 extended bits (12 bits in all).
public struct RCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let noError = RCode(rawValue: 0)
    public static let formErr = RCode(rawValue: 1)
    public static let servFail = RCode(rawValue: 2)
    public static let nxDomain = RCode(rawValue: 3)
    public static let notImp = RCode(rawValue: 4)
    public static let refused = RCode(rawValue: 5)
    public static let badVers = RCode(rawValue: 16)
    public var description: String {
        switch rawValue {
        case 0: return "NOERROR"
        case 1: return "FORMERR"
        case 2: return "SERVFAIL"
        case 3: return "NXDOMAIN"
        case 4: return "NOTIMP"
        case 5: return "REFUSED"
        case 16: return "BADVERS"
        default: return "RCODE\(rawValue)"
        }
    }
}

/// The fixed 12-byte header, minus the section counts (which the codec derives).
public struct DNSHeader: Sendable, Hashable {
    public var id: UInt16 = 0
    public var isResponse = false
    public var opcode: UInt8 = 0
    public var authoritative = false
    public var truncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    public var authenticData = false
    public var checkingDisabled = false
    /// The low four bits of the response code (the rest lives in the OPT record).
    public var rcodeLow: UInt8 = 0

    public init() {}

    var flags: UInt16 {
        var f: UInt16 = 0
        if isResponse { f |= 0x8000 }
        f |= UInt16(opcode & 0xF) << 11
        if authoritative { f |= 0x0400 }
        if truncated { f |= 0x0200 }
        if recursionDesired { f |= 0x0100 }
        if recursionAvailable { f |= 0x0080 }
        if authenticData { f |= 0x0020 }
        if checkingDisabled { f |= 0x0010 }
        f |= UInt16(rcodeLow & 0xF)
        return f
    }

    init(id: UInt16, flags f: UInt16) {
        self.id = id
        isResponse = f & 0x8000 != 0
        opcode = UInt8((f >> 11) & 0xF)
        authoritative = f & 0x0400 != 0
        truncated = f & 0x0200 != 0
        recursionDesired = f & 0x0100 != 0
        recursionAvailable = f & 0x0080 != 0
        authenticData = f & 0x0020 != 0
        checkingDisabled = f & 0x0010 != 0
        rcodeLow = UInt8(f & 0xF)
    }
}

/// One entry of the question section.
public struct DNSQuestion: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var type: RRType
    public var qclass: DNSClass

    public init(name: DNSName, type: RRType, qclass: DNSClass = .inet) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }

    public var description: String { "\(name) \(qclass) \(type)" }
}

/// The data of a resource record, typed for the kinds kplane reads and writes.
public enum RecordData: Sendable, Hashable {
    case a(IPAddress)
    case aaaa(IPAddress)
    case cname(DNSName)
    case ns(DNSName)
    case ptr(DNSName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case txt([[UInt8]])
    case soa(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32)
    /// Any other type, kept as raw bytes (names in it are never decompressed).
    case unknown(RRType, [UInt8])

    public var type: RRType {
        switch self {
        case .a: return .a
        case .aaaa: return .aaaa
        case .cname: return .cname
        case .ns: return .ns
        case .ptr: return .ptr
        case .srv: return .srv
        case .txt: return .txt
        case .soa: return .soa
        case .unknown(let t, _): return t
        }
    }
}

/// A resource record of the answer, authority or additional section.
public struct ResourceRecord: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var rclass: DNSClass
    public var ttl: UInt32
    public var data: RecordData

    public init(name: DNSName, ttl: UInt32, data: RecordData, rclass: DNSClass = .inet) {
        self.name = name
        self.rclass = rclass
        self.ttl = ttl
        self.data = data
    }

    public var type: RRType { data.type }

    /// dig-style one-line presentation.
    public var description: String {
        let rdata: String
        switch data {
        case .a(let ip), .aaaa(let ip): rdata = "\(ip)"
        case .cname(let n), .ns(let n), .ptr(let n): rdata = "\(n)"
        case let .srv(p, w, port, target): rdata = "\(p) \(w) \(port) \(target)"
        case .txt(let strings):
            rdata = strings.map { "\"" + String(decoding: $0, as: UTF8.self) + "\"" }.joined(separator: " ")
        case let .soa(m, r, serial, refresh, retry, expire, minimum):
            rdata = "\(m) \(r) \(serial) \(refresh) \(retry) \(expire) \(minimum)"
        case .unknown(_, let bytes): rdata = "\\# \(bytes.count)"
        }
        return "\(name)\t\(ttl)\t\(rclass)\t\(type)\t\(rdata)"
    }
}

/// The EDNS0 pseudo-record (OPT, RFC 6891), lifted out of the additional section.
public struct EDNS: Sendable, Hashable {
    /// The largest UDP payload the sender can receive.
    public var udpPayloadSize: UInt16
    /// The high eight bits of the 12-bit response code.
    public var extendedRCode: UInt8 = 0
    public var version: UInt8 = 0
    /// DNSSEC OK.
    public var dnssecOK = false
    /// Options as (code, data) pairs, in order.
    public var options: [Option] = []

    public struct Option: Sendable, Hashable {
        public var code: UInt16
        public var data: [UInt8]
        public init(code: UInt16, data: [UInt8]) {
            self.code = code
            self.data = data
        }
    }

    public init(udpPayloadSize: UInt16, dnssecOK: Bool = false) {
        self.udpPayloadSize = udpPayloadSize
        self.dnssecOK = dnssecOK
    }

    /// Bytes the OPT record takes on the wire.
    var wireLength: Int { 11 + options.reduce(0) { $0 + 4 + $1.data.count } }
}

/// A whole DNS message. `rcode` is the full response code; the codec splits it between the
/// header and the OPT record.
public struct DNSMessage: Sendable, Hashable {
    public var header = DNSHeader()
    public var questions: [DNSQuestion] = []
    public var answers: [ResourceRecord] = []
    public var authorities: [ResourceRecord] = []
    /// Additional records other than OPT.
    public var additionals: [ResourceRecord] = []
    public var edns: EDNS?

    public init() {}

    /// A query with one question and recursion desired.
    public init(id: UInt16, question: DNSQuestion, edns: EDNS? = nil) {
        header.id = id
        header.recursionDesired = true
        questions = [question]
        self.edns = edns
    }

    public var id: UInt16 {
        get { header.id }
        set { header.id = newValue }
    }

    public var rcode: RCode {
        get { RCode(rawValue: UInt16(edns?.extendedRCode ?? 0) << 4 | UInt16(header.rcodeLow)) }
        set {
            header.rcodeLow = UInt8(newValue.rawValue & 0xF)
            if edns != nil { edns!.extendedRCode = UInt8(truncatingIfNeeded: newValue.rawValue >> 4) }
        }
    }

    /// The empty response to `query`: same id, opcode, question and RD bit.
    public static func response(to query: DNSMessage) -> DNSMessage {
        var m = DNSMessage()
        m.header.id = query.header.id
        m.header.isResponse = true
        m.header.opcode = query.header.opcode
        m.header.recursionDesired = query.header.recursionDesired
        m.header.checkingDisabled = query.header.checkingDisabled
        m.questions = query.questions
        return m
    }
}
