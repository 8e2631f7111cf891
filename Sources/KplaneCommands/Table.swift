import Foundation
import KubeModel

/// kubectl's table output: left-aligned columns separated by three spaces.
struct Table {
    var rows: [[String]]

    func render() -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }
}

/// kubectl's human-readable ages (`45s`, `3m12s`, `5h`, `2d3h`, `400d`).
func humanAge(since timestamp: String, now: Date = Date()) -> String {
    let f = ISO8601DateFormatter()
    guard let date = f.date(from: timestamp) else { return "<unknown>" }
    return humanDuration(now.timeIntervalSince(date))
}

func humanDuration(_ interval: TimeInterval) -> String {
    let s = Int(max(0, interval))
    switch s {
    case ..<120: return "\(s)s"
    case ..<600: return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s"
    case ..<(3 * 3600): return "\(s / 60)m"
    case ..<(8 * 3600): return (s / 60) % 60 == 0 ? "\(s / 3600)h" : "\(s / 3600)h\((s / 60) % 60)m"
    case ..<(48 * 3600): return "\(s / 3600)h"
    case ..<(8 * 86400): return (s / 3600) % 24 == 0 ? "\(s / 86400)d" : "\(s / 86400)d\((s / 3600) % 24)h"
    case ..<(2 * 365 * 86400): return "\(s / 86400)d"
    default: return "\(s / (365 * 86400))y"
    }
}

/// The columns `kplane get` prints per kind, as kubectl's printers do.
enum Columns {
    struct Column {
        var header: String
        var wide = false
        var value: (Object, (any Resource)?) -> String
    }

    static func age(_ o: Object, _: (any Resource)?) -> String { humanAge(since: o.creationTimestamp) }

