import ClusterStore
import HostSystem
import KubeModel
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Settings of the `dns` component.
public struct ClusterDNSConfiguration: Sendable {
    /// Where UDP and TCP listen (`0.0.0.0:53` in production; tests use 127.0.0.1 and port 0).
    public var listen: SocketAddress
    /// Resolvers for names outside the cluster; empty means answer REFUSED for them.
    public var upstreams: [SocketAddress]
    public var zone: ZoneConfiguration
    /// How many forwarded answers the cache keeps.
    public var cacheCapacity: Int
    /// How long to wait for one upstream before trying the next.
    public var upstreamTimeout: Duration
    /// UDP sockets sharing the port, each served by its own event loop (one per usable CPU by default).
    public var udpSockets: Int

    public init(listen: SocketAddress, upstreams: [SocketAddress], zone: ZoneConfiguration = ZoneConfiguration(),
                cacheCapacity: Int = 10_000, upstreamTimeout: Duration = .seconds(2), udpSockets: Int = HostCPUs.usable()) {
        self.listen = listen
        self.upstreams = upstreams
        self.zone = zone
        self.cacheCapacity = cacheCapacity
        self.upstreamTimeout = upstreamTimeout
        self.udpSockets = udpSockets
    }
}

/// The cluster DNS server (the kube-dns / CoreDNS role) as a ServiceLifecycle service: it
/// serves UDP and TCP until graceful shutdown and rebuilds its zone from every cache snapshot.
public final class ClusterDNSService: ServiceLifecycle.Service, Sendable {
    public let configuration: ClusterDNSConfiguration
    public let handler: QueryHandler
    /// The component's own informer: it keeps only what the zone reads.
    public let inputs: Informer<ZoneInputs>
    private let logger: Logger
    private let bound: AsyncStream<SocketAddress>.Continuation
    private let boundStream: AsyncStream<SocketAddress>

    public init(configuration: ClusterDNSConfiguration, store: any Store, logger: Logger,
                transport: any UpstreamTransport = NIOUpstreamTransport()) {
        self.configuration = configuration
        inputs = Informer(store: store, types: ZoneInputs.resourceTypes, logger: logger)
        self.logger = logger
        let metrics = DNSMetrics()
        let forwarder = configuration.upstreams.isEmpty ? nil : Forwarder(
            upstreams: configuration.upstreams, transport: transport, cacheCapacity: configuration.cacheCapacity,
            timeout: configuration.upstreamTimeout, metrics: metrics, logger: logger)
        handler = QueryHandler(zone: ClusterZone(configuration: configuration.zone), forwarder: forwarder, metrics: metrics)
        (boundStream, bound) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The address the server listens on, once it does (for tests that bind port 0).
    public func listeningAddress() async -> SocketAddress? {
        for await address in boundStream { return address }
        return nil
    }

    public func run() async throws {
        let server = try await DNSServer.start(address: configuration.listen, handler: handler,
                                               udpSockets: configuration.udpSockets, logger: logger)
        logger.info("dns.listening", metadata: [
            "dns.address": "\(server.localAddress)", "dns.zone": "\(configuration.zone.domain)",
            "dns.upstreams": "\(configuration.upstreams.map(\.description).joined(separator: ","))",
        ])
        bound.yield(server.localAddress)
        bound.finish()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.inputs.run() }
            group.addTask {
                let clock = ContinuousClock()
                for await inputs in self.inputs.snapshots().cancelOnGracefulShutdown() {
                    let start = clock.now
                    let zone = ClusterZone(inputs: inputs, configuration: self.configuration.zone)
                    self.handler.update(zone)
                    let took = clock.now - start
                    self.logger.debug("dns.zone.updated", metadata: [
                        "k8s.resourceVersion": "\(inputs.resourceVersion)", "dns.services": "\(zone.serviceCount)",
                        "dns.build": "\(took)",
                    ])
                    // A build holds a thread of the cooperative pool (the only one when kplane
                    // is pinned to one CPU). Pausing as long as it took leaves at least half of
                    // the time to the watch feeding the cache: without it a burst of events was
                    // consumed a few milliseconds at a time between full rebuilds (minutes for
                    // 10,000 Services on one CPU).
                    try? await Task.sleep(for: took)
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await server.close()
        logger.info("dns.stopped")
    }
}
