import NIOCore
import NIOPosix
import NIOSSL

/// What an upstream connection reports to the request that is using it. All calls happen on the
/// event loop shared by the client and upstream channels.
protocol UpstreamDelegate: AnyObject {
    func upstreamHead(_ head: ResponseHead)
    func upstreamBody(_ body: ByteBuffer)
    func upstreamEnd()
    func upstreamReadComplete()
    func upstreamWritabilityChanged(_ writable: Bool)
    /// The backend sent something that is not HTTP/1 (the connection is closed next).
    func upstreamFailed(_ error: any Error)
    func upstreamClosed()
}

/// Where an upstream connection goes: the pool key.
struct UpstreamKey: Hashable {
    var hostPort: String
    var tls: Bool
}

/// One upstream (backend) connection: its channel and the handler at the end of its pipeline,
/// which writes request bytes made by the proxy and takes responses apart with a
/// `ResponseParser` (no HTTP codec handlers: their typed parts cost more than the proxying).
/// After a protocol upgrade it passes bytes on to the `GlueHandler` placed after it.
final class UpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    weak var delegate: (any UpstreamDelegate)?
    private(set) var context: ChannelHandlerContext?
    let key: UpstreamKey
    weak var pool: UpstreamPool?
    /// When it was put back into the pool; nil while in use.
    var idleSince: NIODeadline?
    /// Set once a request was written and answered on this connection before.
    var reused = false
    /// Whether the channel reads (autoRead), to change it only when needed.
    private var reading = true
    private var parser = ResponseParser()
    /// Upgraded: bytes pass through to the handler after this one.
    private var tunneling = false

    init(key: UpstreamKey) { self.key = key }

    var channel: (any Channel)? { context?.channel }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if tunneling { return context.fireChannelRead(data) }
        var buffer = unwrapInboundIn(data)
        do {
            while let event = try parser.next(&buffer) {
                switch event {
                case .head(let head): delegate?.upstreamHead(head)
                case .body(let body): delegate?.upstreamBody(body)
                case .end: delegate?.upstreamEnd()
                }
            }
        } catch {
            delegate?.upstreamFailed(error)
            return context.close(promise: nil)
        }
        // Bytes that came with a 101 answer belong to the new protocol.
        if tunneling, buffer.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(buffer)) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if tunneling { return context.fireChannelReadComplete() }
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if tunneling { return context.fireChannelWritabilityChanged() }
        delegate?.upstreamWritabilityChanged(context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pool?.remove(self)
        if parser.endOfInput() != nil { delegate?.upstreamEnd() }
        let d = delegate
        delegate = nil
        d?.upstreamClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes request bytes (see `UpstreamRequestHead`); no flush.
    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    /// The request that starts now is answered next on this connection.
    func expectResponse(toHEAD: Bool) { parser.expectResponse(toHEAD: toHEAD) }

    /// From now on reads go to the handler after this one (a `GlueHandler`).
    func startTunnel() {
        delegate = nil
        tunneling = true
    }

    func flush() { context?.flush() }

    func close() { context?.close(promise: nil) }

    /// Turns reading from the backend on or off (backpressure from the client).
    func setReading(_ on: Bool) {
        guard on != reading, let context else { return }
        reading = on
        _ = try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: on)
    }
}

/// Keep-alive upstream connections of one event loop, by endpoint. Only touched on that loop.
/// Idle connections are closed by one sweep task per pool, not one timer per connection.
final class UpstreamPool {
    let eventLoop: any EventLoop
    private var idle: [UpstreamKey: [UpstreamHandler]] = [:]
    private let maxIdle: Int
    private let idleTimeout: TimeAmount
    private var sweep: Scheduled<Void>?

    init(eventLoop: any EventLoop, maxIdle: Int, idleTimeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.maxIdle = maxIdle
        self.idleTimeout = idleTimeout
    }

    /// A pooled open connection to `endpoint`, if there is one.
    func takeIdle(_ endpoint: Endpoint, tls: Bool) -> UpstreamHandler? {
        let key = UpstreamKey(hostPort: endpoint.hostPort, tls: tls)
        while let handler = idle[key]?.popLast() {
            handler.idleSince = nil
            if handler.channel?.isActive == true {
                handler.reused = true
                return handler
            }
        }
        return nil
    }

    /// A new connection to `endpoint`.
    func connect(_ endpoint: Endpoint, tls: NIOSSLContext?, connectTimeout: TimeAmount) -> EventLoopFuture<UpstreamHandler> {
        let handler = UpstreamHandler(key: UpstreamKey(hostPort: endpoint.hostPort, tls: tls != nil))
        handler.pool = self
        let boundHandler = NIOLoopBound(handler, eventLoop: eventLoop)
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: endpoint.address, port: endpoint.port)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return ProxyBootstraps.upstream(eventLoop: eventLoop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
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
        guard (idle[handler.key]?.count ?? 0) < maxIdle else { handler.close(); return }
        handler.idleSince = .now()
        idle[handler.key, default: []].append(handler)
        if sweep == nil { scheduleSweep(at: .now() + idleTimeout) }
    }

    func remove(_ handler: UpstreamHandler) {
        guard handler.idleSince != nil else { return }
        handler.idleSince = nil
        idle[handler.key]?.removeAll { $0 === handler }
    }

    func closeAll() {
        sweep?.cancel()
        sweep = nil
        for list in idle.values { for h in list { h.close() } }
        idle.removeAll()
    }

    private func scheduleSweep(at deadline: NIODeadline) {
        sweep = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.sweepIdle() }
    }

    /// Closes the connections idle for `idleTimeout`; runs again when the next one is due.
    private func sweepIdle() {
        sweep = nil
        let now = NIODeadline.now()
        var next: NIODeadline?
        var expired: [UpstreamHandler] = []
        for key in Array(idle.keys) {
            idle[key]?.removeAll { handler in
                guard let since = handler.idleSince else { return true }
                if since + idleTimeout <= now {
                    expired.append(handler)
                    return true
                }
                next = min(next ?? since + idleTimeout, since + idleTimeout)
                return false
            }
            if idle[key]?.isEmpty == true { idle[key] = nil }
        }
        for handler in expired {
            handler.idleSince = nil
            handler.close()
        }
        if let next { scheduleSweep(at: next) }
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
