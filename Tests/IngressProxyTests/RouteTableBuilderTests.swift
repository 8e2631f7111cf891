import ClusterStore
@testable import KubeModel
import Testing
@testable import IngressProxy

/// The incremental builder must give exactly the table a full build gives, whatever the order
/// of changes: random Ingresses, classes, Services, EndpointSlices and Endpoints are created,
/// changed and deleted, and after each step the builder's table is compared with a full build.
struct RouteTableBuilderTests {
    @Test(arguments: 0..<12)
    func incrementalEqualsFullBuild(seed: UInt64) {
        var random = SplitMix(seed: seed)
        var inputs = RouteInputs(resourceVersion: 1, isSynced: true)
        var builder = RouteTableBuilder()
        var rv: Int64 = 1
        var incremental = 0
        for step in 0..<400 {
            rv += 1
            inputs.apply(Self.randomEvent(&random, rv: rv))
            if random.next() % 3 == 0 { continue }  // several changes between two builds
            let update = builder.update(inputs)
            if step > 0 { incremental += 1 }
            let full = RouteTable.build(inputs)
            let difference = Set(Self.describe(update.table)).symmetricDifference(Self.describe(full)).sorted()
            #expect(difference.isEmpty, "seed \(seed) step \(step): \(difference)")
            if !difference.isEmpty { return }
        }
        #expect(incremental > 100)
    }

    @Test func statusWritesSecretsAndUnusedServicesRebuildNoRoutes() {
        let objects = Fixtures.objects(Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress("a"))
        var inputs = RouteInputs(objects: objects)
        var builder = RouteTableBuilder()
        let first = builder.update(inputs)
        #expect(first.routesChanged && first.statusToCheck == nil)

        var ingress = try! objects.last!.decode(Ingress.self)
        ingress.status.loadBalancer.ingress = [LoadBalancerStatus.Ingress(ip: "127.0.0.1")]
        inputs.apply(WatchEvent(kind: .modified, object: Object(ingress), resourceVersion: 2))
        let status = builder.update(inputs)
        #expect(!status.routesChanged && !status.certificatesChanged)
        #expect(status.statusToCheck == [IngressRef(namespace: "default", name: "a")])

        var secret = Secret()
        secret.metadata = ObjectMeta(name: "tls", namespace: "default")
        inputs.apply(WatchEvent(kind: .added, object: Object(secret), resourceVersion: 3))
        let secretOnly = builder.update(inputs)
        #expect(!secretOnly.routesChanged && secretOnly.certificatesChanged)
        #expect(Fixtures.serviceFor(secretOnly.table, host: "app.example", path: "/") == "web")

        var unused = Service()
        unused.metadata = ObjectMeta(name: "unused", namespace: "default")
        unused.spec.ports = [Service.Port(name: "http", port: 80)]
        inputs.apply(WatchEvent(kind: .added, object: Object(unused), resourceVersion: 4))
        let unrelated = builder.update(inputs)
        #expect(!unrelated.routesChanged && !unrelated.certificatesChanged)
        #expect(unrelated.statusToCheck == [])
    }

    @Test func aNewListingRebuildsEverything() {
        var builder = RouteTableBuilder()
        let objects = Fixtures.objects(Fixtures.kplaneClass + Fixtures.service("web") + RouteTableBuildTests.ingress("a"))
        _ = builder.update(RouteInputs(objects: objects, resourceVersion: 5))
        let relisted = builder.update(RouteInputs(objects: Array(objects.dropLast()), resourceVersion: 5))
        #expect(relisted.statusToCheck == nil)
        #expect(Fixtures.serviceFor(relisted.table, host: "app.example", path: "/") == "404")
    }

    // MARK: - Random objects

    static let namespaces = ["default", "shop"]
    static let hosts: [String?] = [nil, "a.example", "b.example", "*.example", "x.a.example", "*.a.example", "Bad_Host"]
    static let paths = ["/", "/api", "/api/v1", "/x/", ""]
    static let pathTypes = ["Prefix", "Exact", "ImplementationSpecific", "Bogus"]
    static let times = ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"]

