from warden_client._proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BulkGrantRequest(_message.Message):
    __slots__ = ["actor", "grants"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    actor: str
    grants: _containers.RepeatedCompositeFieldContainer[_common_pb2.Grant]
    def __init__(self, grants: _Optional[_Iterable[_Union[_common_pb2.Grant, _Mapping]]] = ..., actor: _Optional[str] = ...) -> None: ...

class BulkResponse(_message.Message):
    __slots__ = ["count", "requested", "revision"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    count: int
    requested: int
    revision: int
    def __init__(self, revision: _Optional[int] = ..., count: _Optional[int] = ..., requested: _Optional[int] = ...) -> None: ...

class DeleteObjectRequest(_message.Message):
    __slots__ = ["actor", "object"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    actor: str
    object: _common_pb2.ObjectRef
    def __init__(self, object: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ["actor", "id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class GrantRequest(_message.Message):
    __slots__ = ["actor", "grant"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    actor: str
    grant: _common_pb2.Grant
    def __init__(self, grant: _Optional[_Union[_common_pb2.Grant, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class GroupRequest(_message.Message):
    __slots__ = ["actor", "name"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    actor: str
    name: str
    def __init__(self, name: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class MemberRequest(_message.Message):
    __slots__ = ["actor", "group", "user"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    actor: str
    group: str
    user: str
    def __init__(self, user: _Optional[str] = ..., group: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class PruneOrphansRequest(_message.Message):
    __slots__ = ["actor", "content_type", "live_pks"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    LIVE_PKS_FIELD_NUMBER: _ClassVar[int]
    actor: str
    content_type: str
    live_pks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, content_type: _Optional[str] = ..., live_pks: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ...) -> None: ...

class PutUserRequest(_message.Message):
    __slots__ = ["actor", "user"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    actor: str
    user: _common_pb2.User
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ["content_type", "grant", "group", "member", "user"]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    content_type: RegisterContentTypeRequest
    grant: _common_pb2.Grant
    group: str
    member: MemberRequest
    user: _common_pb2.User
    def __init__(self, content_type: _Optional[_Union[RegisterContentTypeRequest, _Mapping]] = ..., user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., group: _Optional[str] = ..., member: _Optional[_Union[MemberRequest, _Mapping]] = ..., grant: _Optional[_Union[_common_pb2.Grant, _Mapping]] = ...) -> None: ...

class RegisterContentTypeRequest(_message.Message):
    __slots__ = ["actor", "content_type", "custom", "defaults"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    actor: str
    content_type: str
    custom: _containers.RepeatedScalarFieldContainer[str]
    defaults: bool
    def __init__(self, content_type: _Optional[str] = ..., defaults: bool = ..., custom: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ...) -> None: ...

class WriteBatchRequest(_message.Message):
    __slots__ = ["actor", "records"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    actor: str
    records: _containers.RepeatedCompositeFieldContainer[Record]
    def __init__(self, records: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., actor: _Optional[str] = ...) -> None: ...

class WriteBatchResponse(_message.Message):
    __slots__ = ["changed", "revision"]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    changed: int
    revision: int
    def __init__(self, revision: _Optional[int] = ..., changed: _Optional[int] = ...) -> None: ...

class WriteResponse(_message.Message):
    __slots__ = ["changed", "revision"]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    revision: int
    def __init__(self, revision: _Optional[int] = ..., changed: bool = ...) -> None: ...
