import Synchronization

/// The current route and certificate tables. Readers take one consistent pair per request or
/// handshake; a change swaps the pair, so requests in flight keep the tables they started with.
public final class IngressState: Sendable {
    /// One generation of tables.
    public struct Tables: Sendable {
        public var routes: RouteTable
        public var certificates: CertificateTable?
        public var generation: Int
    }

    private let tables: Mutex<Tables>

    public init(routes: RouteTable = .empty, certificates: CertificateTable? = nil) {
        tables = Mutex(Tables(routes: routes, certificates: certificates, generation: 0))
    }

    public var current: Tables { tables.withLock { $0 } }
    public var routes: RouteTable { tables.withLock { $0.routes } }

    /// Installs new tables; `certificates` nil keeps the current certificate table.
    public func swap(routes: RouteTable, certificates: CertificateTable?) {
        tables.withLock { t in
            t = Tables(routes: routes, certificates: certificates ?? t.certificates, generation: t.generation + 1)
        }
    }
}
