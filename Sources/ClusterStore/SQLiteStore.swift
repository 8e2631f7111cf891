import Foundation
import GRDB
import HostSystem
import KubeModel
import Synchronization

/// The embedded default store: one SQLite database (WAL mode) in the state directory.
/// Objects are JSON rows; every write appends to an event log so that watchers, in this
/// process or another (the CLI writes while `kplane up` runs), resume from a resourceVersion.
/// Each call is one IMMEDIATE transaction: an `apply` of many objects is all or nothing, and
/// concurrent writers queue on SQLite's lock instead of failing.
public final class SQLiteStore: Store {
    /// Events kept in the log; a watcher further behind must relist.
    static let eventRetention: Int64 = 100_000
    /// How often watchers look for changes written by other processes.
    static let pollInterval: Duration = .milliseconds(20)
    /// Events the watch poller reads at a time.
    static let pollPage = 256
    /// How many milliseconds the poller waits at most for watchers to take a page.
    static let backlogWaits = 100
    /// How long after the last write the connections give back their page caches.
    static let releaseAfter: Duration = .seconds(1)

    private let pool: DatabasePool
    private let api: APIServer
    private let hub: WatchHub
    /// The watch poller and the thread that wakes it, started by the first watch.
    private let poller = Mutex<(task: Task<Void, Never>, commits: CommitWatcher)?>(nil)
    /// When the last write since the caches were last released happened.
    private let lastWrite = Mutex<ContinuousClock.Instant?>(nil)
    public let path: String

