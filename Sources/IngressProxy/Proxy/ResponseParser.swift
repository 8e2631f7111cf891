import NIOCore

/// A backend's response head as it came: the status, and the header block's bytes with the
/// position and kind of each field, so that relaying it to an HTTP/1 client copies byte ranges
/// instead of making strings. Framing and connection handling are read out of it once.
struct ResponseHead {
    /// One header field: where its name and value are in `block`.
    struct Field {
        var name: Range<Int>
        var value: Range<Int>
        var kind: HeaderName
        /// The field's line in `block` is exactly `name: value CRLF` (the usual spelling), so
        /// it can be copied as it is, together with its neighbours.
        var verbatim = false
    }

    var status: Int
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    /// The header lines (and the status line's reason phrase, at `reason`).
    var block: ByteBuffer
    var reason: Range<Int>
    var fields: [Field]
    var contentLength: Int?
    var chunked: Bool
    /// The connection can carry another exchange after this response (HTTP/1.1 without
    /// `Connection: close`, or HTTP/1.0 with `keep-alive`), as far as the head says.
    var keepAlive: Bool
    /// Names listed in Connection headers (other than close, keep-alive and upgrade): hop-by-hop too.
    var connectionTokens: [Range<Int>]

    /// 1xx, 204 and 304 responses never have a body (RFC 9112 §6.3).
    var mayHaveBody: Bool { status >= 200 && status != 204 && status != 304 }

    func bytes(_ range: Range<Int>) -> ByteBufferView {
        let view = block.readableBytesView
        return view[(view.startIndex + range.lowerBound)..<(view.startIndex + range.upperBound)]
    }

    func string(_ range: Range<Int>) -> String { String(decoding: bytes(range), as: UTF8.self) }

    /// Whether `field` must not be relayed: a hop-by-hop field or one the Connection header names.
    func isHopByHop(_ field: Field) -> Bool {
        switch field.kind {
        case .connection, .hopByHop, .transferEncoding, .upgrade: return true
        default:
            guard !connectionTokens.isEmpty else { return false }
            let name = bytes(field.name)
            return connectionTokens.contains { HeaderName.equal(bytes($0), name) }
        }
    }
}

/// The backend side of an exchange, byte by byte: finds response heads, parses them, and cuts
/// bodies by their framing (Content-Length, chunked, or until the connection closes), handing
/// out body bytes as slices of what was read. Bytes the backend sends with no request waiting
/// are an error, as are malformed heads and framing: the connection is then unusable.
///
/// Pull-based (`next`), so that whoever handles an event may start the next exchange on this
/// connection while the read that ended the last one is still being taken apart.
struct ResponseParser {
    enum Event: Equatable {
        case head(ResponseHead)
        case body(ByteBuffer)
        case end
    }

    struct Error: Swift.Error, Equatable, CustomStringConvertible {
        var description: String
    }

    private enum State {
        /// No request is waiting for an answer.
        case idle
        case head
        case length(Int)
        case untilClose
        case chunkSize(size: Int, digits: Int)
        case chunkExtension(size: Int)
        case chunkSizeLF(size: Int)
        case chunkData(Int)
        case chunkDataCR
        case chunkDataLF
        case trailerLineStart
        case trailerLine
        case trailerEndLF
        /// The response is complete: its end is the next event.
        case complete
        /// A 101 answer's head was taken: its end comes next.
        case upgradeEnd
        /// After a 101 answer: the bytes are another protocol's.
        case upgraded
    }

    static let maxHeadBytes = 64 * 1024
    static let maxFramingBytes = 64 * 1024

    private var state = State.idle
    private var answersHEAD = false
    /// The bytes of a head not complete yet.
    private var partialHead: ByteBuffer?
    /// Chunk extensions and trailers read so far (bounded).
    private var framingBytes = 0

    /// A request was sent: the next bytes answer it. `head`: it was a HEAD request (no body follows).
    mutating func expectResponse(toHEAD head: Bool) {
        state = .head
        answersHEAD = head
    }

    /// The connection closed: the end of a body that lasts until then, nil otherwise (a
    /// response cut short is no response).
    mutating func endOfInput() -> Event? {
        guard case .untilClose = state else { return nil }
        state = .idle
        return .end
    }

