import ClusterStore
import Foundation
import KubeModel
import ServiceLifecycle
import Testing
@testable import Storage

/// The whole controller, pass after pass, over a MemoryStore; provisioning in `directory`
/// mode (works as any user).
@Suite struct ControllerTests {
    let key = { (name: String) in ObjectKey(type: PersistentVolumeClaim.resourceType, namespace: "default", name: name) }

    func directorySettings(_ dir: String) -> ProvisionerSettings {
        ProvisionerSettings(volumeDirectory: dir, mode: .directory, imageSupported: false)
    }

    // MARK: - kubernetes' TestMultiSync

    @Test func multiSync10_1SuccessfulBind() async throws {
        let seeded = try await SeededStore(volumes: [volume("volume10-1", "1Gi")], claims: [claim("claim10-1", uid: "uid10-1", "1Gi")])
        try await converge(makeController(seeded), seeded)
        let v = try #require(try await seeded.volumes()["volume10-1"])
        let c = try #require(try await seeded.claims()["claim10-1"])
        #expect(v.phase == "Bound" && v.spec.claimRef?.uid == c.uid && v.hasAnnotation(StorageAnnotations.boundByController))
        #expect(c.phase == "Bound" && c.volumeName == "volume10-1" && c.hasAnnotation(StorageAnnotations.bindCompleted))
        #expect(v.metadata.hasFinalizer(StorageAnnotations.pvProtection) && c.metadata.hasFinalizer(StorageAnnotations.pvcProtection))
    }

    @Test func multiSync10_2BindRace() async throws {
        // Two controllers bound two volumes to one claim: one wins, the other rolls back.
        let seeded = try await SeededStore(
            volumes: [volume("volume10-2-1", "1Gi", uid: "uid10-2", claim: "claim10-2", phase: "Bound", boundByController: true),
                      volume("volume10-2-2", "1Gi", uid: "uid10-2", claim: "claim10-2", phase: "Bound", boundByController: true)],
            claims: [claim("claim10-2", uid: "uid10-2", "1Gi", volumeName: "volume10-2-1", phase: "Bound", boundByController: true, bindCompleted: true)])
        try await converge(makeController(seeded), seeded)
        let volumes = try await seeded.volumes()
        #expect(volumes["volume10-2-1"]?.phase == "Bound")
        #expect(volumes["volume10-2-2"]?.phase == "Available" && volumes["volume10-2-2"]?.spec.claimRef == nil)
        #expect(volumes["volume10-2-2"]?.hasAnnotation(StorageAnnotations.boundByController) == false)
    }

    @Test func deletedClaimReleasesVolumeAndLostClaimWhenVolumeVanishes() async throws {
        let seeded = try await SeededStore(volumes: [volume("v1", "1Gi"), volume("v2", "1Gi", className: "x")],
                                           claims: [claim("c1", uid: "u1", "1Gi"), claim("c2", uid: "u2", "1Gi", className: "x")])
        let controller = makeController(seeded)
        try await converge(controller, seeded)
        _ = try await seeded.store.delete(key("c1"))
        try await converge(controller, seeded)
        #expect(try await seeded.volumes()["v1"]?.phase == "Released")
        #expect(try await seeded.claims()["c1"] == nil)
        // Retain: reused only once its claimRef is cleared.
        var v1 = try #require(try await seeded.store.get(PersistentVolume.self, name: "v1"))
        v1.spec.claimRef = nil
        _ = try await seeded.store.update(Object(v1))
        try await converge(controller, seeded)
        #expect(try await seeded.volumes()["v1"]?.phase == "Available")
        // A volume that vanishes loses its claim.
        var v2 = try #require(try await seeded.store.get(PersistentVolume.self, name: "v2"))
        v2.metadata.finalizers = nil
        _ = try await seeded.store.update(Object(v2))
        _ = try await seeded.store.delete(ObjectKey(type: PersistentVolume.resourceType, namespace: "", name: "v2"))
        try await converge(controller, seeded)
        #expect(try await seeded.claims()["c2"]?.phase == "Lost")
    }

    @Test func thousandClaimsBindInOnePass() async throws {
        let volumes = (0..<1000).map { volume("pv-\($0)", "\(1 + $0 % 10)Gi") }
        let claims = (0..<1000).map { claim("pvc-\($0)", uid: "u\($0)", "\(1 + $0 % 10)Gi") }
        let seeded = try await SeededStore(volumes: volumes, claims: claims)
        let controller = makeController(seeded)
        try await converge(controller, seeded)
        let bound = try await seeded.claims().values.filter { $0.phase == "Bound" }
        #expect(bound.count == 1000)
        // Sizes match exactly: every claim got a volume of its own size (the smallest fit).
        let got = try await seeded.volumes()
        #expect(bound.allSatisfy { got[$0.volumeName]?.capacity == $0.requestedStorage })
    }

