import KubeModel

/// The local-path provisioner's decisions: which claims get a volume and what it looks like,
/// deletion of released volumes, expansion, and mounts to repair after a restart.
extension StoragePlanner {
    /// Parameters a class may give kplane's provisioner.
    static let classParameters = ["mode"]

    /// The Delete reclaim policy: kplane removes the data of volumes it provisioned and then
    /// the PV; volumes of other provisioners are theirs to delete; others cannot be deleted.
    mutating func deleteVolume(_ name: String) {
        guard let volume = volumes[name] else { return }
        let provisionedBy = volume.metadata.annotations?[StorageAnnotations.provisionedBy] ?? ""
        if !provisionedBy.isEmpty && provisionedBy != provisioner?.name { return }
        guard let settings = provisioner, provisionedBy == settings.name else {
            add(updateVolumePhase(name, Phase.failed, event: .warning, reason: "VolumeFailedDelete",
                                  message: "kplane deletes only volumes it provisioned (\(provisioner?.name ?? DefaultStorageClass.provisionerName)); remove the data and the PersistentVolume by hand, or use the Retain policy"))
            return
        }
        guard let local = LocalVolume(volume: volume), local.directory.hasPrefix(settings.volumeDirectory + "/") else {
            add(updateVolumePhase(name, Phase.failed, event: .warning, reason: "VolumeFailedDelete",
                                  message: "the volume's \(StorageAnnotations.localVolumePath) annotation does not name a folder under \(settings.volumeDirectory); refusing to delete data"))
            return
        }
        if !NodeAffinity.matches(volume.spec.nodeAffinity, node: node) { return }
        var steps: [StorageStep] = [.removeData(local)]
        if !volume.isDeleting { steps.append(.deleteVolume(name)) }
        add(steps, onFailure: .volume(volume, reason: "VolumeFailedDelete", prefix: "cannot delete the volume's data"))
    }

    /// The PV name the provisioner gives a claim's volume.
    static func volumeName(for claim: PersistentVolumeClaim) -> String { "pvc-\(claim.uid)" }

    /// Provisions a volume for a claim handed to kplane's provisioner (what an external
    /// provisioner's `shouldProvision` + `Provision` do).
    mutating func provisionIfNeeded(_ key: String) {
        guard let settings = provisioner, let claim = claims[key] else { return }
        guard claim.volumeName.isEmpty, !claim.isDeleting, !claim.uid.isEmpty,
              claim.metadata.annotations?[StorageAnnotations.storageProvisioner] == settings.name,
              let sc = classes[claim.className], sc.provisioner == settings.name else { return }
        if isDelayBinding(claim) {
            guard let selected = claim.metadata.annotations?[StorageAnnotations.selectedNode], selected == node.name else { return }
        }
        let pvName = StoragePlanner.volumeName(for: claim)
        if volumes[pvName] != nil { return }  // provisioned; the binder binds it
        switch provisionedVolume(for: claim, class: sc, settings: settings, name: pvName) {
        case .failure(let message):
            event(claim: key, .warning, "ProvisioningFailed", "failed to provision volume with StorageClass \"\(sc.name)\": \(message)")
        case .success(let (local, volume)):
            plan.events.append(StorageEvent(object: "\(claim.namespace)/persistentvolumeclaim/\(claim.name)", kind: .normal, reason: "ProvisioningSucceeded",
                                            message: "Successfully provisioned volume \(pvName)"))
            add([.provision(local), .createVolume(volume)],
                onFailure: .claim(claim, reason: "ProvisioningFailed", prefix: "failed to provision volume with StorageClass \"\(sc.name)\""))
        }
    }

    enum ProvisionResult {
        case success((LocalVolume, PersistentVolume))
        case failure(String)
    }

    /// The folder or image and the PV for a claim, or why kplane cannot make one.
    func provisionedVolume(for claim: PersistentVolumeClaim, class sc: StorageClass, settings: ProvisionerSettings, name pvName: String) -> ProvisionResult {
        let unknown = (sc.parameters ?? [:]).keys.filter { !StoragePlanner.classParameters.contains($0) }.sorted()
        if !unknown.isEmpty {
            return .failure("unknown parameter\(unknown.count > 1 ? "s" : "") \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) (supported: mode)")
        }
        var mode = settings.mode
        if let raw = sc.parameters?["mode"] {
            guard let m = LocalVolume.Mode(rawValue: raw) else {
                return .failure("parameter mode: unsupported value \"\(raw)\" (supported: image, directory)")
            }
            mode = m
        }
        if mode == .image && !settings.imageSupported {
            return .failure("image volumes need root and loop devices on this node; use a class with parameters mode: directory, or run kplane as root")
        }
        if claim.spec.selector != nil { return .failure("claim Selector is not supported") }
        if claim.spec.dataSource != nil || claim.spec.dataSourceRef != nil {
            return .failure("volume data sources (snapshots, clones) are not supported")
        }
        if claim.volumeModeOrDefault != "Filesystem" {
            return .failure("volumeMode \(claim.volumeModeOrDefault) is not supported; only Filesystem volumes can be provisioned")
        }
        let supported = mode == .image ? ["ReadWriteOnce", "ReadWriteOncePod"] : ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]
        for m in claim.spec.accessModes ?? [] where !supported.contains(m) {
            return .failure("access mode \(m) is not supported by \(mode.rawValue) volumes (supported: \(supported.joined(separator: ", ")))"
                            + (mode == .image ? "; a class with parameters mode: directory offers ReadWriteMany and ReadOnlyMany on one node" : ""))
        }
        guard let request = claim.request, let bytes = request.int64Value, bytes > 0 else {
            return .failure("the claim requests no usable storage size")
        }
        if mode == .image && bytes < StoragePlanner.minimumImageBytes {
            return .failure("an image volume needs at least 1Mi (requested \(request.text))")
        }
        let folder = "\(pvName)_\(claim.namespace)_\(claim.name)"
        let local = LocalVolume(name: folder, directory: settings.volumeDirectory + "/" + folder, mode: mode, bytes: bytes)

