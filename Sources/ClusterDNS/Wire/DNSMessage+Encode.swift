import KubeModel

extension DNSMessage {
    /// Encodes the message with name compression. When it does not fit in `maxSize` bytes,
    /// records are left out from the end: additional records silently, answer or authority
    /// records with the TC bit set (RFC 2181 §9). The OPT record is always kept.
    public func encode(maxSize: Int = 65535) -> [UInt8] {
        var w = WireWriter()
        w.out.reserveCapacity(min(maxSize, 512))
        var h = header
        w.u16(h.id)
        w.u16(0)  // flags, patched below
        w.u16(UInt16(questions.count))
        w.u16(0); w.u16(0); w.u16(0)
        for q in questions {
            w.name(q.name)
            w.u16(q.type.rawValue)
            w.u16(q.qclass.rawValue)
        }
        let reserve = edns?.wireLength ?? 0
        var counts = [0, 0, 0]
        var truncated = false
        sections: for (s, section) in [answers, authorities, additionals].enumerated() {
            for rr in section {
                let mark = w.checkpoint()
                w.record(rr)
                if w.out.count + reserve > maxSize {
                    w.rollback(to: mark)
                    if s < 2 { truncated = true }
                    break sections
                }
                counts[s] += 1
            }
        }
        var arCount = counts[2]
        if let edns {
            w.name(.root)
            w.u16(RRType.opt.rawValue)
            w.u16(edns.udpPayloadSize)
            var ttl = UInt32(edns.extendedRCode) << 24 | UInt32(edns.version) << 16
            if edns.dnssecOK { ttl |= 0x8000 }
            w.u32(ttl)
            w.u16(UInt16(edns.wireLength - 11))
            for o in edns.options {
                w.u16(o.code)
                w.u16(UInt16(o.data.count))
                w.out.append(contentsOf: o.data)
            }
            arCount += 1
        }
        if truncated { h.truncated = true }
        w.patch16(at: 2, h.flags)
        w.patch16(at: 6, UInt16(counts[0]))
        w.patch16(at: 8, UInt16(counts[1]))
        w.patch16(at: 10, UInt16(arCount))
        return w.out
    }
}

/// Appends wire data, compressing names against labels already written.
struct WireWriter {
    var out: [UInt8] = []
    /// Offsets of labels written so far that a pointer may target (< 0x4000).
    private var labelOffsets: [Int] = []

    struct Checkpoint {
        let count: Int
        let labels: Int
    }

    func checkpoint() -> Checkpoint { Checkpoint(count: out.count, labels: labelOffsets.count) }

    mutating func rollback(to mark: Checkpoint) {
        out.removeSubrange(mark.count...)
        labelOffsets.removeSubrange(mark.labels...)
    }

    mutating func u16(_ v: UInt16) {
        out.append(UInt8(v >> 8))
        out.append(UInt8(v & 0xFF))
    }

    mutating func u32(_ v: UInt32) {
        out.append(UInt8(v >> 24))
        out.append(UInt8((v >> 16) & 0xFF))
        out.append(UInt8((v >> 8) & 0xFF))
        out.append(UInt8(v & 0xFF))
    }

    mutating func patch16(at i: Int, _ v: UInt16) {
        out[i] = UInt8(v >> 8)
        out[i + 1] = UInt8(v & 0xFF)
    }

    /// Writes `name`, replacing its longest suffix already in the message by a pointer.
    /// Matching is exact (case included) so that every name keeps its spelling.
    mutating func name(_ name: DNSName, compress: Bool = true) {
        let wire = name.wire
        // This name's own labels become targets only once it is complete: a half-written
        // name has no ending to follow yet.
        var written: [Int] = []
        defer { labelOffsets.append(contentsOf: written) }
        var i = 0
        while wire[i] != 0 {
            if compress, let target = find(wire, from: i) {
                u16(0xC000 | UInt16(target))
                return
            }
            if out.count < 0x4000 { written.append(out.count) }
            let len = Int(wire[i])
            out.append(contentsOf: wire[i...(i + len)])
            i += len + 1
        }
        out.append(0)
    }

    /// An earlier label offset whose name (following pointers) equals `wire[from...]`.
    private func find(_ wire: [UInt8], from start: Int) -> Int? {
        for candidate in labelOffsets where matches(candidate, wire, start) { return candidate }
        return nil
    }

    private func matches(_ offset: Int, _ wire: [UInt8], _ start: Int) -> Bool {
        var p = offset
        var i = start
        while true {
            var len = out[p]
            while len & 0xC0 == 0xC0 {
                p = Int(len & 0x3F) << 8 | Int(out[p + 1])
                len = out[p]
            }
            guard wire[i] == len else { return false }
            if len == 0 { return true }
            let n = Int(len)
            for k in 1...n where out[p + k] != wire[i + k] { return false }
            p += n + 1
            i += n + 1
        }
    }

    mutating func record(_ rr: ResourceRecord) {
        name(rr.name)
        u16(rr.type.rawValue)
        u16(rr.rclass.rawValue)
        u32(rr.ttl)
        let lengthAt = out.count
        u16(0)
        switch rr.data {
        case .a(let ip), .aaaa(let ip):
            switch ip {
            case .v4(let v): u32(v)
            case .v6(let hi, let lo):
                u32(UInt32(hi >> 32)); u32(UInt32(hi & 0xFFFF_FFFF))
                u32(UInt32(lo >> 32)); u32(UInt32(lo & 0xFFFF_FFFF))
            }
        case .cname(let n), .ns(let n), .ptr(let n):
            name(n)
        case let .srv(priority, weight, port, target):
            u16(priority); u16(weight); u16(port)
            // RFC 2782: the target is not compressed.
            name(target, compress: false)
        case .txt(let strings):
            for s in strings {
                let chunk = s.prefix(255)
                out.append(UInt8(chunk.count))
                out.append(contentsOf: chunk)
            }
        case let .soa(mname, rname, serial, refresh, retry, expire, minimum):
            name(mname)
            name(rname)
            u32(serial); u32(refresh); u32(retry); u32(expire); u32(minimum)
        case .unknown(_, let bytes):
            out.append(contentsOf: bytes)
        }
        patch16(at: lengthAt, UInt16(out.count - lengthAt - 2))
    }
}
