import Foundation
import KubeModel

/// An immutable, consistent view of the objects of some kinds at one resourceVersion, with
/// typed values decoded once. Components render their desired state from it.
///
/// Each object is kept as its compact JSON text next to its typed value, and turned back into
/// a JSON tree only when asked for (components read typed values; raw objects are wanted only
/// to write back): a tree costs about four times its text in memory.
public struct CacheSnapshot: InformerState {
    struct Entry: Sendable {
        var json: Data
        var typed: (any Resource)?

        /// The JSON tree again (the text was written from a valid object, so this succeeds).
        var object: Object? { (try? JSONValue.parse(json)).flatMap { try? Object(json: $0) } }
    }

    public internal(set) var resourceVersion: Int64
    /// False until the first full list has been read.
    public internal(set) var isSynced: Bool
    var entries: [ResourceType: [ObjectKey: Entry]]
    /// The resourceVersion of the last change to each kind (the list's for kinds unchanged since).
    var revisions: [ResourceType: Int64] = [:]

    public init(resourceVersion: Int64, isSynced: Bool) {
        self.resourceVersion = resourceVersion
        self.isSynced = isSynced
        entries = [:]
    }

    /// A synced snapshot holding exactly `objects` (for tests and for explain commands).
    public init(objects: [Object], resourceVersion: Int64 = 1) {
        self.init(resourceVersion: resourceVersion, isSynced: true)
        for object in objects { upsert(object) }
    }

    public mutating func apply(_ event: WatchEvent) {
        resourceVersion = event.resourceVersion
        switch event.kind {
        case .added, .modified: upsert(event.object)
        case .deleted: remove(event.object)
        }
    }

    mutating func upsert(_ object: Object) {
        let entry = Entry(json: object.json.jsonData(), typed: Scheme.decode(object))
        entries[object.type, default: [:]][object.key] = entry
        revisions[object.type] = resourceVersion
    }

    mutating func remove(_ object: Object) {
        entries[object.type]?[object.key] = nil
        revisions[object.type] = resourceVersion
    }

    /// A number that changes whenever an object of `type` is added, changed or removed: lets a
    /// component that reads a few kinds of a shared cache skip snapshots that changed others.
    public func revision(of type: ResourceType) -> Int64 {
        revisions[type] ?? 0
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

    /// The object as stored; nil when absent or when the snapshot keeps only typed values.
    public func object(_ key: ObjectKey) -> Object? {
        entries[key.type]?[key]?.object
    }

    /// The number of objects of a kind.
    public func count(_ type: ResourceType) -> Int { entries[type]?.count ?? 0 }
}
