import KubeModel

/// An nftables table as data: named sets and maps with their elements, and chains of rules
/// written in a small vocabulary (`Ruleset.Match`, `Ruleset.Statement`). The text `nft -f`
/// reads is rendered from it, the packet tracer interprets it, and `RulesetDiff` compares two
/// of them to emit only what changed.
public struct Ruleset: Sendable, Hashable {
    public var table: String
    public var sets: [String: NamedSet]
    public var chains: [String: Chain]

    public init(table: String, sets: [String: NamedSet] = [:], chains: [String: Chain] = [:]) {
        self.table = table
        self.sets = sets
        self.chains = chains
    }

    /// The type of one component of a set key or map value.
    public enum FieldType: String, Sendable, Hashable {
        case ipv4 = "ipv4_addr"
        case ipv6 = "ipv6_addr"
        case proto = "inet_proto"
        case port = "inet_service"
        case mark = "mark"
    }

    /// One component of an element.
    public enum Atom: Sendable, Hashable, CustomStringConvertible {
        case ip(IPAddress)
        case cidr(CIDR)
        case proto(L4Proto)
        case port(Int)
        case mark(UInt32)

        public var description: String {
            switch self {
            case .ip(let ip): return ip.description
            case .cidr(let c): return c.description
            case .proto(let p): return p.rawValue
            case .port(let p): return String(p)
            case .mark(let m): return String(m)
            }
        }
    }

    /// A set (`value == nil`) or map, with its elements (key → value; `[]` for sets).
    public struct NamedSet: Sendable, Hashable {
        public var key: [FieldType]
        public var value: [FieldType]?
        public var interval = false
        /// Filled from the packet path (affinity): elements are the kernel's, never diffed.
        public var dynamic = false
        public var timeout: Int?
        public var size: Int?
        public var comment: String?
        public var elements: [[Atom]: [Atom]] = [:]

        public init(key: [FieldType], value: [FieldType]? = nil, interval: Bool = false, dynamic: Bool = false, timeout: Int? = nil, size: Int? = nil, comment: String? = nil) {
            self.key = key
            self.value = value
            self.interval = interval
            self.dynamic = dynamic
            self.timeout = timeout
            self.size = size
            self.comment = comment
        }

        /// The definition without elements (what decides whether a set must be re-created).
        var definition: NamedSet {
            var copy = self
            copy.elements = [:]
            return copy
        }
    }

    /// A base chain's hook.
    public struct Hook: Sendable, Hashable {
        public enum Kind: String, Sendable { case nat, filter }
        public enum Point: String, Sendable { case prerouting, input, forward, output, postrouting }
        public var kind: Kind
        public var point: Point
        public var priority: Int
    }

    public struct Chain: Sendable, Hashable {
        public var hook: Hook?
        public var rules: [Rule]
        public init(hook: Hook? = nil, rules: [Rule] = []) {
            self.hook = hook
            self.rules = rules
        }
    }

    /// A packet field.
    public enum Field: Sendable, Hashable {
        case saddr(v4: Bool)
        case daddr(v4: Bool)
        case l4proto
        case dport
        case mark
    }

    public enum Match: Sendable, Hashable {
        /// `KEY @set` / `KEY != @set`
        case lookup([Field], set: String, negated: Bool)
        /// `meta mark LO-HI` / `meta mark != LO-HI`
        case markRange(UInt32, UInt32, negated: Bool)
        case ctStateNew
        case ctStatusDnat
        /// `ct mark & BIT == BIT`
        case ctMarkBit(UInt32)
        /// `fib saddr type local`: the node itself sent it.
        case fromNode
        case l4proto(L4Proto)
    }

    public enum Statement: Sendable, Hashable {
        case jump(String)
        case setMark(UInt32)
        /// `meta mark set numgen random mod N offset O`
        case setMarkRandom(modulus: Int, offset: UInt32)
        /// `meta mark set KEY map @map` (no match: the rule stops)
        case setMarkFromMap([Field], map: String)
        /// `update @map { KEY timeout Ts : meta mark }`
        case rememberMark(map: String, key: [Field], timeout: Int)
        /// `ct mark set ct mark or BIT`
        case ctMarkOr(UInt32)
        /// `dnat ip to KEY map @map`
        case dnat(v4: Bool, key: [Field], map: String)
        case masquerade
        case reject
        case drop
    }

