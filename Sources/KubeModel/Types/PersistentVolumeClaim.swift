/// `v1 PersistentVolumeClaim`.
public struct PersistentVolumeClaim: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", shortNames: ["pvc"], namespaced: true)

    public var metadata = ObjectMeta()
    public var spec = Spec()
    public var status = Status()

    public init() {}

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var accessModes: [String]?
        public var resources = Resources()
        public var storageClassName: String?
        public var volumeName: String?
        public var volumeMode: String?
        public var selector: LabelSelector?
        public var dataSource: JSONValue?
        public var dataSourceRef: JSONValue?
        public var volumeAttributesClassName: String?
        public init() {}
    }

    public struct Resources: Sendable, Hashable, Codable, EmptyInitializable {
        public var requests: [String: Quantity]?
        public var limits: [String: Quantity]?
        public init() {}
    }

    public struct Status: Sendable, Hashable, Codable, EmptyInitializable {
        public var phase: String?
        public var accessModes: [String]?
        public var capacity: [String: Quantity]?
        public var conditions: [Condition]?
        public var allocatedResources: [String: Quantity]?
        public init() {}
    }

    /// The requested size.
    public var request: Quantity? { spec.resources.requests?["storage"] }

    public mutating func setDefaults() {
        if (spec.volumeMode ?? "").isEmpty { spec.volumeMode = "Filesystem" }
        if status.phase == nil { status.phase = "Pending" }
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        let sp = FieldPath("spec")
        errs += validateAccessModes(spec.accessModes, at: sp.child("accessModes"))
        if let s = spec.selector { errs += s.validate(at: sp.child("selector")) }
        if let request {
            if request.isNegative || request.isZero {
                errs.append(.invalid(sp.child("resources").child("requests").key("storage"), request.text, "must be greater than zero"))
            }
        } else {
            errs.append(.required(sp.child("resources").key("storage")))
        }
        if let sc = spec.storageClassName, !sc.isEmpty {
            errs += NameValidation.dns1123Subdomain(sc).map { .invalid(sp.child("storageClassName"), sc, $0) }
        }
        if let vm = spec.volumeMode, vm != "Filesystem" && vm != "Block" {
            errs.append(.notSupported(sp.child("volumeMode"), vm, ["Block", "Filesystem"]))
        }
        return errs
    }

    public func validateUpdate(from old: PersistentVolumeClaim) -> [FieldError] {
        var errs: [FieldError] = []
        var a = spec, b = old.spec
        a.resources.requests = nil; b.resources.requests = nil
        // The binder fills volumeName and the default class once; both are then fixed.
        if b.volumeName == nil || b.volumeName == "" { a.volumeName = nil; b.volumeName = nil }
        if b.storageClassName == nil { a.storageClassName = nil }
        if a != b {
            errs.append(.forbidden(FieldPath("spec"), "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
        }
        if let new = request, let previous = old.request, new < previous {
            errs.append(.forbidden(FieldPath("spec").child("resources").child("requests").child("storage"), "field can not be less than previous value"))
        }
        return errs
    }
}
