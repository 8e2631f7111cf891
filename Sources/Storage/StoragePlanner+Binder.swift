import KubeModel

/// The persistent-volume controller's `syncClaim` and `syncVolume`, step for step.
extension StoragePlanner {
    // MARK: - Claims

    mutating func syncClaim(_ key: String) {
        guard let claim = claims[key] else { return }
        if claim.hasAnnotation(StorageAnnotations.bindCompleted) {
            syncBoundClaim(key)
        } else {
            syncUnboundClaim(key)
        }
    }

    /// The claim's class says binding waits for a consumer.
    func isDelayBinding(_ claim: PersistentVolumeClaim) -> Bool {
        let name = claim.className
        guard !name.isEmpty, let sc = classes[name] else { return false }
        return sc.volumeBindingMode == "WaitForFirstConsumer"
    }

    mutating func syncUnboundClaim(_ key: String) {
        guard var claim = claims[key] else { return }
        if claim.volumeName.isEmpty {
            // [Unit test set 1] The user did not ask for a particular volume.
            let delay = isDelayBinding(claim)
            var matched: PersistentVolume?
            if delay && consumed.contains(key) && !claim.hasAnnotation(StorageAnnotations.selectedNode) {
                // The scheduler's part: a pod on this node uses the claim; bind a volume that
                // can be used here, or pick this node for provisioning.
                matched = matcher.findBest(for: claim, in: volumes, delayBinding: true, node: node)
                if matched == nil, !(classes[claim.className]?.provisioner ?? "").isEmpty {
                    claim.setAnnotation(StorageAnnotations.selectedNode, node.name)
                    claims[key] = claim
                    dirtyClaimMeta.insert(key)
                }
            }
            if matched == nil {
                matched = matcher.findBest(for: claim, in: volumes, delayBinding: delay, node: nil)
            }
            if let volume = matched {
                bind(volume: volume.name, claim: key)
                return
            }
            if assignDefaultClassRetroactively(key) { return }
            claim = claims[key]!
            if delay && !claim.hasAnnotation(StorageAnnotations.selectedNode) {
                event(claim: key, .normal, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
            } else if !claim.className.isEmpty {
                provisionClaim(key)
                return
            } else {
                event(claim: key, .normal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
            }
            add(updateClaimStatus(key, Phase.pending, volume: nil))
            return
        }
        // [Unit test set 2] The user asked for a particular volume.
        guard let volume = volumes[claim.volumeName] else {
            add(updateClaimStatus(key, Phase.pending, volume: nil))
            return
        }
        if volume.spec.claimRef == nil {
            if let why = VolumeMatcher.mismatch(volume, claim) {
                event(claim: key, .warning, "VolumeMismatch", "Cannot bind to requested volume \"\(volume.name)\": \(why)")
                add(updateClaimStatus(key, Phase.pending, volume: nil))
            } else {
                bind(volume: volume.name, claim: key)
            }
        } else if VolumeMatcher.isBound(volume, to: claim) {
            bind(volume: volume.name, claim: key)
        } else {
            event(claim: key, .warning, "FailedBinding", "volume \"\(volume.name)\" already bound to a different claim.")
            if !claim.hasAnnotation(StorageAnnotations.boundByController) {
                add(updateClaimStatus(key, Phase.pending, volume: nil))
            }
            // Bound by the controller to a volume that is someone else's: that cannot happen
            // unless bind-completed was removed by hand; the controller reports an error and
            // leaves both alone.
        }
    }

    mutating func syncBoundClaim(_ key: String) {
        // [Unit test set 3]
        guard let claim = claims[key] else { return }
        if claim.volumeName.isEmpty {
            add(updateClaimStatus(key, Phase.lost, event: .warning, reason: "ClaimLost", message: "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"))
            return
        }
        guard let volume = volumes[claim.volumeName] else {
            add(updateClaimStatus(key, Phase.lost, event: .warning, reason: "ClaimLost", message: "Bound claim has lost its PersistentVolume. Data on the volume is lost!"))
            return
        }
        if volume.spec.claimRef == nil || volume.spec.claimRef?.uid == claim.uid {
            bind(volume: volume.name, claim: key)
        } else {
            add(updateClaimStatus(key, Phase.lost, event: .warning, reason: "ClaimMisbound", message: "Two claims are bound to the same volume, this one is bound incorrectly"))
        }
    }

    /// `bind`: the volume's claimRef, the volume's phase, the claim's volumeName and
    /// annotations, the claim's status, in this order, each written only when it changes.
    mutating func bind(volume name: String, claim key: String) {
        guard var volume = volumes[name], var claim = claims[key] else { return }
        var steps: [StorageStep] = []

        let shouldSetBoundByController = !VolumeMatcher.isBound(volume, to: claim)
        var volumeDirty = dirtyVolumeMeta.contains(name)
        let ref = volume.spec.claimRef
        if ref == nil || ref?.name != claim.name || ref?.namespace != claim.namespace || ref?.uid != claim.uid {
            var newRef = ObjectReference()
            newRef.apiVersion = "v1"
            newRef.kind = "PersistentVolumeClaim"
            newRef.namespace = claim.namespace
            newRef.name = claim.name
            newRef.uid = claim.uid
            newRef.resourceVersion = claim.metadata.resourceVersion
            volume.spec.claimRef = newRef
            matcher.claimRefChanged(volume: name, from: ref, to: newRef)
            volumeDirty = true
        }
        if shouldSetBoundByController && !volume.hasAnnotation(StorageAnnotations.boundByController) {
            volume.setAnnotation(StorageAnnotations.boundByController, "yes")
            volumeDirty = true
        }
        volumes[name] = volume
        if volumeDirty { steps.append(volumeUpdate(name)) }
        steps += updateVolumePhase(name, Phase.bound)
        matcher.retire(name)

        var claimDirty = dirtyClaimMeta.contains(key)
        let shouldBindClaim = claim.volumeName != name
        if shouldBindClaim {
            claim.spec.volumeName = name
            claimDirty = true
            if !claim.hasAnnotation(StorageAnnotations.boundByController) {
                claim.setAnnotation(StorageAnnotations.boundByController, "yes")
            }
        }
        if !claim.hasAnnotation(StorageAnnotations.bindCompleted) {
            claim.setAnnotation(StorageAnnotations.bindCompleted, "yes")
            claimDirty = true
        }
        claims[key] = claim
        if claimDirty { steps.append(claimUpdate(key)) }
        steps += updateClaimStatus(key, Phase.bound, volume: volumes[name])
        add(steps)
    }

    /// Claims created before a default class existed get it once nothing else binds them.
    mutating func assignDefaultClassRetroactively(_ key: String) -> Bool {
        guard var claim = claims[key], claim.requestedClass == nil, let def = defaultClass else { return false }
        claim.spec.storageClassName = def.name
        claims[key] = claim
        add([claimUpdate(key)])
        return true
    }

    /// `provisionClaim`: hand the claim to its class's provisioner (kplane's own runs later
    /// in the pass), or say why it cannot be provisioned.
    mutating func provisionClaim(_ key: String) {
        guard var claim = claims[key] else { return }
        guard let sc = classes[claim.className] else {
            event(claim: key, .warning, "ProvisioningFailed", "storageclass.storage.k8s.io \"\(claim.className)\" not found")
            add(updateClaimStatus(key, Phase.pending, volume: nil))
            return
        }
        if sc.provisioner == "kubernetes.io/no-provisioner" {
            event(claim: key, .normal, "WaitForPodScheduled", "waiting for a volume to be created by the system administrator (class \"\(sc.name)\" has no provisioner)")
            add(updateClaimStatus(key, Phase.pending, volume: nil))
            return
        }
        if claim.metadata.annotations?[StorageAnnotations.storageProvisioner] != sc.provisioner
            || claim.metadata.annotations?[StorageAnnotations.betaStorageProvisioner] != sc.provisioner {
            claim.setAnnotation(StorageAnnotations.storageProvisioner, sc.provisioner)
            claim.setAnnotation(StorageAnnotations.betaStorageProvisioner, sc.provisioner)
            claims[key] = claim
            dirtyClaimMeta.insert(key)
        }
        if sc.provisioner != provisioner?.name {
            event(claim: key, .normal, "ExternalProvisioning", "Waiting for a volume to be created either by the external provisioner '\(sc.provisioner)' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.")
        }
        add(updateClaimStatus(key, Phase.pending, volume: nil))
    }

    // MARK: - Volumes

    mutating func syncVolume(_ name: String) {
        // [Unit test set 4]
        guard let volume = volumes[name] else { return }
        guard let ref = volume.spec.claimRef else {
            add(updateVolumePhase(name, Phase.available))
            return
        }
        guard let uid = ref.uid, !uid.isEmpty else {
            // Pre-bound by a user to a claim that has not bound to it yet.
            add(updateVolumePhase(name, Phase.available))
            return
        }
        var claim = claims["\(ref.namespace ?? "")/\(ref.name ?? "")"]
        if let c = claim, c.uid != uid { claim = nil }
        guard let claim else {
            // The claim is gone: release the volume and reclaim it.
            var steps: [StorageStep] = []
            if volume.phase != Phase.released && volume.phase != Phase.failed {
                steps = updateVolumePhase(name, Phase.released)
            }
            add(steps)
            reclaimVolume(name)
            return
        }
        if claim.volumeName.isEmpty {
            if VolumeMatcher.volumeModeMismatch(claim, volume) {
                event(volume: name, .warning, "VolumeMismatch", "Cannot bind PersistentVolume to requested PersistentVolumeClaim \"\(claim.name)\" due to incompatible volumeMode.")
                event(claim: claim.key, .warning, "VolumeMismatch", "Cannot bind PersistentVolume \"\(name)\" to requested PersistentVolumeClaim due to incompatible volumeMode.")
            }
            // The claim sync finishes the binding.
            return
        }
        if claim.volumeName == name {
            add(updateVolumePhase(name, Phase.bound))
            return
        }
        // Bound to a claim that is bound to another volume.
        if volume.hasAnnotation(StorageAnnotations.provisionedBy) && volume.reclaimPolicy == "Delete" {
            var steps: [StorageStep] = []
            if volume.phase != Phase.released && volume.phase != Phase.failed {
                steps = updateVolumePhase(name, Phase.released)
            }
            add(steps)
            reclaimVolume(name)
        } else {
            unbindVolume(name)
        }
    }

    /// `unbindVolume`: a controller binding is undone; a user's pre-binding keeps the claim
    /// name and loses only the uid. Then the volume is Available again.
    mutating func unbindVolume(_ name: String) {
        guard var volume = volumes[name] else { return }
        let old = volume.spec.claimRef
        if volume.hasAnnotation(StorageAnnotations.boundByController) {
            volume.spec.claimRef = nil
            volume.setAnnotation(StorageAnnotations.boundByController, nil)
        } else {
            volume.spec.claimRef?.uid = nil
        }
        matcher.claimRefChanged(volume: name, from: old, to: volume.spec.claimRef)
        volumes[name] = volume
        add([volumeUpdate(name)] + updateVolumePhase(name, Phase.available))
    }

    /// `reclaimVolume`: Retain keeps everything; Delete removes what kplane provisioned;
    /// Recycle is refused (deprecated upstream, and unsafe on a node-local folder).
    mutating func reclaimVolume(_ name: String) {
        guard let volume = volumes[name] else { return }
        switch volume.reclaimPolicy {
        case "Retain":
            return
        case "Recycle":
            add(updateVolumePhase(name, Phase.failed, event: .warning, reason: "VolumeFailedRecycle",
                                  message: "kplane does not recycle volumes: the Recycle reclaim policy is deprecated; use Delete with dynamic provisioning, or Retain and clean up by hand"))
        case "Delete":
            deleteVolume(name)
        default:
            add(updateVolumePhase(name, Phase.failed, event: .warning, reason: "VolumeUnknownReclaimPolicy", message: "Volume has unrecognized PersistentVolumeReclaimPolicy"))
        }
    }
}
