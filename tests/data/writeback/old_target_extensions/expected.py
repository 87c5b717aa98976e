"""Names newer than the target Python come from typing_extensions, under TYPE_CHECKING (it may not be installed)."""
from typing import Any, Dict, Optional, TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self, TypeGuard


class Builder:
    def copy(self) -> "Self":
        return self

    def options(self, extra: Optional[Dict[str, Any]]) -> "TypeGuard[Dict[str, Any]]":
        return extra
