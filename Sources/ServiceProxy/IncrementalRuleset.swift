import KubeModel

/// The rendered table kept up to date frontend by frontend, remembering which elements
/// changed since the kernel last took a transaction, so that the next transaction is built
/// from those alone (not by comparing 200,000 elements). `RulesetBuilder.build` is this type
/// loaded from empty, so the full and the incremental render cannot drift apart. Pure.
public struct IncrementalRuleset: Sendable {
    public private(set) var ruleset: Ruleset
    let node: NodeConfig
    private var usage: [Bool: RulesetBuilder.Usage] = [:]
    private var hairpinRefs: [IPAddress: Int] = [:]
    /// Elements changed since `commit`: their value then (nil: absent), per set.
    private var pending: [String: [[Ruleset.Atom]: [Ruleset.Atom]?]] = [:]
    /// Sets (definitions only) and chains the kernel has; nil before the first commit.
    private var committed: Ruleset?

    public init(node: NodeConfig, table: String = RulesetBuilder.defaultTable) {
        self.node = node
        ruleset = RulesetBuilder.skeleton(node: node, table: table, usage: [:])
    }

    /// Adds a whole model (to an empty ruleset).
    public mutating func load(_ model: ProxyModel) {
        var delta = IncrementalModel.Delta()
        for (fe, entry) in model.frontends { delta.frontends[fe] = .init(old: nil, new: entry) }
        delta.clusterIPsAdded = model.clusterIPs
        apply(delta)
    }

    /// Applies one model update.
    public mutating func apply(_ delta: IncrementalModel.Delta) {
        var removed: [(Frontend, RulesetBuilder.Contribution)] = []
        var added: [(Frontend, RulesetBuilder.Contribution)] = []
        removed.reserveCapacity(delta.frontends.count)
        added.reserveCapacity(delta.frontends.count)
        for (fe, change) in delta.frontends {
            if let old = change.old { removed.append((fe, RulesetBuilder.contribution(fe, old))) }
            if let new = change.new { added.append((fe, RulesetBuilder.contribution(fe, new))) }
        }
        // Which optional sets are in use decides the skeleton: new sets first, so that
        // elements can go into them; unused sets go last, once their elements are gone.
        let oldUsage = usage
        for (fe, c) in removed { count(c, v4: fe.ip.isV4, by: -1) }
        for (fe, c) in added { count(c, v4: fe.ip.isV4, by: 1) }
        let skeleton = usage == oldUsage ? nil : RulesetBuilder.skeleton(node: node, table: ruleset.table, usage: usage)
        if let skeleton {
            for (name, def) in skeleton.sets where ruleset.sets[name] == nil { ruleset.sets[name] = def }
        }
        for (fe, c) in removed {
            for e in c.elements { remove(e.set, e.key) }
            hairpin(c.endpointIPs, v4: fe.ip.isV4, by: -1)
        }
        if added.count > 1000 {
            // A large load: grow each set once instead of rehashing as it fills.
            var growth: [String: Int] = [:]
            for (_, c) in added { for e in c.elements { growth[e.set, default: 0] += 1 } }
            for (name, n) in growth {
                let have = ruleset.sets[name]?.elements.count ?? 0
                ruleset.sets[name]?.elements.reserveCapacity(have + n)
            }
        }
        for (fe, c) in added {
            for e in c.elements { put(e.set, e.key, e.value) }
            hairpin(c.endpointIPs, v4: fe.ip.isV4, by: 1)
        }
        for ip in delta.clusterIPsRemoved { remove("cluster-ips" + RulesetBuilder.suffix(ip.isV4), [.ip(ip)]) }
        for ip in delta.clusterIPsAdded { put("cluster-ips" + RulesetBuilder.suffix(ip.isV4), [.ip(ip)], []) }
        if let skeleton {
            for name in ruleset.sets.keys where skeleton.sets[name] == nil { ruleset.sets[name] = nil }
            ruleset.chains = skeleton.chains
        }
    }

    private mutating func count(_ c: RulesetBuilder.Contribution, v4: Bool, by step: Int) {
        func bump(_ dict: inout [Int: Int], _ key: Int?) {
            guard let key else { return }
            let n = (dict[key] ?? 0) + step
            dict[key] = n == 0 ? nil : n
        }
        var u = usage[v4] ?? RulesetBuilder.Usage()
        bump(&u.slots, c.slots)
        bump(&u.alternates, c.alternates)
        bump(&u.timeouts, c.timeout)
        usage[v4] = u == RulesetBuilder.Usage() ? nil : u
    }

    private mutating func hairpin(_ ips: Set<IPAddress>, v4: Bool, by step: Int) {
        let set = "hairpin" + RulesetBuilder.suffix(v4)
        for ip in ips {
            let n = (hairpinRefs[ip] ?? 0) + step
            hairpinRefs[ip] = n == 0 ? nil : n
            if n == 0 { remove(set, [.ip(ip), .ip(ip)]) }
            if n == 1 && step > 0 { put(set, [.ip(ip), .ip(ip)], []) }
        }
    }

    private mutating func record(_ set: String, _ key: [Ruleset.Atom]) {
        guard committed != nil else { return }
        if pending[set]?.index(forKey: key) == nil {
            pending[set, default: [:]][key] = .some(ruleset.sets[set]?.elements[key])
        }
    }

    private mutating func put(_ set: String, _ key: [Ruleset.Atom], _ value: [Ruleset.Atom]) {
        record(set, key)
        ruleset.sets[set]?.elements[key] = value
    }

    private mutating func remove(_ set: String, _ key: [Ruleset.Atom]) {
        record(set, key)
        ruleset.sets[set]?.elements[key] = nil
    }

    /// The transaction from what the kernel has (per `commit`) to the current ruleset: the
    /// whole table the first time (`replacing` a leftover table of the same name), else only
    /// what changed. Nil when nothing did.
    public func transaction(replacing: Bool) -> String? {
        guard let committed else { return ruleset.fullTransaction(replacing: replacing) }
        return RulesetDiff.transaction(from: committed, to: ruleset, changedElements: pending)
    }

    /// The kernel took the transaction.
    public mutating func commit() {
        committed = Ruleset(table: ruleset.table, sets: ruleset.sets.mapValues(\.definition), chains: ruleset.chains)
        pending = [:]
    }

    /// The kernel's state is unknown (a transaction failed): the next transaction is whole.
    public mutating func invalidate() {
        committed = nil
        pending = [:]
    }
}
