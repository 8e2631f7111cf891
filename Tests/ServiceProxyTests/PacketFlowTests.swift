import KubeModel
import ServiceProxy
import Testing

/// Cases ported from kubernetes pkg/proxy/nftables/proxier_test.go, traced through the
/// rendered ruleset.
@Suite("Packet flows through the rendered ruleset")
struct PacketFlowTests {
    @Test func clusterIPGeneral() {
        let tracer = T.tracer([
            T.service("ns1", "svc1", ip: "172.30.0.41", ports: [Service.Port(name: "http", port: 80)]),
            T.service("ns2", "svc2", ip: "172.30.0.42", ports: [
                Service.Port(name: "http", port: 80),
                Service.Port(name: "https", port: 443, targetPort: .int(8443)),
                Service.Port(name: "dns-udp", protocol: "UDP", port: 53),
                Service.Port(name: "dns-tcp", protocol: "TCP", port: 53, targetPort: .int(5353)),
                Service.Port(name: "dns-sctp", protocol: "SCTP", port: 53),
            ]),
        ], [
            T.slice("ns1", "svc1", ports: [("http", 80, "TCP")], [T.EP(ip: "10.180.0.1", node: T.nodeName)]),
            T.slice("ns2", "svc2", ports: [("http", 80, "TCP"), ("https", 8443, "TCP"), ("dns-udp", 53, "UDP"), ("dns-tcp", 5353, "TCP"), ("dns-sctp", 53, "SCTP")],
                    [T.EP(ip: "10.180.0.1", node: T.nodeName), T.EP(ip: "10.180.2.1", node: "node2")]),
        ])
        let flows = [
            Flow(name: "simple clusterIP", from: "10.180.0.2", to: "172.30.0.41", port: 80, output: "10.180.0.1:80", masquerade: false),
            Flow(name: "hairpin to cluster IP", from: "10.180.0.1", to: "172.30.0.41", port: 80, output: "10.180.0.1:80", masquerade: true),
            Flow(name: "clusterIP with multiple endpoints", from: "10.180.0.2", to: "172.30.0.42", port: 80, output: "10.180.0.1:80, 10.180.2.1:80", masquerade: false),
            Flow(name: "clusterIP with TargetPort", from: "10.180.0.2", to: "172.30.0.42", port: 443, output: "10.180.0.1:8443, 10.180.2.1:8443", masquerade: false),
            Flow(name: "TCP, UDP and SCTP on one port (TCP)", from: "10.180.0.2", to: "172.30.0.42", port: 53, proto: .tcp, output: "10.180.0.1:5353, 10.180.2.1:5353"),
            Flow(name: "TCP, UDP and SCTP on one port (UDP)", from: "10.180.0.2", to: "172.30.0.42", port: 53, proto: .udp, output: "10.180.0.1:53, 10.180.2.1:53"),
            Flow(name: "TCP, UDP and SCTP on one port (SCTP)", from: "10.180.0.2", to: "172.30.0.42", port: 53, proto: .sctp, output: "10.180.0.1:53, 10.180.2.1:53"),
            Flow(name: "TCP-only port does not match UDP traffic", from: "10.180.0.2", to: "172.30.0.42", port: 80, proto: .udp, output: "REJECT"),
            Flow(name: "svc1 does not accept svc2's ports", from: "10.180.0.2", to: "172.30.0.41", port: 443, output: "REJECT"),
            Flow(name: "packet to unallocated cluster ip", from: "10.180.0.2", to: "172.30.0.50", port: 80, output: "DROP"),
            Flow(name: "node to cluster IP is masqueraded", from: T.nodeIP, to: "172.30.0.41", port: 80, fromNode: true, output: "10.180.0.1:80", masquerade: true),
            Flow(name: "unrelated traffic untouched", from: "10.180.0.2", to: "10.180.2.1", port: 80, output: "ACCEPT"),
        ]
        for f in flows { f.check(tracer) }
    }

