import ArgumentParser
import ClusterStore
import Foundation
import KubeModel
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `kplane up`: runs the node in the foreground until SIGINT/SIGTERM.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Run kplane's node components in the foreground.")

    /// Every component name, in start order; `implemented` are those this build has.
    static let componentNames = ["controllers", "dns", "ingress", "pods", "proxy", "policy"]
    static let implemented: [String] = []

    @OptionGroup var store: StoreOptions
    @Option(name: .shortAndLong, help: "Manifests to apply at start and keep applied (file, folder); repeatable.")
    var filename: [String] = []
    @Flag(name: .shortAndLong, help: "Read manifest folders recursively.")
    var recursive = false
    @Option(help: "Components to run, comma-separated (default: all this build has: \(UpCommand.implemented.joined(separator: ",")))")
    var components: String?
    @Option(help: "Address for Prometheus metrics and /healthz.")
    var metricsListen = "127.0.0.1:10249"
    @Option(help: "Service CIDR for cluster IPs.")
    var serviceCIDR = "10.96.0.0/12"
    @Option(help: "Pod CIDR (comma-separated for dual stack).")
    var podCIDR = "10.244.0.0/16"
    @Option(help: "Cluster DNS domain.")
    var clusterDomain = "cluster.local"
    @Option(help: "The node's address (default: the first non-loopback IPv4 address, else 127.0.0.1).")
    var nodeIP: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard CIDR(serviceCIDR) != nil else { throw ValidationError("--service-cidr: invalid CIDR \"\(serviceCIDR)\"") }
        for cidr in podCIDR.split(separator: ",") where CIDR(String(cidr)) == nil {
            throw ValidationError("--pod-cidr: invalid CIDR \"\(cidr)\"")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level \"\(logLevel)\"") }
        _ = try selectedComponents()
        _ = try Listen.parse(metricsListen)
    }

    func selectedComponents() throws -> [String] {
        guard let components else { return UpCommand.implemented }
        let names = components.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for name in names {
            if !UpCommand.componentNames.contains(name) {
                throw ValidationError("--components: unknown component \"\(name)\" (known: \(UpCommand.componentNames.joined(separator: ", ")))")
            }
            if !UpCommand.implemented.contains(name) {
                throw ValidationError("--components: \"\(name)\" is not part of this build yet (available: \(UpCommand.implemented.isEmpty ? "none" : UpCommand.implemented.joined(separator: ", ")))")
            }
        }
        return names
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "kplane")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let stateDir = store.resolvedStateDir
        let config = APIServer.Configuration(serviceCIDR: CIDR(serviceCIDR)!)
        let db: SQLiteStore
        do {
            db = try SQLiteStore(directory: stateDir, configuration: config)
        } catch {
            throw CLIError("cannot open the store in \(stateDir): \(error)")
        }
        var services: [any ServiceLifecycle.Service] = []
        var report: [(String, String)] = [("store", "\(db.path) (resourceVersion \(try await db.currentResourceVersion()))")]

        if !filename.isEmpty {
            let watcher = ManifestWatcher(store: db, paths: filename, recursive: recursive, logger: logger)
            let results: [ApplyResult]
            do {
                results = try await watcher.syncOnce()
            } catch let error as StoreError {
                throw CLIError(describe(error))
            } catch let error as ManifestError {
                throw CLIError(error.description)
            }
            let changed = results.filter { $0.action != .unchanged }.count
            report.append(("manifests", "watching \(filename.joined(separator: ", ")) (\(results.count) objects, \(changed) changed)"))
            services.append(watcher)
        }

        let metricsAddress = try Listen.parse(metricsListen)
        let metrics = MetricsServer(host: metricsAddress.host, port: metricsAddress.port, registry: registry, logger: logger)
        services.append(metrics)
        report.append(("metrics", "http://\(metricsListen)/metrics and /healthz"))

        let selected = try selectedComponents()
        for name in UpCommand.componentNames where !UpCommand.implemented.contains(name) {
            report.append((name, "not in this build yet"))
        }
        _ = selected

        print("kplane \(KplaneVersion.string) up (state dir \(stateDir))")
        let width = (report.map(\.0.count).max() ?? 0) + 2
        for (name, what) in report { print("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + what) }
        print("Stop with Ctrl-C (SIGINT) or SIGTERM.")
        fflush(nil)

        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        print("kplane stopped")
    }
}

/// `host:port` listen addresses (`:80` means every address).
enum Listen {
    static func parse(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("invalid listen address \"\(text)\" (want HOST:PORT)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}
