/// The API server's name and label syntax checks (k8s.io/apimachinery/pkg/util/validation).
/// Each returns the list of problems; an empty list means valid.
public enum NameValidation {
    static let dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let dns1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    static let dns1035LabelMessage = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    static let qualifiedNameMessage = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    static let labelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

    private static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
    private static func isAlnum(_ c: UInt8) -> Bool { isLowerAlnum(c) || (c >= 65 && c <= 90) }

    static func matchesDNS1123Label(_ s: Substring) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, let last = b.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == 45 }
    }

    /// RFC 1123 label: at most 63 characters of [a-z0-9-], alphanumeric at both ends.
    public static func dns1123Label(_ s: String) -> [String] {
        var errs: [String] = []
        if s.utf8.count > 63 { errs.append("must be no more than 63 characters") }
        if !matchesDNS1123Label(Substring(s)) { errs.append(dns1123LabelMessage) }
        return errs
    }

    /// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
    public static func dns1123Subdomain(_ s: String) -> [String] {
        var errs: [String] = []
        if s.utf8.count > 253 { errs.append("must be no more than 253 characters") }
        let ok = !s.isEmpty && s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(matchesDNS1123Label)
        if !ok { errs.append(dns1123SubdomainMessage) }
        return errs
    }

    /// RFC 1035 label: like an RFC 1123 label but starting with a letter (Service names).
    public static func dns1035Label(_ s: String) -> [String] {
        var errs: [String] = []
        if s.utf8.count > 63 { errs.append("must be no more than 63 characters") }
        let b = Array(s.utf8)
        let ok = matchesDNS1123Label(Substring(s)) && (b.first.map { $0 >= 97 && $0 <= 122 } ?? false)
        if !ok { errs.append(dns1035LabelMessage) }
        return errs
    }

    private static func matchesQualifiedNamePart(_ s: Substring) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, let last = b.last, isAlnum(first), isAlnum(last) else { return false }
        return b.allSatisfy { isAlnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
    }

    /// A label or annotation key: `[prefix/]name`, prefix a DNS subdomain.
    public static func qualifiedName(_ s: String) -> [String] {
        var errs: [String] = []
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = String(parts[0])
            name = parts[1]
            if prefix.isEmpty {
                errs.append("prefix part must be non-empty")
            } else {
                errs += dns1123Subdomain(prefix).map { "prefix part " + $0 }
            }
        default:
            return ["a qualified name " + qualifiedNameMessage.replacingOccurrences(of: "name part ", with: "") + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errs.append("name part must be non-empty")
        } else if name.utf8.count > 63 {
            errs.append("name part must be no more than 63 characters")
        }
        if !name.isEmpty && !matchesQualifiedNamePart(name) { errs.append(qualifiedNameMessage) }
        return errs
    }

    /// A label value: empty, or at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends.
    public static func labelValue(_ s: String) -> [String] {
        var errs: [String] = []
        if s.utf8.count > 63 { errs.append("must be no more than 63 characters") }
        if !s.isEmpty && !matchesQualifiedNamePart(Substring(s)) { errs.append(labelValueMessage) }
        return errs
    }

    /// An IANA service name (named ports): at most 15 characters, [a-z0-9-], one letter at least.
    public static func ianaServiceName(_ s: String) -> [String] {
        var errs: [String] = []
        let b = Array(s.utf8)
        if b.count > 15 { errs.append("must be no more than 15 characters") }
        if !b.allSatisfy({ isLowerAlnum($0) || $0 == 45 }) { errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)") }
        if s.contains("--") { errs.append("must not contain consecutive hyphens") }
        if !b.contains(where: { $0 >= 97 && $0 <= 122 }) { errs.append("must contain at least one letter (a-z)") }
        if b.first == 45 || b.last == 45 { errs.append("must not begin or end with a hyphen") }
        return errs
    }

    /// A ConfigMap or Secret data key.
    public static func configMapKey(_ s: String) -> [String] {
        var errs: [String] = []
        if s.utf8.count > 253 { errs.append("must be no more than 253 characters") }
        let ok = !s.isEmpty && s.utf8.allSatisfy { isAlnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
        if !ok { errs.append("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')") }
        if s == "." || s == ".." || s.hasPrefix("..") { errs.append("must not be '.' or '..' or start with '..'") }
        return errs
    }

    /// Validates a map of labels at `path`.
    public static func labels(_ labels: [String: String]?, at path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        for (k, v) in (labels ?? [:]).sorted(by: { $0.key < $1.key }) {
            for msg in qualifiedName(k) { errs.append(.invalid(path, k, msg)) }
            for msg in labelValue(v) { errs.append(.invalid(path.key(k), v, msg)) }
        }
        return errs
    }

    /// Validates annotation keys and the total size limit (256 KiB).
    public static func annotations(_ annotations: [String: String]?, at path: FieldPath) -> [FieldError] {
        var errs: [FieldError] = []
        var total = 0
        for (k, v) in (annotations ?? [:]).sorted(by: { $0.key < $1.key }) {
            for msg in qualifiedName(k.lowercased()) { errs.append(.invalid(path, k, msg)) }
            total += k.utf8.count + v.utf8.count
        }
        if total > 256 * 1024 { errs.append(FieldError(.tooLong(256 * 1024), path)) }
        return errs
    }
}
