/// Makes X-Request-ID values: 32 lower-case hex digits. One generator per connection, seeded
/// once from the system's random source; the IDs only need to be unique, so the per-request
/// work is a SplitMix64 step instead of a `getrandom` system call.
struct RequestIDGenerator {
    private var state: UInt64 = 0
    private var seeded = false

    mutating func next() -> String {
        if !seeded {
            var g = SystemRandomNumberGenerator()
            state = g.next()
            seeded = true
        }
        let a = step(), b = step()
        return String(unsafeUninitializedCapacity: 32) { out in
            RequestIDGenerator.hex(a, into: out, at: 0)
            RequestIDGenerator.hex(b, into: out, at: 16)
            return 32
        }
    }

    private mutating func step() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func hex(_ value: UInt64, into out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var v = value
        for i in 0..<16 {
            let d = UInt8(truncatingIfNeeded: v & 15)
            out[offset + i] = d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10
            v >>= 4
        }
    }
}
