import KubeModel
@testable import NetworkPolicy
import Testing

/// Port and protocol cases in the style of cyclonus (single and paired `ports` entries:
/// protocol nil/TCP/UDP/SCTP × port nil/81/serve-81-tcp, ingress and egress), endPort
/// ranges, and the semantic corners the issue lists.
@Suite struct PolicySemanticsTests {
    static let probes: [PortProtocol] = [80, 81].flatMap { p in PolicyProtocol.allCases.map { PortProtocol(p, $0) } }

    /// (protocol, port) of one `ports` entry → the probes it opens on a pod serving 80 and 81 on every protocol.
    static let singlePorts: [(String?, IntOrString?, Set<String>)] = [
        (nil, nil, ["80/TCP", "81/TCP"]), (nil, .int(81), ["81/TCP"]), (nil, .string("serve-81-tcp"), ["81/TCP"]),
        ("TCP", nil, ["80/TCP", "81/TCP"]), ("TCP", .int(81), ["81/TCP"]), ("TCP", .string("serve-81-tcp"), ["81/TCP"]),
        ("UDP", nil, ["80/UDP", "81/UDP"]), ("UDP", .int(81), ["81/UDP"]), ("UDP", .string("serve-81-tcp"), []),
        ("SCTP", nil, ["80/SCTP", "81/SCTP"]), ("SCTP", .int(81), ["81/SCTP"]), ("SCTP", .string("serve-81-tcp"), []),
    ]

    static func cluster(_ p: NetworkPolicy) -> NetpolCluster {
        var c = NetpolCluster(pods: ["x/a", "y/b"], ports: [80, 81], protocols: PolicyProtocol.allCases)
        c.apply(p)
        return c
    }

    static func opened(_ c: NetpolCluster, ingress: Bool) -> Set<String> {
        let m = c.model
        let (from, to) = ingress ? (ObjectRef("y", "b"), ObjectRef("x", "a")) : (ObjectRef("x", "a"), ObjectRef("y", "b"))
        return Set(probes.filter { m.allows(Flow(from: .pod(from), to: .pod(to), port: $0)) }.map(\.description))
    }

    static func rulePolicy(_ ports: [NetworkPolicy.Port], ingress: Bool) -> NetworkPolicy {
        ingress ? policy("p", select: sel(["pod": "a"]), ingress: [from(ports: ports)])
                : policy("p", select: sel(["pod": "a"]), egress: [to(ports: ports)])
    }

    @Test(arguments: [true, false])
    func singlePortEntries(ingress: Bool) {
        for (proto, port, expected) in Self.singlePorts {
            let c = Self.cluster(Self.rulePolicy([.init(protocol: proto, port: port)], ingress: ingress))
            #expect(Self.opened(c, ingress: ingress) == expected, "\(proto ?? "nil") \(port.map { "\($0)" } ?? "nil")")
        }
    }

    @Test(arguments: [true, false])
    func pairedPortEntriesAreTheUnion(ingress: Bool) {
        for (i, a) in Self.singlePorts.enumerated() {
            for b in Self.singlePorts[(i + 1)...] {
                let c = Self.cluster(Self.rulePolicy([.init(protocol: a.0, port: a.1), .init(protocol: b.0, port: b.1)], ingress: ingress))
                #expect(Self.opened(c, ingress: ingress) == a.2.union(b.2))
            }
        }
    }

    static let endPorts: [(NetworkPolicy.Port, Set<String>)] = [
        (port(80, "TCP", end: 81), ["80/TCP", "81/TCP"]),
        (port(81, "UDP", end: 82), ["81/UDP"]),
        (port(79, "SCTP", end: 80), ["80/SCTP"]),
        (port(1, nil, end: 65535), ["80/TCP", "81/TCP"]),
        (port(82, "TCP", end: 90), []),
        (port(80, "TCP", end: 80), ["80/TCP"]),
    ]

    @Test(arguments: [true, false])
    func endPortRanges(ingress: Bool) {
        for (p, expected) in Self.endPorts {
            let c = Self.cluster(Self.rulePolicy([p], ingress: ingress))
            #expect(Self.opened(c, ingress: ingress) == expected, "\(p)")
        }
    }

