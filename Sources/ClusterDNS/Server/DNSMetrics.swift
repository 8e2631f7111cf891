import Metrics

/// The server's metrics, named as CoreDNS names them so that dashboards carry over.
/// Every metric object is made once; label values come from small fixed sets.
public final class DNSMetrics: Sendable {
    /// The query types counted by name; the rest are counted as `other`.
    static let types = ["A", "AAAA", "SRV", "PTR", "TXT", "CNAME", "SOA", "NS", "MX", "ANY", "other"]
    static let rcodes = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"]

    private let requests: [String: Counter]
    private let responses: [String: Counter]
    private let durations: [String: Metrics.Timer]
    private let cacheHitsSuccess: Counter
    private let cacheHitsDenial: Counter
    private let cacheMisses: Counter

    public init() {
        var requests: [String: Counter] = [:]
        var durations: [String: Metrics.Timer] = [:]
        for proto in ["udp", "tcp"] {
            for family in ["1", "2"] {
                for type in DNSMetrics.types {
                    requests["\(proto)|\(family)|\(type)"] = Counter(label: "coredns_dns_requests_total", dimensions: [
                        ("server", "dns"), ("zone", "."), ("proto", proto), ("family", family), ("type", type),
                    ])
                }
            }
            for type in DNSMetrics.types {
                durations["\(proto)|\(type)"] = Metrics.Timer(label: "coredns_dns_request_duration_seconds", dimensions: [
                    ("server", "dns"), ("zone", "."), ("proto", proto), ("type", type),
                ], preferredDisplayUnit: .seconds)
            }
        }
        self.requests = requests
        self.durations = durations
        var responses: [String: Counter] = [:]
        for rcode in DNSMetrics.rcodes {
            responses[rcode] = Counter(label: "coredns_dns_responses_total", dimensions: [
                ("server", "dns"), ("zone", "."), ("rcode", rcode),
            ])
        }
        self.responses = responses
        cacheHitsSuccess = Counter(label: "coredns_cache_hits_total", dimensions: [("server", "dns"), ("type", "success")])
        cacheHitsDenial = Counter(label: "coredns_cache_hits_total", dimensions: [("server", "dns"), ("type", "denial")])
        cacheMisses = Counter(label: "coredns_cache_misses_total", dimensions: [("server", "dns")])
    }

    static func typeLabel(_ t: RRType) -> String {
        let name = t.description
        return types.contains(name) ? name : "other"
    }

    func request(tcp: Bool, v6: Bool, type: RRType) {
        requests["\(tcp ? "tcp" : "udp")|\(v6 ? "2" : "1")|\(DNSMetrics.typeLabel(type))"]?.increment()
    }

    func response(_ rcode: RCode, tcp: Bool, type: RRType, nanoseconds: Int64) {
        let name = rcode.description
        (responses[name] ?? responses["other"])?.increment()
        durations["\(tcp ? "tcp" : "udp")|\(DNSMetrics.typeLabel(type))"]?.recordNanoseconds(nanoseconds)
    }

    func cacheHit(denial: Bool) { (denial ? cacheHitsDenial : cacheHitsSuccess).increment() }
    func cacheMiss() { cacheMisses.increment() }
}
