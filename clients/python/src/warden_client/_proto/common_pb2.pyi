from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
INACTIVE_USER: Reason
MODEL_GRANT_GROUP: Reason
MODEL_GRANT_USER: Reason
NO_GRANT: Reason
OBJECT_GRANT_GROUP: Reason
OBJECT_GRANT_USER: Reason
REASON_UNSPECIFIED: Reason
SUPERUSER: Reason
UNKNOWN_PERMISSION: Reason
UNKNOWN_USER: Reason

class Decision(_message.Message):
    __slots__ = ["allowed", "group", "reason"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    group: str
    reason: Reason
    def __init__(self, allowed: bool = ..., reason: _Optional[_Union[Reason, str]] = ..., group: _Optional[str] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ["content_type", "permission", "pk", "subject"]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    PK_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    permission: str
    pk: str
    subject: Subject
    def __init__(self, subject: _Optional[_Union[Subject, _Mapping]] = ..., permission: _Optional[str] = ..., content_type: _Optional[str] = ..., pk: _Optional[str] = ...) -> None: ...

class ObjectRef(_message.Message):
    __slots__ = ["content_type", "pk"]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PK_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    pk: str
    def __init__(self, content_type: _Optional[str] = ..., pk: _Optional[str] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ["code", "message", "oldest_retained_revision"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OLDEST_RETAINED_REVISION_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    oldest_retained_revision: int
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., oldest_retained_revision: _Optional[int] = ...) -> None: ...

class Subject(_message.Message):
    __slots__ = ["group", "user"]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    group: str
    user: str
    def __init__(self, user: _Optional[str] = ..., group: _Optional[str] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ["id", "is_active", "is_superuser", "username"]
    ID_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    IS_SUPERUSER_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    is_active: bool
    is_superuser: bool
    username: str
    def __init__(self, id: _Optional[str] = ..., username: _Optional[str] = ..., is_active: bool = ..., is_superuser: bool = ...) -> None: ...

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
