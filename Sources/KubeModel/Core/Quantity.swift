import BigInt

/// A `resource.Quantity` (`1Gi`, `500M`, `1.5`, `100m`, `1e3`), kept exactly as a rational
/// number so that comparisons are exact and exabyte sizes do not overflow.
public struct Quantity: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// The text as written (what is stored and printed).
    public let text: String
    /// value = numerator / denominator, denominator > 0.
    let numerator: BigInt
    let denominator: BigInt

    public enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        }
    }

    public init(_ text: String) throws {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty else { throw ParseError.invalid(text) }
        var chars = Substring(s)
        var negative = false
        if chars.first == "+" || chars.first == "-" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        let numberEnd = chars.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? chars.endIndex
        let number = chars[..<numberEnd]
        let suffix = String(chars[numberEnd...])
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2, parts.contains(where: { !$0.isEmpty }) else { throw ParseError.invalid(text) }
        let whole = String(parts[0])
        let frac = parts.count == 2 ? String(parts[1]) : ""
        guard let mantissa = BigInt(whole + frac == "" ? "0" : whole + frac) else { throw ParseError.invalid(text) }
        var num = negative ? -mantissa : mantissa
        var den = BigInt(10).power(frac.count)

        let binary: [String: Int] = ["Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6]
        let decimal: [String: Int] = ["n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18]
        if let p = binary[suffix] {
            num *= BigInt(1024).power(p)
        } else if let e = decimal[suffix] {
            if e >= 0 { num *= BigInt(10).power(e) } else { den *= BigInt(10).power(-e) }
        } else if let first = suffix.first, first == "e" || first == "E" {
            guard let e = Int(suffix.dropFirst()), abs(e) <= 1000 else { throw ParseError.invalid(text) }
            if e >= 0 { num *= BigInt(10).power(e) } else { den *= BigInt(10).power(-e) }
        } else {
            throw ParseError.invalid(text)
        }
        self.text = text
        self.numerator = num
        self.denominator = den
    }

    /// Exact bytes (or units), rounded up as the API server rounds for storage sizes; nil past Int64.
    public var int64Value: Int64? {
        let (q, r) = numerator.quotientAndRemainder(dividingBy: denominator)
        let rounded = r > 0 ? q + 1 : q
        return Int64(exactly: rounded)
    }

    public var isNegative: Bool { numerator < 0 }
    public var isZero: Bool { numerator == 0 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int64.self) {
            try self.init(String(i))
        } else {
            let s = try c.decode(String.self)
            do { try self.init(s) } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: (error as? ParseError)?.description ?? "invalid quantity"))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }

    public static func == (a: Quantity, b: Quantity) -> Bool {
        a.numerator * b.denominator == b.numerator * a.denominator
    }

    public func hash(into hasher: inout Hasher) {
        let g = numerator.greatestCommonDivisor(with: denominator)
        hasher.combine(numerator / g)
        hasher.combine(denominator / g)
    }

    public static func < (a: Quantity, b: Quantity) -> Bool {
        a.numerator * b.denominator < b.numerator * a.denominator
    }

    public var description: String { text }
}
