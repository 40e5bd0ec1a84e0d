"""The error every malformed policy document raises."""

from __future__ import annotations

from pgiam.errors import PgiamError


class PolicyDocumentError(PgiamError, ValueError):
    """A policy document that IAM would refuse (or that this engine cannot read exactly).

    ``where`` is the path of the offending element (``Statement[2].Condition.StringEquals``),
    ``what`` the problem; ``str(error)`` is ``"<where>: <what>"``. It is a ``ValueError`` for
    library callers and a :class:`~pgiam.errors.PgiamError` so a CLI prints it as is.
    """

    def __init__(self, where: str, what: str) -> None:
        self.where = where
        self.what = what
        super().__init__(f"{where}: {what}" if where else what)

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.where, self.what))
