import KubeModel

/// Writes a `ProxyModel` down as one nftables table in a flat layout: every Service,
/// frontend and endpoint is a set or map element, and the rules are a fixed skeleton plus a
/// few per distinct endpoint count and affinity timeout. So a change to a Service touches
/// elements, never chains, and the kernel never revalidates thousands of jump targets
/// (kube-proxy's per-service chains cost minutes at 10,000 Services; see PEERS.md).
///
/// A new connection to a frontend (nat prerouting/output):
/// 1. masquerade decisions go to the connection's mark (`ct mark | 0x4000`), read back in
///    postrouting together with the hairpin set;
/// 2. the packet mark becomes an endpoint slot: from the affinity map if the client has one,
///    else `numgen random mod N` for the frontend's endpoint count N (slots `0x8000+i` index
///    the pod-and-node endpoints of `externalTrafficPolicy: Local` frontends);
/// 3. affinity frontends remember the slot per client (dynamic map with a timeout);
/// 4. `dnat to daddr . proto . dport . mark map @backends`.
/// Frontends without endpoints are rejected (or dropped for Local policies) in the filter
/// hooks, as are unknown ports of ClusterIPs; `loadBalancerSourceRanges` are enforced before
/// DNAT.
public enum RulesetBuilder {
    public static let defaultTable = "kplane"
    /// Connection-mark bit: masquerade this connection.
    public static let masqueradeBit: UInt32 = 0x4000
    /// Slot value meaning "no slot chosen yet" (also the largest endpoint count per frontend).
    public static let noSlot: UInt32 = 0x7fff
    /// First slot of the pod-and-node endpoint list.
    public static let alternateBase: UInt32 = 0x8000
    /// Affinity entries kept per family at most.
    public static let affinitySize = 262_144

    static func suffix(_ v4: Bool) -> String { v4 ? "4" : "6" }
    static func frontendKey(_ v4: Bool) -> [Ruleset.Field] { [.daddr(v4: v4), .l4proto, .dport] }

    public static func build(_ model: ProxyModel, table: String = defaultTable) -> Ruleset {
        var rules = IncrementalRuleset(node: model.node, table: table)
        rules.load(model)
        return rules.ruleset
    }

    /// How many frontends use each optional set: the rules depend only on which are in use.
    struct Usage: Sendable, Hashable {
        var slots: [Int: Int] = [:]
        var alternates: [Int: Int] = [:]
        var timeouts: [Int: Int] = [:]
    }

    /// What one frontend adds to the table.
    struct Contribution: Sendable {
        var elements: [(set: String, key: [Ruleset.Atom], value: [Ruleset.Atom])] = []
        var slots: Int?
        var alternates: Int?
        var timeout: Int?
        /// Endpoint addresses (for the shared hairpin set).
        var endpointIPs: Set<IPAddress> = []
    }

    static func slotSet(_ v4: Bool, _ n: Int) -> String { "slots\(suffix(v4))-\(n)" }
    static func alternateSet(_ v4: Bool, _ n: Int) -> String { "pod-node-slots\(suffix(v4))-\(n)" }
    static func timeoutSet(_ v4: Bool, _ t: Int) -> String { "affinity-\(t)s\(suffix(v4))" }

    static func contribution(_ fe: Frontend, _ entry: FrontendEntry) -> Contribution {
        var c = Contribution()
        let f = suffix(fe.ip.isV4)
        let k: [Ruleset.Atom] = [.ip(fe.ip), .proto(fe.proto), .port(fe.port)]
        func put(_ set: String, _ key: [Ruleset.Atom], _ value: [Ruleset.Atom] = []) { c.elements.append((set, key, value)) }
        let primary = entry.backends.prefix(Int(noSlot))
        let alternate = (entry.podAndNodeBackends ?? []).prefix(Int(noSlot))
        if !entry.hasAnyBackend {
            put((entry.rejectWhenEmpty ? "no-endpoints-reject" : "no-endpoints-drop") + f, k)
            return c
        }
        put("frontends\(f)", k)
        if primary.isEmpty { put("no-endpoints-drop\(f)", k) }   // external clients of a Local policy without local endpoints
        for (i, b) in primary.enumerated() { put("backends\(f)", k + [.mark(UInt32(i))], [.ip(b.ip), .port(b.port)]) }
        for (i, b) in alternate.enumerated() { put("backends\(f)", k + [.mark(alternateBase + UInt32(i))], [.ip(b.ip), .port(b.port)]) }
        c.endpointIPs.formUnion(primary.map(\.ip))
        c.endpointIPs.formUnion(alternate.map(\.ip))
        if !primary.isEmpty {
            c.slots = primary.count
            put(slotSet(fe.ip.isV4, primary.count), k)
        }
        if !alternate.isEmpty {
            c.alternates = alternate.count
            put(alternateSet(fe.ip.isV4, alternate.count), k)
        }
        if let timeout = entry.affinityTimeout {
            c.timeout = timeout
            put("affinity-frontends\(f)", k)
            put(timeoutSet(fe.ip.isV4, timeout), k)
        }
        switch entry.masquerade {
        case .always: put("masquerade-always\(f)", k)
        case .onlyFromNode: put("masquerade-from-node\(f)", k)
        case .unlessFromPod: break   // the cluster-ips rule covers it
        }
        for range in entry.sourceRanges {
            put("firewall\(f)", k)
            put("firewall-allow\(f)", k + [.cidr(range)])
        }
        return c
    }

