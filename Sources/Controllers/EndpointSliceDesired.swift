import KubeModel

/// The EndpointSlice controller's semantics (kube-controller-manager's
/// `pkg/controller/endpointslice`): which pods back a Service, with which conditions, ports
/// and hostname. Pure: from typed objects to slice groups.
public enum EndpointSliceDesired {
    /// The value of `endpointslice.kubernetes.io/managed-by` on slices this controller writes.
    public static let controllerName = "endpointslice-controller.k8s.io"

    /// Whether the controller manages slices for this Service at all.
    public static func manages(_ service: Service) -> Bool {
        service.type != .externalName && !(service.spec.selector ?? [:]).isEmpty
    }

    /// True when every selector label is on the pod.
    public static func selects(_ service: Service, _ pod: Pod) -> Bool {
        guard let selector = service.spec.selector, !selector.isEmpty, pod.namespace == service.namespace else { return false }
        let labels = pod.labels
        return selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// A pod is listed while it has an address and has not finished; terminating pods stay
    /// (with `terminating: true`) so that proxies can drain to them.
    public static func includes(_ pod: Pod) -> Bool {
        !pod.isTerminal && !podIPs(pod).isEmpty
    }

    static func podIPs(_ pod: Pod) -> [String] {
        if let ips = pod.status.podIPs, !ips.isEmpty { return ips.map(\.ip) }
        if let ip = pod.status.podIP, !ip.isEmpty { return [ip] }
        return []
    }

    /// The address types the Service wants: its `ipFamilies`, else those of its cluster IPs,
    /// else (headless without families) both.
    static func addressTypes(_ service: Service) -> [String] {
        if let families = service.spec.ipFamilies, !families.isEmpty { return families }
        let ips = (service.spec.clusterIPs ?? []).compactMap(IPAddress.init)
        if !ips.isEmpty { return ips.map { $0.isV4 ? "IPv4" : "IPv6" } }
        return ["IPv4", "IPv6"]
    }

    /// `findPort`: a numeric target port as is; a named one from the pod's container port of
    /// that name and protocol (nil when the pod has none, so the port is left out for it).
    public static func resolve(_ port: Service.Port, in pod: Pod) -> Int? {
        switch port.targetPort ?? .int(port.port) {
        case .int(let n): return n == 0 ? port.port : n
        case .string(let name):
            if let n = Int(name) { return n }
            let proto = port.protocol ?? "TCP"
            for c in pod.spec.containers {
                for cp in c.ports ?? [] where cp.name == name && (cp.protocol ?? "TCP") == proto {
                    return cp.containerPort
                }
            }
            return nil
        }
    }

    /// The endpoint of one pod address (conditions as kube computes them).
    public static func endpoint(for pod: Pod, address: String, service: Service) -> EndpointSlice.Endpoint {
        let serving = pod.isReady
        let terminating = pod.metadata.deletionTimestamp != nil
        let ready = (service.spec.publishNotReadyAddresses ?? false) || (serving && !terminating)
        var endpoint = EndpointSlice.Endpoint(addresses: [address], conditions: .init(ready: ready, serving: serving, terminating: terminating))
        if let host = pod.spec.hostname, !host.isEmpty, pod.spec.subdomain == service.name, pod.namespace == service.namespace {
            endpoint.hostname = host
        }
        if let node = pod.spec.nodeName, !node.isEmpty { endpoint.nodeName = node }
        var ref = ObjectReference()
        ref.kind = "Pod"
        ref.namespace = pod.namespace
        ref.name = pod.name
        ref.uid = pod.metadata.uid
        endpoint.targetRef = ref
        return endpoint
    }

    /// Endpoints grouped by address type and resolved port list.
    public static func groups(service: Service, pods: [Pod]) -> [SliceReconciler.Group: [EndpointSlice.Endpoint]] {
        var groups: [SliceReconciler.Group: [EndpointSlice.Endpoint]] = [:]
        let types = addressTypes(service)
        for pod in pods where selects(service, pod) && includes(pod) {
            var ports: [EndpointSlice.Port] = []
            for sp in service.ports {
                guard let n = resolve(sp, in: pod) else { continue }
                var p = EndpointSlice.Port(name: sp.name ?? "", port: n, protocol: sp.protocol ?? "TCP")
                p.appProtocol = sp.appProtocol
                ports.append(p)
            }
            for address in podIPs(pod) {
                guard let ip = IPAddress(address) else { continue }
                let type = ip.isV4 ? "IPv4" : "IPv6"
                guard types.contains(type) else { continue }
                groups[SliceReconciler.Group(addressType: type, ports: ports), default: []].append(endpoint(for: pod, address: address, service: service))
            }
        }
        return groups
    }

    /// Labels of a managed slice: the Service's own labels (minus reserved ones), its name,
    /// the controller, and `service.kubernetes.io/headless` for headless Services.
    public static func labels(for service: Service, managedBy: String = controllerName) -> [String: String] {
        var labels = service.labels.filter { $0.key != EndpointSlice.serviceNameLabel && $0.key != EndpointSlice.managedByLabel }
        labels[EndpointSlice.serviceNameLabel] = service.name
        labels[EndpointSlice.managedByLabel] = managedBy
        if service.isHeadless { labels["service.kubernetes.io/headless"] = "" } else { labels["service.kubernetes.io/headless"] = nil }
        return labels
    }

    /// The controller owner reference to the Service.
    public static func owner(_ service: Service) -> OwnerReference {
        var ref = OwnerReference(apiVersion: "v1", kind: "Service", name: service.name, uid: service.metadata.uid ?? "", controller: true)
        ref.blockOwnerDeletion = true
        return ref
    }
}
