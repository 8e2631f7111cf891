import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP/1.1 handlers of a client connection, kept so that an upgrade can take them out.
struct HTTP1ServerHandlers {
    let encoder: HTTPResponseEncoder
    let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    let pipelining: HTTPServerPipelineHandler
    let errors: HTTPServerProtocolErrorHandler
}

/// Proxies the requests of one client connection (HTTP/1.1) or one stream (HTTP/2, behind
/// `HTTP2FramePayloadToHTTP1ServerCodec`): route, pick an endpoint, stream both bodies with
/// backpressure, answer 4xx/5xx itself when it must. Runs entirely on its channel's event loop,
/// which is also the loop of its upstream connections.
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
    private var connectionTimer: Scheduled<Void>?

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
    private var upstreamHead: HTTPRequestHead?
    private var pending: [HTTPClientRequestPart] = []
    private var replay: [HTTPClientRequestPart]?
    private var replayBytes = 0
    private var upstream: UpstreamHandler?
    private var requestEnded = false
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
    private var readTimer: Scheduled<Void>?

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
        if h1 != nil { armConnectionTimer(shared.configuration.headerReadTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connectionTimer?.cancel()
        readTimer?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): receivedHead(head)
        case .body(let body): receivedBody(body)
        case .end: receivedEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if phase == .streaming { upstream?.flush() }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let channel = upstream?.channel { setAutoRead(channel, context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase != .idle && phase != .closed && phase != .upgraded {
            if !responseEnded { status = responseStarted ? status : 499 }
            finishExchange(reuseUpstream: false, clientGone: true)
        }
        phase = .closed
        connectionTimer?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func receivedHead(_ head: HTTPRequestHead) {
        guard phase == .idle, let context else { return }
        connectionTimer?.cancel()
        connectionTimer = nil
        resetExchange()
        start = .now()
        method = head.method
        clientVersion = head.version
        keepAlive = h1 == nil || head.isKeepAlive
        logPath = head.uri

        if head.headers.count > shared.configuration.maxHeaderCount {
            return respond(.init(statusCode: 431), "too many request header fields\n", close: true)
        }
        var size = head.uri.utf8.count
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        if size > shared.configuration.maxHeaderBytes {
            return respond(.init(statusCode: 431), "request header fields too large\n", close: true)
        }
        guard let target = RequestTarget.parse(head.uri) else {
            return respond(.badRequest, "malformed request target\n", close: true)
        }
        let rawHost = target.authority ?? head.headers.first(name: "host") ?? ""
        host = RequestTarget.normalizeHost(rawHost)
        logPath = target.path

        guard let route = shared.state.routes.match(host: host, path: target.path) else {
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
        if let limit = bodyLimit, let cl = head.headers.first(name: "content-length").flatMap({ Int64($0) }), cl > limit {
            return respond(.payloadTooLarge, "413 request body larger than \(limit) bytes\n", close: true)
        }

        // The upstream request.
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 8)
        let connectionTokens = head.headers[canonicalForm: "connection"].map { $0.lowercased() }
        var incomingXFF: String?
        var incomingRequestID: String?
        var forwardedProto: String?, forwardedHost: String?, forwardedPort: String?
        var upgradeValue: String?
        var hasContentLength = false, chunked = false
        var affinityCookie: String?
        let affinityName = route.options.affinity?.name
        for (name, value) in head.headers {
            switch name.lowercased() {
            case "connection", "keep-alive", "proxy-connection", "te", "trailer", "proxy-authorization", "proxy-authenticate", "http2-settings":
                continue
            case "transfer-encoding":
                chunked = true
                continue
            case "upgrade":
                upgradeValue = value
                continue
            case "x-forwarded-for": incomingXFF = incomingXFF.map { $0 + ", " + value } ?? value; continue
            case "x-forwarded-proto": forwardedProto = value; continue
            case "x-forwarded-host": forwardedHost = value; continue
            case "x-forwarded-port": forwardedPort = value; continue
            case "x-real-ip": continue
            case "x-request-id": incomingRequestID = value; continue
            case "content-length": hasContentLength = true
            case "cookie":
                if let affinityName, affinityCookie == nil { affinityCookie = ProxyHandler.cookie(affinityName, in: value) }
            default:
                if !connectionTokens.isEmpty && connectionTokens.contains(name.lowercased()) { continue }
            }
            headers.add(name: name, value: value)
        }
        if h1 == nil {
            // HTTP/2: the codec put :authority into Host already.
            if !hasContentLength && ![.GET, .HEAD, .DELETE, .OPTIONS, .TRACE].contains(method) { chunked = true }
        }
        if chunked && !hasContentLength { headers.add(name: "transfer-encoding", value: "chunked") }
        bodyAllowed = hasContentLength || chunked
        if h1 != nil, let up = upgradeValue, connectionTokens.contains("upgrade"), up.lowercased() != "h2c" {
            isUpgrade = true
            headers.add(name: "connection", value: "upgrade")
            headers.add(name: "upgrade", value: up)
        } else if upgradeValue != nil {
            // The decoder stops after an upgrade request: this connection ends with the exchange.
            keepAlive = false
        }
        let trusted = shared.isTrusted(client)
        let xff = trusted ? (incomingXFF.map { $0 + ", " + client } ?? client) : client
        headers.add(name: "x-forwarded-for", value: xff)
        headers.add(name: "x-forwarded-proto", value: trusted ? (forwardedProto ?? scheme) : scheme)
        headers.add(name: "x-forwarded-host", value: trusted ? (forwardedHost ?? rawHost) : rawHost)
        headers.add(name: "x-forwarded-port", value: trusted ? (forwardedPort ?? String(listenPort)) : String(listenPort))
        let realIP = trusted ? (incomingXFF?.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? client) : client
        headers.add(name: "x-real-ip", value: realIP)
        if let id = incomingRequestID, !id.isEmpty, id.utf8.count <= 200 { requestID = id } else { requestID = ProxyHandler.newRequestID() }
        headers.add(name: "x-request-id", value: requestID)
        if headers.first(name: "host") == nil, !rawHost.isEmpty { headers.add(name: "host", value: rawHost) }

        let upstreamPath = route.upstreamPath(for: target.path) + (target.query.map { "?" + $0 } ?? "")
        upstreamHead = HTTPRequestHead(version: .http1_1, method: method, uri: upstreamPath, headers: headers)
        replay = method.isIdempotent ? [] : nil

        let policy = route.options.loadBalancing ?? .roundRobin
        guard let endpoint = route.backend.pick(policy, affinity: affinityCookie) else {
            return respond(.serviceUnavailable, "503 service unavailable: no endpoints\n")
        }
        if let affinity = route.options.affinity, affinityCookie != endpoint.affinityKey {
            var cookie = "\(affinity.name)=\(endpoint.affinityKey); Path=\(affinity.path ?? "/"); HttpOnly"
            if let age = affinity.maxAgeSeconds { cookie += "; Max-Age=\(age)" }
            if isTLS { cookie += "; Secure" }
            setCookie = cookie
        }
        connect(to: endpoint, context: context)
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
            pending.append(.body(.byteBuffer(body)))
        case .streaming:
            guard let upstream else { return }
            upstream.write(.body(.byteBuffer(body)))
            if replay != nil {
                replayBytes += body.readableBytes
                if replayBytes > 64 * 1024 { replay = nil } else { replay!.append(.body(.byteBuffer(body))) }
            }
            if let channel = upstream.channel, !channel.isWritable, let own = context?.channel { setAutoRead(own, false) }
        default:
            break
        }
    }

    private func receivedEnd() {
        requestEnded = true
        switch phase {
        case .connecting:
            pending.append(.end(nil))
        case .streaming:
            upstream?.write(.end(nil), flush: true)
            replay?.append(.end(nil))
            if responseEnded { finishExchange(reuseUpstream: false) }
        case .local:
            if responseEnded { finishExchange(reuseUpstream: false) }
        default:
            break
        }
    }

    // MARK: Upstream connection

    private func connect(to endpoint: Endpoint, context: ChannelHandlerContext) {
        guard let route, let pool = shared.pools.pool(for: context.eventLoop) else {
            return respond(.internalServerError, "500 no upstream pool for this event loop\n", close: true)
        }
        self.endpoint = endpoint
        tried.append(endpoint)
        attempts += 1
        phase = .connecting
        setAutoRead(context.channel, false)
        let tls = route.options.backendProtocol == .https ? shared.upstreamTLS : nil
        let timeout = TimeAmount.milliseconds(Int64(route.options.connectTimeoutSeconds * 1000))
        let id = exchangeID
        pool.acquire(endpoint, tls: tls, connectTimeout: timeout).assumeIsolated().whenComplete { result in
            self.connected(result, id: id, pool: pool)
        }
    }

    private func connected(_ result: Result<UpstreamHandler, any Error>, id: Int, pool: UpstreamPool) {
        switch result {
        case .success(let handler):
            guard id == exchangeID, phase == .connecting, let context, let upstreamHead else {
                pool.release(handler)
                return
            }
            shared.metrics.upstreamConnections.increment()
            upstream = handler
            handler.delegate = self
            endpoint?.inFlight.wrappingAdd(1, ordering: .relaxed)
            phase = .streaming
            handler.write(.head(upstreamHead))
            replay?.append(.head(upstreamHead))
            for part in pending {
                handler.write(part)
                if replay != nil, case .body(.byteBuffer(let b)) = part { replayBytes += b.readableBytes }
                replay?.append(part)
            }
            if replayBytes > 64 * 1024 { replay = nil }
            pending.removeAll()
            handler.flush()
            lastUpstreamActivity = .now()
            armReadTimer()
            setAutoRead(context.channel, handler.channel?.isWritable ?? true)
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

    func upstreamHead(_ head: HTTPResponseHead) {
        guard phase == .streaming, let context else { return }
        if head.status.code < 200 && head.status != .switchingProtocols {
            // Interim answers (100 Continue for `Expect: 100-continue` uploads) pass through on HTTP/1.1.
            if h1 != nil && head.status == .continue {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: clientVersion, status: .continue))), promise: nil)
            }
            return
        }
        responseStarted = true
        replay = nil
        status = Int(head.status.code)
        lastUpstreamActivity = .now()
        if isUpgrade && head.status == .switchingProtocols {
            phase = .upgrading
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: clientVersion, status: head.status, headers: head.headers))), promise: nil)
            return
        }
        upstreamKeepAlive = head.isKeepAlive
        var headers = HTTPHeaders()
        headers.reserveCapacity(head.headers.count + 2)
        let connectionTokens = head.headers[canonicalForm: "connection"].map { $0.lowercased() }
        var hasLength = false
        for (name, value) in head.headers {
            switch name.lowercased() {
            case "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate":
                continue
            case "content-length":
                hasLength = true
            default:
                if !connectionTokens.isEmpty && connectionTokens.contains(name.lowercased()) { continue }
            }
            headers.add(name: name, value: value)
        }
        if let setCookie { headers.add(name: "set-cookie", value: setCookie) }
        if h1 != nil {
            if clientVersion.minor == 0 && !hasLength && method != .HEAD { keepAlive = false }
            if isUpgrade { keepAlive = false }
            if !keepAlive { headers.add(name: "connection", value: "close") } else if clientVersion.minor == 0 { headers.add(name: "connection", value: "keep-alive") }
        }
        let version = h1 == nil ? HTTPVersion.http2 : clientVersion
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: head.status, headers: headers))), promise: nil)
    }

    func upstreamBody(_ body: ByteBuffer) {
        guard let context else { return }
        if phase == .upgrading { return }
        bytesOut += Int64(body.readableBytes)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if !context.channel.isWritable, let channel = upstream?.channel { setAutoRead(channel, false) }
    }

    func upstreamReadComplete() {
        lastUpstreamActivity = .now()
        context?.flush()
    }

    func upstreamEnd() {
        guard let context else { return }
        if phase == .upgrading { return switchToTunnel(context) }
        guard phase == .streaming else { return }
        responseEnded = true
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if requestEnded {
            finishExchange(reuseUpstream: upstreamKeepAlive)
        } else {
            // The backend answered before reading the whole body: that connection cannot be reused.
            upstream?.close()
            detachUpstream()
            keepAlive = false
            phase = .local
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        upstreamBlockedSince = writable ? nil : .now()
        if let channel = context?.channel, phase == .streaming { setAutoRead(channel, writable) }
    }

    func upstreamClosed() {
        guard phase == .streaming || phase == .upgrading, let context else { return }
        let wasReused = upstream?.reused ?? false
        detachUpstream()
        if !responseStarted {
            if wasReused, attempts < 4, let replay, let endpoint {
                // A pooled keep-alive connection that the backend had already closed.
                pending = Array(replay.dropFirst())
                self.replay = []
                replayBytes = 0
                tried.removeAll { $0 === endpoint }
                return connect(to: endpoint, context: context)
            }
            return respond(.badGateway, "502 bad gateway: the backend closed the connection\n")
        }
        // Mid-response: the client cannot be told cleanly, so its connection (or stream) ends.
        keepAlive = false
        context.close(promise: nil)
    }

    private func detachUpstream() {
        if let upstream {
            upstream.delegate = nil
            if let channel = upstream.channel { setAutoRead(channel, true) }
            endpoint?.inFlight.wrappingSubtract(1, ordering: .relaxed)
        }
        upstream = nil
        readTimer?.cancel()
        readTimer = nil
    }

    // MARK: Upgrade

    private func switchToTunnel(_ context: ChannelHandlerContext) {
        guard let h1, let upstream, let upstreamChannel = upstream.channel else {
            context.close(promise: nil)
            return
        }
        phase = .upgraded
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        responseEnded = true
        requestEnded = true
        readTimer?.cancel()
        logExchange()
        let (clientGlue, upstreamGlue) = GlueHandler.matchedPair()
        let upstreamPipeline = upstreamChannel.pipeline.syncOperations
        do {
            upstream.delegate = nil
            endpoint?.inFlight.wrappingSubtract(1, ordering: .relaxed)
            self.upstream = nil
            let decoder = try upstreamPipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self)
            try upstreamPipeline.addHandler(upstreamGlue, position: .after(decoder))
            let encoder = try upstreamPipeline.handler(type: HTTPRequestEncoder.self)
            upstreamPipeline.removeHandler(encoder, promise: nil)
            upstreamPipeline.removeHandler(upstream, promise: nil)
            upstreamPipeline.removeHandler(decoder, promise: nil)

            let clientPipeline = context.pipeline.syncOperations
            try clientPipeline.addHandler(clientGlue, position: .after(h1.decoder))
            clientPipeline.removeHandler(h1.encoder, promise: nil)
            clientPipeline.removeHandler(h1.pipelining, promise: nil)
            clientPipeline.removeHandler(h1.errors, promise: nil)
            clientPipeline.removeHandler(context: context, promise: nil)
            clientPipeline.removeHandler(h1.decoder, promise: nil)
            setAutoRead(context.channel, true)
            setAutoRead(upstreamChannel, true)
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
        if let upstream {
            let pool = reuseUpstream ? upstream.pool : nil
            detachUpstream()
            if let pool { pool.release(upstream) } else { upstream.close() }
        }
        readTimer?.cancel()
        readTimer = nil
        logExchange()
        exchangeID &+= 1
        guard !clientGone, let context else { return }
        phase = .idle
        if !keepAlive {
            phase = .closed
            context.close(promise: nil)
        } else if h1 != nil {
            armConnectionTimer(shared.configuration.idleTimeout)
            setAutoRead(context.channel, true)
        }
    }

    private func logExchange() {
        let elapsed = NIODeadline.now() - start
        let ingress = route.map { $0.ingress.description } ?? ""
        let service = route?.backend.target.serviceLabel ?? ""
        shared.metrics.record(ingress: ingress, service: service, status: status, nanoseconds: elapsed.nanoseconds, bytes: bytesOut)
        guard let log = shared.accessLog else { return }
        log.record(AccessLogEntry(
            time: Date().timeIntervalSince1970, client: client, host: host, method: method.rawValue, path: logPath,
            status: status, bytesSent: bytesOut, upstream: endpoint?.hostPort ?? "", durationSeconds: Double(elapsed.nanoseconds) / 1e9,
            ingress: ingress, requestID: requestID, proto: h1 == nil ? "HTTP/2" : "HTTP/1.\(clientVersion.minor)"))
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
    }

    // MARK: Timers

    private func armConnectionTimer(_ timeout: TimeAmount) {
        guard let context else { return }
        connectionTimer?.cancel()
        connectionTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            if self.phase == .idle { self.context?.close(promise: nil) }
        }
    }

    private func armReadTimer() {
        guard let context, let route else { return }
        let read = TimeAmount.milliseconds(Int64(route.options.readTimeoutSeconds * 1000))
        let send = TimeAmount.milliseconds(Int64(route.options.sendTimeoutSeconds * 1000))
        let now = NIODeadline.now()
        var next = lastUpstreamActivity + read
        if let since = upstreamBlockedSince { next = min(next, since + send) }
        if next <= now {
            return upstreamTimedOut()
        }
        readTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next) {
            guard self.phase == .streaming || self.phase == .upgrading else { return }
            self.armReadTimer()
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

    private func setAutoRead(_ channel: any Channel, _ on: Bool) {
        _ = try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: on)
    }

    static func cookie(_ name: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let kv = part.drop { $0 == " " }
            if kv.hasPrefix(name), kv.dropFirst(name.count).first == "=" { return String(kv.dropFirst(name.count + 1)) }
        }
        return nil
    }

    static func newRequestID() -> String {
        var g = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: 32)
        let digits = Array("0123456789abcdef".utf8)
        for half in 0..<2 {
            var v = g.next() as UInt64
            for i in 0..<16 {
                out[half * 16 + i] = digits[Int(v & 15)]
                v >>= 4
            }
        }
        return String(decoding: out, as: UTF8.self)
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
