import Foundation
import KubeModel
@testable import IngressProxy

/// Builders for the objects the tests route with, written as YAML like a user would.
enum Fixtures {
    static func objects(_ yaml: String) -> [Object] {
        do {
            return try Manifest.decode(yaml, source: "test").map(\.object)
        } catch {
            fatalError("bad fixture YAML: \(error)\n\(yaml)")
        }
    }

    /// A Service `name` in `ns` with port 8080 (named http) to target 80, and a ready slice with `ips`.
    static func service(_ name: String, ns: String = "default", ips: [String] = ["10.244.0.10"], port: Int = 8080, portName: String = "http",
                        targetPort: Int = 80, notReady: [String] = [], terminating: [String] = []) -> String {
        var eps = ips.map { "  - addresses: [\"\($0)\"]\n    conditions: {ready: true}\n" }.joined()
        eps += notReady.map { "  - addresses: [\"\($0)\"]\n    conditions: {ready: false}\n" }.joined()
        eps += terminating.map { "  - addresses: [\"\($0)\"]\n    conditions: {ready: false, serving: true, terminating: true}\n" }.joined()
        return """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: \(ns)}
        spec:
          ports: [{name: \(portName), port: \(port), targetPort: \(targetPort)}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: \(name)-abc
          namespace: \(ns)
          labels: {kubernetes.io/service-name: \(name)}
        addressType: IPv4
        ports: [{name: \(portName), port: \(targetPort), protocol: TCP}]
        endpoints:
        \(eps.isEmpty ? "  []" : eps)
        ---

        """
    }

    static let kplaneClass = """
    apiVersion: networking.k8s.io/v1
    kind: IngressClass
    metadata:
      name: kplane
      annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
    spec: {controller: kplane.dev/ingress}
    ---

    """

    /// A Service without selector (port 80) and its hand-written Endpoints: one subset per
    /// port on 127.0.0.1, in order.
    static func handWrittenEndpoints(_ name: String, ports: [Int]) -> String {
        """
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: default}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: Endpoints
        metadata: {name: \(name), namespace: default}
        subsets:

        """ + ports.map { "- addresses: [{ip: 127.0.0.1}]\n  ports: [{port: \($0)}]\n" }.joined() + "---\n"
    }

    /// kplane's IngressClass and an Ingress `a` that sends everything to `service` port 8080.
    static func defaultBackendIngress(_ service: String, annotations: String = "{}") -> String {
        kplaneClass + """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: a, namespace: default, annotations: \(annotations)}
        spec: {defaultBackend: {service: {name: \(service), port: {number: 8080}}}}
        """
    }

    static func table(_ yaml: String, settings: IngressClassSettings = IngressClassSettings()) -> RouteTable {
        RouteTable.build(RouteInputs(objects: objects(yaml)), settings: settings)
    }

    /// Which service a request goes to ("404" when nothing matches).
    static func serviceFor(_ table: RouteTable, host: String, path: String) -> String {
        guard let route = table.match(host: RequestTarget.normalizeHost(host), path: RequestTarget.normalizePath(path) ?? path) else { return "404" }
        if case .service(_, let name, _) = route.backend.target { return name }
        return "resource"
    }
}
