import ArgumentParser
import ClusterStore
import Foundation
import KubeModel

/// `kplane get KIND[,KIND] [NAME…]`, with kubectl's tables and output formats.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "List objects, as kubectl get does.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "Kinds, comma-separated (svc, po, ing, pvc, …, or all), then optional names.")
    var arguments: [String]
    @Option(name: .shortAndLong, help: "Namespace (default: default).")
    var namespace: String?
    @Flag(name: [.customShort("A"), .customLong("all-namespaces")], help: "List across all namespaces.")
    var allNamespaces = false
    @Option(name: [.customShort("l"), .customLong("selector")], help: "Label selector (app=web,tier!=db,env in (a,b),!legacy).")
    var selector: String?
    @Option(name: .shortAndLong, help: "Output format: wide, yaml, json or name.")
    var output: String?

    func validate() throws {
        if let output, !["wide", "yaml", "json", "name"].contains(output) {
            throw ValidationError("unable to match a printer suitable for the output format \"\(output)\", allowed formats are: json,name,wide,yaml")
        }
    }

    func run() async throws {
        guard let kinds = arguments.first else { throw ValidationError("You must specify the type of resource to get.") }
        // kubectl's `get pod/web svc/api` form: one kind/name per argument.
        if arguments.allSatisfy({ $0.contains("/") }) {
            for arg in arguments {
                let parts = arg.split(separator: "/", maxSplits: 1).map(String.init)
                var single = self
                single.arguments = parts
                try await single.run()
            }
            return
        }
        let types = try resourceTypes(kinds)
        let names = Array(arguments.dropFirst())
        let query = try selector.map { text -> LabelQuery in
            do { return try LabelQuery(text) } catch { throw CLIError("\(error)") }
        }
        let db = try store.open()
        let ns = namespace ?? "default"
        var found: [(ResourceType, [Object])] = []
        var missing: [String] = []
        for type in types {
            var objects: [Object] = []
            if names.isEmpty {
                let scope: String? = type.namespaced && !allNamespaces ? ns : nil
                objects = try await db.list(type, namespace: scope).items
            } else {
                for name in names {
                    if let object = try await db.get(ObjectKey(type: type, namespace: ns, name: name)) {
                        objects.append(object)
                    } else {
                        missing.append("Error from server (NotFound): \(type.resource) \"\(name)\" not found")
                    }
                }
            }
            if let query { objects = objects.filter { query.matches($0.labels) } }
            found.append((type, objects))
        }
        let all = found.flatMap(\.1)
        switch output {
        case "json":
            if all.count == 1 && !names.isEmpty && types.count == 1 {
                print(all[0].json.jsonString(pretty: true))
            } else if !all.isEmpty || missing.isEmpty {
                print(Self.list(all).jsonString(pretty: true))
            }
        case "yaml":
            if all.count == 1 && !names.isEmpty && types.count == 1 {
                print(Manifest.yaml(all[0].json), terminator: "")
            } else if !all.isEmpty || missing.isEmpty {
                print(Manifest.yaml(Self.list(all)), terminator: "")
            }
        case "name":
            for o in all { print("\(o.type.namePrefix)/\(o.name)") }
        default:
            printTables(found, wide: output == "wide", prefixNames: types.count > 1)
            if all.isEmpty && missing.isEmpty {
                printError(allNamespaces || !types.contains(where: \.namespaced) ? "No resources found" : "No resources found in \(ns) namespace.")
            }
        }
        for m in missing { printError(m) }
        if !missing.isEmpty { throw ExitCode(1) }
    }

    /// A `List` object like kubectl's.
    static func list(_ objects: [Object]) -> JSONValue {
        .object([
            "apiVersion": .string("v1"),
            "kind": .string("List"),
            "items": .array(objects.map(\.json)),
            "metadata": .object(["resourceVersion": .string("")]),
        ])
    }

    private func printTables(_ found: [(ResourceType, [Object])], wide: Bool, prefixNames: Bool) {
        var first = true
        for (type, objects) in found where !objects.isEmpty {
            let columns = Columns.of(type).filter { wide || !$0.wide }
            var rows: [[String]] = []
            let showNamespace = allNamespaces && type.namespaced
            rows.append((showNamespace ? ["NAMESPACE"] : []) + columns.map(\.header))
            for object in objects {
                let typed = Scheme.decode(object)
                var cells = columns.map { $0.value(object, typed) }
                if prefixNames { cells[0] = "\(type.namePrefix)/\(cells[0])" }
                rows.append((showNamespace ? [object.namespace] : []) + cells)
            }
            if !first { print("") }
            first = false
            print(Table(rows: rows).render())
        }
    }
}
