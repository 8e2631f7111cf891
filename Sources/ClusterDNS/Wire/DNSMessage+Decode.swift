import KubeModel

extension DNSMessage {
    /// Decodes a message. Every length and pointer is checked against the packet: bad input
    /// throws (it never traps), and compression pointers may only point backwards, so a
    /// decode always terminates.
    public init(decoding bytes: [UInt8]) throws(DNSError) {
        var r = WireReader(bytes)
        let id = try r.u16()
        let flags = try r.u16()
        header = DNSHeader(id: id, flags: flags)
        let qd = Int(try r.u16()), an = Int(try r.u16()), ns = Int(try r.u16()), ar = Int(try r.u16())
        // Every question takes at least 5 bytes and every record 11: reject absurd counts
        // before reserving anything.
        guard qd * 5 + (an + ns + ar) * 11 <= bytes.count - 12 else {
            throw DNSError(.truncated, "section counts exceed the packet size")
        }
        questions = []
        questions.reserveCapacity(qd)
        for _ in 0..<qd {
            let name = try r.name()
            let type = RRType(rawValue: try r.u16())
            let qclass = DNSClass(rawValue: try r.u16())
            questions.append(DNSQuestion(name: name, type: type, qclass: qclass))
        }
        answers = try r.records(an)
        authorities = try r.records(ns)
        var extra = try r.records(ar, allowOPT: true)
        edns = nil
        if let optIndex = extra.firstIndex(where: { $0.data.type == .opt }) {
            let opt = extra.remove(at: optIndex)
            guard !extra.contains(where: { $0.data.type == .opt }) else {
                throw DNSError(.badRecordData, "more than one OPT record")
            }
            guard opt.name == .root else { throw DNSError(.badRecordData, "OPT record not owned by the root") }
            guard case .unknown(_, let rdata) = opt.data else { throw DNSError(.badRecordData, "bad OPT record") }
            var e = EDNS(udpPayloadSize: opt.rclass.rawValue)
            e.extendedRCode = UInt8(opt.ttl >> 24)
            e.version = UInt8((opt.ttl >> 16) & 0xFF)
            e.dnssecOK = opt.ttl & 0x8000 != 0
            var o = WireReader(rdata)
            while o.remaining > 0 {
                let code = try o.u16()
                let len = Int(try o.u16())
                e.options.append(EDNS.Option(code: code, data: try o.bytes(len)))
            }
            edns = e
        }
        additionals = extra
        // Trailing bytes after the last record are tolerated, as most servers do.
    }

    /// Reads just the header (for a FORMERR reply to a packet whose body is broken).
    public static func decodeHeader(_ bytes: [UInt8]) -> DNSHeader? {
        guard bytes.count >= 12 else { return nil }
        return DNSHeader(id: UInt16(bytes[0]) << 8 | UInt16(bytes[1]), flags: UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
    }
}

/// A bounds-checked cursor over a packet.
struct WireReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func u8() throws(DNSError) -> UInt8 {
        guard position < bytes.count else { throw DNSError(.truncated, "packet ends inside a field") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() throws(DNSError) -> UInt16 {
        guard position + 2 <= bytes.count else { throw DNSError(.truncated, "packet ends inside a field") }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func u32() throws(DNSError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw DNSError(.truncated, "packet ends inside a field") }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16
            | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3])
    }

    mutating func bytes(_ n: Int) throws(DNSError) -> [UInt8] {
        guard n >= 0, position + n <= bytes.count else { throw DNSError(.truncated, "packet ends inside a field") }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }

