import KubeModel

/// Finds the endpoints behind a Service port, from EndpointSlices or, when a Service has no
/// slice at all, from a hand-written Endpoints object. Ready endpoints only; serving terminating
/// endpoints only when nothing is ready (as kube-proxy does).
struct EndpointResolver {
    private var services: [String: Service] = [:]
    private var slices: [String: [EndpointSlice]] = [:]
    private var endpoints: [String: Endpoints] = [:]

    init(_ inputs: RouteInputs) {
        for s in inputs.services { services[s.namespace + "/" + s.name] = s }
        for s in inputs.endpointSlices {
            guard let svc = s.serviceName else { continue }
            slices[s.namespace + "/" + svc, default: []].append(s)
        }
        for e in inputs.endpoints { endpoints[e.namespace + "/" + e.name] = e }
    }

    func service(namespace: String, name: String) -> Service? { services[namespace + "/" + name] }

    /// The backend for a service backend reference.
    func resolve(namespace: String, _ ref: Ingress.ServiceBackend) -> Backend {
        let portText = ref.port?.number.map(String.init) ?? ref.port?.name ?? ""
        let target = Backend.Target.service(namespace: namespace, name: ref.name, port: portText)
        guard let svc = services[namespace + "/" + ref.name] else {
            return Backend(target: target, endpoints: [], unavailableReason: "service \(namespace)/\(ref.name) not found")
        }
        if svc.type == .externalName {
            return Backend(target: target, endpoints: [], unavailableReason: "service \(namespace)/\(ref.name) is of type ExternalName, which kplane's ingress does not proxy to")
        }
        let port: Service.Port?
        if let n = ref.port?.number {
            port = svc.ports.first { $0.port == n }
        } else if let name = ref.port?.name {
            port = svc.ports.first { $0.name == name }
        } else {
            port = svc.ports.count == 1 ? svc.ports.first : nil
        }
        guard let port, (port.protocol ?? "TCP") == "TCP" else {
            return Backend(target: target, endpoints: [], unavailableReason: "service \(namespace)/\(ref.name) has no TCP port \(portText)")
        }
        let portName = port.name ?? ""
        var ready: [Endpoint] = []
        var terminating: [Endpoint] = []
        var seen = Set<String>()

        func add(_ address: String, _ number: Int, isReady: Bool, isFallback: Bool) {
            guard (1...65535).contains(number), let ip = IPAddress(address) else { return }
            let e = Endpoint(address: ip.description, port: number, ready: isReady)
            guard seen.insert(e.hostPort).inserted else { return }
            if isReady { ready.append(e) } else if isFallback { terminating.append(e) }
        }

        if let list = slices[namespace + "/" + ref.name], !list.isEmpty {
            for slice in list.sorted(by: { $0.name < $1.name }) where slice.addressType == "IPv4" || slice.addressType == "IPv6" {
                guard let number = slice.ports?.first(where: { ($0.name ?? "") == portName && ($0.protocol ?? "TCP") == "TCP" })?.port else { continue }
                for ep in slice.endpoints ?? [] {
                    guard let address = ep.addresses.first else { continue }
                    add(address, number, isReady: ep.isReady, isFallback: ep.isServing && ep.isTerminating)
                }
            }
        } else if let eps = endpoints[namespace + "/" + ref.name] {
            for subset in eps.subsets ?? [] {
                guard let number = subset.ports?.first(where: { ($0.name ?? "") == portName || (subset.ports?.count == 1 && portName.isEmpty) })?.port else { continue }
                for a in subset.addresses ?? [] { add(a.ip, number, isReady: true, isFallback: false) }
            }
        }
        let chosen = ready.isEmpty ? terminating : ready
        return Backend(target: target, endpoints: chosen, unavailableReason: "service \(namespace)/\(ref.name) port \(portText) has no ready endpoints")
    }
}
