import KubeModel

/// The primitive operations a backend offers inside one atomic transaction. `APIServer`
/// builds Kubernetes semantics on top of these, once, for every backend.
protocol StorageTransaction {
    func get(_ key: ObjectKey) throws -> Object?
    func list(_ type: ResourceType, namespace: String?) throws -> [Object]
    /// Writes the object (its resourceVersion already set) and appends the event.
    func put(_ object: Object, event: WatchEvent.Kind, resourceVersion: Int64) throws
    /// Removes the object and appends a DELETED event carrying it.
    func remove(_ object: Object, resourceVersion: Int64) throws
    /// Increments and returns the store-wide resourceVersion counter.
    func nextResourceVersion() throws -> Int64
    /// The owner of an allocated value in a pool, if any.
    func allocationOwner(pool: String, value: String) throws -> String?
    func allocate(pool: String, value: String, owner: String) throws
    func release(pool: String, value: String) throws
    /// Every value a given owner holds in a pool.
    func allocations(pool: String, owner: String) throws -> [String]
    /// Runs `body`; when it throws, everything it did inside the transaction is undone
    /// (objects, events, allocations, the resourceVersion counter) and the error rethrown.
    func savepoint<T>(_ body: () throws -> T) throws -> T
}
