import Foundation
import Testing
@testable import ClusterStore
@testable import KubeModel

/// `Store.write(_:)`: many writes in one transaction, each with its own outcome.
@Suite struct StoreWriteTests {
    func configMap(_ name: String, _ data: String = "a") throws -> Object {
        try object("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \(name), namespace: default}\ndata: {k: \(data)}")
    }

    func key(_ name: String) -> ObjectKey { ObjectKey(type: ConfigMap.resourceType, namespace: "default", name: name) }

    @Test(arguments: Backend.allCases)
    func conflictInTheMiddleFailsOnlyItsGroup(backend: Backend) async throws {
        let store = try backend.make()
        let a = try await store.create(configMap("a"))
        let b = try await store.create(configMap("b"))
        var staleB = b
        staleB.setField("data", .object(["k": .string("stale")]))
        _ = try await store.update(try configMap("b", "changed"))   // someone else writes b
        var newA = a
        newA.setField("data", .object(["k": .string("new")]))
        let results = try await store.write([
            [.update(newA)],
            [.update(staleB), .delete(key("a"))],   // the conflict skips the delete
            [.create(try configMap("c"))],
        ])
        #expect(results[0][0].object?.json["data"]?["k"]?.stringValue == "new")
        #expect(results[1][0].error?.reason == .conflict)
        #expect(results[1][1] == .skipped)
        #expect(results[2][0].object?.name == "c")
        #expect(try await store.get(ConfigMap.self, namespace: "default", name: "a")?.data?["k"] == "new")
        #expect(try await store.get(ConfigMap.self, namespace: "default", name: "b")?.data?["k"] == "changed")
        #expect(try await store.get(ConfigMap.self, namespace: "default", name: "c") != nil)
    }

    @Test(arguments: Backend.allCases)
    func invalidObjectIsRolledBackAlone(backend: Backend) async throws {
        let store = try backend.make()
        let before = try await store.currentResourceVersion()
        let invalid = try object("apiVersion: v1\nkind: Service\nmetadata: {name: Bad_Name}\nspec: {ports: [{port: 80}]}")
        let results = try await store.write([[.create(try configMap("x"))], [.create(invalid)], [.create(try service("ok"))]])
        #expect(results[0][0].object != nil)
        #expect(results[1][0].error?.reason == .invalid)
        #expect(results[2][0].object?.name == "ok")
        // Two objects, two versions: the refused write consumed none and left no event.
        #expect(try await store.currentResourceVersion() == before + 2)
        let ok = try #require(try await store.get(Service.self, namespace: "default", name: "ok"))
        #expect(ok.spec.clusterIP?.hasPrefix("10.") == true)
        #expect(try await store.get(ObjectKey(type: Service.resourceType, namespace: "default", name: "Bad_Name")) == nil)
    }

    @Test(arguments: Backend.allCases)
    func aGroupWritesSpecThenStatusFromOneRead(backend: Backend) async throws {
        let store = try backend.make()
        let pvc = try await store.create(object("""
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
            """))
        var spec = pvc
        spec.setAnnotation("pv.kubernetes.io/bind-completed", "yes")
        var status = pvc
        status.setField("status", .object(["phase": .string("Bound")]))
        let results = try await store.write([[.update(spec), .updateStatus(status)]])
        let written = try #require(results[0][1].object)
        #expect(written.annotations["pv.kubernetes.io/bind-completed"] == "yes")
        #expect(written.status?["phase"]?.stringValue == "Bound")
        #expect(Int(written.resourceVersion)! == Int(pvc.resourceVersion)! + 2)
        // The version both writes were made from is stale for anyone else.
        await expectStoreError(.conflict) { _ = try await store.updateStatus(status) }
    }

    @Test(arguments: Backend.allCases)
    func eventsAreEmittedInOrderForWhatWasKept(backend: Backend) async throws {
        let store = try backend.make()
        let a = try await store.create(configMap("a"))
        let start = try await store.currentResourceVersion()
        let stream = store.watch([ConfigMap.resourceType], from: start)
        var stale = a
        stale.setMeta("resourceVersion", .string("1"))
        var newA = a
        newA.setField("data", .object(["k": .string("new")]))
        let results = try await store.write([[.create(try configMap("b"))], [.update(stale)], [.update(newA), .delete(key("b"))]])
        #expect(results.flatMap { $0 }.filter { $0.error != nil }.count == 1)
        var seen: [String] = []
        for try await event in stream {
            seen.append("\(event.kind.rawValue) \(event.object.name) \(event.resourceVersion - start)")
            if seen.count == 3 { break }
        }
        #expect(seen == ["ADDED b 1", "MODIFIED a 2", "DELETED b 3"])
    }

    @Test(arguments: Backend.allCases)
    func aThousandUpdatesInOneTransaction(backend: Backend) async throws {
        let store = try backend.make()
        var objects: [Object] = []
        for i in 0..<1000 { objects.append(try await store.create(configMap("m\(i)"))) }
        let results = try await store.write(objects.map { o in
            var changed = o
            changed.setField("data", .object(["k": .string("b")]))
            return [.update(changed)]
        })
        #expect(results.allSatisfy { $0[0].object != nil })
        #expect(try await store.list(ConfigMap.self).filter { $0.data?["k"] == "b" }.count == 1000)
    }
}
