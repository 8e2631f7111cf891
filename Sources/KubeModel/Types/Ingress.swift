/// `networking.k8s.io/v1 Ingress`.
public struct Ingress: Resource {
    public static let resourceType = ResourceType(group: "networking.k8s.io", version: "v1", kind: "Ingress", plural: "ingresses", shortNames: ["ing"], namespaced: true)

    /// The legacy class annotation, still honoured by controllers.
    public static let classAnnotation = "kubernetes.io/ingress.class"

    public var metadata = ObjectMeta()
    public var spec = Spec()
    public var status = Status()

    public init() {}

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var ingressClassName: String?
        public var defaultBackend: Backend?
        public var tls: [TLS]?
        public var rules: [Rule]?
        public init() {}
    }

    public struct TLS: Sendable, Hashable, Codable {
        public var hosts: [String]?
        public var secretName: String?
    }

    public struct Rule: Sendable, Hashable, Codable {
        public var host: String?
        public var http: HTTP?
    }

    public struct HTTP: Sendable, Hashable, Codable {
        public var paths: [Path]
    }

    public struct Path: Sendable, Hashable, Codable {
        public var path: String?
        public var pathType: String?
        public var backend: Backend
    }

    public struct Backend: Sendable, Hashable, Codable {
        public var service: ServiceBackend?
        public var resource: TypedLocalReference?
    }

    public struct ServiceBackend: Sendable, Hashable, Codable {
        public var name: String
        public var port: ServiceBackendPort?
    }

    public struct ServiceBackendPort: Sendable, Hashable, Codable {
        public var name: String?
        public var number: Int?
    }

    public struct TypedLocalReference: Sendable, Hashable, Codable {
        public var apiGroup: String?
        public var kind: String
        public var name: String
    }

    public struct Status: Sendable, Hashable, Codable, EmptyInitializable {
        public var loadBalancer = LoadBalancerStatus()
        public init() {}
    }

    public static let pathTypes = ["Exact", "ImplementationSpecific", "Prefix"]

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        let spec = FieldPath("spec")
        if self.spec.defaultBackend == nil && (self.spec.rules ?? []).isEmpty {
            errs.append(.invalid(spec, "", "either `defaultBackend` or `rules` must be specified"))
        }
        if let b = self.spec.defaultBackend { errs += Ingress.validate(b, at: spec.child("defaultBackend")) }
        for (i, rule) in (self.spec.rules ?? []).enumerated() {
            let p = spec.child("rules").index(i)
            if let host = rule.host, !host.isEmpty {
                errs += Ingress.validateHost(host, at: p.child("host"))
            }
            guard let http = rule.http else { continue }
            let pp = p.child("http").child("paths")
            if http.paths.isEmpty { errs.append(.required(pp)) }
            for (j, path) in http.paths.enumerated() {
                let jp = pp.index(j)
                errs += Ingress.validatePath(path, at: jp)
                errs += Ingress.validate(path.backend, at: jp.child("backend"))
            }
        }
        for (i, tls) in (self.spec.tls ?? []).enumerated() {
            for (j, host) in (tls.hosts ?? []).enumerated() {
                errs += Ingress.validateHost(host, at: spec.child("tls").index(i).child("hosts").index(j))
            }
            if let s = tls.secretName, !s.isEmpty {
                errs += NameValidation.dns1123Subdomain(s).map { .invalid(spec.child("tls").index(i).child("secretName"), s, $0) }
            }
        }
        if let cls = self.spec.ingressClassName {
            errs += NameValidation.dns1123Subdomain(cls).map { .invalid(spec.child("ingressClassName"), cls, $0) }
        }
        return errs
    }

    static let wildcardMessage = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

    static func validateHost(_ host: String, at path: FieldPath) -> [FieldError] {
        if IPAddress(host) != nil { return [.invalid(path, host, "must be a DNS name, not an IP address")] }
        if host.contains("*") {
            guard host.hasPrefix("*.") else { return [.invalid(path, host, wildcardMessage)] }
            let rest = String(host.dropFirst(2))
            return NameValidation.dns1123Subdomain(rest).isEmpty ? [] : [.invalid(path, host, wildcardMessage)]
        }
        return NameValidation.dns1123Subdomain(host).map { .invalid(path, host, $0) }
    }

    static func validatePath(_ path: Path, at p: FieldPath) -> [FieldError] {
        guard let type = path.pathType, !type.isEmpty else {
            return [.required(p.child("pathType"), "pathType must be specified")]
        }
        guard pathTypes.contains(type) else {
            return [.notSupported(p.child("pathType"), type, pathTypes)]
        }
        let value = path.path ?? ""
        guard value.hasPrefix("/") else {
            return [.invalid(p.child("path"), value, "must be an absolute path")]
        }
        if type == "Exact" || type == "Prefix" {
            for bad in ["//", "/./", "/../", "%2f", "%2F"] where value.contains(bad) {
                return [.invalid(p.child("path"), value, "must not contain '\(bad)'")]
            }
            for bad in ["/..", "/."] where value.hasSuffix(bad) {
                return [.invalid(p.child("path"), value, "cannot end with '\(bad)'")]
            }
        }
        return []
    }

    static func validate(_ b: Backend, at p: FieldPath) -> [FieldError] {
        switch (b.service, b.resource) {
        case (nil, nil):
            return [.invalid(p, "", "resource or service backend is required")]
        case (.some, .some):
            return [.invalid(p, "", "cannot set both resource and service backends")]
        case (.some(let svc), nil):
            var errs = NameValidation.dns1035Label(svc.name).map { FieldError.invalid(p.child("service").child("name"), svc.name, $0) }
            let pp = p.child("service").child("port")
            switch (svc.port?.name.flatMap { $0.isEmpty ? nil : $0 }, svc.port?.number) {
            case (nil, nil):
                errs.append(.required(pp, "port name or number is required"))
            case (.some, .some):
                errs.append(.invalid(pp, "", "cannot set both port name & port number"))
            case (.some(let name), nil):
                errs += NameValidation.ianaServiceName(name).map { .invalid(pp.child("name"), name, $0) }
            case (nil, .some(let n)):
                errs += validatePortNumber(n, at: pp.child("number"))
            }
            return errs
        case (nil, .some(let r)):
            var errs: [FieldError] = []
            if r.kind.isEmpty { errs.append(.required(p.child("resource").child("kind"))) }
            if r.name.isEmpty { errs.append(.required(p.child("resource").child("name"))) }
            return errs
        }
    }
}
