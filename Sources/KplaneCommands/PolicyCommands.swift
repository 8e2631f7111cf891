import ArgumentParser
import ClusterStore
import Foundation
import KubeModel
import NetworkPolicy

/// `kplane policy …`: explain NetworkPolicy decisions from the store or from manifests,
/// without a running node.
public struct PolicyCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Explain which connections NetworkPolicies allow (from the store or -f manifests).",
        subcommands: [PolicyCheckCommand.self, PolicyMatrixCommand.self])

    public init() {}
}

/// Where the explain commands read Namespaces, Pods and NetworkPolicies.
struct PolicyInputOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions
    @Option(name: .shortAndLong, help: "Read these manifests (file or folder) instead of the store; repeatable.")
    var filename: [String] = []
    @Flag(name: .shortAndLong, help: "Read manifest folders recursively.")
    var recursive = false

    func model() async throws -> PolicyModel {
        guard filename.isEmpty else { return try PolicyInputOptions.model(files: filename, recursive: recursive) }
        let db = try store.open()
        return PolicyModel(namespaces: try await db.list(Namespace.self), pods: try await db.list(Pod.self),
                           policies: try await db.list(NetworkPolicy.self))
    }

    /// Manifests as the API server would store them (defaulted and validated); objects
    /// without a namespace go to `default`.
    static func model(files: [String], recursive: Bool) throws -> PolicyModel {
        var namespaces: [Namespace] = [], pods: [Pod] = [], policies: [NetworkPolicy] = []
        for path in files {
            let docs: [ManifestDocument]
            do { docs = try Manifest.load(path: path, recursive: recursive) } catch { throw CLIError(error.description) }
            for doc in docs {
                var object = doc.object
                if object.type.namespaced && object.namespace.isEmpty { object.setMeta("namespace", .string("default")) }
                switch Scheme.prepare(object, old: nil) {
                case .failure(let failure):
                    throw CLIError("\(doc.source) (document \(doc.index)): \(invalidMessage(kind: object.type.kind, name: object.name, errors: failure.errors))")
                case .success(let prepared):
                    switch prepared.type {
                    case Namespace.resourceType: namespaces.append(try prepared.decode(Namespace.self))
                    case Pod.resourceType: pods.append(try prepared.decode(Pod.self))
                    case NetworkPolicy.resourceType: policies.append(try prepared.decode(NetworkPolicy.self))
                    default: continue
                    }
                }
            }
        }
        return PolicyModel(namespaces: namespaces, pods: pods, policies: policies)
    }
}

/// `kplane policy check`: allowed or denied, and why.
struct PolicyCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Say whether a new connection is allowed, which policies isolate each side and which rule admits it.",
        discussion: """
            Exit status 0 when allowed, 1 when denied.
              kplane policy check --from y/client --to x/web --port 80/TCP
              kplane policy check --from-ip 192.0.2.7 --to x/web --port 443 -f manifests/
            """)

    @OptionGroup var input: PolicyInputOptions
    @Option(help: "Source pod as NAMESPACE/NAME.") var from: String?
    @Option(help: "Source address (outside the cluster, or a pod's address).") var fromIP: String?
    @Option(help: "Destination pod as NAMESPACE/NAME.") var to: String?
    @Option(help: "Destination address.") var toIP: String?
    @Option(help: "Destination port and protocol: 80/TCP, 53/UDP, 9000/SCTP (default protocol TCP).") var port: String

    func validate() throws {
        guard (from == nil) != (fromIP == nil) else { throw ValidationError("give exactly one of --from and --from-ip") }
        guard (to == nil) != (toIP == nil) else { throw ValidationError("give exactly one of --to and --to-ip") }
        guard PortProtocol(port) != nil else { throw ValidationError("--port: want PORT/PROTOCOL such as 80/TCP, got \"\(port)\"") }
    }

    static func endpoint(pod: String?, ip: String?, flag: String) throws -> FlowEndpoint {
        if let pod {
            guard let ref = ObjectRef(pod) else { throw ValidationError("--\(flag): want NAMESPACE/NAME, got \"\(pod)\"") }
            return .pod(ref)
        }
        guard let address = IPAddress(ip ?? "") else { throw ValidationError("--\(flag)-ip: invalid address \"\(ip ?? "")\"") }
        return .address(address)
    }

    func run() async throws {
        let source = try Self.endpoint(pod: from, ip: fromIP, flag: "from")
        let destination = try Self.endpoint(pod: to, ip: toIP, flag: "to")
        let model = try await input.model()
        for case .pod(let ref) in [source, destination] where model.pods[ref] == nil {
            throw CLIError("pods \"\(ref.name)\" not found in namespace \"\(ref.namespace)\"")
        }
        let verdict = model.evaluate(Flow(from: source, to: destination, port: PortProtocol(port)!))
        print(verdict.explanation)
        if !verdict.allowed { throw ExitCode(1) }
    }
}

/// `kplane policy matrix`: every pod to every pod, as the upstream e2e tests print it.
struct PolicyMatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Print the reachability matrix of pods (. allowed, X denied; sources down, destinations across).",
        discussion: """
            -o json maps each source to its destinations: {"x/a": {"x/b": true, …}, …}; with several
            --port values, one such object per port: {"80/TCP": {…}, "81/UDP": {…}}.
            """)

    @OptionGroup var input: PolicyInputOptions
    @Option(name: .shortAndLong, help: "Only pods of this namespace; repeatable (default: all).") var namespace: [String] = []
    @Option(help: "Port and protocol to check (80/TCP); repeatable. Default: 80/TCP.") var port: [String] = []
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output = "table"

    func validate() throws {
        guard ["table", "json"].contains(output) else { throw ValidationError("--output: table or json") }
        for p in port where PortProtocol(p) == nil { throw ValidationError("--port: want PORT/PROTOCOL such as 80/TCP, got \"\(p)\"") }
    }

    func run() async throws {
        let model = try await input.model()
        let ports = port.isEmpty ? [PortProtocol(80, .tcp)] : port.compactMap(PortProtocol.init)
        let matrices = ports.map { model.matrix(port: $0, namespaces: namespace.isEmpty ? nil : namespace) }
        print(Self.render(matrices, json: output == "json"))
    }

    static func render(_ matrices: [ReachabilityMatrix], json: Bool) -> String {
        guard json else { return matrices.map(\.table).joined(separator: "\n\n") }
        func object(_ m: ReachabilityMatrix) -> JSONValue {
            .object(Dictionary(uniqueKeysWithValues: m.pods.map { from in
                (from.description, JSONValue.object(Dictionary(uniqueKeysWithValues: m.pods.map { ($0.description, JSONValue.bool(m[from, $0])) })))
            }))
        }
        let value = matrices.count == 1 ? object(matrices[0]) : .object(Dictionary(uniqueKeysWithValues: matrices.map { ($0.port.description, object($0)) }))
        return value.jsonString(pretty: true)
    }
}
