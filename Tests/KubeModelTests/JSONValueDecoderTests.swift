import Foundation
import Testing
@testable import KubeModel

/// The tree decoder must give what Foundation's JSONDecoder gives from the same object as text:
/// the same values for every kind, the same errors (type, coding path) for bad input. The tree
/// encoder must give the tree Foundation's JSONEncoder and a parse give.
@Suite struct JSONValueDecoderTests {
    static let examples: [Object] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples")
        let files = FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".yaml") }.sorted() ?? []
        return files.flatMap { file -> [Object] in
            guard let text = try? String(contentsOf: root.appendingPathComponent(file), encoding: .utf8),
                  let docs = try? Manifest.decode(text, source: file) else { return [] }
            return docs.map(\.object)
        }
    }() + (try! Manifest.decode(extraKinds, source: "extra")).map(\.object)

    /// Kinds the examples do not use.
    static let extraKinds = """
        apiVersion: v1
        kind: Secret
        metadata: {name: s, labels: {a: b}}
        type: kubernetes.io/tls
        data: {tls.crt: YQ==, tls.key: Yg==}
        stringData: {extra: x}
        ---
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata: {name: fast}
        provisioner: kplane.dev/local-path
        reclaimPolicy: Retain
        allowVolumeExpansion: true
        parameters: {mode: image}
        ---
        apiVersion: v1
        kind: PersistentVolume
        metadata: {name: pv1}
        spec:
          capacity: {storage: 1Gi}
          accessModes: [ReadWriteOnce]
          hostPath: {path: /tmp/x}
          claimRef: {namespace: default, name: c}
          nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: k, operator: In, values: [a]}]}]}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: [10.0.0.1], conditions: {ready: true, serving: true, terminating: false}, hostname: a, targetRef: {kind: Pod, name: p, namespace: default}}
        - {addresses: [10.0.0.2], conditions: {}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: {name: kplane, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
        spec: {controller: kplane.dev/ingress}
        """

    static func foundation<T: Resource>(_ type: T.Type, _ object: Object) throws -> T {
        try JSONDecoder().decode(T.self, from: object.json.jsonData())
    }

    static func same<T: Resource>(_ type: T.Type, _ object: Object) throws -> Bool {
        var defaulted = try foundation(T.self, object)
        defaulted.setDefaults()
        // Through Object too: defaults set every optional field the kind has.
        let full = Object(defaulted)
        return try object.decode(T.self) == foundation(T.self, object)
            && full.decode(T.self) == foundation(T.self, full)
    }

    @Test func everyExampleDecodesAsFoundationDecodesIt() throws {
        #expect(Self.examples.count > 30)
        var kinds = Set<String>()
        for object in Self.examples {
            let resource = try #require(Scheme.resource(for: object.type))
            #expect(try Self.same(resource, object), "\(object.key)")
            kinds.insert(object.type.kind)
        }
        #expect(kinds.isSuperset(of: ["Service", "Deployment", "Ingress", "NetworkPolicy", "PersistentVolumeClaim", "ConfigMap", "Secret",
                                     "Pod", "Endpoints", "Namespace", "StorageClass", "PersistentVolume", "EndpointSlice", "IngressClass"]))
    }

    static func encodedSame<T: Resource>(_ type: T.Type, _ object: Object) throws -> Bool {
        var typed = try object.decode(T.self)
        let plain = try JSONValueEncoder.encode(typed) == JSONValue.parse(JSONEncoder().encode(typed))
        typed.setDefaults()
        return try plain && JSONValueEncoder.encode(typed) == JSONValue.parse(JSONEncoder().encode(typed))
    }

    @Test func everyExampleEncodesAsFoundationEncodesIt() throws {
        for object in Self.examples {
            let resource = try #require(Scheme.resource(for: object.type))
            #expect(try Self.encodedSame(resource, object), "\(object.key)")
        }
        // Numbers: JSON text does not keep 1.0 apart from 1.
        struct Numbers: Codable { var a = 1.0, b = 1.5, c: Int64 = -3, d: UInt8 = 7, e: [Double?] = [nil, 2], f: [String: Float] = ["x": 0.25] }
        #expect(try JSONValueEncoder.encode(Numbers()) == JSONValue.parse(JSONEncoder().encode(Numbers())))
    }

    static let badInputs: [String] = [
        "{spec: {ports: [{port: abc}]}}",
        "{spec: {ports: [{port: 1.5}]}}",
        "{spec: {ports: [{port: 99999999999999999999}]}}",
        "{spec: {ports: [{port: null}]}}",
        "{spec: {ports: {port: 80}}}",
        "{spec: {selector: [a]}}",
        "{spec: {selector: {app: 5}}}",
        "{metadata: 5}",
        "{spec: {ports: [null]}}",
        "{spec: {sessionAffinity: true}}",
        "{spec: {ports: [{}]}}",
    ]

    @Test(arguments: badInputs)
    func badInputFailsAsFoundationDoes(_ body: String) throws {
        let yaml = "apiVersion: v1\nkind: Service\n" + body.dropFirst().dropLast().replacingOccurrences(of: ", ", with: "\n")
        guard let object = try? Manifest.decode(yaml, source: "t")[0].object else { return }
        let ours = Result { try object.decode(Service.self) }
        let theirs = Result { try Self.foundation(Service.self, object) }
        switch (ours, theirs) {
        case (.success(let a), .success(let b)):
            #expect(a == b)
        case (.failure(let a as DecodingError), .failure(let b as DecodingError)):
            // A number that does not fit: Foundation gives no path; the tree decoder names the field.
            if case .dataCorrupted(let c) = b, c.codingPath.isEmpty, case .dataCorrupted = a {
                #expect(Scheme.fieldError(for: a, in: object.json).field.description == "spec.ports[0].port")
                return
            }
            #expect(Self.shape(a) == Self.shape(b), "\(a) vs \(b)")
            #expect(Scheme.fieldError(for: a, in: object.json).field == Scheme.fieldError(for: b, in: object.json).field)
        default:
            Issue.record("one decoder failed and the other did not: \(ours) vs \(theirs)")
        }
    }

    /// The kind of error and where, without Foundation's wording.
    static func shape(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .typeMismatch(_, let c): return "typeMismatch \(path(c))"
        case .valueNotFound(_, let c): return "valueNotFound \(path(c))"
        case .keyNotFound(let k, let c): return "keyNotFound \(path(c)).\(k.stringValue)"
        case .dataCorrupted(let c): return "dataCorrupted \(path(c))"
        @unknown default: return "\(error)"
        }
    }
}