    public struct Rule: Sendable, Hashable {
        public var matches: [Match]
        public var statement: Statement
        public init(_ matches: [Match], _ statement: Statement) {
            self.matches = matches
            self.statement = statement
        }
    }

    /// Number of rules and of (non-dynamic) elements.
    public var ruleCount: Int { chains.values.reduce(0) { $0 + $1.rules.count } }
    public var elementCount: Int { sets.values.reduce(0) { $0 + ($1.dynamic ? 0 : $1.elements.count) } }
}

// MARK: - Rendering to nft syntax

extension Ruleset.Field {
    var text: String {
        switch self {
        case .saddr(let v4): return v4 ? "ip saddr" : "ip6 saddr"
        case .daddr(let v4): return v4 ? "ip daddr" : "ip6 daddr"
        case .l4proto: return "meta l4proto"
        case .dport: return "th dport"
        case .mark: return "meta mark"
        }
    }
}

extension Ruleset.Match {
    var text: String {
        switch self {
        case .lookup(let key, let set, let negated): return key.map(\.text).joined(separator: " . ") + (negated ? " != @" : " @") + set
        case .markRange(let lo, let hi, let negated): return "meta mark " + (negated ? "!= " : "") + (lo == hi ? "\(lo)" : "\(lo)-\(hi)")
        case .ctStateNew: return "ct state new"
        case .ctStatusDnat: return "ct status dnat"
        case .ctMarkBit(let bit): return "ct mark & \(hex(bit)) == \(hex(bit))"
        case .fromNode: return "fib saddr type local"
        case .l4proto(let p): return "meta l4proto \(p.rawValue)"
        }
    }
}

func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

extension Ruleset.Statement {
    var text: String {
        switch self {
        case .jump(let chain): return "jump \(chain)"
        case .setMark(let m): return "meta mark set \(hex(m))"
        case .setMarkRandom(let mod, let offset): return "meta mark set numgen random mod \(mod)" + (offset == 0 ? "" : " offset \(offset)")
        case .setMarkFromMap(let key, let map): return "meta mark set " + key.map(\.text).joined(separator: " . ") + " map @\(map)"
        case .rememberMark(let map, let key, let timeout): return "update @\(map) { " + key.map(\.text).joined(separator: " . ") + " timeout \(timeout)s : meta mark }"
        case .ctMarkOr(let bit): return "ct mark set ct mark or \(hex(bit))"
        case .dnat(let v4, let key, let map): return "dnat \(v4 ? "ip" : "ip6") to " + key.map(\.text).joined(separator: " . ") + " map @\(map)"
        case .masquerade: return "masquerade fully-random"
        case .reject: return "reject"
        case .drop: return "drop"
        }
    }
}

extension Ruleset.Rule {
    /// The rule as `nft add rule` takes it (after the chain name).
    public var text: String { (matches.map(\.text) + [statement.text]).joined(separator: " ") }
}

extension Ruleset.NamedSet {
    /// The body of `add set|map … { … }`.
    var definitionText: String {
        var parts = ["type " + key.map(\.rawValue).joined(separator: " . ") + (value.map { " : " + $0.map(\.rawValue).joined(separator: " . ") } ?? "")]
        var flags: [String] = []
        if interval { flags.append("interval") }
        if dynamic { flags.append("dynamic") }
        if timeout != nil { flags.append("timeout") }
        if !flags.isEmpty { parts.append("flags " + flags.joined(separator: ",")) }
        if let timeout { parts.append("timeout \(timeout)s") }
        if let size { parts.append("size \(size)") }
        if let comment { parts.append("comment \"\(comment)\"") }
        return "{ " + parts.joined(separator: " ; ") + " ; }"
    }

