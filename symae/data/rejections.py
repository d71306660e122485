"""Why a record was not turned into a model trace.

Every record that preprocessing refuses carries a machine-readable ``RejectReason``
(its string value is what builds count, services label metrics with and the dead-letter
topic carries) and a human message that quotes the offending value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from symae.errors import SymaeError


class RejectReason(StrEnum):
    """Reason codes; the string values are part of the public contract."""

    GAP = "gap"  # missing samples inside the processing span
    OVERLAP = "overlap"  # overlapping segments with conflicting samples inside the span
    NO_RESPONSE = "no_response"  # channel known but its response is missing or unusable
    BAD_UNITS = "bad_units"  # response input units are not displacement, velocity or acceleration
    NAN = "nan"  # non-finite samples in the record or after response removal
    FLAT = "flat"  # constant record (dead channel) or a window with no variance
    TOO_SHORT = "too_short"  # record does not cover the window plus its margins
    DISTANCE = "distance"  # epicentral distance outside the configured window
    LOW_SNR = "low_snr"  # pre-P noise too strong against the P window
    UNKNOWN_STATION = "unknown_station"  # channel not in the inventory at the record time
    WRONG_COMPONENT = "wrong_component"  # not the component the model is trained on
    NO_ARRIVAL = "no_arrival"  # TauP predicts no such phase at this distance and depth
    UNREADABLE = "unreadable"  # file ObsPy cannot read
    DUPLICATE_CHANNEL = "duplicate_channel"  # another channel of the same site was kept


class Rejected(SymaeError):
    """Raised by preprocessing when a record cannot become a model trace."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(f"{reason.value}: {message}")
        self.reason = RejectReason(reason)
        self.message = message


@dataclass(frozen=True)
class Rejection:
    """One refused record: what it was (a SEED id or a file), why, and the details."""

    source: str
    reason: RejectReason
    message: str

    @classmethod
    def from_error(cls, source: str, error: Rejected) -> Rejection:
        return cls(source=source, reason=error.reason, message=error.message)


def count_reasons(rejections: Iterable[Rejection]) -> dict[str, int]:
    """Counts per reason value, every reason listed (zeros included), in enum order."""
    counts = Counter(r.reason for r in rejections)
    return {reason.value: counts.get(reason, 0) for reason in RejectReason}
