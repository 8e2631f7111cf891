import ArgumentParser
import ClusterStore
import KubeModel

/// `kplane apply -f PATH`: validate every document first, then write them in one transaction.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apply", abstract: "Apply manifests (file, folder or -) to the store.")

    @OptionGroup var store: StoreOptions
    @Option(name: .shortAndLong, help: "A manifest file, a folder of them, or - for standard input.")
    var filename: [String] = []
    @Flag(name: .shortAndLong, help: "Read folders recursively.")
    var recursive = false
    @Option(name: .shortAndLong, help: "Namespace for objects that name none.")
    var namespace: String?

    /// A validated document, kept as text until the store applies it.
    struct Document {
        var source: String
        var index: Int
        var object: EncodedObject
    }

    func run() async throws {
        guard !filename.isEmpty else { throw ValidationError("must specify one of -f") }
        let documents = try Self.load(filename, recursive: recursive, namespace: namespace)
        let results: [ApplyResult]
        do {
            results = try await store.open().apply(documents.map(\.object))
        } catch let error as StoreError {
            let where_ = error.objectIndex.map { " when applying \"\(documents[$0].source)\" (document \(documents[$0].index))" } ?? ""
            throw CLIError("Error from server (\(error.reason.rawValue))\(where_): \(error.message)")
        }
        for result in results { print(result.description) }
    }

    /// Reads and validates all documents; fails listing every invalid one, writing nothing.
    /// Each object is validated as it is read and kept as text (see `EncodedObject`).
    static func load(_ paths: [String], recursive: Bool, namespace: String?) throws -> [Document] {
        var documents: [Document] = []
        var problems: [String] = []
        for path in paths {
            do {
                try Manifest.read(path: path, recursive: recursive) { doc in
                    var object = doc.object
                    if object.type.namespaced, let namespace {
                        if object.namespace.isEmpty {
                            object.setMeta("namespace", .string(namespace))
                        } else if object.namespace != namespace {
                            problems.append("\(doc.source) (document \(doc.index)): the namespace from the provided object \"\(object.namespace)\" does not match the namespace \"\(namespace)\". You must pass '--namespace=\(object.namespace)' to perform this operation.")
                        }
                    }
                    if case .failure(let failure) = Scheme.prepare(object, old: nil) {
                        problems.append("\(doc.source) (document \(doc.index)): \(invalidMessage(kind: object.type.kind, name: object.name, errors: failure.errors))")
                    }
                    if problems.isEmpty { documents.append(Document(source: doc.source, index: doc.index, object: EncodedObject(object))) }
                }
            } catch {
                throw CLIError(error.description)
            }
        }
        if !problems.isEmpty {
            throw CLIError(problems.joined(separator: "\nerror: "))
        }
        if documents.isEmpty { throw CLIError("no objects passed to apply") }
        return documents
    }
}
