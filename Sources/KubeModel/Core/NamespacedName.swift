/// An object by namespace and name (Kubernetes's `types.NamespacedName`): ordered by namespace,
/// then name, and printed `namespace/name`. Components name it by role (`ServiceKey`,
/// `IngressRef`, …).
public struct NamespacedName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// The namespace and name of an object.
    public init(_ object: some Resource) {
        self.init(namespace: object.namespace, name: object.name)
    }

    public static func < (a: NamespacedName, b: NamespacedName) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
    public var description: String { "\(namespace)/\(name)" }
}
