import KubeModel

/// The annotations, finalizers and well-known values the persistent-volume controller, the
/// scheduler and external provisioners use, spelled as Kubernetes spells them.
public enum StorageAnnotations {
    /// On volumes and claims the controller bound (not pre-bound by a user).
    public static let boundByController = "pv.kubernetes.io/bound-by-controller"
    /// On claims whose binding finished.
    public static let bindCompleted = "pv.kubernetes.io/bind-completed"
    /// On volumes a provisioner created: the provisioner's name.
    public static let provisionedBy = "pv.kubernetes.io/provisioned-by"
    /// On claims: which external provisioner should provision them.
    public static let storageProvisioner = "volume.kubernetes.io/storage-provisioner"
    public static let betaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
    /// On claims of `WaitForFirstConsumer` classes: the node the first consumer runs on.
    public static let selectedNode = "volume.kubernetes.io/selected-node"
    /// The pre-`storageClassName` way to name a class, still honoured.
    public static let betaStorageClass = "volume.beta.kubernetes.io/storage-class"
    /// On kplane's volumes: `image` or `directory`.
    public static let localVolumeMode = "kplane.dev/local-volume-mode"
    /// On kplane's volumes: the folder of the volume (the mount point in `image` mode).
    public static let localVolumePath = "kplane.dev/local-volume-path"

    public static let pvcProtection = "kubernetes.io/pvc-protection"
    public static let pvProtection = "kubernetes.io/pv-protection"
}

/// Phases of volumes and claims.
enum Phase {
    static let pending = "Pending"
    static let available = "Available"
    static let bound = "Bound"
    static let released = "Released"
    static let failed = "Failed"
    static let lost = "Lost"
}

extension PersistentVolume {
    /// The volume's class: the beta annotation wins over `storageClassName`; "" is no class.
    var className: String {
        if let beta = metadata.annotations?[StorageAnnotations.betaStorageClass] { return beta }
        return spec.storageClassName ?? ""
    }

    /// The storage capacity, zero when missing.
    var capacity: Quantity { storage ?? Quantity.zero }

    var phase: String { status.phase ?? "" }
    var isDeleting: Bool { metadata.deletionTimestamp != nil }
    var reclaimPolicy: String { spec.persistentVolumeReclaimPolicy ?? "Retain" }
    var volumeModeOrDefault: String { spec.volumeMode.flatMap { $0.isEmpty ? nil : $0 } ?? "Filesystem" }
    var modes: Set<String> { Set(spec.accessModes ?? []) }

    func hasAnnotation(_ key: String) -> Bool { metadata.annotations?[key] != nil }

    mutating func setAnnotation(_ key: String, _ value: String?) {
        var map = metadata.annotations ?? [:]
        map[key] = value
        metadata.annotations = map.isEmpty ? nil : map
    }
}

extension PersistentVolumeClaim {
    /// `namespace/name`, the controller's key for a claim.
    var key: String { "\(namespace)/\(name)" }
    var uid: String { metadata.uid ?? "" }

    /// The requested class: the beta annotation wins; nil when the claim names none at all.
    var requestedClass: String? {
        if let beta = metadata.annotations?[StorageAnnotations.betaStorageClass] { return beta }
        return spec.storageClassName
    }

    /// The class as the binder compares it: "" for none.
    var className: String { requestedClass ?? "" }

    var phase: String { status.phase ?? "" }
    var isDeleting: Bool { metadata.deletionTimestamp != nil }
    var volumeName: String { spec.volumeName ?? "" }
    var volumeModeOrDefault: String { spec.volumeMode.flatMap { $0.isEmpty ? nil : $0 } ?? "Filesystem" }
    var requestedStorage: Quantity { request ?? Quantity.zero }

    func hasAnnotation(_ key: String) -> Bool { metadata.annotations?[key] != nil }

    mutating func setAnnotation(_ key: String, _ value: String?) {
        var map = metadata.annotations ?? [:]
        map[key] = value
        metadata.annotations = map.isEmpty ? nil : map
    }
}

extension Quantity {
    static let zero = try! Quantity("0")  // a literal that always parses
}

extension ObjectMeta {
    func hasFinalizer(_ name: String) -> Bool { finalizers?.contains(name) ?? false }

    mutating func addFinalizer(_ name: String) {
        if !hasFinalizer(name) { finalizers = (finalizers ?? []) + [name] }
    }

    mutating func removeFinalizer(_ name: String) {
        let rest = (finalizers ?? []).filter { $0 != name }
        finalizers = rest.isEmpty ? nil : rest
    }
}
