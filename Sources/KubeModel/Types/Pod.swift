/// `v1 Pod`.
public struct Pod: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Pod", plural: "pods", shortNames: ["po"], namespaced: true)

    public var metadata = ObjectMeta()
    public var spec = Spec()
    public var status = Status()

    public init() {}

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var containers: [Container] = []
        public var initContainers: [Container]?
        public var volumes: [Volume]?
        public var restartPolicy: String?
        public var terminationGracePeriodSeconds: Int64?
        public var activeDeadlineSeconds: Int64?
        public var dnsPolicy: String?
        public var dnsConfig: DNSConfig?
        public var hostname: String?
        public var subdomain: String?
        public var nodeName: String?
        public var serviceAccountName: String?
        public var hostNetwork: Bool?
        public var enableServiceLinks: Bool?
        public var securityContext: PodSecurityContext?
        public var readinessGates: [JSONValue]?
        public init() {}
    }

    public struct Container: Sendable, Hashable, Codable {
        public var name: String = ""
        public var image: String?
        public var command: [String]?
        public var args: [String]?
        public var workingDir: String?
        public var ports: [ContainerPort]?
        public var env: [EnvVar]?
        public var envFrom: [EnvFromSource]?
        public var resources: JSONValue?
        public var volumeMounts: [VolumeMount]?
        public var readinessProbe: Probe?
        public var livenessProbe: Probe?
        public var startupProbe: Probe?
        public var securityContext: SecurityContext?
        public var imagePullPolicy: String?
        public var terminationMessagePath: String?
        public var terminationMessagePolicy: String?
        public init(name: String, command: [String]? = nil, args: [String]? = nil) {
            self.name = name
            self.command = command
            self.args = args
        }
    }

    public struct ContainerPort: Sendable, Hashable, Codable {
        public var name: String?
        public var containerPort: Int
        public var `protocol`: String?
        public var hostPort: Int?
        public var hostIP: String?
        public init(name: String? = nil, containerPort: Int, protocol proto: String? = "TCP") {
            self.name = name
            self.containerPort = containerPort
            self.protocol = proto
        }
    }

    public struct EnvVar: Sendable, Hashable, Codable {
        public var name: String
        public var value: String?
        public var valueFrom: EnvVarSource?
    }

    public struct EnvVarSource: Sendable, Hashable, Codable {
        public var secretKeyRef: KeySelector?
        public var configMapKeyRef: KeySelector?
        public var fieldRef: FieldSelector?
        public var resourceFieldRef: JSONValue?
    }

    public struct KeySelector: Sendable, Hashable, Codable {
        public var name: String?
        public var key: String
        public var optional: Bool?
    }

    public struct FieldSelector: Sendable, Hashable, Codable {
        public var apiVersion: String?
        public var fieldPath: String
    }

    public struct EnvFromSource: Sendable, Hashable, Codable {
        public var prefix: String?
        public var configMapRef: LocalRef?
        public var secretRef: LocalRef?
    }

    public struct LocalRef: Sendable, Hashable, Codable {
        public var name: String?
        public var optional: Bool?
    }

    public struct VolumeMount: Sendable, Hashable, Codable {
        public var name: String
        public var mountPath: String
        public var readOnly: Bool?
        public var subPath: String?
    }

    public struct Probe: Sendable, Hashable, Codable {
        public var httpGet: HTTPGetAction?
        public var tcpSocket: TCPSocketAction?
        public var exec: ExecAction?
        public var grpc: JSONValue?
        public var initialDelaySeconds: Int?
        public var periodSeconds: Int?
        public var timeoutSeconds: Int?
        public var successThreshold: Int?
        public var failureThreshold: Int?
        public var terminationGracePeriodSeconds: Int64?
    }

    public struct HTTPGetAction: Sendable, Hashable, Codable {
        public var path: String?
        public var port: IntOrString
        public var host: String?
        public var scheme: String?
        public var httpHeaders: [HTTPHeader]?
    }

    public struct HTTPHeader: Sendable, Hashable, Codable {
        public var name: String
        public var value: String
    }

    public struct TCPSocketAction: Sendable, Hashable, Codable {
        public var port: IntOrString
        public var host: String?
    }

    public struct ExecAction: Sendable, Hashable, Codable {
        public var command: [String]?
    }

    public struct SecurityContext: Sendable, Hashable, Codable {
        public var runAsUser: Int64?
        public var runAsGroup: Int64?
        public var runAsNonRoot: Bool?
        public var readOnlyRootFilesystem: Bool?
        public var privileged: Bool?
    }

    public struct PodSecurityContext: Sendable, Hashable, Codable {
        public var runAsUser: Int64?
        public var runAsGroup: Int64?
        public var runAsNonRoot: Bool?
        public var fsGroup: Int64?
        public var supplementalGroups: [Int64]?
    }

    public struct DNSConfig: Sendable, Hashable, Codable {
        public var nameservers: [String]?
        public var searches: [String]?
        public var options: [Option]?
        public struct Option: Sendable, Hashable, Codable {
            public var name: String
            public var value: String?
        }
    }

    public struct Volume: Sendable, Hashable, Codable {
        public var name: String
        public var emptyDir: EmptyDirSource?
        public var hostPath: HostPathSource?
        public var secret: SecretSource?
        public var configMap: ConfigMapSource?
        public var persistentVolumeClaim: ClaimSource?
        public var projected: JSONValue?
        public var downwardAPI: JSONValue?

        /// The number of sources set (exactly one is valid).
        var sourceCount: Int {
            [emptyDir != nil, hostPath != nil, secret != nil, configMap != nil, persistentVolumeClaim != nil, projected != nil, downwardAPI != nil].filter { $0 }.count
        }
    }

    public struct EmptyDirSource: Sendable, Hashable, Codable {
        public var medium: String?
        public var sizeLimit: Quantity?
    }

    public struct HostPathSource: Sendable, Hashable, Codable {
        public var path: String
        public var type: String?
    }

    public struct KeyToPath: Sendable, Hashable, Codable {
        public var key: String
        public var path: String
        public var mode: Int?
    }

    public struct SecretSource: Sendable, Hashable, Codable {
        public var secretName: String?
        public var items: [KeyToPath]?
        public var defaultMode: Int?
        public var optional: Bool?
    }

    public struct ConfigMapSource: Sendable, Hashable, Codable {
        public var name: String?
        public var items: [KeyToPath]?
        public var defaultMode: Int?
        public var optional: Bool?
    }

    public struct ClaimSource: Sendable, Hashable, Codable {
        public var claimName: String
        public var readOnly: Bool?
    }

    public struct Status: Sendable, Hashable, Codable, EmptyInitializable {
        public var phase: String?
        public var conditions: [Condition]?
        public var message: String?
        public var reason: String?
        public var hostIP: String?
        public var hostIPs: [IPEntry]?
        public var podIP: String?
        public var podIPs: [IPEntry]?
        public var startTime: String?
        public var containerStatuses: [ContainerStatus]?
        public var initContainerStatuses: [ContainerStatus]?
        public var qosClass: String?
        public init() {}
    }

    public struct IPEntry: Sendable, Hashable, Codable {
        public var ip: String
        public init(ip: String) { self.ip = ip }
    }

    public struct ContainerStatus: Sendable, Hashable, Codable {
        public var name: String
        public var ready: Bool
        public var started: Bool?
        public var restartCount: Int
        public var image: String?
        public var imageID: String?
        public var containerID: String?
        public var state: ContainerState?
        public var lastState: ContainerState?
        public init(name: String, ready: Bool = false, restartCount: Int = 0) {
            self.name = name
            self.ready = ready
            self.restartCount = restartCount
        }
    }

    public struct ContainerState: Sendable, Hashable, Codable {
        public var waiting: Waiting?
        public var running: Running?
        public var terminated: Terminated?
        public init() {}
        public struct Waiting: Sendable, Hashable, Codable {
            public var reason: String?
            public var message: String?
            public init(reason: String?, message: String? = nil) { self.reason = reason; self.message = message }
        }
        public struct Running: Sendable, Hashable, Codable {
            public var startedAt: String?
            public init(startedAt: String?) { self.startedAt = startedAt }
        }
        public struct Terminated: Sendable, Hashable, Codable {
            public var exitCode: Int32
            public var signal: Int32?
            public var reason: String?
            public var message: String?
            public var startedAt: String?
            public var finishedAt: String?
            public init(exitCode: Int32, reason: String? = nil) { self.exitCode = exitCode; self.reason = reason }
        }
    }

    /// True when the Ready condition is True.
    public var isReady: Bool {
        status.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false
    }

    /// True once the pod has finished (Succeeded or Failed).
    public var isTerminal: Bool { status.phase == "Succeeded" || status.phase == "Failed" }

    public mutating func setDefaults() {
        Pod.setDefaults(&spec)
        if status.phase == nil { status.phase = "Pending" }
    }

    /// Pod spec defaulting, shared with pod templates.
    public static func setDefaults(_ spec: inout Spec) {
        if (spec.restartPolicy ?? "").isEmpty { spec.restartPolicy = "Always" }
        if (spec.dnsPolicy ?? "").isEmpty { spec.dnsPolicy = "ClusterFirst" }
        if spec.terminationGracePeriodSeconds == nil { spec.terminationGracePeriodSeconds = 30 }
        if spec.enableServiceLinks == nil { spec.enableServiceLinks = true }
        func defaultContainer(_ c: inout Container) {
            if var ports = c.ports {
                for i in ports.indices where (ports[i].protocol ?? "").isEmpty { ports[i].protocol = "TCP" }
                c.ports = ports
            }
            if c.terminationMessagePath == nil { c.terminationMessagePath = "/dev/termination-log" }
            if c.terminationMessagePolicy == nil { c.terminationMessagePolicy = "File" }
            for keyPath in [\Container.readinessProbe, \Container.livenessProbe, \Container.startupProbe] {
                guard var p = c[keyPath: keyPath] else { continue }
                if p.periodSeconds == nil { p.periodSeconds = 10 }
                if p.timeoutSeconds == nil { p.timeoutSeconds = 1 }
                if p.successThreshold == nil { p.successThreshold = 1 }
                if p.failureThreshold == nil { p.failureThreshold = 3 }
                if var h = p.httpGet {
                    if h.path == nil { h.path = "/" }
                    if h.scheme == nil { h.scheme = "HTTP" }
                    p.httpGet = h
                }
                c[keyPath: keyPath] = p
            }
        }
        for i in spec.containers.indices { defaultContainer(&spec.containers[i]) }
        if var inits = spec.initContainers {
            for i in inits.indices { defaultContainer(&inits[i]) }
            spec.initContainers = inits
        }
        if var volumes = spec.volumes {
            for i in volumes.indices {
                if var s = volumes[i].secret, s.defaultMode == nil { s.defaultMode = 0o644; volumes[i].secret = s }
                if var c = volumes[i].configMap, c.defaultMode == nil { c.defaultMode = 0o644; volumes[i].configMap = c }
                if var h = volumes[i].hostPath, h.type == nil { h.type = ""; volumes[i].hostPath = h }
            }
            spec.volumes = volumes
        }
    }

    public func validate() -> [FieldError] {
        validateMeta() + Pod.validate(spec, at: FieldPath("spec"))
    }

    static let restartPolicies = ["Always", "Never", "OnFailure"]
    static let dnsPolicies = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
    static let hostPathTypes = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]

    /// Pod spec validation, shared with pod templates.
    public static func validate(_ spec: Spec, at path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var volumeNames = Set<String>()
        for (i, v) in (spec.volumes ?? []).enumerated() {
            let p = path.child("volumes").index(i)
            errs += NameValidation.dns1123Label(v.name).map { .invalid(p.child("name"), v.name, $0) }
            if !volumeNames.insert(v.name).inserted { errs.append(.duplicate(p.child("name"), v.name)) }
            switch v.sourceCount {
            case 0: errs.append(.required(p, "must specify a volume type"))
            case 1: break
            default: errs.append(.forbidden(p, "may not specify more than 1 volume type"))
            }
            if let h = v.hostPath {
                if h.path.isEmpty { errs.append(.required(p.child("hostPath").child("path"))) }
                if let t = h.type, !hostPathTypes.contains(t) {
                    errs.append(.notSupported(p.child("hostPath").child("type"), t, hostPathTypes.filter { !$0.isEmpty }))
                }
            }
            if let e = v.emptyDir {
                if let m = e.medium, !["", "Memory", "HugePages"].contains(m) {
                    errs.append(.notSupported(p.child("emptyDir").child("medium"), m, ["", "Memory"]))
                }
                if let s = e.sizeLimit, s.isNegative {
                    errs.append(.invalid(p.child("emptyDir").child("sizeLimit"), s.text, "must be greater than or equal to 0"))
                }
            }
            if let c = v.persistentVolumeClaim, c.claimName.isEmpty {
                errs.append(.required(p.child("persistentVolumeClaim").child("claimName")))
            }
            for (mode, mp) in [(v.secret?.defaultMode, p.child("secret").child("defaultMode")), (v.configMap?.defaultMode, p.child("configMap").child("defaultMode"))] {
                if let mode, !(0...0o777).contains(mode) {
                    errs.append(.invalid(mp, mode, "must be a number between 0 and 0777 (octal), both inclusive"))
                }
            }
        }
        if spec.containers.isEmpty { errs.append(.required(path.child("containers"))) }
        var containerNames = Set<String>()
        for (group, list) in [("initContainers", spec.initContainers ?? []), ("containers", spec.containers)] {
            for (i, c) in list.enumerated() {
                let p = path.child(group).index(i)
                if c.name.isEmpty {
                    errs.append(.required(p.child("name")))
                } else {
                    errs += NameValidation.dns1123Label(c.name).map { .invalid(p.child("name"), c.name, $0) }
                    if !containerNames.insert(c.name).inserted { errs.append(.duplicate(p.child("name"), c.name)) }
                }
                var portNames = Set<String>()
                for (j, port) in (c.ports ?? []).enumerated() {
                    let pp = p.child("ports").index(j)
                    errs += validatePortNumber(port.containerPort, at: pp.child("containerPort"))
                    errs += validateProtocol(port.protocol ?? "TCP", at: pp.child("protocol"))
                    if let hp = port.hostPort, hp != 0 { errs += validatePortNumber(hp, at: pp.child("hostPort")) }
                    if let n = port.name, !n.isEmpty {
                        errs += NameValidation.ianaServiceName(n).map { .invalid(pp.child("name"), n, $0) }
                        if !portNames.insert(n).inserted { errs.append(.duplicate(pp.child("name"), n)) }
                    }
                }
                for (j, e) in (c.env ?? []).enumerated() {
                    let ep = p.child("env").index(j)
                    if e.name.isEmpty { errs.append(.required(ep.child("name"))) }
                    if e.value != nil && !(e.value ?? "").isEmpty && e.valueFrom != nil {
                        errs.append(.invalid(ep.child("valueFrom"), "", "may not be specified when `value` is not empty"))
                    }
                    if let vf = e.valueFrom {
                        let n = [vf.secretKeyRef != nil, vf.configMapKeyRef != nil, vf.fieldRef != nil, vf.resourceFieldRef != nil].filter { $0 }.count
                        if n != 1 { errs.append(.invalid(ep.child("valueFrom"), "", "may not have more than one field specified at a time")) }
                        if let f = vf.fieldRef {
                            let supported = ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"]
                            if !supported.contains(f.fieldPath) && !f.fieldPath.hasPrefix("metadata.labels[") && !f.fieldPath.hasPrefix("metadata.annotations[") {
                                errs.append(.notSupported(ep.child("valueFrom").child("fieldRef").child("fieldPath"), f.fieldPath, supported))
                            }
                        }
                    }
                }
                var mountPaths = Set<String>()
                for (j, m) in (c.volumeMounts ?? []).enumerated() {
                    let mp = p.child("volumeMounts").index(j)
                    if !volumeNames.contains(m.name) { errs.append(.notFound(mp.child("name"), m.name)) }
                    if m.mountPath.isEmpty { errs.append(.required(mp.child("mountPath"))) }
                    if !mountPaths.insert(m.mountPath).inserted { errs.append(.invalid(mp.child("mountPath"), m.mountPath, "must be unique")) }
                    if let sub = m.subPath, sub.hasPrefix("/") || sub.split(separator: "/").contains("..") {
                        errs.append(.invalid(mp.child("subPath"), sub, "must be a relative path without '..'"))
                    }
                }
                for (name, probe) in [("readinessProbe", c.readinessProbe), ("livenessProbe", c.livenessProbe), ("startupProbe", c.startupProbe)] {
                    guard let probe else { continue }
                    let pp = p.child(name)
                    if group == "initContainers" { errs.append(.forbidden(pp, "may not be set for init containers")); continue }
                    let handlers = [probe.httpGet != nil, probe.tcpSocket != nil, probe.exec != nil, probe.grpc != nil].filter { $0 }.count
                    if handlers == 0 { errs.append(.required(pp, "must specify a handler type")) }
                    if handlers > 1 { errs.append(.forbidden(pp, "may not specify more than 1 handler type")) }
                    if let h = probe.httpGet { errs += validatePortNumOrName(h.port, at: pp.child("httpGet").child("port")) }
                    if let t = probe.tcpSocket { errs += validatePortNumOrName(t.port, at: pp.child("tcpSocket").child("port")) }
                    for (field, value) in [("initialDelaySeconds", probe.initialDelaySeconds), ("timeoutSeconds", probe.timeoutSeconds), ("periodSeconds", probe.periodSeconds), ("successThreshold", probe.successThreshold), ("failureThreshold", probe.failureThreshold)] {
                        if let value, value < 0 { errs.append(.invalid(pp.child(field), value, "must be greater than or equal to 0")) }
                    }
                    if (name == "livenessProbe" || name == "startupProbe"), let s = probe.successThreshold, s != 1 {
                        errs.append(.invalid(pp.child("successThreshold"), s, "must be 1"))
                    }
                }
            }
        }
        if let rp = spec.restartPolicy, !restartPolicies.contains(rp) {
            errs.append(.notSupported(path.child("restartPolicy"), rp, restartPolicies))
        }
        if let dp = spec.dnsPolicy, !dnsPolicies.contains(dp) {
            errs.append(.notSupported(path.child("dnsPolicy"), dp, dnsPolicies))
        }
        if spec.dnsPolicy == "None" && (spec.dnsConfig?.nameservers ?? []).isEmpty {
            errs.append(.required(path.child("dnsConfig").child("nameservers"), "must provide at least one DNS nameserver when DNSPolicy is set to None"))
        }
        for (field, value) in [("hostname", spec.hostname), ("subdomain", spec.subdomain)] {
            if let value, !value.isEmpty {
                errs += NameValidation.dns1123Label(value).map { .invalid(path.child(field), value, $0) }
            }
        }
        if let g = spec.terminationGracePeriodSeconds, g < 0 {
            errs.append(.invalid(path.child("terminationGracePeriodSeconds"), Int(g), "must be greater than or equal to 0"))
        }
        return errs
    }

    public func validateUpdate(from old: Pod) -> [FieldError] {
        // As the API server: only images (and a few scheduling fields) may change in place.
        var a = spec, b = old.spec
        for i in a.containers.indices { a.containers[i].image = nil }
        for i in b.containers.indices { b.containers[i].image = nil }
        a.activeDeadlineSeconds = nil; b.activeDeadlineSeconds = nil
        if a.nodeName == nil || b.nodeName == nil { a.nodeName = nil; b.nodeName = nil }
        if a != b {
            return [.forbidden(FieldPath("spec"), "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")]
        }
        return []
    }
}

extension FieldError {
    public static func notFound(_ field: FieldPath, _ value: some CustomStringConvertible) -> FieldError {
        FieldError(.notFound, field, value: render(value))
    }
}