    static func randomEvent(_ r: inout SplitMix, rv: Int64) -> WatchEvent {
        let ns = r.pick(namespaces)
        let object: Object
        switch r.next() % 10 {
        case 0, 1, 2, 3: object = Object(randomIngress(&r, ns: ns))
        case 4: object = Object(randomClass(&r))
        case 5, 6: object = Object(randomService(&r, ns: ns))
        case 7, 8: object = Object(randomSlice(&r, ns: ns))
        default: object = Object(randomEndpoints(&r, ns: ns))
        }
        return WatchEvent(kind: r.next() % 5 == 0 ? .deleted : .modified, object: object, resourceVersion: rv)
    }

    static func randomIngress(_ r: inout SplitMix, ns: String) -> Ingress {
        var ing = Ingress()
        ing.metadata = ObjectMeta(name: "ing-\(r.next() % 6)", namespace: ns)
        ing.metadata.creationTimestamp = r.pick(times)
        switch r.next() % 6 {
        case 0: ing.spec.ingressClassName = "kplane"
        case 1: ing.spec.ingressClassName = "nginx"
        case 2: ing.metadata.annotations = [Ingress.classAnnotation: r.pick(["kplane", "nginx"])]
        default: break
        }
        switch r.next() % 5 {
        case 0: ing.metadata.annotations = (ing.metadata.annotations ?? [:]).merging(["kplane.dev/ssl-redirect": "true"]) { a, _ in a }
        case 1: ing.metadata.annotations = (ing.metadata.annotations ?? [:]).merging(["nginx.ingress.kubernetes.io/force-ssl-redirect": "true"]) { a, _ in a }
        case 2: ing.metadata.annotations = (ing.metadata.annotations ?? [:]).merging(["kplane.dev/proxy-body-size": "lots"]) { a, _ in a }
        default: break
        }
        if r.next() % 4 == 0 { ing.spec.defaultBackend = randomBackend(&r) }
        ing.spec.rules = (0..<(r.next() % 3 + 1)).map { _ in
            let list = (0..<(r.next() % 2 + 1)).map { _ in
                Ingress.Path(path: r.pick(paths), pathType: r.pick(pathTypes), backend: randomBackend(&r))
            }
            return Ingress.Rule(host: r.pick(hosts), http: Ingress.HTTP(paths: list))
        }
        if r.next() % 3 == 0 {
            let hosts = r.next() % 2 == 0 ? nil : [r.pick(Self.hosts.compactMap { $0 })]
            ing.spec.tls = [Ingress.TLS(hosts: hosts, secretName: r.pick(["tls-a", "tls-b"]))]
        }
        if r.next() % 10 == 0 { ing.metadata.deletionTimestamp = "2024-04-01T00:00:00Z" }
        return ing
    }

    static func randomBackend(_ r: inout SplitMix) -> Ingress.Backend {
        if r.next() % 12 == 0 {
            return Ingress.Backend(service: nil, resource: Ingress.TypedLocalReference(apiGroup: "k8s.example.com", kind: "StorageBucket", name: "b"))
        }
        let port: Ingress.ServiceBackendPort = r.pick([
            Ingress.ServiceBackendPort(name: nil, number: 8080), Ingress.ServiceBackendPort(name: "http", number: nil),
            Ingress.ServiceBackendPort(name: nil, number: 9090), Ingress.ServiceBackendPort(name: "admin", number: nil),
        ])
        return Ingress.Backend(service: Ingress.ServiceBackend(name: "svc-\(r.next() % 4)", port: port), resource: nil)
    }

    static func randomClass(_ r: inout SplitMix) -> IngressClass {
        var cls = IngressClass()
        cls.metadata = ObjectMeta(name: r.pick(["kplane", "nginx"]))
        cls.spec.controller = cls.metadata.name == "kplane" ? IngressClassSettings.defaultController : r.pick(["k8s.io/ingress-nginx", IngressClassSettings.defaultController])
        if r.next() % 2 == 0 { cls.metadata.annotations = [IngressClass.defaultAnnotation: "true"] }
        return cls
    }

