import KubeModel

/// The objects every cluster has from the start: the three namespaces, the `kubernetes`
/// Service at the first service address and `kube-dns` at the tenth.
enum Bootstrap {
    static func ensure(api: APIServer, in txn: some StorageTransaction) throws {
        for name in ["default", "kube-system", "kube-public"] {
            var ns = Namespace()
            ns.metadata.name = name
            try createIfMissing(Object(ns), api: api, in: txn)
        }
        let cidr = api.configuration.serviceCIDR
        var kubernetes = Service()
        kubernetes.metadata = ObjectMeta(name: "kubernetes", namespace: "default", labels: ["component": "apiserver", "provider": "kubernetes"])
        kubernetes.spec.clusterIP = cidr.network.advanced(by: 1).description
        kubernetes.spec.ports = [Service.Port(name: "https", port: 443, targetPort: .int(6443))]
        try createIfMissing(Object(kubernetes), api: api, in: txn)

        var dns = Service()
        dns.metadata = ObjectMeta(name: "kube-dns", namespace: "kube-system", labels: ["k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"])
        dns.spec.clusterIP = cidr.network.advanced(by: 10).description
        dns.spec.ports = [
            Service.Port(name: "dns", protocol: "UDP", port: 53, targetPort: .int(53)),
            Service.Port(name: "dns-tcp", protocol: "TCP", port: 53, targetPort: .int(53)),
            Service.Port(name: "metrics", protocol: "TCP", port: 9153, targetPort: .int(9153)),
        ]
        try createIfMissing(Object(dns), api: api, in: txn)
    }

    private static func createIfMissing(_ object: Object, api: APIServer, in txn: some StorageTransaction) throws {
        if try txn.get(object.key) == nil { _ = try api.create(object, in: txn) }
    }
}
