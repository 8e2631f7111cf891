import ClusterStore
import KubeModel

/// What the cluster zone is built from: each Service, EndpointSlice, Pod and Namespace reduced
/// to the few fields DNS reads, as CoreDNS's kubernetes plugin keeps reduced copies of objects.
/// A Service costs about 80 bytes here, against about 3 KB as a whole object in the shared
/// cache. The `dns` component's own informer keeps it current, one watch event at a time.
public struct ZoneInputs: InformerState {
    public private(set) var resourceVersion: Int64
    public private(set) var isSynced: Bool

    /// Services by lowercase name and namespace.
    private(set) var services: [NamespacedName: ServiceRecord] = [:]
    /// How many services each namespace holds: a namespace with services exists for DNS even
    /// when its Namespace object has not been seen.
    private(set) var serviceNamespaces: [String: Int] = [:]
    private(set) var slices: [NamespacedName: SliceRecord] = [:]
    /// Pods that are not finished.
    private(set) var pods: [NamespacedName: PodRecord] = [:]
    private(set) var namespaces: Set<String> = []
    /// One copy of each distinct list of service ports: most services have the same few, and a
    /// service record that allocates nothing of its own leaves no small blocks scattered
    /// through the heap once a burst of watch events has been freed.
    private var portLists = Interner<[PortEntry]>()

    public init(resourceVersion: Int64, isSynced: Bool) {
        self.resourceVersion = resourceVersion
        self.isSynced = isSynced
    }

    /// The inputs of plain object lists (for tests and `kplane dns query`).
    public init(services: [Service], endpointSlices: [EndpointSlice], pods: [Pod], namespaces: [Namespace],
                resourceVersion: Int64 = 1, isSynced: Bool = true) {
        self.init(resourceVersion: resourceVersion, isSynced: isSynced)
        for s in services { add(s) }
        for s in endpointSlices { add(s) }
        for p in pods { add(p) }
        for n in namespaces { add(n) }
    }

    /// The inputs of raw objects; kinds DNS does not read are ignored.
    public init(objects: [Object], resourceVersion: Int64 = 1) {
        self.init(resourceVersion: resourceVersion, isSynced: true)
        for object in objects { apply(WatchEvent(kind: .added, object: object, resourceVersion: resourceVersion)) }
    }

    /// The kinds the zone is built from.
    public static let resourceTypes: [ResourceType] = [
        Service.resourceType, EndpointSlice.resourceType, Pod.resourceType, Namespace.resourceType,
    ]

    public mutating func apply(_ event: WatchEvent) {
        resourceVersion = event.resourceVersion
        // A decode failure cannot happen for stored objects; treat it like a deletion.
        let typed = event.kind == .deleted ? nil : Scheme.decode(event.object)
        set(event.object.type, NamespacedName(lowercasing: event.object.name, namespace: event.object.namespace), to: typed)
    }

    private mutating func add<T: Resource>(_ object: T) {
        set(T.resourceType, NamespacedName(lowercasing: object.name, namespace: object.namespace), to: object)
    }

    /// Records what DNS reads of the object at `key`, or forgets it (nil).
    private mutating func set(_ type: ResourceType, _ key: NamespacedName, to typed: (any Resource)?) {
        switch type {
        case Service.resourceType:
            guard var record = (typed as? Service).flatMap(ServiceRecord.init) else { return removeService(key) }
            record.ports = portLists.intern(record.ports, liveCount: services.count) { services.values.map(\.ports) }
            if services.updateValue(record, forKey: key) == nil { serviceNamespaces[key.namespace, default: 0] += 1 }
        case EndpointSlice.resourceType:
            slices[key] = (typed as? EndpointSlice).flatMap(SliceRecord.init)
        case Pod.resourceType:
            pods[key] = (typed as? Pod).flatMap(PodRecord.init)
        case Namespace.resourceType:
            if typed == nil { namespaces.remove(key.name) } else { namespaces.insert(key.name) }
        default:
            break
        }
    }

    private mutating func removeService(_ key: NamespacedName) {
        guard services.removeValue(forKey: key) != nil else { return }
        if serviceNamespaces[key.namespace, default: 0] <= 1 {
            serviceNamespaces[key.namespace] = nil
        } else {
            serviceNamespaces[key.namespace]! -= 1
        }
    }
}

