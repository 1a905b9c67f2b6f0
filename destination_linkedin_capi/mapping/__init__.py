"""Record → LinkedIn conversion event, or a Rejection a marketer can read (docs/mapping.md).

This is the hot path: everything that depends only on the config is computed once per sync
(`settings`), each stream's event routing once per stream (`routing`), and which record key
feeds which LinkedIn field once per distinct set of record keys (`fields`). Usual records then
take the straight-line `planned` path; anything else the `general` one, which has every rule,
rejection and note. `reasons` holds the codes and their sentences. No I/O and no Airbyte types,
so the writer, dry runs and tests share one behaviour.
"""

from destination_linkedin_capi.mapping.fields import RECOGNISED_FIELDS
from destination_linkedin_capi.mapping.mapper import RecordMapper
from destination_linkedin_capi.mapping.reasons import NOTE_REASONS, REJECTION_REASONS
from destination_linkedin_capi.mapping.results import ConversionEvent, Rejection
from destination_linkedin_capi.mapping.routing import StreamInfo

__all__ = [
    "NOTE_REASONS",
    "RECOGNISED_FIELDS",
    "REJECTION_REASONS",
    "ConversionEvent",
    "RecordMapper",
    "Rejection",
    "StreamInfo",
]
