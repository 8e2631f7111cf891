/// `metav1.LabelSelector`: `matchLabels` and `matchExpressions`, ANDed. An empty selector
/// matches everything; the callers decide what a missing selector means.
public struct LabelSelector: Sendable, Hashable, Codable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [Expression]?

    public struct Expression: Sendable, Hashable, Codable {
        public var key: String
        public var `operator`: String
        public var values: [String]?

        public init(key: String, operator op: String, values: [String]? = nil) {
            self.key = key
            self.operator = op
            self.values = values
        }
    }

    public init(matchLabels: [String: String]? = nil, matchExpressions: [Expression]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    public var isEmpty: Bool { (matchLabels ?? [:]).isEmpty && (matchExpressions ?? []).isEmpty }

    /// The selector as requirements (what `matches` evaluates).
    public var requirements: [Requirement] {
        var reqs: [Requirement] = []
        for (k, v) in (matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) {
            reqs.append(Requirement(key: k, op: .in, values: [v]))
        }
        for e in matchExpressions ?? [] {
            let op: Requirement.Operator
            switch e.operator {
            case "In": op = .in
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            case "DoesNotExist": op = .doesNotExist
            default: op = .in  // rejected by validation; treated as never matching below
            }
            if !["In", "NotIn", "Exists", "DoesNotExist"].contains(e.operator) {
                reqs.append(Requirement(key: e.key, op: .in, values: []))
            } else {
                reqs.append(Requirement(key: e.key, op: op, values: e.values ?? []))
            }
        }
        return reqs
    }

    public func matches(_ labels: [String: String]?) -> Bool {
        let l = labels ?? [:]
        return requirements.allSatisfy { $0.matches(l) }
    }

    /// Validation as `metav1validation.ValidateLabelSelector`.
    public func validate(at path: FieldPath) -> [FieldError] {
        var errs = NameValidation.labels(matchLabels, at: path.child("matchLabels"))
        for (i, e) in (matchExpressions ?? []).enumerated() {
            let p = path.child("matchExpressions").index(i)
            switch e.operator {
            case "In", "NotIn":
                if (e.values ?? []).isEmpty {
                    errs.append(.required(p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
                }
            case "Exists", "DoesNotExist":
                if !(e.values ?? []).isEmpty {
                    errs.append(.forbidden(p.child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
                }
            default:
                errs.append(.invalid(p.child("operator"), e.operator, "not a valid selector operator"))
            }
            for msg in NameValidation.qualifiedName(e.key) { errs.append(.invalid(p.child("key"), e.key, msg)) }
            for (j, v) in (e.values ?? []).enumerated() {
                for msg in NameValidation.labelValue(v) { errs.append(.invalid(p.child("values").index(j), v, msg)) }
            }
        }
        return errs
    }
}

/// One condition of a selector, in either form.
public struct Requirement: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable, Hashable {
        case equals = "="
        case notEquals = "!="
        case `in` = "in"
        case notIn = "notin"
        case exists = "exists"
        case doesNotExist = "!"
        case greaterThan = "gt"
        case lessThan = "lt"
    }

    public var key: String
    public var op: Operator
    public var values: [String]

    public func matches(_ labels: [String: String]) -> Bool {
        let v = labels[key]
        switch op {
        case .equals, .in: return v.map { values.contains($0) } ?? false
        case .notEquals, .notIn: return v.map { !values.contains($0) } ?? true
        case .exists: return v != nil
        case .doesNotExist: return v == nil
        case .greaterThan:
            guard let v, let n = Int64(v), let bound = values.first.flatMap({ Int64($0) }) else { return false }
            return n > bound
        case .lessThan:
            guard let v, let n = Int64(v), let bound = values.first.flatMap({ Int64($0) }) else { return false }
            return n < bound
        }
    }

    public var description: String {
        switch op {
        case .equals: return "\(key)=\(values.first ?? "")"
        case .notEquals: return "\(key)!=\(values.first ?? "")"
        case .in: return values.count == 1 ? "\(key)=\(values[0])" : "\(key) in (\(values.sorted().joined(separator: ",")))"
        case .notIn: return "\(key) notin (\(values.sorted().joined(separator: ",")))"
        case .exists: return key
        case .doesNotExist: return "!\(key)"
        case .greaterThan: return "\(key)>\(values.first ?? "")"
        case .lessThan: return "\(key)<\(values.first ?? "")"
        }
    }
}

/// A selector in kubectl's string form (`-l app=web,tier!=db,env in (a,b),!legacy`).
public struct LabelQuery: Sendable, Hashable, CustomStringConvertible {
    public var requirements: [Requirement]

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(requirements: [Requirement]) { self.requirements = requirements }

    public init(_ text: String) throws {
        var reqs: [Requirement] = []
        for raw in LabelQuery.splitTopLevel(text) {
            let part = raw.trimmingCharacters(in: .whitespaces)
            if part.isEmpty { continue }
            reqs.append(try LabelQuery.parseRequirement(part))
        }
        requirements = reqs
    }

    public func matches(_ labels: [String: String]?) -> Bool {
        let l = labels ?? [:]
        return requirements.allSatisfy { $0.matches(l) }
    }

    public var description: String { requirements.map(\.description).joined(separator: ",") }

    /// Splits on commas outside parentheses.
    static func splitTopLevel(_ s: String) -> [String] {
        var parts: [String] = [], cur = "", depth = 0
        for c in s {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if c == "," && depth == 0 { parts.append(cur); cur = "" } else { cur.append(c) }
        }
        parts.append(cur)
        return parts
    }

    static func checkKey(_ key: String, in part: String) throws -> String {
        let k = key.trimmingCharacters(in: .whitespaces)
        if let msg = NameValidation.qualifiedName(k).first {
            throw ParseError(description: "unable to parse requirement: key: Invalid value: \"\(k)\": \(msg)")
        }
        return k
    }

    static func checkValue(_ value: String) throws -> String {
        let v = value.trimmingCharacters(in: .whitespaces)
        if let msg = NameValidation.labelValue(v).first {
            throw ParseError(description: "unable to parse requirement: values[0]: Invalid value: \"\(v)\": \(msg)")
        }
        return v
    }

    static func parseRequirement(_ part: String) throws -> Requirement {
        if part.hasPrefix("!") {
            return Requirement(key: try checkKey(String(part.dropFirst()), in: part), op: .doesNotExist, values: [])
        }
        for (token, op) in [(" notin ", Requirement.Operator.notIn), (" in ", .in)] {
            if let r = part.range(of: token) {
                let key = try checkKey(String(part[..<r.lowerBound]), in: part)
                let rest = part[r.upperBound...].trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("("), rest.hasSuffix(")") else {
                    throw ParseError(description: "found '\(rest)', expected: '('")
                }
                let values = try rest.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false).map { try checkValue(String($0)) }
                return Requirement(key: key, op: op, values: values)
            }
        }
        for (token, op) in [("!=", Requirement.Operator.notEquals), ("==", .equals), ("=", .equals), (">", .greaterThan), ("<", .lessThan)] {
            if let r = part.range(of: token) {
                let key = try checkKey(String(part[..<r.lowerBound]), in: part)
                let value = String(part[r.upperBound...])
                if op == .greaterThan || op == .lessThan {
                    guard Int64(value.trimmingCharacters(in: .whitespaces)) != nil else {
                        throw ParseError(description: "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
                    }
                    return Requirement(key: key, op: op, values: [value.trimmingCharacters(in: .whitespaces)])
                }
                return Requirement(key: key, op: op, values: [try checkValue(value)])
            }
        }
        return Requirement(key: try checkKey(part, in: part), op: .exists, values: [])
    }
}
