import KubeModel

/// The environment variables kubelet gives every container for the Services of its
/// namespace (and the `kubernetes` Service): `WEB_SERVICE_HOST`, `WEB_SERVICE_PORT`,
/// `WEB_SERVICE_PORT_HTTP`, and the Docker-links style `WEB_PORT_80_TCP_ADDR` and friends.
public enum ServiceEnvironment {
    public static func variables(for services: [Service], namespace: String, enableServiceLinks: Bool) -> [(String, String)] {
        var chosen: [Service] = []
        for svc in services {
            guard let ip = svc.spec.clusterIP, !ip.isEmpty, ip != "None", svc.type != .externalName else { continue }
            if svc.namespace == namespace && enableServiceLinks {
                chosen.append(svc)
            } else if svc.namespace == "default" && svc.name == "kubernetes" && namespace != "default" {
                chosen.append(svc)
            }
        }
        var vars: [(String, String)] = []
        for svc in chosen.sorted(by: { $0.name < $1.name }) {
            let prefix = envName(svc.name)
            let ip = svc.spec.clusterIP!
            let host = ip.contains(":") ? "[\(ip)]" : ip
            vars.append(("\(prefix)_SERVICE_HOST", ip))
            guard let first = svc.ports.first else { continue }
            vars.append(("\(prefix)_SERVICE_PORT", String(first.port)))
            for port in svc.ports {
                if let name = port.name, !name.isEmpty {
                    vars.append(("\(prefix)_SERVICE_PORT_\(envName(name))", String(port.port)))
                }
            }
            let firstProto = (first.protocol ?? "TCP").lowercased()
            vars.append(("\(prefix)_PORT", "\(firstProto)://\(host):\(first.port)"))
            for port in svc.ports {
                let proto = port.protocol ?? "TCP"
                let base = "\(prefix)_PORT_\(port.port)_\(proto.uppercased())"
                vars.append((base, "\(proto.lowercased())://\(host):\(port.port)"))
                vars.append(("\(base)_PROTO", proto.lowercased()))
                vars.append(("\(base)_PORT", String(port.port)))
                vars.append(("\(base)_ADDR", ip))
            }
        }
        return vars
    }

    /// `my-svc` → `MY_SVC`.
    static func envName(_ name: String) -> String {
        name.uppercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: ".", with: "_")
    }
}
