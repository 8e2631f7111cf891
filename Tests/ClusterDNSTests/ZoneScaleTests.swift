import Testing
import KubeModel
@testable import ClusterDNS

/// Not a timed test: prints how long a 10,000-service zone takes to build and to query (in
/// whatever build configuration the tests run), and checks that lookups stay correct at scale.
@Suite struct ZoneScaleTests {
    @Test func tenThousandServices() throws {
        let n = 10_000
        let services = (0..<n).map { i in
            Fixture.service("bench", "svc-\(i)", ips: ["10.96.\(1 + i / 250).\(1 + i % 250)"], ports: [("http", "TCP", 80)])
        }
        let clock = ContinuousClock()
        var zone: ClusterZone?
        let build = clock.measure {
            zone = ClusterZone(services: services, endpointSlices: [], pods: [], namespaces: [], configuration: ZoneConfiguration())
        }
        let z = try #require(zone)
        let questions = (0..<1000).map { i in
            DNSQuestion(name: DNSName("svc-\(i * 7 % n).bench.svc.cluster.local")!, type: i % 5 == 0 ? .srv : .a)
        }
        var answered = 0
        let lookups = 100_000
        let elapsed = clock.measure {
            for i in 0..<lookups {
                if case .answer(let a) = z.lookup(questions[i % questions.count]), !a.answers.isEmpty { answered += 1 }
            }
        }
        #expect(answered == lookups)
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        print("zone: \(n) services built in \(build); \(lookups) lookups in \(elapsed) = \(Int(Double(lookups) / seconds)) lookups/s")
    }
}
