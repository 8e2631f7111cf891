import ClusterStore
import KubeModel

/// `namespace/name` of a pod or a policy.
public struct ObjectRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// Parses `ns/name`; a bare name is in `defaultNamespace`.
    public init?(_ text: String, defaultNamespace: String = "default") {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1 where !parts[0].isEmpty: self.init(defaultNamespace, parts[0])
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty: self.init(parts[0], parts[1])
        default: return nil
        }
    }

    public var description: String { "\(namespace)/\(name)" }

    public static func < (a: ObjectRef, b: ObjectRef) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// What policies need to know about a pod.
public struct PolicyPod: Sendable, Hashable {
    /// A named container port (`spec.containers[].ports[]` with a name).
    public struct NamedPort: Sendable, Hashable {
        public var name: String
        public var port: Int
        public var proto: PolicyProtocol
    }

    public var ref: ObjectRef
    public var labels: [String: String]
    public var ips: [IPAddress]
    public var namedPorts: [NamedPort]
    /// Pods on the host network share the node's addresses: policies do not apply to them.
    public var hostNetwork: Bool

    public init(ref: ObjectRef, labels: [String: String], ips: [IPAddress], namedPorts: [NamedPort] = [], hostNetwork: Bool = false) {
        self.ref = ref
        self.labels = labels
        self.ips = ips
        self.namedPorts = namedPorts
        self.hostNetwork = hostNetwork
    }

    public init(_ pod: Pod) {
        var ips = (pod.status.podIPs ?? []).compactMap { IPAddress($0.ip) }
        if ips.isEmpty, let ip = pod.status.podIP.flatMap(IPAddress.init) { ips = [ip] }
        var named: [NamedPort] = []
        for c in pod.spec.containers {
            for p in c.ports ?? [] {
                guard let name = p.name, !name.isEmpty, let proto = PolicyProtocol(name: p.protocol ?? "TCP") else { continue }
                named.append(NamedPort(name: name, port: p.containerPort, proto: proto))
            }
        }
        self.init(ref: ObjectRef(pod.namespace.isEmpty ? "default" : pod.namespace, pod.name), labels: pod.labels, ips: ips,
                  namedPorts: named, hostNetwork: pod.spec.hostNetwork ?? false)
    }

    /// The container port a name stands for, for one protocol.
    public func resolve(_ name: String, _ proto: PolicyProtocol) -> Int? {
        namedPorts.first { $0.name == name && $0.proto == proto }?.port
    }

    public func address(v4: Bool) -> IPAddress? { ips.first { $0.isV4 == v4 } }
}

/// A label selector with its requirements worked out once (matching runs for every pod and
/// every policy on each sync).
public struct PolicySelector: Sendable, Hashable, CustomStringConvertible {
    public let selector: LabelSelector
    let requirements: [Requirement]

    public init(_ selector: LabelSelector) {
        self.selector = selector
        requirements = selector.requirements
    }

    public func matches(_ labels: [String: String]?) -> Bool {
        let l = labels ?? [:]
        for r in requirements where !r.matches(l) { return false }
        return true
    }

    public var description: String { requirements.map(\.description).joined(separator: ",") }
}

/// One `ports[]` entry of a rule, checked.
public enum PolicyPort: Sendable, Hashable, CustomStringConvertible {
    /// Every port of a protocol (`protocol` without `port`).
    case all(PolicyProtocol)
    /// A number or an `endPort` range.
    case range(PolicyProtocol, ClosedRange<Int>)
    /// A container port name, resolved on the destination pod.
    case named(PolicyProtocol, String)
    /// Invalid (unknown protocol, bad range): matches nothing.
    case invalid(String)

    init(_ p: NetworkPolicy.Port) {
        guard let proto = PolicyProtocol(name: (p.protocol ?? "").isEmpty ? "TCP" : p.protocol!) else {
            self = .invalid("protocol \(p.protocol ?? "")"); return
        }
        switch p.port {
        case nil: self = .all(proto)
        case .string(let name): self = .named(proto, name)
        case .int(let n):
            let end = p.endPort ?? n
            guard (1...65535).contains(n), end >= n, end <= 65535 else { self = .invalid("port \(n)-\(end)"); return }
            self = .range(proto, n...end)
        }
    }

    /// The ports this entry opens on a destination (named ports need the destination pod).
    public func ports(on destination: PolicyPod?) -> PortSet {
        switch self {
        case .all(let p): return PortSet(p, 0...65535)
        case .range(let p, let r): return PortSet(p, r)
        case .named(let p, let name):
            guard let port = destination?.resolve(name, p) else { return .none }
            return PortSet(p, port...port)
        case .invalid: return .none
        }
    }

