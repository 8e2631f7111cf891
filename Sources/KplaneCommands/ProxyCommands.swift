import ArgumentParser
import ClusterStore
import Foundation
import KubeModel
import Logging
import ServiceProxy

/// `kplane proxy …`: explain what the service proxy does, from the store, without root.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Show the service proxy's nftables ruleset, or trace a connection through it.",
        subcommands: [ProxyRulesCommand.self, ProxyTraceCommand.self, ProxyBenchCommand.self])
}

/// The node settings the explain commands render for.
struct ProxyNodeOptions: ParsableArguments {
    @Option(help: "The node's name (endpoints with this nodeName are local). Default: the host name.")
    var nodeName: String?
    @Option(help: "Node addresses for NodePorts, comma-separated.")
    var nodeIP = "127.0.0.1"
    @Option(help: "Pod CIDR (comma-separated for dual stack).")
    var podCIDR = "10.244.0.0/16"
    @Option(help: "Service CIDR (comma-separated for dual stack).")
    var serviceCIDR = "10.96.0.0/12"

    func node() throws -> NodeConfig {
        let options = ProxyOptions()
        return try options.node(nodeName: nodeName ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init)?.lowercased() ?? "node", nodeIPs: nodeIP.split(separator: ",").map { String($0) }, podCIDRs: podCIDR, serviceCIDRs: serviceCIDR)
    }

    func model(_ store: StoreOptions) async throws -> ProxyModel {
        let db = try store.open()
        let services = try await db.list(Service.self)
        let slices = try await db.list(EndpointSlice.self)
        return ProxyModel.build(services: services, slices: slices, node: try node())
    }
}

/// `kplane proxy rules`: the `nft -f` transaction kplane would apply now.
struct ProxyRulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "Print the nftables ruleset kplane would apply (as one nft -f transaction).")

    @OptionGroup var store: StoreOptions
    @OptionGroup var node: ProxyNodeOptions
    @Flag(help: "Print only counts of rules and elements.")
    var summary = false

    func run() async throws {
        let ruleset = RulesetBuilder.build(try await node.model(store))
        if summary {
            print("table inet \(ruleset.table): \(ruleset.chains.count) chains, \(ruleset.ruleCount) rules, \(ruleset.sets.count) sets and maps, \(ruleset.elementCount) elements")
        } else {
            print(ruleset.fullTransaction(replacing: false), terminator: "")
        }
    }
}

/// `kplane proxy trace`: where a new connection would go.
struct ProxyTraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trace", abstract: "Trace a new connection through the ruleset kplane would apply.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var node: ProxyNodeOptions
    @Option(help: "Client address.") var from: String
    @Option(help: "Destination address.") var to: String
    @Option(help: "Destination port.") var port: Int
    @Option(help: "tcp, udp or sctp.") var proto = "tcp"
    @Flag(help: "The node itself opens the connection.") var fromNode = false

    func run() async throws {
        guard IPAddress(from) != nil, IPAddress(to) != nil else { throw ValidationError("--from and --to must be IP addresses") }
        guard let p = L4Proto(rawValue: proto) else { throw ValidationError("--proto: tcp, udp or sctp") }
        let model = try await node.model(store)
        var local = Set(model.node.nodeIPs)
        for fe in model.frontends.keys where model.node.nodeIPs.contains(fe.ip) { local.insert(fe.ip) }
        let tracer = PacketTracer(ruleset: RulesetBuilder.build(model), localAddresses: local)
        let packet = PacketTracer.Packet(from: from, to: to, port: port, proto: p, fromNode: fromNode)
        for outcome in tracer.outcomes(packet).map(\.description).sorted() { print(outcome) }
    }
}

