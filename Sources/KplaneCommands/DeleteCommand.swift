import ArgumentParser
import ClusterStore
import Foundation
import KubeModel

/// `kplane delete KIND NAME…` or `kplane delete -f PATH`.
struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete objects by kind and name, or those in manifests.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "Kind then names.")
    var arguments: [String] = []
    @Option(name: .shortAndLong, help: "Delete the objects named in these manifests.")
    var filename: [String] = []
    @Flag(name: .shortAndLong, help: "Read folders recursively.")
    var recursive = false
    @Option(name: .shortAndLong, help: "Namespace (default: default).")
    var namespace: String?
    @Flag(name: .long, help: "Do not fail when an object does not exist.")
    var ignoreNotFound = false
    @Flag(name: .long, help: "Remove at once, without waiting for the node to stop pods (with --grace-period=0).")
    var force = false
    @Option(name: .long, help: "Seconds to give pods to stop; 0 with --force removes at once.")
    var gracePeriod: Int?
    @Option(name: .long, help: "Wait for the objects to be gone: true or false.")
    var wait = "true"

    func run() async throws {
        let ns = namespace ?? "default"
        var keys: [ObjectKey] = []
        if !filename.isEmpty {
            for path in filename {
                let docs: [ManifestDocument]
                do { docs = try Manifest.load(path: path, recursive: recursive) } catch { throw CLIError(error.description) }
                keys += docs.map { ObjectKey(type: $0.object.type, namespace: $0.object.namespace.isEmpty ? ns : $0.object.namespace, name: $0.object.name) }
            }
        } else {
            guard arguments.count >= 2 else { throw ValidationError("You must provide one or more resources by argument or filename.") }
            let types = try resourceTypes(arguments[0])
            for type in types {
                keys += arguments.dropFirst().map { ObjectKey(type: type, namespace: ns, name: $0) }
            }
        }
        let db = try store.open()
        var failed = false
        for key in keys {
            do {
                var left = try await db.delete(key)
                if force && gracePeriod == 0, left?.deletionTimestamp != nil, left?.finalizers.isEmpty == true {
                    left = try await db.delete(key)
                }
                let pending = left?.deletionTimestamp != nil && !(left?.finalizers.isEmpty ?? true)
                print("\(key.type.singular) \"\(key.name)\" deleted" + (pending ? " (waiting for finalizers: \(left!.finalizers.joined(separator: ", ")))" : ""))
                if wait == "true", left?.deletionTimestamp != nil {
                    let deadline = Date().addingTimeInterval(Double(gracePeriod ?? 30) + 30)
                    while Date() < deadline, try await db.get(key)?.uid == left?.uid {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            } catch let error as StoreError where error.reason == .notFound {
                if !ignoreNotFound {
                    printError(describe(error))
                    failed = true
                }
            } catch let error as StoreError {
                printError(describe(error))
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
