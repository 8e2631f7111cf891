import Foundation
import Logging
import Testing
@testable import ClusterStore
@testable import KubeModel

/// Applying large manifests: validated up front and kept as text, then applied in one
/// transaction one object at a time. A bad object anywhere must change nothing.
@Suite struct ManifestApplyTests {
    /// `count` rules (Service, EndpointSlice, Ingress), as bench/ingress/rules.py writes them.
    static func rules(_ count: Int) -> String {
        (0..<count).map { i in
            """
            apiVersion: v1
            kind: Service
            metadata: {name: svc-\(i)}
            spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: svc-\(i)-abc, labels: {kubernetes.io/service-name: svc-\(i)}}
            addressType: IPv4
            ports: [{name: http, port: 8080, protocol: TCP}]
            endpoints:
            - {addresses: ["127.0.\(1 + i / 250).\(i % 250 + 1)"], conditions: {ready: true}}
            ---
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: ing-\(i)}
            spec:
              rules:
              - host: host-\(i).example.com
                http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-\(i), port: {number: 80}}}}]}

            """
        }.joined(separator: "---\n")
    }

    /// Writes `text` as the only manifest of a fresh folder.
    static func manifestFolder(_ text: String) throws -> String {
        let dir = temporaryDirectory()
        try text.write(toFile: dir + "/rules.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    /// Every object of the store, as text, with the newest resourceVersion.
    static func contents(_ store: any Store) async throws -> (Int64, [String]) {
        var all: [String] = []
        for type in Scheme.types { all += try await store.list(type, namespace: nil).items.map { $0.json.jsonString() } }
        return (try await store.currentResourceVersion(), all)
    }

    @Test(arguments: Backend.allCases)
    func appliesEveryObjectInOrder(backend: Backend) async throws {
        let store = try backend.make()
        let objects = try Manifest.decode(Self.rules(50), source: "rules.yaml").map(\.object)
        let before = try await store.currentResourceVersion()
        let results = try await store.apply(objects)
        #expect(results.map(\.key) == objects.map { ObjectKey(type: $0.type, namespace: "default", name: $0.name) })
        #expect(results.allSatisfy { $0.action == .created })
        // One resourceVersion per object, in manifest order.
        let last = try #require(try await store.get(Ingress.self, namespace: "default", name: "ing-49"))
        #expect(last.metadata.resourceVersion == String(before + 150))
        #expect(try await store.apply(objects).allSatisfy { $0.action == .unchanged })
    }

    @Test(arguments: Backend.allCases, [
        // Refused by validation, before the store is asked.
        "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 70000}]}\n",
        // Refused by the store, after every object before it was written in the transaction.
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: nowhere}\n",
    ])
    func badObjectLateInALargeManifestChangesNothing(backend: Backend, bad: String) async throws {
        let store = try backend.make()
        let dir = try Self.manifestFolder(Self.rules(500))
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\n".write(toFile: dir + "/old.yaml", atomically: true, encoding: .utf8)
        let watcher = ManifestWatcher(store: store, paths: [dir], recursive: false, logger: Logger(label: "test"))
        try await watcher.syncOnce()
        let before = try await Self.contents(store)
        // 1,500 objects to create, one to delete, then the bad one last.
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: more}\n".write(toFile: dir + "/more.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir + "/old.yaml")
        try (Self.rules(1000) + "---\n" + bad).write(toFile: dir + "/rules.yaml", atomically: true, encoding: .utf8)
        await #expect(throws: StoreError.self) { try await watcher.syncOnce() }
        let after = try await Self.contents(store)
        #expect(after.0 == before.0)
        #expect(after.1 == before.1)
    }

    @Test(arguments: Backend.allCases)
    func aFileThatDoesNotParseWinsOverAnInvalidObject(backend: Backend) async throws {
        let store = try backend.make()
        let dir = try Self.manifestFolder("apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 70000}]}\n---\n" + Self.rules(10) + "---\nkind: [oops\n")
        let watcher = ManifestWatcher(store: store, paths: [dir], recursive: false, logger: Logger(label: "test"))
        let before = try await store.currentResourceVersion()
        await #expect(throws: ManifestError.self) { try await watcher.syncOnce() }
        #expect(try await store.currentResourceVersion() == before)
    }

    @Test(arguments: Backend.allCases)
    func objectsRemovedFromTheFilesAreDeleted(backend: Backend) async throws {
        let store = try backend.make()
        let dir = try Self.manifestFolder(Self.rules(20))
        let watcher = ManifestWatcher(store: store, paths: [dir], recursive: false, logger: Logger(label: "test"))
        #expect(try await watcher.syncOnce().count == 60)
        try Self.rules(15).write(toFile: dir + "/rules.yaml", atomically: true, encoding: .utf8)
        let results = try await watcher.syncOnce()
        #expect(results.count == 45 && results.allSatisfy { $0.action == .unchanged })
        #expect(try await store.list(Ingress.self).compactMap(\.metadata.name).sorted() == (0..<15).map { "ing-\($0)" }.sorted())
        #expect(try await store.list(Service.self).compactMap(\.metadata.name).filter { $0.hasPrefix("svc-") }.count == 15)
    }
}
