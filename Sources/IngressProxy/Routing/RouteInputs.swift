import ClusterStore
import Foundation
import KubeModel

/// Everything the route and certificate tables are computed from: each Ingress, IngressClass,
/// Service, EndpointSlice, Endpoints and Secret reduced to the fields routing reads, as
/// ingress-nginx keeps its own reduced copies of objects. The `ingress` component's own informer
/// keeps it current one watch event at a time, and it logs which keys changed, so that the
/// route table is rebuilt only where a change lands (see `RouteTableBuilder`).
public struct RouteInputs: InformerState {
    public private(set) var resourceVersion: Int64
    public private(set) var isSynced: Bool

    private(set) var ingresses: [IngressRef: IngressRecord] = [:]
    /// `status.loadBalancer.ingress` of Ingresses that have one: kept apart from the records so
    /// that a status write is not a routing change.
    private(set) var ingressStatus: [IngressRef: [LoadBalancerStatus.Ingress]] = [:]
    private(set) var classes: [String: ClassRecord] = [:]
    private(set) var services: [NamespacedName: ServiceRecord] = [:]
    /// EndpointSlices by the service they belong to, sorted by slice name.
    private(set) var slices: [NamespacedName: [SliceRecord]] = [:]
    /// The service name each slice was filed under (a slice's label can change).
    private var sliceOwners: [NamespacedName: String] = [:]
    private(set) var endpoints: [NamespacedName: EndpointsRecord] = [:]
    private(set) var secrets: [NamespacedName: SecretRecord] = [:]
    /// One copy of each distinct list of ports and of statuses.
    private var portLists = Interner<[PortRecord]>()
    private var statusLists = Interner<[LoadBalancerStatus.Ingress]>()
    /// What changed, newest last: routing apart from status, so that a burst of status writes
    /// (10,000 when the controller starts) never costs a full rebuild.
    private(set) var changes = ChangeLog<RoutingChange>()
    private(set) var statusChanges = ChangeLog<IngressRef>()

    public init(resourceVersion: Int64, isSynced: Bool) {
        self.resourceVersion = resourceVersion
        self.isSynced = isSynced
    }

    /// The inputs of typed values (tests).
    public init(ingresses: [Ingress] = [], classes: [IngressClass] = [], services: [Service] = [], endpointSlices: [EndpointSlice] = [],
                endpoints: [Endpoints] = [], secrets: [Secret] = []) {
        self.init(objects: ingresses.map(Object.init) + classes.map(Object.init) + services.map(Object.init)
                  + endpointSlices.map(Object.init) + endpoints.map(Object.init) + secrets.map(Object.init))
    }

    /// The inputs of decoded objects (manifests, a store listing); other kinds are skipped.
    public init(objects: [Object], resourceVersion: Int64 = 1) {
        self.init(resourceVersion: resourceVersion, isSynced: true)
        for object in objects { apply(WatchEvent(kind: .added, object: object, resourceVersion: resourceVersion)) }
    }

    /// The kinds the ingress controller follows.
    public static let resourceTypes: [ResourceType] = [
        Ingress.resourceType, IngressClass.resourceType, Service.resourceType,
        EndpointSlice.resourceType, Endpoints.resourceType, Secret.resourceType,
    ]

    public mutating func apply(_ event: WatchEvent) {
        resourceVersion = event.resourceVersion
        let key = NamespacedName(namespace: event.object.namespace, name: event.object.name)
        // A decode failure cannot happen for stored objects; treat it like a deletion.
        let typed = event.kind == .deleted ? nil : Scheme.decode(event.object)
        let rv = event.resourceVersion
        switch event.object.type {
        case Ingress.resourceType:
            let ingress = typed as? Ingress
            let record = ingress.map(IngressRecord.init)
            if ingresses[key] != record {
                ingresses[key] = record
                changes.append(.ingress(key), at: rv)
            }
            let status = ingress?.status.loadBalancer.ingress.flatMap { list in
                list.isEmpty ? nil : statusLists.intern(list, liveCount: ingressStatus.count) { Array(ingressStatus.values) }
            }
            if ingressStatus[key] != status {
                ingressStatus[key] = status
                statusChanges.append(key, at: rv)
            }
        case IngressClass.resourceType:
            let record = (typed as? IngressClass).map { ClassRecord(controller: $0.spec.controller ?? "", isDefault: $0.isDefault) }
            if classes[key.name] != record {
                classes[key.name] = record
                changes.append(.ingressClass, at: rv)
            }
        case Service.resourceType:
            var record = (typed as? Service).map(ServiceRecord.init)
            if let ports = record?.ports { record?.ports = intern(ports) }
            if services[key] != record {
                services[key] = record
                changes.append(.service(key), at: rv)
            }
        case EndpointSlice.resourceType:
            var new = (typed as? EndpointSlice).flatMap { s in s.serviceName.map { (service: $0, record: SliceRecord(s)) } }
            if let ports = new?.record.ports { new?.record.ports = intern(ports) }
            setSlice(key, new, at: rv)
        case Endpoints.resourceType:
            let record = (typed as? Endpoints).map(EndpointsRecord.init)
            if endpoints[key] != record {
                endpoints[key] = record
                changes.append(.service(key), at: rv)
            }
        case Secret.resourceType:
            let record = (typed as? Secret).map(SecretRecord.init)
            if secrets[key] != record {
                secrets[key] = record
                changes.append(.secret(key), at: rv)
            }
        default:
            break
        }
    }

