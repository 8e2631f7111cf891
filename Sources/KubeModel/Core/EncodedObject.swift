import Foundation

/// An object kept as its compact JSON text, with its key: a few hundred bytes where its tree
/// takes a few kilobytes. A large manifest is validated into these and each is parsed back
/// only while it is applied, so that one tree at a time is alive.
public struct EncodedObject: Sendable, Hashable {
    public let key: ObjectKey
    /// The object's JSON, as `JSONValue.jsonData()` writes it (exactly sized, unlike a string
    /// built by appending).
    public let json: Data

    public init(_ object: Object) {
        key = object.key
        json = object.json.jsonData()
    }

    /// The object again. Its tree equals the original's except that a whole floating-point
    /// number reads back as an integer (`1.0` is written `1`), as when a store reads it back.
    public func decode() throws -> Object {
        try Object(json: JSONValue.parse(json))
    }
}
