import ClusterStore
import KubeModel

/// What the local-path provisioner needs to know to plan.
public struct ProvisionerSettings: Sendable, Hashable {
    /// The provisioner name classes refer to.
    public var name: String
    /// Where volumes live (`<dir>/<pv>_<ns>_<claim>`).
    public var volumeDirectory: String
    /// The default form of new volumes (a class may choose with its `mode` parameter).
    public var mode: LocalVolume.Mode
    /// False where loop devices cannot be used (not root): `image` volumes are refused then.
    public var imageSupported: Bool

    public init(name: String = DefaultStorageClass.provisionerName, volumeDirectory: String, mode: LocalVolume.Mode, imageSupported: Bool = true) {
        self.name = name
        self.volumeDirectory = volumeDirectory
        self.mode = mode
        self.imageSupported = imageSupported
    }
}

/// The inputs of one pass.
public struct StorageInputs: Sendable {
    public var volumes: [PersistentVolume]
    public var claims: [PersistentVolumeClaim]
    public var classes: [StorageClass]
    public var pods: [Pod]
    public var node: NodeInfo
    /// Nil when this controller does not provision (binder only).
    public var provisioner: ProvisionerSettings?
    /// Folders currently mounted on this node; nil when unknown (no mount repair then).
    public var mounted: Set<String>?
    /// RFC 3339 time for transition timestamps.
    public var now: String

    public init(volumes: [PersistentVolume], claims: [PersistentVolumeClaim], classes: [StorageClass], pods: [Pod],
                node: NodeInfo, provisioner: ProvisionerSettings?, mounted: Set<String>? = nil, now: String) {
        self.volumes = volumes
        self.claims = claims
        self.classes = classes
        self.pods = pods
        self.node = node
        self.provisioner = provisioner
        self.mounted = mounted
        self.now = now
    }

    public init(snapshot: CacheSnapshot, node: NodeInfo, provisioner: ProvisionerSettings?, mounted: Set<String>? = nil, now: String) {
        self.init(volumes: snapshot.list(PersistentVolume.self), claims: snapshot.list(PersistentVolumeClaim.self),
                  classes: snapshot.list(StorageClass.self), pods: snapshot.list(Pod.self),
                  node: node, provisioner: provisioner, mounted: mounted, now: now)
    }
}

/// The pure core of the storage controller: from volumes, claims, classes and pods to the
/// writes and volume work that kube-controller-manager's persistent-volume controller, the
/// default-class admission, the protection controllers and a local provisioner would do.
/// It keeps its own view of the objects and updates it with every write it plans, so that
/// later decisions in the same pass see earlier ones (as the controller's cache does).
public struct StoragePlanner {
    var volumes: [String: PersistentVolume] = [:]
    var claims: [String: PersistentVolumeClaim] = [:]
    let classes: [String: StorageClass]
    let defaultClass: StorageClass?
    /// Claims used by a running or pending pod on this node (`ns/name`).
    let consumed: Set<String>
    let node: NodeInfo
    let provisioner: ProvisionerSettings?
    let mounted: Set<String>?
    let now: String
    var matcher: VolumeMatcher

    /// Objects changed in the view but not written yet (folded into the next write of the
    /// same object, or flushed at the end of the pass).
    var dirtyVolumeMeta: Set<String> = []
    var dirtyClaimMeta: Set<String> = []
    var dirtyClaimStatus: Set<String> = []

    var plan = StoragePlan()

    public init(_ inputs: StorageInputs) {
        for v in inputs.volumes { volumes[v.name] = v }
        for c in inputs.claims { claims[c.key] = c }
        var byName: [String: StorageClass] = [:]
        for c in inputs.classes { byName[c.name] = c }
        classes = byName
        defaultClass = DefaultStorageClass.find(in: inputs.classes)
        var used: Set<String> = []
        for pod in inputs.pods where StoragePlanner.isActive(pod) {
            if let nodeName = pod.spec.nodeName, !nodeName.isEmpty, nodeName != inputs.node.name { continue }
            for v in pod.spec.volumes ?? [] {
                if let claim = v.persistentVolumeClaim { used.insert("\(pod.namespace)/\(claim.claimName)") }
            }
        }
        consumed = used
        node = inputs.node
        provisioner = inputs.provisioner
        mounted = inputs.mounted
        now = inputs.now
        matcher = VolumeMatcher(volumes: volumes)
    }