    /// The next event from `buffer` (consuming what it takes), or nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws -> Event? {
        while true {
            switch state {
            case .upgraded:
                return nil
            case .complete:
                state = .idle
                return .end
            case .upgradeEnd:
                state = .upgraded
                return .end
            case .idle:
                guard buffer.readableBytes == 0 else { throw Error(description: "the backend sent bytes with no request waiting") }
                return nil
            case .head:
                guard let head = try takeHead(&buffer) else { return nil }
                return .head(head)
            case .length(let remaining):
                return takeBody(&buffer, upTo: remaining) { $0 == 0 ? .complete : .length($0) }
            case .untilClose:
                return takeBody(&buffer, upTo: .max) { _ in .untilClose }
            case .chunkData(let remaining):
                return takeBody(&buffer, upTo: remaining) { $0 == 0 ? .chunkDataCR : .chunkData($0) }
            default:
                guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
                try takeFramingByte(byte)
            }
        }
    }

    /// Up to `limit` body bytes as a slice of `buffer`; `next` is the state once they are
    /// taken, given how many of the `limit` are still to come.
    private mutating func takeBody(_ buffer: inout ByteBuffer, upTo limit: Int, _ next: (Int) -> State) -> Event? {
        guard buffer.readableBytes > 0 else { return nil }
        let n = min(limit, buffer.readableBytes)
        state = next(limit - n)
        return .body(buffer.readSlice(length: n)!)
    }

    /// One byte of chunked framing.
    private mutating func takeFramingByte(_ byte: UInt8) throws {
        switch state {
        case .chunkSize(let size, let digits):
            if let d = Self.hexValue(byte) {
                guard digits < 15 else { throw Error(description: "chunk size too large") }
                state = .chunkSize(size: size << 4 | d, digits: digits + 1)
            } else if digits > 0 && (byte == UInt8(ascii: ";") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")) {
                state = .chunkExtension(size: size)
            } else if digits > 0 && byte == UInt8(ascii: "\r") {
                state = .chunkSizeLF(size: size)
            } else if digits > 0 && byte == UInt8(ascii: "\n") {
                startChunk(size)
            } else {
                throw Error(description: "malformed chunk size")
            }
        case .chunkExtension(let size):
            try countFramingByte()
            if byte == UInt8(ascii: "\n") { startChunk(size) }
        case .chunkSizeLF(let size):
            guard byte == UInt8(ascii: "\n") else { throw Error(description: "malformed chunk size line") }
            startChunk(size)
        case .chunkDataCR:
            if byte == UInt8(ascii: "\r") { state = .chunkDataLF } else if byte == UInt8(ascii: "\n") { state = .chunkSize(size: 0, digits: 0) } else {
                throw Error(description: "chunk data longer than its size")
            }
        case .chunkDataLF:
            guard byte == UInt8(ascii: "\n") else { throw Error(description: "chunk data longer than its size") }
            state = .chunkSize(size: 0, digits: 0)
        case .trailerLineStart:
            try countFramingByte()
            if byte == UInt8(ascii: "\r") { state = .trailerEndLF } else if byte == UInt8(ascii: "\n") { state = .complete } else {
                state = .trailerLine
            }
        case .trailerLine:
            try countFramingByte()
            if byte == UInt8(ascii: "\n") { state = .trailerLineStart }
        case .trailerEndLF:
            guard byte == UInt8(ascii: "\n") else { throw Error(description: "malformed trailer section") }
            state = .complete
        default:
            preconditionFailure("not a framing state")
        }
    }

    private mutating func startChunk(_ size: Int) {
        if size == 0 {
            framingBytes = 0
            state = .trailerLineStart
        } else {
            state = .chunkData(size)
        }
    }

    private mutating func countFramingByte() throws {
        framingBytes += 1
        if framingBytes > Self.maxFramingBytes { throw Error(description: "chunk extensions or trailers too large") }
    }

    private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    // MARK: Heads

    /// A complete head from `buffer` (with what came before it), or nil when it is not complete yet.
    private mutating func takeHead(_ buffer: inout ByteBuffer) throws -> ResponseHead? {
        let block: ByteBuffer
        let length: Int
        if var partial = partialHead {
            let searchFrom = max(0, partial.readableBytes - 3)
            partial.writeBuffer(&buffer)
            guard let end = Self.endOfHead(partial, from: searchFrom) else {
                partialHead = partial
                if partial.readableBytes > Self.maxHeadBytes { throw Error(description: "response head too large") }
                return nil
            }
            // What followed the head goes back to the caller.
            let rest = partial.getSlice(at: partial.readerIndex + end, length: partial.readableBytes - end)!
            block = partial.getSlice(at: partial.readerIndex, length: end)!
            buffer = rest
            length = end
            partialHead = nil
        } else {
            guard let end = Self.endOfHead(buffer, from: 0) else {
                if buffer.readableBytes > Self.maxHeadBytes { throw Error(description: "response head too large") }
                partialHead = buffer
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                return nil
            }
            block = buffer.readSlice(length: end)!
            length = end
        }
        guard length <= Self.maxHeadBytes else { throw Error(description: "response head too large") }
        let head = try Self.parseHead(block)
        if head.status == 101 {
            state = .upgradeEnd
        } else if head.status < 200 {
            // An interim answer (100 Continue, 103): the final one follows.
        } else if answersHEAD || !head.mayHaveBody {
            state = .complete
        } else if head.chunked {
            state = .chunkSize(size: 0, digits: 0)
        } else if let length = head.contentLength {
            state = length == 0 ? .complete : .length(length)
        } else {
            state = .untilClose
        }
        return head
    }

    /// The offset just past the empty line that ends the head (CRLF CRLF, or bare LFs), if any.
    static func endOfHead(_ buffer: ByteBuffer, from start: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes -> Int? in
            var i = start
            while i < bytes.count {
                guard bytes[i] == UInt8(ascii: "\n") else { i += 1; continue }
                if i >= 1 && bytes[i - 1] == UInt8(ascii: "\n") { return i + 1 }
                if i >= 2 && bytes[i - 1] == UInt8(ascii: "\r") && bytes[i - 2] == UInt8(ascii: "\n") { return i + 1 }
                i += 1
            }
            return nil
        }
    }

    /// Parses a complete head (status line, fields, empty line).
    static func parseHead(_ block: ByteBuffer) throws -> ResponseHead {
        try block.withUnsafeReadableBytes { raw -> ResponseHead in
            let b = raw.assumingMemoryBound(to: UInt8.self)
            /// The end of the line from `i` (its CR or LF) and the start of the next.
            func line(from i: Int) -> (end: Int, next: Int) {
                var j = i
                while b[j] != UInt8(ascii: "\n") { j += 1 }
                return (j > i && b[j - 1] == UInt8(ascii: "\r") ? j - 1 : j, j + 1)
            }
            // Status line: HTTP/1.x SP 3DIGIT [SP reason]
            let status = line(from: 0)
            let lineEnd = status.end
            guard lineEnd >= 12, b[0] == UInt8(ascii: "H"), b[1] == UInt8(ascii: "T"), b[2] == UInt8(ascii: "T"), b[3] == UInt8(ascii: "P"),
                  b[4] == UInt8(ascii: "/"), b[5] == UInt8(ascii: "1"), b[6] == UInt8(ascii: "."),
                  b[7] == UInt8(ascii: "0") || b[7] == UInt8(ascii: "1"), b[8] == UInt8(ascii: " ") else {
                throw Error(description: "malformed status line")
            }
            var code = 0
            for k in 9..<12 {
                guard b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9") else { throw Error(description: "malformed status code") }
                code = code * 10 + Int(b[k] - UInt8(ascii: "0"))
            }
            guard code >= 100 else { throw Error(description: "malformed status code") }
            guard lineEnd == 12 || b[12] == UInt8(ascii: " ") else { throw Error(description: "malformed status line") }
            let reason = min(13, lineEnd)..<lineEnd
            // Relayed as it came: a CR or another control byte in it must not reach a client.
            guard !Self.hasControlByte(b, reason) else { throw Error(description: "malformed reason phrase") }
            let minor = Int(b[7] - UInt8(ascii: "0"))

            var head = ResponseHead(status: code, minorVersion: minor, block: block, reason: reason, fields: [],
                                    contentLength: nil, chunked: false, keepAlive: minor == 1, connectionTokens: [])
            head.fields.reserveCapacity(12)
            var closeAsked = false, keepAliveAsked = false, hasTransferEncoding = false
            var i = status.next
            while true {
                let (end, next) = line(from: i)
                if end == i { break }   // the empty line
                // name ":" OWS value OWS; no space before the colon, no folded lines.
                var colon = i
                while colon < end, Self.isTokenByte(b[colon]) { colon += 1 }
                guard colon > i, colon < end, b[colon] == UInt8(ascii: ":") else { throw Error(description: "malformed header field") }
                var vs = colon + 1, ve = end
                while vs < ve, b[vs] == UInt8(ascii: " ") || b[vs] == UInt8(ascii: "\t") { vs += 1 }
                while ve > vs, b[ve - 1] == UInt8(ascii: " ") || b[ve - 1] == UInt8(ascii: "\t") { ve -= 1 }
                guard !Self.hasControlByte(b, vs..<ve) else { throw Error(description: "malformed header value") }
                let kind = HeaderName(UnsafeBufferPointer(rebasing: b[i..<colon]))
                let value = UnsafeBufferPointer(rebasing: b[vs..<ve])
                switch kind {
                case .contentLength:
                    guard let n = Self.contentLength(value), head.contentLength == nil || head.contentLength == n else {
                        throw Error(description: "malformed or conflicting Content-Length")
                    }
                    head.contentLength = n
                case .transferEncoding:
                    hasTransferEncoding = true
                    // Chunked only when it is the last coding (RFC 9112 §6.3); a later field wins.
                    head.chunked = Self.lastCodingIsChunked(value)
                case .connection:
                    Self.eachToken(value, offset: vs) { token in
                        let t = UnsafeBufferPointer(rebasing: b[token])
                        if HeaderName.equal(t, "close".utf8) { closeAsked = true }
                        else if HeaderName.equal(t, "keep-alive".utf8) { keepAliveAsked = true }
                        else if !HeaderName.equal(t, "upgrade".utf8) { head.connectionTokens.append(token) }
                    }
                default: break
                }
                let verbatim = vs == colon + 2 && b[colon + 1] == UInt8(ascii: " ") && ve == end && next == end + 2
                head.fields.append(.init(name: i..<colon, value: vs..<ve, kind: kind, verbatim: verbatim))
                i = next
            }
            if hasTransferEncoding {
                // Transfer-Encoding overrides Content-Length, which is then not relayed either.
                head.contentLength = nil
                head.fields.removeAll { $0.kind == .contentLength }
            }
            if closeAsked { head.keepAlive = false } else if keepAliveAsked { head.keepAlive = true }
            if hasTransferEncoding && !head.chunked { head.keepAlive = false }
            if head.mayHaveBody && !head.chunked && head.contentLength == nil { head.keepAlive = false }
            return head
        }
    }

    /// A byte a value or reason phrase may not hold: a control byte other than tab, or DEL.
    private static func hasControlByte(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        range.contains { b[$0] < 0x20 && b[$0] != UInt8(ascii: "\t") || b[$0] == 0x7F }
    }

    /// RFC 9110 tchar.
    private static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }

    /// A Content-Length value: digits, or a list of equal ones ("42, 42").
    private static func contentLength(_ v: UnsafeBufferPointer<UInt8>) -> Int? {
        var result: Int?
        var ok = true
        eachToken(v, offset: 0) { token in
            var n = 0
            guard !token.isEmpty, token.count <= 18 else { ok = false; return }
            for k in token {
                guard v[k] >= UInt8(ascii: "0"), v[k] <= UInt8(ascii: "9") else { ok = false; return }
                n = n * 10 + Int(v[k] - UInt8(ascii: "0"))
            }
            if let r = result, r != n { ok = false }
            result = n
        }
        return ok ? result : nil
    }

    private static func lastCodingIsChunked(_ v: UnsafeBufferPointer<UInt8>) -> Bool {
        var last: Range<Int>?
        eachToken(v, offset: 0) { last = $0 }
        guard let last else { return false }
        return HeaderName.equal(UnsafeBufferPointer(rebasing: v[last]), "chunked".utf8)
    }

    /// Calls `body` with the range (shifted by `offset`) of each comma-separated, trimmed, non-empty element of `v`.
    private static func eachToken(_ v: UnsafeBufferPointer<UInt8>, offset: Int, _ body: (Range<Int>) -> Void) {
        var start = 0
        while start <= v.count {
            var end = start
            while end < v.count, v[end] != UInt8(ascii: ",") { end += 1 }
            var s = start, e = end
            while s < e, v[s] == UInt8(ascii: " ") || v[s] == UInt8(ascii: "\t") { s += 1 }
            while e > s, v[e - 1] == UInt8(ascii: " ") || v[e - 1] == UInt8(ascii: "\t") { e -= 1 }
            if s < e { body((s + offset)..<(e + offset)) }
            start = end + 1
        }
    }
}

extension ResponseHead: Equatable {}

extension ResponseHead.Field: Equatable {}
