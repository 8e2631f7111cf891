import KubeModel
import Synchronization

/// Remembers the revisions of the kinds a component reads, so that it can skip the snapshots
/// of a shared cache in which only other kinds changed.
public final class KindRevisions: Sendable {
    private let types: [ResourceType]
    private let last = Mutex<[Int64]?>(nil)

    public init(_ types: [ResourceType]) {
        self.types = types
    }

    /// True the first time, then whenever an object of one of the kinds changed since the
    /// previous call.
    public func changed(_ snapshot: CacheSnapshot) -> Bool {
        let now = types.map { snapshot.revision(of: $0) }
        return last.withLock { last in
            defer { last = now }
            return last != now
        }
    }
}
