import Foundation
import Yams

/// One object read from a manifest, with where it came from.
public struct ManifestDocument: Sendable, Hashable {
    /// The file (or `-` for standard input).
    public var source: String
    /// The document's position in the file, from 0 (`---` separated, then List items).
    public var index: Int
    public var object: Object
}

/// Why a manifest could not be read.
public struct ManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var index: Int?
    public var line: Int?
    public var column: Int?
    public var message: String

    public var description: String {
        var where_ = source
        if let index { where_ += " (document \(index))" }
        return "error parsing \(where_): \(message)"
    }
}

/// Reads multi-document YAML or JSON manifests (and `kind: List`) into objects.
public enum Manifest {
    /// Parses every document of `text`; fails on the first syntax error or unknown kind.
    public static func decode(_ text: String, source: String) throws(ManifestError) -> [ManifestDocument] {
        var documents: [ManifestDocument] = []
        try read(text, source: source) { documents.append($0) }
        return documents
    }

    /// Parses every document of `text` in order, handing each object to `body` as soon as its
    /// YAML document is read, so that a caller keeping a compact form of each (`EncodedObject`)
    /// holds one tree at a time: 10,000 Ingress rules with their Services and EndpointSlices
    /// decoded at once were 30,000 trees. Fails like `decode` (then `body` may have seen some
    /// objects): a syntax error anywhere wins over an unknown kind, as when every document is
    /// parsed first.
    public static func read(_ text: String, source: String, _ body: (ManifestDocument) -> Void) throws(ManifestError) {
        let trimmed = text.drop { $0.isWhitespace }
        var unknown: ManifestError?
        if trimmed.first == "{" || trimmed.first == "[" {
            let root: JSONValue
            do {
                root = try JSONValue.parse(Data(text.utf8))
            } catch {
                throw ManifestError(source: source, index: 0, message: "invalid JSON: \(jsonErrorText(error))")
            }
            unknown = emit(root, source: source, index: 0, line: nil, body)
        } else {
            var index = 0
            do {
                let parser = try Parser(yaml: text)
                while let node = try parser.nextRoot() {
                    let root = try jsonValue(from: node)
                    if unknown == nil { unknown = emit(root, source: source, index: index, line: node.mark?.line, body) }
                    index += 1
                }
            } catch let error as YamlError {
                throw yamlError(error, source: source)
            } catch let error as ManifestError {
                throw ManifestError(source: source, index: index, line: error.line, message: error.message)
            } catch {
                throw ManifestError(source: source, message: "\(error)")
            }
        }
        if let unknown { throw unknown }
    }

    /// Hands `body` the objects of one document (none for an empty one, each item of a List or
    /// an array); returns the error for an item of an unknown kind instead.
    private static func emit(_ root: JSONValue, source: String, index: Int, line: Int?, _ body: (ManifestDocument) -> Void) -> ManifestError? {
        if case .null = root { return nil }
        let items: [JSONValue]
        if case .array(let list) = root {
            items = list
        } else if root["kind"]?.stringValue == "List" || root["kind"]?.stringValue?.hasSuffix("List") == true && root["items"] != nil {
            items = root["items"]?.arrayValue ?? []
        } else {
            items = [root]
        }
        for item in items {
            do {
                body(ManifestDocument(source: source, index: index, object: try Object(json: item)))
            } catch {
                let name = item["metadata"]?["name"]?.stringValue ?? ""
                return ManifestError(source: source, index: index, line: line, message: "resource mapping not found for name: \"\(name)\": \(error)")
            }
        }
        return nil
    }

    /// Reads a file, a folder (`.yaml`, `.yml`, `.json`; `recursive` for subfolders) or `-`.
    public static func load(path: String, recursive: Bool = false) throws(ManifestError) -> [ManifestDocument] {
        var documents: [ManifestDocument] = []
        try read(path: path, recursive: recursive) { documents.append($0) }
        return documents
    }

