import ClusterStore
import KubeModel
import Testing
@testable import KplaneCommands

@Suite struct IngressRouteCommandTests {
    static let yaml = """
    apiVersion: v1
    kind: Namespace
    metadata: {name: shop}
    ---
    apiVersion: networking.k8s.io/v1
    kind: IngressClass
    metadata: {name: kplane, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
    spec: {controller: kplane.dev/ingress}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: shop}
    spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
    ---
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
    addressType: IPv4
    ports: [{name: http, port: 8080}]
    endpoints: [{addresses: [10.244.0.7], conditions: {ready: true}}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: shop, namespace: shop}
    spec:
      tls: [{hosts: [shop.example.com], secretName: shop-tls}]
      rules:
      - host: shop.example.com
        http: {paths: [{path: /cart, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}]}
    """

    @Test func explainsRuleBackendEndpointsAndCertificate() async throws {
        let store = MemoryStore()
        _ = try await store.apply(try Manifest.decode(Self.yaml, source: "test").map(\.object))
        let text = try await IngressRouteCommand.explain("https://shop.example.com/cart/items?x=1", store: store, stateDir: nil)
        #expect(text.contains("Ingress:    shop/shop"))
        #expect(text.contains("spec.rules[0].http.paths[0]: host shop.example.com, path /cart (Prefix)"))
        #expect(text.contains("Endpoints:  10.244.0.7:8080"))
        #expect(text.contains("TLS:        default certificate"))
        #expect(text.contains("secret shop/shop-tls not found"))
        let miss = try await IngressRouteCommand.explain("http://other.example/", store: store, stateDir: nil)
        #expect(miss.contains("404 Not Found"))
    }
}
