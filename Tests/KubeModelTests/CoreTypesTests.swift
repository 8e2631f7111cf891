import Foundation
import Testing
@testable import KubeModel

@Suite struct QuantityTests {
    @Test(arguments: [
        ("1Gi", "1024Mi", 0), ("1G", "1000M", 0), ("1Gi", "1G", 1), ("500m", "0.5", 0), ("1.5Gi", "1536Mi", 0),
        ("1e3", "1k", 0), ("8Ei", "9223372036854775807", 1), ("16Ei", "8Ei", 1), ("100Mi", "100M", 1), ("0", "0Gi", 0),
    ])
    func compare(a: String, b: String, order: Int) throws {
        let x = try Quantity(a), y = try Quantity(b)
        switch order {
        case 0: #expect(x == y)
        default: #expect(x > y)
        }
    }

    @Test(arguments: ["", "Gi", "1.2.3", "1Zi", "abc", "1 Gi"])
    func invalid(text: String) {
        #expect(throws: Quantity.ParseError.self) { try Quantity(text) }
    }

    @Test func bytes() throws {
        #expect(try Quantity("1Gi").int64Value == 1 << 30)
        #expect(try Quantity("16Ei").int64Value == nil)
        #expect(try Quantity("1.5").int64Value == 2)
    }
}

@Suite struct LabelSelectorTests {
    static let labels = ["app": "web", "tier": "frontend", "env": "a"]

    @Test(arguments: [
        ("app=web", true), ("app==web", true), ("app!=web", false), ("tier!=db", true), ("env in (a,b)", true),
        ("env notin (a,b)", false), ("!legacy", true), ("app", true), ("missing", false), ("app=web,tier!=db,env in (a,b),!legacy", true),
        ("missing!=x", true), ("missing notin (x)", true), ("", true),
    ])
    func query(text: String, matches: Bool) throws {
        #expect(try LabelQuery(text).matches(Self.labels) == matches)
    }

    @Test(arguments: ["app=web web", "a b=c", "x in a,b", "-bad=1"])
    func invalidQuery(text: String) {
        #expect(throws: LabelQuery.ParseError.self) { try LabelQuery(text) }
    }

    @Test func expressions() {
        let selector = LabelSelector(matchLabels: ["app": "web"], matchExpressions: [
            .init(key: "env", operator: "NotIn", values: ["prod"]),
            .init(key: "legacy", operator: "DoesNotExist"),
        ])
        #expect(selector.matches(Self.labels))
        #expect(!selector.matches(["app": "web", "env": "prod"]))
        #expect(LabelSelector().matches([:]))
        #expect(LabelSelector(matchExpressions: [.init(key: "x", operator: "Bogus", values: ["y"])]).validate(at: FieldPath("s")).count == 1)
    }
}

@Suite struct IPTests {
    @Test(arguments: [("10.96.0.0/12", "10.111.255.255", true), ("10.96.0.0/12", "10.112.0.0", false), ("fd00::/64", "fd00::1", true), ("0.0.0.0/0", "1.2.3.4", true)])
    func contains(cidr: String, ip: String, expected: Bool) {
        #expect(CIDR(cidr)!.contains(IPAddress(ip)!) == expected)
    }

    @Test(arguments: ["::1", "fd00::a:1", "2001:db8::ffff", "1.2.3.4", "::"])
    func roundTrip(text: String) {
        #expect(IPAddress(text)?.description == text)
    }

    @Test(arguments: ["1.2.3", "256.1.1.1", "01.2.3.4", "1::2::3", "x"])
    func invalid(text: String) {
        #expect(IPAddress(text) == nil)
    }
}

@Suite struct ManifestTests {
    @Test func multiDocumentAndList() throws {
        let docs = try Manifest.decode("""
            apiVersion: v1
            kind: Namespace
            metadata: {name: a}
            ---
            ---
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: c1}}
            - {apiVersion: v1, kind: ConfigMap, metadata: {name: c2}}
            """, source: "x.yaml")
        #expect(docs.map(\.object.name) == ["a", "c1", "c2"])
    }

    @Test func json() throws {
        let docs = try Manifest.decode(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}}"#, source: "x.json")
        #expect(docs[0].object.json["data"]?["k"] == .string("v"))
    }

    @Test func syntaxErrorNamesLineAndColumn() {
        do {
            _ = try Manifest.decode("apiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n", source: "bad.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.line != nil)
            #expect(error.description.hasPrefix("error parsing bad.yaml:"))
        }
    }

    @Test func unknownKindNamesDocument() {
        do {
            _ = try Manifest.decode("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Frobnicator\nmetadata: {name: f}\n", source: "k.yaml")
            Issue.record("expected an error")
        } catch {
            #expect(error.index == 1)
            #expect(error.description.contains(#"no matches for kind "Frobnicator" in version "v1""#))
        }
    }

    @Test func yamlOutputQuotesAmbiguousStrings() throws {
        let out = Manifest.yaml(.object(["a": .string("true"), "b": .string("123"), "c": .string("plain"), "d": .int(5)]))
        #expect(out.contains("a: \"true\""))
        #expect(out.contains("b: \"123\""))
        #expect(out.contains("c: plain"))
        #expect(out.contains("d: 5"))
        let back = try Manifest.decode("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n" + out.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"), source: "r")
        #expect(back[0].object.json["data"]?["a"] == .string("true"))
    }

    @Test func jsonParserRoundTrip() throws {
        let text = #"{"a":[1,2.5,-3,"x\"y\u00e9",true,false,null,{}],"b":{"c":9223372036854775807}}"#
        let v = try JSONValue.parse(Data(text.utf8))
        #expect(try JSONValue.parse(v.jsonData()) == v)
        #expect(v["b"]?["c"] == .int(Int64.max))
    }
}
