import ClusterStore
import Controllers
import KubeModel
import Logging
import Testing

/// The controllers running against a MemoryStore through a ClusterCache.
@Suite("Controllers over a store")
struct ControllerStoreTests {
    static func eventually(_ timeout: Duration = .seconds(30), _ check: () async throws -> Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if try await check() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await check()
    }

    @Test func slicesFollowPods() async throws {
        let store = MemoryStore()
        let logger = Logger(label: "test")
        let cache = ClusterCache(store: store, types: EndpointSliceSync.types, logger: logger)
        let controller = EndpointSliceController(cache: cache, logger: logger)
        let mirror = EndpointSliceMirroringController(cache: cache, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await cache.run() }
            group.addTask { try await controller.run() }
            group.addTask { try await mirror.run() }
            _ = try await store.create(Object(Fixture.service("web") { $0.spec.clusterIP = nil; $0.spec.clusterIPs = nil; $0.spec.ipFamilies = nil }))
            var pod = Fixture.pod("a", ip: nil)
            pod.metadata.uid = nil
            let created = try await store.create(Object(pod))
            var withStatus = try created.decode(Pod.self)
            withStatus.status = Fixture.pod("a", ip: "10.244.0.9").status
            _ = try await store.updateStatus(Object(withStatus))
            let ok = try await Self.eventually {
                let slices = try await store.list(EndpointSlice.self, namespace: "default")
                return slices.count == 1 && slices[0].endpoints?.first?.addresses == ["10.244.0.9"] && slices[0].endpoints?.first?.conditions?.ready == true
            }
            #expect(ok)
            // Mirroring of a hand-written Endpoints object.
            _ = try await store.create(Object(Fixture.service("ext", selector: nil) { $0.spec.clusterIP = nil; $0.spec.clusterIPs = nil; $0.spec.ipFamilies = nil }))
            var eps = Fixture.endpoints("ext", ready: ["192.0.2.10"], ports: [("http", 80, "TCP")])
            eps.metadata.uid = nil
            _ = try await store.create(Object(eps))
            let mirrored = try await Self.eventually {
                try await store.list(EndpointSlice.self, namespace: "default").contains { $0.serviceName == "ext" && $0.endpoints?.first?.addresses == ["192.0.2.10"] }
            }
            #expect(mirrored)
            // Deleting the Service removes its slices.
            _ = try await store.delete(ObjectKey(type: Service.resourceType, namespace: "default", name: "web"))
            let cleaned = try await Self.eventually {
                try await store.list(EndpointSlice.self, namespace: "default").allSatisfy { $0.serviceName != "web" }
            }
            #expect(cleaned)
            group.cancelAll()
        }
    }

    @Test func loadBalancerStatusWritten() async throws {
        let store = MemoryStore()
        let logger = Logger(label: "test")
        let cache = ClusterCache(store: store, types: [Service.resourceType], logger: logger)
        let controller = LoadBalancerController(allocator: LoadBalancerAllocator(pool: AddressPool("10.250.0.1-10.250.0.2")!), cache: cache, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await cache.run() }
            group.addTask { try await controller.run() }
            var svc = Fixture.service("web") { $0.spec.type = "LoadBalancer"; $0.spec.clusterIP = nil; $0.spec.clusterIPs = nil; $0.spec.ipFamilies = nil }
            svc.metadata.uid = nil
            _ = try await store.create(Object(svc))
            let ok = try await Self.eventually {
                try await store.get(Service.self, namespace: "default", name: "web")?.status.loadBalancer.ingress?.first?.ip == "10.250.0.1"
            }
            #expect(ok)
            group.cancelAll()
        }
    }
}
