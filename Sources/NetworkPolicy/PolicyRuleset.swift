import KubeModel

/// The desired content of kplane's policy table (`inet kplane-policy`) as data. The chains
/// are a fixed skeleton; everything that depends on pods and policies is set and map
/// elements, so a sync after the first one is a handful of `add/delete element` lines.
///
/// Per direction (ingress = to a pod, egress = from a pod):
/// - `<dir>-isolated4/6`: pod addresses a policy isolates in that direction;
/// - `<dir>-class4/6`: pod address → class (the pods sharing the same rules, and the same
///   resolution of named ports, share one class number);
/// - `<dir>-allow4/6`: `class . peer-address-range . protocol-range . port-range`, disjoint;
/// - `<dir>-counters`: class → the named counter of the policy its drops are charged to.
/// A new connection passes when the pod is not isolated, or when `class . peer . proto . port`
/// is in the allow set: two lookups, whatever the number of policies.
public struct PolicyRuleset: Sendable, Hashable {
    /// One element of an allow set.
    public struct Allow: Sendable, Hashable, Comparable {
        public var mark: UInt32
        public var addresses: AddressRange
        public var protocols: ClosedRange<Int>
        public var ports: ClosedRange<Int>

        public static func < (a: Allow, b: Allow) -> Bool {
            if a.mark != b.mark { return a.mark < b.mark }
            if a.addresses != b.addresses { return a.addresses < b.addresses }
            if a.protocols != b.protocols { return a.protocols.lowerBound < b.protocols.lowerBound }
            return a.ports.lowerBound < b.ports.lowerBound
        }

        var text: String {
            func r(_ x: ClosedRange<Int>) -> String { x.lowerBound == x.upperBound ? "\(x.lowerBound)" : "\(x.lowerBound)-\(x.upperBound)" }
            return "\(mark) . \(addresses) . \(r(protocols)) . \(r(ports))"
        }
    }

    public static let defaultTable = "kplane-policy"
    /// Hook priority of the filter chains (after the service proxy's filter chains at 0).
    public static let priority = 10

    public var table: String
    /// Pod address → class, per direction.
    public var classes: [PolicyDirection: [IPAddress: UInt32]] = [.ingress: [:], .egress: [:]]
    public var allow: [PolicyDirection: Set<Allow>] = [.ingress: [], .egress: []]
    /// Class → named counter, per direction.
    public var counterOf: [PolicyDirection: [UInt32: String]] = [.ingress: [:], .egress: [:]]
    /// Named counters (one per policy and direction it isolates).
    public var counters: Set<String> = []
    /// Pod addresses: a pod reaching itself (through a Service) is never judged.
    public var pods: Set<IPAddress> = []

    public init(table: String = PolicyRuleset.defaultTable) { self.table = table }

    /// Elements in all sets and maps.
    public var elementCount: Int {
        PolicyDirection.allCases.reduce(0) { $0 + 2 * classes[$1]!.count + allow[$1]!.count + counterOf[$1]!.count } + pods.count
    }

    // MARK: - Names

    static func setName(_ d: PolicyDirection, _ what: String, v4: Bool) -> String { "\(d)-\(what)\(v4 ? "4" : "6")" }
    static func countersMap(_ d: PolicyDirection) -> String { "\(d)-counters" }

    /// What the kernel does with the first packet of a connection (the rules below, read as a
    /// program). `toNode`: the packet is for the node itself (input hook: egress only).
    public func admits(source: IPAddress, destination: IPAddress, proto: Int, port: Int, toNode: Bool = false) -> Bool {
        if !toNode && source == destination && pods.contains(source) { return true }
        func passes(_ d: PolicyDirection, subject: IPAddress, peer: IPAddress) -> Bool {
            guard let mark = classes[d]![subject] else { return true }
            return allow[d]!.contains { $0.mark == mark && $0.addresses.contains(peer) && $0.protocols.contains(proto) && $0.ports.contains(port) }
        }
        guard passes(.egress, subject: source, peer: destination) else { return false }
        return toNode || passes(.ingress, subject: destination, peer: source)
    }
}

// MARK: - nft text

extension PolicyRuleset {
    /// The fixed chains.
    static func skeleton(table: String) -> [String] {
        var out: [String] = []
        let t = "inet \(table)"
        out.append("add chain \(t) filter-forward { type filter hook forward priority \(priority) ; policy accept ; }")
        out.append("add chain \(t) filter-input { type filter hook input priority \(priority) ; policy accept ; }")
        out.append("add chain \(t) egress-check")
        out.append("add chain \(t) ingress-check")
        out.append("add rule \(t) filter-forward ct state established,related accept")
        out.append("add rule \(t) filter-forward ip saddr . ip daddr @self4 accept")
        out.append("add rule \(t) filter-forward ip6 saddr . ip6 daddr @self6 accept")
        out.append("add rule \(t) filter-forward jump egress-check")
        out.append("add rule \(t) filter-forward jump ingress-check")
        out.append("add rule \(t) filter-input ct state established,related accept")
        out.append("add rule \(t) filter-input jump egress-check")
        for d in PolicyDirection.allCases {
            let chain = "\(d)-check"
            // Egress judges the source and looks up the destination; ingress the other way round.
            let (subject, peer) = d == .egress ? ("saddr", "daddr") : ("daddr", "saddr")
            let verdict = d == .egress ? "return" : "accept"
            out.append("add rule \(t) \(chain) ip \(subject) != @\(setName(d, "isolated", v4: true)) return")
            out.append("add rule \(t) \(chain) ip6 \(subject) != @\(setName(d, "isolated", v4: false)) return")
            out.append("add rule \(t) \(chain) meta mark set ip \(subject) map @\(setName(d, "class", v4: true))")
            out.append("add rule \(t) \(chain) meta mark set ip6 \(subject) map @\(setName(d, "class", v4: false))")
            out.append("add rule \(t) \(chain) meta mark . ip \(peer) . meta l4proto . th dport @\(setName(d, "allow", v4: true)) \(verdict)")
            out.append("add rule \(t) \(chain) meta mark . ip6 \(peer) . meta l4proto . th dport @\(setName(d, "allow", v4: false)) \(verdict)")
            out.append("add rule \(t) \(chain) counter name meta mark map @\(countersMap(d))")
            out.append("add rule \(t) \(chain) drop")
        }
        return out
    }

