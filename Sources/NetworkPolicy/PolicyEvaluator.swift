import KubeModel

/// One end of a connection.
public enum FlowEndpoint: Sendable, Hashable, CustomStringConvertible {
    case pod(ObjectRef)
    /// An address: outside the cluster, or a pod found by its address.
    case address(IPAddress)
    /// The node itself (kubelet probes, host processes).
    case node

    public var description: String {
        switch self {
        case .pod(let ref): return ref.description
        case .address(let ip): return ip.description
        case .node: return "the node"
        }
    }
}

/// A new connection (or the first packet of a UDP flow) as it reaches the pod bridge,
/// after service DNAT.
public struct Flow: Sendable, Hashable, CustomStringConvertible {
    public var source: FlowEndpoint
    public var destination: FlowEndpoint
    public var port: PortProtocol

    public init(from source: FlowEndpoint, to destination: FlowEndpoint, port: PortProtocol) {
        self.source = source
        self.destination = destination
        self.port = port
    }

    public var description: String { "\(source) -> \(destination) \(port)" }
}

/// The rule (and the peer and port entries in it) that admits a flow in one direction.
public struct RuleMatch: Sendable, Hashable, CustomStringConvertible {
    public var policy: ObjectRef
    public var direction: PolicyDirection
    public var rule: Int
    /// The matching `from`/`to` entry; nil when the rule has none (every peer).
    public var peer: PolicyPeer?
    public var peerIndex: Int?
    /// The matching `ports` entry; nil when the rule has none (every port).
    public var port: PolicyPort?
    public var portIndex: Int?

    public var description: String {
        let side = direction == .ingress ? "from" : "to"
        let peerText = peer.map { "\(side)[\(peerIndex!)] \($0)" } ?? "every \(direction == .ingress ? "source" : "destination") (no \(side))"
        let portText = port.map { "ports[\(portIndex!)] \($0)" } ?? "every port (no ports)"
        return "\(policy) \(direction)[\(rule)]: \(peerText), \(portText)"
    }
}

/// The decision of one direction: who isolates the pod, and which rules admit the flow.
public struct DirectionDecision: Sendable, Hashable {
    public var direction: PolicyDirection
    /// The pod this direction is about (the source for egress, the destination for ingress).
    public var pod: ObjectRef
    /// Policies that select the pod with this direction in their policyTypes.
    public var isolatedBy: [ObjectRef]
    /// Every rule that admits the flow (empty when denied or not isolated).
    public var admittedBy: [RuleMatch]

    public var isolated: Bool { !isolatedBy.isEmpty }
    public var allowed: Bool { !isolated || !admittedBy.isEmpty }
}

/// The verdict on a flow, with its reasons.
public struct Verdict: Sendable, Hashable {
    public var flow: Flow
    public var allowed: Bool
    /// Why neither direction was consulted (same pod, from the node), if so.
    public var exemption: String?
    public var egress: DirectionDecision?
    public var ingress: DirectionDecision?
    /// Facts worth knowing (a pod without an address, a hostNetwork pod, …).
    public var notes: [String] = []

    /// The explanation `kplane policy check` prints.
    public var explanation: String {
        var lines = ["\(allowed ? "allowed" : "denied"): \(flow)"]
        if let exemption { lines.append("  \(exemption)") }
        for d in [egress, ingress].compactMap({ $0 }) {
            let name = d.direction == .egress ? "egress of \(d.pod)" : "ingress to \(d.pod)"
            if !d.isolated {
                lines.append("  \(name): not isolated (no policy selects it for \(d.direction.rawValue.capitalized)): allowed")
            } else {
                lines.append("  \(name): isolated by \(d.isolatedBy.map(\.description).joined(separator: ", "))")
                if d.admittedBy.isEmpty {
                    lines.append("    no rule admits it: denied")
                } else {
                    for m in d.admittedBy { lines.append("    admitted by \(m)") }
                }
            }
        }
        for n in notes { lines.append("  note: \(n)") }
        return lines.joined(separator: "\n")
    }
}

