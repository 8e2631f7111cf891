import Foundation
import HostSystem
import KubeModel
@testable import NetworkPolicy
import Testing

/// The driver behind bench/policy/run.sh (not a timed test: it runs only when
/// KPLANE_POLICY_BENCH names an output folder, and applies rules only inside the private
/// network namespace the script makes). Workload: 100 namespaces × 10 pods, 10 policies per
/// namespace (default deny, same-namespace allows on ports, a namespace-selector allow, an
/// egress policy with DNS, an ipBlock with except). ns-000/p-0 (10.244.0.2) is the server and
/// ns-000/p-1 (10.244.0.3) the client the script's traffic runs between.
@Suite struct PolicyBenchmark {
    static let output = ProcessInfo.processInfo.environment["KPLANE_POLICY_BENCH"]

    static func workload(namespaces: Int, policiesPerNamespace: Int = 10, podsPerNamespace: Int = 10) -> (PolicyModel, [PolicyPod]) {
        var pods: [PolicyPod] = []
        var nsList: [(String, [String: String])] = []
        var policies: [NetworkPolicy] = []
        var index = 0
        for k in 0..<namespaces {
            let ns = String(format: "ns-%03d", k)
            nsList.append((ns, ["team": "t-\(k % 10)"]))
            for i in 0..<podsPerNamespace {
                let ip = IPAddress("10.244.\((index + 2) / 256).\((index + 2) % 256)")!
                var labels = ["app": "app-\(i % 5)", "pod": "p-\(i)"]
                if k == 0 && i == 0 { labels["app"] = "server" }
                if k == 0 && i == 1 { labels["app"] = "client" }
                pods.append(PolicyPod(ref: ObjectRef(ns, "p-\(i)"), labels: labels, ips: [ip],
                                      namedPorts: [.init(name: "http", port: 8080, proto: .tcp)]))
                index += 1
            }
            for j in 0..<policiesPerNamespace {
                let name = "policy-\(j)"
                switch j {
                case 0: policies.append(policy(name, ns, ingress: []))
                case 1: policies.append(policy(name, ns, select: sel(["app": "server"]), ingress: [from(podPeer(sel(["app": "client"])), ports: [port(80, "TCP")])]))
                case 7: policies.append(policy(name, ns, select: sel(["app": "app-\(j % 5)"]), ingress: [from(nsPeer(sel(["team": "t-\((k + 1) % 10)"])), ports: [port("http")])]))
                case 8: policies.append(policy(name, ns, select: sel(["app": "app-3"]), egress: [to(nsPeer(sel(["team": "t-\(k % 10)"]))), to(ports: [port(53, "UDP"), port(53, "TCP")])]))
                case 9: policies.append(policy(name, ns, select: sel(["app": "app-4"]), ingress: [from(ipPeer("10.0.0.0/8", except: ["10.244.0.0/16"]), ports: [port(443, "TCP")])]))
                default: policies.append(policy(name, ns, select: sel(["app": "app-\(j % 5)"]), ingress: [from(podPeer(sel(["app": "app-\((j + 1) % 5)"])), ports: [port(8000 + j, "TCP", end: 8010 + j)])]))
                }
            }
        }
        return (PolicyModel(namespaces: nsList, pods: pods, policies: policies.map(CompiledPolicy.init)), pods)
    }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
    static func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    static func p90(_ xs: [Double]) -> Double { xs.sorted()[min(xs.count - 1, xs.count * 9 / 10)] }

    @Test(.enabled(if: output != nil, "set KPLANE_POLICY_BENCH=DIR to run the benchmark driver"))
    func benchmark() async throws {
        let dir = Self.output!
        let clock = ContinuousClock()
        var report: [String] = []
        // Files for the traffic part: 10 policies (one namespace) and 1,000 (100 namespaces), 1,000 pods each time.
        for (name, namespaces, perNs) in [("10", 1, 10), ("1000", 100, 10)] {
            let (model, _) = Self.workload(namespaces: namespaces, policiesPerNamespace: perNs, podsPerNamespace: 1000 / namespaces)
            var numbers = PolicyRulesetBuilder.ClassNumbers()
            let rs = PolicyRulesetBuilder.build(model, numbers: &numbers)
            try rs.fullTransaction(replacing: false).write(toFile: "\(dir)/policies-\(name).nft", atomically: true, encoding: .utf8)
            report.append("ruleset with \(model.policies.count) policies, \(model.pods.count) pods: \(rs.elementCount) elements")
        }
        let (model, _) = Self.workload(namespaces: 100)
        var renders: [Double] = []
        for _ in 0..<5 {
            var numbers = PolicyRulesetBuilder.ClassNumbers()
            let t = clock.now
            _ = PolicyRulesetBuilder.build(model, numbers: &numbers).fullTransaction(replacing: true)
            renders.append(Self.ms(clock.now - t))
        }
        report.append(String(format: "render 1,000 pods + 1,000 policies (model → nft text): median %.1f ms", Self.median(renders)))

        guard geteuid() == 0, let nft = HostCommand.find("nft"), ProcessInfo.processInfo.environment["KPLANE_POLICY_BENCH_APPLY"] == "1" else {
            try (report.joined(separator: "\n") + "\n").write(toFile: "\(dir)/driver.txt", atomically: true, encoding: .utf8)
            return
        }
        let apply = PolicySyncer.nftExecutor(nft: nft)
        var fulls: [Double] = []
        for _ in 0..<5 {
            let syncer = PolicySyncer(execute: apply)
            let t = clock.now
            _ = try await syncer.sync(model)
            fulls.append(Self.ms(clock.now - t))
        }
        report.append(String(format: "full sync (render + one nft -f of the whole table): median %.0f ms, max %.0f ms", Self.median(fulls), fulls.max()!))
        // Label change: one pod moves between classes (app-2 → app-3), and back; each sync is
        // render + diff + one nft transaction, after which the kernel enforces the change.
        let syncer = PolicySyncer(execute: apply)
        _ = try await syncer.sync(model)
        var pods = model.podRefs.compactMap { model.pods[$0] }
        let policies = model.policies
        let namespaces = model.namespaceLabels.map { ($0.key, $0.value) }
        var latencies: [Double] = [], bytes: [Int] = []
        for round in 0..<20 {
            let i = 2 + (round * 37) % 990
            pods[i].labels["app"] = pods[i].labels["app"] == "app-3" ? "app-2" : "app-3"
            let t = clock.now
            let r = try await syncer.sync(PolicyModel(namespaces: namespaces, pods: pods, policies: policies))
            latencies.append(Self.ms(clock.now - t))
            bytes.append(r.transactionBytes)
        }
        report.append(String(format: "pod label change → enforced (model + render + diff + nft): median %.0f ms, p90 %.0f ms (transaction median %d bytes)",
                             Self.median(latencies), Self.p90(latencies), bytes.sorted()[bytes.count / 2]))
        try (report.joined(separator: "\n") + "\n").write(toFile: "\(dir)/driver.txt", atomically: true, encoding: .utf8)
    }
}
