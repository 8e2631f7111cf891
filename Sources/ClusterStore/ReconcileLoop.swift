import Logging
import ServiceLifecycle

/// The loop every controller and node component runs: wait for the cache to change, then
/// render and apply from the newest snapshot, never more often than `minInterval`
/// (kube-proxy's minSyncPeriod), so a burst of changes costs one pass. It also runs every
/// `resync` to heal drift. A failing pass is logged and retried on the next change or
/// resync; it never stops the loop. Returns when the task is cancelled or, inside a
/// ServiceGroup, at graceful shutdown.
public enum ReconcileLoop {
    public static func run(
        cache: ClusterCache,
        name: String,
        minInterval: Duration = .milliseconds(20),
        resync: Duration = .seconds(30),
        logger: Logger,
        _ pass: @escaping @Sendable (CacheSnapshot) async throws -> Void
    ) async {
        await cancelWhenGracefulShutdown {
            await loop(cache: cache, name: name, minInterval: minInterval, resync: resync, logger: logger, pass)
        }
    }

    private static func loop(
        cache: ClusterCache,
        name: String,
        minInterval: Duration = .milliseconds(20),
        resync: Duration = .seconds(30),
        logger: Logger,
        _ pass: @escaping @Sendable (CacheSnapshot) async throws -> Void
    ) async {
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in cache.snapshots() { wake.yield() }
                wake.finish()
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: resync)
                    wake.yield()
                }
            }
            group.addTask {
                let clock = ContinuousClock()
                var lastPass: ContinuousClock.Instant?
                for await _ in wakeups {
                    if let lastPass, clock.now - lastPass < minInterval {
                        try? await Task.sleep(until: lastPass + minInterval, clock: clock)
                    }
                    if Task.isCancelled { break }
                    let snapshot = cache.snapshot
                    guard snapshot.isSynced else { continue }
                    lastPass = clock.now
                    do {
                        try await pass(snapshot)
                    } catch is CancellationError {
                        break
                    } catch {
                        logger.warning("reconcile.failed", metadata: ["controller": "\(name)", "error": "\(error)", "rv": "\(snapshot.resourceVersion)"])
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
