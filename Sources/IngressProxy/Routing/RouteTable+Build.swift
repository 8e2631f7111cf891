import KubeModel

/// A host covered by a `spec.tls` entry, and the Secret that should serve it.
public struct TLSAssignment: Sendable, Hashable {
    public var ingress: IngressRef
    /// The Secret's namespace and name; nil when the entry names no Secret (default certificate).
    public var secretNamespace: String
    public var secretName: String?
}

extension RouteTable {
    /// Computes the table from one snapshot. Pure: the same inputs give the same table.
    ///
    /// Ingresses are taken oldest first (creationTimestamp, then namespace/name); on a conflict
    /// for the same host and path, default backend or TLS host the oldest wins and the newer
    /// one is reported in `problems`.
    public static func build(_ inputs: RouteInputs, settings: IngressClassSettings = IngressClassSettings()) -> RouteTable {
        var problems: [RouteProblem] = []
        let candidates = inputs.ingresses.filter { settings.handles($0, classes: inputs.classes) && $0.metadata.deletionTimestamp == nil }
        // Sorted by key, then taken in that order: sorting the Ingresses themselves moved whole
        // structures around (a tenth of a 10,000-rule build).
        let order = candidates.indices.map { i in
            (time: candidates[i].metadata.creationTimestamp ?? "~", namespace: candidates[i].namespace, name: candidates[i].name, index: i)
        }.sorted { a, b in a.time != b.time ? a.time < b.time : (a.namespace, a.name) < (b.namespace, b.name) }
        let ingresses = order.map { candidates[$0.index] }
        let resolver = EndpointResolver(inputs)
        let tlsHosts = assignTLS(ingresses, problems: &problems)

        final class HostBuilder {
            var exact: [String: Route] = [:]
            var prefixes: [String: Route] = [:]
            var fallback: Route?
        }
        var exactHosts: [String: HostBuilder] = [:]
        var wildcardHosts: [String: HostBuilder] = [:]
        var anyHost: HostBuilder?
        var defaultRoute: Route?
        var backends: [String: Backend] = [:]
        var routeCount = 0

        func backend(_ namespace: String, _ b: Ingress.Backend) -> Backend {
            if let svc = b.service {
                let key = "\(namespace)/\(svc.name)/\(svc.port?.number.map(String.init) ?? "name:" + (svc.port?.name ?? ""))"
                if let hit = backends[key] { return hit }
                let made = resolver.resolve(namespace: namespace, svc)
                backends[key] = made
                return made
            }
            let kind = b.resource?.kind ?? "unknown"
            let target = Backend.Target.resource(namespace: namespace, kind: kind, name: b.resource?.name ?? "")
            return Backend(target: target, endpoints: [], unavailableReason: "resource backends (\(kind)) are not supported by kplane")
        }

        func group(for host: String?) -> HostBuilder {
            guard let host else {
                if let g = anyHost { return g }
                let g = HostBuilder(); anyHost = g; return g
            }
            if host.hasPrefix("*.") {
                let parent = String(host.dropFirst(2))
                if let g = wildcardHosts[parent] { return g }
                let g = HostBuilder(); wildcardHosts[parent] = g; return g
            }
            if let g = exactHosts[host] { return g }
            let g = HostBuilder(); exactHosts[host] = g; return g
        }

        func hasTLS(_ host: String?) -> Bool {
            guard let host else { return false }
            if tlsHosts[host] != nil { return true }
            if let dot = host.firstIndex(of: "."), tlsHosts["*." + host[host.index(after: dot)...]] != nil { return true }
            return false
        }

        for ing in ingresses {
            let ref = IngressRef(namespace: ing.namespace, name: ing.name)
            let (options, annotationProblems) = IngressAnnotations.parse(ing.annotations)
            problems += annotationProblems.map { RouteProblem(.annotation, ref, $0.description) }

            var ownDefault: Route?
            if let db = ing.spec.defaultBackend {
                let b = backend(ing.namespace, db)
                let route = Route(ingress: ref, host: nil, path: nil, pathType: nil, backend: b, options: options,
                                  redirectToHTTPS: options.forceSSLRedirect, ruleIndex: nil, pathIndex: nil)
                ownDefault = route
                if let existing = defaultRoute {
                    problems.append(RouteProblem(.conflict, ref, "default backend ignored: the older ingress \(existing.ingress) already sets one"))
                } else {
                    defaultRoute = route
                }
                if b.endpoints.isEmpty, let why = b.unavailableReason { problems.append(RouteProblem(.backend, ref, "default backend: \(why)")) }
            }

            for (ri, rule) in (ing.spec.rules ?? []).enumerated() {
                var host: String?
                if let h = rule.host, !h.isEmpty {
                    let lower = h.lowercased()
                    guard isValidRuleHost(lower) else {
                        problems.append(RouteProblem(.invalid, ref, "rule \(ri): invalid host \"\(h)\", rule ignored"))
                        continue
                    }
                    host = lower
                }
                let g = group(for: host)
                if g.fallback == nil, host != nil, let ownDefault { g.fallback = ownDefault }
                let redirect = options.forceSSLRedirect || (options.sslRedirect && hasTLS(host))
                for (pi, p) in (rule.http?.paths ?? []).enumerated() {
                    let where_ = "host \(host ?? "*") path \(p.path ?? "") (rule \(ri), path \(pi))"
                    guard let type = PathType(rawValue: p.pathType ?? "") else {
                        problems.append(RouteProblem(.invalid, ref, "\(where_): pathType \"\(p.pathType ?? "")\" is not Exact, Prefix or ImplementationSpecific; path ignored"))
                        continue
                    }
                    let written = (p.path ?? "").isEmpty && type == .implementationSpecific ? "/" : (p.path ?? "")
                    guard let normalized = RequestTarget.normalizePath(written) else {
                        problems.append(RouteProblem(.invalid, ref, "\(where_): path must be absolute and well-formed; path ignored"))
                        continue
                    }
                    let b = backend(ing.namespace, p.backend)
                    if b.endpoints.isEmpty, let why = b.unavailableReason { problems.append(RouteProblem(.backend, ref, "\(where_): \(why)")) }
                    let route = Route(ingress: ref, host: host, path: written, pathType: type, backend: b, options: options,
                                      redirectToHTTPS: redirect, ruleIndex: ri, pathIndex: pi)
                    let existing: Route?
                    if type == .exact {
                        existing = g.exact[normalized]
                        if existing == nil { g.exact[normalized] = route }
                    } else {
                        let key = Route.trimmedPrefix(normalized)
                        existing = g.prefixes[key]
                        if existing == nil { g.prefixes[key] = route }
                    }
                    if let existing {
                        let owner = existing.ingress == ref ? "an earlier path of the same ingress" : "the older ingress \(existing.ingress)"
                        problems.append(RouteProblem(.conflict, ref, "\(where_) ignored: \(owner) already routes it"))
                    } else {
                        routeCount += 1
                    }
                }
            }
        }

        func compile(_ b: HostBuilder) -> HostRoutes {
            HostRoutes(exact: b.exact, prefixes: b.prefixes.map { ($0.key, $0.value) }, fallback: b.fallback)
        }
        return RouteTable(
            exactHosts: exactHosts.mapValues(compile),
            wildcardHosts: wildcardHosts.mapValues(compile),
            anyHost: anyHost.map(compile),
            defaultRoute: defaultRoute,
            tlsHosts: tlsHosts,
            problems: problems,
            handled: ingresses.map { IngressRef(namespace: $0.namespace, name: $0.name) }.sorted(),
            routeCount: routeCount
        )
    }

