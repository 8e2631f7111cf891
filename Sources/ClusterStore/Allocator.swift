import KubeModel

/// How the API server hands out Service cluster IPs and node ports: a requested value is
/// checked against the range and existing owners; a dynamic one is drawn at random, from the
/// upper part of the range first so that the lower "static" band stays free for requests
/// (KEP-3070 / KEP-3668).
struct AllocationRange: Sendable {
    let first: UInt64     // offset of the first usable value
    let count: UInt64     // number of usable values
    let staticBand: UInt64

    /// Offsets into a CIDR: the network and (IPv4) broadcast addresses are never handed out.
    init(cidr: CIDR) {
        let size = cidr.size
        let usable = cidr.isV4 ? (size > 2 ? size - 2 : size) : (size > 1 ? size - 1 : size)
        first = 1
        count = usable
        staticBand = min(max(16, usable / 16), 256)
    }

    init(ports: ClosedRange<Int>) {
        first = UInt64(ports.lowerBound)
        count = UInt64(ports.count)
        staticBand = min(max(16, count / 32), 128)
    }

    /// Candidate offsets: random ones in the dynamic band, then the whole range in order
    /// starting from a random point (so a nearly full range is still searched completely).
    func candidates<G: RandomNumberGenerator>(using rng: inout G) -> some Sequence<UInt64> {
        let dynamicStart = staticBand < count ? staticBand : 0
        let randomTries = (0..<32).map { _ in first + UInt64.random(in: dynamicStart..<count, using: &rng) }
        let start = UInt64.random(in: 0..<count, using: &rng)
        let sweep = (0..<count).lazy.map { first + (start + $0) % count }
        return randomTries.lazy.map { $0 } + sweep
    }
}

private func + <A: Sequence, B: Sequence>(a: A, b: B) -> AnySequence<A.Element> where A.Element == B.Element {
    AnySequence { () -> AnyIterator<A.Element> in
        var ia = a.makeIterator(), ib = b.makeIterator()
        return AnyIterator { ia.next() ?? ib.next() }
    }
}
