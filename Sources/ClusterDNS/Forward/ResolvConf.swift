import Foundation
import NIOCore

/// Reads upstream resolvers the way the C library does: `nameserver` lines of resolv.conf.
public enum ResolvConf {
    /// The nameservers listed in `text`, in order, on port 53.
    public static func nameservers(in text: String) -> [SocketAddress] {
        text.split(whereSeparator: \.isNewline).compactMap { line -> SocketAddress? in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            // Drop an IPv6 zone index (`fe80::1%eth0`), which SocketAddress cannot carry.
            let host = fields[1].split(separator: "%").first.map(String.init) ?? ""
            return try? SocketAddress(ipAddress: host, port: 53)
        }
    }

    /// The nameservers of `/etc/resolv.conf` (or `path`); empty when unreadable.
    public static func systemNameservers(path: String = "/etc/resolv.conf") -> [SocketAddress] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return nameservers(in: text)
    }

    /// Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address into an address,
    /// with `defaultPort` when none is given.
    public static func address(_ text: String, defaultPort: Int = 53) throws(DNSError) -> SocketAddress {
        var host = text
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw DNSError(.badConfiguration, "bad address '\(text)'") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                guard let p = Int(rest.dropFirst()) else { throw DNSError(.badConfiguration, "bad port in '\(text)'") }
                port = p
            } else if !rest.isEmpty {
                throw DNSError(.badConfiguration, "bad address '\(text)'")
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]) else { throw DNSError(.badConfiguration, "bad port in '\(text)'") }
            port = p
        }
        guard (0...65535).contains(port) else { throw DNSError(.badConfiguration, "port \(port) out of range in '\(text)'") }
        do {
            return try SocketAddress(ipAddress: host, port: port)
        } catch {
            throw DNSError(.badConfiguration, "'\(text)' is not an IP address (and port)", cause: error)
        }
    }
}
