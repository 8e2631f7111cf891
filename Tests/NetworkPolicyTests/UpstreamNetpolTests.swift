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

/// The same cases through the rendered nftables sets: what the kernel would decide (read
/// from the rendered elements) must equal the evaluator on every cell, from pods and from
/// addresses outside the cluster, in every direction.
@Suite struct RenderedAgreesWithEvaluatorTests {
    static let outside = [IPAddress("192.0.2.10")!, IPAddress("10.96.0.10")!]

    @Test(arguments: upstreamNetpolCases)
    func renderedRulesetAgrees(_ c: NetpolCase) {
        var cluster = NetpolCluster(pods: c.pods, ports: c.ports, protocols: c.protocols)
        var numbers = PolicyRulesetBuilder.ClassNumbers()
        for (i, step) in c.steps.enumerated() {
            step.change(&cluster)
            let model = cluster.model
            let rs = PolicyRulesetBuilder.build(model, numbers: &numbers)
            var mismatches: [String] = []
            let ports = c.ports.flatMap { p in PolicyProtocol.allCases.map { PortProtocol(p, $0) } }
            for port in ports {
                for from in cluster.refs {
                    for to in cluster.refs where from != to {
                        let want = model.allows(Flow(from: .pod(from), to: .pod(to), port: port))
                        let got = rs.admits(source: NetpolCluster.address(from), destination: NetpolCluster.address(to), proto: port.proto.number, port: port.port)
                        if want != got { mismatches.append("\(from) -> \(to) \(port): evaluator \(want), rendered \(got)") }
                    }
                    for ip in Self.outside {
                        let out = model.allows(Flow(from: .pod(from), to: .address(ip), port: port))
                        if out != rs.admits(source: NetpolCluster.address(from), destination: ip, proto: port.proto.number, port: port.port) {
                            mismatches.append("\(from) -> \(ip) \(port)")
                        }
                        let inward = model.allows(Flow(from: .address(ip), to: .pod(from), port: port))
                        if inward != rs.admits(source: ip, destination: NetpolCluster.address(from), proto: port.proto.number, port: port.port) {
                            mismatches.append("\(ip) -> \(from) \(port)")
                        }
                    }
                }
            }
            #expect(mismatches.isEmpty, "step \(i): \(mismatches.prefix(10).joined(separator: "\n"))")
        }
    }
}
