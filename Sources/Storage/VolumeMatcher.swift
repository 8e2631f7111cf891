import KubeModel

/// Finds the volume for a claim, as kube-controller-manager's volume index and
/// component-helpers' `FindMatchingVolume` do: volumes are grouped by their set of access
/// modes; the groups that hold every mode the claim asks for are searched fewest modes first;
/// in a group, a volume pre-bound to the claim wins, else the smallest `Available` volume
/// whose capacity, volume mode, labels and class fit.
struct VolumeMatcher {
    /// One access-mode group: volume names sorted by capacity (then name).
    struct Group {
        var modes: Set<String>
        var key: String
        var names: [String]
    }

    private(set) var groups: [Group] = []
    /// Volumes whose claimRef names a claim (`ns/name`), for the pre-bound check.
    private var preBound: [String: Set<String>] = [:]
    private var capacities: [String: Quantity] = [:]

    init(volumes: [String: PersistentVolume]) {
        var byKey: [String: Group] = [:]
        for (name, volume) in volumes {
            let modes = volume.modes
            let key = modes.sorted().joined(separator: ",")
            byKey[key, default: Group(modes: modes, key: key, names: [])].names.append(name)
            capacities[name] = volume.capacity
            if let ref = volume.spec.claimRef { preBound["\(ref.namespace ?? "")/\(ref.name ?? "")", default: []].insert(name) }
        }
        for key in byKey.keys {
            byKey[key]!.names.sort { a, b in
                let (ca, cb) = (capacities[a]!, capacities[b]!)
                return ca != cb ? ca < cb : a < b
            }
        }
        groups = byKey.values.sorted { $0.modes.count != $1.modes.count ? $0.modes.count < $1.modes.count : $0.key < $1.key }
    }

    /// Notes that a volume's claimRef changed during a pass.
    mutating func claimRefChanged(volume: String, from old: ObjectReference?, to new: ObjectReference?) {
        if let old { preBound["\(old.namespace ?? "")/\(old.name ?? "")"]?.remove(volume) }
        if let new { preBound["\(new.namespace ?? "")/\(new.name ?? "")", default: []].insert(volume) }
    }

    /// Drops a volume that can never match again in this pass (now bound).
    mutating func retire(_ volume: String) {
        for i in groups.indices {
            if let at = groups[i].names.firstIndex(of: volume) { groups[i].names.remove(at: at); return }
        }
    }

    /// The groups whose modes include all of `requested` (the index's `allPossibleMatchingAccessModes`).
    func candidateGroups(for requested: [String]) -> [Group] {
        let want = Set(requested)
        return groups.filter { want.isSubset(of: $0.modes) }
    }

    /// `findBestMatchForClaim`. `node` is set on the scheduler's path (a consumer exists):
    /// then node affinity and access modes are checked too and delayed binding does not apply.
    func findBest(for claim: PersistentVolumeClaim, in volumes: [String: PersistentVolume],
                  delayBinding: Bool, node: NodeInfo?) -> PersistentVolume? {
        let request = claim.requestedStorage
        let preBoundNames = preBound[claim.key] ?? []
        for group in candidateGroups(for: claim.spec.accessModes ?? []) {
            // A volume pre-bound to this claim wins over any other in its group.
            for name in group.names where preBoundNames.contains(name) {
                guard let volume = volumes[name], VolumeMatcher.isBound(volume, to: claim) else { continue }
                guard VolumeMatcher.passesBasicChecks(volume, claim, request: request) else { continue }
                if let node, !NodeAffinity.matches(volume.spec.nodeAffinity, node: node) { return nil }
                return volume
            }
            if node == nil && delayBinding { continue }
            // Sorted by capacity: the first volume that fits is the smallest one.
            let start = lowerBound(group.names, request)
            for name in group.names[start...] {
                guard let volume = volumes[name] else { continue }
                if volume.spec.claimRef != nil { continue }
                guard VolumeMatcher.passesBasicChecks(volume, claim, request: request) else { continue }
                guard volume.phase == Phase.available else { continue }
                if let selector = claim.spec.selector, !selector.matches(volume.metadata.labels) { continue }
                if volume.className != claim.className { continue }
                if let node {
                    if !NodeAffinity.matches(volume.spec.nodeAffinity, node: node) { continue }
                    if !VolumeMatcher.accessModesFit(claim, volume) { continue }
                }
                return volume
            }
        }
        return nil
    }

    private func lowerBound(_ names: [String], _ request: Quantity) -> Int {
        var lo = 0, hi = names.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if capacities[names[mid]]! < request { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Capacity, volume mode and deletion: what every candidate must pass.
    static func passesBasicChecks(_ volume: PersistentVolume, _ claim: PersistentVolumeClaim, request: Quantity) -> Bool {
        volume.capacity >= request && !volumeModeMismatch(claim, volume) && !volume.isDeleting
    }

    /// `IsVolumeBoundToClaim`: claimRef names the claim and, when it has a uid, the same uid.
    static func isBound(_ volume: PersistentVolume, to claim: PersistentVolumeClaim) -> Bool {
        guard let ref = volume.spec.claimRef else { return false }
        if (ref.name ?? "") != claim.name || (ref.namespace ?? "") != claim.namespace { return false }
        if let uid = ref.uid, !uid.isEmpty, uid != claim.uid { return false }
        return true
    }

    /// `CheckVolumeModeMismatches`: unset means Filesystem on both sides.
    static func volumeModeMismatch(_ claim: PersistentVolumeClaim, _ volume: PersistentVolume) -> Bool {
        claim.volumeModeOrDefault != volume.volumeModeOrDefault
    }

    /// `CheckAccessModes`: the volume offers every mode the claim asks for.
    static func accessModesFit(_ claim: PersistentVolumeClaim, _ volume: PersistentVolume) -> Bool {
        Set(claim.spec.accessModes ?? []).isSubset(of: volume.modes)
    }

    /// `checkVolumeSatisfyClaim`: why a volume the claim names cannot be bound to it, or nil.
    static func mismatch(_ volume: PersistentVolume, _ claim: PersistentVolumeClaim) -> String? {
        if volume.isDeleting { return "the volume is marked for deletion \"\(volume.name)\"" }
        if volume.capacity < claim.requestedStorage { return "requested PV is too small" }
        if volume.className != claim.className { return "storageClassName does not match" }
        if volumeModeMismatch(claim, volume) { return "incompatible volumeMode" }
        if !accessModesFit(claim, volume) { return "incompatible accessMode" }
        return nil
    }
}
