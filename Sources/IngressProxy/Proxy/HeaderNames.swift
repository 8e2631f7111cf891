/// Header names the proxy treats specially, recognized without allocating (no `lowercased()`):
/// by length first, then an ASCII case-insensitive comparison.
enum HeaderName: UInt8 {
    case other
    /// Hop-by-hop headers the proxy always drops (RFC 9110 §7.6.1), except the ones below.
    case hopByHop
    case connection, transferEncoding, upgrade, contentLength, cookie, host
    case xForwardedFor, xForwardedProto, xForwardedHost, xForwardedPort, xRealIP, xRequestID

    init(_ name: String) {
        var name = name
        self = name.withUTF8 { HeaderName.classify($0) }
    }

    init(_ name: UnsafeBufferPointer<UInt8>) { self = HeaderName.classify(name) }

    private static func classify(_ n: UnsafeBufferPointer<UInt8>) -> HeaderName {
        switch n.count {
        case 2: return is_(n, "te") ? .hopByHop : .other
        case 4: return is_(n, "host") ? .host : .other
        case 6: return is_(n, "cookie") ? .cookie : .other
        case 7:
            if is_(n, "upgrade") { return .upgrade }
            return is_(n, "trailer") ? .hopByHop : .other
        case 9: return is_(n, "x-real-ip") ? .xRealIP : .other
        case 10:
            if is_(n, "connection") { return .connection }
            return is_(n, "keep-alive") ? .hopByHop : .other
        case 12: return is_(n, "x-request-id") ? .xRequestID : .other
        case 14:
            if is_(n, "content-length") { return .contentLength }
            return is_(n, "http2-settings") ? .hopByHop : .other
        case 15: return is_(n, "x-forwarded-for") ? .xForwardedFor : .other
        case 16:
            if n[0] | 0x20 == UInt8(ascii: "x") {
                if is_(n, "x-forwarded-host") { return .xForwardedHost }
                return is_(n, "x-forwarded-port") ? .xForwardedPort : .other
            }
            return is_(n, "proxy-connection") ? .hopByHop : .other
        case 17:
            if is_(n, "transfer-encoding") { return .transferEncoding }
            return is_(n, "x-forwarded-proto") ? .xForwardedProto : .other
        case 18: return is_(n, "proxy-authenticate") ? .hopByHop : .other
        case 19: return is_(n, "proxy-authorization") ? .hopByHop : .other
        default: return .other
        }
    }

    /// `n` equals the lower-case ASCII `lower`, ignoring case. Header names are RFC 9110 tokens
    /// (checked by the parser), so folding with 0x20 cannot confuse a control byte with a letter.
    @inline(__always)
    private static func is_(_ n: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
        let l = lower.utf8Start
        for i in 0..<n.count where n[i] | 0x20 != l[i] && n[i] != l[i] { return false }
        return true
    }

    /// ASCII case-insensitive equality of two strings.
    static func equal(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool { equal(a.utf8, b.utf8) }

    /// ASCII case-insensitive equality of two byte strings.
    static func equal<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        a.count == b.count && a.elementsEqual(b) { x, y in
            x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= UInt8(ascii: "a") && (x | 0x20) <= UInt8(ascii: "z"))
        }
    }
}

/// The tokens of the `Connection` headers of a message: whether it asks for an upgrade, and the
/// other header names it lists (which are hop-by-hop too). `keep-alive` and `close` are left out.
struct ConnectionTokens {
    var upgrade = false
    var named: [Substring] = []

    init() {}

    mutating func add(_ value: String) {
        for token in value.utf8.split(separator: UInt8(ascii: ",")) {
            var t = Substring(token)
            while let f = t.utf8.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { t = t.dropFirst() }
            while let l = t.utf8.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") { t = t.dropLast() }
            if t.isEmpty || HeaderName.equal(t, "keep-alive") || HeaderName.equal(t, "close") { continue }
            if HeaderName.equal(t, "upgrade") { upgrade = true; continue }
            named.append(t)
        }
    }

    /// `name` is listed in a Connection header (so it must not be forwarded).
    func lists(_ name: String) -> Bool {
        !named.isEmpty && named.contains { HeaderName.equal($0, name) }
    }
}
