import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import IngressProxy

/// The backend side's HTTP/1 response parser: heads, framing, and every way a read can split them.
@Suite struct ResponseParserTests {
    /// What a parse produced, in a form tests compare.
    struct Outcome: Equatable {
        var heads: [Int] = []
        var body = ""
        var ends = 0
        var failed = false
        var left = 0
    }

    /// Feeds `wire` in reads cut at `cuts` (offsets), as a request expecting an answer.
    static func parse(_ wire: String, cuts: [Int] = [], head: Bool = false, closeAtEnd: Bool = false,
                      lastHead: ((ResponseHead) -> Void)? = nil) -> Outcome {
        var parser = ResponseParser()
        parser.expectResponse(toHEAD: head)
        let bytes = Array(wire.utf8)
        var outcome = Outcome()
        var start = 0
        for end in (cuts + [bytes.count]) where end >= start {
            var buffer = ByteBuffer(bytes: bytes[start..<end])
            start = end
            do {
                while let event = try parser.next(&buffer) {
                    switch event {
                    case .head(let h):
                        outcome.heads.append(h.status)
                        lastHead?(h)
                    case .body(let b): outcome.body += String(buffer: b)
                    case .end: outcome.ends += 1
                    }
                }
                outcome.left += buffer.readableBytes
            } catch {
                outcome.failed = true
                return outcome
            }
        }
        if closeAtEnd, parser.endOfInput() != nil { outcome.ends += 1 }
        return outcome
    }

