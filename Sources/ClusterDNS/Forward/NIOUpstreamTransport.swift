import NIOCore
import NIOPosix

/// Talks to upstream resolvers with SwiftNIO: a fresh UDP socket per query (so the source
/// port is random), or a TCP connection with the two-byte length prefix.
public struct NIOUpstreamTransport: UpstreamTransport {
    let group: any EventLoopGroup

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    public func exchange(_ query: [UInt8], with server: SocketAddress, overTCP: Bool, timeout: Duration) async throws -> [UInt8] {
        let loop = group.next()
        let promise = loop.makePromise(of: [UInt8].self)
        let deadline = loop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000
                                                          + Int64(timeout.components.attoseconds / 1_000_000_000))) {
            promise.fail(DNSError(.upstream, "no answer from \(server) within \(timeout)"))
        }
        let channel: any Channel
        do {
            if overTCP {
                channel = try await ClientBootstrap(group: loop)
                    .connectTimeout(.seconds(2))
                    .channelInitializer { ch in
                        ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSLengthPrefixDecoder()))
                            try ch.pipeline.syncOperations.addHandler(ReplyHandler(promise: promise))
                        }
                    }
                    .connect(to: server).get()
                var buffer = channel.allocator.buffer(capacity: query.count + 2)
                buffer.writeInteger(UInt16(query.count))
                buffer.writeBytes(query)
                try await channel.writeAndFlush(buffer).get()
            } else {
                let local = server.protocol == .inet6 ? "::" : "0.0.0.0"
                channel = try await DatagramBootstrap(group: loop)
                    .channelInitializer { ch in
                        ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.addHandler(DatagramReplyHandler(server: server, promise: promise))
                        }
                    }
                    .bind(host: local, port: 0).get()
                let buffer = channel.allocator.buffer(bytes: query)
                try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: buffer)).get()
            }
        } catch {
            deadline.cancel()
            promise.fail(error)
            throw DNSError(.upstream, "cannot reach \(server)", cause: error)
        }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }
}

/// Fulfils the promise with the first datagram from the server (others are ignored).
private final class DatagramReplyHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let server: SocketAddress
    let promise: EventLoopPromise<[UInt8]>

    init(server: SocketAddress, promise: EventLoopPromise<[UInt8]>) {
        self.server = server
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == server else { return }
        promise.succeed(Array(envelope.data.readableBytesView))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }
}

/// Fulfils the promise with the first framed message on a TCP connection.
private final class ReplyHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<[UInt8]>

    init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        promise.succeed(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSError(.upstream, "connection closed before an answer"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }
}

/// Splits a TCP stream into DNS messages (RFC 1035 §4.2.2: two-byte length, then the message).
struct DNSLengthPrefixDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}
