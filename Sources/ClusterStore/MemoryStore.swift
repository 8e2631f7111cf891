import KubeModel
import Synchronization

/// A store kept in memory, with exactly the semantics of `SQLiteStore` (the same `APIServer`
/// logic runs on top). For tests and for components that need a scratch store.
public final class MemoryStore: Store {
    struct State {
        var objects: [ObjectKey: Object] = [:]
        var resourceVersion: Int64 = 0
        var allocations: [String: [String: String]] = [:]
        var events: [WatchEvent] = []
    }

    /// Events kept for watchers that resume from an older resourceVersion.
    static let eventRetention = 100_000

    private let state = Mutex(State())
    private let hub = WatchHub(lastPublished: 0)
    private let api: APIServer

    public init(configuration: APIServer.Configuration = .init(), bootstrap: Bool = true) {
        api = APIServer(configuration: configuration)
        if bootstrap {
            // Bootstrap objects are valid by construction; a failure here is a programming error.
            try! transaction { txn in try Bootstrap.ensure(api: api, in: txn) }
        }
    }

    /// Runs `body` atomically: on error nothing it did is kept.
    private func transaction<T: Sendable>(_ body: (MemoryTransaction) throws -> T) throws -> T {
        let (result, events) = try state.withLock { state -> (T, [WatchEvent]) in
            // The transaction owns the state while it runs (moved, not shared: a shared copy
            // would make the first change copy every object and every retained event) and
            // undoes its own changes on error.
            let txn = MemoryTransaction(state: state)
            state = State()
            defer { state = txn.takeState() }
            let result = try txn.savepoint { try body(txn) }
            let events = txn.events
            txn.state.events.append(contentsOf: events)
            if txn.state.events.count > MemoryStore.eventRetention {
                txn.state.events.removeFirst(txn.state.events.count - MemoryStore.eventRetention)
            }
            return (result, events)
        }
        hub.publish(events)
        return result
    }

    public func create(_ object: Object) async throws -> Object {
        try transaction { try api.create(object, in: $0) }
    }

    public func update(_ object: Object) async throws -> Object {
        try transaction { try api.update(object, in: $0) }
    }

    public func updateStatus(_ object: Object) async throws -> Object {
        try transaction { try api.updateStatus(object, in: $0) }
    }

    public func delete(_ key: ObjectKey) async throws -> Object? {
        let deleted = try transaction { try api.delete(key, in: $0) }
        guard let deleted else { throw StoreError.notFound(key) }
        return deleted
    }

    public func delete(_ keys: [ObjectKey]) async throws -> [Object] {
        try transaction { txn in try keys.compactMap { try api.delete($0, in: txn) } }
    }

    public func get(_ key: ObjectKey) async throws -> Object? {
        state.withLock { $0.objects[key] }
    }

    public func list(_ type: ResourceType, namespace: String?) async throws -> ObjectList {
        try await list(type, namespace: namespace, limit: .max, after: nil)
    }

    public func list(_ type: ResourceType, namespace: String?, limit: Int, after: ObjectKey?) async throws -> ObjectList {
        state.withLock { state in
            // Only the keys after the page's start are sorted, and only the page's objects copied:
            // an informer listing 10,000 objects 500 at a time no longer sorts all of them 20 times.
            var keys = state.objects.keys.filter { key in
                key.type == type && (namespace == nil || key.namespace == namespace) && (after.map { key > $0 } ?? true)
            }
            keys.sort()
            let items = keys.prefix(max(1, limit)).map { state.objects[$0]! }
            return ObjectList(items: items, resourceVersion: state.resourceVersion,
                              continueAfter: items.count >= limit ? items.last?.key : nil)
        }
    }

    public func apply(_ objects: [EncodedObject]) async throws -> [ApplyResult] {
        try transaction { txn in try api.apply(objects, in: txn) }
    }

