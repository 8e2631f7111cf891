import KubeModel

/// One Service's part of the model, before conflicts between Services are settled.
public struct ServiceFrontends: Sendable, Hashable {
    /// The Service's frontends (within the Service the first port claiming an address wins).
    public var frontends: [Frontend: FrontendEntry] = [:]
    public var clusterIPs: [IPAddress] = []
    public var loadBalancerIPs: [IPAddress] = []
    public var healthCheck: HealthCheck?

    public init() {}
}

extension ProxyModel {
    /// kube-proxy's semantics, from Services and EndpointSlices to frontends. `previous` keeps
    /// endpoints in the slots they had, so that a change moves as few clients as possible.
    /// Where Services share a frontend or health-check port, the first by namespace and name wins.
    public static func build(services: [Service], slices: [EndpointSlice], node: NodeConfig, previous: ProxyModel? = nil) -> ProxyModel {
        var model = ProxyModel(node: node)
        let slicesByService = Dictionary(grouping: slices.filter { $0.serviceName != nil }) { ServiceID(namespace: $0.namespace, name: $0.serviceName!) }
        var healthChecks: [Int: HealthCheck] = [:]
        for svc in services.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            let part = render(service: svc, slices: slicesByService[ServiceID(svc)] ?? [], node: node) { previous?.frontends[$0] }
            for (fe, entry) in part.frontends where model.frontends[fe] == nil { model.frontends[fe] = entry }
            model.clusterIPs.formUnion(part.clusterIPs)
            model.loadBalancerIPs.formUnion(part.loadBalancerIPs)
            if let hc = part.healthCheck, healthChecks[hc.port] == nil { healthChecks[hc.port] = hc }
        }
        model.healthChecks = healthChecks.values.sorted { $0.port < $1.port }
        return model
    }

    /// One Service's frontends from its slices. `previous` gives the entry a frontend had
    /// (for stable endpoint slots).
    public static func render(service svc: Service, slices unsorted: [EndpointSlice], node: NodeConfig,
                              previous: (Frontend) -> FrontendEntry?) -> ServiceFrontends {
        var out = ServiceFrontends()
        guard svc.type != .externalName, !svc.isHeadless else { return out }
        let clusterIPs = (svc.spec.clusterIPs ?? svc.spec.clusterIP.map { [$0] } ?? []).compactMap(IPAddress.init)
        guard !clusterIPs.isEmpty else { return out }
        // Slice order decides between duplicate addresses: by name, whatever the caller's order.
        let svcSlices = unsorted.count > 1 ? unsorted.sorted { $0.name < $1.name } : unsorted
        let families = Set(clusterIPs.map(\.isV4))
        let affinity = svc.spec.sessionAffinity == "ClientIP"
            ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? Service.defaultAffinityTimeout) : nil
        let internalLocal = svc.spec.internalTrafficPolicy == "Local"
        let externalLocal = svc.spec.externalTrafficPolicy == "Local" && (svc.type == .nodePort || svc.type == .loadBalancer)
        let ownLoadBalancer = svc.type == .loadBalancer && (svc.spec.loadBalancerClass ?? node.loadBalancerClass) == node.loadBalancerClass
        var localReadyCount = 0
        for port in svc.ports {
            guard let proto = L4Proto(kubernetes: port.protocol) else { continue }
            let name = "\(svc.namespace)/\(svc.name)" + ((port.name ?? "").isEmpty ? "" : ":\(port.name!)")
            for v4 in [true, false] where families.contains(v4) {
                let endpoints = EndpointView.collect(svcSlices, portName: port.name ?? "", proto: proto, v4: v4)
                let sets = EndpointView.categorize(endpoints, nodeName: node.nodeName)
                localReadyCount = max(localReadyCount, endpoints.filter { $0.isLocal(node.nodeName) && $0.ready }.count)
                let internalSet = internalLocal ? sets.local : sets.cluster
                let external = externalLocal ? sets.local : sets.cluster
                let hasEndpoints = !sets.cluster.isEmpty || !sets.local.isEmpty

                func add(_ fe: Frontend, _ backends: [Backend], alternate: [Backend]?, masquerade: FrontendEntry.Masquerade, ranges: [CIDR] = []) {
                    guard out.frontends[fe] == nil else { return }
                    let previousEntry = previous(fe)
                    out.frontends[fe] = FrontendEntry(
                        servicePort: name,
                        backends: SlotOrder.stable(previous: previousEntry?.backends ?? [], current: backends),
                        podAndNodeBackends: alternate.map { SlotOrder.stable(previous: previousEntry?.podAndNodeBackends ?? [], current: $0) },
                        affinityTimeout: affinity, masquerade: masquerade, rejectWhenEmpty: !hasEndpoints, sourceRanges: ranges)
                }

                for ip in clusterIPs where ip.isV4 == v4 {
                    if !out.clusterIPs.contains(ip) { out.clusterIPs.append(ip) }
                    add(Frontend(ip: ip, proto: proto, port: port.port), internalSet, alternate: nil, masquerade: .unlessFromPod)
                }
                let alternate: [Backend]? = externalLocal ? internalSet : nil
                let masquerade: FrontendEntry.Masquerade = externalLocal ? .onlyFromNode : .always
                for text in svc.spec.externalIPs ?? [] {
                    guard let ip = IPAddress(text), ip.isV4 == v4 else { continue }
                    add(Frontend(ip: ip, proto: proto, port: port.port), external, alternate: alternate, masquerade: masquerade)
                }
                if svc.type == .loadBalancer {
                    let ranges = (svc.spec.loadBalancerSourceRanges ?? []).compactMap { CIDR($0.trimmingCharacters(in: .whitespaces)) }.filter { $0.isV4 == v4 }
                    for ingress in svc.status.loadBalancer.ingress ?? [] where ingress.ipMode != "Proxy" {
                        guard let ip = ingress.ip.flatMap(IPAddress.init), ip.isV4 == v4 else { continue }
                        if ownLoadBalancer && !out.loadBalancerIPs.contains(ip) { out.loadBalancerIPs.append(ip) }
                        add(Frontend(ip: ip, proto: proto, port: port.port), external, alternate: alternate, masquerade: masquerade, ranges: ranges)
                    }
                }
                if svc.type == .nodePort || svc.type == .loadBalancer, let nodePort = port.nodePort, nodePort > 0 {
                    for ip in node.nodeIPs where ip.isV4 == v4 {
                        add(Frontend(ip: ip, proto: proto, port: nodePort), external, alternate: alternate, masquerade: masquerade)
                    }
                }
            }
        }
        if svc.type == .loadBalancer, externalLocal, let port = svc.spec.healthCheckNodePort, port > 0 {
            out.healthCheck = HealthCheck(namespace: svc.namespace, name: svc.name, port: port, localEndpoints: localReadyCount)
        }
        return out
    }
}