    public var description: String {
        switch self {
        case .all(let p): return "all \(p)"
        case .range(let p, let r): return r.lowerBound == r.upperBound ? "\(r.lowerBound)/\(p)" : "\(r.lowerBound)-\(r.upperBound)/\(p)"
        case .named(let p, let name): return "\(name)/\(p)"
        case .invalid(let why): return "invalid (\(why))"
        }
    }
}

/// One `from[]` / `to[]` entry of a rule, checked.
public enum PolicyPeer: Sendable, Hashable, CustomStringConvertible {
    /// Pods chosen by selectors: no namespaceSelector means the policy's namespace; no
    /// podSelector means every pod of the chosen namespaces.
    case pods(namespaceSelector: PolicySelector?, podSelector: PolicySelector?)
    /// Addresses: the CIDR minus its exceptions, as disjoint ranges.
    case ipBlock(cidr: String, except: [String], ranges: [AddressRange])
    /// Invalid (no selector and no block, or a bad CIDR): matches nothing.
    case invalid(String)

    init(_ p: NetworkPolicy.Peer) {
        if let block = p.ipBlock {
            guard p.podSelector == nil && p.namespaceSelector == nil, let cidr = CIDR(block.cidr) else {
                self = .invalid("ipBlock \(block.cidr)"); return
            }
            let except = (block.except ?? []).compactMap(CIDR.init)
            guard except.count == (block.except ?? []).count else { self = .invalid("ipBlock except"); return }
            self = .ipBlock(cidr: block.cidr, except: block.except ?? [], ranges: AddressRange.ranges(cidr: cidr, except: except))
        } else if p.podSelector != nil || p.namespaceSelector != nil {
            self = .pods(namespaceSelector: p.namespaceSelector.map(PolicySelector.init), podSelector: p.podSelector.map(PolicySelector.init))
        } else {
            self = .invalid("empty peer")
        }
    }

    public var description: String {
        switch self {
        case .pods(let ns, let pod):
            var parts: [String] = []
            if let ns { parts.append("namespaceSelector {\(ns)}") }
            if let pod { parts.append("podSelector {\(pod)}") }
            if ns == nil { parts.append("(in the policy's namespace)") }
            return parts.joined(separator: " ")
        case .ipBlock(let cidr, let except, _):
            return "ipBlock \(cidr)" + (except.isEmpty ? "" : " except \(except.joined(separator: ", "))")
        case .invalid(let why): return "invalid peer (\(why))"
        }
    }
}

/// One ingress or egress rule, checked. `peers == nil` means every peer (no `from`/`to`, or
/// an empty list); `ports == nil` means every port and protocol.
public struct PolicyRule: Sendable, Hashable {
    public var index: Int
    public var peers: [PolicyPeer]?
    public var ports: [PolicyPort]?
}

/// A NetworkPolicy, checked and defaulted: which pods it selects, which directions it
/// isolates, its rules.
public struct CompiledPolicy: Sendable, Hashable {
    public var ref: ObjectRef
    public var podSelector: PolicySelector
    public var isolatesIngress: Bool
    public var isolatesEgress: Bool
    public var ingress: [PolicyRule]
    public var egress: [PolicyRule]

    public init(_ policy: NetworkPolicy) {
        ref = ObjectRef(policy.namespace.isEmpty ? "default" : policy.namespace, policy.name)
        podSelector = PolicySelector(policy.spec.podSelector)
        let types = policy.effectivePolicyTypes
        isolatesIngress = types.contains("Ingress")
        isolatesEgress = types.contains("Egress")
        func rule(_ i: Int, _ peers: [NetworkPolicy.Peer]?, _ ports: [NetworkPolicy.Port]?) -> PolicyRule {
            PolicyRule(index: i, peers: (peers ?? []).isEmpty ? nil : peers!.map(PolicyPeer.init),
                       ports: (ports ?? []).isEmpty ? nil : ports!.map(PolicyPort.init))
        }
        ingress = (policy.spec.ingress ?? []).enumerated().map { rule($0.offset, $0.element.from, $0.element.ports) }
        egress = (policy.spec.egress ?? []).enumerated().map { rule($0.offset, $0.element.to, $0.element.ports) }
    }

    public func selects(_ pod: PolicyPod) -> Bool {
        pod.ref.namespace == ref.namespace && !pod.hostNetwork && podSelector.matches(pod.labels)
    }

    public func rules(_ direction: PolicyDirection) -> [PolicyRule] { direction == .ingress ? ingress : egress }
    public func isolates(_ direction: PolicyDirection) -> Bool { direction == .ingress ? isolatesIngress : isolatesEgress }
}

/// Ingress (to a pod) or egress (from a pod).
public enum PolicyDirection: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case ingress, egress
    public var description: String { rawValue }
}