    /// The shared copy of a list of ports.
    private mutating func intern(_ ports: [PortRecord]) -> [PortRecord] {
        portLists.intern(ports, liveCount: services.count + sliceOwners.count) {
            services.values.map(\.ports) + slices.values.flatMap { $0.map(\.ports) }
        }
    }

    /// Files a slice under its service (nil: forgets it), keeping each service's slices sorted by name.
    private mutating func setSlice(_ key: NamespacedName, _ new: (service: String, record: SliceRecord)?, at rv: Int64) {
        if let owner = sliceOwners[key] {
            let service = NamespacedName(namespace: key.namespace, name: owner)
            if let new, new.service == owner, slices[service]?.first(where: { $0.name == key.name }) == new.record { return }
            slices[service]?.removeAll { $0.name == key.name }
            if slices[service]?.isEmpty == true { slices[service] = nil }
            sliceOwners[key] = nil
            changes.append(.service(service), at: rv)
        }
        guard let new else { return }
        let service = NamespacedName(namespace: key.namespace, name: new.service)
        var list = slices[service] ?? []
        list.insert(new.record, at: list.firstIndex { $0.name > key.name } ?? list.endIndex)
        slices[service] = list
        sliceOwners[key] = new.service
        changes.append(.service(service), at: rv)
    }
}

/// A change that can move routes or certificates.
enum RoutingChange: Sendable, Hashable {
    /// An Ingress's routing fields.
    case ingress(IngressRef)
    case ingressClass
    /// A Service, or the EndpointSlices or Endpoints of the service at this key.
    case service(NamespacedName)
    case secret(NamespacedName)
}

/// What routing reads of an Ingress. Equal records route the same. A class: dictionaries of
/// records stay small (a record is about 300 bytes), so copying one costs little.
final class IngressRecord: Sendable, Equatable {
    /// `metadata.creationTimestamp` ("~" when unset: after every timestamp), for "oldest wins".
    let created: String
    let deleting: Bool
    /// The legacy `kubernetes.io/ingress.class` annotation.
    let legacyClass: String?
    let options: IngressAnnotations
    let annotationProblems: [IngressAnnotations.Problem]
    /// The spec, with valid rule and TLS hosts in lower case (routes share these strings).
    let spec: Ingress.Spec

    init(_ ingress: Ingress) {
        created = ingress.metadata.creationTimestamp ?? "~"
        deleting = ingress.metadata.deletionTimestamp != nil
        legacyClass = ingress.annotations[Ingress.classAnnotation]
        (options, annotationProblems) = IngressAnnotations.parse(ingress.annotations)
        var spec = ingress.spec
        func lower(_ host: String) -> String {
            let l = host.lowercased()
            return RouteTable.isValidRuleHost(l) ? l : host
        }
        for i in (spec.rules ?? []).indices {
            if let h = spec.rules![i].host, h.utf8.contains(where: { (0x41...0x5A).contains($0) }) { spec.rules![i].host = lower(h) }
        }
        for i in (spec.tls ?? []).indices {
            spec.tls![i].hosts = spec.tls![i].hosts?.map { $0.lowercased() }
        }
        self.spec = spec
    }

    static func == (a: IngressRecord, b: IngressRecord) -> Bool {
        a.created == b.created && a.deleting == b.deleting && a.legacyClass == b.legacyClass && a.options == b.options
            && a.annotationProblems == b.annotationProblems && a.spec == b.spec
    }
}