    /// `load`, handing each object to `body` as it is read (see `read(_:source:_:)`).
    public static func read(path: String, recursive: Bool = false, _ body: (ManifestDocument) -> Void) throws(ManifestError) {
        for file in try files(at: path, recursive: recursive) {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ManifestError(source: file, message: "the path \"\(file)\" does not exist")
                }
                text = String(decoding: data, as: UTF8.self)
            }
            try read(text, source: file, body)
        }
    }

    /// The manifest files a path names, in a stable order.
    public static func files(at path: String, recursive: Bool) throws(ManifestError) -> [String] {
        if path == "-" { return ["-"] }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ManifestError(source: path, message: "the path \"\(path)\" does not exist")
        }
        guard isDir.boolValue else { return [path] }
        var out: [String] = []
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        for entry in entries where !entry.hasPrefix(".") {
            let full = (path as NSString).appendingPathComponent(entry)
            var sub: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &sub)
            if sub.boolValue {
                if recursive { out += try files(at: full, recursive: true) }
            } else if [".yaml", ".yml", ".json"].contains(where: { entry.hasSuffix($0) }) {
                out.append(full)
            }
        }
        return out
    }

    static func yamlError(_ error: YamlError, source: String) -> ManifestError {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) (\($0.text))" } ?? problem
            return ManifestError(source: source, line: mark.line, column: mark.column, message: "yaml: line \(mark.line), column \(mark.column): \(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ManifestError(source: source, line: context.mark.line, column: context.mark.column,
                                 message: "yaml: line \(context.mark.line): mapping key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) already defined")
        default:
            return ManifestError(source: source, message: "yaml: \(error)")
        }
    }

    static func jsonErrorText(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let ctx) = error {
            return (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? ctx.debugDescription
        }
        return "\(error)"
    }

    /// Converts a YAML node to JSON with YAML 1.1 scalar resolution, as sigs.k8s.io/yaml does.
    static func jsonValue(from node: Node) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map { .bool($0) } ?? .string(scalar.string)
            case .int:
                if let i = yamlInteger(scalar.string) { return .int(i) }
                if let i = node.int { return .int(Int64(i)) }
                return node.float.map { .double($0) } ?? .string(scalar.string)
            case .float: return node.float.map { .double($0) } ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            var fields: [String: JSONValue] = [:]
            for (k, v) in mapping {
                guard case .scalar(let key) = k else {
                    throw ManifestError(source: "", line: k.mark?.line, message: "yaml: mapping keys must be scalars")
                }
                fields[key.string] = try jsonValue(from: v)
            }
            return .object(fields)
        case .sequence(let seq):
            return .array(try seq.map(jsonValue(from:)))
        case .alias:
            throw ManifestError(source: "", line: node.mark?.line, message: "yaml: unresolved alias")
        }
    }

    /// YAML 1.1 integers as sigs.k8s.io/yaml reads them: `0644` is octal (file modes),
    /// `0x1F` hex, `0b101` binary, underscores allowed.
    static func yamlInteger(_ text: String) -> Int64? {
        var s = text.replacingOccurrences(of: "_", with: "")
        var sign: Int64 = 1
        if s.hasPrefix("-") { sign = -1; s.removeFirst() } else if s.hasPrefix("+") { s.removeFirst() }
        let value: Int64?
        if s.hasPrefix("0x") {
            value = Int64(s.dropFirst(2), radix: 16)
        } else if s.hasPrefix("0o") {
            value = Int64(s.dropFirst(2), radix: 8)
        } else if s.hasPrefix("0b") {
            value = Int64(s.dropFirst(2), radix: 2)
        } else if s.count > 1, s.hasPrefix("0"), s.allSatisfy({ ("0"..."7").contains($0) }) {
            value = Int64(s.dropFirst(), radix: 8)
        } else {
            value = Int64(s)
        }
        return value.map { $0 * sign }
    }

    /// Renders JSON as YAML (for `-o yaml`), keys sorted, ambiguous strings quoted.
    public static func yaml(_ value: JSONValue) -> String {
        (try? Yams.serialize(node: node(value), indent: 2, width: -1, allowUnicode: true, sortKeys: true)) ?? value.jsonString(pretty: true)
    }

    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .int(let i): return Node(String(i), Tag(.int))
        case .double(let d): return Node(JSONValue.double(d).jsonString(), Tag(.float))
        case .string(let s):
            // A string that would read back as another type, or is multi-line, must be quoted or blocked.
            if s.contains("\n") { return Node(s, Tag(.str), .literal) }
            let resolved = (try? Yams.compose(yaml: s)).flatMap { $0 }
            let needsQuotes = s.isEmpty || resolved?.tag.rawValue != Tag.Name.str.rawValue || resolved?.string != s || s.hasPrefix(" ") || s.hasSuffix(" ")
            return Node(s, Tag(.str), needsQuotes ? .doubleQuoted : .plain)
        case .array(let items): return Node(items.map(node))
        case .object(let fields): return Node(fields.sorted { $0.key < $1.key }.map { (Node($0.key), node($0.value)) })
        }
    }
}
