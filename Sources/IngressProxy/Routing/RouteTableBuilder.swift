import KubeModel

/// Keeps a route table current as its inputs change, rebuilding only the hosts a change lands
/// on, as kube-proxy's change trackers do for services: with 10,000 Ingresses one new Ingress
/// rebuilds one host instead of 10,000.
///
/// Each host's routes are a function of the Ingresses with rules for that host (oldest first),
/// their backends, and which hosts have TLS. The builder remembers which Ingresses have rules
/// for each host and which use each Service. A changed Ingress makes its old and new hosts
/// dirty; a changed Service, EndpointSlice or Endpoints makes the hosts of the Ingresses that use
/// it dirty; a changed TLS host makes the hosts it covers dirty. TLS hosts and the default
/// backend are recomputed from the Ingresses that have them. An IngressClass change, or a
/// change log that no longer reaches back to the last build, rebuilds everything; the result is
/// the same as a full build (`RouteTable.build`) either way.
public struct RouteTableBuilder {
    /// What one `update` did.
    public struct Update {
        public var table: RouteTable
        /// Whether any route, TLS host or problem may differ from the previous table.
        public var routesChanged: Bool
        /// Whether the certificate table must be rebuilt: TLS hosts or Secrets changed.
        public var certificatesChanged: Bool
        /// Ingresses whose status may need writing; nil means every Ingress.
        public var statusToCheck: Set<IngressRef>?
    }

    /// A host as rules name it: exact, a `*.` wildcard by its parent domain, or no host.
    enum HostKey: Hashable {
        case exact(String)
        case wildcard(String)
        case any

        init(_ host: String?) {
            guard let host else { self = .any; return }
            self = host.hasPrefix("*.") ? .wildcard(String(host.dropFirst(2))) : .exact(host)
        }
    }

    public let settings: IngressClassSettings
    private var previous: RouteInputs?
    private var table = RouteTable.empty

    /// Handled Ingresses.
    private var handled: Set<IngressRef> = []
    private var hostMembers: [HostKey: [IngressRef]] = [:]
    private var serviceUsers: [NamespacedName: [IngressRef]] = [:]
    private var withTLS: Set<IngressRef> = []
    private var withDefault: Set<IngressRef> = []

    private var exactHosts: [String: HostRoutes] = [:]
    private var wildcardHosts: [String: HostRoutes] = [:]
    private var anyHost: HostRoutes?
    private var groupRouteCounts: [HostKey: Int] = [:]
    private var routeCount = 0
    private var defaultRoute: Route?
    private var tlsHosts: [String: TLSAssignment] = [:]

    private var ingressProblems: [IngressRef: [RouteProblem]] = [:]
    private var groupProblems: [HostKey: [RouteProblem]] = [:]
    private var tlsProblems: [RouteProblem] = []
    private var defaultProblems: [RouteProblem] = []

    /// Backends by service, then by port as the Ingress names it, shared by every route to them.
    private var backends: [NamespacedName: [String: Backend]] = [:]

    public init(settings: IngressClassSettings = IngressClassSettings()) {
        self.settings = settings
    }

