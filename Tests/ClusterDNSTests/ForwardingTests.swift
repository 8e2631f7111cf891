import Testing
import KubeModel
import NIOCore
@testable import ClusterDNS

@Suite struct ForwardCacheTests {
    static let name = DNSName("www.example.org")!
    static let key = ForwardCache.Key(name: name, type: .a, checkingDisabled: false)

    static func reply(ttl: UInt32, rcode: RCode = .noError, soaTTL: UInt32 = 60, minimum: UInt32 = 30) -> DNSMessage {
        var m = DNSMessage()
        m.header.isResponse = true
        m.rcode = rcode
        if rcode == .noError && ttl > 0 {
            m.answers = [ResourceRecord(name: name, ttl: ttl, data: .a(IPAddress("192.0.2.1")!))]
        } else {
            m.authorities = [ResourceRecord(name: DNSName("example.org")!, ttl: soaTTL, data: .soa(
                mname: DNSName("ns.example.org")!, rname: DNSName("h.example.org")!, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: minimum))]
        }
        return m
    }

    @Test func positiveEntriesAgeAndExpire() {
        var c = ForwardCache()
        c.put(Self.key, Self.reply(ttl: 10), now: 100)
        #expect(c.get(Self.key, now: 103)?.answers.first?.ttl == 7)
        // Case does not matter for the key.
        #expect(c.get(ForwardCache.Key(name: DNSName("WWW.Example.ORG")!, type: .a, checkingDisabled: false), now: 104) != nil)
        #expect(c.get(Self.key, now: 110) == nil)
        #expect(c.count == 0)
    }

    @Test func negativeEntriesUseTheSOAMinimum() {
        var c = ForwardCache()
        c.put(Self.key, Self.reply(ttl: 0, rcode: .nxDomain, soaTTL: 60, minimum: 30), now: 0)
        #expect(c.get(Self.key, now: 29)?.rcode == .nxDomain)
        #expect(c.get(Self.key, now: 31) == nil)
        // NODATA without an SOA is not cached (no TTL to honour).
        var nodata = Self.reply(ttl: 0)
        nodata.authorities = []
        c.put(Self.key, nodata, now: 0)
        #expect(c.count == 0)
    }

    @Test func servfailAndZeroTTLAreNotCached() {
        var c = ForwardCache()
        c.put(Self.key, Self.reply(ttl: 0, rcode: .servFail), now: 0)
        var zeroTTL = Self.reply(ttl: 10)
        zeroTTL.answers[0].ttl = 0
        c.put(Self.key, zeroTTL, now: 0)
        #expect(c.count == 0)
    }

    @Test func staysWithinCapacity() {
        var c = ForwardCache(capacity: 100)
        for i in 0..<1000 {
            let k = ForwardCache.Key(name: DNSName("h\(i).example.org")!, type: .a, checkingDisabled: false)
            c.put(k, Self.reply(ttl: 60), now: 0)
            #expect(c.count <= 100)
        }
        #expect(c.get(ForwardCache.Key(name: DNSName("h999.example.org")!, type: .a, checkingDisabled: false), now: 1) != nil)
    }

    @Test func capsLongTTLs() {
        var c = ForwardCache(maxPositiveTTL: 100)
        c.put(Self.key, Self.reply(ttl: 86400), now: 0)
        #expect(c.get(Self.key, now: 101) == nil)
    }
}

@Suite struct ResolvConfTests {
    @Test func readsNameservers() {
        let text = """
            # comment
            search example.org
            nameserver 127.0.0.53
            nameserver fe80::1%eth0
            nameserver   10.0.0.2
            options ndots:5
            """
        #expect(ResolvConf.nameservers(in: text).map(\.description) == [
            "[IPv4]127.0.0.53:53", "[IPv6]fe80::1:53", "[IPv4]10.0.0.2:53",
        ])
    }

    @Test(arguments: [("127.0.0.1", 53), ("127.0.0.1:5353", 5353), ("[::1]:54", 54), ("::1", 53)])
    func parsesAddresses(text: String, port: Int) throws {
        #expect(try ResolvConf.address(text).port == port)
    }

    @Test(arguments: ["example.org", "127.0.0.1:x", "[::1", "1.2.3.4:70000"])
    func rejectsBadAddresses(text: String) {
        #expect(throws: DNSError.self) { try ResolvConf.address(text) }
    }
}

@Suite struct QueryHandlerTests {
    static let handler = QueryHandler(zone: Fixture.zone(), forwarder: nil, metrics: DNSMetrics())

    func reply(_ bytes: [UInt8], _ transport: QueryHandler.Transport = .udp) throws -> DNSMessage {
        guard case .reply(let out) = Self.handler.handle(bytes, transport: transport) else {
            throw DNSError(.badQuery, "no reply")
        }
        return try DNSMessage(decoding: out)
    }

    @Test func dropsRuntsAndResponses() {
        if case .drop = Self.handler.handle([1, 2, 3], transport: .udp) {} else { Issue.record("runt answered") }
        var r = DNSMessage(id: 1, question: DNSQuestion(name: DNSName("svc1.testns.svc.cluster.local")!, type: .a))
        r.header.isResponse = true
        if case .drop = Self.handler.handle(r.encode(), transport: .udp) {} else { Issue.record("response answered") }
    }

    @Test func notImplementedOpcode() throws {
        var q = DNSMessage(id: 5, question: DNSQuestion(name: DNSName("svc1.testns.svc.cluster.local")!, type: .a))
        q.header.opcode = 5  // UPDATE
        #expect(try reply(q.encode()).rcode == .notImp)
    }

    @Test func refusesZoneTransfers() throws {
        let q = DNSMessage(id: 5, question: DNSQuestion(name: DNSName("cluster.local")!, type: .axfr))
        #expect(try reply(q.encode(), .tcp).rcode == .refused)
    }

    @Test func echoesEDNSAndCapsUDPAtTheAdvertisedSize() throws {
        let q = DNSMessage(id: 5, question: DNSQuestion(name: DNSName("hdls1.testns.svc.cluster.local")!, type: .a),
                           edns: EDNS(udpPayloadSize: 4096))
        let r = try reply(q.encode())
        #expect(r.edns?.udpPayloadSize == QueryHandler.udpPayloadSize)
        #expect(r.header.authoritative && !r.header.recursionAvailable)
        #expect(r.answers.count == 4)
    }

    @Test func everyMutatedQueryGetsAnAnswerOrIsDropped() {
        // The whole request path, not just the decoder, on hostile input.
        var rng = SplitMix(state: 99)
        let seed = DNSMessage(id: 5, question: DNSQuestion(name: DNSName("_http._tcp.hdls1.testns.svc.cluster.local")!, type: .srv),
                              edns: EDNS(udpPayloadSize: 1232)).encode()
        for _ in 0..<50_000 {
            var b = seed
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            switch Self.handler.handle(b, transport: rng.next() % 2 == 0 ? .udp : .tcp) {
            case .reply(let out): #expect((try? DNSMessage(decoding: out)) != nil)
            case .drop, .forward: break
            }
        }
    }
}
