import ClusterStore
import KubeModel
import Testing
@testable import Storage

/// A pass's store writes go to the store as one batch; an operation cut short by a conflict
/// is what a crash between kube-controller-manager's calls leaves, and the next pass
/// completes it.
@Suite struct BatchApplyTests {
    @Test func conflictInOneBindLeavesTheOthersAndIsCompletedNextPass() async throws {
        let seeded = try await SeededStore(volumes: (1...3).map { volume("pv-\($0)", "\($0)Gi", phase: "Available") },
                                           claims: (1...3).map { claim("pvc-\($0)", uid: "u\($0)", "\($0)Gi") })
        let controller = makeController(seeded)
        let stale = try await seeded.snapshot()
        // Someone else changes pvc-2 after the snapshot the pass plans from.
        var pvc2 = try #require(try await seeded.store.get(PersistentVolumeClaim.self, namespace: "default", name: "pvc-2"))
        pvc2.metadata.labels = ["team": "a"]
        _ = try await seeded.store.update(Object(pvc2))

        let before = try await seeded.store.currentResourceVersion()
        let report = try await controller.reconcile(stale)
        #expect(report.failures == 1)
        #expect(report.errors.first?.contains("persistentvolumeclaim/pvc-2") == true)
        var claims = try await seeded.claims()
        var volumes = try await seeded.volumes()
        #expect(claims["pvc-1"]?.phase == "Bound" && claims["pvc-3"]?.phase == "Bound")
        // pvc-2's bind stopped after the volume's steps, in kube-controller-manager's order.
        #expect(volumes["pv-2"]?.spec.claimRef?.name == "pvc-2" && volumes["pv-2"]?.phase == "Bound")
        #expect(claims["pvc-2"]?.phase == "Pending" && claims["pvc-2"]?.volumeName == "")
        // Every write of the pass (and only the kept ones) made one version each.
        #expect(try await seeded.store.currentResourceVersion() == before + Int64(report.writes))

        try await converge(controller, seeded)
        claims = try await seeded.claims()
        volumes = try await seeded.volumes()
        #expect(claims["pvc-2"]?.phase == "Bound" && claims["pvc-2"]?.volumeName == "pv-2")
        #expect(claims["pvc-2"]?.metadata.labels?["team"] == "a")
        #expect(volumes.values.allSatisfy { $0.phase == "Bound" })
    }

    @Test(arguments: [
        ([StorageStep.updateVolumeStatus(volume("v", "1Gi")), .updateClaim(claim("c", uid: "u", "1Gi"))], true),
        ([.updateVolume(volume("v", "1Gi")), .deleteVolume("v")], true),
        ([.deleteVolume("v"), .updateVolume(volume("v", "1Gi"))], false),
        ([.provision(LocalVolume(name: "v", directory: "/tmp/v", mode: .directory, bytes: 1)), .createVolume(volume("v", "1Gi"))], false),
    ])
    func batchableOperations(_ steps: [StorageStep], _ batchable: Bool) {
        #expect(StorageApplier.isBatchable(StorageOperation(steps)) == batchable)
    }
}
