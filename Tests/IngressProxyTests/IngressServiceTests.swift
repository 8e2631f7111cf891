import ClusterStore
import Foundation
import KubeModel
import Logging
import NIOPosix
import ServiceLifecycle
import Testing
@testable import IngressProxy

@Suite(.enabled(if: curlPath != nil, "curl is not installed"))
struct IngressServiceTests {
    @Test func followsTheStoreSetsStatusAndCreatesItsClass() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let backend = try await TestBackend.start("web", group: group)
        let store = MemoryStore()
        let logger = Logger(label: "test")
        let informer = IngressInformer(store: store, types: RouteInputs.resourceTypes, logger: logger)
        let pair = try SelfSignedCertificate.make(commonName: "default", dnsNames: ["x.invalid"])
        var config = IngressConfiguration(httpListen: ("127.0.0.1", 0), httpsListen: ("127.0.0.1", 0), defaultCertificate: pair)
        config.statusAddress = "127.0.0.1"
        config.eventLoopThreads = 1
        config.proxy.accessLog = false
        let service = IngressService(configuration: config, informer: informer, store: store, logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(services: [.init(service: informer), .init(service: service)], logger: logger))
        let running = Task { try await serviceGroup.run() }

        let addresses = await service.listening()
        let port = try #require(addresses.first?.port)
        let objects = try Manifest.decode(Fixtures.service("web", ips: ["127.0.0.1"], targetPort: backend.port) + """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: shop, namespace: default}
        spec:
          rules:
          - host: shop.example
            http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: other, namespace: default}
        spec:
          ingressClassName: nginx
          rules:
          - host: other.example
            http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]}
        """, source: "test").map(\.object)
        _ = try await store.apply(objects)

        // The class is created (default, as the only one), the route goes live, status is set.
        var body = ""
        var status: [LoadBalancerStatus.Ingress]?
        for _ in 0..<100 {
            body = try await run(curlPath!, ["-s", "-m", "5", "-H", "Host: shop.example", "http://127.0.0.1:\(port)/"]).out
            let ing = try await store.get(ObjectKey(type: Ingress.resourceType, namespace: "default", name: "shop"))
            status = try ing?.decode(Ingress.self).status.loadBalancer.ingress
            if body.contains("name=web"), status != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(body.contains("name=web"))
        #expect(status == [LoadBalancerStatus.Ingress(ip: "127.0.0.1")])
        let cls = try await store.get(ObjectKey(type: IngressClass.resourceType, namespace: "", name: "kplane"))
        #expect(try cls?.decode(IngressClass.self).isDefault == true)
        let other = try await store.get(ObjectKey(type: Ingress.resourceType, namespace: "default", name: "other"))
        #expect(try other?.decode(Ingress.self).status.loadBalancer.ingress == nil)

        // A deleted Ingress stops routing.
        _ = try await store.delete(ObjectKey(type: Ingress.resourceType, namespace: "default", name: "shop"))
        var code = ""
        for _ in 0..<100 {
            code = try await run(curlPath!, ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: shop.example", "http://127.0.0.1:\(port)/"]).out
            if code == "404" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(code == "404")

        await serviceGroup.triggerGracefulShutdown()
        try await running.value
        await backend.stop()
        try await group.shutdownGracefully()
    }
}