    /// Brings the table up to `inputs`.
    public mutating func update(_ inputs: RouteInputs) -> Update {
        guard let previous, let changes = inputs.changes.since(previous.resourceVersion, listing: previous.changes.listing),
              !changes.contains(.ingressClass) else {
            rebuildAll(inputs)
            return Update(table: table, routesChanged: true, certificatesChanged: true, statusToCheck: nil)
        }
        var dirtyIngresses = Set<IngressRef>()
        var dirtyServices = Set<NamespacedName>()
        var secretsChanged = false
        for change in changes {
            switch change {
            case .ingress(let ref): dirtyIngresses.insert(ref)
            case .service(let key): dirtyServices.insert(key)
            case .secret: secretsChanged = true
            case .ingressClass: break
            }
        }
        let status = inputs.statusChanges.since(previous.resourceVersion, listing: previous.statusChanges.listing).map { dirtyIngresses.union($0) }
        guard !dirtyIngresses.isEmpty || !dirtyServices.isEmpty else {
            self.previous = inputs
            return Update(table: table, routesChanged: false, certificatesChanged: secretsChanged, statusToCheck: status)
        }

        var dirtyGroups = Set<HostKey>()
        var tlsDirty = false
        var defaultDirty = false
        /// Whether a handled Ingress came, went or changed (its own problems may have).
        var handledChanged = false
        for key in dirtyServices {
            backends[key] = nil
            for ref in serviceUsers[key] ?? [] {
                guard let record = inputs.ingresses[ref] else { continue }
                dirtyGroups.formUnion(hostKeys(record))
                if record.spec.defaultBackend != nil { defaultDirty = true }
            }
        }
        for ref in dirtyIngresses {
            if handled.contains(ref), let old = previous.ingresses[ref] {
                handledChanged = true
                dirtyGroups.formUnion(forget(ref, old))
                tlsDirty = tlsDirty || old.spec.tls?.isEmpty == false
                defaultDirty = defaultDirty || old.spec.defaultBackend != nil
            }
            if let new = inputs.ingresses[ref], settings.handles(new, classes: inputs.classes) {
                handledChanged = true
                dirtyGroups.formUnion(remember(ref, new))
                tlsDirty = tlsDirty || new.spec.tls?.isEmpty == false
                defaultDirty = defaultDirty || new.spec.defaultBackend != nil
            }
        }
        if tlsDirty {
            let before = tlsHosts
            assignTLS(inputs)
            for host in Set(before.keys).union(tlsHosts.keys) where before[host] != tlsHosts[host] {
                dirtyGroups.formUnion(groupsCovered(byTLSHost: host))
            }
        }
        if defaultDirty { assignDefault(inputs) }
        self.previous = inputs
        guard handledChanged || tlsDirty || defaultDirty || !dirtyGroups.isEmpty else {
            // Services, slices or Ingresses no handled Ingress routes through.
            return Update(table: table, routesChanged: false, certificatesChanged: secretsChanged, statusToCheck: status)
        }
        let resolver = EndpointResolver(inputs: inputs)
        for key in dirtyGroups { rebuildGroup(key, inputs, resolver) }
        table = makeTable()
        return Update(table: table, routesChanged: true, certificatesChanged: tlsDirty || secretsChanged, statusToCheck: status)
    }

    // MARK: - Whole table

    private mutating func rebuildAll(_ inputs: RouteInputs) {
        self = RouteTableBuilder(settings: settings)
        for (ref, record) in inputs.ingresses where settings.handles(record, classes: inputs.classes) {
            remember(ref, record)
        }
        assignTLS(inputs)
        assignDefault(inputs)
        let resolver = EndpointResolver(inputs: inputs)
        for key in hostMembers.keys { rebuildGroup(key, inputs, resolver) }
        previous = inputs
        table = makeTable()
    }

    private func makeTable() -> RouteTable {
        var problems = ingressProblems.values.flatMap { $0 }
        for p in groupProblems.values { problems += p }
        problems += tlsProblems + defaultProblems
        return RouteTable(exactHosts: exactHosts, wildcardHosts: wildcardHosts, anyHost: anyHost, defaultRoute: defaultRoute,
                          tlsHosts: tlsHosts, problems: problems, handledSet: handled, routeCount: routeCount)
    }

    // MARK: - Indexes

    /// Files a handled Ingress under its hosts and services, and records its own problems;
    /// returns its hosts.
    @discardableResult
    private mutating func remember(_ ref: IngressRef, _ record: IngressRecord) -> Set<HostKey> {
        handled.insert(ref)
        let hosts = hostKeys(record)
        for key in hosts { hostMembers[key, default: []].append(ref) }
        for service in services(record, namespace: ref.namespace) { serviceUsers[service, default: []].append(ref) }
        if record.spec.tls?.isEmpty == false { withTLS.insert(ref) }
        if record.spec.defaultBackend != nil { withDefault.insert(ref) }
        var problems = record.annotationProblems.map { RouteProblem(.annotation, ref, $0.description) }
        for (ri, rule) in (record.spec.rules ?? []).enumerated() {
            if let h = rule.host, !h.isEmpty, !RouteTable.isValidRuleHost(h) {
                problems.append(RouteProblem(.invalid, ref, "rule \(ri): invalid host \"\(h)\", rule ignored"))
            }
        }
        ingressProblems[ref] = problems.isEmpty ? nil : problems
        return hosts
    }

    /// Takes a handled Ingress out of the indexes; returns the hosts it was filed under.
    private mutating func forget(_ ref: IngressRef, _ record: IngressRecord) -> Set<HostKey> {
        handled.remove(ref)
        let hosts = hostKeys(record)
        for key in hosts {
            hostMembers[key]?.removeAll { $0 == ref }
            if hostMembers[key]?.isEmpty == true { hostMembers[key] = nil }
        }
        for service in services(record, namespace: ref.namespace) {
            serviceUsers[service]?.removeAll { $0 == ref }
            if serviceUsers[service]?.isEmpty == true { serviceUsers[service] = nil }
        }
        withTLS.remove(ref)
        withDefault.remove(ref)
        ingressProblems[ref] = nil
        return hosts
    }

