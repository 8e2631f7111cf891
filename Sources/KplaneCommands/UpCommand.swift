import ArgumentParser
import ClusterDNS
import ClusterStore
import Controllers
import Foundation
import IngressProxy
import KubeModel
import Logging
import Metrics
import NetworkPolicy
import PodRuntime
import ServiceProxy
import Prometheus
import ServiceLifecycle

/// `kplane up`: runs the node in the foreground until SIGINT/SIGTERM.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Run kplane's node components in the foreground.")

    /// Every component name, in start order; `implemented` are those this build has.
    static let componentNames = ["controllers", "dns", "ingress", "pods", "proxy", "policy"]
    static let implemented: [String] = ["controllers", "dns", "ingress", "pods", "proxy", "policy"]
    /// Components that need root; left out with a note when not root and not asked for.
    static let needRoot: Set<String> = ["pods", "proxy", "policy"]

    @OptionGroup var store: StoreOptions
    @OptionGroup(title: "DNS") var dns: DNSOptions
    @OptionGroup(title: "Ingress") var ingress: IngressOptions
    @OptionGroup(title: "Service proxy") var proxy: ProxyOptions
    @OptionGroup(title: "Service controllers") var serviceControllers: ServiceControllerOptions
    @OptionGroup(title: "Storage") var storage: StorageOptions
    @OptionGroup(title: "Network policy") var policy: PolicyOptions
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
    @Option(help: "This node's name (default: the host name).")
    var nodeName: String?
    @Option(help: "User containers run as when a pod sets no runAsUser.")
    var podUser = "nobody"
    @Option(help: "First container restart back-off in seconds (kubelet: 10, doubling to 30×).")
    var restartBackoff: Double = 10
    @Option(help: "Rotate a container's log when it grows past this many MiB.")
    var containerLogMaxSize = 10
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
        guard let components else {
            return UpCommand.implemented.filter { getuid() == 0 || !UpCommand.needRoot.contains($0) }
        }
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
            // Counted inside: the results (one per object, 30,000 for 10,000 Ingress rules) must
            // not live on while `up` runs.
            let (count, changed): (Int, Int)
            do {
                (count, changed) = try await { () async throws -> (Int, Int) in
                    let results = try await watcher.syncOnce()
                    return (results.count, results.filter { $0.action != .unchanged }.count)
                }()
            } catch let error as StoreError {
                throw CLIError(describe(error))
            } catch let error as ManifestError {
                throw CLIError(error.description)
            }
            report.append(("manifests", "watching \(filename.joined(separator: ", ")) (\(count) objects, \(changed) changed)"))
            services.append(watcher)
        }

        let metricsAddress = try Listen.parse(metricsListen)
        let metrics = MetricsServer(host: metricsAddress.host, port: metricsAddress.port, registry: registry, logger: logger)
        services.append(metrics)
        services.append(HeapScavenger(logger: logger))
        report.append(("metrics", "http://\(metricsListen)/metrics and /healthz"))

        let selected = try selectedComponents()
        for name in UpCommand.componentNames where !UpCommand.implemented.contains(name) {
            report.append((name, "not in this build yet"))
        }
        for name in UpCommand.implemented where !selected.contains(name) {
            report.append((name, UpCommand.needRoot.contains(name) && getuid() != 0 ? "off: needs root" : "off (--components)"))
        }
        // One informer cache of every kind feeds the components that write objects back. DNS
        // and the ingress only read: each follows its own kinds in an informer of its own that
        // keeps less of each object (as they would run beside a real API server).
        let cache = ClusterCache(store: db, types: Scheme.types, logger: logger)
        if selected.contains(where: { $0 != "dns" && $0 != "ingress" }) { services.insert(cache, at: 0) }
        let node = try nodeConfiguration(stateDir: stateDir)
        if selected.contains("controllers") {
            services.append(DeploymentController(cache: cache, logger: logger))
            services += try serviceControllers.makeServices(cache: cache, logger: logger)
            services.append(storage.makeController(cache: cache, stateDir: stateDir, nodeName: node.nodeName, logger: logger))
            report.append(("controllers", "deployments, endpointslices, endpoints mirroring, load balancer addresses, volumes (binder, local-path provisioner)"))
        }
        if selected.contains("pods") {
            if let reason = PodRuntimeService.unavailableReason() { throw CLIError("component pods \(reason)") }
            services.append(PodRuntimeService(node: node, cache: cache, logger: logger, backoffBase: restartBackoff))
            report.append(("pods", "node \(node.nodeName), bridge \(node.bridgeName) \(node.gateway)/\(node.podCIDR.prefixLength), runs as \(podUser) by default"))
            if selected.contains("dns") {
                try await publishDNSEndpoints(db, address: node.gateway.description)
            }
        }
        if selected.contains("proxy") {
            services.append(try proxy.makeService(cache: cache, logger: logger, nodeName: node.nodeName, nodeIPs: [node.nodeIP], podCIDRs: podCIDR, serviceCIDRs: serviceCIDR))
            report.append(("proxy", "nftables table inet kplane (cluster IPs, node ports on \(node.nodeIP), load balancer addresses)"))
        }
        if selected.contains("policy") {
            if let reason = PolicyOptions.unavailableReason() { throw CLIError("component policy: \(reason)") }
            services.append(policy.makeService(cache: cache, logger: logger))
            report.append(("policy", "nftables table inet \(PolicyRuleset.defaultTable) (NetworkPolicy, hooks forward and input)"))
        }
        if selected.contains("ingress") {
            let ingressInformer = IngressInformer(store: db, types: IngressOptions.resourceTypes, logger: logger)
            services.append(ingressInformer)
            services.append(try ingress.makeService(informer: ingressInformer, store: db, stateDir: stateDir, nodeIP: node.nodeIP, logger: logger))
            report.append(("ingress", "http \(ingress.httpListen), https \(ingress.httpsListen), class kplane"))
        }
        if selected.contains("dns") {
            services.append(try dns.makeService(store: db, logger: logger, clusterDomain: clusterDomain, serviceCIDR: serviceCIDR, podCIDR: podCIDR))
            report.append(("dns", "udp+tcp \(dns.dnsListen), zone \(clusterDomain)"))
        }

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

