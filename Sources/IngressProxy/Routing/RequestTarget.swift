/// Host and path normalization applied to every request before it is matched, so that a
/// crafted request (`/a/%2e%2e/admin`, `//admin`, `Host: ADMIN.example.com.:80`) cannot slip
/// past a rule that a plain reading would apply.
public enum RequestTarget {
    /// The host of a `Host` header or `:authority`: lower-cased, port and trailing dot removed.
    /// IPv6 literals keep their brackets (`[::1]`). Returns "" for an empty or absent host.
    public static func normalizeHost(_ raw: some StringProtocol) -> String {
        if isNormalHost(raw.utf8) { return String(raw) }
        var bytes = Array(raw.utf8)
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes.removeLast() }
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes.removeFirst() }
        if bytes.first == UInt8(ascii: "[") {
            if let close = bytes.firstIndex(of: UInt8(ascii: "]")) { bytes.removeSubrange((close + 1)...) }
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            bytes.removeSubrange(colon...)
        }
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        for i in bytes.indices where bytes[i] >= UInt8(ascii: "A") && bytes[i] <= UInt8(ascii: "Z") { bytes[i] += 32 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The fast path: nothing to strip or lower-case (no port, brackets, blanks, upper case or
    /// trailing dot).
    private static func isNormalHost(_ utf8: some Collection<UInt8>) -> Bool {
        var last: UInt8 = 0
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: " "), UInt8(ascii: "\t"):
                return false
            default:
                last = byte
            }
        }
        return last != UInt8(ascii: ".")
    }

    /// A request target split into its parts. `authority` is set only for the absolute form
    /// (`GET http://host/path HTTP/1.1`), which then overrides the Host header (RFC 9112 §3.2.2).
    public struct Parts: Sendable, Hashable {
        public var authority: String?
        public var path: String
        public var query: String?
        /// The target was already in origin form and normal: `path` + `?query` is the target as
        /// received, so it can be forwarded unchanged.
        public var isOriginalURI = false
    }

    /// Splits and normalizes a request target. Returns nil for a target that is not a valid
    /// origin or absolute form (the proxy answers 400).
    public static func parse(_ target: String) -> Parts? {
        if let q = isNormalOriginForm(target.utf8) {
            // The usual request: no allocation, the strings share the target's storage.
            guard let q else { return Parts(authority: nil, path: target, query: nil, isOriginalURI: true) }
            return Parts(authority: nil, path: String(target[..<q]), query: String(target[target.index(after: q)...]), isOriginalURI: true)
        }
        var rest = Substring(target)
        var authority: String?
        if !rest.hasPrefix("/") {
            guard let schemeEnd = rest.range(of: "://") else { return nil }
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else { return nil }
            rest = rest[schemeEnd.upperBound...]
            let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            authority = String(rest[..<end])
            rest = rest[end...]
            if !rest.hasPrefix("/") { rest = "/" + rest }
        }
        var query: String?
        if let hash = rest.utf8.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        if let q = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            query = String(rest[rest.index(after: q)...])
            rest = rest[..<q]
        }
        guard let path = normalizePath(rest) else { return nil }
        return Parts(authority: authority, path: path, query: query)
    }

    /// Normalizes an absolute path (RFC 3986 §6.2.2): percent-encoded unreserved characters are
    /// decoded, other escapes upper-cased, `//` merged and `.`/`..` segments resolved (never above
    /// the root). A trailing slash is kept. Returns nil for a malformed escape or a relative path.
    public static func normalizePath(_ raw: some StringProtocol) -> String? {
        let utf8 = raw.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        if isAlreadyNormal(utf8) { return String(raw) }

        // Decode escapes of unreserved characters.
        var decoded: [UInt8] = []
        decoded.reserveCapacity(utf8.count)
        var it = utf8.makeIterator()
        while let byte = it.next() {
            guard byte == UInt8(ascii: "%") else { decoded.append(byte); continue }
            guard let h = it.next(), let l = it.next(), let hv = hexValue(h), let lv = hexValue(l) else { return nil }
            let value = hv << 4 | lv
            if isUnreserved(value) {
                decoded.append(value)
            } else {
                decoded.append(UInt8(ascii: "%"))
                decoded.append(upperHex(hv))
                decoded.append(upperHex(lv))
            }
        }

        // Resolve segments.
        var segments: [ArraySlice<UInt8>] = []
        var trailingSlash = false
        for segment in decoded.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            trailingSlash = false
            if segment.isEmpty {
                trailingSlash = true
            } else if segment.elementsEqual([UInt8(ascii: ".")]) {
                trailingSlash = true
            } else if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !segments.isEmpty { segments.removeLast() }
                trailingSlash = true
            } else {
                segments.append(segment)
            }
        }
        var out: [UInt8] = [UInt8(ascii: "/")]
        out.reserveCapacity(decoded.count)
        for (i, s) in segments.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: s)
        }
        if trailingSlash && !segments.isEmpty { out.append(UInt8(ascii: "/")) }
        return String(decoding: out, as: UTF8.self)
    }

    /// For an origin-form target whose path is already normal and that has no fragment: the
    /// index of `?` (nil when there is no query), wrapped; nil when the slow path must run.
    private static func isNormalOriginForm(_ utf8: String.UTF8View) -> String.Index?? {
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        var end = utf8.endIndex
        var question: String.Index?
        var i = utf8.startIndex
        while i < utf8.endIndex {
            let b = utf8[i]
            if b == UInt8(ascii: "#") { return nil }
            if b == UInt8(ascii: "?") && question == nil { question = i; end = i }
            i = utf8.index(after: i)
        }
        guard isAlreadyNormal(utf8[..<end]) else { return nil }
        return .some(question)
    }

    /// The fast path: no escapes, no empty or dot segments.
    private static func isAlreadyNormal(_ utf8: some Collection<UInt8>) -> Bool {
        var previousSlash = false
        var segmentStartDots = 0  // dots since the last slash, -1 once another byte is seen
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "%"):
                return false
            case UInt8(ascii: "/"):
                if previousSlash || segmentStartDots > 0 { return false }
                previousSlash = true
                segmentStartDots = 0
            case UInt8(ascii: "."):
                if segmentStartDots >= 0 { segmentStartDots += 1 }
                previousSlash = false
            default:
                segmentStartDots = -1
                previousSlash = false
            }
        }
        return segmentStartDots <= 0 || segmentStartDots > 2
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func upperHex(_ v: UInt8) -> UInt8 { v < 10 ? UInt8(ascii: "0") + v : UInt8(ascii: "A") + v - 10 }

    private static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
