from warden_client._proto import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BOTH: PermissionMode
DESCRIPTOR: _descriptor.FileDescriptor
GROUPS_ONLY: PermissionMode
USER_ONLY: PermissionMode

class BatchCheckRequest(_message.Message):
    __slots__ = ["items", "min_revision"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CheckItem]
    min_revision: int
    def __init__(self, items: _Optional[_Iterable[_Union[CheckItem, _Mapping]]] = ..., min_revision: _Optional[int] = ...) -> None: ...

class BatchCheckResponse(_message.Message):
    __slots__ = ["results", "revision"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CheckResult]
    revision: int
    def __init__(self, results: _Optional[_Iterable[_Union[CheckResult, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class BatchGetPermissionsRequest(_message.Message):
    __slots__ = ["accept_global_perms", "content_type", "min_revision", "mode", "pks", "subject"]
    ACCEPT_GLOBAL_PERMS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PKS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    accept_global_perms: bool
    content_type: str
    min_revision: int
    mode: PermissionMode
    pks: _containers.RepeatedScalarFieldContainer[str]
    subject: _common_pb2.Subject
    def __init__(self, subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., content_type: _Optional[str] = ..., pks: _Optional[_Iterable[str]] = ..., mode: _Optional[_Union[PermissionMode, str]] = ..., accept_global_perms: bool = ..., min_revision: _Optional[int] = ...) -> None: ...

class BatchGetPermissionsResponse(_message.Message):
    __slots__ = ["codenames", "masks", "revision"]
    CODENAMES_FIELD_NUMBER: _ClassVar[int]
    MASKS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    codenames: _containers.RepeatedScalarFieldContainer[str]
    masks: bytes
    revision: int
    def __init__(self, codenames: _Optional[_Iterable[str]] = ..., masks: _Optional[bytes] = ..., revision: _Optional[int] = ...) -> None: ...

class CheckItem(_message.Message):
    __slots__ = ["accept_global_perms", "content_type", "object", "permission", "subject"]
    ACCEPT_GLOBAL_PERMS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    accept_global_perms: bool
    content_type: str
    object: _common_pb2.ObjectRef
    permission: str
    subject: _common_pb2.Subject
    def __init__(self, subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., permission: _Optional[str] = ..., object: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., content_type: _Optional[str] = ..., accept_global_perms: bool = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ["accept_global_perms", "content_type", "min_revision", "object", "permission", "subject"]
    ACCEPT_GLOBAL_PERMS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PERMISSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    accept_global_perms: bool
    content_type: str
    min_revision: int
    object: _common_pb2.ObjectRef
    permission: str
    subject: _common_pb2.Subject
    def __init__(self, subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., permission: _Optional[str] = ..., object: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., content_type: _Optional[str] = ..., accept_global_perms: bool = ..., min_revision: _Optional[int] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ["decision", "revision"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    decision: _common_pb2.Decision
    revision: int
    def __init__(self, decision: _Optional[_Union[_common_pb2.Decision, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class CheckResult(_message.Message):
    __slots__ = ["decision", "error"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    decision: _common_pb2.Decision
    error: _common_pb2.Status
    def __init__(self, decision: _Optional[_Union[_common_pb2.Decision, _Mapping]] = ..., error: _Optional[_Union[_common_pb2.Status, _Mapping]] = ...) -> None: ...

class GetPermissionsRequest(_message.Message):
    __slots__ = ["accept_global_perms", "min_revision", "mode", "object", "subject"]
    ACCEPT_GLOBAL_PERMS_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    accept_global_perms: bool
    min_revision: int
    mode: PermissionMode
    object: _common_pb2.ObjectRef
    subject: _common_pb2.Subject
    def __init__(self, subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., object: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., mode: _Optional[_Union[PermissionMode, str]] = ..., accept_global_perms: bool = ..., min_revision: _Optional[int] = ...) -> None: ...

class GetPermissionsResponse(_message.Message):
    __slots__ = ["codenames", "revision"]
    CODENAMES_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    codenames: _containers.RepeatedScalarFieldContainer[str]
    revision: int
    def __init__(self, codenames: _Optional[_Iterable[str]] = ..., revision: _Optional[int] = ...) -> None: ...

class ListObjectsRequest(_message.Message):
    __slots__ = ["accept_global_perms", "any_perm", "content_type", "min_revision", "packed_pks", "page_size", "page_token", "permissions", "subject", "use_groups", "with_superuser"]
    ACCEPT_GLOBAL_PERMS_FIELD_NUMBER: _ClassVar[int]
    ANY_PERM_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    PACKED_PKS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    USE_GROUPS_FIELD_NUMBER: _ClassVar[int]
    WITH_SUPERUSER_FIELD_NUMBER: _ClassVar[int]
    accept_global_perms: bool
    any_perm: bool
    content_type: str
    min_revision: int
    packed_pks: bool
    page_size: int
    page_token: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    subject: _common_pb2.Subject
    use_groups: bool
    with_superuser: bool
    def __init__(self, subject: _Optional[_Union[_common_pb2.Subject, _Mapping]] = ..., permissions: _Optional[_Iterable[str]] = ..., content_type: _Optional[str] = ..., any_perm: bool = ..., use_groups: bool = ..., with_superuser: bool = ..., accept_global_perms: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., min_revision: _Optional[int] = ..., packed_pks: bool = ...) -> None: ...

class ListObjectsResponse(_message.Message):
    __slots__ = ["content_type", "next_page_token", "packed_pks", "pks", "revision", "unrestricted", "unrestricted_reason"]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PACKED_PKS_FIELD_NUMBER: _ClassVar[int]
    PKS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    UNRESTRICTED_FIELD_NUMBER: _ClassVar[int]
    UNRESTRICTED_REASON_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    next_page_token: str
    packed_pks: bytes
    pks: _containers.RepeatedScalarFieldContainer[str]
    revision: int
    unrestricted: bool
    unrestricted_reason: _common_pb2.Decision
    def __init__(self, unrestricted: bool = ..., unrestricted_reason: _Optional[_Union[_common_pb2.Decision, _Mapping]] = ..., pks: _Optional[_Iterable[str]] = ..., next_page_token: _Optional[str] = ..., revision: _Optional[int] = ..., packed_pks: _Optional[bytes] = ..., content_type: _Optional[str] = ...) -> None: ...

class ListSubjectsRequest(_message.Message):
    __slots__ = ["accept_global_perms", "attach_perms", "min_revision", "object", "permissions", "with_group_users", "with_superusers"]
    ACCEPT_GLOBAL_PERMS_FIELD_NUMBER: _ClassVar[int]
    ATTACH_PERMS_FIELD_NUMBER: _ClassVar[int]
    MIN_REVISION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    WITH_GROUP_USERS_FIELD_NUMBER: _ClassVar[int]
    WITH_SUPERUSERS_FIELD_NUMBER: _ClassVar[int]
    accept_global_perms: bool
    attach_perms: bool
    min_revision: int
    object: _common_pb2.ObjectRef
    permissions: _containers.RepeatedScalarFieldContainer[str]
    with_group_users: bool
    with_superusers: bool
    def __init__(self, object: _Optional[_Union[_common_pb2.ObjectRef, _Mapping]] = ..., permissions: _Optional[_Iterable[str]] = ..., with_superusers: bool = ..., with_group_users: bool = ..., attach_perms: bool = ..., accept_global_perms: bool = ..., min_revision: _Optional[int] = ...) -> None: ...

class ListSubjectsResponse(_message.Message):
    __slots__ = ["groups", "revision", "users"]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[SubjectAccess]
    revision: int
    users: _containers.RepeatedCompositeFieldContainer[SubjectAccess]
    def __init__(self, users: _Optional[_Iterable[_Union[SubjectAccess, _Mapping]]] = ..., groups: _Optional[_Iterable[_Union[SubjectAccess, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class SubjectAccess(_message.Message):
    __slots__ = ["name", "permissions"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., permissions: _Optional[_Iterable[str]] = ...) -> None: ...

class PermissionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
