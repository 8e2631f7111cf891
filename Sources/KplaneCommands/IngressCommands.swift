import ArgumentParser
import ClusterStore
import Foundation
import IngressProxy
import KubeModel

/// `kplane ingress …`: explain commands of the ingress component.
struct IngressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingress", abstract: "Inspect how kplane's ingress routes requests.", subcommands: [IngressRouteCommand.self])
}

/// `kplane ingress route URL`: which Ingress, rule, backend, endpoints and certificate a request gets.
struct IngressRouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route", abstract: "Explain which Ingress rule, backend, endpoints and certificate a URL would get.")

    @OptionGroup var store: StoreOptions
    @Option(help: "IngressClass name kplane implements.")
    var ingressClass = IngressClassSettings.defaultClassName
    @Argument(help: "The URL, e.g. https://shop.example.com/cart")
    var url: String

    func run() async throws {
        let db = try store.open()
        let text = try await IngressRouteCommand.explain(url, store: db, stateDir: store.resolvedStateDir, ingressClass: ingressClass)
        print(text, terminator: "")
    }

    /// The explanation for `url` from the objects in `store`. The default certificate is the one
    /// `kplane up` generated in the state dir, when present.
    static func explain(_ url: String, store: any Store, stateDir: String?, ingressClass: String = IngressClassSettings.defaultClassName) async throws -> String {
        var objects: [Object] = []
        for type in RouteInputs.resourceTypes {
            objects += try await store.list(type, namespace: nil).items
        }
        return explain(url, inputs: RouteInputs(objects: objects), stateDir: stateDir, ingressClass: ingressClass)
    }

    static func explain(_ url: String, inputs: RouteInputs, stateDir: String?, ingressClass: String = IngressClassSettings.defaultClassName) -> String {
        var defaultCertificate: ServerCertificate?
        if let stateDir,
           let cert = FileManager.default.contents(atPath: stateDir + "/ingress/default.crt"),
           let key = FileManager.default.contents(atPath: stateDir + "/ingress/default.key") {
            defaultCertificate = try? ServerCertificate(source: "default certificate", certificatePEM: String(decoding: cert, as: UTF8.self),
                                                        keyPEM: String(decoding: key, as: UTF8.self))
        }
        if defaultCertificate == nil, let pair = try? SelfSignedCertificate.make(commonName: "kplane ingress default certificate", dnsNames: ["ingress.kplane.invalid"]) {
            defaultCertificate = try? ServerCertificate(source: "default certificate", certificatePEM: pair.certificatePEM, keyPEM: pair.keyPEM)
        }
        return RouteExplanation.explain(url, inputs: inputs, settings: IngressClassSettings(className: ingressClass),
                                        defaultCertificate: defaultCertificate).description
    }
}
