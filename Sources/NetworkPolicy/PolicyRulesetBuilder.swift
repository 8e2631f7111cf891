import KubeModel

/// Renders a `PolicyModel` into a `PolicyRuleset`, using the evaluator's own pieces (who
/// isolates a pod, which pods a peer selects, how a port entry resolves), so that the kernel
/// and `kplane policy check` agree by construction; tests check them against each other.
public enum PolicyRulesetBuilder {
    /// Class numbers handed out so far, kept across syncs so that a change renumbers nothing
    /// and costs only the elements it touches.
    public struct ClassNumbers: Sendable {
        var numbers: [PolicyDirection: [ClassKey: UInt32]] = [.ingress: [:], .egress: [:]]
        /// The last elements of each class and the entries they came from: most classes are
        /// unchanged by a sync, and this skips their interval arithmetic.
        var rendered: [PolicyDirection: [ClassKey: ([Entry], [PolicyRuleset.Allow])]] = [.ingress: [:], .egress: [:]]
        public init() {}

        mutating func number(_ key: ClassKey, _ d: PolicyDirection, keeping used: inout Set<UInt32>) -> UInt32 {
            if let n = numbers[d]![key] { used.insert(n); return n }
            let taken = Set(numbers[d]!.values)
            var n: UInt32 = 1
            while taken.contains(n) { n += 1 }
            numbers[d]![key] = n
            used.insert(n)
            return n
        }

        /// Forgets classes no pod has any more.
        mutating func retain(_ d: PolicyDirection, _ used: Set<UInt32>) {
            numbers[d] = numbers[d]!.filter { used.contains($0.value) }
            rendered[d] = rendered[d]!.filter { numbers[d]![$0.key] != nil }
        }
    }

    /// What makes two pods share a class in one direction: the same isolating policies and
    /// the same rules (for ingress, with named ports resolved the same way).
    struct ClassKey: Hashable, Sendable {
        var isolating: [ObjectRef]
        var rules: [RuleKey]
    }

    /// Peer addresses and the ports a rule opens to them.
    struct Entry: Hashable, Sendable {
        var range: AddressRange
        var ports: PortSet
    }

    struct RuleKey: Hashable, Sendable {
        var policy: ObjectRef
        var rule: Int
        /// Ingress: the ports the rule opens on the pods of this class.
        var ports: PortSet?
    }

    public static func build(_ model: PolicyModel, table: String = PolicyRuleset.defaultTable, numbers: inout ClassNumbers) -> PolicyRuleset {
        var rs = PolicyRuleset(table: table)
        let policyIndex = Dictionary(uniqueKeysWithValues: model.policies.enumerated().map { ($0.element.ref, $0.offset) })
        for p in model.policies {
            if p.isolatesIngress { rs.counters.insert(counterName(.ingress, p.ref)) }
            if p.isolatesEgress { rs.counters.insert(counterName(.egress, p.ref)) }
        }
        var peerCache: [PeerKey: [AddressRange]] = [:]
        for d in PolicyDirection.allCases {
            var classOfKey: [ClassKey: UInt32] = [:]
            var used = Set<UInt32>()
            for ref in model.podRefs {
                let pod = model.pods[ref]!
                guard !pod.hostNetwork, !pod.ips.isEmpty else { continue }
                let isolating = model.isolating(pod, d)
                guard !isolating.isEmpty else { continue }
                var rules: [RuleKey] = []
                for p in isolating {
                    for r in p.rules(d) {
                        let ports: PortSet? = d == .ingress ? r.ports.map { $0.reduce(PortSet.none) { $0.union($1.ports(on: pod)) } } ?? .all : nil
                        // An ingress rule that opens no port on this pod cannot admit anything.
                        if let ports, ports.isEmpty { continue }
                        rules.append(RuleKey(policy: p.ref, rule: r.index, ports: ports))
                    }
                }
                let key = ClassKey(isolating: isolating.map(\.ref), rules: rules)
                let mark: UInt32
                if let m = classOfKey[key] {
                    mark = m
                } else {
                    mark = numbers.number(key, d, keeping: &used)
                    classOfKey[key] = mark
                    rs.counterOf[d]![mark] = counterName(d, isolating[0].ref)
                    let entries = key.rules.flatMap { entriesOf($0, policyIndex[$0.policy]!, d, model, &peerCache) }.map { Entry(range: $0.0, ports: $0.1) }
                    let allows: [PolicyRuleset.Allow]
                    if let (previous, done) = numbers.rendered[d]![key], previous == entries {
                        allows = done
                    } else {
                        allows = disjoint(entries.map { ($0.range, $0.ports) }).flatMap { elements(mark, $0.0, $0.1) }
                        numbers.rendered[d]![key] = (entries, allows)
                    }
                    rs.allow[d]!.formUnion(allows)
                }
                for ip in pod.ips { rs.classes[d]![ip] = mark }
            }
            numbers.retain(d, used)
        }
        for pod in model.pods.values where !pod.hostNetwork { rs.pods.formUnion(pod.ips) }
        return rs
    }

