import Foundation
import KubeModel
import ServiceProxy
import Testing

/// Writes the transactions bench/proxy/run.sh times with nft (not a test: it runs only when
/// KPLANE_PROXY_BENCH_DIR names an output folder). Also reports kplane's own render and diff
/// time, measured in this process.
@Suite struct ProxyBenchmarkGenerator {
    static let outDir = ProcessInfo.processInfo.environment["KPLANE_PROXY_BENCH_DIR"]

    static func cluster(_ n: Int, endpoints: Int = 10) -> ([Service], [EndpointSlice]) {
        var services: [Service] = [], slices: [EndpointSlice] = []
        services.reserveCapacity(n)
        for i in 0..<n {
            var s = Service()
            s.metadata = ObjectMeta(name: "s\(i)", namespace: "bench")
            let ip = "10.96.\(i / 250).\(i % 250 + 1)"
            s.spec.clusterIP = ip
            s.spec.clusterIPs = [ip]
            s.spec.ports = [Service.Port(name: "http", port: 80, targetPort: .int(8080))]
            s.setDefaults()
            services.append(s)
            var sl = EndpointSlice()
            sl.metadata = ObjectMeta(name: "s\(i)", namespace: "bench", labels: [EndpointSlice.serviceNameLabel: "s\(i)"])
            sl.ports = [EndpointSlice.Port(name: "http", port: 8080, protocol: "TCP")]
            sl.endpoints = (0..<endpoints).map { e in
                let k = i * endpoints + e
                return EndpointSlice.Endpoint(addresses: ["10.\(128 + k / 65536).\((k / 256) % 256).\(k % 256)"], nodeName: "node-a")
            }
            slices.append(sl)
        }
        return (services, slices)
    }

    @Test(.enabled(if: outDir != nil, "set KPLANE_PROXY_BENCH_DIR to generate benchmark inputs"), arguments: [1_000, 10_000])
    func generate(_ n: Int) throws {
        let dir = URL(fileURLWithPath: Self.outDir!).appendingPathComponent("n\(n)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let node = NodeConfig(nodeName: "node-a", nodeIPs: [IPAddress("192.168.50.1")!], podCIDRs: [CIDR("10.128.0.0/9")!], serviceCIDRs: [CIDR("10.96.0.0/12")!])
        let (services, slices) = Self.cluster(n + 1)
        let clock = ContinuousClock()
        var report: [String] = []

        var t = clock.now
        let base = ProxyModel.build(services: Array(services.dropLast()), slices: Array(slices.dropLast()), node: node)
        let baseRules = RulesetBuilder.build(base)
        let full = baseRules.fullTransaction(replacing: true)
        report.append("render_full_ms \((clock.now - t).milliseconds)")
        try full.write(to: dir.appendingPathComponent("full.nft"), atomically: true, encoding: .utf8)
        report.append("rules \(baseRules.ruleCount)")
        report.append("elements \(baseRules.elementCount)")
        report.append("chains \(baseRules.chains.count)")

        t = clock.now
        let added = ProxyModel.build(services: services, slices: slices, node: node, previous: base)
        let addedRules = RulesetBuilder.build(added)
        let addTx = RulesetDiff.transaction(from: baseRules, to: addedRules) ?? ""
        report.append("render_add_one_ms \((clock.now - t).milliseconds)")
        try addTx.write(to: dir.appendingPathComponent("add-one.nft"), atomically: true, encoding: .utf8)

        var changedSlices = slices
        changedSlices[n / 2].endpoints![3].addresses = ["10.250.1.1"]
        t = clock.now
        let changed = ProxyModel.build(services: services, slices: changedSlices, node: node, previous: added)
        let changeTx = RulesetDiff.transaction(from: addedRules, to: RulesetBuilder.build(changed)) ?? ""
        report.append("render_change_endpoint_ms \((clock.now - t).milliseconds)")
        try changeTx.write(to: dir.appendingPathComponent("change-endpoint.nft"), atomically: true, encoding: .utf8)
        try (report.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("render.txt"), atomically: true, encoding: .utf8)
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
