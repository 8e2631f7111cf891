import Foundation
import Testing
@testable import KubeModel

@Suite struct EncodedObjectTests {
    @Test(arguments: [
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v, quote: 'a \"b\" <c> & d', unicode: é☃, newline: \"x\\ny\"}\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop, labels: {app: web}}\nspec: {ports: [{port: 80, targetPort: 8080}], selector: {app: web}}\n",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: n, annotations: {x: \"\"}}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbig: 9223372036854775807\nsmall: -3\nfraction: 0.25\nnothing: null\nyes: true\nempty: {list: [], map: {}}\n",
    ])
    func roundTrip(yaml: String) throws {
        let object = try Manifest.decode(yaml, source: "t")[0].object
        let encoded = EncodedObject(object)
        #expect(encoded.key == object.key)
        #expect(try encoded.decode() == object)
    }

    /// Written as JSON writes it, a whole floating-point number reads back as an integer, as
    /// it does from a store.
    @Test func wholeFloatReadsBackAsInteger() throws {
        let object = try Manifest.decode("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nn: 2.0\n", source: "t")[0].object
        #expect(object.json["n"] == .double(2))
        #expect(try EncodedObject(object).decode().json["n"] == .int(2))
    }
}