    static func randomService(_ r: inout SplitMix, ns: String) -> Service {
        var svc = Service()
        svc.metadata = ObjectMeta(name: "svc-\(r.next() % 4)", namespace: ns)
        if r.next() % 8 == 0 { svc.spec.type = "ExternalName"; svc.spec.externalName = "db.example" }
        svc.spec.ports = [Service.Port(name: "http", port: 8080)]
        if r.next() % 2 == 0 { svc.spec.ports!.append(Service.Port(name: "admin", port: 9090)) }
        return svc
    }

    static func randomSlice(_ r: inout SplitMix, ns: String) -> EndpointSlice {
        var slice = EndpointSlice()
        slice.metadata = ObjectMeta(name: "slice-\(r.next() % 6)", namespace: ns)
        slice.metadata.labels = [EndpointSlice.serviceNameLabel: "svc-\(r.next() % 4)"]
        slice.addressType = r.next() % 10 == 0 ? "FQDN" : "IPv4"
        slice.ports = [EndpointSlice.Port(name: r.pick(["http", "admin"]), port: 80, protocol: "TCP")]
        slice.endpoints = (0..<(r.next() % 3)).map { _ in
            var ep = EndpointSlice.Endpoint(addresses: ["10.1.0.\(r.next() % 5 + 1)"])
            ep.conditions = EndpointSlice.Conditions(ready: r.next() % 3 != 0, serving: true, terminating: r.next() % 2 == 0)
            return ep
        }
        return slice
    }

    static func randomEndpoints(_ r: inout SplitMix, ns: String) -> Endpoints {
        var eps = Endpoints()
        eps.metadata = ObjectMeta(name: "svc-\(r.next() % 4)", namespace: ns)
        eps.subsets = [Endpoints.Subset(addresses: [Endpoints.Address(ip: "10.2.0.\(r.next() % 5 + 1)")],
                                        ports: [Endpoints.Port(name: r.pick(["http", "admin"]), port: 80)])]
        return eps
    }

    // MARK: - Comparing tables

    /// Every route, TLS host, problem and count of a table, as sorted lines.
    static func describe(_ t: RouteTable) -> [String] {
        var lines: [String] = []
        func route(_ r: Route) -> String {
            let endpoints = r.backend.endpoints.map { "\($0.hostPort)\($0.ready ? "" : "(terminating)")" }.joined(separator: ",")
            return "\(r.ingress) host=\(r.host ?? "-") path=\(r.path ?? "-") \(r.pathType?.rawValue ?? "-") -> \(r.backend.target) [\(endpoints)] "
                + "\(r.backend.unavailableReason ?? "") redirect=\(r.redirectToHTTPS) rule=\(r.ruleIndex ?? -1) path=\(r.pathIndex ?? -1) \(r.options)"
        }
        func group(_ label: String, _ g: HostRoutes?) {
            guard let g else { return }
            for (path, r) in g.exact { lines.append("\(label) exact \(path): \(route(r))") }
            for (prefix, r) in g.prefixes { lines.append("\(label) prefix \(prefix): \(route(r))") }
            lines.append("\(label) order \(g.prefixes.map(\.prefix.utf8.count))")
            if let f = g.fallback { lines.append("\(label) fallback: \(route(f))") }
        }
        for (host, g) in t.exactHosts { group("host \(host)", g) }
        for (parent, g) in t.wildcardHosts { group("wildcard \(parent)", g) }
        group("any", t.anyHost)
        if let d = t.defaultRoute { lines.append("default: \(route(d))") }
        for (host, a) in t.tlsHosts { lines.append("tls \(host): \(a)") }
        lines += t.problems.map { "problem \($0.kind) \($0)" }
        lines.append("handled \(t.handled)")
        lines.append("routes \(t.routeCount)")
        return lines.sorted()
    }
}

/// A small seeded generator, so that a failing case can be run again.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
}
