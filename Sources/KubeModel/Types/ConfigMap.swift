/// `v1 ConfigMap`.
public struct ConfigMap: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", shortNames: ["cm"], namespaced: true)

    public var metadata = ObjectMeta()
    public var data: [String: String]?
    public var binaryData: [String: String]?
    public var immutable: Bool?

    public init() {}

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        var total = 0
        for (k, v) in (data ?? [:]).sorted(by: { $0.key < $1.key }) {
            errs += NameValidation.configMapKey(k).map { .invalid(FieldPath("data").key(k), k, $0) }
            total += v.utf8.count
        }
        for (k, v) in (binaryData ?? [:]).sorted(by: { $0.key < $1.key }) {
            errs += NameValidation.configMapKey(k).map { .invalid(FieldPath("binaryData").key(k), k, $0) }
            if data?[k] != nil { errs.append(.invalid(FieldPath("data").key(k), k, "duplicate of key present in binaryData")) }
            total += v.utf8.count * 3 / 4
        }
        if total > 1024 * 1024 { errs.append(FieldError(.tooLong(1024 * 1024), FieldPath(""), "")) }
        return errs
    }

    public func validateUpdate(from old: ConfigMap) -> [FieldError] {
        if old.immutable == true && (data != old.data || binaryData != old.binaryData) {
            return [.forbidden(FieldPath("data"), "field is immutable when `immutable` is set")]
        }
        if old.immutable == true && immutable != true {
            return [.forbidden(FieldPath("immutable"), "field is immutable when `immutable` is set")]
        }
        return []
    }
}
