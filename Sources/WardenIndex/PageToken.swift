/// ListObjects page tokens: the last pk of the page, hex-encoded behind a version letter
/// (issued in lowercase; either case is read back).
/// Keyset pagination: the next page starts strictly after that pk in object order, so pages
/// never repeat or skip an object that exists throughout, whatever is written in between.
enum PageToken {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(after pk: String) -> String {
        var token: [UInt8] = [UInt8(ascii: "o")]
        token.reserveCapacity(1 + pk.utf8.count * 2)
        for byte in pk.utf8 {
            token.append(digits[Int(byte >> 4)])
            token.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: token, as: UTF8.self)
    }

    static func decode(_ token: String) throws(IndexError) -> String {
        let invalid = IndexError(
            .invalidArgument,
            "page_token: not a token this server issued; start the listing again without one"
        )
        let bytes = Array(token.utf8)
        guard bytes.first == UInt8(ascii: "o"), bytes.count >= 3, bytes.count % 2 == 1, bytes.count <= 1 + 2 * 255
        else {
            throw invalid
        }
        var pk: [UInt8] = []
        var index = 1
        while index < bytes.count {
            guard let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else { throw invalid }
            pk.append(high << 4 | low)
            index += 2
        }
        guard let string = String(validating: pk, as: UTF8.self), !pk.contains(0) else { throw invalid }
        return string
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