    /// Reads a possibly compressed name. A pointer must point strictly before the label that
    /// holds it (RFC 1035 §4.1.4 only ever points back), which rules out loops.
    mutating func name(limit: Int? = nil) throws(DNSError) -> DNSName {
        let end = limit ?? bytes.count
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var p = position
        var jumped = false
        var minPointerTarget = position  // pointers must land before this
        while true {
            guard p < end || (jumped && p < bytes.count) else { throw DNSError(.truncated, "name runs past the data") }
            let len = bytes[p]
            switch len & 0xC0 {
            case 0x00:
                if len == 0 {
                    out.append(0)
                    if !jumped { position = p + 1 }
                    guard out.count <= DNSName.maxWireLength else { throw DNSError(.badName, "name longer than 255 bytes") }
                    return DNSName(validatedWire: out)
                }
                let n = Int(len)
                guard p + 1 + n <= (jumped ? bytes.count : end) else { throw DNSError(.truncated, "label runs past the data") }
                out.append(len)
                out.append(contentsOf: bytes[(p + 1)..<(p + 1 + n)])
                guard out.count < DNSName.maxWireLength else { throw DNSError(.badName, "name longer than 255 bytes") }
                p += 1 + n
            case 0xC0:
                guard p + 1 < (jumped ? bytes.count : end) else { throw DNSError(.truncated, "pointer runs past the data") }
                let target = Int(len & 0x3F) << 8 | Int(bytes[p + 1])
                guard target < minPointerTarget, target < p else {
                    throw DNSError(.badPointer, "compression pointer to \(target) does not point backwards")
                }
                if !jumped { position = p + 2 }
                jumped = true
                minPointerTarget = target
                p = target
            default:
                throw DNSError(.badName, "reserved label type 0x\(String(len & 0xC0, radix: 16))")
            }
        }
    }

    mutating func records(_ count: Int, allowOPT: Bool = false) throws(DNSError) -> [ResourceRecord] {
        var out: [ResourceRecord] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let name = try name()
            let type = RRType(rawValue: try u16())
            let rclass = DNSClass(rawValue: try u16())
            let ttl = try u32()
            let rdlength = Int(try u16())
            guard position + rdlength <= bytes.count else { throw DNSError(.truncated, "record data runs past the packet") }
            if type == .opt && !allowOPT { throw DNSError(.badRecordData, "OPT record outside the additional section") }
            let data = try recordData(type: type, length: rdlength)
            out.append(ResourceRecord(name: name, ttl: ttl, data: data, rclass: rclass))
        }
        return out
    }

    private mutating func recordData(type: RRType, length: Int) throws(DNSError) -> RecordData {
        let start = position
        let end = start + length
        let data: RecordData
        switch type {
        case .a:
            guard length == 4 else { throw DNSError(.badRecordData, "A record with \(length) bytes") }
            data = .a(.v4(try u32()))
        case .aaaa:
            guard length == 16 else { throw DNSError(.badRecordData, "AAAA record with \(length) bytes") }
            let hi = UInt64(try u32()) << 32 | UInt64(try u32())
            let lo = UInt64(try u32()) << 32 | UInt64(try u32())
            data = .aaaa(.v6(hi, lo))
        case .cname: data = .cname(try name(limit: end))
        case .ns: data = .ns(try name(limit: end))
        case .ptr: data = .ptr(try name(limit: end))
        case .srv:
            guard length >= 7 else { throw DNSError(.badRecordData, "SRV record too short") }
            let priority = try u16(), weight = try u16(), port = try u16()
            data = .srv(priority: priority, weight: weight, port: port, target: try name(limit: end))
        case .txt:
            var strings: [[UInt8]] = []
            while position < end {
                let n = Int(try u8())
                guard position + n <= end else { throw DNSError(.badRecordData, "TXT string runs past the record") }
                strings.append(try bytes(n))
            }
            data = .txt(strings)
        case .soa:
            let mname = try name(limit: end)
            let rname = try name(limit: end)
            guard position + 20 <= end else { throw DNSError(.badRecordData, "SOA record too short") }
            data = .soa(mname: mname, rname: rname, serial: try u32(), refresh: try u32(),
                        retry: try u32(), expire: try u32(), minimum: try u32())
        default:
            data = .unknown(type, try bytes(length))
        }
        guard position == end else { throw DNSError(.badRecordData, "\(type) record data has \(length) bytes, used \(position - start)") }
        return data
    }
}
