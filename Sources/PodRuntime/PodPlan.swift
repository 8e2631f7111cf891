import Foundation
import KubeModel
import ClusterStore

/// Everything needed to run one pod, computed purely from the pod and the objects it refers
/// to: files it sees (/etc/resolv.conf, /etc/hosts), volumes, and per container the argv,
/// environment, user and mounts. The runtime only executes a plan.
public struct PodPlan: Sendable, Equatable {
    public var hostname: String
    public var resolvConf: String?
    public var hostsFile: String
    public var volumes: [VolumePlan]
    public var initContainers: [ContainerPlan]
    public var containers: [ContainerPlan]

    /// Why a pod cannot start yet (it stays Pending with this reason).
    public struct Blocked: Error, Sendable, Equatable {
        public var reason: String
        public var message: String
    }
}

/// One volume of a pod and where its contents come from.
public struct VolumePlan: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// A folder created with the pod and removed with it; `memory` makes it a tmpfs.
        case emptyDir(memory: Bool, sizeLimit: Int64?)
        /// A path on the node, checked (or created) per `type`.
        case hostPath(path: String, type: String)
        /// Files written by kplane (secret, configMap): path → contents and mode.
        case files([ProjectedFile])
        /// The directory of the PersistentVolume bound to a claim.
        case claim(path: String, readOnly: Bool)
    }

    public var name: String
    public var source: Source
}

public struct ProjectedFile: Sendable, Equatable {
    public var path: String
    public var contents: Data
    public var mode: Int
}

/// One container, ready to start.
public struct ContainerPlan: Sendable, Equatable {
    public var name: String
    public var argv: [String]
    public var environment: [EnvironmentVariable]
    public var workingDir: String?
    public var uid: UInt32
    public var gid: UInt32
    public var mounts: [Mount]
    /// Set when the container cannot be started (`NoCommand`, `CreateContainerConfigError`).
    public var problem: PodPlan.Blocked?

    public struct Mount: Sendable, Equatable {
        public var volume: String
        public var target: String
        public var readOnly: Bool
        public var subPath: String?
    }
}

public struct EnvironmentVariable: Sendable, Equatable {
    public var name: String
    public var value: String
}

extension PodPlan {
    /// Plans `pod` against the objects in `snapshot`. `podIP` is the address it will have.
    public static func make(pod: Pod, podIP: String, node: NodeConfiguration, snapshot: CacheSnapshot) -> Result<PodPlan, Blocked> {
        let ns = pod.namespace
        let hostname = String((pod.spec.hostname ?? pod.name).prefix(63))
        var volumes: [VolumePlan] = []
        for v in pod.spec.volumes ?? [] {
            switch volumePlan(v, namespace: ns, snapshot: snapshot) {
            case .success(let plan): volumes.append(plan)
            case .failure(let blocked): return .failure(blocked)
            }
        }
        let services = pod.spec.enableServiceLinks == false
            ? snapshot.list(Service.self, namespace: "default").filter { $0.name == "kubernetes" }
            : snapshot.list(Service.self, namespace: ns) + (ns == "default" ? [] : snapshot.list(Service.self, namespace: "default").filter { $0.name == "kubernetes" })
        let serviceEnv = ServiceEnvironment.variables(for: services, namespace: ns, enableServiceLinks: pod.spec.enableServiceLinks != false)
        func containers(_ list: [Pod.Container]) -> [ContainerPlan] {
            list.map { containerPlan($0, pod: pod, podIP: podIP, node: node, serviceEnv: serviceEnv, snapshot: snapshot) }
        }
        return .success(PodPlan(
            hostname: hostname,
            resolvConf: resolvConf(pod: pod, node: node),
            hostsFile: hostsFile(pod: pod, hostname: hostname, podIP: podIP, node: node),
            volumes: volumes,
            initContainers: containers(pod.spec.initContainers ?? []),
            containers: containers(pod.spec.containers)))
    }

