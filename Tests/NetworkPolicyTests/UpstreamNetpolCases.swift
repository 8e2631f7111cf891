import KubeModel
import Testing
@testable import NetworkPolicy

/// One step of an upstream case: change the cluster, probe one port, expect a matrix.
struct NetpolStep: Sendable {
    var change: @Sendable (inout NetpolCluster) -> Void
    var port: PortProtocol
    var expect: @Sendable (inout Reachability) -> Void
}

/// One upstream e2e test (test/e2e/network/netpol/network_policy.go), as evaluator tables:
/// the same pods, policies, probes and expectations, written for kplane.
struct NetpolCase: Sendable, CustomTestStringConvertible {
    var name: String
    var pods: [String]
    var ports: [Int] = [80]
    var protocols: [PolicyProtocol] = [.tcp]
    var steps: [NetpolStep]
    var testDescription: String { name }
}

private typealias P = Reachability.Peer
private func step(_ port: Int, _ proto: PolicyProtocol = .tcp, change: @escaping @Sendable (inout NetpolCluster) -> Void = { _ in },
                  _ expect: @escaping @Sendable (inout Reachability) -> Void) -> NetpolStep {
    NetpolStep(change: change, port: PortProtocol(port, proto), expect: expect)
}
private func create(_ policies: NetworkPolicy...) -> @Sendable (inout NetpolCluster) -> Void {
    { c in for p in policies { c.apply(p) } }
}
private let nameLabel = Namespace.nameLabel

