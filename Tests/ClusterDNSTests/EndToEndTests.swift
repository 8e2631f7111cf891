import Foundation
import Testing
import KubeModel
import ClusterStore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
@testable import ClusterDNS

/// A fake upstream resolver on 127.0.0.1: answers `*.example.org` A with 192.0.2.1 (TTL 300),
/// NXDOMAIN for `missing.example.org`, and truncates `big.example.org` over UDP so the
/// client must retry on TCP. Counts the questions it gets.
final class FakeUpstream: Sendable {
    let address: SocketAddress
    let counts = Mutex<[String: Int]>([:])
    private let channels: [any Channel]

    private init(address: SocketAddress, channels: [any Channel]) {
        self.address = address
        self.channels = channels
    }

    static func start(delay: TimeAmount = .zero) async throws -> FakeUpstream {
        let box = CountsBox()
        let udp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(UpstreamUDP(box: box, delay: delay)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var tcpAddress = udp.localAddress!
        tcpAddress.port = udp.localAddress!.port!
        let tcp = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSLengthPrefixDecoder()))
                    try ch.pipeline.syncOperations.addHandler(UpstreamTCP(box: box))
                }
            }
            .bind(to: tcpAddress).get()
        let up = FakeUpstream(address: udp.localAddress!, channels: [udp, tcp])
        box.owner.withLock { $0 = up }
        return up
    }

    func count(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }

    func stop() async { for c in channels { try? await c.close() } }

    /// The upstream's answer to a query, and whether UDP must truncate it.
    static func answer(_ query: [UInt8], udp: Bool) -> [UInt8]? {
        guard let q = try? DNSMessage(decoding: query), let question = q.questions.first else { return nil }
        var r = DNSMessage.response(to: q)
        r.header.recursionAvailable = true
        let name = question.name.description.lowercased()
        if name == "missing.example.org." {
            r.rcode = .nxDomain
            r.authorities = [ResourceRecord(name: DNSName("example.org")!, ttl: 60, data: .soa(
                mname: DNSName("ns.example.org")!, rname: DNSName("h.example.org")!, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60))]
        } else if name == "big.example.org." && udp {
            r.header.truncated = true
        } else if question.type == .a {
            let n = name == "big.example.org." ? 40 : 1
            r.answers = (0..<n).map { ResourceRecord(name: question.name, ttl: 300, data: .a(.v4(0xC000_0201 + UInt32($0)))) }
        }
        return r.encode()
    }

    final class CountsBox: Sendable {
        let owner = Mutex<FakeUpstream?>(nil)
        func note(_ query: [UInt8]) {
            guard let q = try? DNSMessage(decoding: query), let name = q.questions.first?.name.description.lowercased() else { return }
            owner.withLock { $0 }?.counts.withLock { $0[name, default: 0] += 1 }
        }
    }

    final class UpstreamUDP: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let box: CountsBox
        let delay: TimeAmount
        init(box: CountsBox, delay: TimeAmount) { self.box = box; self.delay = delay }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let env = unwrapInboundIn(data)
            let query = Array(env.data.readableBytesView)
            box.note(query)
            guard let reply = FakeUpstream.answer(query, udp: true) else { return }
            let out = AddressedEnvelope(remoteAddress: env.remoteAddress, data: context.channel.allocator.buffer(bytes: reply))
            let channel = context.channel
            context.eventLoop.scheduleTask(in: delay) { channel.writeAndFlush(out, promise: nil) }
        }
    }

    final class UpstreamTCP: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let box: CountsBox
        init(box: CountsBox) { self.box = box }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let query = Array(unwrapInboundIn(data).readableBytesView)
            box.note(query)
            guard let reply = FakeUpstream.answer(query, udp: false) else { return }
            context.writeAndFlush(wrapOutboundOut(TCPQueryHandler.framed(reply, allocator: context.channel.allocator)), promise: nil)
        }
    }
}

/// A MemoryStore and a DNS server on 127.0.0.1 (port 0), run by a ServiceGroup.
struct TestCluster {
    let store: MemoryStore
    let dns: ClusterDNSService
    let address: SocketAddress
    let group: ServiceGroup

