import HostSystem
import Logging
import KubeModel
import ServiceLifecycle
import Synchronization

/// What an informer keeps of the objects it follows: a value that takes one watch event at a
/// time. `CacheSnapshot` keeps whole objects for every component; a component that reads a few
/// fields of many objects keeps only those (client-go's transform, CoreDNS's reduced objects).
public protocol InformerState: Sendable {
    /// Nothing yet, at `resourceVersion`; `isSynced` once the first full list has been read.
    init(resourceVersion: Int64, isSynced: Bool)
    var resourceVersion: Int64 { get }
    var isSynced: Bool { get }
    /// Takes one listed object (`.added` at the list's resourceVersion) or watch event.
    mutating func apply(_ event: WatchEvent)
}

/// The shared informer cache of `kplane up`: whole objects of many kinds.
public typealias ClusterCache = Informer<CacheSnapshot>

/// The informer: lists some kinds, then watches them, keeping a `State` current. Consumers
/// either read `snapshot` or iterate `snapshots()`, which always yields the newest state and
/// drops intermediate ones (so a burst of changes costs one render).
public final class Informer<State: InformerState>: ServiceLifecycle.Service, Sendable {
    private struct Shared {
        var snapshot: State
        /// Changes applied but not yet published (watch events arrive faster than renders).
        var working: State?
        var subscribers: [Int: AsyncStream<State>.Continuation] = [:]
        var nextID = 0
        /// Events taken since the last trim request.
        var eventsSinceTrim = 0

        mutating func publish(_ newest: State) {
            snapshot = newest
            working = nil
            for c in subscribers.values { c.yield(newest) }
        }
    }

    /// Publishing shares the snapshot's storage, so the next change copies it: publishing at
    /// most this often keeps a burst of N events O(N) instead of O(N²).
    static var publishInterval: Duration { .milliseconds(5) }
    /// Objects read per page of the initial list (client-go's default).
    static var listPage: Int { 500 }
    /// Events after which the heap is worth trimming once things calm down: the events, the
    /// replaced objects and the renders they caused are garbage by then.
    static var burst: Int { 256 }

    public let store: any Store
    public let types: [ResourceType]
    private let logger: Logger
    private let makeState: @Sendable (_ resourceVersion: Int64, _ isSynced: Bool) -> State
    private let state: Mutex<Shared>

    /// `makeState` makes an empty state (for a state type with settings of its own).
    public init(store: any Store, types: [ResourceType], logger: Logger,
                makeState: @escaping @Sendable (_ resourceVersion: Int64, _ isSynced: Bool) -> State = { State(resourceVersion: $0, isSynced: $1) }) {
        self.store = store
        self.types = types
        self.logger = logger
        self.makeState = makeState
        state = Mutex(Shared(snapshot: makeState(0, false)))
    }

    /// The current view.
    public var snapshot: State { state.withLock { $0.snapshot } }

    /// Views as they change: the first once the cache is synced, then the newest after each change.
    public func snapshots() -> AsyncStream<State> {
        let (stream, continuation) = AsyncStream<State>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            if state.snapshot.isSynced { continuation.yield(state.snapshot) }
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Waits until the first full list has been read.
    public func waitUntilSynced() async -> State? {
        for await snapshot in snapshots() where snapshot.isSynced { return snapshot }
        return nil
    }

    private func publish(_ snapshot: State) {
        state.withLock { $0.publish(snapshot) }
    }

    /// Publishes pending changes, if any.
    private func flush() {
        state.withLock { state in
            guard let working = state.working else { return }
            state.publish(working)
            if state.eventsSinceTrim >= Self.burst {
                state.eventsSinceTrim = 0
                HostMemory.requestTrim()
            }
        }
    }

    public func run() async throws {
        defer {
            // Finished outside the lock: each subscriber's termination handler takes it.
            let subscribers = state.withLock { state in
                let all = Array(state.subscribers.values)
                state.subscribers = [:]
                return all
            }
            for c in subscribers { c.finish() }
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await listAndWatch()
            } catch is CancellationError {
                return
            } catch let error as StoreError where error.reason == .expired {
                logger.info("cache.relist", metadata: ["reason": "\(error.message)"])
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("cache.watch.failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func listAndWatch() async throws {
        let rv = try await store.currentResourceVersion()
        var snapshot = makeState(rv, true)
        var listedAt = rv
        for type in types {
            // A page at a time, as client-go's informers list: 10,000 objects parsed at once
            // were 40 MB held together, which the allocator kept long after.
            var after: ObjectKey?
            repeat {
                let page = try await store.list(type, namespace: nil, limit: Self.listPage, after: after)
                // Pages may have seen writes newer than `rv`; replaying them from the log is harmless.
                for object in page.items { snapshot.apply(WatchEvent(kind: .added, object: object, resourceVersion: rv)) }
                listedAt = max(listedAt, page.resourceVersion)
                after = page.continueAfter
            } while after != nil
        }
        publish(snapshot)
        HostMemory.requestTrim()
        logger.debug("cache.synced", metadata: ["rv": "\(rv)", "listed": "\(listedAt)"])
        // The first change after a publish wakes the flusher, which publishes what has piled up
        // `publishInterval` later. An idle informer has no timer (a 5 ms timer per informer woke
        // the process 200 times a second, and took that time from the ingress's event loop).
        let (changes, changed) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let flusher = Task {
            for await _ in changes {
                try? await Task.sleep(for: Self.publishInterval)
                flush()
            }
        }
        defer {
            changed.finish()
            flusher.cancel()
        }
        for try await event in store.watch(Set(types), from: rv).cancelOnGracefulShutdown() {
            let first = state.withLock { state in
                let first = state.working == nil
                var working = state.working ?? state.snapshot
                state.working = nil
                working.apply(event)
                state.working = working
                state.eventsSinceTrim += 1
                return first
            }
            if first { changed.yield() }
        }
    }
}
