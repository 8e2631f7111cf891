import ClusterStore
import Foundation
import KubeModel
import Testing
@testable import Storage

/// bench/storage/run.sh: not part of the normal test run (enabled by KPLANE_STORAGE_BENCH=1).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["KPLANE_STORAGE_BENCH"] == "1"))
struct StorageBench {
    /// 1,000 PVs and 1,000 claims through the running controller (cache, watch, store):
    /// time from the last object created until every claim is Bound.
    @Test(arguments: ["memory", "sqlite"])
    func thousandBinds(_ backend: String) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store: any Store = backend == "memory" ? MemoryStore() : try SQLiteStore(directory: dir)
        for i in 0..<1000 {
            var pv = volume("pv-\(i)", "\(1 + i % 10)Gi")
            pv.status = .init()
            _ = try await store.create(Object(pv))
            var c = claim("pvc-\(i)", uid: "", "\(1 + i % 10)Gi", className: "")
            c.metadata.uid = nil
            c.status = .init()
            _ = try await store.create(Object(c))
        }
        let cache = ClusterCache(store: store, types: StorageController.resourceTypes, logger: quietLogger)
        let controller = StorageController(configuration: .init(node: testNode, provisioner: nil, installDefaultClass: false, unmountAtShutdown: false),
                                           cache: cache, host: nil, logger: quietLogger)
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed = Duration.zero
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await cache.run() }
            // The controller stops first: ClusterCache finishes its subscribers under its lock,
            // so a subscriber still attached when the cache stops would re-enter that lock.
            let running = Task { try await controller.run() }
            while clock.now - start < .seconds(120) {
                // Raw JSON, no typed decoding: the poll must not compete with the controller.
                let bound = try await store.list(PersistentVolumeClaim.resourceType, namespace: nil).items
                    .filter { $0.status?["phase"]?.stringValue == "Bound" }.count
                if bound == 1000 { elapsed = clock.now - start; break }
                try await Task.sleep(for: .milliseconds(50))
            }
            running.cancel()
            _ = try? await running.value
            group.cancelAll()
        }
        print("BENCH storage.binds backend=\(backend) claims=1000 seconds=\(elapsed.seconds)")
        #expect(elapsed > .zero)
    }

    /// 100 claims provisioned as image volumes (Immediate class), in a private mount namespace.
    @Test(.enabled(if: Privileges.canLoopMount))
    func hundredImageVolumes() async throws {
        let dir = try temporaryDirectory()
        let ns = try MountNamespace()
        defer { ns.close(); try? FileManager.default.removeItem(atPath: dir) }
        let claims = (0..<100).map { claim("data-\($0)", uid: "u\($0)", "64Mi", className: "lp") }
        let seeded = try await SeededStore(volumes: [], claims: claims, classes: [storageClass("lp")])
        let controller = makeController(seeded, provisioner: ProvisionerSettings(volumeDirectory: dir, mode: .image),
                                        host: SystemVolumeHost(namespacePID: ns.pid))
        let clock = ContinuousClock()
        let start = clock.now
        var perVolume: [Duration] = []
        for _ in 0..<10 {
            let report = try await controller.reconcile(try await seeded.snapshot())
            perVolume += report.provisioned
            if report.writes == 0 { break }
        }
        let total = clock.now - start
        let bound = try await seeded.claims().values.filter { $0.phase == "Bound" }.count
        let sorted = perVolume.sorted()
        let p50 = sorted.isEmpty ? .zero : sorted[sorted.count / 2], p99 = sorted.isEmpty ? .zero : sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        print("BENCH storage.image volumes=\(bound) total_seconds=\(total.seconds) per_volume_mean_ms=\(total.seconds * 1000 / Double(max(bound, 1))) provision_p50_ms=\(p50.seconds * 1000) provision_p99_ms=\(p99.seconds * 1000)")
        #expect(bound == 100)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension StorageBench {
    /// Where a pass's time goes: planning vs. writing.
    @Test func planVersusApply() async throws {
        let seeded = try await SeededStore(volumes: (0..<1000).map { volume("pv-\($0)", "\(1 + $0 % 10)Gi", phase: "Available") },
                                           claims: (0..<1000).map { claim("pvc-\($0)", uid: "u\($0)", "\(1 + $0 % 10)Gi") })
        let snapshot = try await seeded.snapshot()
        let clock = ContinuousClock()
        var t = clock.now
        let plan = StoragePlanner.plan(StorageInputs(snapshot: snapshot, node: testNode, provisioner: nil, now: "2025-01-01T00:00:00Z"))
        let planned = clock.now - t
        t = clock.now
        var applier = StorageApplier(store: seeded.store, host: nil, snapshot: snapshot, logger: quietLogger, now: "")
        let outcome = await applier.apply(plan)
        print("BENCH storage.pass plan_seconds=\(planned.seconds) apply_seconds=\((clock.now - t).seconds) writes=\(outcome.writes)")
    }
}
