import ClusterStore
import Foundation
import KubeModel

/// The cluster zone at one point in time: an immutable index built once per cache snapshot,
/// so that answering a question is a few dictionary lookups. Pure: no I/O, no clock.
///
/// Records follow the Kubernetes DNS-Based Service Discovery specification (schema 1.1.0)
/// and, where it is silent, CoreDNS's kubernetes plugin.
public struct ClusterZone: Sendable {
    public let configuration: ZoneConfiguration
    /// False until the store has been read once: would-be NXDOMAINs are then SERVFAIL.
    public let isSynced: Bool
    /// The SOA serial (the snapshot's resourceVersion, truncated).
    public let serial: UInt32

    let services: [ServiceEntry]
    let serviceIndex: [ServiceKey: Int32]
    let namespaces: Set<String>
    /// IP → the records that name it (service or headless endpoint).
    let reverse: [IPAddress: PTRRef]
    /// The rare IPs named by more than one record.
    let reverseExtra: [IPAddress: [PTRRef]]
    /// (namespace, IP) → pod name, for `verified` pod records.
    let podIPs: [PodIPKey: String]
    /// Addresses of the `kube-system/kube-dns` Service: the zone's NS glue.
    let nameserverIPs: [IPAddress]
    let reverseZones: [DNSName]

    struct ServiceKey: Hashable, Sendable {
        let name: String
        let namespace: String
    }

    struct PodIPKey: Hashable, Sendable {
        let namespace: String
        let ip: IPAddress
    }

    struct PortEntry: Sendable, Hashable {
        let name: String
        /// Lowercase protocol (`tcp`), as it appears in `_http._tcp`.
        let proto: String
        let port: UInt16
    }

    struct EndpointEntry: Sendable {
        /// The first label of its name: the hostname, or the dashed IP.
        let label: String
        let address: IPAddress
        let ports: [PortEntry]
        let slice: String
        let pod: String?
    }

    struct ServiceEntry: Sendable {
        enum Kind: Sendable {
            case clusterIP([IPAddress])
            case headless
            case externalName(DNSName)
        }
        let name: String
        let namespace: String
        let kind: Kind
        let ports: [PortEntry]
        /// Ready endpoints (all of them with `publishNotReadyAddresses`), headless only.
        let endpoints: [EndpointEntry]

        /// `name.namespace.svc`, lowercase, relative to the zone.
        var relativeName: String { "\(name).\(namespace).svc" }
    }

    struct PTRRef: Sendable, Hashable {
        let service: Int32
        /// Index into the service's endpoints, or -1 for the service itself.
        let endpoint: Int32
    }

    /// An empty zone that has not seen the store yet.
    public init(configuration: ZoneConfiguration) {
        self.init(services: [], endpointSlices: [], pods: [], namespaces: [], isSynced: false, serial: 0,
                  configuration: configuration)
    }

    /// The zone of a cache snapshot.
    public init(snapshot: CacheSnapshot, configuration: ZoneConfiguration) {
        // Only services need an order (it decides which record a shared IP's PTR names first).
        self.init(services: snapshot.list(Service.self), endpointSlices: snapshot.unordered(EndpointSlice.self),
                  pods: snapshot.unordered(Pod.self), namespaces: snapshot.unordered(Namespace.self),
                  isSynced: snapshot.isSynced, serial: UInt32(truncatingIfNeeded: snapshot.resourceVersion),
                  configuration: configuration)
    }

