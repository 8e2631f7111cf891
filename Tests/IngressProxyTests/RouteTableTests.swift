import KubeModel
import Testing
@testable import IngressProxy

/// Path matching: the Kubernetes documentation's pathType examples table, and the conformance
/// suite's path rules (kubernetes-sigs/ingress-controller-conformance features/path_rules.feature).
@Suite struct PathMatchingTests {
    /// One row: the paths of one Ingress (type, path, service) and a request path.
    struct Row: CustomTestStringConvertible, Sendable {
        var paths: [(String, String, String)]
        var request: String
        var expected: String
        var testDescription: String { "\(paths.map { "\($0.0) \($0.1)" }) ← \(request) ⇒ \(expected)" }
    }

    static func ingress(_ paths: [(String, String, String)]) -> String {
        let services = Set(paths.map(\.2)).sorted().map { Fixtures.service($0) }.joined()
        let list = paths.map { "      - {path: \"\($0.1)\", pathType: \($0.0), backend: {service: {name: \($0.2), port: {number: 8080}}}}\n" }.joined()
        return Fixtures.kplaneClass + services + """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: paths, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
        spec:
          rules:
          - http:
              paths:
        \(list)
        """
    }

    // The "Examples" table of https://kubernetes.io/docs/concepts/services-networking/ingress/#examples
    static let docsTable: [Row] = [
        Row(paths: [("Prefix", "/", "root")], request: "/anything/at/all", expected: "root"),
        Row(paths: [("Exact", "/foo", "foo")], request: "/foo", expected: "foo"),
        Row(paths: [("Exact", "/foo", "foo")], request: "/bar", expected: "404"),
        Row(paths: [("Exact", "/foo", "foo")], request: "/foo/", expected: "404"),
        Row(paths: [("Exact", "/foo/", "foo")], request: "/foo", expected: "404"),
        Row(paths: [("Prefix", "/foo", "foo")], request: "/foo", expected: "foo"),
        Row(paths: [("Prefix", "/foo", "foo")], request: "/foo/", expected: "foo"),
        Row(paths: [("Prefix", "/foo/", "foo")], request: "/foo", expected: "foo"),
        Row(paths: [("Prefix", "/foo/", "foo")], request: "/foo/", expected: "foo"),
        Row(paths: [("Prefix", "/aaa/bb", "bb")], request: "/aaa/bbb", expected: "404"),
        Row(paths: [("Prefix", "/aaa/bbb", "bbb")], request: "/aaa/bbb", expected: "bbb"),
        Row(paths: [("Prefix", "/aaa/bbb/", "bbb")], request: "/aaa/bbb", expected: "bbb"),
        Row(paths: [("Prefix", "/aaa/bbb", "bbb")], request: "/aaa/bbb/", expected: "bbb"),
        Row(paths: [("Prefix", "/aaa/bbb", "bbb")], request: "/aaa/bbb/ccc", expected: "bbb"),
        Row(paths: [("Prefix", "/aaa/bbb", "bbb")], request: "/aaa/bbbxyz", expected: "404"),
        Row(paths: [("Prefix", "/", "root"), ("Prefix", "/aaa", "aaa")], request: "/aaa/ccc", expected: "aaa"),
        Row(paths: [("Prefix", "/", "root"), ("Prefix", "/aaa", "aaa"), ("Prefix", "/aaa/bbb", "bbb")], request: "/aaa/bbb", expected: "bbb"),
        Row(paths: [("Prefix", "/", "root"), ("Prefix", "/aaa", "aaa"), ("Prefix", "/aaa/bbb", "bbb")], request: "/ccc", expected: "root"),
        Row(paths: [("Prefix", "/aaa", "aaa")], request: "/ccc", expected: "404"),
        Row(paths: [("Prefix", "/foo", "prefix"), ("Exact", "/foo", "exact")], request: "/foo", expected: "exact"),
        // ImplementationSpecific behaves as Prefix in kplane.
        Row(paths: [("ImplementationSpecific", "/foo", "impl")], request: "/foo/bar", expected: "impl"),
        Row(paths: [("ImplementationSpecific", "/foo", "impl")], request: "/foobar", expected: "404"),
        // Case sensitivity and longest match.
        Row(paths: [("Exact", "/foo", "foo")], request: "/FOO", expected: "404"),
        Row(paths: [("Prefix", "/foo", "foo")], request: "/FOO", expected: "404"),
        Row(paths: [("Prefix", "/aaa/bbb", "bbb"), ("Prefix", "/aaa", "aaa")], request: "/aaa/ccc", expected: "aaa"),
        Row(paths: [("Prefix", "/aaa", "aaa")], request: "/aaaccc", expected: "404"),
        Row(paths: [("Prefix", "/foo/bar", "long"), ("Exact", "/foo", "exact")], request: "/foo/bar/baz", expected: "long"),
        // Normalization: a crafted path cannot escape a rule.
        Row(paths: [("Prefix", "/admin", "admin"), ("Prefix", "/", "public")], request: "/public/../admin/x", expected: "admin"),
        Row(paths: [("Exact", "/admin", "admin"), ("Prefix", "/", "public")], request: "//admin", expected: "admin"),
        Row(paths: [("Exact", "/admin", "admin"), ("Prefix", "/", "public")], request: "/%61dmin", expected: "admin"),
        Row(paths: [("Exact", "/admin", "admin"), ("Prefix", "/", "public")], request: "/./admin", expected: "admin"),
        Row(paths: [("Prefix", "/a", "a")], request: "/../../a/b", expected: "a"),
        Row(paths: [("Exact", "/a/b", "ab"), ("Prefix", "/", "root")], request: "/a%2Fb", expected: "root"),
    ]

