import KubeModel
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// What every connection of one proxy shares: the tables, limits, pools, metrics and logs.
final class ProxyShared: Sendable {
    let state: IngressState
    let configuration: ProxyConfiguration
    let pools: UpstreamPools
    let metrics = ProxyMetrics()
    let accessLog: AccessLog?
    let logger: Logger
    /// For `backend-protocol: HTTPS`. Backends are pods: their certificates are not verified,
    /// as ingress-nginx does by default.
    let upstreamTLS: NIOSSLContext?
    /// The bound HTTPS port, for redirects when the configuration names none.
    let httpsPort = Atomic<Int>(0)

    init(state: IngressState, configuration: ProxyConfiguration, group: any EventLoopGroup, accessLog: AccessLog?, logger: Logger) {
        self.state = state
        self.configuration = configuration
        self.pools = UpstreamPools(group: group, configuration: configuration)
        self.accessLog = accessLog
        self.logger = logger
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        tls.minimumTLSVersion = .tlsv12
        self.upstreamTLS = try? NIOSSLContext(configuration: tls)
    }

    func isTrusted(_ client: String) -> Bool {
        guard !configuration.trustedProxies.isEmpty, let ip = IPAddress(client) else { return false }
        return configuration.trustedProxies.contains { $0.contains(ip) }
    }
}