    /// kubelet's resolv.conf per dnsPolicy and dnsConfig; nil means "use the node's".
    public static func resolvConf(pod: Pod, node: NodeConfiguration) -> String? {
        var nameservers: [String] = []
        var searches: [String] = []
        var options: [(String, String?)] = []
        switch pod.spec.dnsPolicy ?? "ClusterFirst" {
        case "Default":
            guard pod.spec.dnsConfig != nil else { return nil }
            let host = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
            for line in host.split(separator: "\n") {
                let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                if f.first == "nameserver", f.count > 1 { nameservers.append(f[1]) }
                if f.first == "search" { searches += f.dropFirst() }
            }
        case "None":
            break
        default:
            let ns = pod.namespace
            nameservers = [node.clusterDNS]
            searches = ["\(ns).svc.\(node.clusterDomain)", "svc.\(node.clusterDomain)", node.clusterDomain]
            options = [("ndots", "5")]
        }
        if let cfg = pod.spec.dnsConfig {
            for s in cfg.nameservers ?? [] where !nameservers.contains(s) { nameservers.append(s) }
            for s in cfg.searches ?? [] where !searches.contains(s) { searches.append(s) }
            for o in cfg.options ?? [] {
                if let i = options.firstIndex(where: { $0.0 == o.name }) { options[i] = (o.name, o.value) } else { options.append((o.name, o.value)) }
            }
        }
        var text = ""
        if !searches.isEmpty { text += "search " + searches.prefix(32).joined(separator: " ") + "\n" }
        for s in nameservers.prefix(3) { text += "nameserver \(s)\n" }
        if !options.isEmpty {
            let rendered = options.map { option -> String in
                guard let value = option.1 else { return option.0 }
                return "\(option.0):\(value)"
            }
            text += "options " + rendered.joined(separator: " ") + "\n"
        }
        return text
    }

    /// kubelet's managed /etc/hosts.
    static func hostsFile(pod: Pod, hostname: String, podIP: String, node: NodeConfiguration) -> String {
        var text = """
            # Kubernetes-managed hosts file (kplane).
            127.0.0.1\tlocalhost
            ::1\tlocalhost ip6-localhost ip6-loopback
            fe00::0\tip6-localnet
            fe00::0\tip6-mcastprefix
            fe00::1\tip6-allnodes
            fe00::2\tip6-allrouters

            """
        if let sub = pod.spec.subdomain, !sub.isEmpty {
            text += "\(podIP)\t\(hostname).\(sub).\(pod.namespace).svc.\(node.clusterDomain)\t\(hostname)\n"
        } else {
            text += "\(podIP)\t\(hostname)\n"
        }
        return text
    }