extension NamespacedName {
    /// The key of an object as DNS looks it up: lowercase (Kubernetes names are, but not by force).
    init(lowercasing name: String, namespace: String) {
        self.init(namespace: namespace.lowercased(), name: name.lowercased())
    }
}

/// A named port as DNS names it (`_http._tcp`).
struct PortEntry: Sendable, Hashable {
    let name: String
    /// Lowercase protocol (`tcp`), as it appears in `_http._tcp`.
    let proto: String
    let port: UInt16

    init(name: String?, protocol: String?, port: Int) {
        self.name = (name ?? "").lowercased()
        proto = (`protocol` ?? "TCP").lowercased()
        self.port = UInt16(clamping: port)
    }
}

/// What DNS reads of a Service.
struct ServiceRecord: Sendable {
    enum Kind: Sendable {
        /// The usual single IPv4 cluster IP, inline.
        case clusterIPv4(UInt32)
        /// Dual-stack, IPv6, or none yet.
        case clusterIPs([IPAddress])
        /// Answers with its ready endpoints (all of them with `publishNotReadyAddresses`).
        case headless(publishNotReadyAddresses: Bool)
        case externalName(DNSName)
    }
    let kind: Kind
    var ports: [PortEntry]

    var clusterIPs: [IPAddress] {
        switch kind {
        case .clusterIPv4(let v4): return [.v4(v4)]
        case .clusterIPs(let ips): return ips
        case .headless, .externalName: return []
        }
    }

    /// Nil for an ExternalName service whose name is not a valid DNS name (it has no records).
    init?(_ svc: Service) {
        if svc.type == .externalName {
            guard let target = svc.spec.externalName.flatMap({ DNSName($0) }) else { return nil }
            kind = .externalName(target)
        } else if svc.isHeadless {
            kind = .headless(publishNotReadyAddresses: svc.spec.publishNotReadyAddresses ?? false)
        } else {
            let ips = (svc.spec.clusterIPs ?? svc.spec.clusterIP.map { [$0] } ?? []).compactMap(IPAddress.init)
            if ips.count == 1, case .v4(let v4) = ips[0] { kind = .clusterIPv4(v4) } else { kind = .clusterIPs(ips) }
        }
        ports = svc.ports.map { PortEntry(name: $0.name, protocol: $0.protocol, port: $0.port) }
    }
}

/// What DNS reads of an EndpointSlice.
struct SliceRecord: Sendable {
    struct Endpoint: Sendable {
        let addresses: [IPAddress]
        let ready: Bool
        let hostname: String?
        /// The pod it points at, if any.
        let pod: String?
    }
    /// The service it belongs to, lowercase.
    let service: String
    let ports: [PortEntry]
    let endpoints: [Endpoint]

    /// Nil for slices DNS ignores: without a service, or of FQDN addresses.
    init?(_ slice: EndpointSlice) {
        guard let svc = slice.serviceName, slice.addressType != "FQDN" else { return nil }
        service = svc.lowercased()
        ports = (slice.ports ?? []).compactMap { p in
            guard let port = p.port, port > 0 else { return nil }
            return PortEntry(name: p.name, protocol: p.protocol, port: port)
        }
        endpoints = (slice.endpoints ?? []).map { e in
            Endpoint(addresses: e.addresses.compactMap(IPAddress.init), ready: e.isReady,
                     hostname: e.hostname.flatMap { $0.isEmpty ? nil : $0.lowercased() },
                     pod: e.targetRef.flatMap { $0.kind == "Pod" ? $0.name : nil })
        }
    }
}

/// What DNS reads of a Pod: the hostname it asks for under a headless service, its addresses.
struct PodRecord: Sendable {
    let hostname: String?
    let subdomain: String?
    let ips: [IPAddress]

    /// Nil for finished pods.
    init?(_ pod: Pod) {
        if pod.status.phase == "Succeeded" || pod.status.phase == "Failed" { return nil }
        hostname = pod.spec.hostname.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        subdomain = pod.spec.subdomain?.lowercased()
        var ips = (pod.status.podIPs?.map(\.ip) ?? []).compactMap(IPAddress.init)
        if let ip = pod.status.podIP.flatMap(IPAddress.init), !ips.contains(ip) { ips.append(ip) }
        self.ips = ips
    }
}
