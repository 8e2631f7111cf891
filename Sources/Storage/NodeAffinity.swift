import KubeModel

/// The node kplane runs on, as volume node affinity sees it.
public struct NodeInfo: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]

    /// A node with the labels every kubelet sets for itself.
    public init(name: String, labels: [String: String] = [:]) {
        self.name = name
        var all = ["kubernetes.io/hostname": name, "kubernetes.io/os": "linux"]
        for (k, v) in labels { all[k] = v }
        self.labels = all
    }
}

/// `spec.nodeAffinity.required` of a volume, evaluated against a node
/// (component-helpers' `CheckNodeAffinity`): terms are ORed, expressions within a term ANDed.
enum NodeAffinity {
    /// True when the volume may be used on `node`. A volume without affinity fits every node;
    /// affinity that does not parse fits none (it could never be satisfied by a kubelet either).
    static func matches(_ affinity: JSONValue?, node: NodeInfo) -> Bool {
        guard let affinity, affinity != .null else { return true }
        guard affinity.objectValue != nil else { return false }
        guard let required = affinity["required"], required != .null else { return true }
        guard let terms = required["nodeSelectorTerms"]?.arrayValue else { return false }
        return terms.contains { term in termMatches(term, node: node) }
    }

    private static func termMatches(_ term: JSONValue, node: NodeInfo) -> Bool {
        let expressions = term["matchExpressions"]?.arrayValue ?? []
        let fields = term["matchFields"]?.arrayValue ?? []
        // An empty term matches no objects (NodeSelectorTerm semantics).
        if expressions.isEmpty && fields.isEmpty { return false }
        for e in expressions where !expressionMatches(e, value: { node.labels[$0] }) { return false }
        for f in fields where !expressionMatches(f, value: { $0 == "metadata.name" ? node.name : nil }) { return false }
        return true
    }

    private static func expressionMatches(_ e: JSONValue, value: (String) -> String?) -> Bool {
        guard let key = e["key"]?.stringValue, let op = e["operator"]?.stringValue else { return false }
        let values = e["values"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let v = value(key)
        switch op {
        case "In": return v.map(values.contains) ?? false
        case "NotIn": return v.map { !values.contains($0) } ?? true
        case "Exists": return v != nil
        case "DoesNotExist": return v == nil
        case "Gt", "Lt":
            guard let v, let n = Int64(v), values.count == 1, let bound = Int64(values[0]) else { return false }
            return op == "Gt" ? n > bound : n < bound
        default: return false
        }
    }

    /// The affinity kplane gives volumes it provisions: `kubernetes.io/hostname In [node]`.
    static func pinned(to node: String) -> JSONValue {
        .object(["required": .object(["nodeSelectorTerms": .array([
            .object(["matchExpressions": .array([
                .object(["key": .string("kubernetes.io/hostname"), "operator": .string("In"), "values": .array([.string(node)])]),
            ])]),
        ])])])
    }
}