    static func of(_ type: ResourceType) -> [Column] {
        let name = Column(header: "NAME") { o, _ in o.name }
        let age = Column(header: "AGE", value: age)
        switch type {
        case Service.resourceType:
            return [name,
                    Column(header: "TYPE") { _, r in (r as? Service)?.type.rawValue ?? "" },
                    Column(header: "CLUSTER-IP") { _, r in (r as? Service)?.spec.clusterIP ?? "<none>" },
                    Column(header: "EXTERNAL-IP") { _, r in externalIP(r as? Service) },
                    Column(header: "PORT(S)") { _, r in servicePorts(r as? Service) },
                    age,
                    Column(header: "SELECTOR", wide: true) { _, r in selectorText((r as? Service)?.spec.selector) }]
        case Pod.resourceType:
            return [name,
                    Column(header: "READY") { _, r in
                        guard let p = r as? Pod else { return "" }
                        let ready = p.status.containerStatuses?.filter(\.ready).count ?? 0
                        return "\(ready)/\(p.spec.containers.count)"
                    },
                    Column(header: "STATUS") { o, r in podStatus(o, r as? Pod) },
                    Column(header: "RESTARTS") { _, r in String((r as? Pod)?.status.containerStatuses?.reduce(0) { $0 + $1.restartCount } ?? 0) },
                    age,
                    Column(header: "IP", wide: true) { _, r in (r as? Pod)?.status.podIP ?? "<none>" },
                    Column(header: "NODE", wide: true) { _, r in (r as? Pod)?.spec.nodeName ?? "<none>" },
                    Column(header: "NOMINATED NODE", wide: true) { _, _ in "<none>" },
                    Column(header: "READINESS GATES", wide: true) { _, _ in "<none>" }]
        case Endpoints.resourceType:
            return [name,
                    Column(header: "ENDPOINTS") { _, r in endpointsText(r as? Endpoints) },
                    age]
        case EndpointSlice.resourceType:
            return [name,
                    Column(header: "ADDRESSTYPE") { _, r in (r as? EndpointSlice)?.addressType ?? "" },
                    Column(header: "PORTS") { _, r in
                        let ports = (r as? EndpointSlice)?.ports?.compactMap { $0.port.map(String.init) } ?? []
                        return ports.isEmpty ? "<unset>" : ports.joined(separator: ",")
                    },
                    Column(header: "ENDPOINTS") { _, r in
                        let addrs = (r as? EndpointSlice)?.endpoints?.flatMap(\.addresses) ?? []
                        return addrs.isEmpty ? "<unset>" : truncatedList(addrs)
                    },
                    age]
        case Ingress.resourceType:
            return [name,
                    Column(header: "CLASS") { _, r in (r as? Ingress)?.spec.ingressClassName ?? "<none>" },
                    Column(header: "HOSTS") { _, r in
                        let hosts = (r as? Ingress)?.spec.rules?.map { $0.host ?? "*" } ?? []
                        return hosts.isEmpty ? "*" : truncatedList(hosts)
                    },
                    Column(header: "ADDRESS") { _, r in
                        ((r as? Ingress)?.status.loadBalancer.ingress ?? []).compactMap { $0.ip ?? $0.hostname }.joined(separator: ",")
                    },
                    Column(header: "PORTS") { _, r in ((r as? Ingress)?.spec.tls ?? []).isEmpty ? "80" : "80, 443" },
                    age]
        case IngressClass.resourceType:
            return [name,
                    Column(header: "CONTROLLER") { _, r in (r as? IngressClass)?.spec.controller ?? "" },
                    Column(header: "PARAMETERS") { _, _ in "<none>" },
                    age]
        case NetworkPolicy.resourceType:
            return [name,
                    Column(header: "POD-SELECTOR") { _, r in
                        let s = (r as? NetworkPolicy)?.spec.podSelector
                        let text = selectorText(s?.matchLabels)
                        return text == "<none>" ? "<none>" : text
                    },
                    age]
        case PersistentVolume.resourceType:
            return [name,
                    Column(header: "CAPACITY") { _, r in (r as? PersistentVolume)?.storage?.text ?? "" },
                    Column(header: "ACCESS MODES") { _, r in accessModes((r as? PersistentVolume)?.spec.accessModes) },
                    Column(header: "RECLAIM POLICY") { _, r in (r as? PersistentVolume)?.spec.persistentVolumeReclaimPolicy ?? "" },
                    Column(header: "STATUS") { _, r in (r as? PersistentVolume)?.status.phase ?? "" },
                    Column(header: "CLAIM") { _, r in
                        guard let c = (r as? PersistentVolume)?.spec.claimRef else { return "" }
                        return "\(c.namespace ?? "")/\(c.name ?? "")"
                    },
                    Column(header: "STORAGECLASS") { _, r in (r as? PersistentVolume)?.spec.storageClassName ?? "" },
                    Column(header: "VOLUMEATTRIBUTESCLASS") { _, _ in "<unset>" },
                    Column(header: "REASON") { _, r in (r as? PersistentVolume)?.status.reason ?? "" },
                    age]
        case PersistentVolumeClaim.resourceType:
            return [name,
                    Column(header: "STATUS") { o, r in o.deletionTimestamp != nil ? "Terminating" : ((r as? PersistentVolumeClaim)?.status.phase ?? "") },
                    Column(header: "VOLUME") { _, r in (r as? PersistentVolumeClaim)?.spec.volumeName ?? "" },
                    Column(header: "CAPACITY") { _, r in (r as? PersistentVolumeClaim)?.status.capacity?["storage"]?.text ?? "" },
                    Column(header: "ACCESS MODES") { _, r in accessModes((r as? PersistentVolumeClaim)?.status.accessModes) },
                    Column(header: "STORAGECLASS") { _, r in (r as? PersistentVolumeClaim)?.spec.storageClassName ?? "<unset>" },
                    Column(header: "VOLUMEATTRIBUTESCLASS") { _, _ in "<unset>" },
                    age]
        case StorageClass.resourceType:
            return [Column(header: "NAME") { o, r in o.name + (((r as? StorageClass)?.isDefault ?? false) ? " (default)" : "") },
                    Column(header: "PROVISIONER") { _, r in (r as? StorageClass)?.provisioner ?? "" },
                    Column(header: "RECLAIMPOLICY") { _, r in (r as? StorageClass)?.reclaimPolicy ?? "" },
                    Column(header: "VOLUMEBINDINGMODE") { _, r in (r as? StorageClass)?.volumeBindingMode ?? "" },
                    Column(header: "ALLOWVOLUMEEXPANSION") { _, r in String((r as? StorageClass)?.allowVolumeExpansion ?? false) },
                    age]
        case Namespace.resourceType:
            return [name,
                    Column(header: "STATUS") { o, r in o.deletionTimestamp != nil ? "Terminating" : ((r as? Namespace)?.status.phase ?? "Active") },
                    age]
        case Deployment.resourceType:
            return [name,
                    Column(header: "READY") { _, r in
                        guard let d = r as? Deployment else { return "" }
                        return "\(d.status.readyReplicas ?? 0)/\(d.spec.replicas ?? 1)"
                    },
                    Column(header: "UP-TO-DATE") { _, r in String((r as? Deployment)?.status.updatedReplicas ?? 0) },
                    Column(header: "AVAILABLE") { _, r in String((r as? Deployment)?.status.availableReplicas ?? 0) },
                    age,
                    Column(header: "CONTAINERS", wide: true) { _, r in ((r as? Deployment)?.spec.template.spec.containers ?? []).map(\.name).joined(separator: ",") },
                    Column(header: "IMAGES", wide: true) { _, r in ((r as? Deployment)?.spec.template.spec.containers ?? []).map { $0.image ?? "" }.joined(separator: ",") },
                    Column(header: "SELECTOR", wide: true) { _, r in selectorText((r as? Deployment)?.spec.selector?.matchLabels) }]
        case Secret.resourceType:
            return [name,
                    Column(header: "TYPE") { _, r in (r as? Secret)?.type ?? "Opaque" },
                    Column(header: "DATA") { _, r in String((r as? Secret)?.data?.count ?? 0) },
                    age]
        case ConfigMap.resourceType:
            return [name,
                    Column(header: "DATA") { _, r in
                        let c = r as? ConfigMap
                        return String((c?.data?.count ?? 0) + (c?.binaryData?.count ?? 0))
                    },
                    age]
        default:
            return [name, age]
        }
    }

