import KubeModel

/// Hands out LoadBalancer addresses from an `AddressPool` (the role MetalLB or k3s's service
/// load balancer play on bare metal). Pure: the assignment is derived from the Services alone
/// (their current `status.loadBalancer.ingress` included), so it survives restarts and a
/// deleted Service frees its address simply by being gone.
public struct LoadBalancerAllocator: Sendable {
    /// The `spec.loadBalancerClass` kplane answers for (besides no class at all).
    public static let defaultClass = "kplane.dev/load-balancer"

    public var pool: AddressPool
    public var className: String

    public init(pool: AddressPool, className: String = LoadBalancerAllocator.defaultClass) {
        self.pool = pool
        self.className = className
    }

    /// Whether this allocator manages the Service's address.
    public func manages(_ service: Service) -> Bool {
        service.type == .loadBalancer && (service.spec.loadBalancerClass == nil || service.spec.loadBalancerClass == className)
    }

    static func wantsV4(_ service: Service) -> Bool {
        if let family = service.spec.ipFamilies?.first { return family != "IPv6" }
        if let ip = service.spec.clusterIP.flatMap(IPAddress.init) { return ip.isV4 }
        return true
    }

    /// The ingress addresses every Service should have. Services kplane does not manage are
    /// absent from the result, except Services that are no longer LoadBalancers but still
    /// show an address: they map to `[]` (cleared).
    public func assign(_ services: [Service]) -> [ServiceKey: [String]] {
        var result: [ServiceKey: [String]] = [:]
        var taken = Set<IPAddress>()
        // Oldest first, so that in a conflict the earlier Service keeps its address.
        let managed = services.filter(manages).sorted {
            ($0.metadata.creationTimestamp ?? "", $0.namespace, $0.name) < ($1.metadata.creationTimestamp ?? "", $1.namespace, $1.name)
        }
        var pending: [Service] = []
        // 1. Keep what is already assigned (stable across restarts).
        for svc in managed {
            let key = ServiceKey(namespace: svc.namespace, name: svc.name)
            let requested = svc.spec.loadBalancerIP.flatMap { $0.isEmpty ? nil : IPAddress($0) }
            let current = (svc.status.loadBalancer.ingress ?? []).compactMap { $0.ip.flatMap(IPAddress.init) }.first {
                pool.contains($0) && $0.isV4 == LoadBalancerAllocator.wantsV4(svc) && !taken.contains($0) && (requested == nil || requested == $0)
            }
            if let current {
                taken.insert(current)
                result[key] = [current.description]
            } else {
                pending.append(svc)
            }
        }
        // 2. Explicit requests (`spec.loadBalancerIP`), which must lie in the pool.
        var dynamic: [Service] = []
        for svc in pending {
            let key = ServiceKey(namespace: svc.namespace, name: svc.name)
            if let text = svc.spec.loadBalancerIP, !text.isEmpty {
                if let ip = IPAddress(text), pool.contains(ip), !taken.contains(ip) {
                    taken.insert(ip)
                    result[key] = [ip.description]
                } else {
                    result[key] = []
                }
            } else {
                dynamic.append(svc)
            }
        }
        // 3. The lowest free address of the wanted family.
        for svc in dynamic {
            let key = ServiceKey(namespace: svc.namespace, name: svc.name)
            if let ip = pool.addresses(v4: LoadBalancerAllocator.wantsV4(svc)).first(where: { !taken.contains($0) }) {
                taken.insert(ip)
                result[key] = [ip.description]
            } else {
                result[key] = []
            }
        }
        for svc in services where svc.type != .loadBalancer && !(svc.status.loadBalancer.ingress ?? []).isEmpty {
            result[ServiceKey(namespace: svc.namespace, name: svc.name)] = []
        }
        return result
    }

    /// Status writes: Services whose ingress differs from the assignment, with the new status.
    public func statusUpdates(_ services: [Service]) -> [Service] {
        let assignment = assign(services)
        var updates: [Service] = []
        for svc in services {
            guard let ips = assignment[ServiceKey(namespace: svc.namespace, name: svc.name)] else { continue }
            let current = (svc.status.loadBalancer.ingress ?? []).compactMap(\.ip)
            guard current != ips || (svc.status.loadBalancer.ingress ?? []).count != ips.count else { continue }
            var updated = svc
            if ips.isEmpty {
                updated.status.loadBalancer.ingress = nil
            } else {
                updated.status.loadBalancer.ingress = ips.map { ip in
                    var ingress = LoadBalancerStatus.Ingress(ip: ip)
                    ingress.ipMode = "VIP"
                    return ingress
                }
            }
            updates.append(updated)
        }
        return updates
    }
}
