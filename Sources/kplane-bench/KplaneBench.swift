import ArgumentParser
import ClusterStore
import Foundation
import KubeModel

@main
struct KplaneBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kplane-bench",
        abstract: "Benchmark drivers for bench/*.sh.",
        subcommands: [StoreBench.self, WatchProbe.self, Forward.self])
}

/// Wall-clock nanoseconds, comparable across processes on one machine.
func wallNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

/// `kplane-bench store`: apply N objects in one transaction, list them, and measure watch
/// latency from a second process (`watch-probe`).
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store")

    @Option var count = 10_000
    @Option var watchSamples = 200
    @Option(help: "Path of this binary, to start the watch probe.") var selfPath = CommandLine.arguments[0]

    func run() async throws {
        let dir = NSTemporaryDirectory() + "kplane-bench-store-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)

        for (label, make) in [("ConfigMap", Self.configMap), ("Service", Self.service)] as [(String, (Int) -> Object)] {
            let objects = (0..<count).map(make)
            // Where the time goes: the API server's decode/default/validate pipeline alone.
            let tp = ContinuousClock.now
            for o in objects { _ = Scheme.prepare(o, old: nil) }
            print(String(format: "  Scheme.prepare of %d %@s alone: %.2f s", count, label, (ContinuousClock.now - tp).seconds))
            let t0 = ContinuousClock.now
            _ = try await store.apply(objects)
            let applySeconds = (ContinuousClock.now - t0).seconds
            let t1 = ContinuousClock.now
            let listed = try await store.list(objects[0].type, namespace: nil).items.count
            let listSeconds = (ContinuousClock.now - t1).seconds
            print(String(format: "apply %d %@s in one transaction: %.2f s (%.0f objects/s); list %d: %.3f s", count, label, applySeconds, Double(count) / applySeconds, listed, listSeconds))
        }

        // Watch latency: a second process watches; we write one object every 10 ms.
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: selfPath)
        probe.arguments = ["watch-probe", "--state-dir", dir, "--samples", String(watchSamples)]
        let out = Pipe()
        probe.standardOutput = out
        try probe.run()
        try await Task.sleep(for: .milliseconds(500))
        for i in 0..<watchSamples {
            var cm = ConfigMap()
            cm.metadata = ObjectMeta(name: "probe-\(i)", namespace: "default")
            cm.metadata.annotations = ["bench/sent-ns": String(wallNanos())]
            _ = try await store.create(Object(cm))
            try await Task.sleep(for: .milliseconds(10))
        }
        probe.waitUntilExit()
        print(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), terminator: "")
    }

    static func configMap(_ i: Int) -> Object {
        var cm = ConfigMap()
        cm.metadata = ObjectMeta(name: "cm-\(i)", namespace: "default", labels: ["app": "bench"])
        cm.data = ["key": "value-\(i)"]
        return Object(cm)
    }

    static func service(_ i: Int) -> Object {
        var svc = Service()
        svc.metadata = ObjectMeta(name: "svc-\(i)", namespace: "default", labels: ["app": "bench"])
        svc.spec.selector = ["app": "svc-\(i)"]
        svc.spec.ports = [Service.Port(name: "http", port: 80, targetPort: .int(8080))]
        return Object(svc)
    }
}

/// Watches ConfigMaps in another process and reports how late each event arrived.
struct WatchProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch-probe")

    @Option var stateDir: String
    @Option var samples = 200

    func run() async throws {
        let store = try SQLiteStore(directory: stateDir)
        let rv = try await store.currentResourceVersion()
        var latencies: [Double] = []
        for try await event in store.watch([ConfigMap.resourceType], from: rv) {
            guard let sent = event.object.annotations["bench/sent-ns"].flatMap(Int64.init) else { continue }
            latencies.append(Double(wallNanos() - sent) / 1e6)
            if latencies.count == samples { break }
        }
        print(String(format: "watch latency from another process over %d events: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     latencies.count, percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.max() ?? .nan))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
