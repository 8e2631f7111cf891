import ArgumentParser
import ClusterStore
import Controllers
import Foundation
import KubeModel
import Logging
import ServiceLifecycle
import ServiceProxy

/// `kplane up` flags of the service proxy (component `proxy`).
public struct ProxyOptions: ParsableArguments {
    @Option(help: "Shortest time between two proxy syncs, in milliseconds (bursts are coalesced).")
    var proxyMinSyncMs = 20
    @Option(help: "Address the healthCheckNodePort servers of externalTrafficPolicy: Local LoadBalancers listen on.")
    var healthCheckAddress = "0.0.0.0"

    public init() {}

    /// Node settings from the shared `up` flags (`--node-ip`, `--pod-cidr`, `--service-cidr`).
    func node(nodeName: String, nodeIPs: [String], podCIDRs: String, serviceCIDRs: String) throws -> NodeConfig {
        func cidrs(_ text: String, _ flag: String) throws -> [CIDR] {
            try text.split(separator: ",").map { part in
                guard let c = CIDR(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("\(flag): invalid CIDR \"\(part)\"") }
                return c
            }
        }
        let ips = try nodeIPs.map { text in
            guard let ip = IPAddress(text) else { throw ValidationError("--node-ip: invalid address \"\(text)\"") }
            return ip
        }
        return NodeConfig(nodeName: nodeName, nodeIPs: ips, podCIDRs: try cidrs(podCIDRs, "--pod-cidr"), serviceCIDRs: try cidrs(serviceCIDRs, "--service-cidr"))
    }

    /// The proxy as a lifecycle service. Its cache must hold `ServiceProxyService.types`.
    public func makeService(cache: ClusterCache, logger: Logger, nodeName: String, nodeIPs: [String], podCIDRs: String, serviceCIDRs: String) throws -> ServiceProxyService {
        let config = ServiceProxyService.Configuration(node: try node(nodeName: nodeName, nodeIPs: nodeIPs, podCIDRs: podCIDRs, serviceCIDRs: serviceCIDRs),
                                                       minSyncInterval: .milliseconds(proxyMinSyncMs), healthCheckHost: healthCheckAddress)
        return ServiceProxyService(configuration: config, cache: cache, logger: logger)
    }
}

/// `kplane up` flags of the service controllers (part of component `controllers`):
/// EndpointSlices, mirroring of hand-written Endpoints, LoadBalancer addresses.
public struct ServiceControllerOptions: ParsableArguments {
    @Option(help: "Addresses for LoadBalancer Services: CIDRs or FIRST-LAST ranges, comma-separated.")
    var lbPool = AddressPool.defaultText
    @Option(help: "The spec.loadBalancerClass kplane serves (Services without a class are served too).")
    var lbClass = LoadBalancerAllocator.defaultClass

    public init() {}

    public func validate() throws {
        guard AddressPool(lbPool) != nil else { throw ValidationError("--lb-pool: invalid pool \"\(lbPool)\" (want CIDRs or FIRST-LAST ranges)") }
    }

    /// The kinds the controllers' cache must hold.
    public static let types = EndpointSliceSync.types

    /// The three controllers as lifecycle services over one cache.
    public func makeServices(cache: ClusterCache, logger: Logger) throws -> [any ServiceLifecycleService] {
        guard let pool = AddressPool(lbPool) else { throw ValidationError("--lb-pool: invalid pool \"\(lbPool)\"") }
        return [
            EndpointSliceController(cache: cache, logger: logger),
            EndpointSliceMirroringController(cache: cache, logger: logger),
            LoadBalancerController(allocator: LoadBalancerAllocator(pool: pool, className: lbClass), cache: cache, logger: logger),
        ]
    }
}

/// `ServiceLifecycle.Service` (the name `Service` is taken by the Kubernetes kind).
public typealias ServiceLifecycleService = ServiceLifecycle.Service
