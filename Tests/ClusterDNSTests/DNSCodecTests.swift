import Testing
import KubeModel
@testable import ClusterDNS

@Suite struct DNSNameTests {
    @Test(arguments: [
        ("web.shop.svc.cluster.local", "web.shop.svc.cluster.local."),
        ("web.shop.svc.cluster.local.", "web.shop.svc.cluster.local."),
        (".", "."),
        ("a\\.b.c", "a\\.b.c."),
        ("a\\032b.c", "a\\032b.c."),
        ("MiXeD.Case", "MiXeD.Case."),
    ])
    func parsesAndPrints(text: String, printed: String) throws {
        let name = try #require(DNSName(text))
        #expect(name.description == printed)
    }

    @Test(arguments: ["a..b", "..", String(repeating: "a", count: 64) + ".com",
                      Array(repeating: String(repeating: "a", count: 63), count: 5).joined(separator: "."),
                      "a\\", "a\\25", "a\\999"])
    func rejects(text: String) {
        #expect(DNSName(text) == nil)
    }

    @Test func caseInsensitiveEqualityAndSuffix() throws {
        let a = try #require(DNSName("SvC1.TeStNs.svc.ClUsTeR.lOcAl"))
        let b = try #require(DNSName("svc1.testns.svc.cluster.local."))
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(!a.isIdentical(to: b))
        #expect(a.isSubdomain(of: try #require(DNSName("cluster.local"))))
        #expect(!a.isSubdomain(of: try #require(DNSName("ster.local"))))
        #expect(a.suffix(labels: 2).description == "ClUsTeR.lOcAl.")
        #expect(a.lowercasedKey(firstLabels: 3) == "svc1.testns.svc")
        #expect(a.labelCount == 5)
    }
}

@Suite struct DNSCodecTests {
    static func sampleResponse() -> DNSMessage {
        let q = DNSMessage(id: 0xBEEF, question: DNSQuestion(name: DNSName("_http._tcp.web.shop.svc.cluster.local")!, type: .srv),
                           edns: EDNS(udpPayloadSize: 1232))
        var m = DNSMessage.response(to: q)
        m.edns = EDNS(udpPayloadSize: 1232)
        m.header.authoritative = true
        let target = DNSName("web.shop.svc.cluster.local")!
        m.answers = [ResourceRecord(name: q.questions[0].name, ttl: 5, data: .srv(priority: 0, weight: 100, port: 80, target: target))]
        m.additionals = [
            ResourceRecord(name: target, ttl: 5, data: .a(IPAddress("10.96.0.20")!)),
            ResourceRecord(name: target, ttl: 5, data: .aaaa(IPAddress("fd00::20")!)),
        ]
        m.authorities = [ResourceRecord(name: DNSName("cluster.local")!, ttl: 5, data: .soa(
            mname: DNSName("ns.dns.cluster.local")!, rname: DNSName("hostmaster.cluster.local")!,
            serial: 7, refresh: 7200, retry: 1800, expire: 86400, minimum: 5))]
        return m
    }

