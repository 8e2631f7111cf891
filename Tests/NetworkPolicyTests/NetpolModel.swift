import KubeModel
@testable import NetworkPolicy

/// The upstream e2e suite's cluster (test/e2e/network/netpol): namespaces x, y, z labelled
/// `ns: <name>`; pods labelled `pod: <name>` with one container per port and protocol whose
/// port is named `serve-<port>-<protocol>`. Addresses are fixed so ipBlock cases can name them.
struct NetpolCluster {
    var namespaces: [Namespace]
    var pods: [Pod]
    var policies: [NetworkPolicy] = []

    init(pods podNames: [String], ports: [Int] = [80, 81], protocols: [PolicyProtocol] = [.tcp]) {
        namespaces = ["x", "y", "z"].map { name in
            var ns = Namespace()
            ns.metadata = ObjectMeta(name: name, labels: ["ns": name])
            ns.setDefaults()
            return ns
        }
        pods = podNames.map { text in
            let ref = ObjectRef(text)!
            var pod = Pod()
            pod.metadata = ObjectMeta(name: ref.name, namespace: ref.namespace, labels: ["pod": ref.name])
            for port in ports {
                for proto in protocols {
                    var c = Pod.Container(name: "cont-\(port)-\(proto.rawValue.lowercased())")
                    c.ports = [Pod.ContainerPort(name: "serve-\(port)-\(proto.rawValue.lowercased())", containerPort: port, protocol: proto.rawValue)]
                    pod.spec.containers.append(c)
                }
            }
            pod.status.podIP = NetpolCluster.address(ref).description
            pod.status.phase = "Running"
            return pod
        }
    }

    /// `x/a` = 10.244.1.1, `y/c` = 10.244.2.3, …
    static func address(_ ref: ObjectRef) -> IPAddress {
        let ns = ["x": 1, "y": 2, "z": 3][ref.namespace] ?? 9
        let pod = Int(ref.name.unicodeScalars.first!.value) - 96
        return IPAddress("10.244.\(ns).\(pod)")!
    }

    var model: PolicyModel { PolicyModel(namespaces: namespaces, pods: pods, policies: policies) }
    var refs: [ObjectRef] { pods.map { ObjectRef($0.namespace, $0.name) } }

    /// CreatePolicy / UpdatePolicy: replaces a policy of the same namespace and name.
    mutating func apply(_ policy: NetworkPolicy) {
        policies.removeAll { $0.namespace == policy.namespace && $0.name == policy.name }
        policies.append(policy)
    }

    mutating func labelNamespace(_ name: String, _ key: String, _ value: String) {
        for i in namespaces.indices where namespaces[i].name == name { namespaces[i].metadata.labels![key] = value }
    }

    mutating func labelPod(_ ref: String, _ labels: [String: String]) {
        let r = ObjectRef(ref)!
        for i in pods.indices where pods[i].namespace == r.namespace && pods[i].name == r.name {
            pods[i].metadata.labels!.merge(labels) { $1 }
        }
    }
}

/// Expected reachability, default allowed, edited as the upstream `Reachability` helper does.
struct Reachability {
    var pods: [ObjectRef]
    var cells: [ObjectRef: [ObjectRef: Bool]]

    init(_ pods: [ObjectRef]) {
        self.pods = pods
        cells = Dictionary(uniqueKeysWithValues: pods.map { p in (p, Dictionary(uniqueKeysWithValues: pods.map { ($0, true) })) })
    }

    /// A peer pattern: empty fields match everything.
    struct Peer {
        var namespace: String? = nil
        var pod: String? = nil
        func matches(_ r: ObjectRef) -> Bool { (namespace == nil || namespace == r.namespace) && (pod == nil || pod == r.name) }
    }

    mutating func expectPeer(_ from: Peer, _ to: Peer, _ value: Bool) {
        for f in pods where from.matches(f) { for t in pods where to.matches(t) { cells[f]![t] = value } }
    }
    mutating func expect(_ from: String, _ to: String, _ value: Bool) { cells[ObjectRef(from)!]![ObjectRef(to)!] = value }
    mutating func expectAllIngress(_ to: String, _ value: Bool) { for f in pods { cells[f]![ObjectRef(to)!] = value } }
    mutating func expectAllEgress(_ from: String, _ value: Bool) { for t in pods { cells[ObjectRef(from)!]![t] = value } }

    var matrix: ReachabilityMatrix { ReachabilityMatrix(pods: pods, port: PortProtocol(0, .tcp), allowed: cells) }
}

// MARK: - Building policies the way the upstream helpers do

func sel(_ labels: [String: String] = [:]) -> LabelSelector { LabelSelector(matchLabels: labels) }
func expr(_ key: String, _ op: String, _ values: [String]? = nil) -> LabelSelector {
    LabelSelector(matchExpressions: [.init(key: key, operator: op, values: values)])
}
func port(_ n: Int, _ proto: String? = nil, end: Int? = nil) -> NetworkPolicy.Port { .init(protocol: proto, port: .int(n), endPort: end) }
func port(_ name: String, _ proto: String? = nil) -> NetworkPolicy.Port { .init(protocol: proto, port: .string(name)) }
func proto(_ p: String?) -> NetworkPolicy.Port { .init(protocol: p, port: nil) }
func podPeer(_ s: LabelSelector) -> NetworkPolicy.Peer { .init(podSelector: s) }
func nsPeer(_ s: LabelSelector) -> NetworkPolicy.Peer { .init(namespaceSelector: s) }
func bothPeer(ns: LabelSelector, pod: LabelSelector) -> NetworkPolicy.Peer { .init(podSelector: pod, namespaceSelector: ns) }
func ipPeer(_ cidr: String, except: [String]? = nil) -> NetworkPolicy.Peer { .init(ipBlock: .init(cidr: cidr, except: except)) }

/// `GenNetworkPolicy…` + `SetSpecIngressRules` / `SetSpecEgressRules`: a non-nil rule list
/// (even empty) adds its type to policyTypes.
func policy(_ name: String, _ namespace: String = "x", select: LabelSelector = sel(),
            ingress: [NetworkPolicy.IngressRule]? = nil, egress: [NetworkPolicy.EgressRule]? = nil,
            types: [String]? = nil) -> NetworkPolicy {
    var p = NetworkPolicy()
    p.metadata = ObjectMeta(name: name, namespace: namespace)
    p.spec.podSelector = select
    var t: [String] = []
    if let ingress { p.spec.ingress = ingress; t.append("Ingress") }
    if let egress { p.spec.egress = egress; t.append("Egress") }
    p.spec.policyTypes = types ?? t
    return p
}
func from(_ peers: NetworkPolicy.Peer..., ports: [NetworkPolicy.Port]? = nil) -> NetworkPolicy.IngressRule { .init(from: peers.isEmpty ? nil : peers, ports: ports) }
func to(_ peers: NetworkPolicy.Peer..., ports: [NetworkPolicy.Port]? = nil) -> NetworkPolicy.EgressRule { .init(to: peers.isEmpty ? nil : peers, ports: ports) }