    /// Sets (with the node's pod and service ranges as their only elements) and chains for
    /// the optional sets in use.
    static func skeleton(node: NodeConfig, table: String, usage: [Bool: Usage]) -> Ruleset {
        var rs = Ruleset(table: table)
        let hasPods = { (v4: Bool) in node.podCIDRs.contains { $0.isV4 == v4 } }
        var services: [Ruleset.Rule] = []
        var endpointsCheck: [Ruleset.Rule] = []
        var firewall: [Ruleset.Rule] = []
        var postrouting: [Ruleset.Rule] = [Ruleset.Rule([.ctMarkBit(masqueradeBit)], .masquerade)]

        for v4 in [true, false] {
            let f = suffix(v4)
            let use = usage[v4] ?? Usage()
            let addr: Ruleset.FieldType = v4 ? .ipv4 : .ipv6
            let feType: [Ruleset.FieldType] = [addr, .proto, .port]
            let key = frontendKey(v4)
            func set(_ name: String, _ def: Ruleset.NamedSet) -> String {
                rs.sets[name] = def
                return name
            }
            let frontends = set("frontends\(f)", .init(key: feType, comment: "frontends with endpoints"))
            let backends = set("backends\(f)", .init(key: feType + [.mark], value: [addr, .port], comment: "frontend . slot : endpoint"))
            let affinity = set("affinity\(f)", .init(key: [addr] + feType, value: [.mark], dynamic: true, timeout: Service.defaultAffinityTimeout, size: affinitySize, comment: "client . frontend : slot"))
            let affinityFrontends = set("affinity-frontends\(f)", .init(key: feType))
            let clusterIPs = set("cluster-ips\(f)", .init(key: [addr], comment: "ClusterIPs"))
            let masqAlways = set("masquerade-always\(f)", .init(key: feType))
            let masqFromNode = set("masquerade-from-node\(f)", .init(key: feType))
            let rejectSet = set("no-endpoints-reject\(f)", .init(key: feType))
            let dropSet = set("no-endpoints-drop\(f)", .init(key: feType))
            let fw = set("firewall\(f)", .init(key: feType, comment: "frontends with loadBalancerSourceRanges"))
            let fwAllow = set("firewall-allow\(f)", .init(key: feType + [addr], interval: true))
            let hairpin = set("hairpin\(f)", .init(key: [addr, addr], comment: "endpoint . endpoint"))
            let podCIDRs = set("pod-cidrs\(f)", .init(key: [addr], interval: true))
            let serviceCIDRs = set("service-cidrs\(f)", .init(key: [addr], interval: true))
            for c in node.podCIDRs where c.isV4 == v4 { rs.sets[podCIDRs]!.elements[[.cidr(c)]] = [] }
            for c in node.serviceCIDRs where c.isV4 == v4 { rs.sets[serviceCIDRs]!.elements[[.cidr(c)]] = [] }
            let slotNs = use.slots.keys.sorted(), altNs = use.alternates.keys.sorted(), timeouts = use.timeouts.keys.sorted()
            for n in slotNs { _ = set(slotSet(v4, n), .init(key: feType)) }
            for n in altNs { _ = set(alternateSet(v4, n), .init(key: feType)) }
            for t in timeouts { _ = set(timeoutSet(v4, t), .init(key: feType)) }

            // nat: services<f>
            var chain: [Ruleset.Rule] = [
                .init([.lookup(key, set: masqAlways, negated: false)], .ctMarkOr(masqueradeBit)),
                .init([.lookup(key, set: masqFromNode, negated: false), .fromNode], .ctMarkOr(masqueradeBit)),
            ]
            if hasPods(v4) {
                chain.append(.init([.lookup([.daddr(v4: v4)], set: clusterIPs, negated: false), .lookup([.saddr(v4: v4)], set: podCIDRs, negated: true)], .ctMarkOr(masqueradeBit)))
            } else {
                // No pod range known: every client is treated as external, as kube-proxy's masqueradeAll.
                chain.append(.init([.lookup([.daddr(v4: v4)], set: clusterIPs, negated: false)], .ctMarkOr(masqueradeBit)))
            }
            chain.append(.init([], .setMark(noSlot)))
            chain.append(.init([.lookup(key, set: affinityFrontends, negated: false)], .setMarkFromMap([.saddr(v4: v4)] + key, map: affinity)))
            for n in slotNs {
                chain.append(.init([.lookup(key, set: slotSet(v4, n), negated: false), .markRange(UInt32(n), noSlot, negated: false)], .setMarkRandom(modulus: n, offset: 0)))
            }
            for n in altNs {
                let range = Ruleset.Match.markRange(alternateBase, alternateBase + UInt32(n) - 1, negated: true)
                chain.append(.init([.lookup([.saddr(v4: v4)], set: podCIDRs, negated: false), .lookup(key, set: alternateSet(v4, n), negated: false), range], .setMarkRandom(modulus: n, offset: alternateBase)))
                chain.append(.init([.fromNode, .lookup(key, set: alternateSet(v4, n), negated: false), range], .setMarkRandom(modulus: n, offset: alternateBase)))
            }
            for t in timeouts {
                chain.append(.init([.lookup(key, set: timeoutSet(v4, t), negated: false)], .rememberMark(map: affinity, key: [.saddr(v4: v4)] + key, timeout: t)))
            }
            for p in L4Proto.allCases {
                chain.append(.init([.l4proto(p)], .dnat(v4: v4, key: key + [.mark], map: backends)))
            }
            rs.chains["services\(f)"] = Ruleset.Chain(rules: chain)
            services.append(.init([.lookup(key, set: frontends, negated: false)], .jump("services\(f)")))

            endpointsCheck += [
                .init([.lookup(key, set: rejectSet, negated: false)], .reject),
                .init([.lookup(key, set: dropSet, negated: false)], .drop),
                .init([.lookup([.daddr(v4: v4)], set: clusterIPs, negated: false)], .reject),
                .init([.lookup([.daddr(v4: v4)], set: serviceCIDRs, negated: false)], .drop),
            ]
            firewall.append(.init([.lookup(key, set: fw, negated: false), .lookup(key + [.saddr(v4: v4)], set: fwAllow, negated: true)], .drop))
            postrouting.append(.init([.ctStatusDnat, .lookup([.saddr(v4: v4), .daddr(v4: v4)], set: hairpin, negated: false)], .masquerade))
        }

        func base(_ kind: Ruleset.Hook.Kind, _ point: Ruleset.Hook.Point, _ priority: Int, _ rules: [Ruleset.Rule]) -> Ruleset.Chain {
            Ruleset.Chain(hook: .init(kind: kind, point: point, priority: priority), rules: rules)
        }
        rs.chains["services"] = Ruleset.Chain(rules: services)
        rs.chains["endpoints-check"] = Ruleset.Chain(rules: endpointsCheck)
        rs.chains["firewall-check"] = Ruleset.Chain(rules: firewall)
        rs.chains["nat-prerouting"] = base(.nat, .prerouting, -100, [.init([], .jump("services"))])
        rs.chains["nat-output"] = base(.nat, .output, -100, [.init([], .jump("services"))])
        rs.chains["nat-postrouting"] = base(.nat, .postrouting, 100, postrouting)
        rs.chains["filter-prerouting"] = base(.filter, .prerouting, -110, [.init([.ctStateNew], .jump("firewall-check"))])
        rs.chains["filter-output-pre-dnat"] = base(.filter, .output, -110, [.init([.ctStateNew], .jump("firewall-check"))])
        rs.chains["filter-input"] = base(.filter, .input, 0, [.init([.ctStateNew], .jump("endpoints-check"))])
        rs.chains["filter-forward"] = base(.filter, .forward, 0, [.init([.ctStateNew], .jump("endpoints-check"))])
        rs.chains["filter-output"] = base(.filter, .output, 0, [.init([.ctStateNew], .jump("endpoints-check"))])
        return rs
    }
}