    @Test func loadBalancer() {
        let tracer = T.tracer([
            T.service("ns1", "svc1", ip: "172.30.0.41", ports: [Service.Port(name: "p80", port: 80, nodePort: 3001)]) {
                $0.spec.type = "LoadBalancer"
                $0.status.loadBalancer.ingress = [.init(ip: "1.2.3.4"), .init(ip: "5.6.7.8")]
                $0.spec.loadBalancerSourceRanges = ["192.168.0.0/24", " 203.0.113.0/25"]
            },
        ], [T.slice("ns1", "svc1", [T.EP(ip: "10.180.0.1")])])
        let flows = [
            Flow(name: "pod to cluster IP", from: "10.0.0.2", to: "172.30.0.41", port: 80, output: "10.180.0.1:80", masquerade: false),
            Flow(name: "external to nodePort", from: T.externalClient, to: T.nodeIP, port: 3001, output: "10.180.0.1:80", masquerade: true),
            Flow(name: "nodePort bypasses LoadBalancerSourceRanges", from: T.blockedClient, to: T.nodeIP, port: 3001, output: "10.180.0.1:80", masquerade: true),
            Flow(name: "accepted external to LB1", from: T.externalClient, to: "1.2.3.4", port: 80, output: "10.180.0.1:80", masquerade: true),
            Flow(name: "accepted external to LB2", from: T.externalClient, to: "5.6.7.8", port: 80, output: "10.180.0.1:80", masquerade: true),
            Flow(name: "blocked external to LB1", from: T.blockedClient, to: "1.2.3.4", port: 80, output: "DROP"),
            Flow(name: "blocked external to LB2", from: T.blockedClient, to: "5.6.7.8", port: 80, output: "DROP"),
            Flow(name: "pod to LB1 (blocked by LoadBalancerSourceRanges)", from: "10.0.0.2", to: "1.2.3.4", port: 80, output: "DROP"),
            Flow(name: "node to LB1 (allowed by LoadBalancerSourceRanges)", from: T.nodeIP, to: "1.2.3.4", port: 80, fromNode: true, output: "10.180.0.1:80", masquerade: true),
            Flow(name: "wrong port on LB", from: T.externalClient, to: "1.2.3.4", port: 81, output: "ACCEPT"),
        ]
        for f in flows { f.check(tracer) }
    }

    @Test func noEndpointsReject() {
        let tracer = T.tracer([
            T.service("ns1", "svc1", ip: "172.30.0.41", ports: [Service.Port(name: "p80", port: 80, nodePort: 3001)]) {
                $0.spec.type = "LoadBalancer"
                $0.spec.externalIPs = ["192.168.99.11"]
                $0.status.loadBalancer.ingress = [.init(ip: "1.2.3.4")]
            },
        ], [])
        for (from, to, port) in [("10.0.0.2", "172.30.0.41", 80), (T.externalClient, "192.168.99.11", 80), ("10.0.0.2", T.nodeIP, 3001),
                                 (T.externalClient, T.nodeIP, 3001), ("10.0.0.2", "1.2.3.4", 80), (T.externalClient, "1.2.3.4", 80)] {
            Flow(name: "\(from) to \(to):\(port) with no endpoints", from: from, to: to, port: port, output: "REJECT").check(tracer)
        }
        Flow(name: "node to cluster IP with no endpoints", from: T.nodeIP, to: "172.30.0.41", port: 80, fromNode: true, output: "REJECT").check(tracer)
    }

    @Test func externalIPs() {
        let tracer = T.tracer([
            T.service("ns4", "svc4", ip: "172.30.0.44", ports: [Service.Port(name: "p80", port: 80, nodePort: 3003)]) {
                $0.spec.type = "NodePort"
                $0.spec.externalIPs = ["192.168.99.33"]
            },
        ], [T.slice("ns4", "svc4", [T.EP(ip: "10.180.0.4"), T.EP(ip: "10.180.0.5", node: T.nodeName)])])
        Flow(name: "external to external IP", from: T.externalClient, to: "192.168.99.33", port: 80, output: "10.180.0.4:80, 10.180.0.5:80", masquerade: true).check(tracer)
        Flow(name: "pod to external IP (Cluster policy masquerades)", from: "10.0.0.2", to: "192.168.99.33", port: 80, output: "10.180.0.4:80, 10.180.0.5:80", masquerade: true).check(tracer)
        Flow(name: "external to NodePort", from: T.externalClient, to: T.nodeIP, port: 3003, output: "10.180.0.4:80, 10.180.0.5:80", masquerade: true).check(tracer)
        Flow(name: "NodePort only on node addresses", from: T.externalClient, to: "192.168.0.3", port: 3003, output: "ACCEPT").check(tracer)
    }

