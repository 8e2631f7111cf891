/// A Kubernetes kind that kplane models: its type information, API-server defaulting and
/// validation. Values are plain data; all logic here is pure.
public protocol Resource: Codable, Sendable, Hashable, EmptyInitializable {
    static var resourceType: ResourceType { get }
    var metadata: ObjectMeta { get set }

    /// Sets defaults exactly as the API server's defaulting functions do.
    mutating func setDefaults()

    /// Validation on create (and on update, before `validateUpdate`).
    func validate() -> [FieldError]

    /// Checks that an update from `old` is allowed (immutable fields and the like).
    func validateUpdate(from old: Self) -> [FieldError]
}

extension Resource {
    public mutating func setDefaults() {}
    public func validate() -> [FieldError] { [] }
    public func validateUpdate(from old: Self) -> [FieldError] { [] }

    public var name: String { metadata.nameOrEmpty }
    public var namespace: String { metadata.namespaceOrEmpty }
    public var labels: [String: String] { metadata.labels ?? [:] }
    public var annotations: [String: String] { metadata.annotations ?? [:] }

    /// Validation of metadata that every kind shares.
    func validateMeta(nameRule: (String) -> [String] = NameValidation.dns1123Subdomain) -> [FieldError] {
        var errs: [FieldError] = []
        let root = FieldPath("metadata")
        if let name = metadata.name, !name.isEmpty {
            for msg in nameRule(name) { errs.append(.invalid(root.child("name"), name, msg)) }
        } else if (metadata.generateName ?? "").isEmpty {
            errs.append(.required(root.child("name"), "name or generateName is required"))
        }
        if Self.resourceType.namespaced, let ns = metadata.namespace, !ns.isEmpty {
            for msg in NameValidation.dns1123Label(ns) { errs.append(.invalid(root.child("namespace"), ns, msg)) }
        }
        errs += NameValidation.labels(metadata.labels, at: root.child("labels"))
        errs += NameValidation.annotations(metadata.annotations, at: root.child("annotations"))
        return errs
    }
}

/// Validates ports 1..65535 the API server's way.
func validatePortNumber(_ port: Int, at path: FieldPath) -> [FieldError] {
    (1...65535).contains(port) ? [] : [.invalid(path, port, "must be between 1 and 65535, inclusive")]
}

/// Validates a port that may be a number or an IANA service name.
func validatePortNumOrName(_ port: IntOrString, at path: FieldPath) -> [FieldError] {
    switch port {
    case .int(let n): return validatePortNumber(n, at: path)
    case .string(let s): return NameValidation.ianaServiceName(s).map { .invalid(path, s, $0) }
    }
}

let supportedProtocols = ["SCTP", "TCP", "UDP"]

func validateProtocol(_ proto: String?, at path: FieldPath) -> [FieldError] {
    guard let proto else { return [.required(path)] }
    return supportedProtocols.contains(proto) ? [] : [.notSupported(path, proto, supportedProtocols)]
}

/// Renders a string array the way Go's %#v prints it in API messages.
func goStringSlice(_ items: [String]) -> String {
    "[]string{" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "}"
}

/// Renders a string map the way Go's %#v prints it in API messages.
func goStringMap(_ map: [String: String]) -> String {
    "map[string]string{" + map.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ", ") + "}"
}
