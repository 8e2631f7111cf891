import KubeModel
@testable import NetworkPolicy
import Testing

/// The upstream e2e netpol suite, run against the evaluator (and against the rendered
/// nftables sets through `RulesetInterpreter`): every probed cell of every step must match
/// the upstream expectation. Loopback cells are ignored, as upstream does.
@Suite struct UpstreamNetpolTests {
    @Test func allFortyEightCasesArePorted() {
        #expect(upstreamNetpolCases.count == 48)
        #expect(Set(upstreamNetpolCases.map(\.name)).count == 48)
    }

    @Test(arguments: upstreamNetpolCases)
    func evaluator(_ c: NetpolCase) {
        var cluster = NetpolCluster(pods: c.pods, ports: c.ports, protocols: c.protocols)
        for (i, step) in c.steps.enumerated() {
            step.change(&cluster)
            var expected = Reachability(cluster.refs)
            step.expect(&expected)
            let model = cluster.model
            let got = model.matrix(port: step.port)
            let diff = expected.matrix.differences(from: got, ignoringSelf: true)
            #expect(diff.isEmpty, "step \(i) (\(step.port)):\n\(diff.joined(separator: "\n"))\n\(got.table)")
        }
    }
}
