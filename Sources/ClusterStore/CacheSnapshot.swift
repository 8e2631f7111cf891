import KubeModel

/// An immutable, consistent view of the objects of some kinds at one resourceVersion, with
/// typed values decoded once. Components render their desired state from it.
public struct CacheSnapshot: Sendable {
    struct Entry: Sendable {
        var object: Object
        var typed: (any Resource)?
    }

    public internal(set) var resourceVersion: Int64
    /// False until the first full list has been read.
    public internal(set) var isSynced: Bool
    var entries: [ResourceType: [ObjectKey: Entry]]

    init(resourceVersion: Int64, isSynced: Bool) {
        self.resourceVersion = resourceVersion
        self.isSynced = isSynced
        entries = [:]
    }

    /// A synced snapshot holding exactly `objects` (for tests and for explain commands).
    public init(objects: [Object], resourceVersion: Int64 = 1) {
        self.init(resourceVersion: resourceVersion, isSynced: true)
        for object in objects { upsert(object) }
    }

    mutating func upsert(_ object: Object) {
        entries[object.type, default: [:]][object.key] = Entry(object: object, typed: Scheme.decode(object))
    }

    mutating func remove(_ object: Object) {
        entries[object.type]?[object.key] = nil
    }

    /// Typed objects of a kind, sorted by namespace and name.
    public func list<T: Resource>(_ type: T.Type, namespace: String? = nil) -> [T] {
        guard let byKey = entries[T.resourceType] else { return [] }
        return byKey.filter { namespace == nil || $0.key.namespace == namespace }
            .sorted { $0.key < $1.key }
            .compactMap { $0.value.typed as? T }
    }

    /// Typed objects of a kind in no particular order: for consumers that index them by key
    /// themselves (`list` sorts, which costs milliseconds per pass at 10,000 objects).
    public func unordered<T: Resource>(_ type: T.Type) -> [T] {
        guard let byKey = entries[T.resourceType] else { return [] }
        var out: [T] = []
        out.reserveCapacity(byKey.count)
        for entry in byKey.values {
            if let typed = entry.typed as? T { out.append(typed) }
        }
        return out
    }

    public func get<T: Resource>(_ type: T.Type, namespace: String = "", name: String) -> T? {
        entries[T.resourceType]?[ObjectKey(type: T.resourceType, namespace: namespace, name: name)]?.typed as? T
    }

    /// Raw objects of a kind, sorted by namespace and name.
    public func objects(_ type: ResourceType) -> [Object] {
        (entries[type] ?? [:]).sorted { $0.key < $1.key }.map(\.value.object)
    }

    public func object(_ key: ObjectKey) -> Object? {
        entries[key.type]?[key]?.object
    }

    /// The number of objects of a kind.
    public func count(_ type: ResourceType) -> Int { entries[type]?.count ?? 0 }
}
