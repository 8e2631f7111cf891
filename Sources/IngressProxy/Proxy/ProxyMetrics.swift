import Metrics
import Synchronization

/// The proxy's metrics, made once per label set and cached (creating a metric goes through the
/// factory's registry, too slow for every request). Labels are bounded by the Ingress objects.
final class ProxyMetrics: Sendable {
    struct Key: Hashable {
        var ingress: String
        var service: String
        var status: Int
    }
    final class Entry: Sendable {
        let requests: Counter
        let duration: Metrics.Timer
        let bytes: Counter
        init(_ k: Key) {
            let dims = [("ingress", k.ingress), ("service", k.service), ("status", String(k.status))]
            requests = Counter(label: "kplane_ingress_requests_total", dimensions: dims)
            duration = Metrics.Timer(label: "kplane_ingress_request_duration_seconds", dimensions: dims, preferredDisplayUnit: .seconds)
            bytes = Counter(label: "kplane_ingress_response_bytes_total", dimensions: dims)
        }
    }
    private let entries = Mutex<[Key: Entry]>([:])
    let upstreamConnectErrors = Counter(label: "kplane_ingress_upstream_connect_errors_total")
    let upstreamConnections = Counter(label: "kplane_ingress_upstream_connections_total")

    /// The metrics of one label set (connections keep the last one they used, so the registry
    /// lock is taken only when the labels change).
    func entry(ingress: String, service: String, status: Int) -> Entry {
        let key = Key(ingress: ingress, service: service, status: status)
        return entries.withLock { e in
            if let hit = e[key] { return hit }
            let made = Entry(key)
            e[key] = made
            return made
        }
    }
}

extension ProxyMetrics.Entry {
    func record(nanoseconds: Int64, bytes: Int64) {
        requests.increment()
        duration.recordNanoseconds(nanoseconds)
        if bytes > 0 { self.bytes.increment(by: Int(bytes)) }
    }
}