    @Test(arguments: docsTable)
    func documentationTable(_ row: Row) {
        let table = Fixtures.table(Self.ingress(row.paths))
        #expect(Fixtures.serviceFor(table, host: "any.example", path: row.request) == row.expected)
    }

    // features/path_rules.feature, host by host.
    static let conformance = Fixtures.kplaneClass + ["foo-exact", "foo-prefix", "aaa-slash-bbb-prefix", "aaa-prefix", "aaa-slash-bbb-slash-prefix", "foo-slash-exact"]
        .map { Fixtures.service($0) }.joined() + """
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: path-rules, namespace: default}
    spec:
      rules:
      - host: exact-path-rules
        http:
          paths:
          - {path: /foo, pathType: Exact, backend: {service: {name: foo-exact, port: {number: 8080}}}}
      - host: prefix-path-rules
        http:
          paths:
          - {path: /foo, pathType: Prefix, backend: {service: {name: foo-prefix, port: {number: 8080}}}}
          - {path: /aaa/bbb, pathType: Prefix, backend: {service: {name: aaa-slash-bbb-prefix, port: {number: 8080}}}}
          - {path: /aaa, pathType: Prefix, backend: {service: {name: aaa-prefix, port: {number: 8080}}}}
      - host: mixed-path-rules
        http:
          paths:
          - {path: /foo, pathType: Prefix, backend: {service: {name: foo-prefix, port: {number: 8080}}}}
          - {path: /foo, pathType: Exact, backend: {service: {name: foo-exact, port: {number: 8080}}}}
      - host: trailing-slash-path-rules
        http:
          paths:
          - {path: /aaa/bbb/, pathType: Prefix, backend: {service: {name: aaa-slash-bbb-slash-prefix, port: {number: 8080}}}}
          - {path: /foo/, pathType: Exact, backend: {service: {name: foo-slash-exact, port: {number: 8080}}}}
    """

    static let conformanceCases: [(String, String, String)] = [
        ("exact-path-rules", "/foo", "foo-exact"),
        ("exact-path-rules", "/foo/", "404"),
        ("exact-path-rules", "/FOO", "404"),
        ("exact-path-rules", "/bar", "404"),
        ("prefix-path-rules", "/foo", "foo-prefix"),
        ("prefix-path-rules", "/foo/", "foo-prefix"),
        ("prefix-path-rules", "/FOO", "404"),
        ("prefix-path-rules", "/aaa/bbb", "aaa-slash-bbb-prefix"),
        ("prefix-path-rules", "/aaa/bbb/ccc", "aaa-slash-bbb-prefix"),
        ("prefix-path-rules", "/aaa/ccc", "aaa-prefix"),
        ("prefix-path-rules", "/aaaccc", "404"),
        ("mixed-path-rules", "/foo", "foo-exact"),
        ("trailing-slash-path-rules", "/aaa/bbb", "aaa-slash-bbb-slash-prefix"),
        ("trailing-slash-path-rules", "/aaa/bbb/", "aaa-slash-bbb-slash-prefix"),
        ("trailing-slash-path-rules", "/foo", "404"),
    ]