    /// The host groups an Ingress has rules for (invalid hosts are skipped).
    private func hostKeys(_ record: IngressRecord) -> Set<HostKey> {
        var keys = Set<HostKey>()
        for rule in record.spec.rules ?? [] {
            guard let host = RouteTableBuilder.ruleHost(rule) else { continue }
            keys.insert(HostKey(host))
        }
        return keys
    }

    /// A rule's host (records keep valid hosts in lower case); `.some(nil)` for a rule without
    /// host; nil when invalid.
    static func ruleHost(_ rule: Ingress.Rule) -> String?? {
        guard let h = rule.host, !h.isEmpty else { return .some(nil) }
        return RouteTable.isValidRuleHost(h) ? .some(h) : nil
    }

    private func services(_ record: IngressRecord, namespace: String) -> Set<NamespacedName> {
        var out = Set<NamespacedName>()
        if let s = record.spec.defaultBackend?.service { out.insert(NamespacedName(namespace: namespace, name: s.name)) }
        for rule in record.spec.rules ?? [] {
            for p in rule.http?.paths ?? [] {
                if let s = p.backend.service { out.insert(NamespacedName(namespace: namespace, name: s.name)) }
            }
        }
        return out
    }

    /// The host groups whose redirects depend on a TLS host: the host's own group, and for a
    /// wildcard also the exact hosts under it.
    private func groupsCovered(byTLSHost host: String) -> [HostKey] {
        let key = HostKey(host)
        guard case .wildcard(let parent) = key else { return [key] }
        var out = [key]
        for case .exact(let h) in hostMembers.keys {
            if let dot = h.firstIndex(of: "."), h[h.index(after: dot)...] == parent { out.append(.exact(h)) }
        }
        return out
    }

    /// Oldest first: creationTimestamp, then namespace/name.
    private static func oldestFirst(_ refs: some Sequence<IngressRef>, _ inputs: RouteInputs) -> [(IngressRef, IngressRecord)] {
        refs.compactMap { ref in inputs.ingresses[ref].map { (ref, $0) } }.sorted { a, b in
            a.1.created != b.1.created ? a.1.created < b.1.created : a.0 < b.0
        }
    }

    // MARK: - Parts of the table

    /// `spec.tls` hosts, oldest Ingress first. An entry without hosts covers its Ingress's rule hosts.
    private mutating func assignTLS(_ inputs: RouteInputs) {
        var out: [String: TLSAssignment] = [:]
        var problems: [RouteProblem] = []
        for (ref, ing) in RouteTableBuilder.oldestFirst(withTLS, inputs) {
            let ruleHosts = (ing.spec.rules ?? []).compactMap { $0.host?.lowercased() }.filter { !$0.isEmpty }
            for (i, tls) in (ing.spec.tls ?? []).enumerated() {
                let hosts = (tls.hosts ?? []).isEmpty ? ruleHosts : tls.hosts ?? []
                let secret = (tls.secretName ?? "").isEmpty ? nil : tls.secretName
                for host in hosts {
                    guard RouteTable.isValidRuleHost(host) else {
                        problems.append(RouteProblem(.invalid, ref, "tls[\(i)]: invalid host \"\(host)\" ignored"))
                        continue
                    }
                    if let existing = out[host] {
                        if existing.secretName != secret || existing.secretNamespace != ref.namespace {
                            problems.append(RouteProblem(.conflict, ref, "tls[\(i)] host \(host) ignored: the older ingress \(existing.ingress) already sets its certificate"))
                        }
                        continue
                    }
                    out[host] = TLSAssignment(ingress: ref, secretNamespace: ref.namespace, secretName: secret)
                }
            }
        }
        tlsHosts = out
        tlsProblems = problems
    }

    /// The default backend of the oldest Ingress that has one; the others are reported.
    private mutating func assignDefault(_ inputs: RouteInputs) {
        defaultRoute = nil
        defaultProblems = []
        let resolver = EndpointResolver(inputs: inputs)
        for (ref, ing) in RouteTableBuilder.oldestFirst(withDefault, inputs) {
            guard let route = ownDefault(ref, ing, resolver) else { continue }
            if let existing = defaultRoute {
                defaultProblems.append(RouteProblem(.conflict, ref, "default backend ignored: the older ingress \(existing.ingress) already sets one"))
            } else {
                defaultRoute = route
            }
            if route.backend.endpoints.isEmpty, let why = route.backend.unavailableReason {
                defaultProblems.append(RouteProblem(.backend, ref, "default backend: \(why)"))
            }
        }
    }

    private mutating func ownDefault(_ ref: IngressRef, _ ing: IngressRecord, _ resolver: EndpointResolver) -> Route? {
        guard let db = ing.spec.defaultBackend else { return nil }
        return Route(ingress: ref, host: nil, path: nil, pathType: nil, backend: backend(ref.namespace, db, resolver), options: ing.options,
                     redirectToHTTPS: ing.options.forceSSLRedirect, ruleIndex: nil, pathIndex: nil)
    }

