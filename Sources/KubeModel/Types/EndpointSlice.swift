/// `discovery.k8s.io/v1 EndpointSlice`.
public struct EndpointSlice: Resource {
    public static let resourceType = ResourceType(group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true)

    /// The label that ties a slice to its Service.
    public static let serviceNameLabel = "kubernetes.io/service-name"
    /// The label naming the controller that manages a slice.
    public static let managedByLabel = "endpointslice.kubernetes.io/managed-by"

    public var metadata = ObjectMeta()
    public var addressType: String = "IPv4"
    public var endpoints: [Endpoint]?
    public var ports: [Port]?

    public init() {}

    public struct Endpoint: Sendable, Hashable, Codable {
        public var addresses: [String]
        public var conditions: Conditions?
        public var hostname: String?
        public var targetRef: ObjectReference?
        public var nodeName: String?
        public var zone: String?

        public init(addresses: [String], conditions: Conditions? = nil, hostname: String? = nil, nodeName: String? = nil) {
            self.addresses = addresses
            self.conditions = conditions
            self.hostname = hostname
            self.nodeName = nodeName
        }

        /// Ready when `conditions.ready` is true or unset (as consumers must read it).
        public var isReady: Bool { conditions?.ready ?? true }
        /// Serving falls back to ready when unset.
        public var isServing: Bool { conditions?.serving ?? isReady }
        public var isTerminating: Bool { conditions?.terminating ?? false }
    }

    public struct Conditions: Sendable, Hashable, Codable {
        public var ready: Bool?
        public var serving: Bool?
        public var terminating: Bool?

        public init(ready: Bool?, serving: Bool? = nil, terminating: Bool? = nil) {
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
        }
    }

    public struct Port: Sendable, Hashable, Codable {
        public var name: String?
        public var port: Int?
        public var `protocol`: String?
        public var appProtocol: String?

        public init(name: String? = nil, port: Int?, protocol proto: String? = "TCP") {
            self.name = name
            self.port = port
            self.protocol = proto
        }
    }

    /// The Service this slice belongs to, from its label.
    public var serviceName: String? { metadata.labels?[EndpointSlice.serviceNameLabel] }

    static let addressTypes = ["FQDN", "IPv4", "IPv6"]

    public mutating func setDefaults() {
        guard var ports else { return }
        for i in ports.indices where (ports[i].protocol ?? "").isEmpty { ports[i].protocol = "TCP" }
        self.ports = ports
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        guard EndpointSlice.addressTypes.contains(addressType) else {
            return errs + [.notSupported(FieldPath("addressType"), addressType, EndpointSlice.addressTypes)]
        }
        let endpoints = self.endpoints ?? []
        if endpoints.count > 1000 { errs.append(FieldError(.tooMany(1000), FieldPath("endpoints"))) }
        for (i, e) in endpoints.enumerated() {
            let p = FieldPath("endpoints").index(i)
            if e.addresses.isEmpty { errs.append(.required(p.child("addresses"), "must contain at least 1 address")) }
            if e.addresses.count > 100 { errs.append(FieldError(.tooMany(100), p.child("addresses"))) }
            for (j, a) in e.addresses.enumerated() {
                let ap = p.child("addresses").index(j)
                switch addressType {
                case "IPv4":
                    if IPAddress(a).map({ !$0.isV4 }) ?? true { errs.append(.invalid(ap, a, "must be a valid IPv4 address")) }
                case "IPv6":
                    if IPAddress(a).map({ $0.isV4 }) ?? true { errs.append(.invalid(ap, a, "must be a valid IPv6 address")) }
                default:
                    errs += NameValidation.dns1123Subdomain(a).map { .invalid(ap, a, $0) }
                }
            }
            if let h = e.hostname, !h.isEmpty {
                errs += NameValidation.dns1123Label(h).map { .invalid(p.child("hostname"), h, $0) }
            }
        }
        var names = Set<String>()
        for (i, port) in (ports ?? []).enumerated() {
            let p = FieldPath("ports").index(i)
            let name = port.name ?? ""
            if !name.isEmpty { errs += NameValidation.dns1123Label(name).map { .invalid(p.child("name"), name, $0) } }
            if !names.insert(name).inserted { errs.append(.duplicate(p.child("name"), name)) }
            if let n = port.port { errs += validatePortNumber(n, at: p.child("port")) }
            errs += validateProtocol(port.protocol ?? "TCP", at: p.child("protocol"))
        }
        return errs
    }

    public func validateUpdate(from old: EndpointSlice) -> [FieldError] {
        addressType == old.addressType ? [] : [.invalid(FieldPath("addressType"), addressType, "field is immutable")]
    }
}
