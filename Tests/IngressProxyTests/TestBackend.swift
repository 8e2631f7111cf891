import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real HTTP backend on 127.0.0.1 that answers with its own name and what it received:
/// `GET /download?bytes=N` streams N bytes, `POST /upload` counts the body, an `Upgrade: echo`
/// request switches to a byte echo (a stand-in for WebSocket), everything else gets a short text.
final class TestBackend: Sendable {
    let name: String
    let channel: any Channel

    /// `tls`: serve HTTPS with this context (a backend with a self-signed certificate).
    static func start(_ name: String, group: any EventLoopGroup, tls: NIOSSLContext? = nil) async throws -> TestBackend {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                if let tls {
                    do {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                return channel.eventLoop.makeCompletedFuture(withResultOf: {
                    let config: NIOHTTPServerUpgradeConfiguration = (upgraders: [EchoUpgrader()], completionHandler: { _ in })
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: config)
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(name: name))
                })
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestBackend(name: name, channel: channel)
    }

    private init(name: String, channel: any Channel) {
        self.name = name
        self.channel = channel
    }

    var port: Int { channel.localAddress!.port! }

    func stop() async { try? await channel.close() }
}

private final class EchoUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let supportedProtocol = "echo"
    let requiredUpgradeHeaders: [String] = []

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        channel.eventLoop.makeSucceededFuture(initialResponseHeaders)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        context.eventLoop.makeCompletedFuture(withResultOf: {
            let sync = context.pipeline.syncOperations
            sync.removeHandler(try sync.handler(type: BackendHandler.self), promise: nil)
            try sync.addHandler(EchoHandler())
        })
    }
}

private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

private final class BackendHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    var head: HTTPRequestHead?
    var received = 0
    var remainingDownload = 0
    var chunk: ByteBuffer?
    var keepAlive = true
    /// Set by `/close-next`: the next request on this connection gets no answer, the connection
    /// closes (a keep-alive connection the backend dropped while the proxy pooled it).
    var closeNext = false

    init(name: String) { self.name = name }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            if closeNext {
                head = nil
                context.close(promise: nil)
                return
            }
            head = h
            received = 0
            keepAlive = h.isKeepAlive
        case .body(let b):
            received += b.readableBytes
        case .end:
            guard let head else { return }
            if head.uri.hasPrefix("/download") {
                let n = Int(head.uri.split(separator: "=").last ?? "0") ?? 0
                var headers = HTTPHeaders([("content-length", String(n)), ("x-backend", name)])
                if head.uri.contains("chunked") { headers.remove(name: "content-length") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
                remainingDownload = n
                var buf = context.channel.allocator.buffer(capacity: 256 * 1024)
                buf.writeRepeatingByte(UInt8(ascii: "x"), count: 256 * 1024)
                chunk = buf
                pump(context)
                return
            }
            if head.uri.hasPrefix("/hang") { return }
            if head.uri.hasPrefix("/close-next") { closeNext = true }
            if head.uri.hasPrefix("/slow") {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(300)) { bound.value.0.answer(bound.value.1, head) }
                return
            }
            answer(context, head)
        }
    }

    func answer(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let tls = (try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil
        var text = "name=\(name)\ntls=\(tls)\nmethod=\(head.method.rawValue)\npath=\(head.uri)\nreceived=\(received)\n"
        for h in ["host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip", "x-request-id", "connection", "te", "keep-alive", "x-secret", "cookie"] {
            text += "\(h)=\(head.headers[h].joined(separator: ","))\n"
        }
        var body = context.channel.allocator.buffer(capacity: text.utf8.count)
        body.writeString(text)
        let headers = HTTPHeaders([("content-length", String(body.readableBytes)), ("content-type", "text/plain"), ("x-backend", name), ("keep-alive", "timeout=5")])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let close = !keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in if close { context.close(promise: nil) } }
    }

    func pump(_ context: ChannelHandlerContext) {
        guard let chunk else { return }
        while remainingDownload > 0 && context.channel.isWritable {
            let n = min(remainingDownload, chunk.readableBytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(chunk.getSlice(at: chunk.readerIndex, length: n)!))), promise: nil)
            remainingDownload -= n
        }
        if remainingDownload == 0 {
            self.chunk = nil
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && remainingDownload > 0 { pump(context) }
    }
}

/// Runs a command and returns its exit status, standard output and standard error.
func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, out: String, err: String) {
    try await withCheckedThrowingContinuation { cont in
        DispatchQueue.global().async {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            do {
                try p.run()
            } catch {
                cont.resume(throwing: error)
                return
            }
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            cont.resume(returning: (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self)))
        }
    }
}

let curlPath = ["/usr/bin/curl", "/usr/local/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }
