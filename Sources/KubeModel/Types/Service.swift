/// `v1 Service`.
public struct Service: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Service", plural: "services", shortNames: ["svc"], namespaced: true)

    public var metadata = ObjectMeta()
    public var spec = Spec()
    public var status = Status()

    public init() {}

    public enum ServiceType: String, Sendable, CaseIterable {
        case clusterIP = "ClusterIP"
        case nodePort = "NodePort"
        case loadBalancer = "LoadBalancer"
        case externalName = "ExternalName"
    }

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var type: String?
        public var ports: [Port]?
        public var selector: [String: String]?
        public var clusterIP: String?
        public var clusterIPs: [String]?
        public var ipFamilies: [String]?
        public var ipFamilyPolicy: String?
        public var externalName: String?
        public var externalIPs: [String]?
        public var sessionAffinity: String?
        public var sessionAffinityConfig: SessionAffinityConfig?
        public var loadBalancerIP: String?
        public var loadBalancerSourceRanges: [String]?
        public var loadBalancerClass: String?
        public var allocateLoadBalancerNodePorts: Bool?
        public var externalTrafficPolicy: String?
        public var internalTrafficPolicy: String?
        public var healthCheckNodePort: Int?
        public var publishNotReadyAddresses: Bool?
        public init() {}
    }

    public struct Port: Sendable, Hashable, Codable {
        public var name: String?
        public var `protocol`: String?
        public var port: Int
        public var targetPort: IntOrString?
        public var nodePort: Int?
        public var appProtocol: String?

        public init(name: String? = nil, protocol proto: String? = "TCP", port: Int, targetPort: IntOrString? = nil, nodePort: Int? = nil) {
            self.name = name
            self.protocol = proto
            self.port = port
            self.targetPort = targetPort
            self.nodePort = nodePort
        }
    }

    public struct SessionAffinityConfig: Sendable, Hashable, Codable {
        public var clientIP: ClientIP?
        public struct ClientIP: Sendable, Hashable, Codable {
            public var timeoutSeconds: Int?
        }
    }

    public struct Status: Sendable, Hashable, Codable, EmptyInitializable {
        public var loadBalancer = LoadBalancerStatus()
        public var conditions: [Condition]?
        public init() {}
    }

    /// The type, defaulted.
    public var type: ServiceType { ServiceType(rawValue: spec.type ?? "ClusterIP") ?? .clusterIP }
    /// True for `clusterIP: None`.
    public var isHeadless: Bool { spec.clusterIP == "None" }
    /// The ports, or none.
    public var ports: [Port] { spec.ports ?? [] }
    /// Whether this type gets node ports.
    public var needsNodePorts: Bool {
        type == .nodePort || (type == .loadBalancer && spec.allocateLoadBalancerNodePorts != false)
    }

    public static let defaultAffinityTimeout = 10800

    public mutating func setDefaults() {
        if spec.type == nil || spec.type == "" { spec.type = "ClusterIP" }
        if spec.sessionAffinity == nil || spec.sessionAffinity == "" { spec.sessionAffinity = "None" }
        if spec.sessionAffinity == "ClientIP" {
            var cfg = spec.sessionAffinityConfig ?? SessionAffinityConfig()
            var ip = cfg.clientIP ?? .init()
            if ip.timeoutSeconds == nil { ip.timeoutSeconds = Service.defaultAffinityTimeout }
            cfg.clientIP = ip
            spec.sessionAffinityConfig = cfg
        }
        if var ports = spec.ports {
            for i in ports.indices {
                if ports[i].protocol == nil || ports[i].protocol == "" { ports[i].protocol = "TCP" }
                if type != .externalName && (1...65535).contains(ports[i].port) && (ports[i].targetPort == nil || ports[i].targetPort == .int(0) || ports[i].targetPort == .string("")) {
                    ports[i].targetPort = .int(ports[i].port)
                }
            }
            spec.ports = ports
        }
        if (type == .nodePort || type == .loadBalancer) && (spec.externalTrafficPolicy ?? "").isEmpty {
            spec.externalTrafficPolicy = "Cluster"
        }
        if type != .externalName && (spec.internalTrafficPolicy ?? "").isEmpty {
            spec.internalTrafficPolicy = "Cluster"
        }
        if type == .loadBalancer && spec.allocateLoadBalancerNodePorts == nil {
            spec.allocateLoadBalancerNodePorts = true
        }
        if let ip = spec.clusterIP, !ip.isEmpty, spec.clusterIPs == nil { spec.clusterIPs = [ip] }
        if let first = spec.clusterIPs?.first, (spec.clusterIP ?? "").isEmpty { spec.clusterIP = first }
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta(nameRule: NameValidation.dns1035Label)
        let specPath = FieldPath("spec")
        let typeName = spec.type ?? "ClusterIP"
        guard ServiceType(rawValue: typeName) != nil else {
            return errs + [.notSupported(specPath.child("type"), typeName, ServiceType.allCases.map(\.rawValue))]
        }
        let ports = spec.ports ?? []
        if ports.isEmpty && type != .externalName && !isHeadless {
            errs.append(.required(specPath.child("ports")))
        }
        var names = Set<String>()
        var keys = Set<String>()
        for (i, p) in ports.enumerated() {
            let path = specPath.child("ports").index(i)
            if let name = p.name, !name.isEmpty {
                errs += NameValidation.dns1123Label(name).map { .invalid(path.child("name"), name, $0) }
                if !names.insert(name).inserted { errs.append(.duplicate(path.child("name"), name)) }
            } else if ports.count > 1 {
                errs.append(.required(path.child("name")))
            }
            errs += validatePortNumber(p.port, at: path.child("port"))
            errs += validateProtocol(p.protocol ?? "TCP", at: path.child("protocol"))
            if let target = p.targetPort { errs += validatePortNumOrName(target, at: path.child("targetPort")) }
            if let np = p.nodePort, np != 0 {
                if type == .clusterIP || type == .externalName {
                    errs.append(.forbidden(path.child("nodePort"), "may not be used when `type` is '\(typeName)'"))
                } else {
                    errs += validatePortNumber(np, at: path.child("nodePort"))
                }
            }
            let key = "\(p.port)/\(p.protocol ?? "TCP")"
            if !keys.insert(key).inserted {
                errs.append(FieldError(.duplicate, path, value: "core.ServicePort{Name:\"\(p.name ?? "")\", Protocol:\"\(p.protocol ?? "TCP")\", Port:\(p.port)}"))
            }
        }
        errs += NameValidation.labels(spec.selector, at: specPath.child("selector"))

        switch spec.sessionAffinity ?? "None" {
        case "None":
            if spec.sessionAffinityConfig != nil {
                errs.append(.forbidden(specPath.child("sessionAffinityConfig"), "must not be set when session affinity is None"))
            }
        case "ClientIP":
            if let t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds, !(1...86400).contains(t) {
                errs.append(.invalid(specPath.child("sessionAffinityConfig").child("clientIP").child("timeoutSeconds"), t, "must be greater than 0 and less than 86400"))
            }
        default:
            errs.append(.notSupported(specPath.child("sessionAffinity"), spec.sessionAffinity ?? "", ["ClientIP", "None"]))
        }

        if type == .externalName {
            if let ip = spec.clusterIP, !ip.isEmpty {
                errs.append(.forbidden(specPath.child("clusterIPs"), "may not be set for ExternalName services"))
            }
            let target = (spec.externalName ?? "").hasSuffix(".") ? String((spec.externalName ?? "").dropLast()) : (spec.externalName ?? "")
            if target.isEmpty {
                errs.append(.required(specPath.child("externalName")))
            } else {
                errs += NameValidation.dns1123Subdomain(target).map { .invalid(specPath.child("externalName"), spec.externalName ?? "", $0) }
            }
        } else {
            for (i, ip) in (spec.clusterIPs ?? (spec.clusterIP.map { [$0] } ?? [])).enumerated() where !ip.isEmpty && ip != "None" {
                if IPAddress(ip) == nil {
                    errs.append(.invalid(specPath.child("clusterIPs").index(i), ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
                }
            }
            if isHeadless && type != .clusterIP {
                errs.append(.invalid(specPath.child("clusterIPs").index(0), "None", "may only be set to 'None' for ClusterIP services"))
            }
        }
        for (i, ip) in (spec.externalIPs ?? []).enumerated() where IPAddress(ip) == nil {
            errs.append(.invalid(specPath.child("externalIPs").index(i), ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
        }
        if let etp = spec.externalTrafficPolicy, !etp.isEmpty {
            if type != .nodePort && type != .loadBalancer {
                errs.append(.invalid(specPath.child("externalTrafficPolicy"), etp, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
            } else if etp != "Cluster" && etp != "Local" {
                errs.append(.notSupported(specPath.child("externalTrafficPolicy"), etp, ["Cluster", "Local"]))
            }
        }
        if let itp = spec.internalTrafficPolicy, !itp.isEmpty, itp != "Cluster", itp != "Local" {
            errs.append(.notSupported(specPath.child("internalTrafficPolicy"), itp, ["Cluster", "Local"]))
        }
        if let ranges = spec.loadBalancerSourceRanges, !ranges.isEmpty {
            if type != .loadBalancer {
                errs.append(.forbidden(specPath.child("loadBalancerSourceRanges"), "may only be used when `type` is 'LoadBalancer'"))
            }
            for (i, r) in ranges.enumerated() where CIDR(r.trimmingCharacters(in: .whitespaces)) == nil {
                errs.append(.invalid(specPath.child("loadBalancerSourceRanges").index(i), r, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
            }
        }
        if let lbIP = spec.loadBalancerIP, !lbIP.isEmpty {
            if type != .loadBalancer {
                errs.append(.forbidden(specPath.child("loadBalancerIP"), "may only be used when `type` is 'LoadBalancer'"))
            } else if IPAddress(lbIP) == nil {
                errs.append(.invalid(specPath.child("loadBalancerIP"), lbIP, "must be a valid IP address"))
            }
        }
        if let cls = spec.loadBalancerClass {
            if type != .loadBalancer {
                errs.append(.forbidden(specPath.child("loadBalancerClass"), "may only be used when service type is 'LoadBalancer'"))
            }
            errs += NameValidation.qualifiedName(cls).map { .invalid(specPath.child("loadBalancerClass"), cls, $0) }
        }
        if let hc = spec.healthCheckNodePort, hc != 0 {
            if type != .loadBalancer || spec.externalTrafficPolicy != "Local" {
                errs.append(.invalid(specPath.child("healthCheckNodePort"), hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
            } else {
                errs += validatePortNumber(hc, at: specPath.child("healthCheckNodePort"))
            }
        }
        return errs
    }

    public func validateUpdate(from old: Service) -> [FieldError] {
        var errs: [FieldError] = []
        let oldIP = old.spec.clusterIP ?? ""
        let newIP = spec.clusterIP ?? ""
        // The API server lets the IP go only when the type changes to ExternalName.
        if !oldIP.isEmpty && oldIP != newIP && type != .externalName && old.type != .externalName {
            errs.append(.invalid(FieldPath("spec").child("clusterIPs").index(0), newIP, "may not change once set"))
        }
        if let oldClass = old.spec.loadBalancerClass, oldClass != spec.loadBalancerClass, type == .loadBalancer {
            errs.append(.invalid(FieldPath("spec").child("loadBalancerClass"), spec.loadBalancerClass ?? "", "may not change once set"))
        }
        return errs
    }
}