    static func elementText(_ key: [Ruleset.Atom], _ value: [Ruleset.Atom]) -> String {
        let k = key.map(\.description).joined(separator: " . ")
        return value.isEmpty ? k : k + " : " + value.map(\.description).joined(separator: " . ")
    }
}

extension Ruleset.Hook {
    var text: String { "{ type \(kind.rawValue) hook \(point.rawValue) priority \(priority) ; }" }
}

extension Ruleset {
    /// Sets up to this size are written in sorted order.
    static let sortedElementLimit = 5000

    /// The complete ruleset as one `nft -f` transaction. With `replacing`, a leftover table
    /// of the same name (after a crash) is removed in the same transaction.
    public func fullTransaction(replacing: Bool) -> String {
        var out = NFTScript(table: table)
        if replacing {
            out.line("add table inet \(table)")
            out.line("delete table inet \(table)")
        }
        out.line("add table inet \(table) { comment \"kplane service proxy\" ; }")
        for name in sets.keys.sorted() { out.addSet(name, sets[name]!) }
        for name in chains.keys.sorted() { out.addChain(name, chains[name]!) }
        for name in chains.keys.sorted() { out.addRules(name, chains[name]!.rules) }
        for name in sets.keys.sorted() where !sets[name]!.dynamic {
            let elements = sets[name]!.elements
            // Sorted for people and tests; a set too large to read goes in hash order (sorting
            // 200,000 elements costs about as much as nft's parsing them).
            if elements.count <= Ruleset.sortedElementLimit {
                out.addElements(name, elements.sorted { $0.key.lexicographicallyPrecedes($1.key, by: atomOrder) }.map { ($0.key, $0.value) })
            } else {
                out.addElements(name, elements.map { ($0.key, $0.value) })
            }
        }
        return out.text
    }
}

/// Ordering for deterministic output.
func atomOrder(_ a: Ruleset.Atom, _ b: Ruleset.Atom) -> Bool {
    switch (a, b) {
    case let (.ip(x), .ip(y)): return x < y
    case let (.cidr(x), .cidr(y)): return (x.network, x.prefixLength) < (y.network, y.prefixLength)
    case let (.proto(x), .proto(y)): return x < y
    case let (.port(x), .port(y)): return x < y
    case let (.mark(x), .mark(y)): return x < y
    default: return a.description < b.description
    }
}

/// Builds `nft -f` text.
struct NFTScript {
    let table: String
    private(set) var text = ""
    /// Elements per `add element` command (keeps lines reasonable for nft's parser).
    static let chunk = 2000

    init(table: String) { self.table = table }

    mutating func line(_ s: String) {
        text += s
        text += "\n"
    }

    mutating func addSet(_ name: String, _ set: Ruleset.NamedSet) {
        line("add \(set.value == nil ? "set" : "map") inet \(table) \(name) \(set.definitionText)")
    }

    mutating func addChain(_ name: String, _ chain: Ruleset.Chain) {
        line("add chain inet \(table) \(name)" + (chain.hook.map { " " + $0.text } ?? ""))
    }

    mutating func addRules(_ chain: String, _ rules: [Ruleset.Rule]) {
        for r in rules { line("add rule inet \(table) \(chain) \(r.text)") }
    }

    mutating func addElements(_ set: String, _ elements: [([Ruleset.Atom], [Ruleset.Atom])]) {
        var i = 0
        while i < elements.count {
            let part = elements[i..<min(i + NFTScript.chunk, elements.count)]
            line("add element inet \(table) \(set) { " + part.map { Ruleset.NamedSet.elementText($0.0, $0.1) }.joined(separator: ", ") + " }")
            i += NFTScript.chunk
        }
    }

    mutating func deleteElements(_ set: String, _ keys: [[Ruleset.Atom]]) {
        var i = 0
        while i < keys.count {
            let part = keys[i..<min(i + NFTScript.chunk, keys.count)]
            line("delete element inet \(table) \(set) { " + part.map { Ruleset.NamedSet.elementText($0, []) }.joined(separator: ", ") + " }")
            i += NFTScript.chunk
        }
    }
}