extension UpCommand {
    func nodeConfiguration(stateDir: String) throws -> NodeConfiguration {
        let cidr = CIDR(String(podCIDR.split(separator: ",").first ?? ""))!
        guard let user = getpwnam(podUser) else { throw CLIError("--pod-user: no such user \"\(podUser)\"") }
        return NodeConfiguration(
            nodeName: nodeName ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init)?.lowercased() ?? "node",
            nodeIP: nodeIP ?? UpCommand.firstIPv4(excluding: cidr) ?? "127.0.0.1",
            podCIDR: cidr, clusterDomain: clusterDomain,
            clusterDNS: CIDR(serviceCIDR)!.network.advanced(by: 10).description,
            podsDirectory: (stateDir as NSString).appendingPathComponent("pods"),
            defaultUser: (user.pointee.pw_uid, user.pointee.pw_gid),
            logSizeLimit: containerLogMaxSize * 1024 * 1024)
    }

    /// The node's first IPv4 address that is neither loopback nor a pod address.
    static func firstIPv4(excluding podCIDR: CIDR) -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            let ip = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { IPAddress.v4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr)) }
            if case .v4(let v) = ip, v >> 24 == 127 { continue }
            if podCIDR.contains(ip) { continue }
            return ip.description
        }
        return nil
    }

    /// Pods reach cluster DNS at the kube-dns Service; its endpoint is this node's DNS
    /// server, on the bridge address every pod can reach.
    func publishDNSEndpoints(_ store: any Store, address: String) async throws {
        let port = (try? Listen.parse(dns.dnsListen).port) ?? 53
        var slice = EndpointSlice()
        slice.metadata = ObjectMeta(name: "kube-dns-kplane", namespace: "kube-system", labels: [
            EndpointSlice.serviceNameLabel: "kube-dns", EndpointSlice.managedByLabel: "node.kplane.dev",
        ])
        slice.addressType = "IPv4"
        slice.endpoints = [.init(addresses: [address], conditions: .init(ready: true, serving: true, terminating: false))]
        slice.ports = [.init(name: "dns", port: port, protocol: "UDP"), .init(name: "dns-tcp", port: port, protocol: "TCP")]
        _ = try await store.apply([Object(slice)])
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
