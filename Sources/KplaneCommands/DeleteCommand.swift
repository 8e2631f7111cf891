import ArgumentParser
import ClusterStore
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
                let left = try await db.delete(key)
                let pending = left?.deletionTimestamp != nil && !(left?.finalizers.isEmpty ?? true)
                print("\(key.type.singular) \"\(key.name)\" deleted" + (pending ? " (waiting for finalizers: \(left!.finalizers.joined(separator: ", ")))" : ""))
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
