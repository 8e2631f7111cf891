/// `storage.k8s.io/v1 StorageClass`.
public struct StorageClass: Resource {
    public static let resourceType = ResourceType(group: "storage.k8s.io", version: "v1", kind: "StorageClass", plural: "storageclasses", shortNames: ["sc"], namespaced: false)

    public static let defaultAnnotation = "storageclass.kubernetes.io/is-default-class"
    public static let betaDefaultAnnotation = "storageclass.beta.kubernetes.io/is-default-class"

    public var metadata = ObjectMeta()
    public var provisioner: String = ""
    public var parameters: [String: String]?
    public var reclaimPolicy: String?
    public var volumeBindingMode: String?
    public var allowVolumeExpansion: Bool?
    public var mountOptions: [String]?
    public var allowedTopologies: JSONValue?

    public init() {}

    /// True when annotated as the default class (GA or beta annotation).
    public var isDefault: Bool {
        metadata.annotations?[StorageClass.defaultAnnotation] == "true" || metadata.annotations?[StorageClass.betaDefaultAnnotation] == "true"
    }

    public mutating func setDefaults() {
        if (reclaimPolicy ?? "").isEmpty { reclaimPolicy = "Delete" }
        if (volumeBindingMode ?? "").isEmpty { volumeBindingMode = "Immediate" }
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        if provisioner.isEmpty {
            errs.append(.required(FieldPath("provisioner")))
        } else {
            errs += NameValidation.qualifiedName(provisioner.lowercased()).map { .invalid(FieldPath("provisioner"), provisioner, $0) }
        }
        if let rp = reclaimPolicy, rp != "Delete" && rp != "Retain" {
            errs.append(.notSupported(FieldPath("reclaimPolicy"), rp, ["Delete", "Retain"]))
        }
        if let m = volumeBindingMode, m != "Immediate" && m != "WaitForFirstConsumer" {
            errs.append(.notSupported(FieldPath("volumeBindingMode"), m, ["Immediate", "WaitForFirstConsumer"]))
        }
        return errs
    }

    public func validateUpdate(from old: StorageClass) -> [FieldError] {
        var errs: [FieldError] = []
        if parameters != old.parameters { errs.append(.forbidden(FieldPath("parameters"), "updates to parameters are forbidden.")) }
        if provisioner != old.provisioner { errs.append(.forbidden(FieldPath("provisioner"), "updates to provisioner are forbidden.")) }
        if reclaimPolicy != old.reclaimPolicy { errs.append(.forbidden(FieldPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden.")) }
        if volumeBindingMode != old.volumeBindingMode { errs.append(.forbidden(FieldPath("volumeBindingMode"), "field is immutable")) }
        return errs
    }
}
