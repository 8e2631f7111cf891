/// The cache of forwarded answers: positive and negative, honouring TTLs, bounded in size.
/// A plain value: the caller supplies the time, so it is tested without a clock.
public struct ForwardCache: Sendable {
    /// What the cache keeps of an upstream response.
    public struct Entry: Sendable {
        public var rcode: RCode
        public var answers: [ResourceRecord]
        public var authorities: [ResourceRecord]
        public var additionals: [ResourceRecord]
        /// When it was stored and when it expires, in seconds of the caller's clock.
        var stored: Double
        var expires: Double

        /// True for NXDOMAIN and NODATA.
        public var isDenial: Bool { rcode == .nxDomain || (rcode == .noError && answers.isEmpty) }
    }

    public struct Key: Hashable, Sendable {
        let name: DNSName  // case-insensitive equality
        let type: RRType
        let checkingDisabled: Bool
    }

    public let capacity: Int
    /// Upper bounds on how long entries live, as CoreDNS's cache plugin defaults.
    public let maxPositiveTTL: UInt32
    public let maxNegativeTTL: UInt32
    private var entries: [Key: Entry] = [:]

    public init(capacity: Int = 10_000, maxPositiveTTL: UInt32 = 3600, maxNegativeTTL: UInt32 = 1800) {
        self.capacity = max(1, capacity)
        self.maxPositiveTTL = maxPositiveTTL
        self.maxNegativeTTL = maxNegativeTTL
    }

    public var count: Int { entries.count }

    /// The cached response with TTLs counted down to `now`, or nil.
    public mutating func get(_ key: Key, now: Double) -> Entry? {
        guard var e = entries[key] else { return nil }
        guard now < e.expires else {
            entries[key] = nil
            return nil
        }
        let elapsed = UInt32(max(0, now - e.stored))
        func age(_ rrs: inout [ResourceRecord]) {
            for i in rrs.indices { rrs[i].ttl = rrs[i].ttl > elapsed ? rrs[i].ttl - elapsed : 0 }
        }
        age(&e.answers)
        age(&e.authorities)
        age(&e.additionals)
        return e
    }

    /// Stores a response when it may be cached (NOERROR or NXDOMAIN, non-zero TTL).
    public mutating func put(_ key: Key, _ response: DNSMessage, now: Double) {
        guard response.rcode == .noError || response.rcode == .nxDomain, !response.header.truncated else { return }
        var e = Entry(rcode: response.rcode, answers: response.answers, authorities: response.authorities,
                      additionals: response.additionals, stored: now, expires: now)
        let ttl: UInt32
        if e.isDenial {
            // RFC 2308 §5: the SOA's TTL, bounded by its minimum field.
            guard let soa = response.authorities.first(where: { $0.type == .soa }),
                  case .soa(_, _, _, _, _, _, let minimum) = soa.data else { return }
            ttl = min(soa.ttl, minimum, maxNegativeTTL)
        } else {
            ttl = min(response.answers.map(\.ttl).min() ?? 0, maxPositiveTTL)
        }
        guard ttl > 0 else { return }
        e.expires = now + Double(ttl)
        if entries.count >= capacity && entries[key] == nil { evict(now: now) }
        entries[key] = e
    }

    /// Drops expired entries, then (if still full) an arbitrary tenth: cheap and, as in
    /// CoreDNS's cache, close enough to random eviction.
    private mutating func evict(now: Double) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count >= capacity else { return }
        let drop = max(1, capacity / 10)
        for key in Array(entries.keys.prefix(drop)) { entries[key] = nil }
    }
}
