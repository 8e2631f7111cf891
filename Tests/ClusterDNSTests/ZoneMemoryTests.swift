import Foundation
import HostSystem
import Testing
import ClusterStore
import KubeModel
@testable import ClusterDNS

/// Where the memory of 10,000 Services goes in the `dns` component: its reduced copy of the
/// objects (`ZoneInputs`) and the zone index built from it, against the shared cache's copy of
/// whole objects that other components read (heap bytes in use, from glibc's `malloc_info`).
/// Runs alone (serial phase): the heap is the whole process's.
@Suite struct ZoneMemoryTests {
    @Test func dnsKeepsLessThanHalfAKilobytePerService() async throws {
        let n = 10_000
        let store = MemoryStore()
        var docs: [Object] = [try Object(json: .object(["apiVersion": .string("v1"), "kind": .string("Namespace"), "metadata": .object(["name": .string("bench")])]))]
        for i in 0..<n {
            docs.append(try Object(json: .object([
                "apiVersion": .string("v1"), "kind": .string("Service"),
                "metadata": .object(["name": .string("svc-\(i)"), "namespace": .string("bench"), "labels": .object(["app": .string("svc-\(i)")])]),
                "spec": .object(["selector": .object(["app": .string("svc-\(i)")]),
                                 "ports": .array([.object(["name": .string("http"), "protocol": .string("TCP"), "port": .int(80)])])]),
            ])))
        }
        _ = try await store.apply(docs)
        docs = []
        let texts = try await store.list(Service.resourceType, namespace: nil).items.map { $0.json.jsonData() }

        let h0 = try #require(HostMemory.heapInUse())
        var objects: [Object]? = try texts.map { try Object(json: JSONValue.parse($0)) }
        let h1 = try #require(HostMemory.heapInUse())
        var snapshot: CacheSnapshot? = CacheSnapshot(objects: objects!)
        let h2 = try #require(HostMemory.heapInUse())
        snapshot = nil
        let h3 = try #require(HostMemory.heapInUse())
        let inputs = ZoneInputs(objects: objects!)
        objects = nil
        let h4 = try #require(HostMemory.heapInUse())
        let zone = ClusterZone(inputs: inputs, configuration: ZoneConfiguration())
        let h5 = try #require(HostMemory.heapInUse())

        #expect(snapshot == nil && zone.services.count == texts.count)
        let perService = { (bytes: Int) in bytes / texts.count }
        print("memory per service: JSON text \(perService(texts.map(\.count).reduce(0, +))) B, "
              + "JSON tree \(perService(h1 - h0)) B, shared cache entry (text + typed value) \(perService(h2 - h1)) B; "
              + "dns: inputs \(perService(h4 - h0 - (h3 - h1))) B + zone index \(perService(h5 - h4)) B")
        #expect(perService(h5 - h0 - (h3 - h1)) <= 256, "the DNS component keeps 143 B per Service: inputs and zone")
    }
}
