/// `networking.k8s.io/v1 NetworkPolicy`.
public struct NetworkPolicy: Resource {
    public static let resourceType = ResourceType(group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", plural: "networkpolicies", shortNames: ["netpol"], namespaced: true)

    public var metadata = ObjectMeta()
    public var spec = Spec()

    public init() {}

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var podSelector = LabelSelector()
        public var policyTypes: [String]?
        public var ingress: [IngressRule]?
        public var egress: [EgressRule]?
        public init() {}
    }

    public struct IngressRule: Sendable, Hashable, Codable {
        public var from: [Peer]?
        public var ports: [Port]?
        public init(from: [Peer]? = nil, ports: [Port]? = nil) { self.from = from; self.ports = ports }
    }

    public struct EgressRule: Sendable, Hashable, Codable {
        public var to: [Peer]?
        public var ports: [Port]?
        public init(to: [Peer]? = nil, ports: [Port]? = nil) { self.to = to; self.ports = ports }
    }

    public struct Peer: Sendable, Hashable, Codable {
        public var podSelector: LabelSelector?
        public var namespaceSelector: LabelSelector?
        public var ipBlock: IPBlock?
        public init(podSelector: LabelSelector? = nil, namespaceSelector: LabelSelector? = nil, ipBlock: IPBlock? = nil) {
            self.podSelector = podSelector
            self.namespaceSelector = namespaceSelector
            self.ipBlock = ipBlock
        }
    }

    public struct IPBlock: Sendable, Hashable, Codable {
        public var cidr: String
        public var except: [String]?
        public init(cidr: String, except: [String]? = nil) { self.cidr = cidr; self.except = except }
    }

    public struct Port: Sendable, Hashable, Codable {
        public var `protocol`: String?
        public var port: IntOrString?
        public var endPort: Int?
        public init(protocol proto: String? = "TCP", port: IntOrString? = nil, endPort: Int? = nil) {
            self.protocol = proto
            self.port = port
            self.endPort = endPort
        }
    }

    /// policyTypes after defaulting.
    public var effectivePolicyTypes: [String] {
        if let t = spec.policyTypes, !t.isEmpty { return t }
        return (spec.egress ?? []).isEmpty ? ["Ingress"] : ["Ingress", "Egress"]
    }

    public mutating func setDefaults() {
        spec.policyTypes = effectivePolicyTypes
        func defaultPorts(_ ports: [Port]?) -> [Port]? {
            ports?.map { var p = $0; if (p.protocol ?? "").isEmpty { p.protocol = "TCP" }; return p }
        }
        spec.ingress = spec.ingress?.map { var r = $0; r.ports = defaultPorts(r.ports); return r }
        spec.egress = spec.egress?.map { var r = $0; r.ports = defaultPorts(r.ports); return r }
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        let sp = FieldPath("spec")
        errs += spec.podSelector.validate(at: sp.child("podSelector"))
        for (i, rule) in (spec.ingress ?? []).enumerated() {
            let p = sp.child("ingress").index(i)
            for (j, port) in (rule.ports ?? []).enumerated() { errs += NetworkPolicy.validate(port, at: p.child("ports").index(j)) }
            for (j, peer) in (rule.from ?? []).enumerated() { errs += NetworkPolicy.validate(peer, at: p.child("from").index(j)) }
        }
        for (i, rule) in (spec.egress ?? []).enumerated() {
            let p = sp.child("egress").index(i)
            for (j, port) in (rule.ports ?? []).enumerated() { errs += NetworkPolicy.validate(port, at: p.child("ports").index(j)) }
            for (j, peer) in (rule.to ?? []).enumerated() { errs += NetworkPolicy.validate(peer, at: p.child("to").index(j)) }
        }
        let types = spec.policyTypes ?? []
        if types.count > 2 { errs.append(.invalid(sp.child("policyTypes"), goStringSlice(types), "may not specify more than two policyTypes")) }
        for (i, t) in types.enumerated() where t != "Ingress" && t != "Egress" {
            errs.append(.notSupported(sp.child("policyTypes").index(i), t, ["Ingress", "Egress"]))
        }
        return errs
    }

    static func validate(_ port: Port, at p: FieldPath) -> [FieldError] {
        var errs = validateProtocol(port.protocol ?? "TCP", at: p.child("protocol"))
        if let value = port.port { errs += validatePortNumOrName(value, at: p.child("port")) }
        if let end = port.endPort {
            switch port.port {
            case nil:
                errs.append(.required(p.child("port"), "must be specified when endPort is specified"))
            case .string:
                errs.append(.forbidden(p.child("endPort"), "may not be specified when `port` is non-numeric"))
            case .int(let start):
                if end < start { errs.append(.invalid(p.child("endPort"), end, "must be greater than or equal to `port`")) }
                errs += validatePortNumber(end, at: p.child("endPort"))
            }
        }
        return errs
    }

    static func validate(_ peer: Peer, at p: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        let selectors = peer.podSelector != nil || peer.namespaceSelector != nil
        if !selectors && peer.ipBlock == nil { errs.append(.required(p, "must specify a peer")) }
        if selectors && peer.ipBlock != nil { errs.append(.forbidden(p, "may not specify more than 1 peer type")) }
        if let s = peer.podSelector { errs += s.validate(at: p.child("podSelector")) }
        if let s = peer.namespaceSelector { errs += s.validate(at: p.child("namespaceSelector")) }
        if let block = peer.ipBlock {
            let bp = p.child("ipBlock")
            if block.cidr.isEmpty {
                errs.append(.required(bp.child("cidr")))
            } else if let cidr = CIDR(block.cidr) {
                for (i, e) in (block.except ?? []).enumerated() {
                    guard let ex = CIDR(e) else {
                        errs.append(.invalid(bp.child("except").index(i), e, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
                        continue
                    }
                    if !(cidr.contains(ex) && ex.prefixLength > cidr.prefixLength) {
                        errs.append(.invalid(bp.child("except").index(i), e, "must be a strict subset of `cidr`"))
                    }
                }
            } else {
                errs.append(.invalid(bp.child("cidr"), block.cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
            }
        }
        return errs
    }
}