    /// A pod that holds its claims: not finished. (A pod being deleted still runs until gone.)
    static func isActive(_ pod: Pod) -> Bool { !pod.isTerminal }

    /// Plans a whole pass.
    public static func plan(_ inputs: StorageInputs) -> StoragePlan {
        var planner = StoragePlanner(inputs)
        planner.planAll()
        return planner.plan
    }

    mutating func planAll() {
        let claimKeys = claims.keys.sorted()
        let volumeNames = volumes.keys.sorted()
        for key in claimKeys { claimMetadata(key) }
        for name in volumeNames { volumeMetadata(name) }
        for name in volumeNames { syncVolume(name) }
        for key in claimKeys { syncClaim(key) }
        if provisioner != nil {
            for key in claimKeys { provisionIfNeeded(key) }
            for key in claimKeys { expandIfNeeded(key) }
            for name in volumeNames { repairMount(name) }
        }
        flush()
    }

    // MARK: - Writes to the view

    mutating func add(_ steps: [StorageStep], onFailure: FailureReport? = nil) {
        if !steps.isEmpty { plan.operations.append(StorageOperation(steps, onFailure: onFailure)) }
    }

    /// Writes the volume's metadata and spec as they are in the view.
    mutating func volumeUpdate(_ name: String) -> StorageStep {
        dirtyVolumeMeta.remove(name)
        return .updateVolume(volumes[name]!)
    }

    mutating func claimUpdate(_ key: String) -> StorageStep {
        dirtyClaimMeta.remove(key)
        return .updateClaim(claims[key]!)
    }

    mutating func claimStatusUpdate(_ key: String) -> StorageStep {
        dirtyClaimStatus.remove(key)
        return .updateClaimStatus(claims[key]!)
    }

    /// `updateVolumePhase`: a write only when the phase changes.
    mutating func updateVolumePhase(_ name: String, _ phase: String, message: String? = nil) -> [StorageStep] {
        guard var volume = volumes[name], volume.status.phase != phase else { return [] }
        volume.status.phase = phase
        volume.status.message = message
        volume.status.reason = nil
        volume.status.lastPhaseTransitionTime = now
        volumes[name] = volume
        return [.updateVolumeStatus(volume)]
    }

    /// `updateVolumePhaseWithEvent`: the event only when the phase changes.
    mutating func updateVolumePhase(_ name: String, _ phase: String, event kind: StorageEvent.Kind, reason: String, message: String) -> [StorageStep] {
        guard let volume = volumes[name], volume.status.phase != phase else { return [] }
        event(volume: name, kind, reason, message)
        return updateVolumePhase(name, phase, message: message)
    }

    /// `updateClaimStatus`: phase, and access modes and capacity from the volume (cleared
    /// without one). Capacity is copied only when the phase changes.
    mutating func updateClaimStatus(_ key: String, _ phase: String, volume: PersistentVolume?) -> [StorageStep] {
        guard var claim = claims[key] else { return [] }
        let old = claim.status
        if let volume {
            claim.status.accessModes = volume.spec.accessModes
            if claim.status.phase != phase, let cap = volume.storage, claim.status.capacity?["storage"] != cap {
                claim.status.capacity = volume.spec.capacity
            }
        } else {
            claim.status.accessModes = nil
            claim.status.capacity = nil
        }
        claim.status.phase = phase
        if phase == Phase.bound { claim.status.conditions = StoragePlanner.removing(ClaimCondition.pending, from: claim.status.conditions) }
        guard claim.status != old || dirtyClaimStatus.contains(key) else { return [] }
        claims[key] = claim
        return [claimStatusUpdate(key)]
    }

    mutating func updateClaimStatus(_ key: String, _ phase: String, event kind: StorageEvent.Kind, reason: String, message: String) -> [StorageStep] {
        guard let claim = claims[key], claim.status.phase != phase else { return [] }
        event(claim: key, kind, reason, message, condition: false)
        return updateClaimStatus(key, phase, volume: nil)
    }

    // MARK: - Events and conditions

    mutating func event(volume name: String, _ kind: StorageEvent.Kind, _ reason: String, _ message: String) {
        plan.events.append(StorageEvent(object: "persistentvolume/\(name)", kind: kind, reason: reason, message: message))
    }

