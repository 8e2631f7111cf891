import Synchronization

/// One endpoint (pod address and target port) of a backend. Shared by every route to the same
/// service port in one table; its in-flight counter drives least-request balancing.
public final class Endpoint: Sendable {
    public let address: String
    public let port: Int
    /// False for a terminating (serving) endpoint used only because nothing is ready.
    public let ready: Bool
    /// `ip:port`, `[ip]:port` for IPv6: the pool key and the access log's upstream.
    public let hostPort: String
    /// FNV-1a of `hostPort`: a stable affinity cookie value that does not reveal the pod address.
    let affinityHash: UInt64
    let inFlight = Atomic<Int>(0)

    public init(address: String, port: Int, ready: Bool = true) {
        self.address = address
        self.port = port
        self.ready = ready
        self.hostPort = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in hostPort.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        self.affinityHash = h
    }

    /// The hash an affinity cookie value stands for, or nil when it is not one.
    static func affinityHash(_ cookie: String) -> UInt64? {
        cookie.utf8.count == 16 ? UInt64(cookie, radix: 16) : nil
    }

    /// The affinity cookie value: `affinityHash` as 16 hex digits.
    public var affinityKey: String {
        let hex = String(affinityHash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// Where matched traffic goes: a Service port with its endpoints, or something kplane cannot
/// serve (a `resource` backend, a missing Service) with the reason.
public final class Backend: Sendable {
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        case service(namespace: String, name: String, port: String)
        case resource(namespace: String, kind: String, name: String)

        public var description: String {
            switch self {
            case .service(let ns, let name, let port): return "service \(ns)/\(name):\(port)"
            case .resource(let ns, let kind, let name): return "resource \(kind) \(ns)/\(name)"
            }
        }

        /// `namespace/name` of the service, for metrics and logs ("" for a resource backend).
        public var serviceLabel: String {
            if case .service(let ns, let name, _) = self { return "\(ns)/\(name)" }
            return ""
        }
    }

    public let target: Target
    public let endpoints: [Endpoint]
    /// Why there is no endpoint to send to (the proxy answers 503 with it), or nil.
    public let unavailableReason: String?
    private let next = Atomic<Int>(0)

    public init(target: Target, endpoints: [Endpoint], unavailableReason: String? = nil) {
        self.target = target
        self.endpoints = endpoints
        self.unavailableReason = endpoints.isEmpty ? (unavailableReason ?? "no endpoints available for \(target)") : nil
    }

    /// Picks an endpoint. `affinity` (a cookie value) wins while its endpoint still exists;
    /// `excluding` skips endpoints that already failed for this request.
    public func pick(_ policy: IngressAnnotations.LoadBalancing, affinity: String? = nil, excluding: [Endpoint] = []) -> Endpoint? {
        let count = endpoints.count
        guard count > 0 else { return nil }
        if let wanted = affinity.flatMap(Endpoint.affinityHash),
           let hit = endpoints.first(where: { $0.affinityHash == wanted }), !excluding.contains(where: { $0 === hit }) {
            return hit
        }
        switch policy {
        case .roundRobin:
            let start = next.wrappingAdd(1, ordering: .relaxed).oldValue
            for i in 0..<count {
                let e = endpoints[(start &+ i) & Int.max % count]
                if excluding.isEmpty || !excluding.contains(where: { $0 === e }) { return e }
            }
            return nil
        case .leastRequest:
            // Least in flight; ties broken round-robin so equal endpoints share the load.
            let start = next.wrappingAdd(1, ordering: .relaxed).oldValue
            var best: Endpoint?
            var bestLoad = Int.max
            for i in 0..<count {
                let e = endpoints[(start &+ i) & Int.max % count]
                if !excluding.isEmpty && excluding.contains(where: { $0 === e }) { continue }
                let load = e.inFlight.load(ordering: .relaxed)
                if load < bestLoad { best = e; bestLoad = load }
            }
            return best
        }
    }
}
