import Foundation
import ClusterStore
import HostSystem
import KubeModel
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Everything the `ingress` component needs to start.
public struct IngressConfiguration: Sendable {
    /// `host:port` pairs; nil turns a listener off. Host "" or "*" means every address.
    public var httpListen: (host: String, port: Int)?
    public var httpsListen: (host: String, port: Int)?
    public var classSettings = IngressClassSettings()
    /// Written to `status.loadBalancer.ingress` of handled Ingresses (IP or hostname); nil or empty: no status.
    public var statusAddress: String?
    /// The certificate served when no Secret covers the SNI name.
    public var defaultCertificate: SelfSignedCertificate.PEMPair
    public var proxy = ProxyConfiguration()
    /// Create the IngressClass `kplane` in the store when it is missing (default when it is the only class).
    public var ensureIngressClass = true
    /// One event loop per CPU this process may run on (its affinity mask, as nginx's
    /// `worker_processes auto`): more loops than CPUs only adds context switches.
    public var eventLoopThreads = HostCPUs.usable()

    public init(httpListen: (host: String, port: Int)?, httpsListen: (host: String, port: Int)?, defaultCertificate: SelfSignedCertificate.PEMPair) {
        self.httpListen = httpListen
        self.httpsListen = httpsListen
        self.defaultCertificate = defaultCertificate
    }
}

/// The ingress controller's own informer: the kinds it follows, reduced to what routing reads.
public typealias IngressInformer = Informer<RouteInputs>

/// The `ingress` component: keeps the route and certificate tables current as the informer's
/// inputs change, swaps them under the running proxy and reports status. Serves until graceful
/// shutdown, then closes its listeners and lets requests in flight finish.
public final class IngressService: ServiceLifecycle.Service, Sendable {
    private let configuration: IngressConfiguration
    private let informer: IngressInformer
    private let store: (any Store)?
    private let logger: Logger
    private let accessLog: AccessLog?
    public let state = IngressState()
    private let certificateCache = CertificateCache()
    private let routeRules = Gauge(label: "kplane_ingress_route_rules")
    private let routeTableSwaps = Counter(label: "kplane_ingress_route_table_swaps_total")
    private let ready = AsyncStream<[SocketAddress]>.makeStream()

    /// `store` receives status updates and the IngressClass; nil leaves the store untouched.
    public init(configuration: IngressConfiguration, informer: IngressInformer, store: (any Store)?, logger: Logger, accessLog: AccessLog? = AccessLog()) {
        self.configuration = configuration
        self.informer = informer
        self.store = store
        self.logger = logger
        self.accessLog = configuration.proxy.accessLog ? accessLog : nil
    }

    /// The bound addresses (HTTP first, then HTTPS), once listening.
    public func listening() async -> [SocketAddress] {
        for await addresses in ready.stream { return addresses }
        return []
    }

