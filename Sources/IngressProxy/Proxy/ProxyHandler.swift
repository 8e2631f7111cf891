import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP/1.1 handlers of a client connection, kept so that an upgrade can take them out.
struct HTTP1ServerHandlers {
    let encoder: HTTPResponseEncoder
    let decoder: ByteToMessageHandler<HTTPRequestDecoder>
}

/// Proxies the requests of one client connection (HTTP/1.1) or one stream (HTTP/2, behind
/// `HTTP2FramePayloadToHTTP1ServerCodec`): route, pick an endpoint, stream both bodies with
/// backpressure, answer 4xx/5xx itself when it must. Runs entirely on its channel's event loop,
/// which is also the loop of its upstream connections.
///
/// Pipelined HTTP/1.1 requests are queued here until the exchange before them is finished
/// (instead of `HTTPServerPipelineHandler`, which stops and restarts reading around every
/// request: two `epoll_ctl` calls per request).
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase { case idle, local, connecting, streaming, upgrading, upgraded, closed }

    private let shared: ProxyShared
    private let isTLS: Bool
    private let listenPort: Int
    private let h1: HTTP1ServerHandlers?
    private var context: ChannelHandlerContext?
    private var phase = Phase.idle
    /// Per connection, set once: the upstream pool of this event loop, the listen port as text.
    private var pool: UpstreamPool?
    private var listenPortText = ""
    /// The tables last seen (refreshed without a lock while no swap happens).
    private var tables: IngressState.Snapshot?
    /// Whether the client channel reads (autoRead), to change it only when needed.
    private var clientReading = true
    /// HTTP/1: the response encoder's context. Responses relayed from a backend are written
    /// from there as bytes (the head serialized once, body buffers as they come), skipping the
    /// encoder; responses kplane makes itself go through the encoder.
    private var rawWriter: ChannelHandlerContext?
    /// The relayed body is re-chunked for the client (the backend sent no Content-Length).
    private var chunkedOut = false
    /// Parts of pipelined requests that arrived before the current exchange finished.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var draining = false
    /// Writes not flushed yet, on each side (flushes without data still walk the pipeline).
    private var upstreamUnflushed = false
    private var clientUnflushed = false
    /// One timer per connection (`watchdog`) enforces the header-read, idle and upstream
    /// read/send timeouts: it fires at `watchdogAt` and re-arms for whatever deadline is due then.
    private var watchdog: Scheduled<Void>?
    private var watchdogAt = NIODeadline.distantFuture
    private var idleSince = NIODeadline.now()
    private var idleLimit = TimeAmount.zero
    private var requestIDs = RequestIDGenerator()
    private var metricsRoute: Route?
    private var metricsStatus = -1
    private var metricsEntry: ProxyMetrics.Entry?

    // The exchange in progress.
    private var exchangeID = 0
    private var start = NIODeadline.now()
    private var method = HTTPMethod.GET
    private var logPath = ""
    private var host = ""
    private var clientVersion = HTTPVersion.http1_1
    private var route: Route?
    private var endpoint: Endpoint?
    private var tried: [Endpoint] = []
    private var attempts = 0
    private var upstreamHead: UpstreamRequestHead?
    private var pending: [RequestPart] = []
    private var replay: [RequestPart]?
    private var replayBytes = 0
    private var upstream: UpstreamHandler?
    private var requestEnded = false
    /// The exchange was logged and its upstream released. Writing the last response part of an
    /// HTTP/2 stream can close the stream at once (`channelInactive` runs inside the write), so
    /// the end of an exchange may be reached twice.
    private var finished = false
    private var responseStarted = false
    private var responseEnded = false
    private var upstreamKeepAlive = true
    private var status = 0
    private var bytesOut: Int64 = 0
    private var bodyIn: Int64 = 0
    private var bodyLimit: Int64?
    private var bodyAllowed = true
    private var keepAlive = true
    private var isUpgrade = false
    private var setCookie: String?
    private var requestID = ""
    private var client = ""
    private var lastUpstreamActivity = NIODeadline.now()
    private var upstreamBlockedSince: NIODeadline?
    /// The backend's response could not be parsed.
    private var upstreamMalformed = false

    init(shared: ProxyShared, isTLS: Bool, listenPort: Int, http1: HTTP1ServerHandlers?) {
        self.shared = shared
        self.isTLS = isTLS
        self.listenPort = listenPort
        self.h1 = http1
    }

    // MARK: Client side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        client = context.channel.remoteAddress?.ipAddress ?? ""
        pool = shared.pools.pool(for: context.eventLoop)
        if let h1 { rawWriter = try? context.pipeline.syncOperations.context(handler: h1.encoder) }
        listenPortText = String(listenPort)
        if h1 != nil { becomeIdle(limit: shared.configuration.headerReadTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watchdog?.cancel()
        watchdog = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !queued.isEmpty || mustQueue {
            // A pipelined request: it waits (and reading stops) until this exchange is done.
            queued.append(part)
            setClientReading(false)
            return
        }
        deliver(part)
    }

    /// The request in progress has ended but its exchange has not: what comes now is the next request.
    private var mustQueue: Bool { requestEnded && phase != .idle }

    private func deliver(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head): receivedHead(head)
        case .body(let body): receivedBody(body)
        case .end: receivedEnd()
        }
    }

    /// Hands queued pipelined parts to the exchanges, in order, as far as they can go now.
    private func drainQueued() {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        while !queued.isEmpty && !mustQueue && phase != .closed {
            deliver(queued.removeFirst())
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamUnflushed {
            upstreamUnflushed = false
            if phase == .streaming { upstream?.flush() }
        }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        upstream?.setReading(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase != .idle && phase != .closed && phase != .upgraded && !finished {
            if !responseEnded { status = responseStarted ? status : 499 }
            finishExchange(reuseUpstream: false, clientGone: true)
        }
        phase = .closed
        watchdog?.cancel()
        watchdog = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed request: 400 unless a response is under way (as HTTPServerProtocolErrorHandler).
        if error is HTTPParserError, let raw = rawWriter, !responseStarted || responseEnded {
            var buffer = raw.channel.allocator.buffer(capacity: 80)
            buffer.writeStaticString("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
            raw.writeAndFlush(NIOAny(buffer), promise: nil)
        }
        context.close(promise: nil)
    }

    private func receivedHead(_ head: HTTPRequestHead) {
        guard phase == .idle, let context else { return }
        resetExchange()
        start = .now()
        method = head.method
        clientVersion = head.version
        keepAlive = h1 == nil || head.isKeepAlive
        logPath = head.uri

        // One pass over the fields: limits, Host and Connection (whose tokens name more
        // hop-by-hop fields, so they must be known before copying).
        if head.headers.count > shared.configuration.maxHeaderCount {
            return respond(.init(statusCode: 431), "too many request header fields\n", close: true)
        }
        var size = head.uri.utf8.count
        var hostHeader: String?
        var connection = ConnectionTokens()
        for (name, value) in head.headers {
            size += name.utf8.count + value.utf8.count + 4
            switch HeaderName(name) {
            case .host: if hostHeader == nil { hostHeader = value }
            case .connection: connection.add(value)
            default: break
            }
        }
        if size > shared.configuration.maxHeaderBytes {
            return respond(.init(statusCode: 431), "request header fields too large\n", close: true)
        }
        guard let target = RequestTarget.parse(head.uri) else {
            return respond(.badRequest, "malformed request target\n", close: true)
        }
        let rawHost = target.authority ?? hostHeader ?? ""
        host = RequestTarget.normalizeHost(rawHost)
        logPath = target.path

        let tables = shared.state.refresh(self.tables)
        self.tables = tables
        guard let route = tables.tables.routes.match(host: host, path: target.path) else {
            return respond(.notFound, "404 not found: no ingress rule matches \(host.isEmpty ? "this request" : host)\(target.path)\n")
        }
        self.route = route
        if !isTLS && route.redirectToHTTPS {
            var location = "https://" + (host.isEmpty ? "localhost" : host)
            if let p = httpsPortForRedirect() { location += ":\(p)" }
            location += head.uri.hasPrefix("/") ? head.uri : target.path + (target.query.map { "?" + $0 } ?? "")
            return respond(.permanentRedirect, "redirecting to \(location)\n", headers: [("location", location)])
        }
        if route.backend.endpoints.isEmpty {
            return respond(.serviceUnavailable, "503 service unavailable: \(route.backend.unavailableReason ?? "no endpoints")\n")
        }
        bodyLimit = route.options.maxBodyBytes

        // The upstream request.
        let upstreamURI: String
        if target.isOriginalURI && route.options.rewriteTarget == nil {
            upstreamURI = head.uri
        } else {
            upstreamURI = route.upstreamPath(for: target.path) + (target.query.map { "?" + $0 } ?? "")
        }
        var headers = UpstreamRequestHead.Builder(
            method: method, uri: upstreamURI, allocator: context.channel.allocator,
            capacity: size + upstreamURI.utf8.count - head.uri.utf8.count + client.utf8.count * 2 + rawHost.utf8.count + 200)
        var incomingXFF: String?
        var incomingRequestID: String?
        var forwardedProto: String?, forwardedHost: String?, forwardedPort: String?
        var upgradeValue: String?
        var contentLength: String?
        var hasHost = false, chunked = false
        var affinityCookie: String?
        let affinityName = route.options.affinity?.name
        for (name, value) in head.headers {
            switch HeaderName(name) {
            case .hopByHop, .connection, .xRealIP:
                continue
            case .transferEncoding:
                chunked = true
                continue
            case .upgrade:
                upgradeValue = value
                continue
            case .xForwardedFor: incomingXFF = incomingXFF.map { $0 + ", " + value } ?? value; continue
            case .xForwardedProto: forwardedProto = value; continue
            case .xForwardedHost: forwardedHost = value; continue
            case .xForwardedPort: forwardedPort = value; continue
            case .xRequestID: incomingRequestID = value; continue
            case .contentLength: if contentLength == nil { contentLength = value }
            case .host: hasHost = true
            case .cookie:
                if let affinityName, affinityCookie == nil { affinityCookie = ProxyHandler.cookie(affinityName, in: value) }
            case .other:
                if connection.lists(name) { continue }
            }
            headers.add(name, value)
        }
        if let limit = bodyLimit, let cl = contentLength.flatMap({ Int64($0) }), cl > limit {
            return respond(.payloadTooLarge, "413 request body larger than \(limit) bytes\n", close: true)
        }
        let hasContentLength = contentLength != nil
        if h1 == nil {
            // HTTP/2: the codec put :authority into Host already.
            switch method {
            case .GET, .HEAD, .DELETE, .OPTIONS, .TRACE: break
            default: if !hasContentLength { chunked = true }
            }
        }
        let chunkedUpstream = chunked && !hasContentLength
        if chunkedUpstream { headers.add("transfer-encoding", "chunked") }
        bodyAllowed = hasContentLength || chunked
        if h1 != nil, let up = upgradeValue, connection.upgrade, !HeaderName.equal(up, "h2c") {
            isUpgrade = true
            headers.add("connection", "upgrade")
            headers.add("upgrade", up)
        } else if upgradeValue != nil {
            // The decoder stops after an upgrade request: this connection ends with the exchange.
            keepAlive = false
        }
        if shared.isTrusted(client) {
            headers.add("x-forwarded-for", incomingXFF.map { $0 + ", " + client } ?? client)
            headers.add("x-forwarded-proto", forwardedProto ?? scheme)
            headers.add("x-forwarded-host", forwardedHost ?? rawHost)
            headers.add("x-forwarded-port", forwardedPort ?? listenPortText)
            headers.add("x-real-ip", incomingXFF?.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? client)
        } else {
            headers.add("x-forwarded-for", client)
            headers.add("x-forwarded-proto", scheme)
            headers.add("x-forwarded-host", rawHost)
            headers.add("x-forwarded-port", listenPortText)
            headers.add("x-real-ip", client)
        }
        if let id = incomingRequestID, !id.isEmpty, id.utf8.count <= 200 { requestID = id } else { requestID = requestIDs.next() }
        headers.add("x-request-id", requestID)
        if !hasHost, !rawHost.isEmpty { headers.add("host", rawHost) }

        upstreamHead = headers.finish(chunked: chunkedUpstream)
        replay = method.isIdempotent ? [] : nil

        let policy = route.options.loadBalancing ?? .roundRobin
        guard let endpoint = route.backend.pick(policy, affinity: affinityCookie) else {
            return respond(.serviceUnavailable, "503 service unavailable: no endpoints\n")
        }
        if let affinity = route.options.affinity, affinityCookie.flatMap(Endpoint.affinityHash) != endpoint.affinityHash {
            var cookie = "\(affinity.name)=\(endpoint.affinityKey); Path=\(affinity.path ?? "/"); HttpOnly"
            if let age = affinity.maxAgeSeconds { cookie += "; Max-Age=\(age)" }
            if isTLS { cookie += "; Secure" }
            setCookie = cookie
        }
        connect(to: endpoint, context: context, inRead: true)
    }

    private var scheme: String { isTLS ? "https" : "http" }

    /// The HTTPS port to put in redirects: none when it is the default 443.
    private func httpsPortForRedirect() -> Int? {
        let port = shared.configuration.httpsRedirectPort ?? shared.httpsPort.load(ordering: .relaxed)
        return port == 443 || port == 0 ? nil : port
    }

    private func receivedBody(_ body: ByteBuffer) {
        guard bodyAllowed else { return }
        bodyIn += Int64(body.readableBytes)
        if let limit = bodyLimit, bodyIn > limit {
            if !responseStarted && (phase == .connecting || phase == .streaming) {
                upstream?.close()
                detachUpstream()
                return respond(.payloadTooLarge, "413 request body larger than \(limit) bytes\n", close: true)
            }
            context?.close(promise: nil)
            return
        }
        switch phase {
        case .connecting:
            pending.append(.body(body))
        case .streaming:
            guard let upstream, let upstreamHead else { return }
            upstreamHead.send(.body(body), on: upstream)
            upstreamUnflushed = true
            if replay != nil {
                replayBytes += body.readableBytes
                if replayBytes > 64 * 1024 { replay = nil } else { replay!.append(.body(body)) }
            }
            if let channel = upstream.channel, !channel.isWritable { setClientReading(false) }
        default:
            break
        }
    }

    private func receivedEnd() {
        requestEnded = true
        switch phase {
        case .connecting:
            pending.append(.end)
        case .streaming:
            if let upstream, let upstreamHead {
                upstreamHead.send(.end, on: upstream)
                upstream.flush()
            }
            upstreamUnflushed = false
            if responseEnded { finishExchange(reuseUpstream: false) }
        case .local:
            if responseEnded { finishExchange(reuseUpstream: false) }
        default:
            break
        }
    }

    // MARK: Upstream connection

    /// `inRead`: called while handling a client read, whose end flushes the upstream channel.
    private func connect(to endpoint: Endpoint, context: ChannelHandlerContext, inRead: Bool = false) {
        guard let route, let pool else {
            return respond(.internalServerError, "500 no upstream pool for this event loop\n", close: true)
        }
        self.endpoint = endpoint
        tried.append(endpoint)
        attempts += 1
        phase = .connecting
        let tls = route.options.backendProtocol == .https ? shared.upstreamTLS : nil
        if let idle = pool.takeIdle(endpoint, tls: tls != nil) {
            // The usual case: no future, no pause of the client; the flush comes with the end
            // of the request or at the end of this read.
            return connected(.success(idle), id: exchangeID, pool: pool, flush: !inRead)
        }
        setClientReading(false)
        let timeout = TimeAmount.milliseconds(Int64(route.options.connectTimeoutSeconds * 1000))
        let id = exchangeID
        pool.connect(endpoint, tls: tls, connectTimeout: timeout).assumeIsolated().whenComplete { result in
            self.connected(result, id: id, pool: pool, flush: true)
        }
    }

    private func connected(_ result: Result<UpstreamHandler, any Error>, id: Int, pool: UpstreamPool, flush: Bool) {
        switch result {
        case .success(let handler):
            guard id == exchangeID, phase == .connecting, context != nil, let upstreamHead else {
                pool.release(handler)
                return
            }
            shared.metrics.upstreamConnections.increment()
            upstream = handler
            handler.delegate = self
            endpoint?.inFlight.wrappingAdd(1, ordering: .relaxed)
            phase = .streaming
            upstreamHead.send(pending, on: handler)
            for part in pending {
                if replay != nil, case .body(let b) = part {
                    replayBytes += b.readableBytes
                    replay!.append(part)
                }
            }
            if replayBytes > 64 * 1024 { replay = nil }
            if !pending.isEmpty || flush {
                pending.removeAll(keepingCapacity: true)
                handler.flush()
            } else {
                upstreamUnflushed = true
            }
            lastUpstreamActivity = .now()
            armWatchdog()
            setClientReading(handler.channel?.isWritable ?? true)
        case .failure(let error):
            guard id == exchangeID, phase == .connecting, let context, let route else { return }
            shared.metrics.upstreamConnectErrors.increment()
            shared.logger.debug("upstream connect failed", metadata: [
                "ingress.upstream": "\(endpoint?.hostPort ?? "")", "error": "\(error)",
            ])
            if method.isIdempotent, tried.count < route.backend.endpoints.count,
               let next = route.backend.pick(route.options.loadBalancing ?? .roundRobin, excluding: tried) {
                return connect(to: next, context: context)
            }
            if let e = error as? ChannelError, case .connectTimeout = e {
                respond(.gatewayTimeout, "504 gateway timeout: connecting to the backend timed out\n")
            } else {
                respond(.badGateway, "502 bad gateway: cannot connect to the backend\n")
            }
        }
    }

    func upstreamHead(_ head: ResponseHead) {
        guard phase == .streaming, context != nil else { return }
        if head.status < 200 && head.status != 101 {
            // Interim answers (100 Continue for `Expect: 100-continue` uploads) pass through on HTTP/1.1.
            if let raw = rawWriter, head.status == 100 {
                var buffer = raw.channel.allocator.buffer(capacity: 32)
                buffer.writeStaticString(clientVersion.minor == 0 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n")
                raw.writeAndFlush(NIOAny(buffer), promise: nil)
            }
            return
        }
        responseStarted = true
        replay = nil
        status = head.status
        lastUpstreamActivity = .now()
        if isUpgrade && head.status == 101 {
            phase = .upgrading
            if let raw = rawWriter {
                var buffer = raw.channel.allocator.buffer(capacity: head.block.readableBytes + 32)
                head.writeRelayed(into: &buffer, version: clientVersion) { $0.kind != .contentLength && $0.kind != .transferEncoding }
                buffer.writeStaticString("\r\n")
                raw.write(NIOAny(buffer), promise: nil)
                clientUnflushed = true
            }
            return
        }
        upstreamKeepAlive = head.keepAlive
        guard let raw = rawWriter else { return relayHeadAsParts(head) }

        // HTTP/1: the head is written here as one buffer, below the response encoder, copying
        // the backend's fields as they came.
        var buffer = raw.channel.allocator.buffer(capacity: head.block.readableBytes + (setCookie?.utf8.count ?? 0) + 64)
        head.writeRelayed(into: &buffer, version: clientVersion) { !head.isHopByHop($0) }
        if let setCookie {
            buffer.writeStaticString("set-cookie: ")
            buffer.writeString(setCookie)
            buffer.writeStaticString("\r\n")
        }
        let hasBody = method != .HEAD && head.mayHaveBody
        chunkedOut = false
        if hasBody && head.contentLength == nil {
            // The backend's framing (chunked or until close) is taken off: re-frame.
            if clientVersion.minor >= 1 {
                chunkedOut = true
                buffer.writeStaticString("transfer-encoding: chunked\r\n")
            } else {
                keepAlive = false
            }
        }
        if isUpgrade { keepAlive = false }
        if !keepAlive {
            buffer.writeStaticString("connection: close\r\n")
        } else if clientVersion.minor == 0 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        raw.write(NIOAny(buffer), promise: nil)
        clientUnflushed = true
    }

    /// HTTP/2 streams: the head goes through the stream's codec as an `HTTPResponseHead`.
    private func relayHeadAsParts(_ head: ResponseHead) {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.fields.count + 1)
        for field in head.fields where !head.isHopByHop(field) {
            headers.add(name: head.string(field.name), value: head.string(field.value))
        }
        if let setCookie { headers.add(name: "set-cookie", value: setCookie) }
        let status = HTTPResponseStatus(statusCode: head.status, reasonPhrase: head.string(head.reason))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http2, status: status, headers: headers))), promise: nil)
        clientUnflushed = true
    }

    func upstreamBody(_ body: ByteBuffer) {
        guard let context else { return }
        if phase == .upgrading { return }
        bytesOut += Int64(body.readableBytes)
        if let raw = rawWriter {
            if chunkedOut {
                guard body.readableBytes > 0 else { return }
                var size = raw.channel.allocator.buffer(capacity: 20)
                size.writeString(String(body.readableBytes, radix: 16))
                size.writeStaticString("\r\n")
                raw.write(NIOAny(size), promise: nil)
                raw.write(NIOAny(body), promise: nil)
                var crlf = raw.channel.allocator.buffer(capacity: 2)
                crlf.writeStaticString("\r\n")
                raw.write(NIOAny(crlf), promise: nil)
            } else {
                raw.write(NIOAny(body), promise: nil)
            }
        } else {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        clientUnflushed = true
        if !context.channel.isWritable { upstream?.setReading(false) }
    }

    func upstreamReadComplete() {
        lastUpstreamActivity = .now()
        if clientUnflushed {
            clientUnflushed = false
            if let raw = rawWriter { raw.flush() } else { context?.flush() }
        }
    }

    func upstreamEnd() {
        guard let context else { return }
        if phase == .upgrading { return switchToTunnel(context) }
        guard phase == .streaming else { return }
        responseEnded = true
        if requestEnded {
            // Back to the pool before the last write, which may end an HTTP/2 stream at once.
            releaseUpstream(reuse: upstreamKeepAlive)
        }
        if let raw = rawWriter {
            if chunkedOut {
                var last = raw.channel.allocator.buffer(capacity: 5)
                last.writeStaticString("0\r\n\r\n")
                raw.write(NIOAny(last), promise: nil)
            }
            raw.flush()
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        clientUnflushed = false
        if requestEnded {
            finishExchange(reuseUpstream: false)
        } else if phase == .streaming {
            // The backend answered before reading the whole body: that connection cannot be reused.
            upstream?.close()
            detachUpstream()
            keepAlive = false
            phase = .local
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        upstreamBlockedSince = writable ? nil : .now()
        if phase == .streaming { setClientReading(writable) }
        if !writable { armWatchdog() }
    }

    func upstreamFailed(_ error: any Error) {
        shared.logger.debug("upstream response malformed", metadata: ["ingress.upstream": "\(endpoint?.hostPort ?? "")", "error": "\(error)"])
        upstreamMalformed = true
    }

    func upstreamClosed() {
        guard phase == .streaming || phase == .upgrading, let context else { return }
        let wasReused = upstream?.reused ?? false
        detachUpstream()
        if !responseStarted {
            if wasReused, !upstreamMalformed, attempts < 4, let replay, let endpoint {
                // A pooled keep-alive connection that the backend had already closed.
                // `replay` holds the body parts sent so far; the head is sent again on connect.
                pending = replay
                if requestEnded { pending.append(.end) }
                self.replay = []
                replayBytes = 0
                tried.removeAll { $0 === endpoint }
                return connect(to: endpoint, context: context)
            }
            return respond(.badGateway, upstreamMalformed ? "502 bad gateway: the backend's response is not valid HTTP/1\n"
                                                          : "502 bad gateway: the backend closed the connection\n")
        }
        // Mid-response: the client cannot be told cleanly, so its connection (or stream) ends.
        keepAlive = false
        context.close(promise: nil)
    }

    private func detachUpstream() {
        if let upstream {
            upstream.delegate = nil
            upstream.setReading(true)
            endpoint?.inFlight.wrappingSubtract(1, ordering: .relaxed)
        }
        upstream = nil
    }

    // MARK: Upgrade

    private func switchToTunnel(_ context: ChannelHandlerContext) {
        guard let h1, let upstream, let upstreamChannel = upstream.channel else {
            context.close(promise: nil)
            return
        }
        phase = .upgraded
        rawWriter?.flush()
        rawWriter = nil
        responseEnded = true
        requestEnded = true
        logExchange()
        let (clientGlue, upstreamGlue) = GlueHandler.matchedPair()
        do {
            endpoint?.inFlight.wrappingSubtract(1, ordering: .relaxed)
            self.upstream = nil
            // The upstream handler stays, passing bytes on (those that came with the 101 too).
            try upstreamChannel.pipeline.syncOperations.addHandler(upstreamGlue, position: .after(upstream))
            upstream.startTunnel()

            let clientPipeline = context.pipeline.syncOperations
            try clientPipeline.addHandler(clientGlue, position: .after(h1.decoder))
            clientPipeline.removeHandler(h1.encoder, promise: nil)
            clientPipeline.removeHandler(context: context, promise: nil)
            clientPipeline.removeHandler(h1.decoder, promise: nil)
            _ = try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
            _ = try? upstreamChannel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        } catch {
            shared.logger.debug("upgrade failed", metadata: ["error": "\(error)"])
            upstreamChannel.close(promise: nil)
            context.close(promise: nil)
        }
    }

    // MARK: Finishing

    /// A response kplane writes itself.
    private func respond(_ status: HTTPResponseStatus, _ body: String, headers extra: [(String, String)] = [], close: Bool = false) {
        guard let context else { return }
        phase = .local
        self.status = Int(status.code)
        responseStarted = true
        responseEnded = true
        if close { keepAlive = false }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(body.utf8.count))
        for (n, v) in extra { headers.add(name: n, value: v) }
        if h1 != nil && !keepAlive { headers.add(name: "connection", value: "close") }
        if !requestID.isEmpty { headers.add(name: "x-request-id", value: requestID) }
        let version = h1 == nil ? HTTPVersion.http2 : clientVersion
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        if method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            bytesOut = Int64(buffer.readableBytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if requestEnded || close { finishExchange(reuseUpstream: false) }
    }

    private func finishExchange(reuseUpstream: Bool, clientGone: Bool = false) {
        guard !finished else { return }
        finished = true
        releaseUpstream(reuse: reuseUpstream)
        logExchange()
        exchangeID &+= 1
        guard !clientGone, let context else { return }
        phase = .idle
        if !keepAlive {
            phase = .closed
            context.close(promise: nil)
        } else if h1 != nil {
            becomeIdle(limit: shared.configuration.idleTimeout)
            if !queued.isEmpty { drainQueued() }
            if queued.isEmpty && phase != .closed { setClientReading(true) }
        }
    }

    /// Gives the upstream connection back to its pool (or closes it) and forgets it.
    private func releaseUpstream(reuse: Bool) {
        guard let upstream else { return }
        let pool = reuse ? upstream.pool : nil
        detachUpstream()
        if let pool { pool.release(upstream) } else { upstream.close() }
    }

    private func logExchange() {
        let elapsed = NIODeadline.now() - start
        let entry: ProxyMetrics.Entry
        if let cached = metricsEntry, metricsRoute === route, metricsStatus == status {
            entry = cached
        } else {
            entry = shared.metrics.entry(ingress: route?.ingressLabel ?? "", service: route?.serviceLabel ?? "", status: status)
            metricsEntry = entry
            metricsRoute = route
            metricsStatus = status
        }
        entry.record(nanoseconds: elapsed.nanoseconds, bytes: bytesOut)
        guard let log = shared.accessLog else { return }
        log.record(AccessLogEntry(
            time: Date().timeIntervalSince1970, client: client, host: host, method: method.rawValue, path: logPath,
            status: status, bytesSent: bytesOut, upstream: endpoint?.hostPort ?? "", durationSeconds: Double(elapsed.nanoseconds) / 1e9,
            ingress: route?.ingressLabel ?? "", requestID: requestID, proto: h1 == nil ? "HTTP/2" : "HTTP/1.\(clientVersion.minor)"))
    }

    private func resetExchange() {
        exchangeID &+= 1
        route = nil
        endpoint = nil
        tried.removeAll(keepingCapacity: true)
        attempts = 0
        upstreamHead = nil
        pending.removeAll(keepingCapacity: true)
        replay = nil
        replayBytes = 0
        requestEnded = false
        finished = false
        responseStarted = false
        responseEnded = false
        upstreamKeepAlive = true
        status = 0
        bytesOut = 0
        bodyIn = 0
        bodyLimit = nil
        bodyAllowed = true
        isUpgrade = false
        setCookie = nil
        requestID = ""
        upstreamBlockedSince = nil
        upstreamMalformed = false
        upstreamUnflushed = false
    }

    // MARK: Timers

    /// Starts waiting for the next request head: the connection closes if none comes in `limit`.
    private func becomeIdle(limit: TimeAmount) {
        idleSince = .now()
        idleLimit = limit
        armWatchdog()
    }

    /// The deadline that applies now: waiting for a request head, or for the backend (read and
    /// send timeouts); nil when no timeout applies (connecting has its own, local answers none).
    private func currentDeadline() -> NIODeadline? {
        switch phase {
        case .idle:
            return h1 == nil ? nil : idleSince + idleLimit
        case .streaming, .upgrading:
            guard let route else { return nil }
            var next = lastUpstreamActivity + .milliseconds(Int64(route.options.readTimeoutSeconds * 1000))
            if let since = upstreamBlockedSince {
                next = min(next, since + .milliseconds(Int64(route.options.sendTimeoutSeconds * 1000)))
            }
            return next
        case .local, .connecting, .upgraded, .closed:
            return nil
        }
    }

    /// Makes sure the watchdog fires no later than the current deadline. It is rescheduled only
    /// when the deadline moves earlier; when it fires early it re-arms for the deadline due then.
    private func armWatchdog() {
        guard let deadline = currentDeadline() else { return }
        if watchdog != nil && watchdogAt <= deadline { return }
        scheduleWatchdog(deadline)
    }

    private func scheduleWatchdog(_ deadline: NIODeadline) {
        guard let context else { return }
        watchdog?.cancel()
        watchdogAt = deadline
        watchdog = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.watchdog = nil
            self.watchdogFired()
        }
    }

    private func watchdogFired() {
        guard let deadline = currentDeadline() else { return }
        if deadline > .now() { return scheduleWatchdog(deadline) }
        switch phase {
        case .idle: context?.close(promise: nil)
        case .streaming, .upgrading: upstreamTimedOut()
        default: break
        }
    }

    private func upstreamTimedOut() {
        guard let context else { return }
        upstream?.close()
        detachUpstream()
        if !responseStarted {
            respond(.gatewayTimeout, "504 gateway timeout: the backend did not answer in time\n", close: !requestEnded)
        } else {
            keepAlive = false
            context.close(promise: nil)
        }
    }

    // MARK: Helpers

    private func setClientReading(_ on: Bool) {
        guard on != clientReading, let context else { return }
        clientReading = on
        _ = try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: on)
        // An HTTP/2 stream channel does not deliver what it buffered while paused just
        // because autoRead comes back on: ask for it (harmless on a socket channel).
        if on { context.read() }
    }

    static func cookie(_ name: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let kv = part.drop { $0 == " " }
            if kv.hasPrefix(name), kv.dropFirst(name.count).first == "=" { return String(kv.dropFirst(name.count + 1)) }
        }
        return nil
    }
}

