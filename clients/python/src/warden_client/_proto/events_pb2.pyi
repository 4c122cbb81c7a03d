from warden_client._proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BULK_GRANTED: EventKind
BULK_REVOKED: EventKind
CONTENT_TYPE_REGISTERED: EventKind
DESCRIPTOR: _descriptor.FileDescriptor
EVENT_KIND_UNSPECIFIED: EventKind
GRANT_ADDED: EventKind
GRANT_REMOVED: EventKind
GROUP_DELETED: EventKind
GROUP_PUT: EventKind
MEMBER_ADDED: EventKind
MEMBER_REMOVED: EventKind
OBJECT_DELETED: EventKind
ORPHANS_PRUNED: EventKind
PERMISSION_CHECKED: EventKind
ROLE_PERMISSION_ADDED: EventKind
ROLE_PERMISSION_OPERATION_FAILED: EventKind
ROLE_PERMISSION_REMOVED: EventKind
USER_DELETED: EventKind
USER_PUT: EventKind
WRITE_REFUSED: EventKind

class CheckAudit(_message.Message):
    __slots__ = ["allowed", "group", "object", "permission", "reason", "subject"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    group: str
    object: _common_pb2.ObjectRef
    permission: str
    reason: _common_pb2.Reason
    subject: _common_pb2.Subject
    def __init__(self, subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., permission: _Optional[str] = ..., object: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., allowed: bool = ..., reason: _Optional[_Union[_common_pb2.Reason, str]] = ..., group: _Optional[str] = ...) -> None: ...

class ContentTypeRegistration(_message.Message):
    __slots__ = ["codenames", "content_type"]
    CODENAMES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    codenames: _containers.RepeatedScalarFieldContainer[str]
    content_type: str
    def __init__(self, content_type: _Optional[str] = ..., codenames: _Optional[_Iterable[str]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ["actor", "check", "count", "failure", "grant", "group", "kind", "message", "object", "registration", "revision", "time_ms", "user", "user_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    check: CheckAudit
    count: int
    failure: str
    grant: _common_pb2.Grant
    group: str
    kind: EventKind
    message: str
    object: _common_pb2.ObjectRef
    registration: ContentTypeRegistration
    revision: int
    time_ms: int
    user: _common_pb2.User
    user_id: str
    def __init__(self, revision: _Optional[int] = ..., kind: _Optional[_Union[EventKind, str]] = ..., time_ms: _Optional[int] = ..., actor: _Optional[str] = ..., grant: _Optional[_Union[_common_pb2.Grant, _Mapping]] = ..., user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., user_id: _Optional[str] = ..., group: _Optional[str] = ..., object: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., registration: _Optional[_Union[ContentTypeRegistration, _Mapping]] = ..., count: _Optional[int] = ..., failure: _Optional[str] = ..., message: _Optional[str] = ..., check: _Optional[_Union[CheckAudit, _Mapping]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ["after_revision", "audit_checks", "audit_sample_rate", "content_types", "kinds"]
    AFTER_REVISION_FIELD_NUMBER: _ClassVar[int]
    AUDIT_CHECKS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    after_revision: int
    audit_checks: bool
    audit_sample_rate: float
    content_types: _containers.RepeatedScalarFieldContainer[str]
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    def __init__(self, after_revision: _Optional[int] = ..., kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., content_types: _Optional[_Iterable[str]] = ..., audit_checks: bool = ..., audit_sample_rate: _Optional[float] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ["events"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