    public func run() async throws {
        let defaultCertificate = try ServerCertificate(source: "default certificate", certificatePEM: configuration.defaultCertificate.certificatePEM,
                                                       keyPEM: configuration.defaultCertificate.keyPEM)
        state.swap(routes: .empty, certificates: CertificateTable(defaultCertificate: defaultCertificate))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        var proxyConfiguration = configuration.proxy
        if proxyConfiguration.httpsRedirectPort == nil { proxyConfiguration.httpsRedirectPort = configuration.httpsListen?.port }
        let server = IngressServer(state: state, configuration: proxyConfiguration, group: group, accessLog: accessLog, logger: logger)
        do {
            var bound: [SocketAddress] = []
            if let (host, port) = configuration.httpListen {
                bound.append(try await server.bindHTTP(host: IngressService.bindHost(host), port: port))
            }
            if let (host, port) = configuration.httpsListen {
                bound.append(try await server.bindHTTPS(host: IngressService.bindHost(host), port: port, defaultCertificate: defaultCertificate))
            }
            logger.info("ingress listening", metadata: ["ingress.addresses": "\(bound.map { "\($0)" }.joined(separator: " "))"])
            ready.continuation.yield(bound)
            ready.continuation.finish()
            if configuration.ensureIngressClass { await ensureIngressClass() }

            let flusher = Task { [accessLog] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    accessLog?.flush()
                }
            }
            defer { flusher.cancel() }
            // Status goes to the store on a task of its own: routing never waits for it (10,000
            // writes when the controller starts with 10,000 Ingresses).
            let reporter = store.flatMap { IngressStatusReporter(store: $0, address: configuration.statusAddress, logger: logger) }
            let reporting = Task { await reporter?.run() }
            defer { reporting.cancel() }
            var builder = RouteTableBuilder(settings: configuration.classSettings)
            var reported = Set<String>()
            for await inputs in informer.snapshots().cancelOnGracefulShutdown() {
                let update = apply(inputs, builder: &builder, defaultCertificate: defaultCertificate, reported: &reported)
                reporter?.submit(update.table, inputs, checking: update.statusToCheck)
            }
        } catch {
            await server.closeListeners()
            try? await group.shutdownGracefully()
            throw error
        }
        await server.closeListeners()
        // Let requests in flight finish (bounded), then drop idle upstream connections.
        try? await Task.sleep(for: .milliseconds(200))
        await server.closeUpstreams()
        server.flushAccessLog()
        try? await group.shutdownGracefully()
    }

    /// Brings the tables up to `inputs` and installs what changed.
    private func apply(_ inputs: RouteInputs, builder: inout RouteTableBuilder, defaultCertificate: ServerCertificate,
                       reported: inout Set<String>) -> RouteTableBuilder.Update {
        let started = ContinuousClock.now
        let update = builder.update(inputs)
        guard update.routesChanged || update.certificatesChanged else { return update }
        let routes = update.table
        let certificates = update.certificatesChanged
            ? CertificateTable.build(tlsHosts: routes.tlsHosts, secrets: inputs.secrets, defaultCertificate: defaultCertificate, cache: certificateCache)
            : nil
        state.swap(routes: routes, certificates: certificates)
        routeRules.record(routes.routeCount)
        routeTableSwaps.increment()
        var now = Set<String>()
        for problem in routes.problems + (state.current.certificates?.problems ?? []) {
            let text = problem.description
            now.insert(text)
            if !reported.contains(text) {
                logger.info("ingress problem", metadata: [
                    "k8s.namespace": "\(problem.ingress.namespace)", "k8s.name": "\(problem.ingress.name)",
                    "ingress.problem": "\(problem.kind.rawValue)", "ingress.message": "\(problem.message)",
                ])
            }
        }
        reported = now
        logger.debug("ingress routes swapped", metadata: [
            "ingress.rules": "\(routes.routeCount)", "ingress.build": "\(ContinuousClock.now - started)",
        ])
        return update
    }

    /// Creates kplane's IngressClass when missing; it is the default class when no other exists.
    private func ensureIngressClass() async {
        guard let store else { return }
        do {
            let classes = try await store.list(IngressClass.resourceType, namespace: nil).items.compactMap { try? $0.decode(IngressClass.self) }
            guard !classes.contains(where: { $0.name == configuration.classSettings.className }) else { return }
            var cls = IngressClass()
            cls.metadata = ObjectMeta(name: configuration.classSettings.className)
            cls.spec.controller = configuration.classSettings.controller
            if classes.isEmpty { cls.metadata.annotations = [IngressClass.defaultAnnotation: "true"] }
            _ = try await store.create(Object(cls))
            logger.info("created ingress class", metadata: ["k8s.name": "\(configuration.classSettings.className)", "ingress.default": "\(classes.isEmpty)"])
        } catch {
            logger.info("cannot create the ingress class", metadata: ["error": "\(error)"])
        }
    }

    static func bindHost(_ host: String) -> String {
        host.isEmpty || host == "*" ? "0.0.0.0" : host
    }
}
