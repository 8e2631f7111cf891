import Foundation

/// The kinds kplane knows, and the API server's create/update pipeline for each:
/// decode, default, validate, then merge the defaults back into the raw JSON.
public enum Scheme {
    /// Every modelled kind.
    public static let resources: [any Resource.Type] = [
        Namespace.self, Pod.self, Service.self, Endpoints.self, EndpointSlice.self, Secret.self, ConfigMap.self,
        Ingress.self, IngressClass.self, NetworkPolicy.self, PersistentVolume.self, PersistentVolumeClaim.self,
        StorageClass.self, Deployment.self,
    ]

    public static let types: [ResourceType] = resources.map { $0.resourceType }

    private static let byAPIVersionKind: [String: ResourceType] = Dictionary(
        uniqueKeysWithValues: types.map { ("\($0.apiVersion)|\($0.kind)", $0) })

    private static let byName: [String: ResourceType] = {
        var map: [String: ResourceType] = [:]
        for t in types {
            for name in [t.plural, t.singular, t.resource, "\(t.singular).\(t.group)"] + t.shortNames {
                map[name] = t
            }
        }
        return map
    }()

    /// Looks up a kind by apiVersion and kind.
    public static func type(apiVersion: String, kind: String) -> ResourceType? {
        byAPIVersionKind["\(apiVersion)|\(kind)"]
    }

    /// Looks up a kind by a kubectl name: plural, singular, short name or `plural.group`.
    public static func type(named name: String) -> ResourceType? {
        byName[name.lowercased()]
    }

    static func resource(for type: ResourceType) -> (any Resource.Type)? {
        resources.first { $0.resourceType == type }
    }

    /// Decodes, defaults and validates `object` as the API server does on create (`old` nil)
    /// or update. Returns the object with defaults merged in, or the field errors.
    public static func prepare(_ object: Object, old: Object?) -> Result<Object, ValidationFailure> {
        guard let resource = resource(for: object.type) else { return .success(object) }
        return prepare(resource, object, old: old)
    }

    private static func prepare<T: Resource>(_ type: T.Type, _ object: Object, old: Object?) -> Result<Object, ValidationFailure> {
        var typed: T
        do {
            typed = try object.json.decode(T.self)
        } catch {
            return .failure(ValidationFailure(errors: [fieldError(for: error, in: object.json)]))
        }
        typed.setDefaults()
        var errors = typed.validate()
        if let old, var previous = try? old.json.decode(T.self) {
            previous.setDefaults()
            errors += typed.validateUpdate(from: previous)
        }
        if !errors.isEmpty { return .failure(ValidationFailure(errors: errors)) }
        guard let encoded = try? JSONValue.encode(typed) else { return .success(object) }
        var result = object
        result.replaceJSON(object.json.merging(encoded))
        return .success(result)
    }

    /// Turns a Codable decoding failure into the field error the API server would print.
    static func fieldError(for error: any Error, in json: JSONValue) -> FieldError {
        guard let error = error as? DecodingError else {
            return .invalid(FieldPath(""), "", "\(error)")
        }
        func path(_ keys: [any CodingKey]) -> FieldPath {
            var p = FieldPath("")
            for k in keys {
                if let i = k.intValue { p = p.index(i) } else { p = p.child(k.stringValue) }
            }
            return p
        }
        func value(at keys: [any CodingKey]) -> String {
            var v: JSONValue? = json
            for k in keys {
                if let i = k.intValue { v = v?.arrayValue.flatMap { i < $0.count ? $0[i] : nil } } else { v = v?[k.stringValue] }
            }
            switch v {
            case .string(let s)?: return FieldError.quote(s)
            case let other?: return other.jsonString()
            case nil: return "null"
            }
        }
        func typeName(_ t: Any.Type) -> String {
            let name = String(describing: t)
            if name.contains("Int") { return "integer" }
            if name.contains("String") { return "string" }
            if name.contains("Bool") { return "boolean" }
            if name.contains("Array") { return "array" }
            if name.contains("Dictionary") { return "object" }
            return "object"
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            return .required(path(ctx.codingPath + [key]))
        case .typeMismatch(let type, let ctx):
            return FieldError(.invalid, path(ctx.codingPath), value: value(at: ctx.codingPath), "must be of type \(typeName(type))")
        case .valueNotFound(let type, let ctx):
            return FieldError(.invalid, path(ctx.codingPath), value: "null", "must be of type \(typeName(type))")
        case .dataCorrupted(let ctx):
            return FieldError(.invalid, path(ctx.codingPath), value: value(at: ctx.codingPath), ctx.debugDescription)
        @unknown default:
            return .invalid(FieldPath(""), "", "\(error)")
        }
    }
}

/// The field errors that made an object invalid.
public struct ValidationFailure: Error, Sendable, Hashable {
    public var errors: [FieldError]
}

extension Scheme {
    /// The typed value of an object of any modelled kind (nil when it does not decode).
    public static func decode(_ object: Object) -> (any Resource)? {
        guard let resource = resource(for: object.type) else { return nil }
        return try? decodeTyped(resource, object)
    }

    private static func decodeTyped<T: Resource>(_ type: T.Type, _ object: Object) throws -> any Resource {
        try object.decode(T.self)
    }
}