    static func sets(table: String) -> [String] {
        let t = "inet \(table)"
        var out: [String] = []
        for v4 in [true, false] {
            let addr = v4 ? "ipv4_addr" : "ipv6_addr"
            out.append("add set \(t) \(v4 ? "self4" : "self6") { type \(addr) . \(addr) ; }")
            for d in PolicyDirection.allCases {
                out.append("add set \(t) \(setName(d, "isolated", v4: v4)) { type \(addr) ; }")
                out.append("add map \(t) \(setName(d, "class", v4: v4)) { type \(addr) : mark ; }")
                out.append("add set \(t) \(setName(d, "allow", v4: v4)) { type mark . \(addr) . inet_proto . inet_service ; flags interval ; }")
            }
        }
        for d in PolicyDirection.allCases { out.append("add map \(t) \(countersMap(d)) { type mark : counter ; }") }
        return out
    }

    /// Element lines per set/map name (for the full load and for diffs).
    func elements() -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for v4 in [true, false] {
            out[v4 ? "self4" : "self6"] = Set(pods.filter { $0.isV4 == v4 }.map { "\($0) . \($0)" })
            for d in PolicyDirection.allCases {
                let cls = classes[d]!.filter { $0.key.isV4 == v4 }
                out[Self.setName(d, "isolated", v4: v4)] = Set(cls.keys.map(\.description))
                out[Self.setName(d, "class", v4: v4)] = Set(cls.map { "\($0.key) : \($0.value)" })
                out[Self.setName(d, "allow", v4: v4)] = Set(allow[d]!.filter { $0.addresses.v4 == v4 }.map(\.text))
            }
        }
        for d in PolicyDirection.allCases { out[Self.countersMap(d)] = Set(counterOf[d]!.map { "\($0.key) : \"\($0.value)\"" }) }
        return out
    }

    /// The whole table as one `nft -f` transaction; with `replacing`, a leftover table of the
    /// same name (after a crash) goes in the same transaction.
    public func fullTransaction(replacing: Bool) -> String {
        var lines: [String] = []
        let t = "inet \(table)"
        if replacing { lines += ["add table \(t)", "delete table \(t)"] }
        lines.append("add table \(t) { comment \"kplane network policy\" ; }")
        lines += Self.sets(table: table)
        lines += counters.sorted().map { "add counter \(t) \($0)" }
        lines += Self.skeleton(table: table)
        for (name, els) in elements().sorted(by: { $0.key < $1.key }) where !els.isEmpty {
            lines += Self.elementLines("add", t, name, els.sorted())
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Only what changed since `old` (element and counter changes); nil when nothing did.
    public func transaction(from old: PolicyRuleset) -> String? {
        precondition(old.table == table, "a diff is between two versions of one table")
        return Self.transaction(table: table, from: (old.elements(), old.counters), to: (elements(), counters))
    }

    /// The same from element lines already worked out (the syncer keeps those of the kernel).
    static func transaction(table: String, from before: ([String: Set<String>], Set<String>), to after: ([String: Set<String>], Set<String>)) -> String? {
        let t = "inet \(table)"
        var deletes: [String] = [], adds: [String] = []
        for name in after.0.keys.sorted() {
            let o = before.0[name] ?? [], n = after.0[name]!
            deletes += elementLines("delete", t, name, o.subtracting(n).sorted())
            adds += elementLines("add", t, name, n.subtracting(o).sorted())
        }
        // Counter-map elements go before the counters they name; new counters before their elements.
        let counterDeletes = before.1.subtracting(after.1).sorted().map { "delete counter \(t) \($0)" }
        let counterAdds = after.1.subtracting(before.1).sorted().map { "add counter \(t) \($0)" }
        let lines = deletes + counterDeletes + counterAdds + adds
        return lines.isEmpty ? nil : lines.joined(separator: "\n") + "\n"
    }

    static let chunk = 1000

    static func elementLines(_ verb: String, _ table: String, _ name: String, _ elements: [String]) -> [String] {
        stride(from: 0, to: elements.count, by: chunk).map { i in
            "\(verb) element \(table) \(name) { " + elements[i..<min(i + chunk, elements.count)].joined(separator: ", ") + " }"
        }
    }
}