    public func write(_ groups: [[StoreWrite]]) async throws -> [[StoreWriteResult]] {
        try transaction { txn in try api.write(groups, in: txn) }
    }

    public func currentResourceVersion() async throws -> Int64 {
        state.withLock { $0.resourceVersion }
    }

    public func watch(_ types: Set<ResourceType>, from resourceVersion: Int64) -> AsyncThrowingStream<WatchEvent, any Error> {
        hub.subscribe(types, from: resourceVersion) { from, to in
            try state.withLock { state in
                if let first = state.events.first, first.resourceVersion > from + 1 {
                    throw StoreError(.expired, "too old resource version: \(from) (\(first.resourceVersion - 1))")
                }
                return state.events.filter { $0.resourceVersion > from && $0.resourceVersion <= to }
            }
        }
    }
}

/// A transaction that changes the state in place and keeps an undo journal while a
/// savepoint is open (the whole transaction is one; a batch opens one per write).
final class MemoryTransaction: StorageTransaction {
    var state: MemoryStore.State
    /// Events of this transaction, not yet in `state.events`.
    var events: [WatchEvent] = []

    private enum Undo {
        case object(ObjectKey, Object?)
        case allocation(pool: String, value: String, owner: String?)
    }

    /// What to undo, oldest first, while a savepoint is open.
    private var journal: [Undo] = []
    private var depth = 0

    init(state: MemoryStore.State) { self.state = state }

    /// Hands the state back, leaving this transaction empty.
    func takeState() -> MemoryStore.State {
        let taken = state
        state = MemoryStore.State()
        return taken
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        let start = journal.count
        let resourceVersion = state.resourceVersion
        let eventCount = events.count
        depth += 1
        defer {
            depth -= 1
            if depth == 0 { journal.removeAll() }
        }
        do {
            return try body()
        } catch {
            for undo in journal[start...].reversed() {
                switch undo {
                case .object(let key, let object): state.objects[key] = object
                case .allocation(let pool, let value, let owner): state.allocations[pool, default: [:]][value] = owner
                }
            }
            journal.removeSubrange(start...)
            state.resourceVersion = resourceVersion
            events.removeSubrange(eventCount...)
            throw error
        }
    }

    private func remember(_ key: ObjectKey) {
        if depth > 0 { journal.append(.object(key, state.objects[key])) }
    }

    private func remember(pool: String, value: String) {
        if depth > 0 { journal.append(.allocation(pool: pool, value: value, owner: state.allocations[pool]?[value])) }
    }

    func get(_ key: ObjectKey) throws -> Object? { state.objects[key] }

    func list(_ type: ResourceType, namespace: String?) throws -> [Object] {
        state.objects.values.filter { $0.type == type && (namespace == nil || $0.namespace == namespace) }.sorted { $0.key < $1.key }
    }

    func put(_ object: Object, event: WatchEvent.Kind, resourceVersion: Int64) throws {
        remember(object.key)
        state.objects[object.key] = object
        events.append(WatchEvent(kind: event, object: object, resourceVersion: resourceVersion))
    }

    func remove(_ object: Object, resourceVersion: Int64) throws {
        remember(object.key)
        state.objects[object.key] = nil
        events.append(WatchEvent(kind: .deleted, object: object, resourceVersion: resourceVersion))
    }

    func nextResourceVersion() throws -> Int64 {
        state.resourceVersion += 1
        return state.resourceVersion
    }

    func allocationOwner(pool: String, value: String) throws -> String? { state.allocations[pool]?[value] }

    func allocate(pool: String, value: String, owner: String) throws {
        remember(pool: pool, value: value)
        state.allocations[pool, default: [:]][value] = owner
    }

    func release(pool: String, value: String) throws {
        remember(pool: pool, value: value)
        state.allocations[pool]?[value] = nil
    }

    func allocations(pool: String, owner: String) throws -> [String] {
        (state.allocations[pool] ?? [:]).filter { $0.value == owner }.map(\.key).sorted()
    }
}
