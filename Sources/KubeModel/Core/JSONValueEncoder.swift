/// Encodes Codable values straight into a `JSONValue` tree, giving the tree that Foundation's
/// `JSONEncoder` followed by a parse would give (an integral floating-point number becomes an
/// integer, as JSON text does not tell them apart), without writing and parsing the text.
enum JSONValueEncoder {
    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = Node()
        try root.set(value, at: [])
        return root.tree()
    }
}

/// A place in the tree being built. Containers hand out nodes and fill them later, so nodes
/// are references until `tree()` turns them into values.
private final class Node {
    enum Content {
        case empty
        case value(JSONValue)
        case object([String: Node])
        case array([Node])
    }

    var content = Content.empty

    func tree() -> JSONValue {
        switch content {
        case .empty: return .object([:])
        case .value(let v): return v
        case .object(let fields): return .object(fields.mapValues { $0.tree() })
        case .array(let items): return .array(items.map { $0.tree() })
        }
    }

    /// Encodes a value into this node: primitives directly, everything else by its `encode(to:)`.
    func set<T: Encodable>(_ value: T, at path: [any CodingKey]) throws {
        switch value {
        case let v as JSONValue: content = .value(v)
        case let v as String: content = .value(.string(v))
        case let v as Bool: content = .value(.bool(v))
        case let v as Int: content = .value(.int(Int64(v)))
        case let v as Int64: content = .value(.int(v))
        case let v as Int32: content = .value(.int(Int64(v)))
        case let v as Int16: content = .value(.int(Int64(v)))
        case let v as Int8: content = .value(.int(Int64(v)))
        case let v as UInt8: content = .value(.int(Int64(v)))
        case let v as UInt16: content = .value(.int(Int64(v)))
        case let v as UInt32: content = .value(.int(Int64(v)))
        case let v as UInt: try setUnsigned(UInt64(v), at: path)
        case let v as UInt64: try setUnsigned(v, at: path)
        case let v as Double: try setDouble(v, at: path)
        case let v as Float: try setDouble(Double(v), at: path)
        default: try value.encode(to: TreeEncoder(node: self, codingPath: path))
        }
    }

    private func setUnsigned(_ v: UInt64, at path: [any CodingKey]) throws {
        guard let i = Int64(exactly: v) else {
            throw EncodingError.invalidValue(v, EncodingError.Context(codingPath: path, debugDescription: "\(v) does not fit in a JSON integer here."))
        }
        content = .value(.int(i))
    }

    private func setDouble(_ v: Double, at path: [any CodingKey]) throws {
        guard v.isFinite else {
            throw EncodingError.invalidValue(v, EncodingError.Context(codingPath: path, debugDescription: "Unable to encode \(v) directly in JSON."))
        }
        if v == v.rounded(), abs(v) < 9.2e18 {
            content = .value(.int(Int64(v)))
        } else {
            content = .value(.double(v))
        }
    }

    /// The node under `key` of this object node, added when missing. (The content is taken
    /// out while it changes, so that the dictionary is not copied for every field.)
    func child(_ key: String) -> Node {
        guard case .object(var fields) = content else {
            let node = Node()
            content = .object([key: node])
            return node
        }
        if let node = fields[key] { return node }
        content = .empty
        let node = Node()
        fields[key] = node
        content = .object(fields)
        return node
    }

    func makeObject() {
        if case .object = content { return }
        content = .object([:])
    }

    func makeArray() {
        if case .array = content { return }
        content = .array([])
    }

    func append() -> Node {
        let node = Node()
        guard case .array(var items) = content else {
            content = .array([node])
            return node
        }
        content = .empty
        items.append(node)
        content = .array(items)
        return node
    }

    var count: Int {
        if case .array(let items) = content { return items.count }
        return 0
    }
}

private struct TreeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws {
        node.child(key.stringValue).content = .value(.null)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try node.child(key.stringValue).set(value, at: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        TreeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        TreeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        TreeEncoder(node: node.child("super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws {
        node.append().content = .value(.null)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [IndexKey(count)]
        try node.append().set(value, at: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [IndexKey(count)]
        return TreeEncoder(node: node.append(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [IndexKey(count)]
        return TreeEncoder(node: node.append(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = codingPath + [IndexKey(count)]
        return TreeEncoder(node: node.append(), codingPath: path)
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws {
        node.content = .value(.null)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.set(value, at: codingPath)
    }
}
