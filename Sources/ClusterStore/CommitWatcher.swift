import Foundation
import Synchronization

/// Looks for commits every `interval` on a thread of its own and wakes the watch poller only
/// when there is something to read, or when the poller asked to be woken anyway (it has not
/// read to the end of the log, or has memory to give back after a write). Sleeping and waking
/// through `Task.sleep` cost five context switches per poll (dispatch's timer thread, then a
/// worker): an idle kplane was woken 270 times a second by a poll that found nothing.
final class CommitWatcher: @unchecked Sendable {
    // Unchecked: `detector` is used by the watcher's thread only; the rest is atomic or immutable.
    private let detector: SQLiteChangeDetector?
    private let interval: Duration
    private let stopped = Atomic<Bool>(false)
    /// Set by the poller: wake it at the next look even if nothing was committed.
    let wakeAnyway = Atomic<Bool>(true)
    /// One element per wake-up (coalesced while the poller is busy).
    let wakeUps: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init(path: String, interval: Duration) {
        detector = SQLiteChangeDetector(path: path)
        self.interval = interval
        (wakeUps, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        // Named from inside: on Linux, Foundation names only the thread it runs on.
        Thread { [self] in
            Thread.current.name = "kplane-commits"
            run()
        }.start()
    }

    private func run() {
        let (seconds, attoseconds) = interval.components
        var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        while !stopped.load(ordering: .relaxed) {
            nanosleep(&pause, nil)
            let committed = detector?.changed() ?? true
            if committed || wakeAnyway.load(ordering: .relaxed) { continuation.yield() }
        }
        continuation.finish()
    }

    /// Ends the thread (at its next look) and the stream.
    func stop() { stopped.store(true, ordering: .relaxed) }
}