    static let cases: [(name: String, wire: String, expected: Outcome)] = [
        ("content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
         Outcome(heads: [200], body: "hello", ends: 1)),
        ("empty body", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", Outcome(heads: [200], ends: 1)),
        ("chunked with extension and trailer",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n",
         Outcome(heads: [200], body: "hello, world!!!", ends: 1)),
        ("chunked with upper-case hex and bare LFs", "HTTP/1.1 200 OK\ntransfer-encoding: gzip, chunked\n\nB\nhello world\n0\n\n",
         Outcome(heads: [200], body: "hello world", ends: 1)),
        ("no content", "HTTP/1.1 204 No Content\r\n\r\n", Outcome(heads: [204], ends: 1)),
        ("not modified with a length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", Outcome(heads: [304], ends: 1)),
        ("100 continue, then the answer", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
         Outcome(heads: [100, 201], body: "ok", ends: 1)),
        ("switching protocols keeps what follows", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframe",
         Outcome(heads: [101], ends: 1, left: 5)),
        ("bytes after the response", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy", Outcome(heads: [200], body: "x", ends: 1, failed: true)),
        ("conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", Outcome(failed: true)),
        ("a list of equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nxy", Outcome(heads: [200], body: "xy", ends: 1)),
        ("a negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", Outcome(failed: true)),
        ("space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", Outcome(failed: true)),
        ("a folded line", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 1\r\n\r\nx", Outcome(failed: true)),
        ("a control byte in a value", "HTTP/1.1 200 OK\r\nX-A: b\u{1}c\r\nContent-Length: 1\r\n\r\nx", Outcome(failed: true)),
        ("a CR in the reason phrase", "HTTP/1.1 200 OK\rSet-Cookie: x=1\r\nContent-Length: 1\r\n\r\nx", Outcome(failed: true)),
        ("not HTTP/1", "HTTP/2 200 OK\r\nContent-Length: 1\r\n\r\nx", Outcome(failed: true)),
        ("a two-digit status", "HTTP/1.1 20 OK\r\n\r\n", Outcome(failed: true)),
        ("a malformed chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", Outcome(heads: [200], failed: true)),
        ("chunk data longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
         Outcome(heads: [200], body: "ab", failed: true)),
        ("an oversized chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", Outcome(heads: [200], failed: true)),
    ]

    @Test(arguments: cases.map(\.name))
    func parsesWholeAndSplitAtEveryByte(_ name: String) {
        let c = Self.cases.first { $0.name == name }!
        let whole = Self.parse(c.wire)
        #expect(whole == c.expected, "\(name)")
        for cut in 0...c.wire.utf8.count {
            #expect(Self.parse(c.wire, cuts: [cut]) == whole, "\(name), cut at \(cut)")
        }
        // One byte per read.
        #expect(Self.parse(c.wire, cuts: Array(0...c.wire.utf8.count)) == whole, "\(name), byte by byte")
    }

    @Test func untilCloseEndsWithTheConnection() {
        let wire = "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nall of it"
        #expect(Self.parse(wire, closeAtEnd: true) == Outcome(heads: [200], body: "all of it", ends: 1))
        #expect(Self.parse(wire, cuts: [20, 30]) == Outcome(heads: [200], body: "all of it", ends: 0))
        // A length-framed response cut short is no response.
        #expect(Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", closeAtEnd: true) == Outcome(heads: [200], body: "abc"))
    }

    @Test func headResponsesHaveNoBody() {
        #expect(Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true) == Outcome(heads: [200], ends: 1))
        #expect(Self.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head: true) == Outcome(heads: [200], ends: 1))
    }

    @Test func bytesWithNoRequestWaitingAreAnError() {
        var parser = ResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n")
        #expect(throws: ResponseParser.Error.self) { try parser.next(&buffer) }
    }

    @Test func aHeadTooLargeIsAnError() {
        let big = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: \(String(repeating: "a", count: 1000))\r\n", count: 70)
        #expect(Self.parse(big, cuts: [big.utf8.count / 2]).failed)
        #expect(Self.parse(big + "\r\n").failed)
    }

    @Test func theParserIsReusedForTheNextExchange() {
        var parser = ResponseParser()
        for i in 0..<3 {
            parser.expectResponse(toHEAD: false)
            var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\(i)")
            var events: [ResponseParser.Event] = []
            while let e = try! parser.next(&buffer) { events.append(e) }
            #expect(events.count == 3 && events.last == .end)
        }
    }

    /// (wire, keepAlive, contentLength, chunked)
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", true, 1 as Int?, false),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", false, 1, false),
        ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, 1, false),
        ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n", true, 1, false),
        ("HTTP/1.1 200 OK\r\n\r\n", false, nil, false),
        ("HTTP/1.1 204 No Content\r\n\r\n", true, nil, false),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, nil, false),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true, nil, true),
    ])
    func framingAndKeepAlive(_ c: (String, Bool, Int?, Bool)) throws {
        var buffer = ByteBuffer(string: c.0)
        let end = try #require(ResponseParser.endOfHead(buffer, from: 0))
        let head = try ResponseParser.parseHead(buffer.readSlice(length: end)!)
        #expect(head.keepAlive == c.1 && head.contentLength == c.2 && head.chunked == c.3, "\(c.0)")
        // With Transfer-Encoding, Content-Length is not relayed.
        #expect(head.fields.contains { $0.kind == .contentLength } == (c.2 != nil))
    }

    @Test func hopByHopFieldsAndTheConnectionList() throws {
        let wire = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\nx-private: 1\r\nX-Public: 2\r\nContent-Length: 0\r\n\r\n"
        var relayed: [String] = []
        _ = Self.parse(wire) { head in
            relayed = head.fields.filter { !head.isHopByHop($0) }.map { head.string($0.name) + "=" + head.string($0.value) }
            #expect(head.string(head.reason) == "OK")
        }
        #expect(relayed == ["X-Public=2", "Content-Length=0"])
    }

    /// The head as a client gets it: runs of `name: value CRLF` fields copied whole, other
    /// spellings rewritten, left-out fields cut from the middle of a run, HTTP/1.0 clients.
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", HTTPVersion.http1_1,
         "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n"),
        ("HTTP/1.1 404 Not Found\r\nA:1\r\nB:  2 \r\nC:\t3\r\nD: 4\nE: 5\r\n\r\n", .http1_0,
         "HTTP/1.0 404 Not Found\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n"),
        ("HTTP/1.1 200 OK\r\nA: 1\r\nConnection: x-hop\r\nB: 2\r\nX-Hop: 3\r\nKeep-Alive: 5\r\nC: 3\r\nD: 4\r\n\r\n", .http1_1,
         "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"),
        ("HTTP/1.1 204\r\nConnection: close\r\n\r\n", .http1_1, "HTTP/1.1 204 \r\n"),
        ("HTTP/1.1 200 OK\r\nA: \r\nB:\r\nC: x y\r\n\r\n", .http1_1, "HTTP/1.1 200 OK\r\nA: \r\nB: \r\nC: x y\r\n"),
    ] as [(String, HTTPVersion, String)])
    func theRelayedHead(wire: String, version: HTTPVersion, expected: String) throws {
        var buffer = ByteBuffer(string: wire)
        let end = try #require(ResponseParser.endOfHead(buffer, from: 0))
        let head = try ResponseParser.parseHead(buffer.readSlice(length: end)!)
        var out = ByteBuffer()
        head.writeRelayed(into: &out, version: version) { !head.isHopByHop($0) }
        #expect(String(buffer: out) == expected)
    }

    @Test func aStatusLineWithoutReason() {
        var reason = "?"
        #expect(Self.parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") { reason = $0.string($0.reason) } == Outcome(heads: [200], ends: 1))
        #expect(reason == "")
    }
}

