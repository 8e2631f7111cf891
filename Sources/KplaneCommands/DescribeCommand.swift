import ArgumentParser
import ClusterStore
import Foundation
import KubeModel

/// `kplane describe KIND NAME`: the object's identity, then its spec and status, readable.
struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Show details of objects.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "Kind, then optional names (all of the kind when none).")
    var arguments: [String]
    @Option(name: .shortAndLong, help: "Namespace (default: default).")
    var namespace: String?

    func run() async throws {
        guard let kind = arguments.first else { throw ValidationError("You must specify the type of resource to describe.") }
        let db = try store.open()
        let ns = namespace ?? "default"
        var objects: [Object] = []
        for type in try resourceTypes(kind) {
            if arguments.count == 1 {
                objects += try await db.list(type, namespace: type.namespaced ? ns : nil).items
            } else {
                for name in arguments.dropFirst() {
                    guard let o = try await db.get(ObjectKey(type: type, namespace: ns, name: name)) else {
                        throw CLIError("Error from server (NotFound): \(type.resource) \"\(name)\" not found")
                    }
                    objects.append(o)
                }
            }
        }
        let services = objects.contains { $0.type == Service.resourceType } ? try await db.list(EndpointSlice.self) : []
        print(objects.map { Self.describe($0, slices: services) }.joined(separator: "\n\n"))
    }

    static func describe(_ o: Object, slices: [EndpointSlice]) -> String {
        var lines: [(String, String)] = [("Name", o.name)]
        if o.type.namespaced { lines.append(("Namespace", o.namespace)) }
        lines.append(("Labels", map(o.labels)))
        lines.append(("Annotations", map(o.annotations.filter { $0.key != APIServer.lastAppliedAnnotation })))
        lines.append(("CreationTimestamp", o.creationTimestamp))
        if let d = o.deletionTimestamp { lines.append(("DeletionTimestamp", d)) }
        if !o.finalizers.isEmpty { lines.append(("Finalizers", o.finalizers.joined(separator: ", "))) }
        if let svc = try? o.decode(Service.self), o.type == Service.resourceType {
            lines.append(("Selector", Columns.selectorText(svc.spec.selector)))
            lines.append(("Type", svc.type.rawValue))
            lines.append(("IP", svc.spec.clusterIP ?? "<none>"))
            if let ext = svc.spec.externalName { lines.append(("External Name", ext)) }
            for ingress in svc.status.loadBalancer.ingress ?? [] { lines.append(("LoadBalancer Ingress", ingress.ip ?? ingress.hostname ?? "")) }
            let mine = slices.filter { $0.namespace == o.namespace && $0.serviceName == o.name }
            for p in svc.ports {
                lines.append(("Port", "\(p.name ?? "<unset>")  \(p.port)/\(p.protocol ?? "TCP")"))
                lines.append(("TargetPort", "\(p.targetPort?.description ?? String(p.port))/\(p.protocol ?? "TCP")"))
                if let np = p.nodePort { lines.append(("NodePort", "\(p.name ?? "<unset>")  \(np)/\(p.protocol ?? "TCP")")) }
                let eps = mine.flatMap { slice in
                    (slice.endpoints ?? []).filter(\.isReady).flatMap(\.addresses).map { addr in
                        let port = slice.ports?.first { ($0.name ?? "") == (p.name ?? "") }?.port
                        return port.map { "\(addr):\($0)" } ?? addr
                    }
                }
                lines.append(("Endpoints", eps.isEmpty ? "<none>" : Columns.truncatedList(eps)))
            }
            lines.append(("Session Affinity", svc.spec.sessionAffinity ?? "None"))
            if let etp = svc.spec.externalTrafficPolicy { lines.append(("External Traffic Policy", etp)) }
            if let itp = svc.spec.internalTrafficPolicy { lines.append(("Internal Traffic Policy", itp)) }
        }
        let width = (lines.map(\.0.count).max() ?? 0) + 2
        var text = lines.map { ($0.0 + ":").padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
        for field in ["spec", "data", "status"] {
            guard let value = o.json[field], value != .object([:]) else { continue }
            if field == "data" && o.type == Secret.resourceType {
                text += "\n\nData\n====\n" + (value.objectValue ?? [:]).sorted { $0.key < $1.key }.map { k, v in
                    "\(k):  \(Data(base64Encoded: v.stringValue ?? "")?.count ?? 0) bytes"
                }.joined(separator: "\n")
                continue
            }
            let body = Manifest.yaml(value).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
            text += "\n\(field.prefix(1).uppercased() + field.dropFirst()):\n\(body)"
        }
        return text
    }

    static func map(_ m: [String: String]) -> String {
        m.isEmpty ? "<none>" : m.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n" + String(repeating: " ", count: 19))
    }
}