    static func volumePlan(_ v: Pod.Volume, namespace: String, snapshot: CacheSnapshot) -> Result<VolumePlan, Blocked> {
        if let e = v.emptyDir {
            return .success(VolumePlan(name: v.name, source: .emptyDir(memory: e.medium == "Memory", sizeLimit: e.sizeLimit?.int64Value)))
        }
        if let h = v.hostPath {
            return .success(VolumePlan(name: v.name, source: .hostPath(path: h.path, type: h.type ?? "")))
        }
        if let s = v.secret {
            let name = s.secretName ?? ""
            guard let secret = snapshot.get(Secret.self, namespace: namespace, name: name) else {
                if s.optional == true { return .success(VolumePlan(name: v.name, source: .files([]))) }
                return .failure(Blocked(reason: "ContainerCreating", message: "MountVolume.SetUp failed for volume \"\(v.name)\" : secret \"\(name)\" not found"))
            }
            let data = (secret.data ?? [:]).compactMapValues { Data(base64Encoded: $0) }
            return files(v.name, data: data, items: s.items, defaultMode: s.defaultMode ?? 0o644, kind: "secret", object: name, optional: s.optional == true)
        }
        if let c = v.configMap {
            let name = c.name ?? ""
            guard let cm = snapshot.get(ConfigMap.self, namespace: namespace, name: name) else {
                if c.optional == true { return .success(VolumePlan(name: v.name, source: .files([]))) }
                return .failure(Blocked(reason: "ContainerCreating", message: "MountVolume.SetUp failed for volume \"\(v.name)\" : configmap \"\(name)\" not found"))
            }
            var data = (cm.data ?? [:]).mapValues { Data($0.utf8) }
            for (k, b) in cm.binaryData ?? [:] { data[k] = Data(base64Encoded: b) }
            return files(v.name, data: data, items: c.items, defaultMode: c.defaultMode ?? 0o644, kind: "configmap", object: name, optional: c.optional == true)
        }
        if let claim = v.persistentVolumeClaim {
            guard let pvc = snapshot.get(PersistentVolumeClaim.self, namespace: namespace, name: claim.claimName) else {
                return .failure(Blocked(reason: "Unschedulable", message: "persistentvolumeclaim \"\(claim.claimName)\" not found"))
            }
            guard pvc.status.phase == "Bound", let volumeName = pvc.spec.volumeName,
                  let pv = snapshot.get(PersistentVolume.self, name: volumeName) else {
                return .failure(Blocked(reason: "Unschedulable", message: "pod has unbound immediate PersistentVolumeClaims (claim \"\(claim.claimName)\" is \(pvc.status.phase ?? "Pending"))"))
            }
            guard let path = pv.spec.hostPath?.path ?? pv.spec.local?.path else {
                return .failure(Blocked(reason: "ContainerCreating", message: "volume \"\(volumeName)\" has no hostPath or local source this node can mount"))
            }
            return .success(VolumePlan(name: v.name, source: .claim(path: path, readOnly: claim.readOnly == true)))
        }
        return .failure(Blocked(reason: "ContainerCreating", message: "volume \"\(v.name)\": this volume type is not supported on kplane"))
    }

    static func files(_ volume: String, data: [String: Data], items: [Pod.KeyToPath]?, defaultMode: Int, kind: String, object: String, optional: Bool) -> Result<VolumePlan, Blocked> {
        var out: [ProjectedFile] = []
        if let items, !items.isEmpty {
            for item in items {
                guard let bytes = data[item.key] else {
                    if optional { continue }
                    return .failure(Blocked(reason: "ContainerCreating", message: "MountVolume.SetUp failed for volume \"\(volume)\" : configmap references non-existent config key: \(item.key)".replacingOccurrences(of: "configmap", with: kind)))
                }
                out.append(ProjectedFile(path: item.path, contents: bytes, mode: item.mode ?? defaultMode))
            }
        } else {
            for (key, bytes) in data.sorted(by: { $0.key < $1.key }) {
                out.append(ProjectedFile(path: key, contents: bytes, mode: defaultMode))
            }
        }
        return .success(VolumePlan(name: volume, source: .files(out)))
    }