    @Test(arguments: conformanceCases)
    func conformancePathRules(_ c: (String, String, String)) {
        let table = Fixtures.table(Self.conformance)
        #expect(Fixtures.serviceFor(table, host: c.0, path: c.1) == c.2)
    }
}

/// Hosts: the documentation's wildcard table and features/host_rules.feature.
@Suite struct HostMatchingTests {
    static let yaml = Fixtures.kplaneClass + ["wildcard-foo-com", "foo-bar-com", "any-host", "exact-bar-foo"].map { Fixtures.service($0) }.joined() + """
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: host-rules, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
    spec:
      rules:
      - host: "*.foo.com"
        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: wildcard-foo-com, port: {number: 8080}}}}]}
      - host: foo.bar.com
        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: foo-bar-com, port: {name: http}}}}]}
      - host: exact.foo.com
        http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: exact-bar-foo, port: {number: 8080}}}}]}
    """

    static let cases: [(String, String)] = [
        ("bar.foo.com", "wildcard-foo-com"),
        ("baz.bar.foo.com", "404"),
        ("foo.com", "404"),
        ("foo.bar.com", "foo-bar-com"),
        ("FOO.Bar.com", "foo-bar-com"),
        ("foo.bar.com:8080", "foo-bar-com"),
        ("foo.bar.com.", "foo-bar-com"),
        ("subdomain.bar.com", "404"),
        ("exact.foo.com", "exact-bar-foo"),
        ("", "404"),
    ]

    @Test(arguments: cases)
    func hostRules(_ c: (String, String)) {
        #expect(Fixtures.serviceFor(Fixtures.table(Self.yaml), host: c.0, path: "/x") == c.1)
    }

    @Test func ruleWithoutHostMatchesEveryHostButLosesToAHostRule() {
        let yaml = Self.yaml + """

        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: catch-all, namespace: default, creationTimestamp: "2024-01-02T00:00:00Z"}
        spec:
          rules:
          - http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: any-host, port: {number: 8080}}}}]}
        """
        let table = Fixtures.table(yaml)
        #expect(Fixtures.serviceFor(table, host: "unknown.example", path: "/") == "any-host")
        #expect(Fixtures.serviceFor(table, host: "10.1.2.3:80", path: "/") == "any-host")
        #expect(Fixtures.serviceFor(table, host: "foo.bar.com", path: "/") == "foo-bar-com")
        #expect(Fixtures.serviceFor(table, host: "a.foo.com", path: "/") == "wildcard-foo-com")
    }
}

