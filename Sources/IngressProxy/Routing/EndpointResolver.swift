import KubeModel

/// Finds the endpoints behind a Service port, from EndpointSlices or, when a Service has no
/// slice at all, from a hand-written Endpoints object. Ready endpoints only; serving terminating
/// endpoints only when nothing is ready (as kube-proxy does).
struct EndpointResolver {
    let inputs: RouteInputs

    /// The backend for a service backend reference.
    func resolve(namespace: String, _ ref: Ingress.ServiceBackend) -> Backend {
        let portText = ref.port?.number.map(String.init) ?? ref.port?.name ?? ""
        let target = Backend.Target.service(namespace: namespace, name: ref.name, port: portText)
        let key = NamespacedName(namespace: namespace, name: ref.name)
        guard let svc = inputs.services[key] else {
            return Backend(target: target, endpoints: [], unavailableReason: "service \(key) not found")
        }
        if svc.isExternalName {
            return Backend(target: target, endpoints: [], unavailableReason: "service \(key) is of type ExternalName, which kplane's ingress does not proxy to")
        }
        let port: PortRecord?
        if let n = ref.port?.number {
            port = svc.ports.first { $0.port == n }
        } else if let name = ref.port?.name {
            port = svc.ports.first { $0.name == name }
        } else {
            port = svc.ports.count == 1 ? svc.ports.first : nil
        }
        guard let port, port.isTCP else {
            return Backend(target: target, endpoints: [], unavailableReason: "service \(key) has no TCP port \(portText)")
        }
        var ready: [Endpoint] = []
        var terminating: [Endpoint] = []
        var seen = Set<String>()

        func add(_ address: String, _ number: Int, isReady: Bool, isFallback: Bool) {
            guard (1...65535).contains(number) else { return }
            let e = Endpoint(address: address, port: number, ready: isReady)
            guard seen.insert(e.hostPort).inserted else { return }
            if isReady { ready.append(e) } else if isFallback { terminating.append(e) }
        }

        if let list = inputs.slices[key], !list.isEmpty {
            for slice in list where slice.isIP {
                guard let number = slice.ports.first(where: { $0.name == port.name && $0.isTCP })?.port else { continue }
                for a in slice.addresses { add(a.address, number, isReady: a.ready, isFallback: a.fallback) }
            }
        } else if let eps = inputs.endpoints[key] {
            for subset in eps.subsets {
                guard let number = subset.ports.first(where: { $0.name == port.name || (subset.ports.count == 1 && port.name.isEmpty) })?.port else { continue }
                for a in subset.addresses { add(a, number, isReady: true, isFallback: false) }
            }
        }
        let chosen = ready.isEmpty ? terminating : ready
        return Backend(target: target, endpoints: chosen, unavailableReason: "service \(key) port \(portText) has no ready endpoints")
    }
}