    static func containerPlan(_ c: Pod.Container, pod: Pod, podIP: String, node: NodeConfiguration,
                              serviceEnv: [(String, String)], snapshot: CacheSnapshot) -> ContainerPlan {
        let ns = pod.namespace
        var problem: Blocked?
        var env: [(String, String)] = serviceEnv
        func set(_ name: String, _ value: String) {
            if let i = env.firstIndex(where: { $0.0 == name }) { env[i].1 = value } else { env.append((name, value)) }
        }
        for source in c.envFrom ?? [] {
            let prefix = source.prefix ?? ""
            if let ref = source.configMapRef {
                if let cm = snapshot.get(ConfigMap.self, namespace: ns, name: ref.name ?? "") {
                    for (k, v) in (cm.data ?? [:]).sorted(by: { $0.key < $1.key }) { set(prefix + k, v) }
                } else if ref.optional != true {
                    problem = problem ?? Blocked(reason: "CreateContainerConfigError", message: "configmap \"\(ref.name ?? "")\" not found")
                }
            }
            if let ref = source.secretRef {
                if let secret = snapshot.get(Secret.self, namespace: ns, name: ref.name ?? "") {
                    for (k, v) in (secret.data ?? [:]).sorted(by: { $0.key < $1.key }) {
                        set(prefix + k, String(decoding: Data(base64Encoded: v) ?? Data(), as: UTF8.self))
                    }
                } else if ref.optional != true {
                    problem = problem ?? Blocked(reason: "CreateContainerConfigError", message: "secret \"\(ref.name ?? "")\" not found")
                }
            }
        }
        for e in c.env ?? [] {
            if let from = e.valueFrom {
                if let ref = from.secretKeyRef {
                    if let v = snapshot.get(Secret.self, namespace: ns, name: ref.name ?? "")?.value(ref.key) {
                        set(e.name, String(decoding: v, as: UTF8.self))
                    } else if ref.optional != true {
                        problem = problem ?? Blocked(reason: "CreateContainerConfigError", message: "secret \"\(ref.name ?? "")\" not found or has no key \"\(ref.key)\"")
                    }
                } else if let ref = from.configMapKeyRef {
                    if let v = snapshot.get(ConfigMap.self, namespace: ns, name: ref.name ?? "")?.data?[ref.key] {
                        set(e.name, v)
                    } else if ref.optional != true {
                        problem = problem ?? Blocked(reason: "CreateContainerConfigError", message: "configmap \"\(ref.name ?? "")\" not found or has no key \"\(ref.key)\"")
                    }
                } else if let ref = from.fieldRef {
                    set(e.name, fieldValue(ref.fieldPath, pod: pod, podIP: podIP, node: node))
                }
            } else {
                set(e.name, expand(e.value ?? "", env))
            }
        }
        let finalEnv = env
        let argv = ((c.command ?? []) + (c.args ?? [])).map { expand($0, finalEnv) }
        if (c.command ?? []).isEmpty {
            problem = Blocked(reason: "NoCommand", message: "container \"\(c.name)\" has no command: kplane runs processes, not images (image \"\(c.image ?? "")\" is not pulled); set `command`")
        }
        let uid = c.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser
        let gid = c.securityContext?.runAsGroup ?? pod.spec.securityContext?.runAsGroup
        let mounts = (c.volumeMounts ?? []).map {
            ContainerPlan.Mount(volume: $0.name, target: $0.mountPath, readOnly: $0.readOnly == true, subPath: ($0.subPath ?? "").isEmpty ? nil : $0.subPath)
        }
        return ContainerPlan(
            name: c.name, argv: argv,
            environment: finalEnv.map { EnvironmentVariable(name: $0.0, value: $0.1) },
            workingDir: c.workingDir,
            uid: uid.map { UInt32(truncatingIfNeeded: $0) } ?? node.defaultUser.uid,
            gid: gid.map { UInt32(truncatingIfNeeded: $0) } ?? (uid == nil ? node.defaultUser.gid : UInt32(truncatingIfNeeded: uid!)),
            mounts: mounts, problem: problem)
    }

    static func fieldValue(_ path: String, pod: Pod, podIP: String, node: NodeConfiguration) -> String {
        switch path {
        case "metadata.name": return pod.name
        case "metadata.namespace": return pod.namespace
        case "metadata.uid": return pod.metadata.uid ?? ""
        case "spec.nodeName": return node.nodeName
        case "spec.serviceAccountName": return pod.spec.serviceAccountName ?? "default"
        case "status.hostIP", "status.hostIPs": return node.nodeIP
        case "status.podIP", "status.podIPs": return podIP
        default:
            for (prefix, map) in [("metadata.labels['", pod.labels), ("metadata.annotations['", pod.annotations)] where path.hasPrefix(prefix) && path.hasSuffix("']") {
                return map[String(path.dropFirst(prefix.count).dropLast(2))] ?? ""
            }
            return ""
        }
    }

    /// Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` escapes, unknown
    /// references stay as written.
    static func expand(_ text: String, _ env: [(String, String)]) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "$", next < text.endIndex {
                if text[next] == "$" { out.append("$"); i = text.index(after: next); continue }
                if text[next] == "(", let close = text[next...].firstIndex(of: ")") {
                    let name = String(text[text.index(after: next)..<close])
                    if let value = env.last(where: { $0.0 == name })?.1 {
                        out += value
                    } else {
                        out += "$(" + name + ")"
                    }
                    i = text.index(after: close)
                    continue
                }
            }
            out.append(c)
            i = next
        }
        return out
    }
}
