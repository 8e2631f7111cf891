import Testing
import KubeModel
@testable import ClusterDNS

/// SplitMix64: a tiny, fast, seedable generator so that a failing input can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct DNSFuzzTests {
    static let iterations = 1_000_000

    /// Seeds the mutator with real messages of every type.
    static func corpus() -> [[UInt8]] {
        var seeds: [[UInt8]] = [DNSCodecTests.sampleResponse().encode()]
        var m = DNSCodecTests.sampleResponse()
        m.answers.append(ResourceRecord(name: DNSName("dns-version.cluster.local")!, ttl: 1, data: .txt([Array("1.1.0".utf8)])))
        m.answers.append(ResourceRecord(name: DNSName("a.b")!, ttl: 1, data: .cname(DNSName("b.cluster.local")!)))
        m.answers.append(ResourceRecord(name: DNSName("1.0.96.10.in-addr.arpa")!, ttl: 1, data: .ptr(DNSName("x.cluster.local")!)))
        seeds.append(m.encode())
        seeds.append(DNSMessage(id: 1, question: DNSQuestion(name: DNSName("web.shop.svc.cluster.local")!, type: .a),
                                edns: EDNS(udpPayloadSize: 4096)).encode())
        seeds.append(DNSMessage(id: 2, question: DNSQuestion(name: DNSName("example.org")!, type: .aaaa)).encode())
        return seeds
    }

    @Test func decoderSurvivesAMillionHostileInputs() {
        var rng = SplitMix(state: 0x6b706c616e65)
        let seeds = Self.corpus()
        var decoded = 0
        var buffer: [UInt8] = []
        for i in 0..<Self.iterations {
            if i % 4 == 0 {
                // Pure noise with a plausible header.
                let n = Int.random(in: 0...80, using: &rng)
                buffer = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if n >= 12 && rng.next() % 2 == 0 { buffer[4] = 0; buffer[5] = 1 }
            } else {
                buffer = seeds[Int(rng.next() % UInt64(seeds.count))]
                let edits = 1 + Int(rng.next() % 4)
                for _ in 0..<edits {
                    guard !buffer.isEmpty else { break }
                    let at = Int(rng.next() % UInt64(buffer.count))
                    switch rng.next() % 6 {
                    case 0: buffer[at] ^= UInt8(1 << (rng.next() % 8))
                    case 1: buffer[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 2: buffer.removeSubrange(at...)
                    case 3: buffer[at] = 0xC0 | UInt8(rng.next() % 4)  // plant a pointer
                    case 4: buffer.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                    default: buffer[at] = [0, 63, 64, 0xFF][Int(rng.next() % 4)]
                    }
                }
            }
            if let m = try? DNSMessage(decoding: buffer) {
                decoded += 1
                // Whatever decodes must re-encode and decode to the same message.
                let again = try? DNSMessage(decoding: m.encode())
                if again != m {
                    Issue.record("round trip changed input \(buffer)")
                    return
                }
            }
        }
        print("fuzz: \(Self.iterations) inputs, \(decoded) decoded, none crashed or hung")
        #expect(decoded > 0)
    }
}