    /// `in/<ns>/<name>` or `eg/<ns>/<name>` (nft identifiers; long names are shortened).
    static func counterName(_ d: PolicyDirection, _ ref: ObjectRef) -> String {
        let name = "\(d == .ingress ? "in" : "eg")/\(ref.namespace)/\(ref.name)"
        guard name.utf8.count > 200 else { return name }
        var hash: UInt64 = 14_695_981_039_346_656_037
        for b in name.utf8 { hash = (hash ^ UInt64(b)) &* 1_099_511_628_211 }
        return String(name.prefix(180)) + "-" + String(hash, radix: 16)
    }

    private struct PeerKey: Hashable {
        var policy: Int
        var direction: PolicyDirection
        var rule: Int
        var peer: Int
    }

    /// The (peer addresses, ports) pairs one rule admits for a class.
    private static func entriesOf(_ key: RuleKey, _ pi: Int, _ d: PolicyDirection, _ model: PolicyModel, _ cache: inout [PeerKey: [AddressRange]]) -> [(AddressRange, PortSet)] {
        let policy = model.policies[pi]
        let rule = policy.rules(d)[key.rule]
        let everyone = [AddressRange.all(v4: true), AddressRange.all(v4: false)]
        if d == .ingress {
            let ports = key.ports ?? .all
            guard let peers = rule.peers else { return everyone.map { ($0, ports) } }
            var out: [(AddressRange, PortSet)] = []
            for (i, peer) in peers.enumerated() {
                let pk = PeerKey(policy: pi, direction: d, rule: key.rule, peer: i)
                let ranges = cache[pk] ?? peerRanges(peer, policy.ref.namespace, model)
                cache[pk] = ranges
                out += ranges.map { ($0, ports) }
            }
            return out
        }
        // Egress: numbered ports hold for every destination; named ones only for pods, resolved on each.
        guard let ports = rule.ports else {
            guard let peers = rule.peers else { return everyone.map { ($0, .all) } }
            return peers.enumerated().flatMap { i, peer in
                let pk = PeerKey(policy: pi, direction: d, rule: key.rule, peer: i)
                let ranges = cache[pk] ?? peerRanges(peer, policy.ref.namespace, model)
                cache[pk] = ranges
                return ranges.map { ($0, PortSet.all) }
            }
        }
        let numbered = ports.filter { if case .named = $0 { return false } else { return true } }.reduce(PortSet.none) { $0.union($1.ports(on: nil)) }
        let named = ports.filter { if case .named = $0 { return true } else { return false } }
        var out: [(AddressRange, PortSet)] = []
        func namedEntries(_ pods: [PolicyPod]) {
            guard !named.isEmpty else { return }
            for pod in pods {
                let set = named.reduce(PortSet.none) { $0.union($1.ports(on: pod)) }
                if !set.isEmpty { out += pod.ips.map { (AddressRange($0), set) } }
            }
        }
        guard let peers = rule.peers else {
            if !numbered.isEmpty { out += everyone.map { ($0, numbered) } }
            namedEntries(model.podRefs.compactMap { model.pods[$0] }.filter { !$0.hostNetwork })
            return out
        }
        for peer in peers {
            switch peer {
            case .pods:
                let pods = model.pods(matching: peer, in: policy.ref.namespace)
                if !numbered.isEmpty { out += pods.flatMap { $0.ips }.map { (AddressRange($0), numbered) } }
                namedEntries(pods)
            case .ipBlock(_, _, let ranges):
                if !numbered.isEmpty { out += ranges.map { ($0, numbered) } }
                namedEntries(model.podRefs.compactMap { model.pods[$0] }.filter { pod in
                    !pod.hostNetwork && pod.ips.contains { ip in ranges.contains { $0.contains(ip) } }
                }.map { pod in
                    // Only the addresses inside the block are this peer.
                    var p = pod
                    p.ips = pod.ips.filter { ip in ranges.contains { $0.contains(ip) } }
                    return p
                })
            case .invalid:
                break
            }
        }
        return out
    }