/// The semantics of networking.k8s.io/v1 NetworkPolicy: the single source of truth that
/// `kplane policy` explains and the nftables rendering must agree with.
extension PolicyModel {
    public func evaluate(_ flow: Flow) -> Verdict {
        var verdict = Verdict(flow: flow, allowed: true)
        let src = resolve(flow.source), dst = resolve(flow.destination)
        if case .pod(let ref) = flow.source, pods[ref] == nil { verdict.notes.append("no pod \(ref) in the inputs") }
        if case .pod(let ref) = flow.destination, pods[ref] == nil { verdict.notes.append("no pod \(ref) in the inputs") }
        if let s = src.pod, let d = dst.pod, s.ref == d.ref {
            verdict.exemption = "a pod's traffic to itself never crosses the bridge: always allowed"
            return verdict
        }
        if src.isNode {
            verdict.exemption = "traffic from the node to its pods is always allowed (probes)"
            return verdict
        }
        // Both ends use addresses of one family; pick the family both can speak.
        let v4 = family(src, dst)
        let srcAddress = src.address ?? src.pod?.address(v4: v4)
        let dstAddress = dst.address ?? dst.pod?.address(v4: v4)
        for end in [src, dst] {
            if let pod = end.pod, pod.hostNetwork { verdict.notes.append("\(pod.ref) uses the host network: policies do not apply to it") }
        }
        if let s = src.pod, !s.hostNetwork {
            let d = decide(.egress, subject: s, peer: dst.pod.flatMap { $0.hostNetwork ? nil : $0 }, peerAddress: dstAddress, destination: dst.pod, port: flow.port)
            verdict.egress = d
            if !d.allowed { verdict.allowed = false }
        }
        if let d = dst.pod, !d.hostNetwork {
            let dec = decide(.ingress, subject: d, peer: src.pod.flatMap { $0.hostNetwork ? nil : $0 }, peerAddress: srcAddress, destination: d, port: flow.port)
            verdict.ingress = dec
            if !dec.allowed { verdict.allowed = false }
        }
        // An address-less pod cannot match an ipBlock: worth saying when one is in play.
        let blocks = [verdict.egress, verdict.ingress].compactMap { $0 }.flatMap(\.isolatedBy).contains { ref in
            policies.first { $0.ref == ref }.map { p in (p.ingress + p.egress).contains { ($0.peers ?? []).contains { if case .ipBlock = $0 { return true } else { return false } } } } ?? false
        }
        for (end, addr) in [(src, srcAddress), (dst, dstAddress)] where blocks {
            if let pod = end.pod, addr == nil, !pod.hostNetwork { verdict.notes.append("\(pod.ref) has no \(v4 ? "IPv4" : "IPv6") address yet: ipBlocks cannot match it") }
        }
        return verdict
    }

    /// Allowed or not, without the reasons (what the matrix needs).
    public func allows(_ flow: Flow) -> Bool { evaluate(flow).allowed }

    private struct Resolved {
        var pod: PolicyPod?
        var address: IPAddress?
        var isNode = false
    }

    private func resolve(_ e: FlowEndpoint) -> Resolved {
        switch e {
        case .pod(let ref): return Resolved(pod: pods[ref])
        case .address(let ip): return Resolved(pod: pod(at: ip), address: ip)
        case .node: return Resolved(isNode: true)
        }
    }

    private func family(_ a: Resolved, _ b: Resolved) -> Bool {
        if let ip = a.address ?? b.address { return ip.isV4 }
        let pa = a.pod?.ips ?? [], pb = b.pod?.ips ?? []
        if pa.isEmpty || pb.isEmpty { return (pa + pb).first?.isV4 ?? true }
        if pa.contains(where: \.isV4) && pb.contains(where: \.isV4) { return true }
        return false
    }

