import HostSystem
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Serves Prometheus metrics on `/metrics` and liveness on `/healthz` (kube-proxy's port
/// 10249 by default). Closes its listener on graceful shutdown.
final class MetricsServer: ServiceLifecycle.Service, Sendable {
    let host: String
    let port: Int
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    init(host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.logger = logger
    }

    /// Binds now (so that a busy port fails `up` at once) and returns the bound channel.
    func bind() async throws -> any Channel {
        let registry = self.registry
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(registry: registry))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    func run() async throws {
        let channel = try await bind()
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

/// Answers one request per message with the registry's text exposition.
private final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        let body: [UInt8]
        var contentType = "text/plain; charset=utf-8"
        switch path {
        case "/metrics":
            status = .ok
            ProcessMemoryGauges.update(registry)
            body = registry.emitToBuffer()
            contentType = "text/plain; version=0.0.4; charset=utf-8"
        case "/healthz", "/livez", "/readyz":
            status = .ok
            body = Array("ok".utf8)
        default:
            status = .notFound
            body = Array("404 page not found\n".utf8)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// The process's resident memory, read at each scrape: `process_resident_memory_bytes`, the
/// Prometheus client libraries' name. (glibc's count of heap bytes in use is not exported: it
/// walks every free chunk with the allocator locked.)
enum ProcessMemoryGauges {
    static func update(_ registry: PrometheusCollectorRegistry) {
        if let rss = HostMemory.resident() {
            registry.makeGauge(descriptor: MetricNameDescriptor(
                namespace: "process", metricName: "resident_memory", unitName: "bytes", helpText: "Resident memory size in bytes.")).set(Double(rss))
        }
    }
}
