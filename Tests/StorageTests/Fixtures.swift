import ClusterStore
import Foundation
import KubeModel
import Logging
@testable import Storage

let testNode = NodeInfo(name: "node-a")
let quietLogger: Logger = {
    var l = Logger(label: "storage-tests")
    l.logLevel = .critical
    return l
}()

func q(_ text: String) -> Quantity { try! Quantity(text) }

/// A volume as kubernetes' binder tests build them: a hostPath volume of `size`, optionally
/// with a claimRef (`claim` by name, `uid` when not empty), a phase and annotations.
func volume(_ name: String, _ size: String, uid: String = "", claim: String = "", phase: String = "Pending",
            policy: String = "Retain", boundByController: Bool = false, className: String? = nil,
            labels: [String: String]? = nil, modes: [String] = ["ReadWriteOnce"], volumeMode: String? = nil,
            claimNamespace: String = "default") -> PersistentVolume {
    var pv = PersistentVolume()
    pv.metadata.name = name
    pv.metadata.labels = labels
    pv.spec.capacity = ["storage": q(size)]
    pv.spec.accessModes = modes
    pv.spec.persistentVolumeReclaimPolicy = policy
    pv.spec.storageClassName = className
    pv.spec.volumeMode = volumeMode
    pv.spec.hostPath = try! JSONValue.object(["path": .string("/tmp/\(name)")]).decode(Pod.HostPathSource.self)
    if !claim.isEmpty || !uid.isEmpty {
        var ref = ObjectReference()
        ref.namespace = claimNamespace
        ref.name = claim
        ref.uid = uid.isEmpty ? nil : uid
        pv.spec.claimRef = ref
    }
    if boundByController { pv.metadata.annotations = [StorageAnnotations.boundByController: "yes"] }
    pv.status.phase = phase
    return pv
}

/// A claim as kubernetes' binder tests build them.
func claim(_ name: String, uid: String, _ size: String, volumeName: String = "", phase: String = "Pending",
           boundByController: Bool = false, bindCompleted: Bool = false, className: String? = nil,
           selector: [String: String]? = nil, modes: [String] = ["ReadWriteOnce"], volumeMode: String? = nil,
           namespace: String = "default") -> PersistentVolumeClaim {
    var pvc = PersistentVolumeClaim()
    pvc.metadata.name = name
    pvc.metadata.namespace = namespace
    pvc.metadata.uid = uid
    var annotations: [String: String] = [:]
    if boundByController { annotations[StorageAnnotations.boundByController] = "yes" }
    if bindCompleted { annotations[StorageAnnotations.bindCompleted] = "yes" }
    pvc.metadata.annotations = annotations.isEmpty ? nil : annotations
    pvc.spec.accessModes = modes
    pvc.spec.resources.requests = ["storage": q(size)]
    pvc.spec.volumeName = volumeName.isEmpty ? nil : volumeName
    pvc.spec.storageClassName = className
    pvc.spec.volumeMode = volumeMode
    if let selector { pvc.spec.selector = LabelSelector(matchLabels: selector) }
    pvc.status.phase = phase
    if phase == "Bound" || phase == "Lost" { pvc.status.capacity = ["storage": q(size)] }
    return pvc
}

func storageClass(_ name: String, provisioner: String = DefaultStorageClass.provisionerName, mode: String = "Immediate",
                  policy: String = "Delete", expand: Bool = true, isDefault: Bool = false, parameters: [String: String]? = nil) -> StorageClass {
    var sc = StorageClass()
    sc.metadata.name = name
    if isDefault { sc.metadata.annotations = [StorageClass.defaultAnnotation: "true"] }
    sc.provisioner = provisioner
    sc.volumeBindingMode = mode
    sc.reclaimPolicy = policy
    sc.allowVolumeExpansion = expand
    sc.parameters = parameters
    return sc
}