    static func externalIP(_ svc: Service?) -> String {
        guard let svc else { return "" }
        switch svc.type {
        case .externalName: return svc.spec.externalName ?? "<none>"
        case .loadBalancer:
            let ips = (svc.status.loadBalancer.ingress ?? []).compactMap { $0.ip ?? $0.hostname } + (svc.spec.externalIPs ?? [])
            return ips.isEmpty ? "<pending>" : ips.joined(separator: ",")
        default:
            let ips = svc.spec.externalIPs ?? []
            return ips.isEmpty ? "<none>" : ips.joined(separator: ",")
        }
    }

    static func servicePorts(_ svc: Service?) -> String {
        let ports = svc?.ports ?? []
        if ports.isEmpty { return "<none>" }
        return ports.map { p in
            let proto = p.protocol ?? "TCP"
            if let np = p.nodePort { return "\(p.port):\(np)/\(proto)" }
            return "\(p.port)/\(proto)"
        }.joined(separator: ",")
    }

    static func selectorText(_ labels: [String: String]?) -> String {
        guard let labels, !labels.isEmpty else { return "<none>" }
        return labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func accessModes(_ modes: [String]?) -> String {
        let short = ["ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"]
        return (modes ?? []).map { short[$0] ?? $0 }.joined(separator: ",")
    }

    static func truncatedList(_ items: [String], limit: Int = 3) -> String {
        if items.count <= limit { return items.joined(separator: ",") }
        return items.prefix(limit).joined(separator: ",") + " + \(items.count - limit) more..."
    }

    static func endpointsText(_ ep: Endpoints?) -> String {
        var pairs: [String] = []
        for subset in ep?.subsets ?? [] {
            for addr in subset.addresses ?? [] {
                for port in subset.ports ?? [] { pairs.append("\(addr.ip):\(port.port)") }
                if (subset.ports ?? []).isEmpty { pairs.append(addr.ip) }
            }
        }
        return pairs.isEmpty ? "<none>" : truncatedList(pairs)
    }

    static func podStatus(_ o: Object, _ pod: Pod?) -> String {
        guard let pod else { return "" }
        if o.deletionTimestamp != nil { return "Terminating" }
        for cs in pod.status.containerStatuses ?? [] {
            if let reason = cs.state?.waiting?.reason, !reason.isEmpty { return reason }
            if let t = cs.state?.terminated, pod.status.phase != "Succeeded" && pod.status.phase != "Failed" {
                return t.reason ?? "Error"
            }
        }
        return pod.status.reason ?? pod.status.phase ?? "Pending"
    }
}