    private mutating func backend(_ namespace: String, _ b: Ingress.Backend, _ resolver: EndpointResolver) -> Backend {
        if let svc = b.service {
            let key = NamespacedName(namespace: namespace, name: svc.name)
            let port = svc.port?.number.map(String.init) ?? "name:" + (svc.port?.name ?? "")
            if let hit = backends[key]?[port] { return hit }
            let made = resolver.resolve(namespace: namespace, svc)
            backends[key, default: [:]][port] = made
            return made
        }
        let kind = b.resource?.kind ?? "unknown"
        let target = Backend.Target.resource(namespace: namespace, kind: kind, name: b.resource?.name ?? "")
        return Backend(target: target, endpoints: [], unavailableReason: "resource backends (\(kind)) are not supported by kplane")
    }

    /// Recompiles one host group from its Ingresses, oldest first: on a conflict for the same
    /// path the oldest wins and the newer one is reported.
    private mutating func rebuildGroup(_ key: HostKey, _ inputs: RouteInputs, _ resolver: EndpointResolver) {
        var exact: [String: Route] = [:]
        var prefixes: [String: Route] = [:]
        var fallback: Route?
        var problems: [RouteProblem] = []
        var count = 0
        for (ref, ing) in RouteTableBuilder.oldestFirst(hostMembers[key] ?? [], inputs) {
            var own: Route??  // the Ingress's default backend, made on first use
            for (ri, rule) in (ing.spec.rules ?? []).enumerated() {
                guard let ruleHost = RouteTableBuilder.ruleHost(rule), HostKey(ruleHost) == key else { continue }
                if fallback == nil, ruleHost != nil {
                    if own == nil { own = ownDefault(ref, ing, resolver) }
                    fallback = own!
                }
                let redirect = ing.options.forceSSLRedirect || (ing.options.sslRedirect && hasTLS(ruleHost))
                for (pi, p) in (rule.http?.paths ?? []).enumerated() {
                    let where_ = "host \(ruleHost ?? "*") path \(p.path ?? "") (rule \(ri), path \(pi))"
                    guard let type = PathType(rawValue: p.pathType ?? "") else {
                        problems.append(RouteProblem(.invalid, ref, "\(where_): pathType \"\(p.pathType ?? "")\" is not Exact, Prefix or ImplementationSpecific; path ignored"))
                        continue
                    }
                    let written = (p.path ?? "").isEmpty && type == .implementationSpecific ? "/" : (p.path ?? "")
                    guard let normalized = RequestTarget.normalizePath(written) else {
                        problems.append(RouteProblem(.invalid, ref, "\(where_): path must be absolute and well-formed; path ignored"))
                        continue
                    }
                    let b = backend(ref.namespace, p.backend, resolver)
                    if b.endpoints.isEmpty, let why = b.unavailableReason { problems.append(RouteProblem(.backend, ref, "\(where_): \(why)")) }
                    let route = Route(ingress: ref, host: ruleHost, path: written, pathType: type, backend: b, options: ing.options,
                                      redirectToHTTPS: redirect, ruleIndex: ri, pathIndex: pi)
                    let existing: Route?
                    if type == .exact {
                        existing = exact[normalized]
                        if existing == nil { exact[normalized] = route }
                    } else {
                        let prefix = Route.trimmedPrefix(normalized)
                        existing = prefixes[prefix]
                        if existing == nil { prefixes[prefix] = route }
                    }
                    if let existing {
                        let owner = existing.ingress == ref ? "an earlier path of the same ingress" : "the older ingress \(existing.ingress)"
                        problems.append(RouteProblem(.conflict, ref, "\(where_) ignored: \(owner) already routes it"))
                    } else {
                        count += 1
                    }
                }
            }
        }
        let routes = hostMembers[key] == nil ? nil : HostRoutes(exact: exact, prefixes: prefixes.map { ($0.key, $0.value) }, fallback: fallback)
        switch key {
        case .exact(let host): exactHosts[host] = routes
        case .wildcard(let parent): wildcardHosts[parent] = routes
        case .any: anyHost = routes
        }
        routeCount += count - (groupRouteCounts[key] ?? 0)
        groupRouteCounts[key] = routes == nil ? nil : count
        groupProblems[key] = problems.isEmpty ? nil : problems
    }

    private func hasTLS(_ host: String?) -> Bool {
        guard let host else { return false }
        if tlsHosts[host] != nil { return true }
        if let dot = host.firstIndex(of: "."), tlsHosts["*." + host[host.index(after: dot)...]] != nil { return true }
        return false
    }
}
