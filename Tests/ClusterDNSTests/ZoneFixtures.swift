import KubeModel
@testable import ClusterDNS

/// Builders for the objects the zone tests use.
enum Fixture {
    static func service(_ ns: String, _ name: String, ips: [String], ports: [(String, String, Int)] = [],
                        type: String = "ClusterIP", externalName: String? = nil, publishNotReady: Bool? = nil) -> Service {
        var s = Service()
        s.metadata = ObjectMeta(name: name, namespace: ns)
        s.spec.type = type
        s.spec.clusterIPs = ips.isEmpty ? nil : ips
        s.spec.clusterIP = ips.first
        s.spec.externalName = externalName
        s.spec.publishNotReadyAddresses = publishNotReady
        s.spec.ports = ports.isEmpty ? nil : ports.map { Service.Port(name: $0.0, protocol: $0.1, port: $0.2) }
        return s
    }

    static func headless(_ ns: String, _ name: String) -> Service {
        service(ns, name, ips: ["None"])
    }

    struct EP {
        var ip: String
        var hostname: String? = nil
        var ready: Bool? = nil
        var pod: String? = nil
    }

    static func slice(_ ns: String, _ service: String, _ name: String, v6: Bool = false,
                      _ endpoints: [EP], ports: [(String, String, Int)] = []) -> EndpointSlice {
        var s = EndpointSlice()
        s.metadata = ObjectMeta(name: name, namespace: ns, labels: [EndpointSlice.serviceNameLabel: service])
        s.addressType = v6 ? "IPv6" : "IPv4"
        s.endpoints = endpoints.map { ep in
            var e = EndpointSlice.Endpoint(addresses: [ep.ip], conditions: ep.ready.map { .init(ready: $0) }, hostname: ep.hostname)
            if let pod = ep.pod {
                var ref = ObjectReference()
                ref.kind = "Pod"
                ref.name = pod
                ref.namespace = ns
                e.targetRef = ref
            }
            return e
        }
        s.ports = ports.isEmpty ? nil : ports.map { EndpointSlice.Port(name: $0.0, port: $0.2, protocol: $0.1) }
        return s
    }

    static func pod(_ ns: String, _ name: String, ip: String, hostname: String? = nil, subdomain: String? = nil) -> Pod {
        var p = Pod()
        p.metadata = ObjectMeta(name: name, namespace: ns)
        p.spec.hostname = hostname
        p.spec.subdomain = subdomain
        p.status.phase = "Running"
        p.status.podIP = ip
        p.status.podIPs = [.init(ip: ip)]
        return p
    }

    static func namespace(_ name: String) -> Namespace {
        var n = Namespace()
        n.metadata = ObjectMeta(name: name)
        return n
    }

    /// CoreDNS's `APIConnServeTest` world (plugin/kubernetes/handler_test.go), in our objects.
    static let services: [Service] = [
        service("kube-system", "kube-dns", ips: ["10.0.0.10"], ports: [("dns", "UDP", 53)]),
        service("testns", "svc1", ips: ["10.0.0.1"], ports: [("http", "TCP", 80)]),
        service("testns", "svcempty", ips: ["10.0.0.1"], ports: [("http", "TCP", 80)]),
        service("testns", "svc6", ips: ["1234:abcd::1"], ports: [("http", "TCP", 80)]),
        headless("testns", "hdls1"),
        service("testns", "external", ips: [], ports: [("http", "TCP", 80)], type: "ExternalName", externalName: "ext.interwebs.test"),
        service("testns", "external-to-service", ips: [], ports: [("http", "TCP", 80)], type: "ExternalName",
                externalName: "svc1.testns.svc.cluster.local."),
        headless("testns", "hdlsprtls"),
        service("unexposedns", "svc1", ips: ["10.0.0.2"], ports: [("http", "TCP", 80)]),
        service("testns", "svc-dual-stack", ips: ["10.0.0.3", "10::3"], ports: [("http", "TCP", 80)]),
        // For the reverse cases (reverse_test.go), as a headless service of our own.
        service("testns", "svcrev", ips: ["192.168.1.100"], ports: [("http", "TCP", 80)]),
        headless("testns", "hdlsrev"),
    ]

    static let slices: [EndpointSlice] = [
        slice("testns", "svc1", "svc1-slice1", [EP(ip: "172.0.0.1", hostname: "ep1a")], ports: [("http", "TCP", 80)]),
        slice("testns", "hdls1", "hdls1-v4", [EP(ip: "172.0.0.2"), EP(ip: "172.0.0.3"),
                                              EP(ip: "172.0.0.4", hostname: "dup-name"), EP(ip: "172.0.0.5", hostname: "dup-name")],
              ports: [("http", "TCP", 80)]),
        slice("testns", "hdls1", "hdls1-v6", v6: true, [EP(ip: "5678:abcd::1"), EP(ip: "5678:abcd::2")], ports: [("http", "TCP", 80)]),
        slice("testns", "hdlsprtls", "hdlsprtls-slice1", [EP(ip: "172.0.0.20")]),
        slice("testns", "hdlsrev", "hdlsrev-v4", [EP(ip: "10.0.0.100", hostname: "ep1a")], ports: [("http", "TCP", 80)]),
        slice("testns", "hdlsrev", "hdlsrev-v6", v6: true, [EP(ip: "1234:abcd::1", hostname: "ep1b"),
                                                            EP(ip: "fd00:77:30::a", hostname: "ip6svc1ex"),
                                                            EP(ip: "fd00:77:30::2:9ba6", hostname: "ip6svc1in")],
              ports: [("http", "TCP", 80)]),
    ]

    static let pods: [Pod] = [pod("podns", "foo", ip: "10.240.0.1")]
    static let namespaces: [Namespace] = ["testns", "podns", "kube-system", "unexposedns"].map(namespace)

    static func zone(podMode: PodRecordMode = .insecure, synced: Bool = true) -> ClusterZone {
        let config = ZoneConfiguration(podMode: podMode, reverseCIDRs: [
            CIDR("10.0.0.0/16")!, CIDR("192.168.0.0/16")!, CIDR("1234:abcd::/96")!, CIDR("fd00:77:30::/96")!,
        ])
        return ClusterZone(services: services, endpointSlices: slices, pods: pods, namespaces: namespaces,
                           isSynced: synced, serial: 1499347823, configuration: config)
    }
}