    /// `spec.tls` hosts, oldest Ingress first. An entry without hosts covers its Ingress's rule hosts.
    static func assignTLS(_ ingresses: [Ingress], problems: inout [RouteProblem]) -> [String: TLSAssignment] {
        var out: [String: TLSAssignment] = [:]
        for ing in ingresses {
            let ref = IngressRef(namespace: ing.namespace, name: ing.name)
            let ruleHosts = (ing.spec.rules ?? []).compactMap { $0.host?.lowercased() }.filter { !$0.isEmpty }
            for (i, tls) in (ing.spec.tls ?? []).enumerated() {
                let hosts = (tls.hosts ?? []).isEmpty ? ruleHosts : (tls.hosts ?? []).map { $0.lowercased() }
                let secret = (tls.secretName ?? "").isEmpty ? nil : tls.secretName
                for host in hosts {
                    guard isValidRuleHost(host) else {
                        problems.append(RouteProblem(.invalid, ref, "tls[\(i)]: invalid host \"\(host)\" ignored"))
                        continue
                    }
                    if let existing = out[host] {
                        if existing.secretName != secret || existing.secretNamespace != ing.namespace {
                            problems.append(RouteProblem(.conflict, ref, "tls[\(i)] host \(host) ignored: the older ingress \(existing.ingress) already sets its certificate"))
                        }
                        continue
                    }
                    out[host] = TLSAssignment(ingress: ref, secretNamespace: ing.namespace, secretName: secret)
                }
            }
        }
        return out
    }

    /// A DNS name or a `*.` wildcard of one: lower-case letters, digits, '-' and '.'.
    static func isValidRuleHost(_ host: String) -> Bool {
        var rest = Substring(host)
        if rest.hasPrefix("*.") { rest = rest.dropFirst(2) }
        guard !rest.isEmpty, rest.utf8.count <= 253, !rest.hasPrefix("."), !rest.hasSuffix("."), !rest.contains("..") else { return false }
        return rest.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}