    static func with(upstream: FakeUpstream?, _ body: (TestCluster) async throws -> Void) async throws {
        let logger = Logger(label: "test")
        let store = MemoryStore()
        try await seed(store)
        let dns = ClusterDNSService(configuration: ClusterDNSConfiguration(
            listen: try SocketAddress(ipAddress: "127.0.0.1", port: 0), upstreams: upstream.map { [$0.address] } ?? [],
            upstreamTimeout: .milliseconds(500), udpSockets: 2), store: store, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [dns], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let address = try #require(await dns.listeningAddress())
            _ = await dns.inputs.waitUntilSynced()
            // Let the zone take the first snapshot.
            for _ in 0..<100 where !dns.handler.currentZone.isSynced { try await Task.sleep(for: .milliseconds(10)) }
            do {
                try await body(TestCluster(store: store, dns: dns, address: address, group: group))
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func seed(_ store: MemoryStore) async throws {
        _ = try await store.create(Object(Fixture.namespace("shop")))
        var web = Fixture.service("shop", "web", ips: [], ports: [("http", "TCP", 80)])
        web.spec.clusterIP = nil
        _ = try await store.create(Object(web))
        var db = Fixture.headless("shop", "db")
        db.spec.clusterIPs = nil
        db.spec.ports = [Service.Port(name: "pg", protocol: "TCP", port: 5432)]
        _ = try await store.create(Object(db))
        _ = try await store.create(Object(Fixture.slice("shop", "db", "db-abc", [.init(ip: "10.244.0.5", hostname: "db-0"), .init(ip: "10.244.0.6")],
                                                        ports: [("pg", "TCP", 5432)])))
        _ = try await store.create(Object(Fixture.service("shop", "ext", ips: [], type: "ExternalName", externalName: "www.example.org")))
        for i in 0..<30 {
            _ = try await store.create(Object(Fixture.slice("shop", "many", "many-\(i)", [.init(ip: "10.244.1.\(i + 1)")])))
        }
        var many = Fixture.headless("shop", "many")
        many.spec.clusterIPs = nil
        _ = try await store.create(Object(many))
    }

    /// Asks our server with our own client.
    func ask(_ name: String, _ type: RRType, tcp: Bool = false, edns: UInt16? = 1232, id: UInt16 = 0x4242) async throws -> DNSMessage {
        let q = DNSMessage(id: id, question: DNSQuestion(name: DNSName(name)!, type: type), edns: edns.map { EDNS(udpPayloadSize: $0) })
        let raw = try await NIOUpstreamTransport().exchange(q.encode(), with: address, overTCP: tcp, timeout: .seconds(2))
        return try DNSMessage(decoding: raw)
    }

    func raw(_ bytes: [UInt8], tcp: Bool = false) async throws -> [UInt8] {
        try await NIOUpstreamTransport().exchange(bytes, with: address, overTCP: tcp, timeout: .seconds(1))
    }

    func webIP() async throws -> String {
        let obj = try await store.get(ObjectKey(type: Service.resourceType, namespace: "shop", name: "web"))
        return try #require(obj?.decode(Service.self).spec.clusterIP)
    }
}

/// Runs `dig`, or returns nil when it is not installed.
func dig(_ args: [String]) throws -> String? {
    guard let path = ["/usr/bin/dig", "/bin/dig", "/usr/local/bin/dig"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        print("dig not installed: skipping the dig checks")
        return nil
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args + ["+time=2", "+tries=1"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite(.serialized) struct EndToEndTests {
    @Test func answersClusterNamesOverUDPAndTCP() async throws {
        try await TestCluster.with(upstream: nil) { c in
            let ip = try await c.webIP()
            for tcp in [false, true] {
                let r = try await c.ask("web.shop.svc.cluster.local", .a, tcp: tcp)
                #expect(r.id == 0x4242 && r.header.authoritative && r.rcode == .noError)
                #expect(r.answers.map { "\($0.data)" } == ["a(\(IPAddress(ip)!))"])
                let srv = try await c.ask("_pg._tcp.db.shop.svc.cluster.local", .srv, tcp: tcp)
                #expect(srv.answers.count == 2 && srv.additionals.count == 2)
                let nx = try await c.ask("nope.shop.svc.cluster.local", .a, tcp: tcp)
                #expect(nx.rcode == .nxDomain && nx.authorities.first?.type == .soa)
            }
            let ns = try await c.ask("cluster.local", .ns)
            #expect(ns.additionals.map { "\($0.data)" } == ["a(10.96.0.10)"])
            // Names outside the zone with no upstream configured are refused.
            #expect(try await c.ask("example.org", .a).rcode == .refused)
        }
    }

    @Test func digSeesTheSameAnswers() async throws {
        try await TestCluster.with(upstream: nil) { c in
            let port = "\(c.address.port!)"
            let ip = try await c.webIP()
            guard let short = try dig(["@127.0.0.1", "-p", port, "web.shop.svc.cluster.local", "A", "+short"]) else { return }
            #expect(short.trimmingCharacters(in: .whitespacesAndNewlines) == ip)
            let tcp = try dig(["@127.0.0.1", "-p", port, "+tcp", "db-0.db.shop.svc.cluster.local", "A", "+short"]) ?? ""
            #expect(tcp.trimmingCharacters(in: .whitespacesAndNewlines) == "10.244.0.5")
            let srv = try dig(["@127.0.0.1", "-p", port, "_pg._tcp.db.shop.svc.cluster.local", "SRV", "+short"]) ?? ""
            #expect(srv.split(separator: "\n").sorted() == ["0 50 5432 10-244-0-6.db.shop.svc.cluster.local.", "0 50 5432 db-0.db.shop.svc.cluster.local."])
            let txt = try dig(["@127.0.0.1", "-p", port, "dns-version.cluster.local", "TXT", "+short"]) ?? ""
            #expect(txt.contains("\"1.1.0\""))
            let nx = try dig(["@127.0.0.1", "-p", port, "nope.shop.svc.cluster.local", "A"]) ?? ""
            #expect(nx.contains("status: NXDOMAIN") && nx.contains("flags: qr aa rd;") && nx.contains("hostmaster.cluster.local."))
            let ptr = try dig(["@127.0.0.1", "-p", port, "-x", ip, "+short"]) ?? ""
            #expect(ptr.trimmingCharacters(in: .whitespacesAndNewlines) == "web.shop.svc.cluster.local.")
            let mixed = try dig(["@127.0.0.1", "-p", port, "WeB.ShOp.svc.CLUSTER.local", "A"]) ?? ""
            #expect(mixed.contains("WeB.ShOp.svc.CLUSTER.local. 5\tIN\tA\t\(ip)"))
            // 30 endpoints do not fit in 512 bytes without EDNS: TC, then dig retries on TCP.
            let big = try dig(["@127.0.0.1", "-p", port, "+noedns", "many.shop.svc.cluster.local", "A"]) ?? ""
            #expect(big.contains("Truncated, retrying in TCP mode"))
            #expect(big.contains("ANSWER: 30"))
        }
    }

    @Test func followsTheStoreWithin100ms() async throws {
        try await TestCluster.with(upstream: nil) { c in
            #expect(try await c.ask("late.shop.svc.cluster.local", .a).rcode == .nxDomain)
            var late = Fixture.service("shop", "late", ips: [], ports: [("http", "TCP", 80)])
            late.spec.clusterIP = nil
            let start = ContinuousClock.now
            _ = try await c.store.create(Object(late))
            var seen = false
            while ContinuousClock.now - start < .milliseconds(100) {
                if try await c.ask("late.shop.svc.cluster.local", .a).rcode == .noError { seen = true; break }
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(seen, "answer did not follow the store within 100 ms")
            _ = try await c.store.delete(ObjectKey(type: Service.resourceType, namespace: "shop", name: "late"))
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await c.ask("late.shop.svc.cluster.local", .a).rcode == .nxDomain)
        }
    }

    @Test func badPacketsGetFORMERROrNothing() async throws {
        try await TestCluster.with(upstream: nil) { c in
            // Two questions.
            var two = DNSMessage(id: 7, question: DNSQuestion(name: DNSName("a.cluster.local")!, type: .a))
            two.questions.append(two.questions[0])
            let r1 = try DNSMessage(decoding: try await c.raw(two.encode()))
            #expect(r1.rcode == .formErr && r1.id == 7)
            // No question.
            var none = two
            none.questions = []
            #expect(try DNSMessage(decoding: try await c.raw(none.encode())).rcode == .formErr)
            // A compression loop.
            let loop: [UInt8] = [0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
            let r3 = try DNSMessage(decoding: try await c.raw(loop, tcp: true))
            #expect(r3.rcode == .formErr && r3.id == 9)
            // Unknown class, CHAOS class, a response, a runt: the server keeps serving.
            let cls = DNSMessage(id: 10, question: DNSQuestion(name: DNSName("web.shop.svc.cluster.local")!, type: .a, qclass: DNSClass(rawValue: 77)))
            #expect(try DNSMessage(decoding: try await c.raw(cls.encode())).rcode == .formErr)
            let ch = DNSMessage(id: 11, question: DNSQuestion(name: DNSName("version.bind")!, type: .txt, qclass: .chaos))
            #expect(try DNSMessage(decoding: try await c.raw(ch.encode())).rcode == .refused)
            await #expect(throws: (any Error).self) { _ = try await c.raw([1, 2, 3]) }
            var edns1 = DNSMessage(id: 12, question: DNSQuestion(name: DNSName("web.shop.svc.cluster.local")!, type: .a), edns: EDNS(udpPayloadSize: 1232))
            edns1.edns?.version = 1
            #expect(try DNSMessage(decoding: try await c.raw(edns1.encode())).rcode == .badVers)
            #expect(try await c.ask("web.shop.svc.cluster.local", .a).rcode == .noError)
        }
    }

    @Test func pipelinedTCPQueries() async throws {
        try await TestCluster.with(upstream: nil) { c in
            let ip = try await c.webIP()
            // Ten queries written back to back on one connection, answers matched by id.
            var payload: [UInt8] = []
            for id in 0..<10 {
                let q = DNSMessage(id: UInt16(id), question: DNSQuestion(name: DNSName("web.shop.svc.cluster.local")!, type: .a)).encode()
                payload += [UInt8(q.count >> 8), UInt8(q.count & 0xFF)] + q
            }
            let collector = Collector()
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSLengthPrefixDecoder()))
                        try ch.pipeline.syncOperations.addHandler(collector)
                    }
                }
                .connect(to: c.address).get()
            defer { channel.close(promise: nil) }
            try await channel.writeAndFlush(channel.allocator.buffer(bytes: payload)).get()
            for _ in 0..<200 where collector.messages.withLock({ $0.count }) < 10 { try await Task.sleep(for: .milliseconds(5)) }
            let replies = try collector.messages.withLock { $0 }.map { try DNSMessage(decoding: $0) }
            #expect(Set(replies.map(\.id)) == Set((0..<10).map(UInt16.init)))
            #expect(replies.allSatisfy { $0.answers.first.map { "\($0.data)" } == "a(\(ip))" })
        }
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let messages = Mutex<[[UInt8]]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).readableBytesView)
            messages.withLock { $0.append(bytes) }
        }
    }

