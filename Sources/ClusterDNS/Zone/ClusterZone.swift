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

    /// Services, shared with the `ZoneInputs` the zone was built from (no copy).
    let services: [NamespacedName: ServiceRecord]
    /// Ready endpoints of headless services.
    let headlessEndpoints: [NamespacedName: [EndpointEntry]]
    let namespaces: Set<String>
    let serviceNamespaces: [String: Int]
    /// Every IP with a record that names it (service or headless endpoint), sorted by IP and
    /// record: a PTR lookup is a binary search. 56 bytes per record, where a dictionary cost
    /// two to four times as much at its power-of-two sizes.
    let reverse: [PTREntry]
    /// (namespace, IP) → pod name, for `verified` pod records.
    let podIPs: [PodIPKey: String]
    /// Addresses of the `kube-system/kube-dns` Service: the zone's NS glue.
    let nameserverIPs: [IPAddress]
    let reverseZones: [DNSName]

    struct PodIPKey: Hashable, Sendable {
        let namespace: String
        let ip: IPAddress
    }

    struct EndpointEntry: Sendable {
        /// The first label of its name: the hostname, or the dashed IP.
        let label: String
        let address: IPAddress
        let ports: [PortEntry]
        let slice: String
        let pod: String?
    }

    /// A service as a lookup sees it.
    struct ServiceEntry: Sendable {
        let name: String
        let namespace: String
        let record: ServiceRecord
        /// Ready endpoints (all of them with `publishNotReadyAddresses`), headless only.
        let endpoints: [EndpointEntry]

        var kind: ServiceRecord.Kind { record.kind }
        var ports: [PortEntry] { record.ports }

        /// `name.namespace.svc`, lowercase, relative to the zone.
        var relativeName: String { "\(name).\(namespace).svc" }
    }

    struct PTREntry: Sendable, Comparable {
        let ip: IPAddress
        let ref: PTRRef

        static func < (a: PTREntry, b: PTREntry) -> Bool { a.ip == b.ip ? a.ref < b.ref : a.ip < b.ip }
    }

    struct PTRRef: Sendable, Hashable, Comparable {
        let service: NamespacedName
        /// Index into the service's endpoints, or -1 for the service itself.
        let endpoint: Int32

        static func < (a: PTRRef, b: PTRRef) -> Bool {
            a.service == b.service ? a.endpoint < b.endpoint : a.service < b.service
        }
    }

    /// An empty zone that has not seen the store yet.
    public init(configuration: ZoneConfiguration) {
        self.init(inputs: ZoneInputs(resourceVersion: 0, isSynced: false), configuration: configuration)
    }

    /// The zone of plain object lists.
    public init(services: [Service], endpointSlices: [EndpointSlice], pods: [Pod], namespaces: [Namespace],
                isSynced: Bool = true, serial: UInt32 = 1, configuration: ZoneConfiguration) {
        self.init(inputs: ZoneInputs(services: services, endpointSlices: endpointSlices, pods: pods, namespaces: namespaces,
                                     resourceVersion: Int64(serial), isSynced: isSynced),
                  configuration: configuration)
    }

    /// The zone of its inputs: O(services + slices + pods), sharing the inputs' storage.
    public init(inputs: ZoneInputs, configuration: ZoneConfiguration) {
        self.configuration = configuration
        self.isSynced = inputs.isSynced
        self.serial = UInt32(truncatingIfNeeded: inputs.resourceVersion)
        self.reverseZones = configuration.reverseZones
        services = inputs.services
        namespaces = inputs.namespaces
        serviceNamespaces = inputs.serviceNamespaces

        var podIPs: [PodIPKey: String] = [:]
        if configuration.podMode == .verified {
            for (key, pod) in inputs.pods {
                for ip in pod.ips { podIPs[PodIPKey(namespace: key.namespace, ip: ip)] = key.name }
            }
        }
        self.podIPs = podIPs

        var slicesByService: [NamespacedName: [(name: String, slice: SliceRecord)]] = [:]
        for (key, slice) in inputs.slices {
            let service = NamespacedName(namespace: key.namespace, name: slice.service)
            guard case .headless = inputs.services[service]?.kind else { continue }
            slicesByService[service, default: []].append((key.name, slice))
        }

        var headless: [NamespacedName: [EndpointEntry]] = [:]
        var reverse: [PTREntry] = []
        reverse.reserveCapacity(inputs.services.count)
        for (key, svc) in inputs.services {
            switch svc.kind {
            case .clusterIPv4, .clusterIPs:
                for ip in svc.clusterIPs { reverse.append(PTREntry(ip: ip, ref: PTRRef(service: key, endpoint: -1))) }
            case .headless(let publishAll):
                let endpoints = ClusterZone.readyEndpoints(of: key, publishAll: publishAll,
                                                           slices: slicesByService[key] ?? [], pods: inputs.pods)
                if !endpoints.isEmpty { headless[key] = endpoints }
                for (i, e) in endpoints.enumerated() { reverse.append(PTREntry(ip: e.address, ref: PTRRef(service: key, endpoint: Int32(i)))) }
            case .externalName:
                break
            }
        }
        // Services were visited in no particular order: a shared IP names them by name.
        reverse.sort()
        self.headlessEndpoints = headless
        self.reverse = reverse
        nameserverIPs = inputs.services[NamespacedName(namespace: "kube-system", name: "kube-dns")]?.clusterIPs ?? []
    }

    /// The endpoints a headless service answers with: ready ones (or all, with
    /// `publishNotReadyAddresses`), each address once, named by hostname or dashed IP.
    static func readyEndpoints(of service: NamespacedName, publishAll: Bool, slices: [(name: String, slice: SliceRecord)],
                               pods: [NamespacedName: PodRecord]) -> [EndpointEntry] {
        var out: [EndpointEntry] = []
        var seen = Set<IPAddress>()
        for (name, slice) in slices.sorted(by: { $0.name < $1.name }) {
            for endpoint in slice.endpoints where publishAll || endpoint.ready {
                var hostname = endpoint.hostname
                // The EndpointSlice controller copies a pod's hostname when its subdomain
                // names this service; read the pod too in case the slice lacks it.
                if hostname == nil, let podName = endpoint.pod,
                   let pod = pods[NamespacedName(namespace: service.namespace, name: podName.lowercased())],
                   pod.subdomain == service.name {
                    hostname = pod.hostname
                }
                for ip in endpoint.addresses where seen.insert(ip).inserted {
                    out.append(EndpointEntry(label: hostname ?? ClusterZone.dashed(ip), address: ip, ports: slice.ports,
                                             slice: name, pod: endpoint.pod))
                }
            }
        }
        return out
    }

    /// The service `name.namespace` (lowercase) as a lookup sees it.
    func service(_ key: NamespacedName) -> ServiceEntry? {
        guard let svc = services[key] else { return nil }
        return ServiceEntry(name: key.name, namespace: key.namespace, record: svc, endpoints: headlessEndpoints[key] ?? [])
    }

    /// The records naming `ip`, in order.
    func reverseRecords(_ ip: IPAddress) -> ArraySlice<PTREntry> {
        var low = 0, high = reverse.count
        while low < high {
            let mid = (low + high) / 2
            if reverse[mid].ip < ip { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < reverse.count && reverse[end].ip == ip { end += 1 }
        return reverse[low..<end]
    }

    /// Whether a namespace exists: a Namespace object, or a service in it.
    func hasNamespace(_ name: String) -> Bool {
        namespaces.contains(name) || serviceNamespaces[name] != nil
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