    static func localPolicyServices(_ edit: @escaping (inout Service) -> Void = { _ in }) -> [Service] {
        [T.service("ns2", "svc2", ip: "172.30.0.42", ports: [Service.Port(name: "p80", port: 80, nodePort: 3001)]) {
            $0.spec.type = "LoadBalancer"
            $0.spec.externalTrafficPolicy = "Local"
            $0.spec.healthCheckNodePort = 30000
            $0.spec.externalIPs = ["192.168.99.22"]
            $0.status.loadBalancer.ingress = [.init(ip: "1.2.3.4")]
            edit(&$0)
        }]
    }

    @Test func externalTrafficPolicyLocal() {
        let tracer = T.tracer(Self.localPolicyServices(), [T.slice("ns2", "svc2", [T.EP(ip: "10.180.0.2", node: T.nodeName), T.EP(ip: "10.180.1.2", node: "node2")])])
        let flows = [
            Flow(name: "pod to cluster IP hits both", from: "10.0.0.2", to: "172.30.0.42", port: 80, output: "10.180.0.2:80, 10.180.1.2:80", masquerade: false),
            Flow(name: "external to LB: local only, client kept", from: T.externalClient, to: "1.2.3.4", port: 80, output: "10.180.0.2:80", masquerade: false),
            Flow(name: "external to external IP: local only", from: T.externalClient, to: "192.168.99.22", port: 80, output: "10.180.0.2:80", masquerade: false),
            Flow(name: "external to NodePort: local only", from: T.externalClient, to: T.nodeIP, port: 3001, output: "10.180.0.2:80", masquerade: false),
            Flow(name: "pod to LB short-circuits to all endpoints", from: "10.0.0.2", to: "1.2.3.4", port: 80, output: "10.180.0.2:80, 10.180.1.2:80", masquerade: false),
            Flow(name: "node to NodePort: all endpoints, masqueraded", from: T.nodeIP, to: T.nodeIP, port: 3001, fromNode: true, output: "10.180.0.2:80, 10.180.1.2:80", masquerade: true),
            Flow(name: "hairpin through LB", from: "10.180.0.2", to: "1.2.3.4", port: 80, output: "10.180.0.2:80, 10.180.1.2:80"),
        ]
        for f in flows { f.check(tracer) }
        // Hairpin to itself is masqueraded, the other choice not.
        let out = tracer.outcomes(.init(from: "10.180.0.2", to: "1.2.3.4", port: 80))
        #expect(out == [.endpoint(Backend(ip: IPAddress("10.180.0.2")!, port: 80), masquerade: true), .endpoint(Backend(ip: IPAddress("10.180.1.2")!, port: 80), masquerade: false)])
    }

    @Test func externalTrafficPolicyLocalWithoutLocalEndpoints() {
        let tracer = T.tracer(Self.localPolicyServices(), [T.slice("ns2", "svc2", [T.EP(ip: "10.180.1.2", node: "node2")])])
        Flow(name: "external to LB dropped", from: T.externalClient, to: "1.2.3.4", port: 80, output: "DROP").check(tracer)
        Flow(name: "external to NodePort dropped", from: T.externalClient, to: T.nodeIP, port: 3001, output: "DROP").check(tracer)
        Flow(name: "pod to LB still served", from: "10.0.0.2", to: "1.2.3.4", port: 80, output: "10.180.1.2:80", masquerade: false).check(tracer)
        Flow(name: "node to NodePort still served", from: T.nodeIP, to: T.nodeIP, port: 3001, fromNode: true, output: "10.180.1.2:80", masquerade: true).check(tracer)
        Flow(name: "pod to cluster IP", from: "10.0.0.2", to: "172.30.0.42", port: 80, output: "10.180.1.2:80").check(tracer)
    }

