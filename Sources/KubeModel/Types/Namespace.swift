/// `v1 Namespace`.
public struct Namespace: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Namespace", plural: "namespaces", shortNames: ["ns"], namespaced: false)

    public var metadata = ObjectMeta()
    public var spec = Spec()
    public var status = Status()

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var finalizers: [String]?
        public init() {}
    }

    public struct Status: Sendable, Hashable, Codable, EmptyInitializable {
        public var phase: String?
        public init() {}
    }

    public init() {}

    /// The label every namespace carries with its own name (used by NetworkPolicy selectors).
    public static let nameLabel = "kubernetes.io/metadata.name"

    public mutating func setDefaults() {
        if let name = metadata.name {
            var labels = metadata.labels ?? [:]
            labels[Namespace.nameLabel] = name
            metadata.labels = labels
        }
        if status.phase == nil { status.phase = "Active" }
    }

    public func validate() -> [FieldError] {
        validateMeta(nameRule: NameValidation.dns1123Label)
    }
}
