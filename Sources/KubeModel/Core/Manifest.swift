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
        let trimmed = text.drop { $0.isWhitespace }
        var roots: [(JSONValue, Int?)] = []
        if trimmed.first == "{" || trimmed.first == "[" {
            do {
                let value = try JSONValue.parse(Data(text.utf8))
                roots = [(value, nil)]
            } catch {
                throw ManifestError(source: source, index: 0, message: "invalid JSON: \(jsonErrorText(error))")
            }
        } else {
            do {
                let parser = try Parser(yaml: text)
                while let node = try parser.nextRoot() {
                    roots.append((try jsonValue(from: node), node.mark?.line))
                }
            } catch let error as YamlError {
                throw yamlError(error, source: source)
            } catch let error as ManifestError {
                throw ManifestError(source: source, index: roots.count, line: error.line, message: error.message)
            } catch {
                throw ManifestError(source: source, message: "\(error)")
            }
        }
        var documents: [ManifestDocument] = []
        for (i, (root, line)) in roots.enumerated() {
            if case .null = root { continue }
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
                    documents.append(ManifestDocument(source: source, index: i, object: try Object(json: item)))
                } catch {
                    let name = item["metadata"]?["name"]?.stringValue ?? ""
                    throw ManifestError(source: source, index: i, line: line,
                                        message: "resource mapping not found for name: \"\(name)\": \(error)")
                }
            }
        }
        return documents
    }

    /// Reads a file, a folder (`.yaml`, `.yml`, `.json`; `recursive` for subfolders) or `-`.
    public static func load(path: String, recursive: Bool = false) throws(ManifestError) -> [ManifestDocument] {
        var docs: [ManifestDocument] = []
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
            docs += try decode(text, source: file)
        }
        return docs
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
            FileManager.default.fileExists(atPath: full, isDirectory: &sub)
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
                if let i = Int64(scalar.string.replacingOccurrences(of: "_", with: "")) { return .int(i) }
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
