/// Identifies one stored object.
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let type: ResourceType
    public let namespace: String
    public let name: String

    public init(type: ResourceType, namespace: String, name: String) {
        self.type = type
        self.namespace = type.namespaced ? namespace : ""
        self.name = name
    }

    public static func < (a: ObjectKey, b: ObjectKey) -> Bool {
        (a.type.kind, a.namespace, a.name) < (b.type.kind, b.namespace, b.name)
    }

    /// `service/web` or `default/service/web` style.
    public var description: String {
        namespace.isEmpty ? "\(type.namePrefix)/\(name)" : "\(namespace)/\(type.namePrefix)/\(name)"
    }
}

/// One Kubernetes object as JSON, with its kind resolved. This is what the store keeps;
/// `decode(_:)` gives the typed view.
public struct Object: Sendable, Hashable {
    public private(set) var json: JSONValue
    public let type: ResourceType

    /// Wraps a JSON object whose apiVersion and kind are known to the scheme.
    public init(json: JSONValue) throws(SchemeError) {
        guard case .object = json else { throw .notAnObject }
        let apiVersion = json["apiVersion"]?.stringValue ?? ""
        let kind = json["kind"]?.stringValue ?? ""
        guard let type = Scheme.type(apiVersion: apiVersion, kind: kind) else {
            throw .unknownKind(apiVersion: apiVersion, kind: kind)
        }
        self.json = json
        self.type = type
    }

    /// Encodes a typed value, filling in apiVersion and kind.
    public init<T: Resource>(_ resource: T) {
        var json = (try? JSONValue.encode(resource)) ?? .object([:])
        json["apiVersion"] = .string(T.resourceType.apiVersion)
        json["kind"] = .string(T.resourceType.kind)
        self.json = json
        self.type = T.resourceType
    }

    public func decode<T: Resource>(_ type: T.Type = T.self) throws -> T {
        try json.decode(T.self)
    }

    public var key: ObjectKey { ObjectKey(type: type, namespace: namespace, name: name) }

    private func meta(_ field: String) -> JSONValue? { json["metadata"]?[field] }

    public var name: String { meta("name")?.stringValue ?? "" }
    public var namespace: String { type.namespaced ? (meta("namespace")?.stringValue ?? "") : "" }
    public var uid: String { meta("uid")?.stringValue ?? "" }
    public var resourceVersion: String { meta("resourceVersion")?.stringValue ?? "" }
    public var generation: Int64 { meta("generation")?.intValue ?? 0 }
    public var creationTimestamp: String { meta("creationTimestamp")?.stringValue ?? "" }
    public var deletionTimestamp: String? { meta("deletionTimestamp")?.stringValue }
    public var labels: [String: String] { stringMap(meta("labels")) }
    public var annotations: [String: String] { stringMap(meta("annotations")) }
    public var finalizers: [String] { meta("finalizers")?.arrayValue?.compactMap(\.stringValue) ?? [] }
    public var spec: JSONValue? { json["spec"] }
    public var status: JSONValue? { json["status"] }

    private func stringMap(_ v: JSONValue?) -> [String: String] {
        (v?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }

    /// Sets (or removes, with nil) one metadata field.
    public mutating func setMeta(_ field: String, _ value: JSONValue?) {
        var metadata = json["metadata"] ?? .object([:])
        if case .object = metadata {} else { metadata = .object([:]) }
        metadata[field] = value
        json["metadata"] = metadata
    }

    /// Sets (or removes) one annotation.
    public mutating func setAnnotation(_ key: String, _ value: String?) {
        var map = meta("annotations")?.objectValue ?? [:]
        map[key] = value.map { .string($0) }
        setMeta("annotations", map.isEmpty ? nil : .object(map))
    }

    /// Sets (or removes) one top-level field such as `status` or `spec`.
    public mutating func setField(_ field: String, _ value: JSONValue?) {
        json[field] = value
    }

    /// Replaces the whole JSON, keeping the kind.
    public mutating func replaceJSON(_ value: JSONValue) {
        json = value
    }
}

/// Errors of the scheme: a document that is not an object, or a kind kplane does not know.
public enum SchemeError: Error, Sendable, Hashable, CustomStringConvertible {
    case notAnObject
    case unknownKind(apiVersion: String, kind: String)

    public var description: String {
        switch self {
        case .notAnObject:
            return "the document is not a Kubernetes object (expected a mapping with apiVersion and kind)"
        case .unknownKind(let apiVersion, let kind):
            if kind.isEmpty { return "Object 'Kind' is missing" }
            if apiVersion.isEmpty { return "Object 'apiVersion' is missing for kind \"\(kind)\"" }
            return "no matches for kind \"\(kind)\" in version \"\(apiVersion)\""
        }
    }
}
