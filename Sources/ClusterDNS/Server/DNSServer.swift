#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import NIOPosix

/// The UDP and TCP listeners of the DNS server. Framing lives in channel handlers; each
/// query is answered on the event loop that read it unless it must be forwarded.
public final class DNSServer: Sendable {
    /// The address actually bound (the real port when 0 was asked for).
    public let localAddress: SocketAddress
    private let channels: [any Channel]

    private init(localAddress: SocketAddress, channels: [any Channel]) {
        self.localAddress = localAddress
        self.channels = channels
    }

    /// Binds UDP (on `udpSockets` sockets sharing the port with SO_REUSEPORT, so that the
    /// kernel spreads clients over event loops) and TCP on `address`.
    public static func start(address: SocketAddress, handler: QueryHandler, udpSockets: Int = System.coreCount,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             logger: Logger) async throws -> DNSServer {
        var channels: [any Channel] = []
        do {
            let first = try await bindUDP(address, handler: handler, group: group, logger: logger)
            channels.append(first)
            guard let bound = first.localAddress, let port = bound.port else {
                throw DNSError(.badConfiguration, "UDP socket on \(address) has no local address")
            }
            var shared = address
            shared.port = port
            for _ in 1..<max(1, udpSockets) {
                channels.append(try await bindUDP(shared, handler: handler, group: group, logger: logger))
            }
            let tcp = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 256)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ops = channel.pipeline.syncOperations
                        try ops.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
                        try ops.addHandler(ByteToMessageHandler(DNSLengthPrefixDecoder()))
                        try ops.addHandler(TCPQueryHandler(handler: handler, logger: logger))
                    }
                }
                .bind(to: shared).get()
            channels.append(tcp)
            return DNSServer(localAddress: bound, channels: channels)
        } catch {
            for c in channels { try? await c.close() }
            throw DNSError(.badConfiguration, "cannot listen on \(address)", cause: error)
        }
    }

    private static func bindUDP(_ address: SocketAddress, handler: QueryHandler, group: any EventLoopGroup,
                                logger: Logger) async throws -> any Channel {
        try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.socket(SocketOptionLevel(SOL_SOCKET), SO_REUSEPORT), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: 32)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096 * 32))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UDPQueryHandler(handler: handler, logger: logger))
                }
            }
            .bind(to: address).get()
    }

    /// Closes every listener. TCP connections already open finish their current queries.
    public func close() async {
        for c in channels { try? await c.close() }
    }
}

/// One datagram in, one datagram out; replies are flushed once per read burst.
final class UDPQueryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let handler: QueryHandler
    let logger: Logger

    init(handler: QueryHandler, logger: Logger) {
        self.handler = handler
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let remote = envelope.remoteAddress
        switch handler.handle(Array(envelope.data.readableBytesView), transport: .udp, clientIsV6: remote.protocol == .inet6) {
        case .drop:
            return
        case .reply(let bytes):
            let out = AddressedEnvelope(remoteAddress: remote, data: context.channel.allocator.buffer(bytes: bytes))
            context.write(wrapOutboundOut(out), promise: nil)
        case .forward(let pending):
            let channel = context.channel
            let handler = self.handler
            Task {
                let bytes = await handler.complete(pending)
                let out = AddressedEnvelope(remoteAddress: remote, data: channel.allocator.buffer(bytes: bytes))
                channel.writeAndFlush(out, promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed send (e.g. ICMP port unreachable surfaced as ECONNREFUSED) must not stop the server.
        logger.debug("dns.udp.error", metadata: ["error": "\(error)"])
    }
}

/// Length-prefixed queries on a TCP connection; answers may leave out of order (RFC 7766 §6.2.1.1).
final class TCPQueryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let handler: QueryHandler
    let logger: Logger

    init(handler: QueryHandler, logger: Logger) {
        self.handler = handler
        self.logger = logger
    }

    static func framed(_ bytes: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: bytes.count + 2)
        buffer.writeInteger(UInt16(bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        let v6 = context.channel.remoteAddress?.protocol == .inet6
        switch handler.handle(Array(message.readableBytesView), transport: .tcp, clientIsV6: v6) {
        case .drop:
            return
        case .reply(let bytes):
            context.write(wrapOutboundOut(Self.framed(bytes, allocator: context.channel.allocator)), promise: nil)
        case .forward(let pending):
            let channel = context.channel
            let handler = self.handler
            Task {
                let bytes = await handler.complete(pending)
                channel.writeAndFlush(Self.framed(bytes, allocator: channel.allocator), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("dns.tcp.error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
