import NIOCore
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

    @Test func aStatusLineWithoutReason() {
        var reason = "?"
        #expect(Self.parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") { reason = $0.string($0.reason) } == Outcome(heads: [200], ends: 1))
        #expect(reason == "")
    }
}
