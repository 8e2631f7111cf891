import Foundation
import Testing
@testable import KubeModel

@Suite struct ManifestReadTests {
    @Test func handsEachObjectInOrder() throws {
        var seen: [String] = []
        try Manifest.read("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c1}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c2}}\n", source: "x.yaml") {
            seen.append("\($0.index):\($0.object.name)")
        }
        #expect(seen == ["0:a", "2:c1", "2:c2"])
    }

    /// As when every document was parsed before any was converted: a syntax error anywhere
    /// is the error, even after a document of an unknown kind.
    @Test func syntaxErrorWinsOverUnknownKind() {
        do {
            try Manifest.read("apiVersion: v1\nkind: Frobnicator\nmetadata: {name: f}\n---\nkind: [oops\n", source: "k.yaml") { _ in }
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("yaml: line"), "\(error)")
        }
    }

    @Test func unknownKindStopsTheObjects() {
        var seen: [String] = []
        do {
            try Manifest.read("apiVersion: v1\nkind: Frobnicator\nmetadata: {name: f}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", source: "k.yaml") {
                seen.append($0.object.name)
            }
            Issue.record("expected an error")
        } catch {
            #expect(error.index == 0)
            #expect(error.description.contains(#"no matches for kind "Frobnicator" in version "v1""#))
        }
        #expect(seen.isEmpty)
    }
}
