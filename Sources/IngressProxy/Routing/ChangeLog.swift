import Synchronization

/// What changed in the inputs, for consumers that follow them from one snapshot to the next.
/// It keeps the most recent `capacity` entries: a consumer that fell further behind (or is
/// looking at a state listed anew) starts over, which a burst that large needs anyway.
struct ChangeLog<Entry: Sendable & Hashable>: Sendable {
    static var capacity: Int { 4096 }

    /// Identifies one listing: logs of different listings cannot be compared.
    let listing = ChangeLogListing.next()

    /// Entries newer than `complete`, with their resource versions, oldest first.
    private var entries: [(rv: Int64, entry: Entry)] = []
    /// Every change newer than this version is in `entries`.
    private var complete: Int64 = -1

    mutating func append(_ entry: Entry, at rv: Int64) {
        if entries.count >= Self.capacity {
            entries.removeAll(keepingCapacity: true)
            complete = rv
            return
        }
        entries.append((rv, entry))
    }

    /// The entries after `rv` of the same listing, or nil when they are no longer all known.
    func since(_ rv: Int64, listing: Int) -> [Entry]? {
        guard listing == self.listing, rv >= complete else { return nil }
        var out: [Entry] = []
        for e in entries.reversed() {
            if e.rv <= rv { break }
            out.append(e.entry)
        }
        return out.reversed()
    }
}

enum ChangeLogListing {
    private static let counter = Atomic<Int>(0)
    static func next() -> Int { counter.wrappingAdd(1, ordering: .relaxed).oldValue }
}
