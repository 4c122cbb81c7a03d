/// ListObjects page tokens: the last pk of the page, hex-encoded behind a version letter.
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
        let invalid = IndexError(.invalidArgument, "page_token: not a token this server issued; start the listing again without one")
        let bytes = Array(token.utf8)
        guard bytes.first == UInt8(ascii: "o"), bytes.count >= 3, bytes.count % 2 == 1, bytes.count <= 1 + 2 * 255 else {
            throw invalid
        }
        var pk: [UInt8] = []
        var index = 1
        while index < bytes.count {
            guard let high = digits.firstIndex(of: bytes[index]), let low = digits.firstIndex(of: bytes[index + 1]) else {
                throw invalid
            }
            pk.append(UInt8(high << 4 | low))
            index += 2
        }
        guard let string = String(validating: pk, as: UTF8.self), !pk.contains(0) else { throw invalid }
        return string
    }
}
