import KubeModel
import ServiceProxy

// Conventions (as kube-proxy's nftables tests):
// pods 10.0.0.0/8, ClusterIPs 172.30.0.0/16, node 192.168.0.2 ("test-node"),
// external IPs 192.168.99.0/24, LoadBalancer IPs 1.2.3.4 / 5.6.7.8,
// outside clients 203.0.113.0/24, allowed source range 203.0.113.0/25.
enum T {
    static let nodeName = "test-node"
    static let nodeIP = "192.168.0.2"
    static let nodeIPv6 = "2001:db8::1"
    static let externalClient = "203.0.113.2"
    static let blockedClient = "203.0.113.130"
    static let node = NodeConfig(nodeName: nodeName, nodeIPs: [IPAddress(nodeIP)!, IPAddress(nodeIPv6)!],
                                 podCIDRs: [CIDR("10.0.0.0/8")!, CIDR("fd00:10::/64")!],
                                 serviceCIDRs: [CIDR("172.30.0.0/16")!, CIDR("fd00:10:96::/112")!])

    static func service(_ ns: String, _ name: String, ip: String, ports: [Service.Port] = [Service.Port(name: "p80", port: 80)],
                        _ edit: (inout Service) -> Void = { _ in }) -> Service {
        var s = Service()
        s.metadata = ObjectMeta(name: name, namespace: ns)
        s.spec.clusterIP = ip
        s.spec.clusterIPs = [ip]
        s.spec.ports = ports
        edit(&s)
        s.setDefaults()
        return s
    }

    struct EP {
        var ip: String
        var node: String? = nil
        var ready: Bool? = nil
        var serving: Bool? = nil
        var terminating: Bool? = nil
    }

    static func slice(_ ns: String, _ svc: String, ports: [(String, Int, String)] = [("p80", 80, "TCP")], _ eps: [EP]) -> EndpointSlice {
        var s = EndpointSlice()
        s.metadata = ObjectMeta(name: "\(svc)-1", namespace: ns, labels: [EndpointSlice.serviceNameLabel: svc])
        s.addressType = eps.first.map { $0.ip.contains(":") ? "IPv6" : "IPv4" } ?? "IPv4"
        s.ports = ports.map { EndpointSlice.Port(name: $0.0, port: $0.1, protocol: $0.2) }
        s.endpoints = eps.map { e in
            var endpoint = EndpointSlice.Endpoint(addresses: [e.ip], nodeName: e.node)
            if e.ready != nil || e.serving != nil || e.terminating != nil {
                endpoint.conditions = .init(ready: e.ready, serving: e.serving, terminating: e.terminating)
            }
            return endpoint
        }
        return s
    }

    static func tracer(_ services: [Service], _ slices: [EndpointSlice], node: NodeConfig = T.node) -> PacketTracer {
        let model = ProxyModel.build(services: services, slices: slices, node: node)
        let rs = RulesetBuilder.build(model)
        var local = Set(node.nodeIPs)
        for s in services { for i in s.status.loadBalancer.ingress ?? [] { if let ip = i.ip.flatMap(IPAddress.init) { local.insert(ip) } } }
        return PacketTracer(ruleset: rs, localAddresses: local)
    }
}

/// One packet-flow expectation: kube-proxy's `packetFlowTest`.
struct Flow: Sendable, CustomTestStringConvertible {
    var name: String
    var from: String
    var to: String
    var port: Int
    var proto: L4Proto = .tcp
    var fromNode = false
    var output: String
    var masquerade: Bool? = nil
    var testDescription: String { name }

    func check(_ tracer: PacketTracer, sourceLocation: SourceLocation = #_sourceLocation) {
        let packet = PacketTracer.Packet(from: from, to: to, port: port, proto: proto, fromNode: fromNode)
        #expect(tracer.describe(packet) == output, "\(name)", sourceLocation: sourceLocation)
        if let masquerade {
            #expect(tracer.masquerades(packet) == masquerade, "\(name): masquerade", sourceLocation: sourceLocation)
        }
    }
}

import Testing
