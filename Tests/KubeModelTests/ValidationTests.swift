import Foundation
import Testing
@testable import KubeModel

/// Decodes one YAML document and runs the API server's create pipeline on it.
func prepare(_ yaml: String, old: String? = nil) throws -> Result<Object, ValidationFailure> {
    let object = try Manifest.decode(yaml, source: "test.yaml")[0].object
    let previous = try old.map { try Manifest.decode($0, source: "old.yaml")[0].object }
    return Scheme.prepare(object, old: previous)
}

func message(_ yaml: String, old: String? = nil) throws -> String? {
    let object = try Manifest.decode(yaml, source: "test.yaml")[0].object
    switch try prepare(yaml, old: old) {
    case .success: return nil
    case .failure(let f): return invalidMessage(kind: object.type.kind, name: object.name, errors: f.errors)
    }
}

@Suite struct ServiceValidationTests {
    static let cases: [(String, String?)] = [
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 70000}]}
        """, #"Service "web" is invalid: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80}]}
        """, nil),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: Web_1}
        spec: {ports: [{port: 80}]}
        """, #"Service "Web_1" is invalid: metadata.name: Invalid value: "Web_1": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80, name: http}, {port: 81, name: http}]}
        """, #"Service "web" is invalid: spec.ports[1].name: Duplicate value: "http""#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80}, {port: 81}]}
        """, #"Service "web" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {type: ClusterIP, ports: [{port: 80, nodePort: 30080}]}
        """, #"Service "web" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {type: Magic, ports: [{port: 80}]}
        """, #"Service "web" is invalid: spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "NodePort", "LoadBalancer", "ExternalName""#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: ext}
        spec: {type: ExternalName}
        """, #"Service "ext" is invalid: spec.externalName: Required value"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80, targetPort: "http_x"}]}
        """, #"Service "web" is invalid: spec.ports[0].targetPort: Invalid value: "http_x": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: "eighty"}]}
        """, #"Service "web" is invalid: spec.ports[0].port: Invalid value: "eighty": must be of type integer"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80}], selector: {"app": "bad value!"}}
        """, #"Service "web" is invalid: spec.selector[app]: Invalid value: "bad value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80}], sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}}
        """, #"Service "web" is invalid: spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400"#),
        ("""
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80}], externalTrafficPolicy: Local}
        """, #"Service "web" is invalid: spec.externalTrafficPolicy: Invalid value: "Local": may only be set when `type` is 'NodePort' or 'LoadBalancer'"#),
    ]

    @Test(arguments: cases)
    func validation(yaml: String, expected: String?) throws {
        #expect(try message(yaml) == expected)
    }

    @Test func defaults() throws {
        let object = try prepare("""
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec: {type: NodePort, ports: [{port: 80, x-unknown: kept}], sessionAffinity: ClientIP, futureField: {a: 1}}
            """).get()
        let svc = try object.decode(Service.self)
        #expect(svc.spec.ports?[0].protocol == "TCP")
        #expect(svc.spec.ports?[0].targetPort == .int(80))
        #expect(svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds == 10800)
        #expect(svc.spec.externalTrafficPolicy == "Cluster")
        #expect(svc.spec.internalTrafficPolicy == "Cluster")
        // Unknown fields survive.
        #expect(object.json["spec"]?["futureField"]?["a"] == .int(1))
        #expect(object.json["spec"]?["ports"]?.arrayValue?[0]["x-unknown"] == .string("kept"))
    }

    @Test func clusterIPImmutable() throws {
        let old = """
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}
            """
        let new = old.replacingOccurrences(of: "10.96.0.20", with: "10.96.0.21")
        #expect(try message(new, old: old) == #"Service "web" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.21": may not change once set"#)
    }
}

@Suite struct IngressValidationTests {
    static func ingress(path: String, pathType: String? = "Prefix", host: String = "foo.com") -> String {
        """
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: web}
        spec:
          rules:
          - host: "\(host)"
            http:
              paths:
              - path: "\(path)"
        \(pathType.map { "        pathType: \($0)" } ?? "")
                backend: {service: {name: web, port: {number: 80}}}
        """
    }

