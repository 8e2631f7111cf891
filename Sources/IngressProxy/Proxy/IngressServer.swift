import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// The listening side of the proxy: a plain HTTP listener and a TLS listener whose certificate
/// is chosen per handshake from the current certificate table (SNI).
public final class IngressServer: Sendable {
    private let shared: ProxyShared
    private let group: any EventLoopGroup
    private let channels = Mutex<[any Channel]>([])

    /// The addresses actually bound (port 0 resolved), in the order of `bind` calls.
    public var localAddresses: [SocketAddress] { channels.withLock { $0.compactMap { $0.localAddress } } }

    public init(state: IngressState, configuration: ProxyConfiguration, group: any EventLoopGroup, accessLog: AccessLog?, logger: Logger) {
        self.shared = ProxyShared(state: state, configuration: configuration, group: group, accessLog: accessLog, logger: logger)
        self.group = group
    }

    /// Binds the plain HTTP listener.
    @discardableResult
    public func bindHTTP(host: String, port: Int) async throws -> SocketAddress {
        let shared = self.shared
        let h2c = shared.configuration.h2c
        let channel = try await ProxyBootstraps.server(group: group).childChannelInitializer { channel in
            let port = channel.localAddress?.port ?? 0
            if h2c {
                do {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PriorKnowledgeSniffer { channel, isH2 in
                        isH2 ? IngressServer.configureHTTP2(channel, shared: shared, isTLS: false, port: port)
                             : IngressServer.configureHTTP1(channel, shared: shared, isTLS: false, port: port)
                    }))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            return IngressServer.configureHTTP1(channel, shared: shared, isTLS: false, port: port)
        }.bind(host: host, port: port).get()
        channels.withLock { $0.append(channel) }
        return channel.localAddress!
    }

    /// Binds the TLS listener. Certificates come from `state`'s certificate table at each
    /// handshake; `defaultCertificate` is used until a table is installed.
    @discardableResult
    public func bindHTTPS(host: String, port: Int, defaultCertificate: ServerCertificate) async throws -> SocketAddress {
        let shared = self.shared
        let state = shared.state
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: defaultCertificate.chain.map { .certificate($0) }, privateKey: .privateKey(defaultCertificate.key))
        tls.minimumTLSVersion = .tlsv12
        tls.maximumTLSVersion = .tlsv13
        // TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are fixed by BoringSSL).
        tls.cipherSuites = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
        tls.applicationProtocols = shared.configuration.http2 ? ["h2", "http/1.1"] : ["http/1.1"]
        tls.sslContextCallback = { values, promise in
            let table = state.current.certificates
            let cert = table?.certificate(forServerName: values.serverHostname) ?? defaultCertificate
            promise.succeed(cert.override)
        }
        let context = try NIOSSLContext(configuration: tls)
        let http2 = shared.configuration.http2
        let channel = try await ProxyBootstraps.server(group: group).childChannelInitializer { channel in
            let port = channel.localAddress?.port ?? 0
            do {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            guard http2 else { return IngressServer.configureHTTP1(channel, shared: shared, isTLS: true, port: port) }
            return channel.configureHTTP2SecureUpgrade(
                h2ChannelConfigurator: { IngressServer.configureHTTP2($0, shared: shared, isTLS: true, port: port) },
                http1ChannelConfigurator: { IngressServer.configureHTTP1($0, shared: shared, isTLS: true, port: port) })
        }.bind(host: host, port: port).get()
        channels.withLock { $0.append(channel) }
        shared.httpsPort.store(channel.localAddress?.port ?? 0, ordering: .relaxed)
        return channel.localAddress!
    }

    static func configureHTTP1(_ channel: any Channel, shared: ProxyShared, isTLS: Bool, port: Int) -> EventLoopFuture<Void> {
        do {
            let handlers = HTTP1ServerHandlers(
                encoder: HTTPResponseEncoder(),
                decoder: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(handlers.encoder)
            try sync.addHandler(handlers.decoder)
            try sync.addHandler(ProxyHandler(shared: shared, isTLS: isTLS, listenPort: port, http1: handlers))
            return channel.eventLoop.makeSucceededVoidFuture()
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    static func configureHTTP2(_ channel: any Channel, shared: ProxyShared, isTLS: Bool, port: Int) -> EventLoopFuture<Void> {
        channel.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: .init(),
            streamConfiguration: .init()
        ) { stream in
            do {
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try sync.addHandler(ProxyHandler(shared: shared, isTLS: isTLS, listenPort: port, http1: nil))
                return stream.eventLoop.makeSucceededVoidFuture()
            } catch {
                return stream.eventLoop.makeFailedFuture(error)
            }
        }.map { _ in }
    }

    /// Closes the listeners; connections in flight finish on their own.
    public func closeListeners() async {
        let list = channels.withLock { c in defer { c.removeAll() }; return c }
        for c in list { try? await c.close() }
    }

    /// Closes idle upstream keep-alive connections.
    public func closeUpstreams() async {
        try? await shared.pools.closeAll()?.get()
    }

    /// Writes out buffered access log lines.
    public func flushAccessLog() { shared.accessLog?.flush() }
}

/// Picks HTTP/2 (prior knowledge, h2c) or HTTP/1.1 from the first bytes of a plain connection.
final class PriorKnowledgeSniffer: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private let configure: (any Channel, Bool) -> EventLoopFuture<Void>
    private var decided = false

    init(_ configure: @escaping (any Channel, Bool) -> EventLoopFuture<Void>) { self.configure = configure }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let n = min(buffer.readableBytes, Self.preface.count)
        guard let head = buffer.getBytes(at: buffer.readerIndex, length: n) else { return .needMoreData }
        let isH2 = head == Array(Self.preface.prefix(n))
        if isH2 && n < Self.preface.count { return .needMoreData }
        guard !decided else { return .needMoreData }
        decided = true
        _ = configure(context.channel, isH2)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        return .needMoreData
    }

    /// Called while the sniffer leaves the pipeline: the bytes it held (the whole first request
    /// or preface) go on to the handlers it installed.
    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if buffer.readableBytes > 0, let rest = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(NIOAny(rest))
            // The read's channelReadComplete went by before these bytes: HTTP/2 flushes its
            // frames (SETTINGS ack, window updates) and delivers stream reads on it.
            context.fireChannelReadComplete()
        }
        return .needMoreData
    }
}