    private func decide(_ direction: PolicyDirection, subject: PolicyPod, peer: PolicyPod?, peerAddress: IPAddress?, destination: PolicyPod?, port: PortProtocol) -> DirectionDecision {
        let isolating = isolating(subject, direction)
        var decision = DirectionDecision(direction: direction, pod: subject.ref, isolatedBy: isolating.map(\.ref), admittedBy: [])
        for policy in isolating {
            for rule in policy.rules(direction) {
                // Peers: none listed = everyone, inside the cluster or not.
                var peerMatch: (PolicyPeer, Int)?
                if let peers = rule.peers {
                    guard let i = peers.indices.first(where: { i in
                        switch peers[i] {
                        case .ipBlock: return self.peer(peers[i], in: policy.ref.namespace, matches: peer ?? PolicyPod(ref: ObjectRef("", ""), labels: [:], ips: []), address: peerAddress)
                        default: return peer.map { self.peer(peers[i], in: policy.ref.namespace, matches: $0, address: peerAddress) } ?? false
                        }
                    }) else { continue }
                    peerMatch = (peers[i], i)
                }
                var portMatch: (PolicyPort, Int)?
                if let ports = rule.ports {
                    guard let i = ports.indices.first(where: { ports[$0].ports(on: destination).contains(port) }) else { continue }
                    portMatch = (ports[i], i)
                }
                decision.admittedBy.append(RuleMatch(policy: policy.ref, direction: direction, rule: rule.index,
                                                     peer: peerMatch?.0, peerIndex: peerMatch?.1, port: portMatch?.0, portIndex: portMatch?.1))
            }
        }
        return decision
    }
}

/// A reachability matrix over pods for one port, as the upstream e2e suite prints it.
public struct ReachabilityMatrix: Sendable, Hashable {
    public var pods: [ObjectRef]
    public var port: PortProtocol
    /// `allowed[from][to]`
    public var allowed: [ObjectRef: [ObjectRef: Bool]]

    public init(pods: [ObjectRef], port: PortProtocol, allowed: [ObjectRef: [ObjectRef: Bool]]) {
        self.pods = pods
        self.port = port
        self.allowed = allowed
    }

    public subscript(from: ObjectRef, to: ObjectRef) -> Bool { allowed[from]?[to] ?? false }

    /// The table: sources down, destinations across, `.` allowed and `X` denied.
    public var table: String {
        var lines = ["\(port)\t" + pods.map(\.description).joined(separator: "\t")]
        for from in pods {
            lines.append(from.description + "\t" + pods.map { self[from, $0] ? "." : "X" }.joined(separator: "\t"))
        }
        return lines.joined(separator: "\n")
    }

    /// Cells where two matrices differ, as `from -> to: expected X, got Y` lines.
    public func differences(from other: ReachabilityMatrix, ignoringSelf: Bool = false) -> [String] {
        var out: [String] = []
        for from in pods {
            for to in pods where !(ignoringSelf && from == to) && self[from, to] != other[from, to] {
                out.append("\(from) -> \(to) \(port): expected \(self[from, to] ? "allowed" : "denied"), got \(other[from, to] ? "allowed" : "denied")")
            }
        }
        return out
    }
}

extension PolicyModel {
    /// Every pod to every pod (of `namespaces`, if given) on one port.
    public func matrix(port: PortProtocol, namespaces: [String]? = nil) -> ReachabilityMatrix {
        let refs = podRefs.filter { namespaces == nil || namespaces!.contains($0.namespace) }
        var allowed: [ObjectRef: [ObjectRef: Bool]] = [:]
        for from in refs {
            var row: [ObjectRef: Bool] = [:]
            for to in refs { row[to] = allows(Flow(from: .pod(from), to: .pod(to), port: port)) }
            allowed[from] = row
        }
        return ReachabilityMatrix(pods: refs, port: port, allowed: allowed)
    }
}