extension HTTPMethod {
    /// RFC 9110 §9.2.2.
    var isIdempotent: Bool {
        switch self {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: return true
        default: return false
        }
    }
}

extension ResponseHead {
    /// Writes the status line for a client speaking `version` (the backend's status and reason)
    /// and the backend's fields that `include` keeps. Runs of fields spelled `name: value CRLF`
    /// next to each other are copied in one piece, the others field by field in that spelling.
    func writeRelayed(into buffer: inout ByteBuffer, version: HTTPVersion, include: (Field) -> Bool) {
        buffer.writeStaticString(version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: status / 100 % 10))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: status / 10 % 10))
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: status % 10))
        buffer.writeInteger(UInt8(ascii: " "))
        block.withUnsafeReadableBytes { bytes in
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[reason]))
            buffer.writeStaticString("\r\n")
            var run = 0..<0
            for field in fields {
                guard include(field) else { continue }
                if field.verbatim {
                    if run.upperBound == field.name.lowerBound && !run.isEmpty {
                        run = run.lowerBound..<(field.value.upperBound + 2)
                        continue
                    }
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[run]))
                    run = field.name.lowerBound..<(field.value.upperBound + 2)
                } else {
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[run]))
                    run = 0..<0
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.name]))
                    buffer.writeStaticString(": ")
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                    buffer.writeStaticString("\r\n")
                }
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[run]))
        }
    }
}
