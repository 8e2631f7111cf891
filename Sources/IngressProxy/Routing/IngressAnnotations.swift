/// The per-Ingress settings kplane reads from annotations, typed and validated. Each name is
/// read under `kplane.dev/` first, then under `nginx.ingress.kubernetes.io/` so that existing
/// manifests keep working. An invalid value is reported and the default is used instead, the
/// way ingress-nginx ignores a bad annotation rather than the whole Ingress.
public struct IngressAnnotations: Sendable, Hashable {
    public static let prefixes = ["kplane.dev/", "nginx.ingress.kubernetes.io/"]

    /// How the backend is reached.
    public enum BackendProtocol: String, Sendable, Hashable {
        case http = "HTTP"
        case https = "HTTPS"
    }

    /// How an endpoint is chosen for a request.
    public enum LoadBalancing: String, Sendable, Hashable {
        case roundRobin = "round-robin"
        case leastRequest = "least-request"
    }

    /// Cookie-based session affinity (`affinity: cookie`).
    public struct CookieAffinity: Sendable, Hashable {
        public var name = "INGRESSCOOKIE"
        public var path: String?
        public var maxAgeSeconds: Int?
    }

    /// Replaces the matched path prefix (`rewrite-target`). Regex captures are not supported.
    public var rewriteTarget: String?
    /// Redirect plain HTTP to HTTPS (308) when the host has TLS.
    public var sslRedirect = false
    /// Redirect plain HTTP to HTTPS (308) even when the host has no TLS.
    public var forceSSLRedirect = false
    /// Largest request body accepted; nil means unlimited.
    public var maxBodyBytes: Int64?
    public var connectTimeoutSeconds: Double = 5
    public var readTimeoutSeconds: Double = 60
    public var sendTimeoutSeconds: Double = 60
    public var backendProtocol: BackendProtocol = .http
    public var affinity: CookieAffinity?
    /// nil: the controller's default policy.
    public var loadBalancing: LoadBalancing?

    public init() {}

    /// One annotation that could not be used.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var annotation: String
        public var value: String
        public var message: String
        public var description: String { "annotation \(annotation)=\"\(value)\": \(message)" }
    }

    /// Parses the annotations of one Ingress.
    public static func parse(_ annotations: [String: String]) -> (IngressAnnotations, [Problem]) {
        var result = IngressAnnotations()
        var problems: [Problem] = []

        func lookup(_ name: String) -> (key: String, value: String)? {
            for prefix in prefixes {
                if let v = annotations[prefix + name] { return (prefix + name, v.trimmingSpaces) }
            }
            return nil
        }
        func read<T>(_ name: String, _ parse: (String) -> T?, _ expected: String) -> T? {
            guard let (key, value) = lookup(name) else { return nil }
            if let v = parse(value) { return v }
            problems.append(Problem(annotation: key, value: value, message: "invalid value, expected \(expected); using the default"))
            return nil
        }

        if let (key, value) = lookup("rewrite-target") {
            if !value.hasPrefix("/") {
                problems.append(Problem(annotation: key, value: value, message: "must be an absolute path"))
            } else if value.contains("$") {
                problems.append(Problem(annotation: key, value: value, message: "regex captures are not supported; the matched prefix is replaced by a fixed path"))
            } else if value.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) {
                problems.append(Problem(annotation: key, value: value, message: "must not contain spaces or control characters"))
            } else {
                result.rewriteTarget = value
            }
        }
        result.sslRedirect = read("ssl-redirect", parseBool, "true or false") ?? false
        result.forceSSLRedirect = read("force-ssl-redirect", parseBool, "true or false") ?? false
        if let size = read("proxy-body-size", parseSize, "a size such as 8m, 512k, 1g or 0 for unlimited") {
            result.maxBodyBytes = size == 0 ? nil : size
        }
        result.connectTimeoutSeconds = read("proxy-connect-timeout", parseSeconds, "seconds between 1 and 3600") ?? 5
        result.readTimeoutSeconds = read("proxy-read-timeout", parseSeconds, "seconds between 1 and 3600") ?? 60
        result.sendTimeoutSeconds = read("proxy-send-timeout", parseSeconds, "seconds between 1 and 3600") ?? 60
        result.backendProtocol = read("backend-protocol", { BackendProtocol(rawValue: $0.uppercased()) }, "HTTP or HTTPS") ?? .http
        if let mode = read("affinity", { $0 == "cookie" ? $0 : nil }, "cookie") {
            _ = mode
            var affinity = CookieAffinity()
            if let name = read("session-cookie-name", { isToken($0) ? $0 : nil }, "a cookie name (token characters)") { affinity.name = name }
            if let path = read("session-cookie-path", { $0.hasPrefix("/") && !$0.contains(";") ? $0 : nil }, "an absolute path") { affinity.path = path }
            affinity.maxAgeSeconds = read("session-cookie-max-age", { Int($0).flatMap { $0 > 0 ? $0 : nil } }, "a positive number of seconds")
            result.affinity = affinity
        }
        result.loadBalancing = read("load-balance", parseLoadBalancing, "round-robin or least-request (nginx: round_robin or ewma)")
        return (result, problems)
    }

    static func parseBool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    /// nginx sizes: a number with an optional k, m or g suffix (powers of 1024).
    static func parseSize(_ s: String) -> Int64? {
        guard let last = s.last else { return nil }
        var digits = Substring(s)
        var multiplier: Int64 = 1
        switch last {
        case "k", "K": multiplier = 1 << 10; digits = digits.dropLast()
        case "m", "M": multiplier = 1 << 20; digits = digits.dropLast()
        case "g", "G": multiplier = 1 << 30; digits = digits.dropLast()
        default: break
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let n = Int64(digits), n <= Int64.max / multiplier else { return nil }
        return n * multiplier
    }

    static func parseSeconds(_ s: String) -> Double? {
        let digits = s.hasSuffix("s") ? String(s.dropLast()) : s
        guard let n = Int(digits), (1...3600).contains(n) else { return nil }
        return Double(n)
    }

    static func parseLoadBalancing(_ s: String) -> LoadBalancing? {
        switch s.lowercased() {
        case "round-robin", "round_robin": return .roundRobin
        case "least-request", "least_request", "ewma": return .leastRequest
        default: return nil
        }
    }

    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