/// `kplane proxy bench`: the service proxy at 1,000 and 10,000 Services. First the Swift side
/// alone (render and transaction per change, in process); then, as root inside an isolated
/// network namespace, the whole path: objects written to an in-memory store, the informer
/// cache, the proxy, `nft` — cold sync, add one Service, change one endpoint (the network
/// programming latency: object written → rules committed in the kernel).
struct ProxyBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the service proxy at scale (the end-to-end part needs root inside an isolated network namespace).")

    @Option(help: "Numbers of Services, comma-separated.") var services = "1000,10000"
    @Option(help: "Endpoints per Service.") var endpoints = 10
    @Option(help: "Services added one by one, timed each.") var adds = 20
    @Option(help: "Endpoint changes, timed each.") var changes = 100
    @Option(help: "Write full.nft, add-one.nft and change-endpoint.nft per size into this folder (for timing plain nft -f).") var writeRules: String?
    @Flag(help: "Only the in-process render (no root, no nft).") var renderOnly = false

    static let node = NodeConfig(nodeName: "node-a", nodeIPs: [IPAddress("192.168.50.1")!], podCIDRs: [CIDR("10.128.0.0/9")!], serviceCIDRs: [CIDR("10.96.0.0/12")!])

    /// ClusterIP of Service `i` (10.96.0.1 is the API's own Service).
    static func clusterIP(_ i: Int) -> String { "10.100.\(i / 250).\(i % 250 + 1)" }

    /// Service `i` (ClusterIP 10.100.x.y port 80) and its slice of `endpoints` addresses in 10.128.0.0/9.
    static func cluster(_ range: Range<Int>, endpoints: Int) -> ([Service], [EndpointSlice]) {
        var services: [Service] = [], slices: [EndpointSlice] = []
        for i in range {
            var s = Service()
            s.metadata = ObjectMeta(name: "s\(i)", namespace: "bench")
            let ip = clusterIP(i)
            s.spec.clusterIP = ip
            s.spec.clusterIPs = [ip]
            s.spec.ports = [Service.Port(name: "http", port: 80, targetPort: .int(8080))]
            s.setDefaults()
            s.metadata.resourceVersion = "1"
            services.append(s)
            slices.append(slice(i, endpoints: endpoints, version: 0))
        }
        return (services, slices)
    }

    /// Version `v` of service `i`'s slice: endpoint 3 moves with each version.
    static func slice(_ i: Int, endpoints: Int, version v: Int) -> EndpointSlice {
        var sl = EndpointSlice()
        sl.metadata = ObjectMeta(name: "s\(i)", namespace: "bench", labels: [EndpointSlice.serviceNameLabel: "s\(i)"])
        sl.metadata.resourceVersion = "v\(v)"
        sl.ports = [EndpointSlice.Port(name: "http", port: 8080, protocol: "TCP")]
        sl.endpoints = (0..<endpoints).map { e in
            let k = i * endpoints + e
            let ip = e == 3 && v > 0 ? "10.250.\(v / 250).\(v % 250 + 1)" : "10.\(128 + k / 65536).\((k / 256) % 256).\(k % 256)"
            return EndpointSlice.Endpoint(addresses: [ip], nodeName: "node-a")
        }
        return sl
    }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

    static func summary(_ name: String, _ samples: [Double]) -> String {
        let s = samples.sorted()
        guard !s.isEmpty else { return "\(name) n=0" }
        func q(_ p: Double) -> Double { s[min(s.count - 1, Int((Double(s.count) * p).rounded(.up)) - 1)] }
        return String(format: "%@ n=%d p50=%.1fms p99=%.1fms max=%.1fms", name, s.count, q(0.5), q(0.99), s.last!)
    }

    func run() async throws {
        let sizes = services.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        for n in sizes { try render(n) }
        guard !renderOnly else { return }
        try Self.requireIsolated()
        for n in sizes { try await endToEnd(n) }
    }

    /// The Swift side alone: the incremental path the proxy runs, and the full re-render it replaced.
    func render(_ n: Int) throws {
        let clock = ContinuousClock()
        print("== render (in process): \(n) services x \(endpoints) endpoints")
        var (services, slices) = Self.cluster(0..<n, endpoints: endpoints)
        var model = IncrementalModel(node: Self.node)
        var rules = IncrementalRuleset(node: Self.node)
        /// One sync as the proxy runs it: render what changed, write its transaction.
        func sync(replacing: Bool = false) -> (ms: Double, transaction: String) {
            let t = clock.now
            rules.apply(model.update(services: services, slices: slices))
            let transaction = rules.transaction(replacing: replacing) ?? ""
            rules.commit()
            return (Self.ms(clock.now - t), transaction)
        }
        let (fullMs, full) = sync(replacing: true)
        print(String(format: "render_full_ms %.1f", fullMs))
        print("rules \(rules.ruleset.ruleCount) elements \(rules.ruleset.elementCount) chains \(rules.ruleset.chains.count) full_bytes \(full.utf8.count)")

        var addSamples: [Double] = [], addTx = ""
        for i in n..<(n + adds) {
            let (s, sl) = Self.cluster(i..<(i + 1), endpoints: endpoints)
            services += s
            slices += sl
            let (ms, tx) = sync()
            addSamples.append(ms)
            addTx = tx
        }
        print(Self.summary("render_add_one", addSamples))
        var changeSamples: [Double] = [], changeTx = ""
        for v in 1...changes {
            let i = (v * 7919) % n
            slices[i] = Self.slice(i, endpoints: endpoints, version: v)
            let (ms, tx) = sync()
            changeSamples.append(ms)
            changeTx = tx
        }
        print(Self.summary("render_change_endpoint", changeSamples))

        // The previous design, for comparison: re-render everything and diff whole rulesets.
        var t = clock.now
        let before = ProxyModel.build(services: services, slices: slices, node: Self.node)
        let beforeRules = RulesetBuilder.build(before)
        let mid = Self.ms(clock.now - t)
        slices[0] = Self.slice(0, endpoints: endpoints, version: changes + 1)
        t = clock.now
        let after = ProxyModel.build(services: services, slices: slices, node: Self.node, previous: before)
        _ = RulesetDiff.transaction(from: beforeRules, to: RulesetBuilder.build(after))
        print(String(format: "full_rerender_ms %.1f full_rerender_and_diff_change_ms %.1f", mid, Self.ms(clock.now - t)))

        if let dir = writeRules {
            let out = URL(fileURLWithPath: dir).appendingPathComponent("n\(n)")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            try full.write(to: out.appendingPathComponent("full.nft"), atomically: true, encoding: .utf8)
            try addTx.write(to: out.appendingPathComponent("add-one.nft"), atomically: true, encoding: .utf8)
            try changeTx.write(to: out.appendingPathComponent("change-endpoint.nft"), atomically: true, encoding: .utf8)
        }
    }

    /// Refuses to program nftables anywhere but in a network namespace with nothing but loopback.
    static func requireIsolated() throws {
        // /proc/self/net follows the network namespace (/sys/class/net follows the mount of /sys).
        let dev = (try? String(contentsOfFile: "/proc/self/net/dev", encoding: .utf8)) ?? ""
        let links = dev.split(separator: "\n").dropFirst(2).compactMap { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) }
        guard geteuid() == 0, Set(links).isSubset(of: ["lo", LoadBalancerInterface.defaultName]) else {
            throw ValidationError("the end-to-end part programs nftables: run it as root inside an isolated network namespace (e.g. /work/shared/tools/isolated or unshare --net), or pass --render-only; interfaces here: \(links.sorted().joined(separator: " "))")
        }
    }

    /// Store → cache → proxy → nft, timed from the write to the rules being committed.
    func endToEnd(_ n: Int) async throws {
        print("== end to end (store, cache, proxy, nft): \(n) services x \(endpoints) endpoints")
        let clock = ContinuousClock()
        let store = MemoryStore()
        let (services, slices) = Self.cluster(0..<n, endpoints: endpoints)
        var namespace = Namespace()
        namespace.metadata = ObjectMeta(name: "bench")
        _ = try await store.create(Object(namespace))
        let chunk = 1000
        for start in stride(from: 0, to: n, by: chunk) {
            let end = min(n, start + chunk)
            func fresh<R: Resource>(_ r: R) -> Object { var r = r; r.metadata.resourceVersion = nil; return Object(r) }
            _ = try await store.apply(services[start..<end].map(fresh) + slices[start..<end].map(fresh))
        }
        var logger = Logger(label: "kplane.bench")
        logger.logLevel = .warning
        let cache = ClusterCache(store: store, types: ServiceProxyService.types, logger: logger)
        let proxy = ServiceProxyService(configuration: .init(node: Self.node, healthCheckHost: "127.0.0.1"), cache: cache, logger: logger)
        let target = try await store.currentResourceVersion()
        func waitApplied(_ rv: Int64) async throws {
            let deadline = clock.now + .seconds(120)
            while proxy.appliedResourceVersion < rv {
                guard clock.now < deadline else { throw ValidationError("the proxy did not apply resourceVersion \(rv) within 120 s") }
                try await Task.sleep(for: .microseconds(200))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let t0 = clock.now
            group.addTask { try await cache.run() }
            group.addTask { try await proxy.run() }
            _ = await cache.waitUntilSynced()
            let listed = clock.now
            try await waitApplied(target)
            print(String(format: "e2e_cold_sync_ms %.1f (informer list and decode %.1f, proxy render and nft %.1f)",
                         Self.ms(clock.now - t0), Self.ms(listed - t0), Self.ms(clock.now - listed)))

            var addSamples: [Double] = []
            for i in n..<(n + adds) {
                let (s, sl) = Self.cluster(i..<(i + 1), endpoints: endpoints)
                try await Task.sleep(for: .milliseconds(50))
                let t = clock.now
                var svc = s[0], slice = sl[0]
                svc.metadata.resourceVersion = nil
                slice.metadata.resourceVersion = nil
                _ = try await store.create(Object(svc))
                let rv = Int64(try await store.create(Object(slice)).resourceVersion) ?? 0
                try await waitApplied(rv)
                addSamples.append(Self.ms(clock.now - t))
            }
            print(Self.summary("e2e_add_one_service", addSamples))

            var changeSamples: [Double] = []
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            var last = (index: 0, version: 0)
            for v in 1...changes {
                let i = (v * 7919) % n
                try await Task.sleep(for: .milliseconds(50))
                guard var current = try await store.get(EndpointSlice.self, namespace: "bench", name: "s\(i)") else { continue }
                let t = clock.now
                current.endpoints = Self.slice(i, endpoints: endpoints, version: v).endpoints
                current.metadata.annotations = ["endpoints.kubernetes.io/last-change-trigger-time": formatter.string(from: Date())]
                let rv = Int64(try await store.update(Object(current)).resourceVersion) ?? 0
                try await waitApplied(rv)
                changeSamples.append(Self.ms(clock.now - t))
                last = (i, v)
            }
            print(Self.summary("e2e_network_programming_latency", changeSamples))

            // What the kernel has: the last change's element, read back with nft.
            let ip = Self.clusterIP(last.index)
            let t = clock.now
            let got = try Self.shell("nft get element inet kplane backends4 '{ \(ip) . tcp . 80 . 3 }'")
            let want = "10.250.\(last.version / 250).\(last.version % 250 + 1)"
            print(String(format: "nft_get_element_ms %.1f", Self.ms(clock.now - t)) + " kernel_has_last_change \(got.contains(want))")
            group.cancelAll()
            try? await group.waitForAll()
        }
        let tables = try Self.shell("nft list tables")
        print("table_removed_on_stop \(!tables.contains("kplane"))")
    }

    static func shell(_ command: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