/// The policy inputs of one moment, indexed: namespaces with their labels, pods, policies.
/// Built from a cache snapshot (the `policy` component) or from manifests (`kplane policy`).
public struct PolicyModel: Sendable {
    /// Namespace labels (each carries `kubernetes.io/metadata.name`).
    public let namespaceLabels: [String: [String: String]]
    public let pods: [ObjectRef: PolicyPod]
    /// Pods sorted by namespace/name.
    public let podRefs: [ObjectRef]
    public let podsByNamespace: [String: [ObjectRef]]
    /// Policies sorted by namespace/name.
    public let policies: [CompiledPolicy]
    let policiesByNamespace: [String: [Int]]
    let podByAddress: [IPAddress: ObjectRef]

    public init(namespaces: [Namespace], pods: [Pod], policies: [NetworkPolicy]) {
        self.init(namespaces: namespaces.map { ($0.name, $0.labels) }, pods: pods.map(PolicyPod.init), policies: policies.map(CompiledPolicy.init))
    }

    public init(snapshot: CacheSnapshot) {
        let pods = snapshot.list(Pod.self).filter { pod in
            // Finished pods hold no address any more.
            pod.status.phase != "Succeeded" && pod.status.phase != "Failed"
        }
        self.init(namespaces: snapshot.list(Namespace.self), pods: pods, policies: snapshot.list(NetworkPolicy.self))
    }

    public init(namespaces: [(String, [String: String])], pods: [PolicyPod], policies: [CompiledPolicy]) {
        var labels: [String: [String: String]] = [:]
        for (name, l) in namespaces {
            var l = l
            l[Namespace.nameLabel] = name
            labels[name] = l
        }
        // A pod or policy in a namespace nobody declared still has the name label.
        for ns in pods.map(\.ref.namespace) + policies.map(\.ref.namespace) where labels[ns] == nil {
            labels[ns] = [Namespace.nameLabel: ns]
        }
        namespaceLabels = labels
        var byRef: [ObjectRef: PolicyPod] = [:]
        var byAddress: [IPAddress: ObjectRef] = [:]
        for p in pods {
            byRef[p.ref] = p
            if !p.hostNetwork { for ip in p.ips { byAddress[ip] = p.ref } }
        }
        self.pods = byRef
        podRefs = byRef.keys.sorted()
        podsByNamespace = Dictionary(grouping: podRefs, by: \.namespace)
        podByAddress = byAddress
        self.policies = policies.sorted { $0.ref < $1.ref }
        var byNamespace: [String: [Int]] = [:]
        for (i, p) in self.policies.enumerated() { byNamespace[p.ref.namespace, default: []].append(i) }
        policiesByNamespace = byNamespace
    }

    /// The pod that owns an address, if any.
    public func pod(at address: IPAddress) -> PolicyPod? { podByAddress[address].flatMap { pods[$0] } }

    /// Policies selecting a pod that isolate it in a direction, in namespace/name order.
    public func isolating(_ pod: PolicyPod, _ direction: PolicyDirection) -> [CompiledPolicy] {
        guard !pod.hostNetwork else { return [] }
        return (policiesByNamespace[pod.ref.namespace] ?? []).map { policies[$0] }.filter { $0.isolates(direction) && $0.selects(pod) }
    }

    /// Whether a peer entry of a policy in `namespace` matches a pod (by selectors, or by
    /// its address for ipBlocks, as the upstream e2e suite requires).
    public func peer(_ peer: PolicyPeer, in namespace: String, matches pod: PolicyPod, address: IPAddress?) -> Bool {
        switch peer {
        case .pods(let nsSelector, let podSelector):
            guard !pod.hostNetwork else { return false }
            if let nsSelector {
                guard nsSelector.matches(namespaceLabels[pod.ref.namespace]) else { return false }
            } else if pod.ref.namespace != namespace {
                return false
            }
            return podSelector?.matches(pod.labels) ?? true
        case .ipBlock(_, _, let ranges):
            guard let address else { return false }
            return ranges.contains { $0.contains(address) }
        case .invalid:
            return false
        }
    }

    /// Pods a selector peer chooses (for rendering).
    func pods(matching peer: PolicyPeer, in namespace: String) -> [PolicyPod] {
        guard case .pods(let nsSelector, let podSelector) = peer else { return [] }
        let namespaces: [String]
        if let nsSelector {
            namespaces = podsByNamespace.keys.filter { nsSelector.matches(namespaceLabels[$0]) }.sorted()
        } else {
            namespaces = [namespace]
        }
        return namespaces.flatMap { ns in
            (podsByNamespace[ns] ?? []).compactMap { pods[$0] }.filter { !$0.hostNetwork && (podSelector?.matches($0.labels) ?? true) }
        }
    }
}