/// All 48 tests of the upstream suite (42 TCP, 3 UDP, 3 SCTP).
let upstreamNetpolCases: [NetpolCase] = [
    NetpolCase(name: "default-deny-ingress", pods: ["x/a", "x/b", "y/a", "y/b"], steps: [
        step(80, change: create(policy("deny-ingress", ingress: []))) { $0.expectPeer(P(), P(namespace: "x"), false) },
    ]),
    NetpolCase(name: "default-deny-all", pods: ["x/a", "x/b", "y/a"], steps: [
        step(80, change: create(policy("deny-all", ingress: [], egress: []))) {
            $0.expectPeer(P(), P(namespace: "x"), false); $0.expectPeer(P(namespace: "x"), P(), false)
        },
    ]),
    NetpolCase(name: "allow traffic from pods within server namespace based on PodSelector", pods: ["x/a", "x/b", "x/c", "y/a"], steps: [
        step(80, change: create(policy("x-a-allows-x-b", select: sel(["pod": "a"]), ingress: [from(podPeer(sel(["pod": "b"])))]))) {
            $0.expectAllIngress("x/a", false); $0.expect("x/b", "x/a", true)
        },
    ]),
    NetpolCase(name: "allow ingress traffic for a target", pods: ["x/a", "x/b", "y/a"], steps: [
        step(80, change: create(policy("deny-all", ingress: []),
                                policy("allow-all-to-a", select: sel(["pod": "a"]), ingress: [from(bothPeer(ns: sel(), pod: sel()))]))) {
            $0.expectAllIngress("x/a", true); $0.expectAllIngress("x/b", false)
        },
    ]),
    NetpolCase(name: "allow ingress traffic from pods in all namespaces", pods: ["x/a", "x/b", "y/a", "z/a"], steps: [
        step(80, change: create(policy("allow-from-another-ns", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel()))]))) { _ in },
    ]),
    NetpolCase(name: "allow traffic only from a different namespace, based on NamespaceSelector", pods: ["x/a", "x/b", "y/a", "z/a"], steps: [
        step(80, change: create(policy("allow-client-a-via-ns-selector", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel([nameLabel: "y"])))]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false); $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
    ]),
    NetpolCase(name: "PodSelector with MatchExpressions", pods: ["x/a", "x/b", "y/a"], steps: [
        step(80, change: create(policy("x-a-allows-x-b", select: sel(["pod": "a"]), ingress: [from(podPeer(expr("pod", "In", ["b"])))]))) {
            $0.expectAllIngress("x/a", false); $0.expect("x/b", "x/a", true)
        },
    ]),
    NetpolCase(name: "NamespaceSelector with MatchExpressions", pods: ["x/a", "x/b", "y/a", "z/a"], steps: [
        step(80, change: create(policy("allow-ns-y-match-selector", select: sel(["pod": "a"]), ingress: [from(nsPeer(expr(nameLabel, "In", ["y"])))]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false); $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
    ]),
    NetpolCase(name: "PodSelector or NamespaceSelector", pods: ["x/a", "x/b", "x/c", "y/a"], steps: [
        step(80, change: create(policy("allow-ns-y-match-selector", select: sel(["pod": "a"]),
                                       ingress: [from(nsPeer(expr(nameLabel, "NotIn", ["x"])), podPeer(sel(["pod": "b"])))]))) {
            $0.expect("x/a", "x/a", false); $0.expect("x/c", "x/a", false)
        },
    ]),
    NetpolCase(name: "PodSelector and NamespaceSelector", pods: ["x/a", "x/b", "y/a", "y/b", "z/b"], steps: [
        step(80, change: create(policy("allow-ns-y-podselector-and-nsselector", select: sel(["pod": "a"]),
                                       ingress: [from(bothPeer(ns: expr(nameLabel, "NotIn", ["x"]), pod: sel(["pod": "b"])))]))) {
            $0.expectAllIngress("x/a", false); $0.expect("y/b", "x/a", true); $0.expect("z/b", "x/a", true)
        },
    ]),
    NetpolCase(name: "Multiple PodSelectors and NamespaceSelectors", pods: ["x/a", "x/b", "y/a", "y/b", "y/c"], steps: [
        step(80, change: create(policy("allow-ns-y-z-pod-b-c", select: sel(["pod": "a"]),
                                       ingress: [from(bothPeer(ns: expr(nameLabel, "NotIn", ["x"]), pod: expr("pod", "In", ["b", "c"])))]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false); $0.expect("y/a", "x/a", false)
        },
    ]),
    NetpolCase(name: "any PodSelectors", pods: ["x/a", "x/b", "x/c"], steps: [
        step(80, change: create(policy("allow-ns-x-pod-b-c", select: sel(["pod": "a"]), ingress: [from(podPeer(sel(["pod": "b"])), podPeer(sel(["pod": "c"])))]))) {
            $0.expectAllIngress("x/a", false); $0.expect("x/b", "x/a", true); $0.expect("x/c", "x/a", true)
        },
    ]),
    NetpolCase(name: "allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector", pods: ["x/a", "x/b", "y/a", "y/b", "z/a"], steps: [
        step(80, change: create(policy("allow-ns-y-pod-a-via-namespace-pod-selector", select: sel(["pod": "a"]),
                                       ingress: [from(bothPeer(ns: sel([nameLabel: "y"]), pod: sel(["pod": "a"])))]))) {
            $0.expectAllIngress("x/a", false); $0.expect("y/a", "x/a", true)
        },
    ]),
    NetpolCase(name: "Ports", pods: ["x/a", "x/b", "y/a", "y/b", "z/a"], ports: [81], steps: [
        step(81, change: create(policy("allow-client-a-via-ns-selector", select: sel(["pod": "a"]),
                                       ingress: [from(nsPeer(sel([nameLabel: "y"])), ports: [port(81, "TCP")])]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false)
            $0.expectPeer(P(namespace: "y"), P(namespace: "x", pod: "a"), true)
            $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
    ]),
    NetpolCase(name: "multiple, stacked policies with overlapping podSelectors", pods: ["x/a", "x/b", "y/a", "y/b", "z/a"], ports: [80, 81], steps: [
        step(81, change: create(policy("allow-client-a-via-ns-selector", select: sel(["pod": "a"]),
                                       ingress: [from(nsPeer(sel([nameLabel: "y"])), ports: [port(81, "TCP")])]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false)
            $0.expectPeer(P(namespace: "y"), P(namespace: "x", pod: "a"), true)
            $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
        step(80) { $0.expectAllIngress("x/a", false) },
        step(80, change: create(policy("allow-client-a-via-ns-selector-80", select: sel(["pod": "a"]),
                                       ingress: [from(nsPeer(sel([nameLabel: "y"])), ports: [port(80, "TCP")])]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false)
            $0.expectPeer(P(namespace: "y"), P(namespace: "x", pod: "a"), true)
            $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
    ]),
    NetpolCase(name: "allow-all policy", pods: ["x/a", "x/b", "y/a"], ports: [80, 81], steps: [
        step(80, change: create(policy("allow-all", ingress: [from()]))) { _ in },
        step(81) { _ in },
    ]),
    NetpolCase(name: "allow ingress access on one named port", pods: ["x/a", "x/b", "y/a"], ports: [80, 81], steps: [
        step(81, change: create(policy("allow-all", ingress: [from(ports: [port("serve-81-tcp")])]))) { _ in },
        step(80) { $0.expectPeer(P(), P(namespace: "x"), false) },
    ]),
    NetpolCase(name: "allow ingress access from namespace on one named port", pods: ["x/a", "x/b", "y/a", "z/a"], ports: [80, 81], steps: [
        step(80, change: create(policy("allow-client-a-via-ns-selector-80", select: sel(["pod": "a"]),
                                       ingress: [from(nsPeer(sel([nameLabel: "y"])), ports: [port("serve-80-tcp", "TCP")])]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false); $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
        step(81) { $0.expectAllIngress("x/a", false) },
    ]),
    NetpolCase(name: "allow egress access on one named port", pods: ["x/a", "y/a"], ports: [80, 81], steps: [
        step(80, change: create(policy("allow-egress", egress: [to(ports: [port("serve-80-tcp")])]))) { _ in },
        step(81) { $0.expectPeer(P(namespace: "x"), P(), false) },
    ]),
    NetpolCase(name: "enforce updated policy", pods: ["x/a", "y/a"], ports: [81], steps: [
        step(81, change: create(policy("allow-all-mutate-to-deny-all", ingress: [from()]))) { _ in },
        step(81, change: create(policy("allow-all-mutate-to-deny-all", ingress: []))) { $0.expectPeer(P(), P(namespace: "x"), false) },
    ]),
    NetpolCase(name: "allow ingress access from updated namespace", pods: ["x/a", "y/a"], steps: [
        step(80, change: create(policy("allow-client-a-via-ns-selector", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel(["ns2": "updated"])))]))) {
            $0.expectAllIngress("x/a", false)
        },
        step(80, change: { $0.labelNamespace("y", "ns2", "updated") }) {
            $0.expectAllIngress("x/a", false); $0.expectPeer(P(namespace: "y"), P(), true)
        },
    ]),
    NetpolCase(name: "allow ingress access from updated pod", pods: ["x/a", "x/b"], steps: [
        step(80, change: create(policy("allow-client-a-via-pod-selector", select: sel(["pod": "a"]),
                                       ingress: [from(podPeer(sel(["pod": "b", "pod2": "updated"])))]))) { $0.expectAllIngress("x/a", false) },
        step(80, change: { $0.labelPod("x/b", ["pod": "b", "pod2": "updated"]) }) {
            $0.expectAllIngress("x/a", false); $0.expect("x/b", "x/a", true)
        },
    ]),
    NetpolCase(name: "deny ingress from pods on other namespaces", pods: ["x/a", "x/b", "y/a", "z/a"], steps: [
        step(80, change: create(policy("deny-empty-policy", ingress: [from(podPeer(sel()))]))) {
            $0.expectPeer(P(namespace: "y"), P(namespace: "x"), false); $0.expectPeer(P(namespace: "z"), P(namespace: "x"), false)
        },
    ]),
    NetpolCase(name: "deny ingress access to updated pod", pods: ["x/a", "y/a"], steps: [
        step(80, change: create(policy("deny-ingress-via-label-selector", select: sel(["target": "isolated"]), ingress: []))) { _ in },
        step(80, change: { $0.labelPod("x/a", ["target": "isolated"]) }) { $0.expectAllIngress("x/a", false) },
    ]),
    NetpolCase(name: "deny egress from pods based on PodSelector", pods: ["x/a", "x/b", "y/a"], steps: [
        step(80, change: create(policy("deny-egress-pod-a", select: sel(["pod": "a"]), egress: []))) { $0.expectAllEgress("x/a", false) },
    ]),
    NetpolCase(name: "deny egress from all pods in a namespace", pods: ["x/a", "x/b", "y/a"], steps: [
        step(80, change: create(policy("deny-egress-ns-x", egress: []))) { $0.expectPeer(P(namespace: "x"), P(), false) },
    ]),
    NetpolCase(name: "Ingress, Egress specified together", pods: ["x/a", "x/b", "x/c", "y/a"], ports: [80, 81], steps: [
        step(80, change: create(policy("allow-client-a-via-pod-selector", select: sel(["pod": "a"]),
                                       ingress: [from(podPeer(sel(["pod": "b"])))], egress: [to(ports: [port(80)])], types: ["Egress", "Ingress"]))) {
            $0.expectAllIngress("x/a", false); $0.expect("x/b", "x/a", true)
        },
        step(81) { $0.expectAllIngress("x/a", false); $0.expectAllEgress("x/a", false); $0.expect("x/b", "x/a", true) },
    ]),
    NetpolCase(name: "denying of egress traffic on the client side (even if the server explicitly allows this traffic)", pods: ["x/a", "y/a", "y/b"], steps: [
        step(80, change: create(
            policy("allow-to-ns-y-pod-a", select: sel(["pod": "a"]), egress: [to(bothPeer(ns: sel([nameLabel: "y"]), pod: sel(["pod": "a"])))]),
            policy("allow-from-xa-on-ya-match-selector", "y", select: sel(["pod": "a"]), ingress: [from(bothPeer(ns: sel([nameLabel: "x"]), pod: sel(["pod": "a"])))]),
            policy("allow-from-xa-on-yb-match-selector", "y", select: sel(["pod": "b"]), ingress: [from(bothPeer(ns: sel([nameLabel: "x"]), pod: sel(["pod": "a"])))]))) {
            $0.expectPeer(P(namespace: "x", pod: "a"), P(), false)
            $0.expectPeer(P(), P(namespace: "y", pod: "a"), false)
            $0.expectPeer(P(namespace: "x", pod: "a"), P(namespace: "y", pod: "a"), true)
            $0.expectPeer(P(), P(namespace: "y", pod: "b"), false)
        },
    ]),
    NetpolCase(name: "egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector", pods: ["x/a", "y/a", "y/b"], steps: [
        step(80, change: create(policy("allow-to-ns-y-pod-a", select: sel(["pod": "a"]), egress: [to(bothPeer(ns: sel([nameLabel: "y"]), pod: sel(["pod": "a"])))]))) {
            $0.expectAllEgress("x/a", false); $0.expect("x/a", "y/a", true)
        },
    ]),
    NetpolCase(name: "ingress policy allowing any port traffic to a server on a specific protocol", pods: ["x/a", "y/a"], protocols: [.tcp, .udp], steps: [
        step(80, change: create(policy("allow-ingress-by-proto", select: sel(["pod": "a"]), ingress: [from(ports: [proto("TCP")])]))) { _ in },
        step(80, .udp) { $0.expectPeer(P(), P(namespace: "x", pod: "a"), false) },
    ]),
    NetpolCase(name: "multiple ingress policies with ingress allow-all policy taking precedence", pods: ["x/a", "y/a"], ports: [81], steps: [
        step(81, change: create(policy("allow-ingress-port-80", ingress: [from(ports: [port(80)])]))) { $0.expectPeer(P(), P(namespace: "x"), false) },
        step(81, change: create(policy("allow-ingress", ingress: [from()]))) { _ in },
    ]),
    NetpolCase(name: "multiple egress policies with egress allow-all policy taking precedence", pods: ["x/a", "y/a"], ports: [81], steps: [
        step(81, change: create(policy("allow-egress-port-80", egress: [to(ports: [port(80)])]))) { $0.expectPeer(P(namespace: "x"), P(), false) },
        step(81, change: create(policy("allow-egress", egress: [to()]))) { _ in },
    ]),
    NetpolCase(name: "stop enforcing policies after they are deleted", pods: ["x/a", "y/a"], steps: [
        step(80, change: create(policy("deny-all", ingress: [], egress: []))) {
            $0.expectPeer(P(namespace: "x"), P(), false); $0.expectPeer(P(), P(namespace: "x"), false)
        },
        step(80, change: { $0.policies = [] }) { _ in },
    ]),
    NetpolCase(name: "allow egress access to server in CIDR block", pods: ["x/a", "y/a", "y/b"], steps: [
        step(80, change: create(policy("allow-client-a-via-cidr-egress-rule", select: sel(["pod": "a"]), egress: [to(ipPeer("10.244.2.2/32"))]))) {
            $0.expectAllEgress("x/a", false); $0.expect("x/a", "y/b", true)
        },
    ]),
    NetpolCase(name: "except clause while egress access to server in CIDR block", pods: ["x/a", "x/b", "x/c"], steps: [
        step(80, change: create(policy("allow-client-a-via-cidr-egress-rule", select: sel(["pod": "a"]), egress: [to(ipPeer("0.0.0.0/4", except: ["10.244.1.2/32"]))]))) {
            $0.expect("x/a", "x/b", false)
        },
    ]),
    NetpolCase(name: "an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed", pods: ["x/a", "x/b", "x/c"], steps: [
        step(80, change: create(policy("allow-client-a-via-cidr-egress-rule", select: sel(["pod": "a"]), egress: [to(ipPeer("0.0.0.0/4", except: ["10.244.1.2/32"]))]))) {
            $0.expect("x/a", "x/b", false)
        },
        step(80, change: create(policy("allow-client-a-via-cidr-egress-rule", select: sel(["pod": "a"]), egress: [to(ipPeer("10.244.1.2/32"))]))) {
            $0.expectAllEgress("x/a", false); $0.expect("x/a", "x/b", true)
        },
    ]),
    NetpolCase(name: "ingress and egress policies can be controlled independently based on PodSelector", pods: ["x/a", "x/b", "y/a"], steps: [
        step(80, change: create(policy("allow-egress-for-target", select: sel(["pod": "a"]), egress: [to()]))) { _ in },
        step(80, change: create(policy("deny-ingress-via-label-selector", select: sel(["pod": "a"]), ingress: []))) { $0.expectAllIngress("x/a", false) },
    ]),
    NetpolCase(name: "not mistakenly treat 'protocol: SCTP' as 'protocol: TCP'", pods: ["x/a", "y/a"], ports: [81], steps: [
        step(81, change: create(policy("deny-ingress", ingress: []),
                                policy("allow-only-sctp-ingress-on-port-81", select: sel(["pod": "a"]), ingress: [from(ports: [port(81, "SCTP")])]))) {
            $0.expectPeer(P(), P(namespace: "x"), false)
        },
    ]),
    NetpolCase(name: "properly isolate pods that are selected by a policy allowing SCTP", pods: ["x/a", "y/a"], ports: [81], steps: [
        step(81, change: create(policy("allow-only-sctp-ingress-on-port-80", select: sel(["pod": "a"]), ingress: [from(ports: [port(80, "SCTP")])]))) {
            $0.expectAllIngress("x/a", false)
        },
    ]),
    NetpolCase(name: "not allow access by TCP when a policy specifies only UDP", pods: ["x/a", "y/a"], ports: [81], steps: [
        step(81, change: create(policy("allow-only-udp-ingress-on-port-81", select: sel(["pod": "a"]), ingress: [from(ports: [port(81, "UDP")])]))) {
            $0.expectAllIngress("x/a", false)
        },
    ]),
    NetpolCase(name: "NamespaceSelector with MatchLabels using default ns label", pods: ["x/a", "x/b", "y/a", "z/a"], steps: [
        step(80, change: create(policy("allow-client-a-via-ns-selector-for-immutable-ns-label", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel([nameLabel: "y"])))]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false); $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
    ]),
    NetpolCase(name: "NamespaceSelector with MatchExpressions using default ns label", pods: ["x/a", "x/b", "y/a", "z/a"], steps: [
        step(80, change: create(policy("allow-ns-y-match-selector-for-immutable-ns-label", select: sel(["pod": "a"]), egress: [to(nsPeer(expr(nameLabel, "NotIn", ["y"])))]))) {
            $0.expectPeer(P(namespace: "x", pod: "a"), P(namespace: "y"), false)
        },
    ]),
    // UDP
    NetpolCase(name: "UDP default-deny-ingress", pods: ["x/a", "x/b", "y/a", "y/b"], protocols: [.udp], steps: [
        step(80, .udp, change: create(policy("deny-all", ingress: []))) { $0.expectPeer(P(), P(namespace: "x"), false) },
    ]),
    NetpolCase(name: "UDP Ports", pods: ["x/a", "x/b", "y/a", "z/a"], ports: [81], protocols: [.udp], steps: [
        step(81, .udp, change: create(policy("allow-ingress-on-port-81-ns-x", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel([nameLabel: "y"])), ports: [port(81, "UDP")])]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false); $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
    ]),
    NetpolCase(name: "UDP from a pod in a different namespace based on PodSelector and NamespaceSelector", pods: ["x/a", "x/b", "y/a"], protocols: [.udp], steps: [
        step(80, .udp, change: create(policy("allow-ns-y-pod-a-via-namespace-pod-selector", select: sel(["pod": "a"]),
                                             ingress: [from(bothPeer(ns: sel([nameLabel: "y"]), pod: sel(["pod": "a"])))]))) {
            $0.expectAllIngress("x/a", false); $0.expect("y/a", "x/a", true)
        },
    ]),
    // SCTP
    NetpolCase(name: "SCTP default-deny-ingress", pods: ["x/a", "x/b", "y/a", "y/b"], protocols: [.sctp], steps: [
        step(80, .sctp, change: create(policy("deny-all", ingress: []))) { $0.expectPeer(P(), P(namespace: "x"), false) },
    ]),
    NetpolCase(name: "SCTP Ports", pods: ["x/a", "x/b", "y/a", "z/a"], ports: [81], protocols: [.sctp], steps: [
        step(81, .sctp, change: create(policy("allow-ingress-on-port-81-ns-x", select: sel(["pod": "a"]), ingress: [from(nsPeer(sel([nameLabel: "y"])), ports: [port(81, "SCTP")])]))) {
            $0.expectPeer(P(namespace: "x"), P(namespace: "x", pod: "a"), false); $0.expectPeer(P(namespace: "z"), P(namespace: "x", pod: "a"), false)
        },
    ]),
    NetpolCase(name: "SCTP from a pod in a different namespace based on PodSelector and NamespaceSelector", pods: ["x/a", "x/b", "y/a"], protocols: [.sctp], steps: [
        step(80, .sctp, change: create(policy("allow-ns-y-pod-a-via-namespace-pod-selector", select: sel(["pod": "a"]),
                                              ingress: [from(bothPeer(ns: sel([nameLabel: "y"]), pod: sel(["pod": "a"])))]))) {
            $0.expectAllIngress("x/a", false); $0.expect("y/a", "x/a", true)
        },
    ]),
]