    @Test func forwardsCachesAndCoalesces() async throws {
        let upstream = try await FakeUpstream.start(delay: .milliseconds(50))
        defer { Task { await upstream.stop() } }
        try await TestCluster.with(upstream: upstream) { c in
            // Ten concurrent identical questions reach the upstream once.
            try await withThrowingTaskGroup(of: DNSMessage.self) { g in
                for i in 0..<10 { g.addTask { try await c.ask("www.example.org", .a, id: UInt16(i)) } }
                for try await r in g {
                    #expect(r.rcode == .noError && r.answers.first.map { "\($0.data)" } == "a(192.0.2.1)")
                    #expect(!r.header.authoritative && r.header.recursionAvailable)
                }
            }
            #expect(upstream.count("www.example.org.") == 1)
            // A second ask is a cache hit, with the TTL counting down from 300.
            let again = try await c.ask("WWW.example.org", .a)
            #expect(again.answers.first!.ttl <= 300)
            #expect(again.questions.first!.name.description == "WWW.example.org.")
            #expect(upstream.count("www.example.org.") == 1)
            // Negative answers are cached too.
            #expect(try await c.ask("missing.example.org", .a).rcode == .nxDomain)
            #expect(try await c.ask("missing.example.org", .a).rcode == .nxDomain)
            #expect(upstream.count("missing.example.org.") == 1)
            // Truncated over UDP upstream: retried over TCP, then our own UDP answer is cut to fit.
            let big = try await c.ask("big.example.org", .a, tcp: true)
            #expect(big.answers.count == 40)
            #expect(upstream.count("big.example.org.") == 2)
            let bigUDP = try await c.ask("big.example.org", .a, edns: nil)
            #expect(bigUDP.header.truncated && bigUDP.answers.count < 40)
            // ExternalName to an outside name: the CNAME, then the upstream's answer.
            let ext = try await c.ask("ext.shop.svc.cluster.local", .a)
            #expect(ext.answers.map(\.type) == [.cname, .a])
            #expect(ext.header.authoritative)
            // Reverse names of the service CIDR stay here; others go upstream.
            #expect(try await c.ask("77.0.96.10.in-addr.arpa", .ptr).rcode == .nxDomain)
            #expect(upstream.count("77.0.96.10.in-addr.arpa.") == 0)
        }
        await upstream.stop()
    }

    @Test func deadUpstreamIsSERVFAIL() async throws {
        let upstream = try await FakeUpstream.start()
        await upstream.stop()
        try await TestCluster.with(upstream: upstream) { c in
            let outside = try await c.ask("www.example.org", .a)
            #expect(outside.rcode == .servFail)
            let inside = try await c.ask("web.shop.svc.cluster.local", .a)
            #expect(inside.rcode == .noError)
        }
    }
}
