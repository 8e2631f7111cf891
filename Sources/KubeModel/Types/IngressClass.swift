/// `networking.k8s.io/v1 IngressClass`.
public struct IngressClass: Resource {
    public static let resourceType = ResourceType(group: "networking.k8s.io", version: "v1", kind: "IngressClass", plural: "ingressclasses", namespaced: false)

    /// The annotation that makes a class the default for Ingresses without one.
    public static let defaultAnnotation = "ingressclass.kubernetes.io/is-default-class"

    public var metadata = ObjectMeta()
    public var spec = Spec()

    public init() {}

    public struct Spec: Sendable, Hashable, Codable, EmptyInitializable {
        public var controller: String?
        public var parameters: JSONValue?
        public init() {}
    }

    public var isDefault: Bool { metadata.annotations?[IngressClass.defaultAnnotation] == "true" }

    public func validate() -> [FieldError] {
        var errs = validateMeta()
        let p = FieldPath("spec").child("controller")
        let controller = spec.controller ?? ""
        if controller.isEmpty {
            errs.append(.required(p))
        } else if controller.utf8.count > 250 {
            errs.append(.tooLong(p, 250))
        } else {
            let parts = controller.split(separator: "/", maxSplits: 1)
            if parts.count != 2 || !NameValidation.dns1123Subdomain(String(parts[0])).isEmpty {
                errs.append(.invalid(p, controller, "must be a domain-prefixed path (such as \"acme.io/foo\")"))
            }
        }
        return errs
    }

    public func validateUpdate(from old: IngressClass) -> [FieldError] {
        spec.controller == old.spec.controller ? [] : [.invalid(FieldPath("spec").child("controller"), spec.controller ?? "", "field is immutable")]
    }
}