/// Class selection, default backends, merging and conflicts, backends and endpoints.
@Suite struct RouteTableBuildTests {
    static func ingress(_ name: String, created: String = "2024-01-01T00:00:00Z", className: String? = nil, annotations: [String: String] = [:],
                        host: String = "app.example", path: String = "/", service: String = "web", port: String = "{number: 8080}",
                        extraSpec: String = "") -> String {
        let cls = className.map { "  ingressClassName: \($0)\n" } ?? ""
        let ann = annotations.isEmpty ? "" : "  annotations: {" + annotations.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ") + "}\n"
        return """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: \(name)
          namespace: default
          creationTimestamp: "\(created)"
        \(ann)spec:
        \(cls)\(extraSpec)  rules:
          - host: \(host)
            http: {paths: [{path: "\(path)", pathType: Prefix, backend: {service: {name: \(service), port: \(port)}}}]}
        ---

        """
    }

    @Test func ingressClassSelection() {
        let other = """
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: nginx}
        spec: {controller: k8s.io/ingress-nginx}
        ---

        """
        let nonDefault = """
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: kplane}
        spec: {controller: kplane.dev/ingress}
        ---

        """
        let svc = Fixtures.service("web")
        // By spec.ingressClassName.
        #expect(Fixtures.table(nonDefault + svc + Self.ingress("a", className: "kplane")).handled.map(\.name) == ["a"])
        #expect(Fixtures.table(nonDefault + other + svc + Self.ingress("a", className: "nginx")).handled.isEmpty)
        // An invalid class name (conformance: ingress_class.feature) is not ours.
        #expect(Fixtures.table(nonDefault + svc + Self.ingress("a", className: "some-invalid-class-name")).handled.isEmpty)
        // The legacy annotation.
        #expect(Fixtures.table(nonDefault + svc + Self.ingress("a", annotations: ["kubernetes.io/ingress.class": "kplane"])).handled.count == 1)
        #expect(Fixtures.table(nonDefault + svc + Self.ingress("a", annotations: ["kubernetes.io/ingress.class": "nginx"])).handled.isEmpty)
        // No class: only when our class is the default.
        #expect(Fixtures.table(nonDefault + svc + Self.ingress("a")).handled.isEmpty)
        #expect(Fixtures.table(Fixtures.kplaneClass + svc + Self.ingress("a")).handled.count == 1)
        // A class name of ours before the IngressClass object exists.
        #expect(Fixtures.table(svc + Self.ingress("a", className: "kplane")).handled.count == 1)
        // Ignored Ingresses do not route.
        #expect(Fixtures.serviceFor(Fixtures.table(nonDefault + other + svc + Self.ingress("a", className: "nginx")), host: "app.example", path: "/") == "404")
    }

    @Test func oldestIngressWinsConflictsAndTheLoserIsReported() {
        let yaml = Fixtures.kplaneClass + Fixtures.service("old") + Fixtures.service("new") + Fixtures.service("other")
            + Self.ingress("newer", created: "2024-02-01T00:00:00Z", path: "/api", service: "new")
            + Self.ingress("older", created: "2024-01-01T00:00:00Z", path: "/api", service: "old")
            + Self.ingress("merged", created: "2024-03-01T00:00:00Z", path: "/other", service: "other")
        let table = Fixtures.table(yaml)
        #expect(Fixtures.serviceFor(table, host: "app.example", path: "/api/x") == "old")
        #expect(Fixtures.serviceFor(table, host: "app.example", path: "/other") == "other")
        let conflicts = table.problems.filter { $0.kind == .conflict }
        #expect(conflicts.count == 1)
        #expect(conflicts.first?.ingress.name == "newer")
        #expect(conflicts.first?.message.contains("default/older") == true)
    }

    // features/default_backend.feature: an Ingress with only a default backend gets everything.
    @Test(arguments: [("my-host", "/"), ("my-host", "/sub-path"), ("some-host", "/"), ("", "/resource")])
    func defaultBackend(_ c: (String, String)) {
        let yaml = Fixtures.kplaneClass + Fixtures.service("echo-service") + """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: default-backend, namespace: default}
        spec:
          defaultBackend: {service: {name: echo-service, port: {number: 8080}}}
        """
        #expect(Fixtures.serviceFor(Fixtures.table(yaml), host: c.0, path: c.1) == "echo-service")
    }

    @Test func defaultBackendOfAHostsIngressCatchesItsUnmatchedPaths() {
        let yaml = Fixtures.kplaneClass + Fixtures.service("web") + Fixtures.service("fallback")
            + Self.ingress("a", path: "/api", extraSpec: "  defaultBackend: {service: {name: fallback, port: {number: 8080}}}\n")
        let table = Fixtures.table(yaml)
        #expect(Fixtures.serviceFor(table, host: "app.example", path: "/api") == "web")
        #expect(Fixtures.serviceFor(table, host: "app.example", path: "/else") == "fallback")
        #expect(Fixtures.serviceFor(table, host: "other.example", path: "/else") == "fallback")
    }

    @Test func resourceBackendIsReportedUnsupported() throws {
        let yaml = Fixtures.kplaneClass + """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: res, namespace: default}
        spec:
          rules:
          - http: {paths: [{path: /, pathType: Prefix, backend: {resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: assets}}}]}
        """
        let route = try #require(Fixtures.table(yaml).match(host: "x", path: "/"))
        #expect(route.backend.endpoints.isEmpty)
        #expect(route.backend.unavailableReason?.contains("not supported") == true)
    }

    @Test func servicePortByNumberOrNameAndMissingThings() {
        let base = Fixtures.kplaneClass + Fixtures.service("web", ips: ["10.244.0.5"], port: 8080, portName: "http", targetPort: 9090)
        for port in ["{number: 8080}", "{name: http}"] {
            let route = Fixtures.table(base + Self.ingress("a", port: port)).match(host: "app.example", path: "/")
            #expect(route?.backend.endpoints.map(\.hostPort) == ["10.244.0.5:9090"])
        }
        let wrongPort = Fixtures.table(base + Self.ingress("a", port: "{number: 81}"))
        #expect(wrongPort.match(host: "app.example", path: "/")?.backend.unavailableReason?.contains("no TCP port 81") == true)
        let noService = Fixtures.table(base + Self.ingress("a", service: "ghost"))
        #expect(noService.match(host: "app.example", path: "/")?.backend.unavailableReason?.contains("not found") == true)
        #expect(noService.problems.contains { $0.kind == .backend })
    }

    @Test func readyEndpointsAndTerminatingFallback() {
        let ready = Fixtures.table(Fixtures.kplaneClass + Fixtures.service("web", ips: ["10.244.0.1", "10.244.0.2"], notReady: ["10.244.0.3"],
                                                                          terminating: ["10.244.0.4"]) + Self.ingress("a"))
        #expect(ready.match(host: "app.example", path: "/")?.backend.endpoints.map(\.address) == ["10.244.0.1", "10.244.0.2"])
        let onlyTerminating = Fixtures.table(Fixtures.kplaneClass + Fixtures.service("web", ips: [], notReady: ["10.244.0.3"],
                                                                                    terminating: ["10.244.0.4"]) + Self.ingress("a"))
        let eps = onlyTerminating.match(host: "app.example", path: "/")?.backend.endpoints ?? []
        #expect(eps.map(\.address) == ["10.244.0.4"])
        #expect(eps.first?.ready == false)
    }

    @Test func handWrittenEndpoints() {
        let yaml = Fixtures.kplaneClass + """
        apiVersion: v1
        kind: Service
        metadata: {name: legacy, namespace: default}
        spec: {ports: [{name: web, port: 80, targetPort: 8000}]}
        ---
        apiVersion: v1
        kind: Endpoints
        metadata: {name: legacy, namespace: default}
        subsets:
        - addresses: [{ip: 127.0.0.1}, {ip: 127.0.0.2}]
          notReadyAddresses: [{ip: 127.0.0.3}]
          ports: [{name: web, port: 8000}]
        ---

        """ + Self.ingress("a", service: "legacy", port: "{number: 80}")
        let eps = Fixtures.table(yaml).match(host: "app.example", path: "/")?.backend.endpoints.map(\.hostPort)
        #expect(eps == ["127.0.0.1:8000", "127.0.0.2:8000"])
    }

    @Test func roundRobinLeastRequestAndAffinity() {
        let backend = Backend(target: .service(namespace: "d", name: "s", port: "80"),
                              endpoints: [Endpoint(address: "10.0.0.1", port: 80), Endpoint(address: "10.0.0.2", port: 80), Endpoint(address: "10.0.0.3", port: 80)])
        var seen: [String: Int] = [:]
        for _ in 0..<300 { seen[backend.pick(.roundRobin)!.address, default: 0] += 1 }
        #expect(seen == ["10.0.0.1": 100, "10.0.0.2": 100, "10.0.0.3": 100])
        backend.endpoints[0].inFlight.store(5, ordering: .relaxed)
        backend.endpoints[1].inFlight.store(1, ordering: .relaxed)
        for _ in 0..<10 { #expect(backend.pick(.leastRequest)?.address == "10.0.0.3") }
        let sticky = backend.endpoints[1].affinityKey
        for _ in 0..<10 { #expect(backend.pick(.roundRobin, affinity: sticky)?.address == "10.0.0.2") }
        #expect(backend.pick(.roundRobin, affinity: "gone")?.address != nil)
        let skip = backend.pick(.roundRobin, excluding: [backend.endpoints[0], backend.endpoints[1]])
        #expect(skip?.address == "10.0.0.3")
    }

    @Test func tenThousandRulesBuildAndMatchQuickly() {
        var objects = Fixtures.objects(Fixtures.kplaneClass + Fixtures.service("web"))
        let ingressTemplate = Fixtures.objects(Self.ingress("x"))[0]
        var base = try! ingressTemplate.decode(Ingress.self)
        var ingresses: [Ingress] = []
        for i in 0..<10_000 {
            base.metadata.name = "ing-\(i)"
            base.spec.rules![0].host = "host-\(i % 1000).example"
            base.spec.rules![0].http!.paths[0].path = "/p\(i)"
            ingresses.append(base)
        }
        objects += ingresses.map { Object($0) }
        let clock = ContinuousClock()
        let start = clock.now
        let table = RouteTable.build(RouteInputs(objects: objects))
        let built = clock.now - start
        #expect(table.routeCount == 10_000)
        #expect(Fixtures.serviceFor(table, host: "host-7.example", path: "/p1007/x") == "web")
        #expect(built < .seconds(5))
    }
}
