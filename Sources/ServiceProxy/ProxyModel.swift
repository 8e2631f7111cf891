import KubeModel

/// Where the node stands: its name and addresses, and the cluster's pod and service ranges.
public struct NodeConfig: Sendable, Hashable {
    /// Endpoints whose `nodeName` equals this are local (traffic policies `Local`).
    public var nodeName: String
    /// Addresses on which NodePorts answer.
    public var nodeIPs: [IPAddress]
    /// Pod ranges: traffic from them is "pod traffic" (no masquerade to ClusterIPs).
    public var podCIDRs: [CIDR]
    /// Service ranges: traffic to an unallocated address there is dropped.
    public var serviceCIDRs: [CIDR]
    /// LoadBalancer Services of this class (or without a class) have their addresses on
    /// this node (`ProxyModel.loadBalancerIPs`); the controller that assigns them uses the same.
    public var loadBalancerClass: String

    public static let defaultLoadBalancerClass = "kplane.dev/load-balancer"

    public init(nodeName: String, nodeIPs: [IPAddress], podCIDRs: [CIDR], serviceCIDRs: [CIDR] = [], loadBalancerClass: String = NodeConfig.defaultLoadBalancerClass) {
        self.nodeName = nodeName
        self.nodeIPs = nodeIPs
        self.podCIDRs = podCIDRs
        self.serviceCIDRs = serviceCIDRs
        self.loadBalancerClass = loadBalancerClass
    }
}

/// A transport protocol a Service port can use.
public enum L4Proto: String, Sendable, Hashable, Comparable, CaseIterable {
    case tcp, udp, sctp

    public init?(kubernetes name: String?) {
        switch name ?? "TCP" {
        case "TCP": self = .tcp
        case "UDP": self = .udp
        case "SCTP": self = .sctp
        default: return nil
        }
    }

    /// The IANA protocol number (what `meta l4proto` compares).
    public var number: Int {
        switch self {
        case .tcp: return 6
        case .udp: return 17
        case .sctp: return 132
        }
    }

    public static func < (a: L4Proto, b: L4Proto) -> Bool { a.number < b.number }
}

/// A destination a client connects to: a ClusterIP, external IP, LoadBalancer address or a
/// node address with a NodePort.
public struct Frontend: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var ip: IPAddress
    public var proto: L4Proto
    public var port: Int

    public init(ip: IPAddress, proto: L4Proto, port: Int) {
        self.ip = ip
        self.proto = proto
        self.port = port
    }

    public static func < (a: Frontend, b: Frontend) -> Bool { (a.ip, a.proto, a.port) < (b.ip, b.proto, b.port) }
    public var description: String { "\(ip.isV4 ? ip.description : "[\(ip)]"):\(port)/\(proto.rawValue)" }
}

/// A real destination: an endpoint address and the port on it.
public struct Backend: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: Int

    public init(ip: IPAddress, port: Int) {
        self.ip = ip
        self.port = port
    }

    public static func < (a: Backend, b: Backend) -> Bool { (a.ip, a.port) < (b.ip, b.port) }
    public var description: String { ip.isV4 ? "\(ip):\(port)" : "[\(ip)]:\(port)" }
}

/// What the proxy does with new connections to one frontend. This is the semantic core,
/// independent of how it is written down in nftables.
public struct FrontendEntry: Sendable, Hashable {
    /// When new connections get masqueraded (SNAT to the node) on their way to an endpoint.
    public enum Masquerade: Sendable, Hashable {
        /// ClusterIP: when the client is not a pod (so that replies come back through the node).
        case unlessFromPod
        /// External traffic with `externalTrafficPolicy: Cluster`: always.
        case always
        /// External traffic with `externalTrafficPolicy: Local`: only traffic the node itself sends.
        case onlyFromNode
    }

    /// `namespace/name:port` of the Service port, for comments and health checks.
    public var servicePort: String
    /// Endpoints in slot order (the order matters for stable affinity after changes).
    public var backends: [Backend]
    /// For `externalTrafficPolicy: Local` frontends: the endpoints pod and node traffic uses
    /// instead (the Service's internal endpoints, as kube-proxy short-circuits such traffic).
    public var podAndNodeBackends: [Backend]?
    /// `sessionAffinity: ClientIP` timeout in seconds.
    public var affinityTimeout: Int?
    public var masquerade: Masquerade
    /// With no usable endpoint at all: reject (true) or, for a Local policy whose endpoints are
    /// all elsewhere, drop (false).
    public var rejectWhenEmpty: Bool
    /// `loadBalancerSourceRanges` (LoadBalancer addresses only); empty means everyone.
    public var sourceRanges: [CIDR]

    public init(servicePort: String, backends: [Backend], podAndNodeBackends: [Backend]? = nil, affinityTimeout: Int? = nil,
                masquerade: Masquerade, rejectWhenEmpty: Bool = true, sourceRanges: [CIDR] = []) {
        self.servicePort = servicePort
        self.backends = backends
        self.podAndNodeBackends = podAndNodeBackends
        self.affinityTimeout = affinityTimeout
        self.masquerade = masquerade
        self.rejectWhenEmpty = rejectWhenEmpty
        self.sourceRanges = sourceRanges
    }

    /// True when some client can be sent somewhere.
    public var hasAnyBackend: Bool { !backends.isEmpty || !(podAndNodeBackends ?? []).isEmpty }
}

/// `healthCheckNodePort` of an `externalTrafficPolicy: Local` LoadBalancer Service.
public struct HealthCheck: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var port: Int
    public var localEndpoints: Int

    public init(namespace: String, name: String, port: Int, localEndpoints: Int) {
        self.namespace = namespace
        self.name = name
        self.port = port
        self.localEndpoints = localEndpoints
    }
}

/// Everything the proxy programs, derived from Services and EndpointSlices.
public struct ProxyModel: Sendable, Hashable {
    public var node: NodeConfig
    public var frontends: [Frontend: FrontendEntry]
    /// Every ClusterIP (unknown ports on them are rejected).
    public var clusterIPs: Set<IPAddress>
    /// LoadBalancer ingress addresses this node holds on its `kplane-lb` interface.
    public var loadBalancerIPs: Set<IPAddress>
    public var healthChecks: [HealthCheck]

    public init(node: NodeConfig, frontends: [Frontend: FrontendEntry] = [:], clusterIPs: Set<IPAddress> = [], loadBalancerIPs: Set<IPAddress> = [], healthChecks: [HealthCheck] = []) {
        self.node = node
        self.frontends = frontends
        self.clusterIPs = clusterIPs
        self.loadBalancerIPs = loadBalancerIPs
        self.healthChecks = healthChecks
    }
}
