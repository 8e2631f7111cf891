import KubeModel

/// Interprets a `Ruleset` symbolically for the first packet of a connection, the way the
/// kernel would walk the hooks (prerouting or output, routing, input/forward, postrouting),
/// to say where the connection ends up. Every `numgen random` branch is explored, so a trace
/// lists all endpoints a client may reach. Affinity state (the dynamic maps) lives in the
/// tracer: `connect` commits it, `outcomes` only looks.
public struct PacketTracer: Sendable {
    public let ruleset: Ruleset
    /// Addresses the node owns (packets to them are delivered locally after NAT).
    public var localAddresses: Set<IPAddress>
    private var dynamicElements: [String: [[Ruleset.Atom]: [Ruleset.Atom]]] = [:]

    public init(ruleset: Ruleset, localAddresses: Set<IPAddress>) {
        self.ruleset = ruleset
        self.localAddresses = localAddresses
    }

    /// The first packet of a connection.
    public struct Packet: Sendable, Hashable {
        public var source: IPAddress
        public var destination: IPAddress
        public var proto: L4Proto
        public var port: Int
        /// Sent by a process of the node itself (output hook) rather than arriving.
        public var fromNode: Bool

        public init(from source: String, to destination: String, port: Int, proto: L4Proto = .tcp, fromNode: Bool = false) {
            self.source = IPAddress(source)!
            self.destination = IPAddress(destination)!
            self.proto = proto
            self.port = port
            self.fromNode = fromNode
        }
    }

    /// Where a connection ends.
    public enum Outcome: Sendable, Hashable, CustomStringConvertible {
        /// Rewritten to an endpoint (and masqueraded or not).
        case endpoint(Backend, masquerade: Bool)
        /// Left alone (delivered or forwarded unchanged).
        case accept
        case reject
        case drop

        public var description: String {
            switch self {
            case .endpoint(let b, let masq): return b.description + (masq ? " (masquerade)" : "")
            case .accept: return "ACCEPT"
            case .reject: return "REJECT"
            case .drop: return "DROP"
            }
        }
    }

    /// Every possible outcome, over all random choices.
    public func outcomes(_ packet: Packet) -> Set<Outcome> {
        var results = Set<Outcome>()
        var pending: [[Int]] = [[]]
        while let prefix = pending.popLast() {
            var run = Run(tracer: self, packet: packet, choices: prefix)
            results.insert(run.execute())
            for i in prefix.count..<run.bounds.count where run.bounds[i] > 1 {
                for v in 1..<run.bounds[i] { pending.append(Array(run.taken[..<i]) + [v]) }
            }
        }
        return results
    }

    /// One connection with the random choices `choose(n)` makes (in 0..<n); its affinity
    /// updates are kept for the next calls.
    public mutating func connect(_ packet: Packet, choose: @escaping (Int) -> Int = { Int.random(in: 0..<$0) }) -> Outcome {
        var run = Run(tracer: self, packet: packet, choices: [], choose: choose)
        let outcome = run.execute()
        dynamicElements = run.dynamicElements
        return outcome
    }

    /// Sorted endpoint list, or REJECT/DROP/ACCEPT, as kube-proxy's tests print it.
    public func describe(_ packet: Packet) -> String {
        let all = outcomes(packet)
        let endpoints = all.compactMap { o -> Backend? in if case .endpoint(let b, _) = o { return b } else { return nil } }
        if endpoints.count == all.count && !endpoints.isEmpty {
            return endpoints.sorted().map(\.description).joined(separator: ", ")
        }
        return all.map(\.description).sorted().joined(separator: ", ")
    }

    /// Whether every outcome that reaches an endpoint is masqueraded (nil: none reaches one).
    public func masquerades(_ packet: Packet) -> Bool? {
        let flags = outcomes(packet).compactMap { o -> Bool? in if case .endpoint(_, let m) = o { return m } else { return nil } }
        guard let first = flags.first else { return nil }
        return flags.allSatisfy { $0 == first } ? first : nil
    }

    private struct Run {
        let tracer: PacketTracer
        var packet: Packet
        var choices: [Int]
        var choose: ((Int) -> Int)?
        var bounds: [Int] = []
        var taken: [Int] = []
        var mark: UInt32 = 0
        var ctMark: UInt32 = 0
        var dnat: Backend?
        var masquerade = false
        var dynamicElements: [String: [[Ruleset.Atom]: [Ruleset.Atom]]]

        init(tracer: PacketTracer, packet: Packet, choices: [Int], choose: ((Int) -> Int)? = nil) {
            self.tracer = tracer
            self.packet = packet
            self.choices = choices
            self.choose = choose
            self.dynamicElements = tracer.dynamicElements
        }

        enum Verdict { case next, accept, drop, reject }

        mutating func execute() -> Outcome {
            let first: Ruleset.Hook.Point = packet.fromNode ? .output : .prerouting
            if let stop = hook(first) { return stop }
            let local = tracer.localAddresses.contains(packet.destination)
            let rest: [Ruleset.Hook.Point] = packet.fromNode ? (local ? [.postrouting, .input] : [.postrouting]) : (local ? [.input] : [.forward, .postrouting])
            for point in rest {
                if let stop = hook(point) { return stop }
            }
            return dnat.map { .endpoint($0, masquerade: masquerade) } ?? .accept
        }

