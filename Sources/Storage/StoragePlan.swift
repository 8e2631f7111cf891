import KubeModel

/// One thing the storage controller does: a write to the store or node-local volume work.
public enum StorageStep: Sendable, Hashable, CustomStringConvertible {
    /// Replaces a volume's metadata and spec.
    case updateVolume(PersistentVolume)
    case updateVolumeStatus(PersistentVolume)
    case createVolume(PersistentVolume)
    case deleteVolume(String)
    /// Replaces a claim's metadata and spec.
    case updateClaim(PersistentVolumeClaim)
    case updateClaimStatus(PersistentVolumeClaim)
    case createClass(StorageClass)
    /// Creates the folder or the formatted, mounted image of a volume (idempotent).
    case provision(LocalVolume)
    /// Mounts the image of a volume that is not mounted (after a restart).
    case mount(LocalVolume)
    /// Grows a volume to `bytes` and then its filesystem.
    case expand(LocalVolume, bytes: Int64)
    /// Unmounts a volume and removes its data.
    case removeData(LocalVolume)

    public var description: String {
        switch self {
        case .updateVolume(let v): return "update persistentvolume/\(v.name)"
        case .updateVolumeStatus(let v): return "update status of persistentvolume/\(v.name) (\(v.status.phase ?? ""))"
        case .createVolume(let v): return "create persistentvolume/\(v.name)"
        case .deleteVolume(let name): return "delete persistentvolume/\(name)"
        case .updateClaim(let c): return "update \(c.namespace)/persistentvolumeclaim/\(c.name)"
        case .updateClaimStatus(let c): return "update status of \(c.namespace)/persistentvolumeclaim/\(c.name) (\(c.status.phase ?? ""))"
        case .createClass(let c): return "create storageclass/\(c.name)"
        case .provision(let v): return "provision \(v.mode.rawValue) volume \(v.directory)"
        case .mount(let v): return "mount \(v.image) on \(v.directory)"
        case .expand(let v, let bytes): return "expand \(v.directory) to \(bytes) bytes"
        case .removeData(let v): return "remove \(v.directory)"
        }
    }
}

/// What to write when an operation fails part-way: a condition on the claim or a Failed
/// phase on the volume, carrying the error's message.
public enum FailureReport: Sendable, Hashable {
    case claim(PersistentVolumeClaim, reason: String, prefix: String)
    case volume(PersistentVolume, reason: String, prefix: String)
}

/// Steps that belong together (a bind's four writes; provisioning then creating the PV). The
/// steps run in order; when one fails the rest are skipped and `onFailure` is reported. Each
/// step is idempotent, so the next pass completes an interrupted operation.
public struct StorageOperation: Sendable, Hashable {
    public var steps: [StorageStep]
    public var onFailure: FailureReport?

    public init(_ steps: [StorageStep], onFailure: FailureReport? = nil) {
        self.steps = steps
        self.onFailure = onFailure
    }
}

/// An event as the controller would record it (`Normal FailedBinding`, `Warning VolumeMismatch`).
public struct StorageEvent: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable { case normal = "Normal", warning = "Warning" }

    public var object: String
    public var kind: Kind
    public var reason: String
    public var message: String

    public var description: String { "\(kind.rawValue) \(reason)" }
}

/// Everything one pass decided.
public struct StoragePlan: Sendable {
    public var operations: [StorageOperation] = []
    public var events: [StorageEvent] = []

    /// The steps of all operations, in order.
    public var steps: [StorageStep] { operations.flatMap(\.steps) }
}
