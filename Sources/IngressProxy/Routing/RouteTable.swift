import KubeModel

/// An Ingress, by namespace and name.
public typealias IngressRef = NamespacedName

/// How a rule path is compared with the request path.
public enum PathType: String, Sendable, Hashable {
    case exact = "Exact"
    case prefix = "Prefix"
    /// Behaves as `Prefix` in kplane (documented choice).
    case implementationSpecific = "ImplementationSpecific"
}

/// One path of one rule, compiled: what a request that matches it gets.
public final class Route: Sendable {
    public let ingress: IngressRef
    /// The rule's host as written (`*.foo.com`), or nil for a rule without host.
    public let host: String?
    /// The path as written (nil for a default backend), and its type.
    public let path: String?
    public let pathType: PathType?
    public let backend: Backend
    public let options: IngressAnnotations
    /// Plain HTTP answers 308 to https (ssl-redirect with TLS for the host, or force-ssl-redirect).
    public let redirectToHTTPS: Bool
    /// Index of the rule and path in the Ingress (for explanations), nil for a default backend.
    public let ruleIndex: Int?
    public let pathIndex: Int?
    /// `namespace/name` of the Ingress and of the service, made once for metrics and logs.
    let ingressLabel: String
    let serviceLabel: String

    init(ingress: IngressRef, host: String?, path: String?, pathType: PathType?, backend: Backend, options: IngressAnnotations,
         redirectToHTTPS: Bool, ruleIndex: Int?, pathIndex: Int?) {
        self.ingress = ingress
        self.host = host
        self.path = path
        self.pathType = pathType
        self.backend = backend
        self.options = options
        self.redirectToHTTPS = redirectToHTTPS
        self.ruleIndex = ruleIndex
        self.pathIndex = pathIndex
        self.ingressLabel = ingress.description
        self.serviceLabel = backend.target.serviceLabel
    }

    /// The path the backend receives: with rewrite-target, the matched prefix replaced.
    public func upstreamPath(for requestPath: String) -> String {
        guard let target = options.rewriteTarget else { return requestPath }
        let prefix = Route.trimmedPrefix(path ?? "/")
        var rest = Substring(requestPath)
        if prefix != "/" && rest.hasPrefix(prefix) { rest = rest.dropFirst(prefix.count) } else if prefix == "/" { rest = rest.dropFirst() }
        if rest.isEmpty { return target }
        if target.hasSuffix("/") { return target + (rest.hasPrefix("/") ? rest.dropFirst() : rest) }
        return target + (rest.hasPrefix("/") ? rest : "/" + rest)
    }

    /// A Prefix path without its trailing slash ("/" stays "/").
    static func trimmedPrefix(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return p.isEmpty ? "/" : String(p)
    }
}

/// The routes of one host (or of every host, for rules without host).
public final class HostRoutes: Sendable {
    /// Exact paths, by path as written.
    let exact: [String: Route]
    /// Prefix paths without trailing slash, longest first.
    let prefixes: [(prefix: String, route: Route)]
    /// The default backend of the oldest Ingress that defines this host, if it has one.
    let fallback: Route?

    init(exact: [String: Route], prefixes: [(prefix: String, route: Route)], fallback: Route?) {
        self.exact = exact
        self.prefixes = prefixes.sorted { $0.prefix.utf8.count > $1.prefix.utf8.count }
        self.fallback = fallback
    }

    /// The longest matching path; Exact beats a Prefix of equal length (an Exact match is
    /// always the whole request path, so it is never shorter than a Prefix match).
    func match(_ path: String) -> Route? {
        if let r = exact[path] { return r }
        for (prefix, route) in prefixes where RouteTable.prefixMatches(prefix, path) { return route }
        return nil
    }
}

/// The compiled routing table: immutable, built from one snapshot, swapped atomically.
public struct RouteTable: Sendable {
    let exactHosts: [String: HostRoutes]
    /// Wildcard hosts by the domain after `*.`.
    let wildcardHosts: [String: HostRoutes]
    let anyHost: HostRoutes?
    /// The default backend of the oldest Ingress that has one.
    public let defaultRoute: Route?
    /// TLS hosts (exact or `*.` wildcard) and the Secret each should be served with.
    public let tlsHosts: [String: TLSAssignment]
    /// What could not be compiled (conflicts, missing services, bad annotations), for logs and events.
    public let problems: [RouteProblem]
    /// Ingresses this controller handles (their status gets the node address).
    let handledSet: Set<IngressRef>
    /// Number of path rules compiled.
    public let routeCount: Int

    init(exactHosts: [String: HostRoutes], wildcardHosts: [String: HostRoutes], anyHost: HostRoutes?, defaultRoute: Route?,
         tlsHosts: [String: TLSAssignment], problems: [RouteProblem], handledSet: Set<IngressRef>, routeCount: Int) {
        self.exactHosts = exactHosts
        self.wildcardHosts = wildcardHosts
        self.anyHost = anyHost
        self.defaultRoute = defaultRoute
        self.tlsHosts = tlsHosts
        self.problems = problems
        self.handledSet = handledSet
        self.routeCount = routeCount
    }

    /// An empty table: every request gets 404.
    public static let empty = RouteTable(exactHosts: [:], wildcardHosts: [:], anyHost: nil, defaultRoute: nil, tlsHosts: [:], problems: [], handledSet: [], routeCount: 0)

    /// Ingresses this controller handles, sorted.
    public var handled: [IngressRef] { handledSet.sorted() }

    /// Whether this controller handles an Ingress.
    public func handles(_ ingress: IngressRef) -> Bool { handledSet.contains(ingress) }

    /// The route for a normalized host (see `RequestTarget.normalizeHost`) and normalized path,
    /// or nil (404). The most specific host group is chosen first (exact, then wildcard, then
    /// rules without host); within it the longest path; then that host's Ingress default backend,
    /// then the global default backend.
    public func match(host: String, path: String) -> Route? {
        if let group = hostGroup(host) {
            return group.match(path) ?? group.fallback ?? defaultRoute
        }
        return defaultRoute
    }

    func hostGroup(_ host: String) -> HostRoutes? {
        if let g = exactHosts[host] { return g }
        if !wildcardHosts.isEmpty, let dot = host.utf8.firstIndex(of: UInt8(ascii: ".")) {
            let parent = String(host[host.index(after: dot)...])
            if !parent.isEmpty, dot != host.startIndex, let g = wildcardHosts[parent] { return g }
        }
        return anyHost
    }

    /// Element-wise prefix match: `/foo/bar` matches `/foo/bar`, `/foo/bar/` and `/foo/bar/baz`,
    /// not `/foo/barbaz`. `prefix` has no trailing slash (except "/").
    static func prefixMatches(_ prefix: String, _ path: String) -> Bool {
        if prefix.utf8.count == 1 { return true }  // "/"
        guard path.utf8.starts(with: prefix.utf8) else { return false }
        let pu = path.utf8
        if pu.count == prefix.utf8.count { return true }
        return pu[pu.index(pu.startIndex, offsetBy: prefix.utf8.count)] == UInt8(ascii: "/")
    }
}

/// Something in the Ingress objects that kplane could not use as written.
public struct RouteProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case conflict, backend, annotation, tls, invalid
    }
    public var kind: Kind
    public var ingress: IngressRef
    public var message: String
    public init(_ kind: Kind, _ ingress: IngressRef, _ message: String) {
        self.kind = kind
        self.ingress = ingress
        self.message = message
    }
    public var description: String { "ingress \(ingress): \(message)" }
}
