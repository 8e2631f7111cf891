import GRDBSQLite

/// Tells the watch poller whether anything was committed since it last asked, for the price
/// of one `PRAGMA data_version` on a connection of its own: the number changes when another
/// connection, in this process or another, commits. Without it every poll (50 a second) read
/// the event log through the connection pool, which was most of an idle kplane's CPU.
final class SQLiteChangeDetector {
    private var connection: OpaquePointer?
    private var statement: OpaquePointer?
    private var last: Int64?

    /// A read-only connection to the database at `path`; nil when it cannot be opened (the
    /// poller then reads the event log every time).
    init?(path: String) {
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
              sqlite3_prepare_v2(connection, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK else {
            sqlite3_finalize(statement)
            sqlite3_close(connection)
            return nil
        }
    }

    deinit {
        sqlite3_finalize(statement)
        sqlite3_close(connection)
    }

    /// Whether a commit happened since the last call; true the first time and on any error.
    func changed() -> Bool {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return true }
        let version = sqlite3_column_int64(statement, 0)
        defer { last = version }
        return version != last
    }
}