    @Test func emptyIngressListDeniesAndEmptyRuleAllows() {
        var c = NetpolCluster(pods: ["x/a", "y/a"])
        c.apply(policy("deny", ingress: []))
        #expect(!c.model.allows(Flow(from: .pod(ObjectRef("y", "a")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp))))
        c.apply(policy("allow", ingress: [from()]))
        #expect(c.model.allows(Flow(from: .pod(ObjectRef("y", "a")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp))))
        #expect(c.model.allows(Flow(from: .address(IPAddress("192.0.2.7")!), to: .pod(ObjectRef("x", "a")), port: PortProtocol(9, .udp))),
                "no from = every source, outside the cluster too")
    }

    @Test func egressRulesWithoutPolicyTypesIsolateEgress() {
        var c = NetpolCluster(pods: ["x/a", "y/a"])
        var p = policy("e", select: sel(["pod": "a"]), egress: [to(ports: [port(53, "UDP")])])
        p.spec.policyTypes = nil   // defaulted: Ingress plus Egress because egress rules exist
        c.apply(p)
        let m = c.model
        #expect(!m.allows(Flow(from: .pod(ObjectRef("y", "a")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp))))
        #expect(!m.allows(Flow(from: .pod(ObjectRef("x", "a")), to: .pod(ObjectRef("y", "a")), port: PortProtocol(80, .tcp))))
        #expect(m.allows(Flow(from: .pod(ObjectRef("x", "a")), to: .address(IPAddress("10.96.0.10")!), port: PortProtocol(53, .udp))))
    }

    @Test func notInAndDoesNotExistMatchAbsentKeys() {
        var c = NetpolCluster(pods: ["x/a", "x/b", "y/a"])
        c.labelPod("x/b", ["tier": "db"])
        c.apply(policy("p", select: sel(["pod": "a"]), ingress: [from(podPeer(expr("tier", "NotIn", ["db"])), nsPeer(expr("team", "DoesNotExist")))]))
        let m = c.model
        func ok(_ f: String) -> Bool { m.allows(Flow(from: .pod(ObjectRef(f)!), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp))) }
        #expect(ok("x/b") && ok("y/a"))
        c.labelNamespace("x", "team", "red")
        c.labelNamespace("y", "team", "blue")
        let m2 = c.model
        #expect(!m2.allows(Flow(from: .pod(ObjectRef("x", "b")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp))))
        #expect(!m2.allows(Flow(from: .pod(ObjectRef("y", "a")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp))), "podSelector alone = the policy's namespace only")
    }

    @Test func ipBlocksApplyToExternalAddressesAndPods() {
        var c = NetpolCluster(pods: ["x/a", "x/b", "y/a"])
        c.apply(policy("p", select: sel(["pod": "a"]), ingress: [from(ipPeer("10.244.0.0/16", except: ["10.244.2.0/24"]), ipPeer("192.0.2.0/24"))]))
        let m = c.model
        func ok(_ e: FlowEndpoint) -> Bool { m.allows(Flow(from: e, to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp))) }
        #expect(ok(.pod(ObjectRef("x", "b"))))
        #expect(!ok(.pod(ObjectRef("y", "a"))), "10.244.2.1 is in the except")
        #expect(ok(.address(IPAddress("192.0.2.9")!)))
        #expect(!ok(.address(IPAddress("198.51.100.1")!)))
        #expect(ok(.node), "the node reaches its pods")
    }

    @Test func namedPortsResolveOnTheDestinationWithProtocol() {
        var c = NetpolCluster(pods: ["x/a", "y/a"], ports: [80], protocols: [.tcp])
        // y/a serves "web" on 8080/TCP; x/a has no such name.
        c.pods[1].spec.containers[0].ports!.append(.init(name: "web", containerPort: 8080, protocol: "TCP"))
        c.apply(policy("p", select: sel(["pod": "a"]), egress: [to(ports: [port("web")])]))
        c.apply(policy("q", "y", select: sel(["pod": "a"]), ingress: [from(ports: [port("web", "UDP")])]))
        let m = c.model
        #expect(m.allows(Flow(from: .pod(ObjectRef("x", "a")), to: .pod(ObjectRef("y", "a")), port: PortProtocol(8080, .tcp))) == false,
                "egress allows it, but y/a's ingress names web/UDP, which y/a does not have")
        let v = m.evaluate(Flow(from: .pod(ObjectRef("x", "a")), to: .pod(ObjectRef("y", "a")), port: PortProtocol(8080, .tcp)))
        #expect(v.egress?.allowed == true && v.ingress?.allowed == false)
        #expect(!m.allows(Flow(from: .pod(ObjectRef("x", "a")), to: .address(IPAddress("192.0.2.1")!), port: PortProtocol(8080, .tcp))), "named ports never match outside pods")
    }

    @Test func explanationNamesIsolatingPoliciesAndTheAdmittingRule() {
        var c = NetpolCluster(pods: ["x/a", "y/a", "z/a"])
        c.apply(policy("deny-all", ingress: []))
        c.apply(policy("allow-y", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel([Namespace.nameLabel: "y"])), ports: [port(80, "TCP")])]))
        let m = c.model
        let yes = m.evaluate(Flow(from: .pod(ObjectRef("y", "a")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp)))
        #expect(yes.allowed)
        #expect(yes.explanation.contains("ingress to x/a: isolated by x/allow-y, x/deny-all"), "\(yes.explanation)")
        #expect(yes.explanation.contains("admitted by x/allow-y ingress[0]: from[0] namespaceSelector {kubernetes.io/metadata.name=y}, ports[0] 80/TCP"), "\(yes.explanation)")
        #expect(yes.explanation.contains("egress of y/a: not isolated"))
        let no = m.evaluate(Flow(from: .pod(ObjectRef("z", "a")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp)))
        #expect(!no.allowed && no.explanation.hasPrefix("denied: z/a -> x/a 80/TCP") && no.explanation.contains("no rule admits it: denied"))
        let me = m.evaluate(Flow(from: .pod(ObjectRef("x", "a")), to: .pod(ObjectRef("x", "a")), port: PortProtocol(80, .tcp)))
        #expect(me.allowed && me.exemption != nil)
    }

    @Test func hostNetworkPodsAreNotSelected() {
        var c = NetpolCluster(pods: ["x/a", "x/b"])
        c.pods[0].spec.hostNetwork = true
        c.apply(policy("deny", ingress: [], egress: []))
        let m = c.model
        #expect(m.isolating(m.pods[ObjectRef("x", "a")]!, .ingress).isEmpty)
        #expect(m.isolating(m.pods[ObjectRef("x", "b")]!, .ingress).count == 1)
    }
}
