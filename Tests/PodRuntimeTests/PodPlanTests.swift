import ClusterStore
import Foundation
import KubeModel
import Testing
@testable import PodRuntime

let node = NodeConfiguration(nodeName: "n1", nodeIP: "192.0.2.1", podCIDR: CIDR("10.244.0.0/16")!, podsDirectory: "/tmp/pods")

func objects(_ yaml: String) throws -> [Object] {
    try Manifest.decode(yaml, source: "t").map { doc in
        // Defaults as the store would apply them.
        try Scheme.prepare(doc.object, old: nil).get()
    }
}

func pod(_ yaml: String) throws -> Pod {
    var p = try objects(yaml)[0].decode(Pod.self)
    if p.metadata.namespace == nil { p.metadata.namespace = "default" }
    return p
}

@Suite struct PodPlanTests {
    static let snapshot = try! CacheSnapshot(objects: objects("""
        apiVersion: v1
        kind: Service
        metadata: {name: web-api, namespace: shop}
        spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 80}, {name: metrics, port: 9090, protocol: UDP}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: kubernetes, namespace: default}
        spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: headless, namespace: shop}
        spec: {clusterIP: None, ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds, namespace: shop}
        stringData: {password: s3cret}
        data: {token: dG9rZW4=}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg, namespace: shop}
        data: {LEVEL: debug, file.txt: hello}
        """))

    static let podYAML = """
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: shop, uid: u1, labels: {app: x}}
        spec:
          hostname: alpha
          subdomain: headless
          containers:
          - name: c
            command: [sh, -c]
            args: ["echo $(GREETING) $(MISSING) $$(ESCAPED)"]
            workingDir: /tmp
            envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}]
            env:
            - {name: GREETING, value: "hello $(CFG_LEVEL)"}
            - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: token}}}
            - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
            volumeMounts: [{name: data, mountPath: /data}, {name: conf, mountPath: /etc/conf, readOnly: true}]
          volumes:
          - {name: data, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
          - {name: conf, configMap: {name: cfg, items: [{key: file.txt, path: sub/f.txt, mode: 0600}]}}
        """

    @Test func environmentFilesAndMounts() throws {
        let plan = try PodPlan.make(pod: try pod(Self.podYAML), podIP: "10.244.0.7", node: node, snapshot: Self.snapshot).get()
        let c = plan.containers[0]
        let env = Dictionary(c.environment.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        #expect(env["GREETING"] == "hello debug")
        #expect(env["PASSWORD"] == "token")
        #expect(env["MY_IP"] == "10.244.0.7")
        #expect(env["APP"] == "x")
        #expect(env["CFG_LEVEL"] == "debug")
        #expect(env["WEB_API_SERVICE_HOST"] == "10.96.0.50")
        #expect(env["WEB_API_SERVICE_PORT"] == "80")
        #expect(env["WEB_API_SERVICE_PORT_METRICS"] == "9090")
        #expect(env["WEB_API_PORT_9090_UDP_PROTO"] == "udp")
        #expect(env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1")
        #expect(env["HEADLESS_SERVICE_HOST"] == nil, "headless services get no variables")
        #expect(c.argv == ["sh", "-c", "echo hello debug $(MISSING) $(ESCAPED)"])
        #expect(c.uid == 65534 && c.gid == 65534, "never root by accident")
        #expect(c.mounts.map(\.target) == ["/data", "/etc/conf"])
        #expect(plan.hostname == "alpha")
        #expect(plan.hostsFile.contains("10.244.0.7\talpha.headless.shop.svc.cluster.local\talpha"))
        #expect(plan.resolvConf == "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
        #expect(plan.volumes[0].source == .emptyDir(memory: true, sizeLimit: 64 * 1024 * 1024))
        #expect(plan.volumes[1].source == .files([ProjectedFile(path: "sub/f.txt", contents: Data("hello".utf8), mode: 0o600)]))
    }

    @Test func missingCommandAndMissingSecret() throws {
        let p = try pod("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: shop}
            spec:
              containers:
              - {name: img, image: nginx}
              - {name: env, command: ["true"], env: [{name: X, valueFrom: {secretKeyRef: {name: nope, key: k}}}]}
            """)
        let plan = try PodPlan.make(pod: p, podIP: "10.244.0.8", node: node, snapshot: Self.snapshot).get()
        #expect(plan.containers[0].problem?.reason == "NoCommand")
        #expect(plan.containers[1].problem?.reason == "CreateContainerConfigError")
        #expect(plan.containers[1].problem?.message.contains(#"secret "nope""#) == true)
    }

    @Test func unboundClaimBlocksThePod() throws {
        let snap = try CacheSnapshot(objects: objects("""
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data, namespace: default}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
            """))
        let p = try pod("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              containers: [{name: c, command: [sleep, "1"]}]
              volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
            """)
        guard case .failure(let blocked) = PodPlan.make(pod: p, podIP: "10.244.0.9", node: node, snapshot: snap) else {
            Issue.record("expected the pod to be blocked"); return
        }
        #expect(blocked.reason == "Unschedulable")
        #expect(blocked.message.contains("unbound"))
    }

    @Test(arguments: [
        ("Default", nil as String?),
        ("None", "search a.example\nnameserver 1.1.1.1\noptions ndots:2 edns0\n"),
        ("ClusterFirst", "search default.svc.cluster.local svc.cluster.local cluster.local a.example\nnameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:2 edns0\n"),
    ])
    func dnsPolicies(policy: String, expected: String?) throws {
        let config = policy == "Default" ? "" : "\n  dnsConfig: {nameservers: [1.1.1.1], searches: [a.example], options: [{name: ndots, value: \"2\"}, {name: edns0}]}"
        let p = try pod("""
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              dnsPolicy: \(policy)\(config)
              containers: [{name: c, command: [sleep, "1"]}]
            """)
        #expect(PodPlan.resolvConf(pod: p, node: node) == expected)
    }

    @Test func expansion() {
        let env = [("A", "1"), ("B", "two")]
        #expect(PodPlan.expand("$(A)-$(B)-$(C)-$$(A)-$", env) == "1-two-$(C)-$(A)-$")
    }
}

@Suite struct IPAMTests {
    @Test func allocatesLowestFreeAndNeverTwice() {
        var ipam = IPAM(cidr: CIDR("10.244.0.0/29")!, used: [IPAddress("10.244.0.3")!])
        #expect(ipam.allocate()?.description == "10.244.0.2")
        #expect(ipam.allocate()?.description == "10.244.0.4")
        let taken = ipam.claim(IPAddress("10.244.0.4")!)
        #expect(!taken)
        let gateway = ipam.claim(IPAddress("10.244.0.1")!)
        #expect(!gateway, "the gateway is never a pod address")
        let free = ipam.claim(IPAddress("10.244.0.6")!)
        #expect(free)
        #expect(ipam.allocate()?.description == "10.244.0.5")
        #expect(ipam.allocate() == nil, "broadcast is not handed out")
        ipam.release(IPAddress("10.244.0.2")!)
        #expect(ipam.allocate()?.description == "10.244.0.2")
    }
}
