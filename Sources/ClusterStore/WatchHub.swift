import KubeModel
import Synchronization

/// Fans events out to watchers. A new watcher first gets the events it missed (from
/// `backlog`), then live ones, with no gap and no duplicate: both happen under one lock.
final class WatchHub: Sendable {
    private struct Subscriber {
        var types: Set<ResourceType>
        /// The resourceVersion it watches from: a store that publishes late (SQLite's poller)
        /// may publish events this subscriber's start already covers.
        var after: Int64
        var continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation
        var backlog: Backlog
    }

    /// Events sent to one watcher and not yet taken by it.
    final class Backlog: Sendable {
        let count = Atomic<Int>(0)
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
        var lastPublished: Int64
    }

    private let state: Mutex<State>

    init(lastPublished: Int64) {
        state = Mutex(State(lastPublished: lastPublished))
    }

    var lastPublished: Int64 { state.withLock { $0.lastPublished } }
    var subscriberCount: Int { state.withLock { $0.subscribers.count } }
    /// The most events any watcher has been sent and not yet taken: a store that reads events
    /// in pages (SQLite's poller) waits for it to fall before parsing the next page.
    var largestBacklog: Int { state.withLock { $0.subscribers.values.map { $0.backlog.count.load(ordering: .relaxed) }.max() ?? 0 } }

    /// Delivers events (in resourceVersion order) to every interested watcher.
    func publish(_ events: [WatchEvent]) {
        guard !events.isEmpty else { return }
        state.withLock { state in
            for event in events where event.resourceVersion > state.lastPublished {
                for sub in state.subscribers.values where sub.types.contains(event.object.type) && event.resourceVersion > sub.after {
                    sub.backlog.count.add(1, ordering: .relaxed)
                    sub.continuation.yield(event)
                }
                state.lastPublished = event.resourceVersion
            }
        }
    }

    /// Registers a watcher from `resourceVersion`. `backlog(from, to)` must return the events
    /// in that range, or throw `StoreError(.expired)` when they are no longer kept.
    func subscribe(
        _ types: Set<ResourceType>,
        from resourceVersion: Int64,
        backlog: (Int64, Int64) throws -> [WatchEvent]
    ) -> AsyncThrowingStream<WatchEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<WatchEvent, any Error>.makeStream()
        let sent = Backlog()
        let id: Int? = state.withLock { state in
            if resourceVersion < state.lastPublished {
                do {
                    for event in try backlog(resourceVersion, state.lastPublished) where types.contains(event.object.type) {
                        sent.count.add(1, ordering: .relaxed)
                        continuation.yield(event)
                    }
                } catch {
                    continuation.finish(throwing: error)
                    return nil
                }
            }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(types: types, after: resourceVersion, continuation: continuation, backlog: sent)
            return id
        }
        if let id {
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
        }
        let taker = Taker(stream.makeAsyncIterator(), sent)
        return AsyncThrowingStream { try await taker.next() }
    }

    /// Takes events from a watcher's stream, counting them off its backlog.
    private final class Taker: @unchecked Sendable {
        // Unchecked: only the watch stream's one consumer calls `next`, one call at a time.
        private var iterator: AsyncThrowingStream<WatchEvent, any Error>.AsyncIterator
        private let backlog: Backlog

        init(_ iterator: AsyncThrowingStream<WatchEvent, any Error>.AsyncIterator, _ backlog: Backlog) {
            self.iterator = iterator
            self.backlog = backlog
        }

        func next() async throws -> WatchEvent? {
            let event = try await iterator.next()
            if event != nil { backlog.count.subtract(1, ordering: .relaxed) }
            return event
        }
    }
}
