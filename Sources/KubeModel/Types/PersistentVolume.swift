/// `v1 PersistentVolume`.
public struct PersistentVolume: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "PersistentVolume", plural: "persistentvolumes", shortNames: ["pv"], namespaced: false)

    public var metadata = ObjectMeta()
    public var spec = Spec()
    public var status = Status()

    public init() {}

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var capacity: [String: Quantity]?
        public var accessModes: [String]?
        public var persistentVolumeReclaimPolicy: String?
        public var storageClassName: String?
        public var volumeMode: String?
        public var claimRef: ObjectReference?
        public var hostPath: Pod.HostPathSource?
        public var local: LocalSource?
        public var nodeAffinity: JSONValue?
        public var mountOptions: [String]?
        public var csi: JSONValue?
        public var nfs: JSONValue?
        public init() {}
    }

    public struct LocalSource: Sendable, Hashable, Codable {
        public var path: String
        public var fsType: String?
    }

    public struct Status: Sendable, Hashable, Codable, EmptyInitializable {
        public var phase: String?
        public var message: String?
        public var reason: String?
        public var lastPhaseTransitionTime: String?
        public init() {}
    }

    public var storage: Quantity? { spec.capacity?["storage"] }

    public static let accessModes = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
    static let reclaimPolicies = ["Delete", "Recycle", "Retain"]

    public mutating func setDefaults() {
        if (spec.persistentVolumeReclaimPolicy ?? "").isEmpty { spec.persistentVolumeReclaimPolicy = "Retain" }
        if (spec.volumeMode ?? "").isEmpty { spec.volumeMode = "Filesystem" }
        if status.phase == nil { status.phase = "Pending" }
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        let sp = FieldPath("spec")
        errs += validateAccessModes(spec.accessModes, at: sp.child("accessModes"))
        if let storage {
            if storage.isNegative || storage.isZero {
                errs.append(.invalid(sp.child("capacity").key("storage"), storage.text, "must be greater than zero"))
            }
        } else {
            errs.append(.required(sp.child("capacity"), "must specify a storage capacity"))
        }
        for key in (spec.capacity ?? [:]).keys.sorted() where key != "storage" {
            errs.append(.notSupported(sp.child("capacity").key(key), key, ["storage"]))
        }
        let sources = [spec.hostPath != nil, spec.local != nil, spec.csi != nil, spec.nfs != nil].filter { $0 }.count
        if sources == 0 { errs.append(.required(sp, "must specify a volume type")) }
        if sources > 1 { errs.append(.forbidden(sp, "may not specify more than 1 volume type")) }
        if let h = spec.hostPath, h.path.isEmpty { errs.append(.required(sp.child("hostPath").child("path"))) }
        if let l = spec.local {
            if l.path.isEmpty { errs.append(.required(sp.child("local").child("path"))) }
            if spec.nodeAffinity == nil { errs.append(.required(sp.child("nodeAffinity"), "Local volume requires node affinity")) }
        }
        if let rp = spec.persistentVolumeReclaimPolicy, !PersistentVolume.reclaimPolicies.contains(rp) {
            errs.append(.notSupported(sp.child("persistentVolumeReclaimPolicy"), rp, PersistentVolume.reclaimPolicies))
        }
        if let sc = spec.storageClassName, !sc.isEmpty {
            errs += NameValidation.dns1123Subdomain(sc).map { .invalid(sp.child("storageClassName"), sc, $0) }
        }
        if let vm = spec.volumeMode, vm != "Filesystem" && vm != "Block" {
            errs.append(.notSupported(sp.child("volumeMode"), vm, ["Block", "Filesystem"]))
        }
        return errs
    }

    public func validateUpdate(from old: PersistentVolume) -> [FieldError] {
        var errs: [FieldError] = []
        if spec.volumeMode != old.spec.volumeMode {
            errs.append(.invalid(FieldPath("spec").child("volumeMode"), spec.volumeMode ?? "", "field is immutable"))
        }
        if spec.hostPath != old.spec.hostPath || spec.local != old.spec.local {
            errs.append(.forbidden(FieldPath("spec").child("persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"))
        }
        return errs
    }
}

/// Access-mode rules shared by volumes and claims.
func validateAccessModes(_ modes: [String]?, at path: FieldPath) -> [FieldError] {
    let modes = modes ?? []
    if modes.isEmpty { return [.required(path, "at least 1 access mode is required")] }
    var errs: [FieldError] = []
    for m in modes where !PersistentVolume.accessModes.contains(m) {
        errs.append(.notSupported(path, m, PersistentVolume.accessModes))
    }
    if modes.contains("ReadWriteOncePod") && modes.count > 1 {
        errs.append(.forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    }
    return errs
}
