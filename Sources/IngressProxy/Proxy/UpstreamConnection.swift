import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What an upstream connection reports to the request that is using it. All calls happen on the
/// event loop shared by the client and upstream channels.
protocol UpstreamDelegate: AnyObject {
    func upstreamHead(_ head: HTTPResponseHead)
    func upstreamBody(_ body: ByteBuffer)
    func upstreamEnd()
    func upstreamReadComplete()
    func upstreamWritabilityChanged(_ writable: Bool)
    func upstreamClosed()
}

/// One upstream (backend) connection: its channel and the handler at the end of its pipeline.
final class UpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    weak var delegate: (any UpstreamDelegate)?
    private(set) var context: ChannelHandlerContext?
    let key: String
    weak var pool: UpstreamPool?
    var idleTask: Scheduled<Void>?
    /// Set once a request was written and answered on this connection before.
    var reused = false

    init(key: String) { self.key = key }

    var channel: (any Channel)? { context?.channel }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): delegate?.upstreamHead(head)
        case .body(let body): delegate?.upstreamBody(body)
        case .end: delegate?.upstreamEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) { delegate?.upstreamReadComplete() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTask?.cancel()
        pool?.remove(self)
        let d = delegate
        delegate = nil
        d?.upstreamClosed()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func write(_ part: HTTPClientRequestPart, flush: Bool = false) {
        guard let context else { return }
        if flush {
            context.writeAndFlush(wrapOutboundOut(part), promise: nil)
        } else {
            context.write(wrapOutboundOut(part), promise: nil)
        }
    }

    func flush() { context?.flush() }

    func close() { context?.close(promise: nil) }
}

/// Keep-alive upstream connections of one event loop, by endpoint. Only touched on that loop.
final class UpstreamPool {
    let eventLoop: any EventLoop
    private var idle: [String: [UpstreamHandler]] = [:]
    private let maxIdle: Int
    private let idleTimeout: TimeAmount

    init(eventLoop: any EventLoop, maxIdle: Int, idleTimeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.maxIdle = maxIdle
        self.idleTimeout = idleTimeout
    }

    /// A pooled connection to `endpoint`, or a new one.
    func acquire(_ endpoint: Endpoint, tls: NIOSSLContext?, connectTimeout: TimeAmount) -> EventLoopFuture<UpstreamHandler> {
        let key = (tls == nil ? "http://" : "https://") + endpoint.hostPort
        while var list = idle[key], let handler = list.popLast() {
            idle[key] = list.isEmpty ? nil : list
            handler.idleTask?.cancel()
            handler.idleTask = nil
            if handler.channel?.isActive == true {
                handler.reused = true
                return eventLoop.makeSucceededFuture(handler)
            }
        }
        let handler = UpstreamHandler(key: key)
        handler.pool = self
        let boundHandler = NIOLoopBound(handler, eventLoop: eventLoop)
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: endpoint.address, port: endpoint.port)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: 256 * 1024))
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
                    try sync.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
                    try sync.addHandler(boundHandler.value)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(to: address)
            .map { _ in boundHandler.value }
    }

    /// Returns a connection that finished its exchange cleanly.
    func release(_ handler: UpstreamHandler) {
        handler.delegate = nil
        guard let channel = handler.channel, channel.isActive else { return }
        var list = idle[handler.key] ?? []
        guard list.count < maxIdle else { handler.close(); return }
        list.append(handler)
        idle[handler.key] = list
        handler.idleTask = eventLoop.scheduleTask(in: idleTimeout) { [weak handler] in handler?.close() }
    }

    func remove(_ handler: UpstreamHandler) {
        guard var list = idle[handler.key], let i = list.firstIndex(where: { $0 === handler }) else { return }
        list.remove(at: i)
        idle[handler.key] = list.isEmpty ? nil : list
    }

    func closeAll() {
        for list in idle.values { for h in list { h.close() } }
        idle.removeAll()
    }
}

/// The upstream pools of every event loop of the server's group.
final class UpstreamPools: Sendable {
    private let pools: [ObjectIdentifier: NIOLoopBoundBox<UpstreamPool>]

    init(group: any EventLoopGroup, configuration: ProxyConfiguration) {
        var pools: [ObjectIdentifier: NIOLoopBoundBox<UpstreamPool>] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(
                UpstreamPool(eventLoop: loop, maxIdle: configuration.maxIdleUpstreamConnections, idleTimeout: configuration.upstreamIdleTimeout),
                eventLoop: loop)
        }
        self.pools = pools
    }

    /// The pool of the calling event loop; nil for a loop outside the group.
    func pool(for loop: any EventLoop) -> UpstreamPool? {
        pools[ObjectIdentifier(loop)]?.value
    }

    func closeAll() -> EventLoopFuture<Void>? {
        let futures = pools.values.map { box in
            box.eventLoop.submit { box.value.closeAll() }
        }
        guard let first = futures.first else { return nil }
        return EventLoopFuture.andAllSucceed(futures, on: first.eventLoop)
    }
}
