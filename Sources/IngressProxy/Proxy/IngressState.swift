import Synchronization

/// The current route and certificate tables. Readers take one consistent pair per request or
/// handshake; a change swaps the pair, so requests in flight keep the tables they started with.
///
/// Connections read the tables without a lock: they keep the last `Snapshot` they saw and
/// compare its generation with an atomic counter, taking the lock only after a swap.
public final class IngressState: Sendable {
    /// One generation of tables.
    public struct Tables: Sendable {
        public var routes: RouteTable
        public var certificates: CertificateTable?
        public var generation: Int
    }

    /// One generation of tables in a box, so that readers keep it with one reference.
    final class Snapshot: Sendable {
        let tables: Tables
        init(_ tables: Tables) { self.tables = tables }
    }

    private let snapshot: Mutex<Snapshot>
    private let generation = Atomic<Int>(0)

    public init(routes: RouteTable = .empty, certificates: CertificateTable? = nil) {
        snapshot = Mutex(Snapshot(Tables(routes: routes, certificates: certificates, generation: 0)))
    }

    public var current: Tables { snapshot.withLock { $0 }.tables }
    public var routes: RouteTable { current.routes }

    /// The current snapshot, reusing `cached` (no lock, no reference counting of the tables)
    /// while no swap happened since it was taken.
    func refresh(_ cached: Snapshot?) -> Snapshot {
        if let cached, cached.tables.generation == generation.load(ordering: .acquiring) { return cached }
        return snapshot.withLock { $0 }
    }

    /// Installs new tables; `certificates` nil keeps the current certificate table.
    public func swap(routes: RouteTable, certificates: CertificateTable?) {
        snapshot.withLock { s in
            let next = s.tables.generation + 1
            s = Snapshot(Tables(routes: routes, certificates: certificates ?? s.tables.certificates, generation: next))
            generation.store(next, ordering: .releasing)
        }
    }
}