    @Test func valid() throws {
        #expect(try message(Self.ingress(path: "/api")) == nil)
        #expect(try message(Self.ingress(path: "/", host: "*.foo.com")) == nil)
    }

    @Test func pathMustBeAbsolute() throws {
        #expect(try message(Self.ingress(path: "api")) == #"Ingress "web" is invalid: spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path"#)
    }

    @Test func pathTypeRequired() throws {
        #expect(try message(Self.ingress(path: "/", pathType: nil)) == #"Ingress "web" is invalid: spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"#)
    }

    @Test func wildcardOnlyFirstLabel() throws {
        let msg = try message(Self.ingress(path: "/", host: "foo.*.com"))
        #expect(msg?.hasPrefix(#"Ingress "web" is invalid: spec.rules[0].host: Invalid value: "foo.*.com": a wildcard DNS-1123 subdomain must start with '*.'"#) == true)
    }

    @Test func exactPathWithDoubleSlash() throws {
        #expect(try message(Self.ingress(path: "/a//b")) == #"Ingress "web" is invalid: spec.rules[0].http.paths[0].path: Invalid value: "/a//b": must not contain '//'"#)
    }
}

@Suite struct OtherKindsValidationTests {
    @Test func pvcRequiresAccessModes() throws {
        let msg = try message("""
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {resources: {requests: {storage: 1Gi}}}
            """)
        #expect(msg == #"PersistentVolumeClaim "data" is invalid: spec.accessModes: Required value: at least 1 access mode is required"#)
    }

    @Test func pvcDefaultsAndShrinkForbidden() throws {
        let old = """
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata: {name: data}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 2Gi}}}
            """
        let object = try prepare(old).get()
        #expect(object.json["spec"]?["volumeMode"] == .string("Filesystem"))
        let shrunk = old.replacingOccurrences(of: "2Gi", with: "1Gi")
        #expect(try message(shrunk, old: old) == #"PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value"#)
        let grown = old.replacingOccurrences(of: "2Gi", with: "3Gi")
        #expect(try message(grown, old: old) == nil)
        let otherMode = old.replacingOccurrences(of: "ReadWriteOnce", with: "ReadWriteMany")
        #expect(try message(otherMode, old: old)?.contains("spec: Forbidden: spec is immutable after creation") == true)
    }

    @Test func networkPolicyDefaultsAndIPBlock() throws {
        let object = try prepare("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p}
            spec:
              podSelector: {}
              egress: [{ports: [{port: 53}]}]
            """).get()
        #expect(object.json["spec"]?["policyTypes"] == .array([.string("Ingress"), .string("Egress")]))
        #expect(object.json["spec"]?["egress"]?.arrayValue?[0]["ports"]?.arrayValue?[0]["protocol"] == .string("TCP"))
        let empty = try prepare("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p}
            spec: {podSelector: {}, egress: []}
            """).get()
        #expect(empty.json["spec"]?["policyTypes"] == .array([.string("Ingress")]))
        let msg = try message("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p}
            spec:
              podSelector: {}
              ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]
            """)
        #expect(msg == #"NetworkPolicy "p" is invalid: spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`"#)
    }

    @Test func deploymentSelectorMustMatchTemplate() throws {
        let msg = try message("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: other}}
                spec: {containers: [{name: c, command: [sleep, "1"]}]}
            """)
        #expect(msg == #"Deployment "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`"#)
    }

    @Test func secretStringDataAndTLS() throws {
        let msg = try message("""
            apiVersion: v1
            kind: Secret
            metadata: {name: tls}
            type: kubernetes.io/tls
            data: {tls.crt: aGVsbG8=}
            """)
        #expect(msg == #"Secret "tls" is invalid: data[tls.key]: Required value"#)
        let garbage = try message("""
            apiVersion: v1
            kind: Secret
            metadata: {name: tls}
            type: kubernetes.io/tls
            stringData: {tls.crt: hello, tls.key: world}
            """)
        #expect(garbage?.contains(#"data[tls.crt]: Invalid value: "<secret contents redacted>": no PEM CERTIFICATE block found"#) == true)
        #expect(garbage?.contains(#"data[tls.key]: Invalid value: "<secret contents redacted>": failed to parse private key PEM"#) == true)
    }
}
