/// `v1 Endpoints`, the legacy hand-written endpoint list (mirrored into EndpointSlices).
public struct Endpoints: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Endpoints", plural: "endpoints", shortNames: ["ep"], namespaced: true)

    public var metadata = ObjectMeta()
    public var subsets: [Subset]?

    public init() {}

    public struct Subset: Sendable, Hashable, Codable {
        public var addresses: [Address]?
        public var notReadyAddresses: [Address]?
        public var ports: [Port]?
    }

    public struct Address: Sendable, Hashable, Codable {
        public var ip: String
        public var hostname: String?
        public var nodeName: String?
        public var targetRef: ObjectReference?
    }

    public struct Port: Sendable, Hashable, Codable {
        public var name: String?
        public var port: Int
        public var `protocol`: String?
        public var appProtocol: String?
    }

    public mutating func setDefaults() {
        guard var subsets else { return }
        for i in subsets.indices {
            guard var ports = subsets[i].ports else { continue }
            for j in ports.indices where (ports[j].protocol ?? "").isEmpty { ports[j].protocol = "TCP" }
            subsets[i].ports = ports
        }
        self.subsets = subsets
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        for (i, s) in (subsets ?? []).enumerated() {
            let p = FieldPath("subsets").index(i)
            for (field, list) in [("addresses", s.addresses ?? []), ("notReadyAddresses", s.notReadyAddresses ?? [])] {
                for (j, a) in list.enumerated() {
                    if IPAddress(a.ip) == nil {
                        errs.append(.invalid(p.child(field).index(j).child("ip"), a.ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
                    }
                    if let h = a.hostname, !h.isEmpty {
                        errs += NameValidation.dns1123Label(h).map { .invalid(p.child(field).index(j).child("hostname"), h, $0) }
                    }
                }
            }
            let ports = s.ports ?? []
            for (j, port) in ports.enumerated() {
                let pp = p.child("ports").index(j)
                if let n = port.name, !n.isEmpty {
                    errs += NameValidation.dns1123Label(n).map { .invalid(pp.child("name"), n, $0) }
                } else if ports.count > 1 {
                    errs.append(.required(pp.child("name")))
                }
                errs += validatePortNumber(port.port, at: pp.child("port"))
                errs += validateProtocol(port.protocol ?? "TCP", at: pp.child("protocol"))
            }
        }
        return errs
    }
}