    @Test func roundTripsEveryType() throws {
        var m = Self.sampleResponse()
        m.answers += [
            ResourceRecord(name: DNSName("x.cluster.local")!, ttl: 30, data: .cname(DNSName("web.shop.svc.cluster.local")!)),
            ResourceRecord(name: DNSName("20.0.96.10.in-addr.arpa")!, ttl: 5, data: .ptr(DNSName("web.shop.svc.cluster.local")!)),
            ResourceRecord(name: DNSName("dns-version.cluster.local")!, ttl: 28800, data: .txt([Array("1.1.0".utf8), []])),
            ResourceRecord(name: DNSName("cluster.local")!, ttl: 5, data: .ns(DNSName("ns.dns.cluster.local")!)),
            ResourceRecord(name: DNSName("cluster.local")!, ttl: 5, data: .unknown(RRType(rawValue: 99), [1, 2, 3])),
        ]
        m.edns?.options = [EDNS.Option(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]
        m.edns?.dnssecOK = true
        m.rcode = .badVers
        let bytes = m.encode()
        let back = try DNSMessage(decoding: bytes)
        #expect(back == m)
        #expect(back.rcode == .badVers)
    }

    @Test func compressesRepeatedSuffixes() {
        let m = Self.sampleResponse()
        let bytes = m.encode()
        // The question name is written once; SRV target is uncompressed (RFC 2782), the
        // A/AAAA owners point at it, SOA names point at the question's zone suffix.
        #expect(bytes.count < 220)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.components(separatedBy: "cluster").count - 1 == 2)
    }

    @Test func keepsSpellingWhenCompressing() throws {
        var m = Self.sampleResponse()
        m.questions[0].name = DNSName("_HtTp._TcP.WeB.shop.svc.cluster.local")!
        let back = try DNSMessage(decoding: m.encode())
        #expect(back.questions[0].name.isIdentical(to: m.questions[0].name))
        guard case .srv(_, _, _, let target) = back.answers[0].data else { Issue.record("no SRV"); return }
        #expect(target.description == "web.shop.svc.cluster.local.")
    }

    @Test func truncatesWithTCWhenAnswersDoNotFit() throws {
        var m = Self.sampleResponse()
        let owner = DNSName("many.shop.svc.cluster.local")!
        m.answers = (0..<100).map { ResourceRecord(name: owner, ttl: 5, data: .a(.v4(0x0A00_0000 + UInt32($0)))) }
        let bytes = m.encode(maxSize: 512)
        #expect(bytes.count <= 512)
        let back = try DNSMessage(decoding: bytes)
        #expect(back.header.truncated)
        #expect(back.answers.count > 10 && back.answers.count < 100)
        #expect(back.edns?.udpPayloadSize == 1232)
        #expect(back.additionals.isEmpty)
    }

    @Test func dropsAdditionalsWithoutTC() throws {
        var m = Self.sampleResponse()
        let target = DNSName("web.shop.svc.cluster.local")!
        m.additionals = (0..<60).map { ResourceRecord(name: target, ttl: 5, data: .a(.v4(UInt32($0)))) }
        let back = try DNSMessage(decoding: m.encode(maxSize: 512))
        #expect(!back.header.truncated)
        #expect(back.answers.count == 1)
        #expect(back.additionals.count < 60)
    }

    struct Bad: Sendable, CustomStringConvertible {
        let description: String
        let bytes: [UInt8]
        let code: DNSError.Code
    }

    static let header: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
    static let badCases: [Bad] = [
        Bad(description: "short header", bytes: [0x12, 0x34, 0x01], code: .truncated),
        Bad(description: "question missing", bytes: header, code: .truncated),
        Bad(description: "label past end", bytes: header + [5, 0x61, 0x62], code: .truncated),
        Bad(description: "reserved label type", bytes: header + [0x40, 0, 0, 1, 0, 1], code: .badName),
        Bad(description: "pointer to itself", bytes: header + [0xC0, 12, 0, 1, 0, 1], code: .badPointer),
        Bad(description: "forward pointer", bytes: header + [0xC0, 14, 1, 0x61, 0, 0, 1, 0, 1], code: .badPointer),
        Bad(description: "loop via two pointers", bytes: header + [1, 0x61, 0xC0, 16, 1, 0x62, 0xC0, 12, 0, 1, 0, 1], code: .badPointer),
        Bad(description: "pointer past packet", bytes: header + [0xC0, 0xFF, 0, 1, 0, 1], code: .badPointer),
        Bad(description: "name over 255 bytes", bytes: header + Array(repeating: [63] + Array(repeating: UInt8(0x61), count: 63), count: 5).flatMap { $0 } + [0, 0, 1, 0, 1], code: .badName),
        Bad(description: "huge counts", bytes: [0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0] + [0, 0, 1, 0, 1], code: .truncated),
        Bad(description: "A record of 3 bytes", bytes: [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0] + [0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 3, 1, 2, 3], code: .badRecordData),
        Bad(description: "rdata past end", bytes: [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0] + [0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 9, 1, 2, 3], code: .truncated),
        Bad(description: "CNAME overrunning rdata", bytes: [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, 0, 0] + [0, 0, 5, 0, 1, 0, 0, 0, 5, 0, 2, 3, 0x61, 0x62, 0x63, 0], code: .truncated),
        Bad(description: "two OPT records", bytes: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2] + [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0], code: .badRecordData),
    ]

    @Test(arguments: badCases)
    func rejectsMalformed(_ bad: Bad) {
        do {
            _ = try DNSMessage(decoding: bad.bytes)
            Issue.record("decoded \(bad.description)")
        } catch {
            #expect(error.code == bad.code, "\(bad.description): \(error)")
        }
    }

    @Test func decodesDigQuery() throws {
        // `dig @127.0.0.1 web.shop.svc.cluster.local A` with a cookie option.
        let bytes: [UInt8] = [0x8e, 0x1c, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
                              3, 0x77, 0x65, 0x62, 4, 0x73, 0x68, 0x6f, 0x70, 3, 0x73, 0x76, 0x63,
                              7, 0x63, 0x6c, 0x75, 0x73, 0x74, 0x65, 0x72, 5, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0,
                              0, 1, 0, 1,
                              0, 0, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0x0c, 0, 0x0a, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]
        let m = try DNSMessage(decoding: bytes)
        #expect(m.questions == [DNSQuestion(name: DNSName("web.shop.svc.cluster.local")!, type: .a)])
        #expect(m.edns?.udpPayloadSize == 1232)
        #expect(m.edns?.options.first?.code == 10)
        #expect(m.header.recursionDesired && m.header.authenticData)
        #expect(m.encode() == bytes)
    }
}
