import ArgumentParser
import ClusterStore
import Foundation
import KubeModel

/// `kplane create …`: objects built from flags, as kubectl create does.
struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an object from flags.",
        subcommands: [CreateSecretCommand.self, CreateNamespaceCommand.self])
}

struct CreateNamespaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "namespace", abstract: "Create a namespace.", aliases: ["ns"])

    @OptionGroup var store: StoreOptions
    @Argument var name: String

    func run() async throws {
        var ns = Namespace()
        ns.metadata.name = name
        try await createOrFail(Object(ns), store: store)
    }
}

struct CreateSecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "secret", abstract: "Create a secret.", subcommands: [CreateTLSSecretCommand.self])
}

/// `kplane create secret tls NAME --cert FILE --key FILE` or `--self-signed --host H…`.
struct CreateTLSSecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tls", abstract: "Create a kubernetes.io/tls secret from PEM files or a new self-signed certificate.")

    @OptionGroup var store: StoreOptions
    @Argument var name: String
    @Option(name: .shortAndLong, help: "Namespace (default: default).")
    var namespace: String?
    @Option(help: "PEM certificate chain file.")
    var cert: String?
    @Option(help: "PEM private key file.")
    var key: String?
    @Flag(help: "Generate a self-signed ECDSA P-256 certificate valid for one year.")
    var selfSigned = false
    @Option(name: .customLong("host"), help: "A host name (or IP) for the self-signed certificate; repeatable.")
    var hosts: [String] = []
    @Option(name: .long, help: "With 'client', print the object (-o yaml|json) instead of creating it.")
    var dryRun: String?
    @Option(name: .shortAndLong, help: "Output format for --dry-run: yaml or json.")
    var output: String = "yaml"

    func validate() throws {
        if selfSigned {
            if cert != nil || key != nil { throw ValidationError("--self-signed cannot be combined with --cert/--key") }
            if hosts.isEmpty { throw ValidationError("--self-signed needs at least one --host") }
        } else if cert == nil || key == nil {
            throw ValidationError("give --cert and --key, or --self-signed --host NAME")
        }
    }

    func run() async throws {
        let certPEM: String, keyPEM: String
        if selfSigned {
            (certPEM, keyPEM) = try TLSKeyPair.selfSigned(hosts: hosts)
        } else {
            guard let c = FileManager.default.contents(atPath: cert!) else { throw CLIError("cannot read \(cert!)") }
            guard let k = FileManager.default.contents(atPath: key!) else { throw CLIError("cannot read \(key!)") }
            certPEM = String(decoding: c, as: UTF8.self)
            keyPEM = String(decoding: k, as: UTF8.self)
        }
        var secret = Secret()
        secret.metadata = ObjectMeta(name: name, namespace: namespace ?? "default")
        secret.type = Secret.tlsType
        secret.data = [
            Secret.tlsCertKey: Data(certPEM.utf8).base64EncodedString(),
            Secret.tlsPrivateKeyKey: Data(keyPEM.utf8).base64EncodedString(),
        ]
        var object = Object(secret)
        object.setField("status", nil)
        if dryRun == "client" {
            print(output == "json" ? object.json.jsonString(pretty: true) : Manifest.yaml(object.json), terminator: output == "json" ? "\n" : "")
            return
        }
        try await createOrFail(object, store: store)
    }
}

/// Creates the object, printing `kind/name created`, or fails with the server's message.
func createOrFail(_ object: Object, store: StoreOptions) async throws {
    do {
        let created = try await store.open().create(object)
        print("\(created.type.namePrefix)/\(created.name) created")
    } catch let error as StoreError {
        throw CLIError(describe(error))
    }
}