/// A Service's namespace and name, ordered as the first-wins rule between Services needs.
public typealias ServiceID = NamespacedName

/// One endpoint of one Service port, as the proxy reads it from the slices.
struct EndpointView: Hashable {
    var backend: Backend
    var ready: Bool
    var serving: Bool
    var terminating: Bool
    var nodeName: String?

    func isLocal(_ node: String) -> Bool { nodeName == node }

    /// The endpoints of one port and family across a Service's slices; a duplicate address
    /// counts once, preferring its ready copy.
    static func collect(_ slices: [EndpointSlice], portName: String, proto: L4Proto, v4: Bool) -> [EndpointView] {
        var byBackend: [Backend: EndpointView] = [:]
        for slice in slices where slice.addressType == (v4 ? "IPv4" : "IPv6") {
            guard let port = (slice.ports ?? []).first(where: { ($0.name ?? "") == portName && L4Proto(kubernetes: $0.protocol) == proto })?.port,
                  port > 0 else { continue }
            for endpoint in slice.endpoints ?? [] {
                guard let ip = endpoint.addresses.first.flatMap(IPAddress.init), ip.isV4 == v4 else { continue }
                let view = EndpointView(backend: Backend(ip: ip, port: port), ready: endpoint.isReady, serving: endpoint.isServing,
                                        terminating: endpoint.isTerminating, nodeName: endpoint.nodeName)
                if let existing = byBackend[view.backend], existing.ready || !view.ready { continue }
                byBackend[view.backend] = view
            }
        }
        return byBackend.values.sorted { $0.backend < $1.backend }
    }

    /// kube-proxy's `CategorizeEndpoints`: ready endpoints, else those still serving while
    /// terminating; the same among local ones.
    static func categorize(_ endpoints: [EndpointView], nodeName: String) -> (cluster: [Backend], local: [Backend]) {
        func usable(_ list: [EndpointView]) -> [Backend] {
            let ready = list.filter(\.ready)
            return (ready.isEmpty ? list.filter { $0.serving && $0.terminating } : ready).map(\.backend)
        }
        return (usable(endpoints), usable(endpoints.filter { $0.isLocal(nodeName) }))
    }
}

/// Stable slot assignment: survivors keep their slot, newcomers fill holes, and remaining
/// holes are closed by moving the last endpoints into them (so slots stay 0..<n).
enum SlotOrder {
    static func stable(previous: [Backend], current: [Backend]) -> [Backend] {
        let wanted = Set(current)
        var slots: [Backend?] = previous.map { wanted.contains($0) ? $0 : nil }
        let known = Set(previous)
        var fresh = current.filter { !known.contains($0) }.sorted()[...]
        for i in slots.indices where slots[i] == nil {
            guard let next = fresh.popFirst() else { break }
            slots[i] = next
        }
        slots += fresh.map { Optional($0) }
        while let hole = slots.firstIndex(where: { $0 == nil }) {
            while slots.last.map({ $0 == nil }) ?? false { slots.removeLast() }
            guard hole < slots.count else { break }
            slots[hole] = slots.removeLast()
        }
        return slots.compactMap { $0 }
    }
}