/// An IngressClass: which controller implements it, and whether it is the default.
struct ClassRecord: Sendable, Hashable {
    let controller: String
    let isDefault: Bool
}

/// A port as routing reads it from a Service, EndpointSlice or Endpoints.
struct PortRecord: Sendable, Hashable {
    let name: String
    let port: Int
    let isTCP: Bool

    init(name: String?, port: Int, protocol: String?) {
        self.name = name ?? ""
        self.port = port
        isTCP = (`protocol` ?? "TCP") == "TCP"
    }
}

/// What routing reads of a Service.
struct ServiceRecord: Sendable, Hashable {
    let isExternalName: Bool
    var ports: [PortRecord]

    init(_ svc: Service) {
        isExternalName = svc.type == .externalName
        ports = svc.ports.map { PortRecord(name: $0.name, port: $0.port, protocol: $0.protocol) }
    }
}

/// What routing reads of an EndpointSlice: its IP addresses (canonical text) and conditions.
struct SliceRecord: Sendable, Hashable {
    struct Address: Sendable, Hashable {
        let address: String
        let ready: Bool
        /// Serving while terminating: used only when nothing is ready.
        let fallback: Bool
    }
    let name: String
    /// False for FQDN slices, which kplane does not proxy to.
    let isIP: Bool
    var ports: [PortRecord]
    let addresses: [Address]

    init(_ slice: EndpointSlice) {
        name = slice.name
        isIP = slice.addressType == "IPv4" || slice.addressType == "IPv6"
        ports = (slice.ports ?? []).compactMap { p in p.port.map { PortRecord(name: p.name, port: $0, protocol: p.protocol) } }
        addresses = (slice.endpoints ?? []).compactMap { ep in
            guard let ip = ep.addresses.first.flatMap(IPAddress.init) else { return nil }
            return Address(address: ip.description, ready: ep.isReady, fallback: ep.isServing && ep.isTerminating)
        }
    }
}

/// What routing reads of a hand-written Endpoints object.
struct EndpointsRecord: Sendable, Hashable {
    struct Subset: Sendable, Hashable {
        let ports: [PortRecord]
        let addresses: [String]
    }
    let subsets: [Subset]

    init(_ endpoints: Endpoints) {
        subsets = (endpoints.subsets ?? []).map { s in
            Subset(ports: (s.ports ?? []).map { PortRecord(name: $0.name, port: $0.port, protocol: $0.protocol) },
                   addresses: (s.addresses ?? []).compactMap { IPAddress($0.ip)?.description })
        }
    }
}

/// What the certificate table reads of a Secret: its type and its certificate and key.
public struct SecretRecord: Sendable, Hashable {
    let type: String?
    let certificate: String?
    let key: String?

    init(_ secret: Secret) {
        type = secret.type
        certificate = secret.value(Secret.tlsCertKey).map { String(decoding: $0, as: UTF8.self) }
        key = secret.value(Secret.tlsPrivateKeyKey).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Which Ingresses this controller handles and its defaults.
public struct IngressClassSettings: Sendable, Hashable {
    /// kplane's IngressClass name.
    public var className: String
    /// The `spec.controller` of IngressClasses kplane implements.
    public var controller: String
    /// Endpoint choice when an Ingress does not ask for one.
    public var defaultLoadBalancing: IngressAnnotations.LoadBalancing

    public static let defaultClassName = "kplane"
    public static let defaultController = "kplane.dev/ingress"

    public init(className: String = IngressClassSettings.defaultClassName, controller: String = IngressClassSettings.defaultController,
                defaultLoadBalancing: IngressAnnotations.LoadBalancing = .roundRobin) {
        self.className = className
        self.controller = controller
        self.defaultLoadBalancing = defaultLoadBalancing
    }

    /// Whether an Ingress belongs to this controller: `spec.ingressClassName` naming one of our
    /// classes (or our class name when no such IngressClass object exists yet), else the legacy
    /// `kubernetes.io/ingress.class` annotation naming our class, else no class at all while one of
    /// our IngressClasses is marked default. An Ingress being deleted is no longer handled.
    func handles(_ ingress: IngressRecord, classes: [String: ClassRecord]) -> Bool {
        guard !ingress.deleting else { return false }
        for name in [ingress.spec.ingressClassName, ingress.legacyClass] {
            guard let name, !name.isEmpty else { continue }
            if let cls = classes[name] { return cls.controller == controller }
            return name == className
        }
        return classes.values.contains { $0.controller == controller && $0.isDefault }
    }
}
