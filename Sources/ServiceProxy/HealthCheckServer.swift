import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// kube-proxy's per-Service health checks for `externalTrafficPolicy: Local` LoadBalancers:
/// an HTTP server on each `healthCheckNodePort` answering 200 when the node has a local
/// endpoint and 503 otherwise, with kube-proxy's JSON body, so that an external load balancer
/// only sends traffic to nodes that can serve it.
public final class HealthCheckServers: Sendable {
    private struct State {
        var checks: [Int: HealthCheck] = [:]
        var channels: [Int: any Channel] = [:]
    }

    private let host: String
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    public init(host: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.host = host
        self.group = group
        self.logger = logger
    }

    /// The bound port of a check (its `healthCheckNodePort`, or the real port when 0 was asked in tests).
    public func boundPort(for port: Int) -> Int? {
        state.withLock { $0.channels[port]?.localAddress?.port }
    }

    /// Opens listeners for new checks, closes those no longer wanted, updates counts.
    public func update(_ checks: [HealthCheck]) async {
        let wanted = Dictionary(checks.map { ($0.port, $0) }, uniquingKeysWith: { a, _ in a })
        let (toOpen, toClose) = state.withLock { state -> ([Int], [any Channel]) in
            state.checks = wanted
            let open = wanted.keys.filter { state.channels[$0] == nil }
            let close = state.channels.filter { wanted[$0.key] == nil }
            for port in close.keys { state.channels[port] = nil }
            return (open, Array(close.values))
        }
        for channel in toClose { try? await channel.close() }
        for port in toOpen.sorted() {
            do {
                let channel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.pipeline.configureHTTPServerPipeline().flatMap {
                            channel.pipeline.addHandler(HealthCheckHandler(port: port, servers: self))
                        }
                    }
                    .bind(host: host, port: port).get()
                state.withLock { $0.channels[port] = channel }
            } catch {
                logger.warning("proxy.healthcheck.bind.failed", metadata: ["port": "\(port)", "error": "\(error)"])
            }
        }
    }

    /// Closes every listener.
    public func shutdown() async {
        let channels = state.withLock { state -> [any Channel] in
            defer { state.channels = [:]; state.checks = [:] }
            return Array(state.channels.values)
        }
        for channel in channels { try? await channel.close() }
    }

    func check(_ port: Int) -> HealthCheck? { state.withLock { $0.checks[port] } }

    /// kube-proxy's response for a check.
    public static func response(_ check: HealthCheck?) -> (status: Int, body: String) {
        guard let check else { return (404, "{\"error\": \"no such service\"}") }
        let body = "{\"service\": {\"namespace\": \"\(check.namespace)\", \"name\": \"\(check.name)\"}, \"localEndpoints\": \(check.localEndpoints), \"serviceProxyHealthy\": true}"
        return (check.localEndpoints > 0 ? 200 : 503, body)
    }
}

private final class HealthCheckHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let port: Int
    let servers: HealthCheckServers

    init(port: Int, servers: HealthCheckServers) {
        self.port = port
        self.servers = servers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let check = servers.check(port)
        let (status, body) = HealthCheckServers.response(check)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "X-Load-Balancing-Endpoint-Weight", value: String(check?.localEndpoints ?? 0))
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