func pod(_ name: String, claims: [String], namespace: String = "default", phase: String? = nil, node: String? = nil) -> Pod {
    var spec: [String: JSONValue] = [
        "containers": .array([.object(["name": .string("app"), "image": .string("busybox")])]),
        "volumes": .array(claims.enumerated().map { i, claim in
            .object(["name": .string("v\(i)"), "persistentVolumeClaim": .object(["claimName": .string(claim)])])
        }),
    ]
    if let node { spec["nodeName"] = .string(node) }
    var json: [String: JSONValue] = ["metadata": .object(["name": .string(name), "namespace": .string(namespace)]), "spec": .object(spec)]
    if let phase { json["status"] = .object(["phase": .string(phase)]) }
    return try! JSONValue.object(json).decode(Pod.self)
}

/// A MemoryStore seeded the way kubernetes' tests seed their fake client: claims first (the
/// store gives them real uids, and the tests' uid tags are mapped to them), then volumes with
/// their claimRefs' uids mapped, then the phases the tests start from.
struct SeededStore {
    let store = MemoryStore()
    /// Test uid tag -> store uid.
    var uids: [String: String] = [:]

    init(volumes: [PersistentVolume], claims: [PersistentVolumeClaim], classes: [StorageClass] = [], pods: [Pod] = [], namespaces: [String] = []) async throws {
        for ns in namespaces {
            var n = Namespace()
            n.metadata.name = ns
            _ = try await store.create(Object(n))
        }
        for sc in classes { _ = try await store.create(Object(sc)) }
        for c in claims {
            var input = c
            input.metadata.uid = nil
            let created = try await store.create(Object(input))
            uids[c.uid] = created.uid
            var withStatus = try created.decode(PersistentVolumeClaim.self)
            withStatus.status = c.status
            _ = try await store.updateStatus(Object(withStatus))
        }
        for v in volumes {
            var input = v
            if let tag = v.spec.claimRef?.uid { input.spec.claimRef?.uid = uids[tag] ?? tag }
            let created = try await store.create(Object(input))
            var withStatus = try created.decode(PersistentVolume.self)
            withStatus.status = v.status
            _ = try await store.updateStatus(Object(withStatus))
        }
        for p in pods { _ = try await store.create(Object(p)) }
    }

    func snapshot() async throws -> CacheSnapshot {
        var objects: [Object] = []
        for type in StorageController.resourceTypes { objects += try await store.list(type, namespace: nil).items }
        return CacheSnapshot(objects: objects, resourceVersion: try await store.currentResourceVersion())
    }

    func volumes() async throws -> [String: PersistentVolume] {
        Dictionary(uniqueKeysWithValues: try await store.list(PersistentVolume.self).map { ($0.name, $0) })
    }

    func claims() async throws -> [String: PersistentVolumeClaim] {
        Dictionary(uniqueKeysWithValues: try await store.list(PersistentVolumeClaim.self).map { ($0.name, $0) })
    }

    /// Maps a test uid tag to the store's uid (tags of claims that do not exist stay).
    func uid(_ tag: String) -> String { uids[tag] ?? tag }
}

/// Runs whole controller passes until one writes nothing (kubernetes' `runMultisyncTests`).
@discardableResult
func converge(_ controller: StorageController, _ seeded: SeededStore, maxPasses: Int = 20) async throws -> Int {
    for pass in 1...maxPasses {
        let report = try await controller.reconcile(try await seeded.snapshot())
        if report.writes == 0 && report.failures == 0 { return pass }
    }
    return maxPasses
}

func makeController(_ seeded: SeededStore, provisioner: ProvisionerSettings? = nil, host: (any VolumeHost)? = nil) -> StorageController {
    let cache = ClusterCache(store: seeded.store, types: StorageController.resourceTypes, logger: quietLogger)
    return StorageController(configuration: .init(node: testNode, provisioner: provisioner, installDefaultClass: false, unmountAtShutdown: false),
                             cache: cache, host: host, logger: quietLogger)
}

/// A fresh temporary folder, removed by `cleanup`.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "kplane-storage-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