        var pv = PersistentVolume()
        pv.metadata.name = pvName
        pv.metadata.annotations = [
            StorageAnnotations.provisionedBy: settings.name,
            StorageAnnotations.localVolumeMode: mode.rawValue,
            StorageAnnotations.localVolumePath: local.directory,
        ]
        pv.metadata.finalizers = [StorageAnnotations.pvProtection]
        pv.spec.capacity = ["storage": request]
        pv.spec.accessModes = claim.spec.accessModes
        pv.spec.persistentVolumeReclaimPolicy = sc.reclaimPolicy ?? "Delete"
        pv.spec.storageClassName = sc.name
        pv.spec.volumeMode = "Filesystem"
        pv.spec.mountOptions = sc.mountOptions
        // KubeModel's sources have no public memberwise initializers; build it as decoded.
        pv.spec.hostPath = try? JSONValue.object(["path": .string(local.dataPath), "type": .string("Directory")]).decode(Pod.HostPathSource.self)
        pv.spec.nodeAffinity = NodeAffinity.pinned(to: node.name)
        var ref = ObjectReference()
        ref.apiVersion = "v1"
        ref.kind = "PersistentVolumeClaim"
        ref.namespace = claim.namespace
        ref.name = claim.name
        ref.uid = claim.uid
        ref.resourceVersion = claim.metadata.resourceVersion
        pv.spec.claimRef = ref
        return .success((local, pv))
    }

    static let minimumImageBytes: Int64 = 1 << 20

    /// Expansion of a bound claim on a volume kplane provisioned: grow the volume, then the
    /// PV's capacity, then the claim's status capacity. Only growing; only when the class
    /// allows it.
    mutating func expandIfNeeded(_ key: String) {
        guard let claim = claims[key], claim.phase == Phase.bound, let volume = volumes[claim.volumeName],
              volume.metadata.annotations?[StorageAnnotations.provisionedBy] == provisioner?.name,
              VolumeMatcher.isBound(volume, to: claim), let local = LocalVolume(volume: volume),
              NodeAffinity.matches(volume.spec.nodeAffinity, node: node) else { return }
        let request = claim.requestedStorage
        let current = claim.status.capacity?["storage"] ?? volume.capacity
        guard request > volume.capacity || current < volume.capacity else {
            clearCondition(key, ClaimCondition.controllerResizeError)
            clearCondition(key, ClaimCondition.fileSystemResizePending)
            return
        }
        let sc = classes[claim.className]
        guard sc?.allowVolumeExpansion == true else {
            setCondition(key, ClaimCondition.controllerResizeError, reason: "VolumeResizeFailed",
                         message: "only dynamically provisioned claims can be resized, and the storage class \"\(claim.className)\" must allow it (allowVolumeExpansion: true); the volume keeps \(volume.capacity.text)")
            return
        }
        let target = max(request, volume.capacity)
        guard let bytes = target.int64Value else { return }
        var steps: [StorageStep] = [.expand(local, bytes: bytes)]
        var grown = volume
        if grown.capacity != target {
            grown.spec.capacity = (grown.spec.capacity ?? [:]).merging(["storage": target]) { $1 }
            volumes[grown.name] = grown
            steps.append(volumeUpdate(grown.name))
        }
        var resized = claim
        resized.status.capacity = (resized.status.capacity ?? [:]).merging(["storage": target]) { $1 }
        resized.status.conditions = StoragePlanner.removing(ClaimCondition.controllerResizeError,
                                                            from: StoragePlanner.removing(ClaimCondition.fileSystemResizePending, from: resized.status.conditions))
        claims[key] = resized
        steps.append(claimStatusUpdate(key))
        plan.events.append(StorageEvent(object: "\(claim.namespace)/persistentvolumeclaim/\(claim.name)", kind: .normal, reason: "Resizing", message: "expanding \(volume.name) to \(target.text)"))
        add(steps, onFailure: .claim(claim, reason: "VolumeResizeFailed", prefix: "cannot expand the volume"))
    }

    /// After a restart, images of volumes that still hold data are mounted again.
    mutating func repairMount(_ name: String) {
        guard let mounted, let volume = volumes[name], volume.metadata.annotations?[StorageAnnotations.provisionedBy] == provisioner?.name,
              let local = LocalVolume(volume: volume), local.mode == .image, !volume.isDeleting,
              NodeAffinity.matches(volume.spec.nodeAffinity, node: node) else { return }
        // A volume on its way to deletion is not mounted again.
        if volume.phase == Phase.released && volume.reclaimPolicy == "Delete" { return }
        if volume.phase == Phase.failed { return }
        if mounted.contains(local.directory) { return }
        if plan.steps.contains(where: { if case .removeData(let v) = $0 { return v == local } else { return false } }) { return }
        add([.mount(local)])
    }
}