    @Test func internalTrafficPolicyLocal() {
        let svc = T.service("ns1", "svc1", ip: "172.30.1.1") { $0.spec.internalTrafficPolicy = "Local" }
        let both = T.tracer([svc], [T.slice("ns1", "svc1", [T.EP(ip: "10.0.1.1", node: T.nodeName), T.EP(ip: "10.0.1.2", node: T.nodeName), T.EP(ip: "10.0.1.3", node: "host2")])])
        Flow(name: "only local endpoints", from: "10.0.0.2", to: "172.30.1.1", port: 80, output: "10.0.1.1:80, 10.0.1.2:80").check(both)
        let remote = T.tracer([svc], [T.slice("ns1", "svc1", [T.EP(ip: "10.0.1.3", node: "host2")])])
        Flow(name: "no local endpoints: dropped", from: "10.0.0.2", to: "172.30.1.1", port: 80, output: "DROP").check(remote)
        let none = T.tracer([svc], [])
        Flow(name: "no endpoints at all: rejected", from: "10.0.0.2", to: "172.30.1.1", port: 80, output: "REJECT").check(none)
    }

    @Test func terminatingEndpoints() {
        let svc = T.service("ns1", "svc1", ip: "172.30.1.1")
        func trace(_ eps: [T.EP]) -> String {
            T.tracer([svc], [T.slice("ns1", "svc1", eps)]).describe(.init(from: "10.0.0.2", to: "172.30.1.1", port: 80))
        }
        // Ready endpoints win over terminating ones.
        #expect(trace([T.EP(ip: "10.0.1.1", ready: true, serving: true, terminating: false),
                       T.EP(ip: "10.0.1.2", ready: false, serving: true, terminating: true),
                       T.EP(ip: "10.0.1.3", ready: false, serving: false, terminating: false)]) == "10.0.1.1:80")
        // Without ready ones, serving terminating endpoints carry the traffic.
        #expect(trace([T.EP(ip: "10.0.1.2", ready: false, serving: true, terminating: true),
                       T.EP(ip: "10.0.1.4", ready: false, serving: true, terminating: true),
                       T.EP(ip: "10.0.1.5", ready: false, serving: false, terminating: true),
                       T.EP(ip: "10.0.1.3", ready: false, serving: false, terminating: false)]) == "10.0.1.2:80, 10.0.1.4:80")
        // Nothing serving: refused at once.
        #expect(trace([T.EP(ip: "10.0.1.5", ready: false, serving: false, terminating: true),
                       T.EP(ip: "10.0.1.3", ready: false, serving: false, terminating: false)]) == "REJECT")
        // Unset conditions read as ready.
        #expect(trace([T.EP(ip: "10.0.1.6")]) == "10.0.1.6:80")
    }

    @Test func sessionAffinity() {
        var svc = T.service("ns1", "svc1", ip: "172.30.1.1") { $0.spec.sessionAffinity = "ClientIP" }
        svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds = 600
        let eps = (1...4).map { T.EP(ip: "10.0.1.\($0)") }
        var tracer = T.tracer([svc], [T.slice("ns1", "svc1", eps)])
        let a = PacketTracer.Packet(from: "10.0.0.2", to: "172.30.1.1", port: 80)
        let first = tracer.connect(a, choose: { _ in 2 })
        #expect(first == .endpoint(Backend(ip: IPAddress("10.0.1.3")!, port: 80), masquerade: false))
        // Later connections ignore the dice.
        for roll in 0..<4 { #expect(tracer.connect(a, choose: { _ in roll }) == first) }
        // Another client is not pinned.
        #expect(tracer.describe(.init(from: "10.0.0.3", to: "172.30.1.1", port: 80)) == "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80, 10.0.1.4:80")
        // The rendered ruleset carries the timeout.
        #expect(tracer.ruleset.chains["services4"]!.rules.contains { $0.text.contains("timeout 600s") })
    }

    @Test func affinitySurvivesShrinkingEndpoints() {
        let svc = T.service("ns1", "svc1", ip: "172.30.1.1") { $0.spec.sessionAffinity = "ClientIP" }
        let all = (1...4).map { T.EP(ip: "10.0.1.\($0)") }
        let model = ProxyModel.build(services: [svc], slices: [T.slice("ns1", "svc1", all)], node: T.node)
        var tracer = PacketTracer(ruleset: RulesetBuilder.build(model), localAddresses: [])
        let a = PacketTracer.Packet(from: "10.0.0.2", to: "172.30.1.1", port: 80)
        #expect(tracer.connect(a, choose: { _ in 3 }) == .endpoint(Backend(ip: IPAddress("10.0.1.4")!, port: 80), masquerade: false))
        // Endpoint 10.0.1.4 goes away: the remembered slot is stale and a new one is drawn.
        let smaller = ProxyModel.build(services: [svc], slices: [T.slice("ns1", "svc1", Array(all.prefix(2)))], node: T.node, previous: model)
        tracer = tracer.replacing(ruleset: RulesetBuilder.build(smaller))
        #expect(tracer.connect(a, choose: { _ in 1 }) == .endpoint(Backend(ip: IPAddress("10.0.1.2")!, port: 80), masquerade: false))
        #expect(tracer.connect(a, choose: { _ in 0 }) == .endpoint(Backend(ip: IPAddress("10.0.1.2")!, port: 80), masquerade: false))
    }

    @Test func ipv6Service() {
        let tracer = T.tracer([T.service("ns1", "svc6", ip: "fd00:10:96::41") { $0.spec.ipFamilies = ["IPv6"] }],
                              [T.slice("ns1", "svc6", [T.EP(ip: "fd00:10::1"), T.EP(ip: "fd00:10::2")])])
        Flow(name: "v6 clusterIP", from: "fd00:10::9", to: "fd00:10:96::41", port: 80, output: "[fd00:10::1]:80, [fd00:10::2]:80", masquerade: false).check(tracer)
        Flow(name: "v6 unknown port", from: "fd00:10::9", to: "fd00:10:96::41", port: 81, output: "REJECT").check(tracer)
        Flow(name: "v6 unallocated", from: "fd00:10::9", to: "fd00:10:96::99", port: 80, output: "DROP").check(tracer)
    }

    @Test func externalNameAndHeadlessIgnored() {
        let ext = T.service("ns1", "ext", ip: "") { $0.spec.type = "ExternalName"; $0.spec.externalName = "example.com"; $0.spec.clusterIP = nil; $0.spec.clusterIPs = nil }
        let headless = T.service("ns1", "hl", ip: "None")
        let model = ProxyModel.build(services: [ext, headless], slices: [T.slice("ns1", "hl", [T.EP(ip: "10.0.1.1")])], node: T.node)
        #expect(model.frontends.isEmpty && model.clusterIPs.isEmpty)
    }

    @Test func loadBalancerProxyModeNotDNATed() {
        let tracer = T.tracer([T.service("ns1", "svc1", ip: "172.30.0.41") {
            $0.spec.type = "LoadBalancer"
            var ingress = LoadBalancerStatus.Ingress(ip: "1.2.3.4")
            ingress.ipMode = "Proxy"
            $0.status.loadBalancer.ingress = [ingress]
        }], [T.slice("ns1", "svc1", [T.EP(ip: "10.180.0.1")])])
        Flow(name: "ipMode Proxy left to the load balancer", from: T.externalClient, to: "1.2.3.4", port: 80, output: "ACCEPT").check(tracer)
    }

    @Test func healthChecks() {
        let model = ProxyModel.build(services: Self.localPolicyServices(), slices: [T.slice("ns2", "svc2", [T.EP(ip: "10.180.0.2", node: T.nodeName), T.EP(ip: "10.180.0.3", node: T.nodeName), T.EP(ip: "10.180.1.2", node: "node2")])], node: T.node)
        #expect(model.healthChecks == [HealthCheck(namespace: "ns2", name: "svc2", port: 30000, localEndpoints: 2)])
    }
}