    /// Records an event on a claim; on an unbound claim it is also kept as the claim's
    /// `Pending` condition (kplane has no Event objects, and this is where users look).
    mutating func event(claim key: String, _ kind: StorageEvent.Kind, _ reason: String, _ message: String, condition: Bool = true) {
        guard let claim = claims[key] else { return }
        plan.events.append(StorageEvent(object: "\(claim.namespace)/persistentvolumeclaim/\(claim.name)", kind: kind, reason: reason, message: message))
        if condition && claim.phase != Phase.bound {
            setCondition(key, ClaimCondition.pending, reason: reason, message: message)
        }
    }

    /// Sets a claim condition in the view (written with the claim's next status write).
    mutating func setCondition(_ key: String, _ type: String, reason: String, message: String) {
        guard var claim = claims[key] else { return }
        var conditions = claim.status.conditions ?? []
        if let i = conditions.firstIndex(where: { $0.type == type }) {
            if conditions[i].reason == reason && conditions[i].message == message && conditions[i].status == "True" { return }
            conditions[i] = Condition(type: type, status: "True", reason: reason, message: message, lastTransitionTime: now)
        } else {
            conditions.append(Condition(type: type, status: "True", reason: reason, message: message, lastTransitionTime: now))
        }
        claim.status.conditions = conditions
        claims[key] = claim
        dirtyClaimStatus.insert(key)
    }

    mutating func clearCondition(_ key: String, _ type: String) {
        guard var claim = claims[key], claim.status.conditions?.contains(where: { $0.type == type }) == true else { return }
        claim.status.conditions = StoragePlanner.removing(type, from: claim.status.conditions)
        claims[key] = claim
        dirtyClaimStatus.insert(key)
    }

    static func removing(_ type: String, from conditions: [Condition]?) -> [Condition]? {
        let rest = (conditions ?? []).filter { $0.type != type }
        return rest.isEmpty ? nil : rest
    }

    // MARK: - Metadata: protection finalizers and the default class

    /// pvc-protection (added to every claim, removed from a deleted claim no pod uses) and the
    /// default class of a claim created while a default existed (the admission plugin's job).
    mutating func claimMetadata(_ key: String) {
        guard var claim = claims[key] else { return }
        let before = claim.metadata
        if claim.isDeleting {
            if claim.metadata.hasFinalizer(StorageAnnotations.pvcProtection) && !consumed.contains(key) {
                claim.metadata.removeFinalizer(StorageAnnotations.pvcProtection)
            }
        } else {
            claim.metadata.addFinalizer(StorageAnnotations.pvcProtection)
            if claim.requestedClass == nil, claim.volumeName.isEmpty, let def = defaultClass,
               (claim.metadata.creationTimestamp ?? "") >= (def.metadata.creationTimestamp ?? "") {
                claim.spec.storageClassName = def.name
                claims[key] = claim
                dirtyClaimMeta.insert(key)
                return
            }
        }
        if claim.metadata != before {
            claims[key] = claim
            dirtyClaimMeta.insert(key)
        }
    }

    /// pv-protection: added to every volume, removed from a deleted volume that is not Bound.
    mutating func volumeMetadata(_ name: String) {
        guard var volume = volumes[name] else { return }
        let before = volume.metadata
        if volume.isDeleting {
            if volume.phase != Phase.bound { volume.metadata.removeFinalizer(StorageAnnotations.pvProtection) }
        } else {
            volume.metadata.addFinalizer(StorageAnnotations.pvProtection)
        }
        if volume.metadata != before {
            volumes[name] = volume
            dirtyVolumeMeta.insert(name)
        }
    }

    /// Writes what is still only in the view.
    mutating func flush() {
        for name in dirtyVolumeMeta.sorted() where volumes[name] != nil { add([volumeUpdate(name)]) }
        for key in dirtyClaimMeta.sorted() where claims[key] != nil { add([claimUpdate(key)]) }
        for key in dirtyClaimStatus.sorted() where claims[key] != nil { add([claimStatusUpdate(key)]) }
    }
}

/// Claim condition types kplane writes.
public enum ClaimCondition {
    /// Why an unbound claim waits (the last event the binder or provisioner had for it).
    public static let pending = "Pending"
    /// Expansion that the controller could not do.
    public static let controllerResizeError = "ControllerResizeError"
    /// The volume grew but its filesystem will grow once no pod uses it.
    public static let fileSystemResizePending = "FileSystemResizePending"
}
