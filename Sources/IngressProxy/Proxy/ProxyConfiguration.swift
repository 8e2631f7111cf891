import KubeModel
import NIOCore

/// Limits and switches of the proxy (listen addresses live in `IngressConfiguration`).
public struct ProxyConfiguration: Sendable {
    /// Largest request head (request line and headers), in bytes: 431 above.
    public var maxHeaderBytes = 32 * 1024
    /// Most request header fields: 431 above.
    public var maxHeaderCount = 100
    /// Time allowed for a client to send a complete request head on a new connection (slow clients).
    public var headerReadTimeout: TimeAmount = .seconds(30)
    /// Time a keep-alive connection may sit idle between requests.
    public var idleTimeout: TimeAmount = .seconds(75)
    /// Idle upstream keep-alive connections kept per endpoint and event loop.
    public var maxIdleUpstreamConnections = 64
    /// Upstream keep-alive connections are closed after this idle time.
    public var upstreamIdleTimeout: TimeAmount = .seconds(60)
    /// Peers whose X-Forwarded-* headers are believed.
    public var trustedProxies: [CIDR] = []
    /// Serve HTTP/2 with prior knowledge on the plain HTTP listener.
    public var h2c = false
    /// Offer HTTP/2 by ALPN on TLS.
    public var http2 = true
    /// The HTTPS port named in ssl-redirect Locations (nil or 443: none).
    public var httpsRedirectPort: Int?
    /// Write one JSON line per request.
    public var accessLog = true

    public init() {}
}