    /// Opens (creating if needed) `kplane.db` in `directory`. A given configuration (service
    /// CIDR, node-port range) is remembered in the database so that every later opener, such
    /// as the CLI, allocates from the same ranges; without one the remembered one is used.
    public init(directory: String, configuration: APIServer.Configuration? = nil) throws {
        try StateDirectory.create(directory)
        path = (directory as NSString).appendingPathComponent("kplane.db")
        if !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_CREAT | O_WRONLY, 0o600)
            if fd >= 0 { close(fd) }
        }
        var config = Configuration()
        config.busyMode = .timeout(60)
        config.label = "kplane"
        config.prepareDatabase { db in
            // A large apply is one transaction: 16 MB keeps the b-trees' inner pages, the rest
            // spills to the WAL. (64 MB filled up: 70 of the 101 MB heap peak of applying
            // 10,000 Ingress rules, 30,000 objects, and no faster: `kplane-bench store --count
            // 30000` wrote 3,500 Services/s with 64, 16 or 2 MB.) WAL makes NORMAL safe
            // against crashes of the process; only an OS crash can lose the last commits.
            // Readers (lists, the watch poll) read each page about once: 64 KB keeps the index
            // pages, and a long-running process (DNS alone keeps about 150 bytes per Service) does not
            // hold megabytes of pages it read once per reader connection.
            if db.configuration.readonly {
                try db.execute(sql: "PRAGMA cache_size = -64")
                return
            }
            try db.execute(sql: "PRAGMA cache_size = -16384; PRAGMA synchronous = NORMAL")
        }
        // Switching a new database to WAL needs a lock that the busy timeout does not cover:
        // two processes opening a fresh state dir at once retry instead of failing.
        var attempt = 0
        var opened: (DatabasePool, APIServer.Configuration)?
        while opened == nil {
            do {
                let pool = try DatabasePool(path: path, configuration: config)
                let settings = try pool.write { db -> APIServer.Configuration in
                    try SQLiteStore.migrate(db)
                    return try SQLiteStore.settings(db, override: configuration)
                }
                opened = (pool, settings)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 200 {
                attempt += 1
                usleep(50_000)
            }
        }
        pool = opened!.0
        let settings = opened!.1
        let api = APIServer(configuration: settings)
        self.api = api
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try Bootstrap.ensure(api: api, in: SQLiteTransaction(db))
                return .commit
            }
        }
        let current = try pool.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'rv'") ?? 0 }
        hub = WatchHub(lastPublished: current)
    }

    deinit {
        poller.withLock { poller in
            poller?.task.cancel()
            poller?.commits.stop()
        }
    }

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS objects (
                kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
                PRIMARY KEY (kind, namespace, name)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS events (
                rv INTEGER PRIMARY KEY, type TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS allocations (
                pool TEXT NOT NULL, value TEXT NOT NULL, owner TEXT NOT NULL,
                PRIMARY KEY (pool, value)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS allocations_owner ON allocations (pool, owner);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO meta (key, value) VALUES ('rv', 0);
            CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """)
    }

    /// Reads the remembered configuration, or records `override` as the new one.
    static func settings(_ db: Database, override: APIServer.Configuration?) throws -> APIServer.Configuration {
        if let override {
            try db.execute(sql: "INSERT OR REPLACE INTO settings (key, value) VALUES ('service-cidr', ?), ('node-port-range', ?)",
                           arguments: [override.serviceCIDR.description, "\(override.nodePortRange.lowerBound)-\(override.nodePortRange.upperBound)"])
            return override
        }
        var config = APIServer.Configuration()
        if let text = try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'service-cidr'"), let cidr = CIDR(text) {
            config.serviceCIDR = cidr
        }
        if let text = try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'node-port-range'") {
            let bounds = text.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 2, bounds[0] <= bounds[1] { config.nodePortRange = bounds[0]...bounds[1] }
        }
        return config
    }

    /// One IMMEDIATE transaction; rolled back on any error.
    private func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteTransaction) throws -> T) async throws -> T {
        try await pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                let txn = SQLiteTransaction(db)
                result = try body(txn)
                // Compacted each time the counter passes a multiple of 1,000 (a batch can pass
                // one without landing on it).
                if let first = txn.firstResourceVersion, let rv = txn.lastResourceVersion, rv / 1000 != (first - 1) / 1000 {
                    try db.execute(sql: "DELETE FROM events WHERE rv <= ?", arguments: [rv - SQLiteStore.eventRetention])
                }
                return .commit
            }
            self.lastWrite.withLock { $0 = .now }
            return result!
        }
    }

    public func create(_ object: Object) async throws -> Object {
        try await write { try self.api.create(object, in: $0) }
    }

    public func update(_ object: Object) async throws -> Object {
        try await write { try self.api.update(object, in: $0) }
    }

    public func updateStatus(_ object: Object) async throws -> Object {
        try await write { try self.api.updateStatus(object, in: $0) }
    }

    public func delete(_ key: ObjectKey) async throws -> Object? {
        guard let deleted = try await write({ try self.api.delete(key, in: $0) }) else { throw StoreError.notFound(key) }
        return deleted
    }

    public func delete(_ keys: [ObjectKey]) async throws -> [Object] {
        try await write { txn in try keys.compactMap { try self.api.delete($0, in: txn) } }
    }

    public func apply(_ objects: [EncodedObject]) async throws -> [ApplyResult] {
        try await write { txn in try self.api.apply(objects, in: txn) }
    }

    public func write(_ groups: [[StoreWrite]]) async throws -> [[StoreWriteResult]] {
        try await write { txn in try self.api.write(groups, in: txn) }
    }

    public func get(_ key: ObjectKey) async throws -> Object? {
        try await pool.read { db in try SQLiteTransaction(db).get(key) }
    }

    public func list(_ type: ResourceType, namespace: String?) async throws -> ObjectList {
        try await list(type, namespace: namespace, limit: .max, after: nil)
    }

    public func list(_ type: ResourceType, namespace: String?, limit: Int, after: ObjectKey?) async throws -> ObjectList {
        try await pool.read { db in
            let rv = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'rv'") ?? 0
            var sql = "SELECT body FROM objects WHERE kind = ?"
            var arguments: StatementArguments = [type.resource]
            if let namespace {
                sql += " AND namespace = ?"
                _ = arguments.append(contentsOf: [namespace])
            }
            if let after {
                sql += " AND (namespace, name) > (?, ?)"
                _ = arguments.append(contentsOf: [after.namespace, after.name])
            }
            sql += " ORDER BY namespace, name LIMIT ?"
            _ = arguments.append(contentsOf: [max(1, limit)])
            let items = try String.fetchAll(db, sql: sql, arguments: arguments).map(SQLiteTransaction.decode)
            return ObjectList(items: items, resourceVersion: rv, continueAfter: items.count >= limit ? items.last?.key : nil)
        }
    }

    public func currentResourceVersion() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'rv'") ?? 0 }
    }

    public func watch(_ types: Set<ResourceType>, from resourceVersion: Int64) -> AsyncThrowingStream<WatchEvent, any Error> {
        startPolling()
        return hub.subscribe(types, from: resourceVersion) { from, to in
            try self.events(after: from, upTo: to)
        }
    }

    /// Reads logged events in (from, to], at most `limit` of them; fails with `expired` when
    /// they were compacted away.
    private func events(after from: Int64, upTo to: Int64?, limit: Int = Int.max) throws -> [WatchEvent] {
        try pool.read { db in
            let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(rv) FROM events") ?? 0
            if oldest > from + 1 {
                throw StoreError(.expired, "too old resource version: \(from) (\(oldest - 1))")
            }
            let rows = try Row.fetchAll(db, sql: "SELECT rv, type, body FROM events WHERE rv > ? AND rv <= ? ORDER BY rv LIMIT ?",
                                        arguments: [from, to ?? Int64.max, limit])
            return try rows.map { row in
                let body: String = row["body"]
                let object = try Object(json: JSONValue.parse(Data(body.utf8)))
                return WatchEvent(kind: WatchEvent.Kind(rawValue: row["type"]) ?? .modified, object: object, resourceVersion: row["rv"])
            }
        }
    }

    /// Publishes the events logged since the last published one, a page at a time, letting
    /// watchers take each before the next is read: a burst of 10,000 writes read at once held
    /// 10,000 parsed objects (40 MB), and the allocator kept that memory long after. A watcher
    /// that takes nothing for a while does not stop the others. True when the log was read to
    /// its end.
    private func publishNewEvents() async -> Bool {
        while hub.subscriberCount > 0, !Task.isCancelled {
            var waited = 0
            while hub.largestBacklog >= SQLiteStore.pollPage, waited < SQLiteStore.backlogWaits {
                try? await Task.sleep(for: .milliseconds(1))
                waited += 1
            }
            guard let events = try? self.events(after: hub.lastPublished, upTo: nil, limit: SQLiteStore.pollPage) else { return false }
            if events.isEmpty { return true }
            hub.publish(events)
        }
        return false
    }

    /// A large write (an apply of 10,000 objects, a controller's burst of status updates)
    /// leaves up to 16 MB of pages in the writer's cache: once writes have stopped for a while,
    /// the connections give them back (the OS keeps the file cached anyway).
    /// Returns whether a release is still to come (a write happened less than `releaseAfter` ago).
    private func releaseMemoryWhenIdle() -> Bool {
        let (idle, pending) = lastWrite.withLock { last -> (Bool, Bool) in
            guard let t = last else { return (false, false) }
            guard ContinuousClock.now - t > SQLiteStore.releaseAfter else { return (false, true) }
            last = nil
            return (true, false)
        }
        if idle {
            pool.releaseMemoryEventually()
            // The pages freed are worth giving back to the system too.
            HostMemory.requestTrim()
        }
        return pending
    }

    /// One background task per store publishes new events (from any process) when its
    /// `CommitWatcher` sees a commit, looking every `pollInterval`.
    private func startPolling() {
        poller.withLock { poller in
            guard poller == nil else { return }
            let commits = CommitWatcher(path: path, interval: SQLiteStore.pollInterval)
            let task = Task { [weak self] in
                for await _ in commits.wakeUps {
                    guard let self else { return }
                    // Not read to the end (no watcher yet, an error), or pages to give back
                    // soon: look again at the next tick even if nothing is committed.
                    let caughtUp = await self.publishNewEvents()
                    let releasePending = self.releaseMemoryWhenIdle()
                    commits.wakeAnyway.store(!caughtUp || releasePending, ordering: .relaxed)
                }
            }
            poller = (task, commits)
        }
    }
}

/// Storage primitives over one GRDB connection inside a transaction.
final class SQLiteTransaction: StorageTransaction {
    let db: Database
    private(set) var firstResourceVersion: Int64?
    private(set) var lastResourceVersion: Int64?

    init(_ db: Database) { self.db = db }

    static func decode(_ body: String) throws -> Object {
        try Object(json: JSONValue.parse(Data(body.utf8)))
    }

    func get(_ key: ObjectKey) throws -> Object? {
        try String.fetchOne(db, sql: "SELECT body FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
                            arguments: [key.type.resource, key.namespace, key.name]).map(SQLiteTransaction.decode)
    }

    func list(_ type: ResourceType, namespace: String?) throws -> [Object] {
        let bodies: [String]
        if let namespace {
            bodies = try String.fetchAll(db, sql: "SELECT body FROM objects WHERE kind = ? AND namespace = ? ORDER BY namespace, name",
                                         arguments: [type.resource, namespace])
        } else {
            bodies = try String.fetchAll(db, sql: "SELECT body FROM objects WHERE kind = ? ORDER BY namespace, name", arguments: [type.resource])
        }
        return try bodies.map(SQLiteTransaction.decode)
    }

    func put(_ object: Object, event: WatchEvent.Kind, resourceVersion: Int64) throws {
        let body = object.json.jsonString()
        try db.execute(sql: "INSERT OR REPLACE INTO objects (kind, namespace, name, body) VALUES (?, ?, ?, ?)",
                       arguments: [object.type.resource, object.namespace, object.name, body])
        try db.execute(sql: "INSERT INTO events (rv, type, kind, body) VALUES (?, ?, ?, ?)",
                       arguments: [resourceVersion, event.rawValue, object.type.resource, body])
    }

    func remove(_ object: Object, resourceVersion: Int64) throws {
        try db.execute(sql: "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
                       arguments: [object.type.resource, object.namespace, object.name])
        try db.execute(sql: "INSERT INTO events (rv, type, kind, body) VALUES (?, ?, ?, ?)",
                       arguments: [resourceVersion, WatchEvent.Kind.deleted.rawValue, object.type.resource, object.json.jsonString()])
    }

    func nextResourceVersion() throws -> Int64 {
        let rv = try Int64.fetchOne(db, sql: "UPDATE meta SET value = value + 1 WHERE key = 'rv' RETURNING value")!
        if firstResourceVersion == nil { firstResourceVersion = rv }
        lastResourceVersion = rv
        return rv
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        let last = lastResourceVersion
        try db.execute(sql: "SAVEPOINT item")
        do {
            let result = try body()
            try db.execute(sql: "RELEASE item")
            return result
        } catch {
            try db.execute(sql: "ROLLBACK TO item; RELEASE item")
            lastResourceVersion = last
            throw error
        }
    }

    func allocationOwner(pool: String, value: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT owner FROM allocations WHERE pool = ? AND value = ?", arguments: [pool, value])
    }

    func allocate(pool: String, value: String, owner: String) throws {
        try db.execute(sql: "INSERT INTO allocations (pool, value, owner) VALUES (?, ?, ?)", arguments: [pool, value, owner])
    }

    func release(pool: String, value: String) throws {
        try db.execute(sql: "DELETE FROM allocations WHERE pool = ? AND value = ?", arguments: [pool, value])
    }

    func allocations(pool: String, owner: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT value FROM allocations WHERE pool = ? AND owner = ? ORDER BY value", arguments: [pool, owner])
    }
}