/// The parser against NIO's HTTP/1 client codec (llhttp) on random well-formed exchanges, cut
/// into random reads: both must see the same heads, fields, bodies and ends. Each head is also
/// relayed as a client would get it, in the usual spelling.
@Suite struct ResponseParserDifferentialTests {
    struct Response: Equatable, CustomStringConvertible {
        var status = 0
        var fields: [String] = []
        var body: [UInt8] = []
        var ended = false

        var description: String { "\(status) \(fields) body \(body.count) B (hash \(body.hashValue)) ended \(ended)" }
    }

    /// A random response to `method` and its bytes; `last`: it may last until the connection closes.
    static func randomResponse(_ random: inout SplitMix, method: HTTPMethod, last: Bool) -> (Response, [UInt8]) {
        let status = random.pick([200, 201, 204, 206, 301, 304, 404, 500, 503])
        // An HTTP/1.0 answer without keep-alive ends the connection: only the last may be one.
        var wire = "HTTP/1.\(last ? random.pick([0, 1, 1, 1]) : 1) \(status) \(random.pick(["OK", "Some Reason", "", "x"]))\r\n"
        var expected = Response(status: status, ended: true)
        for _ in 0..<Int(random.next() % 6) {
            let name = random.pick(["X-A", "content-type", "Set-Cookie", "ETAG", "x-b-c", "Server", "vary"])
            let value = random.pick(["1", "text/plain; charset=utf-8", "a=b; Path=/", "\"abc\"", "multi word value", ""])
            wire += "\(name):\(random.pick([" ", "", "  ", "\t"]))\(value)\(random.pick(["", " "]))\r\n"
            expected.fields.append("\(name)=\(value)")
        }
        let hasBody = method != .HEAD && status != 204 && status != 304
        let body = (0..<Int(random.next() % 3000)).map { _ in UInt8(ascii: "a") + UInt8(random.next() % 26) }
        var bodyWire: [UInt8] = []
        switch random.next() % (last ? 3 : 2) {
        case 0:
            wire += "Content-Length: \(body.count)\r\n"
            expected.fields.append("Content-Length=\(body.count)")
            if hasBody { bodyWire = body }
        case 1:
            wire += "Transfer-Encoding: chunked\r\n"
            expected.fields.append("Transfer-Encoding=chunked")
            if hasBody {
                var rest = body[...]
                while !rest.isEmpty {
                    let n = min(rest.count, 1 + Int(random.next() % 700))
                    bodyWire += Array((String(n, radix: 16) + random.pick(["", ";ext=1", ";a=\"b\""]) + "\r\n").utf8) + rest.prefix(n) + Array("\r\n".utf8)
                    rest = rest.dropFirst(n)
                }
                bodyWire += Array(("0\r\n" + random.pick(["", "X-Trailer: 1\r\n"]) + "\r\n").utf8)
            }
        default:
            if hasBody { bodyWire = body }
        }
        if hasBody { expected.body = body }
        return (expected, Array((wire + "\r\n").utf8) + bodyWire)
    }

