#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One finished request, as written to the access log.
public struct AccessLogEntry: Sendable {
    public var time: Double
    public var client: String
    public var host: String
    public var method: String
    public var path: String
    public var status: Int
    public var bytesSent: Int64
    public var upstream: String
    public var durationSeconds: Double
    public var ingress: String
    public var requestID: String
    public var proto: String

    /// The entry as one JSON object on one line.
    public var jsonLine: String {
        var s = "{\"time\":\(time),\"client\":"
        AccessLogEntry.appendJSON(&s, client)
        s += ",\"host\":"; AccessLogEntry.appendJSON(&s, host)
        s += ",\"method\":"; AccessLogEntry.appendJSON(&s, method)
        s += ",\"path\":"; AccessLogEntry.appendJSON(&s, path)
        s += ",\"status\":\(status),\"bytes\":\(bytesSent),\"upstream\":"
        AccessLogEntry.appendJSON(&s, upstream)
        s += ",\"duration\":\((durationSeconds * 1_000_000).rounded() / 1_000_000),\"ingress\":"
        AccessLogEntry.appendJSON(&s, ingress)
        s += ",\"request_id\":"; AccessLogEntry.appendJSON(&s, requestID)
        s += ",\"protocol\":"; AccessLogEntry.appendJSON(&s, proto)
        s += "}\n"
        return s
    }

    static func appendJSON(_ out: inout String, _ value: String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Buffers access log lines and writes them in batches (a write per request would cost more
/// than proxying a small request). `flush()` runs on a timer and at shutdown.
public final class AccessLog: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let sink: @Sendable ([UInt8]) -> Void
    private let threshold: Int

    /// Writes to a file descriptor (standard output by default).
    public convenience init(fileDescriptor: Int32 = 1) {
        self.init { bytes in
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { return }
                    offset += n
                }
            }
        }
    }

    /// Hands batches to `sink` (tests collect them).
    public init(threshold: Int = 32 * 1024, sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.sink = sink
        self.threshold = threshold
    }

    public func record(_ entry: AccessLogEntry) {
        let line = entry.jsonLine
        let full: [UInt8]? = buffer.withLock { b in
            b.append(contentsOf: line.utf8)
            guard b.count >= threshold else { return nil }
            defer { b.removeAll(keepingCapacity: true) }
            return b
        }
        if let full { sink(full) }
    }

    public func flush() {
        let pending: [UInt8] = buffer.withLock { b in defer { b.removeAll(keepingCapacity: true) }; return b }
        if !pending.isEmpty { sink(pending) }
    }
}