        /// Runs the base chains of one hook in priority order; returns a final outcome if the
        /// packet is dropped or rejected.
        mutating func hook(_ point: Ruleset.Hook.Point) -> Outcome? {
            let chains = tracer.ruleset.chains.filter { $0.value.hook?.point == point }.sorted { ($0.value.hook!.priority, $0.key) < ($1.value.hook!.priority, $1.key) }
            var natDone = false
            for (name, chain) in chains {
                if chain.hook!.kind == .nat && natDone { continue }
                let before = (dnat, masquerade)
                switch evaluate(name) {
                case .drop: return .drop
                case .reject: return .reject
                case .next, .accept: break
                }
                if chain.hook!.kind == .nat && (before.0 != dnat || before.1 != masquerade) { natDone = true }
            }
            return nil
        }

        mutating func evaluate(_ chainName: String) -> Verdict {
            guard let chain = tracer.ruleset.chains[chainName] else { return .next }
            for rule in chain.rules where rule.matches.allSatisfy(matches) {
                switch rule.statement {
                case .jump(let target):
                    let v = evaluate(target)
                    if v != .next { return v }
                case .setMark(let m): mark = m
                case .setMarkRandom(let n, let offset): mark = offset + UInt32(random(n))
                case .setMarkFromMap(let key, let map):
                    if let value = lookupValue(map, key.map(field)), case .mark(let m)? = value.first { mark = m }
                case .rememberMark(let map, let key, _):
                    if let k = keyAtoms(key) { dynamicElements[map, default: [:]][k] = [.mark(mark)] }
                case .ctMarkOr(let bit): ctMark |= bit
                case .dnat(_, let key, let map):
                    if let value = lookupValue(map, key.map(field)), value.count == 2, case .ip(let ip) = value[0], case .port(let port) = value[1] {
                        dnat = Backend(ip: ip, port: port)
                        packet.destination = ip
                        packet.port = port
                        return .accept
                    }
                case .masquerade:
                    masquerade = true
                    return .accept
                case .reject: return .reject
                case .drop: return .drop
                }
            }
            return .next
        }

        mutating func random(_ n: Int) -> Int {
            let i = taken.count
            let v: Int
            if let choose {
                v = choose(n)
            } else {
                v = i < choices.count ? choices[i] : 0
            }
            bounds.append(n)
            taken.append(v)
            return v
        }

        func field(_ f: Ruleset.Field) -> Ruleset.Atom? {
            switch f {
            case .saddr(let v4): return packet.source.isV4 == v4 ? .ip(packet.source) : nil
            case .daddr(let v4): return packet.destination.isV4 == v4 ? .ip(packet.destination) : nil
            case .l4proto: return .proto(packet.proto)
            case .dport: return .port(packet.port)
            case .mark: return .mark(mark)
            }
        }

        func keyAtoms(_ key: [Ruleset.Field]) -> [Ruleset.Atom]? {
            let atoms = key.compactMap(field)
            return atoms.count == key.count ? atoms : nil
        }

        func matches(_ m: Ruleset.Match) -> Bool {
            switch m {
            case .lookup(let key, let set, let negated):
                guard let atoms = keyAtoms(key) else { return false }   // wrong family never matches
                return (lookup(set, atoms) != nil) != negated
            case .markRange(let lo, let hi, let negated): return (lo...hi).contains(mark) != negated
            case .ctStateNew: return true
            case .ctStatusDnat: return dnat != nil
            case .ctMarkBit(let bit): return ctMark & bit == bit
            case .fromNode: return packet.fromNode
            case .l4proto(let p): return packet.proto == p
            }
        }

        func lookupValue(_ set: String, _ key: [Ruleset.Atom?]) -> [Ruleset.Atom]? {
            let atoms = key.compactMap { $0 }
            guard atoms.count == key.count else { return nil }
            return lookup(set, atoms)
        }

        func lookup(_ set: String, _ atoms: [Ruleset.Atom]) -> [Ruleset.Atom]? {
            guard let def = tracer.ruleset.sets[set] else { return nil }
            if def.dynamic { return dynamicElements[set]?[atoms] }
            if !def.interval { return def.elements[atoms] }
            for (k, v) in def.elements where k.count == atoms.count && zip(k, atoms).allSatisfy(PacketTracer.atomMatches) { return v }
            return nil
        }
    }

    static func atomMatches(_ element: Ruleset.Atom, _ value: Ruleset.Atom) -> Bool {
        if case .cidr(let c) = element, case .ip(let ip) = value { return c.contains(ip) }
        return element == value
    }
}

extension PacketTracer {
    /// The same node and affinity state over a new ruleset (what the kernel keeps across a sync).
    public func replacing(ruleset: Ruleset) -> PacketTracer {
        var copy = PacketTracer(ruleset: ruleset, localAddresses: localAddresses)
        copy.dynamicElements = dynamicElements
        return copy
    }
}
