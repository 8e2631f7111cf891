import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import IngressProxy

/// A backend that answers every request with bytes written by the test, then closes the
/// connection if asked: the responses a well-behaved HTTP library would never make.
final class ScriptedBackend: Sendable {
    let channel: any Channel

    /// `answer(path)`: the bytes to send and whether to close afterwards.
    static func start(group: any EventLoopGroup, answer: @escaping @Sendable (String) -> (String, close: Bool)) async throws -> ScriptedBackend {
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture(withResultOf: { try channel.pipeline.syncOperations.addHandler(Handler(answer: answer)) })
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedBackend(channel: channel)
    }

    private init(channel: any Channel) { self.channel = channel }

    var port: Int { channel.localAddress!.port! }

    func stop() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: @Sendable (String) -> (String, close: Bool)
        var received = ""

        init(answer: @escaping @Sendable (String) -> (String, close: Bool)) { self.answer = answer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
            // Requests without a body: each ends with its empty line.
            while let end = received.range(of: "\r\n\r\n") {
                let head = received[..<end.lowerBound]
                received = String(received[end.upperBound...])
                let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
                let (bytes, close) = answer(path)
                let write = context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes)))
                if close {
                    write.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                    return
                }
            }
        }
    }
}

@Suite(.serialized, .enabled(if: curlPath != nil, "curl is not installed"))
struct BackendFramingEndToEndTests {
    static let body100 = String(repeating: "0123456789", count: 10)

    static func answer(_ path: String) -> (String, close: Bool) {
        switch path {
        case "/malformed":
            return ("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", false)
        case "/until-close":
            return ("HTTP/1.1 200 OK\r\nX-Kind: close-delimited\r\n\r\n" + body100, true)
        case "/listed":
            return ("HTTP/1.1 203 Custom Reason\r\nConnection: X-Private\r\nX-Private: secret\r\nX-Public: yes\r\nContent-Length: 2\r\n\r\nok", false)
        case "/chunked":
            return ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n", false)
        case "/bare-lf":
            return ("HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nok", false)
        default:
            return ("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false)
        }
    }

    @Test func backendResponsesAreReframedOrRefused() async throws {
        try await ProxyHarness.with(backends: []) { h in
            // Closed with the harness's event loops if the test ends early.
            let backend = try await ScriptedBackend.start(group: h.group, answer: Self.answer)
            h.install(Fixtures.service("scripted", ips: ["127.0.0.1"], port: 8080, targetPort: backend.port) + Fixtures.defaultBackendIngress("scripted"))

            // A malformed head: 502, said plainly, and the next request is served.
            var (code, body) = try await h.get("x", "/malformed")
            #expect(code == 502 && body.contains("not valid HTTP/1"), "\(code) \(body)")
            (code, body) = try await h.get("x", "/chunked")
            #expect(code == 200 && body == "hello, world", "\(code) \(body)")

            // A body that lasts until the backend closes: chunked for an HTTP/1.1 client, until
            // close for an HTTP/1.0 one; the client's connection stays usable on HTTP/1.1.
            let url = "http://127.0.0.1:\(h.httpPort)"
            var r = try await run(curlPath!, ["-s", "-i", "-m", "10", "-H", "Host: x", "\(url)/until-close", "\(url)/chunked"])
            #expect(r.out.contains("transfer-encoding: chunked") && r.out.contains("\r\n\r\n" + Self.body100 + "HTTP/1.1 200 OK"), "\(r.out)")
            #expect(r.out.hasSuffix("hello, world") && r.err.isEmpty, "\(r.out) \(r.err)")
            r = try await run(curlPath!, ["-s", "-i", "-m", "10", "--http1.0", "-H", "Host: x", "\(url)/until-close"])
            #expect(r.out.hasPrefix("HTTP/1.0 200 OK") && r.out.contains("connection: close") && r.out.hasSuffix("\r\n\r\n" + Self.body100), "\(r.out)")

            // Fields the Connection header lists stay behind; the reason phrase comes through.
            r = try await run(curlPath!, ["-s", "-i", "-m", "10", "-H", "Host: x", "\(url)/listed"])
            #expect(r.out.hasPrefix("HTTP/1.1 203 Custom Reason\r\n") && r.out.contains("X-Public: yes") && !r.out.lowercased().contains("x-private"), "\(r.out)")

            // Lines ended by a bare LF are read (RFC 9112 §2.2 lets a recipient accept them).
            (code, body) = try await h.get("x", "/bare-lf")
            #expect(code == 200 && body == "ok", "\(code) \(body)")
            await backend.stop()
        }
    }
}
