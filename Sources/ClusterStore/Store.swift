import KubeModel

/// Where kplane's objects live. The embedded default is `SQLiteStore`; `MemoryStore` has the
/// same semantics for tests; a store backed by a real API server can implement the same
/// protocol. All API-server behaviour (defaulting, validation, allocation, optimistic
/// concurrency, finalizers) sits behind it.
public protocol Store: Sendable {
    func create(_ object: Object) async throws -> Object
    /// Replaces spec and metadata; a non-empty stale `resourceVersion` fails with a conflict.
    func update(_ object: Object) async throws -> Object
    /// Replaces only the status.
    func updateStatus(_ object: Object) async throws -> Object
    /// Deletes, or marks for deletion while finalizers remain. Returns the object as it was left.
    func delete(_ key: ObjectKey) async throws -> Object?
    func get(_ key: ObjectKey) async throws -> Object?
    func list(_ type: ResourceType, namespace: String?) async throws -> ObjectList
    /// One page of `list`: at most `limit` objects after `after`, in namespace/name order (the
    /// API server's `limit` and `continue`). Pages are read at different times: a reader that
    /// watches from a resourceVersion taken before the first page sees every change it missed.
    func list(_ type: ResourceType, namespace: String?, limit: Int, after: ObjectKey?) async throws -> ObjectList
    /// kubectl-apply semantics for every object, in one transaction: all or nothing. Each
    /// object is parsed from its text only while it is applied (a manifest of 30,000 objects
    /// never has every tree in memory at once).
    func apply(_ objects: [EncodedObject]) async throws -> [ApplyResult]
    /// Deletes several objects in one transaction (missing ones are skipped).
    func delete(_ keys: [ObjectKey]) async throws -> [Object]
    /// Many writes in one transaction, each with its own result: groups of ordered writes,
    /// where a refused write (conflict, invalid, …) is undone alone and skips the rest of its
    /// group only. Throws only when the storage itself fails (then nothing was written).
    /// See `StoreWrite`.
    func write(_ groups: [[StoreWrite]]) async throws -> [[StoreWriteResult]]
    /// Events after `resourceVersion`, for the given kinds, until the task is cancelled.
    func watch(_ types: Set<ResourceType>, from resourceVersion: Int64) -> AsyncThrowingStream<WatchEvent, any Error>
    /// The newest resourceVersion.
    func currentResourceVersion() async throws -> Int64
}

/// A list with the resourceVersion it was read at (watch from there).
public struct ObjectList: Sendable {
    public var items: [Object]
    public var resourceVersion: Int64
    /// Where the next page starts (its `after`), when this is a full page of a paged list.
    public var continueAfter: ObjectKey?

    public init(items: [Object], resourceVersion: Int64, continueAfter: ObjectKey? = nil) {
        self.items = items
        self.resourceVersion = resourceVersion
        self.continueAfter = continueAfter
    }
}

/// One change to one object.
public struct WatchEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    public var kind: Kind
    public var object: Object
    public var resourceVersion: Int64

    public init(kind: Kind, object: Object, resourceVersion: Int64) {
        self.kind = kind
        self.object = object
        self.resourceVersion = resourceVersion
    }
}

/// What `apply` did to one object, printed as kubectl does (`service/web created`). (Not the
/// object itself: the results of a large apply would hold every object written.)
public struct ApplyResult: Sendable, Hashable, CustomStringConvertible {
    public enum Action: String, Sendable, Hashable {
        case created, configured, unchanged
    }

    public var key: ObjectKey
    public var action: Action

    public var description: String { "\(key.type.namePrefix)/\(key.name) \(action.rawValue)" }
}

/// An API error with the API server's reason and message.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable {
        case notFound = "NotFound"
        case alreadyExists = "AlreadyExists"
        case conflict = "Conflict"
        case invalid = "Invalid"
        case forbidden = "Forbidden"
        case badRequest = "BadRequest"
        case expired = "Expired"
        case internalError = "InternalError"
    }

    public var reason: Reason
    public var message: String
    /// For `invalid`: the field errors.
    public var causes: [FieldError]
    /// For a failed `apply`: the position of the object that failed.
    public var objectIndex: Int?

    public init(_ reason: Reason, _ message: String, causes: [FieldError] = []) {
        self.reason = reason
        self.message = message
        self.causes = causes
    }

    public var description: String { message }

    /// HTTP-style status code, as the API server would answer.
    public var code: Int {
        switch reason {
        case .notFound: return 404
        case .alreadyExists, .conflict: return 409
        case .invalid: return 422
        case .forbidden: return 403
        case .badRequest: return 400
        case .expired: return 410
        case .internalError: return 500
        }
    }

    /// The same error, attributed to the `index`-th object of an apply.
    func at(_ index: Int) -> StoreError {
        var copy = self
        copy.objectIndex = index
        return copy
    }

    static func notFound(_ key: ObjectKey) -> StoreError {
        StoreError(.notFound, "\(key.type.resource) \"\(key.name)\" not found")
    }

    static func invalid(_ object: Object, _ errors: [FieldError]) -> StoreError {
        StoreError(.invalid, invalidMessage(kind: object.type.kind, name: object.name, errors: errors), causes: errors)
    }
}

extension Store {
    /// `apply` of objects at hand.
    public func apply(_ objects: [Object]) async throws -> [ApplyResult] {
        try await apply(objects.map(EncodedObject.init))
    }

    public func get<T: Resource>(_ type: T.Type, namespace: String = "", name: String) async throws -> T? {
        try await get(ObjectKey(type: T.resourceType, namespace: namespace, name: name))?.decode(T.self)
    }

    public func list<T: Resource>(_ type: T.Type, namespace: String? = nil) async throws -> [T] {
        try await list(T.resourceType, namespace: namespace).items.map { try $0.decode(T.self) }
    }
}