    /// The zone of plain object lists.
    public init(services: [Service], endpointSlices: [EndpointSlice], pods: [Pod], namespaces: [Namespace],
                isSynced: Bool = true, serial: UInt32 = 1, configuration: ZoneConfiguration) {
        self.configuration = configuration
        self.isSynced = isSynced
        self.serial = serial
        self.reverseZones = configuration.reverseZones

        var podsByName: [ServiceKey: Pod] = [:]
        var podIPs: [PodIPKey: String] = [:]
        for pod in pods {
            if pod.status.phase == "Succeeded" || pod.status.phase == "Failed" { continue }
            podsByName[ServiceKey(name: pod.name, namespace: pod.namespace)] = pod
            if configuration.podMode == .verified {
                let ips = (pod.status.podIPs?.map(\.ip) ?? []) + (pod.status.podIP.map { [$0] } ?? [])
                for text in ips {
                    if let ip = IPAddress(text) { podIPs[PodIPKey(namespace: pod.namespace, ip: ip)] = pod.name }
                }
            }
        }
        self.podIPs = podIPs

        var slicesByService: [ServiceKey: [EndpointSlice]] = [:]
        for slice in endpointSlices {
            guard let svc = slice.serviceName, slice.addressType != "FQDN" else { continue }
            slicesByService[ServiceKey(name: svc, namespace: slice.namespace), default: []].append(slice)
        }

        var entries: [ServiceEntry] = []
        entries.reserveCapacity(services.count)
        var index: [ServiceKey: Int32] = [:]
        index.reserveCapacity(services.count)
        var namespaceSet = Set(namespaces.map(\.name))
        var reverse: [IPAddress: PTRRef] = [:]
        reverse.reserveCapacity(services.count)
        var reverseExtra: [IPAddress: [PTRRef]] = [:]
        func addPTR(_ ip: IPAddress, _ ref: PTRRef) {
            if reverse[ip] == nil { reverse[ip] = ref } else { reverseExtra[ip, default: []].append(ref) }
        }

        for svc in services {
            let key = ServiceKey(name: svc.name.lowercased(), namespace: svc.namespace.lowercased())
            namespaceSet.insert(key.namespace)
            let ports = svc.ports.map {
                PortEntry(name: ($0.name ?? "").lowercased(), proto: ($0.protocol ?? "TCP").lowercased(),
                          port: UInt16(clamping: $0.port))
            }
            let kind: ServiceEntry.Kind
            var endpoints: [EndpointEntry] = []
            if svc.type == .externalName {
                guard let target = svc.spec.externalName.flatMap({ DNSName($0) }) else { continue }
                kind = .externalName(target)
            } else if svc.isHeadless {
                kind = .headless
                endpoints = ClusterZone.readyEndpoints(of: svc, slices: slicesByService[ServiceKey(name: svc.name, namespace: svc.namespace)] ?? [],
                                                       pods: podsByName)
            } else {
                let ips = (svc.spec.clusterIPs ?? svc.spec.clusterIP.map { [$0] } ?? []).compactMap(IPAddress.init)
                kind = .clusterIP(ips)
            }
            let n = Int32(entries.count)
            index[key] = n
            entries.append(ServiceEntry(name: key.name, namespace: key.namespace, kind: kind, ports: ports, endpoints: endpoints))
            switch kind {
            case .clusterIP(let ips):
                for ip in ips { addPTR(ip, PTRRef(service: n, endpoint: -1)) }
            case .headless:
                for (i, e) in endpoints.enumerated() { addPTR(e.address, PTRRef(service: n, endpoint: Int32(i))) }
            case .externalName:
                break
            }
        }
        self.services = entries
        self.serviceIndex = index
        self.namespaces = namespaceSet
        self.reverse = reverse
        self.reverseExtra = reverseExtra
        if let dns = index[ServiceKey(name: "kube-dns", namespace: "kube-system")],
           case .clusterIP(let ips) = entries[Int(dns)].kind {
            nameserverIPs = ips
        } else {
            nameserverIPs = []
        }
    }

    /// The endpoints a headless service answers with: ready ones (or all, with
    /// `publishNotReadyAddresses`), each address once, named by hostname or dashed IP.
    static func readyEndpoints(of svc: Service, slices: [EndpointSlice], pods: [ServiceKey: Pod]) -> [EndpointEntry] {
        var out: [EndpointEntry] = []
        var seen = Set<IPAddress>()
        let publishAll = svc.spec.publishNotReadyAddresses ?? false
        for slice in slices.sorted(by: { $0.name < $1.name }) {
            let ports = (slice.ports ?? []).compactMap { p -> PortEntry? in
                guard let port = p.port, port > 0 else { return nil }
                return PortEntry(name: (p.name ?? "").lowercased(), proto: (p.protocol ?? "TCP").lowercased(), port: UInt16(clamping: port))
            }
            for endpoint in slice.endpoints ?? [] where publishAll || endpoint.isReady {
                var hostname = endpoint.hostname ?? ""
                var podName: String?
                if let ref = endpoint.targetRef, ref.kind == "Pod", let name = ref.name {
                    podName = name
                    // The EndpointSlice controller copies a pod's hostname when its subdomain
                    // names this service; read the pod too in case the slice lacks it.
                    if hostname.isEmpty, let pod = pods[ServiceKey(name: name, namespace: slice.namespace)],
                       let h = pod.spec.hostname, !h.isEmpty, pod.spec.subdomain == svc.name {
                        hostname = h
                    }
                }
                for text in endpoint.addresses {
                    guard let ip = IPAddress(text), seen.insert(ip).inserted else { continue }
                    let label = hostname.isEmpty ? ClusterZone.dashed(ip) : hostname.lowercased()
                    out.append(EndpointEntry(label: label, address: ip, ports: ports, slice: slice.name, pod: podName))
                }
            }
        }
        return out
    }

    /// `10-0-0-1` for 10.0.0.1 and `fd00--1` for fd00::1, as CoreDNS writes endpoint names.
    static func dashed(_ ip: IPAddress) -> String {
        switch ip {
        case .v4: return "\(ip)".replacingOccurrences(of: ".", with: "-")
        case .v6: return "\(ip)".replacingOccurrences(of: ":", with: "-")
        }
    }

    /// Parses a dashed IP label back (`10-0-0-1`, `fd00--1`).
    static func undashed(_ label: Substring) -> IPAddress? {
        let dots = label.split(separator: "-", omittingEmptySubsequences: false)
        if dots.count == 4, let v4 = IPAddress(dots.joined(separator: ".")), v4.isV4 { return v4 }
        if let v6 = IPAddress(label.replacingOccurrences(of: "-", with: ":")), !v6.isV4 { return v6 }
        return nil
    }

    /// How many services the zone holds.
    public var serviceCount: Int { services.count }
}
