import Foundation
import Logging
import Synchronization
import Testing
@testable import ClusterStore
@testable import KubeModel

/// Both backends must behave identically; every semantic test runs on each.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case memory, sqlite
    var testDescription: String { rawValue }

    func make() throws -> any Store {
        switch self {
        case .memory: return MemoryStore()
        case .sqlite: return try SQLiteStore(directory: temporaryDirectory())
        }
    }
}

/// The folder below which this test process keeps its stores; removed when the process exits.
let testRoot: String = {
    let path = NSTemporaryDirectory() + "kplane-tests-\(getpid())"
    atexit { try? FileManager.default.removeItem(atPath: testRoot) }
    return path
}()

func temporaryDirectory() -> String {
    let path = testRoot + "/" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func object(_ yaml: String) throws -> Object {
    try Manifest.decode(yaml, source: "test")[0].object
}

func service(_ name: String, _ spec: String = "ports: [{port: 80}]", namespace: String = "default") throws -> Object {
    try object("apiVersion: v1\nkind: Service\nmetadata: {name: \(name), namespace: \(namespace)}\nspec: {\(spec)}")
}

func expectStoreError(_ reason: StoreError.Reason, _ message: String? = nil, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(reason)")
    } catch let error as StoreError {
        #expect(error.reason == reason)
        if let message { #expect(error.message == message) }
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Suite struct StoreSemanticsTests {
    @Test(arguments: Backend.allCases, [1, 2, 3, 100])
    func pagedListsAddUpToTheWholeList(backend: Backend, limit: Int) async throws {
        let store = try backend.make()
        for ns in ["a", "b"] {
            _ = try await store.create(try object("apiVersion: v1\nkind: Namespace\nmetadata: {name: \(ns)}"))
            for name in ["x", "y", "z"] { _ = try await store.create(try service(name, namespace: ns)) }
        }
        for namespace in [nil, "b"] {
            let whole = try await store.list(Service.resourceType, namespace: namespace).items.map(\.key)
            var paged: [ObjectKey] = []
            var after: ObjectKey?
            var pages = 0
            repeat {
                let page = try await store.list(Service.resourceType, namespace: namespace, limit: limit, after: after)
                #expect(page.items.count <= limit)
                paged += page.items.map(\.key)
                after = page.continueAfter
                pages += 1
            } while after != nil && pages < 100
            #expect(paged == whole)
            // A full last page says "maybe more"; the next one is then empty.
            #expect(pages == whole.count / limit + 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func bootstrapObjects(backend: Backend) async throws {
        let store = try backend.make()
        let namespaces = try await store.list(Namespace.self).map(\.name)
        #expect(namespaces == ["default", "kube-public", "kube-system"])
        let kubernetes = try #require(try await store.get(Service.self, namespace: "default", name: "kubernetes"))
        #expect(kubernetes.spec.clusterIP == "10.96.0.1")
        let dns = try #require(try await store.get(Service.self, namespace: "kube-system", name: "kube-dns"))
        #expect(dns.spec.clusterIP == "10.96.0.10")
        #expect(dns.ports.map(\.name) == ["dns", "dns-tcp", "metrics"])
        let ns = try #require(try await store.get(Namespace.self, name: "default"))
        #expect(ns.labels[Namespace.nameLabel] == "default")
    }

    @Test(arguments: Backend.allCases)
    func serviceAllocation(backend: Backend) async throws {
        let store = try backend.make()
        let web = try await store.create(service("web", "type: NodePort, ports: [{port: 80}]")).decode(Service.self)
        let ip = try #require(IPAddress(web.spec.clusterIP ?? ""))
        #expect(CIDR("10.96.0.0/12")!.contains(ip))
        #expect(web.spec.clusterIPs == [web.spec.clusterIP!])
        #expect(web.spec.ipFamilies == ["IPv4"])
        let nodePort = try #require(web.ports[0].nodePort)
        #expect((30000...32767).contains(nodePort))
        #expect(web.metadata.uid?.isEmpty == false)
        #expect(web.metadata.generation == 1)

        await expectStoreError(.invalid, #"Service "dup" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated"#) {
            _ = try await store.create(service("dup", "clusterIP: 10.96.0.10, ports: [{port: 80}]"))
        }
        await expectStoreError(.invalid, #"Service "far" is invalid: spec.clusterIPs: Invalid value: []string{"192.168.0.1"}: failed to allocate IP 192.168.0.1: the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"#) {
            _ = try await store.create(service("far", "clusterIP: 192.168.0.1, ports: [{port: 80}]"))
        }
        await expectStoreError(.invalid, "Service \"np\" is invalid: spec.ports[0].nodePort: Invalid value: \(nodePort): provided port is already allocated") {
            _ = try await store.create(service("np", "type: NodePort, ports: [{port: 80, nodePort: \(nodePort)}]"))
        }
        await expectStoreError(.invalid, #"Service "np" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"#) {
            _ = try await store.create(service("np", "type: NodePort, ports: [{port: 80, nodePort: 80}]"))
        }
        // Deleting frees both the address and the port.
        _ = try await store.delete(ObjectKey(type: Service.resourceType, namespace: "default", name: "web"))
        let again = try await store.create(service("again", "type: NodePort, clusterIP: \(ip), ports: [{port: 80, nodePort: \(nodePort)}]")).decode(Service.self)
        #expect(again.spec.clusterIP == ip.description)
        #expect(again.ports[0].nodePort == nodePort)
    }

    @Test(arguments: Backend.allCases)
    func headlessAndExternalName(backend: Backend) async throws {
        let store = try backend.make()
        let headless = try await store.create(service("db", "clusterIP: None, selector: {app: db}")).decode(Service.self)
        #expect(headless.spec.clusterIP == "None")
        let ext = try await store.create(service("ext", "type: ExternalName, externalName: example.com")).decode(Service.self)
        #expect(ext.spec.clusterIP == nil)
        let lb = try await store.create(service("lb", "type: LoadBalancer, externalTrafficPolicy: Local, ports: [{port: 80}]")).decode(Service.self)
        #expect(lb.spec.healthCheckNodePort.map { (30000...32767).contains($0) } == true)
        #expect(lb.ports[0].nodePort != nil)
    }

    @Test(arguments: Backend.allCases)
    func optimisticConcurrencyAndGeneration(backend: Backend) async throws {
        let store = try backend.make()
        let created = try await store.create(service("web"))
        var stale = created
        stale.setMeta("labels", .object(["a": .string("b")]))
        let labelled = try await store.update(stale)
        #expect(labelled.generation == 1, "metadata changes do not bump generation")
        await expectStoreError(.conflict, #"Operation cannot be fulfilled on services "web": the object has been modified; please apply your changes to the latest version and try again"#) {
            _ = try await store.update(stale)
        }
        var changed = labelled
        changed.setField("spec", changed.spec?.merging(.object(["sessionAffinity": .string("ClientIP")])))
        let updated = try await store.update(changed)
        #expect(updated.generation == 2)
        #expect(try updated.decode(Service.self).spec.clusterIP == (try created.decode(Service.self)).spec.clusterIP)

        var withStatus = updated
        withStatus.setField("status", .object(["loadBalancer": .object(["ingress": .array([.object(["ip": .string("1.2.3.4")])])])]))
        let statusOnly = try await store.updateStatus(withStatus)
        #expect(statusOnly.generation == 2)
        #expect(statusOnly.status?["loadBalancer"]?["ingress"]?.arrayValue?.count == 1)
        // A spec update keeps the status the API server holds.
        var respec = statusOnly
        respec.setField("status", nil)
        respec.setMeta("labels", .object(["c": .string("d")]))
        let kept = try await store.update(respec)
        #expect(kept.status?["loadBalancer"]?["ingress"]?.arrayValue?.count == 1)
    }

    @Test(arguments: Backend.allCases)
    func applyThreeWay(backend: Backend) async throws {
        let store = try backend.make()
        let first = try service("web", "type: NodePort, ports: [{port: 80}], selector: {app: web, tier: fe}")
        #expect(try await store.apply([first]).map(\.description) == ["service/web created"])
        #expect(try await store.apply([first]).map(\.description) == ["service/web unchanged"])
        let allocated = try #require(try await store.get(Service.self, namespace: "default", name: "web"))
        let second = try service("web", "type: NodePort, ports: [{port: 80}], selector: {app: web}")
        #expect(try await store.apply([second]).map(\.description) == ["service/web configured"])
        let after = try #require(try await store.get(Service.self, namespace: "default", name: "web"))
        #expect(after.spec.selector == ["app": "web"], "a field removed from the manifest is removed")
        #expect(after.spec.clusterIP == allocated.spec.clusterIP, "allocated fields survive apply")
        #expect(after.ports[0].nodePort == allocated.ports[0].nodePort)
        #expect(after.metadata.generation == 2)
    }

    @Test(arguments: Backend.allCases)
    func applyIsAllOrNothing(backend: Backend) async throws {
        let store = try backend.make()
        let before = try await store.currentResourceVersion()
        await expectStoreError(.invalid) {
            _ = try await store.apply([try service("ok"), try service("bad", "ports: [{port: 70000}]")])
        }
        #expect(try await store.currentResourceVersion() == before)
        #expect(try await store.get(Service.self, namespace: "default", name: "ok") == nil)
    }

    @Test(arguments: Backend.allCases)
    func namespaces(backend: Backend) async throws {
        let store = try backend.make()
        await expectStoreError(.notFound, #"namespaces "shop" not found"#) {
            _ = try await store.create(service("web", namespace: "shop"))
        }
        _ = try await store.create(object("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}"))
        _ = try await store.create(service("web", namespace: "shop"))
        _ = try await store.create(object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}"))
        _ = try await store.delete(ObjectKey(type: Namespace.resourceType, namespace: "", name: "shop"))
        #expect(try await store.list(Service.self, namespace: "shop").isEmpty)
        #expect(try await store.list(ConfigMap.self, namespace: "shop").isEmpty)
        #expect(try await store.get(Namespace.self, name: "shop") == nil)
        await expectStoreError(.forbidden) {
            _ = try await store.delete(ObjectKey(type: Namespace.resourceType, namespace: "", name: "default"))
        }
    }

    @Test(arguments: Backend.allCases)
    func finalizersDelayDeletion(backend: Backend) async throws {
        let store = try backend.make()
        let pvc = try await store.create(object("""
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data, finalizers: [kubernetes.io/pvc-protection]}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
            """))
        let marked = try #require(try await store.delete(pvc.key))
        #expect(marked.deletionTimestamp != nil)
        #expect(try await store.get(pvc.key) != nil)
        var released = marked
        released.setMeta("finalizers", nil)
        _ = try await store.update(released)
        #expect(try await store.get(pvc.key) == nil)
    }

    @Test(arguments: Backend.allCases)
    func ownerReferencesCascade(backend: Backend) async throws {
        let store = try backend.make()
        let owner = try await store.create(object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}"))
        _ = try await store.create(object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: child, ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: \(owner.uid)}]}"))
        _ = try await store.delete(owner.key)
        #expect(try await store.get(ConfigMap.self, namespace: "default", name: "child") == nil)
    }

    @Test(arguments: Backend.allCases)
    func watchFromResourceVersion(backend: Backend) async throws {
        let store = try backend.make()
        let start = try await store.currentResourceVersion()
        _ = try await store.create(service("a"))
        let stream = store.watch([Service.resourceType], from: start)
        _ = try await store.create(object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ignored}"))
        _ = try await store.delete(ObjectKey(type: Service.resourceType, namespace: "default", name: "a"))
        var seen: [String] = []
        for try await event in stream {
            seen.append("\(event.kind.rawValue) \(event.object.name)")
            if seen.count == 2 { break }
        }
        #expect(seen == ["ADDED a", "DELETED a"])
    }
}

@Suite struct SQLiteStoreTests {
    @Test func crossProcessWatchLatency() async throws {
        let dir = temporaryDirectory()
        let writer = try SQLiteStore(directory: dir)
        let reader = try SQLiteStore(directory: dir)
        let start = try await reader.currentResourceVersion()
        let stream = reader.watch([Service.resourceType], from: start)
        let began = ContinuousClock.now
        _ = try await writer.create(service("web"))
        for try await event in stream {
            #expect(event.object.name == "web")
            break
        }
        // The 100 ms goal is measured by bench/store; here only "promptly", on a busy machine.
        #expect(ContinuousClock.now - began < .seconds(2))
    }

    @Test func permissionsAndPersistence() async throws {
        let dir = temporaryDirectory() + "/state"
        do {
            let store = try SQLiteStore(directory: dir)
            _ = try await store.create(service("web"))
        }
        let attrs = try FileManager.default.attributesOfItem(atPath: dir)
        #expect((attrs[.posixPermissions] as? Int) == 0o700)
        let db = try FileManager.default.attributesOfItem(atPath: dir + "/kplane.db")
        #expect((db[.posixPermissions] as? Int) == 0o600)
        let reopened = try SQLiteStore(directory: dir)
        #expect(try await reopened.get(Service.self, namespace: "default", name: "web") != nil)
    }

    @Test func concurrentAppliesFromTwoConnections() async throws {
        let dir = temporaryDirectory()
        let a = try SQLiteStore(directory: dir), b = try SQLiteStore(directory: dir)
        let batchA = try (0..<100).map { try object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\($0)}") }
        let batchB = try (0..<100).map { try object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b\($0)}") }
        async let ra = a.apply(batchA)
        async let rb = b.apply(batchB)
        _ = try await (ra, rb)
        #expect(try await a.list(ConfigMap.self).count == 200)
    }
}

@Suite struct ClusterCacheTests {
    @Test func followsTheStore() async throws {
        let store = MemoryStore()
        let cache = ClusterCache(store: store, types: [Service.resourceType], logger: Logger(label: "test"))
        let task = Task { try await cache.run() }
        defer { task.cancel() }
        let first = try #require(await cache.waitUntilSynced())
        #expect(first.list(Service.self).count == 2)
        _ = try await store.create(service("web"))
        for await snapshot in cache.snapshots() where snapshot.get(Service.self, namespace: "default", name: "web") != nil {
            #expect(snapshot.list(Service.self, namespace: "default").map(\.name) == ["kubernetes", "web"])
            break
        }
    }

    @Test func kindRevisionsSkipSnapshotsWhereOnlyOtherKindsChanged() async throws {
        let store = MemoryStore()
        let cache = ClusterCache(store: store, types: [Service.resourceType, ConfigMap.resourceType], logger: Logger(label: "test"))
        let task = Task { try await cache.run() }
        defer { task.cancel() }
        let services = KindRevisions([Service.resourceType])
        #expect(services.changed(try #require(await cache.waitUntilSynced())))
        _ = try await store.create(try object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}"))
        for await snapshot in cache.snapshots() where snapshot.count(ConfigMap.resourceType) == 1 {
            #expect(!services.changed(snapshot))
            break
        }
        _ = try await store.delete(ObjectKey(type: Service.resourceType, namespace: "default", name: "kubernetes"))
        for await snapshot in cache.snapshots() where snapshot.count(Service.resourceType) == 1 {
            #expect(services.changed(snapshot))
            #expect(!services.changed(snapshot))
            break
        }
    }
}

@Suite struct ReconcileLoopTests {
    @Test func coalescesBurstsAndFollowsChanges() async throws {
        let store = MemoryStore()
        let cache = ClusterCache(store: store, types: [ConfigMap.resourceType], logger: Logger(label: "test"))
        let passes = PassLog()
        let cacheTask = Task { try await cache.run() }
        let loopTask = Task {
            await ReconcileLoop.run(cache: cache, name: "test", minInterval: .milliseconds(100), logger: Logger(label: "test")) { snapshot in
                passes.record(snapshot.count(ConfigMap.resourceType))
            }
        }
        defer { loopTask.cancel(); cacheTask.cancel() }
        _ = await cache.waitUntilSynced()
        try await Task.sleep(for: .milliseconds(50))
        _ = try await store.apply((0..<50).map { i in try object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c\(i)}") })
        for i in 50..<60 { _ = try await store.create(try object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c\(i)}")) }
        let deadline = ContinuousClock.now + .seconds(5)
        while passes.values.last != 60 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let seen = passes.values
        #expect(seen.last == 60)
        #expect(seen.count <= 5, "a burst of 60 changes should cost a few passes, not \(seen.count)")
    }
}

final class PassLog: Sendable {
    private let state = Mutex<[Int]>([])
    func record(_ n: Int) { state.withLock { $0.append(n) } }
    var values: [Int] { state.withLock { $0 } }
}
