/// Decodes Codable values straight from a `JSONValue` tree: no JSON text is written and parsed
/// again on the way (the typed view of every stored object and every watch event is made this
/// way). Errors are the `DecodingError`s Foundation's `JSONDecoder` throws, with the same coding
/// paths, so `Scheme.fieldError` turns them into the API server's messages.
enum JSONValueDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try TreeDecoder(value: value, codingPath: []).unbox(as: T.self)
    }
}

private struct TreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if case .null = value { throw nullContainer(KeyedDecodingContainer<Key>.self, "keyed") }
        guard case .object(let fields) = value else {
            throw TreeDecoder.mismatch([String: JSONValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        if case .null = value { throw nullContainer((any UnkeyedDecodingContainer).self, "unkeyed") }
        guard case .array(let items) = value else {
            throw TreeDecoder.mismatch([JSONValue].self, value, codingPath)
        }
        return UnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }

    private func nullContainer(_ type: Any.Type, _ kind: String) -> DecodingError {
        DecodingError.valueNotFound(type, DecodingError.Context(
            codingPath: codingPath, debugDescription: "Cannot get \(kind) decoding container -- found null value instead"))
    }

    /// A value of any Decodable type: primitives read here, everything else (optionals
    /// included, which decide about null themselves) by its own `init(from:)`.
    func unbox<T: Decodable>(as type: T.Type) throws -> T {
        let path = codingPath
        switch type {
        case is JSONValue.Type:
            return value as! T
        case is String.Type, is Bool.Type, is Double.Type, is Float.Type, is any FixedWidthInteger.Type:
            if case .null = value {
                throw DecodingError.valueNotFound(T.self, DecodingError.Context(
                    codingPath: path, debugDescription: "Cannot get value of type \(T.self) -- found null value instead"))
            }
        default:
            return try T(from: TreeDecoder(value: value, codingPath: path))
        }
        switch type {
        case is String.Type:
            guard case .string(let s) = value else { throw TreeDecoder.mismatch(T.self, value, path) }
            return s as! T
        case is Bool.Type:
            guard case .bool(let b) = value else { throw TreeDecoder.mismatch(T.self, value, path) }
            return b as! T
        case is Int.Type: return try TreeDecoder.integer(Int.self, value, path) as! T
        case is Int64.Type: return try TreeDecoder.integer(Int64.self, value, path) as! T
        case is Int32.Type: return try TreeDecoder.integer(Int32.self, value, path) as! T
        case is Int16.Type: return try TreeDecoder.integer(Int16.self, value, path) as! T
        case is Int8.Type: return try TreeDecoder.integer(Int8.self, value, path) as! T
        case is UInt.Type: return try TreeDecoder.integer(UInt.self, value, path) as! T
        case is UInt64.Type: return try TreeDecoder.integer(UInt64.self, value, path) as! T
        case is UInt32.Type: return try TreeDecoder.integer(UInt32.self, value, path) as! T
        case is UInt16.Type: return try TreeDecoder.integer(UInt16.self, value, path) as! T
        case is UInt8.Type: return try TreeDecoder.integer(UInt8.self, value, path) as! T
        case is Double.Type: return try TreeDecoder.double(value, path) as! T
        case is Float.Type: return Float(try TreeDecoder.double(value, path)) as! T
        default: throw TreeDecoder.mismatch(T.self, value, path)
        }
    }

    static func integer<I: FixedWidthInteger>(_ type: I.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> I {
        switch value {
        case .int(let i):
            if let n = I(exactly: i) { return n }
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: path, debugDescription: "Number \(i) is not representable in Swift."))
        case .double(let d):
            if let n = I(exactly: d) { return n }
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: path, debugDescription: "Number \(d) is not representable in Swift."))
        default:
            throw mismatch(I.self, value, path)
        }
    }

    static func double(_ value: JSONValue, _ path: [any CodingKey]) throws -> Double {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw mismatch(Double.self, value, path)
        }
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        let found: String
        switch value {
        case .null: found = "null"
        case .bool: found = "bool"
        case .int, .double: found = "number"
        case .string: found = "a string"
        case .array: found = "an array"
        case .object: found = "a dictionary"
        }
        return DecodingError.typeMismatch(type, DecodingError.Context(
            codingPath: path, debugDescription: "Expected to decode \(type) but found \(found) instead."))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return value
    }

    private func decoder(_ key: Key) throws -> TreeDecoder {
        TreeDecoder(value: try value(key), codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try value(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let d = try decoder(key)
        return try d.unbox(as: T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoder(value: fields["super"] ?? .null, codingPath: codingPath + [SuperKey()])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: fields[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}

/// The key of an array element in a coding path (the tree decoder's and encoder's).
struct IndexKey: CodingKey {
    let index: Int
    var stringValue: String { "Index \(index)" }
    var intValue: Int? { index }
    init(_ index: Int) { self.index = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { index = intValue }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next<T>(_ type: T.Type) throws -> TreeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(T.self, DecodingError.Context(
                codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return TreeDecoder(value: items[currentIndex], codingPath: codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = items[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let d = try next(T.self)
        return try d.unbox(as: T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next([String: JSONValue].self).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next([JSONValue].self).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        try next(JSONValue.self)
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try TreeDecoder(value: value, codingPath: codingPath).unbox(as: T.self)
    }

}
