from warden_client._proto import reads_pb2 as _reads_pb2
from warden_client._proto import writes_pb2 as _writes_pb2
from warden_client._proto import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ADD_MEMBER: Method
BATCH_CHECK: Method
BATCH_GET_PERMISSIONS: Method
BULK_GRANT: Method
BULK_REVOKE: Method
CHECK: Method
DELETE_GROUP: Method
DELETE_OBJECT: Method
DELETE_USER: Method
DESCRIPTOR: _descriptor.FileDescriptor
EXPORT: Method
GET_PERMISSIONS: Method
GRANT: Method
HEALTH: Method
LIST_OBJECTS: Method
LIST_SUBJECTS: Method
METHOD_UNSPECIFIED: Method
PRUNE_ORPHANS: Method
PUT_GROUP: Method
PUT_USER: Method
REGISTER_CONTENT_TYPE: Method
REMOVE_MEMBER: Method
REVOKE: Method
STATS: Method
WATCH: Method
WRITE_BATCH: Method

class ExportRequest(_message.Message):
    __slots__ = ["chunk_size"]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    chunk_size: int
    def __init__(self, chunk_size: _Optional[int] = ...) -> None: ...

class ExportResponse(_message.Message):
    __slots__ = ["records", "revision"]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_writes_pb2.Record]
    revision: int
    def __init__(self, records: _Optional[_Iterable[_Union[_writes_pb2.Record, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ["revision", "status"]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    status: str
    def __init__(self, status: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class MethodStats(_message.Message):
    __slots__ = ["errors", "method", "requests"]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    errors: int
    method: str
    requests: int
    def __init__(self, method: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ["connections", "content_types", "groups", "methods", "model_grants", "object_grants", "objects", "permissions", "prometheus", "revision", "uptime_ms", "users", "watchers"]
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    MODEL_GRANTS_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    OBJECT_GRANTS_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    PROMETHEUS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    UPTIME_MS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    WATCHERS_FIELD_NUMBER: _ClassVar[int]
    connections: int
    content_types: int
    groups: int
    methods: _containers.RepeatedCompositeFieldContainer[MethodStats]
    model_grants: int
    object_grants: int
    objects: int
    permissions: int
    prometheus: str
    revision: int
    uptime_ms: int
    users: int
    watchers: int
    def __init__(self, revision: _Optional[int] = ..., users: _Optional[int] = ..., groups: _Optional[int] = ..., content_types: _Optional[int] = ..., permissions: _Optional[int] = ..., objects: _Optional[int] = ..., object_grants: _Optional[int] = ..., model_grants: _Optional[int] = ..., connections: _Optional[int] = ..., watchers: _Optional[int] = ..., uptime_ms: _Optional[int] = ..., methods: _Optional[_Iterable[_Union[MethodStats, _Mapping]]] = ..., prometheus: _Optional[str] = ...) -> None: ...

class Method(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
