import ClusterStore
import Controllers
import KubeModel

/// Builders for the objects the controller tests use.
enum Fixture {
    static func service(_ name: String, ns: String = "default", selector: [String: String]? = ["app": "web"],
                        ports: [Service.Port] = [Service.Port(name: "http", port: 80, targetPort: .int(8080))],
                        uid: String? = nil, _ edit: (inout Service) -> Void = { _ in }) -> Service {
        var s = Service()
        s.metadata = ObjectMeta(name: name, namespace: ns)
        s.metadata.uid = uid ?? "uid-\(ns)-\(name)"
        s.spec.selector = selector
        s.spec.ports = ports
        s.spec.clusterIP = "10.96.0.10"
        s.spec.ipFamilies = ["IPv4"]
        edit(&s)
        s.setDefaults()
        return s
    }

    static func pod(_ name: String, ns: String = "default", ip: String?, ready: Bool = true, labels: [String: String] = ["app": "web"],
                    node: String? = "node-a", _ edit: (inout Pod) -> Void = { _ in }) -> Pod {
        var p = Pod()
        p.metadata = ObjectMeta(name: name, namespace: ns, labels: labels)
        p.metadata.uid = "uid-pod-\(name)"
        p.spec.containers = [Pod.Container(name: "c")]
        p.spec.nodeName = node
        p.status.phase = "Running"
        if let ip {
            p.status.podIP = ip
            p.status.podIPs = [Pod.IPEntry(ip: ip)]
        }
        p.status.conditions = [Condition(type: "Ready", status: ready ? "True" : "False")]
        edit(&p)
        return p
    }

    /// A hand-written `Endpoints` object (its nested types have no public initializers).
    static func endpoints(_ name: String, ns: String = "default", labels: [String: String] = [:], ready: [String], notReady: [String] = [],
                          ports: [(String, Int, String)] = [("http", 8080, "TCP")]) -> Endpoints {
        func list(_ ips: [String]) -> String { "[" + ips.map { "{\"ip\": \"\($0)\"}" }.joined(separator: ",") + "]" }
        let portList = "[" + ports.map { "{\"name\": \"\($0.0)\", \"port\": \($0.1), \"protocol\": \"\($0.2)\"}" }.joined(separator: ",") + "]"
        let labelText = "{" + labels.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ",") + "}"
        let json = """
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "\(name)", "namespace": "\(ns)", "uid": "uid-ep-\(name)", "labels": \(labelText)},
         "subsets": [{"addresses": \(list(ready)), "notReadyAddresses": \(list(notReady)), "ports": \(portList)}]}
        """
        // The literal above is well-formed by construction.
        return try! Manifest.decode(json, source: "test")[0].object.decode(Endpoints.self)
    }

    static func snapshot(services: [Service] = [], pods: [Pod] = [], slices: [EndpointSlice] = [], endpoints: [Endpoints] = []) -> CacheSnapshot {
        CacheSnapshot(objects: services.map(Object.init) + pods.map(Object.init) + slices.map(Object.init) + endpoints.map(Object.init))
    }

    /// The slices after applying `plan` over `slices` (a tiny in-memory "store").
    static func applying(_ plan: SliceReconciler.Plan, to slices: [EndpointSlice]) -> [EndpointSlice] {
        var byName = Dictionary(uniqueKeysWithValues: slices.map { ("\($0.namespace)/\($0.name)", $0) })
        for s in plan.delete { byName["\(s.namespace)/\(s.name)"] = nil }
        for s in plan.update + plan.create { byName["\(s.namespace)/\(s.name)"] = s }
        return byName.values.sorted { $0.name < $1.name }
    }
}
