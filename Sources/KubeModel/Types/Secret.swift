import Foundation

/// `v1 Secret`. `data` holds base64 text as on the wire; `decodedData` gives the bytes.
public struct Secret: Resource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true)

    public static let tlsType = "kubernetes.io/tls"
    public static let tlsCertKey = "tls.crt"
    public static let tlsPrivateKeyKey = "tls.key"

    public var metadata = ObjectMeta()
    public var type: String?
    public var data: [String: String]?
    public var stringData: [String: String]?
    public var immutable: Bool?

    public init() {}

    /// The bytes of one key, from `data` (base64) or `stringData`.
    public func value(_ key: String) -> Data? {
        if let s = stringData?[key] { return Data(s.utf8) }
        return data?[key].flatMap { Data(base64Encoded: $0) }
    }

    public mutating func setDefaults() {
        if type == nil || type == "" { type = "Opaque" }
    }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        var total = 0
        for (k, v) in (data ?? [:]).sorted(by: { $0.key < $1.key }) {
            errs += NameValidation.configMapKey(k).map { .invalid(FieldPath("data").key(k), k, $0) }
            if let bytes = Data(base64Encoded: v) {
                total += bytes.count
            } else {
                errs.append(.invalid(FieldPath("data").key(k), "<secret contents redacted>", "illegal base64 data"))
            }
        }
        for (k, v) in (stringData ?? [:]).sorted(by: { $0.key < $1.key }) {
            errs += NameValidation.configMapKey(k).map { .invalid(FieldPath("stringData").key(k), k, $0) }
            total += v.utf8.count
        }
        if total > 1024 * 1024 { errs.append(FieldError(.tooLong(1024 * 1024), FieldPath("data"))) }
        if type == Secret.tlsType {
            let cert = value(Secret.tlsCertKey)
            let key = value(Secret.tlsPrivateKeyKey)
            if cert == nil { errs.append(.required(FieldPath("data").key(Secret.tlsCertKey))) }
            if key == nil { errs.append(.required(FieldPath("data").key(Secret.tlsPrivateKeyKey))) }
            if let cert, let key {
                errs += TLSKeyPair.validate(certificatePEM: cert, keyPEM: key).map {
                    .invalid(FieldPath("data").key($0.field), "<secret contents redacted>", $0.message)
                }
            }
        }
        return errs
    }

    public func validateUpdate(from old: Secret) -> [FieldError] {
        var errs: [FieldError] = []
        if (type ?? "Opaque") != (old.type ?? "Opaque") {
            errs.append(.invalid(FieldPath("type"), type ?? "", "field is immutable"))
        }
        if old.immutable == true && (data != old.data || immutable != true) {
            errs.append(.forbidden(FieldPath("data"), "field is immutable when `immutable` is set"))
        }
        return errs
    }
}