    // MARK: - Default class

    @Test func defaultClassIsAssignedAndEmptyKeepsNone() async throws {
        let seeded = try await SeededStore(volumes: [volume("plain", "1Gi")],
                                           claims: [claim("none", uid: "a", "1Gi", className: "")],
                                           classes: [storageClass("standard", provisioner: "example.com/x", isDefault: true)])
        var fresh = claim("fresh", uid: "", "1Gi")
        fresh.metadata.uid = nil
        _ = try await seeded.store.create(Object(fresh))
        try await converge(makeController(seeded), seeded)
        let claims = try await seeded.claims()
        #expect(claims["fresh"]?.spec.storageClassName == "standard")
        #expect(claims["fresh"]?.metadata.annotations?[StorageAnnotations.storageProvisioner] == "example.com/x")
        #expect(claims["fresh"]?.status.conditions?.first?.reason == "ExternalProvisioning")
        #expect(claims["none"]?.spec.storageClassName == "" && claims["none"]?.phase == "Bound")
    }

    @Test func newestDefaultWinsAndBetaAnnotationCounts() {
        var old = storageClass("old", isDefault: true)
        old.metadata.creationTimestamp = "2024-01-01T00:00:00Z"
        var beta = storageClass("beta")
        beta.metadata.annotations = [StorageClass.betaDefaultAnnotation: "true"]
        beta.metadata.creationTimestamp = "2024-06-01T00:00:00Z"
        var notDefault = storageClass("newest")
        notDefault.metadata.creationTimestamp = "2025-01-01T00:00:00Z"
        #expect(DefaultStorageClass.find(in: [old, beta, notDefault])?.name == "beta")
        #expect(DefaultStorageClass.find(in: [old, notDefault])?.name == "old")
        #expect(DefaultStorageClass.find(in: [notDefault]) == nil)
        #expect(DefaultStorageClass.toInstall(given: [notDefault])?.name == "local-path")
        #expect(DefaultStorageClass.toInstall(given: [old]) == nil)
        var userEdited = DefaultStorageClass.localPath
        userEdited.metadata.annotations = nil
        #expect(DefaultStorageClass.toInstall(given: [userEdited]) == nil)
        let lp = DefaultStorageClass.localPath
        #expect(lp.provisioner == "kplane.dev/local-path" && lp.volumeBindingMode == "WaitForFirstConsumer"
                && lp.reclaimPolicy == "Delete" && lp.allowVolumeExpansion == true && lp.isDefault)
    }

    /// A claim created before the default class binds to a class-less volume if one fits
    /// (as it would have then); otherwise it gets the default class later.
    @Test func retroactiveDefaultClass() {
        var sc = storageClass("standard", provisioner: "example.com/x", isDefault: true)
        sc.metadata.creationTimestamp = "2025-01-02T00:00:00Z"
        var early = claim("early", uid: "e", "1Gi")
        early.metadata.creationTimestamp = "2025-01-01T00:00:00Z"
        var earlyBig = claim("early-big", uid: "eb", "5Gi")
        earlyBig.metadata.creationTimestamp = "2025-01-01T00:00:00Z"
        var late = claim("late", uid: "l", "1Gi")
        late.metadata.creationTimestamp = "2025-01-03T00:00:00Z"
        let plan = StoragePlanner.plan(StorageInputs(volumes: [volume("plain", "1Gi", phase: "Available"), volume("plain2", "1Gi", phase: "Available")],
                                                     claims: [early, earlyBig, late], classes: [sc], pods: [], node: testNode,
                                                     provisioner: nil, now: "2025-01-04T00:00:00Z"))
        var final: [String: PersistentVolumeClaim] = [:]
        for case .updateClaim(let c) in plan.steps { final[c.name] = c }
        #expect(final["early"]?.volumeName == "plain" && final["early"]?.spec.storageClassName == nil)
        #expect(final["early-big"]?.spec.storageClassName == "standard")
        #expect(final["late"]?.spec.storageClassName == "standard" && final["late"]?.volumeName == "")
    }

    // MARK: - Provisioning

    @Test func waitForFirstConsumerThenProvisionInDirectoryMode() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seeded = try await SeededStore(volumes: [], claims: [claim("data", uid: "d", "2Gi", className: "local-path")],
                                           classes: [storageClass("local-path", mode: "WaitForFirstConsumer", isDefault: true)])
        let controller = makeController(seeded, provisioner: directorySettings(dir), host: SystemVolumeHost())
        try await converge(controller, seeded)
        var c = try #require(try await seeded.claims()["data"])
        #expect(c.phase == "Pending" && c.status.conditions?.first?.reason == "WaitForFirstConsumer")
        #expect(try await seeded.volumes().isEmpty)

        _ = try await seeded.store.create(Object(pod("app", claims: ["data"])))
        try await converge(controller, seeded)
        c = try #require(try await seeded.claims()["data"])
        #expect(c.phase == "Bound" && c.status.conditions == nil)
        #expect(c.metadata.annotations?[StorageAnnotations.selectedNode] == "node-a")
        let pv = try #require(try await seeded.volumes()[c.volumeName])
        #expect(pv.name == "pvc-\(c.uid)")
        #expect(pv.phase == "Bound" && pv.capacity == q("2Gi") && pv.reclaimPolicy == "Delete" && pv.spec.storageClassName == "local-path")
        #expect(pv.metadata.annotations?[StorageAnnotations.provisionedBy] == "kplane.dev/local-path")
        #expect(NodeAffinity.matches(pv.spec.nodeAffinity, node: testNode) && !NodeAffinity.matches(pv.spec.nodeAffinity, node: NodeInfo(name: "other")))
        let path = "\(dir)/\(pv.name)_default_data"
        #expect(pv.spec.hostPath?.path == path)
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue)
    }

    @Test(arguments: [
        ("image mode refuses ReadWriteMany", ["ReadWriteMany"], [String: String]?.some(["mode": "image"]), "access mode ReadWriteMany is not supported by image volumes"),
        ("image mode needs root here", ["ReadWriteOnce"], ["mode": "image"], "image volumes need root"),
        ("unknown class parameter", ["ReadWriteOnce"], ["nodePath": "/x"], "unknown parameter \"nodePath\""),
        ("bad mode value", ["ReadWriteOnce"], ["mode": "tmpfs"], "unsupported value \"tmpfs\""),
    ])
    func provisioningFailuresAreConditions(_ name: String, _ modes: [String], _ parameters: [String: String]?, _ message: String) async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seeded = try await SeededStore(volumes: [], claims: [claim("c", uid: "c", "1Gi", className: "lp", modes: modes)],
                                           classes: [storageClass("lp", parameters: parameters)])
        let settings = ProvisionerSettings(volumeDirectory: dir, mode: .directory, imageSupported: message.contains("ReadWriteMany"))
        try await converge(makeController(seeded, provisioner: settings, host: SystemVolumeHost()), seeded)
        let c = try #require(try await seeded.claims()["c"])
        let condition = try #require(c.status.conditions?.first { $0.type == "Pending" })
        #expect(c.phase == "Pending" && condition.reason == "ProvisioningFailed")
        #expect(condition.message?.contains(message) == true, "\(condition.message ?? "")")
    }

    @Test func missingClassIsReported() async throws {
        let seeded = try await SeededStore(volumes: [], claims: [claim("c", uid: "c", "1Gi", className: "nope")])
        try await converge(makeController(seeded), seeded)
        let condition = try #require(try await seeded.claims()["c"]?.status.conditions?.first)
        #expect(condition.reason == "ProvisioningFailed" && condition.message == "storageclass.storage.k8s.io \"nope\" not found")
    }

    @Test func claimInUseStaysUntilPodIsGoneThenDeleteRemovesData() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seeded = try await SeededStore(volumes: [], claims: [claim("db", uid: "db", "1Gi", className: "lp")],
                                           classes: [storageClass("lp")], pods: [pod("db-0", claims: ["db"])])
        let controller = makeController(seeded, provisioner: directorySettings(dir), host: SystemVolumeHost())
        try await converge(controller, seeded)
        let pvName = try #require(try await seeded.claims()["db"]?.volumeName)
        let path = "\(dir)/\(pvName)_default_db"
        try "keep".write(toFile: path + "/file", atomically: true, encoding: .utf8)

        _ = try await seeded.store.delete(key("db"))
        try await converge(controller, seeded)
        let terminating = try #require(try await seeded.claims()["db"], "a claim in use stays")
        #expect(terminating.metadata.deletionTimestamp != nil && terminating.metadata.hasFinalizer(StorageAnnotations.pvcProtection))
        #expect(FileManager.default.fileExists(atPath: path + "/file"))

        _ = try await seeded.store.delete(ObjectKey(type: Pod.resourceType, namespace: "default", name: "db-0"))
        try await converge(controller, seeded)
        #expect(try await seeded.claims()["db"] == nil)
        #expect(try await seeded.volumes()[pvName] == nil, "Delete removes the PV (and pv-protection lets it go)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func retainKeepsDataAndVolume() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seeded = try await SeededStore(volumes: [], claims: [claim("keep", uid: "k", "1Gi", className: "lp")],
                                           classes: [storageClass("lp", policy: "Retain")])
        let controller = makeController(seeded, provisioner: directorySettings(dir), host: SystemVolumeHost())
        try await converge(controller, seeded)
        let pvName = try #require(try await seeded.claims()["keep"]?.volumeName)
        let path = "\(dir)/\(pvName)_default_keep"
        try "keep".write(toFile: path + "/file", atomically: true, encoding: .utf8)
        _ = try await seeded.store.delete(key("keep"))
        try await converge(controller, seeded)
        let pv = try #require(try await seeded.volumes()[pvName])
        #expect(pv.phase == "Released" && pv.reclaimPolicy == "Retain")
        #expect(FileManager.default.fileExists(atPath: path + "/file"))
    }

    @Test func recycleIsRefusedAndForeignDeleteFails() async throws {
        let seeded = try await SeededStore(volumes: [volume("old", "1Gi", uid: "gone", claim: "gone", phase: "Bound", policy: "Recycle"),
                                                     volume("hand", "1Gi", uid: "gone2", claim: "gone2", phase: "Bound", policy: "Delete")],
                                           claims: [])
        try await converge(makeController(seeded), seeded)
        let volumes = try await seeded.volumes()
        #expect(volumes["old"]?.phase == "Failed" && volumes["old"]?.status.message?.contains("Recycle reclaim policy is deprecated") == true)
        #expect(volumes["hand"]?.phase == "Failed" && volumes["hand"]?.status.message?.contains("deletes only volumes it provisioned") == true)
    }

    @Test func expansionGrowsCapacityOnlyWhenAllowed() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seeded = try await SeededStore(volumes: [], claims: [claim("grow", uid: "g", "1Gi", className: "lp"), claim("fixed", uid: "f", "1Gi", className: "rigid")],
                                           classes: [storageClass("lp"), storageClass("rigid", expand: false)])
        let controller = makeController(seeded, provisioner: directorySettings(dir), host: SystemVolumeHost())
        try await converge(controller, seeded)
        for name in ["grow", "fixed"] {
            var c = try #require(try await seeded.store.get(PersistentVolumeClaim.self, namespace: "default", name: name))
            c.spec.resources.requests = ["storage": q("3Gi")]
            _ = try await seeded.store.update(Object(c))
        }
        try await converge(controller, seeded)
        let claims = try await seeded.claims(), volumes = try await seeded.volumes()
        #expect(claims["grow"]?.status.capacity?["storage"] == q("3Gi") && volumes[claims["grow"]!.volumeName]?.capacity == q("3Gi"))
        #expect(claims["fixed"]?.status.capacity?["storage"] == q("1Gi"))
        #expect(claims["fixed"]?.status.conditions?.first?.type == "ControllerResizeError")
    }

    // MARK: - The service

    @Test func serviceInstallsLocalPathAndBindsUntilShutdown() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = MemoryStore()
        let cache = ClusterCache(store: store, types: StorageController.resourceTypes, logger: quietLogger)
        let controller = StorageController(configuration: .init(node: testNode, provisioner: directorySettings(dir), unmountAtShutdown: false),
                                           cache: cache, host: SystemVolumeHost(), logger: quietLogger)
        var c = claim("web", uid: "", "1Gi")
        c.metadata.uid = nil
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await cache.run() }
            // The controller stops first: ClusterCache finishes its subscribers under its lock,
            // so a subscriber still attached when the cache stops would re-enter that lock.
            let running = Task { try await controller.run() }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            while try await store.get(StorageClass.self, name: "local-path") == nil && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            _ = try await store.create(Object(c))
            _ = try await store.create(Object(pod("web-0", claims: ["web"])))
            while clock.now < deadline {
                if try await store.get(PersistentVolumeClaim.self, namespace: "default", name: "web")?.phase == "Bound" { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            running.cancel()
            _ = try? await running.value
            group.cancelAll()
        }
        let bound = try #require(try await store.get(PersistentVolumeClaim.self, namespace: "default", name: "web"))
        #expect(bound.phase == "Bound" && bound.spec.storageClassName == "local-path")
    }
}
