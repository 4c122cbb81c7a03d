/// An object of the app's, as a request names it: a content type and a string pk.
///
/// pks are strings (`/home/www/joe.config` is a valid one) and compared byte for byte. The
/// fields are kept as given; the index checks them when it resolves the object, so a bad one
/// costs nothing on the hot path until it is used.
public struct ObjectRef: Hashable, Sendable, CustomStringConvertible {
    /// The object's content type, `app_label.model`.
    public var contentType: String
    /// The object's primary key, 1..255 bytes of UTF-8.
    public var pk: String

    public init(contentType: String, pk: String) {
        self.contentType = contentType
        self.pk = pk
    }

    /// `app_label.model:pk`.
    public var description: String { "\(contentType):\(pk)" }
}
