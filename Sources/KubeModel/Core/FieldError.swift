/// A path to a field, printed the way the API server prints it: `spec.ports[0].port`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public private(set) var description: String

    public init(_ root: String) { description = root }

    public func child(_ name: String) -> FieldPath {
        FieldPath(description.isEmpty ? name : description + "." + name)
    }

    public func index(_ i: Int) -> FieldPath { FieldPath(description + "[\(i)]") }

    public func key(_ k: String) -> FieldPath { FieldPath(description + "[\(k)]") }
}

/// One validation failure, in the API server's vocabulary (k8s.io/apimachinery field.Error).
public struct FieldError: Sendable, Hashable, CustomStringConvertible, Error {
    public enum Kind: Sendable, Hashable {
        case required
        case invalid
        case duplicate
        case notSupported([String])
        case forbidden
        case tooLong(Int)
        case tooMany(Int)
        case notFound
    }

    public var kind: Kind
    public var field: FieldPath
    /// The offending value, already rendered as the API server would print it (strings quoted).
    public var value: String?
    public var detail: String

    public init(_ kind: Kind, _ field: FieldPath, value: String? = nil, _ detail: String = "") {
        self.kind = kind
        self.field = field
        self.value = value
        self.detail = detail
    }

    public static func required(_ field: FieldPath, _ detail: String = "") -> FieldError {
        FieldError(.required, field, detail)
    }

    public static func invalid(_ field: FieldPath, _ value: some CustomStringConvertible, _ detail: String) -> FieldError {
        FieldError(.invalid, field, value: render(value), detail)
    }

    public static func duplicate(_ field: FieldPath, _ value: some CustomStringConvertible) -> FieldError {
        FieldError(.duplicate, field, value: render(value))
    }

    public static func notSupported(_ field: FieldPath, _ value: some CustomStringConvertible, _ supported: [String]) -> FieldError {
        FieldError(.notSupported(supported), field, value: render(value))
    }

    public static func forbidden(_ field: FieldPath, _ detail: String) -> FieldError {
        FieldError(.forbidden, field, detail)
    }

    public static func tooLong(_ field: FieldPath, _ max: Int) -> FieldError {
        FieldError(.tooLong(max), field)
    }

    static func render(_ value: some CustomStringConvertible) -> String {
        if let s = value as? String { return quote(s) }
        return value.description
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    public var description: String {
        switch kind {
        case .required:
            return "\(field): Required value" + (detail.isEmpty ? "" : ": \(detail)")
        case .invalid:
            return "\(field): Invalid value: \(value ?? "null")" + (detail.isEmpty ? "" : ": \(detail)")
        case .duplicate:
            return "\(field): Duplicate value: \(value ?? "null")"
        case .notSupported(let supported):
            let list = supported.map { FieldError.quote($0) }.joined(separator: ", ")
            return "\(field): Unsupported value: \(value ?? "null")" + (supported.isEmpty ? "" : ": supported values: \(list)")
        case .forbidden:
            return "\(field): Forbidden: \(detail)"
        case .tooLong(let max):
            return "\(field): Too long: may not be more than \(max) bytes"
        case .notFound:
            return "\(field): Not found: \(value ?? "null")"
        case .tooMany(let max):
            return "\(field): Too many: must have at most \(max) items"
        }
    }
}

/// Formats the API server's "is invalid" message for a list of field errors.
public func invalidMessage(kind: String, name: String, errors: [FieldError]) -> String {
    let head = "\(kind) \"\(name)\" is invalid: "
    if errors.count == 1 { return head + errors[0].description }
    return head + "[" + errors.map(\.description).joined(separator: ", ") + "]"
}