    private static func peerRanges(_ peer: PolicyPeer, _ namespace: String, _ model: PolicyModel) -> [AddressRange] {
        switch peer {
        case .pods: return model.pods(matching: peer, in: namespace).flatMap(\.ips).map(AddressRange.init)
        case .ipBlock(_, _, let ranges): return ranges
        case .invalid: return []
        }
    }

    /// Turns overlapping (addresses, ports) pairs into disjoint address ranges, each with the
    /// union of the ports of the pairs covering it; adjacent ranges with equal ports merge.
    /// (The kernel refuses overlapping elements in an interval set.)
    static func disjoint(_ entries: [(AddressRange, PortSet)]) -> [(AddressRange, PortSet)] {
        var out: [(AddressRange, PortSet)] = []
        for v4 in [true, false] {
            let list = entries.filter { $0.0.v4 == v4 && !$0.1.isEmpty }
            guard !list.isEmpty else { continue }
            let familyMax = AddressRange.all(v4: v4).upper
            var portSets: [PortSet] = []
            var ids: [PortSet: Int] = [:]
            var starts: [UInt128: [Int]] = [:], ends: [UInt128: [Int]] = [:]
            for (range, ports) in list {
                let id = ids[ports] ?? portSets.count
                if id == portSets.count { portSets.append(ports); ids[ports] = id }
                starts[range.lower, default: []].append(id)
                if range.upper < familyMax { ends[range.upper + 1, default: []].append(id) }
            }
            let points = Set(starts.keys).union(ends.keys).sorted()
            var active: [Int: Int] = [:]
            var unions: [[Int]: PortSet] = [:]
            for (i, point) in points.enumerated() {
                for id in ends[point] ?? [] {
                    active[id]! -= 1
                    if active[id] == 0 { active[id] = nil }
                }
                for id in starts[point] ?? [] { active[id, default: 0] += 1 }
                guard !active.isEmpty else { continue }
                let upper = i + 1 < points.count ? points[i + 1] - 1 : familyMax
                let key = active.keys.sorted()
                let ports = unions[key] ?? key.reduce(PortSet.none) { $0.union(portSets[$1]) }
                unions[key] = ports
                if let last = out.last, last.0.v4 == v4, last.0.upper &+ 1 == point, last.1 == ports {
                    out[out.count - 1].0.upper = upper
                } else {
                    out.append((AddressRange(v4: v4, lower: point, upper: upper), ports))
                }
            }
        }
        return out
    }

    static func elements(_ mark: UInt32, _ range: AddressRange, _ ports: PortSet) -> [PolicyRuleset.Allow] {
        if ports.anyProtocol { return [.init(mark: mark, addresses: range, protocols: 0...255, ports: 0...65535)] }
        return ports.ranges.flatMap { proto, list in
            list.map { PolicyRuleset.Allow(mark: mark, addresses: range, protocols: proto.number...proto.number, ports: $0) }
        }
    }
}