    /// What NIO's codec makes of `wire` answering `methods`, read in pieces cut at `cuts`.
    static func nio(_ wire: [UInt8], methods: [HTTPMethod], cuts: [Int]) throws -> [Response] {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        for m in methods {
            try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: m, uri: "/")))
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        }
        var responses: [Response] = []
        func drain() throws {
            while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                switch part {
                case .head(let h):
                    // llhttp keeps a value's trailing whitespace, which is not part of it (RFC 9110 §5.5).
                    responses.append(Response(status: Int(h.status.code), fields: h.headers.map {
                        "\($0.name)=\($0.value.reversed().drop { $0 == " " || $0 == "\t" }.reversed().map(String.init).joined())"
                    }))
                case .body(let b): responses[responses.count - 1].body += Array(b.readableBytesView)
                case .end: responses[responses.count - 1].ended = true
                }
            }
        }
        var start = 0
        for end in cuts + [wire.count] where end >= start {
            try channel.writeInbound(ByteBuffer(bytes: wire[start..<end]))
            start = end
            try drain()
        }
        _ = try? channel.finish()
        try drain()
        return responses
    }

    /// What `ResponseParser` makes of it, a request at a time as the proxy uses it.
    static func ours(_ wire: [UInt8], methods: [HTTPMethod], cuts: [Int]) throws -> [Response] {
        var parser = ResponseParser()
        var responses: [Response] = []
        var waiting = methods[...]
        parser.expectResponse(toHEAD: waiting.removeFirst() == .HEAD)
        var start = 0
        for end in cuts + [wire.count] where end >= start {
            var buffer = ByteBuffer(bytes: wire[start..<end])
            start = end
            while let event = try parser.next(&buffer) {
                switch event {
                case .head(let h):
                    let fields = h.fields.map { h.string($0.name) + "=" + h.string($0.value) }
                    responses.append(Response(status: h.status, fields: fields))
                    // Relayed to a client: the same status, reason and fields, each as `name: value CRLF`.
                    var relayed = ByteBuffer()
                    h.writeRelayed(into: &relayed, version: .http1_1) { _ in true }
                    let reason = h.string(h.reason)
                    let canonical = "HTTP/1.1 \(h.status) \(reason)\r\n" + h.fields.map { h.string($0.name) + ": " + h.string($0.value) + "\r\n" }.joined()
                    #expect(String(buffer: relayed) == canonical)
                case .body(let b): responses[responses.count - 1].body += Array(b.readableBytesView)
                case .end:
                    responses[responses.count - 1].ended = true
                    if let next = waiting.popFirst() { parser.expectResponse(toHEAD: next == .HEAD) }
                }
            }
        }
        if parser.endOfInput() != nil { responses[responses.count - 1].ended = true }
        return responses
    }

    @Test(arguments: 1...8 as ClosedRange<UInt64>)
    func agreesWithNIO(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        for round in 0..<150 {
            let count = 1 + Int(random.next() % 3)
            let methods = (0..<count).map { _ in random.pick([HTTPMethod.GET, .GET, .HEAD, .POST]) }
            var wire: [UInt8] = []
            var expected: [Response] = []
            for (i, m) in methods.enumerated() {
                let (response, bytes) = Self.randomResponse(&random, method: m, last: i == count - 1)
                expected.append(response)
                wire += bytes
            }
            let cuts = (0..<Int(random.next() % 4)).map { _ in Int(random.next() % UInt64(wire.count + 1)) }.sorted()
            let ours = try Self.ours(wire, methods: methods, cuts: cuts)
            let theirs: [Response]
            do {
                theirs = try Self.nio(wire, methods: methods, cuts: cuts)
            } catch {
                Issue.record("seed \(seed) round \(round): NIO failed with \(error) on \(String(decoding: wire, as: UTF8.self).debugDescription.prefix(600))")
                continue
            }
            #expect(ours == expected, "seed \(seed) round \(round)")
            #expect(ours == theirs, "seed \(seed) round \(round): NIO saw \(theirs.map(\.status))")
        }
    }
}
